"""Migrations against the test database: an empty database and a database at each released floor migration
reach the latest, and the roles end up exactly as floor/roles.py says, even when that table names a
permission that only a later migration makes.

Each test takes the test database back in its history with Django's MigrationExecutor (as
django-test-migrations does) and forward again with `migrate`, the command a deployment runs, so the
post_migrate step that applies floor/roles.py runs too. "Empty" is everything the roles stand on
(contenttypes, auth, and every migration that depends on them, floor's, the desk's and the dashboard's
included) migrated to zero: django-tasks-db's migrations cannot be reversed, and it holds nothing of ours.
"""

import ast
import logging
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from floor import roles
from floor.models import Issue

pytestmark = pytest.mark.django_db(transaction=True)

MIGRATIONS_DIR = Path(roles.__file__).parent / "migrations"
# Every floor migration on disk, so that each new one is a released state the tests start from.
FLOOR_MIGRATIONS = sorted(name for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
                          if app == "floor")
EMPTY = [("contenttypes", None), ("auth", None), ("floor", None)]

# The roles as 0002 made them when it was written, before the desk had permissions of its own.
ROLES_OF_0002 = {
    "operator": {
        "view_issue", "add_issue", "view_attachment", "add_attachment", "view_remedy", "view_issueevent",
        "view_issuealarmcode", "view_machine", "view_department",
    },
}
ROLES_OF_0002["maintenance"] = ROLES_OF_0002["operator"] | {
    "change_issue", "assign_issue", "change_issue_status", "add_remedy", "change_remedy", "change_attachment",
    "export_issues",
}
ROLES_OF_0002["manager"] = ROLES_OF_0002["maintenance"] | {"view_dashboard"}
# What 0010 added: the desk and the QR labels, for maintenance and managers.
ROLES_OF_0010 = {
    "operator": ROLES_OF_0002["operator"],
    "maintenance": ROLES_OF_0002["maintenance"] | {"view_desk", "print_labels"},
    "manager": ROLES_OF_0002["manager"] | {"view_desk", "print_labels"},
}


def migrate_to(*targets):
    """Take the test database to these (app, migration) targets with the migrations alone, as a
    database of that time was made (no post_migrate: floor/roles.py of today plays no part)."""
    MigrationExecutor(connection).migrate(list(targets))


def migrate_to_the_latest():
    call_command("migrate", interactive=False, verbosity=0)


def held():
    """Role -> the permissions its group holds, as 'app_label.codename'."""
    return {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }


def as_floor_permissions(table):
    return {role: {f"floor.{codename}" for codename in codenames} for role, codenames in table.items()}


@pytest.fixture
def history():
    """The test database, which a test may take anywhere in its history; afterwards it is migrated to the
    latest again, for the tests after it."""
    yield
    migrate_to_the_latest()
    ContentType.objects.clear_cache()  # content types were made anew, with other ids


def test_an_empty_database_migrates_to_the_latest_and_each_role_holds_exactly_roles_py(history):
    migrate_to(*EMPTY)
    assert not {"auth_group", "auth_permission", "django_content_type", "issues_issue"} & set(
        connection.introspection.table_names())

    migrate_to_the_latest()

    assert held() == as_floor_permissions(roles.ROLES)


@pytest.mark.parametrize("released", FLOOR_MIGRATIONS)
def test_a_database_at_each_released_migration_migrates_to_the_latest(history, released):
    migrate_to(*EMPTY)
    migrate_to(("floor", released))

    migrate_to_the_latest()

    assert held() == as_floor_permissions(roles.ROLES)


@pytest.mark.django_db(transaction=False)
def test_the_released_states_include_every_migration_so_far():
    assert {"0001_initial", "0002_roles", "0003_attachment_thumbnail_open_index", "0004_desk_search",
            "0005_dashboard_indexes", "0007_search_table", "0008_attachment_reading", "0009_ai_pending_since",
            "0010_desk_permissions"} <= set(FLOOR_MIGRATIONS)


