"""The OCR pipeline with the real Tesseract: inputs it accepts, errors it reports, the `ocr_image` command,
and a floor on a small synthetic corpus of controller screens (the full corpus is `make bench-ocr`)."""

import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from floor.ocr import OcrResult, OcrTimeout, OcrUnavailable, UnreadableImage, read_image
from floor.ocr.reading import _edge_width, _sharpen
from tests import ocr_corpus

# A seed the benchmark does not use, so the benchmark's figures are on screens the tests never tuned for.
TEST_SEED = 11


def _screen(lines, *, size=(800, 480), background="black", colour="white", font_size=28):
    """A plain controller screen with `lines` of text, as PNG bytes."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    font = ocr_corpus._font(next(iter(ocr_corpus.available_fonts()), None), font_size)
    for index, line in enumerate(lines):
        draw.text((30, 30 + index * int(font_size * 1.6)), line, font=font, fill=colour)
    return _png(image)


def _png(image, **save_options):
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **save_options)
    return buffer.getvalue()


ALARM_SCREEN_LINES = ["ALARM MESSAGE", "SV0401 V READY OFF", "X 123.456", "F1200 S8000 T0101"]


@pytest.fixture(scope="module")
def alarm_screen():
    return _screen(ALARM_SCREEN_LINES)


def _codes(result: OcrResult):
    return [code.code for code in result.alarm_codes]


# --- inputs -----------------------------------------------------------------------------------------------


def test_light_text_on_dark_screen_is_read_with_its_alarm_code(alarm_screen):
    result = read_image(alarm_screen)

    assert _codes(result) == ["SV0401"]
    assert result.alarm_codes[0].family == "fanuc"
    assert "SV0401" in result.alarm_codes[0].line
    assert "READY" in result.text
    assert result.seconds > 0


def test_dark_text_on_light_screen_is_read_with_its_alarm_code():
    screen = _screen(
        ["Alarm list", "25000 Axis X1 hardware fault of active encoder"],
        background=(225, 230, 235),
        colour=(10, 10, 60),
    )

    assert _codes(read_image(screen)) == ["25000"]


def test_path_bytes_and_file_object_give_the_same_codes(alarm_screen, tmp_path):
    path = tmp_path / "screen.png"
    path.write_bytes(alarm_screen)

    from_path = read_image(path)
    from_string_path = read_image(str(path))
    from_bytes = read_image(alarm_screen)
    with path.open("rb") as file:
        from_file = read_image(file)

    assert (
        _codes(from_path) == _codes(from_string_path) == _codes(from_bytes) == _codes(from_file) == ["SV0401"]
    )


def test_photo_stored_sideways_is_turned_upright_from_its_exif_orientation():
    upright = Image.open(io.BytesIO(_screen(ALARM_SCREEN_LINES)))
    # A tablet held in portrait stores the pixels turned and says so in EXIF tag 0x0112 (6: rotate 90 CW).
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    sideways.save(buffer, "JPEG", quality=95, exif=exif)

    assert _codes(read_image(buffer.getvalue())) == ["SV0401"]


def _stroke_map(*, blur: float):
    """Text bright on black at about Tesseract's text height, as the page's distance map has it."""
    image = Image.new("L", (900, 120), 0)
    font = ocr_corpus._font(next(iter(ocr_corpus.available_fonts()), None), 42)
    ImageDraw.Draw(image).text((20, 30), "SV0401 SERVO 25000", font=font, fill=230)
    strokes = np.asarray(image)
    return cv2.GaussianBlur(strokes, (0, 0), blur) if blur else strokes.copy()


def test_sharp_text_is_not_sharpened():
    sharp = _stroke_map(blur=0)

    assert _edge_width(sharp) < 2.9
    assert (_sharpen(sharp, 30) == sharp).all()


def test_blurred_text_gets_steeper_edges():
    blurred = _stroke_map(blur=2.5)

    assert _edge_width(blurred) > 3.3
    assert _edge_width(_sharpen(blurred, 30)) < 0.8 * _edge_width(blurred)


def test_transparent_screenshot_is_read_on_white():
    image = Image.new("RGBA", (700, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    font = ocr_corpus._font(next(iter(ocr_corpus.available_fonts()), None), 30)
    draw.text((20, 30), "ALARM: 1234 DOOR OPEN", font=font, fill=(0, 0, 0, 255))

    assert _codes(read_image(_png(image))) == ["1234"]


def test_screen_without_alarm_gives_text_and_no_code():
    result = read_image(_screen(["POSITION", "X 123.456", "Y -45.000", "PART COUNT 125", "O1234 N00120"]))

    assert result.alarm_codes == []
    assert "123.456" in result.text


def test_blank_image_gives_no_text_and_no_code():
    result = read_image(_png(Image.new("RGB", (640, 480), "white")))

    assert result.alarm_codes == []
    assert result.text.strip() == ""


# --- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [b"", b"this is not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, None, 42],
    ids=["empty", "text", "broken-png", "none", "number"],
)
def test_input_that_is_not_an_image_raises_unreadable_image(source):
    with pytest.raises(UnreadableImage):
        read_image(source)


def test_truncated_jpeg_raises_unreadable_image(alarm_screen):
    buffer = io.BytesIO()
    Image.open(io.BytesIO(alarm_screen)).save(buffer, "JPEG")

    with pytest.raises(UnreadableImage):
        read_image(buffer.getvalue()[:300])


def test_missing_file_raises_unreadable_image(tmp_path):
    with pytest.raises(UnreadableImage):
        read_image(tmp_path / "nowhere.jpg")


def test_missing_tesseract_raises_ocr_unavailable(alarm_screen, settings):
    settings.TESSERACT_CMD = "/nonexistent/tesseract"

    with pytest.raises(OcrUnavailable):
        read_image(alarm_screen)


def test_no_time_left_raises_ocr_timeout(alarm_screen):
    with pytest.raises(OcrTimeout):
        read_image(alarm_screen, timeout=0)


def test_budget_comes_from_settings_when_no_timeout_is_given(alarm_screen, settings):
    settings.OCR_TIMEOUT_SECONDS = 0

    with pytest.raises(OcrTimeout):
        read_image(alarm_screen)


def test_tesseract_runs_with_one_openmp_thread(alarm_screen, settings, tmp_path):
    # A wrapper in front of the real Tesseract notes the environment it was started with.
    seen = tmp_path / "omp.txt"
    wrapper = tmp_path / "tesseract"
    wrapper.write_text(f'#!/bin/sh\necho "$OMP_THREAD_LIMIT" > {seen}\nexec tesseract "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    settings.TESSERACT_CMD = str(wrapper)

    assert _codes(read_image(alarm_screen)) == ["SV0401"]
    assert seen.read_text().strip() == "1"


def _fake_tesseract(tmp_path, body):
    script = tmp_path / "tesseract"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def _running(marker):
    """Processes whose command line holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(entry)
        except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
            continue
    return found


