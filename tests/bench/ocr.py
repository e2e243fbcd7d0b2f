"""Benchmark of the OCR pipeline on the synthetic corpus (`make bench-ocr`, or
`python -m tests.bench.ocr [--part tuning|held-out ...] [--seeds N ...] [--per-family N] [--negatives N]
[--kinds photo] [--scaled] [--show-misses]`).

The corpus has two parts that share no font and no screen layout (`tests/ocr_corpus.py`): the tuning
part, whose fonts and layouts the pipeline was tuned on, and the held-out part, whose fonts and layouts
were never looked at while tuning. The held-out figure is the one that counts; the tuning figure shows
how much the pipeline is fitted to what it saw. The seeds are not the tests' either.

Prints, per part, kind and family: the share of images whose code set was read exactly, recall and
precision of codes, images of screens without an alarm on which a code was read, and median and
95th-percentile seconds per image; then the same by layout and by photo condition; and the peak
resident memory of a reading process (as the app runs one) and of Tesseract on the largest page.

With --scaled, every photo is also read as the tablet sends it (static/js/app.js: turned upright, long side
2400 px, JPEG at quality 0.9), as the kind "photo-2400", to show that scaling down costs no accuracy.
"""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing
import os
import subprocess
import tempfile
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import django
from PIL import Image, ImageOps

# As static/js/app.js scales a photo before it is uploaded.
TABLET_LONG_SIDE = 2400
TABLET_JPEG_QUALITY = 90


def scaled_like_the_tablet(data: bytes) -> bytes:
    """The photo as the tablet uploads it: upright, its long side at most TABLET_LONG_SIDE, a JPEG."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    factor = TABLET_LONG_SIDE / max(image.size)
    if factor < 1:
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=TABLET_JPEG_QUALITY)
    return out.getvalue()


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "logbook_site.settings")
    django.setup()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _new_row() -> dict:
    return {"images": 0, "exact": 0, "expected": 0, "found": 0, "right": 0, "negatives": 0, "fp": 0, "seconds": []}


def _print_table(title: str, rows: dict, keys: list[tuple[str, str]]) -> None:
    header = (
        f"{title:<14} {'kind':<10} {'n':>4} {'exact':>6} {'recall':>6} {'prec':>6} {'neg FP':>7} "
        f"{'med s':>6} {'p95 s':>6}"
    )
    print(header)
    print("-" * len(header))
    for label, kind in keys:
        row = rows.get((label, kind))
        if not row:
            continue
        recall = row["right"] / row["expected"] if row["expected"] else float("nan")
        precision = row["right"] / row["found"] if row["found"] else float("nan")
        negatives = f"{row['fp']}/{row['negatives']}" if row["negatives"] else "-"
        seconds = [s for s in row["seconds"] if not math.isnan(s)]
        print(
            f"{label:<14} {kind:<10} {row['images']:>4} {row['exact'] / row['images']:>6.2f} "
            f"{recall:>6.2f} {precision:>6.2f} {negatives:>7} "
            f"{statistics.median(seconds) if seconds else float('nan'):>6.2f} {_percentile(seconds, 0.95):>6.2f}"
        )
    print()


def _reading_process_peak(images: list[bytes]) -> float:
    """Peak resident memory (MB) of a fresh process that reads `images`, as the app's reading process
    does: Python, Django, OpenCV and the decoded photos, Tesseract's runs apart."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_read_all, (images,))


def _read_all(images: list[bytes]) -> float:
    _setup_django()
    from floor.ocr import OcrError, read_image

    for data in images:
        try:
            read_image(data, timeout=30)
        except OcrError:
            pass
    # The high-water mark of this process's own memory: ru_maxrss would count its parent's as well, which
    # it had at the moment it was started.
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


# A small parent for one Tesseract run: a child's peak memory counts its parent's at the time it was
# started, so Tesseract is measured from a process of a few megabytes.
_MEASURE_CHILD = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _tesseract_peak(images: list[bytes]) -> float:
    """Peak resident memory (MB) of Tesseract reading the largest page the pipeline makes of `images`."""
    from floor.ocr import reading

    pages = []
    for data in images:
        try:
            pages += [page for page, _ in reading._passes(reading._Decoded(data))]
        except reading.OcrError:
            continue
    if not pages:
        return float("nan")
    largest = max(pages, key=lambda page: page.size)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "page.bmp")
        cv2.imwrite(path, largest)
        command = [sys.executable, "-S", "-c", _MEASURE_CHILD, "tesseract", path, "stdout", "--psm", "6"]
        completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    return int(completed.stdout.strip() or 0) / 1024


