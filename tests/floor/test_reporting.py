import uuid

import pytest
from django.db import IntegrityError

from floor.models import AIState
from floor.reporting import make_title, report_issue


def test_title_is_category_code_and_first_words():
    assert make_title(category="alarm", alarm_codes=["SV0401"], description="spdl hot  again\n") == \
        "Alarm SV0401: spdl hot again"
    assert make_title(category="tooling", description="") == "Tooling"


def test_title_names_a_code_the_text_already_holds_once():
    assert make_title(category="alarm", alarm_codes=["SV0401"], description="SV0401 v ready off") == \
        "Alarm: SV0401 v ready off"


def test_long_title_is_cut_at_a_word_within_80_characters():
    title = make_title(category="mechanical", description="chip conveyor " * 20)
    assert len(title) <= 80 and title.endswith("…")
    assert title.startswith("Mechanical: chip conveyor chip")


def test_codes_are_normalised_and_deduplicated(machine, operator):
    codes = [" sv0401 ", "SV0401", ("m01  0101", "mitsubishi")]
    issue = report_issue(machine=machine, category="alarm", alarm_codes=codes,
                         by=operator, description="")
    assert list(issue.alarm_codes.values_list("code", "family")) == [("SV0401", ""), ("M01 0101", "mitsubishi")]
    assert issue.title == "Alarm SV0401"


def test_ai_state_follows_the_setting(machine, operator, settings):
    settings.AI_ENABLED = False
    assert report_issue(machine=machine, category="other", by=operator, description="x").ai_state == AIState.OFF
    settings.AI_ENABLED = True
    assert report_issue(machine=machine, category="other", by=operator, description="x").ai_state == AIState.PENDING


def test_submission_token_is_unique(machine, operator):
    token = uuid.uuid4()
    report_issue(machine=machine, category="other", by=operator, description="x", submission_token=token)
    with pytest.raises(IntegrityError):
        report_issue(machine=machine, category="other", by=operator, description="y", submission_token=token)
