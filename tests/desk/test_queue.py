"""The maintenance desk: the queue, its filters, search, sorting and export."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from floor.models import Department, Machine, Status
from floor.reporting import record_remedy, report_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(department, operator, maintenance):
    """A small shop with issues of every kind, ages and states."""
    turning = Department.objects.create(name="Turning")
    vf2 = Machine.objects.create(name="M-01 Haas VF-2", department=department)
    lathe = Machine.objects.create(name="T-01 Okuma LB3000", department=turning)
    now = timezone.now()
    issues = {
        "down": report_issue(machine=vf2, category="alarm", alarm_codes=["108"], is_runnable=False, by=operator,
                             description="X servo overload when rapid", reported_at=now - timedelta(hours=2)),
        "quality": report_issue(machine=lathe, category="quality", by=operator, priority=3,
                                description="Bohrung Ø 0,02 zu groß, Oberfläche rau",
                                reported_at=now - timedelta(days=1)),
        "old": report_issue(machine=lathe, category="hydraulic", alarm_codes=["2136"], by=operator,
                            description="spindle oil temperature alarm", reported_at=now - timedelta(days=20)),
        "tooling": report_issue(machine=vf2, category="tooling", by=operator, description="tool 12 broke in pocket",
                                reported_at=now - timedelta(days=3)),
    }
    record_remedy(issue=issues["old"], description="Cleaned the oil cooler fins", by=maintenance,
                  minutes_spent=45, parts_used="Filter mat")
    issues["old"].set_status(Status.RESOLVED, by=maintenance)
    issues["tooling"].assign(maintenance, by=maintenance)
    issues["tooling"].set_status(Status.IN_PROGRESS, by=maintenance)
    return {"vf2": vf2, "lathe": lathe, "turning": turning, **issues}


def numbers(response):
    return [issue.pk for issue in response.context["issues"]]


def get(client, **params):
    return client.get(reverse("desk"), params)


def test_default_order_puts_open_issues_and_machines_down_first(client, maintenance, shop):
    client.force_login(maintenance)
    response = get(client)
    assert numbers(response) == [shop["down"].pk, shop["quality"].pk, shop["tooling"].pk, shop["old"].pk]
    page = response.content.decode()
    assert "X servo overload" in page and "Down" in page


@pytest.mark.parametrize("params, expected", [
    ({"status": ["open"]}, ["down", "quality"]),
    ({"status": ["open", "in_progress"]}, ["down", "quality", "tooling"]),
    ({"status": ["resolved"]}, ["old"]),
    ({"category": ["tooling", "quality"]}, ["quality", "tooling"]),
    ({"runnable": "down"}, ["down"]),
    ({"runnable": "running"}, ["quality", "tooling", "old"]),
    ({"priority": ["3"]}, ["quality"]),
    ({"assignee": "me"}, ["tooling"]),
    ({"assignee": "nobody"}, ["down", "quality", "old"]),
])
def test_filters(client, maintenance, shop, params, expected):
    client.force_login(maintenance)
    assert numbers(get(client, **params)) == [shop[name].pk for name in expected]


def test_machine_and_department_filters(client, maintenance, shop):
    client.force_login(maintenance)
    assert numbers(get(client, machine=shop["vf2"].pk)) == [shop["down"].pk, shop["tooling"].pk]
    assert numbers(get(client, department=shop["turning"].pk)) == [shop["quality"].pk, shop["old"].pk]


def test_date_filters(client, maintenance, shop):
    client.force_login(maintenance)
    today = timezone.localdate()
    week_ago = today - timedelta(days=7)
    assert set(numbers(get(client, reported_from=week_ago))) == {shop[n].pk for n in ["down", "quality", "tooling"]}
    assert numbers(get(client, reported_to=week_ago)) == [shop["old"].pk]
    assert numbers(get(client, resolved_from=today, resolved_to=today)) == [shop["old"].pk]


def test_assignee_by_person(client, maintenance, shop):
    client.force_login(maintenance)
    assert numbers(get(client, assignee=str(maintenance.pk))) == [shop["tooling"].pk]


@pytest.mark.parametrize("params, message", [
    ({"status": "exploded"}, "Select a valid choice"),
    ({"machine": "not-a-uuid"}, "Select a valid choice"),
    ({"reported_from": "yesterday"}, "Enter a valid date"),
    ({"reported_from": "2026-05-02", "reported_to": "2026-05-01"}, "The end date is before the start date."),
    ({"page": "0"}, "greater than or equal to 1"),
    ({"sort": "password"}, "Select a valid choice"),
    ({"assignee": "999999"}, "Select a valid choice"),
])
def test_invalid_filter_gives_a_message_not_an_error(client, maintenance, shop, params, message):
    client.force_login(maintenance)
    response = get(client, **params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("time_zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])  # +14 h and -11 h
@pytest.mark.parametrize("name", ["desk", "desk_export"])
@pytest.mark.parametrize("field", ["reported_from", "reported_to", "resolved_from", "resolved_to"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "3000-01-01", "1899-12-31"])
def test_dates_out_of_range_are_named_not_an_error(client, maintenance, settings, time_zone, name, field, day):
    # The day after 9999-12-31 does not exist, nor does midnight of 0001-01-01 in UTC east of Greenwich.
    settings.TIME_ZONE = time_zone
    client.force_login(maintenance)
    client.raise_request_exception = False
    response = client.get(reverse(name), {field: day})
    assert response.status_code == 400
    assert "Enter a date from 1900 to 2999." in response.content.decode()


def test_the_first_and_last_days_of_the_range_are_accepted(client, maintenance, shop, settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"
    client.force_login(maintenance)
    response = get(client, reported_from="1900-01-01", reported_to="2999-12-31",
                   resolved_from="1900-01-01", resolved_to="2999-12-31")
    assert response.status_code == 200
    assert numbers(response) == [shop["old"].pk]


def test_search_finds_words_and_exact_alarm_codes(client, maintenance, shop):
    client.force_login(maintenance)
    assert numbers(get(client, q="servo overload")) == [shop["down"].pk]
    assert numbers(get(client, q="108")) == [shop["down"].pk]
    assert numbers(get(client, q="2136")) == [shop["old"].pk]
    # Remedy text and parts are searched too, and non-ASCII text.
    assert numbers(get(client, q="cooler")) == [shop["old"].pk]
    assert numbers(get(client, q="Filter mat")) == [shop["old"].pk]
    assert numbers(get(client, q="Bohrung")) == [shop["quality"].pk]
    assert numbers(get(client, q="nothing like this")) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ranking needs PostgreSQL full-text search")
def test_search_ranks_better_matches_first_on_postgresql(client, maintenance, shop, operator):
    weak = report_issue(machine=shop["vf2"], category="other", by=operator, description="spindle noise")
    strong = report_issue(machine=shop["vf2"], category="other", by=operator,
                          description="spindle oil leak, spindle oil on floor, spindle oil pump")
    client.force_login(maintenance)
    found = numbers(get(client, q="spindle oil"))
    assert found.index(strong.pk) < found.index(shop["old"].pk)
    assert weak.pk not in found  # websearch syntax: every word must match


def test_sorting(client, maintenance, shop):
    client.force_login(maintenance)
    assert numbers(get(client, sort="-reported_at")) == [shop[n].pk for n in ["down", "quality", "tooling", "old"]]
    assert numbers(get(client, sort="reported_at"))[0] == shop["old"].pk
    assert numbers(get(client, sort="machine"))[:2] == [shop["down"].pk, shop["tooling"].pk]


def test_pagination_without_counting(client, maintenance, machine, operator, settings, django_assert_max_num_queries):
    for i in range(60):
        report_issue(machine=machine, category="other", by=operator, description=f"issue {i}")
    client.force_login(maintenance)
    first = get(client)
    assert len(first.context["issues"]) == 50 and first.context["has_next"]
    second = get(client, page=2)
    assert len(second.context["issues"]) == 10 and not second.context["has_next"]
    assert not set(numbers(first)) & set(numbers(second))
    with django_assert_max_num_queries(12):
        get(client)


def test_query_count_does_not_grow_with_the_page(client, maintenance, machine, operator, django_assert_num_queries,
                                                django_assert_max_num_queries):
    client.force_login(maintenance)
    report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], by=operator, description="x")
    get(client)  # warm the session
    with django_assert_max_num_queries(11) as few:
        get(client)
    for i in range(30):
        report_issue(machine=machine, category="alarm", alarm_codes=["SV0401", f"OT05{i:02}"], by=operator,
                     description="x")
    with django_assert_num_queries(len(few.captured_queries)):
        get(client)


def test_htmx_filter_returns_only_the_table(client, maintenance, shop):
    client.force_login(maintenance)
    response = client.get(reverse("desk"), {"status": "open"},
                          headers={"HX-Request": "true", "HX-Target": "desk-table"})
    page = response.content.decode()
    assert page.strip().startswith('<div id="desk-table"') and "<html" not in page
    assert 'hx-trigger="every 30s' in page  # keeps refreshing itself with the same filters
    assert "status=open" in page


def test_operators_do_not_get_the_export(client, operator, shop):
    client.force_login(operator)
    assert client.get(reverse("desk_export")).status_code == 403


def test_export_streams_the_filtered_list_as_utf8_csv_for_excel(client, maintenance, shop):
    client.force_login(maintenance)
    response = client.get(reverse("desk_export"), {"machine": shop["lathe"].pk, "sort": "-reported_at"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="issues-')
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # the BOM Excel looks for
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Issue", "Reported at", "Machine"]
    assert [int(r[0]) for r in rows[1:]] == [shop["quality"].pk, shop["old"].pk]
    quality, old = rows[1], rows[2]
    header = rows[0]
    assert quality[header.index("Description")] == "Bohrung Ø 0,02 zu groß, Oberfläche rau"
    assert old[header.index("Alarm codes")] == "2136"
    assert old[header.index("Remedies")] == "Cleaned the oil cooler fins [parts: Filter mat]"
    assert old[header.index("Remedy minutes")] == "45"


def test_export_gives_downtime_minutes(client, maintenance, shop):
    issue = shop["down"]
    issue.set_runnable(True, by=maintenance, at=issue.machine_stopped_at + timedelta(minutes=95))
    client.force_login(maintenance)
    response = client.get(reverse("desk_export"), {"runnable": "running", "machine": shop["vf2"].pk})
    body = b"".join(response.streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["Issue"]: r["Downtime minutes"] for r in rows}[str(issue.pk)] == "95"


def export(client, **params):
    response = client.get(reverse("desk_export"), params)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("typed", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd",
                                   "-5 mm offset"])
def test_export_neutralises_what_a_spreadsheet_would_run_as_a_formula(client, maintenance, operator, typed):
    # OWASP's advice on CSV injection: a leading quote makes the cell text.
    machine = Machine.objects.create(name=typed)
    issue = report_issue(machine=machine, category="alarm", by=operator, description=typed, reporter_name=typed,
                         alarm_codes=["SV0401"])
    record_remedy(issue=issue, description=typed, by=maintenance, minutes_spent=15, parts_used=typed)
    client.force_login(maintenance)
    row, = export(client)
    issue.refresh_from_db()
    remedy = issue.remedies.get()
    for column, stored in [("Machine", machine.name), ("Description", issue.description),
                           ("Reported by", issue.reporter_name),
                           ("Remedies", f"{remedy.description} [parts: {remedy.parts_used}]")]:
        # Forms strip what is typed; a leading tab or return survives only in names from the ERP.
        assert row[column] == ("'" + stored if stored.startswith(typed) else stored), column
    assert row["Machine"] == "'" + typed
    # Numbers stay numbers a spreadsheet can add up.
    assert row["Issue"] == str(issue.pk) and row["Remedy minutes"] == "15"
    assert row["Alarm codes"] == "SV0401"


def test_export_leaves_plain_text_and_numbers_alone(client, maintenance, shop):
    client.force_login(maintenance)
    rows = {int(r["Issue"]): r for r in export(client)}
    old = rows[shop["old"].pk]
    assert old["Description"] == "spindle oil temperature alarm"
    assert old["Remedy minutes"] == "45" and old["Reported at"][:2] == "20"


def test_numbers_in_numeric_columns_are_never_quoted():
    from desk.views import spreadsheet_cell

    assert [spreadsheet_cell(v) for v in (-5, 0, 42, -1.5, "")] == [-5, 0, 42, -1.5, ""]
    assert [spreadsheet_cell(v) for v in ("-5", "=1", "@a", "\ta", "\ra", "+1")] == \
        ["'-5", "'=1", "'@a", "'\ta", "'\ra", "'+1"]
    assert spreadsheet_cell("Reseated CX4 - it runs") == "Reseated CX4 - it runs"


def test_export_names_people_as_the_desk_does(client, maintenance, operator, machine, django_user_model):
    nameless = django_user_model.objects.create_user(username="j.doe")
    named = report_issue(machine=machine, category="alarm", by=operator, description="a")
    typed = report_issue(machine=machine, category="alarm", by=nameless, reporter_name="Kai at M-01",
                         description="b")
    unnamed = report_issue(machine=machine, category="alarm", by=nameless, description="c")
    named.assign(maintenance, by=maintenance)
    maintenance.first_name, maintenance.last_name = "Marek", "Nowak"
    maintenance.save()
    client.force_login(maintenance)
    rows = {int(r["Issue"]): r for r in export(client)}
    assert (rows[named.pk]["Reported by"], rows[named.pk]["Assigned to"]) == ("Olga", "Marek Nowak")
    assert rows[typed.pk]["Reported by"] == "Kai at M-01"
    assert (rows[unnamed.pk]["Reported by"], rows[unnamed.pk]["Assigned to"]) == ("j.doe", "")


def test_upgrade_fills_search_documents_of_existing_issues(client, maintenance, shop):
    """Migration 0004 gives issues from before it a search document (set-based on PostgreSQL)."""
    from floor.models import Issue
    from floor.search import fill_all_search_documents

    Issue.objects.update(search_document="")
    fill_all_search_documents(connection)
    client.force_login(maintenance)
    assert numbers(get(client, q="cooler")) == [shop["old"].pk]
    assert numbers(get(client, q="Filter mat")) == [shop["old"].pk]
    assert numbers(get(client, q="servo overload")) == [shop["down"].pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search table exists on PostgreSQL")
def test_search_table_follows_issue_changes_and_deletes(client, maintenance, shop):
    def rows():
        with connection.cursor() as cursor:
            cursor.execute("SELECT issue_id FROM issues_search ORDER BY issue_id")
            return [r[0] for r in cursor.fetchall()]

    assert rows() == sorted(i.pk for name, i in shop.items() if name in ("down", "quality", "old", "tooling"))
    shop["tooling"].delete()
    assert shop["tooling"].pk not in rows()
    client.force_login(maintenance)
    assert numbers(get(client, q="broke")) == []
