"""One issue at the desk: actions, remedies, lost-update protection, timeline."""

import re

import pytest
from django.db import connection
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from floor.models import Attachment, IssueEvent, Status
from floor.reporting import record_remedy, report_issue
from tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def issue(machine, operator):
    return report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                        by=operator, description="servo alarm X axis")


def post(client, name, issue, htmx=True, **data):
    data.setdefault("version", issue.version)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(reverse(name, args=[issue.pk]), data, headers=headers)


def test_issue_page_shows_state_actions_and_timeline(client, maintenance, issue):
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert "servo alarm X axis" in page and "SV0401" in page
    assert "Machine runs again" in page and "Assign to me" in page and "Record a remedy" in page
    assert "Reported" in page


def test_operator_sees_the_issue_but_no_actions(client, operator, issue):
    client.force_login(operator)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert "servo alarm X axis" in page
    assert "Record a remedy" not in page and "Assign to me" not in page
    assert post(client, "issue_status", issue, status="in_progress").status_code == 403
    assert post(client, "issue_remedy", issue, description="x").status_code == 403
    assert post(client, "issue_assign", issue, assignee="me").status_code == 403


def test_status_change_returns_the_updated_issue_fragment(client, maintenance, issue):
    client.force_login(maintenance)
    response = post(client, "issue_status", issue, status="in_progress")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.strip().startswith('<div id="issue-main"') and "<html" not in page
    issue.refresh_from_db()
    assert issue.status == Status.IN_PROGRESS and issue.version == 2
    assert "Status: Open → In progress" in page


def test_plain_form_post_redirects_back(client, maintenance, issue):
    client.force_login(maintenance)
    response = post(client, "issue_status", issue, htmx=False, status="in_progress")
    assert response.status_code == 302 and response["Location"] == reverse("issue_detail", args=[issue.pk])


def test_disallowed_transition_is_explained(client, maintenance, issue):
    client.force_login(maintenance)
    response = post(client, "issue_status", issue, status="closed")
    assert response.status_code == 400
    assert "cannot become closed" in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == Status.OPEN


def test_resolving_asks_for_a_remedy_first(client, maintenance, issue):
    client.force_login(maintenance)
    response = post(client, "issue_status", issue, status="resolved")
    assert response.status_code == 400
    assert "Record what fixed it first" in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == Status.OPEN


def test_resolving_without_a_remedy_points_the_form_at_what_is_missing(client, maintenance, issue):
    client.force_login(maintenance)
    page = post(client, "issue_status", issue, status="resolved").content.decode()
    description = re.search(r'<textarea name="description"[^>]*>', page).group()
    assert "autofocus" in description and "border-amber-500" in description
    assert re.search(r'<input type="checkbox" name="resolve"[^>]* checked>', page)


def test_remedy_errors_stand_under_their_fields_and_are_tied_to_them(client, maintenance, issue):
    client.force_login(maintenance)
    page = post(client, "issue_remedy", issue, description="", minutes_spent="-5").content.decode()
    for name, message in [("description", "Say what was done."), ("minutes_spent", "greater than or equal to 0")]:
        control = re.search(rf'<(?:textarea|input)[^>]* name="{name}"[^>]*>', page).group()
        assert 'aria-invalid="true"' in control and f'aria-describedby="id_{name}_error"' in control
        assert re.search(rf'<div id="id_{name}_error" class="text-red-700"><p>[^<]*{message}', page)
    for label in ["What was done", "Minutes spent", "Parts used", "Photos or a repair video",
                  "This fixed it: resolve the issue"]:
        assert f"{label}</label>" in page, label


