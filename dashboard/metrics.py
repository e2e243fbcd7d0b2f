"""
The managers' figures: what is open now, and downtime and reliability over a period.

Every figure is computed by the database with aggregate queries; Python only arranges the aggregated rows
(at most one per day, category, alarm code or machine), never loops over issues. The number of queries is
fixed: it does not grow with issues, machines or days.

How we count (the dashboard's "How we count" note says the same in plain words):

- A period of N days is today and the N - 1 calendar days before it, in the factory's time zone
  (TIME_ZONE), from midnight to now. So "7 days" on a Thursday afternoon is Friday 00:00 to now. The
  previous period is the N whole days before it.
- Reported: issues whose reported_at is in the period. Resolved: issues whose resolved_at is in the
  period (closed issues keep their resolution time; a reopened issue has none until resolved again).
- Downtime: an issue that stopped its machine (machine_stopped_at set) keeps it down from
  machine_stopped_at until machine_running_again_at, or else until it was resolved, or else until now.
  On one machine, overlapping or touching stops are merged first, so two issues on one stopped machine
  count its downtime once. Stops are clipped to the period.
- A stop (a failure, for MTBF) is one merged downtime that began in the period.
- MTTR (report to resolution): mean of resolved_at - reported_at over the issues resolved in the period.
  MTTR (stop to running): mean of machine_running_again_at - machine_stopped_at over the issues resolved
  in the period that stopped their machine and have it running again.
- MTBF of a machine: its running time in the period (period length minus its downtime) divided by its
  stops in the period; none when it did not stop. Of the fleet: the machines' running time together
  divided by all stops. Calendar time: shift plans and planned maintenance are not known to us.
- Machines down now: machines with an open issue (open, in progress, waiting for parts) that is marked
  not runnable. Down since: the earliest machine_stopped_at of those issues. Just stopped (the wall
  screen flashes it): down since less than JUST_STOPPED ago.
- Top alarm codes: each alarm code counted once per issue reported in the period; the cumulative share
  is of all alarm codes of the period's issues (a Pareto chart).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from floor.models import OPEN_STATUSES, Category, Issue, Machine

TOP_ALARM_CODES = 10
# A stop this recent is news to the hall: the wall screen flashes it and lists it first. Long enough to be
# seen at one of the screen's 30 s refreshes by someone who looks up now and then, short enough that only
# the stop that just happened stands out.
JUST_STOPPED = timedelta(minutes=3)


# --- periods ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """The days [first_day .. last_day] in the factory's time zone; `end` is now (inside last_day)."""

    days: int
    start: datetime
    end: datetime
    previous_start: datetime

    @property
    def first_day(self) -> date:
        return timezone.localdate(self.start)

    @property
    def last_day(self) -> date:
        return timezone.localdate(self.end)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def day_list(self, *, previous=False) -> list[date]:
        first = self.first_day - timedelta(days=self.days) if previous else self.first_day
        return [first + timedelta(days=i) for i in range(self.days)]


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def period_ending(*, now: datetime, days: int) -> Period:
    """The period of `days` calendar days that ends now (today included)."""
    today = timezone.localdate(now)
    start = local_midnight(today - timedelta(days=days - 1))
    previous_start = local_midnight(today - timedelta(days=2 * days - 1))
    return Period(days=days, start=start, end=now, previous_start=previous_start)


# --- SQL that the ORM cannot express ----------------------------------------------------------------
# The downtime merge needs window functions over intervals computed per row, and GREATEST/LEAST, which
# the ORM has no portable form of. PostgreSQL and SQLite (3.28 or newer: window frames) differ only in
# the few spellings below.
def _dialect():
    if connection.vendor == "postgresql":
        return {
            "greatest": "GREATEST",
            "least": "LEAST",
            "seconds": lambda a, b: f"CAST(EXTRACT(EPOCH FROM ({b} - {a})) AS double precision)",
        }
    return {
        "greatest": "MAX",
        "least": "MIN",
        "seconds": lambda a, b: f"((julianday({b}) - julianday({a})) * 86400.0)",
    }


def _param(value: datetime):
    # SQLite compares datetimes as the text Django stored (naive UTC): hand it the same text.
    return connection.ops.adapt_datetimefield_value(value)


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, {k: _param(v) if isinstance(v, datetime) else v for k, v in params.items()})
        return cursor.fetchall()


