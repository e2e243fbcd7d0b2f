"""On PostgreSQL, keep the issues' tsvectors in a narrow table of their own, with a GIN index.

Measured on a million issues: an expression index on the issue table made ranking recompute to_tsvector
for every match (and, OR-ed with the alarm-code match, for every row: 11 s); a stored vector on the wide
issue table still read 22,000 blocks for a common phrase (25,000 matches, about 190 ms). The narrow
table holds only (issue_id, vector). Triggers keep it in step with issues_issue (inserts, updates of search_document,
deletes, truncates) for every writer: the app, bulk inserts, the admin. SQLite has no such table and searches by LIKE.
"""

from django.db import migrations

ADD = """
-- No foreign key: Django's flush (tests) truncates issues_issue alone; the triggers below keep the
-- two in step instead, for deletes and truncates too.
CREATE TABLE issues_search (
    issue_id bigint PRIMARY KEY,
    vector tsvector NOT NULL
);
INSERT INTO issues_search (issue_id, vector)
    SELECT id, to_tsvector('simple'::regconfig, coalesce(search_document, '')) FROM issues_issue;
CREATE INDEX issues_search_vector ON issues_search USING gin (vector);
CREATE FUNCTION issues_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO issues_search (issue_id, vector)
        VALUES (NEW.id, to_tsvector('simple'::regconfig, coalesce(NEW.search_document, '')))
        ON CONFLICT (issue_id) DO UPDATE SET vector = EXCLUDED.vector;
    RETURN NULL;
END
$$;
CREATE TRIGGER issues_search_sync AFTER INSERT OR UPDATE OF search_document ON issues_issue
    FOR EACH ROW EXECUTE FUNCTION issues_search_sync();
CREATE FUNCTION issues_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM issues_search WHERE issue_id = OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER issues_search_delete AFTER DELETE ON issues_issue
    FOR EACH ROW EXECUTE FUNCTION issues_search_delete();
CREATE FUNCTION issues_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE issues_search;
    RETURN NULL;
END
$$;
CREATE TRIGGER issues_search_truncate AFTER TRUNCATE ON issues_issue
    FOR EACH STATEMENT EXECUTE FUNCTION issues_search_truncate();
ANALYZE issues_search;
"""
REMOVE = """
DROP TRIGGER IF EXISTS issues_search_sync ON issues_issue;
DROP TRIGGER IF EXISTS issues_search_delete ON issues_issue;
DROP TRIGGER IF EXISTS issues_search_truncate ON issues_issue;
DROP FUNCTION IF EXISTS issues_search_sync();
DROP FUNCTION IF EXISTS issues_search_delete();
DROP FUNCTION IF EXISTS issues_search_truncate();
DROP TABLE IF EXISTS issues_search;
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
