"""The notifications page: what a person hears (their subscriptions, or their role's default), adding and
changing subscriptions with the server's rules for webhooks and e-mail, a webhook's secret shown once, a
test through a subscription, and the log of what was sent, each person seeing only their own."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from floor.models import Channel, Delivery, DeliveryAttempt, Notice, Subscription
from floor.tasks import deliver_task

pytestmark = pytest.mark.django_db

HOOK = "https://receiver.plant.example/hooks/logbook"  # .example never resolves: nothing is posted


@pytest.fixture(autouse=True)
def mail_on(settings):
    settings.MAIL_ENABLED = True  # EMAIL_HOST set (logbook_site/settings.py)


@pytest.fixture
def marek(maintenance):
    maintenance.email = "marek@plant.example"
    maintenance.save()
    return maintenance


def page(client):
    response = client.get(reverse("notifications"))
    assert response.status_code == 200
    return response.content.decode()


def text(html):
    """The page's words as a reader sees them, without tags and with single spaces."""
    words = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    return re.sub(r" ([,.:;)])", r"\1", words)


def add(client, htmx=False, **values):
    data = {"name": "", "channel": "email", "url": "", "notices": ["machine_down"], "active": "on", **values}
    headers = {"HX-Request": "true", "HX-Target": "notifications-main"} if htmx else {}
    return client.post(reverse("notifications"), data, headers=headers)


def webhook(user, **values):
    return Subscription.objects.create(user=user, **{"name": "Hall 2 receiver", "channel": Channel.WEBHOOK,
                                                     "url": HOOK, "notices": [Notice.MACHINE_DOWN], **values})


def delivery(user, subscription=None, **values):
    values = {"key": f"test:{Delivery.objects.count()}", "notice": Notice.MACHINE_DOWN,
              "channel": subscription.channel if subscription else Channel.EMAIL, "user": user,
              "subscription": subscription, "target": subscription.url if subscription else user.email, **values}
    return Delivery.objects.create(**values)


# --- what a person hears ----------------------------------------------------------------------------
def test_maintenance_without_a_subscription_hears_machines_down_by_email(client, marek):
    client.force_login(marek)
    words = text(page(client))
    assert "You hear the default for your role: Machine down, by e-mail to marek@plant.example." in words
    assert "E-mail is off" not in words and "no e-mail address" not in words


def test_a_manager_hears_escalations_and_the_daily_summary_by_default(client, manager):
    manager.email = "mia@plant.example"
    manager.save()
    client.force_login(manager)
    words = text(page(client))
    assert ("You hear the default for your role: Machine down and nobody answering (escalation), Daily summary, "
            "by e-mail to mia@plant.example.") in words


def test_without_an_email_address_the_page_says_nothing_arrives_by_email(client, maintenance):
    client.force_login(maintenance)
    html = page(client)
    assert "data-no-email" in html
    assert "you hear nothing by e-mail until one is set. An administrator sets it" in text(html)


@pytest.mark.parametrize("enabled, off", [(False, True), (True, False)], ids=["no EMAIL_HOST", "EMAIL_HOST set"])
def test_the_page_says_when_email_is_off_on_the_server(client, marek, settings, enabled, off):
    settings.MAIL_ENABLED = enabled
    client.force_login(marek)
    words = text(page(client))
    assert ("E-mail is off on this server (EMAIL_HOST is not set): only webhooks are sent." in words) is off


def test_a_subscription_of_ones_own_replaces_the_default_and_shows_only_the_host_of_a_webhook(client, marek):
    Subscription.objects.create(user=marek, name="Teams: hall 2", channel=Channel.TEAMS,
                                url="https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers?sig=S3CR3T",
                                notices=[Notice.MACHINE_DOWN, Notice.ESCALATED])
    client.force_login(marek)
    html = page(client)
    words = text(html)
    assert "default for your role" not in words
    assert "Teams: hall 2" in words and "at prod-12.westeurope.logic.azure.com" in words
    assert "Machine down, Machine down and nobody answering (escalation)" in words and "Every machine" in words
    assert "S3CR3T" not in html and "/workflows/abc" not in html


def test_the_page_says_so_when_every_subscription_is_paused(client, marek):
    webhook(marek, active=False)
    client.force_login(marek)
    words = text(page(client))
    assert "Paused" in words and "Every subscription of yours is paused, so you hear nothing." in words