def test_remedy_with_photo_and_video_resolves_the_issue(client, maintenance, issue, django_capture_on_commit_callbacks):
    client.force_login(maintenance)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "issue_remedy", issue, description="Reseated CX4 connector", minutes_spent="40",
                        parts_used="none", resolve="on",
                        files=[SimpleUploadedFile("after.jpg", images.photo()),
                               SimpleUploadedFile("run.mp4", images.video("mp4"))])
    assert response.status_code == 200
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED and issue.resolved_at
    remedy = issue.remedies.get()
    assert remedy.description == "Reseated CX4 connector"
    assert (remedy.minutes_spent, remedy.performed_by) == (40, maintenance)
    assert sorted(remedy.attachments.values_list("kind", flat=True)) == ["image", "video"]
    assert set(remedy.attachments.values_list("issue_id", flat=True)) == {issue.pk}
    page = response.content.decode()
    assert "Reseated CX4 connector" in page and "<video" in page


def test_the_remedy_event_covers_its_photos(client, maintenance, issue):
    """A remedy's photos are part of it (shown inside its entry on the timeline, stored in its transaction):
    the remedy's own event records them; an event per photo would tell the same thing again."""
    client.force_login(maintenance)
    post(client, "issue_remedy", issue, description="Reseated CX4 connector",
         files=[SimpleUploadedFile("after.jpg", images.photo()), SimpleUploadedFile("run.mp4", images.video("mp4"))])
    assert issue.remedies.get().attachments.count() == 2
    assert issue.events.filter(kind=IssueEvent.Kind.REMEDY_ADDED).count() == 1
    assert not issue.events.filter(kind=IssueEvent.Kind.ATTACHMENT_ADDED).exists()


def test_remedy_with_a_bad_file_saves_nothing(client, maintenance, issue):
    client.force_login(maintenance)
    response = post(client, "issue_remedy", issue, description="did things", resolve="on",
                    files=[SimpleUploadedFile("x.jpg", b"not an image at all" * 10)])
    assert response.status_code == 400
    assert "x.jpg: This file is not a photo or video we can read" in response.content.decode()
    assert "did things" in response.content.decode()  # what was typed stays
    issue.refresh_from_db()
    assert issue.remedies.count() == 0 and issue.status == Status.OPEN and Attachment.objects.count() == 0


def test_remedy_needs_a_description(client, maintenance, issue):
    client.force_login(maintenance)
    response = post(client, "issue_remedy", issue, description="", minutes_spent="-5")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Say what was done." in page and "greater than or equal to 0" in page


def test_lost_update_is_refused_with_the_fresh_state(client, maintenance, manager, issue):
    loaded = issue.version
    client.force_login(manager)
    post(client, "issue_priority", issue, priority="4", version=loaded)
    client.force_login(maintenance)
    response = post(client, "issue_status", issue, status="in_progress", version=loaded)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed this issue" in page
    assert 'value="4" selected' in page  # the fresh state is shown
    issue.refresh_from_db()
    assert issue.status == Status.OPEN and issue.priority == 4


def test_resolving_remedy_with_a_stale_version_saves_nothing(client, maintenance, manager, issue):
    loaded = issue.version
    issue.set_priority(3, by=manager)
    client.force_login(maintenance)
    response = post(client, "issue_remedy", issue, description="fixed", resolve="on", version=loaded,
                    files=[SimpleUploadedFile("a.jpg", images.photo())])
    assert response.status_code == 409
    issue.refresh_from_db()
    assert issue.remedies.count() == 0 and Attachment.objects.count() == 0 and issue.status == Status.OPEN


