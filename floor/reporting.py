"""Reporting an issue and recording a remedy: the one way each comes into being."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from floor.alarm_codes import normalise_code
from floor.models import AIState, Attachment, Category, Issue, IssueAlarmCode, IssueEvent, Priority, Remedy
from floor.search import refresh_search_document
from floor.tasks import enqueue_after_commit, request_remedy_text, summarise_issue

TITLE_MAX = 80


def make_title(*, category, alarm_codes=(), description=""):
    """A plain title when no AI title exists: category, first alarm code, first words of the text.

    >>> make_title(category="alarm", alarm_codes=["SV0401"], description="spdl hot again")
    'Alarm SV0401: spdl hot again'
    """
    head = Category(category).label
    words = " ".join((description or "").split())
    # Operators often type the code into the text too; name it once.
    if alarm_codes and alarm_codes[0].upper() not in words.upper():
        head += f" {alarm_codes[0]}"
    if not words:
        return head[:TITLE_MAX]
    title = f"{head}: {words}"
    if len(title) <= TITLE_MAX:
        return title
    cut = title[: TITLE_MAX - 1].rsplit(" ", 1)[0]
    return cut + "…"


def report_issue(
    *,
    machine,
    category,
    description="",
    alarm_codes=(),
    is_runnable=True,
    by=None,
    reporter_name="",
    priority=Priority.NORMAL,
    reported_at=None,
    machine_stopped_at=None,
    submission_token=None,
):
    """Create an issue with its alarm codes, its first timeline event and the photos uploaded with
    its form (pending attachments with the submission token), in one transaction.

    A machine that does not run is taken to have stopped when the issue was reported, unless the
    reporter said otherwise. `alarm_codes` holds strings or (code, family) pairs. A second call with
    the same submission_token raises IntegrityError (the caller finds the first issue).
    """
    reported_at = reported_at or timezone.now()
    codes = []
    for item in alarm_codes:
        code, family = (item, "") if isinstance(item, str) else item
        code = normalise_code(code)
        if code and code not in [c for c, _ in codes]:
            codes.append((code, family))
    if not is_runnable:
        machine_stopped_at = machine_stopped_at or reported_at
    description = (description or "").strip()

    with transaction.atomic():
        issue = Issue.objects.create(
            machine=machine,
            category=category,
            description=description,
            title=make_title(category=category, alarm_codes=[c for c, _ in codes], description=description),
            ai_state=AIState.PENDING if settings.AI_ENABLED else AIState.OFF,
            is_runnable=is_runnable,
            priority=priority,
            reported_by=by,
            reporter_name=reporter_name.strip(),
            reported_at=reported_at,
            machine_stopped_at=None if is_runnable else machine_stopped_at,
            submission_token=submission_token,
        )
        IssueAlarmCode.objects.bulk_create(
            IssueAlarmCode(issue=issue, code=code, family=family) for code, family in codes
        )
        IssueEvent.objects.create(
            issue=issue, kind=IssueEvent.Kind.CREATED, to_value=issue.status, actor=by, created_at=reported_at
        )
        if submission_token:
            Attachment.objects.filter(pending_token=submission_token, issue__isnull=True).update(
                issue=issue, pending_token=None
            )
        refresh_search_document(issue)
        if issue.ai_state == AIState.PENDING:
            enqueue_after_commit(summarise_issue, issue.pk)
    return issue


def record_remedy(*, issue, description, by, minutes_spent=None, parts_used="", performed_at=None):
    """Record what maintenance did, with its timeline event, and ask for polished text in the
    background."""
    with transaction.atomic():
        remedy = Remedy.objects.create(
            issue=issue,
            description=description.strip(),
            performed_by=by,
            performed_at=performed_at or timezone.now(),
            minutes_spent=minutes_spent,
            parts_used=(parts_used or "").strip(),
        )
        IssueEvent.objects.create(issue=issue, kind=IssueEvent.Kind.REMEDY_ADDED, actor=by,
                                  to_value=description.strip()[:200])
        refresh_search_document(issue)
        request_remedy_text(remedy)
    return remedy
