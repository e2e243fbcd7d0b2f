from django.core.management.base import BaseCommand, CommandError

from floor.models import APIKey


class Command(BaseCommand):
    help = ("Make, list or revoke the API keys of the plant's systems (as the admin's API keys page does): "
            "`api_key create \"MES line 2\" --role maintenance` prints the new key, once.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Make a key and print it (it is not shown again).")
        create.add_argument("name", help="The system that calls with it, e.g. \"MES line 2\".")
        create.add_argument("--role", required=True, choices=[role for role, _ in APIKey.ROLES])
        actions.add_parser("list", help="The keys, with their role and last use.")
        revoke = actions.add_parser("revoke", help="Stop a key at once, for good.")
        revoke.add_argument("name")

    def handle(self, *args, action, **options):
        if action == "create":
            name = options["name"].strip()
            if not name or APIKey.objects.filter(name=name).exists():
                raise CommandError(f"A key needs a name of its own; {name!r} is empty or taken.")
            _, raw = APIKey.issue(name=name, role=options["role"])
            self.stdout.write(raw)
        elif action == "list":
            for key in APIKey.objects.all():
                state = "revoked" if key.revoked_at else f"last used {key.last_used_at or 'never'}"
                self.stdout.write(f"{key.name}\t{key.role}\t{key.prefix}\t{state}")
        else:
            key = APIKey.objects.filter(name=options["name"]).first()
            if key is None:
                raise CommandError(f"No key is called {options['name']!r}.")
            key.revoke()
            self.stdout.write(f"Revoked {key.name}.")
