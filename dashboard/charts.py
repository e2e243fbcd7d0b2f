"""
Charts drawn on the server as inline SVG: no chart library and no JavaScript, so they print, work on an
offline factory network and on the wall screen's TV browser.

Every chart is an <svg> with a <title> and a <desc> that says in words what it shows; each bar or point
carries its own <title> (a tooltip on hover, read by screen readers). Where a link is given, the bar is a
link (to the maintenance desk, filtered to the issues behind it) named by that <title>, which begins with
the label drawn beside it. A chart without links is one image (role="img"); one with links is a group
(role="group"): an image's content is hidden from assistive technology, so its links could be focused
but not read. Text and axes use currentColor, so one chart reads on the light dashboard and on the dark
wall screen.

The functions take figures already computed (dashboard/metrics.py) and return safe markup; every text
that comes from data goes through format_html / escape.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from floor import formats

BLUE = "#2563eb"
RED = "#dc2626"
AMBER = "#d97706"
FONT = 13

_ids = itertools.count(1)


# --- formatting shared with the templates (dashboard/templatetags/dashboard_format.py) -------------
def _nice_ceiling(value: float) -> float:
    """The axis end: four steps of 1, 2, 2.5 or 5 times a power of ten, at or above value."""
    if value <= 0:
        return 4
    quarter = value / 4
    power = 10 ** math.floor(math.log10(quarter))
    for step in (1, 2, 2.5, 5, 10):
        if quarter <= step * power:
            return 4 * step * power
    return 40 * power


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.1f}"


# Advance widths of DejaVu Sans, the stylesheet's first sans-serif font and the widest of its list, in
# thousandths of the font size (read from the font file). A character not listed counts as the widest:
# a label is measured at least as long as any browser draws it, so the one that fits is never clipped.
_WIDTHS = {
    char: width
    for chars, width in [
        ("'ijl", 278), ("IJ", 295), (",. ", 318), ("/:;\\|", 337), ("f", 352), ("-", 361), ("()[]t", 392),
        ("!r", 411), ('"', 460), ("*_`", 500), ("sz", 525), ("?c", 550), ("LFk", 579), ("vxy", 592),
        ("PTYoae", 615), ("E", 632), ("hnubdgpqS0123456789${}", 636), ("K", 656), ("AVXZBR", 695),
        ("C", 698), ("U", 732), ("NH", 752), ("DG&", 780), ("OQ", 787), ("w", 818), ("#+<=>^~", 838),
        ("M", 863), ("%", 950), ("m", 974), ("W", 989),
    ]
    for char in chars
}


def _text_width(text: str, font: float) -> float:
    return sum(_WIDTHS.get(char, 1000) for char in text) * font / 1000


def _fit(text: str, room: float, font: float = FONT) -> str:
    """`text` as it fits in `room` user units at `font`: whole, or cut with an ellipsis (the whole text is
    in the bar's <title>)."""
    if _text_width(text, font) <= room:
        return text
    while text and _text_width(text + "…", font) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _open(*, width, height, title, description, linked, font=FONT):
    n = next(_ids)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="{}" '
        'aria-labelledby="chart{}-title chart{}-desc" class="h-auto w-full" font-size="{}" '
        'font-family="inherit"><title id="chart{}-title">{}</title><desc id="chart{}-desc">{}</desc>',
        width, height, "group" if linked else "img", n, n, font, n, title, n, description,
    )


def _link(href, inner):
    """A bar as a link when it has somewhere to go. The link is named by the <title> that `inner` begins
    with; an aria-label instead would have to repeat the drawn text word for word (a label shortened with
    an ellipsis never does), or voice control could not find it by what it shows."""
    if not href:
        return format_html("<g>{}</g>", inner)
    return format_html('<a href="{}">{}</a>', href, inner)


# --- horizontal bars --------------------------------------------------------------------------------
def bar_chart(*, title, description, bars, unit="", color=BLUE, label_width=190, width=640):
    """Horizontal bars, largest first as given. `bars`: [(label, value, value_text, href or None)]."""
    row, top, bottom = 30, 8, 26
    height = top + row * max(len(bars), 1) + bottom
    plot = width - label_width - 70
    top_value = _nice_ceiling(max((b[1] for b in bars), default=0))
    parts = [_open(width=width, height=height, title=title, description=description,
                   linked=any(b[3] for b in bars))]
    for i in range(5):  # vertical grid lines with values
        x = label_width + plot * i / 4
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="0.15"/>'
            '<text x="{}" y="{}" text-anchor="middle" fill="currentColor" fill-opacity="0.7">{}</text>',
            f"{x:.1f}", f"{x:.1f}", top, height - bottom, f"{x:.1f}", height - 8,
            _number(top_value * i / 4) + unit,
        ))
    if not bars:
        parts.append(format_html('<text x="{}" y="{}" fill="currentColor">Nothing in this period.</text>',
                                 label_width, top + 20))
    for i, (label, value, value_text, href) in enumerate(bars):
        y = top + i * row
        w = max(plot * value / top_value, 2 if value else 0)
        short = _fit(label, label_width - 8)  # drawn right-aligned, ending 8 units before the bar
        inner = format_html(
            '<title>{}: {}</title>'
            '<rect x="0" y="{}" width="{}" height="{}" fill="transparent"/>'
            '<text x="{}" y="{}" text-anchor="end" fill="currentColor">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="{}" rx="3" fill="{}"/>'
            '<text x="{}" y="{}" fill="currentColor" font-weight="bold">{}</text>',
            label, value_text,
            y, width, row,
            label_width - 8, y + row / 2 + 4.5, short,
            label_width, y + 5, f"{w:.1f}", row - 10, color,
            f"{label_width + w + 6:.1f}", y + row / 2 + 4.5, value_text,
        )
        parts.append(_link(href, inner))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


