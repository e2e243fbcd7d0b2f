"""
Checks at start-up: the contract with the factory's database, and (for deployment) the address printed on labels.

`manufacturing_department` and `manufacturing_machine` are another system's tables; when one lacks a
column we rely on, `manage.py check` (and so runserver and migrate) names it, instead of the first page
that touches a machine failing with a server error.
"""

from django.conf import settings
from django.core.checks import Error, Info, Warning, register
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder

# Table -> {column: accepted PostgreSQL data types}. Only these columns are ours to rely on.
CONTRACT = {
    "manufacturing_department": {"id": {"uuid"}, "name": {"character varying", "text"}},
    "manufacturing_machine": {
        "id": {"uuid"},
        "name": {"character varying", "text"},
        "department_id": {"uuid"},
    },
}


def contract_problems(connection):
    """Return a list of (message, hint, id) for every way the live database breaks the contract.

    Missing tables count only once our first migration has run: before that, `migrate` creates them
    (the demo and test databases start without them).
    """
    problems = []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        migrated = MigrationRecorder.Migration._meta.db_table in tables and (
            MigrationRecorder(connection).migration_qs.filter(app="floor", name="0001_initial").exists()
        )
        for table, columns in CONTRACT.items():
            if table not in tables:
                if migrated:
                    problems.append(
                        (
                            f"The factory table {table} is missing from database "
                            f"'{connection.settings_dict['NAME']}'.",
                            "Point DATABASE_URL (or DB_NAME and friends) at the factory database "
                            "that holds it, or grant this database role SELECT on it.",
                            "floor.E001",
                        )
                    )
                continue
            found = {
                col.name: col
                for col in connection.introspection.get_table_description(cursor, table)
            }
            types = _postgres_types(cursor, table) if connection.vendor == "postgresql" else {}
            for column, accepted in columns.items():
                if column not in found:
                    problems.append(
                        (
                            f"The factory table {table} has no column {column}.",
                            f"Machine Logbook reads {table}({', '.join(columns)}). Ask the owner of "
                            f"the factory database to restore {table}.{column}, or map it in a view.",
                            "floor.E002",
                        )
                    )
                elif types and types.get(column) not in accepted:
                    problems.append(
                        (
                            f"The column {table}.{column} is of type {types.get(column)}, "
                            f"expected {' or '.join(sorted(accepted))}.",
                            "Machine Logbook reads machine and department ids as UUIDs.",
                            "floor.E003",
                        )
                    )
    return problems


def _postgres_types(cursor, table):
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND table_schema = ANY(current_schemas(false))",
        [table],
    )
    return dict(cursor.fetchall())


@register()
def check_factory_tables(app_configs=None, databases=None, **kwargs):
    connection = connections["default"]
    try:
        problems = contract_problems(connection)
    except DatabaseError as e:
        # A database that cannot be reached is reported where it is used; commands that need no
        # database (collectstatic, makemigrations) must still work.
        return [
            Warning(
                f"Could not check the factory tables: {e}".strip(),
                hint="Is the database running and are DATABASE_URL or DB_* right?",
                id="floor.W001",
            )
        ]
    return [Error(message, hint=hint, id=check_id) for message, hint, check_id in problems]


@register(deploy=True)
def check_site_url(app_configs=None, **kwargs):
    """QR labels and wall-screen links are printed with SITE_URL: one only this server can open is useless."""
    if not settings.SITE_URL_IS_LOOPBACK:
        return []
    return [
        Warning(
            f"SITE_URL is {settings.SITE_URL}, an address only this server can open: QR labels and wall "
            "links printed with it lead nowhere.",
            hint="Set SITE_URL to the address tablets reach this server by, e.g. http://logbook.factory.lan.",
            id="floor.W010",
        )
    ]


@register(deploy=True)
def check_mail(app_configs=None, **kwargs):
    """Without EMAIL_HOST nobody hears of a stopped machine by e-mail: say so where the deployment is checked."""
    if settings.MAIL_ENABLED:
        return []
    return [
        Info(
            "EMAIL_HOST is not set: notifications are not sent by e-mail (webhooks still are).",
            hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_USE_TLS, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
                 "DEFAULT_FROM_EMAIL) to the plant's mail server.",
            id="floor.I020",
        )
    ]
