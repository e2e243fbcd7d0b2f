"""Every figure of the dashboard on a hand-made data set with known answers (tests/dashboard/factory.py),
on SQLite and on PostgreSQL alike."""

from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard import metrics
from floor.models import Department, Machine
from tests.dashboard.factory import HOUR, NOW, at, build, issue

pytestmark = pytest.mark.django_db

PERIOD_HOURS = 156  # 4 March 00:00 to 10 March 12:00


@pytest.fixture
def turning(db):
    return Department.objects.create(name="Turning")


@pytest.fixture
def lathe(turning):
    return Machine.objects.create(name="T-01 Okuma LB3000", department=turning)


@pytest.fixture
def week(machine, other_machine, lathe):
    return build(a=machine, b=other_machine, c=lathe)


@pytest.fixture
def period():
    return metrics.period_ending(now=NOW, days=7)


def test_a_period_is_today_and_the_days_before_from_midnight(period):
    assert period.start == at(4, 0)
    assert period.end == NOW
    assert period.previous_start == at(25, 0, month=2)
    assert (period.first_day, period.last_day) == (date(2026, 3, 4), date(2026, 3, 10))
    assert period.seconds == PERIOD_HOURS * HOUR


def test_now_tiles_count_open_issues_machines_down_today_and_the_oldest(week, machine, other_machine):
    now = metrics.now_figures(now=NOW, with_down_list=True)
    assert (now.open_issues, now.machines_down, now.reported_today) == (3, 1, 1)
    assert now.oldest_open_pk == week["i4"].pk
    assert now.oldest_open_at == at(9, 6)
    assert [(row["machine_id"], row["since"]) for row in now.down] == [(other_machine.pk, at(9, 6))]


def test_a_stop_that_began_less_than_a_few_minutes_ago_is_just_stopped(week, machine, other_machine, lathe):
    recent = NOW - metrics.JUST_STOPPED + timedelta(seconds=1)
    issue(machine, reported=recent, status="open", stopped=recent, runnable=False)
    issue(lathe, reported=NOW - metrics.JUST_STOPPED, status="open", stopped=NOW - metrics.JUST_STOPPED,
          runnable=False)
    now = metrics.now_figures(now=NOW, with_down_list=True)
    # Still longest first: the wall screen puts those just stopped first itself.
    assert [(row["machine_id"], row["just_stopped"]) for row in now.down] == [
        (other_machine.pk, False), (lathe.pk, False), (machine.pk, True)]


def test_two_open_issues_stopping_one_machine_count_it_once_as_down(week, other_machine):
    issue(other_machine, reported=at(10, 8), status="waiting_parts", stopped=at(10, 8), runnable=False)
    assert metrics.now_figures(now=NOW).machines_down == 1


def test_reported_and_resolved_counts_and_the_trend_against_the_previous_period(week, period):
    figures = metrics.period_figures(period=period)
    summary = figures.summary
    assert summary.reported == 8
    assert summary.reported_previous == 2  # i3 (3 March) and i7 (27 February)
    assert summary.trend == 3.0
    assert summary.resolved == 6  # i3 resolved on the period's first day counts


def test_issues_per_day_line_up_with_the_same_day_of_the_previous_period(week, period):
    per_day = {day: (count, previous) for day, count, previous in metrics.period_figures(period=period).per_day}
    assert len(per_day) == 7
    assert per_day[date(2026, 3, 5)] == (2, 0)
    assert per_day[date(2026, 3, 6)] == (2, 1)  # i7 on 27 February, seven days earlier
    assert per_day[date(2026, 3, 9)] == (2, 0)
    assert per_day[date(2026, 3, 10)] == (1, 1)  # i3 on 3 March
    assert per_day[date(2026, 3, 7)] == (0, 0)


