from django import forms
from django.contrib import admin, messages

from floor import notify
from floor.forms import check_subscription
from floor.models import (
    TRANSITIONS,
    APIKey,
    Attachment,
    ChannelHealth,
    Delivery,
    DeliveryAttempt,
    Department,
    EscalationRule,
    InvalidTransition,
    Issue,
    IssueAlarmCode,
    IssueEvent,
    Machine,
    Notice,
    Occurrence,
    Remedy,
    StaleIssue,
    Status,
    Subscription,
)
from floor.uploads import delete_attachment


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows shown here and never written here: the factory's ERP owns machines and departments; the
    sending of notifications keeps the delivery log and the channels' health."""

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


class ReadOnlyInline:
    """Rows of an issue shown in its admin page and never written there: they come into being through
    the floor form, the desk and the background tasks, which keep the timeline and the search in step."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AlarmCodeInline(ReadOnlyInline, admin.TabularInline):
    model = IssueAlarmCode
    fields = ["code", "family"]


class RemedyInline(ReadOnlyInline, admin.StackedInline):
    model = Remedy
    fields = ["description", "ai_text", "ai_state", "ai_error", "ai_updated_at", "minutes_spent", "parts_used",
              "performed_by", "performed_at"]


class AttachmentInline(ReadOnlyInline, admin.TabularInline):
    model = Attachment
    fk_name = "issue"
    fields = ["file", "kind", "content_type", "size", "original_name", "reading", "remedy", "uploaded_by",
              "uploaded_at"]


class OccurrenceInline(ReadOnlyInline, admin.TabularInline):
    model = Occurrence
    fields = ["reported_at", "note", "stopped", "reported_by", "reporter_name"]


class EventInline(ReadOnlyInline, admin.TabularInline):
    model = IssueEvent
    fields = ["created_at", "kind", "from_value", "to_value", "actor"]


class IssueAdminForm(forms.ModelForm):
    """The four things an administrator may change on an issue, checked as the desk checks them."""

    # The version the page showed: a change made on the desk meanwhile is not overwritten.
    seen_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Issue
        fields = ["status", "priority", "assigned_to", "is_runnable"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_version"].initial = self.instance.version

    def clean_status(self):
        status = self.cleaned_data["status"]
        current = self.instance.status
        if status != current and status not in TRANSITIONS[Status(current)]:
            raise forms.ValidationError(
                f"An issue that is {Status(current).label.lower()} cannot become {Status(status).label.lower()}; "
                f"it may become: {', '.join(s.label.lower() for s in self.instance.allowed_statuses())}."
            )
        return status


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    """Issues are reported at the machines (or by other systems), not here. An administrator may change
    their status, priority, assignee and machine state, through the same model methods as the desk:
    the transition is checked, the timeline records who did it, the version moves on and a change
    made meanwhile on the desk is not overwritten. The text as typed is never edited."""

    form = IssueAdminForm
    list_display = ["number", "display_title", "machine", "category", "status", "priority", "is_runnable",
                    "reported_at", "assigned_to"]
    list_display_links = ["number", "display_title"]
    list_select_related = ["machine", "assigned_to"]
    list_filter = ["status", "category", "priority", "is_runnable", "ai_state", "machine__department",
                   "reported_at"]
    search_fields = ["=id", "title", "ai_title", "description", "=alarm_codes__code", "machine__name",
                     "reporter_name"]
    date_hierarchy = "reported_at"
    raw_id_fields = ["assigned_to"]
    readonly_fields = ["machine", "category", "title", "description", "ai_title", "ai_summary", "ai_state",
                       "ai_error", "reporter_name", "reported_by", "reported_at", "machine_stopped_at",
                       "machine_running_again_at", "resolved_at", "closed_at", "version", "created_at",
                       "updated_at", "submission_token", "ai_updated_at"]
    fieldsets = [
        (None, {"fields": ["machine", "category", "title", "description", "reporter_name", "reported_by",
                           "reported_at"]}),
        ("State", {"fields": ["status", "priority", "assigned_to", "is_runnable", "machine_stopped_at",
                              "machine_running_again_at", "resolved_at", "closed_at", "version", "seen_version"]}),
        ("AI text", {"fields": ["ai_title", "ai_summary", "ai_state", "ai_error", "ai_updated_at"],
                     "classes": ["collapse"]}),
        ("Record", {"fields": ["created_at", "updated_at", "submission_token"], "classes": ["collapse"]}),
    ]
    inlines = [AlarmCodeInline, RemedyInline, AttachmentInline, OccurrenceInline, EventInline]
    show_full_result_count = False  # no COUNT(*) over a million issues on every page

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # `obj` holds the form's values; the row is changed only through the model's methods, starting
        # from the version the administrator saw.
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "seen_version"}
        issue = Issue.objects.get(pk=obj.pk)
        seen = form.cleaned_data["seen_version"]
        try:
            if "status" in changes:
                issue.set_status(changes["status"], by=request.user, expected_version=seen)
                seen = None
            if "priority" in changes:
                issue.set_priority(changes["priority"], by=request.user, expected_version=seen)
                seen = None
            if "assigned_to" in changes:
                issue.assign(changes["assigned_to"], by=request.user, expected_version=seen)
                seen = None
            if "is_runnable" in changes:
                issue.set_runnable(changes["is_runnable"], by=request.user, expected_version=seen)
        except (StaleIssue, InvalidTransition) as error:
            self.message_user(request, f"Not saved: {error} Open the issue again to see it as it is now.",
                              level=messages.ERROR)
        obj.refresh_from_db()

    @admin.display(description="Issue", ordering="id")
    def number(self, obj):
        return obj.number

    @admin.display(description="Title")
    def display_title(self, obj):
        return obj.display_title


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Photos and videos are shown here and may be deleted (their files with them), never edited."""

    list_display = ["__str__", "issue", "kind", "size", "reading", "uploaded_at"]
    list_filter = ["kind", "reading"]
    search_fields = ["original_name", "ocr_text"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        delete_attachment(obj)

    def delete_queryset(self, request, queryset):
        for attachment in queryset:
            delete_attachment(attachment)


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    """Keys of the plant's systems for the API. A new key is shown once, on the page after saving it; only
    its hash is kept. A key is revoked, never deleted: what it did stays on the timelines under its name."""

    list_display = ["name", "role", "prefix", "created_at", "last_used_at", "is_active"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    fields = ["name", "role", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(boolean=True, description="active")
    def is_active(self, key):
        return key.is_active

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()  # a new name or role; the key's account follows (APIKey.save)
            return
        key, raw = APIKey.issue(name=obj.name, role=obj.role, by=request.user)
        obj.pk, obj.prefix, obj.user = key.pk, key.prefix, key.user
        obj._state.adding = False
        messages.warning(request, f"The key for {key.name} is {raw} — copy it now into the system that calls "
                                  "with it: it is not shown again. Lost, it is revoked and a new one made.")

    @admin.action(description="Revoke the selected keys (they stop working at once)")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
        self.message_user(request, "Revoked.", messages.SUCCESS)

    def has_delete_permission(self, request, obj=None):
        return False


# --- notifications ------------------------------------------------------------------------------------
class SubscriptionAdminForm(forms.ModelForm):
    """A subscription as the notifications page makes one, for anyone, with the page's rules
    (Subscription.problems): a webhook to a URL this server may post to, e-mail to a person who
    has an address."""

    notices = forms.MultipleChoiceField(choices=Notice.subscribable(), widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Subscription
        fields = ["user", "name", "channel", "url", "notices", "departments", "machines", "active"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("user"):
            check_subscription(self, cleaned["user"], yours=False)
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """What each person hears, as their notifications page shows it. A webhook's secret is never shown
    here: it is shown once when it is made (on saving a new webhook) or rotated (the action), in a message."""

    form = SubscriptionAdminForm
    list_display = ["user", "name", "channel", "notice_list", "active"]
    list_select_related = ["user"]
    list_filter = ["channel", "active"]
    search_fields = ["name", "user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["departments", "machines"]
    readonly_fields = ["created_at", "previous_secret_until"]
    actions = ["send_test", "rotate_secret"]

    @admin.display(description="notices")
    def notice_list(self, subscription):
        known = dict(Notice.choices)
        return ", ".join(known.get(n, n) for n in subscription.notices)

    def save_model(self, request, obj, form, change):
        had_secret = bool(obj.pk and Subscription.objects.filter(pk=obj.pk).exclude(secret="").exists())
        super().save_model(request, obj, form, change)
        if obj.is_webhook and obj.secret and not had_secret:
            _show_secret(request, obj, obj.secret)

    @admin.action(description="Send a test through the selected subscriptions", permissions=["change"])
    def send_test(self, request, queryset):
        sent = [notify.send_test(subscription, by=request.user) for subscription in queryset.select_related("user")]
        self.message_user(request, f"{len(sent)} test message{'s' if len(sent) != 1 else ''} on the way; "
                                   "Deliveries shows how each went.", messages.SUCCESS)

    @admin.action(description="Rotate the secret of the selected webhooks", permissions=["change"])
    def rotate_secret(self, request, queryset):
        skipped = 0
        for subscription in queryset:
            if not subscription.is_webhook:
                skipped += 1
                continue
            _show_secret(request, subscription, subscription.rotate_secret(), rotated=True)
        if skipped:
            self.message_user(request, f"{skipped} e-mail subscription{'s' if skipped != 1 else ''} left as "
                                       f"{'they were' if skipped != 1 else 'it was'}: e-mail has no secret.",
                              messages.INFO)


def _show_secret(request, subscription, secret, *, rotated=False):
    overlap = round(Subscription.ROTATION_OVERLAP.total_seconds() / 3600)
    messages.warning(
        request,
        f"The {'new ' if rotated else ''}signing secret of “{subscription}” ({subscription.user}) is {secret} — copy "
        "it now into the receiver, which verifies the webhook-id, webhook-timestamp and webhook-signature headers "
        "with it: it is not shown again."
        + (f" The old secret keeps signing beside it for {overlap} h." if rotated else ""),
    )


class EscalationRuleForm(forms.ModelForm):
    class Meta:
        model = EscalationRule
        fields = ["department", "first_after_minutes", "again_after_minutes"]
        labels = {"first_after_minutes": "First after (minutes)", "again_after_minutes": "Again after (minutes)"}
        help_texts = {
            "first_after_minutes": "How long a stopped machine may wait with nobody assigned before the managers "
                                   "are told. 0: never.",
            "again_after_minutes": "How long after that they are told once more. 0: not again.",
        }


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):
    """How long a department's stopped machine may wait unanswered before the managers are told; the
    departments without a rule follow NOTIFY_ESCALATE_MINUTES and NOTIFY_ESCALATE_AGAIN_MINUTES."""

    form = EscalationRuleForm
    list_display = ["department", "first_after_minutes", "again_after_minutes"]
    list_select_related = ["department"]


class DeliveryAttemptInline(ReadOnlyInline, admin.TabularInline):
    model = DeliveryAttempt
    fields = ["started_at", "ok", "duration_ms", "status_code", "response_excerpt", "error"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery log, read-only: deliveries are made by the worker (floor/notify.py) and changed only by
    sending them. "Redeliver" sends one again with the same message id, as the notifications page does.
    A webhook's URL is shown by its host only: the rest may carry a token (Teams' sig=)."""

    list_display = ["key", "notice", "channel", "target_display", "state", "attempts", "created_at", "sent_at",
                    "last_error"]
    list_filter = ["state", "channel", "notice", "created_at"]
    search_fields = ["key", "=user__username", "last_error"]
    date_hierarchy = "created_at"
    fields = ["key", "notice", "channel", "target_display", "user", "subscription", "issue", "event", "message_id",
              "state", "attempts", "created_at", "next_attempt_at", "retry_until", "sent_at", "last_error",
              "folded_into", "folded_count", "payload"]
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]
    show_full_result_count = False

    @admin.display(description="target")
    def target_display(self, delivery):
        return delivery.target_display

    def has_redeliver_permission(self, request):
        # The page is read-only for everyone (no change permission here); sending again is for those who
        # hold the model's change permission.
        return request.user.has_perm("floor.change_delivery")

    @admin.action(description="Redeliver the selected deliveries (same message id)", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        done = [notify.redeliver(d) for d in queryset.filter(state__in=[Delivery.State.SENT, Delivery.State.FAILED])]
        self.message_user(request, f"{len(done)} sent again; those still waiting or sending were left as they are.",
                          messages.SUCCESS)


@admin.register(ChannelHealth)
class ChannelHealthAdmin(ReadOnlyAdmin):
    """How each destination (the mail server, each webhook URL by its hash) has answered lately."""

    list_display = ["key", "failures", "failing_since", "retry_at", "last_error"]
    list_filter = [("failing_since", admin.EmptyFieldListFilter)]
    fields = list_display
    readonly_fields = list_display
