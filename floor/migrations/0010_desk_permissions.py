# The desk and the QR labels get permissions of their own, which maintenance and managers hold and
# operators do not: operators work at the machines.

import importlib

from django.db import migrations

# The same step as 0002: make the permissions now (post_migrate would be too late), then give each
# role exactly what floor/roles.py says.
create_roles = importlib.import_module("floor.migrations.0002_roles").create_roles


class Migration(migrations.Migration):

    dependencies = [
        ('floor', '0009_ai_pending_since'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='issue',
            options={'ordering': ['-reported_at', '-id'], 'permissions': [('assign_issue', 'Can assign issues'), ('change_issue_status', 'Can change the status of issues'), ('view_dashboard', 'Can view the dashboards'), ('export_issues', 'Can export issues'), ('view_desk', 'Can use the maintenance desk'), ('print_labels', "Can print the machines' QR labels")]},
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
