"""The formatting filters of every page: one rule each, written in floor/formats.py."""

from django import template

from floor import formats

register = template.Library()

register.filter("duration", formats.duration)
register.filter("hours", formats.hours)
register.filter("age", formats.age)
register.filter("person", formats.person)
