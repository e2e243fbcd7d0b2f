from django.apps import AppConfig


class FloorConfig(AppConfig):
    name = "floor"
    verbose_name = "Shop floor"

    def ready(self):
        from floor import checks  # noqa: F401  (registers the factory-database check)
