"""The three roles. Their permissions are set by migrations (floor/migrations/0002_roles.py)."""

OPERATOR = "operator"
MAINTENANCE = "maintenance"
MANAGER = "manager"
ROLES = (OPERATOR, MAINTENANCE, MANAGER)
