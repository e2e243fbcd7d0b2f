"""Photos and videos through the API: stored on an issue with the tablet's checks and read for alarm codes by
the real Tesseract (POST /api/issues/{id}/attachments/), or only read, storing nothing (POST /api/ocr/)."""

import uuid

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from floor.models import Attachment, IssueEvent
from floor.reporting import report_issue
from floor.uploads import max_request_bytes
from tests import images

pytestmark = pytest.mark.django_db

NOT_A_PHOTO = b"MZ\x90\x00 this is a program, not a photo" * 20


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def stored(media):
    """What is stored under MEDIA_ROOT, as relative paths."""

    def files():
        return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else []

    return files


@pytest.fixture
def uncoded(machine, operator):
    """An issue reported without an alarm code: the operator sends the screen's photo afterwards."""
    return report_issue(machine=machine, category="alarm", description="Machine stopped with an alarm",
                        is_runnable=False, by=operator)


def attach(caller, issue, name, content, *, key=None):
    headers = {"Idempotency-Key": key} if key else None
    return caller.post(f"/api/issues/{issue.pk}/attachments/", {"file": SimpleUploadedFile(name, content)},
                       multipart=True, headers=headers)


def read(caller, name, content):
    return caller.post("/api/ocr/", {"file": SimpleUploadedFile(name, content)}, multipart=True)


def codes(data):
    return [found["code"] for found in data["alarm_codes"]]


def refused(response, field="file"):
    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert field in body["errors"], body
    return " ".join(body["errors"][field])


# --- a photo on an issue ----------------------------------------------------------------------------------
def test_an_alarm_screen_is_stored_read_and_its_code_becomes_the_issues(api, uncoded, stored):
    response = attach(api, uncoded, "screen.png", images.alarm_screen())
    assert response.status_code == 201, response.content[:500]
    data = response.json()
    assert data["reading"] == "read" and "SV0401" in codes(data)
    assert "SERVO ALARM" in data["ocr_text"]
    assert (data["kind"], data["content_type"], data["original_name"]) == ("image", "image/png", "screen.png")
    assert data["url"].startswith("http://testserver/") and data["thumbnail_url"]
    attachment = Attachment.objects.get()
    assert attachment.pk == data["id"] and attachment.issue_id == uncoded.pk and attachment.remedy_id is None
    assert len(stored()) == 2  # the photo and its thumbnail

    issue = api.get(f"/api/issues/{uncoded.pk}/").json()
    assert issue["alarm_codes"] == ["SV0401"]
    assert [a["id"] for a in issue["attachments"]] == [data["id"]]
    kinds = [event["kind"] for event in issue["timeline"]]
    assert kinds == ["created", "attachment_added", "codes_read"]
    assert issue["timeline"][-1]["to_value"] == "SV0401"
    # The title made from the report names the code now, as if it had been typed.
    assert issue["title"] == "Alarm SV0401: Machine stopped with an alarm"
    # What was read is searched as the desk searches, by the code and by the screen's words.
    for words in ("SV0401", "servo alarm"):
        found = api.get("/api/issues/", search=words).json()["results"]
        assert [row["id"] for row in found] == [uncoded.pk], words


def test_a_code_read_onto_an_issue_is_a_change_an_incremental_sync_sees(api, uncoded):
    # ?updated_since= is the API's "changed at or after, for incremental sync": a system that mirrors the
    # issues must learn that the issue has an alarm code (and a new title) now.
    mark = timezone.now()
    assert attach(api, uncoded, "screen.png", images.alarm_screen()).status_code == 201
    changed = api.get("/api/issues/", updated_since=mark.isoformat()).json()["results"]
    assert [row["id"] for row in changed] == [uncoded.pk]
    assert changed[0]["alarm_codes"] == ["SV0401"]


def test_a_typed_code_is_not_overruled_by_the_photo(api, machine, operator):
    typed = report_issue(machine=machine, category="alarm", alarm_codes=["OT0500"], description="Overtravel",
                         by=operator)
    response = attach(api, typed, "screen.png", images.alarm_screen())
    assert response.status_code == 201 and "SV0401" in codes(response.json())
    issue = api.get(f"/api/issues/{typed.pk}/").json()
    assert issue["alarm_codes"] == ["OT0500"]
    assert [event["kind"] for event in issue["timeline"]] == ["created", "attachment_added"]
    assert not typed.events.filter(kind=IssueEvent.Kind.CODES_READ).exists()


