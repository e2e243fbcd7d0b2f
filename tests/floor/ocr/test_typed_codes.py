"""What a person types into an alarm-code field, read one way: separators, codes written with spaces,
case, repeats, invisible characters and entries too long to be a code."""

import pytest

from floor.ocr import MAX_CODE_LENGTH, TypedCodes, extract_alarm_codes, normalise_code, parse_typed_codes


def codes(text):
    return list(parse_typed_codes(text).codes)


@pytest.mark.parametrize(
    "typed",
    ["SV0401, SV0436", "SV0401,SV0436", "SV0401; SV0436", "SV0401;SV0436", "SV0401\nSV0436", "SV0401\r\nSV0436",
     " SV0401 ,, ;\n SV0436 ,", "SV0401\u2028SV0436"],
)
def test_commas_semicolons_and_line_breaks_separate_codes(typed):
    assert codes(typed) == ["SV0401", "SV0436"]


@pytest.mark.parametrize(
    "typed, code",
    [
        ("SV 0401", "SV0401"),
        ("sv 0401", "SV0401"),
        ("SV  0401", "SV0401"),
        ("sv o401", "SV0401"),
        ("M01 0101", "M01 0101"),
        ("m01 0101", "M01 0101"),
        ("M010101", "M01 0101"),
        ("Z70   0004", "Z70 0004"),
        ("130 - 07e2", "130-07E2"),
        ("ALARM-B 2136", "2136"),
        ("2136 ALARM-B", "2136"),
        ("alarm: 123", "123"),
    ],
)
def test_a_code_written_with_spaces_is_one_code(typed, code):
    assert codes(typed) == [code]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("SV0401 SV0436", ["SV0401", "SV0436"]),
        ("SV 0401 SV 0436", ["SV0401", "SV0436"]),
        ("M01 0101 S01 0051", ["M01 0101", "S01 0051"]),
        ("SV0401 130-07E2 25000", ["SV0401", "130-07E2", "25000"]),
        ("40.4143 108", ["40.4143", "108"]),
    ],
)
def test_spaces_between_whole_codes_separate_them(typed, expected):
    assert codes(typed) == expected


@pytest.mark.parametrize(
    "typed, entry",
    [
        ("spindle drive fault", "SPINDLE DRIVE FAULT"),
        ("SV0401 again", "SV0401 AGAIN"),
        # Neither is two codes: a bare alarm number has three digits or more, and no leading zero but in
        # old Fanuc's three. Kept as typed, the operator sees the entry and can correct it.
        ("10 2024", "10 2024"),
        ("SV0401 0436", "SV0401 0436"),
    ],
)
def test_text_with_a_word_of_no_code_stays_one_entry(typed, entry):
    assert codes(typed) == [entry]


def test_lowercase_is_read_as_the_controller_shows_it():
    assert codes("sv0401, m01 0101, 130-07e2, alarm-b 2136") == ["SV0401", "M01 0101", "130-07E2", "2136"]


def test_each_code_is_kept_once_in_the_order_typed():
    assert codes("SV0436, sv 0401; SV0401\nsv0436, OT0500") == ["SV0436", "SV0401", "OT0500"]


@pytest.mark.parametrize(
    "typed",
    ["SV0401\x00", "\x00SV0401", "SV\x000401", "SV0401\x07", "\ufeffSV0401", "SV0401\u200b", "S\x1bV0401\x7f"],
)
def test_nul_and_other_invisible_characters_are_no_part_of_a_code(typed):
    assert codes(typed) == ["SV0401"]


@pytest.mark.parametrize("typed", ["", "   ", " , ; \n ", "\x00", "\x00, \x01", None])
def test_nothing_typed_gives_no_code(typed):
    assert parse_typed_codes(typed) == TypedCodes(codes=(), too_long=())


def test_an_entry_too_long_for_a_code_is_reported_apart():
    sentence = "spindle stopped after the tool change again"
    assert len(sentence) > MAX_CODE_LENGTH
    parsed = parse_typed_codes(f"SV0401, {sentence}; {sentence.upper()}, OT0500")
    assert parsed.codes == ("SV0401", "OT0500")
    assert parsed.too_long == (sentence.upper(),)


def test_the_longest_code_is_kept():
    assert codes("X" * MAX_CODE_LENGTH) == ["X" * MAX_CODE_LENGTH]
    assert parse_typed_codes("X" * (MAX_CODE_LENGTH + 1)).too_long == ("X" * (MAX_CODE_LENGTH + 1),)


def test_length_counts_after_normalising():
    # Spaces collapse and invisible characters go before the length is measured.
    padded = "SV" + " " * 60 + "0401"
    assert codes(padded) == ["SV0401"]


@pytest.mark.parametrize("typed", [401, "🙂 sv", "a " * 5_000, "x" * 10_000, "\ud800"])
def test_parse_typed_codes_never_raises(typed):
    assert isinstance(parse_typed_codes(typed), TypedCodes)


@pytest.mark.parametrize(
    "screen",
    ["SV0401 V READY OFF", "ALARM-B 2136 Overcurrent", "M01 0101 Servo alarm", "130-07E2 Error", "40.4143 ALARM"],
)
def test_a_code_read_from_a_photo_reads_back_as_itself(screen):
    """The code buttons put a code read from a photo into the field: typed back, it is the same code."""
    found = [c.code for c in extract_alarm_codes(screen)]
    assert found
    assert codes(", ".join(found)) == found
    assert all(normalise_code(code) == code for code in found)