def test_mttr_from_report_to_resolution_and_from_stop_to_running(week, period):
    summary = metrics.period_figures(period=period).summary
    # i1 5 h, i2 4 h, i3 7 h, i6 2 h, i9 1 h, i10 1 h
    assert summary.mttr_report_seconds == pytest.approx(20 / 6 * HOUR, abs=1)
    # i1 4 h, i3 6 h, i6 1 h, i9 1 h, i10 1 h (i2 never ran again before it was resolved)
    assert summary.mttr_stop_seconds == pytest.approx(13 / 5 * HOUR, abs=1)
    assert summary.repairs_with_stop == 5


def test_downtime_merges_overlapping_and_touching_stops_and_clips_to_the_period(week, period, machine,
                                                                              other_machine, lathe):
    rows = {row["machine_id"]: row for row in metrics.downtime_by_machine(period=period)}
    assert rows[machine.pk]["downtime_seconds"] == pytest.approx(8 * HOUR, abs=1)  # 6 h merged + 2 h clipped
    assert rows[machine.pk]["stops"] == 1  # the clipped one began before the period
    assert rows[other_machine.pk]["downtime_seconds"] == pytest.approx(31 * HOUR, abs=1)  # still down: until now
    assert rows[other_machine.pk]["stops"] == 2
    assert rows[lathe.pk]["downtime_seconds"] == pytest.approx(2 * HOUR, abs=1)
    assert rows[lathe.pk]["stops"] == 1


def test_mtbf_is_running_time_between_stops_per_machine_and_for_the_fleet(week, period, machine, other_machine):
    figures = metrics.period_figures(period=period)
    by_machine = {row["machine_id"]: row for row in figures.by_machine}
    assert by_machine[machine.pk]["mtbf_seconds"] == pytest.approx((PERIOD_HOURS - 8) * HOUR, abs=1)
    assert by_machine[other_machine.pk]["mtbf_seconds"] == pytest.approx((PERIOD_HOURS - 31) / 2 * HOUR, abs=1)
    summary = figures.summary
    assert summary.downtime_seconds == pytest.approx(41 * HOUR, abs=2)
    assert summary.stops == 4
    assert summary.machines == 3
    assert summary.mtbf_seconds == pytest.approx((3 * PERIOD_HOURS - 41) / 4 * HOUR, abs=2)


def test_machines_are_listed_by_downtime_with_their_issues(week, period):
    rows = metrics.period_figures(period=period).by_machine
    assert [(r["name"], r["issues"], round(r["downtime_seconds"] / HOUR)) for r in rows] == [
        ("M-04 Fanuc Robodrill", 3, 31), ("M-01 Haas VF-2", 2, 8), ("T-01 Okuma LB3000", 3, 2),
    ]


def test_departments_add_up_their_machines(week, period, department, turning):
    rows = {r["name"]: r for r in metrics.period_figures(period=period).by_department}
    assert (rows["Milling"]["issues"], round(rows["Milling"]["downtime_seconds"] / HOUR)) == (5, 39)
    assert (rows["Turning"]["issues"], round(rows["Turning"]["downtime_seconds"] / HOUR)) == (3, 2)
    assert rows["Milling"]["machines"] == 2


def test_categories_most_first(week, period):
    rows = metrics.period_figures(period=period).by_category
    assert [(r["category"], r["issues"]) for r in rows] == [("alarm", 4), ("mechanical", 3), ("quality", 1)]
    assert rows[0]["label"] == "Alarm"


def test_alarm_code_pareto_with_cumulative_share(week, period):
    rows, total = metrics.alarm_code_pareto(period=period)
    assert total == 6  # i3's SV0401 was reported before the period
    assert [(r["code"], r["issues"]) for r in rows] == [("SV0401", 3), ("108", 2), ("2136", 1)]
    assert [round(r["cumulative"], 3) for r in rows] == [0.5, 0.833, 1.0]
    assert rows[1]["share"] == pytest.approx(2 / 6)


