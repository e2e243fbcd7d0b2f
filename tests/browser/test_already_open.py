"""One issue per problem, on the tablet: typing the code of an open issue offers to add the report to it,
and any open issue of the machine takes the form's note and photo with one tap."""

import pytest

from floor.models import Issue, Occurrence
from floor.reporting import report_issue
from tests import images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_code_of_an_open_issue_offers_one_tap_to_add_the_report(live_server, tablet, sign_in, operator,
                                                                     machine):
    open_issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], by=operator)
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm-screen.png", "mimeType": "image/png", "buffer": images.alarm_screen()}])
    offer = tablet.locator("#already-open")
    offer.get_by_text(f"is open as #{open_issue.pk}").wait_for()
    tablet.get_by_label("What happened?").fill("again after warm-up")
    offer.get_by_role("button", name=f"Add this report to #{open_issue.pk}").tap()
    tablet.wait_for_url(f"**/floor/issues/{open_issue.pk}/reported/")
    assert tablet.get_by_text("it happened again").is_visible()
    assert Issue.objects.count() == 1
    occurrence = Occurrence.objects.get()
    assert occurrence.issue == open_issue and occurrence.note == "again after warm-up"
    assert open_issue.attachments.count() == 1


def test_an_open_issue_of_the_machine_takes_the_note_from_its_line(live_server, tablet, sign_in, operator,
                                                                    machine):
    quality = report_issue(machine=machine, category="quality", description="burr on bore", by=operator)
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.get_by_label("What happened?").fill("second part with a burr")
    tablet.get_by_role("button", name=f"Add the photo or note to #{quality.pk}").tap()
    tablet.wait_for_url(f"**/floor/issues/{quality.pk}/reported/")
    assert Occurrence.objects.get().note == "second part with a burr"
