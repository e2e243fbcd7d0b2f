"""The machine picker and the "seen before" panel."""

import json

import pytest
from django.urls import reverse

from floor.models import Department, Machine
from floor.models import Status
from floor.reporting import record_remedy, report_issue
from floor.views import SEEN_BEFORE_IN_FORM

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


@pytest.mark.parametrize("typed,found", [
    ("VF2", "M-01 Haas VF-2"), ("m04", "M-04 Fanuc Robodrill"), ("vf 2", "M-01 Haas VF-2"),
    ("t01 okuma", "T-01 Okuma LB3000"), ("LB-3000", "T-01 Okuma LB3000"), ("HAAS", "M-01 Haas VF-2"),
])
def test_search_ignores_case_and_punctuation(client, operator, factory, typed, found):
    client.force_login(operator)
    page = client.get(reverse("machine_list"), {"q": typed}).content.decode()
    assert found in page
    assert sum(name in page for name in ["M-01 Haas VF-2", "M-04 Fanuc", "T-01 Okuma", "X-99 Spare"]) == 1


def test_a_search_of_punctuation_alone_lists_every_machine(client, operator, factory):
    client.force_login(operator)
    page = client.get(reverse("machine_list"), {"q": " - "}).content.decode()
    assert "X-99 Spare" in page and "M-01 Haas VF-2" in page


def test_search_without_match_says_so(client, operator, factory):
    client.force_login(operator)
    assert "No machine matches “zzz”." in client.get(reverse("machine_list"), {"q": "zzz"}).content.decode()


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
    # Eight for the panel, two for the offer to add the report to an open issue with the code.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("seen_before"), {"alarm_codes": "sv 0401", "machine": factory["vf2"].pk})
    assert [i.pk for i in response.context["seen"].here] == [here.pk]
    assert [i.pk for i in response.context["seen"].elsewhere] == [there.pk]
    page = response.content.decode()
    assert "Replaced the amplifier." in page  # the last remedy is the one that fixed it
    assert "unrelated" not in page


def _fixed(machine, remedy, *, by, operator, code="SV0401"):
    issue = report_issue(machine=machine, category="alarm", alarm_codes=[code], by=operator, description="x")
    record_remedy(issue=issue, description=remedy, by=by, resolve=True)
    return issue


def test_seen_before_shows_fixes_first_folds_repeated_texts_and_keeps_open_ones_apart(
        client, operator, maintenance, factory):
    """Open issues without a remedy crowded out the real fixes, and one sentence came up nine times."""
    for n in range(9):
        _fixed(factory["robodrill"], ["Replaced the amplifier.", "replaced the  amplifier"][n % 2],
               by=maintenance, operator=operator)
    here = _fixed(factory["vf2"], "Cleaned the spindle fan.", by=maintenance, operator=operator)
    tried = report_issue(machine=factory["lathe"], category="alarm", alarm_codes=["SV0401"], by=operator,
                         description="again")
    record_remedy(issue=tried, description="Reset the drive, came back.", by=maintenance)
    still_open = [report_issue(machine=factory["lathe"], category="alarm", alarm_codes=["SV0401"], by=operator,
                               description=f"open {n}") for n in range(6)]
    client.force_login(operator)
    response = panel(client, "SV0401", machine=factory["vf2"].pk)
    seen = response.context["seen"]
    # This machine's fix first, then the one that closed nine issues, counted once.
    assert [(f.remedy.description.lower(), f.count) for f in seen.fixes] == [
        ("cleaned the spindle fan.", 1), ("replaced the amplifier.", 9)]
    assert seen.fixes[0].latest == here and seen.fixes[0].here == 1
    assert [i.pk for i in seen.unfixed] == [i.pk for i in reversed(still_open)][:SEEN_BEFORE_IN_FORM]
    page = response.content.decode()
    assert page.count("amplifier") == 1 and "× 9" in page
    assert page.index("What fixed it") < page.index("Cleaned the spindle fan") < page.index("× 9") \
        < page.index("Not fixed yet") < page.index("open 5")
    assert "(this machine)" in page


