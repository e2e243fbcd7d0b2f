"""Links from a figure to the maintenance desk (/desk/), filtered to the issues behind the figure.

The desk's GET parameters are its contract with us: status, category and priority may repeat; dates
are YYYY-MM-DD and inclusive; machine and department are UUIDs; runnable is "running" or "down";
q is search text, and an exact alarm code matches the code.
"""

from urllib.parse import urlencode

from floor.models import OPEN_STATUSES

DESK_PATH = "/desk/"


def desk_url(*, department=None, **filters) -> str:
    """The desk's address with these filters; list values repeat the parameter, None values are left
    out, dates become YYYY-MM-DD."""
    pairs = []
    for name, value in filters.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((name, _text(v)) for v in values if v is not None)
    if department is not None:  # a Department or its id
        pairs.append(("department", str(getattr(department, "pk", department))))
    return DESK_PATH + ("?" + urlencode(pairs) if pairs else "")


def _text(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def open_issues_url(*, department=None, **filters):
    return desk_url(status=[str(s) for s in OPEN_STATUSES], department=department, **filters)


def machines_down_url(*, department=None):
    return open_issues_url(runnable="down", department=department)


def reported_url(*, first_day, last_day, department=None, **filters):
    return desk_url(reported_from=first_day, reported_to=last_day, department=department, **filters)


def resolved_url(*, first_day, last_day, department=None):
    return desk_url(resolved_from=first_day, resolved_to=last_day, department=department)
