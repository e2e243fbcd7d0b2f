"""What maintenance did the last times an alarm came up: the "seen before" panel."""

import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, IntegerField, OuterRef, Prefetch, Subquery, Value, When, prefetch_related_objects

from floor.models import OPEN_STATUSES, Issue, IssueAlarmCode, Remedy
from floor.search import similar as search_similar

LIMIT = 5
# How many of the latest closed issues with the code are folded into fixes. Bounded so a code seen ten
# thousand times costs what one seen fifty times does; the counts are "of the latest FIX_WINDOW".
FIX_WINDOW = 200


@dataclass
class Fix:
    """One remedy text that closed issues with the code: the latest remedy that says it, and the issues
    it closed, newest first."""

    remedy: Remedy
    issues: list = field(default_factory=list)
    here: int = 0  # how many of them were on the machine asked about

    @property
    def count(self):
        return len(self.issues)

    @property
    def latest(self):
        return self.issues[0]


@dataclass
class SeenBefore:
    """`fixes`: remedies that closed an issue, identical texts folded into one with a count; those seen on
    the machine asked about first, then the most frequent. `unfixed`: issues with the code that nothing
    has fixed yet (still open, or closed without a remedy), this machine's first. `here` and `elsewhere`:
    every issue the two name, on the machine and elsewhere, each with its `last_remedy` and
    `on_this_machine`."""

    fixes: list
    unfixed: list
    here: list
    elsewhere: list

    def __bool__(self):
        return bool(self.fixes or self.unfixed)


def seen_before(*, codes, machine=None, exclude=None, limit=LIMIT):
    """Earlier issues with any of `codes`, as a SeenBefore: what fixed them, and apart from it, what is
    still open. Three queries whatever the history."""
    if not codes:
        return SeenBefore(fixes=[], unfixed=[], here=[], elsewhere=[])
    # A subquery instead of a join keeps one row per issue without DISTINCT over the whole table.
    matching = Issue.objects.filter(
        pk__in=IssueAlarmCode.objects.filter(code__in=list(codes)).values("issue_id")
    ).exclude(pk=exclude).select_related("machine").annotate(last_remedy_id=Subquery(
        Remedy.objects.filter(issue=OuterRef("pk")).order_by("-performed_at", "-id").values("id")[:1]))
    this_machine_first = Case(When(machine=machine, then=Value(0)), default=Value(1), output_field=IntegerField())
    closed = list(matching.exclude(status__in=OPEN_STATUSES).order_by("-reported_at", "-id")[:FIX_WINDOW])
    still_open = list(matching.filter(status__in=OPEN_STATUSES)
                      .order_by(this_machine_first, "-reported_at", "-id")[:limit])
    remedies = Remedy.objects.in_bulk([i.last_remedy_id for i in closed + still_open if i.last_remedy_id])
    for issue in closed + still_open:
        issue.last_remedy = remedies.get(issue.last_remedy_id)

    folded = {}
    for issue in closed:
        if issue.last_remedy:
            fix = folded.setdefault(_fold(issue.last_remedy.description), Fix(remedy=issue.last_remedy))
            fix.issues.append(issue)
            fix.here += machine is not None and issue.machine_id == machine.pk
    for fix in folded.values():
        fix.remedy = max((i.last_remedy for i in fix.issues), key=lambda r: (r.performed_at, r.pk))
    # Closed without any remedy (before one was required): nothing to learn from, shown with the open ones.
    closed_bare = [i for i in closed if not i.last_remedy]
    closed_bare.sort(key=lambda i: machine is None or i.machine_id != machine.pk)
    fixes = sorted(folded.values(), key=lambda f: (-f.here, -f.count, -f.latest.reported_at.timestamp()))[:limit]
    unfixed = (still_open + closed_bare)[:limit]
    shown = [fix.latest for fix in fixes] + unfixed
    for issue in shown:
        issue.on_this_machine = machine is not None and issue.machine_id == machine.pk
    on_machine = [i for i in shown if i.on_this_machine]
    return SeenBefore(fixes=fixes, unfixed=unfixed, here=on_machine,
                      elsewhere=[i for i in shown if i not in on_machine])


def _fold(text):
    """Remedy texts that say the same thing the same way: case, spacing and a closing full stop aside."""
    return " ".join(text.casefold().split()).rstrip(".!")


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
