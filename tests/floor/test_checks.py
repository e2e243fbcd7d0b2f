"""`manage.py check` verifies the factory tables against the live database."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection


def test_contract_holds_on_the_test_database(db):
    call_command("check")  # raises SystemCheckError on any error


def test_missing_column_is_named_with_a_fix(db):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE manufacturing_machine RENAME COLUMN department_id TO dept_ref")
    with pytest.raises(SystemCheckError) as caught:
        call_command("check")
    message = str(caught.value)
    assert "floor.E002" in message
    assert "manufacturing_machine has no column department_id" in message
    assert "restore manufacturing_machine.department_id" in message


def test_missing_table_is_named(db):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE manufacturing_department RENAME TO erp_department_old")
    with pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert "floor.E001" in str(caught.value)
    assert "manufacturing_department is missing" in str(caught.value)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="column types are checked on PostgreSQL")
def test_wrong_column_type_is_named(db):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE manufacturing_machine ALTER COLUMN department_id TYPE varchar(36)")
    with pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert "floor.E003" in str(caught.value)
    assert "manufacturing_machine.department_id is of type character varying" in str(caught.value)
