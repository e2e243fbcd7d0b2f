"""Number formats of the dashboard's figures (the same as the charts use)."""

from django import template

from dashboard.charts import format_duration, format_hours

register = template.Library()


@register.filter
def duration(seconds):
    return format_duration(seconds)


@register.filter
def hours(seconds):
    return format_hours(seconds)


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


@register.filter
def age_since(moment):
    from django.utils import timezone

    return format_duration((timezone.now() - moment).total_seconds()) if moment else "–"
