"""Photos are read in a child process of the server at low priority: the preview asks until the codes are
there, a reader that hangs is replaced, and a photo whose reader died is given up on, never "being read"
for ever."""

import os
import signal
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from floor import photos
from floor.models import Attachment, Issue
from tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(client, machine, content, token):
    return client.post(reverse("upload_attachment", args=[machine.pk]),
                       {"token": str(token), "files": SimpleUploadedFile("screen.png", content)},
                       headers={"HX-Request": "true"})


def preview(client, machine, attachment, **params):
    return client.get(reverse("attachment_preview", args=[machine.pk, attachment.pk]),
                      {"token": str(attachment.pending_token), **params}, headers={"HX-Request": "true"})


def _reading_children():
    """Our reading child processes: spawned by this process, running multiprocessing's spawn entry."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"spawn_main" in command:
            found.append(int(pid))
    return found


def test_reading_runs_in_a_child_process_at_low_priority(client, operator, machine):
    client.force_login(operator)
    upload(client, machine, images.alarm_screen(), uuid.uuid4())
    assert Attachment.objects.get().found_codes == ["SV0401"]
    children = _reading_children()
    assert children and all(os.getpriority(os.PRIO_PROCESS, pid) >= photos.NICENESS for pid in children)


def test_preview_is_asked_for_again_until_the_photo_is_read(client, operator, machine):
    client.force_login(operator)
    upload(client, machine, images.alarm_screen(), uuid.uuid4())
    attachment = Attachment.objects.get()
    read = attachment.ocr_alarm_codes
    Attachment.objects.filter(pk=attachment.pk).update(reading=Attachment.Reading.QUEUED, ocr_alarm_codes=[])
    # While it is being read the form shows "Reading the screen…" and asks again; "not yet" is empty.
    form = client.post(reverse("machine_page", args=[machine.pk]), {"token": str(attachment.pending_token)})
    page = form.content.decode()
    assert "Reading the screen…" in page and 'hx-trigger="every 2s"' in page
    waiting = preview(client, machine, attachment)
    assert waiting.status_code == 204 and waiting.content == b""
    Attachment.objects.filter(pk=attachment.pk).update(reading=Attachment.Reading.READ, ocr_alarm_codes=read)
    done = preview(client, machine, attachment)
    # 286 stops htmx asking; the code goes into the still empty field.
    assert done.status_code == 286 and 'data-alarm-code="SV0401"' in done.content.decode()
    assert 'id="code-field" hx-swap-oob="true"' in done.content.decode()
    assert "hx-swap-oob" not in preview(client, machine, attachment, alarm_codes="OT0500").content.decode()


def test_preview_of_a_photo_whose_reader_died_gives_up_on_it(client, operator, machine):
    client.force_login(operator)
    upload(client, machine, images.photo(), uuid.uuid4())
    attachment = Attachment.objects.get()
    # Left "being read" by a server process that was killed, longer ago than any reading takes.
    Attachment.objects.filter(pk=attachment.pk).update(
        reading=Attachment.Reading.QUEUED, uploaded_at=timezone.now() - photos.overdue_after() - timedelta(seconds=1))
    response = preview(client, machine, attachment)
    assert response.status_code == 286
    assert "The screen took too long to read. Type the code." in response.content.decode()
    assert Attachment.objects.get().reading == Attachment.Reading.TIMEOUT


def test_preview_needs_the_forms_token(client, operator, machine):
    client.force_login(operator)
    upload(client, machine, images.photo(), uuid.uuid4())
    attachment = Attachment.objects.get()
    url = reverse("attachment_preview", args=[machine.pk, attachment.pk])
    assert client.get(url, {"token": str(uuid.uuid4())}).status_code == 404
    assert client.get(url, {"token": "not-a-token"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_reader_that_hangs_is_replaced_and_the_next_photo_is_read(client, operator, machine, settings):
    settings.OCR_TIMEOUT_SECONDS = 1
    client.force_login(operator)
    upload(client, machine, images.photo(), uuid.uuid4())  # the child is running
    for pid in _reading_children():
        os.kill(pid, signal.SIGSTOP)  # hangs as a child stuck in an image library would
    started = time.monotonic()
    upload(client, machine, images.alarm_screen(), token := uuid.uuid4())
    assert photos.wait_until_read(timeout=60)
    assert time.monotonic() - started < settings.OCR_TIMEOUT_SECONDS + photos.CHILD_GRACE_SECONDS + 10
    hung = Attachment.objects.get(pending_token=token)
    assert hung.reading == Attachment.Reading.TIMEOUT

    settings.OCR_TIMEOUT_SECONDS = 6
    upload(client, machine, images.alarm_screen(), token := uuid.uuid4())
    assert photos.wait_until_read(timeout=60)
    assert Attachment.objects.get(pending_token=token).found_codes == ["SV0401"]


@pytest.mark.django_db(transaction=True)
def test_a_report_with_its_photo_is_stored_at_once_when_tesseract_hangs(client, operator, machine, settings,
                                                                        tmp_path):
    hung = tmp_path / "tesseract"
    hung.write_text("#!/bin/sh\nsleep 300\n")
    hung.chmod(0o755)
    settings.TESSERACT_CMD, settings.OCR_TIMEOUT_SECONDS = str(hung), 10
    client.force_login(operator)
    started = time.monotonic()
    response = client.post(reverse("machine_page", args=[machine.pk]), {
        "token": str(uuid.uuid4()), "category": "alarm", "runs": "no", "alarm_codes": "", "description": "",
        "files": SimpleUploadedFile("screen.png", images.alarm_screen())})
    # Answered well before the reading could have given up: the report did not wait for OCR.
    assert response.status_code == 302 and time.monotonic() - started < 5
    issue = Issue.objects.get()
    assert issue.attachments.count() == 1
    assert photos.wait_until_read(timeout=60)
    assert issue.attachments.get().reading == Attachment.Reading.TIMEOUT
