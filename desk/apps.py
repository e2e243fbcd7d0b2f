from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The maintenance desk: the queue of issues, its export, and the issue page with its actions."""

    name = "desk"
    verbose_name = "Maintenance desk"
