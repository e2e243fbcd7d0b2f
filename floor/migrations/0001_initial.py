
import django.db.models.deletion
import django.utils.timezone
import floor.models
import uuid
from django.conf import settings
from django.db import migrations, models


def create_missing_factory_tables(apps, schema_editor):
    """Create manufacturing_department and manufacturing_machine with the contract's columns, but only
    where they do not exist (demo and test databases). An existing factory table is never touched: the
    ERP owns it, and our role may only read it."""
    existing = set(schema_editor.connection.introspection.table_names())
    for name in ("Department", "Machine"):
        model = apps.get_model("floor", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Department',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=255)),
            ],
            options={
                'db_table': 'manufacturing_department',
                'ordering': ['name'],
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='Machine',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=255)),
                # makemigrations leaves relations of unmanaged models out of the migration state; this
                # one is needed so that create_missing_factory_tables makes the department_id column.
                ('department', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='machines', to='floor.department')),
            ],
            options={
                'db_table': 'manufacturing_machine',
                'ordering': ['name'],
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='Issue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('category', models.CharField(choices=[('alarm', 'Alarm'), ('mechanical', 'Mechanical'), ('electrical', 'Electrical'), ('hydraulic', 'Hydraulic / pneumatic'), ('tooling', 'Tooling'), ('program', 'Program'), ('quality', 'Quality'), ('safety', 'Safety'), ('other', 'Other')], max_length=20)),
                ('title', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('ai_title', models.CharField(blank=True, max_length=200)),
                ('ai_summary', models.TextField(blank=True)),
                ('ai_state', models.CharField(choices=[('pending', 'Pending'), ('done', 'Done'), ('failed', 'Failed'), ('off', 'Off')], default='off', max_length=10)),
                ('ai_error', models.TextField(blank=True)),
                ('ai_updated_at', models.DateTimeField(blank=True, null=True)),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('waiting_parts', 'Waiting for parts'), ('resolved', 'Resolved'), ('closed', 'Closed')], default='open', max_length=20)),
                ('priority', models.PositiveSmallIntegerField(choices=[(1, 'Low'), (2, 'Normal'), (3, 'High'), (4, 'Urgent')], default=2)),
                ('is_runnable', models.BooleanField(default=True, help_text='The machine can still run despite the issue.')),
                ('reporter_name', models.CharField(blank=True, max_length=100)),
                ('reported_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('machine_stopped_at', models.DateTimeField(blank=True, null=True)),
                ('machine_running_again_at', models.DateTimeField(blank=True, null=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('version', models.PositiveIntegerField(default=1)),
                ('submission_token', models.UUIDField(blank=True, editable=False, null=True, unique=True)),
                ('assigned_to', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_issues', to=settings.AUTH_USER_MODEL)),
                ('machine', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='issues', to='floor.machine')),
                ('reported_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reported_issues', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'issues_issue',
                'ordering': ['-reported_at', '-id'],
                'permissions': [('assign_issue', 'Can assign issues'), ('change_issue_status', 'Can change the status of issues'), ('view_dashboard', 'Can view the dashboards'), ('export_issues', 'Can export issues')],
            },
        ),
        migrations.CreateModel(
            name='IssueAlarmCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=40)),
                ('family', models.CharField(blank=True, max_length=20)),
                ('issue', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alarm_codes', to='floor.issue')),
            ],
            options={
                'db_table': 'issues_alarmcode',
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='IssueEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('created', 'Reported'), ('status_changed', 'Status changed'), ('reopened', 'Reopened'), ('assigned', 'Assigned'), ('priority_changed', 'Priority changed'), ('runnable_changed', 'Machine state changed'), ('remedy_added', 'Remedy recorded'), ('attachment_added', 'Attachment added'), ('ai_done', 'AI text ready'), ('ai_failed', 'AI failed')], max_length=20)),
                ('from_value', models.CharField(blank=True, max_length=200)),
                ('to_value', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('issue', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='floor.issue')),
            ],
            options={
                'db_table': 'issues_issueevent',
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Remedy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('description', models.TextField()),
                ('ai_text', models.TextField(blank=True)),
                ('ai_state', models.CharField(choices=[('pending', 'Pending'), ('done', 'Done'), ('failed', 'Failed'), ('off', 'Off')], default='off', max_length=10)),
                ('ai_error', models.TextField(blank=True)),
                ('performed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('minutes_spent', models.PositiveIntegerField(blank=True, null=True)),
                ('parts_used', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('issue', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='remedies', to='floor.issue')),
                ('performed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='remedies', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'remedies',
                'db_table': 'issues_remedy',
                'ordering': ['performed_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Attachment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('pending_token', models.UUIDField(blank=True, db_index=True, null=True)),
                ('file', models.FileField(max_length=200, upload_to=floor.models.attachment_path)),
                ('kind', models.CharField(choices=[('image', 'Image'), ('video', 'Video')], max_length=10)),
                ('content_type', models.CharField(max_length=100)),
                ('size', models.PositiveBigIntegerField()),
                ('original_name', models.CharField(blank=True, max_length=255)),
                ('ocr_text', models.TextField(blank=True)),
                ('ocr_alarm_codes', models.JSONField(blank=True, default=list)),
                ('uploaded_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('issue', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='attachments', to='floor.issue')),
                ('remedy', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='attachments', to='floor.remedy')),
            ],
            options={
                'db_table': 'issues_attachment',
                'ordering': ['uploaded_at', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(fields=['status', '-reported_at'], name='issue_status_reported'),
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(fields=['machine', '-reported_at'], name='issue_machine_reported'),
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(fields=['-reported_at', '-id'], name='issue_reported'),
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(fields=['assigned_to', 'status'], name='issue_assignee_status'),
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(fields=['resolved_at'], name='issue_resolved'),
        ),
        migrations.AddConstraint(
            model_name='issue',
            constraint=models.CheckConstraint(condition=models.Q(('machine_running_again_at__isnull', True), ('machine_stopped_at__isnull', True), ('machine_running_again_at__gte', models.F('machine_stopped_at')), _connector='OR'), name='issue_running_after_stop'),
        ),
        migrations.AddIndex(
            model_name='issuealarmcode',
            index=models.Index(fields=['code', 'issue'], name='alarmcode_code'),
        ),
        migrations.AddConstraint(
            model_name='issuealarmcode',
            constraint=models.UniqueConstraint(fields=('issue', 'code'), name='alarmcode_unique'),
        ),
        migrations.AddIndex(
            model_name='issueevent',
            index=models.Index(fields=['issue', 'created_at'], name='event_issue_created'),
        ),
        migrations.AddIndex(
            model_name='remedy',
            index=models.Index(fields=['issue', 'performed_at'], name='remedy_issue_performed'),
        ),
        migrations.AddConstraint(
            model_name='attachment',
            constraint=models.CheckConstraint(condition=models.Q(('remedy__isnull', True), ('issue__isnull', False), _connector='OR'), name='attachment_remedy_has_issue'),
        ),
        migrations.AddConstraint(
            model_name='attachment',
            constraint=models.CheckConstraint(condition=models.Q(('issue__isnull', False), ('pending_token__isnull', False), _connector='OR'), name='attachment_owned_or_pending'),
        ),
        # Never dropped on the way back: the tables may be the factory's.
        migrations.RunPython(create_missing_factory_tables, migrations.RunPython.noop, elidable=False),
    ]
