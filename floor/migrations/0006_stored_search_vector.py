"""On PostgreSQL, keep each issue's tsvector in a generated column with a GIN index.

The expression index of 0004 let PostgreSQL find matches, but ranking them recomputed to_tsvector for
every matching row, and an OR with the alarm-code match fell back to recomputing it for the whole
table (seconds at a million issues). A stored vector makes both cheap. Django's model does not know
the column; floor/search.py reads it by name. SQLite has no such column and searches by LIKE.
"""

from django.db import migrations

ADD = """
ALTER TABLE issues_issue ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, coalesce(search_document, ''))) STORED;
CREATE INDEX issue_search_vector ON issues_issue USING gin (search_vector);
DROP INDEX IF EXISTS issue_search;
"""
REMOVE = """
DROP INDEX IF EXISTS issue_search_vector;
ALTER TABLE issues_issue DROP COLUMN IF EXISTS search_vector;
"""


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE)


class Migration(migrations.Migration):
    dependencies = [("floor", "0005_dashboard_indexes")]

    operations = [migrations.RunPython(add, remove)]
