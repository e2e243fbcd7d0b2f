"""Which issues on the desk are news: a machine that has just gone down, and nobody has taken it up yet.

The desk marks their rows ("New · machine down"), and the page beeps (static/js/alerts.js) when its
refresh brings one it has not shown before.
"""

from datetime import timedelta

from django.utils import timezone

from floor.models import Status

# A stop older than this is no longer news: whoever watches the desk has seen it by now, and a mark on
# every row of a bad morning would mark nothing.
NEW_MACHINE_DOWN = timedelta(minutes=30)


def is_new_machine_down(issue, now=None):
    """Whether `issue` is a new machine-down issue: its machine is stopped, and stopped within
    NEW_MACHINE_DOWN of `now`, and nobody has acknowledged it yet (still "open" and assigned to nobody;
    taking it or starting work on it is the acknowledgement)."""
    if issue.is_runnable or issue.status != Status.OPEN or issue.assigned_to_id is not None:
        return False
    if issue.machine_stopped_at is None:
        return False
    return issue.machine_stopped_at >= (now or timezone.now()) - NEW_MACHINE_DOWN
