from django.conf import settings
from django.db import migrations, models


# A frozen copy of how the search document was composed when this migration was written (floor/search.py
# then): a migration must not change with the live code, which may be rewritten or gone in five years.
_FILL_ALL_SQL = """
UPDATE issues_issue i SET search_document = concat_ws(E'\\n',
    nullif(i.title, ''), nullif(i.ai_title, ''), nullif(i.description, ''), nullif(i.ai_summary, ''),
    (SELECT string_agg(code, E'\\n') FROM issues_alarmcode WHERE issue_id = i.id),
    (SELECT string_agg(concat_ws(E'\\n', nullif(description, ''), nullif(ai_text, ''), nullif(parts_used, '')), E'\\n')
       FROM issues_remedy WHERE issue_id = i.id),
    (SELECT string_agg(ocr_text, E'\\n') FROM issues_attachment WHERE issue_id = i.id AND ocr_text <> '')
)
"""


def fill_search_documents(apps, schema_editor):
    """Existing issues get their search document (a demo or an earlier version's data): on PostgreSQL in
    one set-based UPDATE, elsewhere issue by issue."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_FILL_ALL_SQL)
        return
    Issue = apps.get_model("floor", "Issue")
    for issue in Issue.objects.only("title", "ai_title", "description", "ai_summary").iterator():
        parts = [issue.title, issue.ai_title, issue.description, issue.ai_summary]
        parts += list(issue.alarm_codes.values_list("code", flat=True))
        for remedy in issue.remedies.values_list("description", "ai_text", "parts_used"):
            parts += list(remedy)
        parts += list(issue.attachments.exclude(ocr_text="").values_list("ocr_text", flat=True))
        issue.search_document = "\n".join(p.strip() for p in parts if p and p.strip())
        issue.save(update_fields=["search_document"])


class Migration(migrations.Migration):

    dependencies = [
        ('floor', '0003_attachment_thumbnail_open_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='issue',
            name='search_document',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(models.Case(models.When(status__in=['open', 'in_progress', 'waiting_parts'], then=models.Value(0)), default=models.Value(1), output_field=models.IntegerField()), models.F('is_runnable'), models.OrderBy(models.F('priority'), descending=True), models.OrderBy(models.F('reported_at'), descending=True), models.OrderBy(models.F('id'), descending=True), name='issue_urgency'),
        ),
        migrations.RunPython(fill_search_documents, migrations.RunPython.noop),
    ]
