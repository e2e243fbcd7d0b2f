"""Who may do what: the three roles' permissions, and every page and action by every role."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver, reverse

from dashboard.models import DisplayLink
from floor import roles
from floor.models import Attachment, Channel, Delivery, Machine, Notice, Subscription
from floor.reporting import record_remedy, report_issue
from tests import images

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "perm, allowed",
    [
        ("floor.add_issue", {"operator", "maintenance", "manager"}),
        ("floor.view_issue", {"operator", "maintenance", "manager"}),
        ("floor.add_attachment", {"operator", "maintenance", "manager"}),
        ("floor.view_desk", {"maintenance", "manager"}),
        ("floor.print_labels", {"maintenance", "manager"}),
        ("floor.assign_issue", {"maintenance", "manager"}),
        ("floor.change_issue_status", {"maintenance", "manager"}),
        ("floor.add_remedy", {"maintenance", "manager"}),
        ("floor.export_issues", {"maintenance", "manager"}),
        ("floor.view_dashboard", {"manager"}),
        ("floor.delete_issue", set()),
        ("floor.change_machine", set()),
    ],
)
def test_roles_hold_their_permissions(operator, maintenance, manager, outsider, perm, allowed):
    users = {"operator": operator, "maintenance": maintenance, "manager": manager, "outsider": outsider}
    assert {role for role, user in users.items() if user.has_perm(perm)} == allowed


def test_the_migrations_give_each_role_exactly_what_roles_py_says(db):
    # The groups of the test database were made by the migrations alone (0002, then 0010 for the
    # permissions that came later): a misspelt or forgotten codename shows here.
    for role, codenames in roles.ROLES.items():
        held = Group.objects.get(name=role).permissions.values_list("codename", flat=True)
        assert sorted(held) == sorted(codenames), role


# --- every page and action by every role -------------------------------------------------------------
# ok: the page or action is theirs (it answers 200, or 302/286 where that is its reply); 403: refused.
# Someone not signed in is sent to the login page everywhere but there and the wall screen.
ROLES = ("operator", "maintenance", "manager", "outsider")
PAGES = {
    #  page                operator  maintenance  manager  outsider
    "home":              ("ok",     "ok",        "ok",    403),
    "machine_list":      ("ok",     "ok",        "ok",    403),
    "machine_page":      ("ok",     "ok",        "ok",    403),
    "issue_reported":    ("ok",     "ok",        "ok",    403),
    "issue_detail":      ("ok",     "ok",        "ok",    403),
    "issue_similar":     ("ok",     "ok",        "ok",    403),
    "issue_ai":          ("ok",     "ok",        "ok",    403),
    "remedy_ai":         ("ok",     "ok",        "ok",    403),
    "seen_before":       ("ok",     "ok",        "ok",    403),
    "outbox_token":      ("ok",     "ok",        "ok",    403),
    "attachment_preview": ("ok",    "ok",        "ok",    403),
    "media":             ("ok",     "ok",        "ok",    403),
    "desk":              (403,      "ok",        "ok",    403),
    "desk_export":       (403,      "ok",        "ok",    403),
    "labels":            (403,      "ok",        "ok",    403),
    "dashboard":         (403,      403,         "ok",    403),
    "display_links":     (403,      403,         "ok",    403),
    "notifications":     (403,      "ok",        "ok",    403),
    "subscription":      (403,      "ok",        "ok",    403),
    "delivery_row":      (403,      "ok",        "ok",    403),
}
ACTIONS = {
    #  action (POST)        operator  maintenance  manager  outsider
    "machine_page":        ("ok",     "ok",        "ok",    403),  # reporting an issue
    "upload_attachment":   ("ok",     "ok",        "ok",    403),
    "remove_attachment":   ("ok",     "ok",        "ok",    403),
    "issue_status":        (403,      "ok",        "ok",    403),
    "issue_assign":        (403,      "ok",        "ok",    403),
    "issue_priority":      (403,      "ok",        "ok",    403),
    "issue_runnable":      (403,      "ok",        "ok",    403),
    "issue_remedy":        (403,      "ok",        "ok",    403),
    "issue_ai_rerun":      (403,      "ok",        "ok",    403),
    "remedy_ai_rerun":     (403,      "ok",        "ok",    403),
    "display_links":       (403,      403,         "ok",    403),
    "revoke_display_link": (403,      403,         "ok",    403),
    "notifications":       (403,      "ok",        "ok",    403),  # adding a subscription
    "subscription":        (403,      "ok",        "ok",    403),
    "subscription_active": (403,      "ok",        "ok",    403),
    "subscription_test":   (403,      "ok",        "ok",    403),
    "subscription_secret": (403,      "ok",        "ok",    403),
    "subscription_delete": (403,      "ok",        "ok",    403),
    "delivery_redeliver":  (403,      "ok",        "ok",    403),
}
# A person's own subscription and delivery, for the pages and actions that take one: another person's
# answer 404 (tests/desk/test_notifications_page.py).
HOOK = "https://receiver.plant.example/hooks"


def _own(user):
    subscription, _ = Subscription.objects.get_or_create(
        user=user, defaults={"channel": Channel.WEBHOOK, "url": HOOK, "notices": [Notice.RESOLVED]})
    delivery, _ = Delivery.objects.get_or_create(
        key=f"roles/{user.pk}", defaults={"notice": Notice.TEST, "channel": Channel.WEBHOOK, "user": user,
                                          "subscription": subscription, "target": HOOK,
                                          "state": Delivery.State.FAILED})
    return {"subscription": subscription, "delivery": delivery}
# Open to anyone: signing in and out, and the wall screen (its token is the credential; see
# tests/dashboard/test_wall_screen.py).
OPEN = {"login", "logout", "wall_screen"}


def _app_url_names(patterns=None):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if hasattr(entry, "url_patterns"):
            if entry.app_name != "admin":
                yield from _app_url_names(entry.url_patterns)
        else:
            yield entry.name


APP_URL_NAMES = set(_app_url_names())


def test_every_page_and_action_is_in_the_matrix():
    # The API's paths have a matrix of their own, with keys of each role: tests/api/test_access.py.
    api = {name for name in APP_URL_NAMES if name.startswith("api-")}
    assert APP_URL_NAMES - OPEN - api <= set(PAGES) | set(ACTIONS)


@pytest.fixture
def users(operator, maintenance, manager, outsider):
    return {"operator": operator, "maintenance": maintenance, "manager": manager, "outsider": outsider}


@pytest.fixture
def things(machine, operator, maintenance, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "photo.jpg").write_bytes(b"jpeg")
    issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], by=operator, description="x")
    remedy = record_remedy(issue=issue, description="Reseated CX4", by=maintenance)
    token = "6f1c1ed8-7d0c-4a36-9d5e-3b0f8f6f2c11"
    pending = Attachment.objects.create(kind="image", content_type="image/jpeg", size=4, file="photo.jpg",
                                        original_name="photo.jpg", uploaded_by=operator, pending_token=token)
    link = DisplayLink.objects.create(name="Hall A", created_by=manager)
    return {"issue": issue, "remedy": remedy, "pending": pending, "token": token, "link": link,
            "machine": machine}


def _url(name, things, user=None):
    issue, machine = things["issue"], things["machine"]
    # Someone not signed in is sent away before any lookup: any number will do.
    own = _own(user) if user is not None else {"subscription": Subscription(pk=1), "delivery": Delivery(pk=1)}
    return {
        "home": lambda: reverse("home"),
        "machine_list": lambda: reverse("machine_list"),
        "machine_page": lambda: reverse("machine_page", args=[machine.pk]),
        "issue_reported": lambda: reverse("issue_reported", args=[issue.pk]),
        "issue_detail": lambda: reverse("issue_detail", args=[issue.pk]),
        "issue_similar": lambda: reverse("issue_similar", args=[issue.pk]),
        "issue_ai": lambda: reverse("issue_ai", args=[issue.pk]),
        "remedy_ai": lambda: reverse("remedy_ai", args=[things["remedy"].pk]),
        "seen_before": lambda: reverse("seen_before") + "?alarm_codes=SV0401",
        "outbox_token": lambda: reverse("outbox_token"),
        "attachment_preview": lambda: reverse("attachment_preview", args=[machine.pk, things["pending"].pk])
        + f"?token={things['token']}",
        "media": lambda: "/media/photo.jpg",
        "desk": lambda: reverse("desk"),
        "desk_export": lambda: reverse("desk_export"),
        "labels": lambda: reverse("labels"),
        "dashboard": lambda: reverse("dashboard"),
        "display_links": lambda: reverse("display_links"),
        "upload_attachment": lambda: reverse("upload_attachment", args=[machine.pk]),
        "remove_attachment": lambda: reverse("remove_attachment", args=[machine.pk, things["pending"].pk]),
        "issue_status": lambda: reverse("issue_status", args=[issue.pk]),
        "issue_assign": lambda: reverse("issue_assign", args=[issue.pk]),
        "issue_priority": lambda: reverse("issue_priority", args=[issue.pk]),
        "issue_runnable": lambda: reverse("issue_runnable", args=[issue.pk]),
        "issue_remedy": lambda: reverse("issue_remedy", args=[issue.pk]),
        "issue_ai_rerun": lambda: reverse("issue_ai_rerun", args=[issue.pk]),
        "remedy_ai_rerun": lambda: reverse("remedy_ai_rerun", args=[things["remedy"].pk]),
        "revoke_display_link": lambda: reverse("revoke_display_link", args=[things["link"].pk]),
        "notifications": lambda: reverse("notifications"),
        "subscription": lambda: reverse("subscription", args=[own["subscription"].pk]),
        "subscription_active": lambda: reverse("subscription_active", args=[own["subscription"].pk]),
        "subscription_test": lambda: reverse("subscription_test", args=[own["subscription"].pk]),
        "subscription_secret": lambda: reverse("subscription_secret", args=[own["subscription"].pk]),
        "subscription_delete": lambda: reverse("subscription_delete", args=[own["subscription"].pk]),
        "delivery_row": lambda: reverse("delivery_row", args=[own["delivery"].pk]),
        "delivery_redeliver": lambda: reverse("delivery_redeliver", args=[own["delivery"].pk]),
    }[name]()


def _post_data(name, things):
    issue = things["issue"]
    return {
        "machine_page": {"token": "0b7f3f0e-3f5e-4a8e-8f0a-2d2b1c9e7a10", "category": "alarm", "runs": "yes",
                         "description": "spindle noise"},
        "upload_attachment": {"token": things["token"], "files": SimpleUploadedFile("a.jpg", images.photo())},
        "remove_attachment": {"token": things["token"]},
        "issue_status": {"version": issue.version, "status": "in_progress"},
        "issue_assign": {"version": issue.version, "assignee": "me"},
        "issue_priority": {"version": issue.version, "priority": "3"},
        "issue_runnable": {"version": issue.version, "runs": "no"},
        "issue_remedy": {"version": issue.version, "description": "Cleaned the filter"},
        "issue_ai_rerun": {},
        "remedy_ai_rerun": {},
        "display_links": {"name": "Hall B"},
        "revoke_display_link": {},
        "notifications": {"channel": "webhook", "url": HOOK, "notices": ["resolved"]},
        "subscription": {"channel": "webhook", "url": HOOK, "notices": ["resolved", "remedy"]},
        "subscription_active": {"active": "no"},
        "subscription_test": {},
        "subscription_secret": {},
        "subscription_delete": {},
        "delivery_redeliver": {},
    }[name]


def _matrix(table):
    return [pytest.param(name, role, expected[i], id=f"{name}-{role}")
            for name, expected in table.items() for i, role in enumerate(ROLES)]


@pytest.mark.parametrize("name, role, expected", _matrix(PAGES))
def test_who_may_open_each_page(client, users, things, name, role, expected):
    if name not in APP_URL_NAMES:
        pytest.skip(f"{name} is not routed")
    client.force_login(users[role])
    status = client.get(_url(name, things, users[role])).status_code
    assert status == 403 if expected == 403 else status in (200, 286, 302), status


@pytest.mark.parametrize("name, role, expected", _matrix(ACTIONS))
def test_who_may_do_each_action(client, users, things, name, role, expected):
    client.force_login(users[role])
    status = client.post(_url(name, things, users[role]), _post_data(name, things)).status_code
    # Allowed: the action ran (200, or 302 after a plain form post), never refused or failed.
    assert status == 403 if expected == 403 else status in (200, 302), status


@pytest.mark.parametrize("name", sorted(set(PAGES) - {"home"}))
def test_anonymous_visitors_are_sent_to_sign_in(client, things, name):
    if name not in APP_URL_NAMES:
        pytest.skip(f"{name} is not routed")
    response = client.get(_url(name, things))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_navigation_offers_each_role_its_pages(client, users, things):
    links = {"Machines": reverse("machine_list"), "Desk": reverse("desk"), "QR labels": reverse("labels"),
             "Dashboard": reverse("dashboard"), "Notifications": reverse("notifications")}
    offered = {
        "operator": {"Machines"},
        "maintenance": {"Machines", "Desk", "QR labels", "Notifications"},
        "manager": {"Machines", "Desk", "QR labels", "Dashboard", "Notifications"},
    }
    for role, expected in offered.items():
        client.force_login(users[role])
        page = client.get(reverse("issue_detail", args=[things["issue"].pk])).content.decode()
        shown = {label for label, url in links.items() if f'href="{url}"' in page}
        assert shown == expected, role
        # The issue's alarm codes open the desk for those who may use it, and are plain text for the others.
        assert (f'href="{reverse("desk")}?q=SV0401"' in page) == ("Desk" in expected), role


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_open(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_wrong_password_keeps_username_and_says_why(client, operator):
    response = client.post(reverse("login"), {"username": "olga", "password": "nope"})
    assert response.status_code == 200
    assert b'value="olga"' in response.content
    assert b"enter a correct username and password" in response.content


def test_maintenance_starts_on_the_desk(client, maintenance):
    client.force_login(maintenance)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("desk")
    assert client.get(reverse("desk")).status_code == 200


def test_managers_start_on_the_dashboard(client, manager):
    # Their work is there; the desk is one link away.
    client.force_login(manager)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")


def test_operators_start_on_the_machines(client, operator):
    client.force_login(operator)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("machine_list")
    assert client.get(reverse("machine_list")).status_code == 200


def test_outsider_is_refused(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("home")).status_code == 403


def test_outsider_cannot_fetch_uploaded_files(client, outsider, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "photo.jpg").write_bytes(b"x")
    client.force_login(outsider)
    assert client.get("/media/photo.jpg").status_code == 403


def test_media_is_served_to_roles_and_paths_cannot_escape(client, operator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    (settings.MEDIA_ROOT / "photo.jpg").write_bytes(b"jpeg")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    client.force_login(operator)
    response = client.get("/media/photo.jpg")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"jpeg"
    assert client.get("/media/../secret.txt").status_code == 404
    assert client.get("/media/%2e%2e/secret.txt").status_code == 404
    assert client.get("/media/missing.jpg").status_code == 404


def test_admin_shows_machines_read_only(admin_client, machine):
    response = admin_client.get(reverse("admin:floor_machine_change", args=[machine.pk]))
    assert response.status_code == 200
    assert b'name="name"' not in response.content  # no editable field
    assert admin_client.get(reverse("admin:floor_machine_add")).status_code == 403
    response = admin_client.post(reverse("admin:floor_machine_delete", args=[machine.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Machine.objects.filter(pk=machine.pk).exists()


def test_admin_issue_list_and_change_page_render(admin_client, machine, operator):
    from floor.reporting import report_issue

    issue = report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], by=operator, description="x")
    assert admin_client.get(reverse("admin:floor_issue_changelist") + "?q=SV0401").status_code == 200
    assert admin_client.get(reverse("admin:floor_issue_change", args=[issue.pk])).status_code == 200
