"""Reading alarm codes from photos of controller screens: the only module that runs Tesseract.

A tablet photo of a CNC screen is a hard OCR input: the screen fills part of a 12 MP frame behind a bezel,
seen at an angle, rotated, out of focus, with glare, often light text on a dark or coloured background
and highlighted rows of the opposite polarity. Raw Tesseract on such a photo reads next to nothing, so
the pipeline turns it into what Tesseract reads well, dark text of a known size on a clean white page:

1. Decode, honouring EXIF orientation, at no more resolution than needed: JPEG draft decoding of a
   12 MP photo at half size is several times faster than a full decode and a resize. The full-size
   pixels are decoded only when the text turns out to be small.
2. Find the screen: the largest convex quadrilateral whose sides run along edges of the picture. When
   there is one, warp it to a rectangle, which undoes rotation and perspective at once.
3. Find the text: the components of a rough text mask that stand in rows, as letters do. Their typical
   height sets the scale (capitals about `_TARGET_TEXT_HEIGHT` pixels high: small text is enlarged, big
   photos shrink and Tesseract's time with them) and their box the crop.
4. Measure every pixel's colour distance from its *local* background (a median over a window a few
   letters wide). This turns light-on-dark, dark-on-light, coloured text, highlighted rows and glare (a
   smooth added brightness) into one thing, dark text on white, without deciding a polarity for the
   whole screen. Take the background's noise level off it, and sharpen the strokes in proportion to
   how blurred their edges are (a photo's; a screenshot's are left alone).
5. Whiten frame lines and solid blocks, straighten any residual skew from the direction of the text
   lines, and run Tesseract (`OMP_THREAD_LIMIT=1`: its OpenMP threads fight each other on two cores) on
   the page as one block of text, which keeps an alarm number on one line with its message.
6. Read again, alone and larger, the few lines of that reading that look like alarm lines but gave no
   code, or gave one with low confidence: on a highlighted row the page's reading often runs words
   together or turns the space after a number into punctuation. All of them go to Tesseract in one
   strip, one more short run. A second pass on the whole frame runs only when no code was found and the
   time budget allows it.

OpenCV does the geometry and the filters: each step is a few milliseconds where the same in pure Python
or Pillow would eat the time budget.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from PIL import Image, ImageOps

from floor.ocr.alarm_codes import AlarmCode, extract_alarm_codes, mentions_alarms

try:  # HEIC/HEIF photos (iPads, many Android phones), decoded through Pillow like the uploads are.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - the package is in requirements.txt
    pass

# Longest side of the decoded image the pipeline works on. A screen that fills half of a 12 MP photo
# still has text well above the target height at this size.
_WORK_SIZE = 2000
# Side of the thumbnail used to find the screen's outline.
_DETECT_SIZE = 640
# Capital height Tesseract's LSTM models read best at (their training lines are about 30-40 px high).
_TARGET_TEXT_HEIGHT = 30
# Never hand Tesseract more than this many pixels: the time it takes grows with them.
_MAX_OCR_PIXELS = 3_200_000


# Pictures with more pixels than this are refused before they are decoded (a small PNG can claim 88
# megapixels and cost 700 MB to decode). JPEGs decode at a fraction of their size (draft mode), so a
# 108 MP phone photo, the largest real one, is fine; no screenshot or HEIC photo comes near the other limit.
_MAX_PIXELS_DRAFTABLE = 120_000_000
_MAX_PIXELS = 60_000_000
_DRAFTABLE = {"JPEG", "MPO"}


def too_many_pixels(image: Image.Image) -> bool:
    """Whether an opened, not yet decoded picture is too large to decode."""
    limit = _MAX_PIXELS_DRAFTABLE if image.format in _DRAFTABLE else _MAX_PIXELS
    return image.width * image.height > limit


def decode_small(image: Image.Image, size: int) -> None:
    """Decode an opened picture completely, a JPEG at the smallest scale that keeps `size` pixels on its
    shorter side (a corrupt or truncated file fails here either way)."""
    if image.format in _DRAFTABLE:
        image.draft("RGB", (size, size))
    image.load()


class OcrError(Exception):
    """Base class of everything `read_image` raises."""


class OcrUnavailable(OcrError):
    """Tesseract is not installed or cannot be run."""


class OcrTimeout(OcrError):
    """Reading the image took longer than the time budget."""


class UnreadableImage(OcrError):
    """The input is not an image that Pillow can decode."""


@dataclass
class OcrResult:
    """What a photo said: its `text`, the `alarm_codes` found in it, and the `seconds` it took."""

    text: str
    alarm_codes: list[AlarmCode] = field(default_factory=list)
    seconds: float = 0.0


def read_image(source, *, timeout: float | None = None, tesseract_cmd: str | None = None) -> OcrResult:
    """Read the text and alarm codes of a photo or screenshot of a controller screen.

    `source` is a path, the image's bytes, or a file-like object (an uploaded file). The whole read,
    decoding included, stays within `timeout` seconds (default `settings.OCR_TIMEOUT_SECONDS`), with the
    Tesseract `tesseract_cmd` (default `settings.TESSERACT_CMD`).

    Raises `UnreadableImage` for input that is not a decodable image, `OcrUnavailable` when Tesseract
    cannot be run, and `OcrTimeout` when the budget ran out before any text was read.
    """
    started = time.monotonic()
    budget = settings.OCR_TIMEOUT_SECONDS if timeout is None else timeout
    deadline = started + budget
    command = tesseract_cmd or getattr(settings, "TESSERACT_CMD", "") or "tesseract"
    decoded = _Decoded(_read_bytes(source))

    texts: list[str] = []
    codes: list[AlarmCode] = []
    for page, config in _passes(decoded):
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            if texts:
                break  # The first pass's answer stands; another would overrun the budget.
            raise OcrTimeout(f"no time left to read the image within {budget:.1f} s")
        try:
            lines = _tesseract_lines(page, config=config, timeout=remaining, command=command)
        except OcrTimeout:
            if texts:
                break
            raise
        text = "\n".join(line.text for line in lines)
        if not texts:
            # Only the first pass's lines are read again: the second pass is there for photos whose
            # first page was the wrong part of the frame, and the time is better kept for it.
            text = _reread_doubtful_lines(page, lines, text, deadline=deadline, command=command)
        texts.append(_tidy(text))
        codes = _merge(codes, extract_alarm_codes(text))
        if codes:
            break
        if len(texts) == 1 and not _worth_another_pass(text):
            break
    return OcrResult(
        text=_best_text(texts, codes), alarm_codes=codes, seconds=round(time.monotonic() - started, 3)
    )


def serve_readings(connection, niceness: int = 0) -> None:
    """Read the images sent on `connection` until it closes: the loop of a reading process of its own.

    Each message is `(image bytes, timeout, tesseract_cmd)`; each answer `("ok", OcrResult)` or
    `("error", OcrError)`. The process first lowers its CPU priority by `niceness` (its Tesseract runs
    inherit it).
    """
    if niceness:
        os.nice(niceness)
    while True:
        try:
            data, timeout, tesseract_cmd = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("ok", read_image(data, timeout=timeout, tesseract_cmd=tesseract_cmd))
        except OcrError as error:
            answer = ("error", error)
        except Exception as error:  # anything else is this image's failure, not the reading process's end
            answer = ("error", OcrError(f"{type(error).__name__}: {error}"))
        connection.send(answer)


@dataclass
class _Line:
    """One line of Tesseract's reading: its `text`, its `box` (x0, y0, x1, y1) on the page, and the
    `weakest` confidence (0-100) among its words that hold a digit, where alarm codes are."""

    text: str
    box: tuple[int, int, int, int]
    weakest: float = 100.0


# The height (pixels) a doubtful line's box is read again at, larger than on the page (about 32), and how
# many lines at most: one more Tesseract run on a strip of a few lines costs a fraction of the first pass.
_REREAD_HEIGHT = 48
_REREAD_MAX_LINES = 4
# Width of a line read again, in line heights: the code and the first words of its message.
_REREAD_WIDTH = 24
# A code read with less confidence than this (Tesseract's 0-100 word confidence) is worth a second look.
_WEAK_CODE = 85


def _reread_doubtful_lines(page: np.ndarray, lines: list[_Line], text: str, *, deadline: float,
                           command: str) -> str:
    """`text` with its doubtful lines replaced by a better reading of them, where one was found.

    A line is doubtful when it looks like an alarm line (a number near its head, and words) yet no code
    came out of it, or when its code was read with low confidence. Read again alone and larger, with the
    rest of the page out of Tesseract's layout analysis, a line is often read right where the page's
    reading ran letters together or turned a space into punctuation. The new reading replaces the old
    only when it yields a code, and a more confident one when the old reading had a code too.
    """
    doubtful = []
    for index, line in enumerate(lines):
        found = extract_alarm_codes(line.text, context=text)
        if (found and line.weakest < _WEAK_CODE) or (not found and _looks_like_alarm_line(line.text)):
            doubtful.append(index)
    doubtful = doubtful[:_REREAD_MAX_LINES]
    if not doubtful or deadline - time.monotonic() < 0.5:
        return text
    strip, bands = _line_strip(page, [lines[index].box for index in doubtful])
    try:
        reread = _tesseract_lines(
            strip, config=f"--psm 6 {_BASE_CONFIG}", timeout=deadline - time.monotonic(), command=command
        )
    except OcrTimeout:
        return text
    texts = [line.text for line in lines]
    for index, (top, bottom) in zip(doubtful, bands):
        # The strip's lines are far apart: each reading belongs to the band its middle falls in, and of
        # several (a neighbouring line's edge caught in the crop) the one nearest the band's middle.
        candidates = [line for line in reread if top <= (line.box[1] + line.box[3]) / 2 <= bottom]
        if not candidates:
            continue
        new = min(candidates, key=lambda line: abs(line.box[1] + line.box[3] - top - bottom))
        old = lines[index]
        before = [code.code for code in extract_alarm_codes(old.text, context=text)]
        after = [code.code for code in extract_alarm_codes(new.text, context=text)]
        # Over a code already read, the new reading wins only when it is more confident and only
        # corrects characters: a character more or less is more often a frame's edge read as a "1".
        if not after:
            continue
        if not before or (new.weakest > old.weakest and list(map(len, before)) == list(map(len, after))):
            texts[index] = new.text
    return "\n".join(texts)


def _looks_like_alarm_line(line: str) -> bool:
    """A run of three digits (or a slashed zero) among the first words of a line, followed by a word:
    an alarm number and its message. Positions, dates and counters ("PART COUNT 1475") have no word
    after their number and are left alone."""
    words = line.split()
    for index, word in enumerate(words[:3]):
        if re.search(r"[0-9@]{3}", word):
            return re.search(r"[A-Za-zÀ-ÿ]{4,}", " ".join(words[index + 1 :])) is not None
    return False


def _line_strip(page: np.ndarray, boxes: list[tuple[int, int, int, int]]):
    """The lines of `page` in `boxes`, enlarged and stacked one under the other on white with a wide gap
    between them, and the (top, bottom) band each takes in the strip."""
    crops = []
    for x0, y0, x1, y1 in boxes:
        # Room for accents and descenders above and below. Codes stand at the head of their line: its
        # first few words are enough (a reading's box can stretch across the page to a frame's edge).
        pad = max(4, (y1 - y0) // 3)
        x1 = min(x1, x0 + _REREAD_WIDTH * (y1 - y0))
        crop = page[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad]
        # Every line at the same, larger height, whatever size the page's reading gave its box.
        factor = _REREAD_HEIGHT / max(1, y1 - y0)
        crops.append(cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC))
    gap = max(crop.shape[0] for crop in crops)
    width = max(crop.shape[1] for crop in crops) + 2 * gap
    rows, bands, top = [np.full((gap, width), 255, np.uint8)], [], gap
    for crop in crops:
        row = np.full((crop.shape[0], width), 255, np.uint8)
        row[:, gap : gap + crop.shape[1]] = crop
        rows += [row, np.full((gap, width), 255, np.uint8)]
        bands.append((top, top + crop.shape[0]))
        top += crop.shape[0] + gap
    return np.vstack(rows), bands


def _worth_another_pass(text: str) -> bool:
    """After a first pass that found no code: is another pass likely to find one? Yes when the page
    talks about alarms (a code is there but was misread), or when next to nothing was read (the page
    was the wrong part of the photo). A screen that was read and shows no alarm, the common case of a
    photo taken for another reason, is not read twice."""
    readable = re.findall(r"[A-Za-z0-9]{3,}", text)
    return mentions_alarms(text) or len(readable) < 8


def _tidy(text: str) -> str:
    """Tesseract's text without trailing blanks and runs of empty lines, for people to read."""
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip("\n")


