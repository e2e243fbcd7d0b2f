import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Lower, Replace
from django.utils import timezone

from floor import ai, formats, roles


# --- The factory's own tables -----------------------------------------------------------------------
# `manufacturing_department` and `manufacturing_machine` belong to the factory's ERP. We may rely on
# the columns below and nothing else; the real tables usually have many more. Django never creates,
# alters or writes them (managed = False); migration 0001 creates them only where they are missing
# (SQLite demo, fresh test databases). See floor/checks.py for the start-up contract check.
class Department(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)

    class Meta:
        managed = False
        db_table = "manufacturing_department"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Machine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="machines",
    )

    class Meta:
        managed = False
        db_table = "manufacturing_machine"
        ordering = ["name"]

    def __str__(self):
        return self.name

    # What the machine picker's search passes over in names and in what was typed, besides case: "VF2"
    # finds "VF-2", "m04" finds "M-04", "dmg mori" finds "DMG-Mori".
    SEARCH_IGNORES = " -_./#()"

    @classmethod
    def search_key(cls, text):
        """`text` as the picker compares it: lower case, without the characters it passes over."""
        return "".join(ch for ch in text.lower() if ch not in cls.SEARCH_IGNORES)

    @classmethod
    def matching(cls, queryset, text):
        """The machines of `queryset` whose name or department's name holds `text`, by search_key."""
        key = cls.search_key(text)
        if not key:
            return queryset

        def squeezed(field):
            expression = Lower(field)
            for ch in cls.SEARCH_IGNORES:
                expression = Replace(expression, Value(ch), Value(""))
            return expression

        return queryset.annotate(_name_key=squeezed("name"), _department_key=squeezed("department__name")).filter(
            Q(_name_key__contains=key) | Q(_department_key__contains=key))

    @classmethod
    def with_state(cls):
        """Machines with their number of open issues (`open_count`) and whether one of them stopped the
        machine (`is_down`), by department.

        Correlated subqueries on the partial index of open issues, rather than a join and GROUP BY over
        all issues, so the cost follows the open issues, not the history.
        """
        open_issues = Issue.objects.filter(machine=OuterRef("pk"), status__in=OPEN_STATUSES)
        return (
            cls.objects.select_related("department")
            .annotate(
                open_count=Coalesce(
                    Subquery(open_issues.values("machine").annotate(n=Count("pk")).values("n")[:1]), 0
                ),
                is_down=Exists(open_issues.filter(is_runnable=False)),
            )
            .order_by(F("department__name").asc(nulls_last=True), "name")
        )


# --- Our tables -------------------------------------------------------------------------------------
class Category(models.TextChoices):
    ALARM = "alarm", "Alarm"
    MECHANICAL = "mechanical", "Mechanical"
    ELECTRICAL = "electrical", "Electrical"
    HYDRAULIC = "hydraulic", "Hydraulic / pneumatic"
    TOOLING = "tooling", "Tooling"
    PROGRAM = "program", "Program"
    QUALITY = "quality", "Quality"
    SAFETY = "safety", "Safety"
    OTHER = "other", "Other"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_PARTS = "waiting_parts", "Waiting for parts"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.WAITING_PARTS)
# The same as plain strings, for index conditions and expressions that migrations write out as they are.
OPEN_STATUS_VALUES = [status.value for status in OPEN_STATUSES]

# Which status may follow which. Work may skip steps (a quick fix goes from open to resolved), but a
# finished issue only comes back through "reopen" (to open), so its resolution times stay honest.
TRANSITIONS = {
    Status.OPEN: {Status.IN_PROGRESS, Status.WAITING_PARTS, Status.RESOLVED},
    Status.IN_PROGRESS: {Status.OPEN, Status.WAITING_PARTS, Status.RESOLVED},
    Status.WAITING_PARTS: {Status.IN_PROGRESS, Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.OPEN},
    Status.CLOSED: {Status.OPEN},
}


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class AIState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    OFF = "off", "Off"


