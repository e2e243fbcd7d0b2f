"""The API's docs page: Swagger UI from this server alone (no outside host), within the site's CSP."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_maintenance_reads_the_api_docs_served_locally(live_server, desktop, sign_in, maintenance):
    outside = []
    desktop.on("request", lambda r: not r.url.startswith(live_server.url) and not r.url.startswith("data:")
               and outside.append(r.url))
    sign_in(desktop, maintenance)
    desktop.goto(live_server.url + "/api/docs/")
    desktop.get_by_text("Machine Logbook API").first.wait_for()
    desktop.get_by_text("/api/issues/{id}/update_status/").first.wait_for()
    desktop.screenshot(path="/tmp/api-docs.png")
    assert not outside, outside
