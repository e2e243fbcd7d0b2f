"""Sign-in is throttled: an account after a few wrong passwords, an address only after many, each for a while,
with the reason and the time to try again on the login page, and an administrator can unlock at once."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from django.test import RequestFactory
from django.urls import reverse

from logbook_site.login_throttle import client_address
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
TABLET = "10.20.0.31"  # the hall's NAT address: every tablet there signs in from it


def sign_in(client, username, password, address=TABLET, **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address,
                       headers=headers)


def signed_in(client):
    return "_auth_user_id" in client.session


def fail(client, username, times, address=TABLET, **headers):
    for _ in range(times):
        response = sign_in(client, username, "wrong", address, **headers)
    return response


def page_text(response):
    """What a person reads: the page without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def age_failures(minutes, seconds=0):
    """As if the failures on record had happened this long ago."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes, seconds=seconds))


def test_right_password_after_five_wrong_ones_is_refused_and_says_when_to_try_again(client, operator):
    for attempt in range(4):
        response = sign_in(client, "olga", "wrong")
        assert response.status_code == 200
        assert b"enter a correct username and password" in response.content

    fifth = sign_in(client, "olga", "wrong")
    assert fifth.status_code == 429
    assert b"Too many wrong passwords for olga" in fifth.content

    response = sign_in(client, "olga", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    text = page_text(response)
    # The login page itself, with the reason, the time to try again and who can help now.
    assert "Sign in" in text and 'value="olga"' in response.content.decode()
    until = re.search(r"Try again at (\d\d:\d\d)", text)
    assert until, text
    attempt = AccessAttempt.objects.get(username="olga")
    assert until.group(1) == (attempt.attempt_time + timedelta(minutes=15)).strftime("%H:%M")  # TIME_ZONE is UTC
    assert "in 15 minutes" in text
    assert "An administrator can unlock it now" in text
    assert "enter a correct username and password" not in text  # the password was right: say why it failed
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    # Same page, same policy: no inline script or style crept in.
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    assert "style=" not in response.content.decode() and "<script>" not in response.content.decode()


def test_attempts_during_a_lockout_do_not_push_the_time_back(client, operator):
    fail(client, "olga", 5)
    first = AccessAttempt.objects.get(username="olga").attempt_time
    age_failures(minutes=10)
    response = fail(client, "olga", 3)
    assert response.status_code == 429
    assert AccessAttempt.objects.get(username="olga").attempt_time == first - timedelta(minutes=10)
    assert "in 5 minutes" in page_text(response)


def test_four_wrong_passwords_then_the_right_one_signs_in(client, operator):
    fail(client, "olga", 4)
    response = sign_in(client, "olga", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_one_persons_mistakes_do_not_lock_another_account_on_the_same_tablet(client, operator, maintenance):
    assert fail(client, "olga", 5).status_code == 429

    response = sign_in(client, "marek", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_the_locked_account_is_locked_on_every_tablet(client, operator):
    fail(client, "olga", 5)
    response = sign_in(client, "olga", PASSWORD, address="10.20.0.77")
    assert response.status_code == 429 and not signed_in(client)


def test_an_address_is_locked_only_after_many_failures_over_all_accounts(client, maintenance):
    # 13 people each mistype 4 times: no account is locked, but 52 failures from one address are too many.
    for n in range(12):
        fail(client, f"worker{n}", 4)
    assert sign_in(client, "marek", PASSWORD).status_code == 302
    client.logout()
    fail(client, "worker12", 4)

    response = sign_in(client, "marek", PASSWORD)
    assert response.status_code == 429 and not signed_in(client)
    text = page_text(response)
    assert "Too many failed sign-ins from this address" in text
    assert "An administrator can unlock it now" in text
    assert re.search(r"Try again at \d\d:\d\d", text)
    # Elsewhere the same account signs in.
    assert sign_in(client, "marek", PASSWORD, address="10.20.0.77").status_code == 302


def test_sign_in_works_again_after_the_lockout_period(client, operator):
    fail(client, "olga", 5)
    age_failures(minutes=14, seconds=50)
    assert sign_in(client, "olga", PASSWORD).status_code == 429

    age_failures(minutes=0, seconds=11)
    response = sign_in(client, "olga", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_limits_and_period_follow_the_settings(client, operator, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    assert sign_in(client, "olga", "wrong").status_code == 200
    response = sign_in(client, "olga", "wrong")
    assert response.status_code == 429 and "in 3 minutes" in page_text(response)
    age_failures(minutes=3, seconds=1)
    assert sign_in(client, "olga", PASSWORD).status_code == 302


def test_admin_unlocks_an_account_on_the_access_attempts_page(client, operator, admin_user):
    fail(client, "olga", 5)

    admin = client.__class__()
    admin.force_login(admin_user)
    changelist = reverse("admin:axes_accessattempt_changelist")
    page = admin.get(changelist)
    assert page.status_code == 200 and b"olga" in page.content
    assert reverse("admin:axes_accessattempt_changelist").encode() in admin.get(reverse("admin:index")).content
    attempt = AccessAttempt.objects.get(username="olga")
    response = admin.post(changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()

    response = sign_in(client, "olga", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_axes_reset_username_unlocks_that_account_only(client, operator, maintenance):
    fail(client, "olga", 5)
    fail(client, "marek", 5)

    call_command("axes_reset_username", "olga")

    assert sign_in(client, "olga", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "marek", PASSWORD).status_code == 429


def test_axes_reset_unlocks_everyone(client, operator):
    fail(client, "olga", 5)
    call_command("axes_reset")
    assert sign_in(client, "olga", PASSWORD).status_code == 302


def test_the_admin_login_counts_towards_the_same_lock(client, operator):
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "olga", "password": "wrong"}, REMOTE_ADDR=TABLET)
    assert sign_in(client, "olga", PASSWORD).status_code == 429


def test_forwarded_for_is_ignored_unless_a_proxy_is_configured(client, maintenance, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    # No proxy configured: whatever a client writes into X-Forwarded-For changes nothing.
    for n in range(6):
        fail(client, f"worker{n}", 1, **{"X-Forwarded-For": f"192.0.2.{n}"})
    assert sign_in(client, "marek", PASSWORD, **{"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_behind_a_configured_proxy_each_forwarded_address_counts_alone(client, maintenance, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    settings.REVERSE_PROXY_COUNT = 1
    proxy = "10.20.0.2"
    for n in range(6):
        # The hall's tablets, through the proxy; a forged entry in front is not believed.
        fail(client, f"worker{n}", 1, address=proxy, **{"X-Forwarded-For": f"192.0.2.{n}, {TABLET}"})
    hall = {"X-Forwarded-For": TABLET}
    office = {"X-Forwarded-For": "10.20.5.9"}
    assert sign_in(client, "marek", PASSWORD, address=proxy, **hall).status_code == 429
    assert sign_in(client, "marek", PASSWORD, address=proxy, **office).status_code == 302


@pytest.mark.parametrize(
    "proxies, forwarded, expected",
    [
        (0, "192.0.2.1", "10.20.0.2"),
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),
        (2, "6.6.6.6, 192.0.2.1, 10.20.0.3", "192.0.2.1"),
        (2, "192.0.2.1", "10.20.0.2"),  # fewer entries than proxies: it did not come through them all
        (1, "not-an-address", "10.20.0.2"),
        (1, "", "10.20.0.2"),
        (1, "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_address(settings, proxies, forwarded, expected):
    settings.REVERSE_PROXY_COUNT = proxies
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.20.0.2", headers={"X-Forwarded-For": forwarded})
    assert client_address(request) == expected


def test_the_test_clients_login_still_works(client, operator):
    assert client.login(username="olga", password=PASSWORD)
    assert client.get(reverse("machine_list")).status_code == 200


def _settings_in_fresh_interpreter(**variables):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIN_", "REVERSE_PROXY"))}
    env.update(ENV_FILE="/dev/null", DJANGO_SETTINGS_MODULE="logbook_site.settings", **variables)
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.AXES_FAILURE_LIMIT, s.LOGIN_ADDRESS_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), "
            "s.REVERSE_PROXY_COUNT)")
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=60)


def test_limits_come_from_the_environment():
    assert _settings_in_fresh_interpreter().stdout.split() == ["5", "50", "900.0", "0"]
    result = _settings_in_fresh_interpreter(LOGIN_FAILURE_LIMIT="8", LOGIN_ADDRESS_FAILURE_LIMIT="80",
                                            LOGIN_LOCKOUT_MINUTES="30", REVERSE_PROXY_COUNT="1")
    assert result.stdout.split() == ["8", "80", "1800.0", "1"]


@pytest.mark.parametrize("variable", ["LOGIN_FAILURE_LIMIT", "LOGIN_ADDRESS_FAILURE_LIMIT", "LOGIN_LOCKOUT_MINUTES"])
def test_a_limit_below_one_fails_at_start_naming_the_variable(variable):
    result = _settings_in_fresh_interpreter(**{variable: "0"})
    assert result.returncode != 0
    assert variable in result.stderr
