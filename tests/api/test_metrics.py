"""The dashboard's figures through the API (GET /api/dashboard/metrics/): on a small factory made by hand,
through the domain's own calls, they are the figures worked out by hand below, and the figures the
dashboard page shows for the same period and department.

The API and the page count from the real clock, so the data set is laid out backwards from the moment it is
made (T), with N = 7 days: the period runs from local midnight six days before today (S) to now.

Machine A (Milling): i1 stopped T-50h, runs again T-46h, resolved; i2 stopped T-49h (an hour before its
  report at T-48h), runs again T-45h, still in progress: merged into one stop of 5 h. i3 stopped S-2h (its
  report belongs to the previous period), runs again S+3h, resolved: 3 h inside the period, no stop of it.
  Downtime 8 h, 1 stop.
Machine B (Milling): i4 stopped T-30h and is still down: 30 h until now. i5 stopped T-100h for an hour,
  resolved. Downtime 31 h, 2 stops.
Machine C (Turning): i8 stopped T-10h, runs again T-8h, open. i6 never stopped, resolved and closed. i9
  resolved then reopened (so not resolved). i7 was reported nine days ago (the previous period).
  Downtime 2 h, 1 stop.
"""

from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from floor.models import Department, Issue, Machine, Status
from floor.reporting import record_remedy, report_issue

pytestmark = pytest.mark.django_db

HOUR = 3600.0
DAYS = 7
URL = "/api/dashboard/metrics/"
# Figures that run until now move while the test runs (the API and the page read the clock a moment apart).
CLOCK = 60.0


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def manager_api(callers):
    return callers["manager"]


@pytest.fixture
def turning(db):
    return Department.objects.create(name="Turning")


@pytest.fixture
def lathe(turning):
    return Machine.objects.create(name="T-01 Okuma LB3000", department=turning)


def period_start(days, now):
    """Local midnight of the period's first day, worked out by hand (not by dashboard.metrics)."""
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first_day, time.min))


@pytest.fixture
def shop(machine, other_machine, lathe, operator, maintenance):
    T = timezone.now()
    S = period_start(DAYS, T)
    h = timedelta(hours=1)
    a, b, c = machine, other_machine, lathe

    def report(machine, category, ago=None, *, at=None, codes=(), stopped=None, runnable=True):
        return report_issue(machine=machine, category=category, description=f"{category} trouble",
                            alarm_codes=codes, is_runnable=runnable, by=operator,
                            reported_at=at or T - ago, machine_stopped_at=stopped)

    def fixed(issue):
        record_remedy(issue=issue, description="Fixed it", by=maintenance, resolve=True)

    i1 = report(a, "alarm", 50 * h, codes=["SV0401"], runnable=False)
    i1.set_runnable(True, by=maintenance, at=T - 46 * h)
    fixed(i1)
    i2 = report(a, "alarm", 48 * h, codes=["SV0401", "EX1001"], runnable=False, stopped=T - 49 * h)
    i2.set_runnable(True, by=maintenance, at=T - 45 * h)
    i2.set_status(Status.IN_PROGRESS, by=maintenance)
    i3 = report(a, "mechanical", at=S - 2 * h, runnable=False)
    i3.set_runnable(True, by=maintenance, at=S + 3 * h)
    fixed(i3)

    i4 = report(b, "hydraulic", 30 * h, runnable=False)
    i5 = report(b, "alarm", 100 * h, codes=["SV0401"], runnable=False)
    i5.set_runnable(True, by=maintenance, at=T - 99 * h)
    fixed(i5)

    i6 = report(c, "electrical", 20 * h, codes=["2136"])
    record_remedy(issue=i6, description="New fuse", by=maintenance)
    i6.set_status(Status.RESOLVED, by=maintenance)
    i6.set_status(Status.CLOSED, by=maintenance)
    i7 = report(c, "mechanical", 9 * 24 * h)
    i8 = report(c, "alarm", 10 * h, codes=["SV0401"], runnable=False)
    i8.set_runnable(True, by=maintenance, at=T - 8 * h)
    i9 = report(c, "quality", 5 * h)
    fixed(i9)
    i9.set_status(Status.OPEN, by=maintenance)

    issues = {f"i{n}": Issue.objects.get(pk=i.pk) for n, i in enumerate([i1, i2, i3, i4, i5, i6, i7, i8, i9], 1)}
    return {"T": T, "S": S, **issues}


