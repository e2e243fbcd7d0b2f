"""
Reading alarm codes from photos of controller screens: a library of plain functions over images and
text, with no models and nothing of Django but two settings (TESSERACT_CMD, OCR_TIMEOUT_SECONDS).

- `reading.py`: a photo or screenshot to its text and codes (`read_image`), the only place that runs
  Tesseract, and the loop of a reading process of its own (`serve_readings`).
- `alarm_codes.py`: the alarm codes of each controller make in a text (`extract_alarm_codes`), the
  one normal form of a code, typed or read (`normalise_code`), and the one reading of an alarm-code field
  as a person typed it (`parse_typed_codes`).
"""

from floor.ocr.alarm_codes import (
    MAX_CODE_LENGTH,
    AlarmCode,
    TypedCodes,
    extract_alarm_codes,
    mentions_alarms,
    normalise_code,
    parse_typed_codes,
)
from floor.ocr.reading import (
    OcrError,
    OcrResult,
    OcrTimeout,
    OcrUnavailable,
    UnreadableImage,
    decode_small,
    read_image,
    serve_readings,
    too_many_pixels,
)

__all__ = [
    "MAX_CODE_LENGTH", "AlarmCode", "OcrError", "OcrResult", "OcrTimeout", "OcrUnavailable", "TypedCodes",
    "UnreadableImage", "decode_small", "extract_alarm_codes", "mentions_alarms", "normalise_code",
    "parse_typed_codes", "read_image", "serve_readings", "too_many_pixels",
]
