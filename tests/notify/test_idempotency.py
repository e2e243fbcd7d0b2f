"""One message per (event, channel), however often the events are looked at: the deliveries' keys, one
post per URL whoever subscribed to it, and a redelivery that the receiver recognises by its webhook-id."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from floor import notify, roles
from floor.models import Channel, Delivery, IssueEvent, Notice, Subscription
from tests.notify.conftest import deliver_due, fan_out, report_down, run_worker

pytestmark = pytest.mark.django_db


def test_events_looked_at_twice_make_no_second_delivery(smtp_server, receiver, with_addresses, machine,
                                                        other_machine):
    operator, maintenance, manager = with_addresses
    subscription = Subscription.objects.create(user=manager, channel=Channel.WEBHOOK, url=receiver.url(),
                                               notices=[Notice.MACHINE_DOWN])
    receiver.secrets = [subscription.secret]
    report_down(machine, by=operator)
    report_down(other_machine, by=operator)
    fan_out()
    assert Delivery.objects.count() == 4  # two events, each by e-mail to maintenance and to the webhook
    deliver_due()

    # A worker stopped after making the deliveries but before clearing the events, and another that
    # looks at them again: nothing new is made, and nothing is sent again.
    IssueEvent.objects.update(notify_pending=True)
    fan_out()
    deliver_due()
    assert Delivery.objects.count() == 4
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.SENT}
    assert len(smtp_server.to(maintenance.email)) == 2
    assert len(receiver.requests) == 2 and receiver.requests[0].verified_with == [subscription.secret]


@pytest.mark.django_db(transaction=True)
def test_two_planners_at_once_make_each_delivery_once(smtp_server, with_addresses, machine):
    """Two workers' planners looking at the same pending events at the same moment."""
    operator, maintenance, _ = with_addresses
    for n in range(20):
        report_down(machine, by=operator, codes=[f"EX{n}"])  # other codes: nothing is folded
    start = threading.Barrier(2)
    errors = []

    def planner():
        try:
            start.wait()
            fan_out()
        except Exception as e:  # any error of either planner fails the test below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=planner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Delivery.objects.count() == 20
    assert not IssueEvent.objects.filter(notify_pending=True).exists()
    deliver_due()
    assert len(smtp_server.to(maintenance.email)) == 20


def test_three_people_subscribed_to_one_url_make_one_post(receiver, maintenance, manager, operator, machine,
                                                          django_user_model):
    third = django_user_model.objects.create_user(username="mona")
    third.groups.add(Group.objects.get(name=roles.MAINTENANCE))
    subscriptions = [Subscription.objects.create(user=user, channel=Channel.WEBHOOK, url=receiver.url("/hall"),
                                                 notices=[Notice.MACHINE_DOWN])
                     for user in (maintenance, manager, third)]
    receiver.secrets = [s.secret for s in subscriptions]
    report_down(machine, by=operator)
    fan_out()
    deliver_due()

    [delivery] = Delivery.objects.all()
    [post] = receiver.requests
    # Signed with each subscription's secret: every one of the three receivers' secrets verifies it.
    assert delivery.subscription == subscriptions[0]
    assert sorted(post.verified_with) == sorted(s.secret for s in subscriptions)
    assert len(post.headers["webhook-signature"].split()) == 3


@pytest.mark.django_db(transaction=True)
def test_the_worker_run_twice_sends_each_message_once(smtp_server, receiver, with_addresses, machine):
    operator, maintenance, manager = with_addresses
    Subscription.objects.create(user=manager, channel=Channel.SLACK, url=receiver.url(), notices=[Notice.MACHINE_DOWN])
    report_down(machine, by=operator)
    run_worker()
    IssueEvent.objects.update(notify_pending=True)
    run_worker()
    assert Delivery.objects.count() == 2
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.SENT}
    assert [m.envelope_to for m in smtp_server.messages] == [[maintenance.email]]
    assert len(receiver.requests) == 1


def test_a_redelivery_is_sent_again_with_the_same_webhook_id(receiver, maintenance, operator, machine):
    Subscription.objects.create(user=maintenance, channel=Channel.WEBHOOK, url=receiver.url(),
                                notices=[Notice.MACHINE_DOWN])
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.SENT

    notify.redeliver(delivery)
    deliver_due()
    first, second = receiver.requests
    assert first.webhook_id == second.webhook_id == f"msg_{delivery.message_id.hex}"
    assert first.body == second.body  # its facts frozen when it was made
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert Delivery.objects.count() == 1
