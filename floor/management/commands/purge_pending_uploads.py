from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from floor.uploads import purge_pending


class Command(BaseCommand):
    help = "Delete photos and videos uploaded with floor forms that were never sent (default: after 24 hours)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24, help="Age after which an unsent upload goes.")

    def handle(self, *args, hours, **options):
        if hours <= 0:
            raise CommandError("--hours must be more than 0.")
        removed = purge_pending(older_than=timedelta(hours=hours))
        self.stdout.write(f"Removed {removed} unsent upload{'s' if removed != 1 else ''}.")