class AIText(models.Model):
    """The text AI writes beside what a person typed: an issue's title and summary, a remedy's polished
    text. Both keep it in these columns and change it only through the methods below, so the two never
    go different ways: every change writes ai_updated_at (when the state last changed, or the worker
    took the text up), and a text written or given up on is told on its issue's timeline.

    A concrete model names the columns AI writes (AI_TEXT_FIELDS: the first names the text on the
    timeline, the last is shown in place of the typed text), the column holding the id of the issue
    whose timeline it is (AI_ISSUE_FIELD), and that timeline's event kinds (ai_event_kinds()); it has
    `description` (the typed text) and `created_at` of its own.

    Text still pending past ai.pending_limit() will never arrive: the worker writing it was killed or
    restarted mid-task, or its task was lost. It then counts as failed, so the page shows why and
    "Try again" instead of "Summarising…" for ever; wherever pending text is seen (the polling views,
    the worker's rounds) the same rule is applied.
    """

    ai_state = models.CharField(max_length=10, choices=AIState.choices, default=AIState.OFF)
    ai_error = models.TextField(blank=True)
    ai_updated_at = models.DateTimeField(null=True, blank=True)

    AI_TEXT_FIELDS = ()
    AI_ISSUE_FIELD = "id"

    class Meta:
        abstract = True

    @property
    def ai_issue_id(self):
        return getattr(self, self.AI_ISSUE_FIELD)

    @property
    def display_text(self):
        """The text AI wrote (the last of AI_TEXT_FIELDS) once it is there, else the typed one."""
        written = getattr(self, self.AI_TEXT_FIELDS[-1])
        return written if self.ai_state == AIState.DONE and written else self.description

    @classmethod
    def ai_overdue(cls):
        cutoff = timezone.now() - ai.pending_limit()
        # Issues reported with AI on start pending without an ai_updated_at: their creation counts.
        return cls.objects.filter(ai_state=AIState.PENDING).filter(
            Q(ai_updated_at__lt=cutoff) | Q(ai_updated_at__isnull=True, created_at__lt=cutoff)
        )

    @classmethod
    def fail_overdue_ai(cls):
        """Mark every overdue pending text failed; returns how many there were."""
        overdue = cls.ai_overdue().only("ai_state", "ai_updated_at", "created_at", cls.AI_ISSUE_FIELD)
        return sum(row.fail_ai_if_overdue() for row in overdue)

    # Plain UPDATEs of the AI columns only: the text arrives while people may be changing the issue or
    # the remedy, and must neither overwrite their change (nor the text they typed) nor count as one (an
    # issue's version stays).
    def start_ai(self):
        self._set_ai(ai_state=AIState.PENDING, ai_error="")

    def record_ai_text(self, **text):
        """Store what AI wrote, one keyword per column of AI_TEXT_FIELDS."""
        if set(text) != set(self.AI_TEXT_FIELDS):
            raise TypeError(f"The AI text of {self._meta.verbose_name} is {', '.join(self.AI_TEXT_FIELDS)}; "
                            f"got {', '.join(text) or 'nothing'}.")
        with transaction.atomic():
            if self._set_ai(**text, ai_state=AIState.DONE, ai_error=""):
                self._ai_event(failed=False, value=text[self.AI_TEXT_FIELDS[0]])

    def record_ai_failure(self, reason):
        with transaction.atomic():
            if self._set_ai(ai_state=AIState.FAILED, ai_error=reason):
                self._ai_event(failed=True, value=reason)

    def record_ai_off(self):
        self._set_ai(ai_state=AIState.OFF)

    def mark_ai_started(self):
        """The worker takes the text up now: the limit counts from here, not from the wait in the
        queue. False when the text is no longer pending (answered, or already given up on)."""
        now = timezone.now()
        taken = type(self).objects.filter(pk=self.pk, ai_state=AIState.PENDING).update(ai_updated_at=now)
        if taken:
            self.ai_updated_at = now
        return bool(taken)

    def fail_ai_if_overdue(self):
        """Mark the text failed if it is pending past the limit; returns whether it did."""
        limit = ai.pending_limit()
        now = timezone.now()
        # Pages poll pending text every two seconds: most polls are answered from this copy alone.
        if self.ai_state != AIState.PENDING or (self.ai_updated_at or self.created_at) >= now - limit:
            return False
        reason = f"The background worker stopped before the text was written (nothing within " \
                 f"{limit.total_seconds():g} s). Try again."
        with transaction.atomic():
            # Conditional, in one statement: text that arrived since this copy was read wins.
            failed = type(self).ai_overdue().filter(pk=self.pk).update(
                ai_state=AIState.FAILED, ai_error=reason, ai_updated_at=now
            )
            if failed:
                self._ai_event(failed=True, value=reason)
        if failed:
            self.ai_state, self.ai_error, self.ai_updated_at = AIState.FAILED, reason, now
        else:
            self.refresh_from_db(fields=["ai_state", "ai_error", "ai_updated_at", *self.AI_TEXT_FIELDS])
        return bool(failed)

    def _set_ai(self, **fields):
        """Returns whether the row was still there to write."""
        fields["ai_updated_at"] = timezone.now()
        written = type(self).objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)
        return bool(written)

    def _ai_event(self, *, failed, value):
        """The outcome on the issue's timeline, in the transaction that recorded it."""
        done_kind, failed_kind = self.ai_event_kinds()
        IssueEvent.objects.create(issue_id=self.ai_issue_id, kind=failed_kind if failed else done_kind,
                                  to_value=value[:200])


# 0 for open issues, 1 for finished ones: the first key of the desk's default order.
URGENCY = models.Case(
    models.When(status__in=OPEN_STATUS_VALUES, then=models.Value(0)),
    default=models.Value(1),
    output_field=models.IntegerField(),
)


class InvalidTransition(Exception):
    """The requested status does not follow the current one."""


class StaleIssue(Exception):
    """Someone else changed the issue since the form was loaded (lost-update protection)."""

    def __init__(self, issue):
        super().__init__(f"Issue #{issue.pk} was changed by someone else.")
        self.issue = issue


