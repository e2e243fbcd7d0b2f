"""A hand-made week of a small factory with figures worked out by hand (see the numbers in the tests).

NOW is Tuesday 10 March 2026, 12:00 UTC (the test settings' TIME_ZONE is UTC). A 7-day period is then
Wednesday 4 March 00:00 to NOW: 6.5 days = 156 hours; the previous period is 25 February to 4 March.

Machine A (Milling): i1 and i2 overlap (stopped 08:00-12:00 running again, and 10:00 until resolved at
  14:00): one stop of 6 h. i3 stopped the evening before the period and ran again at 02:00 on its first
  day: 2 h inside the period, and not a stop of the period. Downtime 8 h, 1 stop.
Machine B (Milling): i4 stopped it yesterday 06:00 and is still open: down now, 30 h so far. i6 stopped
  it 1 h on Sunday. i5 is open but the machine runs. Downtime 31 h, 2 stops.
Machine C (Turning): i9 and i10 touch (10:00-11:00 and 11:00-12:00): one stop of 2 h. i8 reported
  today, open, runs. i7 belongs to the previous period only.
"""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from floor.models import Issue, IssueAlarmCode

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOUR = 3600.0


def at(day, hour, minute=0, month=3):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


_at = at


def days_to_today():
    """The whole days from NOW's date to today's: build(shift=...) for pages, which use the real clock."""
    return timedelta(days=(timezone.localdate() - NOW.date()).days)


def issue(machine, *, reported, category="mechanical", status="resolved", stopped=None, running=None,
          resolved=None, runnable=None, codes=()):
    made = Issue.objects.create(
        machine=machine, category=category, title=f"{category} on {machine.name}", status=status,
        reported_at=reported, machine_stopped_at=stopped, machine_running_again_at=running,
        resolved_at=resolved,
        is_runnable=runnable if runnable is not None else not (stopped and not running and not resolved),
    )
    for code in codes:
        IssueAlarmCode.objects.create(issue=made, code=code)
    return made


def build(*, a, b, c, shift=timedelta(0)):
    """The issues of the module docstring on machines a and b (one department) and c (another), all
    moved by `shift` (whole days, so that pages rendered today show them in the same places)."""

    def at(*args, **kwargs):
        return _at(*args, **kwargs) + shift

    return {
        "i1": issue(a, reported=at(5, 8), category="alarm", stopped=at(5, 8), running=at(5, 12),
                    resolved=at(5, 13), codes=["SV0401"]),
        "i2": issue(a, reported=at(5, 10), category="alarm", stopped=at(5, 10), resolved=at(5, 14),
                    codes=["SV0401"]),
        "i3": issue(a, reported=at(3, 20), stopped=at(3, 20), running=at(4, 2), resolved=at(4, 3),
                    codes=["SV0401"]),
        "i4": issue(b, reported=at(9, 6), category="alarm", status="open", stopped=at(9, 6), runnable=False,
                    codes=["108"]),
        "i5": issue(b, reported=at(9, 7), category="quality", status="in_progress"),
        "i6": issue(b, reported=at(8, 9), stopped=at(8, 9), running=at(8, 10), resolved=at(8, 11),
                    codes=["2136"]),
        "i7": issue(c, reported=at(27, 10, month=2), resolved=at(27, 12, month=2)),
        "i8": issue(c, reported=at(10, 9), category="alarm", status="open", codes=["SV0401", "108"]),
        "i9": issue(c, reported=at(6, 10), stopped=at(6, 10), running=at(6, 11), resolved=at(6, 11)),
        "i10": issue(c, reported=at(6, 11), stopped=at(6, 11), running=at(6, 12), resolved=at(6, 12)),
    }
