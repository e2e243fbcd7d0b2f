"""AI titles, summaries and remedy text, against a local server speaking the OpenAI protocol."""

import io
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.tasks import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from floor import ai
from floor.models import AIState, Issue, IssueEvent, Remedy
from floor.reporting import record_remedy, report_issue
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
