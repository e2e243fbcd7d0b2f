"""AI text on the issue page in Chromium: "Summarising…" until the text is there, then the text swapped in
without a reload and the polling stopped; a remedy's failed text written after "Try again"."""

import time

import pytest

from floor.reporting import record_remedy, report_issue
from floor.tasks import polish_remedy, summarise_issue
from tests.openai_server import GOOD_REMEDY, GOOD_SUMMARY, GOOD_TITLE, FakeOpenAI

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def model(settings):
    """AI on, pointed at a local server; one attempt, so a failure is quick."""
    fake = FakeOpenAI().start()
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.OPENAI_MODEL = fake.base_url, "", "test-model"
    settings.AI_ENABLED, settings.AI_TIMEOUT_SECONDS, settings.AI_ATTEMPTS = True, 2.0, 1
    yield fake
    fake.stop()


def ai_requests(page):
    """The paths of the AI block's requests the page makes from now on."""
    seen = []
    page.on("request", lambda request: "/ai/" in request.url and seen.append(request.url))
    return seen


def test_the_summary_replaces_summarising_in_place_and_the_polling_stops(
        live_server, desktop, sign_in, operator, maintenance, machine, model):
    issue = report_issue(machine=machine, category="alarm", alarm_codes=["SP9001"], by=operator,
                         description="spdl hot again alm after 20min")
    sign_in(desktop, maintenance)
    desktop.goto(f"{live_server.url}/issues/{issue.pk}/")
    desktop.get_by_text("Summarising…").wait_for()
    assert desktop.get_by_role("heading", level=1).inner_text() == f"#{issue.pk} · {issue.title}"
    desktop.evaluate("window.loadedOnce = true")  # gone if the page were loaded again
    polls = ai_requests(desktop)

    summarise_issue.call(issue.pk)
    desktop.get_by_role("heading", level=1, name=f"#{issue.pk} · {GOOD_TITLE}").wait_for()
    desktop.get_by_text(GOOD_SUMMARY).wait_for()
    assert desktop.get_by_text("Summarising…").count() == 0
    assert desktop.evaluate("window.loadedOnce") is True
    desktop.get_by_text("As typed by").click()  # the typed text, one click away
    assert desktop.get_by_text("spdl hot again alm after 20min", exact=True).is_visible()

    answered = len(polls)
    time.sleep(4.5)  # two more polling intervals
    assert answered >= 1 and len(polls) == answered  # the 286 stopped the polling


def test_try_again_writes_a_remedys_failed_text(live_server, desktop, sign_in, operator, maintenance, machine,
                                                model):
    issue = report_issue(machine=machine, category="alarm", by=operator, description="spdl hot")
    remedy = record_remedy(issue=issue, description="fan clogged cleaned it + filter", by=maintenance)
    model.mode = "error500"
    polish_remedy.call(remedy.pk)
    sign_in(desktop, maintenance)
    desktop.goto(f"{live_server.url}/issues/{issue.pk}/")
    remedy_block = desktop.locator(f"#remedy-{remedy.pk}")
    remedy_block.get_by_text("AI text failed: The model server failed (HTTP 500).").wait_for()

    model.mode = "good"
    remedy_block.get_by_role("button", name="Try again").click()
    remedy_block.get_by_text("Polishing the text…").wait_for()
    polish_remedy.call(remedy.pk)
    remedy_block.get_by_text(GOOD_REMEDY).wait_for()
    assert remedy_block.get_by_text("AI text failed").count() == 0
    assert desktop.url == f"{live_server.url}/issues/{issue.pk}/"
