"""Alarm codes of CNC controllers, found in OCR text or typed by a person.

Pure functions, no Django: the OCR pipeline (`floor/ocr/reading.py`), forms and reports all call them. What
a person types into an alarm-code field is read by `parse_typed_codes` alone, wherever it is read.

A code is kept in the form the controller shows it, uppercased, with inner whitespace collapsed to one
space: Fanuc `SV0401`, Siemens `25000`, Haas `108` or `40.4143`, Okuma `2136`, Mitsubishi `M01 0101`,
Heidenhain `130-07E2`, and the generic `ALARM: 123` of older or unknown controls as `123`.

OCR text of a photographed screen is noisy, so the patterns repair the confusions Tesseract makes on
these fonts (O for 0, I or l for 1, a space inside a code) only where the surrounding shape leaves no
doubt. Bare numbers (Siemens, Haas, old Fanuc) are the dangerous ones: a screen is full of numbers
(positions, feeds, counters, dates). They are taken only at the start of a line that reads like an alarm
line (the number followed by a message in words), and short ones only on a screen that talks about
alarms at all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FAMILIES = ("fanuc", "siemens", "haas", "okuma", "mitsubishi", "heidenhain", "generic")

# Fanuc 0i-D/0i-F/30i alarm classes as printed before the four-digit number.
FANUC_CLASSES = frozenset(
    {"SW", "PW", "IO", "PS", "OT", "OH", "SV", "SR", "MC", "SP", "DS", "IE", "BG", "SN", "EX", "PC"}
)


@dataclass(frozen=True)
class AlarmCode:
    """One alarm code found in a text: the normalised `code`, its controller `family`, and the
    (whitespace-collapsed) `line` it was read from, so a person can check it against the photo."""

    code: str
    family: str
    line: str


# --- character repairs ---------------------------------------------------------------------------------

# Where a digit must stand, Tesseract reads these letters for the digits of screen fonts.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1"})
# Where a letter of a Fanuc class must stand, these digits are the letters they were misread from.
_LETTER_LOOKALIKES = str.maketrans({"5": "S", "$": "S", "0": "O", "1": "I", "8": "B", "J": "I", "Q": "O"})

_SPACES = re.compile(r"\s+")

# Controller fonts draw a slashed or dotted zero, which Tesseract's English model reads as one of these
# (and a blurred E as a euro sign). None of them has any other meaning on a controller screen.
# Only within a word: standing alone, the same symbols are what OCR makes of a marker in front of an alarm
# line (Sinumerik's alarm square, a bullet, a warning icon), and a marker is not a digit.
_SLASHED_ZERO = str.maketrans({"@": "0", "Ø": "0", "ø": "0", "Θ": "0", "θ": "0", "®": "0", "€": "E"})
_IN_A_WORD = re.compile(r"(?<=[0-9A-Za-z])[@ØøΘθ®€]+|[@ØøΘθ®€]+(?=[0-9A-Za-z])")


def _slashed_zeros(line: str) -> str:
    return _IN_A_WORD.sub(lambda match: match.group().translate(_SLASHED_ZERO), line)


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _repair_digits(text: str) -> str:
    return text.translate(_DIGIT_LOOKALIKES)


# --- patterns -------------------------------------------------------------------------------------------

# No letter or digit may touch a code on either side: "ASV0401" or "SV04011" is something else.
_B = r"(?<![A-Za-z0-9])"
_E = r"(?![A-Za-z0-9])"

# Okuma OSP shows the class after the word ALARM ("ALARM-B 2136") or after the number ("2136 ALARM-B").
# OCR reads the dash as "E", "Z", "=" or "?" and the M as "W" or "N" at times, the L as a U or an I:
# "ALARMED 4657", "ALARW-D 4657", "ALARNZA 1312", "AUARM=A 1899"; the space after the number as a full
# stop: "2860.ALARM-B"; and a highlight bar's rounded end as a letter glued in front: "TALARNZA 1312".
_OKUMA_ALARM = r"A[LUI]AR[MNW](?:\s?[-EZ=?~]\s?|\s)([ABCDP])"
_OKUMA_BEFORE = re.compile(
    r"(?<![A-Za-z0-9])(?:[^\sA-Za-z0-9]|[A-Za-z](?=A[LUI]AR))?" + _OKUMA_ALARM + r"\s*[:\-]?\s*(\d{4})" + _E
)
_OKUMA_AFTER = re.compile(_B + r"(\d{4})[\s.,]+" + _OKUMA_ALARM + _E)

# Heidenhain TNC: three digits, a dash, four hex digits ("130-07E2"); OCR may read the dash as a colon or
# a tilde. A further dash, slash or colon next to it would make it a date, a time or a part number, and
# a full stop with a digit beyond it a decimal; a full stop between words is OCR's reading of a space
# ("Fehler.838-BBCB.Puerta").
_HEIDENHAIN = re.compile(
    r"(?<![A-Z0-9\-/:])(?<!\d\.)([0-9A-F]{3})(?:\s?-\s?|\s?[:~]\s?)([0-9A-FOQl]{4})"
    r"(?![A-Za-z0-9\-/:])(?!\.\d)"
)

# Mitsubishi M70/M80/M800: class letter, two digits, four digits ("M01 0101", "S01 0051", "Z70 0004").
# OCR may drop the space; a lone "S01" or "T0101" (spindle, tool) has no four digits after it.
# The group's zero is read as a capital or a small o or a Q at times ("To2 0059", "TQ1 0333"), the class
# letter in lower case ("yO3 0255"), and a marker in front of the line as a digit glued to the class
# letter ("7Z55 0040").
_MITSUBISHI = re.compile(
    r"(?<![A-Za-z])(?<![A-Za-z]\d)([MSZTYRLUV$]|[msztyv](?=[0-9OoQ]{2}\s?[0-9O]{4}))"
    r"([0-9OoQ]{2})(\s?|\s?['’°`´]\s?)([0-9O]{4})" + _E
)

# Fanuc: two-letter class and four digits. Digits may be misread as letters and the class as digits.
_FANUC_CANDIDATE = re.compile(r"(?<![A-Za-z0-9$])([A-Z0-9$]{2})(\s?)([0-9OQIl|]{4})" + _E)

# "ALARM: 123", "ALARM 123", "ERROR: 456", "ERR-456", "ALM 123": the old system's formats, kept for
# controls we do not know by make. A single digit after "ALARM" is more often a misread letter or a
# counter than a code, so codes have two digits or more; a dash after the number makes it the head of a
# longer code ("Error 300-DE5B", a Heidenhain code whose tail was misread), not a code of its own.
# On a highlighted row OCR runs the words together and reads the space after the keyword as punctuation
# ("ALARM:.3043", "ALARM"4989", "ERR-'2938"), the L of ALARM as a U or an I, the M as an N, and the
# bar's rounded left end as an I glued in front ("IALARM").
_GENERIC = re.compile(
    r"(?<![A-Za-z])[Il]?(?:A[LUI]AR[MN]|ALM|ERROR|ERR|FAULT)\s*(?:NO\.?|#)?\s*[^\sA-Za-z0-9]{0,2}\s*"
    r"(\d{2,6})(?![A-Za-z0-9:/\-]|\.\d)",
    re.IGNORECASE,
)

# A number (or Haas NGC dotted id) at the head of a line, followed by words.
# OCR turns the space after the number into a degree sign or a quote at times ("659°Z LOW AIR"), or into a
# full stop or comma when a letter follows ("24708.Puerta"; a digit would make it a decimal).
# NGC ids have one or two digits before the dot (the alarm's group); "102.0109" is Mitsubishi's T02 0109
# with its T read as a 1 and the space as a full stop.
# On a highlighted row OCR may lose the space altogether ("225NIVEAU LUBRIFIANT"): capitals glued to the
# number are a message when there are four of them.
_LINE_HEAD_NUMBER = re.compile(
    r"^(\d{3,6}|\d{1,2}\.\d{3,4})(?:\s+|[°'’`´]\s*|[.,]\s*(?=[A-Za-zÀ-ÿ])|(?=[A-ZÀ-Þ]{4}))(.*)$"
)

# What stands in front of the number in alarm lists and histories: the row's index ("1", "12.", "3)"),
# clock times and dates (Sinumerik, Fanuc history), and what OCR makes of a marker, a warning icon or the
# screen's frame: symbols, lone lowercase letters ("i", "l", "j"), and one short word of no digit ("Hi",
# "HM", "{ME", "gg", "No.") before a number that then reads as an alarm line.
# On a screen not known to show alarms only symbols, a lone lowercase letter, dates and times are passed
# over: a number after a short word or a row number there is as likely a line of OCR's rubbish.
_SYMBOLS_DATES_TIMES = (
    r"[^A-Za-z0-9]+|[a-z]\s+"
    r"|\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}\s*"
    r"|\d{1,4}:\d{2}(?::\d{2}(?:[.,]\d{1,3})?)?\s*"
)
_STRICT_LINE_PREFIX = re.compile(r"^(?:" + _SYMBOLS_DATES_TIMES + r")+")
_MARKER_WORD = r"(?:[^\s0-9]{1,3}\s+(?=[^A-Za-z\s]*\d))?"
_LINE_PREFIX = re.compile(
    r"^" + _MARKER_WORD + r"(?:" + _SYMBOLS_DATES_TIMES
    + r"|(?!(?:10|07)\s\d{4}(?!\d))\d{1,2}[.)]?\s+(?=(?:[^\s0-9]{1,3}\s+)?[^A-Za-z\s]*\d)"
    # A date or a time OCR read with a separator lost or changed ("12.0728", "212657", "08.23"): a
    # number with a separator in it, or of six digits or more, when another number follows it.
    r"|(?:\d[\d./:\-]*[./:\-][\d./:\-]*|\d{6,8})\s+(?=\d[\d./:\-,]*\s)"
    r")*" + _MARKER_WORD + r"(?:[^A-Za-z0-9\s]+\s*)?"
)

# A screen "talks about alarms" when one of these words is on it: the titles and tabs of alarm screens in
# the languages controllers are set to on European and American shop floors.
_ALARM_CONTEXT = re.compile(
    r"ALARM|ALM\b|ERROR|ERREUR|FEHLER|ST[OÖ]RUNG|FAULT|DEFAUT|DÉFAUT|ALLARM|AVARIA|AWARIA"
    r"|EMERGENCY|EMG\b|SERVO|OVERTRAVEL|OVER TRAVEL|OVERHEAT|OVERLOAD",
    re.IGNORECASE,
)

# The alarm words of screen titles, for a tolerant match: OCR often gets one letter of a title wrong.
_TITLE_WORDS = ("ALARM", "ALARMS", "ALARME", "ALARMAS", "ALLARMI", "ERROR", "ERRORS", "FEHLER", "FAULT")


def mentions_alarms(text: str) -> bool:
    """True when an alarm word (ALARM, ERROR, FEHLER, ...) is in the text, exactly or with one letter
    misread ("ACARMS"): the text of an alarm screen, even when no code on it could be read."""
    if _ALARM_CONTEXT.search(text):
        return True
    for word in set(re.findall(r"\b[A-Za-z]{5,7}\b", text.upper())):
        for title in _TITLE_WORDS:
            if len(word) == len(title) and sum(a != b for a, b in zip(word, title)) <= 1:
                return True
    return False


# Words that make a number a quantity and not an alarm: units and counters. Axis letters are not among
# them, as Haas messages start with one ("108 X SERVO OVERLOAD"), nor TOOL ("700179 TOOL CHANGER FAULT").
_QUANTITY_TEXT = """
    RPM MM MIN IN INCH IPM IPR MMPM SEC H HR HRS MM/MIN MM/REV IN/MIN % PCS PARTS PART PIECES PCE
    STK STUCK STÜCK PZ PIEZAS PIECE KG NM KW LINES LINE BLOCK BLOCKS TIMES CYCLES
