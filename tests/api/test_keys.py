"""API keys: made and revoked in the admin, stored hashed, acting as an account of their role."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from floor.models import APIKey
from floor.roles import assignees
from tests.api.conftest import Caller

pytestmark = pytest.mark.django_db


def test_a_key_made_in_the_admin_is_shown_once_and_stored_hashed(admin_client, machine):
    response = admin_client.post("/admin/floor/apikey/add/", {"name": "MES line 2", "role": "operator"}, follow=True)
    assert response.status_code == 200
    shown = re.search(r"mlk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", response.content.decode()).group(0)
    key = APIKey.objects.get(name="MES line 2")
    assert key.key_hash != shown and shown not in str(APIKey.objects.values().get())
    assert key.prefix in shown and key.created_by.username == "admin"
    assert Caller(shown).get("/api/machines/").status_code == 200
    # It is never shown again.
    assert shown not in admin_client.get(f"/admin/floor/apikey/{key.pk}/change/").content.decode()


def test_revoking_in_the_admin_stops_the_key_at_once(admin_client, make_key):
    key, raw = make_key("maintenance")
    assert Caller(raw).get("/api/issues/").status_code == 200
    admin_client.post("/admin/floor/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None and not key.user.is_active
    assert Caller(raw).get("/api/issues/").status_code == 401


def test_a_keys_role_changed_in_the_admin_changes_what_it_may_do(admin_client, make_key):
    key, raw = make_key("operator", name="Board")
    assert Caller(raw).get("/api/dashboard/metrics/").status_code == 403
    admin_client.post(f"/admin/floor/apikey/{key.pk}/change/", {"name": "Board", "role": "manager"})
    assert Caller(raw).get("/api/dashboard/metrics/").status_code == 200


def test_keys_are_revoked_not_deleted(admin_client, make_key):
    key, _ = make_key()
    assert admin_client.get(f"/admin/floor/apikey/{key.pk}/delete/").status_code == 403


def test_a_key_with_one_character_changed_is_refused(make_key):
    _, raw = make_key()
    wrong = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert Caller(wrong).get("/api/issues/").status_code == 401
    assert Caller(raw + "x").get("/api/issues/").status_code == 401
    assert Caller("mlk_").get("/api/issues/").status_code == 401
    assert Caller("Bearer").get("/api/issues/").status_code == 401


def test_the_key_also_comes_in_x_api_key(make_key):
    _, raw = make_key()
    assert Caller(None, **{"X-API-Key": raw}).get("/api/issues/").status_code == 200


def test_last_use_is_recorded_without_a_write_on_every_call(make_key):
    key, raw = make_key()
    caller = Caller(raw)
    caller.get("/api/departments/")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    caller.get("/api/departments/")
    key.refresh_from_db()
    assert key.last_used_at == first  # within the minute: no second write


def test_a_keys_account_cannot_sign_in_and_is_nobody_to_assign(client, make_key, maintenance):
    key, raw = make_key("maintenance", name="MES")
    assert not key.user.has_usable_password()
    response = client.post("/login/", {"username": key.user.username, "password": raw})
    assert "_auth_user_id" not in client.session and response.status_code == 200
    assert list(assignees()) == [maintenance]


def test_the_keys_account_carries_its_name(make_key):
    key, _ = make_key("manager", name="Scheduling board")
    user = get_user_model().objects.get(pk=key.user_id)
    assert user.get_full_name() == "Scheduling board" and user.groups.get().name == "manager"


def test_keys_can_be_made_listed_and_revoked_from_the_command_line(db):
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("api_key", "create", "Robot cell 3", "--role", "operator", stdout=out)
    raw = out.getvalue().strip()
    assert Caller(raw).get("/api/machines/").status_code == 200
    with pytest.raises(CommandError):
        call_command("api_key", "create", "Robot cell 3", "--role", "operator", stdout=io.StringIO())
    listing = io.StringIO()
    call_command("api_key", "list", stdout=listing)
    assert "Robot cell 3\toperator" in listing.getvalue() and raw not in listing.getvalue()
    call_command("api_key", "revoke", "Robot cell 3", stdout=io.StringIO())
    assert Caller(raw).get("/api/machines/").status_code == 401
