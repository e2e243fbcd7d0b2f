"""How durations, ages and people are written, on every page, chart, export and timeline alike."""

from datetime import timedelta

from django.utils import timezone

NONE = "–"


def duration(value) -> str:
    """A length of time (seconds or a timedelta) as people read it on a busy screen: 12 min, 3 h 05 min,
    17 h, 2 d 4 h. Minutes count below 10 hours, hours below two days; "–" for none."""
    if value is None:
        return NONE
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    minutes = round(max(seconds, 0) / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 10:
        return f"{hours} h {minutes:02} min"
    if hours < 48:
        return f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def hours(seconds) -> str:
    """Downtime in hours, for sums and charts: one decimal below 100 h, whole hours above; "–" for none."""
    if seconds is None:
        return NONE
    value = seconds / 3600
    return f"{value:,.1f} h" if value < 100 else f"{value:,.0f} h"


def age(moment) -> str:
    """How long ago `moment` was, written as duration() writes it; "–" for none."""
    if moment is None:
        return NONE
    return duration(timezone.now() - moment)


def person(user) -> str:
    """A user as shown to people: the full name, else the username; "" for nobody."""
    if not user:
        return ""
    return user.get_full_name() or user.get_username()
