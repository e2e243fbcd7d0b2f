"""Notifications in the admin go through the same rules and functions as the notifications page: a webhook's
URL checked, e-mail only to someone with an address, a secret shown once (on making or rotating it) and never
on a page, tests and redeliveries through floor/notify.py, the delivery log read-only."""

import pytest
from django.urls import reverse

from floor.models import Channel, ChannelHealth, Delivery, DeliveryAttempt, EscalationRule, Notice, Subscription

pytestmark = pytest.mark.django_db

HOOK = "https://receiver.plant.example/hooks/logbook?token=URLTOKEN"


@pytest.fixture
def subscription(maintenance):
    return Subscription.objects.create(user=maintenance, name="Hall 2 receiver", channel=Channel.WEBHOOK, url=HOOK,
                                       notices=[Notice.MACHINE_DOWN, Notice.RESOLVED])


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages]


def act(admin_client, model, action, *objects):
    return admin_client.post(reverse(f"admin:floor_{model}_changelist"),
                             {"action": action, "_selected_action": [o.pk for o in objects]}, follow=True)


def add_subscription(admin_client, user, follow=False, **values):
    data = {"user": user.pk, "name": "", "channel": "webhook", "url": "", "notices": ["machine_down"],
            "active": "on", **values}
    return admin_client.post(reverse("admin:floor_subscription_add"), data, follow=follow)


