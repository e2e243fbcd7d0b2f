"""The PostgreSQL database the desk and dashboard benchmarks share.

`logbook_bench` on BENCH_POSTGRES_URL's server (default postgres://postgres@127.0.0.1:5432), created
when missing and seeded once with the demo history (1,000,000 issues over 500 machines by default); a
later run finds it seeded at the right size and reuses it. The test database is never touched.
"""

import os
import time
import uuid


def add_database_arguments(parser):
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--machines", type=int, default=500)
    parser.add_argument("--days", type=int, default=365, help="history spread over this many days")
    parser.add_argument("--runs", type=int, default=30, help="requests measured per row")
    parser.add_argument("--database", default="logbook_bench")
    parser.add_argument("--seed-only", action="store_true", help="seed (if needed) and stop")
    parser.add_argument("--reseed", action="store_true", help="drop the bench database and seed it again")


def open_bench_database(args):
    """Point Django at the bench database, migrate it and seed it if needed (from parsed arguments)."""
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    if not args.database.endswith("bench"):
        raise SystemExit("The bench database's name must end in 'bench': it may be dropped and refilled.")
    _ensure_database(server, args.database, fresh=args.reseed)
    os.environ["DATABASE_URL"] = f"{server}/{args.database}"
    os.environ.pop("DB_NAME", None)
    os.environ["ENV_FILE"] = "/dev/null"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "logbook_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    # Requests go through the test client in this process.
    settings.ALLOWED_HOSTS = ["testserver"]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        print(f"Applying {len(pending)} migration(s) to the bench database")
    call_command("migrate", verbosity=0)
    seeded = _seed(issues=args.issues, machines=args.machines, days=args.days)
    if pending and not seeded:
        _settle()  # a migration may have rewritten the table out of report order


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _ensure_database(server_url, name, *, fresh=False):
    """Create the bench database when it is missing (connecting to the server's `postgres` database);
    with `fresh`, drop it first."""
    import psycopg2

    connection = psycopg2.connect(f"{server_url}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        if fresh:
            print(f"Dropping database {name}")
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            print(f"Creating database {name}")
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def _seed(*, issues, machines, days):
    from django.db import connection

    from floor import demo
    from floor.models import Department, Issue, Machine

    have_machines = Machine.objects.count()
    have_issues = Issue.objects.count()
    if have_machines == machines and have_issues == issues:
        print(f"Reusing the seeded bench database: {machines} machines, {issues:,} issues.")
        return False
    print(f"Seeding: {machines} machines, {issues:,} issues over {days} days (takes a few minutes)")
    started = time.monotonic()
    with connection.cursor() as cursor:
        # Our tables and the factory tables our migration made in this bench database; nothing else.
        cursor.execute(
            "TRUNCATE issues_issueevent, issues_remedy, issues_attachment, issues_alarmcode, issues_issue, "
            "manufacturing_machine, manufacturing_department RESTART IDENTITY"
        )
    departments = [Department(id=uuid.uuid4(), name=f"Hall {chr(65 + i)}") for i in range(10)]
    Department.objects.bulk_create(departments)
    templates = [name for name, _, _ in demo.MACHINES]
    Machine.objects.bulk_create(
        Machine(id=uuid.uuid4(), name=f"{i + 1:03} {templates[i % len(templates)].split(' ', 1)[1]}",
                department=departments[i % len(departments)])
        for i in range(machines)
    )
    users = demo.create_demo_users()
    pairs = demo.ensure_machines()

    def progress(done):
        if done % 50000 == 0 or done == issues:
            rate = done / max(time.monotonic() - started, 0.001)
            print(f"  {done:,} issues ({rate:,.0f}/s)", flush=True)

    demo.generate_history(machines=pairs, users=users, issues=issues, days=days, seed=7, progress=progress)
    print(f"Seeded in {time.monotonic() - started:.0f} s.")
    _settle()
    return True


def _settle():
    """Put the issues in report order and refresh the planner's statistics.

    The demo generator writes a year of history in random order; a real logbook receives its issues
    one by one as they are reported, so its table is (nearly) in reported_at order, and a month's issues
    sit on a month's pages. Measuring the random order would measure the generator, not the dashboard.
    Also run after migrations that rewrote the table."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("CLUSTER issues_issue USING issue_reported")
        cursor.execute("CLUSTER issues_alarmcode USING alarmcode_unique")
        cursor.execute("VACUUM ANALYZE")
    print(f"Issues put in report order (CLUSTER) and analysed in {time.monotonic() - started:.0f} s.")


def measure(client, url, runs, *, headers=None, expect=200):
    times, queries = [], 0
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(runs + 2):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers or {})
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise SystemExit(f"{url} answered {response.status_code}, expected {expect}")
        if i >= 2:  # the first two warm caches and connections
            times.append(elapsed)
            queries = len(captured)
    return times, queries, response


