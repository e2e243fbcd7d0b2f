"""On a tablet, every way of sending a report twice makes one issue, and a photo still uploading when Send
is pressed arrives once, with its code: back then Send, a lost answer then reload and Send, a lost
answer then Send again, Send during a slow upload. (A lost answer keeps the report in the tablet's outbox,
which sends it again by itself: tests/browser/test_outbox.py.)"""

import pytest

from floor.models import Issue
from tests import images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def fill_report(page):
    """What an operator does, whether the browser kept the form's values or not."""
    page.get_by_text("Mechanical", exact=True).tap()
    page.get_by_text("No, it stopped").tap()
    page.get_by_label("What happened?").fill("chip conveyor jammed")


def lose_the_first_answer(page, machine):
    """The report reaches the server, but its answer never reaches the tablet (the Wi-Fi dropped)."""
    lost = []

    def handle(route):
        if route.request.method == "POST" and not lost:
            route.fetch()  # the server gets it and creates the issue
            lost.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(f"**/m/{machine.pk}/", handle)
    return lost


def test_back_after_sending_then_send_again_makes_one_issue(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    fill_report(tablet)
    tablet.get_by_role("button", name="Send report").tap()
    tablet.wait_for_url("**/reported/")
    issue = Issue.objects.get()

    tablet.go_back()
    tablet.get_by_role("button", name="Send report").wait_for()
    fill_report(tablet)
    tablet.get_by_role("button", name="Send report").tap()
    tablet.wait_for_url(f"**/floor/issues/{issue.pk}/reported/")
    assert tablet.get_by_text(f"This report had been sent already, as #{issue.pk}.").is_visible()
    assert Issue.objects.count() == 1


def test_lost_answer_then_reload_and_send_makes_one_issue(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    lost = lose_the_first_answer(tablet, machine)
    fill_report(tablet)
    tablet.get_by_role("button", name="Send report").tap()
    tablet.get_by_text("Saved on this tablet, 1 waiting to send").wait_for()
    assert lost and Issue.objects.count() == 1  # it was stored; the tablet cannot know

    tablet.reload()
    fill_report(tablet)
    tablet.get_by_role("button", name="Send report").tap()
    tablet.wait_for_url("**/reported/")
    assert Issue.objects.count() == 1


def test_lost_answer_then_send_again_makes_one_issue(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    lose_the_first_answer(tablet, machine)
    fill_report(tablet)
    tablet.get_by_role("button", name="Send report").tap()
    tablet.get_by_text("Saved on this tablet, 1 waiting to send").wait_for()

    # The form is empty for the next report; the operator, unsure, types the same report again.
    fill_report(tablet)
    tablet.get_by_role("button", name="Send report").tap()
    tablet.wait_for_url("**/reported/")
    assert tablet.get_by_text("This report had been sent already").is_visible()
    assert Issue.objects.count() == 1


def test_send_during_a_slow_photo_upload_waits_for_it_and_keeps_its_code(live_server, tablet, sign_in,
                                                                          operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.get_by_text("Alarm", exact=True).tap()
    tablet.get_by_text("No, it stopped").tap()
    # A photo of the alarm screen over Wi-Fi that sends 40 kB a second.
    screen = images.alarm_screen(fmt="JPEG", quality=95)
    photo = screen + b"\0" * max(0, 160_000 - len(screen))  # trailing bytes: a bigger file, the same picture
    cdp = tablet.context.new_cdp_session(tablet)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": 40_000})
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    bar = tablet.locator("[data-upload-progress]")
    bar.wait_for()
    tablet.get_by_role("button", name="Send report").tap()
    assert tablet.get_by_text("Sending as soon as the photo has arrived").is_visible()
    assert 0 <= int(bar.evaluate("b => b.value")) < 100

    tablet.wait_for_url("**/reported/", timeout=30_000)
    issue = Issue.objects.get()
    assert issue.attachments.count() == 1
    assert [c.code for c in issue.alarm_codes.all()] == ["SV0401"]
