import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from floor.models import Department, Issue, IssueAlarmCode, Machine, Remedy, Status


@pytest.fixture(autouse=True)
def development(settings):
    settings.DEBUG = True  # pytest-django runs with DEBUG off; the demo is for development


def test_demo_factory_has_machines_people_and_history(db, settings):
    call_command("seed_demo", "--issues", "300")
    assert Department.objects.count() == 4
    assert Machine.objects.count() == 24
    assert Issue.objects.count() == 300
    statuses = set(Issue.objects.values_list("status", flat=True))
    assert {Status.OPEN, Status.RESOLVED, Status.CLOSED} <= statuses
    assert IssueAlarmCode.objects.filter(family="fanuc").exists()
    assert IssueAlarmCode.objects.filter(family="heidenhain").exists()
    resolved = Issue.objects.filter(status__in=[Status.RESOLVED, Status.CLOSED])
    assert Remedy.objects.filter(issue__in=resolved).count() == resolved.count()
    # Every finished issue that stopped its machine has it running again, never before it stopped.
    for issue in Issue.objects.filter(machine_stopped_at__isnull=False, resolved_at__isnull=False):
        assert issue.machine_running_again_at >= issue.machine_stopped_at
    from django.contrib.auth import authenticate

    for username in ["operator", "maintenance", "manager", "admin"]:
        assert authenticate(username=username, password=username) is not None


def test_if_empty_does_not_add_a_second_history(db):
    call_command("seed_demo", "--issues", "20")
    call_command("seed_demo", "--issues", "20", "--if-empty")
    assert Issue.objects.count() == 20


def test_existing_factory_machines_are_used_and_not_touched(db, machine):
    call_command("seed_demo", "--issues", "10")
    assert list(Machine.objects.all()) == [machine]
    assert Department.objects.count() == 1
    assert Issue.objects.filter(machine=machine).count() == 10


def test_same_seed_gives_the_same_history(db):
    call_command("seed_demo", "--issues", "30", "--seed", "7")
    first = list(Issue.objects.order_by("id").values_list("category", "description", "status"))
    Issue.objects.all().delete()
    call_command("seed_demo", "--issues", "30", "--seed", "7")
    assert list(Issue.objects.order_by("id").values_list("category", "description", "status")) == first


def test_refuses_to_run_in_production(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("seed_demo")