def _department_join(department) -> tuple[str, dict]:
    if department is None:
        return "", {}
    return (
        "JOIN manufacturing_machine m ON m.id = i.machine_id AND m.department_id = %(department)s",
        {"department": _uuid_param(department.pk)},
    )


def _uuid_param(value):
    # Django stores UUIDs as 32 hex characters on SQLite and as uuid on PostgreSQL.
    return value.hex if connection.vendor == "sqlite" else value


def _downtime_cte(*, department, start: datetime, end: datetime, islands=False) -> tuple[str, dict]:
    """SQL of CTEs over the stops of each machine in [start, end), clipped to it:
    `ordered(machine_id, raw_s, s, e, prev_end)`, each stop with the latest end of the machine's earlier
    stops; and with `islands`, `merged(machine_id, s, e, began)`: overlapping and touching stops merged
    ("gaps and islands"), `began` being the unclipped start of the merged stop."""
    d = _dialect()
    join, params = _department_join(department)
    sql = f"""
    WITH candidates AS (
        -- Stops that ended after the start, and stops not ended yet: two halves (not one OR) so that an
        -- index on the end expression, COALESCE(machine_running_again_at, resolved_at) WHERE
        -- machine_stopped_at IS NOT NULL, finds each half instead of reading every stop ever recorded.
        SELECT i.machine_id, i.machine_stopped_at, COALESCE(i.machine_running_again_at, i.resolved_at) AS ended
        FROM issues_issue i {join}
        WHERE i.machine_stopped_at IS NOT NULL
          AND COALESCE(i.machine_running_again_at, i.resolved_at) > %(start)s
        UNION ALL
        SELECT i.machine_id, i.machine_stopped_at, NULL
        FROM issues_issue i {join}
        WHERE i.machine_stopped_at IS NOT NULL
          AND COALESCE(i.machine_running_again_at, i.resolved_at) IS NULL
    ),
    intervals AS (
        SELECT machine_id,
               machine_stopped_at AS raw_s,
               {d['greatest']}(machine_stopped_at, %(start)s) AS s,
               {d['least']}(COALESCE(ended, %(end)s), %(end)s) AS e
        FROM candidates
        WHERE machine_id IS NOT NULL AND machine_stopped_at < %(end)s
    ),
    ordered AS (
        -- Per machine, by start: the latest end among the machine's earlier stops. A stop that begins
        -- after it starts a new island (a merged stop); one that begins before it overlaps (or touches).
        SELECT machine_id, raw_s, s, e,
               MAX(e) OVER (PARTITION BY machine_id ORDER BY s, e
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
        FROM intervals
        WHERE e > s
    )"""
    if islands:
        sql += """,
    numbered AS (
        SELECT machine_id, raw_s, s, e,
               SUM(CASE WHEN prev_end IS NULL OR s > prev_end THEN 1 ELSE 0 END)
                   OVER (PARTITION BY machine_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island
        FROM ordered
    ),
    merged AS (
        SELECT machine_id, MIN(s) AS s, MAX(e) AS e, MIN(raw_s) AS began
        FROM numbered
        GROUP BY machine_id, island
    )"""
    return sql, {**params, "start": start, "end": end}


# --- now --------------------------------------------------------------------------------------------
@dataclass
class Now:
    open_issues: int
    machines_down: int
    reported_today: int
    oldest_open_at: datetime | None
    oldest_open_pk: int | None
    today: date
    # The machines down now, longest first (the wall screen's list, the daily summary): [{machine_id,
    # machine__name, machine__department__name, since (first stop of its open issues), reported, issues,
    # just_stopped}].
    down: list = field(default_factory=list)


def _issues(department):
    issues = Issue.objects.all()
    if department is not None:
        issues = issues.filter(machine__department=department)
    return issues


