"""Hostile input: no page or partial answers 500, whoever asks and whatever the address carries.

Every URL of the app is taken from the URL configuration itself, so a new page is covered the day it is
added (and this file says so when it cannot build the page's address). Each GET page is requested by every
role and by nobody signed in, plain and as its htmx partial, with query strings a scanner, a broken
barcode reader or a curious visitor sends: NUL bytes (PostgreSQL refuses them in a query), 10 kB values,
dates at the calendar's ends, negative and huge numbers, odd unicode, invalid UTF-8, and every parameter
repeated. A refusal (4xx) or the page with a message is right; a 500 never is.

Run on SQLite and on PostgreSQL: NUL bytes fail on PostgreSQL only.
"""

from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from dashboard.forms import PeriodForm
from dashboard.models import DisplayLink
from desk.forms import DeskFilterForm, LabelsForm
from floor.forms import MachineSearchForm
from floor.models import Attachment
from floor.reporting import record_remedy, report_issue

pytestmark = pytest.mark.django_db

ROLES = ["operator", "maintenance", "manager", "outsider", "anonymous"]

# The query parameters each page reads: the fields of the forms it reads them with, and the few read
# directly (the seen-before panel's, the login page's "next").
READS = {
    "desk": list(DeskFilterForm.base_fields),
    "desk_export": list(DeskFilterForm.base_fields),
    "dashboard": list(PeriodForm.base_fields),
    "labels": list(LabelsForm.base_fields),
    "machine_list": list(MachineSearchForm.base_fields),
    "seen_before": ["alarm_codes", "machine"],
    "attachment_preview": ["token", "alarm_codes"],
    "login": ["next"],
}
PARAMETERS = sorted({name for names in READS.values() for name in names})

HOSTILE_VALUES = {
    "NUL": "\x00",
    "NUL inside": "SV0401\x00x",
    "10 kB": "x" * 10_000,
    "last day": "9999-12-31",
    "year zero": "0000-01-01",
    "first day": "0001-01-01",
    "negative": "-1",
    "huge": "9" * 40,
    "not a number": "1e400",
    "unicode": "Ø µ 😀 \u202e\ufeff ß ﬁ",
    "path": "../../etc/passwd",
    "markup": "<script>alert(1)</script>\"'",
}

# The partial each GET page answers an htmx request for (HX-Target), as the pages themselves ask for it;
# the other GET pages answer htmx requests as they answer any other.
PARTIAL_TARGETS = {
    "desk": "desk-table",
    "dashboard": "tiles",
    "machine_list": "machine-tiles",
    "wall_screen": "wall-body",
}

# Which object an int pk in a URL names; every other pk is an issue's.
PK_OF = {"remedy_ai": "remedy", "remedy_ai_rerun": "remedy", "revoke_display_link": "link",
         "remove_attachment": "attachment", "attachment_preview": "attachment"}


def query_strings(parameters):
    """(label, query string) pairs: each hostile value in every parameter, every parameter repeated, and
    bytes that are not UTF-8."""
    for label, value in HOSTILE_VALUES.items():
        yield label, urlencode({name: value for name in parameters})
    yield "repeated", urlencode([(name, value) for name in parameters for value in ("1", "x", "\x00", "")])
    yield "not UTF-8", "&".join(f"{name}=%FF%FE%00" for name in parameters)
    yield "no value", "&".join(parameters)


