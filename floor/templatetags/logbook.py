from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def duration(value):
    """A timedelta as people read it on a busy screen: '35 min', '2 h 05 min', '3 d 4 h'."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@register.filter
def person(user):
    """A user as shown to people: full name, else username; '' for nobody."""
    if not user:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def age(moment):
    """How long ago, as duration() writes it."""
    if moment is None:
        return ""
    return duration(timezone.now() - moment)