def test_one_department_sees_only_its_machines(week, period, turning, lathe):
    figures = metrics.period_figures(period=period, department=turning)
    assert figures.summary.reported == 3
    assert figures.summary.reported_previous == 1
    assert figures.summary.resolved == 2
    assert figures.summary.machines == 1
    assert figures.summary.downtime_seconds == pytest.approx(2 * HOUR, abs=1)
    assert [r["code"] for r in figures.alarm_codes] == ["108", "SV0401"]  # a tie: by code
    now = metrics.now_figures(now=NOW, department=turning)
    assert (now.open_issues, now.machines_down, now.reported_today) == (1, 0, 1)


def test_a_period_without_issues_gives_zeros_not_errors(machine):
    period = metrics.period_ending(now=NOW, days=30)
    figures = metrics.period_figures(period=period)
    summary = figures.summary
    assert (summary.reported, summary.resolved, summary.stops, summary.downtime_seconds) == (0, 0, 0, 0)
    assert summary.mttr_report_seconds is None and summary.mttr_stop_seconds is None
    assert summary.mtbf_seconds is None and summary.trend is None
    assert figures.alarm_codes == [] and figures.by_category == [] and figures.by_machine == []
    assert [count for _, count, _ in figures.per_day] == [0] * 30
    now = metrics.now_figures(now=NOW)
    assert (now.open_issues, now.machines_down, now.oldest_open_pk) == (0, 0, None)


def test_timeline_shows_merged_stops_of_the_machines_with_most_downtime(week, machine, other_machine):
    timeline = metrics.downtime_timeline(now=NOW, days=7, machines=2)
    assert [row["machine_id"] for row in timeline["rows"]] == [other_machine.pk, machine.pk]
    assert timeline["rows"][1]["stops"] == [(at(4, 0), at(4, 2)), (at(5, 8), at(5, 14))]
    assert timeline["rows"][0]["stops"] == [(at(8, 9), at(8, 10)), (at(9, 6), NOW)]


def test_a_stop_that_began_before_and_lasts_beyond_the_period_fills_it(machine):
    issue(machine, reported=at(1, 0, month=2), status="waiting_parts", stopped=at(1, 0, month=2), runnable=False)
    period = metrics.period_ending(now=NOW, days=7)
    (row,) = metrics.downtime_by_machine(period=period)
    assert row["downtime_seconds"] == pytest.approx(PERIOD_HOURS * HOUR, abs=1)
    assert row["stops"] == 0 and row["mtbf_seconds"] is None


def test_a_machine_marked_running_after_the_resolution_counts_until_running_again(machine):
    # Resolved at 11:00 but the machine was only released at 13:00: running again wins over resolution.
    issue(machine, reported=at(5, 10), stopped=at(5, 10), resolved=at(5, 11), running=at(5, 13))
    (row,) = metrics.downtime_by_machine(period=metrics.period_ending(now=NOW, days=7))
    assert row["downtime_seconds"] == pytest.approx(3 * HOUR, abs=1)


def test_days_follow_the_factory_time_zone(settings, machine):
    settings.TIME_ZONE = "Europe/Berlin"
    from django.utils import timezone

    with timezone.override("Europe/Berlin"):
        # 23:30 UTC on 9 March is 00:30 on 10 March in Berlin: today there.
        issue(machine, reported=datetime(2026, 3, 9, 23, 30, tzinfo=UTC), status="open")
        period = metrics.period_ending(now=NOW, days=2)
        per_day = metrics.period_figures(period=period).per_day
        assert [(d, c) for d, c, _ in per_day] == [(date(2026, 3, 9), 0), (date(2026, 3, 10), 1)]
        assert metrics.now_figures(now=NOW).reported_today == 1


def test_downtime_share_is_of_all_machines_calendar_time(week, period):
    summary = metrics.period_figures(period=period).summary
    assert summary.downtime_share == pytest.approx(41 / (3 * PERIOD_HOURS), abs=1e-4)
