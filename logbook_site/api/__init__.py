"""
The REST API for the plant's other systems (an MES, scheduling boards, scripts on the machine PCs, the
older front end), on the paths of the backend this app replaced.

Every change goes through the same domain code as the pages (floor/reporting.py and the model methods on
Issue), so a change made here is the change the desk makes: transitions, events, version, search, AI.
`urls.py` names every path; `views.py` answers them; `serializers.py` says what goes in and out;
`security.py` holds keys, roles, throttling, If-Match and Idempotency-Key; `errors.py` the one shape of
every error.
"""
