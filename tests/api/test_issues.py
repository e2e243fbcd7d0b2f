"""Issues through the API: the old backend's paths, the desk's filters and rules, and calls that are safe
to repeat (Idempotency-Key) and safe against a stale view (ETag / If-Match)."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from desk.forms import DeskFilterForm
from desk.views import filtered_issues
from floor.models import AIState, IdempotentRequest, Issue, IssueEvent, Machine, Remedy, Status
from floor.reporting import record_remedy, report_issue
from floor.roles import assignees
from tests.api.conftest import Caller, etag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shop(department, operator, maintenance):
    from floor.models import Department

    turning = Department.objects.create(name="Turning")
    vf2 = Machine.objects.create(name="M-01 Haas VF-2", department=department)
    lathe = Machine.objects.create(name="T-01 Okuma LB3000", department=turning)
    now = timezone.now()
    issues = {
        "down": report_issue(machine=vf2, category="alarm", alarm_codes=["SV0401"], is_runnable=False, by=operator,
                             description="Spindle overheated, coolant pump noisy",
                             reported_at=now - timedelta(hours=2)),
        "pump": report_issue(machine=lathe, category="hydraulic", by=operator, priority=3,
                             description="Hydraulic pump leaks oil", reported_at=now - timedelta(days=1)),
        "old": report_issue(machine=lathe, category="alarm", alarm_codes=["2136"], by=operator,
                            description="spindle oil temperature alarm", reported_at=now - timedelta(days=20)),
        "tooling": report_issue(machine=vf2, category="tooling", by=operator, description="tool 12 broke",
                                reported_at=now - timedelta(days=3)),
        "runs": report_issue(machine=vf2, category="alarm", alarm_codes=["EX1001"], by=operator,
                             description="Door switch alarm, machine runs", reported_at=now - timedelta(hours=5)),
    }
    record_remedy(issue=issues["old"], description="Cleaned the oil cooler", by=maintenance)
    issues["old"].set_status(Status.RESOLVED, by=maintenance)
    issues["tooling"].assign(maintenance, by=maintenance)
    issues["tooling"].set_status(Status.IN_PROGRESS, by=maintenance)
    return {"vf2": vf2, "lathe": lathe, "turning": turning, **issues}


def ids(response):
    assert response.status_code == 200, response.content[:400]
    return {row["id"] for row in response.json()["results"]}


# --- the old README's examples, and the desk's filters ------------------------------------------------------
def test_the_old_readmes_examples_work_as_written(api, shop):
    assert ids(api.get("/api/issues/?status=open")) == {shop[k].pk for k in ("down", "pump", "runs")}
    assert ids(api.get(f"/api/issues/?machine={shop['vf2'].pk}")) == {shop[k].pk for k in ("down", "tooling", "runs")}
    assert ids(api.get("/api/issues/?search=pump")) == {shop["down"].pk, shop["pump"].pk}
    assert ids(api.get("/api/issues/?status=open&category=alarm&is_runnable=true")) == {shop["runs"].pk}


@pytest.mark.parametrize("api_query, desk_query", [
    ("status=open&status=in_progress", "status=open&status=in_progress"),
    ("category=alarm&category=hydraulic", "category=alarm&category=hydraulic"),
    ("is_runnable=false", "runnable=down"),
    ("priority=3", "priority=3"),
    ("search=spindle", "q=spindle"),
    ("search=SV0401", "q=SV0401"),
    ("search=sv0401", "q=sv0401"),
    ("search=oil+pump", "q=oil+pump"),
])
def test_filters_find_what_the_desk_finds(api, shop, maintenance, api_query, desk_query):
    from django.http import QueryDict

    form = DeskFilterForm(QueryDict(desk_query), assignees=assignees())
    assert form.is_valid(), form.errors
    desk = {issue.pk for issue in filtered_issues(form, maintenance)}
    assert ids(api.get(f"/api/issues/?{api_query}")) == desk


def test_department_assignee_code_and_time_filters(api, shop, maintenance):
    assert ids(api.get(f"/api/issues/?department={shop['turning'].pk}")) == {shop["pump"].pk, shop["old"].pk}
    assert ids(api.get(f"/api/issues/?assigned_to={maintenance.pk}")) == {shop["tooling"].pk}
    assert shop["tooling"].pk not in ids(api.get("/api/issues/?assigned_to=nobody"))
    assert ids(api.get("/api/issues/?alarm_code=sv0401")) == {shop["down"].pk}
    since = (timezone.now() - timedelta(days=2)).isoformat()
    recent = api.get("/api/issues/", reported_after=since)
    assert ids(recent) == {shop[k].pk for k in ("down", "pump", "runs")}
    assert ids(api.get("/api/issues/", reported_before=since)) == {shop["old"].pk, shop["tooling"].pk}


def test_bad_filter_values_are_400_naming_the_parameter(api, shop):
    for query, name in [("machine=not-a-uuid", "machine"), ("status=lost", "status"),
                        ("is_runnable=maybe", "is_runnable"), ("reported_after=yesterday", "reported_after"),
                        ("assigned_to=someone", "assigned_to"),
                        ("reported_after=2026-11-04T20:22:01-22:46", "reported_after"),
                        ("updated_since=0404-11-04T20:22:01Z", "updated_since")]:
        response = api.get(f"/api/issues/?{query}")
        assert response.status_code == 400, query
        assert name in response.json()["errors"], (query, response.json())


def test_pages_are_cursors_that_visit_every_issue_once(api, shop):
    seen, url = [], "/api/issues/?page_size=2"
    while url:
        page = api.get(url).json()
        assert "count" not in page  # no count of the whole table on every page
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(issue.pk for issue in Issue.objects.all())
    newest_first = [i.pk for i in Issue.objects.order_by("-reported_at", "-id")]
    assert seen == newest_first


def test_updated_since_lists_changes_oldest_first_for_a_sync(api, shop, maintenance):
    mark = timezone.now()
    shop["pump"].set_priority(4, by=maintenance)
    shop["down"].assign(maintenance, by=maintenance)
    changed = api.get("/api/issues/", updated_since=mark.isoformat()).json()["results"]
    assert [row["id"] for row in changed] == [shop["pump"].pk, shop["down"].pk]


# --- reading one ------------------------------------------------------------------------------------------
def test_an_issue_comes_with_its_remedies_files_and_timeline(api, shop):
    response = api.get(f"/api/issues/{shop['old'].pk}/")
    data = response.json()
    assert response["ETag"] == f'"issue-{shop["old"].pk}-v{shop["old"].version}"'
    assert data["status"] == "resolved" and data["alarm_codes"] == ["2136"]
    assert data["machine"]["name"] == "T-01 Okuma LB3000" and data["department"]["name"] == "Turning"
    assert data["remedies"][0]["description"] == "Cleaned the oil cooler"
    assert [e["kind"] for e in data["timeline"]] == ["created", "remedy_added", "status_changed"]
    assert data["timeline"][-1]["summary"] == "Status: Open → Resolved"
    assert data["allowed_statuses"] == ["open", "closed"]


def test_unknown_issue_unknown_path_and_wrong_method_are_json(api, shop):
    for response, status in [(api.get("/api/issues/999999/"), 404), (api.get("/api/issues/abc/"), 404),
                             (api.get("/api/nothing/here/"), 404), (api.get("/api/issues"), 404),
                             (api.delete(f"/api/issues/{shop['down'].pk}/"), 405),
                             (api.put(f"/api/issues/{shop['down'].pk}/", {}), 405)]:
        assert response.status_code == status
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["status"] == status and response.json()["detail"]


# --- reporting ---------------------------------------------------------------------------------------------
def test_reporting_makes_the_issue_a_tablet_would(api, machine, settings, django_capture_on_commit_callbacks):
    settings.AI_ENABLED = True
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post("/api/issues/", {"machine": str(machine.pk), "category": "alarm",
                                             "alarm_codes": ["sv0401", " SV0401 ", "1001"],
                                             "description": "Spindle overheated", "is_runnable": False,
                                             "reporter_name": "Line 2 MES"})
    assert response.status_code == 201, response.content
    data = response.json()
    issue = Issue.objects.get(pk=data["id"])
    assert data["alarm_codes"] == ["SV0401", "1001"] and data["reporter"] == "Line 2 MES"
    assert issue.machine_stopped_at == issue.reported_at and not issue.is_runnable
    assert data["title"] == "Alarm SV0401: Spindle overheated"
    assert issue.ai_state == AIState.PENDING and callbacks  # AI title and summary follow in the background
    assert "spindle overheated" in issue.search_document.lower()
    assert issue.events.get().kind == IssueEvent.Kind.CREATED
    assert response["ETag"] == f'"issue-{issue.pk}-v1"'


def test_one_string_of_codes_is_read_as_the_tablets_field_reads_it(api, machine):
    data = api.post("/api/issues/", {"machine": str(machine.pk), "category": "alarm",
                                     "alarm_codes": "sv0401, ex1001"}).json()
    assert data["alarm_codes"] == ["SV0401", "EX1001"]


def test_a_report_from_a_machine_pc_that_was_offline_keeps_its_times(api, machine):
    reported = timezone.now() - timedelta(hours=6)
    stopped = reported - timedelta(minutes=10)
    data = api.post("/api/issues/", {"machine": str(machine.pk), "category": "mechanical", "description": "Jam",
                                     "is_runnable": False, "reported_at": reported.isoformat(),
                                     "machine_stopped_at": stopped.isoformat()}).json()
    issue = Issue.objects.get(pk=data["id"])
    assert issue.reported_at == reported and issue.machine_stopped_at == stopped


@pytest.mark.parametrize("body, field", [
    ({"category": "alarm", "description": "x"}, "machine"),
    ({"machine": "0b5e1a7e-0000-4000-8000-000000000000", "category": "alarm", "description": "x"}, "machine"),
    ({"machine": "not-a-uuid", "category": "alarm", "description": "x"}, "machine"),
    ({"category": "weather", "description": "x"}, "category"),
    ({"category": "alarm", "alarm_codes": ["X" * 41]}, "alarm_codes"),
    ({"category": "alarm", "alarm_codes": [1, 2]}, "alarm_codes"),
    ({"category": "alarm", "alarm_codes": {"a": 1}}, "alarm_codes"),
    ({"category": "alarm"}, "description"),
    ({"category": "alarm", "description": "x", "is_runnable": "perhaps"}, "is_runnable"),
    ({"category": "alarm", "description": "x" * 4001}, "description"),
    ({"category": "alarm", "description": "x", "reported_at": "2999-01-01T00:00:00Z"}, "reported_at"),
    ({"category": "alarm", "description": "x", "reported_at": "1900-01-01T00:00:00Z"}, "reported_at"),
    ({"category": "alarm", "description": "x", "reported_at": "yesterday"}, "reported_at"),
    ({"category": "alarm", "description": "x", "is_runnable": True,
      "machine_stopped_at": "2026-01-01T00:00:00Z"}, "machine_stopped_at"),
])
def test_a_bad_report_is_400_naming_the_field_and_nothing_is_saved(api, machine, body, field):
    body = {"machine": str(machine.pk), **body} if "machine" not in body and field != "machine" else body
    response = api.post("/api/issues/", body)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Issue.objects.exists()


def test_not_json_is_415_and_broken_json_400(api, machine):
    form = api.client.post("/api/issues/", {"machine": str(machine.pk), "category": "alarm", "description": "x"},
                           headers=api.headers)
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    broken = api.client.post("/api/issues/", '{"machine": ', content_type="application/json", headers=api.headers)
    assert broken.status_code == 400 and broken.json()["status"] == 400
    assert not Issue.objects.exists()


def test_hostile_text_is_stored_as_text(api, machine):
    body = {"machine": str(machine.pk), "category": "alarm", "description": "<script>alert(1)</script> '; DROP",
            "reporter_name": "=cmd|' /C calc'!A0"}
    data = api.post("/api/issues/", body).json()
    issue = Issue.objects.get(pk=data["id"])
    assert issue.description == "<script>alert(1)</script> '; DROP"
    assert issue.reporter_name == "=cmd|' /C calc'!A0"
    # A NUL is refused as the pages' forms refuse it, by name.
    nul = api.post("/api/issues/", {**body, "description": "a\x00b"})
    assert nul.status_code == 400 and "description" in nul.json()["errors"]


# --- Idempotency-Key --------------------------------------------------------------------------------------
def report(api, machine, key, description="Spindle overheated"):
    return api.post("/api/issues/", {"machine": str(machine.pk), "category": "alarm", "description": description},
                    headers={"Idempotency-Key": key})


def test_a_repeat_with_the_same_key_returns_the_first_issue(api, machine):
    key = str(uuid.uuid4())
    first = report(api, machine, key)
    again = report(api, machine, key)
    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and Issue.objects.count() == 1


def test_the_same_key_with_another_body_is_422(api, machine):
    key = str(uuid.uuid4())
    report(api, machine, key)
    other = report(api, machine, key, description="Something else")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Issue.objects.count() == 1


def test_keys_of_different_callers_do_not_meet(make_key, machine):
    first, second = Caller(make_key("operator", "A")[1]), Caller(make_key("operator", "B")[1])
    report(first, machine, "same-key")
    report(second, machine, "same-key")
    assert Issue.objects.count() == 2


def test_the_key_is_the_issues_submission_token_so_a_forgotten_answer_still_finds_it(api, machine):
    first = report(api, machine, "retry-1").json()
    IdempotentRequest.objects.all().delete()  # kept answers expire after a week
    again = report(api, machine, "retry-1")
    assert again.status_code == 200 and again.json()["id"] == first["id"] and Issue.objects.count() == 1


def test_a_failed_request_is_not_kept_so_the_key_can_be_used_again(api, machine):
    refused = api.post("/api/issues/", {"machine": str(machine.pk), "category": "alarm"},
                       headers={"Idempotency-Key": "k1"})
    assert refused.status_code == 400
    assert report(api, machine, "k1").status_code == 201


def test_an_unprintable_or_huge_key_is_400(api, machine):
    assert report(api, machine, "x" * 300).status_code == 400
    assert not Issue.objects.exists()


# --- If-Match and the desk's rules --------------------------------------------------------------------------
def test_a_change_needs_if_match_and_a_stale_one_gets_the_fresh_issue(api, shop, maintenance):
    issue = shop["down"]
    url = f"/api/issues/{issue.pk}/update_status/"
    missing = api.patch(url, {"status": "in_progress"})
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    seen = etag(api, issue.pk)
    issue.assign(maintenance, by=maintenance)  # someone at the desk, meanwhile
    stale = api.patch(url, {"status": "in_progress"}, headers={"If-Match": seen})
    assert stale.status_code == 412
    assert stale.json()["issue"]["assigned_to"]["id"] == maintenance.pk
    assert stale["ETag"] == etag(api, issue.pk)
    issue.refresh_from_db()
    assert issue.status == Status.OPEN
    done = api.patch(url, {"status": "in_progress"}, headers={"If-Match": stale["ETag"]})
    assert done.status_code == 200 and done.json()["status"] == "in_progress"
    assert done["ETag"] == f'"issue-{issue.pk}-v{issue.version + 1}"'


def test_a_status_change_is_the_desks_change(api, shop):
    issue = shop["down"]
    before = issue.version
    api.patch(f"/api/issues/{issue.pk}/update_status/", {"status": "in_progress"},
              headers={"If-Match": etag(api, issue.pk)})
    issue.refresh_from_db()
    assert issue.version == before + 1 and issue.status == Status.IN_PROGRESS
    event = issue.events.latest("id")
    assert (event.kind, event.from_value, event.to_value) == ("status_changed", "open", "in_progress")


def test_resolving_without_a_remedy_is_refused_as_on_the_desk(api, shop):
    issue = shop["down"]
    response = api.patch(f"/api/issues/{issue.pk}/update_status/", {"status": "resolved"},
                         headers={"If-Match": etag(api, issue.pk)})
    assert response.status_code == 409 and "remedy" in response.json()["detail"].lower()
    closed = shop["old"]
    closed.set_status(Status.CLOSED, by=None)
    refused = api.patch(f"/api/issues/{closed.pk}/update_status/", {"status": "in_progress"},
                        headers={"If-Match": etag(api, closed.pk)})
    assert refused.status_code == 409 and refused.json()["code"] == "not_allowed"


def test_a_remedy_that_fixed_it_resolves_in_one_step(api, shop, settings, django_capture_on_commit_callbacks):
    settings.AI_ENABLED = True
    issue = shop["down"]
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"/api/issues/{issue.pk}/add_remedy/",
                            {"description": "Replaced the spindle fan", "minutes_spent": 40, "parts_used": "Fan 24V",
                             "fixed": True}, headers={"If-Match": etag(api, issue.pk)})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "resolved" and data["remedies"][0]["minutes_spent"] == 40
    remedy = Remedy.objects.get(issue=issue)
    assert remedy.ai_state == AIState.PENDING and callbacks  # polished in the background, as on the desk
    assert "spindle fan" in Issue.objects.get(pk=issue.pk).search_document.lower()


def test_a_remedy_that_fixed_a_stopped_machine_records_it_running_again(api, shop):
    issue = shop["down"]
    response = api.post(f"/api/issues/{issue.pk}/add_remedy/", {"description": "Replaced the fan", "fixed": True},
                        headers={"If-Match": etag(api, issue.pk)})
    data = response.json()
    assert data["status"] == "resolved" and data["is_runnable"] is True
    assert data["machine_running_again_at"] == data["resolved_at"]


def test_a_remedy_that_fixed_it_can_leave_the_machine_stopped(api, shop):
    issue = shop["down"]
    response = api.post(f"/api/issues/{issue.pk}/add_remedy/",
                        {"description": "Replaced the fan", "fixed": True, "machine_runs": False},
                        headers={"If-Match": etag(api, issue.pk)})
    data = response.json()
    assert data["status"] == "resolved" and data["is_runnable"] is False and data["machine_running_again_at"] is None


def test_a_stale_remedy_saves_nothing(api, shop, maintenance):
    issue = shop["down"]
    seen = etag(api, issue.pk)
    issue.set_priority(4, by=maintenance)
    response = api.post(f"/api/issues/{issue.pk}/add_remedy/", {"description": "Fan", "fixed": True},
                        headers={"If-Match": seen})
    assert response.status_code == 412 and not Remedy.objects.filter(issue=issue).exists()


def test_a_remedy_sent_twice_with_its_key_is_recorded_once(api, shop):
    issue = shop["down"]
    headers = {"If-Match": etag(api, issue.pk), "Idempotency-Key": "remedy-1"}
    first = api.post(f"/api/issues/{issue.pk}/add_remedy/", {"description": "Fan", "fixed": True}, headers=headers)
    again = api.post(f"/api/issues/{issue.pk}/add_remedy/", {"description": "Fan", "fixed": True}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert Remedy.objects.filter(issue=issue).count() == 1


def test_assign_priority_and_running_again(api, shop, maintenance, make_key):
    issue = shop["down"]
    url = f"/api/issues/{issue.pk}/"
    assigned = api.patch(url + "assign/", {"assigned_to": maintenance.pk}, headers={"If-Match": etag(api, issue.pk)})
    assert assigned.json()["assigned_to"] == {"id": maintenance.pk, "name": "Marek"}
    system, _ = make_key("maintenance", "Robot")
    nobody = api.patch(url + "assign/", {"assigned_to": system.user.pk}, headers={"If-Match": etag(api, issue.pk)})
    assert nobody.status_code == 400 and "assigned_to" in nobody.json()["errors"]
    urgent = api.patch(url + "update_priority/", {"priority": 4}, headers={"If-Match": etag(api, issue.pk)})
    assert urgent.json()["priority"] == 4
    at = timezone.now() - timedelta(minutes=30)
    running = api.patch(url + "update_runnable/", {"is_runnable": True, "at": at.isoformat()},
                        headers={"If-Match": etag(api, issue.pk)})
    issue.refresh_from_db()
    assert running.json()["is_runnable"] and issue.machine_running_again_at == at
    kinds = list(issue.events.values_list("kind", flat=True))
    assert kinds[-3:] == ["assigned", "priority_changed", "runnable_changed"]


def test_an_unchanged_value_changes_nothing(api, shop):
    issue = shop["down"]
    before = issue.version
    response = api.patch(f"/api/issues/{issue.pk}/update_priority/", {"priority": issue.priority},
                         headers={"If-Match": etag(api, issue.pk)})
    issue.refresh_from_db()
    assert response.status_code == 200 and issue.version == before


# --- throttling ------------------------------------------------------------------------------------------
def test_a_key_calling_too_often_is_told_when_to_come_back(api, shop, settings, make_key):
    settings.API_THROTTLE_RATE = "3/min"
    for _ in range(3):
        assert api.get("/api/machines/").status_code == 200
    throttled = api.get("/api/machines/")
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert Caller(make_key("operator", "another")[1]).get("/api/machines/").status_code == 200


# --- a fixed number of queries, whatever the history ------------------------------------------------------
def _queries(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert call().status_code == 200
    return len(captured)


def test_an_issue_and_what_fixed_its_alarm_before_cost_the_same_queries_for_a_long_history(
        api, machine, other_machine, operator, maintenance, client):
    client.force_login(maintenance)

    def history(remedies):
        issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], description="x", by=operator)
        for n in range(remedies):
            remedy = record_remedy(issue=issue, description=f"step {n}", by=maintenance)
            from floor.models import Attachment
            Attachment.objects.create(issue=issue, remedy=remedy, kind="image", content_type="image/jpeg", size=1,
                                      file=f"r{n}.jpg", uploaded_by=maintenance)
        return issue

    short, long = history(1), history(4)
    api.get("/api/machines/")  # the key's last use is written once a minute: not inside what is counted
    for url in ("/api/issues/{}/", "/issues/{}/"):
        get = api.get if url.startswith("/api/") else client.get
        assert _queries(lambda: get(url.format(long.pk))) == _queries(lambda: get(url.format(short.pk))), url
    few = _queries(lambda: api.get("/api/alarm-codes/SV0401/remedies/"))
    for _ in range(4):
        history(1)
    report_issue(machine=other_machine, category="alarm", alarm_codes=["SV0401"], description="y", by=operator)
    assert _queries(lambda: api.get("/api/alarm-codes/SV0401/remedies/")) == few
