"""Every way text comes onto an issue leaves it findable in the desk's search box: the search document
is rewritten by the domain functions that write what it is made of, and by nothing else."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from floor import photos
from floor.models import Attachment, Issue
from floor.ocr import AlarmCode, OcrResult
from floor.reporting import record_remedy, report_issue, submit_report
from floor.search import search
from tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def found(text):
    return list(search(Issue.objects.all(), text).values_list("pk", flat=True))


def test_the_report_its_codes_and_its_remedy_are_found(machine, operator, maintenance):
    issue = report_issue(machine=machine, category="hydraulic", description="coolant pump whines",
                         alarm_codes=["OT0500"], by=operator)
    assert found("whines") == [issue.pk] and found("OT0500") == [issue.pk]
    record_remedy(issue=issue, description="replaced the impeller", parts_used="impeller 4711-B", by=maintenance)
    assert found("impeller") == [issue.pk] and found("4711-B") == [issue.pk]


def test_text_read_from_a_photo_after_the_report_went_out_is_found(client, machine, operator):
    client.force_login(operator)
    token = uuid.uuid4()
    client.post(reverse("machine_page", args=[machine.pk]), {
        "token": str(token), "category": "alarm", "runs": "yes", "alarm_codes": "", "description": "see photo"})
    issue = Issue.objects.get()
    client.post(reverse("upload_attachment", args=[machine.pk]),
                {"token": str(token), "files": SimpleUploadedFile("s.png", images.alarm_screen())})
    attachment = Attachment.objects.get()
    assert attachment.issue == issue and attachment.reading == Attachment.Reading.READ
    # Read after the report: its words (not only its code) are in the document.
    assert found("V-READY") == [issue.pk]


def test_a_reading_recorded_later_rewrites_the_document_also_when_the_issue_has_its_codes(machine, operator):
    token = uuid.uuid4()
    issue = report_issue(machine=machine, category="alarm", description="", alarm_codes=["2136"], by=operator,
                         submission_token=token)
    attachment = Attachment.objects.create(issue=issue, pending_token=token, kind="image",
                                           content_type="image/png", size=1, file="x.png",
                                           reading=Attachment.Reading.QUEUED)
    result = OcrResult(text="2136 ALARM-B SPINDLE OVERHEAT", alarm_codes=[AlarmCode("2136", "okuma", "2136")])
    photos.record_reading(attachment_id=attachment.pk, outcome=photos.Outcome(Attachment.Reading.READ, result=result))
    assert found("OVERHEAT") == [issue.pk]


def test_photos_of_a_resent_copy_are_found_on_the_issue_they_went_to(machine, operator):
    first = submit_report(machine=machine, category="mechanical", description="chips", alarm_codes=[],
                          is_runnable=True, by=operator, reporter_name="", token=uuid.uuid4()).issue
    token = uuid.uuid4()
    Attachment.objects.create(pending_token=token, kind="image", content_type="image/png", size=1, file="y.png",
                              reading=Attachment.Reading.READ, ocr_text="CONVEYOR MOTOR OVERLOAD", sha256="ab")
    again = submit_report(machine=machine, category="mechanical", description="chips", alarm_codes=[],
                          is_runnable=True, by=operator, reporter_name="", token=token)
    assert not again.created and again.issue == first
    assert found("CONVEYOR") == [first.pk]
