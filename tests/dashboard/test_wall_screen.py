"""Display links: managers create and revoke them; the wall screen works with the link alone."""

import re

import pytest
from django.urls import reverse

from dashboard.models import DisplayLink
from floor.reporting import report_issue

pytestmark = pytest.mark.django_db

BODY = {"HX-Request": "true", "HX-Target": "wall-body"}


@pytest.fixture
def link(manager):
    return DisplayLink.objects.create(name="Hall A, by the door", created_by=manager)


def wall(link_or_token):
    return reverse("wall_screen", args=[getattr(link_or_token, "token", link_or_token)])


def test_a_manager_creates_a_display_link_and_sees_its_address(client, manager, department, settings):
    settings.SITE_URL = "http://logbook.factory.lan"
    client.force_login(manager)
    response = client.post(reverse("display_links"), {"name": "Hall A", "department": str(department.pk)})
    assert response.status_code == 302
    link = DisplayLink.objects.get()
    assert (link.name, link.department, link.created_by, link.revoked_at) == ("Hall A", department, manager, None)
    assert len(link.token) >= 40
    page = client.get(reverse("display_links")).content.decode()
    assert f"http://logbook.factory.lan/dashboard/wall/{link.token}/" in page
    assert "created" in page


def test_a_display_link_needs_a_name(client, manager):
    client.force_login(manager)
    response = client.post(reverse("display_links"), {"name": ""})
    assert response.status_code == 400
    assert not DisplayLink.objects.exists()


def test_a_display_link_without_a_name_is_told_under_the_field(client, manager):
    client.force_login(manager)
    page = client.post(reverse("display_links"), {"name": ""}).content.decode()
    control = re.search(r'<input type="text" name="name"[^>]*>', page).group()
    assert 'aria-invalid="true"' in control and 'aria-describedby="id_name_error"' in control
    assert 'placeholder="Hall A, by the door"' in control
    assert '<div id="id_name_error" class="text-red-700"><p>This field is required.</p></div>' in page
    assert '<option value="" selected>Whole factory</option>' in page


def test_only_managers_manage_display_links(client, maintenance, link):
    client.force_login(maintenance)
    assert client.get(reverse("display_links")).status_code == 403
    assert client.post(reverse("display_links"), {"name": "x"}).status_code == 403
    assert client.post(reverse("revoke_display_link", args=[link.pk])).status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None


def test_the_wall_screen_works_without_signing_in(client, link, machine, operator):
    report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False, by=operator,
                 description="servo")
    response = client.get(wall(link))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hall A, by the door" in page
    assert machine.name in page  # in the "down now" list
    assert 'hx-trigger="every 30s"' in page
    assert 'aria-label="Main"' not in page and "Sign out" not in page  # no navigation
    assert "/desk/" not in page  # a TV has nobody to follow links
    assert "bg-slate-950" in page


def test_a_department_display_link_shows_that_department_only(client, manager, department, machine, operator):
    from floor.models import Department, Machine

    turning = Department.objects.create(name="Turning")
    lathe = Machine.objects.create(name="T-01 Okuma", department=turning)
    report_issue(machine=lathe, category="alarm", is_runnable=False, by=operator, description="x")
    link = DisplayLink.objects.create(name="Turning hall", department=turning, created_by=manager)
    hall = DisplayLink.objects.create(name="Milling hall", department=department, created_by=manager)
    assert "T-01 Okuma" in client.get(wall(link)).content.decode()
    assert "T-01 Okuma" not in client.get(wall(hall)).content.decode()


def test_revoked_and_unknown_links_get_a_plain_404(client, manager, link):
    client.force_login(manager)
    assert client.post(reverse("revoke_display_link", args=[link.pk])).status_code == 302
    client.logout()
    link.refresh_from_db()
    assert link.revoked_at is not None
    for token in [link.token, "not-a-token"]:
        response = client.get(wall(token))
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("token", ["\x00", "abc\x00def", "x" * 10_000, "Ø😀", "..", "%"])
def test_tokens_that_cannot_be_a_link_are_not_found(client, link, token):
    # A NUL byte cannot even be sent to PostgreSQL in a query: the lookup must not try.
    client.raise_request_exception = False
    for headers in ({}, BODY):
        response = client.get(wall(token), headers=headers)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/plain") and response.content == b"Not found."


def test_a_screen_polling_a_revoked_link_reloads_into_the_404(client, link):
    link.revoke()
    response = client.get(wall(link), headers=BODY)
    assert response.status_code == 404 and response["HX-Refresh"] == "true"


def test_the_wall_refresh_gets_its_body_and_then_304s(client, link, machine, django_assert_max_num_queries):
    response = client.get(wall(link), headers=BODY)
    page = response.content.decode()
    assert page.strip().startswith('<main id="wall-body"') and "<html" not in page
    with django_assert_max_num_queries(2):  # the link and the change marker
        again = client.get(wall(link), headers={**BODY, "If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_wall_screen_query_count_is_fixed(client, link, machine, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        client.get(wall(link))
