"""Webhook notifications against a real HTTP receiver that checks the Standard Webhooks signature as a
receiver would (standardwebhooks' own verify): the presets' bodies, retries and giving up, secret
rotation, the places a webhook may not go, and endpoints that are dead or hang."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from floor import notify
from floor.models import Channel, ChannelHealth, Delivery, DeliveryAttempt, IssueEvent, Notice, Subscription
from tests.notify.conftest import OK, SITE_URL, Answer, deliver_due, fan_out, free_port, report_down

pytestmark = pytest.mark.django_db


def subscribe(user, receiver, path="/hook", *, channel=Channel.WEBHOOK, notices=(Notice.MACHINE_DOWN,), name="",
              url=None):
    """A webhook subscription of `user` to the receiver, whose secret the receiver then accepts."""
    subscription = Subscription.objects.create(user=user, channel=channel, url=url or receiver.url(path),
                                               notices=list(notices), name=name)
    receiver.secrets.append(subscription.secret)
    return subscription


def test_a_post_verifies_with_the_subscriptions_secret_and_keeps_its_webhook_id_on_a_retry(
        receiver, maintenance, operator, manager, machine):
    someone_else = subscribe(manager, receiver, "/other", notices=[Notice.RESOLVED])  # a secret that must not fit
    subscription = subscribe(maintenance, receiver)
    receiver.answer("/hook", Answer(status=500), OK)
    issue = report_down(machine, by=operator)
    fan_out()
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    deliver_due(now=delivery.next_attempt_at)

    first, second = receiver.to("/hook")
    assert first.verified_with == second.verified_with == [subscription.secret]
    assert someone_else.secret not in first.verified_with
    assert first.webhook_id == second.webhook_id == f"msg_{delivery.message_id.hex}"
    assert int(second.headers["webhook-timestamp"]) == pytest.approx(time.time(), abs=5)
    assert second.headers["content-type"] == "application/json"
    body = second.json
    assert body["type"] == "issue.machine_down"
    assert body["data"]["issue"]["id"] == issue.pk and body["data"]["issue"]["codes"] == ["SP9001"]
    assert body["data"]["url"] == SITE_URL + reverse("issue_detail", args=[issue.pk])
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 2


def test_teams_gets_a_message_with_an_adaptive_card(receiver, maintenance, operator, machine):
    subscription = subscribe(maintenance, receiver, "/teams", channel=Channel.TEAMS)
    issue = report_down(machine, by=operator)
    fan_out()
    deliver_due()

    [post] = receiver.requests
    assert post.verified_with == [subscription.secret]
    body = post.json
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    [fact_set] = [block for block in card["body"] if block["type"] == "FactSet"]
    facts = {fact["title"]: fact["value"] for fact in fact_set["facts"]}
    assert facts["Machine"] == "M-01 Haas VF-2 (Milling)" and facts["Alarm"] == "SP9001"
    assert facts["Reported"].endswith("by Olga")
    [action] = card["actions"]
    assert action["type"] == "Action.OpenUrl"
    assert action["url"] == SITE_URL + reverse("issue_detail", args=[issue.pk])


def test_slack_gets_text_and_blocks(receiver, maintenance, operator, machine):
    subscribe(maintenance, receiver, "/slack", channel=Channel.SLACK)
    issue = report_down(machine, by=operator)
    fan_out()
    deliver_due()

    body = receiver.requests[0].json
    link = SITE_URL + reverse("issue_detail", args=[issue.pk])
    assert body["text"].startswith("*Machine down: M-01 Haas VF-2, SP9001*")
    assert link in body["text"] and "Machine: M-01 Haas VF-2 (Milling)" in body["text"]
    assert body["blocks"][0]["type"] == "section"
    [button] = body["blocks"][-1]["elements"]
    assert button["url"] == link


def test_ntfy_gets_plain_text_with_title_priority_and_click_headers(receiver, maintenance, operator, machine):
    subscription = subscribe(maintenance, receiver, "/ntfy", channel=Channel.NTFY)
    issue = report_down(machine, by=operator)
    fan_out()
    deliver_due()

    [post] = receiver.requests
    assert post.headers["content-type"].startswith("text/plain")
    text = post.body.decode()
    assert "Machine: M-01 Haas VF-2 (Milling)" in text and "Alarm: SP9001" in text
    assert post.headers["title"] == "Machine down: M-01 Haas VF-2, SP9001"
    assert post.headers["priority"] == "urgent"
    assert post.headers["click"] == SITE_URL + reverse("issue_detail", args=[issue.pk])
    assert post.verified_with == [subscription.secret]


def test_a_server_error_is_retried_after_growing_waits(receiver, maintenance, operator, machine):
    subscribe(maintenance, receiver)
    receiver.answer("/hook", Answer(status=500))
    report_down(machine, by=operator)
    fan_out()
    pk = Delivery.objects.get().pk
    moment = timezone.now()
    for tries, delay in enumerate(notify.RETRY_DELAYS[:4], start=1):
        assert notify.deliver(pk, now=moment) == Delivery.State.PENDING
        delivery = Delivery.objects.get(pk=pk)
        assert delivery.attempts == tries
        assert delivery.next_attempt_at - timezone.now() == pytest.approx(delay, abs=timedelta(seconds=2))
        assert "500" in delivery.last_error
        moment = delivery.next_attempt_at
    assert len(receiver.requests) == 4 and len({r.webhook_id for r in receiver.requests}) == 1


def test_retry_after_of_a_429_is_honoured(receiver, maintenance, operator, machine):
    subscribe(maintenance, receiver)
    receiver.answer("/hook", Answer(status=429, headers={"Retry-After": "120"}))
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.next_attempt_at - timezone.now() == pytest.approx(timedelta(seconds=120), abs=timedelta(seconds=2))


def test_gone_410_fails_for_good_at_once(receiver, maintenance, operator, machine):
    subscribe(maintenance, receiver, name="Hall 2 screen")
    receiver.answer("/hook", Answer(status=410))
    issue = report_down(machine, by=operator)
    fan_out()
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED and delivery.attempts == 1
    assert issue.events.get(kind=IssueEvent.Kind.NOTIFY_FAILED).summary == "Could not tell Hall 2 screen: machine down"
    deliver_due(now=timezone.now() + timedelta(hours=2))
    assert len(receiver.requests) == 1


def test_a_redirect_is_not_followed(receiver, maintenance, operator, machine):
    subscribe(maintenance, receiver)
    receiver.answer("/hook", Answer(status=302, headers={"Location": receiver.url("/elsewhere")}))
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    assert receiver.to("/elsewhere") == [] and len(receiver.to("/hook")) == 1
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert "302" in delivery.last_error and "redirect to " + receiver.url("/elsewhere") in delivery.last_error
    assert delivery.tries.get().status_code == 302


def test_an_answer_that_is_not_http_is_a_failed_try(receiver, maintenance, operator, machine):
    subscribe(maintenance, receiver)
    receiver.answer("/hook", Answer(garbage=True))
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.last_error.startswith("No answer from the endpoint")


def test_an_answer_that_trickles_in_is_given_up_on_after_the_webhook_timeout(receiver, settings, maintenance, operator,
                                                                             machine):
    """NOTIFY_WEBHOOK_TIMEOUT is what one post may take (README): an endpoint that sends its answer a byte
    at a time, each byte inside the timeout, must not hold a sender for longer."""
    subscribe(maintenance, receiver)
    receiver.answer("/hook", Answer(trickle=0.5))  # an answer of 12 bytes: 6 s
    report_down(machine, by=operator)
    fan_out()
    started = time.monotonic()
    deliver_due()
    took = time.monotonic() - started
    assert took < settings.NOTIFY_WEBHOOK_TIMEOUT + 1.5, took
    assert Delivery.objects.get().tries.get().duration_ms < (settings.NOTIFY_WEBHOOK_TIMEOUT + 1.5) * 1000


def test_after_about_a_day_of_failures_it_gives_up_and_the_timeline_says_so(receiver, maintenance, operator, machine):
    subscribe(maintenance, receiver, name="Hall 2 screen")
    receiver.answer("/hook", Answer(status=500))
    issue = report_down(machine, by=operator)
    fan_out()
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.retry_until - delivery.created_at == notify.GIVE_UP_AFTER
    assert not issue.events.filter(kind=IssueEvent.Kind.NOTIFY_FAILED).exists()

    # A day later: the next wait would end after retry_until.
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(created_at=now - notify.GIVE_UP_AFTER + timedelta(seconds=5),
                                                   retry_until=now + timedelta(seconds=5))
    deliver_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED and delivery.attempts == 2
    assert issue.events.get(kind=IssueEvent.Kind.NOTIFY_FAILED).summary == "Could not tell Hall 2 screen: machine down"
    deliver_due(now=now + timedelta(days=2))
    assert len(receiver.requests) == 2


def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(receiver, maintenance, operator, machine):
    subscription = subscribe(maintenance, receiver)
    old = subscription.secret
    new = subscription.rotate_secret()
    receiver.secrets = [old, new]
    report_down(machine, by=operator, codes=["SP9001"])
    fan_out()
    deliver_due()
    [during] = receiver.requests
    assert len(during.signatures) == 2
    assert during.verified_with == [old, new]  # a receiver with either secret accepts it

    Subscription.objects.filter(pk=subscription.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    report_down(machine, by=operator, codes=["SP9002"])
    fan_out()
    deliver_due()
    after = receiver.requests[1]
    assert len(after.signatures) == 1
    assert after.verified_with == [new]


# --- where a webhook may not go -----------------------------------------------------------------------------
METADATA = {
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "metadata_v4_in_v6": "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "metadata_as_a_number": "http://2852039166/latest/meta-data/",  # 169.254.169.254, as resolvers read it
}


@pytest.mark.parametrize("where", [*METADATA, "loopback_off", "localhost_off", "own_site"])
def test_a_refused_destination_fails_and_is_never_posted_to(where, receiver, settings, maintenance, operator, machine):
    url = receiver.url()
    if where in METADATA:
        url = METADATA[where]
    elif where == "loopback_off":
        settings.WEBHOOK_ALLOW_LOOPBACK = False
    elif where == "localhost_off":
        settings.WEBHOOK_ALLOW_LOOPBACK = False
        url = f"http://localhost:{receiver.port}/hook"
    elif where == "own_site":
        settings.SITE_URL = f"http://127.0.0.1:{receiver.port}"
    subscribe(maintenance, receiver, url=url)
    issue = report_down(machine, by=operator)
    fan_out()
    started = time.monotonic()
    deliver_due()
    assert time.monotonic() - started < 0.5  # refused before any connection was tried
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED and delivery.attempts == 1
    assert "may not go there" in delivery.last_error or "Machine Logbook itself" in delivery.last_error
    assert receiver.requests == []
    assert issue.events.filter(kind=IssueEvent.Kind.NOTIFY_FAILED).exists()


def test_a_webhook_to_the_apps_own_address_is_refused_when_site_url_names_it_differently(
        receiver, settings, maintenance, operator, machine):
    """SITE_URL says localhost, the webhook says 127.0.0.1: the same server, the same port."""
    settings.SITE_URL = f"http://localhost:{receiver.port}"
    subscribe(maintenance, receiver, url=f"http://127.0.0.1:{receiver.port}/hook")
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED and "Machine Logbook itself" in delivery.last_error


# --- endpoints that are dead or hang ---------------------------------------------------------------------------
def test_a_dead_and_a_hanging_endpoint_cost_one_try_each_and_hold_up_nobody(
        receiver, settings, maintenance, operator, machine, other_machine):
    settings.NOTIFY_WEBHOOK_TIMEOUT = 2.0  # three timeouts would take 6 s at least: room for a busy machine
    dead = subscribe(maintenance, receiver, url=f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    slow = subscribe(maintenance, receiver, "/slow")
    live = subscribe(maintenance, receiver, "/live")
    receiver.answer("/slow", Answer(hang=10))
    # Three stops (other codes, another machine: nothing is folded), three messages to each endpoint.
    report_down(machine, by=operator, codes=["SP9001"])
    report_down(machine, by=operator, codes=["SP9002"])
    report_down(other_machine, by=operator, codes=["SP9001"])
    fan_out()
    assert Delivery.objects.count() == 9

    started = time.monotonic()
    deliver_due()
    took = time.monotonic() - started
    # One timeout for the hanging endpoint, not one per message.
    assert took < 2.5 * settings.NOTIFY_WEBHOOK_TIMEOUT, took
    assert set(Delivery.objects.filter(subscription=live).values_list("state", flat=True)) == {Delivery.State.SENT}
    assert len(receiver.to("/live")) == 3 and len(receiver.to("/slow")) == 1
    for subscription in (dead, slow):
        deliveries = Delivery.objects.filter(subscription=subscription)
        assert set(deliveries.values_list("state", flat=True)) == {Delivery.State.PENDING}
        assert DeliveryAttempt.objects.filter(delivery__in=deliveries).count() == 1
        health = ChannelHealth.objects.get(key=notify.health_key(deliveries[0]))
        assert health.failures == 1
        waiting = deliveries.filter(attempts=0)
        assert waiting.count() == 2
        assert set(waiting.values_list("next_attempt_at", flat=True)) == {health.retry_at}

    # The hanging endpoint answers again: its next try gets through, and what waited goes at once.
    receiver.answer("/slow", OK)
    [probe] = Delivery.objects.filter(subscription=slow, attempts=1)
    health = ChannelHealth.objects.get(key=notify.health_key(probe))
    assert notify.deliver(probe.pk, now=health.retry_at) == Delivery.State.SENT
    released = Delivery.objects.filter(subscription=slow, state=Delivery.State.PENDING)
    assert released.count() == 2 and all(d.next_attempt_at <= timezone.now() for d in released)
    deliver_due()
    assert set(Delivery.objects.filter(subscription=slow).values_list("state", flat=True)) == {Delivery.State.SENT}
    assert len({r.webhook_id for r in receiver.to("/slow")}) == 3
    assert ChannelHealth.objects.get(key=notify.health_key(probe)).failures == 0


@pytest.mark.django_db(transaction=True)
def test_two_sender_threads_never_both_wait_on_one_hanging_endpoint(receiver, settings, maintenance, operator,
                                                                    machine, other_machine):
    """Before the endpoint's first timeout nothing knows it hangs: a second thread finding a send to it
    under way for a second leaves its message to wait for that answer, instead of hanging beside it."""
    settings.NOTIFY_WEBHOOK_TIMEOUT = 3.0
    subscribe(maintenance, receiver, "/slow")
    receiver.answer("/slow", Answer(hang=10))
    report_down(machine, by=operator, codes=["SP9001"])
    report_down(other_machine, by=operator, codes=["SP9002"])
    fan_out()
    first, second = Delivery.objects.order_by("id")
    states = {}

    def send(delivery):
        states[delivery.pk] = notify.deliver(delivery.pk)
        connection.close()

    started = time.monotonic()
    hanging = threading.Thread(target=send, args=(first,))
    hanging.start()
    time.sleep(1.5)  # the first send has been under way for more than notify.SLOW_AFTER
    send(second)
    waited = time.monotonic() - started
    hanging.join()
    assert waited < settings.NOTIFY_WEBHOOK_TIMEOUT, waited  # it did not wait out the timeout itself
    assert len(receiver.to("/slow")) == 1  # one connection to the hanging endpoint
    assert states[second.pk] == Delivery.State.PENDING
    second.refresh_from_db()
    assert second.attempts == 0 and second.next_attempt_at > timezone.now() - timedelta(seconds=1)
