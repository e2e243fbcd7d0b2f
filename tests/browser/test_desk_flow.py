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
    desktop.get_by_text("Assigned to marek").wait_for()
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