def test_a_photo_without_an_alarm_is_read_and_gives_no_code(api, uncoded):
    data = attach(api, uncoded, "door.jpg", images.photo()).json()
    assert data["reading"] == "read" and data["alarm_codes"] == []
    assert api.get(f"/api/issues/{uncoded.pk}/").json()["alarm_codes"] == []


def test_ocr_unavailable_still_stores_the_photo(api, uncoded, settings, stored):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    response = attach(api, uncoded, "screen.png", images.alarm_screen())
    assert response.status_code == 201, response.content[:500]
    data = response.json()
    assert data["reading"] == "unavailable" and data["alarm_codes"] == [] and data["reading_error"]
    assert Attachment.objects.get().issue_id == uncoded.pk and len(stored()) == 2
    issue = api.get(f"/api/issues/{uncoded.pk}/").json()
    assert issue["alarm_codes"] == []
    assert [event["kind"] for event in issue["timeline"]] == ["created", "attachment_added"]


# --- the tablet's checks -----------------------------------------------------------------------------------
def test_a_file_renamed_jpg_is_refused_and_nothing_is_stored(api, issue, stored):
    message = refused(attach(api, issue, "alarm.jpg", NOT_A_PHOTO))
    assert "not a photo or video we can read" in message
    assert not Attachment.objects.exists() and stored() == []
    assert not issue.events.filter(kind=IssueEvent.Kind.ATTACHMENT_ADDED).exists()