def figures(caller, **query):
    response = caller.get(URL, **query)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def repair_seconds(*issues):
    """Report to resolution, mean of the issues'."""
    return sum((i.resolved_at - i.reported_at).total_seconds() for i in issues) / len(issues)


# --- the figures, worked out by hand ----------------------------------------------------------------------
def test_the_whole_factorys_figures_are_the_hand_counted_ones(manager_api, shop, machine, other_machine, lathe):
    data = figures(manager_api, days=DAYS)
    now = timezone.now()
    period = (now - shop["S"]).total_seconds()
    assert data["days"] == DAYS and data["department"] is None
    assert datetime.fromisoformat(data["period"]["start"]) == shop["S"]

    summary = data["summary"]
    assert summary["reported"] == 7  # i1 i2 i4 i5 i6 i8 i9
    assert summary["reported_previous_period"] == 2  # i3 (the evening before the period) and i7
    assert summary["resolved"] == 4  # i1 i3 i5, and i6 though closed; i9 was reopened
    assert summary["mttr_report_seconds"] == pytest.approx(
        repair_seconds(shop["i1"], shop["i3"], shop["i5"], shop["i6"]), abs=1)
    # Stop to running again over the resolved ones that stopped: i1 4 h, i3 5 h, i5 1 h.
    assert summary["mttr_stop_seconds"] == pytest.approx(10 / 3 * HOUR, abs=1)
    assert summary["repairs_with_stop"] == 3
    # A 8 h (5 h merged + 3 h clipped), B 31 h (30 h until now + 1 h), C 2 h.
    assert summary["downtime_seconds"] == pytest.approx(41 * HOUR, abs=CLOCK)
    assert summary["stops"] == 4  # A 1 (i3's began before the period), B 2, C 1
    assert summary["machines"] == 3
    assert summary["mtbf_seconds"] == pytest.approx((3 * period - 41 * HOUR) / 4, abs=CLOCK)
    assert summary["downtime_share"] == pytest.approx(41 * HOUR / (3 * period), abs=1e-4)

    assert [(r["category"], r["issues"]) for r in data["by_category"]] == [
        ("alarm", 4), ("electrical", 1), ("hydraulic", 1), ("quality", 1)]
    assert [(r["code"], r["issues"]) for r in data["alarm_codes"]] == [("SV0401", 4), ("2136", 1), ("EX1001", 1)]
    assert [r["cumulative"] for r in data["alarm_codes"]] == pytest.approx([4 / 6, 5 / 6, 1.0])
    assert data["alarm_codes"][0]["share"] == pytest.approx(4 / 6)

    by_machine = [(r["machine_id"], r["issues"], r["stops"]) for r in data["by_machine"]]
    assert by_machine == [(str(other_machine.pk), 2, 2), (str(machine.pk), 2, 1), (str(lathe.pk), 3, 1)]
    downtime = {r["machine_id"]: (r["downtime_seconds"], r["mtbf_seconds"]) for r in data["by_machine"]}
    assert downtime[str(machine.pk)] == pytest.approx((8 * HOUR, period - 8 * HOUR), abs=CLOCK)
    assert downtime[str(other_machine.pk)] == pytest.approx((31 * HOUR, (period - 31 * HOUR) / 2), abs=CLOCK)
    assert downtime[str(lathe.pk)] == pytest.approx((2 * HOUR, period - 2 * HOUR), abs=CLOCK)
    departments = {r["name"]: (r["issues"], r["machines"], r["downtime_seconds"]) for r in data["by_department"]}
    assert departments == {"Milling": (4, 2, pytest.approx(39 * HOUR, abs=CLOCK)),
                           "Turning": (3, 1, pytest.approx(2 * HOUR, abs=CLOCK))}

    days = Counter(timezone.localdate(shop[k].reported_at).isoformat() for k in
                   ("i1", "i2", "i4", "i5", "i6", "i8", "i9"))
    assert len(data["per_day"]) == DAYS
    assert {r["day"]: r["reported"] for r in data["per_day"] if r["reported"]} == days
    assert sum(r["reported_previous_period"] for r in data["per_day"]) == 2

    midnight = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    today = sum(1 for k in ("i1", "i2", "i4", "i5", "i6", "i8", "i9") if shop[k].reported_at >= midnight)
    assert data["now"] == {"open_issues": 5, "machines_down": 1, "reported_today": today,  # i2 i4 i7 i8 i9; B
                           "oldest_open_at": data["now"]["oldest_open_at"], "oldest_open_issue": shop["i7"].pk}
    assert datetime.fromisoformat(data["now"]["oldest_open_at"]) == shop["i7"].reported_at


