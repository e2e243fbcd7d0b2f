"""Maintenance on a tablet: the issue page in the order of the work, the desk without sideways scrolling,
no keyboard hint where there is no keyboard."""

import pytest

from floor.models import Department, Machine
from floor.reporting import report_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET_SIZES = [(800, 1280), (1280, 800)]


def test_on_a_portrait_tablet_the_actions_come_before_the_remedy_form_and_the_timeline(
        live_server, screen, sign_in, operator, maintenance, machine):
    issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                         by=operator, description="servo alarm X axis, machine stopped")
    page = screen(800, 1280, touch=True)
    sign_in(page, maintenance)
    page.goto(f"{live_server.url}/issues/{issue.pk}/")
    actions = page.get_by_role("button", name="Machine runs again").bounding_box()
    remedy = page.get_by_role("heading", name="Record a remedy").bounding_box()
    timeline = page.get_by_role("heading", name="Timeline").bounding_box()
    assert actions["y"] + actions["height"] < remedy["y"] < timeline["y"]
    assert actions["y"] + actions["height"] <= 1280  # on the first screen, without scrolling
    # On a wide screen the actions stand beside the remedy form, as before.
    wide = screen(1600, 1000)
    sign_in(wide, maintenance)
    wide.goto(f"{live_server.url}/issues/{issue.pk}/")
    actions = wide.get_by_role("button", name="Machine runs again").bounding_box()
    remedy = wide.get_by_role("heading", name="Record a remedy").bounding_box()
    assert actions["x"] > remedy["x"] + remedy["width"] and actions["y"] < 1000


@pytest.mark.parametrize("width,height", TABLET_SIZES)
def test_the_desk_fits_a_tablet_without_scrolling_sideways(live_server, screen, sign_in, operator, maintenance,
                                                          width, height):
    lead = maintenance
    lead.first_name, lead.last_name = "Maximiliane", "Oberhausen-Wittgenstein"
    lead.save()
    hall = Department.objects.create(name="Five-axis machining and grinding, hall B, " * 5 + "north end")
    long_name = Machine.objects.create(name="5X-03 DMG Mori DMU 65 monoBLOCK with pallet changer PH-Cell-2",
                                       department=hall)
    # The ERP allows 255 characters: in the machine filter, such a name widened the whole page.
    Machine.objects.create(name="Line 4 robot cell, " * 13 + "end", department=hall)
    for n in range(6):
        issue = report_issue(machine=long_name, category="hydraulic", alarm_codes=["SV0401", "M01 0101", "320-0028"],
                             is_runnable=n % 2 == 0, by=operator, priority=4,
                             description="Hydraulic pressure drops at the pallet clamp after the changer cycles")
        issue.set_status("waiting_parts", by=operator)
        issue.assign(lead, by=operator)
    page = screen(width, height, touch=True)
    sign_in(page, lead)
    page.goto(f"{live_server.url}/desk/")
    sizes = page.evaluate("""() => {
        const table = document.querySelector('#desk-table table');
        return {table: table.scrollWidth, box: table.parentElement.clientWidth,
                page: document.documentElement.scrollWidth, screen: innerWidth};
    }""")
    assert sizes["table"] <= sizes["box"] and sizes["page"] <= sizes["screen"], sizes
    # What the narrower table leaves out of its columns is still in the row.
    row = page.locator("#desk-table tbody tr").first.inner_text()
    assert "Urgent" in row and "Oberhausen-Wittgenstein" in row and "Hydraulic" in row


def test_the_search_shortcut_is_offered_only_where_there_is_a_keyboard(live_server, screen, sign_in, maintenance):
    tablet = screen(1280, 800, touch=True)
    sign_in(tablet, maintenance)
    tablet.goto(f"{live_server.url}/desk/")
    hint = tablet.evaluate("""() => document.querySelector('#id_q').placeholder + ' '
        + document.querySelector('#desk-filters').innerText""")
    assert "press" not in hint.lower(), hint
    desktop = screen(1600, 1000)
    sign_in(desktop, maintenance)
    desktop.goto(f"{live_server.url}/desk/")
    assert desktop.get_by_text("(press /)").is_visible()
    desktop.keyboard.press("/")
    assert desktop.evaluate("document.activeElement.id") == "id_q"