class Issue(AIText):
    # Nullable only so that a machine deleted in the ERP leaves its history readable (the join then
    # finds nothing); every form requires a machine.
    machine = models.ForeignKey(
        Machine,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="issues",
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    # ai_state, ai_error and ai_updated_at: AIText.
    ai_title = models.CharField(max_length=200, blank=True)
    ai_summary = models.TextField(blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    is_runnable = models.BooleanField(
        default=True, help_text="The machine can still run despite the issue."
    )

    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_issues",
    )
    # Tablets on the floor are often signed in with one shared account: the person's own name.
    reporter_name = models.CharField(max_length=100, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_issues",
    )

    reported_at = models.DateTimeField(default=timezone.now)
    machine_stopped_at = models.DateTimeField(null=True, blank=True)
    machine_running_again_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Bumped by every change through the model methods; a form posts the version it was loaded with.
    version = models.PositiveIntegerField(default=1)
    # The token of the floor form that created this issue: a resubmitted form finds it again.
    submission_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # How many more reports of this problem joined it ("happened again"), one Occurrence each; kept by
    # Issue.record_occurrence, the one way they are added.
    occurrence_count = models.PositiveIntegerField(default=0, editable=False)
    # Everything the desk's search box looks in, kept up to date by floor/search.py; on PostgreSQL a
    # full-text index covers it (the issues_search table, migration 0007).
    search_document = models.TextField(blank=True, editable=False)

    class Meta:
        db_table = "issues_issue"
        ordering = ["-reported_at", "-id"]
        # Every permission of the app lives here, under the one app label "floor" (they are stored as
        # floor.*, and the roles in floor/roles.py grant them), including those the other apps check:
        # view_desk and export_issues (desk/views.py), view_dashboard (dashboard/views.py), print_labels.
        permissions = [
            ("assign_issue", "Can assign issues"),
            ("change_issue_status", "Can change the status of issues"),
            ("view_dashboard", "Can view the dashboards"),
            ("export_issues", "Can export issues"),
            ("view_desk", "Can use the maintenance desk"),
            ("print_labels", "Can print the machines' QR labels"),
        ]
        indexes = [
            models.Index(fields=["status", "-reported_at"], name="issue_status_reported"),
            models.Index(fields=["machine", "-reported_at"], name="issue_machine_reported"),
            models.Index(fields=["-reported_at", "-id"], name="issue_reported"),
            models.Index(fields=["assigned_to", "status"], name="issue_assignee_status"),
            # Open issues are a small, hot part of the table: the floor's tiles and "down now" read it.
            models.Index(fields=["machine", "is_runnable"], name="issue_open_machine",
                         condition=Q(status__in=OPEN_STATUS_VALUES)),
            # The desk's default order (open first, machines down first, then priority and age), as an
            # index so the first page of a million issues is read, not sorted.
            models.Index(URGENCY, "is_runnable", F("priority").desc(), F("reported_at").desc(), F("id").desc(),
                         name="issue_urgency"),
            # Dashboard downtime: stops that ended after a date or have not ended; the query in
            # dashboard/metrics.py matches this expression exactly and reads only the index.
            models.Index(Coalesce("machine_running_again_at", "resolved_at"), F("machine_stopped_at"), F("machine"),
                         F("machine_running_again_at"), F("resolved_at"), name="issue_stop_end",
                         condition=Q(machine_stopped_at__isnull=False)),
            # Dashboard: issues per machine and per category in a period, from the index alone.
            models.Index(fields=["reported_at", "machine", "category"], name="issue_reported_machine_cat"),
            # Dashboard: resolved in a period and both MTTRs from the index alone.
            models.Index(fields=["resolved_at", "reported_at", "machine_stopped_at", "machine_running_again_at",
                                 "machine"], name="issue_resolved_repair"),
            # The worker's rounds look for AI text pending too long (AIText.ai_overdue): a handful of rows.
            models.Index(fields=["ai_updated_at", "created_at"], name="issue_ai_pending",
                         condition=Q(ai_state="pending")),
            # The API's incremental sync: what changed since a moment, oldest change first.
            models.Index(fields=["updated_at", "id"], name="issue_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(machine_running_again_at__isnull=True)
                | Q(machine_stopped_at__isnull=True)
                | Q(machine_running_again_at__gte=F("machine_stopped_at")),
                name="issue_running_after_stop",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.display_title}"

    @property
    def number(self):
        return f"#{self.pk}"

    @property
    def display_title(self):
        return self.ai_title if self.ai_state == AIState.DONE and self.ai_title else self.title

    @property
    def reporter_display(self):
        """Who reported it: the name typed on a shared tablet, else the account's name."""
        if self.reporter_name:
            return self.reporter_name
        return formats.person(self.reported_by)

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def downtime(self):
        """How long the machine has been (or was) stopped by this issue, or None if it never stopped."""
        if not self.machine_stopped_at:
            return None
        end = self.machine_running_again_at or self.resolved_at or timezone.now()
        return max(end - self.machine_stopped_at, timedelta(0))

    @classmethod
    def with_history(cls):
        """Issues with everything their page shows (the desk's issue page, the API's issue): machine and
        department, people, codes, files, remedies with their files, and the timeline, in a fixed
        number of queries."""
        files = Attachment.objects.select_related("uploaded_by")
        return cls.objects.select_related("machine__department", "reported_by", "assigned_to").prefetch_related(
            "alarm_codes",
            models.Prefetch("attachments", queryset=files),
            models.Prefetch("remedies", queryset=Remedy.objects.select_related("performed_by").prefetch_related(
                models.Prefetch("attachments", queryset=files))),
            models.Prefetch("events", queryset=IssueEvent.objects.select_related("actor")),
            models.Prefetch("occurrences", queryset=Occurrence.objects.select_related("reported_by")),
        )

    @classmethod
    def already_open(cls, *, machine, codes=(), limit=3):
        """The open issues on `machine` a new report may be about: those with any of `codes` first, then
        those that have the machine down, newest first; the floor form offers to add the report to one
        instead of opening the same problem twice."""
        codes = list(codes)
        same_code = Exists(IssueAlarmCode.objects.filter(issue=OuterRef("pk"), code__in=codes))
        found = cls.objects.filter(machine=machine, status__in=OPEN_STATUSES).annotate(same_code=same_code)
        found = found.filter(Q(same_code=True) | Q(is_runnable=False)) if codes else found.filter(is_runnable=False)
        return list(found.prefetch_related("alarm_codes").order_by("-same_code", "-reported_at", "-id")[:limit])

    def allowed_statuses(self):
        return sorted(TRANSITIONS[self.status], key=list(Status).index)

    # --- state changes ------------------------------------------------------------------------------
    # Each runs in a transaction on a locked, fresh copy of the row, so two maintenance staff acting at
    # once are serialised; with expected_version the second one gets StaleIssue instead of silently
    # overwriting the first.
    def _change(self, *, by, expected_version, apply):
        with transaction.atomic():
            fresh = Issue.objects.select_for_update().get(pk=self.pk)
            if expected_version is not None and fresh.version != expected_version:
                raise StaleIssue(fresh)
            now = timezone.now()
            recorded = apply(fresh, now)
            if not recorded:
                return False
            fresh.version += 1
            fresh.save()
            IssueEvent.objects.bulk_create(
                IssueEvent(issue=fresh, actor=by, created_at=now, kind=kind, from_value=old, to_value=new)
                for kind, old, new in recorded
            )
        self.refresh_from_db()
        return True

    def set_status(self, status, *, by, expected_version=None, machine_runs=True):
        """Move the issue to `status` along TRANSITIONS, keeping resolved_at and closed_at true.

        Resolving an issue whose machine is stopped asks whether it runs again:
        `machine_runs`, yes unless told otherwise, records it running from that moment, with its own
        timeline event. Without it a fixed issue went on showing its machine down, and its downtime
        ended only because it was resolved. With machine_runs=False it is left stopped."""
        status = Status(status)

        def apply(issue, now):
            if status == issue.status:
                return []
            if status not in TRANSITIONS[issue.status]:
                raise InvalidTransition(
                    f"An issue that is {issue.get_status_display().lower()} cannot become "
                    f"{status.label.lower()}."
                )
            old = issue.status
            issue.status = status
            recorded = [(IssueEvent.Kind.STATUS_CHANGED, old, status)]
            if status == Status.RESOLVED:
                issue.resolved_at = now
            elif status == Status.CLOSED:
                issue.closed_at = now
                issue.resolved_at = issue.resolved_at or now
            elif status in OPEN_STATUSES and old in (Status.RESOLVED, Status.CLOSED):
                issue.resolved_at = None
                issue.closed_at = None
                return [(IssueEvent.Kind.REOPENED, old, status)]
            # Not on closing: a resolved issue left stopped must keep its downtime ending at its resolution.
            if status == Status.RESOLVED and not issue.is_runnable and machine_runs:
                recorded.append(_runs_again(issue, now))
            return recorded

        return self._change(by=by, expected_version=expected_version, apply=apply)

    def assign(self, user, *, by, expected_version=None):
        def apply(issue, now):
            if issue.assigned_to_id == (user.pk if user else None):
                return []
            # The timeline names people as every page does, as they were called at the time.
            old = formats.person(issue.assigned_to)
            issue.assigned_to = user
            return [(IssueEvent.Kind.ASSIGNED, old, formats.person(user))]

        return self._change(by=by, expected_version=expected_version, apply=apply)

    def set_priority(self, priority, *, by, expected_version=None):
        priority = Priority(int(priority))

        def apply(issue, now):
            if issue.priority == priority:
                return []
            old = Priority(issue.priority).label
            issue.priority = priority
            return [(IssueEvent.Kind.PRIORITY_CHANGED, old, priority.label)]

        return self._change(by=by, expected_version=expected_version, apply=apply)

    def set_runnable(self, runnable, *, by, at=None, expected_version=None):
        """Record that the machine stopped (runnable False) or runs again (True), for downtime."""

        def apply(issue, now):
            if issue.is_runnable == runnable:
                return []
            when = at or now
            if runnable:
                return [_runs_again(issue, when)]
            issue.is_runnable = False
            issue.machine_stopped_at = issue.machine_stopped_at or when
            issue.machine_running_again_at = None
            return [(IssueEvent.Kind.RUNNABLE_CHANGED, _yes_no(True), _yes_no(False))]

        return self._change(by=by, expected_version=expected_version, apply=apply)

    def record_occurrence(self, *, by, reporter_name="", note="", stopped=False, at=None, token=None):
        """Another report of this open issue's problem: it happened again. The Occurrence is on the
        timeline with its note, the count the desk shows goes up, and a report that the machine stopped
        marks the issue's machine down (from `at`). Maintenance's view of the issue does not go stale by
        it (the version stays), except when the machine's state changed."""
        with transaction.atomic():
            occurrence = Occurrence.objects.create(
                issue=self, note=(note or "").strip(), stopped=stopped, reported_by=by,
                reporter_name=(reporter_name or "").strip(), reported_at=at or timezone.now(),
                submission_token=token,
            )
            Issue.objects.filter(pk=self.pk).update(occurrence_count=F("occurrence_count") + 1,
                                                    updated_at=timezone.now())
            if stopped and self.is_runnable:
                self.set_runnable(False, by=by, at=occurrence.reported_at)
            self.refresh_from_db()
        return occurrence

    # --- AI text: AIText, written by floor/tasks.py --------------------------------------------------
    AI_TEXT_FIELDS = ("ai_title", "ai_summary")  # the timeline names the title; the page shows the summary
    AI_ISSUE_FIELD = "id"

    @staticmethod
    def ai_event_kinds():
        return IssueEvent.Kind.AI_DONE, IssueEvent.Kind.AI_FAILED


def _yes_no(value):
    return "running" if value else "stopped"


def _runs_again(issue, when):
    """Mark the stopped machine of `issue` running since `when` (never before it stopped); its event."""
    issue.is_runnable = True
    issue.machine_running_again_at = max(when, issue.machine_stopped_at) if issue.machine_stopped_at else when
    return IssueEvent.Kind.RUNNABLE_CHANGED, _yes_no(False), _yes_no(True)


class Occurrence(models.Model):
    """A report of a problem that was open already, added to its issue instead of opening another one
    (Issue.record_occurrence): who, when, what they noted, and whether the machine had stopped. Its
    photos are the issue's attachments, uploaded with the same form."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="occurrences")
    note = models.TextField(blank=True)
    stopped = models.BooleanField(default=False, help_text="The reporter said the machine had stopped.")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_name = models.CharField(max_length=100, blank=True)
    reported_at = models.DateTimeField(default=timezone.now)
    # The floor form that sent it: sending the same form again adds nothing.
    submission_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        db_table = "issues_occurrence"
        ordering = ["reported_at", "id"]
        indexes = [models.Index(fields=["issue", "reported_at"], name="occurrence_issue_reported")]

    def __str__(self):
        return f"#{self.issue_id} again at {self.reported_at:%Y-%m-%d %H:%M}"

    @property
    def reporter_display(self):
        return self.reporter_name or formats.person(self.reported_by)


class IssueAlarmCode(models.Model):
    """One alarm code of an issue, normalised (see floor/ocr/alarm_codes.py); a row each, so that
    "which issues had SV0401" and "top alarm codes" are plain indexed queries on any database."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="alarm_codes")
    code = models.CharField(max_length=40)
    family = models.CharField(max_length=20, blank=True)

    class Meta:
        db_table = "issues_alarmcode"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["issue", "code"], name="alarmcode_unique")]
        indexes = [models.Index(fields=["code", "issue"], name="alarmcode_code")]

    def __str__(self):
        return self.code


