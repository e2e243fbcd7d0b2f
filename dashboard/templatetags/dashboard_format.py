"""The dashboard's shares (durations, ages and people are the site's: the `logbook` filters)."""

from django import template

register = template.Library()


@register.filter
def percent(fraction):
    return "–" if fraction is None else f"{fraction * 100:.0f} %"


@register.filter
def percent_1(fraction):
    """One decimal: downtime shares are small, and 4.6 % against 5.4 % matters."""
    return "–" if fraction is None else f"{fraction * 100:.1f} %"


@register.filter
def signed_percent(fraction):
    """+12 %, −5 %, ±0 % (a typographic minus: it reads better in big type)."""
    if fraction is None:
        return "–"
    value = round(fraction * 100)
    return f"+{value} %" if value > 0 else f"−{-value} %" if value < 0 else "±0 %"
