"""
Photos and videos from the floor: accepted by what the bytes are, never by the file's name.

Images are whatever Pillow decodes among the formats tablets and phones produce (HEIC through the
pillow-heif plugin, registered by floor/ocr), refused by their size in pixels before anything is
decoded; videos are recognised by the structure of their container (the boxes of an MP4 or MOV, the
chunks of an AVI) and stored as they are. Every accepted image gets a small JPEG thumbnail, upright
(EXIF orientation applied), because browsers cannot show HEIC and a 12 MP photo is too heavy for a list
on Wi-Fi. A file sent twice with one form (a retry, a double tap) is stored once: it is known by its
SHA-256.
"""

import functools
import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from floor import locks, ocr
from floor.models import Attachment, Issue

IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # a JPEG with a second picture inside, as some phones write
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/x-msvideo": ".avi",
}
THUMBNAIL_SIZE = (640, 640)
ACCEPTED = "JPEG, PNG, HEIC, WebP, GIF, BMP or TIFF photos, MP4, MOV or AVI videos"
# A form may carry a few files at once (a browser without JavaScript sends its photos with the report).
FILES_PER_REQUEST = 5


class UploadRejected(Exception):
    """A file we will not store; the message is for the person who chose it."""


@dataclass(frozen=True)
class Inspected:
    kind: str  # Attachment.Kind
    content_type: str
    image: Image.Image | None = None


def max_bytes():
    return settings.UPLOAD_MAX_MB * 1024 * 1024


def max_request_bytes(files=FILES_PER_REQUEST):
    """The largest request body a view that takes `files` files reads: the files and the form around them."""
    return files * max_bytes() + 1024 * 1024


def oversized_body(request, *, files=FILES_PER_REQUEST):
    """Why a request is refused (413) from its Content-Length alone, before its body is read, or "": a
    tablet on Wi-Fi sending 200 MB must not fill the server's disk or hold a worker."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= max_request_bytes(files):
        return ""
    if files == 1:
        return f"Too large: one file of at most {settings.UPLOAD_MAX_MB} MB per request."
    return f"Too much at once: at most {files} files of up to {settings.UPLOAD_MAX_MB} MB each."


def refuse_oversized_body(view):
    """The view answers 413 to a request larger than its files may be (oversized_body)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if reason := oversized_body(request):
            return HttpResponse(reason, status=413, content_type="text/plain; charset=utf-8")
        return view(request, *args, **kwargs)

    return wrapper


# --- what a file is ---------------------------------------------------------------------------------
# HEIC and AVIF photos are ISO media files too; their brand says they are still images.
IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
# The boxes an MP4 or MOV file is made of at its top level (ISO/IEC 14496-12 and QuickTime).
_ISO_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"meta", b"moof",
                  b"mfra", b"styp", b"sidx", b"ssix", b"prft", b"emsg", b"pdin", b"junk"}
# Old QuickTime files may open with one of these instead of "ftyp".
_QUICKTIME_FIRST = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _iso_boxes(upload, size):
    """The types of the top-level boxes of an ISO media file, or None unless they tile the file exactly."""
    types, offset = [], 0
    while offset < size:
        upload.seek(offset)
        header = upload.read(16)
        if len(header) < 8:
            return None
        length, kind = int.from_bytes(header[:4], "big"), header[4:8]
        if length == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return None
            length = int.from_bytes(header[8:16], "big")
        elif length == 0:  # the box runs to the end of the file
            length = size - offset
        if kind not in _ISO_TOP_LEVEL or length < 8 or offset + length > size or len(types) > 10_000:
            return None
        types.append(kind)
        offset += length
    return types


def _riff_chunks(upload, start, end):
    """(id, list type or b"", offset, size) of the chunks between start and end, or None unless they tile it."""
    chunks, offset = [], start
    while offset < end:
        upload.seek(offset)
        header = upload.read(12)
        if len(header) < 8:
            return None
        chunk, length = header[:4], int.from_bytes(header[4:8], "little")
        if offset + 8 + length > end:
            return None
        chunks.append((chunk, header[8:12] if chunk == b"LIST" else b"", offset, length))
        offset += 8 + length + (length & 1)  # chunks are padded to an even length
    return chunks


def _video_type(upload, size):
    """The video's content type when the file is built as an MP4, MOV or AVI is, else None."""
    upload.seek(0)
    head = upload.read(12)
    if head[4:8] == b"ftyp" or head[4:8] in _QUICKTIME_FIRST:
        if head[4:8] == b"ftyp" and head[8:12] in IMAGE_BRANDS:
            return None
        boxes = _iso_boxes(upload, size)
        # A film needs its index (moov, or moof for fragments) and its frames (mdat).
        if not boxes or not ({b"moov", b"moof"} & set(boxes)) or b"mdat" not in boxes:
            return None
        return "video/quicktime" if head[4:8] != b"ftyp" or head[8:12] == b"qt  " else "video/mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        riff_end = 8 + int.from_bytes(head[4:8], "little")
        if riff_end > size:
            return None
        chunks = _riff_chunks(upload, 12, riff_end)
        lists = [kind for chunk, kind, _, _ in chunks or [] if chunk == b"LIST"]
        if not chunks or chunks[0][:2] != (b"LIST", b"hdrl") or b"movi" not in lists:
            return None
        upload.seek(chunks[0][2] + 12)
        if upload.read(4) != b"avih":
            return None
        return "video/x-msvideo"
    return None


