from django.contrib import admin

from floor.models import Attachment, Department, Issue, IssueAlarmCode, IssueEvent, Machine, Remedy


class ReadOnlyAdmin(admin.ModelAdmin):
    """The factory's ERP owns machines and departments: we show them and never write them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "id"]
    search_fields = ["name"]


@admin.register(Machine)
class MachineAdmin(ReadOnlyAdmin):
    list_display = ["name", "department", "id"]
    list_select_related = ["department"]
    list_filter = ["department"]
    search_fields = ["name", "department__name"]


class AlarmCodeInline(admin.TabularInline):
    model = IssueAlarmCode
    extra = 0


class RemedyInline(admin.StackedInline):
    model = Remedy
    extra = 0
    raw_id_fields = ["performed_by"]
    readonly_fields = ["ai_text", "ai_state", "ai_error", "created_at"]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fk_name = "issue"
    extra = 0
    fields = ["file", "kind", "content_type", "size", "original_name", "remedy", "uploaded_by", "uploaded_at"]
    readonly_fields = ["kind", "content_type", "size", "original_name", "remedy", "uploaded_by", "uploaded_at"]


class EventInline(admin.TabularInline):
    model = IssueEvent
    extra = 0
    fields = ["created_at", "kind", "from_value", "to_value", "actor"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ["number", "display_title", "machine", "category", "status", "priority", "is_runnable",
                    "reported_at", "assigned_to"]
    list_display_links = ["number", "display_title"]
    list_select_related = ["machine", "assigned_to"]
    list_filter = ["status", "category", "priority", "is_runnable", "ai_state", "machine__department",
                   "reported_at"]
    search_fields = ["=id", "title", "ai_title", "description", "=alarm_codes__code", "machine__name",
                     "reporter_name"]
    date_hierarchy = "reported_at"
    raw_id_fields = ["reported_by", "assigned_to"]
    autocomplete_fields = ["machine"]
    readonly_fields = ["version", "created_at", "updated_at", "submission_token", "ai_updated_at"]
    inlines = [AlarmCodeInline, RemedyInline, AttachmentInline, EventInline]
    show_full_result_count = False  # no COUNT(*) over a million issues on every page

    @admin.display(description="Issue", ordering="id")
    def number(self, obj):
        return obj.number

    @admin.display(description="Title")
    def display_title(self, obj):
        return obj.display_title


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "issue", "kind", "size", "uploaded_at"]
    list_filter = ["kind"]
    raw_id_fields = ["issue", "remedy", "uploaded_by"]
    search_fields = ["original_name", "ocr_text"]
