"""The operator's whole flow on a tablet: QR URL, photo, code from the photo, send twice, one issue."""

import pytest

from floor.models import Issue
from tests import images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_report_with_alarm_photo_from_qr_url(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")  # what the QR label holds
    assert tablet.get_by_role("heading", name=machine.name).is_visible()

    tablet.get_by_text("Alarm", exact=True).tap()
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm-screen.png", "mimeType": "image/png", "buffer": images.alarm_screen()}]
    )
    code_button = tablet.locator("[data-alarm-code='SV0401']")
    code_button.wait_for()
    assert code_button.bounding_box()["height"] >= 48  # a gloved finger can hit it
    assert tablet.get_by_alt_text("Photo alarm-screen.png").is_visible()
    # The code read is in the field already, its button pressed: nothing to tap.
    assert tablet.get_by_label("Alarm code").input_value() == "SV0401"
    assert code_button.get_attribute("aria-pressed") == "true"
    # What fixed this alarm before appears under the field (nothing yet on a new factory).
    tablet.get_by_text("No, it stopped").tap()

    send = tablet.get_by_role("button", name="Send report")
    send.dblclick()
    tablet.wait_for_url("**/reported/")
    issue = Issue.objects.get()
    assert tablet.get_by_text(f"#{issue.pk}", exact=True).is_visible()
    assert [c.code for c in issue.alarm_codes.all()] == ["SV0401"]
    assert not issue.is_runnable
    assert issue.attachments.count() == 1
    assert "SV0401" in [c["code"] for c in issue.attachments.get().ocr_alarm_codes]


def test_invalid_send_keeps_photo_and_text_and_explains(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": images.photo()}]
    )
    tablet.get_by_text("No alarm code found on this photo.").wait_for()
    tablet.get_by_label("What happened?").fill("chips everywhere")
    tablet.get_by_role("button", name="Send report").tap()
    tablet.get_by_text("Tap the kind of problem.").wait_for()
    assert tablet.get_by_text("Say whether the machine still runs.").is_visible()
    assert tablet.get_by_label("What happened?").input_value() == "chips everywhere"
    assert tablet.get_by_alt_text("Photo photo.jpg").is_visible()
    assert Issue.objects.count() == 0

    tablet.get_by_text("Mechanical", exact=True).tap()
    tablet.get_by_text("Yes, still running").tap()
    tablet.get_by_role("button", name="Send report").tap()
    tablet.wait_for_url("**/reported/")
    assert Issue.objects.get().attachments.count() == 1


def test_wrong_file_is_explained_in_the_preview(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1.4 a manual, not a photo" * 50}]
    )
    tablet.locator("[data-upload-error]").wait_for()
    assert "not a photo or video we can read" in tablet.locator("[data-upload-error]").inner_text()


def test_wifi_drop_keeps_the_report_on_the_tablet_and_sends_it_once_when_back(live_server, tablet, sign_in,
                                                                             operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.get_by_text("Mechanical", exact=True).tap()
    tablet.get_by_text("No, it stopped").tap()
    tablet.get_by_label("What happened?").fill("chip conveyor jammed")

    tablet.context.set_offline(True)
    tablet.get_by_role("button", name="Send report").tap()
    tablet.get_by_text("Saved on this tablet, 1 waiting to send").wait_for()
    assert Issue.objects.count() == 0

    tablet.context.set_offline(False)
    tablet.get_by_text("Sent from this tablet").wait_for()
    assert Issue.objects.get().description == "chip conveyor jammed"


def test_photo_lost_to_a_wifi_drop_is_said(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.context.set_offline(True)
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": images.photo()}]
    )
    tablet.get_by_text("No network: the photo photo.jpg is kept on this tablet").wait_for()


def test_on_a_shared_tablet_the_next_person_taps_their_name(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.get_by_text("Mechanical", exact=True).tap()
    tablet.get_by_text("Yes, still running").tap()
    tablet.get_by_label("What happened?").fill("chip conveyor jammed")
    tablet.get_by_label("Your name").fill("Lena")
    tablet.get_by_role("button", name="Send report").tap()
    tablet.wait_for_url("**/reported/")

    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    name = tablet.get_by_label("Your name")
    assert name.input_value() == ""  # not the previous person's, silently
    lena = tablet.get_by_role("button", name="Lena")
    assert lena.get_attribute("aria-pressed") == "false"
    lena.tap()
    assert name.input_value() == "Lena" and lena.get_attribute("aria-pressed") == "true"
    name.fill("Jonas")
    assert lena.get_attribute("aria-pressed") == "false"
