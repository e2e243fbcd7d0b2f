"""The desk's mark of a machine that has just gone down; the rule is desk/alerts.py's."""

from django import template

from desk import alerts

register = template.Library()

# Computed per row from the issue's own fields: the queue's query stays as it is.
register.filter("new_machine_down", alerts.is_new_machine_down)
