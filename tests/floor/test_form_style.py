"""The one look of the forms crispy-forms draws (floor/form_style.py): touch-sized controls, labels as the
forms name them, errors under their fields and tied to them, the same markup however often a form is drawn."""

import re

import pytest
from crispy_forms.layout import Field as CrispyField
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.template import engines
from django.test import RequestFactory

from dashboard.forms import DisplayLinkForm, PeriodForm
from desk.forms import RemedyForm, SubscriptionForm
from floor import form_style
from desk.forms import LabelsForm

pytestmark = pytest.mark.django_db


def draw(form):
    template = engines["django"].from_string("{% load crispy_forms_tags %}{% crispy form %}")
    return template.render({"form": form}, RequestFactory().get("/"))


def controls(page):
    return re.findall(r"<(?:input|select|textarea)\b[^>]*>", page)


FORMS = [
    lambda: RemedyForm(initial={"version": 1}),
    lambda: DisplayLinkForm(),
    lambda: PeriodForm({}),
    lambda: LabelsForm(),
    lambda: SubscriptionForm(user=None),
]


@pytest.mark.parametrize("make", FORMS, ids=["remedy", "display link", "period", "labels", "subscription"])
def test_a_form_drawn_twice_is_drawn_the_same(make):
    """crispy-tailwind's field template adds its classes to the widget each time it draws it."""
    form = make()
    first, second = (re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", draw(form)) for _ in range(2))
    assert first == second


@pytest.mark.parametrize("make", FORMS, ids=["remedy", "display link", "period", "labels", "subscription"])
def test_every_control_is_touch_sized_and_keeps_the_focus_outline(make):
    page = draw(make())
    for control in controls(page):
        if 'type="hidden"' in control or 'type="checkbox"' in control:
            continue
        assert re.search(r'class="[^"]*\bmin-h-12\b[^"]*\btext-lg\b', control) or "file:min-h-12" in control, control
        assert "outline-none" not in control
    assert "outline-none" not in page


def test_labels_are_the_forms_own_words_without_a_required_mark():
    page = draw(DisplayLinkForm())
    assert '<label for="id_name" class="block font-semibold">Where does the screen hang?</label>' in page
    assert "asteriskField" not in page and "*</label>" not in page


def test_an_error_stands_under_its_field_and_is_tied_to_it():
    form = DisplayLinkForm({"name": ""})
    page = draw(form)
    control = next(c for c in controls(page) if 'name="name"' in c)
    assert 'aria-invalid="true"' in control and 'aria-describedby="id_name_error"' in control
    assert re.search(r'<div id="id_name_error" class="text-red-700"><p>This field is required.</p></div>', page)
    assert "aria-[invalid=true]:border-red-500" in control  # the red border comes with the error


def test_buttons_are_buttons_without_a_name():
    """A named submit would put ?show=Show into the dashboard's and the labels' addresses."""
    page = draw(LabelsForm())
    assert re.search(r'<button\s+class="btn btn-secondary" type="submit">Show</button>', page)
    assert 'name="show"' not in page.lower()


def test_a_layout_naming_a_field_the_form_lacks_is_refused():
    """crispy-forms would leave the field out of the page with a line in the log."""
    class Form(forms.Form):
        name = forms.CharField()

        def __init__(self):
            super().__init__()
            self.helper = form_style.TouchFormHelper(self, "name", "nmae")

    with pytest.raises(ImproperlyConfigured, match="nmae"):
        Form()


def test_crispy_forms_own_field_is_refused_in_a_layout():
    """It would draw its field in crispy-tailwind's look, asterisk and all."""
    class Form(forms.Form):
        name = forms.CharField()

        def __init__(self):
            super().__init__()
            self.helper = form_style.TouchFormHelper(self, CrispyField("name", wrapper_class="flex-1"))

    with pytest.raises(ImproperlyConfigured):
        Form()


def test_several_checkboxes_are_a_fieldset_named_by_its_legend_with_touch_sized_lines(department):
    form = SubscriptionForm({"notices": []}, user=None)
    form.is_valid()
    page = draw(form)
    fieldset = re.search(r'<fieldset aria-describedby="id_notices_error">\s*<legend[^>]*>Tell me about</legend>', page)
    assert fieldset, page
    assert re.search(r'<label for="id_notices_0" class="flex min-h-12 items-center gap-3"><input type="checkbox" '
                     r'name="notices" value="new_issue" class="h-6 w-6 flex-none accent-brand-600"', page)
    assert 'id="id_notices_error"' in page and "Tick at least one thing to hear about." in page
    assert f'value="{department.pk}"' in page  # the departments' boxes, drawn the same way
