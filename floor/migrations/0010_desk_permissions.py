# The desk and the QR labels get permissions of their own, which maintenance and managers hold and
# operators do not: operators work at the machines.
#
# What this migration gives the roles is frozen here (DESK_PERMISSIONS); it never imports floor.roles,
# which is today's table and is applied after every migrate (floor/apps.py).

from django.db import migrations

# Role -> the permissions this migration adds to it.
DESK_PERMISSIONS = {
    "maintenance": ["view_desk", "print_labels"],
    "manager": ["view_desk", "print_labels"],
}


def give_desk_permissions(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    db = schema_editor.connection.alias
    # Make this migration's two permissions now (post_migrate would be too late for the groups).
    app_config = apps.get_app_config("floor")
    app_config.models_module = True  # a historical app has no models module; create_permissions wants one
    try:
        create_permissions(app_config, apps=apps, using=db, verbosity=0)
    finally:
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in DESK_PERMISSIONS.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        permissions = Permission.objects.using(db).filter(content_type__app_label="floor", codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for role {role}: {sorted(missing)}")
        group.permissions.add(*permissions)


class Migration(migrations.Migration):

    dependencies = [
        ('floor', '0009_ai_pending_since'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='issue',
            options={'ordering': ['-reported_at', '-id'], 'permissions': [('assign_issue', 'Can assign issues'), ('change_issue_status', 'Can change the status of issues'), ('view_dashboard', 'Can view the dashboards'), ('export_issues', 'Can export issues'), ('view_desk', 'Can use the maintenance desk'), ('print_labels', "Can print the machines' QR labels")]},
        ),
        migrations.RunPython(give_desk_permissions, migrations.RunPython.noop),
    ]