"""
_QUANTITY_WORDS = frozenset(_QUANTITY_TEXT.split())

# Old Fanuc messages: "401 SERVO ALARM: (VRDY OFF)", "510 OVER TRAVEL : +X", "010 IMPROPER G-CODE".
_OLD_FANUC_MESSAGE = re.compile(
    r"\b(?:SERVO ALARM|OVER ?TRAVEL|P/S ALARM|SPINDLE ALARM|OVERHEAT|SYSTEM ALARM|APC ALARM|IMPROPER)\b"
)


def _looks_like_program_line(line: str) -> bool:
    """A line of NC program ("N120 G01 X12.5 F1200") is made of address words, never an alarm.

    OCR garbles some of them ("84950 GOL H-15 029 198.800 F2e70"), so a G-code read with letters for
    its digits counts as one, and so does a coordinate with three decimals, which no alarm message has.
    """
    words = re.findall(r"\b[GMNXYZFST]-?\d+(?:\.\d*)?\b", line)
    g_codes = re.findall(r"\bG[O0o]?[0-9OIlL|]\b", line)
    coordinates = re.findall(r"(?<![\d.:])-?\d{1,4}[.,]\d{3}\b", line)
    return (
        len(set(words) | set(g_codes)) >= 3
        or bool(g_codes and coordinates)
        or bool(re.match(r"^\s*[NO]\d{2,}", line))
    )


def _has_message(rest: str) -> bool:
    """True when `rest`, the text after a leading number, reads as an alarm message: it starts with a
    word (not a unit, a decimal, a clock time or a date) and holds a word of three letters or more."""
    rest = rest.strip()
    if not rest:
        return False
    first = rest.split()[0].strip(":;,.").upper()
    if first in _QUANTITY_WORDS or re.match(r"^[\d:/.,%+\-]", first):
        return False
    # "O0131 N10760" read as "00131 Nio760": a word with digits in it is an address (sequence number,
    # coordinate), not the start of a message ("Axis X1" starts with a word).
    if len(re.findall(r"\d", first)) >= 2:
        return False
    return re.search(r"[A-Za-zÀ-ÿ]{3,}", rest) is not None


def _has_long_message(rest: str) -> bool:
    """True when `rest` holds two words of three letters or more: what a number needs after it to count
    as an alarm on a screen not known to show alarms (its title cut off or misread)."""
    return len(re.findall(r"[A-Za-zÀ-ÿ]{3,}", rest)) >= 2


# --- family matchers, each returning (start, end, code, family) spans on one line --------------------------


# A sequence number after a number makes that number a program number ("ALARM  O1234 N00120" in a title
# bar, the O read as a zero or lost).
_SEQUENCE_AFTER = re.compile(r"\s*[NH]\d{2,}")


def _okuma(line: str):
    for match in _OKUMA_BEFORE.finditer(line):
        if match.group(1) == "P" and _SEQUENCE_AFTER.match(line, match.end()):
            continue  # "ALARM   P1234 N00120": a program and its sequence number in a title bar
        yield match.start(), match.end(), match.group(2), "okuma"
    for match in _OKUMA_AFTER.finditer(line):
        yield match.start(), match.end(), match.group(1), "okuma"


# In the hex half of a Heidenhain number, the letters that are no hex digit stand for the digits they
# look like. A lowercase letter glued in front ("f237-9F7C") is OCR's reading of an icon or a bar's end.
_HEX_LOOKALIKES = str.maketrans({"O": "0", "Q": "0", "l": "1"})


def _heidenhain(line: str):
    for match in _HEIDENHAIN.finditer(line):
        head, tail = match.group(1), match.group(2).translate(_HEX_LOOKALIKES)
        # The first half is a decimal error class ("130"); "ABC-DEAD" or "A1B-..." is something else.
        if head.isdigit():
            yield match.start(), match.end(), f"{head}-{tail}", "heidenhain"


def _mitsubishi(line: str):
    if _looks_like_program_line(line):
        return
    for match in _MITSUBISHI.finditer(line):
        # "$01" is S01 and "TO1" is T01 as OCR reads them; but a group made of letters only is a word.
        letter = "S" if match.group(1) == "$" else match.group(1).upper()
        group, number = match.group(2).translate(_DIGIT_LOOKALIKES), match.group(4).translate(_DIGIT_LOOKALIKES)
        if not any(ch.isdigit() for ch in match.group(2)):
            continue
        # OCR turns the gap between the two numbers into a quote or a degree sign at times.
        spaced = bool(match.group(3))
        # Without the space, "S010051" could be a spindle speed: accept it only on an alarm-looking line.
        if not spaced and not _ALARM_CONTEXT.search(line):
            continue
        yield match.start(), match.end(), f"{letter}{group} {number}", "mitsubishi"


# At the head of an alarm line, OCR reads the class letter of "Z70 0276", "S01 0051" or "T02 0109" as a
# digit, and at times the space between the numbers as a full stop ("270.0276", "102.0109").
_MITSUBISHI_DIGIT_CLASS = re.compile(r"^([1257])(\d{2})[\s.](\d{4})\s+(.*)$")


def _mitsubishi_at_line_head(line: str, alarm_screen: bool):
    """ "270 0276 Servo overload" on an alarm screen is Z70 0276 with its Z read as a 2.

    A 2 is a Z and a 5 an S. A 7 is a Z or a T, and a 1 a T: Mitsubishi's T classes are T01 to T04
    (operation errors), its Z classes Z20 and up, which tells the two apart. On a screen whose alarm
    title was not read, the message must have two words at least, as bare numbers' must.
    """
    prefix = (_LINE_PREFIX if alarm_screen else _STRICT_LINE_PREFIX).match(line)
    offset = prefix.end() if prefix else 0
    match = _MITSUBISHI_DIGIT_CLASS.match(line[offset:])
    if not match or not _has_message(match.group(4)):
        return
    if not alarm_screen and not _has_long_message(match.group(4)):
        return
    digit, group = match.group(1), match.group(2)
    if digit in "17":
        letter = "T" if group.startswith("0") else ("Z" if digit == "7" else None)
    else:
        letter = {"2": "Z", "5": "S"}[digit]
    if letter:
        yield offset, offset + match.end(3), f"{letter}{group} {match.group(3)}", "mitsubishi"


def _fanuc(line: str):
    for match in _FANUC_CANDIDATE.finditer(line):
        raw_class, space, raw_number = match.groups()
        # A class made of digits only ("10 2024") is a number, not a misread class.
        if not re.search(r"[A-Z]", raw_class):
            continue
        fanuc_class = raw_class.translate(_LETTER_LOOKALIKES)
        if fanuc_class not in FANUC_CLASSES:
            continue
        # At least two real digits, so a word such as "SOIL" never turns into a code.
        if sum(ch.isdigit() for ch in raw_number) < 2:
            continue
        number = _repair_digits(raw_number)
        if space:
            # "SP 1200" may be a spindle reading; a spaced code counts at the head of a line or beside
            # alarm words, and never when a unit follows it.
            rest = line[match.end() :]
            after = rest.split()
            if after and after[0].upper().strip(":,.") in _QUANTITY_WORDS:
                continue
            at_head = not line[: match.start()].strip(" \t|*!>-:")
            if not _ALARM_CONTEXT.search(line) and not (at_head and _has_message(rest)):
                continue
        yield match.start(), match.end(), fanuc_class + number, "fanuc"


def _generic(line: str):
    for match in _GENERIC.finditer(line):
        number = match.group(1)
        if set(number) == {"0"}:
            continue  # "ALARM 0" / "ERROR: 000" is a counter at rest, not an alarm.
        if (number.startswith("0") and len(number) >= 4) or _SEQUENCE_AFTER.match(line, match.end(1)):
            continue  # a program number beside the word ALARM in a title bar
        yield match.start(1), match.end(1), number, "generic"


_LOG_STAMP = re.compile(r"^\W*(?:\d{1,4}[./\-]){1,2}\d{1,4}\s+\d{1,4}:\d{2}")


def _line_head(line: str, screen_family: str | None, alarm_screen: bool):
    """Bare alarm numbers at the head of an alarm line: Siemens, Haas, old Fanuc.

    On a screen that talks about alarms, any number of three digits or more followed by a message. On
    others (the title may be cut off or misread) only a number of four digits or more, without a leading
    zero, followed by at least two words: a tool table's "12 DRILL" or a counter's "125 PARTS" never
    qualifies.
    """
    if _looks_like_program_line(line):
        return
    # A line that starts with a date and a time is an entry of a log: an alarm history's.
    alarm_screen = alarm_screen or bool(_LOG_STAMP.match(line))
    prefix = (_LINE_PREFIX if alarm_screen else _STRICT_LINE_PREFIX).match(line)
    offset = prefix.end() if prefix else 0
    head = line[offset:]
    if alarm_screen and re.match(r"^S\d{2}\s", head):
        # "511 SERVO ALARM" read as "S11 SERVO ALARM": a bare S with two digits and a message is no code
        # of any make, but a 5 is the digit OCR confuses with S most.
        head = "5" + head[1:]
    match = _LINE_HEAD_NUMBER.match(head)
    if not match:
        return
    number, rest = match.groups()
    if not _has_message(rest):
        return
    # Only old Fanuc P/S alarms ("010 IMPROPER G-CODE") start with a zero; a longer number with a leading
    # zero is a program number ("O6976") whose letter O was read as a zero.
    if number.startswith("0") and len(number) != 3:
        return
    if not alarm_screen:
        digits = number.replace(".", "")
        if len(digits) < 4 or number.startswith("0") or not _has_long_message(rest):
            return
    start, end = offset + match.start(1), offset + match.end(1)
    if "." in number:
        # Haas NGC ids ("40.4143") are the only dotted alarm numbers.
        yield start, end, number, "haas"
        return
    if len(number) == 6 and number[:2] in _FANUC_CLASS_AS_DIGITS:
        # "IO2602" and "OT0500" read as digits throughout. No Sinumerik alarm is a six-digit number
        # starting with 0 or 1, so these can only be Fanuc codes.
        yield start, end, _FANUC_CLASS_AS_DIGITS[number[:2]] + number[2:], "fanuc"
        return
    yield start, end, number, _bare_number_family(number, rest, screen_family)


# Fanuc classes whose two letters OCR can read as two digits.
_FANUC_CLASS_AS_DIGITS = {"10": "IO", "07": "OT"}


def _bare_number_family(number: str, message: str, screen_family: str | None) -> str:
    """Which control shows a bare alarm number: the make named on the screen when there is one, else
    the number's length and the message's style (Sinumerik messages are in mixed case, Haas and old
    Fanuc ones in capitals)."""
    if _OLD_FANUC_MESSAGE.search(message.upper()) and screen_family in (None, "fanuc"):
        return "fanuc"
    if screen_family in ("fanuc", "siemens", "haas"):
        return screen_family
    if len(number) >= 5:
        return "siemens"
    if len(number) == 4 and re.search(r"[a-z]{3}", message):
        return "siemens"
    return "haas"


_BRANDS = (
    (re.compile(r"FANUC", re.IGNORECASE), "fanuc"),
    (re.compile(r"SINUMERIK|SIEMENS", re.IGNORECASE), "siemens"),
    (re.compile(r"\bHAAS\b|\bNGC\b", re.IGNORECASE), "haas"),
)


def _screen_family(text: str) -> str | None:
    for pattern, family in _BRANDS:
        if pattern.search(text):
            return family
    return None


def extract_alarm_codes(text: str, *, context: str = "") -> list[AlarmCode]:
    """Find the alarm codes in `text` (OCR output of a controller screen, or any text), deduplicated by
    code and in reading order, each with its family and the line it came from.

    A screen without an alarm yields an empty list: positions, feeds, speeds, tool, program and
    sequence numbers, clock times, dates and part counts are not codes.

    `context` is the rest of the screen when `text` is a part of it (one line read again): its make's
    name and its alarm words count as if they were in `text`, its codes are not returned.
    """
    if not text:
        return []
    screen_family = _screen_family(text) or _screen_family(context)
    alarm_screen = mentions_alarms(text) or mentions_alarms(context)
    # The most specific shapes claim their characters first, so "ALARM-B 2136" is one Okuma code and
    # not also a generic "ALARM ..." one, and "M01 0101" is not read again by a looser pattern.
    matchers = (
        _okuma,
        _heidenhain,
        _mitsubishi,
        lambda line: _mitsubishi_at_line_head(line, alarm_screen),
        _fanuc,
        _generic,
        lambda line: _line_head(line, screen_family, alarm_screen),
    )
    found: dict[str, AlarmCode] = {}
    for raw_line in text.splitlines():
        line = _slashed_zeros(_collapse(raw_line))
        if not line:
            continue
        taken: list[tuple[int, int]] = []
        hits: list[tuple[int, str, str]] = []
        for matcher in matchers:
            for start, end, code, family in matcher(line):
                if any(start < t_end and t_start < end for t_start, t_end in taken):
                    continue
                taken.append((start, end))
                hits.append((start, code, family))
        for _, code, family in sorted(hits):
            found.setdefault(code, AlarmCode(code=code, family=family, line=line))
    return list(found.values())


# --- typed codes -----------------------------------------------------------------------------------------

_TYPED_FANUC = re.compile(r"^([A-Z]{2})\s*([0-9OIL]{4})$")
_TYPED_MITSUBISHI = re.compile(r"^([MSZTYRLUV])\s*(\d{2})\s*(\d{4})$")
_TYPED_HEIDENHAIN = re.compile(r"^([0-9A-F]{3})\s*-\s*([0-9A-F]{4})$")
_TYPED_OKUMA = re.compile(r"^(?:ALARM\s*-?\s*[ABCDP]\s*(\d{4})|(\d{4})\s*ALARM\s*-?\s*[ABCDP])$")
_TYPED_GENERIC = re.compile(r"^(?:ALARM|ALM|ERROR|ERR|FAULT)\s*[:#\-]?\s*(\d{1,6})$")


def _drop_invisible(text: str) -> str:
    # NUL cannot be stored or compared in PostgreSQL text, and the other control and format characters
    # (a pasted zero-width space, a byte-order mark) are invisible: none is part of any code. Whitespace
    # among them (tabs, line breaks) stays, to separate or be collapsed.
    return "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))


def normalise_code(text: str) -> str:
    """The normalised form of a code a person typed ("sv 0401" -> "SV0401", "m01 0101" -> "M01 0101",
    "alarm-b 2136" -> "2136"), so it compares equal to the codes read from photos. Anything else comes
    back uppercased, stripped, with inner whitespace collapsed to one space, and without control
    characters. Never raises."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    typed = _collapse(_drop_invisible(text)).upper()
    if match := _TYPED_FANUC.match(typed):
        fanuc_class, number = match.groups()
        if fanuc_class in FANUC_CLASSES:
            return fanuc_class + number.replace("O", "0").replace("I", "1").replace("L", "1")
    if match := _TYPED_MITSUBISHI.match(typed):
        return "{}{} {}".format(*match.groups())
    if match := _TYPED_HEIDENHAIN.match(typed):
        return "{}-{}".format(*match.groups())
    if match := _TYPED_OKUMA.match(typed):
        return match.group(1) or match.group(2)
    if match := _TYPED_GENERIC.match(typed):
        return match.group(1)
    return typed


