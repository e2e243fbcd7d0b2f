"""At the desk, a machine that has just gone down is marked, and with the sound on, the refresh that brings
it beeps once (static/js/alerts.js)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from floor.models import Department, Machine
from floor.reporting import report_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFRESH = "00:31"  # the desk's table refreshes itself every 30 s


def down(machine, by):
    return report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False, by=by,
                        description="servo alarm, machine stopped")


def words(locator):
    return " ".join(locator.inner_text().split())


def played(page):
    return page.evaluate("window.logbookAlerts.played")


def refresh(page):
    """Let the table's 30 s pass on the page's clock, and wait until its refresh is on the screen."""
    page.evaluate("document.getElementById('desk-table').dataset.before = ''")
    page.clock.fast_forward(REFRESH)
    page.locator("#desk-table:not([data-before])").wait_for()


@pytest.fixture
def open_desk(live_server, desktop, sign_in, maintenance):
    def open_desk(query=""):
        # The page's timers run on a clock the test moves: a refresh without waiting 30 s for it.
        desktop.clock.install()
        sign_in(desktop, maintenance)
        desktop.goto(f"{live_server.url}/desk/{query}")
        return desktop

    return open_desk


@pytest.fixture
def desk(open_desk):
    return open_desk()


def test_a_refresh_that_brings_a_machine_down_beeps_once(open_desk, operator, machine, other_machine):
    already = down(machine, operator)
    desktop = open_desk()
    sound = desktop.get_by_role("button", name="Sound")
    assert sound.get_attribute("aria-pressed") == "false" and words(sound) == "Sound off"
    assert desktop.locator(f"tr[data-issue-id='{already.pk}'][data-down-new]").is_visible()
    assert played(desktop) == 0  # the first load never beeps

    sound.click()
    assert sound.get_attribute("aria-pressed") == "true" and words(sound) == "Sound on"
    refresh(desktop)
    assert played(desktop) == 0  # nothing new: the one on the screen is not news again

    issue = down(other_machine, operator)
    refresh(desktop)
    row = desktop.locator(f"tr[data-issue-id='{issue.pk}']")
    assert row.get_attribute("data-down-new") == ""
    assert row.get_by_text("New · machine down").is_visible()
    assert played(desktop) == 1

    refresh(desktop)
    assert row.get_by_text("New · machine down").is_visible()
    assert played(desktop) == 1  # not again for the same issue


def test_the_sound_is_off_until_turned_on_and_then_remembered(desk, operator, machine):
    sound = desk.get_by_role("button", name="Sound")
    issue = down(machine, operator)
    refresh(desk)
    assert desk.locator(f"tr[data-issue-id='{issue.pk}'][data-down-new]").is_visible()
    assert played(desk) == 0 and sound.get_attribute("aria-pressed") == "false"

    sound.click()
    desk.reload()
    assert sound.get_attribute("aria-pressed") == "true"
    # A reloaded page may not sound before someone clicks in it: it says so, and a click allows it.
    blocked = desk.get_by_text("Click anywhere on the page to let it beep")
    assert blocked.is_visible()
    desk.get_by_role("heading", name="Maintenance desk").click()
    blocked.wait_for(state="hidden")

    sound.click()
    assert sound.get_attribute("aria-pressed") == "false" and not blocked.is_visible()


def test_a_hidden_tab_counts_new_machines_down_in_its_title(desk, operator, machine, other_machine):
    title = desk.title()
    # Chromium without a window never hides a tab: the page is told it is hidden, as a tab in the
    # background is.
    desk.evaluate("""() => {
        window.tabHidden = true;
        Object.defineProperty(document, "hidden", {configurable: true, get: () => window.tabHidden});
        Object.defineProperty(document, "visibilityState", {configurable: true,
                              get: () => window.tabHidden ? "hidden" : "visible"});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    down(machine, operator)
    refresh(desk)
    assert desk.title() == f"(1) {title}"
    down(other_machine, operator)
    refresh(desk)
    assert desk.title() == f"(2) {title}"
    refresh(desk)
    assert desk.title() == f"(2) {title}"

    desk.evaluate("""() => {
        window.tabHidden = false;
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    assert desk.title() == title


def test_rows_a_filter_brings_are_not_news(open_desk, operator, machine):
    turning = Department.objects.create(name="Turning")
    lathe = Machine.objects.create(name="T-01 Okuma LB3000", department=turning)
    desk = open_desk(f"?department={machine.department_id}")
    desk.get_by_role("button", name="Sound").click()
    issue = down(lathe, operator)
    refresh(desk)
    assert desk.locator(f"tr[data-issue-id='{issue.pk}']").count() == 0  # another department's

    # Asked for by the person at the desk, who sees it as it comes: marked, but no beep, then or later.
    desk.get_by_label("Department").select_option(label="All departments")
    desk.locator(f"tr[data-issue-id='{issue.pk}'][data-down-new]").wait_for()
    refresh(desk)
    assert played(desk) == 0


@pytest.mark.parametrize("width,height", [(800, 1280), (1280, 800)])
def test_the_marked_desk_fits_a_tablet_without_scrolling_sideways(live_server, screen, sign_in, maintenance,
                                                                  operator, department, width, height):
    cell = Machine.objects.create(name="5X-03 DMG Mori DMU 65 monoBLOCK with pallet changer PH-Cell-2",
                                  department=department)
    # Three new, and one whose words widen the columns that do not wrap ("Waiting for parts", "2 h 44 min").
    for ago in [timedelta(0)] * 3 + [timedelta(hours=2, minutes=44)]:
        issue = report_issue(machine=cell, category="hydraulic", alarm_codes=["SV0401", "M01 0101"],
                             is_runnable=False, by=operator, priority=4, reported_at=timezone.now() - ago,
                             description="Hydraulic pressure drops at the pallet clamp after the changer cycles")
    issue.set_status("waiting_parts", by=maintenance)
    issue.assign(maintenance, by=maintenance)
    page = screen(width, height, touch=True)
    sign_in(page, maintenance)
    page.goto(f"{live_server.url}/desk/")
    assert page.locator("tr[data-down-new]").count() == 3
    sizes = page.evaluate("""() => {
        const table = document.querySelector('#desk-table table');
        return {table: table.scrollWidth, box: table.parentElement.clientWidth,
                page: document.documentElement.scrollWidth, screen: innerWidth};
    }""")
    assert sizes["table"] <= sizes["box"] and sizes["page"] <= sizes["screen"], sizes
    # The mark breaks between its words only, never inside one.
    badge = page.locator(".badge-new-down").first
    assert badge.evaluate("e => getComputedStyle(e).overflowWrap") == "normal"
