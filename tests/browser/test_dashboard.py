"""A TV on the shop floor shows the wall screen through a display link, with nobody signed in."""

import re

import pytest

from dashboard import views
from dashboard.models import DisplayLink
from floor.reporting import report_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_wall_screen_refreshes_itself_and_goes_dark_when_its_link_is_revoked(
        live_server, tv, manager, operator, machine, monkeypatch):
    monkeypatch.setattr(views, "WALL_POLL_SECONDS", 1)  # the real screen polls every 30 s
    link = DisplayLink.objects.create(name="Hall A, by the door", created_by=manager)

    tv.goto(f"{live_server.url}/dashboard/wall/{link.token}/")
    assert "/login/" not in tv.url
    assert tv.get_by_role("heading", name=re.compile("Hall A, by the door")).is_visible()
    assert tv.get_by_role("navigation").count() == 0
    down = tv.locator("section[aria-label=Now] p.tabular-nums").first
    assert down.inner_text() == "0"
    # Large type on a dark background, readable across a hall.
    assert float(down.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 80
    background = tv.evaluate("getComputedStyle(document.body).backgroundColor")
    assert _lightness(background) < 0.25, background
    assert tv.locator("svg[role=img] > title").count() == 2  # each chart has a title and a text alternative

    # A machine stops: the screen shows it at its next refresh, without a reload.
    tv.evaluate("window.sameDocument = true")
    report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False, by=operator,
                 description="servo alarm")
    tv.locator("section[aria-label=Now] p.tabular-nums").first.filter(has_text="1").wait_for()
    assert tv.get_by_text(machine.name).first.is_visible()
    assert tv.evaluate("window.sameDocument") is True

    # The manager revokes the link: the screen reloads into a plain "not found".
    link.revoke()
    tv.get_by_text("Not found").first.wait_for()
    assert machine.name not in tv.content()


def _lightness(css_color):
    """0 (black) to 1 (white), from the rgb() or oklch() that Chromium reports."""
    numbers = [float(v) for v in re.findall(r"[\d.]+", css_color)]
    if css_color.startswith("oklch"):
        return numbers[0]
    return sum(numbers[:3]) / (3 * 255)