class Remedy(AIText):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="remedies")
    description = models.TextField()
    # ai_state, ai_error and ai_updated_at: AIText.
    ai_text = models.TextField(blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="remedies"
    )
    performed_at = models.DateTimeField(default=timezone.now)
    minutes_spent = models.PositiveIntegerField(null=True, blank=True)
    parts_used = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The desk form that recorded it: the same form sent again (a retry, the tablet's outbox) adds nothing.
    submission_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        db_table = "issues_remedy"
        ordering = ["performed_at", "id"]
        verbose_name_plural = "remedies"
        indexes = [
            models.Index(fields=["issue", "performed_at"], name="remedy_issue_performed"),
            models.Index(fields=["ai_updated_at", "created_at"], name="remedy_ai_pending",
                         condition=Q(ai_state="pending")),
        ]

    def __str__(self):
        return f"Remedy for #{self.issue_id}"

    # --- AI text: AIText, written by floor/tasks.py --------------------------------------------------
    AI_TEXT_FIELDS = ("ai_text",)
    AI_ISSUE_FIELD = "issue_id"  # its issue's timeline tells the outcome

    @staticmethod
    def ai_event_kinds():
        return IssueEvent.Kind.REMEDY_AI_DONE, IssueEvent.Kind.REMEDY_AI_FAILED


def attachment_path(instance, filename):
    # The stored name is generated: what the tablet called the file says nothing and may collide.
    suffix = PurePath(filename).suffix.lower()[:10]
    return timezone.now().strftime("attachments/%Y/%m/%d/") + uuid.uuid4().hex + suffix


class Attachment(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"

    class Reading(models.TextChoices):
        """How far reading a photo for alarm codes got (floor/screen_reading.py)."""

        NOT_READ = "", "Not read"  # videos, and remedies' photos
        QUEUED = "queued", "Reading"
        READ = "read", "Read"
        TIMEOUT = "timeout", "Took too long"
        BUSY = "busy", "Server busy"
        UNAVAILABLE = "unavailable", "OCR not available"
        FAILED = "failed", "Could not be read"

    # Pending attachments (uploaded while the floor form is still open) have neither issue nor remedy
    # but a pending_token; sending the form attaches them. A remedy's attachment also names the
    # remedy's issue, so an issue's timeline is one query.
    issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    remedy = models.ForeignKey(
        Remedy, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    # The token of the floor form the file came with. It stays after the form is sent, so that a photo
    # sent again with the same form (a retry, a double tap, the form posted with the photo inside while
    # its upload was still on the way) is recognised by its content and stored once.
    pending_token = models.UUIDField(null=True, blank=True, db_index=True)
    # NULL for files stored before contents were fingerprinted: they never clash with each other.
    sha256 = models.CharField(max_length=64, null=True, blank=True, editable=False)
    file = models.FileField(upload_to=attachment_path, max_length=200)
    # A small upright JPEG of an image (none for videos); see floor/uploads.py.
    thumbnail = models.FileField(upload_to=attachment_path, max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    reading = models.CharField(max_length=12, choices=Reading.choices, default=Reading.NOT_READ, blank=True)
    reading_error = models.CharField(max_length=200, blank=True)
    ocr_text = models.TextField(blank=True)
    ocr_alarm_codes = models.JSONField(default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "issues_attachment"
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remedy__isnull=True) | Q(issue__isnull=False),
                name="attachment_remedy_has_issue",
            ),
            models.CheckConstraint(
                condition=Q(issue__isnull=False) | Q(pending_token__isnull=False),
                name="attachment_owned_or_pending",
            ),
            # One copy of a file per form, however often it was sent (NULL tokens never clash).
            models.UniqueConstraint(fields=["pending_token", "sha256"], name="attachment_once_per_form"),
        ]

    def __str__(self):
        return self.original_name or self.file.name

    @property
    def found_codes(self):
        return [found["code"] for found in self.ocr_alarm_codes]

    @property
    def is_being_read(self):
        return self.reading == Attachment.Reading.QUEUED

    def record_added(self):
        """Note on the timeline that this file came onto its issue after the issue was reported (the
        files sent with a report are the report's; a remedy's are the remedy's)."""
        IssueEvent.objects.create(issue_id=self.issue_id, kind=IssueEvent.Kind.ATTACHMENT_ADDED,
                                  actor_id=self.uploaded_by_id, to_value=self.original_name[:200])

    @property
    def reading_note(self):
        """What the form's preview says about reading the photo, or "" when its codes say it all."""
        Reading = Attachment.Reading
        if self.reading == Reading.READ:
            return "" if self.ocr_alarm_codes else "No alarm code found on this photo."
        return {
            Reading.QUEUED: "Reading the screen…",
            Reading.TIMEOUT: "The screen took too long to read. Type the code.",
            Reading.BUSY: "The server is busy reading other photos. Type the code.",
            Reading.UNAVAILABLE: "Reading the screen is not available on this server. Type the code.",
            Reading.FAILED: "The photo could not be read. Type the code.",
        }.get(self.reading, "")


class IssueEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", "Reported"
        STATUS_CHANGED = "status_changed", "Status changed"
        REOPENED = "reopened", "Reopened"
        ASSIGNED = "assigned", "Assigned"
        PRIORITY_CHANGED = "priority_changed", "Priority changed"
        RUNNABLE_CHANGED = "runnable_changed", "Machine state changed"
        REMEDY_ADDED = "remedy_added", "Remedy recorded"
        ATTACHMENT_ADDED = "attachment_added", "Attachment added"
        CODES_READ = "codes_read", "Alarm code read from a photo"
        AI_DONE = "ai_done", "AI text ready"
        AI_FAILED = "ai_failed", "AI failed"
        REMEDY_AI_DONE = "remedy_ai_done", "AI text of a remedy ready"
        REMEDY_AI_FAILED = "remedy_ai_failed", "AI failed on a remedy"
        ESCALATED = "escalated", "Escalated"
        NOTIFIED = "notified", "Notification sent"
        NOTIFY_FAILED = "notify_failed", "Notification failed"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Who is to be told about it is still to be worked out (floor/notify.py, fan_out): every event
    # starts so, whichever way it was written, and the worker clears it once the deliveries exist.
    notify_pending = models.BooleanField(default=True, editable=False)

    class Meta:
        db_table = "issues_issueevent"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["issue", "created_at"], name="event_issue_created"),
            models.Index(fields=["id"], name="event_notify_pending", condition=Q(notify_pending=True)),
        ]

    def __str__(self):
        return f"#{self.issue_id} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Every change to an issue is on its timeline, also those written beside the model's methods (a
        # photo's codes, a file, a remedy, AI text): the issue's updated_at follows, so that a system
        # syncing what changed (the API's updated_since) sees them too. Its version stays: nobody's view
        # of its state is stale by them. (The model's methods save the issue with their events.)
        now = timezone.now()
        Issue.objects.filter(pk=self.issue_id, updated_at__lt=now).update(updated_at=now)

    @property
    def summary(self):
        """One line for the timeline."""
        Kind = IssueEvent.Kind
        status = dict(Status.choices)
        match self.kind:
            case Kind.STATUS_CHANGED:
                old, new = status.get(self.from_value, self.from_value), status.get(self.to_value, self.to_value)
                return f"Status: {old} → {new}"
            case Kind.REOPENED:
                return f"Reopened (was {status.get(self.from_value, self.from_value).lower()})"
            case Kind.ASSIGNED:
                return f"Assigned to {self.to_value}" if self.to_value else "Unassigned"
            case Kind.PRIORITY_CHANGED:
                return f"Priority: {self.from_value} → {self.to_value}"
            case Kind.RUNNABLE_CHANGED:
                return "Machine running again" if self.to_value == "running" else "Machine stopped"
            case Kind.CODES_READ:
                return f"Alarm code read from the photo: {self.to_value}"
            case Kind.AI_DONE:
                return f"AI title: {self.to_value}"
            case Kind.AI_FAILED:
                return f"AI failed: {self.to_value}"
            case Kind.REMEDY_AI_DONE:
                return f"Remedy rewritten by AI: {self.to_value}"
            case Kind.REMEDY_AI_FAILED:
                return f"AI failed on a remedy: {self.to_value}"
            case Kind.ESCALATED:
                return f"Escalated: {self.to_value}"
            case Kind.NOTIFIED:
                return f"Told {self.to_value}"
            case Kind.NOTIFY_FAILED:
                return f"Could not tell {self.to_value}"
        return self.get_kind_display()


