# AI text pending too long counts as failed: remedies get ai_updated_at like issues, and both a small
# index over their pending rows for the worker's rounds.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('floor', '0008_attachment_reading'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='remedy',
            name='ai_updated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(condition=models.Q(('ai_state', 'pending')), fields=['ai_updated_at', 'created_at'], name='issue_ai_pending'),
        ),
        migrations.AddIndex(
            model_name='remedy',
            index=models.Index(condition=models.Q(('ai_state', 'pending')), fields=['ai_updated_at', 'created_at'], name='remedy_ai_pending'),
        ),
    ]
