"""Maintenance at a desktop: from the queue to a resolved issue."""

import pytest

from floor.models import Status
from floor.reporting import report_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_triage_to_resolve(live_server, desktop, sign_in, operator, maintenance, machine, other_machine):
    down = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                        by=operator, description="servo alarm X axis, machine stopped")
    report_issue(machine=other_machine, category="quality", by=operator, description="bore oversize")
    sign_in(desktop, maintenance)
    assert desktop.url.endswith("/desk/")

    # Filter to machines that are down: the table updates in place and the URL follows.
    desktop.get_by_label("Machine state").select_option("down")
    desktop.wait_for_url("**runnable=down**")
    rows = desktop.locator("#desk-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1 and "SV0401" in rows.first.inner_text()

    desktop.get_by_role("link", name=f"#{down.pk}").click()
    desktop.get_by_role("button", name="Assign to me").click()
    desktop.get_by_text("Assigned to Marek").wait_for()
    desktop.get_by_role("button", name="In progress").click()
    desktop.get_by_text("Status: Open → In progress").wait_for()

    # Resolving without a remedy asks for one.
    desktop.get_by_role("button", name="Resolved").click()
    desktop.get_by_text("Record what fixed it first").wait_for()

    desktop.get_by_label("What was done").fill("Found CX4 loose on the X amplifier, reseated it.")
    desktop.get_by_label("Minutes spent").fill("35")
    desktop.get_by_role("button", name="Save remedy").click()
    desktop.get_by_text("Status: In progress → Resolved").wait_for()
    down.refresh_from_db()
    assert down.status == Status.RESOLVED and down.assigned_to == maintenance
    assert down.remedies.get().minutes_spent == 35


def test_second_change_of_the_same_issue_is_told_not_lost(live_server, screen, sign_in, operator, maintenance,
                                                          manager, machine):
    issue = report_issue(machine=machine, category="alarm", by=operator, description="servo alarm")
    first, second = screen(1600, 1000), screen(1600, 1000)
    sign_in(first, maintenance)
    sign_in(second, manager)
    for page in (first, second):
        page.goto(f"{live_server.url}/issues/{issue.pk}/")
    first.get_by_role("button", name="In progress").click()
    first.get_by_text("Status: Open → In progress").wait_for()
    second.get_by_role("button", name="Waiting for parts").click()
    second.get_by_text("Someone else changed this issue").wait_for()
    issue.refresh_from_db()
    assert issue.status == Status.IN_PROGRESS


def test_a_remedy_saved_on_an_issue_changed_meanwhile_keeps_its_text(live_server, screen, sign_in, operator,
                                                                     maintenance, manager, machine):
    issue = report_issue(machine=machine, category="alarm", by=operator, description="servo alarm")
    first, second = screen(1600, 1000), screen(1600, 1000)
    sign_in(first, manager)
    sign_in(second, maintenance)
    for page in (first, second):
        page.goto(f"{live_server.url}/issues/{issue.pk}/")
    typed = "Found CX4 loose on the X amplifier, reseated it and checked the others."
    second.get_by_label("What was done").fill(typed)
    second.get_by_label("Minutes spent").fill("35")
    second.get_by_label("This fixed it").check()

    first.get_by_role("button", name="In progress").click()
    first.get_by_text("Status: Open → In progress").wait_for()
    second.get_by_role("button", name="Save remedy").click()
    second.get_by_text("Someone else changed this issue").wait_for()
    second.get_by_text("Your remedy was not saved").wait_for()
    assert second.get_by_label("What was done").input_value() == typed
    assert second.get_by_label("Minutes spent").input_value() == "35"
    assert second.get_by_label("This fixed it").is_checked()
    issue.refresh_from_db()
    assert issue.status == Status.IN_PROGRESS and not issue.remedies.exists()

    # Saved again, now at the version on the screen.
    second.get_by_role("button", name="Save remedy").click()
    second.get_by_text("Status: In progress → Resolved").wait_for()
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED and issue.remedies.get().description == typed


def in_place(page, url, message):
    """The reply was swapped into the issue page: same address and title, the site's header and
    stylesheet still there, one issue block, the message visible inside it."""
    assert page.url == url
    assert page.title().startswith("Issue ")
    assert page.locator("header nav[aria-label=Main]").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    # Styled by app.css: the header's brand colour, not a browser's unstyled white.
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") not in (
        "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    assert page.locator("#issue-main").count() == 1
    assert page.locator("#issue-main").get_by_text(message).is_visible()


DEBUG_MODES = pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])


@DEBUG_MODES
def test_resolving_without_a_remedy_asks_for_one_in_the_page(live_server, desktop, sign_in, operator, maintenance,
                                                             machine, settings, debug):
    settings.DEBUG = debug
    issue = report_issue(machine=machine, category="alarm", by=operator, description="servo alarm")
    sign_in(desktop, maintenance)
    url = f"{live_server.url}/issues/{issue.pk}/"
    desktop.goto(url)
    desktop.get_by_role("button", name="Resolved").click()
    desktop.get_by_text("Record what fixed it first").wait_for()
    in_place(desktop, url, "Record what fixed it first")
    assert desktop.get_by_label("This fixed it").is_checked()
    issue.refresh_from_db()
    assert issue.status == Status.OPEN


@DEBUG_MODES
def test_an_empty_remedy_is_named_in_the_page(live_server, desktop, sign_in, operator, maintenance, machine,
                                              settings, debug):
    settings.DEBUG = debug
    issue = report_issue(machine=machine, category="alarm", by=operator, description="servo alarm")
    sign_in(desktop, maintenance)
    url = f"{live_server.url}/issues/{issue.pk}/"
    desktop.goto(url)
    desktop.get_by_label("Minutes spent").fill("20")
    desktop.get_by_role("button", name="Save remedy").click()
    desktop.get_by_text("Say what was done.").wait_for()
    in_place(desktop, url, "Say what was done.")
    assert desktop.get_by_label("Minutes spent").input_value() == "20"
    assert not issue.remedies.exists()