def test_a_remedy_sent_on_a_stale_version_keeps_what_was_typed(client, maintenance, manager, issue):
    loaded = issue.version
    issue.set_status(Status.IN_PROGRESS, by=manager)
    client.force_login(maintenance)
    typed = {"description": "Reseated the CX4 connector <X axis>", "minutes_spent": "35",
             "parts_used": "Fuse 2 A", "resolve": "on"}
    response = post(client, "issue_remedy", issue, version=loaded, **typed)
    assert response.status_code == 409
    page = response.content.decode()
    assert page.strip().startswith('<div id="issue-main"')
    assert "Someone else changed this issue" in page and "Your remedy was not saved" in page
    assert re.search(r'<textarea name="description"[^>]*>\s*Reseated the CX4 connector &lt;X axis&gt;</textarea>', page)
    assert 'value="35"' in page and re.search(r">\s*Fuse 2 A</textarea>", page)
    assert re.search(r'<input type="checkbox" name="resolve"[^>]* checked>', page)
    issue.refresh_from_db()
    assert f'name="version" value="{issue.version}"' in page  # the next save is at the fresh version
    assert issue.remedies.count() == 0

    response = post(client, "issue_remedy", issue, version=issue.version, **typed)
    assert response.status_code == 200
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED
    assert issue.remedies.get().description == "Reseated the CX4 connector <X axis>"


def test_a_stale_remedy_with_photos_asks_for_them_again(client, maintenance, manager, issue):
    loaded = issue.version
    issue.set_priority(3, by=manager)
    client.force_login(maintenance)
    response = post(client, "issue_remedy", issue, description="fixed", resolve="on", version=loaded,
                    files=[SimpleUploadedFile("a.jpg", images.photo())])
    assert response.status_code == 409
    page = response.content.decode()
    assert "choose the photos or video again" in page and re.search(r">\s*fixed</textarea>", page)


def test_assign_to_me_and_to_someone(client, maintenance, manager, issue):
    client.force_login(maintenance)
    post(client, "issue_assign", issue, assignee="me")
    issue.refresh_from_db()
    assert issue.assigned_to == maintenance
    post(client, "issue_assign", issue, assignee=str(manager.pk))
    issue.refresh_from_db()
    assert issue.assigned_to == manager
    response = post(client, "issue_assign", issue, assignee="424242")
    assert response.status_code == 400


def test_machine_runs_again_ends_the_downtime(client, maintenance, issue):
    client.force_login(maintenance)
    response = post(client, "issue_runnable", issue, runs="yes")
    issue.refresh_from_db()
    assert issue.is_runnable and issue.machine_running_again_at
    assert "Machine running again" in response.content.decode()


def test_the_remedy_that_fixed_it_leaves_the_machine_running_not_down(client, maintenance, issue):
    """Resolved, the issue showed its machine "Down" with "Machine runs again" as its main button."""
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    # Asked before it is done, "yes" the default, beside the resolve buttons and in the remedy form.
    assert "On resolving: does the machine run again?" in page
    assert 'name="machine_runs" value="yes" checked' in page
    assert "Does the machine run again?" in page
    response = post(client, "issue_remedy", issue, description="Reseated CX4 connector", resolve="on")
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED and issue.is_runnable
    assert issue.machine_running_again_at == issue.resolved_at
    page = response.content.decode()
    assert "badge-down" not in page and "Machine runs again" not in page
    assert "Machine running again" in page  # on the timeline


def test_resolving_with_the_machine_still_stopped_leaves_it_stopped(client, maintenance, issue):
    client.force_login(maintenance)
    post(client, "issue_remedy", issue, description="Ordered a new spindle drive", resolve="on", machine_runs="no")
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED and not issue.is_runnable and issue.machine_running_again_at is None
    issue.set_status(Status.OPEN, by=maintenance)  # reopened: the machine is still down
    record_remedy(issue=issue, description="Fitted the drive", by=maintenance)
    post(client, "issue_status", issue, status="resolved", machine_runs="no")
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED and not issue.is_runnable


def test_a_resolved_issue_left_stopped_is_not_shown_down(client, maintenance, issue):
    record_remedy(issue=issue, description="Reseated CX4 connector", by=maintenance)
    issue.set_status(Status.RESOLVED, by=maintenance, machine_runs=False)
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert "badge-down" not in page and "Left stopped" in page
    assert "Machine runs again" not in page and "Record the machine running again" in page
    assert "does the machine run again?" not in page
    desk = client.get(reverse("desk")).content.decode()
    assert "badge-down" not in desk and "Left stopped" in desk