@pytest.mark.parametrize("name, content", [
    ("cut.jpg", images.photo(size=(1200, 900))[:3000]),
    ("page.mp4", b"<html><body><script>alert(1)</script></body></html>" * 40),
    ("fake.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"<html>" * 500),
    ("empty.jpg", b""),
])
def test_files_that_are_no_photo_or_video_are_refused(api, issue, stored, name, content):
    refused(attach(api, issue, name, content))
    assert not Attachment.objects.exists() and stored() == []


@pytest.mark.parametrize("fmt, content_type", [("mp4", "video/mp4"), ("mov", "video/quicktime"),
                                               ("avi", "video/x-msvideo")])
def test_a_video_is_stored_as_a_video_and_not_read(api, uncoded, stored, fmt, content_type):
    response = attach(api, uncoded, f"clip.{fmt}", images.video(fmt))
    assert response.status_code == 201, response.content[:500]
    data = response.json()
    assert (data["kind"], data["content_type"]) == ("video", content_type)
    assert data["reading"] == "" and data["ocr_text"] == "" and data["alarm_codes"] == []
    assert data["thumbnail_url"] is None
    attachment = Attachment.objects.get()
    assert attachment.kind == Attachment.Kind.VIDEO and attachment.issue_id == uncoded.pk
    assert len(stored()) == 1
    issue = api.get(f"/api/issues/{uncoded.pk}/").json()
    assert [event["kind"] for event in issue["timeline"]] == ["created", "attachment_added"]


def test_a_video_named_like_a_photo_is_a_video(api, issue):
    data = attach(api, issue, "clip.jpg", images.video("mp4")).json()
    assert (data["kind"], data["content_type"]) == ("video", "video/mp4")
    assert Attachment.objects.get().file.name.endswith(".mp4")


def test_a_picture_of_too_many_pixels_is_refused(api, issue, stored):
    bomb = images.pixel_bomb()
    assert len(bomb) < 1024 * 1024
    assert "too many pixels" in refused(attach(api, issue, "tiny.png", bomb))
    assert not Attachment.objects.exists() and stored() == []


def test_a_file_over_the_limit_is_refused_with_the_limit(api, issue, settings, stored):
    settings.UPLOAD_MAX_MB = 1
    big = attach(api, issue, "big.mp4", images.mp4_header() + b"\x00" * (1024 * 1024))
    assert "the largest accepted is 1 MB" in refused(big)
    assert not Attachment.objects.exists() and stored() == []


ENDPOINTS = {"attachments": "/api/issues/{pk}/attachments/", "ocr": "/api/ocr/"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_larger_than_its_file_may_be_is_413(api, issue, settings, stored, endpoint):
    settings.UPLOAD_MAX_MB = 1
    huge = images.mp4_header() + b"\x00" * (max_request_bytes() + 1024)
    response = attach(api, issue, "huge.mp4", huge) if endpoint == "attachments" else read(api, "huge.mp4", huge)
    assert response.status_code == 413, response.content[:500]
    assert response["Content-Type"].startswith("application/json") and response.json()["status"] == 413
    assert not Attachment.objects.exists() and stored() == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("who", ["key", "session"])
def test_an_oversized_body_is_refused_from_its_length_before_it_is_read(api, issue, maintenance, settings, stored,
                                                                        endpoint, who):
    """As on the tablet (tests/floor/test_uploads.py): the declared length decides before anything is read, so
    a caller sending 200 MB neither fills the server's temporary disk nor holds a worker while it arrives. The
    test client's body is 100 bytes under a declared 50 MB: reading it at all fails."""
    settings.UPLOAD_MAX_MB = 1
    if who == "key":
        client, headers = api.client, dict(api.headers)
    else:  # a person signed in, calling from the browser with the CSRF token (README: The API, Keys)
        client = Client(enforce_csrf_checks=True)
        client.force_login(maintenance)
        client.get("/desk/")  # sets the CSRF cookie
        headers = {"X-CSRFToken": client.cookies["csrftoken"].value}
    try:
        response = client.generic("POST", ENDPOINTS[endpoint].format(pk=issue.pk), b"x" * 100,
                                  content_type="multipart/form-data; boundary=x",
                                  headers={**headers, "Content-Length": str(50 * 1024 * 1024)})
    except AssertionError as e:  # the test client's FakePayload: more was read than was sent
        pytest.fail(f"The body was read before it was refused: {e}")
    assert response.status_code == 413, response.content[:500]
    assert response.json()["status"] == 413 and response.json()["code"] == "too_large"
    assert not Attachment.objects.exists() and stored() == []


def test_a_missing_file_field_is_400_naming_file(api, issue):
    response = api.post(f"/api/issues/{issue.pk}/attachments/",
                        {"photo": SimpleUploadedFile("screen.png", images.alarm_screen())}, multipart=True)
    refused(response)
    refused(api.post(f"/api/issues/{issue.pk}/attachments/", {"note": "no file"}, multipart=True))
    refused(api.post(f"/api/issues/{issue.pk}/attachments/", {"file": "not a file but text"}, multipart=True))
    assert not Attachment.objects.exists()


def test_json_instead_of_multipart_is_415(api, issue):
    response = api.post(f"/api/issues/{issue.pk}/attachments/", {"file": "c2NyZWVu"})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not Attachment.objects.exists()


def test_an_unknown_issue_is_404_and_nothing_is_stored(api, stored):
    response = api.post("/api/issues/999999/attachments/",
                        {"file": SimpleUploadedFile("screen.png", images.alarm_screen())}, multipart=True)
    assert response.status_code == 404 and response.json()["status"] == 404
    assert not Attachment.objects.exists() and stored() == []


# --- Idempotency-Key ---------------------------------------------------------------------------------------
def test_the_same_file_with_the_same_key_is_stored_once(api, uncoded, stored):
    key = str(uuid.uuid4())
    photo = images.alarm_screen()
    first = attach(api, uncoded, "screen.png", photo, key=key)
    again = attach(api, uncoded, "screen-again.png", photo, key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reading"] == "read" and "SV0401" in codes(again.json())
    assert Attachment.objects.count() == 1 and len(stored()) == 2
    assert uncoded.events.filter(kind=IssueEvent.Kind.ATTACHMENT_ADDED).count() == 1
    assert uncoded.events.filter(kind=IssueEvent.Kind.CODES_READ).count() == 1


def test_a_repeat_says_it_is_one_as_every_repeat_of_the_api_does(api, issue):
    # logbook_site.api.security.idempotent: "a 201 comes back as 200, with `Idempotent-Replayed: true`".
    key = str(uuid.uuid4())
    first = attach(api, issue, "door.jpg", images.photo(), key=key)
    again = attach(api, issue, "door.jpg", images.photo(), key=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    assert again.status_code == 200 and again.get("Idempotent-Replayed") == "true"


def test_the_same_key_with_another_file_is_422(api, uncoded, stored):
    key = str(uuid.uuid4())
    first = attach(api, uncoded, "screen.png", images.alarm_screen(), key=key)
    other = attach(api, uncoded, "door.jpg", images.photo(), key=key)
    assert first.status_code == 201
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert list(Attachment.objects.values_list("pk", flat=True)) == [first.json()["id"]]
    assert len(stored()) == 2


def test_the_same_key_on_another_issue_is_422(api, uncoded, issue, stored):
    key = str(uuid.uuid4())
    photo = images.alarm_screen()
    assert attach(api, uncoded, "screen.png", photo, key=key).status_code == 201
    other = attach(api, issue, "screen.png", photo, key=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Attachment.objects.get().issue_id == uncoded.pk
    assert not issue.events.filter(kind=IssueEvent.Kind.ATTACHMENT_ADDED).exists()
    assert len(stored()) == 2


def test_an_unprintable_or_huge_key_is_400_and_nothing_is_stored(api, issue, stored):
    response = attach(api, issue, "screen.png", images.photo(), key="x" * 300)
    refused(response, field="Idempotency-Key")
    assert not Attachment.objects.exists() and stored() == []


def test_without_a_key_the_same_file_twice_is_two_attachments(api, issue):
    photo = images.photo()
    assert attach(api, issue, "a.jpg", photo).status_code == 201
    assert attach(api, issue, "a.jpg", photo).status_code == 201
    assert Attachment.objects.filter(issue=issue).count() == 2


# --- reading only: /api/ocr/ -------------------------------------------------------------------------------
def test_ocr_reads_an_alarm_screen_and_stores_nothing(api, issue, stored):
    events = IssueEvent.objects.count()
    response = read(api, "screen.png", images.alarm_screen())
    assert response.status_code == 200, response.content[:500]
    data = response.json()
    assert data["reading"] == "read" and data["error"] == ""
    assert "SERVO ALARM" in data["text"]
    assert "SV0401" in codes(data)
    found = next(c for c in data["alarm_codes"] if c["code"] == "SV0401")
    assert "SV0401" in found["line"]
    assert not Attachment.objects.exists() and stored() == []
    assert IssueEvent.objects.count() == events


def test_ocr_reads_the_same_photo_the_same_way_twice(api, stored):
    photo = images.alarm_screen()
    first, second = read(api, "screen.png", photo).json(), read(api, "screen.png", photo).json()
    assert first == second and "SV0401" in codes(first)
    assert not Attachment.objects.exists() and stored() == []


def test_ocr_refuses_a_video(api, stored):
    assert "video" in refused(read(api, "clip.mp4", images.video("mp4"))).lower()
    assert stored() == []


def test_ocr_refuses_what_is_not_an_image(api, stored):
    assert "not a photo or video we can read" in refused(read(api, "alarm.jpg", NOT_A_PHOTO))
    refused(read(api, "tiny.png", images.pixel_bomb()))
    assert stored() == []


def test_ocr_refuses_a_file_over_the_limit(api, settings, stored):
    settings.UPLOAD_MAX_MB = 1
    big = images.mp4_header() + b"\x00" * (1024 * 1024)
    assert "the largest accepted is 1 MB" in refused(read(api, "big.jpg", big))
    assert stored() == []


def test_ocr_without_a_file_or_with_json_is_refused(api):
    refused(api.post("/api/ocr/", {"note": "no file"}, multipart=True))
    assert api.post("/api/ocr/", {"file": "c2NyZWVu"}).status_code == 415


def test_ocr_unavailable_is_an_answer_not_an_error(api, settings, stored):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    response = read(api, "screen.png", images.alarm_screen())
    assert response.status_code == 200, response.content[:500]
    data = response.json()
    assert data["reading"] == "unavailable" and data["error"]
    assert data["text"] == "" and data["alarm_codes"] == []
    assert stored() == []


@pytest.fixture
def hung_tesseract(settings, tmp_path):
    """A Tesseract that never answers, as one stuck on a damaged image would."""
    hung = tmp_path / "tesseract"
    hung.write_text("#!/bin/sh\nsleep 300\n")
    hung.chmod(0o755)
    settings.TESSERACT_CMD, settings.OCR_TIMEOUT_SECONDS = str(hung), 2


def test_a_hung_tesseract_neither_loses_the_photo_nor_holds_the_call(api, uncoded, stored, hung_tesseract):
    import time

    from floor import photos

    started = time.monotonic()
    response = attach(api, uncoded, "screen.png", images.alarm_screen())
    # The reading is given up on after OCR_TIMEOUT_SECONDS (and the reader's grace), not after 300 s.
    assert response.status_code == 201 and time.monotonic() - started < 15
    assert Attachment.objects.filter(issue=uncoded).count() == 1
    assert response.json()["reading"] in ("timeout", "queued")
    assert photos.wait_until_read(timeout=60)
    assert Attachment.objects.get(issue=uncoded).reading == Attachment.Reading.TIMEOUT

    started = time.monotonic()
    answer = read(api, "screen.png", images.alarm_screen())
    assert answer.status_code == 200 and answer.json()["reading"] in ("timeout", "busy")
    assert time.monotonic() - started < 20
