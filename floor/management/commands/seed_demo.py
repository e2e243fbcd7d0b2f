import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from floor import demo
from floor.models import Issue


class Command(BaseCommand):
    help = (
        "Fill the database with a demo factory: departments and machines (only when the factory tables "
        "are empty), one user per role with known passwords, and a history of issues."
    )

    def add_arguments(self, parser):
        parser.add_argument("--issues", type=int, default=400, help="How many issues to create (default 400).")
        parser.add_argument("--days", type=int, default=90, help="Spread them over this many days (default 90).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed, for repeatable data sets.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any issue exists.")

    def handle(self, *args, issues, days, seed, if_empty, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates users with known passwords and made-up issues; it only runs with DEBUG on."
            )
        if issues < 0 or days < 1:
            raise CommandError("--issues must be 0 or more and --days 1 or more.")
        if if_empty and Issue.objects.exists():
            self.stdout.write("The database already holds issues; demo data not loaded.")
            return

        started = time.monotonic()
        users = demo.create_demo_users()
        machines = demo.ensure_machines()
        step = max(issues // 20, 5000)

        def progress(done):
            if issues >= 50000 and (done % step < 5000 or done == issues):
                rate = done / max(time.monotonic() - started, 0.001)
                self.stdout.write(f"  {done:,} issues ({rate:,.0f}/s)")

        demo.generate_history(machines=machines, users=users, issues=issues, days=days, seed=seed,
                              progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"Demo factory ready: {len(machines)} machines, {issues:,} issues over {days} days "
            f"in {time.monotonic() - started:.1f} s."
        ))
        self.stdout.write("Demo logins (username / password):")
        for username, password, first, last, role, superuser in demo.DEMO_USERS:
            self.stdout.write(f"  {username} / {password}  ({role or 'superuser'})")
