from datetime import timedelta

import pytest

from floor.models import InvalidTransition, IssueEvent, StaleIssue, Status
from floor.reporting import report_issue


@pytest.fixture
def issue(machine, operator):
    return report_issue(machine=machine, category="alarm", description="spdl hot", alarm_codes=["SV0401"],
                        by=operator)


def kinds(issue):
    return list(issue.events.values_list("kind", "from_value", "to_value"))


def test_new_issue_is_open_with_a_created_event(issue, operator):
    assert issue.status == Status.OPEN
    assert issue.version == 1
    assert kinds(issue) == [(IssueEvent.Kind.CREATED, "", "open")]
    assert issue.events.get().actor == operator


def test_full_lifecycle_records_each_step_and_timestamps(issue, maintenance):
    issue.set_status(Status.IN_PROGRESS, by=maintenance)
    issue.set_status(Status.WAITING_PARTS, by=maintenance)
    assert issue.resolved_at is None
    issue.set_status(Status.RESOLVED, by=maintenance)
    assert issue.resolved_at is not None and issue.closed_at is None
    issue.set_status(Status.CLOSED, by=maintenance)
    assert issue.closed_at >= issue.resolved_at
    assert issue.version == 5
    assert kinds(issue)[1:] == [
        ("status_changed", "open", "in_progress"),
        ("status_changed", "in_progress", "waiting_parts"),
        ("status_changed", "waiting_parts", "resolved"),
        ("status_changed", "resolved", "closed"),
    ]
    assert set(issue.events.values_list("actor__username", flat=True)) == {"olga", "marek"}


@pytest.mark.parametrize("finished", [Status.RESOLVED, Status.CLOSED])
def test_reopen_clears_resolution_and_is_its_own_event(issue, maintenance, finished):
    issue.set_status(Status.RESOLVED, by=maintenance)
    if finished == Status.CLOSED:
        issue.set_status(Status.CLOSED, by=maintenance)
    issue.set_status(Status.OPEN, by=maintenance)
    assert issue.status == Status.OPEN
    assert issue.resolved_at is None and issue.closed_at is None
    assert kinds(issue)[-1] == ("reopened", finished, "open")


@pytest.mark.parametrize(
    "start, target",
    [
        ([], Status.CLOSED),
        ([Status.RESOLVED, Status.CLOSED], Status.IN_PROGRESS),
        ([Status.RESOLVED], Status.WAITING_PARTS),
        ([Status.WAITING_PARTS], Status.OPEN),
    ],
)
def test_disallowed_transition_raises_and_changes_nothing(issue, maintenance, start, target):
    for status in start:
        issue.set_status(status, by=maintenance)
    before = (issue.status, issue.version, issue.events.count())
    with pytest.raises(InvalidTransition):
        issue.set_status(target, by=maintenance)
    issue.refresh_from_db()
    assert (issue.status, issue.version, issue.events.count()) == before


def test_unknown_status_is_rejected(issue, maintenance):
    with pytest.raises(ValueError):
        issue.set_status("exploded", by=maintenance)


def test_setting_the_same_status_is_a_no_op(issue, maintenance):
    assert issue.set_status(Status.OPEN, by=maintenance) is False
    assert issue.version == 1 and issue.events.count() == 1


def test_stale_version_is_refused_and_keeps_the_first_change(issue, maintenance, manager):
    loaded_version = issue.version
    issue.set_status(Status.IN_PROGRESS, by=maintenance, expected_version=loaded_version)
    with pytest.raises(StaleIssue) as caught:
        issue.set_priority(4, by=manager, expected_version=loaded_version)
    assert caught.value.issue.status == Status.IN_PROGRESS
    issue.refresh_from_db()
    assert issue.priority == 2 and issue.version == 2


def test_assign_and_priority_are_recorded(issue, maintenance):
    issue.assign(maintenance, by=maintenance)
    issue.set_priority(4, by=maintenance)
    assert issue.assigned_to == maintenance
    assert kinds(issue)[1:] == [("assigned", "", "Marek"), ("priority_changed", "Normal", "Urgent")]
    issue.assign(None, by=maintenance)
    assert issue.assigned_to is None and kinds(issue)[-1] == ("assigned", "Marek", "")


def test_machine_stop_and_running_again_track_downtime(machine, operator, maintenance):
    issue = report_issue(machine=machine, category="mechanical", description="conveyor jammed",
                         is_runnable=False, by=operator)
    assert issue.machine_stopped_at == issue.reported_at
    later = issue.reported_at + timedelta(minutes=42)
    issue.set_runnable(True, by=maintenance, at=later)
    assert issue.is_runnable and issue.machine_running_again_at == later
    assert kinds(issue)[-1] == ("runnable_changed", "stopped", "running")


def test_running_again_cannot_precede_the_stop(machine, operator, maintenance):
    issue = report_issue(machine=machine, category="mechanical", is_runnable=False, by=operator,
                         description="x")
    issue.set_runnable(True, by=maintenance, at=issue.machine_stopped_at - timedelta(hours=1))
    assert issue.machine_running_again_at == issue.machine_stopped_at


def test_runnable_issue_has_no_stop_time(machine, operator):
    issue = report_issue(machine=machine, category="quality", description="bore oversize", by=operator)
    assert issue.is_runnable and issue.machine_stopped_at is None


# --- resolving an issue whose machine is stopped ----------------------------------------------------------
@pytest.fixture
def stopped(machine, operator):
    return report_issue(machine=machine, category="alarm", description="servo alarm", alarm_codes=["SV0401"],
                        is_runnable=False, by=operator)


def test_resolving_an_issue_on_a_stopped_machine_records_it_running_again(stopped, maintenance):
    """A fixed issue went on showing its machine down, with "Machine runs again" as its next step."""
    stopped.set_status(Status.RESOLVED, by=maintenance)
    assert stopped.is_runnable and stopped.machine_running_again_at == stopped.resolved_at
    assert kinds(stopped)[1:] == [("status_changed", "open", "resolved"), ("runnable_changed", "stopped", "running")]
    assert stopped.version == 2  # one change: the status and the machine together


def test_working_on_an_issue_on_a_stopped_machine_leaves_it_stopped(stopped, maintenance):
    stopped.set_status(Status.IN_PROGRESS, by=maintenance)
    stopped.set_status(Status.WAITING_PARTS, by=maintenance)
    assert not stopped.is_runnable and stopped.machine_running_again_at is None


def test_told_that_the_machine_is_still_stopped_resolving_leaves_it_so(stopped, maintenance):
    stopped.set_status(Status.RESOLVED, by=maintenance, machine_runs=False)
    assert not stopped.is_runnable and stopped.machine_running_again_at is None
    assert kinds(stopped)[1:] == [("status_changed", "open", "resolved")]
    # Closing it later does not move the end of its downtime from its resolution to its closing.
    stopped.set_status(Status.CLOSED, by=maintenance)
    assert not stopped.is_runnable and stopped.machine_running_again_at is None
    assert stopped.downtime == stopped.resolved_at - stopped.machine_stopped_at


def test_resolving_an_issue_whose_machine_runs_changes_nothing_of_the_machine(issue, maintenance):
    issue.set_status(Status.RESOLVED, by=maintenance)
    assert issue.is_runnable and issue.machine_running_again_at is None
    assert [k for k, _, _ in kinds(issue)] == ["created", "status_changed"]
