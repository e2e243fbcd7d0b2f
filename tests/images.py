"""Pictures and files for upload tests, made on the spot with Pillow."""

import io

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"


def alarm_screen(lines=("SV0401 SERVO ALARM: X AXIS V-READY OFF",), size=(1280, 720), fmt="PNG", **save):
    """A controller's alarm page: light text on a dark screen, as Fanuc controls show it."""
    image = Image.new("RGB", size, (12, 18, 40))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 38)
    draw.text((40, 30), "ALARM MESSAGE", fill=(250, 250, 250), font=font)
    for i, line in enumerate(lines):
        draw.text((40, 130 + i * 70), line, fill=(255, 80, 60), font=font)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def photo(size=(400, 300), fmt="JPEG", exif_orientation=None):
    image = Image.new("RGB", size, (90, 120, 150))
    ImageDraw.Draw(image).rectangle((10, 10, 60, 40), fill=(255, 255, 0))
    out = io.BytesIO()
    kwargs = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def video(fmt="mp4", frames=10):
    """A real, tiny video file (MP4, MOV or AVI), written by OpenCV's bundled FFmpeg."""
    import tempfile
    from pathlib import Path

    import cv2
    import numpy as np

    codec = {"mp4": "mp4v", "mov": "mp4v", "avi": "MJPG"}[fmt]
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / f"clip.{fmt}")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), 10, (64, 48))
        for i in range(frames):
            writer.write(np.full((48, 64, 3), i * 20, np.uint8))
        writer.release()
        return Path(path).read_bytes()


def pixel_bomb():
    """A small PNG (a few hundred kB) that decodes to 88 megapixels."""
    out = io.BytesIO()
    Image.new("1", (11_000, 8_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def mp4_header():
    """The first bytes of an MP4 file (an ftyp box), enough to be recognised by its signature."""
    return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 2000