def test_one_departments_figures_are_its_machines_alone(manager_api, shop, turning, lathe):
    data = figures(manager_api, days=DAYS, department=str(turning.pk))
    assert data["department"] == {"id": str(turning.pk), "name": "Turning"}
    summary = data["summary"]
    assert (summary["reported"], summary["reported_previous_period"], summary["resolved"]) == (3, 1, 1)
    assert summary["mttr_report_seconds"] == pytest.approx(repair_seconds(shop["i6"]), abs=1)
    assert summary["mttr_stop_seconds"] is None and summary["repairs_with_stop"] == 0  # i6 never stopped
    assert summary["downtime_seconds"] == pytest.approx(2 * HOUR, abs=1)
    assert (summary["stops"], summary["machines"]) == (1, 1)
    period = (timezone.now() - shop["S"]).total_seconds()
    assert summary["mtbf_seconds"] == pytest.approx(period - 2 * HOUR, abs=CLOCK)
    assert [(r["code"], r["issues"]) for r in data["alarm_codes"]] == [("2136", 1), ("SV0401", 1)]  # a tie: by code
    assert [(r["category"], r["issues"]) for r in data["by_category"]] == [
        ("alarm", 1), ("electrical", 1), ("quality", 1)]
    assert [r["machine_id"] for r in data["by_machine"]] == [str(lathe.pk)]
    assert [r["name"] for r in data["by_department"]] == ["Turning"]
    assert (data["now"]["open_issues"], data["now"]["machines_down"]) == (3, 0)  # i7 i8 i9


def test_a_day_counts_from_midnight(manager_api, shop):
    """One day is today alone: only what was reported since midnight, and the downtime since then."""
    now = timezone.now()
    midnight = period_start(1, now)
    keys = ("i1", "i2", "i4", "i5", "i6", "i8", "i9")
    data = figures(manager_api, days=1)
    assert datetime.fromisoformat(data["period"]["start"]) == midnight
    assert data["summary"]["reported"] == sum(1 for k in keys if shop[k].reported_at >= midnight)
    # i4 keeps machine B down all day so far: at least that much downtime, begun today or before.
    assert data["summary"]["downtime_seconds"] >= (now - max(midnight, shop["i4"].machine_stopped_at)).total_seconds()


# --- the page shows the same ------------------------------------------------------------------------------
SUMMARY = {  # the API's name: the page's Summary attribute
    "reported": "reported", "reported_previous_period": "reported_previous", "resolved": "resolved",
    "mttr_report_seconds": "mttr_report_seconds", "mttr_stop_seconds": "mttr_stop_seconds",
    "repairs_with_stop": "repairs_with_stop", "downtime_seconds": "downtime_seconds",
    "downtime_share": "downtime_share", "stops": "stops", "machines": "machines", "mtbf_seconds": "mtbf_seconds",
}