def test_hung_tesseract_is_bounded_from_the_first_call_and_leaves_nothing_running(alarm_screen, settings,
                                                                                 tmp_path):
    # Hangs for every call, `--version` included, and starts a child of its own that would outlive it.
    marker = f"hung-{tmp_path.name}"
    settings.TESSERACT_CMD = _fake_tesseract(tmp_path, f'sleep 300 # {marker}\nsleep 300')

    started = time.monotonic()
    with pytest.raises(OcrTimeout):
        read_image(alarm_screen, timeout=1.5)
    assert time.monotonic() - started < 10
    time.sleep(0.2)
    assert _running(marker) == [] and _running("sleep 300") == []


def test_tesseract_that_answers_garbage_is_unavailable_not_a_crash(alarm_screen, settings, tmp_path):
    settings.TESSERACT_CMD = _fake_tesseract(tmp_path, 'echo "tesseract 99.banana"; echo "\x01\x02 nonsense"')

    with pytest.raises(OcrUnavailable, match="word table"):
        read_image(alarm_screen, timeout=5)


def test_tesseract_that_crashes_is_unavailable_with_its_last_words(alarm_screen, settings, tmp_path):
    settings.TESSERACT_CMD = _fake_tesseract(tmp_path, 'echo "Error: traineddata not found" >&2; exit 1')

    with pytest.raises(OcrUnavailable, match="traineddata not found"):
        read_image(alarm_screen, timeout=5)


# --- the command ------------------------------------------------------------------------------------------


