# A remedy's AI text, written or failed, is told on its issue's timeline like the issue's own: two event
# kinds of its own, so the timeline says whose text it was. Only the choices change; no column does.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('floor', '0010_desk_permissions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='issueevent',
            name='kind',
            field=models.CharField(choices=[('created', 'Reported'), ('status_changed', 'Status changed'), ('reopened', 'Reopened'), ('assigned', 'Assigned'), ('priority_changed', 'Priority changed'), ('runnable_changed', 'Machine state changed'), ('remedy_added', 'Remedy recorded'), ('attachment_added', 'Attachment added'), ('codes_read', 'Alarm code read from a photo'), ('ai_done', 'AI text ready'), ('ai_failed', 'AI failed'), ('remedy_ai_done', 'AI text of a remedy ready'), ('remedy_ai_failed', 'AI failed on a remedy')], max_length=20),
        ),
    ]