def _best_text(texts: list[str], codes: list[AlarmCode]) -> str:
    """The text of the pass that found the codes (the last one run), else that of the first pass."""
    if not texts:
        return ""
    return texts[-1] if codes else texts[0]


def _merge(first: list[AlarmCode], second: list[AlarmCode]) -> list[AlarmCode]:
    seen = {code.code for code in first}
    return first + [code for code in second if code.code not in seen]


# --- decoding --------------------------------------------------------------------------------------------


def _read_bytes(source) -> bytes:
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return bytes(source)
        if isinstance(source, (str, os.PathLike)):
            return Path(source).read_bytes()
        if hasattr(source, "read"):
            if hasattr(source, "seek"):
                source.seek(0)
            data = source.read()
            if isinstance(data, str):
                raise UnreadableImage("the file was opened as text, not as bytes")
            return bytes(data)
    except UnreadableImage:
        raise
    except OSError as error:
        raise UnreadableImage(f"cannot read the file: {error}") from error
    raise UnreadableImage(f"cannot read an image from a {type(source).__name__}")


class _Decoded:
    """An image decoded at working size (`rgb`), which can be decoded again at full size when the
    text turns out to be too small to read at working size."""

    def __init__(self, data: bytes):
        self._data = data
        self.rgb = np.asarray(self._decode(draft=True))
        self._full: np.ndarray | None = None

    @property
    def enlargement(self) -> float:
        """How many times larger the full-size image is than `rgb`."""
        return self._full_width / self.rgb.shape[1]

    def full(self) -> np.ndarray:
        if self._full is None:
            self._full = np.asarray(self._decode(draft=False))
        return self._full

    def _decode(self, *, draft: bool) -> Image.Image:
        try:
            image = Image.open(io.BytesIO(self._data))
            if too_many_pixels(image):
                raise UnreadableImage("the picture has too many pixels to decode")
            self._full_width = image.width if _exif_keeps_width(image) else image.height
            if draft:
                # JPEG decodes at 1/2, 1/4 or 1/8 scale for almost nothing; draft picks the smallest
                # scale that still covers the requested size.
                image.draft(
                    "RGB",
                    (_WORK_SIZE, _WORK_SIZE * 3 // 4)
                    if image.width >= image.height
                    else (_WORK_SIZE * 3 // 4, _WORK_SIZE),
                )
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image)
            # A draft a little over the working size is kept as it is: resizing costs more than it saves.
            if draft and max(image.size) > _WORK_SIZE * 1.25:
                image.thumbnail((_WORK_SIZE, _WORK_SIZE), Image.Resampling.BILINEAR)
            if min(image.size) < 8:
                raise UnreadableImage("the image is too small to hold any text")
            return image
        except UnreadableImage:
            raise
        except Exception as error:
            # Pillow reports broken, truncated and unknown files with a zoo of exception types
            # (UnidentifiedImageError, OSError, SyntaxError, ValueError, DecompressionBombError...).
            raise UnreadableImage(f"not a readable image ({type(error).__name__})") from error


def _exif_keeps_width(image: Image.Image) -> bool:
    """False when the EXIF orientation turns the image sideways (tags 5 to 8)."""
    try:
        return image.getexif().get(0x0112, 1) not in (5, 6, 7, 8)
    except (OSError, ValueError, TypeError, KeyError, SyntaxError):
        return True  # An unreadable EXIF block: exif_transpose will leave the image as it is, too.


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # A transparent screenshot: what shows through is, on every viewer, a white page.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        return Image.fromarray((np.clip(array, 0, None) * (255 / peak)).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


# --- the passes --------------------------------------------------------------------------------------------

# Our pages are already dark on white, so Tesseract's own trial inversion of every line is wasted time.
# Alarm codes are not words: the word lists only pull misread digits towards words, and not loading them
# saves a little of every start (accuracy on the corpus unchanged, measured).
_BASE_CONFIG = "-c tessedit_do_invert=0 -c load_system_dawg=0 -c load_freq_dawg=0"


def _passes(decoded: _Decoded):
    """The Tesseract runs to try, best first, each page made only when it is needed.

    First the screen cut out of the photo, read as one block of text (which keeps an alarm number on one
    line with its message, across table columns). If that finds no code, the whole frame: the outline
    taken for the screen may have been a panel inside it. When there was no outline, the first page
    was the whole frame already, and automatic page segmentation gets its chance on it instead.
    """
    rgb = decoded.rgb
    quad = _find_screen(rgb)
    if quad is not None:
        yield _page(decoded, _warp(rgb, quad), quad), f"--psm 6 {_BASE_CONFIG}"
        yield _page(decoded, rgb, None), f"--psm 6 {_BASE_CONFIG}"
    else:
        page = _page(decoded, rgb, None)
        yield page, f"--psm 6 {_BASE_CONFIG}"
        yield page, f"--psm 3 {_BASE_CONFIG}"


# Below this capital height (pixels) at working size, text is read from the full-size image instead.
_SMALL_TEXT = 15


def _page(decoded: _Decoded, region: np.ndarray, quad: np.ndarray | None) -> np.ndarray:
    """Dark text on white, straightened and cropped, at the text height Tesseract reads best.

    `region` is the working-size image of the screen (warped with `quad`) or of the whole frame.
    """
    found = _find_text(region)
    if found is None:
        # Nothing shaped like text: hand the page over as it is, Tesseract will say what it sees.
        return _text_on_white(region, _TARGET_TEXT_HEIGHT)
    height, box = found
    if height < _SMALL_TEXT and decoded.enlargement > 1.3:
        # Small text in a big photo: the working size lost the detail; go back to the full-size pixels.
        full = decoded.full()
        enlarged = _warp(full, quad * decoded.enlargement) if quad is not None else full
        factor = enlarged.shape[1] / region.shape[1]
        region, height, box = enlarged, height * factor, tuple(int(v * factor) for v in box)
    # Keep the text and a margin of a few lines around it; the rest only costs time.
    margin = int(height * 3)
    x0, y0, x1, y1 = box
    region = region[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin]
    scale = _TARGET_TEXT_HEIGHT / height
    pixels = region.shape[0] * region.shape[1] * scale * scale
    if pixels > _MAX_OCR_PIXELS:
        scale *= (_MAX_OCR_PIXELS / pixels) ** 0.5
    if abs(scale - 1) > 0.08:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=interpolation)
    text_height = height * scale
    page = _text_on_white(region, text_height)
    page = _remove_rules(page, text_height)
    page = _deskew(page, text_height)
    return _crop_to_text(page, text_height)