# --- subscriptions --------------------------------------------------------------------------------------
def test_the_list_shows_who_hears_what_and_never_a_secret(admin_client, subscription):
    response = admin_client.get(reverse("admin:floor_subscription_changelist"), {"channel": "webhook", "active": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Hall 2 receiver" in page and "Machine down, Issue resolved" in page and "marek" in page
    assert subscription.secret not in page
    change = admin_client.get(reverse("admin:floor_subscription_change", args=[subscription.pk])).content.decode()
    assert subscription.secret not in change and 'name="secret"' not in change
    assert admin_client.get(reverse("admin:floor_subscription_changelist"), {"channel": "email"}
                            ).content.decode().count("Hall 2 receiver") == 0


def test_a_webhook_made_in_the_admin_shows_its_secret_once_in_a_message(admin_client, maintenance):
    response = add_subscription(admin_client, maintenance, follow=True, name="ntfy", channel="ntfy",
                                url="https://ntfy.plant.example/maintenance")
    assert response.redirect_chain[0][1] == 302
    made = Subscription.objects.get()
    assert made.user == maintenance and made.secret.startswith("whsec_")
    shown = [m for m in messages_of(response) if made.secret in m]
    assert len(shown) == 1 and "not shown again" in shown[0]
    assert response.content.decode().count(made.secret) == 1
    assert made.secret not in admin_client.get(reverse("admin:floor_subscription_change", args=[made.pk])
                                               ).content.decode()


@pytest.mark.parametrize("url, says", [
    ("http://169.254.169.254/latest", "a cloud metadata address"),
    ("http://127.0.0.1:9000/hook", "WEBHOOK_ALLOW_LOOPBACK is off"),
    ("", "A webhook needs the URL to post to."),
])
def test_the_admin_refuses_what_the_page_refuses(admin_client, maintenance, settings, url, says):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = add_subscription(admin_client, maintenance, url=url)
    assert response.status_code == 200 and says in response.content.decode()
    assert not Subscription.objects.exists()


def test_e_mail_for_someone_without_an_address_is_refused_and_named(admin_client, maintenance):
    response = add_subscription(admin_client, maintenance, channel="email")
    assert "Marek has no e-mail address in Machine Logbook" in response.content.decode()
    assert not Subscription.objects.exists()
    maintenance.email = "marek@plant.example"
    maintenance.save()
    assert add_subscription(admin_client, maintenance, channel="email").status_code == 302
    assert Subscription.objects.get().secret == ""


def test_rotate_secret_shows_the_new_one_once(admin_client, subscription):
    old = subscription.secret
    response = act(admin_client, "subscription", "rotate_secret", subscription)
    subscription.refresh_from_db()
    assert subscription.secret != old and subscription.previous_secret == old
    shown = [m for m in messages_of(response) if subscription.secret in m]
    assert len(shown) == 1 and "keeps signing beside it for 24 h" in shown[0] and old not in shown[0]
    again = admin_client.get(reverse("admin:floor_subscription_changelist")).content.decode()
    assert subscription.secret not in again


def test_send_a_test_makes_a_delivery_through_the_subscription(admin_client, admin_user, subscription):
    response = act(admin_client, "subscription", "send_test", subscription)
    test = Delivery.objects.get()
    assert (test.notice, test.state, test.subscription, test.target) == ("test", "pending", subscription, HOOK)
    assert admin_user.first_name in test.payload["text"] or admin_user.username in test.payload["text"]
    assert any("1 test message on the way" in m for m in messages_of(response))


# --- escalation rules --------------------------------------------------------------------------------------
def test_an_escalation_rule_is_made_for_a_department(admin_client, department):
    form = admin_client.get(reverse("admin:floor_escalationrule_add")).content.decode()
    assert f'<option value="{department.pk}">Milling</option>' in form
    response = admin_client.post(reverse("admin:floor_escalationrule_add"),
                                 {"department": department.pk, "first_after_minutes": 5, "again_after_minutes": 0})
    assert response.status_code == 302
    rule = EscalationRule.objects.get()
    assert (rule.department, rule.first_after_minutes, rule.again_after_minutes) == (department, 5, 0)


# --- the delivery log ----------------------------------------------------------------------------------------
@pytest.fixture
def failed(subscription):
    delivery = Delivery.objects.create(key="event:1/url:abc", notice=Notice.MACHINE_DOWN, channel=Channel.WEBHOOK,
                                       user=subscription.user, subscription=subscription, target=HOOK,
                                       state=Delivery.State.FAILED, attempts=9,
                                       last_error="The endpoint answered 410 Gone")
    DeliveryAttempt.objects.create(delivery=delivery, duration_ms=120, status_code=410,
                                   response_excerpt="gone for good", error="The endpoint answered 410 Gone")
    return delivery


def test_the_delivery_log_is_read_only_and_shows_its_tries_without_the_url(admin_client, failed):
    listing = admin_client.get(reverse("admin:floor_delivery_changelist")).content.decode()
    assert "event:1/url:abc" in listing and "Webhook (signed JSON) at receiver.plant.example" in listing
    assert "URLTOKEN" not in listing
    page = admin_client.get(reverse("admin:floor_delivery_change", args=[failed.pk])).content.decode()
    assert "gone for good" in page and "410" in page
    assert "URLTOKEN" not in page and 'name="state"' not in page and 'name="_save"' not in page
    assert admin_client.get(reverse("admin:floor_delivery_add")).status_code == 403
    admin_client.post(reverse("admin:floor_delivery_change", args=[failed.pk]), {"state": "sent"})
    failed.refresh_from_db()
    assert failed.state == Delivery.State.FAILED


def test_redeliver_sends_a_delivery_again(admin_client, failed):
    response = act(admin_client, "delivery", "redeliver", failed)
    failed.refresh_from_db()
    assert failed.state == Delivery.State.PENDING and failed.attempts == 0  # its tries start over
    assert any("1 sent again" in m for m in messages_of(response))


def test_only_those_who_may_change_deliveries_may_redeliver(client, django_user_model, failed):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(clerk)
    listing = client.get(reverse("admin:floor_delivery_changelist"))
    assert listing.status_code == 200 and 'value="redeliver"' not in listing.content.decode()
    client.post(reverse("admin:floor_delivery_changelist"), {"action": "redeliver", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.state == Delivery.State.FAILED

    clerk.user_permissions.add(Permission.objects.get(codename="change_delivery"))
    clerk = django_user_model.objects.get(pk=clerk.pk)  # permissions are cached per user object
    client.force_login(clerk)
    assert 'value="redeliver"' in client.get(reverse("admin:floor_delivery_changelist")).content.decode()


def test_channel_health_is_read_only(admin_client):
    health = ChannelHealth.objects.create(key="smtp", failures=3, last_error="Could not reach the mail server")
    assert "Could not reach the mail server" in admin_client.get(
        reverse("admin:floor_channelhealth_changelist")).content.decode()
    assert admin_client.get(reverse("admin:floor_channelhealth_add")).status_code == 403
    admin_client.post(reverse("admin:floor_channelhealth_change", args=[health.pk]), {"failures": 0})
    health.refresh_from_db()
    assert health.failures == 3
