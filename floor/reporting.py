"""Reporting an issue and recording a remedy: the one way each comes into being."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from floor import ai, locks
from floor.ocr import MAX_CODE_LENGTH, normalise_code, parse_typed_codes
from floor.models import (
    OPEN_STATUSES,
    Attachment,
    Category,
    InvalidTransition,
    Issue,
    IssueAlarmCode,
    IssueEvent,
    Occurrence,
    Priority,
    Remedy,
    Status,
)
from floor.search import refresh_search_document
from floor.tasks import request_ai_text
from floor.uploads import delete_attachment, delete_files, store_attachment

# One limit for every title, typed or written by AI: both show in the same places (see floor/ai.py).
TITLE_MAX = ai.TITLE_MAX


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
    codes = _normalised(alarm_codes)
    if not is_runnable:
        machine_stopped_at = machine_stopped_at or reported_at
    description = (description or "").strip()

    with transaction.atomic():
        if submission_token:
            # The form's photos may be arriving or being read right now (floor/uploads.py and
            # floor/screen_reading.py take the same lock): each then sees the other's work.
            locks.hold(f"form:{submission_token}")
            photos = Attachment.objects.filter(pending_token=submission_token, issue__isnull=True)
            if not codes:
                # Nothing typed: the codes read from the form's photos (the operator sent before tapping one).
                codes = _normalised((found["code"], found.get("family", ""))
                                    for photo in photos for found in photo.ocr_alarm_codes)
        issue = Issue.objects.create(
            machine=machine,
            category=category,
            description=description,
            title=make_title(category=category, alarm_codes=[c for c, _ in codes], description=description),
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
            # The token stays on the photos: a resend of the same photo is then known (floor/uploads.py).
            photos.update(issue=issue)
        refresh_search_document(issue)
        request_ai_text(issue)
    return issue


def _normalised(alarm_codes):
    """(code, family) pairs, normalised, each code once, in order; items are strings or pairs.

    A string is read as the alarm-code field reads what a person typed (parse_typed_codes), so a report
    made in code keeps the codes the form would; a pair is one code read from a photo, with its family.
    A code too long to store is a caller's mistake, refused here rather than by the database.
    """
    codes = []
    for item in alarm_codes:
        if isinstance(item, str):
            typed = parse_typed_codes(item)
            found, too_long = [(code, "") for code in typed.codes], typed.too_long
        else:
            code, family = item
            code = normalise_code(code)
            found, too_long = ([], [code]) if len(code) > MAX_CODE_LENGTH else ([(code, family)], [])
        if too_long:
            raise ValueError(f"An alarm code is at most {MAX_CODE_LENGTH} characters: {too_long[0]!r}")
        for code, family in found:
            if code and code not in [c for c, _ in codes]:
                codes.append((code, family))
    return codes


# An identical report from the same person on the same machine within this time is the same report sent
# again: back and Send, a reload and Send, or Send again after the Wi-Fi dropped the answer. Each of those
# gives the form a new token, so the token alone cannot tell.
DUPLICATE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Submitted:
    issue: Issue
    created: bool  # False: this report had been sent already, and `issue` is the one it made


# A report kept on a tablet while the network was down carries how long it waited: its time is when
# the operator pressed Send, within this limit (older is taken as a tablet clock gone wrong).
MAX_WAITED = timedelta(days=7)


def sent_at(waited_seconds):
    """When a report that waited `waited_seconds` on the tablet was sent by the operator: the server's
    clock less the wait, so that a tablet's clock set wrong does not matter."""
    waited = timedelta(seconds=max(0, waited_seconds or 0))
    return timezone.now() - min(waited, MAX_WAITED)


def _sent_already(token):
    """The issue a form's token made or was added to, or None."""
    issue = Issue.objects.filter(submission_token=token).first()
    if issue:
        return issue
    occurrence = Occurrence.objects.filter(submission_token=token).select_related("issue").first()
    return occurrence.issue if occurrence else None


def submit_report(*, machine, category, description, alarm_codes, is_runnable, by, reporter_name, token,
                  reported_at=None):
    """A report sent from a floor form: the issue it makes, or the one it already made.

    The same form (its token) never makes two issues, and neither does the same report sent again from
    a fresh copy of the form within DUPLICATE_WINDOW; the photos of such a copy go onto the issue, each
    file once. Anything that differs (another category, a word more) is a new report.
    """
    with transaction.atomic():
        locks.hold(f"form:{token}")
        existing = _sent_already(token)
        if existing:
            return Submitted(existing, created=False)
        # One machine's reports one at a time, so two copies of one report sent at once are seen too.
        locks.hold(f"machine-reports:{machine.pk}")
        duplicate = _same_report(machine=machine, category=category, description=description,
                                 alarm_codes=alarm_codes, is_runnable=is_runnable, by=by, reporter_name=reporter_name)
        if duplicate:
            _move_photos(token=token, issue=duplicate)
            return Submitted(duplicate, created=False)
        issue = report_issue(machine=machine, category=category, description=description, alarm_codes=alarm_codes,
                             is_runnable=is_runnable, by=by, reporter_name=reporter_name, submission_token=token,
                             reported_at=reported_at)
        return Submitted(issue, created=True)