def app_patterns(patterns=None, prefix=""):
    """(name, pattern) of every URL of the app: Django's admin is Django's, not ours."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            yield from app_patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield entry.name, entry


URL_NAMES = sorted({name for name, _ in app_patterns()})


@pytest.fixture
def world(operator, maintenance, manager, outsider, machine, settings, tmp_path):
    """One of everything a URL can name, and a client for each role."""
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "photo.jpg").write_bytes(b"jpeg")
    issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                         by=operator, description="servo alarm X axis")
    remedy = record_remedy(issue=issue, description="Reseated CX4", by=maintenance, minutes_spent=20)
    attachment = Attachment.objects.create(issue=issue, kind="image", content_type="image/jpeg", size=4,
                                           file="photo.jpg", original_name="photo.jpg", uploaded_by=operator)
    link = DisplayLink.objects.create(name="Hall A", created_by=manager)
    clients = {}
    for role, user in [("operator", operator), ("maintenance", maintenance), ("manager", manager),
                       ("outsider", outsider), ("anonymous", None)]:
        # A 500 must come back as the reply a browser would get, not as the view's exception.
        clients[role] = Client(raise_request_exception=False)
        if user:
            clients[role].force_login(user)
    objects = {"issue": issue, "remedy": remedy, "attachment": attachment, "link": link}
    return {"clients": clients, "objects": objects, "machine": machine, "link": link}


def arguments_of(pattern):
    """The names a URL takes: a path()'s converters, a regex's (the API's router) named groups."""
    return list(pattern.pattern.converters) or list(pattern.pattern.regex.groupindex)


def url_kwargs(name, pattern, world):
    kwargs = {}
    for argument in arguments_of(pattern):
        if argument == "pk" and name == "api-machine-detail":
            kwargs["pk"] = world["machine"].pk
        elif argument == "pk" and name == "api-department-detail":
            kwargs["pk"] = world["machine"].department_id
        elif argument == "code":
            kwargs["code"] = "SV0401"
        elif argument == "pk":
            kwargs["pk"] = world["objects"][PK_OF.get(name, "issue")].pk
        elif argument == "machine_id":
            kwargs["machine_id"] = world["machine"].pk
        elif argument == "token":
            kwargs["token"] = world["link"].token
        elif argument == "path":
            kwargs["path"] = "photo.jpg"
        else:
            raise AssertionError(f"Say in tests/test_hostile_input.py what <{argument}> of {name!r} names.")
    return kwargs


def pattern_named(name):
    return next(pattern for n, pattern in app_patterns() if n == name)


def test_the_app_has_the_pages_this_file_expects():
    # Enumerating the URL configuration found the app: a broken walk would make every test below vacuous.
    expected = {"home", "login", "machine_list", "machine_page", "issue_reported", "seen_before", "labels", "desk",
                "desk_export", "issue_detail", "issue_similar", "issue_ai", "remedy_ai", "dashboard",
                "display_links", "wall_screen", "media"}
    assert expected <= set(URL_NAMES)


def answers_of(client, url, name, parameters, *, partials=True):
    """Yield (description, status) of each hostile request to one URL by one client."""
    target = PARTIAL_TARGETS.get(name) if partials else None
    for label, query in query_strings(parameters):
        yield label, client.get(f"{url}?{query}").status_code
        if target:
            htmx = {"HX-Request": "true", "HX-Target": target}
            yield f"{label}, htmx", client.get(f"{url}?{query}", headers=htmx).status_code


def url_of(name, world):
    return reverse(name, kwargs=url_kwargs(name, pattern_named(name), world))


@pytest.mark.parametrize("name", URL_NAMES)
def test_no_page_answers_500_to_a_hostile_query_string(world, name):
    # Every parameter the app knows at once, on every page, by every role.
    url = url_of(name, world)
    failures = []
    for role, client in world["clients"].items():
        if client.get(url).status_code == 405:
            continue  # not a GET page (an action, sign-out): nothing a query string reaches
        for label, status in answers_of(client, url, name, PARAMETERS):
            if status >= 500:
                failures.append(f"{role}, {label}: {status}")
    assert not failures, f"{url}:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", list(READS))
def test_no_parameter_alone_gives_a_500(world, name):
    # One parameter at a time, so that the others being wrong cannot hide its own path through the page.
    # The manager may see every page; permissions and partials do not depend on the query string (the
    # test above asks for them).
    url = url_of(name, world)
    failures = []
    for parameter in READS[name]:
        for role in ("manager", "anonymous"):
            for label, status in answers_of(world["clients"][role], url, name, [parameter], partials=False):
                if status >= 500:
                    failures.append(f"{role}, {parameter}, {label}: {status}")
    assert not failures, f"{url}:\n" + "\n".join(failures)


PATH_VALUES = {**HOSTILE_VALUES, "percent": "%", "dots": "..", "slash inside": "a/b"}
PLACEHOLDER = "HOSTILE-PLACEHOLDER"


@pytest.mark.parametrize("name", [n for n in URL_NAMES if {"token", "path"} & set(arguments_of(pattern_named(n)))])
def test_no_page_answers_500_to_a_hostile_address(world, name):
    # Text in the path itself (a wall screen's token, an upload's path) reaches the views as typed.
    pattern = pattern_named(name)
    kwargs = url_kwargs(name, pattern, world)
    kwargs.update({argument: PLACEHOLDER for argument in ("token", "path") if argument in kwargs})
    address = reverse(name, kwargs=kwargs)
    failures = []
    for label, value in PATH_VALUES.items():
        url = address.replace(PLACEHOLDER, quote(value, safe=""))
        for role, client in world["clients"].items():
            status = client.get(url).status_code
            if status >= 500:
                failures.append(f"{role}, {label}: {status}")
    assert not failures, f"{address}:\n" + "\n".join(failures)
