"""The three roles as groups with their permissions, as they were when this migration was written.

The table is frozen here and floor.roles is never imported: that module is today's table and will change,
this migration must do in five years what it did the day it was written. Today's table is applied after
every migrate by a post_migrate handler (floor/apps.py), which also gives the roles what later migrations
added.
"""

from django.db import migrations

OPERATOR = [
    "view_issue", "add_issue",
    "view_attachment", "add_attachment",
    "view_remedy", "view_issueevent", "view_issuealarmcode",
    "view_machine", "view_department",
]
MAINTENANCE = OPERATOR + [
    "change_issue", "assign_issue", "change_issue_status",
    "add_remedy", "change_remedy", "change_attachment",
    "export_issues",
]
MANAGER = MAINTENANCE + ["view_dashboard"]

ROLES = {"operator": OPERATOR, "maintenance": MAINTENANCE, "manager": MANAGER}


def create_floor_permissions(apps, schema_editor):
    """Permissions are normally created after all migrations ran (post_migrate); make them now, for the
    floor models of this point in history, so the groups can hold them on a fresh database."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("floor")
    app_config.models_module = True  # a historical app has no models module; create_permissions wants one
    try:
        create_permissions(app_config, apps=apps, using=schema_editor.connection.alias, verbosity=0)
    finally:
        app_config.models_module = None


def create_roles(apps, schema_editor):
    create_floor_permissions(apps, schema_editor)
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        permissions = Permission.objects.using(db).filter(content_type__app_label="floor", codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for role {role}: {sorted(missing)}")
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("floor", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
