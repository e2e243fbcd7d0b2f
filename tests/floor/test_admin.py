"""The admin changes an issue only as the desk does: through the model's methods, with the transition
checked, the timeline written, the version moved on, and a change made meanwhile not overwritten."""

import pytest
from django.urls import reverse

from floor.models import Attachment, Issue, IssueEvent, Status
from floor.reporting import report_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(machine, operator):
    return report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], by=operator,
                        description="servo alarm")


def change(admin_client, issue, **values):
    data = {"status": issue.status, "priority": issue.priority, "assigned_to": "", "is_runnable": "on",
            "seen_version": issue.version}
    for prefix in ("alarm_codes", "remedies", "attachments", "occurrences", "events"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(values)
    if data.get("is_runnable") is False:
        del data["is_runnable"]
    return admin_client.post(reverse("admin:floor_issue_change", args=[issue.pk]), data)


def test_a_status_change_in_the_admin_is_a_transition_with_its_event(admin_client, admin_user, issue):
    response = change(admin_client, issue, status="in_progress")
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == Status.IN_PROGRESS and issue.version == 2
    event = issue.events.get(kind=IssueEvent.Kind.STATUS_CHANGED)
    assert (event.from_value, event.to_value, event.actor) == ("open", "in_progress", admin_user)


def test_a_transition_the_desk_would_refuse_is_refused_with_the_reason(admin_client, issue):
    issue.set_status(Status.RESOLVED, by=None)
    issue.refresh_from_db()
    response = change(admin_client, issue, status="waiting_parts")
    assert response.status_code == 200
    assert "cannot become waiting for parts" in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED


def test_machine_state_and_assignee_go_through_the_model(admin_client, issue, maintenance):
    change(admin_client, issue, is_runnable=False, assigned_to=maintenance.pk)
    issue.refresh_from_db()
    assert not issue.is_runnable and issue.machine_stopped_at is not None
    assert issue.assigned_to == maintenance
    assert {e.kind for e in issue.events.all()} >= {IssueEvent.Kind.RUNNABLE_CHANGED, IssueEvent.Kind.ASSIGNED}


def test_a_change_made_on_the_desk_meanwhile_is_not_overwritten(admin_client, issue, maintenance):
    seen = issue.version
    issue.set_priority(4, by=maintenance)  # on the desk, after the admin page was opened
    response = change(admin_client, issue, priority=1, seen_version=seen)
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.priority == 4
    messages = [m.message for m in response.wsgi_request._messages]
    assert any("Not saved" in m for m in messages)


def test_the_typed_text_and_the_codes_are_not_editable_in_the_admin(admin_client, issue):
    page = admin_client.get(reverse("admin:floor_issue_change", args=[issue.pk])).content.decode()
    assert 'name="description"' not in page and 'name="title"' not in page
    assert 'name="alarm_codes-0-code"' not in page
    assert admin_client.get(reverse("admin:floor_issue_add")).status_code == 403
    change(admin_client, issue, description="rewritten", title="rewritten")
    issue.refresh_from_db()
    assert issue.description == "servo alarm"


def test_deleting_an_attachment_in_the_admin_removes_its_files(admin_client, issue, settings, tmp_path,
                                                               django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from floor.uploads import store_attachment
    from tests import images

    settings.MEDIA_ROOT = tmp_path
    attachment = store_attachment(upload=SimpleUploadedFile("p.jpg", images.photo()), by=None, issue=issue)
    path = tmp_path / attachment.file.name
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:floor_attachment_delete", args=[attachment.pk]), {"post": "yes"})
    assert not Attachment.objects.exists() and not path.exists()
    assert Issue.objects.filter(pk=issue.pk).exists()
