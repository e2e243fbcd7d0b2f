"""The three roles and what each may do: today's table, the one place to change a role.

`sync_roles` applies it after every `migrate` (and every `flush`): floor/apps.py connects it to post_migrate.
The migrations that made the roles in their day (0002, 0010) carry frozen copies of the table as it was
then and never import this module, so they run the same in five years whatever this table says by then.
The three groups belong to this table: a permission given to one of them in the admin is taken away again
at the next migrate. Give one person more in the admin through their own permissions or another group.
"""

import logging

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, router, transaction

logger = logging.getLogger(__name__)

OPERATOR = "operator"
MAINTENANCE = "maintenance"
MANAGER = "manager"

_OPERATOR_PERMISSIONS = [
    "view_issue", "add_issue",
    "view_attachment", "add_attachment",
    "view_remedy", "view_issueevent", "view_issuealarmcode",
    "view_machine", "view_department",
]
# Operators work at the machines: the machine picker, a machine's page, issue pages, the confirmation.
# Maintenance works at the desk: the queue and its export, the QR labels, every action on an issue.
_MAINTENANCE_PERMISSIONS = _OPERATOR_PERMISSIONS + [
    "view_desk", "print_labels",
    "change_issue", "assign_issue", "change_issue_status",
    "add_remedy", "change_remedy", "change_attachment",
    "export_issues",
]
# Managers: everything maintenance has, and the dashboards (where they start).
_MANAGER_PERMISSIONS = _MAINTENANCE_PERMISSIONS + ["view_dashboard"]

# Who sends forms through the tablet's outbox (static/js/outbox.js, its token at floor/views.outbox_token):
# whoever may report an issue or record a remedy.
OUTBOX_PERMISSIONS = ("floor.add_issue", "floor.add_remedy")


def uses_outbox(user):
    return user.is_authenticated and any(user.has_perm(p) for p in OUTBOX_PERMISSIONS)


def assignees():
    """People issues can be assigned to: maintenance staff and managers, not the accounts of API keys
    (floor.APIKey), which belong to roles too but are plant systems, nobody to send to a machine."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(groups__name__in=[MAINTENANCE, MANAGER], is_active=True, api_key__isnull=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


# Role -> codenames of floor permissions.
ROLES = {
    OPERATOR: _OPERATOR_PERMISSIONS,
    MAINTENANCE: _MAINTENANCE_PERMISSIONS,
    MANAGER: _MANAGER_PERMISSIONS,
}


def sync_roles(*, using=DEFAULT_DB_ALIAS, apps=global_apps):
    """Create the role groups and give each exactly its permissions in ROLES. Idempotent.

    A permission that does not exist in the database (a misspelt codename, or a database migrated only
    part of the way) is logged as an error and left out, never raised: a failing post_migrate handler
    would stop `migrate` after the schema was already changed. Returns {role: sorted missing codenames}
    for the roles that lack some. `apps` is post_migrate's state of the models, or the live registry."""
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:  # auth migrated back to zero: there are no groups to give anything to
        return {}
    if not router.allow_migrate_model(using, group_model):
        return {}
    missing_by_role = {}
    with transaction.atomic(using=using):
        for role, codenames in ROLES.items():
            group, _ = group_model.objects.using(using).get_or_create(name=role)
            permissions = list(permission_model.objects.using(using)
                               .filter(content_type__app_label="floor", codename__in=codenames))
            missing = sorted(set(codenames) - {permission.codename for permission in permissions})
            if missing:
                missing_by_role[role] = missing
                logger.error(
                    "Role %s should hold permissions that database '%s' does not have: %s. The role was given "
                    "the others. Run every migration (manage.py migrate), or correct floor/roles.py.",
                    role, using, ", ".join(f"floor.{codename}" for codename in missing),
                )
            group.permissions.set(permissions)
    return missing_by_role


def sync_roles_after_migrate(sender, *, app_config, using=DEFAULT_DB_ALIAS, apps=global_apps, **kwargs):
    """post_migrate receiver. Django sends post_migrate once per installed app with models, in
    INSTALLED_APPS order, and each time calls create_contenttypes and create_permissions for that app
    first (contenttypes and auth connected them in their ready(), before floor's). So the roles are
    synced on the signal for the last of those apps: by then every app's permissions exist, floor's
    and any later app's alike, whatever migrations ran."""
    with_models = [config.label for config in global_apps.get_app_configs() if config.models_module is not None]
    if with_models and app_config.label == with_models[-1]:
        sync_roles(using=using, apps=apps)