def test_seen_before_keeps_an_open_issue_with_a_remedy_tried_among_the_unfixed(client, operator, maintenance,
                                                                               factory):
    tried = report_issue(machine=factory["lathe"], category="alarm", alarm_codes=["SV0401"], by=operator,
                         description="again")
    record_remedy(issue=tried, description="Reset the drive, came back.", by=maintenance)
    client.force_login(operator)
    response = panel(client, "SV0401")
    assert response.context["seen"].fixes == [] and response.context["seen"].unfixed == [tried]
    assert "Tried:</span> Reset the drive" in response.content.decode()


def test_seen_before_costs_the_same_queries_for_a_long_history(client, operator, maintenance, factory):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(operator)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert panel(client, "SV0401", machine=factory["vf2"].pk).status_code == 200
        return len(captured)

    _fixed(factory["vf2"], "Fan", by=maintenance, operator=operator)
    report_issue(machine=factory["vf2"], category="alarm", alarm_codes=["SV0401"], by=operator, description="o")
    few = queries()
    for n in range(12):
        _fixed(factory["robodrill" if n % 2 else "vf2"], f"Fix {n % 4}", by=maintenance, operator=operator)
        report_issue(machine=factory["lathe"], category="alarm", alarm_codes=["SV0401"], by=operator,
                     description="o")
    assert queries() == few
    assert Status.RESOLVED in {i.status for f in client.get(reverse("seen_before"), {"alarm_codes": "SV0401"})
                               .context["seen"].fixes for i in f.issues}


def test_seen_before_is_empty_without_codes(client, operator, factory):
    client.force_login(operator)
    assert client.get(reverse("seen_before"), {"alarm_codes": " , "}).content.decode().strip() == ""


def panel(client, text, **params):
    return client.get(reverse("seen_before"), {"alarm_codes": text, **params})


@pytest.mark.parametrize("typed", ["SV0401\nSV0436", "SV0401;SV0436", "sv 0401 ; sv0436", "SV0401 SV0436"])
def test_seen_before_reads_the_field_as_the_form_does(client, operator, factory, typed):
    """Line breaks and codes separated by spaces alone were read as one code here, not by the form."""
    report_issue(machine=factory["vf2"], category="alarm", alarm_codes=["SV0436"], by=operator, description="x")
    client.force_login(operator)
    response = panel(client, typed)
    assert response.context["codes"] == ["SV0401", "SV0436"]
    assert "Seen before" in response.content.decode()


def test_seen_before_looks_up_five_different_codes_however_often_one_is_typed(client, operator, factory):
    """Repeats used to count towards the five, so the code after them was never looked up."""
    earlier = report_issue(machine=factory["vf2"], category="alarm", alarm_codes=["OT0500"], by=operator,
                           description="x")
    client.force_login(operator)
    response = panel(client, "SV0401, sv 0401, SV0401; SV0401, SV 0401, OT0500")
    assert response.context["codes"] == ["SV0401", "OT0500"]
    assert [i.pk for i in response.context["seen"].elsewhere] == [earlier.pk]


def test_seen_before_leaves_out_entries_too_long_to_be_a_code_and_keeps_the_first_five(client, operator, factory):
    client.force_login(operator)
    typed = "x" * 41 + ", " + ", ".join(f"SV04{i:02}" for i in range(7))
    assert panel(client, typed).context["codes"] == [f"SV04{i:02}" for i in range(5)]


def test_seen_before_drops_nul_and_control_characters(client, operator, factory):
    report_issue(machine=factory["vf2"], category="alarm", alarm_codes=["SV0401"], by=operator, description="x")
    client.force_login(operator)
    response = panel(client, "\x00SV\x000401\x07,\ufeff")
    assert response.status_code == 200 and response.context["codes"] == ["SV0401"]


def test_seen_before_tells_the_page_which_codes_it_read_from_which_text(client, operator, factory):
    """The code buttons (static/js/app.js) go by this answer instead of reading the field themselves."""
    client.force_login(operator)
    typed = "sv 0401; " + "x" * 41 + ", M01 0101, " + ", ".join(f"OT05{i:02}" for i in range(5))
    response = panel(client, typed, machine=factory["vf2"].pk)
    answer = json.loads(response["HX-Trigger"])["typedcodes"]
    # All the codes read, not only the five looked up: the buttons must know every code the field holds.
    assert answer == {"text": typed, "codes": ["SV0401", "M01 0101"] + [f"OT05{i:02}" for i in range(5)]}
