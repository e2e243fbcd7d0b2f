"""Photos and videos chosen in the floor form: checked by content, stored as pending, read by OCR."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from floor.models import Attachment
from floor.reporting import report_issue
from tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, machine, name, content, token=None, **extra):
    return client.post(
        reverse("upload_attachment", args=[machine.pk]),
        {"token": str(token or uuid.uuid4()), "files": SimpleUploadedFile(name, content), **extra},
        headers={"HX-Request": "true"},
    )


def test_alarm_screen_photo_is_read_and_its_code_offered(client, operator, machine):
    client.force_login(operator)
    token = uuid.uuid4()
    response = upload(client, machine, "screen.png", images.alarm_screen(), token=token)
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    attachment = Attachment.objects.get()
    assert attachment.pending_token == token and attachment.issue is None
    assert attachment.kind == "image" and attachment.content_type == "image/png"
    assert "SV0401" in [c["code"] for c in attachment.ocr_alarm_codes]
    assert "SERVO ALARM" in attachment.ocr_text
    assert 'data-alarm-code="SV0401"' in page
    # The only code found goes straight into the empty field (an out-of-band swap), with its history.
    assert 'id="code-field" hx-swap-oob="true"' in page and 'value="SV0401"' in page
    assert 'id="seen-before" class="mt-3" hx-swap-oob="true"' in page


def test_a_code_already_typed_is_not_overwritten(client, operator, machine):
    client.force_login(operator)
    page = upload(client, machine, "screen.png", images.alarm_screen(), alarm_codes="OT0500").content.decode()
    assert 'data-alarm-code="SV0401"' in page and "hx-swap-oob" not in page


def test_photo_without_alarm_says_so(client, operator, machine):
    client.force_login(operator)
    page = upload(client, machine, "p.jpg", images.photo()).content.decode()
    assert "No alarm code found on this photo." in page
    assert Attachment.objects.get().thumbnail


def test_ocr_unavailable_still_keeps_the_photo(client, operator, machine, settings):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    client.force_login(operator)
    page = upload(client, machine, "screen.png", images.alarm_screen()).content.decode()
    assert "Reading the screen is not available on this server" in page
    assert Attachment.objects.count() == 1


def test_wrong_file_renamed_jpg_is_refused_and_nothing_stored(client, operator, machine, media):
    client.force_login(operator)
    page = upload(client, machine, "alarm.jpg", b"MZ\x90\x00 this is a program, not a photo" * 20).content.decode()
    assert "This file is not a photo or video we can read" in page
    assert Attachment.objects.count() == 0
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_truncated_jpeg_is_refused(client, operator, machine):
    client.force_login(operator)
    page = upload(client, machine, "cut.jpg", images.photo(size=(1200, 900))[:3000]).content.decode()
    assert "not a photo or video we can read" in page and Attachment.objects.count() == 0


def test_oversized_file_is_refused_with_the_limit(client, operator, machine, settings):
    settings.UPLOAD_MAX_MB = 1
    client.force_login(operator)
    page = upload(client, machine, "big.mp4", images.mp4_header() + b"\x00" * (1024 * 1024)).content.decode()
    assert "the largest accepted is 1 MB" in page and Attachment.objects.count() == 0


def test_empty_file_is_refused(client, operator, machine):
    client.force_login(operator)
    assert "The file is empty." in upload(client, machine, "x.jpg", b"").content.decode()


@pytest.mark.parametrize("name, fmt, content_type", [
    ("clip.mp4", "mp4", "video/mp4"),
    ("clip.mov", "mov", "video/quicktime"),
    ("clip.avi", "avi", "video/x-msvideo"),
    ("clip.jpg", "mp4", "video/mp4"),  # named wrong, is a video
])
def test_videos_are_recognised_by_their_container_and_not_read(client, operator, machine, name, fmt, content_type):
    client.force_login(operator)
    page = upload(client, machine, name, images.video(fmt)).content.decode()
    attachment = Attachment.objects.get()
    assert (attachment.kind, attachment.content_type) == ("video", content_type)
    assert attachment.ocr_text == "" and not attachment.thumbnail and attachment.reading == ""
    assert "videos are not read for codes" in page


def test_old_quicktime_file_without_a_file_type_box_is_a_video(client, operator, machine):
    clip = images.video("mov")
    assert clip[4:8] == b"ftyp"
    old_style = clip[int.from_bytes(clip[:4], "big"):]  # what older cameras write: no ftyp box at all
    client.force_login(operator)
    upload(client, machine, "clip.mov", old_style)
    assert Attachment.objects.get().content_type == "video/quicktime"


@pytest.mark.parametrize("name, content", [
    ("page.mp4", b"<html><body><script>alert(1)</script></body></html>" * 40),
    ("setup.avi", b"MZ\x90\x00\x03" + b"\x00" * 3000),
    ("archive.mov", b"PK\x03\x04" + b"\x00" * 3000),
    # Signatures alone: four bytes of a box name, or a RIFF header, with anything after them.
    ("fake.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"<html>" * 500),
    ("fake.mov", b"\x00\x00\x00\x08free" + b"MZ" * 2000),
    ("fake.avi", b"RIFF\x00\x10\x00\x00AVI LIST" + b"\x00" * 3000),
])
def test_files_that_only_look_like_videos_are_refused(client, operator, machine, media, name, content):
    client.force_login(operator)
    page = upload(client, machine, name, content).content.decode()
    assert "not a photo or video we can read" in page
    assert Attachment.objects.count() == 0
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_video_cut_short_in_transfer_is_refused(client, operator, machine):
    client.force_login(operator)
    page = upload(client, machine, "clip.mp4", images.video("mp4")[:-200]).content.decode()
    assert "not a photo or video we can read" in page and Attachment.objects.count() == 0


def test_picture_of_too_many_pixels_is_refused_before_decoding(client, operator, machine):
    bomb = images.pixel_bomb()
    assert len(bomb) < 1024 * 1024
    client.force_login(operator)
    page = upload(client, machine, "tiny.png", bomb).content.decode()
    assert "too many pixels" in page and Attachment.objects.count() == 0


def test_body_larger_than_its_files_may_be_is_refused_from_its_length(client, operator, machine, settings):
    settings.UPLOAD_MAX_MB = 1
    client.force_login(operator)
    # The declared length decides before anything is read (a tablet need not send 200 MB to be told).
    response = client.generic("POST", reverse("upload_attachment", args=[machine.pk]), b"x" * 100,
                              content_type="multipart/form-data; boundary=x",
                              headers={"Content-Length": str(50 * 1024 * 1024)})
    assert response.status_code == 413
    assert "at most 5 files of up to 1 MB each" in response.content.decode()
    assert Attachment.objects.count() == 0


def test_the_same_photo_sent_twice_with_one_form_is_stored_once(client, operator, machine, media):
    client.force_login(operator)
    token = uuid.uuid4()
    photo = images.alarm_screen()
    upload(client, machine, "a.png", photo, token=token)
    page = upload(client, machine, "again.png", photo, token=token).content.decode()
    assert Attachment.objects.count() == 1
    assert 'data-alarm-code="SV0401"' in page  # the second answer shows the stored photo as read
    assert len([p for p in media.rglob("*") if p.is_file()]) == 2  # the photo and its thumbnail


def test_the_same_photo_with_two_forms_is_two_attachments(client, operator, machine):
    client.force_login(operator)
    upload(client, machine, "a.jpg", images.photo())
    upload(client, machine, "a.jpg", images.photo())
    assert Attachment.objects.count() == 2


def test_exif_orientation_is_honoured_in_the_thumbnail(client, operator, machine):
    client.force_login(operator)
    upload(client, machine, "sideways.jpg", images.photo(size=(400, 300), exif_orientation=6))
    thumb = Image.open(Attachment.objects.get().thumbnail.open("rb"))
    assert thumb.size == (300, 400)


def test_heic_photo_is_accepted_with_a_jpeg_thumbnail(client, operator, machine):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 30, 30)).save(out, "HEIF")
    client.force_login(operator)
    upload(client, machine, "IMG_0001.HEIC", out.getvalue())
    attachment = Attachment.objects.get()
    assert (attachment.kind, attachment.content_type) == ("image", "image/heic")
    assert Image.open(attachment.thumbnail.open("rb")).format == "JPEG"


def test_stored_name_is_generated_not_the_uploaded_one(client, operator, machine):
    client.force_login(operator)
    upload(client, machine, "../../etc/passwd.jpg", images.photo())
    attachment = Attachment.objects.get()
    assert attachment.original_name.endswith("passwd.jpg")
    assert attachment.file.name.startswith("attachments/") and "passwd" not in attachment.file.name


def test_stored_extension_follows_the_content_not_the_name(client, operator, machine):
    """A photo named like a web page is stored and served as the photo it is."""
    client.force_login(operator)
    upload(client, machine, "evil.html", images.photo())
    attachment = Attachment.objects.get()
    assert attachment.file.name.endswith(".jpg")
    response = client.get(attachment.file.url)
    assert response["Content-Type"] == "image/jpeg"
    assert "sandbox" in response["Content-Security-Policy"]


def test_outsider_cannot_upload(client, outsider, machine):
    client.force_login(outsider)
    assert upload(client, machine, "p.jpg", images.photo()).status_code == 403
    assert Attachment.objects.count() == 0


def test_pending_photo_can_be_removed_with_its_token_only(client, operator, machine):
    client.force_login(operator)
    token = uuid.uuid4()
    upload(client, machine, "p.jpg", images.photo(), token=token)
    attachment = Attachment.objects.get()
    remove = reverse("remove_attachment", args=[machine.pk, attachment.pk])
    assert client.post(remove, {"token": str(uuid.uuid4())}).status_code == 404
    assert client.post(remove, {"token": str(token)}).status_code == 200
    assert Attachment.objects.count() == 0


def test_unsent_uploads_are_purged_after_a_day(client, operator, machine, media,
                                               django_capture_on_commit_callbacks):
    client.force_login(operator)
    for _ in range(3):
        upload(client, machine, "p.jpg", images.photo())
    old, fresh, sent = Attachment.objects.order_by("id")
    Attachment.objects.filter(pk__in=[old.pk, sent.pk]).update(uploaded_at=timezone.now() - timedelta(hours=25))
    report_issue(machine=machine, category="other", description="x", by=operator,
                 submission_token=sent.pending_token)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # files go once the database agreed
        call_command("purge_pending_uploads", stdout=out)
    assert "Removed 1 unsent upload." in out.getvalue()
    assert set(Attachment.objects.values_list("pk", flat=True)) == {fresh.pk, sent.pk}
    assert not (media / old.file.name).exists() and (media / fresh.file.name).exists()
