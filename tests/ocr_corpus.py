"""Synthetic corpus of CNC controller screens for the OCR tests and benchmark.

Each sample is a screen in the style of one controller family (Fanuc, Siemens, Haas, Okuma, Mitsubishi,
Heidenhain, or an unknown make showing "ALARM: 123"), rendered with Pillow either as a clean screenshot
or as a simulated tablet photo (4032x3024 JPEG: bezel, rotation, perspective, blur, glare, noise, EXIF
orientation). Negatives are the same screens without an alarm.

Everything is drawn from one `random.Random(seed)`, so a seed always yields the same corpus. Fonts,
colours, layout, sizes and the language of the text around the codes vary, so that the pipeline cannot
be tuned to one look. Fonts come from Debian packages (fonts-dejavu-core, fonts-liberation,
fonts-urw-base35, fonts-noto-mono); a missing file is skipped, and Pillow's built-in font is the last
resort.
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

_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-Bold.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/URWGothic-Book.otf",
)


def available_fonts() -> list[str]:
    """The font files of the list above that this machine has (an empty list means Pillow's own)."""
    return [path for path in _FONT_FILES if Path(path).exists()]


def _font(path: str | None, size: int) -> ImageFont.ImageFont:
    if path:
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

    @property
    def negative(self) -> bool:
        return not self.codes


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
    # The draws happen in this order, so that a seed keeps giving the same corpus.
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
    return {"bg": bg, "fg": fg, "alarm": alarm, "bar": bar}


def render_screen(
    rng: random.Random, family: str, *, with_alarm: bool = True
) -> tuple[Image.Image, frozenset[str], list[str]]:
    """Draw one controller screen. Returns the image, the codes on it, and the lines of text drawn."""
    width, height = rng.choice([(640, 480), (800, 600), (1024, 768), (1280, 800), (1280, 1024)])
    colours = _palette(rng)
    fonts = available_fonts() or [None]
    font_path = rng.choice(fonts)
    size = max(12, int(height / rng.uniform(26, 42)))
    font = _font(font_path, size)
    small = _font(font_path, max(11, int(size * 0.8)))
    image = Image.new("RGB", (width, height), colours["bg"])
    draw = ImageDraw.Draw(image)

    codes: set[str] = set()
    alarm_lines: list[str] = []
    if with_alarm:
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            line, code = _alarm_line(rng, family)
            if code not in codes:
                codes.add(code)
                alarm_lines.append(line)
    title = rng.choice(_TITLES[family] if with_alarm else _NEGATIVE_TITLES)
    brand = rng.choice(_BRAND[family])
    status = _status_lines(rng)

    line_height = int(size * rng.uniform(1.3, 1.7))
    margin = rng.randrange(8, 30)
    # Title bar in a contrasting colour, as most controls have.
    draw.rectangle([0, 0, width, line_height + 6], fill=colours["bar"])
    bar_text = colours["fg"] if _contrast(colours["bar"], colours["fg"]) > 90 else colours["bg"]
    draw.text((margin, 3), f"{title}   {brand}".strip(), font=font, fill=bar_text)
    y = line_height + 14
    drawn = [f"{title} {brand}".strip()]
    alarm_at_top = rng.random() < 0.5
    blocks = (
        [("alarm", alarm_lines), ("status", status)]
        if alarm_at_top
        else [("status", status), ("alarm", alarm_lines)]
    )
    for kind, lines in blocks:
        for line in lines:
            if y + line_height > height - line_height - 6:
                break
            if kind == "alarm":
                if rng.random() < 0.35:
                    # A highlighted (selected) alarm row.
                    draw.rectangle(
                        [margin - 4, y - 2, width - margin, y + line_height - 2], fill=colours["bar"]
                    )
                    fill = bar_text
                else:
                    fill = colours["alarm"]
                draw.text((margin, y), line, font=font, fill=fill)
            else:
                x = margin + (rng.randrange(0, width // 3) if rng.random() < 0.3 else 0)
                draw.text((x, y), line, font=small if rng.random() < 0.5 else font, fill=colours["fg"])
            drawn.append(line)
            y += line_height
        y += line_height // 2
    # Soft-key row along the bottom edge.
    keys = rng.sample(["POS", "PROG", "OFFSET", "SYSTEM", "MESSAGE", "GRAPH", "HIST", "DIAG", "Menu"], 5)
    key_width = width // len(keys)
    for index, key in enumerate(keys):
        x0 = index * key_width
        draw.rectangle(
            [x0 + 2, height - line_height - 4, x0 + key_width - 2, height - 2], outline=colours["fg"]
        )
        draw.text((x0 + 8, height - line_height), key, font=small, fill=colours["fg"])
    drawn.append(" ".join(keys))
    return image, frozenset(codes), drawn


def _contrast(a, b) -> float:
    return abs(sum(a) - sum(b)) / 3


# --- photographing a screen ------------------------------------------------------------------------------

PHOTO_SIZE = (4032, 3024)


def photograph(rng: random.Random, screen: Image.Image) -> bytes:
    """Simulate a tablet photo of `screen`: 4032x3024, bezel and surroundings, the screen rotated and seen
    at an angle, out of focus, with glare, sensor noise and JPEG, sometimes stored sideways with an EXIF
    orientation tag as phones do."""
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

    fill = rng.uniform(0.45, 0.85)  # how much of the frame's width the screen takes
    screen_w = int(work_w * fill)
    screen_h = int(screen_w * screen.height / screen.width)
    if screen_h > work_h * 0.85:
        screen_h = int(work_h * 0.85)
        screen_w = int(screen_h * screen.width / screen.height)
    bezel = rng.randrange(15, 80)
    bezel_colour = tuple([rng.randrange(15, 90)] * 3)
    panel = Image.new("RGB", (screen_w + 2 * bezel, screen_h + 2 * bezel), bezel_colour)
    panel.paste(screen.resize((screen_w, screen_h), Image.Resampling.LANCZOS), (bezel, bezel))

    # Perspective: move the panel's corners independently, then rotate the whole.
    pw, ph = panel.size
    jitter = rng.uniform(0.0, 0.07)
    corners = [(0, 0), (pw, 0), (pw, ph), (0, ph)]
    moved = [
        (x + rng.uniform(-jitter, jitter) * pw, y + rng.uniform(-jitter, jitter) * ph) for x, y in corners
    ]
    bounds_w = int(max(x for x, _ in moved) - min(x for x, _ in moved)) + 2
    bounds_h = int(max(y for _, y in moved) - min(y for _, y in moved)) + 2
    shift_x, shift_y = min(x for x, _ in moved), min(y for _, y in moved)
    # Image.transform maps each output pixel back to the panel: output corners (moved) to panel corners.
    coefficients = _perspective_coefficients(
        source=corners, target=[(x - shift_x, y - shift_y) for x, y in moved]
    )
    warped = panel.transform(
        (bounds_w, bounds_h),
        Image.Transform.PERSPECTIVE,
        coefficients,
        Image.Resampling.BILINEAR,
        fillcolor=None,
    )
    mask = Image.new("L", panel.size, 255).transform(
        (bounds_w, bounds_h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    angle = rng.uniform(-9, 9)
    warped = warped.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    mask = mask.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    # The whole screen stays in the frame: a photo that cuts the alarm off is a bad photo, not a test.
    shrink = min(1.0, 0.97 * work_w / warped.width, 0.97 * work_h / warped.height)
    if shrink < 1.0:
        size = (int(warped.width * shrink), int(warped.height * shrink))
        warped = warped.resize(size, Image.Resampling.BILINEAR)
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    px = rng.randrange(0, work_w - warped.width + 1)
    py = rng.randrange(0, work_h - warped.height + 1)
    photo.paste(warped, (px, py), mask)

    array = np.asarray(photo, dtype=np.float32)
    # Glare: a soft bright blob where a lamp reflects on the glass.
    if rng.random() < 0.6:
        gy, gx = np.mgrid[0:work_h, 0:work_w]
        cx, cy = rng.uniform(0.2, 0.8) * work_w, rng.uniform(0.2, 0.8) * work_h
        radius = rng.uniform(0.1, 0.35) * work_w
        strength = rng.uniform(40, 120)
        array += strength * np.exp(-(((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * radius**2)))[..., None]
    # Exposure and a colour cast from the workshop lights.
    array = array * rng.uniform(0.75, 1.15) + np.array(
        [rng.uniform(-12, 12) for _ in range(3)], dtype=np.float32
    )
    image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.6)))
    image = image.resize(PHOTO_SIZE, Image.Resampling.BILINEAR)
    noise_rng = np.random.default_rng(rng.randrange(2**32))
    array = np.asarray(image, dtype=np.int16) + noise_rng.normal(
        0, rng.uniform(2, 9), (height, width, 1)
    ).astype(np.int16)
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
    return buffer.getvalue()


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


def generate(seed: int = 0, *, per_family: int = 10, negatives: int = 10, kinds=KINDS):
    """Yield samples: for each kind, `per_family` alarm screens of every family and `negatives` screens
    without an alarm (of random families). Deterministic given `seed`."""
    rng = random.Random(seed)
    for kind in kinds:
        plan = [(family, True) for family in FAMILIES for _ in range(per_family)]
        plan += [(rng.choice(FAMILIES), False) for _ in range(negatives)]
        for index, (family, with_alarm) in enumerate(plan):
            screen, codes, lines = render_screen(rng, family, with_alarm=with_alarm)
            if kind == "photo":
                data = photograph(rng, screen)
            else:
                buffer = io.BytesIO()
                screen.save(buffer, "PNG")
                data = buffer.getvalue()
            label = family if with_alarm else "negative"
            yield Sample(
                name=f"{kind}-{label}-{index:03d}",
                family=label,
                kind=kind,
                data=data,
                codes=codes,
                lines=lines,
            )