def inspect_upload(upload):
    """Tell what an uploaded file is, or raise UploadRejected saying why it is refused."""
    size = upload.size
    if not size:
        raise UploadRejected("The file is empty.")
    if size > max_bytes():
        raise UploadRejected(
            f"The file is {size / 1024 / 1024:.1f} MB; the largest accepted is {settings.UPLOAD_MAX_MB} MB."
        )
    try:
        video = _video_type(upload, size)
    finally:
        upload.seek(0)
    if video:
        return Inspected(kind=Attachment.Kind.VIDEO, content_type=video)
    try:
        with warnings.catch_warnings():
            # Our own limit (below) decides; Pillow's warning threshold would refuse a 100 MP JPEG.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(upload)
            if image.format not in IMAGE_FORMATS:
                raise UploadRejected(f"This kind of picture ({image.format}) is not accepted: {ACCEPTED}.")
            # Only the header has been read so far: a small file can claim a huge picture.
            if ocr.too_many_pixels(image):
                raise UploadRejected("The picture has too many pixels to process; send a smaller photo.")
            # Decodes it all, a JPEG at the thumbnail's scale (a twentieth of the time of a 12 MP decode): a
            # truncated or corrupt file fails here, not later.
            ocr.decode_small(image, size=max(THUMBNAIL_SIZE))
    except UploadRejected:
        raise
    except Image.DecompressionBombError as e:
        raise UploadRejected("The picture has too many pixels to process; send a smaller photo.") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise UploadRejected(f"This file is not a photo or video we can read. Accepted: {ACCEPTED}.") from e
    finally:
        upload.seek(0)
    return Inspected(kind=Attachment.Kind.IMAGE, content_type=IMAGE_FORMATS[image.format], image=image)


def thumbnail_of(image):
    """An upright JPEG, at most 640 px a side."""
    image = ImageOps.exif_transpose(image)
    image.thumbnail(THUMBNAIL_SIZE)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


def content_digest(upload):
    """The SHA-256 of an upload's bytes, as stored in Attachment.sha256."""
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


# --- storing ----------------------------------------------------------------------------------------
def store_attachment(*, upload, by, pending_token=None, issue=None, remedy=None):
    """Check and store one upload; returns the Attachment. Raises UploadRejected.

    With a floor form's `pending_token`, a file that form already brought is not stored again: the
    stored one is returned. When the form has been sent already (its photo was still on the way, or
    came with a resend), the file goes straight onto its issue.

    A file added to an issue that exists is on its timeline ("Attachment added"), unless it belongs to
    a remedy: the remedy's own event records the remedy with its photos. A form's photos stored before
    it is sent come with the report, which its first event records.
    """
    inspected = inspect_upload(upload)
    digest = content_digest(upload)
    with transaction.atomic():
        if pending_token:
            # Serialises this upload with the form's report (floor/reporting.py holds the same lock), so
            # a photo arriving as the report is saved ends up on the issue, never left behind as pending.
            locks.hold(f"form:{pending_token}")
            stored = Attachment.objects.filter(pending_token=pending_token, sha256=digest).first()
            if stored:
                return stored
            issue = issue or Issue.objects.filter(submission_token=pending_token).first()
        attachment = Attachment(
            kind=inspected.kind,
            content_type=inspected.content_type,
            size=upload.size,
            sha256=digest,
            original_name=(upload.name or "")[:255],
            pending_token=pending_token,
            issue=issue,
            remedy=remedy,
            uploaded_by=by,
        )
        # The stored name's extension follows what the bytes are, never the name the file came with: the
        # media view serves by extension, and "photo.html" with a JPEG inside must not become a web page.
        attachment.file.save(f"upload{EXTENSIONS[inspected.content_type]}", upload, save=False)
        try:
            if inspected.image is not None:
                attachment.thumbnail.save(f"{uuid.uuid4().hex}.jpg", ContentFile(thumbnail_of(inspected.image)),
                                          save=False)
            attachment.save()
            if issue is not None and remedy is None:
                attachment.record_added()
        except BaseException:
            delete_files(attachment)
            raise
    return attachment


def delete_files(attachment):
    """Remove an attachment's stored files (its row is someone else's business)."""
    for field in (attachment.file, attachment.thumbnail):
        if field:
            field.storage.delete(field.name)


def delete_attachment(attachment):
    """Remove an attachment and, once the database agrees, its files."""
    with transaction.atomic():
        attachment.delete()
        transaction.on_commit(lambda: delete_files(attachment))


def purge_pending(*, older_than=timedelta(days=1)):
    """Delete uploads of floor forms that were never sent. Returns how many were removed."""
    stale = Attachment.objects.filter(
        pending_token__isnull=False, issue__isnull=True, uploaded_at__lt=timezone.now() - older_than
    )
    removed = 0
    for attachment in stale.iterator():
        delete_attachment(attachment)
        removed += 1
    return removed

