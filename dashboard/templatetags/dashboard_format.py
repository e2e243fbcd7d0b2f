"""The dashboard's shares and comparisons (durations, ages and people are the site's: the `logbook`
filters)."""

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


# Below this many issues in the previous period a percentage says more about chance than about the
# machines ("+41000 %" against one issue): the two counts are shown instead.
FEW_TO_COMPARE = 10


@register.simple_tag
def versus_previous(reported, previous, days):
    """How the issues reported compare with the previous period of `days` days, in words."""
    before = f"previous {days} day{'s' if days != 1 else ''}"
    if previous < FEW_TO_COMPARE:
        return f"{reported:,} now, {f'{previous:,}' if previous else 'none'} in the {before}"
    return f"{signed_percent((reported - previous) / previous)} vs {before} ({previous:,})"
