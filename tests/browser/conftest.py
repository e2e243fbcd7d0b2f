import pytest


@pytest.fixture(autouse=True)
def debug_as_make_run(settings):
    """Browser tests run as `make run` serves the app, with DEBUG on: anything that behaves differently
    in development (django-htmx's error handler did) shows here. The production-mode run is
    tests/production/."""
    settings.DEBUG = True