def now_figures(*, now: datetime, department=None, with_down_list=False) -> Now:
    """Open issues, machines down now, issues reported today, the oldest open issue.

    One aggregate over the open issues and today's (the partial index of open issues and the reported_at
    index find them), one read of the oldest open issue, and with `with_down_list` one of the machines
    down now."""
    today = timezone.localdate(now)
    is_open = Q(status__in=OPEN_STATUSES)
    from_today = Q(reported_at__gte=local_midnight(today))
    figures = _issues(department).filter(is_open | from_today).aggregate(
        open_issues=Count("pk", filter=is_open),
        machines_down=Count("machine", filter=is_open & Q(is_runnable=False), distinct=True),
        reported_today=Count("pk", filter=from_today),
        oldest_open_at=Min("reported_at", filter=is_open),
    )
    # The oldest open issue by its exact report time. Not "open issues ORDER BY reported_at LIMIT 1":
    # PostgreSQL walks the reported_at index from the oldest issue, through a million finished ones,
    # hoping to meet an open one early (2.5 s on the benchmark); the equality lookup is an index probe.
    oldest_pk = None
    if figures["oldest_open_at"] is not None:
        oldest_pk = (
            _issues(department).filter(is_open, reported_at=figures["oldest_open_at"])
            .order_by("pk").values_list("pk", flat=True).first()
        )
    result = Now(today=today, oldest_open_pk=oldest_pk, **figures)
    if with_down_list:
        result.down = list(
            _issues(department)
            .filter(is_open, is_runnable=False, machine__isnull=False)
            .values("machine_id", "machine__name", "machine__department__name")
            .annotate(since=Min("machine_stopped_at"), reported=Min("reported_at"), issues=Count("pk"))
            .order_by("since", "machine__name")
        )
        for row in result.down:
            row["just_stopped"] = row["since"] is not None and row["since"] > now - JUST_STOPPED
    return result


def change_marker() -> str:
    """A cheap fingerprint of the data behind the figures, for ETags: the newest issue and the newest
    timeline event. Every change made through the app's model methods writes an event (status,
    machine stopped or running, assignment, remedy), so a new event means the figures may have moved.
    Both maxima are read from primary-key indexes: a few index pages, whatever the table size."""
    (row,) = _fetch("SELECT (SELECT MAX(id) FROM issues_issue), (SELECT MAX(id) FROM issues_issueevent)", {})
    return f"{row[0]}-{row[1]}"


# --- a period ---------------------------------------------------------------------------------------
@dataclass
class Summary:
    reported: int
    reported_previous: int
    resolved: int
    mttr_report_seconds: float | None
    mttr_stop_seconds: float | None
    repairs_with_stop: int
    downtime_seconds: float
    stops: int
    machines: int
    mtbf_seconds: float | None
    period_seconds: float

    @property
    def downtime_share(self) -> float | None:
        """Downtime as a share of the machines' calendar time in the period (0.05 = 5 %)."""
        if not self.machines or not self.period_seconds:
            return None
        return self.downtime_seconds / (self.machines * self.period_seconds)

    @property
    def trend(self) -> float | None:
        """Change of issues reported against the previous period, as a fraction (0.1 = 10 % more)."""
        if not self.reported_previous:
            return None
        return (self.reported - self.reported_previous) / self.reported_previous


@dataclass
class Figures:
    period: Period
    summary: Summary
    per_day: list  # [(date, reported, reported on the same day of the previous period)]
    by_category: list  # [{category, label, issues}]
    by_machine: list  # [{machine_id, name, department, issues, downtime_seconds, stops, mtbf_seconds}]
    by_department: list  # [{department_id, name, issues, downtime_seconds, machines}]
    alarm_codes: list  # [{code, issues, share, cumulative}]
    alarm_code_total: int


def issues_per_day(*, period: Period, department=None) -> tuple[list, int, int]:
    """Issues reported per calendar day in the period and in the previous one (GROUP BY day in the
    factory's time zone). Returns ([(day, count, count a period earlier)], total, previous total)."""
    rows = (
        _issues(department)
        .filter(reported_at__gte=period.previous_start, reported_at__lt=period.end)
        .annotate(day=TruncDate("reported_at"))
        .values("day")
        .annotate(n=Count("*"))
        .order_by()
    )
    counts = {row["day"]: row["n"] for row in rows}
    shift = timedelta(days=period.days)
    per_day = [(day, counts.get(day, 0), counts.get(day - shift, 0)) for day in period.day_list()]
    return per_day, sum(c for _, c, _ in per_day), sum(p for _, _, p in per_day)


def resolution_figures(*, period: Period, department=None) -> dict:
    """Issues resolved in the period and the two MTTRs (see the module docstring), in one aggregate over
    the resolved_at index."""
    d = _dialect()
    join, params = _department_join(department)
    repair = d["seconds"]("i.reported_at", "i.resolved_at")
    stop = d["seconds"]("i.machine_stopped_at", "i.machine_running_again_at")
    (row,) = _fetch(
        f"""
        SELECT COUNT(*),
               AVG({repair}),
               AVG(CASE WHEN i.machine_stopped_at IS NOT NULL AND i.machine_running_again_at IS NOT NULL
                        THEN {stop} END),
               COUNT(CASE WHEN i.machine_stopped_at IS NOT NULL AND i.machine_running_again_at IS NOT NULL
                          THEN 1 END)
        FROM issues_issue i {join}
        WHERE i.resolved_at >= %(start)s AND i.resolved_at < %(end)s
        """,
        {**params, "start": period.start, "end": period.end},
    )
    resolved, mttr_report, mttr_stop, repairs = row
    return {"resolved": resolved, "mttr_report_seconds": mttr_report, "mttr_stop_seconds": mttr_stop,
            "repairs_with_stop": repairs}


