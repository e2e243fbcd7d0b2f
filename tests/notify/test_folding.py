"""Repeats of one alarm on one machine within NOTIFY_FOLD_MINUTES make one message to each recipient."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from floor import roles
from floor.models import Channel, Delivery, Notice, Subscription
from tests.notify.conftest import deliver_due, fan_out, report_down

pytestmark = pytest.mark.django_db


@pytest.fixture
def recipients(smtp_server, receiver, with_addresses, django_user_model):
    """Two maintenance people by e-mail and a hall's webhook."""
    operator, maintenance, manager = with_addresses
    mona = django_user_model.objects.create_user(username="mona", email="mona@plant.test")
    mona.groups.add(Group.objects.get(name=roles.MAINTENANCE))
    Subscription.objects.create(user=manager, channel=Channel.WEBHOOK, url=receiver.url(),
                                notices=[Notice.MACHINE_DOWN])
    return operator, [maintenance.email, mona.email]


def test_three_reports_of_one_alarm_on_one_machine_make_one_message_each(recipients, smtp_server, receiver, machine):
    operator, addresses = recipients
    for _ in range(3):
        report_down(machine, by=operator, codes=["SP9001"])
    fan_out()
    deliver_due()

    for address in addresses:
        assert len(smtp_server.to(address)) == 1
    assert len(receiver.requests) == 1
    first = Delivery.objects.filter(state=Delivery.State.SENT)
    assert first.count() == 3 and {d.folded_count for d in first} == {2}
    folded = Delivery.objects.filter(state=Delivery.State.FOLDED)
    assert folded.count() == 6
    assert {d.folded_into_id for d in folded} == {d.pk for d in first}


def test_the_message_of_folded_repeats_says_how_often_it_happened(recipients, smtp_server, machine):
    operator, addresses = recipients
    for _ in range(3):
        report_down(machine, by=operator, codes=["SP9001"])
    fan_out()
    deliver_due()
    mail = smtp_server.to(addresses[0])[0]
    assert "It happened 2 more times since." in mail.get_body(("plain",)).get_content()


def test_another_code_or_another_machine_is_a_message_of_its_own(recipients, smtp_server, receiver, machine,
                                                                 other_machine):
    operator, addresses = recipients
    report_down(machine, by=operator, codes=["SP9001"])
    report_down(machine, by=operator, codes=["EX1024"])
    report_down(other_machine, by=operator, codes=["SP9001"])
    fan_out()
    deliver_due()
    for address in addresses:
        subjects = sorted(m["Subject"] for m in smtp_server.to(address))
        assert subjects == ["Machine down: M-01 Haas VF-2, EX1024", "Machine down: M-01 Haas VF-2, SP9001",
                            "Machine down: M-04 Fanuc Robodrill, SP9001"]
    assert len(receiver.requests) == 3
    assert not Delivery.objects.filter(state=Delivery.State.FOLDED).exists()


def test_a_repeat_after_the_fold_window_is_a_message_of_its_own(recipients, smtp_server, settings, machine):
    operator, addresses = recipients
    report_down(machine, by=operator, codes=["SP9001"])
    fan_out()
    deliver_due()
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=settings.NOTIFY_FOLD_MINUTES, seconds=1))
    report_down(machine, by=operator, codes=["SP9001"])
    fan_out()
    deliver_due()
    assert len(smtp_server.to(addresses[0])) == 2
    assert not Delivery.objects.filter(state=Delivery.State.FOLDED).exists()