def test_every_floor_migration_can_be_unapplied_and_applied_again(history):
    for name in reversed(FLOOR_MIGRATIONS[:-1]):
        migrate_to(("floor", name))
    migrate_to(("floor", None))

    migrate_to_the_latest()

    assert held() == as_floor_permissions(roles.ROLES)


def test_the_migrations_give_the_roles_of_their_day_whatever_roles_py_says_today(history, monkeypatch):
    # Today's table could say anything by now; 0002 and 0010 carry their own.
    monkeypatch.setattr(roles, "ROLES", {"operator": ["view_machine"], "planner": ["view_issue"]})
    migrate_to(*EMPTY)

    migrate_to(("floor", "0002_roles"))
    assert held() == as_floor_permissions(ROLES_OF_0002)

    migrate_to(("floor", "0009_ai_pending_since"))
    assert held() == as_floor_permissions(ROLES_OF_0002)

    migrate_to(("floor", "0010_desk_permissions"))
    assert held() == as_floor_permissions(ROLES_OF_0010)


def test_a_role_given_a_permission_that_a_later_migration_makes_gets_it_on_a_fresh_database(history, monkeypatch):
    # Operators given the desk in today's table: floor.view_desk is made by 0010 (the Meta of Issue it
    # alters), long after 0002 made the roles.
    table = {**roles.ROLES, roles.OPERATOR: [*roles.ROLES[roles.OPERATOR], "view_desk"]}
    monkeypatch.setattr(roles, "ROLES", table)
    migrate_to(*EMPTY)
    migrate_to(("floor", "0002_roles"))
    assert not Permission.objects.filter(content_type__app_label="floor", codename="view_desk").exists()

    migrate_to_the_latest()

    assert held() == as_floor_permissions(table)
    assert "floor.view_desk" in held()[roles.OPERATOR]


LATER_MIGRATION = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("floor", "{latest}")]

    operations = [
        migrations.AlterModelOptions(name="issue", options={options!r}),
    ]