def same(api_value, page_value):
    if isinstance(page_value, float) or isinstance(api_value, float):
        return api_value == pytest.approx(page_value, rel=1e-6, abs=CLOCK)
    return api_value == page_value


@pytest.mark.parametrize("days", [1, 7, 30, 365])
@pytest.mark.parametrize("where", [None, "Milling", "Turning"])
def test_the_page_shows_the_apis_figures(client, manager, manager_api, shop, days, where):
    query = {"days": days}
    if where:
        query["department"] = str(Department.objects.get(name=where).pk)
    data = figures(manager_api, **query)
    client.force_login(manager)
    page = client.get("/dashboard/", query)
    assert page.status_code == 200
    context = page.context

    assert context["days"] == data["days"] == days
    assert (context["department"].name if context["department"] else None) == where
    summary = context["summary"]
    for name, attribute in SUMMARY.items():
        assert same(data["summary"][name], getattr(summary, attribute)), name

    period = context["period"]
    assert datetime.fromisoformat(data["period"]["start"]) == period.start
    assert [(r["day"], r["reported"], r["reported_previous_period"]) for r in data["per_day"]] == [
        (day.isoformat(), n, previous) for day, n, previous in context["figures"].per_day]
    assert [(r["category"], r["issues"]) for r in data["by_category"]] == [
        (r["category"], r["issues"]) for r in context["category_rows"]]
    assert [(r["code"], r["issues"]) for r in data["alarm_codes"]] == [
        (r["code"], r["issues"]) for r in context["code_rows"]]
    assert [(r["machine_id"], r["issues"], r["stops"]) for r in data["by_machine"]] == [
        (str(r["machine_id"]), r["issues"], r["stops"]) for r in context["machine_rows"]]
    for api_row, page_row in zip(data["by_machine"], context["machine_rows"], strict=True):
        assert same(api_row["downtime_seconds"], page_row["downtime_seconds"])
        assert (api_row["mtbf_seconds"] is None) == (page_row["mtbf_seconds"] is None)
        if api_row["mtbf_seconds"] is not None:
            assert same(api_row["mtbf_seconds"], page_row["mtbf_seconds"])
    assert [(r["name"], r["issues"], r["machines"]) for r in data["by_department"]] == [
        (r["name"], r["issues"], r["machines"]) for r in context["department_rows"]]

    tiles = context["now_figures"]
    assert (data["now"]["open_issues"], data["now"]["machines_down"], data["now"]["reported_today"],
            data["now"]["oldest_open_issue"]) == (tiles.open_issues, tiles.machines_down, tiles.reported_today,
                                                  tiles.oldest_open_pk)


def test_the_page_and_the_api_both_default_to_30_days(client, manager, manager_api, shop):
    data = figures(manager_api)
    client.force_login(manager)
    page = client.get("/dashboard/")
    assert data["days"] == page.context["days"] == 30
    assert data["summary"]["reported"] == page.context["summary"].reported == 9  # i3 and i7 too


# --- what is refused --------------------------------------------------------------------------------------
@pytest.mark.parametrize("days", ["0", "400", "abc", "-3", "7.5"])
def test_invalid_days_are_400_naming_days(client, manager, manager_api, days):
    client.force_login(manager)
    assert client.get("/dashboard/", {"days": days}).status_code == 400  # as the page refuses them
    response = manager_api.get(URL, days=days)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert list(body["errors"]) == ["days"]
    assert body["errors"]["days"] == ["Days must be a whole number from 1 to 365."]


@pytest.mark.parametrize("value", ["0b5e1a7e-0000-4000-8000-000000000000", "not-a-uuid"])
def test_an_unknown_department_is_400(manager_api, value, machine):
    response = manager_api.get(URL, days=7, department=value)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and list(body["errors"]) == ["department"]


@pytest.mark.parametrize("role", ["operator", "maintenance"])
def test_operators_and_maintenance_may_not_see_the_figures(callers, role, shop):
    response = callers[role].get(URL, days=7)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json") and response.json()["status"] == 403
    assert "summary" not in response.json()
