"""The API against its own OpenAPI schema, by schemathesis: generated requests to every operation, valid and
invalid, and every answer checked against the schema (no 500, no undocumented status code, header or body
shape). Bounded examples per operation, so it runs in the suite on both databases."""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from floor import roles
from floor.models import APIKey
from floor.reporting import record_remedy, report_issue

EXAMPLES_PER_OPERATION = 20

# A request the schema allows may still be refused for what it means: a machine id that exists nowhere
# (400, naming the field), an ETag gone stale (412), a key used for another request (422). Those are
# documented answers; anything else to valid data (a 500 above all) fails. Invalid data must be refused.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", 400, 401, 403, 404, 409, 412, 422, 429]}}})

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=CONFIG)
schema.app = get_wsgi_application()


@pytest.fixture
def in_test_transaction():
    """schemathesis calls the WSGI app itself, not through Django's test client, which keeps the test's
    database connection open across requests; so do the same here (else PostgreSQL's is closed)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def key(machine, operator, maintenance, settings, tmp_path, in_test_transaction):
    """A manager's key (every operation is open to it) and a little factory to act on."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.API_THROTTLE_RATE = "100000/min"
    cache.clear()
    issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], description="Spindle hot",
                         is_runnable=False, by=operator)
    record_remedy(issue=issue, description="Fan cleaned", by=maintenance)
    return APIKey.issue(name="schemathesis", role=roles.MANAGER)[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_every_operation_keeps_to_its_schema(case, key):
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"})
