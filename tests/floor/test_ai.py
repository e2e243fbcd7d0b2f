"""AI titles, summaries and remedy text, against a local server speaking the OpenAI protocol."""

import io
import time
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from floor.models import AIState, Issue, IssueEvent
from floor.reporting import record_remedy, report_issue
from floor.tasks import polish_remedy, summarise_issue
from tests.openai_server import GOOD_REMEDY, GOOD_SUMMARY, GOOD_TITLE, FakeOpenAI

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


@pytest.mark.parametrize("failures", [["error500"], ["ratelimit"], ["garbage"], ["notjson"], ["longtitle"],
                                      ["empty"], ["error500", "garbage"]])
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