# --- finding the screen ---------------------------------------------------------------------------------


def _find_screen(rgb: np.ndarray) -> np.ndarray | None:
    """Corners (top-left, top-right, bottom-right, bottom-left) of the screen in a photo; None when no
    screen outline is found (a screenshot, or a screen whose edge does not stand out from its bezel)."""
    height, width = rgb.shape[:2]
    factor = min(1.0, _DETECT_SIZE / max(height, width))
    small = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else rgb
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(gray, 20, 60)
    # Close small gaps in the outline (glare, a cable in front of the bezel).
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8), iterations=2)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    # The quadrilateral's sides are checked against the edges with a few pixels' tolerance: the corners
    # of a simplified outline sit slightly off the true ones.
    near_edges = cv2.dilate(edges, np.ones((7, 7), np.uint8))
    image_area = small.shape[0] * small.shape[1]
    best = None
    best_area = 0.0
    for contour in contours:
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull)
        # A screen worth reading fills a good part of the frame but is not the frame itself.
        if area < 0.12 * image_area or area > 0.97 * image_area or area <= best_area:
            continue
        perimeter = cv2.arcLength(hull, True)
        quad = cv2.approxPolyDP(hull, 0.03 * perimeter, True)
        if len(quad) != 4 or not cv2.isContourConvex(quad):
            continue
        # The quadrilateral must fit the hull closely, or it is a blob (glare, a hand) and not a screen;
        # and each of its sides must run along an edge of the picture, or it is a hull that cuts across
        # the screen from a corner of the bezel to a patch of text.
        if cv2.contourArea(quad) < 0.9 * area or not _sides_on_edges(quad.reshape(4, 2), near_edges):
            continue
        best, best_area = quad.reshape(4, 2).astype(np.float32), area
    if best is None:
        return None
    corners = _order_corners(best / factor)
    width_out, height_out = _warp_size(corners)
    if width_out < 32 or height_out < 32:
        return None
    return corners


