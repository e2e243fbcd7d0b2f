"""Benchmark of the maintenance desk on a large factory (`make bench-desk`, or
`python -m tests.bench.desk [--runs N]`).

Uses the same PostgreSQL bench database as the dashboard benchmark (`logbook_bench`, seeded once with
1,000,000 issues over 500 machines and reused), never the test database. Requests go through Django's
test Client in this process, so the times are server time: routing, middleware, queries, templates.

Prints median and 95th-percentile milliseconds of the queue's first page, a filtered page, a search,
an alarm-code search and an issue page, with the number of queries each made.
"""

import argparse
import statistics
import sys

from tests.bench.database import add_database_arguments, measure, open_bench_database, percentile

TARGET_MS = 150


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    open_bench_database(args)
    if args.seed_only:
        return 0

    from django.contrib.auth import get_user_model
    from django.test import Client

    from floor.models import Issue, IssueAlarmCode, Machine

    client = Client()
    client.force_login(get_user_model().objects.get(username="maintenance"))
    machine = Machine.objects.order_by("name")[7]
    code = IssueAlarmCode.objects.order_by("-id").values_list("code", flat=True).first()
    issue = Issue.objects.filter(remedies__isnull=False).order_by("-id").first()
    rows = [
        ("first page", "/desk/"),
        ("filtered", f"/desk/?status=open&status=in_progress&machine={machine.pk}"),
        ("filtered 2", "/desk/?category=alarm&runnable=down&reported_from=2026-01-01"),
        ("search", "/desk/?q=servo+overload"),  # a phrase in 2.5 % of all issues: a worst case
        ("search 2", "/desk/?q=encoder+cable"),
        ("code", f"/desk/?q={code}"),
        ("issue", f"/issues/{issue.pk}/"),
        ("similar", f"/issues/{issue.pk}/similar/"),  # loaded by the issue page after it shows
    ]
    print()
    print(f"Desk on PostgreSQL: {Issue.objects.count():,} issues, {Machine.objects.count()} machines, "
          f"{args.runs} requests per row, server time in ms")
    header = f"{'request':<11} {'median':>8} {'p95':>8} {'target':>8} {'queries':>8}  url"
    print(header)
    print("-" * (len(header) + 40))
    missed = False
    for name, url in rows:
        times, queries, _ = measure(client, url, args.runs)
        median, p95 = statistics.median(times), percentile(times, 0.95)
        missed |= median >= TARGET_MS
        print(f"{name:<11} {median:8.1f} {p95:8.1f} {'<' + str(TARGET_MS):>8} {queries:8}  {url}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
