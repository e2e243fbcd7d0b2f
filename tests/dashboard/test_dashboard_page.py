"""The dashboard page: who may see it, the period form, the polled tiles and their 304s, the charts,
and the links into the maintenance desk."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from floor.models import Department, Issue, Machine
from floor.reporting import report_issue
from tests.dashboard.factory import build, days_to_today

pytestmark = pytest.mark.django_db

TILES = {"HX-Request": "true", "HX-Target": "tiles"}
URL = "/dashboard/"


@pytest.fixture
def factory(machine, other_machine):
    lathe = Machine.objects.create(name="T-01 Okuma LB3000", department=Department.objects.create(name="Turning"))
    return build(a=machine, b=other_machine, c=lathe, shift=days_to_today())


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_only_managers_see_the_dashboard(client, operator, maintenance, outsider, manager):
    for user, status in [(operator, 403), (maintenance, 403), (outsider, 403), (manager, 200)]:
        client.force_login(user)
        assert client.get(URL).status_code == status, user.username
    client.logout()
    assert client.get(URL)["Location"].startswith("/login/")


@pytest.mark.parametrize("query", ["days=0", "days=366", "days=abc", "days=7.5", "department=nope",
                                   "department=00000000-0000-0000-0000-000000000000"])
def test_an_invalid_period_or_department_gives_a_message_not_an_error(manager_client, query):
    response = manager_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "Days must be a whole number from 1 to 365." in page or "department does not exist" in page


def test_the_page_shows_tiles_figures_charts_and_how_we_count(manager_client, factory):
    response = manager_client.get(URL, {"days": "30"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="tiles"' in page and 'hx-trigger="every 15s"' in page
    for title in ["Issues reported per day, last 30 days", "Top alarm codes (Pareto)", "Downtime by machine, hours",
                  "Issues by category", "Downtime timeline, last 7 days", "Downtime by department, hours"]:
        assert f">{title}</title>" in page, title
    # A chart whose bars are links is a group, so that its links are read; one without is an image.
    assert len(re.findall(r'<svg [^>]*role="(?:img|group)"', page)) == 6
    assert not re.search(r'<svg [^>]*role="img"[^>]*>(?:(?!</svg>).)*<a ', page, re.S)
    assert page.count("<desc ") == 6
    assert "How we count" in page
    assert "<script" not in page.split("</head>")[1]  # charts need no JavaScript
    assert response["ETag"] and "no-cache" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]


def test_figures_link_to_the_desk_filtered_to_their_issues(manager_client, factory, machine):
    page = manager_client.get(URL, {"days": "7"}).content.decode().replace("&amp;", "&")
    assert 'href="/desk/?status=open&status=in_progress&status=waiting_parts&runnable=down"' in page
    assert 'href="/desk/?status=open&status=in_progress&status=waiting_parts"' in page
    links = set(re.findall(r'href="(/desk/[^"]*)"', page))
    assert any(f"machine={machine.pk}" in link and "reported_from=" in link for link in links)
    assert any("q=SV0401" in link for link in links)
    assert any("category=alarm" in link for link in links)
    assert any(link.startswith("/desk/?resolved_from=") for link in links)
    assert f'href="/issues/{factory["i4"].pk}/"' in page  # the oldest open issue


def test_a_department_filter_is_kept_in_links_and_in_the_tiles_refresh(manager_client, factory, department):
    page = manager_client.get(URL, {"department": str(department.pk)}).content.decode().replace("&amp;", "&")
    down_now = "/desk/?status=open&status=in_progress&status=waiting_parts&runnable=down"
    assert f"{down_now}&department={department.pk}" in page
    assert f'hx-get="/dashboard/?department={department.pk}"' in page


def test_an_htmx_refresh_gets_only_the_tiles(manager_client, factory):
    response = manager_client.get(URL, headers=TILES)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.strip().startswith('<div id="tiles"') and "<html" not in page
    assert "Machines down now" in page and "<svg" not in page


def test_idle_polling_is_answered_304_before_any_figure_is_computed(manager_client, factory,
                                                                   django_assert_max_num_queries):
    etag = manager_client.get(URL, headers=TILES)["ETag"]
    # Session, user, two permission reads, and the change marker: nothing of the figures.
    with django_assert_max_num_queries(5):
        response = manager_client.get(URL, headers={**TILES, "If-None-Match": etag})
    assert response.status_code == 304
    assert response["ETag"] == etag and response.content == b""


def test_a_new_issue_changes_the_tiles_etag(manager_client, factory, operator, machine):
    etag = manager_client.get(URL, headers=TILES)["ETag"]
    report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False, by=operator,
                 description="servo")
    response = manager_client.get(URL, headers={**TILES, "If-None-Match": etag})
    assert response.status_code == 200 and response["ETag"] != etag


def test_a_status_change_changes_the_etag(manager_client, factory, maintenance):
    etag = manager_client.get(URL, headers=TILES)["ETag"]
    factory["i4"].set_status("resolved", by=maintenance)
    assert manager_client.get(URL, headers={**TILES, "If-None-Match": etag}).status_code == 200


def test_page_and_tiles_have_different_etags_for_the_same_url(manager_client, factory):
    assert manager_client.get(URL)["ETag"] != manager_client.get(URL, headers=TILES)["ETag"]


def test_query_counts_do_not_grow_with_issues_or_machines(manager_client, factory, django_assert_max_num_queries):
    for i in range(20):
        Machine.objects.create(name=f"Z-{i:02}")
    with django_assert_max_num_queries(17):
        manager_client.get(URL, {"days": "365"})
    # Session, user, two permission reads, the change marker, the open/today aggregate, the oldest issue.
    with django_assert_max_num_queries(7):
        manager_client.get(URL, headers=TILES)


def test_the_page_reads_well_without_any_issue(manager_client, machine):
    page = manager_client.get(URL).content.decode()
    assert "Nothing in this period." in page
    assert "No alarm codes in this period." in page
    assert "No machine was stopped." in page
    assert "nothing is open" in page


def test_chart_text_from_data_is_escaped(manager_client, department):
    evil = Machine.objects.create(name='<script>alert("x")</script>', department=department)
    now = timezone.now()
    Issue.objects.create(machine=evil, category="other", title="x", reported_at=now,
                         machine_stopped_at=now - timedelta(hours=1), is_runnable=False)
    page = manager_client.get(URL).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_the_nav_links_to_the_dashboard_for_managers_only(client, manager, maintenance):
    client.force_login(manager)
    assert f'href="{reverse("dashboard")}"' in client.get(reverse("machine_list")).content.decode()
    client.force_login(maintenance)
    assert f'href="{reverse("dashboard")}"' not in client.get(reverse("machine_list")).content.decode()


def test_the_period_form_shows_the_period_asked_for(manager_client, department):
    page = manager_client.get(URL, {"department": str(department.pk)}).content.decode()
    form = re.search(r'<form [^>]*aria-label="Period and department"[^>]*>.*?</form>', page, re.S).group()
    assert 'action="/dashboard/"' in form and 'method="get"' in form
    assert re.search(r'<input type="number" name="days" value="30"', form)  # none asked for: the default
    assert f'<option value="{department.pk}" selected>' in form
    assert "<button" in form and "name=" not in re.search(r"<button[^>]*>", form).group()


def test_a_wrong_period_is_told_once_in_place_of_the_figures_and_tied_to_its_field(manager_client):
    page = manager_client.get(URL, {"days": "400"}).content.decode()
    control = re.search(r'<input type="number" name="days"[^>]*>', page).group()
    assert 'aria-invalid="true"' in control and 'aria-describedby="id_days_error"' in control
    assert '<li id="id_days_error">Days must be a whole number from 1 to 365.</li>' in page
    assert page.count("Days must be a whole number") == 1


@pytest.mark.parametrize("reported,previous,days,expected", [
    (411, 1, 90, "411 now, 1 in the previous 90 days"),  # was "+41000 % vs previous 90 days (1)"
    (12, 9, 30, "12 now, 9 in the previous 30 days"),
    (3, 0, 1, "3 now, none in the previous 1 day"),
    (12, 10, 30, "+20 % vs previous 30 days (10)"),
    (1500, 2000, 365, "−25 % vs previous 365 days (2,000)"),
    (40, 40, 7, "±0 % vs previous 7 days (40)"),
])
def test_issues_reported_are_compared_by_counts_when_the_previous_period_had_few(reported, previous, days,
                                                                                 expected):
    from dashboard.templatetags.dashboard_format import versus_previous

    assert versus_previous(reported, previous, days) == expected


def test_the_reported_tile_shows_both_counts_against_a_quiet_previous_period(manager_client, machine, operator):
    for _ in range(12):
        report_issue(machine=machine, category="alarm", by=operator, description="x")
    report_issue(machine=machine, category="alarm", by=operator, description="x",
                 reported_at=timezone.now() - timedelta(days=45))
    page = manager_client.get(URL, {"days": 30}).content.decode()
    assert "12 now, 1 in the previous 30 days" in page and "%" not in page.split("Issues reported")[1][:300]


def test_chart_labels_are_cut_by_their_drawn_width_not_their_count_of_letters():
    """26 letters were let through whatever they were: 26 capitals ran 20 px past the chart's edge."""
    from dashboard.charts import _fit, _text_width

    assert _fit("T-01 Okuma LB3000", 182) == "T-01 Okuma LB3000"
    cut = _fit("M" * 26, 182)
    assert cut.endswith("…") and _text_width(cut, 13) <= 182
    assert _fit("il" * 20, 182) == "il" * 20  # narrow letters: forty fit where 26 capitals do not
    assert _text_width("αβγ", 10) == 30  # letters the table does not know count as the widest
