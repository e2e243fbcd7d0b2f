"""Escalation of a stopped machine nobody answers, on a frozen clock: escalate_due is told what time it
is, nothing sleeps."""

from datetime import timedelta

import pytest
from django.utils import timezone

from floor import notify
from floor.models import Delivery, Department, EscalationRule, IssueEvent, Machine, Notice, Status
from tests.notify.conftest import deliver_due, fan_out, report_down

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def levels(issue):
    return list(issue.events.filter(kind=IssueEvent.Kind.ESCALATED).order_by("id").values_list("from_value", flat=True))


def test_an_unanswered_stop_is_escalated_to_the_managers_after_15_minutes(smtp_server, with_addresses, machine):
    operator, maintenance, manager = with_addresses
    issue = report_down(machine, by=operator)
    start = issue.created_at  # when the report arrived (README: the clock starts then)
    assert notify.escalate_due(now=start + 15 * MINUTE - timedelta(seconds=1)) == 0
    assert notify.escalate_due(now=start + 15 * MINUTE) == 1
    event = issue.events.get(kind=IssueEvent.Kind.ESCALATED)
    assert event.summary == "Escalated: nobody answered within 15 min, managers told"

    fan_out()
    deliver_due()
    escalated = Delivery.objects.filter(notice=Notice.ESCALATED)
    assert [d.user for d in escalated] == [manager]
    [to_manager] = smtp_server.to(manager.email)
    assert to_manager["Subject"] == "Nobody has answered: M-01 Haas VF-2 down for 15 min"
    assert [m["Subject"] for m in smtp_server.to(maintenance.email)] == ["Machine down: M-01 Haas VF-2, SP9001"]


@pytest.mark.parametrize("answer", ["assigned", "in_progress", "runs_again"])
def test_a_stop_answered_before_15_minutes_is_not_escalated(answer, machine, operator, maintenance):
    issue = report_down(machine, by=operator)
    if answer == "assigned":
        issue.assign(maintenance, by=maintenance)
    elif answer == "in_progress":
        issue.set_status(Status.IN_PROGRESS, by=maintenance)
    else:
        issue.set_runnable(True, by=maintenance)
    assert notify.escalate_due(now=issue.created_at + 20 * MINUTE) == 0
    assert levels(issue) == []


def test_an_escalation_answered_before_it_is_sent_is_not_sent(with_addresses, smtp_server, machine):
    operator, maintenance, _ = with_addresses
    issue = report_down(machine, by=operator)
    notify.escalate_due(now=issue.created_at + 16 * MINUTE)
    issue.assign(maintenance, by=maintenance)
    fan_out()
    assert not Delivery.objects.filter(notice=Notice.ESCALATED).exists()


def test_level_two_comes_after_the_second_interval(with_addresses, smtp_server, machine):
    _, _, manager = with_addresses
    issue = report_down(machine, by=None, reporter_name="Piotr")
    start = issue.created_at  # when the report arrived (README: the clock starts then)
    assert notify.escalate_due(now=start + 16 * MINUTE) == 1
    assert notify.escalate_due(now=start + 29 * MINUTE) == 0
    assert notify.escalate_due(now=start + 30 * MINUTE) == 1
    assert levels(issue) == ["1", "2"]
    assert issue.events.filter(kind=IssueEvent.Kind.ESCALATED).last().to_value.endswith("managers told again")
    fan_out()
    deliver_due()
    assert sorted(m["Subject"] for m in smtp_server.to(manager.email)) == [
        "Nobody has answered: M-01 Haas VF-2 down for 15 min", "Nobody has answered: M-01 Haas VF-2 down for 30 min"]


def test_each_level_is_escalated_once_however_often_it_is_looked_at(machine, operator):
    issue = report_down(machine, by=operator)
    start = issue.created_at  # when the report arrived (README: the clock starts then)
    assert sum(notify.escalate_due(now=start + 16 * MINUTE + n * timedelta(seconds=5)) for n in range(5)) == 1
    assert sum(notify.escalate_due(now=start + 31 * MINUTE + n * MINUTE) for n in range(5)) == 1
    assert sum(notify.escalate_due(now=start + 300 * MINUTE) for _ in range(3)) == 0
    assert levels(issue) == ["1", "2"]


def test_a_departments_rule_overrides_the_default(machine, department, operator):
    EscalationRule.objects.create(department=department, first_after_minutes=5, again_after_minutes=0)
    elsewhere = Machine.objects.create(name="L-02 Mazak", department=Department.objects.create(name="Turning"))
    ruled = report_down(machine, by=operator)
    default = report_down(elsewhere, by=operator)
    start = max(ruled.created_at, default.created_at)
    assert notify.escalate_due(now=start + 5 * MINUTE) == 1
    assert levels(ruled) == ["1"] and levels(default) == []
    assert notify.escalate_due(now=start + 15 * MINUTE) == 1
    assert levels(default) == ["1"]
    notify.escalate_due(now=start + 120 * MINUTE)
    assert levels(ruled) == ["1"]  # again after 0 minutes: no second level
    assert levels(default) == ["1", "2"]


def test_zero_minutes_means_never(settings, machine, department, operator):
    settings.NOTIFY_ESCALATE_MINUTES = 0
    issue = report_down(machine, by=operator)
    assert notify.escalate_due(now=issue.created_at + timedelta(hours=20)) == 0
    settings.NOTIFY_ESCALATE_MINUTES = 15
    EscalationRule.objects.create(department=department, first_after_minutes=0, again_after_minutes=15)
    assert notify.escalate_due(now=issue.created_at + timedelta(hours=20)) == 0
    assert levels(issue) == []


def test_a_report_kept_on_the_tablet_is_not_late_at_once(machine, operator):
    """README: "The clock starts when the report arrived, so a report kept on a tablet while offline is
    not escalated at once" (and notify.escalate_due says so). Send was pressed an hour ago (reported_at,
    when the machine stopped); the report arrives now (created_at)."""
    now = timezone.now()
    issue = report_down(machine, by=operator, reported_at=now - timedelta(hours=1))
    assert issue.created_at >= now
    assert notify.escalate_due(now=issue.created_at + MINUTE) == 0
    assert levels(issue) == []
    assert notify.escalate_due(now=issue.created_at + 15 * MINUTE) == 1
    assert levels(issue) == ["1"]


def test_a_machine_that_stops_again_is_timed_from_its_latest_stop(with_addresses, machine):
    operator, maintenance, manager = with_addresses
    issue = report_down(machine, by=operator)
    issue.set_runnable(True, by=maintenance)
    issue.set_runnable(False, by=operator)
    later = timezone.now() + timedelta(minutes=40)
    IssueEvent.objects.filter(issue=issue, kind=IssueEvent.Kind.RUNNABLE_CHANGED, to_value="stopped").update(
        created_at=later)  # it ran for 40 minutes before stopping again
    issue.refresh_from_db()
    assert issue.machine_stopped_at < later - timedelta(minutes=30)  # the first stop stays on the issue
    assert notify.escalate_due(now=later + timedelta(minutes=14)) == 0
    assert notify.escalate_due(now=later + timedelta(minutes=15)) == 1
