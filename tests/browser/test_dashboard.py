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


LONG_NAMES = ["5X-03 DMG Mori DMU 65 monoBLOCK", "M-05 Fanuc Robodrill α-D21MiB5 (cell 2)", "M" * 26,
              "WWW-Wide Workpiece Washer", "T-01 Okuma LB3000", "G-02 Studer S33 cylindrical grinder"]


def test_no_chart_label_is_clipped_on_a_wide_screen(live_server, screen, sign_in, manager, operator):
    """Machine names were clipped by 3 to 22 px at the left edge of the charts at 1440 px."""
    from floor.models import Department, Machine

    hall = Department.objects.create(name="Five-axis machining and grinding, hall B")
    for n, name in enumerate(LONG_NAMES):
        machine = Machine.objects.create(name=name, department=hall)
        report_issue(machine=machine, category=["hydraulic", "electrical", "mechanical"][n % 3],
                     alarm_codes=["SV0401", "M01 0101"][: n % 2 + 1], is_runnable=False, by=operator,
                     description="stopped")
    page = screen(1440, 900)
    sign_in(page, manager)
    page.goto(f"{live_server.url}/dashboard/")
    clipped = page.evaluate("""() => [...document.querySelectorAll('svg[aria-labelledby]')].flatMap(svg => {
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].filter(text => {
            const r = text.getBoundingClientRect();
            return r.width && (r.left < box.left - 0.5 || r.right > box.right + 0.5
                               || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5);
        }).map(text => `${svg.querySelector('title').textContent}: ${text.textContent}`);
    })""")
    assert clipped == []
    shown = page.evaluate("() => [...document.querySelectorAll('svg[aria-labelledby] text')].map(t => t.textContent)")
    assert "T-01 Okuma LB3000" in shown  # a name that fits stays whole
    assert any(text.startswith("5X-03 DMG Mori") for text in shown)


def _wait_for_refresh(tv):
    tv.evaluate("document.getElementById('wall-body').dataset.before = ''")
    tv.locator("#wall-body:not([data-before])").wait_for()


def test_a_machine_that_just_stopped_flashes_once_then_stays_marked(live_server, tv, manager, operator, machine,
                                                                   other_machine, monkeypatch):
    monkeypatch.setattr(views, "WALL_POLL_SECONDS", 1)
    link = DisplayLink.objects.create(name="Hall A, by the door", created_by=manager)
    report_issue(machine=machine, category="alarm", is_runnable=False, by=operator, description="stopped")
    tv.goto(f"{live_server.url}/dashboard/wall/{link.token}/")
    first = tv.locator("[data-just-stopped]").filter(has_text=machine.name)
    assert first.get_by_text("Just stopped").is_visible()
    assert "wall-flash" in first.get_attribute("class")
    assert first.evaluate("e => getComputedStyle(e).animationName") == "wall-flash"

    # The next refreshes bring the same stop: marked still, but it does not flash again.
    _wait_for_refresh(tv)
    assert first.get_by_text("Just stopped").is_visible()
    assert "wall-flash" not in first.get_attribute("class")

    # Another machine stops: that one flashes.
    report_issue(machine=other_machine, category="alarm", is_runnable=False, by=operator, description="stopped")
    second = tv.locator("[data-just-stopped]").filter(has_text=other_machine.name)
    second.wait_for()
    assert "wall-flash" in second.get_attribute("class")
    assert "wall-flash" not in first.get_attribute("class")


def test_a_screen_that_asks_for_less_motion_shows_the_mark_without_flashing(live_server, screen, manager, operator,
                                                                           machine):
    link = DisplayLink.objects.create(name="Hall A, by the door", created_by=manager)
    report_issue(machine=machine, category="alarm", is_runnable=False, by=operator, description="stopped")
    tv = screen(1920, 1080)
    tv.emulate_media(reduced_motion="reduce")
    tv.goto(f"{live_server.url}/dashboard/wall/{link.token}/")
    row = tv.locator("[data-just-stopped]")
    assert row.get_by_text("Just stopped").is_visible()
    assert row.evaluate("e => getComputedStyle(e).animationName") == "none"
