"""A camera's photo is scaled down on the tablet before it is uploaded: turned upright, its long side 2400 px.
It crosses the Wi-Fi in a fraction of the bytes, and a photo larger than the upload limit is no longer
refused for its size."""

import io

import numpy as np
import pytest
from PIL import Image

from floor.models import Attachment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def camera_photo(size=(4032, 3024), orientation=None):
    """A 12 MP JPEG full of sensor noise: it compresses badly, as real photos of a screen do."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    out = io.BytesIO()
    kwargs = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif
    image.save(out, "JPEG", quality=95, **kwargs)
    return out.getvalue()


def test_a_camera_photo_larger_than_the_limit_is_scaled_down_upright_and_accepted(
        live_server, tablet, sign_in, operator, machine, settings):
    # Stored sideways, as phones and tablets do, with the EXIF tag that says so.
    photo = camera_photo(orientation=6)
    settings.UPLOAD_MAX_MB = 8
    assert len(photo) > 8 * 1024 * 1024  # the file as the camera gives it is over the limit
    sizes = []
    tablet.on("request", lambda r: "/attachments/" in r.url and r.method == "POST"
              and sizes.append(len(r.post_data_buffer or b"")))
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    tablet.locator("#previews img").wait_for(timeout=30_000)
    assert not tablet.locator("[data-upload-error]").count()
    attachment = Attachment.objects.get()
    stored = Image.open(attachment.file.path)
    # Upright: the sensor's 4032 x 3024 turned a quarter, then scaled to 2400 on the long side.
    assert stored.size == (1800, 2400)
    assert sizes and sizes[0] < len(photo) / 2
    assert attachment.original_name == "IMG_0042.jpg"


def test_a_small_photo_is_sent_as_it_is(live_server, tablet, sign_in, operator, machine):
    photo = camera_photo(size=(1200, 900))
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "small.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    tablet.locator("#previews img").wait_for()
    assert Attachment.objects.get().size == len(photo)