# --- issues per day: bars for the period, a line for the period before ------------------------------
def daily_chart(*, title, description, days, href_for_day=None, width=640, height=240, font=FONT):
    """`days`: [(date, count, count on the same day of the previous period)]. Bars are this period,
    the dashed line the previous one, shifted onto the same days."""
    left, right, top, bottom = 3 * font, 2 * font, font, 2.6 * font
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(days), 1)
    top_value = _nice_ceiling(max([max(c, p) for _, c, p in days] or [0]))
    step = plot_w / n
    parts = [_open(width=width, height=height, title=title, description=description, font=font,
                   linked=bool(href_for_day and days))]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="0.15"/>'
            '<text x="{}" y="{}" text-anchor="end" fill="currentColor" fill-opacity="0.7">{}</text>',
            left, width - right, f"{y:.1f}", f"{y:.1f}", left - 6, f"{y + 4:.1f}", _number(top_value * i / 4),
        ))
    label_every = max(1, math.ceil(n / 8))
    points = []
    for i, (day, count, previous) in enumerate(days):
        x = left + i * step
        h = plot_h * count / top_value
        inner = format_html(
            '<title>{}: {} reported (previous period: {})</title>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="transparent"/>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
            day.strftime("%a %d %b"), count, previous,
            f"{x:.1f}", top, f"{step:.1f}", plot_h,
            f"{x + step * 0.12:.1f}", f"{top + plot_h - h:.1f}", f"{max(step * 0.76, 1):.1f}", f"{h:.1f}", BLUE,
        )
        href = href_for_day(day) if href_for_day else None
        parts.append(_link(href, inner))
        points.append(f"{x + step / 2:.1f},{top + plot_h - plot_h * previous / top_value:.1f}")
        if (n - 1 - i) % label_every == 0:
            parts.append(format_html(
                '<text x="{}" y="{}" text-anchor="middle" fill="currentColor" fill-opacity="0.8">{}</text>',
                f"{x + step / 2:.1f}", f"{height - bottom + font * 1.4:.1f}",
                day.strftime("%d %b") if n > 7 else day.strftime("%a %d"),
            ))
    if points:
        parts.append(format_html(
            '<polyline points="{}" fill="none" stroke="currentColor" stroke-opacity="0.6" stroke-width="2" '
            'stroke-dasharray="5 4" aria-hidden="true"/>', " ".join(points),
        ))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


# --- Pareto of alarm codes ----------------------------------------------------------------------------
def pareto_chart(*, title, description, rows, href_for_code=None, width=640, height=260):
    """`rows`: [{code, issues, cumulative}] most frequent first. Bars: issues per code (left axis);
    line: cumulative share of all alarm codes (right axis, 0-100 %)."""
    # The right axis's "100 %" must fit between the plot and the edge.
    left, right, top, bottom = 40, math.ceil(6 + _text_width("100 %", FONT) + 2), 12, 54
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(rows), 1)
    step = plot_w / n
    top_value = _nice_ceiling(max((r["issues"] for r in rows), default=0))
    parts = [_open(width=width, height=height, title=title, description=description,
                   linked=bool(href_for_code and rows))]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="0.15"/>'
            '<text x="{}" y="{}" text-anchor="end" fill="currentColor" fill-opacity="0.7">{}</text>'
            '<text x="{}" y="{}" fill="{}">{} %</text>',
            left, width - right, f"{y:.1f}", f"{y:.1f}", left - 6, f"{y + 4:.1f}", _number(top_value * i / 4),
            width - right + 6, f"{y + 4:.1f}", AMBER, 25 * i,
        ))
    if not rows:
        parts.append(format_html('<text x="{}" y="{}" fill="currentColor">No alarm codes in this period.</text>',
                                 left + 10, top + 30))
    points = []
    for i, row in enumerate(rows):
        x = left + i * step
        h = plot_h * row["issues"] / top_value
        code = row["code"] if len(row["code"]) <= 10 else row["code"][:9] + "…"
        inner = format_html(
            '<title>{}: {} issues, {} % of alarm codes; {} % cumulative</title>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="transparent"/>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
            '<text x="{}" y="{}" text-anchor="end" transform="rotate(-35 {} {})" fill="currentColor" '
            'font-family="monospace" font-weight="bold">{}</text>',
            row["code"], row["issues"], round(row["share"] * 100), round(row["cumulative"] * 100),
            f"{x:.1f}", top, f"{step:.1f}", plot_h + bottom,
            f"{x + step * 0.15:.1f}", f"{top + plot_h - h:.1f}", f"{step * 0.7:.1f}", f"{h:.1f}", BLUE,
            f"{x + step / 2 + 4:.1f}", top + plot_h + 16, f"{x + step / 2 + 4:.1f}", top + plot_h + 16, code,
        )
        href = href_for_code(row["code"]) if href_for_code else None
        parts.append(_link(href, inner))
        points.append((x + step / 2, top + plot_h - plot_h * row["cumulative"]))
    if points:
        parts.append(format_html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" aria-hidden="true"/>',
            " ".join(f"{x:.1f},{y:.1f}" for x, y in points), AMBER,
        ))
        for x, y in points:
            parts.append(format_html('<circle cx="{}" cy="{}" r="3.5" fill="{}" aria-hidden="true"/>',
                                     f"{x:.1f}", f"{y:.1f}", AMBER))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


