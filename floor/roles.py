"""The three roles and what each may do. Migrations apply them (floor/migrations/0002_roles.py); when a
role changes here, a new migration calls sync_roles again."""

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

# Role -> codenames of floor permissions.
ROLES = {
    OPERATOR: _OPERATOR_PERMISSIONS,
    MAINTENANCE: _MAINTENANCE_PERMISSIONS,
    MANAGER: _MANAGER_PERMISSIONS,
}


def sync_roles(*, group_model=None, permission_model=None):
    """Create the role groups and give each exactly its permissions. Takes the models as arguments so
    that a migration can pass its historical ones.

    A migration runs at a point in history where permissions added by later migrations do not exist yet
    (0002 on a fresh database knows nothing of 0010's): those are left for the later migration, which
    calls this again. Called on the live models, every permission must exist."""
    historical = group_model is not None
    if not historical:
        from django.contrib.auth.models import Group as group_model, Permission as permission_model
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        permissions = permission_model.objects.filter(content_type__app_label="floor", codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing and not historical:
            raise RuntimeError(f"Permissions not found for role {role}: {sorted(missing)}")
        group.permissions.set(permissions)