def test_ocr_image_command_prints_one_json_line_per_file(alarm_screen, tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(alarm_screen)
    second.write_bytes(_screen(["POSITION", "X 1.000"]))
    out = io.StringIO()

    call_command("ocr_image", str(first), str(second), stdout=out)

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [record["file"] for record in records] == [str(first), str(second)]
    assert records[0]["alarm_codes"][0]["code"] == "SV0401"
    assert records[0]["alarm_codes"][0]["family"] == "fanuc"
    assert "SV0401" in records[0]["alarm_codes"][0]["line"]
    assert records[1]["alarm_codes"] == []
    assert all(isinstance(record["seconds"], float) and isinstance(record["text"], str) for record in records)


def test_ocr_image_command_reports_unreadable_file_in_its_json_and_fails(alarm_screen, tmp_path):
    good, bad = tmp_path / "good.png", tmp_path / "bad.jpg"
    good.write_bytes(alarm_screen)
    bad.write_bytes(b"not a picture")
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("ocr_image", str(bad), str(good), stdout=out)

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[0]["file"] == str(bad)
    assert records[0]["error_type"] == "UnreadableImage"
    assert records[1]["alarm_codes"][0]["code"] == "SV0401"


def test_ocr_image_command_exits_zero_when_every_file_was_read(alarm_screen, tmp_path):
    path = tmp_path / "screen.png"
    path.write_bytes(alarm_screen)
    completed = subprocess.run(
        [sys.executable, "manage.py", "ocr_image", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],  # the project folder
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["alarm_codes"][0]["code"] == "SV0401"


# --- the corpus floor -------------------------------------------------------------------------------------

# Floors on the small corpus below (the tuning part of the corpus, 14 alarm screens of each kind), one image
# below what the pipeline reads on it: 10 of 14 screenshots and 8 of 14 photos, where the seed's approach
# (raw Tesseract on the image, then "ALARM: 123" / "ERROR: 456") read almost none on the easier corpus
# before it. `make bench-ocr` measures the full corpus, and its held-out part, against the real targets.
SCREENSHOT_FLOOR = 9 / 14
PHOTO_FLOOR = 7 / 14


@pytest.fixture(scope="module")
def corpus_results():
    """Two screenshots and two 12 MP photos of every family, and a few screens without alarm of each kind:
    32 images, under a minute, where the benchmark's hundreds take several."""
    samples = [
        *ocr_corpus.generate(TEST_SEED, per_family=2, negatives=2, kinds=("screenshot",)),
        *ocr_corpus.generate(TEST_SEED + 1, per_family=2, negatives=2, kinds=("photo",)),
    ]
    # A generous budget: these tests assert what is read, never how fast (the suite may share the CPU).
    return [
        (sample, {code.code for code in read_image(sample.data, timeout=60).alarm_codes})
        for sample in samples
    ]


def _exact_rate(results, kind):
    alarm_screens = [(sample, found) for sample, found in results if sample.kind == kind and sample.codes]
    return sum(found == set(sample.codes) for sample, found in alarm_screens) / len(alarm_screens)


def _misses(results, kind):
    """(name, codes on the screen, codes read) of the alarm screens of `kind` not read exactly."""
    return [
        (sample.name, sorted(sample.codes), sorted(found))
        for sample, found in results
        if sample.kind == kind and sample.codes and found != set(sample.codes)
    ]


def test_corpus_screenshots_of_every_family_are_read_exactly(corpus_results):
    assert _exact_rate(corpus_results, "screenshot") >= SCREENSHOT_FLOOR, _misses(corpus_results, "screenshot")


def test_corpus_tablet_photos_are_read_well_above_the_seed_approach(corpus_results):
    assert _exact_rate(corpus_results, "photo") >= PHOTO_FLOOR, _misses(corpus_results, "photo")


def test_corpus_screens_without_alarm_give_no_code(corpus_results):
    false_positives = [
        (sample.name, sorted(found)) for sample, found in corpus_results if not sample.codes and found
    ]
    assert false_positives == []


def test_corpus_is_the_same_for_the_same_seed():
    first = [
        (sample.name, sample.codes, len(sample.data))
        for sample in ocr_corpus.generate(5, per_family=1, negatives=1, kinds=("screenshot",))
    ]
    again = [
        (sample.name, sample.codes, len(sample.data))
        for sample in ocr_corpus.generate(5, per_family=1, negatives=1, kinds=("screenshot",))
    ]
    assert first == again


def test_the_held_out_part_shares_no_font_and_no_layout_with_the_tuning_part():
    assert set(ocr_corpus.HELD_OUT.fonts).isdisjoint(ocr_corpus.TUNING.fonts)
    assert set(ocr_corpus.HELD_OUT.layouts).isdisjoint(ocr_corpus.TUNING.layouts)
    # Every font the parts name is installed, so neither part falls back to another part's fonts.
    assert ocr_corpus.available_fonts(ocr_corpus.HELD_OUT) == list(ocr_corpus.HELD_OUT.fonts)
    assert ocr_corpus.available_fonts(ocr_corpus.TUNING) == list(ocr_corpus.TUNING.fonts)
    samples = list(ocr_corpus.generate(3, per_family=1, negatives=2, kinds=("screenshot",), part="held-out"))
    assert {sample.layout for sample in samples} <= set(ocr_corpus.HELD_OUT.layouts)
    assert {sample.font for sample in samples}.isdisjoint(Path(font).stem for font in ocr_corpus.TUNING.fonts)
