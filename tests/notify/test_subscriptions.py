"""Who hears what: a person's own subscriptions (departments, machines, notices, active or not) instead
of their role's defaults, assignments only to the assignee, and the managers' daily summary."""

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from floor import notify, roles
from floor.models import Channel, Delivery, Department, Machine, Notice, Status, Subscription
from tests.notify.conftest import deliver_due, fan_out, report_down

pytestmark = pytest.mark.django_db


def by_mail(user, *, notices=(Notice.MACHINE_DOWN,), departments=(), machines=(), active=True):
    subscription = Subscription.objects.create(user=user, channel=Channel.EMAIL, notices=list(notices), active=active)
    subscription.departments.set(departments)
    subscription.machines.set(machines)
    return subscription


def told(user, notice=None):
    deliveries = Delivery.objects.filter(user=user)
    if notice:
        deliveries = deliveries.filter(notice=notice)
    return sorted(d.issue.machine.name for d in deliveries)


@pytest.fixture
def turning():
    department = Department.objects.create(name="Turning")
    return Machine.objects.create(name="L-02 Mazak", department=department)


def test_a_subscription_to_a_department_hears_only_that_department(smtp_server, with_addresses, machine, turning):
    operator, maintenance, _ = with_addresses
    by_mail(maintenance, departments=[turning.department])
    report_down(machine, by=operator)
    report_down(turning, by=operator)
    fan_out()
    assert told(maintenance) == ["L-02 Mazak"]


def test_a_subscription_to_machines_hears_those_and_its_departments(smtp_server, with_addresses, machine,
                                                                    other_machine, turning):
    operator, maintenance, _ = with_addresses
    by_mail(maintenance, machines=[other_machine])
    report_down(machine, by=operator)
    report_down(other_machine, by=operator)
    report_down(turning, by=operator)
    fan_out()
    assert told(maintenance) == ["M-04 Fanuc Robodrill"]

    Delivery.objects.all().delete()
    Subscription.objects.all().delete()
    by_mail(maintenance, machines=[other_machine], departments=[turning.department])
    report_down(machine, by=operator, codes=["EX1"])
    report_down(other_machine, by=operator, codes=["EX1"])
    report_down(turning, by=operator, codes=["EX1"])
    fan_out()
    assert told(maintenance) == ["L-02 Mazak", "M-04 Fanuc Robodrill"]


def test_a_subscription_hears_only_its_notices(smtp_server, with_addresses, machine):
    operator, maintenance, manager = with_addresses
    by_mail(manager, notices=[Notice.RESOLVED])
    issue = report_down(machine, by=operator)
    fan_out()
    assert told(manager) == []
    issue.set_status(Status.RESOLVED, by=maintenance)
    fan_out()
    assert told(manager, Notice.RESOLVED) == ["M-01 Haas VF-2"] and told(manager) == ["M-01 Haas VF-2"]
    deliver_due()
    assert [m["Subject"] for m in smtp_server.to(manager.email)] == [f"Resolved: #{issue.pk} on M-01 Haas VF-2"]


def test_an_inactive_subscription_silences_the_role_defaults(smtp_server, with_addresses, machine):
    operator, maintenance, _ = with_addresses
    by_mail(maintenance, active=False)
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    assert told(maintenance) == [] and smtp_server.messages == []


def test_an_assignment_is_told_only_to_the_assignee(smtp_server, with_addresses, machine, django_user_model):
    operator, maintenance, manager = with_addresses
    mona = django_user_model.objects.create_user(username="mona", email="mona@plant.test")
    mona.groups.add(Group.objects.get(name=roles.MAINTENANCE))
    for person in (maintenance, mona):
        by_mail(person, notices=[Notice.ASSIGNED])
    issue = report_down(machine, by=operator)
    issue.assign(mona, by=manager)
    fan_out()
    assert told(mona, Notice.ASSIGNED) == ["M-01 Haas VF-2"]
    assert told(maintenance) == []
    deliver_due()
    assert [m["Subject"] for m in smtp_server.to(mona.email)] == [f"Assigned to you: #{issue.pk} on M-01 Haas VF-2"]


def test_the_daily_summary_goes_to_managers_once_a_day_at_the_summary_hour(smtp_server, settings, with_addresses,
                                                                           machine):
    operator, maintenance, manager = with_addresses
    settings.NOTIFY_SUMMARY_HOUR = 6
    day = timezone.localdate() - timedelta(days=3)
    report_down(machine, by=operator, reported_at=timezone.make_aware(datetime.combine(day, time(10, 0))))

    def at(days, hour, minute=0):
        return timezone.make_aware(datetime.combine(day + timedelta(days=days), time(hour, minute)))

    assert notify.plan_daily_summaries(now=at(1, 5, 59)) == 0
    assert notify.plan_daily_summaries(now=at(1, 6)) == 1
    assert notify.plan_daily_summaries(now=at(1, 6, 30)) == 0
    assert notify.plan_daily_summaries(now=at(1, 23, 59)) == 0
    assert [d.user for d in Delivery.objects.filter(notice=Notice.DAILY_SUMMARY)] == [manager]
    assert notify.plan_daily_summaries(now=at(2, 6, 1)) == 1
    assert Delivery.objects.filter(notice=Notice.DAILY_SUMMARY, user=manager).count() == 2

    deliver_due()
    first, second = sorted(m["Subject"] for m in smtp_server.to(manager.email))
    assert first.startswith(f"Machine Logbook, {day}: 1 issue")  # the day before the first summary hour
    assert second.startswith(f"Machine Logbook, {day + timedelta(days=1)}: 0 issues")
    assert smtp_server.to(maintenance.email) == [] and smtp_server.to(operator.email) == []
