"""What maintenance did the last times an alarm came up: the "seen before" panel."""

import re

from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects

from floor.models import Issue, IssueAlarmCode, Remedy
from floor.search import similar as search_similar

LIMIT = 5


def seen_before(*, codes, machine=None, exclude=None, limit=LIMIT):
    """Earlier issues with any of `codes`, newest first: those on `machine`, then those elsewhere.

    Each issue comes with `last_remedy` (the remedy recorded last, or None). Three queries whatever
    the number of issues.
    """
    if not codes:
        return {"here": [], "elsewhere": []}
    # A subquery instead of a join keeps one row per issue without DISTINCT over the whole table.
    matching = Issue.objects.filter(
        pk__in=IssueAlarmCode.objects.filter(code__in=list(codes)).values("issue_id")
    ).exclude(pk=exclude)
    base = matching.select_related("machine").order_by("-reported_at", "-id")
    here = list(base.filter(machine=machine)[:limit]) if machine else []
    elsewhere = list((base.exclude(machine=machine) if machine else base)[:limit])
    issues = here + elsewhere
    _attach_last_remedies(issues)
    return {"here": here, "elsewhere": elsewhere}


def _attach_last_remedies(issues):
    prefetch_related_objects(
        issues,
        Prefetch("remedies", queryset=Remedy.objects.order_by("-performed_at", "-id"), to_attr="remedies_newest"),
    )
    for issue in issues:
        issue.last_remedy = issue.remedies_newest[0] if issue.remedies_newest else None


def similar_issues(issue, *, limit=LIMIT):
    """Other issues whose text is like this one's (on PostgreSQL, by full-text rank over the search
    documents; SQLite has no ranking, so there it finds none), not counting those that share an alarm
    code (they are "seen before" already). Each with `last_remedy`."""
    if connection.vendor != "postgresql":
        return []
    words = [w for w in re.findall(r"[^\W_]{4,}", issue.description.lower()) if w not in _COMMON][:12]
    if not words:
        return []
    similar = list(
        search_similar(Issue.objects.exclude(pk=issue.pk), words)
        .exclude(pk__in=IssueAlarmCode.objects.filter(
            code__in=issue.alarm_codes.values("code")).values("issue_id"))
        .select_related("machine")[:limit]
    )
    _attach_last_remedies(similar)
    return similar


# Words too common in a machine shop's reports to say that two of them are alike.
_COMMON = {"machine", "again", "after", "with", "from", "when", "that", "this", "there", "have", "still",
           "does", "wont", "will", "stopped", "alarm", "error"}
