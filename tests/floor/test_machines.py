"""The machine picker, QR labels and the "seen before" panel."""

import pytest
from django.urls import reverse

from floor.models import Department, Machine
from floor.reporting import report_issue

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


def test_tiles_show_open_issues_and_machines_down(client, operator, factory, maintenance):
    report_issue(machine=factory["vf2"], category="alarm", alarm_codes=["108"], is_runnable=False, by=operator,
                 description="x")
    report_issue(machine=factory["vf2"], category="quality", by=operator, description="bore")
    finished = report_issue(machine=factory["lathe"], category="tooling", by=operator, description="broke",
                            is_runnable=False)
    finished.set_status("resolved", by=maintenance)
    client.force_login(operator)
    response = client.get(reverse("machine_list"))
    tiles = {m.name: (m.open_count, m.is_down) for m in response.context["machines"]}
    assert tiles == {"M-01 Haas VF-2": (2, True), "M-04 Fanuc Robodrill": (0, False),
                     "T-01 Okuma LB3000": (0, False), "X-99 Spare": (0, False)}
    page = response.content.decode()
    # Departments in name order, machines without one last.
    assert page.index("Milling") < page.index("Turning") < page.index("Other machines")


def test_tile_query_count_does_not_grow_with_machines(client, operator, factory, django_assert_max_num_queries):
    for i in range(30):
        Machine.objects.create(name=f"Z-{i:02}")
    client.force_login(operator)
    with django_assert_max_num_queries(6):
        client.get(reverse("machine_list"))


def test_search_filters_and_htmx_gets_only_the_tiles(client, operator, factory):
    client.force_login(operator)
    response = client.get(reverse("machine_list"), {"q": "okuma"},
                          headers={"HX-Request": "true", "HX-Target": "machine-tiles"})
    page = response.content.decode()
    assert "<html" not in page and page.strip().startswith('<div id="machine-tiles">')
    assert "T-01 Okuma LB3000" in page and "Haas" not in page
    assert "Turning" in page  # matches the department name too
    assert "M-04 Fanuc" in client.get(reverse("machine_list"), {"q": "milling"}).content.decode()


def test_search_without_match_says_so(client, operator, factory):
    client.force_login(operator)
    assert "No machine matches “zzz”." in client.get(reverse("machine_list"), {"q": "zzz"}).content.decode()


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


def test_seen_before_lists_this_machine_first_with_the_fixing_remedy(client, operator, maintenance, factory,
                                                                    django_assert_max_num_queries):
    here = report_issue(machine=factory["vf2"], category="alarm", alarm_codes=["SV0401"], by=operator,
                        description="first")
    here.remedies.create(description="Cleaned the fan.", performed_by=maintenance)
    here.remedies.create(description="Replaced the amplifier.", performed_by=maintenance)
    there = report_issue(machine=factory["robodrill"], category="alarm", alarm_codes=["SV0401", "SV0436"],
                         by=operator, description="second")
    report_issue(machine=factory["lathe"], category="alarm", alarm_codes=["OT0500"], by=operator,
                 description="unrelated")
    client.force_login(operator)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("seen_before"), {"alarm_codes": "sv 0401", "machine": factory["vf2"].pk})
    assert [i.pk for i in response.context["seen"]["here"]] == [here.pk]
    assert [i.pk for i in response.context["seen"]["elsewhere"]] == [there.pk]
    page = response.content.decode()
    assert "Replaced the amplifier." in page  # the last remedy is the one that fixed it
    assert "unrelated" not in page


def test_seen_before_is_empty_without_codes(client, operator, factory):
    client.force_login(operator)
    assert client.get(reverse("seen_before"), {"alarm_codes": " , "}).content.decode().strip() == ""
