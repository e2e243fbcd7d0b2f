"""Benchmark of the manager dashboard on a large factory (`make bench-dashboard`, or
`python -m tests.bench.dashboard [--issues N] [--machines N] [--days N] [--runs N] [--reseed]`).

Uses the PostgreSQL bench database of tests/bench/database.py (`logbook_bench` on BENCH_POSTGRES_URL's
server, by default
postgres://postgres@127.0.0.1:5432), created when missing and seeded once with the demo history
(1,000,000 issues over 500 machines by default); a later run finds it seeded at the right size and reuses
it (--reseed starts over). After seeding, the issues are put in report order, as a real logbook's table is
(see _settle). The test database is never touched. Requests go through Django's test Client in this process, so the
times are server time: URL routing, middleware, queries and template rendering, without network.

Prints the median and 95th-percentile milliseconds of the full page, one tile refresh (htmx) and a
tile refresh answered 304 Not Modified, plus the number of queries each made, and whether the indexes
the dashboard's queries are shaped for exist. Exit status 1 when a median misses its target.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from tests.bench.database import add_database_arguments, measure, open_bench_database, percentile

TARGETS_MS = {"page": 300, "tiles": 50, "tiles 304": 10}
# The indexes on issues_issue that dashboard/metrics.py's queries are shaped for.
DASHBOARD_INDEXES = ("issue_stop_end", "issue_reported_machine_cat", "issue_resolved_repair")


def main(argv=None):
    """Seed (once) and measure; prints the table. Exit status 1 when a median misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--period", type=int, default=30, help="the dashboard's ?days=")
    args = parser.parse_args(argv)

    open_bench_database(args)
    if args.seed_only:
        return 0

    from django.contrib.auth import get_user_model
    from django.test import Client

    manager = get_user_model().objects.get(username="manager")
    client = Client()
    client.force_login(manager)
    page_url = f"/dashboard/?days={args.period}"
    tiles_headers = {"HX-Request": "true", "HX-Target": "tiles"}
    rows = []
    times, queries, _ = measure(client, page_url, args.runs)
    rows.append(("page", page_url, times, queries))
    times, queries, response = measure(client, page_url, args.runs, headers=tiles_headers)
    rows.append(("tiles", page_url + " (htmx tiles)", times, queries))
    etag = response["ETag"]
    times, queries, _ = measure(client, page_url, args.runs, headers={**tiles_headers, "If-None-Match": etag},
                                expect=304)
    rows.append(("tiles 304", page_url + " (If-None-Match)", times, queries))

    from django.db import connection

    from floor.models import Issue, Machine

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'issues_issue' AND indexname = ANY(%s)",
                       [list(DASHBOARD_INDEXES)])
        present = {row[0] for row in cursor.fetchall()}
    print()
    print(f"Dashboard on PostgreSQL: {Issue.objects.count():,} issues, {Machine.objects.count()} machines, "
          f"{args.runs} requests per row, server time in ms")
    header = f"{'request':<10} {'median':>8} {'p95':>8} {'target':>8} {'queries':>8}  url"
    print(header)
    print("-" * (len(header) + 30))
    missed = False
    for name, url, times, queries in rows:
        median, p95 = statistics.median(times), percentile(times, 0.95)
        missed |= median >= TARGETS_MS[name]
        print(f"{name:<10} {median:8.1f} {p95:8.1f} {'<' + str(TARGETS_MS[name]):>8} {queries:8}  {url}")
    print("Indexes the dashboard's queries are shaped for: "
          + ", ".join(f"{name} {'present' if name in present else 'MISSING'}" for name in DASHBOARD_INDEXES))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
