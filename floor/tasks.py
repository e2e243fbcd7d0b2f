"""
Background work, run by the task worker (`manage.py db_worker`), never inside a web request.

Each task reads the current row, asks floor/ai.py, and stores the answer or the reason it failed.
"""

import logging

from django.db import transaction
from django.tasks import task

from floor import ai
from floor.models import AIState, Issue, Remedy
from floor.search import refresh_search_document

log = logging.getLogger(__name__)


def enqueue_after_commit(task_, *args):
    """Queue a task once the surrounding transaction has committed, so the worker finds the row. A
    queue that cannot be written is logged, not raised: the issue itself is already safe."""
    transaction.on_commit(lambda: task_.enqueue(*args), robust=True)


def request_issue_text(issue):
    """Ask for an issue's AI title and summary in the background (or mark AI off)."""
    if not ai.is_enabled():
        issue.record_ai_off()
        return
    issue.start_ai()
    enqueue_after_commit(summarise_issue, issue.pk)


def request_remedy_text(remedy):
    if not ai.is_enabled():
        remedy.record_ai_off()
        return
    remedy.start_ai()
    enqueue_after_commit(polish_remedy, remedy.pk)


def _facts(issue):
    """What the model is told about an issue besides the text: never people's names."""
    return {
        "category": issue.get_category_display(),
        "alarm_codes": list(issue.alarm_codes.values_list("code", flat=True)),
        "machine_name": issue.machine.name if issue.machine else "",
    }


@task
def summarise_issue(issue_id):
    issue = Issue.objects.select_related("machine").filter(pk=issue_id).first()
    if issue is None or issue.ai_state != AIState.PENDING:
        return  # deleted, or already answered by an earlier run
    if not ai.is_enabled():
        issue.record_ai_off()
        return
    try:
        text = ai.summarise_issue(description=issue.description, **_facts(issue))
    except ai.AIError as e:
        log.warning("AI text for issue #%s failed: %s", issue_id, e)
        issue.record_ai_failure(str(e))
    else:
        issue.record_ai_text(title=text.title, summary=text.summary)
        refresh_search_document(issue)


@task
def polish_remedy(remedy_id):
    remedy = Remedy.objects.select_related("issue__machine").filter(pk=remedy_id).first()
    if remedy is None or remedy.ai_state != AIState.PENDING:
        return
    if not ai.is_enabled():
        remedy.record_ai_off()
        return
    issue = remedy.issue
    try:
        text = ai.polish_remedy(text=remedy.description, **_facts(issue))
    except ai.AIError as e:
        log.warning("AI text for remedy %s failed: %s", remedy_id, e)
        remedy.record_ai_failure(str(e))
    else:
        remedy.record_ai_text(text)
        refresh_search_document(issue)
