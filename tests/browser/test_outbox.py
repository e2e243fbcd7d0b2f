"""The outbox: a report made while the Wi-Fi is gone stays on the tablet, photo included, and arrives once
when the network is back, with the time Send was pressed, even after a reload or a closed tab."""

import time

import pytest
from django.utils import timezone

from floor.models import Issue
from tests import images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def wait_for(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def report_offline(page, *, photo=False, note="spindle stopped with a bang", waiting=1):
    page.context.set_offline(True)
    page.get_by_text("Alarm", exact=True).tap()
    page.get_by_text("No, it stopped").tap()
    if photo:
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "alarm.png", "mimeType": "image/png", "buffer": images.alarm_screen()}])
        page.get_by_text("is kept on this tablet and goes with the report").wait_for()
    page.get_by_label("What happened?").fill(note)
    page.get_by_role("button", name="Send report").tap()
    page.get_by_text(f"Saved on this tablet, {waiting} waiting to send").wait_for()


def test_a_report_with_a_photo_made_offline_arrives_once_after_a_reload(live_server, tablet, sign_in, operator,
                                                                        machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    report_offline(tablet, photo=True)
    pressed = timezone.now()
    # The form is ready for the next report, and nothing reached the server.
    assert tablet.get_by_label("What happened?").input_value() == ""
    assert tablet.get_by_text("the report is saved on this tablet").is_visible()
    assert not Issue.objects.exists()

    time.sleep(2)
    tablet.context.set_offline(False)
    tablet.reload()
    assert wait_for(lambda: Issue.objects.exists())
    tablet.get_by_text("Sent from this tablet").wait_for()
    assert tablet.locator("#outbox-status").get_by_text("waiting to send").count() == 0
    issue = Issue.objects.get()
    assert issue.description == "spindle stopped with a bang" and not issue.is_runnable
    # Its time is when Send was pressed, not when the network came back.
    assert issue.reported_at <= pressed + timezone.timedelta(seconds=1)
    assert wait_for(lambda: [c.code for c in issue.alarm_codes.all()] == ["SV0401"])
    assert issue.attachments.count() == 1

    # Pages opened later send nothing again.
    tablet.reload()
    tablet.wait_for_timeout(1000)
    assert Issue.objects.count() == 1 and issue.attachments.count() == 1


def test_the_outbox_survives_a_closed_tab_and_sends_when_the_network_is_back(live_server, tablet, sign_in,
                                                                              operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    report_offline(tablet, note="coolant leak")
    context = tablet.context
    tablet.close()
    context.set_offline(False)
    assert not Issue.objects.exists()

    page = context.new_page()
    page.goto(f"{live_server.url}/floor/")
    assert wait_for(lambda: Issue.objects.filter(description="coolant leak").exists())
    page.get_by_text("Sent from this tablet").wait_for()
    assert Issue.objects.count() == 1


def test_a_page_left_open_sends_when_the_network_comes_back(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    report_offline(tablet)
    report_offline(tablet, note="second one, still offline", waiting=2)
    tablet.context.set_offline(False)  # the browser's "online" event
    assert wait_for(lambda: Issue.objects.count() == 2)
    tablet.get_by_text("Sent from this tablet").first.wait_for()


def test_a_lost_answer_is_kept_and_resent_harmlessly(live_server, tablet, sign_in, operator, machine):
    """The report reached the server but its answer did not reach the tablet: the outbox sends it again
    and the server knows it by its token."""
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    lost = []

    def handle(route):
        if route.request.method == "POST" and not lost:
            route.fetch()
            lost.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    tablet.route(f"**/m/{machine.pk}/", handle)
    tablet.get_by_text("Mechanical", exact=True).tap()
    tablet.get_by_text("Yes, still running").tap()
    tablet.get_by_label("What happened?").fill("guard door switch loose")
    tablet.get_by_role("button", name="Send report").tap()
    tablet.get_by_text("Saved on this tablet, 1 waiting to send").wait_for()
    assert lost and Issue.objects.count() == 1
    tablet.evaluate("window.logbookOutbox.flush()")
    tablet.get_by_text("Sent from this tablet").wait_for()
    assert Issue.objects.count() == 1


def test_a_report_waiting_for_a_signed_out_tablet_waits_for_its_person(live_server, tablet, sign_in, operator,
                                                                       machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    report_offline(tablet, note="sent after signing in again")
    tablet.context.set_offline(False)
    tablet.context.clear_cookies()  # the session ended while the network was down
    tablet.evaluate("window.logbookOutbox.flush()")
    tablet.get_by_text("sign in again to send").wait_for()
    assert not Issue.objects.exists()
    sign_in(tablet, operator)
    assert wait_for(lambda: Issue.objects.filter(description="sent after signing in again").exists())


def test_adding_to_the_open_issue_offline_adds_it_there_once_back(live_server, tablet, sign_in, operator, machine):
    from floor.models import Occurrence
    from floor.reporting import report_issue

    open_issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                              by=operator)
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.context.set_offline(True)
    tablet.get_by_label("What happened?").fill("again, after the reset")
    tablet.locator("#already-open").get_by_role("button", name=f"Add this report to #{open_issue.pk}").tap()
    tablet.get_by_text("Saved on this tablet, 1 waiting to send").wait_for()
    tablet.context.set_offline(False)
    tablet.get_by_text("Sent from this tablet").wait_for()
    assert Issue.objects.count() == 1
    assert Occurrence.objects.get().note == "again, after the reset"


def test_a_remedy_made_offline_on_the_issue_page_is_saved_once_when_back(live_server, tablet, sign_in, operator,
                                                                           maintenance, machine):
    from floor.reporting import report_issue

    issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                         by=operator)
    sign_in(tablet, maintenance)
    tablet.goto(f"{live_server.url}/issues/{issue.pk}/")
    tablet.context.set_offline(True)
    tablet.get_by_label("What was done").fill("Reseated the X axis amplifier cable")
    tablet.get_by_role("button", name="Save remedy").tap()
    tablet.get_by_text("Saved on this tablet, 1 waiting to send").wait_for()
    assert tablet.get_by_text("the remedy is saved on this tablet").is_visible()
    assert tablet.get_by_label("What was done").input_value() == ""
    tablet.context.set_offline(False)
    tablet.get_by_text("Sent from this tablet").wait_for()
    tablet.locator("#issue-main").get_by_text("Reseated the X axis amplifier cable").first.wait_for()
    assert issue.remedies.count() == 1
    tablet.reload()
    tablet.wait_for_timeout(1000)
    assert issue.remedies.count() == 1
