from django.conf import settings
from django.db import migrations, models


def fill_search_documents(apps, schema_editor):
    """Existing issues get their search document (a demo or an earlier version's data)."""
    from floor.search import fill_all_search_documents

    fill_all_search_documents(schema_editor.connection, apps=apps)


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
