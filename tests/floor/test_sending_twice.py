"""One report makes one issue and each photo is stored once, however often and however it is sent: the
same form again, a fresh copy of the form with the same report (back or reload, then Send), a photo
still uploading when Send is pressed, sends that arrive at the same moment."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from floor import photos
from floor.models import Attachment, Issue, IssueEvent
from tests import images

pytestmark = pytest.mark.django_db

ON_POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="SQLite's in-memory test database cannot serve two threads writing at once")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def url(machine):
    return reverse("machine_page", args=[machine.pk])


def fields(**overrides):
    data = {"token": str(uuid.uuid4()), "category": "mechanical", "runs": "no", "alarm_codes": "",
            "description": "chip conveyor jammed", "reporter_name": "Jonas"}
    data.update(overrides)
    return data


def upload(client, machine, token, content, name="screen.png"):
    return client.post(reverse("upload_attachment", args=[machine.pk]),
                       {"token": token, "files": SimpleUploadedFile(name, content)}, headers={"HX-Request": "true"})


def test_the_same_report_from_a_fresh_form_is_the_issue_already_sent(client, operator, machine):
    """Back after sending (or a reload) gives the form a new token; Send again must not make a second issue."""
    client.force_login(operator)
    first = client.post(url(machine), fields())
    again = client.post(url(machine), fields(), follow=True)
    issue = Issue.objects.get()
    assert first["Location"] == reverse("issue_reported", args=[issue.pk])
    assert again.redirect_chain[-1][0] == reverse("issue_reported", args=[issue.pk])
    assert f"This report had been sent already, as #{issue.pk}." in again.content.decode()


def test_a_report_that_differs_is_a_new_issue(client, operator, machine):
    client.force_login(operator)
    client.post(url(machine), fields())
    client.post(url(machine), fields(description="chip conveyor jammed again, motor hums"))
    client.post(url(machine), fields(runs="yes"))
    client.post(url(machine), fields(category="electrical"))
    assert Issue.objects.count() == 4


def test_the_same_report_after_the_window_or_once_fixed_is_a_new_issue(client, operator, machine):
    client.force_login(operator)
    client.post(url(machine), fields())
    Issue.objects.update(reported_at=timezone.now() - timedelta(minutes=16))
    client.post(url(machine), fields())
    assert Issue.objects.count() == 2
    Issue.objects.update(status="resolved")
    client.post(url(machine), fields())
    assert Issue.objects.count() == 3


def test_the_same_report_by_someone_else_is_their_own(client, operator, machine):
    client.force_login(operator)
    client.post(url(machine), fields())
    client.post(url(machine), fields(reporter_name="Aylin"))
    assert Issue.objects.count() == 2


def test_photos_of_a_resent_copy_go_onto_the_issue_each_file_once(client, operator, machine):
    client.force_login(operator)
    first = fields(alarm_codes="SV0401")
    upload(client, machine, first["token"], images.alarm_screen())
    client.post(url(machine), first)
    # Back, the same photo chosen again and a new one, Send: one issue, three different files at most once.
    second = fields(alarm_codes="SV0401")
    upload(client, machine, second["token"], images.alarm_screen())
    upload(client, machine, second["token"], images.photo(), name="overview.jpg")
    client.post(url(machine), second)
    issue = Issue.objects.get()
    assert sorted(issue.attachments.values_list("original_name", flat=True)) == ["overview.jpg", "screen.png"]
    assert Attachment.objects.count() == 2
    assert issue.events.filter(kind=IssueEvent.Kind.ATTACHMENT_ADDED).count() == 1


def test_the_code_read_from_the_photo_reaches_the_issue_when_none_was_typed(client, operator, machine):
    client.force_login(operator)
    data = fields(category="alarm", description="")
    upload(client, machine, data["token"], images.alarm_screen())
    client.post(url(machine), data)
    issue = Issue.objects.get()
    assert [c.code for c in issue.alarm_codes.all()] == ["SV0401"]
    assert issue.title.startswith("Alarm SV0401")


def test_a_typed_code_is_never_overruled_by_the_photo(client, operator, machine):
    client.force_login(operator)
    data = fields(category="alarm", alarm_codes="OT0500")
    upload(client, machine, data["token"], images.alarm_screen())
    client.post(url(machine), data)
    assert [c.code for c in Issue.objects.get().alarm_codes.all()] == ["OT0500"]


def test_a_photo_arriving_after_the_report_goes_onto_the_issue_with_its_code(client, operator, machine):
    """Send was pressed while the photo was still on the way (or a browser sent them in that order)."""
    client.force_login(operator)
    data = fields(category="alarm", description="spindle stopped")
    client.post(url(machine), data)
    issue = Issue.objects.get()
    assert not issue.alarm_codes.exists()
    upload(client, machine, data["token"], images.alarm_screen())
    assert issue.attachments.count() == 1 and not Attachment.objects.filter(issue__isnull=True).exists()
    assert [c.code for c in issue.alarm_codes.all()] == ["SV0401"]
    assert issue.events.filter(kind=IssueEvent.Kind.CODES_READ, to_value="SV0401").exists()


def test_a_photo_sent_again_inside_the_report_is_stored_once(client, operator, machine):
    """The photo was uploaded, and the report carried it again (the file input still held it)."""
    client.force_login(operator)
    data = fields()
    upload(client, machine, data["token"], images.alarm_screen())
    client.post(url(machine), {**data, "files": SimpleUploadedFile("screen.png", images.alarm_screen())})
    assert Issue.objects.get().attachments.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_photo_read_after_the_report_went_out_gives_the_issue_its_code(operator, machine):
    """The report is stored at once; the photo sent inside it is read in the background."""
    client = Client()
    client.force_login(operator)
    data = fields(category="alarm", description="")
    client.post(url(machine), {**data, "files": SimpleUploadedFile("screen.png", images.alarm_screen())})
    issue = Issue.objects.get()  # stored before the photo was read
    assert photos.wait_until_read(timeout=30)
    assert issue.attachments.get().reading == Attachment.Reading.READ
    assert [c.code for c in issue.alarm_codes.all()] == ["SV0401"]


def at_the_same_moment(send, times=3):
    """Runs send(client) in `times` threads released together; their answers' status codes."""
    barrier, statuses = threading.Barrier(times), []

    def run():
        client = Client()
        barrier.wait()
        statuses.append(send(client).status_code)
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@ON_POSTGRES
@pytest.mark.django_db(transaction=True)
def test_sends_of_one_form_with_its_photo_at_the_same_moment_store_one_issue_and_one_photo(operator, machine):
    data, photo = fields(), images.alarm_screen()

    def send(client):
        client.force_login(operator)
        return client.post(url(machine), {**data, "files": SimpleUploadedFile("s.png", photo)})

    assert at_the_same_moment(send) == [302, 302, 302]
    assert Issue.objects.count() == 1 and Attachment.objects.count() == 1
    assert Attachment.objects.get().issue == Issue.objects.get()


