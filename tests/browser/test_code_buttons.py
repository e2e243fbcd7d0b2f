"""The buttons with the codes read from a photo: a tap adds the code to the alarm-code field unless the
server has read it there already, however the codes in the field are separated or written; the button shows
it is in use (pressed) and a second tap takes it out. A code read from the photo picks "Alarm"."""

import pytest

from floor.reporting import report_issue
from tests import images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def type_codes(page, text):
    """Type into the alarm-code field and wait for the server's reading of it (the "seen before" panel)."""
    with page.expect_response(lambda r: "/floor/seen-before/" in r.url):
        page.get_by_label("Alarm code").fill(text)


def code_button_after_photo(page):
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm-screen.png", "mimeType": "image/png", "buffer": images.alarm_screen()}]
    )
    button = page.locator("[data-alarm-code='SV0401']")
    button.wait_for()
    return button


@pytest.mark.parametrize("typed", ["OT0500; SV0401", "sv 0401", "OT0500\u00a0,sv0401"])
def test_a_code_the_server_read_in_the_field_is_not_added_again(live_server, tablet, sign_in, operator, machine,
                                                               typed):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    type_codes(tablet, typed)
    button = code_button_after_photo(tablet)
    # The button shows the code in use; the field is left as typed.
    assert button.get_attribute("aria-pressed") == "true"
    assert tablet.get_by_label("Alarm code").input_value() == typed


def test_a_code_not_in_the_field_is_added_after_a_comma_and_looked_up(live_server, tablet, sign_in, operator,
                                                                      machine, other_machine):
    report_issue(machine=other_machine, category="alarm", alarm_codes=["SV0401"], by=operator, description="x")
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    type_codes(tablet, "OT0500; SV0436")
    button = code_button_after_photo(tablet)
    button.tap()
    field = tablet.get_by_label("Alarm code")
    assert field.input_value() == "OT0500; SV0436, SV0401"
    assert button.get_attribute("aria-pressed") == "true"
    # The panel shows the server's reading of the field with the code in it; a second tap takes it out.
    tablet.locator("#seen-before").get_by_text("OT0500, SV0436, SV0401").wait_for()
    button.tap()
    assert field.input_value() == "OT0500, SV0436"
    assert button.get_attribute("aria-pressed") == "false"


def test_a_code_read_from_the_photo_is_filled_in_pressed_and_picks_alarm(live_server, tablet, sign_in, operator,
                                                                        machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    button = code_button_after_photo(tablet)
    field = tablet.get_by_label("Alarm code")
    assert field.input_value() == "SV0401"
    assert button.get_attribute("aria-pressed") == "true"
    assert tablet.get_by_role("radio", name="Alarm").is_checked()
    # A tap on the pressed button: the code is out of the field, the button off, the kind stays picked.
    button.tap()
    assert field.input_value() == "" and button.get_attribute("aria-pressed") == "false"
    button.tap()
    assert field.input_value() == "SV0401" and button.get_attribute("aria-pressed") == "true"


def test_a_kind_picked_before_the_photo_is_kept(live_server, tablet, sign_in, operator, machine):
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.get_by_text("Electrical", exact=True).tap()
    code_button_after_photo(tablet)
    assert tablet.get_by_role("radio", name="Electrical").is_checked()
    assert not tablet.get_by_role("radio", name="Alarm").is_checked()
