"""The machines' QR labels (maintenance prints them), and the warning when SITE_URL leads nowhere."""

import re

import pytest
from django.urls import reverse

from floor.models import Department, Machine

pytestmark = pytest.mark.django_db


@pytest.fixture
def factory(department):
    turning = Department.objects.create(name="Turning")
    machines = {
        "vf2": Machine.objects.create(name="M-01 Haas VF-2", department=department),
        "robodrill": Machine.objects.create(name="M-04 Fanuc Robodrill", department=department),
        "lathe": Machine.objects.create(name="T-01 Okuma LB3000", department=turning),
        "spare": Machine.objects.create(name="X-99 Spare", department=None),
    }
    return machines


def test_labels_carry_a_qr_code_to_each_machine_under_site_url(client, maintenance, factory, settings):
    settings.SITE_URL = "http://logbook.factory.lan"
    client.force_login(maintenance)
    page = client.get(reverse("labels")).content.decode()
    assert page.count("<svg") == 4
    assert f"http://logbook.factory.lan/m/{factory['lathe'].pk}/" in page


def test_labels_with_an_address_only_this_server_can_open_carry_a_warning(client, maintenance, factory, settings):
    settings.SITE_URL, settings.SITE_URL_IS_LOOPBACK = "http://127.0.0.1:8000", True
    client.force_login(maintenance)
    page = client.get(reverse("labels")).content.decode()
    assert "only this server itself can open them" in page and "Set <code" in page
    settings.SITE_URL, settings.SITE_URL_IS_LOOPBACK = "http://10.20.0.15:8000", False
    assert "only this server itself can open them" not in client.get(reverse("labels")).content.decode()


def test_wall_links_with_an_address_only_this_server_can_open_carry_a_warning(client, manager, settings):
    settings.SITE_URL, settings.SITE_URL_IS_LOOPBACK = "http://localhost:9000", True
    client.force_login(manager)
    page = client.get(reverse("display_links")).content.decode()
    assert "These links point at http://localhost:9000" in page


def test_labels_for_one_department(client, maintenance, factory):
    client.force_login(maintenance)
    turning = factory["lathe"].department
    page = client.get(reverse("labels"), {"department": turning.pk}).content.decode()
    assert page.count("<svg") == 1 and "T-01 Okuma LB3000" in page


def test_labels_with_a_bad_department_say_so(client, maintenance, factory):
    client.force_login(maintenance)
    response = client.get(reverse("labels"), {"department": "not-a-uuid"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_labels_form_keeps_the_department_chosen(client, maintenance, factory):
    client.force_login(maintenance)
    turning = factory["lathe"].department
    page = client.get(reverse("labels"), {"department": turning.pk}).content.decode()
    assert '<label for="id_department" class="block font-semibold">Department</label>' in page
    assert f'<option value="{turning.pk}" selected>Turning</option>' in page
    assert "data-print" in page  # the Print button, beside the form


def test_a_bad_department_is_told_under_the_field(client, maintenance, factory):
    client.force_login(maintenance)
    page = client.get(reverse("labels"), {"department": "not-a-uuid"}).content.decode()
    assert re.search(r'<select name="department"[^>]*aria-describedby="id_department_error"', page)
    assert re.search(r'<div id="id_department_error" class="text-red-700"><p>Select a valid choice', page)


def test_one_machines_label_alone(client, maintenance, factory):
    client.force_login(maintenance)
    page = client.get(reverse("labels"), {"machine": factory["lathe"].pk}).content.decode()
    assert page.count("<svg") == 1 and "QR label: T-01 Okuma LB3000" in page
    assert client.get(reverse("labels"), {"machine": "not-a-uuid"}).status_code == 400


def test_the_issue_page_links_to_its_machines_label_for_those_who_print_them(client, maintenance, operator,
                                                                            factory):
    from floor.reporting import report_issue

    issue = report_issue(machine=factory["vf2"], category="alarm", by=operator, description="x")
    link = f'href="{reverse("labels")}?machine={factory["vf2"].pk}"'
    client.force_login(maintenance)
    assert link in client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
    client.force_login(operator)
    assert link not in client.get(reverse("issue_detail", args=[issue.pk])).content.decode()


def test_labels_come_in_sheets_of_eight_each_printed_on_a_page_of_its_own(client, maintenance, factory):
    for n in range(6):
        Machine.objects.create(name=f"Z-{n:02}")
    client.force_login(maintenance)
    page = client.get(reverse("labels")).content.decode()
    sheets = re.findall(r'<div class="([^"]*)" data-sheet>', page)
    assert len(sheets) == 2 and "print:break-before-page" not in sheets[0] and "print:break-before-page" in sheets[1]
    assert page.count("data-label>") == 10
