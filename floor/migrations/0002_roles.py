"""The three roles as groups with their permissions. Later changes to a role get a migration of their own."""

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


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    # Permissions are normally created after all migrations ran (post_migrate); make them now so the
    # groups can hold them on a fresh database.
    app_config = apps.get_app_config("floor")
    app_config.models_module = True
    create_contenttypes(app_config, apps=apps, verbosity=0)
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(content_type__app_label="floor", codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for role {role}: {sorted(missing)}")
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("floor", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