def test_the_navigation_leads_to_the_page_for_the_desk_and_not_for_operators(client, marek, operator):
    client.force_login(marek)
    assert f'href="{reverse("notifications")}"' in client.get(reverse("desk")).content.decode()
    client.force_login(operator)
    assert f'href="{reverse("notifications")}"' not in client.get(reverse("machine_list")).content.decode()


# --- adding and changing -------------------------------------------------------------------------------
def test_adding_an_email_subscription_redirects_back_and_it_is_heard(client, marek, machine, department):
    client.force_login(marek)
    response = add(client, name="My machines", notices=["machine_down", "assigned"], machines=[machine.pk])
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    subscription = Subscription.objects.get()
    assert (subscription.user, subscription.channel, subscription.secret) == (marek, "email", "")
    assert subscription.notices == ["machine_down", "assigned"]
    assert list(subscription.machines.all()) == [machine]
    words = text(page(client))
    assert "My machines" in words and "to marek@plant.example" in words and machine.name in words
    assert "Subscription “My machines” added." in words


def test_an_email_subscription_needs_an_email_address(client, maintenance):
    client.force_login(maintenance)
    response = add(client, name="Mail me")
    assert response.status_code == 400
    assert "You have no e-mail address in Machine Logbook, so e-mail cannot arrive." in response.content.decode()
    assert not Subscription.objects.exists()


def test_a_webhook_subscription_shows_its_secret_once(client, admin_client, marek):
    client.force_login(marek)
    response = add(client, name="Hall 2 receiver", channel="webhook", url=HOOK)
    assert response.status_code == 200  # the page itself: the secret is in no session or message
    subscription = Subscription.objects.get()
    assert subscription.secret.startswith("whsec_")
    html = response.content.decode()
    assert subscription.secret in html
    assert "webhook-id" in html and "webhook-timestamp" in html and "webhook-signature" in html
    assert "no-store" in response["Cache-Control"]

    assert subscription.secret not in page(client)
    admin_page = admin_client.get(reverse("admin:floor_subscription_change", args=[subscription.pk]))
    assert admin_page.status_code == 200 and subscription.secret not in admin_page.content.decode()
    assert subscription.secret not in admin_client.get(reverse("admin:floor_subscription_changelist")).content.decode()


def test_an_htmx_add_answers_the_fragment_with_the_secret(client, marek):
    client.force_login(marek)
    response = add(client, htmx=True, name="ntfy", channel="ntfy", url="https://ntfy.plant.example/maintenance")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<div id="notifications-main"') and "<html" not in html
    assert Subscription.objects.get().secret in html
    assert response["HX-Push-Url"] == reverse("notifications")
    assert response["HX-Reswap"] == "outerHTML show:window:top"  # the secret is at the top: show it
    assert 'hx-history="false"' in html  # htmx keeps no copy of the page with the secret in localStorage


def test_the_change_form_comes_as_a_fragment_and_whole_when_history_is_restored(client, marek):
    subscription = webhook(marek)
    client.force_login(marek)
    url = reverse("subscription", args=[subscription.pk])
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "notifications-main"}).content.decode()
    assert fragment.strip().startswith('<div id="notifications-main"') and "Change “Hall 2 receiver”" in fragment
    whole = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}).content.decode()
    assert whole.lstrip().startswith("<!doctype html>") and "Change “Hall 2 receiver”" in whole


@pytest.mark.parametrize("url, says", [
    ("http://169.254.169.254/latest", "a cloud metadata address"),
    ("https://logbook.plant.example/api/issues/", "A webhook cannot point at Machine Logbook itself."),
    ("http://127.0.0.1:9000/hook", "loopback; WEBHOOK_ALLOW_LOOPBACK is off"),
])
def test_a_webhook_url_the_server_will_not_post_to_is_refused_and_the_form_kept(client, marek, settings, url, says):
    settings.SITE_URL = "https://logbook.plant.example"
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    client.force_login(marek)
    response = add(client, name="My receiver", channel="webhook", url=url, notices=["machine_down", "resolved"])
    html = response.content.decode()
    assert response.status_code == 400
    assert says in html and 'id="id_url_error"' in html and 'aria-invalid="true"' in html
    assert not Subscription.objects.exists()
    assert f'value="{url}"' in html and 'value="My receiver"' in html
    assert re.search(r'<option value="webhook"[^>]*selected', html)
    assert re.search(r'value="resolved"[^>]*checked', html)