@ON_POSTGRES
@pytest.mark.django_db(transaction=True)
def test_copies_of_one_report_sent_at_the_same_moment_make_one_issue(operator, machine):
    def send(client):
        client.force_login(operator)
        return client.post(url(machine), fields())  # each its own token

    assert at_the_same_moment(send) == [302, 302, 302]
    assert Issue.objects.count() == 1


def test_a_photo_arriving_after_the_report_is_on_the_issues_timeline_once(client, operator, machine):
    """The report had gone out: the photo is added to an issue that exists, and the timeline says so. The
    same photo sent again is stored once and told once."""
    client.force_login(operator)
    data = fields()
    client.post(url(machine), data)
    issue = Issue.objects.get()
    upload(client, machine, data["token"], images.photo(), name="after.jpg")
    upload(client, machine, data["token"], images.photo(), name="after.jpg")
    event = issue.events.get(kind=IssueEvent.Kind.ATTACHMENT_ADDED)
    assert (event.actor, event.to_value) == (operator, "after.jpg")


def test_photos_sent_with_their_report_are_no_event_of_their_own(client, operator, machine):
    """Uploaded before Send, or carried by the report itself: they come with the report, which its own
    event ("Reported") records."""
    client.force_login(operator)
    data = fields()
    upload(client, machine, data["token"], images.alarm_screen())
    client.post(url(machine), {**data, "files": SimpleUploadedFile("overview.jpg", images.photo())})
    issue = Issue.objects.get()
    assert issue.attachments.count() == 2
    assert not issue.events.filter(kind=IssueEvent.Kind.ATTACHMENT_ADDED).exists()
