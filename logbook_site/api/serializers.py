"""What the API takes and gives. Representations read the models' own properties (display title, the
reporter, downtime, the timeline's wording), so the API says what the pages say."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from floor import formats
from floor.forms import MAX_CODES
from floor.models import Attachment, Category, Department, Issue, IssueEvent, Machine, Priority, Remedy, Status
from floor.ocr import MAX_CODE_LENGTH, parse_typed_codes

# Times a system may give for when something happened: a report queued on a machine PC while the network
# was down may be days old, but not from before the plant's history or from the future (beyond clock skew).
CLIENT_TIME_PAST = timedelta(days=30)
CLIENT_TIME_AHEAD = timedelta(minutes=5)


def _person(user):
    return {"id": user.pk, "name": formats.person(user)} if user else None


class ErrorSerializer(serializers.Serializer):
    """The one shape of every error (logbook_site/api/errors.py)."""

    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(required=False, help_text="Validation errors only: what is wrong, by field.")


class DepartmentRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class MachineRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DepartmentSerializer(serializers.ModelSerializer):
    machines = serializers.IntegerField(source="machine_count", read_only=True,
                                        help_text="How many machines the department has.")

    class Meta:
        model = Department
        fields = ["id", "name", "machines"]


class MachineSerializer(serializers.ModelSerializer):
    department = DepartmentRefSerializer(allow_null=True, read_only=True)
    open_issues = serializers.IntegerField(source="open_count", read_only=True,
                                           help_text="Issues open, in progress or waiting for parts.")
    is_down = serializers.BooleanField(read_only=True, help_text="An open issue says the machine does not run.")

    class Meta:
        model = Machine
        fields = ["id", "name", "department", "open_issues", "is_down"]


class AlarmCodeFoundSerializer(serializers.Serializer):
    code = serializers.CharField()
    family = serializers.CharField(allow_blank=True, help_text="The controller family the code belongs to.")
    line = serializers.CharField(allow_blank=True, help_text="The screen line it was read from.")


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    alarm_codes = AlarmCodeFoundSerializer(source="ocr_alarm_codes", many=True, read_only=True,
                                           help_text="The alarm codes read from the photo.")
    uploaded_by = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "kind", "content_type", "size", "original_name", "url", "thumbnail_url", "reading",
                  "reading_error", "ocr_text", "alarm_codes", "uploaded_by", "uploaded_at"]

    def _url(self, field):
        if not field:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(field.url) if request else field.url

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment):
        return self._url(attachment.file)

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail_url(self, attachment):
        return self._url(attachment.thumbnail)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_uploaded_by(self, attachment):
        return _person(attachment.uploaded_by)


class RemedySerializer(serializers.ModelSerializer):
    text = serializers.CharField(source="display_text", read_only=True,
                                 help_text="The remedy as the desk shows it: AI's clean text once written, else "
                                           "`description`.")
    performed_by = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Remedy
        fields = ["id", "description", "text", "ai_state", "performed_by", "performed_at", "minutes_spent",
                  "parts_used", "attachments"]

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_performed_by(self, remedy):
        return _person(remedy.performed_by)


class EventSerializer(serializers.ModelSerializer):
    summary = serializers.CharField(read_only=True, help_text="The line the issue page shows.")
    actor = serializers.SerializerMethodField()

    class Meta:
        model = IssueEvent
        fields = ["id", "kind", "summary", "from_value", "to_value", "actor", "created_at"]

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_actor(self, event):
        return _person(event.actor)


class IssueSerializer(serializers.ModelSerializer):
    """An issue in lists: what the desk's queue shows of it."""

    machine = MachineRefSerializer(allow_null=True, read_only=True)
    department = serializers.SerializerMethodField()
    title = serializers.CharField(source="display_title", read_only=True,
                                  help_text="AI's title once written, else the one made from the report.")
    alarm_codes = serializers.SerializerMethodField()
    reporter = serializers.CharField(source="reporter_display", read_only=True,
                                     help_text="The name typed on the tablet, else the account's name.")
    assigned_to = serializers.SerializerMethodField()
    downtime_seconds = serializers.SerializerMethodField()
    occurrence_count = serializers.IntegerField(
        read_only=True, help_text="How many more reports of the same problem were added to it (happened again).")

    class Meta:
        model = Issue
        fields = ["id", "machine", "department", "category", "status", "priority", "is_runnable", "title",
                  "description", "ai_summary", "ai_state", "alarm_codes", "reporter", "assigned_to", "reported_at",
                  "machine_stopped_at", "machine_running_again_at", "resolved_at", "closed_at", "updated_at",
                  "version", "downtime_seconds", "occurrence_count"]

    @extend_schema_field(DepartmentRefSerializer(allow_null=True))
    def get_department(self, issue):
        department = issue.machine.department if issue.machine else None
        return {"id": department.pk, "name": department.name} if department else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_alarm_codes(self, issue):
        return [code.code for code in issue.alarm_codes.all()]

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_assigned_to(self, issue):
        return _person(issue.assigned_to)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_downtime_seconds(self, issue):
        downtime = issue.downtime
        return downtime.total_seconds() if downtime is not None else None


