"""Benchmark of the OCR pipeline on the synthetic corpus (`make bench-ocr`, or
`python -m tests.bench.ocr [--seed N] [--per-family N] [--negatives N] [--kinds photo] [--show-misses]`).

Prints, per family and kind: the share of images whose code set was read exactly, recall and precision
of codes, false positives on negatives (screens without an alarm), and median and 95th-percentile
seconds per image. The seed used by the tests is not the benchmark's default, so the benchmark measures
screens the tests never saw.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import defaultdict

import django


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "logbook_site.settings")
    django.setup()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; the exit status is 0 unless the corpus could not be read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--per-family", type=int, default=10, help="alarm screens per family and kind")
    parser.add_argument("--negatives", type=int, default=15, help="screens without an alarm per kind")
    parser.add_argument(
        "--kinds", nargs="+", default=["screenshot", "photo"], choices=["screenshot", "photo"]
    )
    parser.add_argument("--show-misses", action="store_true", help="print each image whose codes differ")
    args = parser.parse_args(argv)

    _setup_django()
    from floor.ocr import OcrError, read_image
    from tests.ocr_corpus import generate

    rows: dict[tuple[str, str], dict] = defaultdict(
        lambda: {
            "images": 0,
            "exact": 0,
            "expected": 0,
            "found": 0,
            "right": 0,
            "fp_images": 0,
            "seconds": [],
        }
    )
    started = time.monotonic()
    for sample in generate(args.seed, per_family=args.per_family, negatives=args.negatives, kinds=args.kinds):
        try:
            result = read_image(sample.data)
            found = {code.code for code in result.alarm_codes}
            seconds = result.seconds
        except OcrError as error:
            print(f"{sample.name}: {type(error).__name__}: {error}", file=sys.stderr)
            found, seconds = set(), float("nan")
        for key in ((sample.family, sample.kind), ("ALL", sample.kind)):
            row = rows[key]
            row["images"] += 1
            row["exact"] += found == set(sample.codes)
            row["expected"] += len(sample.codes)
            row["found"] += len(found)
            row["right"] += len(found & sample.codes)
            row["fp_images"] += bool(sample.negative and found)
            row["seconds"].append(seconds)
        if args.show_misses and found != set(sample.codes):
            print(
                f"MISS {sample.name}: expected {sorted(sample.codes)} found {sorted(found)}", file=sys.stderr
            )

    header = (
        f"{'family':<11} {'kind':<10} {'n':>3} {'exact':>6} {'recall':>6} {'prec':>6} {'neg FP':>6} "
        f"{'med s':>6} {'p95 s':>6}"
    )
    print(header)
    print("-" * len(header))
    order = ["fanuc", "siemens", "haas", "okuma", "mitsubishi", "heidenhain", "generic", "negative", "ALL"]
    for kind in args.kinds:
        for family in order:
            row = rows.get((family, kind))
            if not row:
                continue
            recall = row["right"] / row["expected"] if row["expected"] else float("nan")
            precision = row["right"] / row["found"] if row["found"] else float("nan")
            negatives = f"{row['fp_images']}" if family in ("negative", "ALL") else "-"
            seconds = [s for s in row["seconds"] if not math.isnan(s)]
            print(
                f"{family:<11} {kind:<10} {row['images']:>3} {row['exact'] / row['images']:>6.2f} "
                f"{recall:>6.2f} {precision:>6.2f} {negatives:>6} "
                f"{statistics.median(seconds) if seconds else float('nan'):>6.2f} "
                f"{_percentile(seconds, 0.95):>6.2f}"
            )
    print(
        f"\n{sum(rows[('ALL', k)]['images'] for k in args.kinds)} images, seed {args.seed}, "
        f"{time.monotonic() - started:.0f} s in all (corpus generation included)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