# --- The API's own records --------------------------------------------------------------------------
class APIKey(models.Model):
    """A key a plant system (an MES, a scheduling board, a script on a machine PC) calls the API with.

    Each key acts as an account of its own, made with it: the account belongs to the key's role (its
    group, floor/roles.py), so the key may do what a person of that role may do on the pages and no
    more, and what it changes is on the timeline under the key's name. The account cannot sign in on
    the pages, and is never offered as someone to assign issues to.

    Only a hash of the key is stored; the key itself is shown once, when it is made (`issue`). A key
    looks like `mlk_<prefix>_<secret>`; the prefix, stored in the clear, names it in the admin.
    """

    ROLES = [(roles.OPERATOR, "Operator"), (roles.MAINTENANCE, "Maintenance"), (roles.MANAGER, "Manager")]
    PREFIX = "mlk_"

    name = models.CharField(max_length=100, unique=True,
                            help_text="Which system calls with this key, e.g. “MES line 2”.")
    role = models.CharField(max_length=20, choices=ROLES)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_key",
                                editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    # last_used_at is written at most this often per key: not a write on every call.
    LAST_USED_RESOLUTION = timedelta(minutes=1)

    class Meta:
        db_table = "issues_apikey"
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        return self.revoked_at is None

    @staticmethod
    def _hash(raw):
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, *, name, role, by=None):
        """Make a key; returns (APIKey, the key itself), the only time the key is seen."""
        from django.contrib.auth import get_user_model

        prefix = secrets.token_hex(4)
        raw = f"{cls.PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        with transaction.atomic():
            user = get_user_model()(username=f"api-key-{prefix}", first_name=name[:150])
            user.set_unusable_password()
            user.save()
            key = cls.objects.create(name=name, role=role, prefix=prefix, key_hash=cls._hash(raw), user=user,
                                     created_by=by)
            key._sync_account()
        return key, raw

    @classmethod
    def authenticate(cls, raw):
        """The active key `raw` is, or None. Records when it was last used."""
        if not raw.startswith(cls.PREFIX) or raw.count("_") < 2:
            return None
        prefix = raw[len(cls.PREFIX):].split("_", 1)[0]
        key = cls.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
        if key is None or not hmac.compare_digest(key.key_hash, cls._hash(raw)) or not key.user.is_active:
            return None
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at >= cls.LAST_USED_RESOLUTION:
            cls.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return key

    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._sync_account()

    def revoke(self):
        """The key stops working at once, for good; its history keeps its name."""
        with transaction.atomic():
            type(self).objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
            self.refresh_from_db(fields=["revoked_at"])
            self._sync_account()

    def _sync_account(self):
        """The key's account follows the key: its name, its role's group, active while the key is."""
        user = self.user
        user.first_name = self.name[:150]
        user.is_active = self.is_active
        user.save(update_fields=["first_name", "is_active"])
        user.groups.set([Group.objects.get_or_create(name=self.role)[0]])


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an Idempotency-Key, kept for KEEP so that a repeat (a
    machine retrying after a lost answer) gets that answer instead of doing the work again."""

    KEEP = timedelta(days=7)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # What the request asked for (method, path and body); the same key with other contents is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "issues_idempotentrequest"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_once")]
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_created")]

    def __str__(self):
        return self.key


# --- Who hears what (floor/notify.py works it out, floor/channels.py sends) ---------------------------
class Notice(models.TextChoices):
    """What a person can be told about."""

    NEW_ISSUE = "new_issue", "New issue"
    MACHINE_DOWN = "machine_down", "Machine down"
    ASSIGNED = "assigned", "Issue assigned to me"
    REMEDY = "remedy", "Remedy recorded"
    RESOLVED = "resolved", "Issue resolved"
    AI_FAILED = "ai_failed", "AI summary failed"
    ESCALATED = "escalated", "Machine down and nobody answering (escalation)"
    DAILY_SUMMARY = "daily_summary", "Daily summary"
    TEST = "test", "Test message"

    @classmethod
    def subscribable(cls):
        """The choices a person subscribes to: all but the test message."""
        return [(value, label) for value, label in cls.choices if value != cls.TEST]


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook (signed JSON)"
    TEAMS = "teams", "Microsoft Teams (workflow webhook)"
    SLACK = "slack", "Slack-compatible incoming webhook"
    NTFY = "ntfy", "ntfy topic"


WEBHOOK_CHANNELS = (Channel.WEBHOOK, Channel.TEAMS, Channel.SLACK, Channel.NTFY)


def new_webhook_secret():
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Subscription(models.Model):
    """What one person wants to hear, where: the notices, the departments or machines (none: all), and
    the channel (their e-mail address, or a webhook URL). A person with no subscription at all hears
    their role's defaults (floor/notify.py, DEFAULTS); one of their own, even an inactive one, replaces
    them.

    A webhook's secret signs every message the Standard Webhooks way; it is shown once, when it is made
    or rotated (`rotate_secret`), and the previous one keeps signing beside it for ROTATION_OVERLAP so the
    receiver can switch over."""

    ROTATION_OVERLAP = timedelta(hours=24)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    name = models.CharField(max_length=100, blank=True, help_text="What it is for, e.g. “Teams: maintenance hall 2”.")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    notices = models.JSONField(default=list, help_text="What to tell: values of Notice.")
    departments = models.ManyToManyField(Department, blank=True, db_constraint=False, related_name="+",
                                         help_text="Only these departments (none: every department).")
    machines = models.ManyToManyField(Machine, blank=True, db_constraint=False, related_name="+",
                                      help_text="And these machines (none: as the departments say).")
    url = models.URLField(max_length=500, blank=True, help_text="Where a webhook posts to.")
    secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "issues_subscription"
        ordering = ["user_id", "id"]

    def __str__(self):
        return self.name or f"{self.get_channel_display()} for {formats.person(self.user)}"

    @property
    def is_webhook(self):
        return self.channel in WEBHOOK_CHANNELS

    def covers(self, machine_id, department_id):
        """Whether a notice about `machine_id` (in `department_id`) is for this subscription. Reads the
        prefetched machines and departments."""
        machine_ids = {m.pk for m in self.machines.all()}
        department_ids = {d.pk for d in self.departments.all()}
        if not machine_ids and not department_ids:
            return True
        return machine_id in machine_ids or (department_id is not None and department_id in department_ids)

    def problems(self, *, yours=True):
        """What keeps this subscription from reaching its person, as {field name: message}: a webhook needs
        a URL this server may post to (floor.channels.check_destination, which looks up the name); e-mail
        takes no URL and needs the person's address, which only an administrator sets. `yours`: the
        person reads it themselves."""
        from floor import channels

        if self.is_webhook:
            if not self.url:
                return {"url": "A webhook needs the URL to post to."}
            try:
                channels.check_destination(self.url)
            except channels.Refused as e:
                return {"url": str(e)}
            return {}
        problems = {}
        if self.url:
            problems["url"] = "E-mail goes to an address, not to a URL: leave the URL empty, or choose a webhook."
        if self.user_id is not None and not self.user.email:
            who = "You have" if yours else f"{formats.person(self.user)} has"
            problems["channel"] = (f"{who} no e-mail address in Machine Logbook, so e-mail cannot arrive. An "
                                   "administrator sets it in the admin (Users); until then choose a webhook.")
        return problems

    def set_active(self, active):
        """Pause (False) or resume (True) it."""
        type(self).objects.filter(pk=self.pk).update(active=active)
        self.active = active

    def signing_secrets(self, now=None):
        """The secrets a message is signed with now: the current one, and the previous one while the
        rotation overlap lasts."""
        now = now or timezone.now()
        keys = [self.secret] if self.secret else []
        if self.previous_secret and self.previous_secret_until and self.previous_secret_until > now:
            keys.append(self.previous_secret)
        return keys

    def save(self, *args, **kwargs):
        if self.is_webhook and not self.secret:
            self.secret = new_webhook_secret()
        super().save(*args, **kwargs)

    def rotate_secret(self):
        """A new secret; the old one signs beside it for ROTATION_OVERLAP. Returns the new secret, the
        only time it is seen."""
        with transaction.atomic():
            fresh = type(self).objects.select_for_update().get(pk=self.pk)
            fresh.previous_secret = fresh.secret
            fresh.previous_secret_until = timezone.now() + self.ROTATION_OVERLAP
            fresh.secret = new_webhook_secret()
            fresh.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        self.secret, self.previous_secret = fresh.secret, fresh.previous_secret
        self.previous_secret_until = fresh.previous_secret_until
        return fresh.secret


class EscalationRule(models.Model):
    """How long a department's stopped machine may wait unanswered (nobody assigned, still open) before
    the managers are told, and how long after that they are told again. Departments without a rule
    follow NOTIFY_ESCALATE_MINUTES and NOTIFY_ESCALATE_AGAIN_MINUTES; 0 minutes: never."""

    department = models.OneToOneField(Department, on_delete=models.DO_NOTHING, db_constraint=False,
                                      related_name="+")
    first_after_minutes = models.PositiveIntegerField(default=15)
    again_after_minutes = models.PositiveIntegerField(default=15)

    class Meta:
        db_table = "issues_escalationrule"

    def __str__(self):
        return f"Escalation in {self.department}"


class Delivery(models.Model):
    """One message to one channel about one thing (an event of an issue, a day's summary): the unit that
    is sent, retried, logged and redelivered. `key` names what and where, so the same message is never
    made twice however often the worker looks (a restart, a second worker). Its facts (`payload`) are
    frozen when it is made: a retry or a redelivery says what was true then."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"
        FOLDED = "folded", "Folded into an earlier message"

    key = models.CharField(max_length=200, unique=True, editable=False)
    notice = models.CharField(max_length=20, choices=Notice.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Who it is for (e-mail), or whose subscription it came from (webhooks).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="deliveries")
    event = models.ForeignKey(IssueEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    # An e-mail address, or the webhook's URL as it was when the message was made.
    target = models.CharField(max_length=500)
    # The same id on every try and on a redelivery: receivers drop what they have seen (webhook-id,
    # and the mail's Message-ID).
    message_id = models.UUIDField(default=uuid.uuid4, editable=False)
    payload = models.JSONField(default=dict)
    # Repeats of one alarm on one machine within NOTIFY_FOLD_MINUTES: one message, and a count on it.
    fold_key = models.CharField(max_length=200, blank=True)
    folded_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    folded_count = models.PositiveIntegerField(default=0)

    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # When a worker last took it up, and when its task was last queued (a lost task is queued again).
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Failed tries are repeated until then (about a day; a redelivery starts another day).
    retry_until = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "issues_delivery"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due",
                         condition=Q(state__in=["pending", "sending"])),
            models.Index(fields=["fold_key", "created_at"], name="delivery_fold",
                         condition=~Q(fold_key="")),
            models.Index(fields=["subscription", "-created_at"], name="delivery_subscription"),
            models.Index(fields=["user", "-created_at"], name="delivery_user"),
        ]

    def __str__(self):
        return f"{self.get_notice_display()} to {self.target_display}"

    @property
    def target_display(self):
        """Where it went, without what a URL may carry as a secret (Teams' sig=, a token in the path)."""
        if self.channel == Channel.EMAIL:
            return self.target
        from urllib.parse import urlsplit

        parts = urlsplit(self.target)
        return f"{self.get_channel_display()} at {parts.hostname or '?'}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "issues_deliveryattempt"
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"{'ok' if self.ok else 'failed'} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class ChannelHealth(models.Model):
    """How one destination (the SMTP server, one webhook URL) has answered lately. While it fails, one
    message at a time tries it (at `retry_at`) and the others wait: a dead or hanging endpoint costs one
    timeout per try, not one per message, and never holds up the others."""

    key = models.CharField(max_length=100, unique=True)
    failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "issues_channelhealth"
        verbose_name_plural = "channel health"

    def __str__(self):
        return self.key
