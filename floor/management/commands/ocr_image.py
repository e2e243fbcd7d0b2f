"""`python manage.py ocr_image FILE [FILE ...]`: read photos of controller screens as the upload preview
does, printing one JSON object per line:

    {"file": "x.jpg", "text": "...", "alarm_codes": [{"code": "SV0401", "family": "fanuc", "line": "..."}],
     "seconds": 0.31}

A file that cannot be read gets {"file": ..., "error": "...", "error_type": "UnreadableImage", ...} and the
command goes on with the next; it exits 0 only when every file was read. Without a runnable Tesseract
it stops at once, as no file could be read.
"""

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from floor.ocr import OcrError, OcrUnavailable, read_image


class Command(BaseCommand):
    help = "Read the text and alarm codes of photos or screenshots of CNC controller screens (JSON lines)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="image files (JPEG, PNG, ...)")
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            help="seconds allowed per file (default: the OCR_TIMEOUT_SECONDS setting)",
        )

    def handle(self, *args, files, timeout, **options):
        failed = 0
        for path in files:
            try:
                result = read_image(path, timeout=timeout)
            except OcrUnavailable as error:
                raise CommandError(f"OCR is not available: {error}") from error
            except OcrError as error:
                failed += 1
                record = {
                    "file": path,
                    "text": "",
                    "alarm_codes": [],
                    "seconds": None,
                    "error": str(error),
                    "error_type": type(error).__name__,
                }
            else:
                record = {
                    "file": path,
                    "text": result.text,
                    "alarm_codes": [asdict(code) for code in result.alarm_codes],
                    "seconds": result.seconds,
                }
            self.stdout.write(json.dumps(record, ensure_ascii=False))
        if failed:
            raise CommandError(f"{failed} of {len(files)} files could not be read", returncode=1)