# The longest code an issue can hold (IssueAlarmCode.code): longer text is a sentence, not a code.
MAX_CODE_LENGTH = 40

# Commas, semicolons and line breaks separate typed codes; the comma is what the form asks for, the others
# are what people type or paste anyway ("SV0401; SV0436", a list copied from a maintenance mail).
_TYPED_SEPARATORS = re.compile(r"[,;\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")

# A normalised code of a shape only codes have: Fanuc's class and number, Mitsubishi's, Heidenhain's, a bare
# alarm number (Siemens, Haas, Okuma, old Fanuc) or a Haas NGC id. Bare numbers are those the extractor
# takes from a screen: three digits or more, a leading zero only in old Fanuc's three ("010"). So "10 2024"
# (a mistyped IO2024) and "SV0401 0436" stay one entry, to be seen and corrected, not two wrong codes.
_WHOLE_CODE = re.compile(
    r"^(?:(?:" + "|".join(sorted(FANUC_CLASSES)) + r")\d{4}|[MSZTYRLUV]\d{2} \d{4}|\d{3}-[0-9A-F]{4}"
    r"|0\d{2}|[1-9]\d{2,5}|\d{1,2}\.\d{3,4})$"
)
# A code written with spaces has at most this many words ("ALARM - B 2136").
_MOST_WORDS_IN_A_CODE = 4