# --- downtime timeline --------------------------------------------------------------------------------
def timeline_chart(*, title, description, timeline, href_for_machine=None, width=1200, label_width=220,
                   font=FONT, row_h=26, day_format="%a %d"):
    """One row per machine, a red block per merged stop, over the timeline's days (local midnights as
    grid lines). `timeline` is metrics.downtime_timeline's result."""
    rows = timeline["rows"]
    start, end = timeline["start"], timeline["end"]
    days = timeline["days"]
    span = (start + timedelta(days=len(days)) - start).total_seconds()
    top, bottom = font * 1.8, 8
    height = top + row_h * max(len(rows), 1) + bottom
    plot_w = width - label_width - font * 4.6

    def x_of(moment: datetime) -> float:
        return label_width + plot_w * max(0.0, min(1.0, (moment - start).total_seconds() / span))

    parts = [_open(width=width, height=height, title=title, description=description, font=font,
                   linked=bool(href_for_machine and rows))]
    for i, day in enumerate(days):
        x = label_width + plot_w * i / len(days)
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="0.2"/>'
            '<text x="{}" y="{}" text-anchor="middle" fill="currentColor" fill-opacity="0.8">{}</text>',
            f"{x:.1f}", f"{x:.1f}", top - 4, height - bottom, f"{x + plot_w / len(days) / 2:.1f}",
            f"{top - font * 0.6:.1f}",
            day.strftime(day_format),
        ))
    now_x = x_of(end)
    parts.append(format_html(
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-width="1.5" stroke-dasharray="3 3"/>',
        f"{now_x:.1f}", f"{now_x:.1f}", top - 4, height - bottom,
    ))
    if not rows:
        parts.append(format_html('<text x="{}" y="{}" fill="currentColor">No machine was stopped.</text>',
                                 label_width + 10, top + 17))
    local = timezone.localtime
    for i, row in enumerate(rows):
        y = top + i * row_h
        name = _fit(row["name"], label_width - 8, font)
        blocks = []
        for s, e in row["stops"]:
            x1, x2 = x_of(s), x_of(e)
            blocks.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: stopped {} to {} ({})</title></rect>',
                f"{x1:.1f}", y + 4, f"{max(x2 - x1, 2):.1f}", row_h - 8, RED, row["name"],
                local(s).strftime("%a %d %b %H:%M"),
                "now" if e >= end else local(e).strftime("%a %d %b %H:%M"), formats.duration((e - s).total_seconds()),
            ))
        inner = format_html(
            '<title>{}: down {}</title>'
            '<rect x="0" y="{}" width="{}" height="{}" fill="currentColor" fill-opacity="{}"/>'
            '<text x="{}" y="{}" text-anchor="end" fill="currentColor">{}</text>{}'
            '<text x="{}" y="{}" fill="currentColor" font-weight="bold">{}</text>',
            row["name"], formats.hours(row["downtime_seconds"]),
            y, width, row_h, "0.04" if i % 2 else "0",
            label_width - 8, f"{y + row_h / 2 + font * 0.35:.1f}", name, mark_safe("".join(blocks)),
            label_width + plot_w + 6, f"{y + row_h / 2 + font * 0.35:.1f}", formats.hours(row["downtime_seconds"]),
        )
        href = href_for_machine(row["machine_id"]) if href_for_machine else None
        parts.append(_link(href, inner))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


def describe_bars(bars, *, unit_word, limit=5) -> str:
    """A sentence for <desc>: the first few bars in words."""
    if not bars:
        return "Nothing in this period."
    listed = "; ".join(f"{label}: {text}" for label, _, text, _ in bars[:limit])
    more = f"; and {len(bars) - limit} more" if len(bars) > limit else ""
    return f"{unit_word} — {listed}{more}."
