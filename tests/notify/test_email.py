"""E-mail notifications against a real SMTP server (aiosmtpd): who is mailed, what the mail says, and
what happens when the server refuses, hangs or is down."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from floor import notify, roles
from floor.models import Channel, Delivery, DeliveryAttempt, IssueEvent, Notice
from tests.notify.conftest import SITE_URL, deliver_due, fan_out, later, mail_off, report_down

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_maintenance(django_user_model):
    user = django_user_model.objects.create_user(username="mona", first_name="Mona", email="mona@plant.test")
    user.groups.add(Group.objects.get(name=roles.MAINTENANCE))
    return user


def test_maintenance_gets_one_mail_for_a_machine_down_report(smtp_server, with_addresses, machine):
    operator, maintenance, manager = with_addresses
    issue = report_down(machine, by=operator, codes=["SP9001"])
    fan_out()
    deliver_due()

    [mail] = smtp_server.messages
    assert mail.envelope_to == [maintenance.email] and mail["To"] == maintenance.email
    assert mail["Subject"] == "Machine down: M-01 Haas VF-2, SP9001"
    assert mail["Auto-Submitted"] == "auto-generated"
    link = SITE_URL + reverse("issue_detail", args=[issue.pk])
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for body in (text, html):
        assert "M-01 Haas VF-2 (Milling)" in body
        assert "SP9001" in body
        assert "by Olga" in body  # who reported
        assert f"#{issue.pk}" in body
    assert f"Open issue #{issue.pk}: {link}" in text
    assert f'href="{link}"' in html
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.user, delivery.notice) == (Delivery.State.SENT, maintenance, Notice.MACHINE_DOWN)
    told = issue.events.get(kind=IssueEvent.Kind.NOTIFIED)
    assert told.summary == "Told Marek by e-mail: machine down"


def test_what_was_typed_is_escaped_in_the_html_part_and_kept_in_the_text(smtp_server, with_addresses, machine):
    operator, _, _ = with_addresses
    report_down(machine, by=operator, description='Spindle <b>hot</b> & "smoking"')
    fan_out()
    deliver_due()
    [mail] = smtp_server.messages
    assert 'Spindle <b>hot</b> & "smoking"' in mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "<b>hot</b>" not in html and "Spindle &lt;b&gt;hot&lt;/b&gt; &amp;" in html


def test_message_id_is_one_per_delivery_and_the_same_when_sent_again(smtp_server, with_addresses, machine,
                                                                     second_maintenance):
    operator, maintenance, _ = with_addresses
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    first = Delivery.objects.get(user=maintenance)
    notify.redeliver(first)
    deliver_due()

    to_marek = smtp_server.to(maintenance.email)
    [to_mona] = smtp_server.to(second_maintenance.email)
    assert len(to_marek) == 2
    assert to_marek[0]["Message-ID"] == to_marek[1]["Message-ID"] == f"<{first.message_id}@logbook.plant.test>"
    assert to_mona["Message-ID"] != to_marek[0]["Message-ID"]


def test_operators_and_managers_are_not_mailed_a_machine_down_by_default(smtp_server, with_addresses, machine):
    operator, maintenance, manager = with_addresses
    report_down(machine, by=None, reporter_name="Piotr")
    fan_out()
    deliver_due()
    assert [m.envelope_to for m in smtp_server.messages] == [[maintenance.email]]
    assert not Delivery.objects.filter(user__in=[operator, manager]).exists()


def test_the_reporter_is_not_mailed_about_their_own_report(smtp_server, with_addresses, machine, second_maintenance):
    _, maintenance, _ = with_addresses
    report_down(machine, by=maintenance)
    fan_out()
    deliver_due()
    assert [m.envelope_to for m in smtp_server.messages] == [[second_maintenance.email]]
    assert not Delivery.objects.filter(user=maintenance).exists()


def test_without_email_host_no_email_delivery_is_made(smtp_server, settings, with_addresses, machine):
    mail_off(settings)
    operator, _, _ = with_addresses
    report_down(machine, by=operator)
    assert fan_out() == 1
    assert not Delivery.objects.filter(channel=Channel.EMAIL).exists()
    assert smtp_server.messages == []


def test_an_address_refused_for_good_fails_at_once_and_the_timeline_says_so(smtp_server, with_addresses, machine):
    operator, maintenance, _ = with_addresses
    smtp_server.refuse[maintenance.email] = "550 5.1.1 No such mailbox"
    issue = report_down(machine, by=operator)
    fan_out()
    deliver_due()

    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED and delivery.attempts == 1
    assert "550" in delivery.last_error and "No such mailbox" in delivery.last_error
    [attempt] = delivery.tries.all()
    assert not attempt.ok and "550" in attempt.error
    failed = issue.events.get(kind=IssueEvent.Kind.NOTIFY_FAILED)
    assert failed.summary == "Could not tell Marek by e-mail: machine down"
    # Never tried again, however long one waits.
    deliver_due(now=later(3600))
    assert DeliveryAttempt.objects.count() == 1 and smtp_server.messages == []


def test_one_refused_address_does_not_hold_up_mail_to_the_others(smtp_server, with_addresses, machine,
                                                                second_maintenance):
    """A mistyped address is that person's problem, not the mail server's: the others' mail of the same
    stopped machine goes at once, not after the server is thought to be failing."""
    operator, maintenance, _ = with_addresses
    smtp_server.refuse[maintenance.email] = "550 5.1.1 No such mailbox"
    report_down(machine, by=operator)
    fan_out()
    refused = Delivery.objects.get(user=maintenance)
    other = Delivery.objects.get(user=second_maintenance)
    assert notify.deliver(refused.pk) == Delivery.State.FAILED
    assert notify.deliver(other.pk) == Delivery.State.SENT
    assert [m.envelope_to for m in smtp_server.messages] == [[second_maintenance.email]]


def test_a_temporary_refusal_is_tried_again_later(smtp_server, with_addresses, machine):
    operator, maintenance, _ = with_addresses
    smtp_server.refuse[maintenance.email] = "451 4.2.0 Mailbox busy, try later"
    report_down(machine, by=operator)
    fan_out()
    before = timezone.now()
    deliver_due()

    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.next_attempt_at >= before + notify.RETRY_DELAYS[0] - timedelta(seconds=1)
    [attempt] = delivery.tries.all()
    assert not attempt.ok and "451" in attempt.error and "Mailbox busy" in attempt.error

    del smtp_server.refuse[maintenance.email]
    deliver_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 2
    assert len(smtp_server.messages) == 1


def test_a_hanging_mail_server_is_given_up_on_after_email_timeout_and_the_report_never_waits(
        smtp_server, settings, with_addresses, machine):
    operator, maintenance, _ = with_addresses
    smtp_server.hang_seconds = 5
    started = time.monotonic()
    issue = report_down(machine, by=operator)
    assert time.monotonic() - started < 0.5  # the report only wrote its rows
    assert issue.pk and issue.events.filter(kind=IssueEvent.Kind.CREATED, notify_pending=True).exists()

    fan_out()
    started = time.monotonic()
    deliver_due()
    took = time.monotonic() - started
    assert settings.MAIL_TIMEOUT <= took < settings.MAIL_TIMEOUT + 1.5
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING and delivery.next_attempt_at > timezone.now()
    [attempt] = delivery.tries.all()
    assert not attempt.ok and "mail server" in attempt.error

    smtp_server.hang_seconds = 0
    deliver_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert [m.envelope_to for m in smtp_server.messages] == [[maintenance.email]]


def test_a_mail_server_that_is_down_then_up_gets_the_mail_once_on_the_retry(smtp_server, with_addresses, machine):
    operator, maintenance, _ = with_addresses
    smtp_server.stop()
    report_down(machine, by=operator)
    fan_out()
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert "Could not reach the mail server" in delivery.last_error

    smtp_server.start()
    deliver_due(now=delivery.next_attempt_at)
    deliver_due(now=later(3600))  # nothing more to send, however long one waits
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 2
    assert [m.envelope_to for m in smtp_server.messages] == [[maintenance.email]]
