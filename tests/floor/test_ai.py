"""AI titles, summaries and remedy text, against a local server speaking the OpenAI protocol."""

import io
import time
import uuid
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.tasks import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from floor import ai
from floor.models import AIState, Issue, IssueEvent, Remedy
from floor.reporting import make_title, record_remedy, report_issue
from floor.tasks import polish_remedy, summarise_issue
from tests.openai_server import (
    CLEAN_REMEDY,
    CLEAN_SUMMARY,
    CLEAN_TITLE,
    GOOD_REMEDY,
    GOOD_SUMMARY,
    GOOD_TITLE,
    FakeOpenAI,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def server():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def model(server, settings):
    """AI on, pointed at the local server, with short waits so failing cases stay quick."""
    server.mode, server.script, server.slow_seconds = "good", [], 3.0
    server.requests.clear()
    server.request_times.clear()
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_MODEL = "test-model"
    settings.AI_ENABLED = True
    settings.AI_TIMEOUT_SECONDS = 1.0
    settings.AI_RETRY_BASE_SECONDS = 0.05
    settings.AI_ATTEMPTS = 3
    return server


@pytest.fixture
def issue(machine, operator, model, django_capture_on_commit_callbacks):
    operator.first_name, operator.last_name = "Olga", "Secretname"
    operator.save()
    with django_capture_on_commit_callbacks() as queued:
        issue = report_issue(machine=machine, category="alarm", alarm_codes=["SP9001"], by=operator,
                             reporter_name="Jonas Privatename",
                             description="spdl hot again alm after 20min tool 12 smokes")
    assert len(queued) == 1  # the task is queued after commit, not run
    return issue


def run(task, *args):
    task.call(*args)


def test_good_reply_is_stored_next_to_the_original(issue, model):
    assert issue.ai_state == AIState.PENDING
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert (issue.ai_state, issue.ai_title, issue.ai_summary) == (AIState.DONE, GOOD_TITLE, GOOD_SUMMARY)
    assert issue.description == "spdl hot again alm after 20min tool 12 smokes"  # never overwritten
    assert issue.title.startswith("Alarm SP9001")
    assert issue.display_title == GOOD_TITLE
    assert issue.version == 1  # AI text is not a change by a person
    assert issue.events.filter(kind=IssueEvent.Kind.AI_DONE).exists()


def test_only_the_issues_own_facts_are_sent(issue, model):
    run(summarise_issue, issue.pk)
    sent = str(model.requests[0])
    assert model.requests[0]["model"] == "test-model"
    assert "spdl hot again" in sent and "SP9001" in sent and issue.machine.name in sent and "Alarm" in sent
    for private in ["Secretname", "Privatename", "olga", "Jonas"]:
        assert private not in sent


@pytest.mark.parametrize("failures", [["error500"], ["ratelimit"], ["garbage"], ["badjson"], ["nonstring"],
                                      ["notjson"], ["longtitle"], ["empty"], ["error500", "garbage"]])
def test_failures_are_retried_then_succeed(issue, model, failures):
    model.script = list(failures)
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert issue.ai_state == AIState.DONE and issue.ai_title == GOOD_TITLE
    assert len(model.requests) == len(failures) + 1


def test_rate_limit_waits_as_long_as_the_server_asks(issue, model):
    model.script = ["ratelimit"]
    run(summarise_issue, issue.pk)
    assert model.request_times[1] - model.request_times[0] >= 0.9  # Retry-After: 1


@pytest.mark.parametrize("mode, reason", [
    ("error500", "The model server failed (HTTP 500)."),
    ("garbage", "not a chat completion"),
    ("badjson", "The model server's reply was not JSON."),
    ("nonstring", "not a chat completion"),
    ("notjson", "The model's reply was not the requested JSON."),
    ("longtitle", "The model's title was too long"),
    ("empty", "The model gave an empty reply."),
    ("slow", "The model did not answer within 1 s."),
])
def test_lasting_failure_marks_failed_with_the_reason_and_keeps_the_plain_title(issue, model, mode, reason):
    model.mode = mode
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert issue.ai_state == AIState.FAILED
    assert reason in issue.ai_error and "after 3 attempts" in issue.ai_error
    assert issue.display_title == issue.title and issue.ai_title == ""
    assert len(model.requests) == 3


def test_server_that_is_not_there(issue, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert issue.ai_state == AIState.FAILED and "Cannot reach the model server" in issue.ai_error


def test_ai_off_gives_the_plain_title_and_no_request(machine, operator, settings, model,
                                                     django_capture_on_commit_callbacks):
    settings.OPENAI_BASE_URL = ""
    settings.AI_ENABLED = False
    with django_capture_on_commit_callbacks() as queued:
        issue = report_issue(machine=machine, category="tooling", by=operator, description="tool 12 broke in pocket")
    assert queued == [] and issue.ai_state == AIState.OFF
    assert issue.display_title == "Tooling: tool 12 broke in pocket"
    assert model.requests == []


def test_remedy_text_is_polished_and_the_original_kept(issue, maintenance, model,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        remedy = record_remedy(issue=issue, description="fan clogged cleaned it + filter", by=maintenance,
                               minutes_spent=30, parts_used="Filter mat")
    remedy.refresh_from_db()
    assert remedy.ai_state == AIState.PENDING
    run(polish_remedy, remedy.pk)
    remedy.refresh_from_db()
    assert (remedy.ai_state, remedy.ai_text) == (AIState.DONE, GOOD_REMEDY)
    assert remedy.description == "fan clogged cleaned it + filter"
    assert remedy.display_text == GOOD_REMEDY
    assert issue.events.filter(kind=IssueEvent.Kind.REMEDY_ADDED).exists()


def test_poll_continues_while_pending_and_stops_with_286(client, issue, model, maintenance):
    client.force_login(maintenance)
    response = client.get(reverse("issue_ai", args=[issue.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'hx-trigger="every 2s"' in response.content.decode()
    assert "Summarising…" in response.content.decode()
    run(summarise_issue, issue.pk)
    response = client.get(reverse("issue_ai", args=[issue.pk]), headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 286 and "hx-trigger" not in page
    assert GOOD_TITLE in page and "spdl hot again" in page  # the original, one click away


def test_failed_reason_is_shown_to_maintenance_who_can_run_it_again(client, issue, model, maintenance, operator,
                                                                   django_capture_on_commit_callbacks):
    model.mode = "error500"
    run(summarise_issue, issue.pk)
    client.force_login(operator)
    assert "AI summary failed" not in client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert client.post(reverse("issue_ai_rerun", args=[issue.pk])).status_code == 403

    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert "AI summary failed" in page and "HTTP 500" in page
    model.mode = "good"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("issue_ai_rerun", args=[issue.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Summarising…" in response.content.decode()
    assert len(queued) == 1
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert issue.ai_state == AIState.DONE


def test_ai_check_prints_model_reply_and_time(model):
    out = io.StringIO()
    call_command("ai_check", stdout=out)
    text = out.getvalue()
    assert "Model: test-model" in text and "Reply: ready" in text and "OK in" in text


def test_ai_check_says_exactly_why_it_failed(model, settings):
    model.mode = "error500"
    with pytest.raises(CommandError, match=r"HTTP 500"):
        call_command("ai_check", stdout=io.StringIO())
    settings.AI_ENABLED = False
    with pytest.raises(CommandError, match="AI is off"):
        call_command("ai_check", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_queued_task(machine, operator, model):
    """The real path: the report queues the task in the database, `db_worker --batch` runs it."""
    issue = report_issue(machine=machine, category="alarm", by=operator, description="spdl hot")
    assert model.requests == []
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO(), stderr=io.StringIO())
    issue.refresh_from_db()
    assert issue.ai_state == AIState.DONE and issue.ai_title == GOOD_TITLE


@pytest.mark.django_db(transaction=True)
def test_reporting_returns_before_the_model_answers(client, machine, operator, model):
    model.mode = "slow"
    client.force_login(operator)
    started = time.monotonic()
    response = client.post(reverse("machine_page", args=[machine.pk]), {
        "token": str(uuid.uuid4()), "category": "alarm", "runs": "no", "alarm_codes": "SP9001",
        "description": "spdl hot",
    })
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    issue = Issue.objects.get()
    assert issue.ai_state == AIState.PENDING and model.requests == []  # nothing asked during the request
    assert elapsed < model.slow_seconds


def remedy_for(issue, maintenance, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        remedy = record_remedy(issue=issue, description="fan clogged cleaned it + filter", by=maintenance)
    assert len(queued) == 1 and remedy.ai_state == AIState.PENDING
    return remedy


def test_control_characters_of_a_reply_are_stripped_and_the_title_stays_on_one_line(
        issue, maintenance, model, django_capture_on_commit_callbacks):
    """NUL cannot be stored in PostgreSQL's text at all; the others are invisible or break lines."""
    model.mode = "control"
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert issue.ai_state == AIState.DONE, issue.ai_error
    assert (issue.ai_title, issue.ai_summary) == (CLEAN_TITLE, CLEAN_SUMMARY)  # newlines and tabs kept
    assert len(model.requests) == 1  # cleaned, not retried

    remedy = remedy_for(issue, maintenance, django_capture_on_commit_callbacks)
    run(polish_remedy, remedy.pk)
    remedy.refresh_from_db()
    assert (remedy.ai_state, remedy.ai_text) == (AIState.DONE, CLEAN_REMEDY)


def test_an_unexpected_error_in_the_task_is_recorded_as_a_failure(issue, maintenance, model, settings,
                                                                  django_capture_on_commit_callbacks):
    """Not one of the model's known failures: a mistyped server address makes the HTTP library raise
    an error of its own. The task must not die with it and leave "Summarising…" behind."""
    settings.OPENAI_BASE_URL = "http://[::1/v1"
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert issue.ai_state == AIState.FAILED
    assert issue.ai_error.startswith("Unexpected error while writing the text (InvalidURL: ")
    assert issue.events.filter(kind=IssueEvent.Kind.AI_FAILED).exists()
    assert issue.description == "spdl hot again alm after 20min tool 12 smokes" and issue.ai_title == ""

    remedy = remedy_for(issue, maintenance, django_capture_on_commit_callbacks)
    run(polish_remedy, remedy.pk)
    remedy.refresh_from_db()
    assert remedy.ai_state == AIState.FAILED and "InvalidURL" in remedy.ai_error
    assert remedy.description == "fan clogged cleaned it + filter" and remedy.ai_text == ""


def test_pending_limit_covers_every_attempt_every_wait_and_the_queue(settings):
    settings.AI_TIMEOUT_SECONDS, settings.AI_ATTEMPTS, settings.AI_RETRY_BASE_SECONDS = 15.0, 3, 2.0
    settings.AI_QUEUE_MARGIN_SECONDS = 60.0
    # Three timeouts; two waits, each as long as a server's Retry-After may make it (30 s at most).
    assert ai.pending_limit() == timedelta(seconds=15 * 3 + 30 + 30 + 60)
    settings.AI_RETRY_BASE_SECONDS = 20.0  # 20 s, then 40 s: longer than any Retry-After
    assert ai.pending_limit() == timedelta(seconds=15 * 3 + 30 + 40 + 60)
    settings.AI_ATTEMPTS, settings.AI_QUEUE_MARGIN_SECONDS = 1, 5.0
    assert ai.pending_limit() == timedelta(seconds=15 + 5)


def age(obj, seconds):
    """Make obj's AI text look pending for this long (as if its worker had died that long ago)."""
    then = timezone.now() - timedelta(seconds=seconds)
    type(obj).objects.filter(pk=obj.pk).update(created_at=then, ai_updated_at=then)


def test_text_pending_past_the_limit_fails_when_polled_and_try_again_writes_it(
        client, issue, model, maintenance, django_capture_on_commit_callbacks):
    limit = ai.pending_limit().total_seconds()
    client.force_login(maintenance)
    poll = reverse("issue_ai", args=[issue.pk])
    age(issue, limit - 5)
    response = client.get(poll, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Summarising…" in response.content.decode()  # not yet

    age(issue, limit + 1)
    response = client.get(poll, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 286 and "Summarising…" not in page
    assert "AI summary failed" in page and "The background worker stopped before the text was written" in page
    assert "Try again" in page
    issue.refresh_from_db()
    assert issue.ai_state == AIState.FAILED and f"nothing within {limit:g} s" in issue.ai_error
    assert issue.events.filter(kind=IssueEvent.Kind.AI_FAILED).count() == 1
    assert issue.title.startswith("Alarm SP9001") and issue.description.startswith("spdl hot again")
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 286
    assert issue.events.filter(kind=IssueEvent.Kind.AI_FAILED).count() == 1  # marked once

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(reverse("issue_ai_rerun", args=[issue.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Summarising…" in response.content.decode() and len(queued) == 1
    run(summarise_issue, issue.pk)
    issue.refresh_from_db()
    assert (issue.ai_state, issue.ai_title) == (AIState.DONE, GOOD_TITLE)


def test_try_again_on_text_stuck_pending_starts_it_anew(client, issue, model, maintenance,
                                                        django_capture_on_commit_callbacks):
    """The button of a page loaded before the limit: the text is stuck, so it is asked for again."""
    age(issue, ai.pending_limit().total_seconds() + 1)
    client.force_login(maintenance)
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("issue_ai_rerun", args=[issue.pk]), headers={"HX-Request": "true"})
    assert len(queued) == 1
    issue.refresh_from_db()
    assert issue.ai_state == AIState.PENDING and issue.ai_updated_at > timezone.now() - timedelta(seconds=5)


def test_remedy_text_pending_past_the_limit_fails_when_polled(client, issue, model, maintenance,
                                                              django_capture_on_commit_callbacks):
    remedy = remedy_for(issue, maintenance, django_capture_on_commit_callbacks)
    client.force_login(maintenance)
    poll = reverse("remedy_ai", args=[remedy.pk])
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 200
    age(remedy, ai.pending_limit().total_seconds() + 1)
    response = client.get(poll, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 286 and "Polishing the text…" not in page
    assert "AI text failed: The background worker stopped before the text was written" in page
    remedy.refresh_from_db()
    assert remedy.ai_state == AIState.FAILED and remedy.description == "fan clogged cleaned it + filter"


def test_text_written_while_the_limit_passed_is_kept(issue, model):
    """The worker's answer arrives just as a page would give up on it: the answer wins."""
    age(issue, ai.pending_limit().total_seconds() + 1)
    stale = Issue.objects.get(pk=issue.pk)
    run(summarise_issue, issue.pk)
    assert stale.fail_ai_if_overdue() is False
    assert (stale.ai_state, stale.ai_title) == (AIState.DONE, GOOD_TITLE)


@pytest.mark.django_db(transaction=True)
def test_worker_gives_up_on_text_whose_worker_died(client, machine, operator, maintenance, model):
    """A worker killed mid-task leaves its task row "running" (django-tasks-db never looks at it
    again) and the issue pending. The next worker's rounds mark both failed, without a page open."""
    issue = report_issue(machine=machine, category="alarm", by=operator, description="spdl hot")
    remedy_issue = report_issue(machine=machine, category="other", by=operator, description="coolant low")
    Issue.objects.filter(pk=remedy_issue.pk).update(ai_state=AIState.OFF)
    remedy = record_remedy(issue=remedy_issue, description="topped up coolant", by=maintenance)
    limit = ai.pending_limit().total_seconds()
    for row in DBTaskResult.objects.all():
        row.claim("killed-worker")  # as django-tasks-db does when a worker takes a task
    DBTaskResult.objects.update(started_at=timezone.now() - timedelta(seconds=limit + 1))
    age(issue, limit + 1)
    age(remedy, limit + 1)

    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO(), stderr=io.StringIO())
    issue.refresh_from_db()
    remedy.refresh_from_db()
    assert issue.ai_state == AIState.FAILED and "The background worker stopped" in issue.ai_error
    assert remedy.ai_state == AIState.FAILED and "The background worker stopped" in remedy.ai_error
    rows = DBTaskResult.objects.all()  # both issues' summaries and the remedy's text
    assert [r.status for r in rows] == [TaskResultStatus.FAILED] * 3
    assert {r.exception_class_path for r in rows} == {"floor.tasks.WorkerStopped"}
    assert model.requests == []

    client.force_login(maintenance)
    client.post(reverse("issue_ai_rerun", args=[issue.pk]))
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO(), stderr=io.StringIO())
    issue.refresh_from_db()
    assert (issue.ai_state, issue.ai_title) == (AIState.DONE, GOOD_TITLE)
    assert Remedy.objects.get(pk=remedy.pk).ai_state == AIState.FAILED


# --- issues and remedies: one life of their AI text ------------------------------------------------------
KINDS = ["issue", "remedy"]
TASK_OF = {"issue": summarise_issue, "remedy": polish_remedy}
DONE_EVENT = {"issue": IssueEvent.Kind.AI_DONE, "remedy": IssueEvent.Kind.REMEDY_AI_DONE}
FAILED_EVENT = {"issue": IssueEvent.Kind.AI_FAILED, "remedy": IssueEvent.Kind.REMEDY_AI_FAILED}
WRITTEN = {"issue": GOOD_TITLE, "remedy": GOOD_REMEDY}  # what the timeline names


@pytest.fixture
def texts(issue, maintenance, django_capture_on_commit_callbacks):
    """A pending AI text of each kind: the issue's and one of its remedies'."""
    return {"issue": issue, "remedy": remedy_for(issue, maintenance, django_capture_on_commit_callbacks)}


def test_issues_and_remedies_go_through_the_same_life_cycle():
    """Every change of AI text is AIText's: a copy on one kind would be free to drift from the other."""
    from floor.models import AIText

    for name in ["start_ai", "record_ai_text", "record_ai_failure", "record_ai_off", "mark_ai_started",
                 "fail_ai_if_overdue", "fail_overdue_ai", "ai_overdue", "_set_ai", "_ai_event", "display_text"]:
        assert name in vars(AIText), name
        assert name not in vars(Issue) and name not in vars(Remedy), f"{name} has a copy of its own"
    for field in ["ai_state", "ai_error", "ai_updated_at"]:
        columns = [model._meta.get_field(field).deconstruct()[1:] for model in (AIText, Issue, Remedy)]
        assert columns[0] == columns[1] == columns[2], field


@pytest.mark.parametrize("kind", KINDS)
def test_text_written_is_told_on_the_timeline_with_its_time(texts, model, kind):
    row = texts[kind]
    before = timezone.now()
    run(TASK_OF[kind], row.pk)
    row.refresh_from_db()
    assert row.ai_state == AIState.DONE and before <= row.ai_updated_at <= timezone.now()
    [event] = IssueEvent.objects.filter(issue=texts["issue"], kind=DONE_EVENT[kind])
    assert event.to_value == WRITTEN[kind] and before <= event.created_at <= timezone.now()
    assert row.description == {"issue": "spdl hot again alm after 20min tool 12 smokes",
                               "remedy": "fan clogged cleaned it + filter"}[kind]  # the typed text stays
    assert Issue.objects.get(pk=texts["issue"].pk).version == 1  # not a change by a person


@pytest.mark.parametrize("kind", KINDS)
def test_text_failed_is_told_on_the_timeline_with_its_time(texts, model, kind):
    model.mode = "error500"
    row = texts[kind]
    before = timezone.now()
    run(TASK_OF[kind], row.pk)
    row.refresh_from_db()
    assert row.ai_state == AIState.FAILED and "HTTP 500" in row.ai_error
    assert before <= row.ai_updated_at <= timezone.now()
    [event] = IssueEvent.objects.filter(issue=texts["issue"], kind=FAILED_EVENT[kind])
    assert event.to_value == row.ai_error[:200] and before <= event.created_at <= timezone.now()


def test_the_timeline_says_the_remedys_text_is_the_remedys(client, texts, model, maintenance):
    run(polish_remedy, texts["remedy"].pk)
    model.mode = "error500"
    remedy = record_remedy(issue=texts["issue"], description="swapped the fan", by=maintenance)
    run(polish_remedy, remedy.pk)
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[texts["issue"].pk])).content.decode()
    assert f"Remedy rewritten by AI: {GOOD_REMEDY}" in page
    assert "AI failed on a remedy: The model server failed (HTTP 500)." in page


def test_try_again_on_a_failed_remedy_writes_the_text(client, texts, model, maintenance, operator,
                                                      django_capture_on_commit_callbacks):
    remedy = texts["remedy"]
    model.mode = "error500"
    run(polish_remedy, remedy.pk)
    rerun = reverse("remedy_ai_rerun", args=[remedy.pk])
    client.force_login(operator)
    page = client.get(reverse("issue_detail", args=[texts["issue"].pk])).content.decode()
    assert "AI text failed" not in page and rerun not in page
    assert client.post(rerun).status_code == 403

    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[texts["issue"].pk])).content.decode()
    assert "AI text failed: The model server failed (HTTP 500)." in page and f'action="{rerun}"' in page
    model.mode = "good"
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(rerun, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Polishing the text…" in response.content.decode()
    assert len(queued) == 1
    run(polish_remedy, remedy.pk)
    remedy.refresh_from_db()
    assert (remedy.ai_state, remedy.ai_text, remedy.ai_error) == (AIState.DONE, GOOD_REMEDY, "")
    assert IssueEvent.objects.filter(kind=IssueEvent.Kind.REMEDY_AI_DONE).count() == 1
    assert client.post(rerun).url == reverse("issue_detail", args=[texts["issue"].pk])  # a plain form post


class _AIBlock(HTMLParser):
    """What the AI text block of a reply shows, as far as the state goes (not the kind's words)."""

    def __init__(self, html):
        super().__init__()
        self.root, self.depth, self.found = None, 0, {"status note": False, "details": False, "forms": []}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.root is None and "data-ai-text" in attrs:
            self.root = attrs
        if tag == "p" and attrs.get("role") == "status":
            self.found["status note"] = True
        elif tag == "details":
            self.found["details"] = True
        elif tag == "form":
            self.found["forms"].append((attrs.get("action"), attrs.get("hx-post"), attrs.get("hx-target")))


def shape(response, *, poll, rerun):
    block = _AIBlock(response.content.decode())
    root = block.root
    return {
        "status": response.status_code,
        "state": root["data-ai-text"],
        "polls": (root.get("hx-get") == poll, root.get("hx-trigger"), root.get("hx-swap")),
        "status note": block.found["status note"],
        "typed text one click away": block.found["details"],
        "try again": [(action == rerun, post == rerun, target) for action, post, target in block.found["forms"]],
        "try again button": "Try again" in response.content.decode(),
    }


def put_into(row, state):
    {
        "pending": lambda: row.start_ai(),
        "done": lambda: row.record_ai_text(**{field: "Written by AI" for field in row.AI_TEXT_FIELDS}),
        "failed": lambda: row.record_ai_failure("The model server failed (HTTP 500)."),
        "off": lambda: row.record_ai_off(),
    }[state]()


@pytest.mark.parametrize("role", ["maintenance", "operator"])
@pytest.mark.parametrize("state", ["pending", "done", "failed", "off"])
def test_both_poll_views_answer_each_state_alike(client, texts, request, role, state):
    """The issue's block and the remedy's are one fragment behind one view shape: any change to one
    kind's states only shows here."""
    client.force_login(request.getfixturevalue(role))
    shapes = {}
    for kind, row in texts.items():
        put_into(row, state)
        poll, rerun = reverse(f"{kind}_ai", args=[row.pk]), reverse(f"{kind}_ai_rerun", args=[row.pk])
        shapes[kind] = shape(client.get(poll, headers={"HX-Request": "true"}), poll=poll, rerun=rerun)
    assert shapes["issue"] == shapes["remedy"]
    pending, failed, may_rerun = state == "pending", state == "failed", role == "maintenance"
    assert shapes["issue"] == {
        "status": 200 if pending else 286,
        "state": state,
        "polls": (True, "every 2s", "outerHTML") if pending else (False, None, None),
        "status note": pending,
        "typed text one click away": state == "done",
        "try again": [(True, True, "closest [data-ai-text]")] if failed and may_rerun else [],
        "try again button": failed and may_rerun,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_the_page_shows_the_block_its_poll_answers(client, texts, maintenance, kind):
    """The page includes the same partial the polling view renders, byte for byte."""
    client.force_login(maintenance)
    row = texts[kind]
    page = client.get(reverse("issue_detail", args=[texts["issue"].pk])).content.decode()
    poll = client.get(reverse(f"{kind}_ai", args=[row.pk]), headers={"HX-Request": "true"}).content.decode()
    assert poll.strip() and poll.strip() in page


def test_the_prompt_asks_for_the_title_length_the_check_allows():
    assert f"title: at most {ai.TITLE_MAX} characters" in ai.ISSUE_PROMPT
    # The plain title keeps to the same limit: either is the issue's title in the same places.
    assert ai.TITLE_MAX - 5 < len(make_title(category="other", description="word " * 100)) <= ai.TITLE_MAX