def _codes_of_words(words: list[str]) -> list[str] | None:
    """`words` read as consecutive whole codes, each of one to four words ("SV 0401", "M01 0101"), the
    longest reading first; None when some word belongs to no code."""
    readings: dict[int, list[str] | None] = {len(words): []}
    for start in range(len(words) - 1, -1, -1):
        readings[start] = None
        for end in range(min(len(words), start + _MOST_WORDS_IN_A_CODE), start, -1):
            if readings[end] is None:
                continue
            code = normalise_code(" ".join(words[start:end]))
            if _WHOLE_CODE.match(code):
                readings[start] = [code, *readings[end]]
                break
    return readings[0]


@dataclass(frozen=True)
class TypedCodes:
    """The codes a person typed into one field: `codes` normalised, each once, in the order typed;
    `too_long` the entries longer than MAX_CODE_LENGTH (normalised, each once), which are not codes."""

    codes: tuple[str, ...]
    too_long: tuple[str, ...]


def parse_typed_codes(text: str | None) -> TypedCodes:
    """The alarm codes in what a person typed into an alarm-code field: the one reading of that field,
    for the report form, the "seen before" panel under it and reports made in code alike.

    Commas, semicolons and line breaks separate codes. Whitespace alone does not, as codes are written
    with spaces ("SV 0401" is Fanuc's SV0401, "M01 0101" is one Mitsubishi code, "ALARM-B 2136" Okuma's
    2136), except between whole codes: "SV0401 SV0436" or "M01 0101 S01 0051" are two codes, because
    every word is part of one. Text with a word of no code in it ("spindle drive fault", "SV0401 again")
    stays one entry, as typed. Each entry is normalised with `normalise_code`; empty ones and control
    characters are dropped. Never raises.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    codes: list[str] = []
    too_long: list[str] = []
    for entry in _TYPED_SEPARATORS.split(_drop_invisible(text)):
        words = entry.split()
        split = _codes_of_words(words) if len(words) > 1 else None
        for code in split or [normalise_code(entry)]:
            kept = too_long if len(code) > MAX_CODE_LENGTH else codes
            if code and code not in kept:
                kept.append(code)
    return TypedCodes(codes=tuple(codes), too_long=tuple(too_long))
