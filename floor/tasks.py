"""
Background work, run by the task worker (`manage.py db_worker`), never inside a web request.

Each task reads the current row, asks floor/ai.py, and stores the answer or the reason it failed.
Whatever goes wrong inside a task ends as a recorded failure with its reason: an exception that
escaped would leave the text pending, and the page saying "Summarising…", until the pending limit.
"""

import logging
import traceback

from django.db import connection, transaction
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from floor import ai
from floor.models import AIState, Issue, Remedy
from floor.search import refresh_search_documents

log = logging.getLogger(__name__)

# An unexpected error's own words are kept short on the issue page; the worker's log has the rest.
UNEXPECTED_MAX = 300


def enqueue_after_commit(task_, *args):
    """Queue a task once the surrounding transaction has committed, so the worker finds the row. A
    queue that cannot be written is logged, not raised: the issue itself is already safe."""
    transaction.on_commit(lambda: task_.enqueue(*args), robust=True)


def request_ai_text(row):
    """Ask for the AI text of an issue or a remedy in the background (or mark AI off)."""
    if not ai.is_enabled():
        row.record_ai_off()
        return
    row.start_ai()
    enqueue_after_commit(AI_TASKS[type(row)], row.pk)


def _facts(issue):
    """What the model is told about an issue besides the text: never people's names."""
    return {
        "category": issue.get_category_display(),
        "alarm_codes": list(issue.alarm_codes.values_list("code", flat=True)),
        "machine_name": issue.machine.name if issue.machine else "",
    }


def _check_connection():
    """The model may have taken a minute, and the database restarted meanwhile: look at the
    connection as Django does between two requests, so the text is written on a live one. Only outside
    a transaction, where dropping the connection loses nothing."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _unexpected(error):
    words = ai.clean(f"{type(error).__name__}: {error}")[:UNEXPECTED_MAX]
    return f"Unexpected error while writing the text ({words}). Try again; the worker's log has the details."


def _write_ai_text(rows, pk, ask):
    """The one shape of every AI task: the row if its text is still wanted, the model asked (`ask(row)`
    returns the AI's columns), then the text or the reason it failed stored, and the issue's search
    document refreshed with what was written."""
    row = rows.filter(pk=pk).first()
    if row is None or row.ai_state != AIState.PENDING:
        return  # deleted, or already answered by an earlier run
    if not ai.is_enabled():
        row.record_ai_off()
        return
    if not row.mark_ai_started():
        return  # given up on while it waited in the queue
    what = f"{row._meta.verbose_name} {row.pk}"
    try:
        try:
            text = ask(row)
        finally:
            _check_connection()
        row.record_ai_text(**text)
    except ai.AIError as e:
        log.warning("AI text for %s failed: %s", what, e)
        row.record_ai_failure(str(e))
        return
    except Exception as e:
        # If the database itself is gone this raises too; the pending limit then catches the text.
        log.exception("AI text for %s failed unexpectedly", what)
        row.record_ai_failure(_unexpected(e))
        return
    refresh_search_documents([row.ai_issue_id])


def _issue_text(issue):
    text = ai.summarise_issue(description=issue.description, **_facts(issue))
    return {"ai_title": text.title, "ai_summary": text.summary}


def _remedy_text(remedy):
    return {"ai_text": ai.polish_remedy(text=remedy.description, **_facts(remedy.issue))}


@task
def summarise_issue(issue_id):
    """An issue's AI title and summary."""
    _write_ai_text(Issue.objects.select_related("machine"), issue_id, _issue_text)


@task
def polish_remedy(remedy_id):
    """A remedy's text, rewritten by AI."""
    _write_ai_text(Remedy.objects.select_related("issue__machine"), remedy_id, _remedy_text)


@task(queue_name="notifications")
def deliver_task(delivery_id):
    """One notification sent (floor/notify.py, deliver), on the notification lane's own queue: a slow
    AI answer never holds up a stopped machine's message."""
    from floor import notify

    return notify.deliver(delivery_id)


# Each kind of AI text and the task that writes it. The task names stay as they are: rows of the queue
# name their task by its path.
AI_TASKS = {Issue: summarise_issue, Remedy: polish_remedy}


class WorkerStopped(Exception):
    """What a task row records when its worker stopped in the middle of it."""


def fail_stalled_ai():
    """Give up on AI text that no worker is writing any more, for the worker's rounds: pending text
    past ai.pending_limit() becomes failed with its reason, and the queue's rows of AI tasks (and of
    notifications, whose deliveries floor/notify.py queues again itself) still marked running that long
    (their worker was killed: django-tasks-db never looks at them again) become failed too. Returns how
    many issues, remedies and task rows were given up on."""
    cutoff = timezone.now() - ai.pending_limit()
    error = WorkerStopped("The worker running this task stopped before it finished (still running past the AI "
                          "pending limit).")
    tasks = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=cutoff,
        task_path__in=[t.module_path for t in (*AI_TASKS.values(), deliver_task)],
    ).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        return_value=None,
        exception_class_path=f"{__name__}.{WorkerStopped.__qualname__}",
        traceback="".join(traceback.format_exception_only(error)),
    )
    issues, remedies = Issue.fail_overdue_ai(), Remedy.fail_overdue_ai()
    if tasks or issues or remedies:
        log.warning("Gave up on AI text no worker was writing: %s issues, %s remedies, %s task rows",
                    issues, remedies, tasks)
    return issues + remedies + tasks