def _warp_size(corners: np.ndarray) -> tuple[int, int]:
    top = np.linalg.norm(corners[1] - corners[0])
    bottom = np.linalg.norm(corners[2] - corners[3])
    left = np.linalg.norm(corners[3] - corners[0])
    right = np.linalg.norm(corners[2] - corners[1])
    return int(max(top, bottom)), int(max(left, right))


def _warp(rgb: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The quadrilateral `corners` of `rgb` as an upright rectangle: undoes rotation and perspective."""
    width, height = _warp_size(corners)
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(
        rgb, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _sides_on_edges(quad: np.ndarray, edges: np.ndarray, *, support: float = 0.85) -> bool:
    """True when at least `support` of each side of `quad` lies on edge pixels."""
    height, width = edges.shape
    for index in range(4):
        start, end = quad[index].astype(np.float64), quad[(index + 1) % 4].astype(np.float64)
        steps = np.linspace(0.0, 1.0, 60)[:, None]
        points = np.rint(start + (end - start) * steps).astype(int)
        xs = np.clip(points[:, 0], 0, width - 1)
        ys = np.clip(points[:, 1], 0, height - 1)
        if np.count_nonzero(edges[ys, xs]) < support * len(points):
            return False
    return True


def _order_corners(points: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    sums = points.sum(axis=1)
    diffs = np.diff(points, axis=1).ravel()
    return np.array(
        [
            points[np.argmin(sums)],
            points[np.argmin(diffs)],
            points[np.argmax(sums)],
            points[np.argmax(diffs)],
        ],
        dtype=np.float32,
    )


# --- preparing the page ----------------------------------------------------------------------------------


def _text_mask(image: np.ndarray, window: int) -> np.ndarray:
    """Distance of each pixel from its local background colour, 0-255 (text bright), for an RGB or a
    grey image. The background is the median over `window` pixels: wider than a stroke, so letters
    vanish from it, and narrow enough to follow highlight bars, panels and glare."""
    height, width = image.shape[:2]
    # The median is taken on a reduced image so that the window stays a small, fast kernel.
    shrink = max(1, window // 9)
    small = cv2.resize(
        image, (max(1, width // shrink), max(1, height // shrink)), interpolation=cv2.INTER_AREA
    )
    kernel = max(3, (window // shrink) | 1)
    channels = cv2.split(small) if small.ndim == 3 else [small]
    background = [
        cv2.resize(cv2.medianBlur(channel, kernel), (width, height), interpolation=cv2.INTER_LINEAR)
        for channel in channels
    ]
    planes = cv2.split(image) if image.ndim == 3 else [image]
    distance = cv2.absdiff(planes[0], background[0])
    for plane, local in zip(planes[1:], background[1:]):
        distance = cv2.max(distance, cv2.absdiff(plane, local))
    return distance


def _find_text(rgb: np.ndarray) -> tuple[float, tuple[int, int, int, int]] | None:
    """The typical capital height of the text in `rgb` and the box (x0, y0, x1, y1) around all of it,
    from the connected components of a rough text mask; None when nothing looks like text."""
    height, width = rgb.shape[:2]
    factor = min(1.0, 1000 / max(height, width))
    small = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else rgb
    # A window of a twentieth of the screen is wide enough for the text of any screen worth reading.
    distance = _text_mask(small, max(15, max(small.shape[:2]) // 20))
    _, binary = cv2.threshold(distance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    characters = _characters(binary, stats)
    if len(characters) < 6:
        return None
    text_height = _dominant_height(characters[:, 3].astype(np.float64))
    # The box holds the characters of about the dominant size or bigger (titles); specks smaller than
    # that are as often noise as text.
    text = characters[characters[:, 3] >= 0.5 * text_height]
    box = (
        text[:, 0].min(),
        text[:, 1].min(),
        (text[:, 0] + text[:, 2]).max(),
        (text[:, 1] + text[:, 3]).max(),
    )
    return text_height / factor, tuple(int(v / factor) for v in box)


def _characters(binary: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """The (x, y, w, h) boxes of the components of `binary` that sit in a row with others, as characters
    of a word do, or that are as wide as a word themselves (blur runs letters together); bezel edges,
    icons and specks stand alone.

    Smearing the mask sideways joins the letters of a word into one blob; a component whose blob holds
    other components is text.
    """
    smeared = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 1)))
    _, groups, group_stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
    x, y, w, h, area = (stats[1:, i].astype(np.int64) for i in range(5))
    fill = area / np.maximum(w * h, 1)
    # Letters or words, not solid bars nor thin frames.
    plausible = (h >= 4) & (h <= binary.shape[0] / 8) & (w <= 40 * h) & (fill > 0.15) & (fill < 0.85)
    # Any pixel of a component lies inside its blob; the middle of its top row is one.
    group = groups[y, np.minimum(x + w // 2, binary.shape[1] - 1)]
    members = np.bincount(group[plausible], minlength=len(group_stats))
    in_row = (members[group] >= 2) | (w >= 2 * h)
    return stats[1:, :4][plausible & in_row]


def _dominant_height(heights: np.ndarray) -> float:
    """The capital height of the most common text size among character heights.

    Screens mix a few text sizes; the one most characters are written in is the one to scale for. Find
    the densest cluster (on a log scale, a ratio of 1.4 wide; ties go to the smaller size, as alarm lines
    are seldom the big title) and take an upper quantile within it: capitals and digits, not punctuation.
    """
    logs = np.log(heights)
    width = np.log(1.4)
    counts = [(np.count_nonzero(np.abs(logs - value) <= width / 2), -value) for value in np.unique(logs)]
    best = -max(counts)[1]
    cluster = heights[np.abs(logs - best) <= width / 2]
    return float(np.percentile(cluster, 80))


def _text_on_white(rgb: np.ndarray, text_height: float) -> np.ndarray:
    """Dark text on white at full contrast, whatever the colours and polarity of the screen."""
    window = int(text_height * 2.2) | 1
    distance = _text_mask(rgb, window)
    distance = _sharpen(distance, text_height)
    # Stretch so that the cores of the strokes are black, measured on the text pixels themselves (Otsu's
    # split) so that the share of the page the text covers does not matter. Blurred edges stay grey:
    # Tesseract's models read anti-aliased strokes far better than a black-and-white rendering of them,
    # and a local or non-linear stretch lost more than it won (measured on the corpus).
    split, _ = cv2.threshold(distance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    histogram = np.bincount(distance.ravel(), minlength=256)[int(split) + 1 :]
    if histogram.sum():
        top = int(split) + 1 + int(np.searchsorted(np.cumsum(histogram), 0.9 * histogram.sum()))
    else:
        top = int(distance.max())
    # The page's background is not flat in a photo: sensor noise and JPEG blocks put specks on it that
    # Tesseract reads as punctuation, and at times as whole lines of rubbish that swallow the text next
    # to them. Most of the page is background: the level under which nearly all of it lies is noise,
    # and is taken off every pixel, text included, so strokes keep their anti-aliased edges.
    background = distance[distance <= split]
    floor = int(min(0.6 * split, np.percentile(background, 95))) if background.size else 0
    top = max(top - floor, 1)
    distance = cv2.subtract(distance, floor)
    # 255 - distance * 255 / top, clipped at black.
    return cv2.convertScaleAbs(cv2.min(distance, top), alpha=-255.0 / top, beta=255.0)


# A sharp letter's edges rise from background to stroke over two to three pixels at Tesseract's text
# height (the enlargement's interpolation); a photo's over three to seven (focus, shake, the enlargement
# of a small screen). Unsharp masking from there on, at full strength from `_SHARPEN_RAMP` pixels more.
_SHARP_EDGE = 2.9
_SHARPEN_RAMP = 0.4
_SHARPEN_AMOUNT = 2.5
# The blur the masking takes away, in text heights.
_SHARPEN_SIGMA = 0.15


def _sharpen(distance: np.ndarray, text_height: float) -> np.ndarray:
    """`distance` with the edges of its strokes steepened when they are blurred.

    Blurred letters run together and lose their holes and serifs, and Tesseract then reads a B as an 8,
    an M as a W or nothing at all. Unsharp masking, scaled to how blurred the edges are, gives much of
    it back; sharp text, a screenshot's, is left as it is, as masking only adds halos to it.
    """
    blur = (_edge_width(distance) - _SHARP_EDGE) / _SHARPEN_RAMP
    amount = _SHARPEN_AMOUNT * min(1.0, max(0.0, blur))
    if amount <= 0:
        return distance
    blurred = cv2.GaussianBlur(distance, (0, 0), _SHARPEN_SIGMA * text_height)
    return cv2.addWeighted(distance, 1 + amount, blurred, -amount, 0)


def _edge_width(distance: np.ndarray) -> float:
    """How many pixels the edges of the strokes in `distance` take to rise from background to stroke:
    the strokes' contrast over the steepest gradients found halfway up their edges; 0 without text."""
    split, _ = cv2.threshold(distance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    text = distance[distance > split]
    if text.size < 50:
        return 0.0
    top = float(np.percentile(text, 90))
    halfway = (distance > 0.3 * top) & (distance < 0.7 * top)
    if np.count_nonzero(halfway) < 50:
        return 0.0
    # Sobel's 3x3 kernels weigh a step of one level by 8.
    gx = cv2.Sobel(distance, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(distance, cv2.CV_32F, 0, 1, ksize=3)
    steepest = float(np.percentile(cv2.magnitude(gx, gy)[halfway], 90)) / 8
    return top / max(steepest, 1e-3)


def _remove_rules(page: np.ndarray, text_height: float) -> np.ndarray:
    """Whiten the long straight lines of frames, table rules and highlight bars' edges, and solid blocks
    (a bar's rounded end, a cursor, an icon): Tesseract reads them as characters ("|", "_", "[", "W")
    glued to the first and last characters of a line, which is where alarm numbers are."""
    _, ink = cv2.threshold(page, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # No stroke of a letter is this long in one row or one column; runs of text are broken by the gaps
    # between letters.
    horizontal = cv2.morphologyEx(
        ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(8, int(text_height * 4)), 1))
    )
    vertical = cv2.morphologyEx(
        ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(8, int(text_height * 2))))
    )
    rules = cv2.bitwise_or(horizontal, vertical)
    # Solid blocks taller than a letter: a highlight bar's rounded end, a cursor, an icon. (A bold letter
    # blurred by the camera is solid too, but no taller than the text.)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    w, h, area = stats[:, 2], stats[:, 3], stats[:, 4]
    solid = (area > 0.85 * w * h) & (h > 1.25 * text_height) & (w > 0.3 * text_height)
    solid[0] = False
    if solid.any():
        rules = cv2.bitwise_or(rules, (solid[labels] * 255).astype(np.uint8))
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    cleaned = page.copy()
    cleaned[rules > 0] = 255
    return cleaned