class IssueDetailSerializer(IssueSerializer):
    """An issue with everything the issue page shows."""

    allowed_statuses = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices),
                                             read_only=True, help_text="The statuses it may move to next.")
    remedies = RemedySerializer(many=True, read_only=True)
    attachments = serializers.SerializerMethodField()
    timeline = EventSerializer(source="events", many=True, read_only=True)

    class Meta(IssueSerializer.Meta):
        fields = IssueSerializer.Meta.fields + ["allowed_statuses", "remedies", "attachments", "timeline"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, issue):
        """The issue's own photos and videos; a remedy's are with the remedy."""
        own = [a for a in issue.attachments.all() if a.remedy_id is None]
        return AttachmentSerializer(own, many=True, context=self.context).data


# --- what comes in -----------------------------------------------------------------------------------
@extend_schema_field(serializers.ListField(child=serializers.CharField(max_length=MAX_CODE_LENGTH)))
class AlarmCodesField(serializers.Field):
    """A list of codes, or one string of codes separated by commas, read as the tablet's field reads
    them (floor.ocr.parse_typed_codes): "sv0401" is SV0401."""

    default_error_messages = {
        "type": "A list of alarm codes, or one string.",
        "too_long": f"An alarm code is at most {MAX_CODE_LENGTH} characters: {{code}}.",
        "too_many": f"At most {MAX_CODES} alarm codes.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            self.fail("type")
        typed = parse_typed_codes(", ".join(data))
        if typed.too_long:
            self.fail("too_long", code=typed.too_long[0][:60])
        if len(typed.codes) > MAX_CODES:
            self.fail("too_many")
        return list(typed.codes)

    def to_representation(self, value):
        return list(value)


def _client_time(value, name):
    now = timezone.now()
    if value > now + CLIENT_TIME_AHEAD:
        raise serializers.ValidationError({name: "This time is in the future."})
    if value < now - CLIENT_TIME_PAST:
        raise serializers.ValidationError({name: f"This time is more than {CLIENT_TIME_PAST.days} days ago."})
    return value


class IssueCreateSerializer(serializers.Serializer):
    machine = serializers.PrimaryKeyRelatedField(queryset=Machine.objects.all(), pk_field=serializers.UUIDField(),
                                                 help_text="The machine's id (uuid).")
    category = serializers.ChoiceField(choices=Category.choices)
    alarm_codes = AlarmCodesField(required=False, default=list)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    is_runnable = serializers.BooleanField(default=True, help_text="Whether the machine still runs.")
    reporter_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="",
                                          help_text="Who reported it, when not the key's own name.")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    reported_at = serializers.DateTimeField(required=False,
                                            help_text="When it was reported, if not now (up to 30 days ago).")
    machine_stopped_at = serializers.DateTimeField(required=False,
                                                   help_text="When the machine stopped, if it stopped before the "
                                                             "report.")

    def validate(self, data):
        if not data["description"].strip() and not data["alarm_codes"]:
            raise serializers.ValidationError({"description": "Say what happened, or give the alarm code."})
        for name in ("reported_at", "machine_stopped_at"):
            if data.get(name):
                _client_time(data[name], name)
        stopped, reported = data.get("machine_stopped_at"), data.get("reported_at") or timezone.now()
        if stopped and data["is_runnable"]:
            raise serializers.ValidationError({"machine_stopped_at": "A machine that runs has not stopped."})
        if stopped and stopped > reported:
            raise serializers.ValidationError({"machine_stopped_at": "The machine stopped after it was reported?"})
        return data


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    machine_runs = serializers.BooleanField(
        default=True, help_text="On resolving an issue whose machine is stopped: whether it runs again from now "
                                "(true, the default) or is still stopped.")


class AssignSerializer(serializers.Serializer):
    assigned_to = serializers.IntegerField(allow_null=True,
                                           help_text="The id of a maintenance person or manager, or null for "
                                                     "nobody.")


class PriorityChangeSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)


class RunnableChangeSerializer(serializers.Serializer):
    is_runnable = serializers.BooleanField(help_text="true: the machine runs again; false: it stopped.")
    at = serializers.DateTimeField(required=False, help_text="When, if not now (up to 30 days ago).")

    def validate_at(self, value):
        return _client_time(value, "at")


class RemedyCreateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=4000, help_text="What was done.")
    minutes_spent = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100_000)
    parts_used = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    fixed = serializers.BooleanField(default=False, help_text="This fixed it: resolve the issue too.")
    machine_runs = serializers.BooleanField(
        default=True, help_text="With `fixed`, on an issue whose machine is stopped: whether it runs again from "
                                "now (true, the default) or is still stopped.")

    def validate_description(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Say what was done.")
        return value


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A photo (JPEG, PNG, HEIC, WebP) or a video (MP4, MOV, AVI).")


class ReadingSerializer(serializers.Serializer):
    reading = serializers.ChoiceField(choices=Attachment.Reading.choices,
                                      help_text="`read`, or why nothing was read.")
    error = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True, help_text="The text read from the screen.")
    alarm_codes = AlarmCodeFoundSerializer(many=True)