"""


@pytest.fixture
def a_later_migration(settings, tmp_path, monkeypatch):
    """floor's migrations and one more after the last, which gives Issue a permission floor.view_shift_board
    and sets no role: the migrations as they will be when a release adds a permission and floor/roles.py
    gives it to a role."""
    package = tmp_path / "floor_migrations_and_one_more"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in FLOOR_MIGRATIONS:
        (package / f"{name}.py").write_text(
            f"from importlib import import_module\n\nMigration = import_module('floor.migrations.{name}').Migration\n")
    latest = FLOOR_MIGRATIONS[-1]
    options = {"ordering": list(Issue._meta.ordering),
               "permissions": [*Issue._meta.permissions, ("view_shift_board", "Can view the shift board")]}
    (package / "9999_shift_board.py").write_text(LATER_MIGRATION.format(latest=latest, options=options))
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"floor": package.name}
    yield
    migrate_to(("floor", latest))  # its own step back, while Django still knows the extra migration
    for module in [name for name in sys.modules if name.startswith(package.name)]:
        del sys.modules[module]


def test_a_role_given_a_permission_of_a_migration_after_the_last_that_sets_roles_gets_it(
        history, a_later_migration, monkeypatch):
    table = {**roles.ROLES, roles.MANAGER: [*roles.ROLES[roles.MANAGER], "view_shift_board"]}
    monkeypatch.setattr(roles, "ROLES", table)
    migrate_to(*EMPTY)

    migrate_to_the_latest()

    assert ("floor", "9999_shift_board") in MigrationExecutor(connection).loader.applied_migrations
    assert held() == as_floor_permissions(table)
    assert "floor.view_shift_board" in held()[roles.MANAGER]


def test_migrate_applies_a_changed_roles_py_to_a_database_already_at_the_latest(history, monkeypatch):
    migrate_to_the_latest()
    # No migration to run: the change is in floor/roles.py alone.
    assert not MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
    table = {
        roles.OPERATOR: [*roles.ROLES[roles.OPERATOR], "print_labels"],
        roles.MAINTENANCE: roles.ROLES[roles.MAINTENANCE],
        roles.MANAGER: [codename for codename in roles.ROLES[roles.MANAGER] if codename != "export_issues"],
    }
    monkeypatch.setattr(roles, "ROLES", table)

    migrate_to_the_latest()

    assert held() == as_floor_permissions(table)


def test_migrating_again_changes_nothing_and_takes_back_what_was_given_to_a_role_by_hand(history):
    migrate_to_the_latest()
    before = held()
    Group.objects.get(name=roles.OPERATOR).permissions.add(
        Permission.objects.get(content_type__app_label="floor", codename="export_issues"))

    migrate_to_the_latest()
    migrate_to_the_latest()

    assert held() == before == as_floor_permissions(roles.ROLES)
    assert Group.objects.filter(name__in=roles.ROLES).count() == len(roles.ROLES)


def test_a_permission_missing_from_the_database_is_logged_and_migrate_still_succeeds(history, monkeypatch, caplog):
    table = {**roles.ROLES, roles.OPERATOR: [*roles.ROLES[roles.OPERATOR], "view_crystal_ball"]}
    monkeypatch.setattr(roles, "ROLES", table)
    migrate_to(*EMPTY)

    with caplog.at_level(logging.ERROR, logger="floor.roles"):
        migrate_to_the_latest()

    errors = [r.getMessage() for r in caplog.records if r.name == "floor.roles" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "Role operator" in errors[0] and "floor.view_crystal_ball" in errors[0]
    # Everything else of the table was given.
    assert held() == as_floor_permissions({**table, roles.OPERATOR: table[roles.OPERATOR][:-1]})


def test_a_database_migrated_only_part_of_the_way_says_which_permissions_its_roles_lack(history, caplog):
    migrate_to(*EMPTY)

    with caplog.at_level(logging.ERROR, logger="floor.roles"):
        call_command("migrate", "floor", "0009_ai_pending_since", interactive=False, verbosity=0)

    errors = " ".join(r.getMessage() for r in caplog.records if r.name == "floor.roles")
    assert "Role maintenance" in errors and "floor.print_labels, floor.view_desk" in errors
    assert held() == as_floor_permissions(ROLES_OF_0002)


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("path", sorted(MIGRATIONS_DIR.glob("[0-9]*.py")), ids=lambda path: path.name)
def test_no_migration_reads_the_live_role_table(path):
    # A migration that imports floor.roles applies whatever the table says on the day it runs.
    tree = ast.parse(path.read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 for alias in node.names}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert "floor.roles" not in imported
    # Nor reaches it, or another migration's code that might, through importlib.
    assert not {s for s in strings if s == "floor.roles" or s.startswith("floor.migrations.")}


# --- the roles of the test database ------------------------------------------------------------------
def test_a_flush_that_empties_every_table_leaves_the_roles_made_again():
    # What every transactional test (the browser tests) does afterwards: its post_migrate syncs the roles.
    call_command("flush", interactive=False, verbosity=0)

    assert held() == as_floor_permissions(roles.ROLES)


def test_the_role_fixtures_make_the_roles_where_the_groups_are_gone(request):
    # A flush that does not send post_migrate leaves no groups; the fixtures make them themselves.
    Group.objects.all().delete()

    maintenance = request.getfixturevalue("maintenance")

    assert maintenance.has_perm("floor.view_desk") and not maintenance.has_perm("floor.view_dashboard")
    assert held() == as_floor_permissions(roles.ROLES)


def test_sync_roles_gives_what_exists_and_says_what_does_not(monkeypatch, caplog):
    # As the role fixtures call it: on the live models, where it used to raise.
    table = {**roles.ROLES, roles.MANAGER: [*roles.ROLES[roles.MANAGER], "view_crystal_ball"]}
    monkeypatch.setattr(roles, "ROLES", table)

    with caplog.at_level(logging.ERROR, logger="floor.roles"):
        assert roles.sync_roles() == {roles.MANAGER: ["view_crystal_ball"]}

    assert [r.name for r in caplog.records if r.levelno == logging.ERROR] == ["floor.roles"]
    assert held() == as_floor_permissions({**table, roles.MANAGER: table[roles.MANAGER][:-1]})
