"""
Photos and videos from the floor: accepted by what the bytes are, never by the file's name.

Images are whatever Pillow decodes among the formats tablets and phones produce (HEIC through the
pillow-heif plugin); videos are recognised by their container signature and stored as they are.
Every accepted image gets a small JPEG thumbnail, upright (EXIF orientation applied), because
browsers cannot show HEIC and a full 12 MP photo is too heavy for a list on Wi-Fi.
"""

import io
import uuid
import warnings
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from floor.models import Attachment

try:  # HEIC/HEIF photos (iPads, many Android phones)
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - the package is in requirements.txt
    pass

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
# Photos above this many pixels are refused before decoding: a 108 MP phone photo is the largest real
# one; anything beyond is a decompression bomb.
MAX_PIXELS = 120_000_000
THUMBNAIL_SIZE = (640, 640)
ACCEPTED = "JPEG, PNG, GIF or HEIC photos, MP4, MOV or AVI videos"


class UploadRejected(Exception):
    """A file we will not store; the message is for the person who chose it."""


@dataclass(frozen=True)
class Inspected:
    kind: str  # Attachment.Kind
    content_type: str
    image: Image.Image | None = None


def max_bytes():
    return settings.UPLOAD_MAX_MB * 1024 * 1024


# HEIC and AVIF photos are ISO media files too; their brand says they are still images.
IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}


def _video_type(head):
    # ISO base media (MP4, MOV, 3GP): a box size, then the box type; the first box is usually "ftyp".
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in IMAGE_BRANDS:
            return None
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    # Old QuickTime files may open with another top-level atom.
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "video/quicktime"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
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
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    video = _video_type(head)
    if video:
        return Inspected(kind=Attachment.Kind.VIDEO, content_type=video)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)
            if image.format not in IMAGE_FORMATS:
                raise UploadRejected(f"This kind of picture ({image.format}) is not accepted: {ACCEPTED}.")
            if image.width * image.height > MAX_PIXELS:
                raise UploadRejected("The picture is too large to process.")
            image.load()  # decodes fully: a truncated or corrupt file fails here, not later
    except UploadRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as e:
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


def store_attachment(*, upload, by, pending_token=None, issue=None, remedy=None):
    """Check and store one upload; returns the Attachment. Raises UploadRejected."""
    inspected = inspect_upload(upload)
    attachment = Attachment(
        kind=inspected.kind,
        content_type=inspected.content_type,
        size=upload.size,
        original_name=(upload.name or "")[:255],
        pending_token=pending_token,
        issue=issue,
        remedy=remedy,
        uploaded_by=by,
    )
    # The stored name's extension follows what the bytes are, never the name the file came with: the
    # media view serves by extension, and "photo.html" with a JPEG inside must not become a web page.
    attachment.file.save(f"upload{EXTENSIONS[inspected.content_type]}", upload, save=False)
    if inspected.image is not None:
        attachment.thumbnail.save(f"{uuid.uuid4().hex}.jpg", ContentFile(thumbnail_of(inspected.image)),
                                  save=False)
    try:
        attachment.save()
    except Exception:
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
