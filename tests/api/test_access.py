"""Who may call what: the roles of the pages, through a key or a session; anyone else gets 401 or 403 in
JSON, never data."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from floor.models import IssueEvent
from floor.reporting import record_remedy
from tests import images
from tests.api.conftest import Caller

pytestmark = pytest.mark.django_db

ROLES = ["operator", "maintenance", "manager"]
ALL = dict.fromkeys(ROLES, "ok")
DESK = {"operator": 403, "maintenance": "ok", "manager": "ok"}
MANAGERS = {"operator": 403, "maintenance": 403, "manager": "ok"}

# What each endpoint answers each role with ("ok": its success status). Without a key, with an unknown
# or a revoked one: 401. Signed in on the pages without a role: 403.
ENDPOINTS = {
    "machines": ALL,
    "machine": ALL,
    "departments": ALL,
    "department": ALL,
    "issues": ALL,
    "issue": ALL,
    "create": ALL,
    "update_status": DESK,
    "assign": DESK,
    "update_priority": DESK,
    "update_runnable": DESK,
    "add_remedy": DESK,
    "attachments": ALL,
    "ocr": ALL,
    "seen_before": ALL,
    "metrics": MANAGERS,
    "schema": ALL,
    "docs": ALL,
}


def call(caller, endpoint, *, issue, machine, maintenance):
    tag = {"If-Match": f'"issue-{issue.pk}-v{issue.version}"'}
    base = f"/api/issues/{issue.pk}/"
    match endpoint:
        case "machines":
            return caller.get("/api/machines/"), 200
        case "machine":
            return caller.get(f"/api/machines/{machine.pk}/"), 200
        case "departments":
            return caller.get("/api/departments/"), 200
        case "department":
            return caller.get(f"/api/departments/{machine.department_id}/"), 200
        case "issues":
            return caller.get("/api/issues/"), 200
        case "issue":
            return caller.get(base), 200
        case "create":
            return caller.post("/api/issues/", {"machine": str(machine.pk), "category": "mechanical",
                                                "description": "Door sticks"}), 201
        case "update_status":
            return caller.patch(base + "update_status/", {"status": "in_progress"}, headers=tag), 200
        case "assign":
            return caller.patch(base + "assign/", {"assigned_to": maintenance.pk}, headers=tag), 200
        case "update_priority":
            return caller.patch(base + "update_priority/", {"priority": 4}, headers=tag), 200
        case "update_runnable":
            return caller.patch(base + "update_runnable/", {"is_runnable": True}, headers=tag), 200
        case "add_remedy":
            return caller.post(base + "add_remedy/", {"description": "Cleaned the fan"}, headers=tag), 201
        case "attachments":
            photo = SimpleUploadedFile("door.jpg", images.photo())
            return caller.post(base + "attachments/", {"file": photo}, multipart=True), 201
        case "ocr":
            photo = SimpleUploadedFile("door.jpg", images.photo())
            return caller.post("/api/ocr/", {"file": photo}, multipart=True), 200
        case "seen_before":
            return caller.get("/api/alarm-codes/SV0401/remedies/"), 200
        case "metrics":
            return caller.get("/api/dashboard/metrics/"), 200
        case "schema":
            return caller.get("/api/schema/"), 200
        case "docs":
            return caller.get("/api/docs/"), 200
    raise AssertionError(endpoint)


# Which endpoints above call each of the API's routes.
ROUTES = {
    "api-machine-list": {"machines"}, "api-machine-detail": {"machine"}, "api-department-list": {"departments"},
    "api-department-detail": {"department"}, "api-issue-list": {"issues", "create"}, "api-issue-detail": {"issue"},
    "api-issue-update-status": {"update_status"}, "api-issue-assign": {"assign"},
    "api-issue-update-priority": {"update_priority"}, "api-issue-update-runnable": {"update_runnable"},
    "api-issue-add-remedy": {"add_remedy"}, "api-issue-attachments": {"attachments"}, "api-ocr": {"ocr"},
    "api-alarm-code-remedies": {"seen_before"}, "api-metrics": {"metrics"}, "api-schema": {"schema"},
    "api-docs": {"docs"},
}


def test_every_route_of_the_api_is_in_the_matrix():
    from logbook_site.api.urls import urlpatterns

    names = {pattern.name for pattern in urlpatterns} - {"api-unknown"}  # the JSON 404 of everything else
    assert names == set(ROUTES)
    assert set().union(*ROUTES.values()) == set(ENDPOINTS)


def _is_json_error(response, status):
    return response.status_code == status and response["Content-Type"].startswith("application/json") \
        and response.json()["status"] == status


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_what_its_pages_allow(endpoint, role, callers, issue, machine, maintenance, media):
    events_before = IssueEvent.objects.count()
    response, success = call(callers[role], endpoint, issue=issue, machine=machine, maintenance=maintenance)
    expected = ENDPOINTS[endpoint][role]
    if expected == "ok":
        assert response.status_code == success, response.content[:500]
    else:
        assert _is_json_error(response, expected), response.content[:500]
        assert IssueEvent.objects.count() == events_before  # refused means nothing happened


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e not in ("schema", "docs")])
@pytest.mark.parametrize("who", ["revoked", "unknown", "none"])
def test_without_a_valid_key_nothing_is_answered_but_401(endpoint, who, callers, issue, machine, maintenance, media):
    events_before = IssueEvent.objects.count()
    response, _ = call(callers[who], endpoint, issue=issue, machine=machine, maintenance=maintenance)
    assert _is_json_error(response, 401), response.content[:300]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert IssueEvent.objects.count() == events_before


@pytest.mark.parametrize("endpoint", ["machines", "issues", "issue", "create", "update_status", "metrics", "schema"])
def test_a_signed_in_person_without_a_role_gets_403(endpoint, outsider, issue, machine, maintenance, media):
    caller = Caller()
    caller.client.force_login(outsider)
    response, _ = call(caller, endpoint, issue=issue, machine=machine, maintenance=maintenance)
    assert _is_json_error(response, 403)


def test_the_browser_session_works_with_its_csrf_token(maintenance, issue):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(maintenance)
    assert browser.get(f"/api/issues/{issue.pk}/").status_code == 200
    tag = browser.get(f"/api/issues/{issue.pk}/")["ETag"]
    refused = browser.patch(f"/api/issues/{issue.pk}/update_status/", '{"status": "in_progress"}',
                            content_type="application/json", headers={"If-Match": tag})
    assert _is_json_error(refused, 403) and "CSRF" in refused.json()["detail"]
    browser.get("/desk/")  # sets the CSRF cookie, as any page does
    token = browser.cookies["csrftoken"].value
    done = browser.patch(f"/api/issues/{issue.pk}/update_status/", '{"status": "in_progress"}',
                         content_type="application/json", headers={"If-Match": tag, "X-CSRFToken": token})
    assert done.status_code == 200 and done.json()["status"] == "in_progress"


def test_what_a_key_does_is_on_the_timeline_under_its_name(make_key, issue):
    key, raw = make_key("maintenance", name="MES line 2")
    caller = Caller(raw)
    tag = caller.get(f"/api/issues/{issue.pk}/")["ETag"]
    caller.patch(f"/api/issues/{issue.pk}/update_status/", {"status": "in_progress"}, headers={"If-Match": tag})
    event = issue.events.get(kind=IssueEvent.Kind.STATUS_CHANGED)
    assert event.actor == key.user
    timeline = caller.get(f"/api/issues/{issue.pk}/").json()["timeline"]
    assert timeline[-1]["actor"]["name"] == "MES line 2"


def test_a_remedy_recorded_by_a_key_keeps_its_name(make_key, issue):
    key, raw = make_key("maintenance", name="Shift board")
    record_remedy(issue=issue, description="x", by=key.user)
    assert Caller(raw).get(f"/api/issues/{issue.pk}/").json()["remedies"][0]["performed_by"]["name"] == "Shift board"
