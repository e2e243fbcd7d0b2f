"""What maintenance did the last times an alarm came up: the "seen before" panel."""

from django.db.models import Prefetch, prefetch_related_objects

from floor.models import Issue, IssueAlarmCode, Remedy

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
