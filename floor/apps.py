from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FloorConfig(AppConfig):
    name = "floor"
    verbose_name = "Shop floor"

    def ready(self):
        from floor import checks  # noqa: F401  (registers the factory-database check)
        from floor.roles import sync_roles_after_migrate

        # Today's roles (floor/roles.py) are applied after every migrate, not by a migration. A migration
        # runs once, in its place in history: one that applied the live table would apply tomorrow's
        # table to yesterday's schema (a permission of a later migration does not exist yet), and each
        # change of a role would need a new migration with a frozen copy that must be kept in step with
        # roles.py. After migrate every permission of every app exists, the table is applied whole, and
        # applying it again changes nothing. The migrations that made the roles in their day (0002,
        # 0010) keep frozen copies, so a database migrated to an old state holds that state's roles.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="floor.roles.sync_roles_after_migrate")