def _with_scaled(readings):
    """Each reading, and after each photo the same photo scaled down as the tablet sends it."""
    for sample, kind, data in readings:
        yield sample, kind, data
        if kind == "photo":
            yield sample, "photo-2400", scaled_like_the_tablet(data)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables; the exit status is 0 unless the corpus could not be read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", nargs="+", default=["tuning", "held-out"], choices=["tuning", "held-out"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026])
    parser.add_argument("--per-family", type=int, default=10, help="alarm screens per family, kind and seed")
    parser.add_argument("--negatives", type=int, default=15, help="screens without an alarm per kind and seed")
    parser.add_argument("--kinds", nargs="+", default=["screenshot", "photo"], choices=["screenshot", "photo"])
    parser.add_argument("--scaled", action="store_true",
                        help="also read every photo as the tablet uploads it, scaled down (kind photo-2400)")
    parser.add_argument("--show-misses", action="store_true", help="print each image whose codes differ")
    args = parser.parse_args(argv)

    _setup_django()
    from floor.ocr import OcrError, read_image
    from tests.ocr_corpus import FAMILIES, PARTS, generate

    started = time.monotonic()
    photos: list[bytes] = []
    for part_name in args.part:
        part = PARTS[part_name]
        by_family: dict[tuple[str, str], dict] = defaultdict(_new_row)
        by_layout: dict[tuple[str, str], dict] = defaultdict(_new_row)
        by_condition: dict[tuple[str, str], dict] = defaultdict(_new_row)
        for seed in args.seeds:
            samples = generate(
                seed, per_family=args.per_family, negatives=args.negatives, kinds=args.kinds, part=part
            )
            readings = ((sample, sample.kind, sample.data) for sample in samples)
            if args.scaled:
                readings = _with_scaled(readings)
            for sample, kind, data in readings:
                if kind == "photo" and len(photos) < 20:
                    photos.append(data)
                try:
                    result = read_image(data)
                    found = {code.code for code in result.alarm_codes}
                    seconds = result.seconds
                except OcrError as error:
                    print(f"{sample.name}: {type(error).__name__}: {error}", file=sys.stderr)
                    found, seconds = set(), float("nan")
                keys = [(by_family, sample.family), (by_family, "ALL"), (by_layout, sample.layout)]
                keys += [(by_condition, condition) for condition in sample.conditions or ("plain",)]
                for table, label in keys:
                    row = table[(label, kind)]
                    row["images"] += 1
                    row["exact"] += found == set(sample.codes)
                    row["expected"] += len(sample.codes)
                    row["found"] += len(found)
                    row["right"] += len(found & sample.codes)
                    row["negatives"] += sample.negative
                    row["fp"] += bool(sample.negative and found)
                    row["seconds"].append(seconds)
                if args.show_misses and found != set(sample.codes):
                    print(
                        f"MISS {sample.name} {kind} seed {seed} ({sample.layout}, {sample.font}, "
                        f"{','.join(sample.conditions) or 'plain'}): expected {sorted(sample.codes)} "
                        f"found {sorted(found)}",
                        file=sys.stderr,
                    )
        if part.name == "held-out":
            heading = "HELD-OUT part: fonts and layouts never used while tuning (the figure that counts)"
        else:
            heading = "TUNING part: the fonts and layouts the pipeline was tuned on"
        print(f"=== {heading}")
        print(f"    layouts: {', '.join(part.layouts)}")
        print(f"    fonts: {', '.join(os.path.basename(path).rsplit('.', 1)[0] for path in part.fonts)}\n")
        families = [*FAMILIES, "negative", "ALL"]
        kinds = [*args.kinds, *(["photo-2400"] if args.scaled and "photo" in args.kinds else [])]
        _print_table("family", by_family, [(family, kind) for kind in kinds for family in families])
        _print_table("layout", by_layout, [(layout, kind) for kind in kinds for layout in part.layouts])
        conditions = ["plain", "cut-off", "glare", "moire", "low-light", "dirty"]
        photo_kinds = [kind for kind in kinds if kind.startswith("photo")]
        _print_table("photo cond.", by_condition,
                     [(condition, kind) for kind in photo_kinds for condition in conditions])

    if photos:
        print(
            f"peak resident memory: a reading process {_reading_process_peak(photos):.0f} MB over "
            f"{len(photos)} photos; Tesseract on the largest of their pages {_tesseract_peak(photos):.0f} MB"
        )
    seeds = " ".join(map(str, args.seeds))
    print(f"seeds {seeds}, {time.monotonic() - started:.0f} s in all (corpus generation included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