def _deskew(page: np.ndarray, text_height: float) -> np.ndarray:
    """Rotate so that text lines are horizontal, from the angle of the line-shaped blobs."""
    _, binary = cv2.threshold(page, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    length = max(3, int(text_height * 1.2))
    lines = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    contours, _ = cv2.findContours(lines, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles, weights = [], []
    for contour in contours:
        _, (w, h), angle = cv2.minAreaRect(contour)
        if w < h:
            w, h = h, w
            angle -= 90
        # Only blobs shaped like a line of text: long, and about one text line high.
        if w < 4 * text_height or h > 2.5 * text_height or h < 0.4 * text_height:
            continue
        while angle > 45:
            angle -= 90
        while angle < -45:
            angle += 90
        angles.append(angle)
        weights.append(w)
    if len(angles) < 2:
        return page
    order = np.argsort(angles)
    cumulative = np.cumsum(np.array(weights)[order])
    angle = float(np.array(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    if abs(angle) < 0.4 or abs(angle) > 20:
        return page
    height, width = page.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    # Grow the canvas so that the corners, where a screen's first lines often sit, are not cut off.
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(height * sin + width * cos) + 1, int(height * cos + width * sin) + 1
    matrix[0, 2] += (new_width - width) / 2
    matrix[1, 2] += (new_height - height) / 2
    return cv2.warpAffine(page, matrix, (new_width, new_height), flags=cv2.INTER_LINEAR, borderValue=255)


def _crop_to_text(page: np.ndarray, text_height: float) -> np.ndarray:
    """Cut away the empty margins (and the bezel's edge) so Tesseract spends no time on them."""
    _, binary = cv2.threshold(page, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes = []
    for index in range(1, count):
        x, y, w, h, _ = stats[index]
        if 0.3 * text_height <= h <= 3 * text_height and w <= 6 * text_height:
            boxes.append((x, y, x + w, y + h))
    if not boxes:
        return page
    array = np.array(boxes)
    # The first character of a line is often the first of an alarm code: never cut into it.
    margin = int(text_height * 1.5)
    x0 = max(0, int(array[:, 0].min()) - margin)
    y0 = max(0, int(array[:, 1].min()) - margin)
    x1 = min(page.shape[1], int(array[:, 2].max()) + margin)
    y1 = min(page.shape[0], int(array[:, 3].max()) + margin)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return page
    return page[y0:y1, x0:x1]


# --- Tesseract -------------------------------------------------------------------------------------------


def _tesseract_lines(page: np.ndarray, *, config: str, timeout: float, command: str) -> list[_Line]:
    """Tesseract's reading of `page`, line by line with each line's box and confidence."""
    data = _tesseract(page, config=config, timeout=timeout, command=command)
    words: dict[tuple[int, int, int], list[int]] = {}
    for index, word in enumerate(data["text"]):
        if word.strip():
            key = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
            words.setdefault(key, []).append(index)
    lines = []
    for indices in words.values():
        left = [data["left"][i] for i in indices]
        right = [data["left"][i] + data["width"][i] for i in indices]
        # The line's height from its typical word, not from all of them: a frame edge or a speck read as
        # "|" or "]" would stretch the box over the neighbouring lines.
        middle = float(np.median([data["top"][i] + data["height"][i] / 2 for i in indices]))
        half = float(np.median([data["height"][i] for i in indices])) / 2
        confidences = [float(data["conf"][i]) for i in indices if any(ch.isdigit() for ch in data["text"][i])]
        lines.append(
            _Line(
                text=" ".join(data["text"][i].strip() for i in indices),
                box=(min(left), int(middle - half), max(right), int(middle + half)),
                weakest=min(confidences, default=100.0),
            )
        )
    return lines


def _tesseract(page: np.ndarray, *, config: str, timeout: float, command: str) -> dict[str, list]:
    """Tesseract's reading of `page` as TSV columns (`text`, `conf`, `left`, `top`, ...), within `timeout`.

    Tesseract is run here rather than through pytesseract, whose runner first asks the binary for its
    version with no time limit (a hung Tesseract then held the web request until the server killed it,
    and the report with it), exits the whole process on a version string it does not understand, and
    on a timeout kills only the process it started. Here every run is bounded, the first one included,
    and a timeout or any other way out kills the whole process group, so nothing is left running.
    """
    executable = shutil.which(command)
    if executable is None:
        raise OcrUnavailable(f"Tesseract is not installed (no {command!r} on this machine)")
    if timeout <= 0:
        raise OcrTimeout("no time left to run Tesseract")
    with tempfile.TemporaryDirectory(prefix="logbook-ocr-") as folder:
        # BMP costs nothing to write, where PNG would compress a megapixel page first.
        image = os.path.join(folder, "page.bmp")
        cv2.imwrite(image, page)
        args = [executable, image, "stdout", "-l", "eng", *shlex.split(config), "tsv"]
        # With OpenMP's default of one thread per core, its threads fight over two cores and a read takes
        # five times longer.
        environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=environment, start_new_session=True)
        except OSError as error:
            raise OcrUnavailable(f"Tesseract could not be started: {error}") from error
        try:
            output, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise OcrTimeout(f"Tesseract took longer than {timeout:.1f} s") from None
        except BaseException:
            _kill(process)
            raise
    if process.returncode != 0:
        message = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        raise OcrUnavailable(f"Tesseract failed: {message[0][:200]}")
    return _tsv_columns(output.decode("utf-8", "replace"))


def _kill(process: subprocess.Popen) -> None:
    """Kill Tesseract and anything it started (its session), and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    finally:
        for pipe in (process.stdout, process.stderr):
            if pipe:
                pipe.close()


_TSV_NUMBERS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top", "width",
                "height")


def _tsv_columns(tsv: str) -> dict[str, list]:
    """Tesseract's TSV as lists per column; anything that is not its TSV raises OcrUnavailable."""
    rows = [row.split("\t") for row in tsv.splitlines() if row.strip()]
    if not rows or rows[0][: len(_TSV_NUMBERS)] != list(_TSV_NUMBERS) or rows[0][-2:] != ["conf", "text"]:
        raise OcrUnavailable("Tesseract's output was not the word table it was asked for")
    columns: dict[str, list] = {name: [] for name in (*_TSV_NUMBERS, "conf", "text")}
    for row in rows[1:]:
        if len(row) < len(_TSV_NUMBERS) + 1:
            continue
        try:
            numbers = [int(value) for value in row[: len(_TSV_NUMBERS)]]
            confidence = float(row[len(_TSV_NUMBERS)])
        except ValueError:
            continue
        for name, value in zip(_TSV_NUMBERS, numbers):
            columns[name].append(value)
        columns["conf"].append(confidence)
        # A word may itself hold a tab only in theory; keep whatever follows the confidence.
        columns["text"].append("\t".join(row[len(_TSV_NUMBERS) + 1:]))
    return columns
