"""Synthetic corpus of CNC controller screens for the OCR tests and benchmark.

Each sample is a screen in the style of one controller family (Fanuc, Siemens, Haas, Okuma, Mitsubishi,
Heidenhain, or an unknown make showing "ALARM: 123"), rendered with Pillow either as a clean screenshot
or as a simulated tablet photo (4032x3024 JPEG: bezel, rotation, perspective, blur, glare, noise, EXIF
orientation, and at times a screen running off the frame's edge, moiré, low light or dirty glass).
Negatives are screens without an alarm: other pages, alarm pages with no alarm active, pop-ups and
message lines that carry a number but no code.

The corpus comes in two parts that share no font and no layout:

- the **tuning** part (`TUNING`): the fonts and layouts the reading pipeline was tuned on;
- the **held-out** part (`HELD_OUT`): other fonts and other layouts, never looked at while tuning, which
  tells how the pipeline does on screens it was not fitted to. Its figure is the one that counts.

Both parts draw the same families, codes, line markers (a Sinumerik alarm square, bullets, warning
triangles, info icons), title bars with program and sequence numbers, colours and photo conditions.

Everything is drawn from one `random.Random(seed)`, so a seed and a part always yield the same corpus.
Fonts come from Debian packages (see `SYSTEM_PACKAGES_TEST` in the Makefile); a missing file is skipped,
and Pillow's built-in font is the last resort.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FAMILIES = ("fanuc", "siemens", "haas", "okuma", "mitsubishi", "heidenhain", "generic")
KINDS = ("screenshot", "photo")

_TRUETYPE = "/usr/share/fonts/truetype"
_OPENTYPE = "/usr/share/fonts/opentype"


@dataclass(frozen=True)
class Part:
    """One part of the corpus: the font files and the screen layouts it draws from."""

    name: str
    fonts: tuple[str, ...]
    layouts: tuple[str, ...]


TUNING = Part(
    name="tuning",
    fonts=(
        f"{_TRUETYPE}/dejavu/DejaVuSansMono.ttf",
        f"{_TRUETYPE}/dejavu/DejaVuSansMono-Bold.ttf",
        f"{_TRUETYPE}/dejavu/DejaVuSans.ttf",
        f"{_TRUETYPE}/dejavu/DejaVuSans-Bold.ttf",
        f"{_TRUETYPE}/dejavu/DejaVuSansCondensed.ttf",
        f"{_TRUETYPE}/liberation/LiberationMono-Regular.ttf",
        f"{_TRUETYPE}/liberation/LiberationMono-Bold.ttf",
        f"{_TRUETYPE}/liberation/LiberationSans-Regular.ttf",
        f"{_TRUETYPE}/liberation/LiberationSans-Bold.ttf",
        f"{_TRUETYPE}/liberation/LiberationSansNarrow-Regular.ttf",
        f"{_TRUETYPE}/noto/NotoSansMono-Regular.ttf",
        f"{_TRUETYPE}/noto/NotoSansMono-Bold.ttf",
        f"{_OPENTYPE}/urw-base35/NimbusMonoPS-Regular.otf",
        f"{_OPENTYPE}/urw-base35/NimbusMonoPS-Bold.otf",
        f"{_OPENTYPE}/urw-base35/NimbusSans-Regular.otf",
        f"{_OPENTYPE}/urw-base35/NimbusSansNarrow-Regular.otf",
        f"{_OPENTYPE}/urw-base35/URWGothic-Book.otf",
        f"{_TRUETYPE}/hack/Hack-Regular.ttf",
        f"{_TRUETYPE}/hack/Hack-Bold.ttf",
        f"{_TRUETYPE}/freefont/FreeMono.ttf",
        f"{_TRUETYPE}/freefont/FreeMonoBold.ttf",
        f"{_TRUETYPE}/freefont/FreeSans.ttf",
        f"{_TRUETYPE}/roboto/unhinted/RobotoTTF/Roboto-Regular.ttf",
        f"{_OPENTYPE}/terminus/terminus-normal.otb",
        f"{_OPENTYPE}/terminus/terminus-bold.otb",
    ),
    layouts=("list", "table", "history"),
)

HELD_OUT = Part(
    name="held-out",
    fonts=(
        f"{_TRUETYPE}/inconsolata/Inconsolata.otf",
        f"{_TRUETYPE}/jetbrains-mono/JetBrainsMono-Regular.ttf",
        f"{_TRUETYPE}/jetbrains-mono/JetBrainsMono-Bold.ttf",
        f"{_TRUETYPE}/firacode/FiraCode-Regular.ttf",
        f"{_TRUETYPE}/firacode/FiraCode-Bold.ttf",
        f"{_TRUETYPE}/croscore/Cousine-Regular.ttf",
        f"{_TRUETYPE}/croscore/Arimo-Regular.ttf",
        f"{_TRUETYPE}/croscore/Arimo-Bold.ttf",
        "/usr/share/fonts/fonts-go/Go-Mono.ttf",
        "/usr/share/fonts/fonts-go/Go-Regular.ttf",
        f"{_OPENTYPE}/b612/B612Mono-Regular.otf",
        f"{_OPENTYPE}/b612/B612-Bold.otf",
        f"{_TRUETYPE}/anonymous-pro/Anonymous Pro.ttf",
        f"{_TRUETYPE}/mononoki/mononoki-Regular.ttf",
        f"{_TRUETYPE}/3270/3270-Regular.ttf",
        f"{_TRUETYPE}/open-sans/OpenSans-Regular.ttf",
        f"{_TRUETYPE}/open-sans/OpenSans-Bold.ttf",
        f"{_TRUETYPE}/lato/Lato-Regular.ttf",
        f"{_TRUETYPE}/freefont/FreeSansBold.ttf",
        f"{_OPENTYPE}/spleen/spleen-16x32.otf",
    ),
    layouts=("popup", "message_line"),
)

PARTS = {part.name: part for part in (TUNING, HELD_OUT)}


def available_fonts(part: Part = TUNING) -> list[str]:
    """The font files of `part` that this machine has (an empty list means Pillow's own)."""
    return [path for path in part.fonts if Path(path).exists()]


# Bitmap fonts (OTB) come in fixed pixel sizes only.
_BITMAP_SIZES = (12, 14, 16, 18, 20, 22, 24, 28, 32)


def _font(path: str | None, size: int) -> ImageFont.ImageFont:
    if path:
        if path.endswith(".otb"):
            size = min(_BITMAP_SIZES, key=lambda strike: abs(strike - size))
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


@dataclass
class Sample:
    """One corpus image: `data` is the encoded file (PNG screenshot or JPEG photo) and `codes` the set of
    normalised alarm codes on it (empty for a negative)."""

    name: str
    family: str
    kind: str
    data: bytes
    codes: frozenset[str]
    lines: list[str] = field(default_factory=list)
    part: str = "tuning"
    layout: str = "list"
    font: str = ""
    conditions: tuple[str, ...] = ()

    @property
    def negative(self) -> bool:
        return not self.codes


@dataclass
class Screen:
    """A rendered screen: the image, its codes, the lines of text drawn, and the boxes of its alarm lines
    (which a photo keeps in the frame)."""

    image: Image.Image
    codes: frozenset[str]
    lines: list[str]
    alarm_boxes: list[tuple[int, int, int, int]]
    layout: str
    font: str


# --- alarm lines per family ------------------------------------------------------------------------------

# Messages in several languages, as controllers are set up in different countries: the codes must be found
# whatever words surround them.
_MESSAGES = {
    "en": [
        "SERVO OVERLOAD",
        "V READY OFF",
        "EXCESS ERROR",
        "LOW AIR PRESSURE",
        "SPINDLE OVERHEAT",
        "DOOR INTERLOCK",
        "LUBE LOW",
        "ENCODER FAULT",
        "COOLANT LEVEL LOW",
        "TOOL CHANGER FAULT",
    ],
    "de": [
        "Servo Überlast",
        "Achse X1 Hardwarefehler aktiver Geber",
        "Schmierung Füllstand niedrig",
        "Tür nicht verriegelt",
        "Spindel Übertemperatur",
        "Konturüberwachung",
    ],
    "fr": [
        "Surcharge servo",
        "Défaut codeur axe X",
        "Pression d'air basse",
        "Porte ouverte",
        "Niveau lubrifiant bas",
    ],
    "es": ["Sobrecarga servo", "Error de posición excesivo", "Presión de aire baja", "Puerta abierta"],
    "it": ["Sovraccarico servo", "Errore encoder asse Z", "Pressione aria bassa", "Porta aperta"],
}
_OLD_FANUC = [
    "SERVO ALARM: (VRDY OFF)",
    "SERVO ALARM: (EXCESS ERROR)",
    "OVER TRAVEL : +X",
    "OVER TRAVEL : -Z",
    "SPINDLE ALARM",
    "OVERHEAT: SPINDLE",
]
_FANUC_CLASSES = (
    "SW",
    "PW",
    "IO",
    "PS",
    "OT",
    "OH",
    "SV",
    "SR",
    "MC",
    "SP",
    "DS",
    "IE",
    "BG",
    "SN",
    "EX",
    "PC",
)


def _message(rng: random.Random, *, capitals: bool = False) -> str:
    language = rng.choice(list(_MESSAGES))
    text = rng.choice(_MESSAGES[language])
    return text.upper() if capitals else text


def _alarm_line(rng: random.Random, family: str) -> tuple[str, str]:
    """(line as shown on the screen, normalised code) for one alarm of `family`."""
    if family == "fanuc":
        if rng.random() < 0.3:
            number = rng.choice(["401", "411", "414", "510", "511", "010", "1001", "700"])
            return f"{number} {rng.choice(_OLD_FANUC)}", number
        code = rng.choice(_FANUC_CLASSES) + f"{rng.randrange(0, 10000):04d}"
        axis = rng.choice(["", " X", " (Z)", " Y AXIS"])
        return f"{code}{axis} {_message(rng, capitals=True)}", code
    if family == "siemens":
        number = str(
            rng.choice(
                [
                    rng.randrange(10000, 27999),
                    rng.randrange(60000, 69999),
                    rng.randrange(700000, 700999),
                    rng.randrange(2000, 8999),
                ]
            )
        )
        return f"{number} {_message(rng)}", number
    if family == "haas":
        if rng.random() < 0.3:
            code = f"{rng.randrange(1, 60)}.{rng.randrange(1000, 9999)}"
        else:
            code = str(rng.randrange(101, 999))
        return f"{code} {rng.choice(['', 'X ', 'Z ', 'SPINDLE '])}{_message(rng, capitals=True)}", code
    if family == "okuma":
        letter = rng.choice("ABCD")
        number = f"{'ABCD'.index(letter) + 1}{rng.randrange(0, 999):03d}"
        if rng.random() < 0.5:
            return f"ALARM-{letter} {number} {_message(rng)}", number
        return f"{number} ALARM-{letter} {_message(rng, capitals=True)}", number
    if family == "mitsubishi":
        prefix = rng.choice(["M01", "S01", "S02", "S03", "Z70", "Z55", "T01", "T02", "Y03"])
        code = f"{prefix} {rng.randrange(1, 400):04d}"
        return f"{code} {_message(rng)}", code
    if family == "heidenhain":
        code = f"{rng.randrange(100, 999)}-{rng.randrange(0, 0xFFFF):04X}"
        return f"{rng.choice(['Error ', 'Fehler ', '', ''])}{code} {_message(rng)}", code
    number = str(rng.randrange(10, 9999))
    form = rng.choice(["ALARM: {}", "ALARM {}", "ERROR: {}", "ERR-{}"])
    return f"{form.format(number)} {_message(rng, capitals=True)}", number


# --- screen furniture that must not be read as codes ----------------------------------------------------


def _status_lines(rng: random.Random) -> list[str]:
    """Positions, feeds, speeds, tool, program and sequence numbers, clock, date and part counter."""
    axes = [f"{axis} {rng.uniform(-999, 999):9.3f}" for axis in rng.sample("XYZABC", rng.randint(3, 4))]
    program = f"O{rng.randrange(1, 9999):04d} N{rng.randrange(1, 99999):05d}"
    feed, speed = rng.randrange(50, 5000), rng.randrange(100, 12000)
    tool = f"T{rng.randrange(1, 99):02d}{rng.randrange(1, 99):02d}"
    counter = f"{rng.choice(['PART COUNT', 'PARTS', 'Stückzahl', 'PIECES'])} {rng.randrange(0, 5000)}"
    date = f"{rng.randrange(2020, 2030)}/{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}"
    clock = f"{rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d}:{rng.randrange(0, 60):02d}"
    lines = [program, *axes, f"F{feed} S{speed} {tool}", counter, f"{date} {clock}"]
    if rng.random() < 0.5:
        lines.append(
            f"N{rng.randrange(10, 9999):04d} G01 X{rng.uniform(-99, 99):.3f} Y{rng.uniform(-99, 99):.3f} "
            f"F{rng.randrange(100, 3000)}"
        )
    if rng.random() < 0.5:
        run, hours = rng.randrange(0, 99), rng.randrange(0, 60)
        lines.append(f"RUN TIME {run}H{hours:02d}M  CYCLE TIME 0H{rng.randrange(0, 60):02d}M")
    if rng.random() < 0.3:
        lines.append(f"D{rng.randrange(1, 99):02d} H{rng.randrange(1, 99):02d}  OFFSET {rng.uniform(-9, 9):.4f}")
    rng.shuffle(lines)
    return lines


_TITLES = {
    "fanuc": ["ALARM MESSAGE", "ALARM", "MESSAGE"],
    "siemens": ["Alarm list", "Alarmliste", "Liste des alarmes", "Lista allarmi"],
    "haas": ["ALARMS", "ACTIVE ALARMS", "ALARM / MESSAGES"],
    "okuma": ["ALARM", "ALARM HISTORY"],
    "mitsubishi": ["ALARM", "Alarm message"],
    "heidenhain": ["Error messages", "Fehlermeldungen", "ERROR"],
    "generic": ["ALARM", "ERROR", "STATUS"],
}
_BRAND = {
    "fanuc": ["FANUC Series 0i-MF", "FANUC Series 30i", ""],
    "siemens": ["SINUMERIK 840D sl", "SINUMERIK Operate", ""],
    "haas": ["HAAS NGC", "HAAS", ""],
    "okuma": ["OSP-P300", "OKUMA", ""],
    "mitsubishi": ["MITSUBISHI M80", "M800", ""],
    "heidenhain": ["TNC 640", "HEIDENHAIN", ""],
    "generic": ["", "CNC", "MACHINE 4"],
}
_NEGATIVE_TITLES = ["POSITION", "PROGRAM", "OFFSET", "Maschine", "Position", "MEMORY  STRT  MTN", "JOG"]
# An alarm page with no alarm active: the page talks about alarms and is full of numbers, and has no code.
_NO_ALARM = ["NO ALARM", "No active alarms", "Keine Alarme aktiv", "Aucune alarme", "Nessun allarme", "0 ALARMS"]
# What pop-ups and message lines say when they are no alarm: numbers, but no code.
_NOTICES = [
    "CYCLE COMPLETE  PART 125 OF 500",
    "Program end M30",
    "TOOL T0101 IN SPINDLE",
    "PROGRAM O1234 RUNNING",
    "Werkzeugwechsel T12 fertig",
    "FEED HOLD  F1200",
    "Spindle at 8000 RPM",
    "Pièce 48 terminée",
    "WARM UP 10 MIN",
]


def _program_tag(rng: random.Random) -> str:
    """The program, sequence and tool numbers many controls print in the title bar, beside its title."""
    parts = [f"O{rng.randrange(1, 9999):04d}", f"N{rng.randrange(1, 99999):05d}"]
    if rng.random() < 0.4:
        parts.append(f"T{rng.randrange(1, 99):02d}")
    if rng.random() < 0.3:
        parts = [rng.choice(["MAIN.MPF", "PART_17.MPF", "%O5012", "P1234"])] + parts[1:]
    return "  ".join(parts)


def _palette(rng: random.Random) -> dict:
    """Background, text, highlight and accent colours: dark screens with light text, light screens with
    dark text, coloured ones, picked at random rather than per make."""
    style = rng.choice(["dark", "light", "colour"])
    if style == "dark":
        bg = tuple(rng.randrange(0, 50) for _ in range(3))
        fg = rng.choice([(235, 235, 235), (120, 255, 120), (255, 230, 80), (120, 220, 255)])
    elif style == "light":
        bg = tuple(rng.randrange(200, 256) for _ in range(3))
        fg = rng.choice([(0, 0, 0), (20, 20, 90), (40, 40, 40)])
    else:
        bg = rng.choice([(0, 40, 120), (20, 70, 110), (60, 60, 60), (170, 190, 210), (0, 90, 90)])
        fg = (255, 255, 255) if sum(bg) < 380 else (0, 0, 0)
    alarm = rng.choice(
        [fg, (255, 60, 60) if style != "light" else (200, 0, 0), (255, 200, 0) if style != "light" else fg]
    )
    bar = tuple(max(0, min(255, c + rng.choice([-70, 70]))) for c in bg)
    return {"bg": bg, "fg": fg, "alarm": alarm, "bar": bar, "style": style}


def _contrast(a, b) -> float:
    return abs(sum(a) - sum(b)) / 3


_MARKERS = ("square", "bullet", "triangle", "icon", "arrow")


class _Canvas:
    """A screen being drawn: its image, fonts and colours, and the boxes of the alarm lines on it."""

    def __init__(self, rng: random.Random, font_path: str | None, size: tuple[int, int]):
        self.rng = rng
        self.width, self.height = size
        self.colours = _palette(rng)
        self.font_path = font_path
        self.size = max(12, int(self.height / rng.uniform(26, 42)))
        self.font = _font(font_path, self.size)
        self.small = _font(font_path, max(11, int(self.size * 0.8)))
        self.image = Image.new("RGB", size, self.colours["bg"])
        self.draw = ImageDraw.Draw(self.image)
        self.line_height = int(self.size * rng.uniform(1.3, 1.7))
        self.margin = rng.randrange(8, 30)
        self.alarm_boxes: list[tuple[int, int, int, int]] = []
        # Some screens mark every alarm line, some none: a make's habit, not a per-line choice.
        self.marker = rng.choice(_MARKERS) if rng.random() < 0.45 else None
        self.bar_text = (
            self.colours["fg"] if _contrast(self.colours["bar"], self.colours["fg"]) > 90 else self.colours["bg"]
        )

    def text(self, xy, text, *, fill, font=None) -> tuple[int, int, int, int]:
        font = font or self.font
        self.draw.text(xy, text, font=font, fill=fill)
        return self.draw.textbbox(xy, text, font=font)

    def marker_at(self, x: int, y: int, kind: str) -> int:
        """Draw a line marker with its top-left at (x, y); return its width with the gap after it."""
        side = int(self.size * self.rng.uniform(0.7, 1.0))
        top = y + max(0, (self.size - side) // 2) + 2
        colour = self.rng.choice([(220, 30, 30), (255, 190, 0), (255, 120, 0), self.colours["alarm"]])
        if kind == "square":
            self.draw.rectangle([x, top, x + side, top + side], fill=colour)
        elif kind == "bullet":
            radius = side // 3
            centre = (x + side // 2, top + side // 2)
            self.draw.ellipse([centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius],
                              fill=colour)
        elif kind == "triangle":
            self.draw.polygon([(x + side // 2, top), (x + side, top + side), (x, top + side)], fill=colour)
            mark = _font(self.font_path, max(8, int(side * 0.7)))
            self.draw.text((x + side // 2, top + side // 2 + 2), "!", font=mark, fill=(0, 0, 0), anchor="mm")
        elif kind == "icon":
            self.draw.rounded_rectangle([x, top, x + side, top + side], radius=max(2, side // 5), fill=colour)
            mark = _font(self.font_path, max(8, int(side * 0.8)))
            self.draw.text((x + side // 2, top + side // 2), self.rng.choice("!i?"), font=mark,
                           fill=(255, 255, 255), anchor="mm")
        else:
            self.draw.polygon([(x, top), (x + side * 2 // 3, top + side // 2), (x, top + side)], fill=colour)
        return side + max(4, self.size // 2)

    def alarm_line(self, x: int, y: int, line: str, *, highlight: bool | None = None, right: int | None = None):
        """An alarm line at (x, y), after the screen's marker, at times on a highlighted (selected) row."""
        if highlight is None:
            highlight = self.rng.random() < 0.35
        right = self.width - self.margin if right is None else right
        if highlight:
            self.draw.rectangle([x - 4, y - 2, right, y + self.line_height - 2], fill=self.colours["bar"])
            fill = self.bar_text
        else:
            fill = self.colours["alarm"]
        if self.marker:
            x += self.marker_at(x, y, self.marker)
        self.alarm_boxes.append(self.text((x, y), line, fill=fill))

    def title_bar(self, title: str, brand: str, *, program: bool) -> str:
        self.draw.rectangle([0, 0, self.width, self.line_height + 6], fill=self.colours["bar"])
        text = f"{title}   {brand}".strip()
        if program:
            text = f"{text}   {_program_tag(self.rng)}"
        self.text((self.margin, 3), text, fill=self.bar_text)
        return text

    def soft_keys(self) -> str:
        keys = self.rng.sample(["POS", "PROG", "OFFSET", "SYSTEM", "MESSAGE", "GRAPH", "HIST", "DIAG", "Menu"], 5)
        key_width = self.width // len(keys)
        for index, key in enumerate(keys):
            x0 = index * key_width
            self.draw.rectangle(
                [x0 + 2, self.height - self.line_height - 4, x0 + key_width - 2, self.height - 2],
                outline=self.colours["fg"],
            )
            self.text((x0 + 8, self.height - self.line_height), key, font=self.small, fill=self.colours["fg"])
        return " ".join(keys)

    def status_block(self, y: int, lines: list[str], *, bottom: int) -> tuple[int, list[str]]:
        drawn = []
        for line in lines:
            if y + self.line_height > bottom:
                break
            x = self.margin + (self.rng.randrange(0, self.width // 3) if self.rng.random() < 0.3 else 0)
            font = self.small if self.rng.random() < 0.5 else self.font
            self.text((x, y), line, font=font, fill=self.colours["fg"])
            drawn.append(line)
            y += self.line_height
        return y, drawn


def _alarms(rng: random.Random, family: str, count: int) -> list[tuple[str, str]]:
    """Up to `count` alarm lines of `family` with different codes, as (line, code)."""
    alarms: dict[str, str] = {}
    for _ in range(count):
        line, code = _alarm_line(rng, family)
        alarms.setdefault(code, line)
    return [(line, code) for code, line in alarms.items()]


def _timestamp(rng: random.Random) -> str:
    day = f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}.{rng.randrange(20, 30)}"
    if rng.random() < 0.5:
        day = f"{rng.randrange(2020, 2030)}/{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}"
    return f"{day} {rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d}:{rng.randrange(0, 60):02d}"


def _layout_list(canvas: _Canvas, family: str, with_alarm: bool) -> tuple[set[str], list[str]]:
    """The alarm page most controls have: title bar, the alarm lines, status lines, soft keys."""
    rng = canvas.rng
    alarms = _alarms(rng, family, rng.choice([1, 1, 1, 2, 2, 3])) if with_alarm else []
    codes: set[str] = set()
    no_alarm = not with_alarm and rng.random() < 0.35
    title = rng.choice(_TITLES[family] if with_alarm or no_alarm else _NEGATIVE_TITLES)
    drawn = [canvas.title_bar(title, rng.choice(_BRAND[family]), program=rng.random() < 0.4)]
    y = canvas.line_height + 14
    bottom = canvas.height - canvas.line_height - 6
    status = _status_lines(rng)
    if no_alarm:
        text = rng.choice(_NO_ALARM)
        canvas.text((canvas.margin, y), text, fill=canvas.colours["fg"])
        drawn.append(text)
        y += canvas.line_height * 2
    alarm_first = rng.random() < 0.5
    if not alarm_first:
        y, more = canvas.status_block(y, status, bottom=bottom)
        drawn += more
        y += canvas.line_height // 2
    for line, code in alarms:
        if y + canvas.line_height > bottom:
            break
        canvas.alarm_line(canvas.margin, y, line)
        codes.add(code)
        drawn.append(line)
        y += canvas.line_height
    if alarm_first:
        y += canvas.line_height // 2
        y, more = canvas.status_block(y, status, bottom=bottom)
        drawn += more
    drawn.append(canvas.soft_keys())
    return codes, drawn


def _layout_table(canvas: _Canvas, family: str, with_alarm: bool) -> tuple[set[str], list[str]]:
    """An alarm list page: a header row and one row per alarm (index, time stamp, alarm), between rules."""
    rng = canvas.rng
    alarms = _alarms(rng, family, rng.choice([1, 2, 2, 3, 4])) if with_alarm else []
    codes: set[str] = set()
    title = rng.choice(_TITLES[family])
    drawn = [canvas.title_bar(title, rng.choice(_BRAND[family]), program=rng.random() < 0.4)]
    y = canvas.line_height + 14
    fg = canvas.colours["fg"]
    index_x = canvas.margin
    time_x = index_x + canvas.size * 2
    stamp = rng.random() < 0.6
    text_x = time_x + (canvas.size * 10 if stamp else 0)
    header = ["No.", "Date / time" if stamp else "", rng.choice(["Alarm", "Message", "Meldung", "Text"])]
    canvas.text((index_x, y), header[0], fill=fg, font=canvas.small)
    if stamp:
        canvas.text((time_x, y), header[1], fill=fg, font=canvas.small)
    canvas.text((text_x, y), header[2], fill=fg, font=canvas.small)
    drawn.append(" ".join(part for part in header if part))
    y += canvas.line_height
    rule = tuple((a + b) // 2 for a, b in zip(fg, canvas.colours["bg"]))
    canvas.draw.line([canvas.margin - 4, y - 3, canvas.width - canvas.margin, y - 3], fill=rule, width=1)
    if not with_alarm:
        text = rng.choice(_NO_ALARM)
        canvas.text((text_x, y), text, fill=fg)
        drawn.append(text)
    for number, (line, code) in enumerate(alarms, start=1):
        if y + canvas.line_height > canvas.height - canvas.line_height * 3:
            break
        codes.add(code)
        canvas.text((index_x, y), str(number), fill=fg)
        row = str(number)
        if stamp:
            when = _timestamp(rng)
            canvas.text((time_x, y), when, fill=fg, font=canvas.small)
            row += f" {when}"
        canvas.alarm_line(text_x, y, line, highlight=False)
        drawn.append(f"{row} {line}")
        y += canvas.line_height
        canvas.draw.line([canvas.margin - 4, y - 3, canvas.width - canvas.margin, y - 3], fill=rule, width=1)
    y += canvas.line_height
    y, more = canvas.status_block(y, _status_lines(rng)[:3], bottom=canvas.height - canvas.line_height - 6)
    drawn += more
    drawn.append(canvas.soft_keys())
    return codes, drawn


def _layout_history(canvas: _Canvas, family: str, with_alarm: bool) -> tuple[set[str], list[str]]:
    """An alarm history: each line a time stamp and the alarm that came then."""
    rng = canvas.rng
    alarms = _alarms(rng, family, rng.choice([2, 3, 4])) if with_alarm else []
    codes: set[str] = set()
    title = rng.choice(["ALARM HISTORY", "Alarm log", "Alarmprotokoll", "HISTORY"]) if with_alarm else (
        rng.choice(_NEGATIVE_TITLES))
    drawn = [canvas.title_bar(title, rng.choice(_BRAND[family]), program=rng.random() < 0.3)]
    y = canvas.line_height + 14
    bottom = canvas.height - canvas.line_height - 6
    for line, code in alarms:
        if y + canvas.line_height > bottom:
            break
        codes.add(code)
        when = _timestamp(rng)
        box = canvas.text((canvas.margin, y), when, fill=canvas.colours["fg"], font=canvas.small)
        canvas.alarm_line(box[2] + canvas.size, y, line, highlight=False)
        drawn.append(f"{when} {line}")
        y += canvas.line_height
    y += canvas.line_height // 2
    y, more = canvas.status_block(y, _status_lines(rng), bottom=bottom)
    drawn += more
    drawn.append(canvas.soft_keys())
    return codes, drawn


def _position_page(canvas: _Canvas, y: int, bottom: int) -> tuple[int, list[str]]:
    """The page behind a pop-up or under a message line: positions in large type, then status lines."""
    rng = canvas.rng
    big = _font(canvas.font_path, int(canvas.size * rng.uniform(1.4, 2.0)))
    drawn = []
    for axis in rng.sample("XYZ", 3):
        line = f"{axis} {rng.uniform(-999, 999):10.3f}"
        if y + big.size * 1.4 > bottom:
            break
        canvas.text((canvas.margin + canvas.size, y), line, fill=canvas.colours["fg"], font=big)
        drawn.append(line)
        y += int(big.size * 1.4)
    y, more = canvas.status_block(y + canvas.line_height // 2, _status_lines(rng)[:4], bottom=bottom)
    return y, drawn + more


def _layout_popup(canvas: _Canvas, family: str, with_alarm: bool) -> tuple[set[str], list[str]]:
    """A pop-up dialog over the position page: a framed box with its own title bar, the alarm (or a notice)
    inside, and a button."""
    rng = canvas.rng
    drawn = [canvas.title_bar(rng.choice(_NEGATIVE_TITLES), rng.choice(_BRAND[family]), program=rng.random() < 0.5)]
    _, behind = _position_page(canvas, canvas.line_height + 14, canvas.height - canvas.line_height - 6)
    drawn += behind
    alarms = _alarms(rng, family, rng.choice([1, 1, 2])) if with_alarm else [(rng.choice(_NOTICES), "")]
    codes = {code for _, code in alarms if code}
    box_w = int(canvas.width * rng.uniform(0.7, 0.9))
    box_h = canvas.line_height * (len(alarms) + 4)
    x0 = (canvas.width - box_w) // 2 + rng.randrange(-canvas.width // 20, canvas.width // 20 + 1)
    y0 = int(canvas.height * rng.uniform(0.25, 0.45))
    face = rng.choice([canvas.colours["bg"], canvas.colours["bar"], (230, 230, 230), (40, 40, 40)])
    ink = (0, 0, 0) if sum(face) > 380 else (255, 255, 255)
    if rng.random() < 0.6:  # a drop shadow
        canvas.draw.rectangle([x0 + 6, y0 + 6, x0 + box_w + 6, y0 + box_h + 6], fill=(0, 0, 0))
    canvas.draw.rectangle([x0, y0, x0 + box_w, y0 + box_h], fill=face, outline=ink, width=rng.choice([1, 2, 3]))
    header = rng.choice([(200, 20, 20), (230, 150, 0), canvas.colours["bar"]])
    canvas.draw.rectangle([x0, y0, x0 + box_w, y0 + canvas.line_height + 4], fill=header)
    heading = rng.choice(["ALARM", "Alarm", "Error", "Störung", "ATTENTION", "Message"]) if with_alarm else (
        rng.choice(["Message", "Info", "Hinweis", "NOTICE"]))
    canvas.text((x0 + canvas.margin, y0 + 3), heading, fill=(255, 255, 255) if sum(header) < 500 else (0, 0, 0))
    drawn.append(heading)
    y = y0 + canvas.line_height * 2
    saved = canvas.colours["alarm"]
    canvas.colours["alarm"] = ink if rng.random() < 0.6 else (200, 0, 0) if sum(face) > 380 else (255, 90, 90)
    for line, _ in alarms:
        if with_alarm:
            canvas.alarm_line(x0 + canvas.margin, y, line, highlight=False, right=x0 + box_w - canvas.margin)
        else:
            canvas.text((x0 + canvas.margin, y), line, fill=ink)
        drawn.append(line)
        y += canvas.line_height
    canvas.colours["alarm"] = saved
    button = rng.choice(["OK", "RESET", "Quittieren", "Acknowledge", "CANCEL"])
    bx = x0 + box_w - canvas.size * (len(button) + 2)
    by = y0 + box_h - canvas.line_height - 4
    canvas.draw.rectangle([bx, by, bx + canvas.size * (len(button) + 1), by + canvas.line_height], outline=ink, width=2)
    canvas.text((bx + canvas.size // 2, by + 2), button, fill=ink, font=canvas.small)
    drawn.append(button)
    drawn.append(canvas.soft_keys())
    return codes, drawn


def _layout_message_line(canvas: _Canvas, family: str, with_alarm: bool) -> tuple[set[str], list[str]]:
    """The position page with the newest alarm (or a notice) in a coloured band at the top or the bottom,
    as many controls show it whatever page is open."""
    rng = canvas.rng
    drawn = [canvas.title_bar(rng.choice(_NEGATIVE_TITLES), rng.choice(_BRAND[family]), program=rng.random() < 0.5)]
    at_top = rng.random() < 0.5
    band_y = canvas.line_height + 10 if at_top else canvas.height - canvas.line_height * 2 - 12
    top = band_y + canvas.line_height + 10 if at_top else canvas.line_height + 14
    bottom = canvas.height - canvas.line_height - 6 if at_top else band_y - 6
    _, behind = _position_page(canvas, top, bottom)
    drawn += behind
    band = rng.choice([(200, 20, 20), (240, 200, 0), canvas.colours["bar"], (255, 255, 255)])
    ink = (0, 0, 0) if sum(band) > 380 else (255, 255, 255)
    canvas.draw.rectangle([0, band_y - 3, canvas.width, band_y + canvas.line_height], fill=band)
    if with_alarm:
        [(line, code)] = _alarms(rng, family, 1)
        codes = {code}
        if not line.upper().startswith(("ALARM", "ERR")):
            line = rng.choice(["", "", "ALM ", "ALARM "]) + line
        saved = canvas.colours["alarm"]
        canvas.colours["alarm"] = ink
        canvas.alarm_line(canvas.margin, band_y, line, highlight=False)
        canvas.colours["alarm"] = saved
    else:
        codes, line = set(), rng.choice(_NOTICES)
        canvas.text((canvas.margin, band_y), line, fill=ink)
    drawn.append(line)
    drawn.append(canvas.soft_keys())
    return codes, drawn


_LAYOUTS = {
    "list": _layout_list,
    "table": _layout_table,
    "history": _layout_history,
    "popup": _layout_popup,
    "message_line": _layout_message_line,
}


def render_screen(rng: random.Random, family: str, *, with_alarm: bool = True, part: Part = TUNING) -> Screen:
    """Draw one controller screen of `family` in one of `part`'s layouts and fonts."""
    size = rng.choice([(640, 480), (800, 600), (1024, 768), (1280, 800), (1280, 1024)])
    fonts = available_fonts(part) or [None]
    font_path = rng.choice(fonts)
    layout = rng.choice(part.layouts)
    canvas = _Canvas(rng, font_path, size)
    codes, drawn = _LAYOUTS[layout](canvas, family, with_alarm)
    return Screen(
        image=canvas.image,
        codes=frozenset(codes),
        lines=drawn,
        alarm_boxes=canvas.alarm_boxes,
        layout=layout,
        font=Path(font_path).stem if font_path else "pillow",
    )


# --- photographing a screen ------------------------------------------------------------------------------

PHOTO_SIZE = (4032, 3024)


def photo_with_conditions(rng: random.Random, screen: Screen) -> tuple[bytes, tuple[str, ...]]:
    """A 4032x3024 JPEG of `screen` as a tablet takes it, and the names of the conditions it was taken in.

    Always: bezel and surroundings, the screen rotated and seen at an angle, out of focus, sensor noise,
    JPEG, sometimes stored sideways with an EXIF orientation tag as phones do. At times: the screen
    running off one or two edges of the frame (its alarm lines always in it: a photo that cuts the alarm
    off is a bad photo, not a test), a lamp's glare, moiré from the screen's pixel grid, low light, and
    smudged glass.
    """
    conditions: list[str] = []
    width, height = PHOTO_SIZE
    # Work at half size and upscale at the end: the optics blur anyway, and it keeps the corpus quick.
    work_w, work_h = width // 2, height // 2
    ambient = tuple(rng.randrange(40, 200) for _ in range(3))
    photo = Image.new("RGB", (work_w, work_h), ambient)
    draw = ImageDraw.Draw(photo)
    for _ in range(6):  # machine housing, panels and buttons around the screen
        x0, y0 = rng.randrange(0, work_w), rng.randrange(0, work_h)
        draw.rectangle(
            [x0, y0, x0 + rng.randrange(40, 600), y0 + rng.randrange(40, 400)],
            fill=tuple(rng.randrange(20, 230) for _ in range(3)),
        )

    cut_off = rng.random() < 0.3
    fill = rng.uniform(0.85, 1.1) if cut_off else rng.uniform(0.45, 0.85)  # of the frame's width
    screen_w = int(work_w * fill)
    screen_h = int(screen_w * screen.image.height / screen.image.width)
    if screen_h > work_h * (1.1 if cut_off else 0.85):
        screen_h = int(work_h * (1.1 if cut_off else 0.85))
        screen_w = int(screen_h * screen.image.width / screen.image.height)
    bezel = rng.randrange(15, 80)
    bezel_colour = tuple([rng.randrange(15, 90)] * 3)
    panel = Image.new("RGB", (screen_w + 2 * bezel, screen_h + 2 * bezel), bezel_colour)
    panel.paste(screen.image.resize((screen_w, screen_h), Image.Resampling.LANCZOS), (bezel, bezel))
    # Where the alarm lines are, carried through the same geometry as the panel.
    keep = Image.new("L", panel.size, 0)
    sx, sy = screen_w / screen.image.width, screen_h / screen.image.height
    for x0, y0, x1, y1 in screen.alarm_boxes:
        ImageDraw.Draw(keep).rectangle(
            [bezel + x0 * sx, bezel + y0 * sy, bezel + x1 * sx, bezel + y1 * sy], fill=255
        )

    # Perspective: move the panel's corners independently, then rotate the whole.
    pw, ph = panel.size
    jitter = rng.uniform(0.0, 0.07)
    corners = [(0, 0), (pw, 0), (pw, ph), (0, ph)]
    moved = [
        (x + rng.uniform(-jitter, jitter) * pw, y + rng.uniform(-jitter, jitter) * ph) for x, y in corners
    ]
    bounds = (
        int(max(x for x, _ in moved) - min(x for x, _ in moved)) + 2,
        int(max(y for _, y in moved) - min(y for _, y in moved)) + 2,
    )
    shift_x, shift_y = min(x for x, _ in moved), min(y for _, y in moved)
    # Image.transform maps each output pixel back to the panel: output corners (moved) to panel corners.
    coefficients = _perspective_coefficients(
        source=corners, target=[(x - shift_x, y - shift_y) for x, y in moved]
    )
    angle = rng.uniform(-9, 9)

    def geometry(layer: Image.Image, resample=Image.Resampling.BILINEAR) -> Image.Image:
        warped = layer.transform(bounds, Image.Transform.PERSPECTIVE, coefficients, resample)
        return warped.rotate(angle, resample=resample, expand=True)

    warped, mask, keep = geometry(panel), geometry(Image.new("L", panel.size, 255)), geometry(keep)
    keep_box = keep.getbbox() or (0, 0, warped.width, warped.height)
    margin = 40
    if cut_off:
        # The alarm lines (with a margin) must fit; the rest of the screen may run off the frame.
        need_w, need_h = keep_box[2] - keep_box[0] + 2 * margin, keep_box[3] - keep_box[1] + 2 * margin
        shrink = min(1.0, 0.97 * work_w / need_w, 0.97 * work_h / need_h)
    else:
        shrink = min(1.0, 0.97 * work_w / warped.width, 0.97 * work_h / warped.height)
    if shrink < 1.0:
        size = (int(warped.width * shrink), int(warped.height * shrink))
        warped, mask, keep = (layer.resize(size, Image.Resampling.BILINEAR) for layer in (warped, mask, keep))
        keep_box = keep.getbbox() or (0, 0, warped.width, warped.height)
    if cut_off:
        low_x, high_x = margin - keep_box[0], work_w - margin - keep_box[2]
        low_y, high_y = margin - keep_box[1], work_h - margin - keep_box[3]
        px, py = rng.randint(low_x, max(low_x, high_x)), rng.randint(low_y, max(low_y, high_y))
        inside = px >= 0 and py >= 0 and px + warped.width <= work_w and py + warped.height <= work_h
        if inside:  # push it against an edge it can run off
            side = rng.choice(["left", "right", "top", "bottom"])
            px = {"left": low_x, "right": max(low_x, high_x)}.get(side, px)
            py = {"top": low_y, "bottom": max(low_y, high_y)}.get(side, py)
        if px < 0 or py < 0 or px + warped.width > work_w or py + warped.height > work_h:
            conditions.append("cut-off")
    else:
        px = rng.randrange(0, work_w - warped.width + 1)
        py = rng.randrange(0, work_h - warped.height + 1)
    photo.paste(warped, (px, py), mask)
    screen_mask = Image.new("L", (work_w, work_h), 0)
    screen_mask.paste(mask, (px, py))

    array = np.asarray(photo, dtype=np.float32)
    gy, gx = np.mgrid[0:work_h, 0:work_w].astype(np.float32)
    on_screen = np.asarray(screen_mask, dtype=np.float32)[..., None] / 255
    if rng.random() < 0.2:
        # Moiré: the camera's pixel grid beating against the screen's, a fine wavy pattern of light and dark.
        conditions.append("moire")
        period, theta = rng.uniform(3.5, 9), rng.uniform(0, np.pi)
        wave = np.sin(2 * np.pi * (gx * np.cos(theta) + gy * np.sin(theta)) / period)
        wave *= 0.5 + 0.5 * np.sin(2 * np.pi * gx / rng.uniform(200, 600))  # the beat
        array += rng.uniform(8, 22) * wave[..., None] * on_screen
    if rng.random() < 0.25:
        # Dirty glass: coolant and fingerprints, soft patches where the screen is hazed over.
        conditions.append("dirty")
        haze = Image.new("L", (work_w, work_h), 0)
        smudges = ImageDraw.Draw(haze)
        for _ in range(rng.randrange(3, 9)):
            cx, cy = rng.randrange(0, work_w), rng.randrange(0, work_h)
            rx, ry = rng.randrange(30, 260), rng.randrange(20, 180)
            smudges.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=rng.randrange(60, 140))
        haze = haze.filter(ImageFilter.GaussianBlur(rng.uniform(15, 40)))
        alpha = np.asarray(haze, dtype=np.float32)[..., None] / 255 * on_screen
        array = array * (1 - alpha) + rng.uniform(120, 200) * alpha
    if rng.random() < 0.6:
        # Glare: a soft bright blob where a lamp reflects on the glass.
        conditions.append("glare")
        cx, cy = rng.uniform(0.2, 0.8) * work_w, rng.uniform(0.2, 0.8) * work_h
        radius = rng.uniform(0.1, 0.35) * work_w
        strength = rng.uniform(40, 120)
        array += strength * np.exp(-(((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * radius**2)))[..., None]
    low_light = rng.random() < 0.2
    if low_light:
        conditions.append("low-light")
        array = array * rng.uniform(0.3, 0.55)
    else:
        array = array * rng.uniform(0.75, 1.15)
    # A colour cast from the workshop lights.
    array += np.array([rng.uniform(-12, 12) for _ in range(3)], dtype=np.float32)
    image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.6)))
    image = image.resize(PHOTO_SIZE, Image.Resampling.BILINEAR)
    noise_rng = np.random.default_rng(rng.randrange(2**32))
    sigma = rng.uniform(6, 14) if low_light else rng.uniform(2, 9)
    array = np.asarray(image, dtype=np.int16) + noise_rng.normal(0, sigma, (height, width, 1)).astype(np.int16)
    image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))

    exif = Image.Exif()
    if rng.random() < 0.25:
        # Stored sideways with the orientation in EXIF, as a tablet held in portrait does.
        orientation = rng.choice([6, 8, 3])
        transpose = {
            6: Image.Transpose.ROTATE_90,
            8: Image.Transpose.ROTATE_270,
            3: Image.Transpose.ROTATE_180,
        }
        image = image.transpose(transpose[orientation])
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=rng.randrange(60, 93), exif=exif)
    return buffer.getvalue(), tuple(conditions)


def _perspective_coefficients(*, source, target):
    """Coefficients for Image.transform(PERSPECTIVE) that take each of the `target` (output) points back to
    the matching `source` (input) point."""
    matrix = []
    for (x, y), (u, v) in zip(target, source):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    rhs = np.array([c for point in source for c in point], dtype=np.float64)
    return np.linalg.solve(np.array(matrix, dtype=np.float64), rhs).tolist()




# --- the corpus --------------------------------------------------------------------------------------------


def generate(seed: int = 0, *, per_family: int = 10, negatives: int = 10, kinds=KINDS, part: Part | str = TUNING):
    """Yield samples of one part of the corpus: for each kind, `per_family` alarm screens of every family
    and `negatives` screens without an alarm (of random families). Deterministic given `seed` and `part`."""
    part = PARTS[part] if isinstance(part, str) else part
    # The parts draw from streams of their own: the same seed gives unrelated screens in each.
    rng = random.Random(f"{part.name}:{seed}")
    for kind in kinds:
        plan = [(family, True) for family in FAMILIES for _ in range(per_family)]
        plan += [(rng.choice(FAMILIES), False) for _ in range(negatives)]
        for index, (family, with_alarm) in enumerate(plan):
            screen = render_screen(rng, family, with_alarm=with_alarm, part=part)
            conditions: tuple[str, ...] = ()
            if kind == "photo":
                data, conditions = photo_with_conditions(rng, screen)
            else:
                buffer = io.BytesIO()
                screen.image.save(buffer, "PNG")
                data = buffer.getvalue()
            label = family if with_alarm else "negative"
            yield Sample(
                name=f"{part.name}-{kind}-{label}-{index:03d}",
                family=label,
                kind=kind,
                data=data,
                codes=screen.codes,
                lines=screen.lines,
                part=part.name,
                layout=screen.layout,
                font=screen.font,
                conditions=conditions,
            )