def downtime_by_machine(*, period: Period, department=None) -> list[dict]:
    """Per machine that was down in the period: merged downtime seconds (clipped to the period), stops
    that began in the period, and MTBF seconds (running time / stops; None without stops).

    The merged length needs no islands: taking the stops by start, each adds only what reaches past
    the latest end before it (all of it when it starts after that end, nothing when it lies inside),
    so one window pass and one aggregate give the union's length."""
    cte, params = _downtime_cte(department=department, start=period.start, end=period.end)
    d = _dialect()
    whole = d["seconds"]("s", "e")
    beyond = d["seconds"](f"{d['greatest']}(s, prev_end)", "e")
    rows = _fetch(
        cte + f"""
        SELECT machine_id, downtime, stops,
               CASE WHEN stops > 0 THEN (%(period_seconds)s - downtime) / stops END AS mtbf
        FROM (SELECT machine_id,
                     SUM(CASE WHEN prev_end IS NULL THEN {whole}
                              WHEN e > prev_end THEN {beyond}
                              ELSE 0 END) AS downtime,
                     COUNT(CASE WHEN (prev_end IS NULL OR s > prev_end) AND raw_s >= %(start)s
                                THEN 1 END) AS stops
              FROM ordered GROUP BY machine_id) per_machine
        """,
        {**params, "period_seconds": period.seconds},
    )
    return [
        {"machine_id": _uuid(machine_id), "downtime_seconds": float(downtime), "stops": stops,
         "mtbf_seconds": float(mtbf) if mtbf is not None else None}
        for machine_id, downtime, stops, mtbf in rows
    ]


def downtime_timeline(*, now: datetime, days: int = 7, machines: int = 12, department=None) -> dict:
    """The merged stops of the `machines` machines with the most downtime in the last `days` calendar
    days, for the timeline chart: {"start", "end", "rows": [{machine_id, name, downtime_seconds,
    stops: [(s, e)]}]}, rows by downtime, most first."""
    period = period_ending(now=now, days=days)
    cte, params = _downtime_cte(department=department, start=period.start, end=period.end, islands=True)
    seconds = _dialect()["seconds"]("s", "e")
    rows = _fetch(
        cte + f"""
        , ranked AS (
            SELECT machine_id, SUM({seconds}) AS downtime FROM merged GROUP BY machine_id
            ORDER BY downtime DESC, machine_id LIMIT %(machines)s
        )
        SELECT merged.machine_id, ranked.downtime, merged.s, merged.e, mm.name
        FROM merged
        JOIN ranked ON ranked.machine_id = merged.machine_id
        JOIN manufacturing_machine mm ON mm.id = merged.machine_id
        ORDER BY ranked.downtime DESC, merged.machine_id, merged.s
        """,
        {**params, "machines": machines},
    )
    result, by_machine = [], {}
    for machine_id, downtime, s, e, name in rows:  # one row per merged stop of at most `machines` machines
        if machine_id not in by_machine:
            by_machine[machine_id] = {"machine_id": _uuid(machine_id), "name": name,
                                      "downtime_seconds": float(downtime), "stops": []}
            result.append(by_machine[machine_id])
        by_machine[machine_id]["stops"].append((_datetime(s), _datetime(e)))
    return {"start": period.start, "end": period.end, "days": period.day_list(), "rows": result}


