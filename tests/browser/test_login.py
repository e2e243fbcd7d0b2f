"""A person signs in on a tablet and lands on the open issues."""

import re

import pytest

from floor.reporting import report_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_maintenance_signs_in_on_a_tablet_and_sees_machines_down_first(live_server, tablet, sign_in, operator,
                                                                       maintenance, machine, other_machine):
    report_issue(machine=other_machine, category="quality", description="bore oversize", by=operator)
    report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], description="servo alarm",
                 is_runnable=False, by=operator)

    tablet.goto(live_server.url + "/")
    assert "/login/" in tablet.url  # everything but the login page needs a signed-in user
    sign_in(tablet, maintenance)

    assert tablet.get_by_role("heading", name="Maintenance desk").is_visible()
    rows = tablet.locator("#desk-table tbody tr")
    assert rows.count() == 2
    assert "SV0401" in rows.nth(0).inner_text() and "Down" in rows.nth(0).inner_text()
    # The stylesheet is served locally and applied (no outside host).
    button = tablet.get_by_role("button", name="Sign out")
    assert button.bounding_box()["height"] >= 44


def test_wrong_password_is_explained_on_the_tablet(live_server, tablet, operator):
    tablet.goto(live_server.url + "/login/")
    tablet.get_by_label("Username").fill(operator.username)
    tablet.get_by_label("Password").fill("wrong")
    tablet.get_by_role("button", name="Sign in").click()
    assert tablet.get_by_role("alert").is_visible()
    assert tablet.get_by_label("Username").input_value() == operator.username


def test_a_locked_out_operator_reads_on_the_tablet_when_to_try_again(live_server, tablet, sign_in, operator,
                                                                    maintenance):
    for _ in range(5):
        sign_in(tablet, operator, "wrong")
    sign_in(tablet, operator)  # the right password, during the lock

    alert = tablet.get_by_role("alert")
    text = alert.inner_text()
    assert "Too many wrong passwords for olga" in text
    assert re.search(r"Try again at \d\d:\d\d \(in 15 minutes\)", text), text
    assert "An administrator can unlock it now" in text
    assert "/login/" in tablet.url and tablet.get_by_label("Username").input_value() == "olga"
    # Readable at arm's length: the stylesheet's large type applies to the lockout headline.
    size = alert.locator("p").first.evaluate("p => parseFloat(getComputedStyle(p).fontSize)")
    assert size >= 20

    # The next person at the same tablet signs in as usual.
    sign_in(tablet, maintenance)
    assert tablet.get_by_role("heading", name="Maintenance desk").is_visible()