def add_report(*, issue, description, stopped, by, reporter_name, token, reported_at=None):
    """A report sent from a floor form onto the open issue of the same problem instead of a new issue:
    an Occurrence ("happened again") with the note, the form's photos onto the issue (each file once,
    their codes read as any photo's), the machine marked down when the reporter said it stopped.

    The same form sent again adds nothing (its token); the Submitted names the issue either way.
    """
    with transaction.atomic():
        locks.hold(f"form:{token}")
        existing = _sent_already(token)
        if existing:
            return Submitted(existing, created=False)
        issue.record_occurrence(by=by, reporter_name=reporter_name, note=description, stopped=stopped,
                                at=reported_at, token=token)
        _move_photos(token=token, issue=issue)
        refresh_search_document(issue)
        return Submitted(issue, created=True)


def _same_report(*, machine, category, description, alarm_codes, is_runnable, by, reporter_name):
    candidates = Issue.objects.filter(
        machine=machine, category=category, is_runnable=is_runnable, reported_by=by,
        reporter_name=(reporter_name or "").strip(), description=(description or "").strip(),
        status__in=OPEN_STATUSES, reported_at__gte=timezone.now() - DUPLICATE_WINDOW,
    ).prefetch_related("alarm_codes").order_by("-reported_at")
    typed = {code for code, _ in _normalised(alarm_codes)}
    for issue in candidates:
        if not typed or {c.code for c in issue.alarm_codes.all()} == typed:
            return issue
    return None


def _move_photos(*, token, issue):
    """The pending photos of a form go onto `issue`, except files the issue already has."""
    have = set(issue.attachments.exclude(sha256=None).values_list("sha256", flat=True))
    for photo in Attachment.objects.filter(pending_token=token, issue__isnull=True):
        if photo.sha256 in have:
            delete_attachment(photo)
            continue
        have.add(photo.sha256)
        photo.issue = issue
        photo.save(update_fields=["issue"])
        photo.record_added()
        photo_read(issue=issue, attachment=photo)


def photo_read(*, issue, attachment):
    """A photo of `issue` was read, or came onto it read already: the text read joins what the desk's
    search looks in, and the photo's alarm codes become the issue's when it has none yet (the report
    went out before the photo was read, or without the code typed). Codes someone typed are never
    overruled."""
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue.pk)
        _take_codes(issue, attachment)
        refresh_search_document(issue)


def _take_codes(issue, attachment):
    if issue.alarm_codes.exists():
        return
    codes = _normalised((found["code"], found.get("family", "")) for found in attachment.ocr_alarm_codes)
    if not codes:
        return
    IssueAlarmCode.objects.bulk_create(IssueAlarmCode(issue=issue, code=c, family=f) for c, f in codes)
    if issue.title == make_title(category=issue.category, description=issue.description):
        Issue.objects.filter(pk=issue.pk).update(
            title=make_title(category=issue.category, alarm_codes=[c for c, _ in codes],
                             description=issue.description))
    IssueEvent.objects.create(issue=issue, kind=IssueEvent.Kind.CODES_READ,
                              to_value=", ".join(c for c, _ in codes)[:200])


class RemedyNeeded(InvalidTransition):
    """Resolving an issue nobody has recorded a remedy for."""

    def __init__(self):
        super().__init__("Record what fixed it first: a remedy, marked as the fix.")


def change_status(issue, status, *, by, expected_version=None, machine_runs=True):
    """Move `issue` to `status` as a person asks for it (the desk, the API): an issue is resolved only
    with a remedy on record, so "what fixed it" is never missing from its history. Resolving an issue
    whose machine is stopped records it running again unless `machine_runs` is False (Issue.set_status)."""
    if Status(status) == Status.RESOLVED and issue.status != Status.RESOLVED and not issue.remedies.exists():
        raise RemedyNeeded
    return issue.set_status(status, by=by, expected_version=expected_version, machine_runs=machine_runs)


def record_remedy(*, issue, description, by, minutes_spent=None, parts_used="", performed_at=None, files=(),
                  resolve=False, expected_version=None, machine_runs=True, token=None):
    """Record what maintenance did, with its photos or video (`files`, checked uploads) and its timeline
    event, resolve the issue when it fixed it (at `expected_version`, when given; its stopped machine then
    recorded running again unless `machine_runs` is False), and ask for polished
    text in the background. All of it or nothing: on StaleIssue or InvalidTransition no row and no file
    is left behind. Raises UploadRejected for a file the checks refuse.

    With the `token` of the form that sent it, the same form sent again records nothing more and returns
    the remedy it recorded."""
    stored = []
    try:
        with transaction.atomic():
            if token:
                locks.hold(f"remedy-form:{token}")
                done = Remedy.objects.filter(submission_token=token).first()
                if done:
                    return done
            remedy = Remedy.objects.create(
                submission_token=token,
                issue=issue,
                description=description.strip(),
                performed_by=by,
                performed_at=performed_at or timezone.now(),
                minutes_spent=minutes_spent,
                parts_used=(parts_used or "").strip(),
            )
            IssueEvent.objects.create(issue=issue, kind=IssueEvent.Kind.REMEDY_ADDED, actor=by,
                                      to_value=description.strip()[:200])
            for upload in files:
                stored.append(store_attachment(upload=upload, by=by, issue=issue, remedy=remedy))
            if resolve and issue.status != Status.RESOLVED:
                issue.set_status(Status.RESOLVED, by=by, expected_version=expected_version, machine_runs=machine_runs)
            refresh_search_document(issue)
            request_ai_text(remedy)
    except BaseException:
        for attachment in stored:  # their rows were rolled back; the files must go too
            delete_files(attachment)
        raise
    return remedy
