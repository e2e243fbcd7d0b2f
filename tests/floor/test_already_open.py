"""One issue per problem: the floor form offers to add a report to the open issue of the same alarm (or
the one that has the machine down) instead of opening it twice, and sending it there adds an occurrence."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from floor.models import Attachment, Issue, Occurrence, Status
from floor.reporting import report_issue
from tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def url(machine):
    return reverse("machine_page", args=[machine.pk])


def panel(client, machine, codes):
    return client.get(reverse("seen_before"), {"alarm_codes": codes, "machine": str(machine.pk)})


@pytest.fixture
def open_alarm(machine, operator):
    return report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=True, by=operator,
                        reported_at=timezone.now() - timedelta(minutes=12))


def test_typing_the_code_of_an_open_issue_offers_to_add_the_report_to_it(client, operator, machine, open_alarm):
    client.force_login(operator)
    html = panel(client, machine, "sv 0401").content.decode()
    assert 'id="already-open" hx-swap-oob="true"' in html
    assert "is open as" in html and open_alarm.number in html and "12 min" in html
    assert f'name="add_to" value="{open_alarm.pk}"' in html


def test_another_code_or_another_machine_offers_nothing(client, operator, machine, other_machine, open_alarm):
    client.force_login(operator)
    assert "add_to" not in panel(client, machine, "SV0402").content.decode()
    assert "add_to" not in panel(client, other_machine, "SV0401").content.decode()
    open_alarm.set_status(Status.IN_PROGRESS, by=operator)
    assert "add_to" in panel(client, machine, "SV0401").content.decode()
    open_alarm.set_status(Status.RESOLVED, by=operator)
    assert "add_to" not in panel(client, machine, "SV0401").content.decode()


def test_a_machine_down_with_an_open_issue_is_offered_before_any_code(client, operator, machine):
    down = report_issue(machine=machine, category="mechanical", description="coolant pump", is_runnable=False,
                        by=operator)
    client.force_login(operator)
    html = client.get(url(machine)).content.decode()
    assert "The machine is down with" in html and f'name="add_to" value="{down.pk}"' in html
    # ...and with a code it does not have, the down issue is still offered, after the same-code one.
    same = report_issue(machine=machine, category="alarm", alarm_codes=["1010"], by=operator)
    offered = Issue.already_open(machine=machine, codes=["1010"])
    assert offered == [same, down]


def test_adding_a_report_makes_an_occurrence_not_an_issue(client, operator, machine, open_alarm):
    client.force_login(operator)
    token = uuid.uuid4()
    photo = SimpleUploadedFile("screen.jpg", images.photo(), content_type="image/jpeg")
    client.post(reverse("upload_attachment", args=[machine.pk]), {"token": str(token), "files": photo})
    response = client.post(url(machine), {"token": str(token), "add_to": open_alarm.pk, "runs": "no",
                                          "description": "again after tool change", "reporter_name": "Ana"})
    assert response.status_code == 302
    assert response["Location"] == reverse("issue_reported", args=[open_alarm.pk])
    assert Issue.objects.count() == 1
    occurrence = Occurrence.objects.get()
    assert (occurrence.issue, occurrence.note, occurrence.reporter_name, occurrence.stopped) == (
        open_alarm, "again after tool change", "Ana", True)
    open_alarm.refresh_from_db()
    assert open_alarm.occurrence_count == 1
    # The machine stopped since: the issue now has it down, from the moment of this report.
    assert not open_alarm.is_runnable and open_alarm.machine_stopped_at == occurrence.reported_at
    assert Attachment.objects.get().issue == open_alarm
    assert "again after tool change" in open_alarm.search_document
    assert "it happened again" in client.get(response["Location"]).content.decode()


def test_the_same_form_sent_twice_adds_one_occurrence(client, operator, machine, open_alarm):
    client.force_login(operator)
    data = {"token": str(uuid.uuid4()), "add_to": open_alarm.pk, "description": "again"}
    first = client.post(url(machine), data)
    second = client.post(url(machine), data)
    assert first["Location"] == second["Location"]
    assert Occurrence.objects.count() == 1
    open_alarm.refresh_from_db()
    assert open_alarm.occurrence_count == 1
    # A form that made an issue is not added to another one afterwards either.
    data = {"token": str(uuid.uuid4()), "category": "alarm", "runs": "yes", "description": "new problem"}
    client.post(url(machine), data)
    client.post(url(machine), {**data, "add_to": open_alarm.pk})
    assert Issue.objects.count() == 2 and Occurrence.objects.count() == 1


def test_adding_to_an_issue_closed_meanwhile_keeps_the_form_and_says_why(client, operator, machine, open_alarm):
    client.force_login(operator)
    open_alarm.set_status(Status.RESOLVED, by=operator)
    response = client.post(url(machine), {"token": str(uuid.uuid4()), "add_to": open_alarm.pk,
                                          "description": "again, typed with gloves"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "no longer open on this machine" in html and "again, typed with gloves" in html
    assert not Occurrence.objects.exists()


def test_adding_to_an_issue_of_another_machine_is_refused(client, operator, machine, other_machine):
    elsewhere = report_issue(machine=other_machine, category="alarm", alarm_codes=["SV0401"], by=operator)
    client.force_login(operator)
    response = client.post(url(machine), {"token": str(uuid.uuid4()), "add_to": elsewhere.pk})
    assert response.status_code == 200 and "no longer open on this machine" in response.content.decode()
    assert not Occurrence.objects.exists()


def test_a_new_issue_can_still_be_sent_while_one_is_open(client, operator, machine, open_alarm):
    client.force_login(operator)
    client.post(url(machine), {"token": str(uuid.uuid4()), "category": "alarm", "runs": "yes",
                               "alarm_codes": "SV0401", "description": "other spindle"})
    assert Issue.objects.count() == 2


def test_a_report_that_waited_on_the_tablet_keeps_the_time_send_was_pressed(client, operator, machine):
    client.force_login(operator)
    client.post(url(machine), {"token": str(uuid.uuid4()), "category": "alarm", "runs": "no",
                               "description": "sent while offline", "waited": 600})
    issue = Issue.objects.get()
    assert abs((timezone.now() - issue.reported_at) - timedelta(minutes=10)) < timedelta(seconds=5)
    assert issue.machine_stopped_at == issue.reported_at
    # A wait longer than a week is a tablet clock gone wrong: a week at most.
    client.post(url(machine), {"token": str(uuid.uuid4()), "category": "alarm", "runs": "no",
                               "description": "clock wrong", "waited": 10**9})
    late = Issue.objects.get(description="clock wrong")
    assert timezone.now() - late.reported_at < timedelta(days=7, seconds=5)
    response = client.post(url(machine), {"token": str(uuid.uuid4()), "category": "alarm", "runs": "no",
                                          "description": "garbage", "waited": "-5"})
    assert response.status_code == 200 and not Issue.objects.filter(description="garbage").exists()
    html = response.content.decode()
    assert "came from an old or damaged page" in html and "garbage" in html


def test_the_desk_shows_how_often_it_happened_and_the_timeline_each_time(client, operator, maintenance, machine,
                                                                         open_alarm):
    open_alarm.record_occurrence(by=operator, reporter_name="Ana", note="again at 14:02", stopped=True)
    open_alarm.record_occurrence(by=operator, note="")
    client.force_login(maintenance)
    desk = client.get(reverse("desk")).content.decode()
    assert "× 3" in desk
    page = client.get(reverse("issue_detail", args=[open_alarm.pk])).content.decode()
    assert "Happened 3 times" in page
    assert page.count("data-occurrence>") == 2
    assert "again at 14:02" in page and "Happened again · machine stopped" in page and "Ana" in page


def test_the_machine_page_links_its_own_label_for_those_who_print_them(client, operator, maintenance, machine):
    client.force_login(operator)
    assert "Print its QR label" not in client.get(url(machine)).content.decode()
    client.force_login(maintenance)
    html = client.get(url(machine)).content.decode()
    assert f'{reverse("labels")}?machine={machine.pk}' in html


def test_every_open_issue_of_the_machine_takes_the_form_as_an_addition(client, operator, machine):
    """Not only those with the code or the machine down: a running machine's quality issue too."""
    quality = report_issue(machine=machine, category="quality", description="burr on bore", by=operator)
    client.force_login(operator)
    html = client.get(url(machine)).content.decode()
    assert "data-already-open" not in html  # nothing to say while nothing is typed
    assert f'form="report-form" name="add_to" value="{quality.pk}"' in html
    response = client.post(url(machine), {"token": str(uuid.uuid4()), "add_to": quality.pk,
                                          "description": "another one with a burr"})
    assert response.status_code == 302 and Occurrence.objects.get().issue == quality