def test_loopback_is_allowed_when_the_server_says_so(client, marek, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    client.force_login(marek)
    assert add(client, channel="ntfy", url="http://127.0.0.1:2586/maintenance").status_code == 200
    assert Subscription.objects.get().url == "http://127.0.0.1:2586/maintenance"


@pytest.mark.parametrize("values, says", [
    ({"notices": []}, "Tick at least one thing to hear about."),
    ({"channel": "webhook"}, "A webhook needs the URL to post to."),
    ({"url": HOOK}, "E-mail goes to an address, not to a URL"),
    ({"channel": "pigeon"}, "Select a valid choice."),
])
def test_bad_input_comes_back_in_the_form_with_its_error(client, marek, department, values, says):
    client.force_login(marek)
    response = add(client, name="Typed name", departments=[department.pk], **values)
    html = response.content.decode()
    assert response.status_code == 400 and says in html
    assert 'value="Typed name"' in html and re.search(rf'value="{department.pk}"[^>]*checked', html)
    assert not Subscription.objects.exists()


def test_changing_a_subscription_keeps_its_secret_and_url_and_goes_back_to_the_page(client, marek, department):
    teams = "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers?sig=S3CR3T"
    subscription = webhook(marek, channel=Channel.TEAMS, url=teams)
    client.force_login(marek)
    form_page = client.get(reverse("subscription", args=[subscription.pk])).content.decode()
    assert "Change “Hall 2 receiver”" in form_page and 'value="Hall 2 receiver"' in form_page
    assert "Now a URL at prod-12.westeurope.logic.azure.com" in form_page
    assert subscription.secret not in form_page and "S3CR3T" not in form_page
    response = client.post(reverse("subscription", args=[subscription.pk]),
                           {"name": "Hall 2", "channel": "teams", "url": "", "notices": ["resolved"],
                            "departments": [department.pk], "active": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    changed = Subscription.objects.get()
    assert (changed.name, changed.notices, changed.url) == ("Hall 2", ["resolved"], teams)
    assert changed.secret == subscription.secret
    assert list(changed.departments.all()) == [department]

    client.post(reverse("subscription", args=[subscription.pk]),
                {"name": "Hall 2", "channel": "teams", "url": HOOK, "notices": ["resolved"], "active": "on"})
    assert Subscription.objects.get().url == HOOK


def test_a_change_that_is_refused_keeps_the_subscription_as_it_was(client, marek):
    subscription = webhook(marek)
    client.force_login(marek)
    response = client.post(reverse("subscription", args=[subscription.pk]),
                           {"name": "Renamed", "channel": "webhook", "url": "http://169.254.169.254/", "notices": []},
                           headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 400 and "Change “Hall 2 receiver”" in html and 'value="Renamed"' in html
    assert "Tick at least one thing" in html and "a cloud metadata address" in html
    assert Subscription.objects.get().name == "Hall 2 receiver"


def test_changing_an_email_subscription_into_a_webhook_shows_its_new_secret(client, marek):
    subscription = Subscription.objects.create(user=marek, name="Mine", notices=[Notice.MACHINE_DOWN])
    client.force_login(marek)
    response = client.post(reverse("subscription", args=[subscription.pk]),
                           {"name": "Mine", "channel": "webhook", "url": HOOK, "notices": ["machine_down"],
                            "active": "on"}, headers={"HX-Request": "true"})
    subscription.refresh_from_db()
    assert response.status_code == 200 and subscription.secret and subscription.secret in response.content.decode()
    assert response["HX-Push-Url"] == reverse("notifications")


def test_pausing_resuming_and_deleting(client, marek):
    subscription = webhook(marek)
    client.force_login(marek)
    client.post(reverse("subscription_active", args=[subscription.pk]), {"active": "no"})
    subscription.refresh_from_db()
    assert not subscription.active
    client.post(reverse("subscription_active", args=[subscription.pk]), {"active": "yes"})
    subscription.refresh_from_db()
    assert subscription.active
    assert client.post(reverse("subscription_active", args=[subscription.pk]), {"active": "?"}).status_code == 400

    response = client.post(reverse("subscription_delete", args=[subscription.pk]), headers={"HX-Request": "true"})
    words = text(response.content.decode())
    assert not Subscription.objects.exists()
    assert "You hear your role's default again." in words and "You hear the default for your role" in words


def test_rotating_the_secret_shows_the_new_one_once_and_says_the_old_one_still_signs(client, marek):
    subscription = webhook(marek)
    old = subscription.secret
    client.force_login(marek)
    response = client.post(reverse("subscription_secret", args=[subscription.pk]))
    subscription.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200 and subscription.secret != old and subscription.previous_secret == old
    assert subscription.secret in html and old not in html
    assert "The old secret keeps signing beside the new one for 24 h" in text(html)
    later = page(client)
    assert subscription.secret not in later and old not in later


def test_an_email_subscription_has_no_secret_to_rotate(client, marek):
    subscription = Subscription.objects.create(user=marek, notices=[Notice.MACHINE_DOWN])
    client.force_login(marek)
    response = client.post(reverse("subscription_secret", args=[subscription.pk]))
    assert response.status_code == 400 and "Only a webhook has a signing secret." in response.content.decode()


# --- a test, and the log -----------------------------------------------------------------------------
def test_send_a_test_queues_a_delivery_that_the_log_polls(client, marek, django_capture_on_commit_callbacks):
    subscription = webhook(marek)
    client.force_login(marek)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("subscription_test", args=[subscription.pk]), headers={"HX-Request": "true"})
    sent = Delivery.objects.get()
    assert (sent.notice, sent.state, sent.subscription, sent.user) == ("test", "pending", subscription, marek)
    assert DBTaskResult.objects.filter(task_path=deliver_task.module_path, args_kwargs__args=[sent.pk]).exists()
    html = response.content.decode()
    assert html.strip().startswith('<div id="notifications-main"')
    assert response["HX-Reswap"] == "outerHTML show:#deliveries:top"  # where its outcome shows
    row = re.search(rf'<li id="delivery-{sent.pk}"[^>]*>', html).group(0)
    assert f'hx-get="{reverse("delivery_row", args=[sent.pk])}"' in row and 'hx-trigger="every 2s"' in row


def test_a_plain_test_post_redirects_to_the_log(client, marek):
    subscription = webhook(marek)
    client.force_login(marek)
    response = client.post(reverse("subscription_test", args=[subscription.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("notifications") + "#deliveries"
    assert Delivery.objects.get().state == Delivery.State.PENDING


def test_a_test_by_email_is_refused_while_email_is_off(client, marek, settings):
    settings.MAIL_ENABLED = False
    subscription = Subscription.objects.create(user=marek, notices=[Notice.MACHINE_DOWN])
    client.force_login(marek)
    response = client.post(reverse("subscription_test", args=[subscription.pk]))
    assert response.status_code == 400 and "a test by e-mail cannot be sent" in response.content.decode()
    assert not Delivery.objects.exists()


def test_a_polled_row_stops_polling_once_sent(client, marek):
    subscription = webhook(marek)
    row = delivery(marek, subscription)
    client.force_login(marek)
    url = reverse("delivery_row", args=[row.pk])
    pending = client.get(url, headers={"HX-Request": "true"})
    assert pending.status_code == 200 and 'hx-trigger="every 2s"' in pending.content.decode()
    assert pending.content.decode().strip().startswith(f'<li id="delivery-{row.pk}"')

    Delivery.objects.filter(pk=row.pk).update(state=Delivery.State.SENT, sent_at=timezone.now(), attempts=1)
    sent = client.get(url, headers={"HX-Request": "true"})
    assert sent.status_code == 286 and "hx-trigger" not in sent.content.decode() and "Sent" in sent.content.decode()


def test_a_row_waiting_long_for_its_next_try_polls_slowly(client, marek):
    row = delivery(marek, webhook(marek), attempts=3, next_attempt_at=timezone.now() + timedelta(minutes=10))
    client.force_login(marek)
    html = client.get(reverse("delivery_row", args=[row.pk])).content.decode()
    assert 'hx-trigger="every 30s"' in html and "Next try at" in html


def test_the_log_shows_each_try(client, marek):
    row = delivery(marek, webhook(marek), state=Delivery.State.FAILED, attempts=2,
                   last_error="The endpoint answered 503 Service Unavailable")
    start = timezone.now() - timedelta(minutes=5)
    DeliveryAttempt.objects.create(delivery=row, started_at=start, duration_ms=812, status_code=503,
                                   response_excerpt="upstream down",
                                   error="The endpoint answered 503 Service Unavailable")
    DeliveryAttempt.objects.create(delivery=row, started_at=start + timedelta(seconds=10), duration_ms=10_004,
                                   error="No answer from the endpoint: timed out")
    client.force_login(marek)
    html = page(client)
    words = text(html)
    assert "Gave up" in words and "2 tries" in words and "Tries (2)" in words and html.count("data-try") == 2
    assert "812 ms · status 503" in words and "upstream down" in words
    assert "No answer from the endpoint: timed out" in words
    assert "Webhook (signed JSON) at receiver.plant.example" in words and "/hooks/logbook" not in html
    assert f'action="{reverse("delivery_redeliver", args=[row.pk])}"' in html


def test_redeliver_sends_a_failed_delivery_again(client, marek):
    row = delivery(marek, webhook(marek), state=Delivery.State.FAILED, attempts=9, last_error="gone")
    client.force_login(marek)
    response = client.post(reverse("delivery_redeliver", args=[row.pk]), headers={"HX-Request": "true"})
    row.refresh_from_db()
    assert response.status_code == 200 and row.state == Delivery.State.PENDING
    html = response.content.decode()
    assert html.strip().startswith(f'<li id="delivery-{row.pk}"') and 'hx-trigger="every 2s"' in html

    plain = client.post(reverse("delivery_redeliver", args=[row.pk]))  # still pending: nothing to send again
    assert plain.status_code == 400 and "Only a message that was sent or given up on" in plain.content.decode()


def test_the_log_holds_ones_own_email_and_subscriptions_only(client, marek, manager):
    manager.email = "mia@plant.example"
    manager.save()
    delivery(marek, notice=Notice.ASSIGNED)
    delivery(manager, notice=Notice.DAILY_SUMMARY)
    delivery(manager, webhook(manager, name="Mia's receiver"), notice=Notice.ESCALATED)
    client.force_login(marek)
    words = text(page(client))
    assert "Issue assigned to me" in words
    assert "Daily summary" not in words.split("Delivery log")[1] and "escalation" not in words.split("Delivery log")[1]


def test_the_page_takes_the_same_queries_however_much_there_is(client, marek, machine, department,
                                                                django_assert_max_num_queries):
    for n in range(8):
        subscription = webhook(marek, name=f"Receiver {n}")
        subscription.machines.add(machine)
        subscription.departments.add(department)
        for m in range(5):
            row = delivery(marek, subscription, state=Delivery.State.FAILED, attempts=1)
            DeliveryAttempt.objects.create(delivery=row, error="refused")
    client.force_login(marek)
    with django_assert_max_num_queries(11):
        page(client)


# --- who may --------------------------------------------------------------------------------------------
def test_another_persons_subscription_and_deliveries_are_not_found(client, marek, manager):
    theirs = webhook(manager)
    their_delivery = delivery(manager, theirs, state=Delivery.State.FAILED)
    client.force_login(marek)
    for name in ("subscription", "subscription_active", "subscription_test", "subscription_secret",
                 "subscription_delete"):
        url = reverse(name, args=[theirs.pk])
        assert client.post(url, {"active": "no", "name": "x", "channel": "email", "notices": ["resolved"]}
                           ).status_code == 404, name
    assert client.get(reverse("subscription", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("delivery_row", args=[their_delivery.pk])).status_code == 404
    assert client.post(reverse("delivery_redeliver", args=[their_delivery.pk])).status_code == 404
    theirs.refresh_from_db()
    their_delivery.refresh_from_db()
    assert theirs.active and theirs.name == "Hall 2 receiver" and their_delivery.state == Delivery.State.FAILED
    assert not Delivery.objects.filter(notice=Notice.TEST).exists()


def test_operators_are_refused(client, operator):
    subscription = webhook(operator)
    client.force_login(operator)
    assert client.get(reverse("notifications")).status_code == 403
    assert add(client, channel="webhook", url=HOOK).status_code == 403
    assert client.post(reverse("subscription_test", args=[subscription.pk])).status_code == 403
    assert Subscription.objects.count() == 1


def test_posts_need_the_csrf_token(marek):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(marek)
    assert add(client, name="x").status_code == 403
    assert not Subscription.objects.exists()
