"""Durations, ages and people are written one way everywhere: the desk, the issue page, the floor, the
dashboard, the wall screen, the charts, the export and the timeline."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from floor import formats


@pytest.mark.parametrize("seconds, text", [
    (0, "0 min"), (59, "1 min"), (35 * 60, "35 min"), (3 * 3600 + 5 * 60, "3 h 05 min"),
    (9 * 3600 + 59 * 60, "9 h 59 min"), (17 * 3600, "17 h"), (30 * 3600, "30 h"), (47 * 3600, "47 h"),
    (52 * 3600, "2 d 4 h"), (None, "–"),
])
def test_durations(seconds, text):
    assert formats.duration(seconds) == text
    if seconds is not None:
        assert formats.duration(timedelta(seconds=seconds)) == text


def test_thirty_hours_read_the_same_on_the_desk_and_the_dashboard():
    # The desk's filter printed "1 d 6 h" where the dashboard's printed "30 h".
    desk = Template("{% load logbook %}{{ downtime|duration }}").render(Context({"downtime": timedelta(hours=30)}))
    dashboard = Template("{% load dashboard_format logbook %}{{ seconds|duration }}").render(
        Context({"seconds": 30 * 3600}))
    assert desk == dashboard == "30 h"


def test_ages_are_durations_since():
    assert formats.age(timezone.now() - timedelta(minutes=90)) == "1 h 30 min"
    assert formats.age(None) == "–"
    line = Template("{% load logbook %}{{ moment|age }}").render(
        Context({"moment": timezone.now() - timedelta(hours=30)}))
    assert line == "30 h"


@pytest.mark.django_db
def test_people_are_named_the_same_on_pages_in_the_export_and_in_the_timeline(django_user_model, machine):
    from desk.forms import AssignForm
    from floor.reporting import report_issue

    named = django_user_model.objects.create_user("m.nowak", first_name="Marek", last_name="Nowak")
    plain = django_user_model.objects.create_user("j.doe")
    assert formats.person(named) == "Marek Nowak" and formats.person(plain) == "j.doe" and formats.person(None) == ""
    assert dict(AssignForm(assignees=[named, plain]).fields["assignee"].choices)[str(named.pk)] == "Marek Nowak"
    issue = report_issue(machine=machine, category="other", description="x", by=plain)
    assert issue.reporter_display == "j.doe"
    issue.assign(named, by=plain)
    assert issue.events.get(kind="assigned").summary == "Assigned to Marek Nowak"
