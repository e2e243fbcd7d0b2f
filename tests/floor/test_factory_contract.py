"""
The factory's database: `manufacturing_department` and `manufacturing_machine` belong to the ERP. Our
`migrate`, run as a role that may only SELECT them, must succeed and leave them exactly as they were.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the factory database is PostgreSQL; runs in the PostgreSQL half"
)

FACTORY_SCHEMA = """
CREATE TABLE manufacturing_department (
    id uuid PRIMARY KEY,
    name varchar(120) NOT NULL,
    cost_center varchar(20) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE manufacturing_machine (
    id uuid PRIMARY KEY,
    name varchar(200) NOT NULL,
    department_id uuid NULL REFERENCES manufacturing_department (id) ON DELETE RESTRICT,
    serial_no text NOT NULL,
    hourly_rate numeric(10, 2) NOT NULL,
    installed_on date,
    CONSTRAINT machine_serial_unique UNIQUE (serial_no),
    CONSTRAINT machine_rate_positive CHECK (hourly_rate > 0)
);
CREATE INDEX machine_name_idx ON manufacturing_machine (lower(name));
INSERT INTO manufacturing_department (id, name, cost_center) VALUES
    ('7a1f0c2e-1111-4c1e-9d3a-000000000001', 'Milling', 'CC-410'),
    ('7a1f0c2e-1111-4c1e-9d3a-000000000002', 'Turning', 'CC-420');
INSERT INTO manufacturing_machine (id, name, department_id, serial_no, hourly_rate, installed_on) VALUES
    ('5b2e9d10-2222-4f0a-8c11-000000000001', 'M-01 Haas VF-2', '7a1f0c2e-1111-4c1e-9d3a-000000000001',
     'HAAS-1164032', 95.00, '2019-03-01'),
    ('5b2e9d10-2222-4f0a-8c11-000000000002', 'T-01 Okuma LB3000', '7a1f0c2e-1111-4c1e-9d3a-000000000002',
     'OKU-77821', 120.50, NULL),
    ('5b2e9d10-2222-4f0a-8c11-000000000003', 'X-99 Spare lathe', NULL, 'SPARE-1', 10.00, NULL);
"""


@pytest.fixture
def factory_database():
    """A database shaped like the factory's, and a role that may only read its two tables."""
    db = settings.DATABASES["default"]
    name, role = f"erabase_test_{uuid.uuid4().hex[:8]}", f"logbook_ro_{uuid.uuid4().hex[:8]}"
    admin = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
                 password=db["PASSWORD"] or None)
    server = psycopg2.connect(dbname="postgres", **admin)
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
        cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    factory = psycopg2.connect(dbname=name, **admin)
    factory.autocommit = True
    with factory.cursor() as cursor:
        cursor.execute(FACTORY_SCHEMA)
        # What a careful DBA grants us: read the ERP's tables, create our own beside them.
        cursor.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{role}"')
        cursor.execute(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"')
        cursor.execute(f'GRANT SELECT ON manufacturing_department, manufacturing_machine TO "{role}"')
    factory.close()
    try:
        yield {"name": name, "role": role, **admin}
    finally:
        with server.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        server.close()


def dump_factory_tables(db):
    """Schema, constraints, indexes, grants and rows of the two tables, as pg_dump sees them."""
    result = subprocess.run(
        ["pg_dump", "-h", db["host"], "-p", str(db["port"]), "-U", db["user"], "-d", db["name"],
         "-t", "manufacturing_department", "-t", "manufacturing_machine", "--inserts", "--no-comments"],
        capture_output=True, text=True, check=True,
    )
    # Recent pg_dump wraps its output in \restrict lines with a random key; they say nothing of the tables.
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def manage(db, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    env.update(
        ENV_FILE="/dev/null",
        DATABASE_URL=f"postgres://{db['role']}@{db['host']}:{db['port']}/{db['name']}",
        DJANGO_SETTINGS_MODULE="logbook_site.settings",
    )
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=300)


def test_migrate_as_select_only_role_leaves_factory_tables_unchanged(factory_database):
    before = dump_factory_tables(factory_database)
    assert "machine_serial_unique" in before and "SPARE-1" in before  # the dump sees what we set up

    result = manage(factory_database, "migrate", "--no-input")
    assert result.returncode == 0, result.stdout + result.stderr

    assert dump_factory_tables(factory_database) == before

    # Our tables are there, and read the factory's machines through the contract columns only.
    result = manage(factory_database, "shell", "-c",
                    "from floor.models import Machine, Issue; "
                    "print(sorted((m.name, m.department.name if m.department else None) "
                    "for m in Machine.objects.select_related('department'))); print(Issue.objects.count())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        "[('M-01 Haas VF-2', 'Milling'), ('T-01 Okuma LB3000', 'Turning'), ('X-99 Spare lathe', None)]",
        "0",
    ]


def test_check_passes_on_a_real_factory_database(factory_database):
    assert manage(factory_database, "migrate", "--no-input").returncode == 0
    result = manage(factory_database, "check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_migrate_refuses_when_the_factory_table_lacks_a_column(factory_database):
    server = psycopg2.connect(dbname=factory_database["name"], host=factory_database["host"],
                              port=factory_database["port"], user=factory_database["user"])
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("ALTER TABLE manufacturing_machine RENAME COLUMN department_id TO dept")
    server.close()
    result = manage(factory_database, "migrate", "--no-input")
    assert result.returncode != 0
    assert "manufacturing_machine has no column department_id" in result.stderr
