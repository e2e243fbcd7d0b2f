"""Display links: managers create and revoke them; the wall screen works with the link alone."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import metrics, views
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


# --- a machine that just stopped -----------------------------------------------------------------------
def down_rows(page):
    """The "Down now" list's rows, as the server wrote them."""
    section = re.search(r'<section aria-labelledby="down-heading".*?</section>', page, re.DOTALL).group()
    return re.findall(r"<li .*?</li>", section, re.DOTALL)


def stop(machine, by, ago):
    return report_issue(machine=machine, category="alarm", is_runnable=False, by=by, description="stopped",
                        reported_at=timezone.now() - ago)


def test_a_machine_that_just_stopped_flashes_and_is_marked(client, link, machine, operator):
    stop(machine, operator, timedelta(seconds=20))
    (row,) = down_rows(client.get(wall(link)).content.decode())
    assert machine.name in row
    assert "Just stopped" in row  # in words, once the flash is over too
    assert re.search(r'class="wall-flash[ "]', row)
    assert f'data-just-stopped="{machine.pk}-' in row


def test_a_stop_older_than_a_few_minutes_is_only_down(client, link, machine, operator):
    stop(machine, operator, metrics.JUST_STOPPED + timedelta(seconds=30))
    (row,) = down_rows(client.get(wall(link)).content.decode())
    assert machine.name in row
    assert "Just stopped" not in row and "wall-flash" not in row and "data-just-stopped" not in row


def test_another_issue_on_a_machine_already_down_is_not_a_new_stop(client, link, machine, other_machine,
                                                                    operator):
    stop(machine, operator, timedelta(hours=1))
    stop(machine, operator, timedelta(seconds=10))
    stop(other_machine, operator, timedelta(seconds=10))
    just, already = down_rows(client.get(wall(link)).content.decode())
    assert other_machine.name in just and "Just stopped" in just
    assert machine.name in already and "Just stopped" not in already and "1 h" in already


def test_a_machine_that_ran_again_and_stopped_on_a_new_issue_just_stopped(client, link, machine, operator,
                                                                         maintenance):
    earlier = stop(machine, operator, timedelta(hours=1))
    earlier.set_runnable(True, by=maintenance)  # running again, the issue still open
    stop(machine, operator, timedelta(seconds=10))
    (row,) = down_rows(client.get(wall(link)).content.decode())
    assert "Just stopped" in row


def test_the_machine_that_just_stopped_comes_first_when_the_list_is_cut(client, link, department, machine,
                                                                        operator):
    from floor.models import Machine

    for n in range(views.WALL_DOWN_ROWS + 2):
        stop(Machine.objects.create(name=f"L-{n:02} long down", department=department), operator,
             timedelta(hours=2, minutes=n))
    stop(machine, operator, timedelta(minutes=1))
    page = client.get(wall(link)).content.decode()
    rows = down_rows(page)
    assert len(rows) == views.WALL_DOWN_ROWS
    assert machine.name in rows[0] and "Just stopped" in rows[0]
    assert f"L-{views.WALL_DOWN_ROWS + 1:02} long down" in rows[1]  # then the others, longest first, as before
    assert "and 3 more" in page


def test_the_refresh_carries_the_mark(client, link, machine, operator):
    stop(machine, operator, timedelta(seconds=5))
    page = client.get(wall(link), headers=BODY).content.decode()
    assert page.strip().startswith('<main id="wall-body"')
    assert "Just stopped" in down_rows(page)[0]