def test_timeline_lists_events_remedies_and_photos_in_order(client, maintenance, issue, operator):
    Attachment.objects.create(issue=issue, kind="image", content_type="image/jpeg", size=1,
                              file="attachments/x.jpg", original_name="screen.jpg", uploaded_by=operator)
    issue.set_status(Status.IN_PROGRESS, by=maintenance)
    record_remedy(issue=issue, description="Reseated connector", by=maintenance)
    client.force_login(maintenance)
    timeline = client.get(reverse("issue_detail", args=[issue.pk])).context["timeline"]
    assert [kind for kind, _, _ in timeline] == ["event", "attachment", "event", "remedy"]


def test_seen_before_on_the_issue_page(client, maintenance, issue, operator, other_machine):
    earlier = report_issue(machine=other_machine, category="alarm", alarm_codes=["SV0401"], by=operator,
                           description="x")
    record_remedy(issue=earlier, description="Replaced the amplifier", by=maintenance)
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert "Seen before" in page and "Replaced the amplifier" in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="similarity ranking needs PostgreSQL")
def test_similar_reports_are_offered_on_postgresql(client, maintenance, operator, machine, other_machine):
    issue = report_issue(machine=machine, category="hydraulic", by=operator,
                         description="hydraulic oil leaking at the chuck cylinder")
    alike = report_issue(machine=other_machine, category="hydraulic", by=operator,
                         description="chuck cylinder leaking oil again")
    record_remedy(issue=alike, description="Replaced the cylinder seal kit", by=maintenance)
    report_issue(machine=other_machine, category="tooling", by=operator, description="drill broke")
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert reverse("issue_similar", args=[issue.pk]) in page  # loaded after the page
    response = client.get(reverse("issue_similar", args=[issue.pk]), headers={"HX-Request": "true"})
    assert [i.pk for i in response.context["similar"]] == [alike.pk]
    assert "Replaced the cylinder seal kit" in response.content.decode()
    assert "<html" not in response.content.decode()


def test_while_ai_writes_the_page_shows_what_was_typed(client, maintenance, operator, machine, settings,
                                                       django_capture_on_commit_callbacks):
    """The desk reads the report at once, not once the summary is there: the typed text stays on the
    page beside "Summarising…", as a remedy's does beside "Polishing the text…"."""
    settings.AI_ENABLED = True
    typed = "spindle hot again after twenty minutes, alarm came back twice, tool 12 smokes at the holder END"
    with django_capture_on_commit_callbacks():  # queued, never run: the text stays pending
        issue = report_issue(machine=machine, category="alarm", by=operator, description=typed)
        record_remedy(issue=issue, description="cleaned the fan", by=maintenance)
    assert "END" not in issue.title  # the plain title alone does not carry the whole text
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    assert "Summarising…" in page and "Polishing the text…" in page
    block = client.get(reverse("issue_ai", args=[issue.pk]), headers={"HX-Request": "true"}).content.decode()
    assert typed in block and "Summarising…" in block


def test_the_same_remedy_form_sent_twice_records_one_remedy(client, maintenance, issue):
    """A retry after a lost answer, or the tablet's outbox sending what it kept, must not double a remedy."""
    client.force_login(maintenance)
    page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    token = re.search(r'name="token" value="([0-9a-f-]{36})"', page).group(1)
    version = issue.version
    first = post(client, "issue_remedy", issue, description="Reseated CX4 connector", resolve="on", token=token,
                 version=version)
    second = post(client, "issue_remedy", issue, description="Reseated CX4 connector", resolve="on", token=token,
                  version=version)
    assert first.status_code == second.status_code == 200
    assert issue.remedies.count() == 1
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED
    # The page after saving has a fresh form with a new token.
    assert token not in second.content.decode()