def alarm_code_pareto(*, period: Period, department=None, top: int = TOP_ALARM_CODES) -> tuple[list, int]:
    """The `top` alarm codes of the issues reported in the period, most frequent first, each with its
    share and the cumulative share of all the period's alarm codes (window sums over the grouped
    counts). Returns (rows, total of all codes)."""
    join, params = _department_join(department)
    rows = _fetch(
        f"""
        SELECT code, n, SUM(n) OVER (ORDER BY n DESC, code ROWS UNBOUNDED PRECEDING), SUM(n) OVER ()
        FROM (SELECT c.code AS code, COUNT(*) AS n
              FROM issues_alarmcode c JOIN issues_issue i ON i.id = c.issue_id {join}
              WHERE i.reported_at >= %(start)s AND i.reported_at < %(end)s
              GROUP BY c.code) per_code
        ORDER BY n DESC, code
        LIMIT %(top)s
        """,
        {**params, "start": period.start, "end": period.end, "top": top},
    )
    total = int(rows[0][3]) if rows else 0
    return [
        {"code": code, "issues": n, "share": n / total, "cumulative": float(cumulative) / total}
        for code, n, cumulative, _ in rows
    ], total


def issues_by_category(*, period: Period, department=None) -> list[dict]:
    """Issues reported in the period per category, most first."""
    labels = dict(Category.choices)
    rows = (
        _issues(department)
        .filter(reported_at__gte=period.start, reported_at__lt=period.end)
        .values("category")
        .annotate(issues=Count("*"))
        .order_by("-issues", "category")
    )
    return [{**row, "label": labels.get(row["category"], row["category"])} for row in rows]


def issues_by_machine(*, period: Period, department=None) -> dict:
    """Issues reported in the period per machine: {machine_id: count}."""
    rows = (
        _issues(department)
        .filter(reported_at__gte=period.start, reported_at__lt=period.end, machine__isnull=False)
        .values("machine_id")
        .annotate(issues=Count("*"))
        .order_by()
    )
    return {row["machine_id"]: row["issues"] for row in rows}


def machines_of(department=None) -> list[dict]:
    """The machines (of a department) with their department, for names and for the fleet's size."""
    machines = Machine.objects.all()
    if department is not None:
        machines = machines.filter(department=department)
    return list(machines.values("id", "name", "department_id", "department__name"))


def period_figures(*, period: Period, department=None, top_machines: int = 15) -> Figures:
    """Every figure of the period (see the module docstring); seven queries whatever the data."""
    per_day, reported, reported_previous = issues_per_day(period=period, department=department)
    resolution = resolution_figures(period=period, department=department)
    downtime = downtime_by_machine(period=period, department=department)
    counts = issues_by_machine(period=period, department=department)
    machines = machines_of(department)
    codes, code_total = alarm_code_pareto(period=period, department=department)

    # Arranging aggregated rows (one per machine at most) into the tables.
    down = {row["machine_id"]: row for row in downtime}
    total_downtime = sum(row["downtime_seconds"] for row in downtime)
    stops = sum(row["stops"] for row in downtime)
    running = len(machines) * period.seconds - total_downtime
    by_machine, by_department = [], {}
    for machine in machines:
        row = down.get(machine["id"], {})
        entry = {
            "machine_id": machine["id"],
            "name": machine["name"],
            "department": machine["department__name"] or "",
            "department_id": machine["department_id"],
            "issues": counts.get(machine["id"], 0),
            "downtime_seconds": row.get("downtime_seconds", 0.0),
            "stops": row.get("stops", 0),
            "mtbf_seconds": row.get("mtbf_seconds"),
        }
        if entry["issues"] or entry["downtime_seconds"]:
            by_machine.append(entry)
        dept = by_department.setdefault(machine["department_id"], {
            "department_id": machine["department_id"], "name": machine["department__name"] or "No department",
            "issues": 0, "downtime_seconds": 0.0, "machines": 0,
        })
        dept["issues"] += entry["issues"]
        dept["downtime_seconds"] += entry["downtime_seconds"]
        dept["machines"] += 1
    by_machine.sort(key=lambda r: (-r["downtime_seconds"], -r["issues"], r["name"]))
    summary = Summary(
        reported=reported,
        reported_previous=reported_previous,
        downtime_seconds=total_downtime,
        stops=stops,
        machines=len(machines),
        mtbf_seconds=running / stops if stops else None,
        period_seconds=period.seconds,
        **resolution,
    )
    return Figures(
        period=period,
        summary=summary,
        per_day=per_day,
        by_category=issues_by_category(period=period, department=department),
        by_machine=by_machine[:top_machines],
        by_department=sorted(by_department.values(), key=lambda r: (-r["downtime_seconds"], -r["issues"], r["name"])),
        alarm_codes=codes,
        alarm_code_total=code_total,
    )


def _uuid(value):
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _datetime(value):
    # PostgreSQL hands back aware datetimes; SQLite the stored text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value
