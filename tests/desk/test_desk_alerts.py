"""The desk marks a machine that has just gone down and that nobody has taken up yet."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from desk.alerts import NEW_MACHINE_DOWN
from floor.models import Status
from floor.reporting import report_issue

pytestmark = pytest.mark.django_db

MARK = "New\u00a0· machine down"  # kept together with what it says
TABLE = {"HX-Request": "true", "HX-Target": "desk-table"}


def stopped(machine, by, *, ago=timedelta(minutes=2), **fields):
    return report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False, by=by,
                        description="servo alarm, machine stopped", reported_at=timezone.now() - ago, **fields)


def row(page, issue):
    """The issue's <tr> on the desk, as the server wrote it."""
    found = re.search(rf'<tr data-issue-id="{issue.pk}"[^>]*>.*?</tr>', page, re.DOTALL)
    assert found, f"no row for {issue.number}"
    return found.group()


def marked(tr):
    return "data-down-new" in tr and MARK in html.unescape(tr)


def desk(client, headers=None):
    response = client.get(reverse("desk"), headers=headers or {})
    assert response.status_code == 200
    return response.content.decode()


def test_a_machine_that_just_went_down_is_marked_new(client, maintenance, operator, machine):
    issue = stopped(machine, operator)
    client.force_login(maintenance)
    tr = row(desk(client), issue)
    assert marked(tr)
    assert "bg-red-100" in tr and "border-red-700" in tr  # and set apart by colour, beside the words


def test_the_tables_refresh_carries_the_mark(client, maintenance, operator, machine):
    issue = stopped(machine, operator)
    client.force_login(maintenance)
    page = desk(client, TABLE)
    assert page.strip().startswith('<div id="desk-table"') and "<html" not in page
    assert marked(row(page, issue))


def test_taking_it_up_is_the_acknowledgement(client, maintenance, operator, machine, other_machine):
    assigned = stopped(machine, operator)
    assigned.assign(maintenance, by=maintenance)
    in_progress = stopped(other_machine, operator)
    in_progress.set_status(Status.IN_PROGRESS, by=maintenance)
    client.force_login(maintenance)
    page = desk(client)
    assert not marked(row(page, assigned)) and not marked(row(page, in_progress))
    assert MARK not in html.unescape(page) and "data-down-new" not in page


def test_a_running_machine_is_not_marked(client, maintenance, operator, machine):
    issue = report_issue(machine=machine, category="quality", by=operator, description="bore oversize")
    client.force_login(maintenance)
    tr = row(desk(client), issue)
    assert not marked(tr) and "data-down-new" not in tr
    assert "bg-red" not in tr  # looks as it always did


def test_a_machine_stopped_two_hours_ago_is_not_news(client, maintenance, operator, machine):
    issue = stopped(machine, operator, ago=timedelta(hours=2))
    client.force_login(maintenance)
    tr = row(desk(client), issue)
    assert not marked(tr)
    assert "bg-red-50" in tr and "Down" in tr  # still a machine down, as the desk always showed it


def test_news_for_as_long_as_the_constant_says(client, maintenance, operator, machine, other_machine):
    recent = stopped(machine, operator, ago=NEW_MACHINE_DOWN - timedelta(minutes=1))
    older = stopped(other_machine, operator, ago=NEW_MACHINE_DOWN + timedelta(minutes=1))
    client.force_login(maintenance)
    page = desk(client)
    assert marked(row(page, recent)) and not marked(row(page, older))


def test_the_stop_counts_not_the_report(client, maintenance, operator, machine, other_machine):
    # Reported long ago while the machine ran, and it stopped just now: news.
    issue = report_issue(machine=machine, category="mechanical", by=operator, description="noise",
                         reported_at=timezone.now() - timedelta(hours=5))
    issue.set_runnable(False, by=operator)
    # Reported just now, but the reporter said the machine had stopped hours ago: not news.
    earlier = stopped(other_machine, operator, machine_stopped_at=timezone.now() - timedelta(hours=3))
    client.force_login(maintenance)
    page = desk(client)
    assert marked(row(page, issue)) and not marked(row(page, earlier))


def test_resolved_with_the_machine_left_stopped_is_not_marked(client, maintenance, operator, machine):
    issue = stopped(machine, operator)
    issue.set_status(Status.RESOLVED, by=maintenance, machine_runs=False)
    client.force_login(maintenance)
    assert not marked(row(desk(client), issue))


def test_the_page_loads_the_alert_module_and_its_sound_toggle(client, maintenance):
    client.force_login(maintenance)
    page = desk(client)
    assert re.search(r'<script src="/static/js/alerts\.js[^"]*" defer></script>', page)
    toggle = re.search(r"<button[^>]*data-sound-toggle[^>]*>", page).group()
    assert 'aria-pressed="false"' in toggle and 'type="button"' in toggle
    # Hidden until the script shows it: without JavaScript it would do nothing.
    assert re.search(r"<div[^>]*data-desk-alerts hidden>", page)


def test_the_mark_costs_no_query(client, maintenance, operator, machine, django_assert_num_queries,
                                 django_assert_max_num_queries):
    client.force_login(maintenance)
    stopped(machine, operator)
    with django_assert_max_num_queries(11) as plain:
        desk(client)
    for n in range(5):
        stopped(machine, operator, ago=timedelta(minutes=n))
    with django_assert_num_queries(len(plain.captured_queries)):
        page = desk(client)
    assert page.count("data-down-new") == 6
