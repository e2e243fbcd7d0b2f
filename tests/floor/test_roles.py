import pytest
from django.urls import reverse

from floor.models import Machine

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "perm, allowed",
    [
        ("floor.add_issue", {"operator", "maintenance", "manager"}),
        ("floor.view_issue", {"operator", "maintenance", "manager"}),
        ("floor.add_attachment", {"operator", "maintenance", "manager"}),
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
