"""The one look of the forms drawn by crispy-forms: the remedy on the issue page, the display link, the
dashboard's period and the QR labels' department. Controls are big enough to hit with a gloved finger on a
tablet (at least 48 px high, large text, a thick border) and keep the site's amber focus outline; a field's
errors stand under it.

A form builds its layout with `TouchFormHelper(self, ...)`. The widgets get their classes here, once, when
the form is built, and Django draws them in our field template (templates/floor/_form_field.html).
crispy-tailwind's own field template is not used: it adds its classes to a widget each time it draws it (a
form drawn twice gets them twice), draws selects with `focus:outline-none`, which hides the focus outline,
and puts an asterisk into the label of every required field, which changes the label's text.

The forms drawn by hand, and why, are listed in the README ("Forms").
"""

from crispy_forms import layout
from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.utils import TEMPLATE_PACK
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.forms.widgets import Input

# Class names are written out whole: Tailwind finds the classes it builds by reading this file.
BORDER, ASKING_BORDER = "border-slate-300", "border-amber-500"
# Django marks the control of a field with errors aria-invalid="true": its border turns red by that.
CONTROL = "min-h-12 rounded-lg border-2 border-slate-300 bg-white px-3 text-lg aria-[invalid=true]:border-red-500"

# First match wins: a checkbox is an Input too. Widths of number inputs and selects are the form's.
# Several checkboxes (CheckboxSelectMultiple) get the look of one on each of their boxes.
CHECKBOX = "h-6 w-6 flex-none accent-brand-600"
WIDGET_CLASSES = [
    (forms.CheckboxInput, CHECKBOX),
    (forms.CheckboxSelectMultiple, CHECKBOX),
    (forms.Textarea, CONTROL + " block w-full py-2"),
    (forms.Select, CONTROL),
    (forms.NumberInput, CONTROL),
    (Input, CONTROL + " w-full"),
]

# A file input drawn in a layout's HTML (crispy-tailwind leaves file inputs unstyled): its button is a
# control like the others. It is as wide as its layout, not as its button and file name side by side, which
# on a phone are wider than the screen.
FILE_INPUT = ("block w-full text-lg file:mr-3 file:min-h-12 file:cursor-pointer file:rounded-lg file:border-2 "
              "file:border-slate-300 file:bg-white file:px-4 file:font-semibold")

FIELD_TEMPLATE = "floor/_form_field.html"


class Field(layout.Field):
    """A field with settings of its own in a layout (`wrapper_class`: the classes of the <div> around it;
    `choices_class`: those of the box around the choices of several checkboxes), drawn in the same look.
    crispy-forms' own Field brings its template pack's field template with it."""

    template = FIELD_TEMPLATE

    def __init__(self, *fields, choices_class=None, **kwargs):
        super().__init__(*fields, **kwargs)
        self.choices_class = choices_class

    def render(self, form, context, template_pack=TEMPLATE_PACK, extra_context=None, **kwargs):
        extra_context = dict(extra_context or {})
        if self.choices_class:
            extra_context["choices_class"] = self.choices_class
        return super().render(form, context, template_pack, extra_context=extra_context, **kwargs)


class TouchFormHelper(FormHelper):
    """The layout of one form instance, in the look above.

    `fields` are field names and layout objects in order (all fields when none are given); keyword arguments
    set the helper's own settings (`form_action`, `form_class`, `form_method`, `form_tag`, `attrs`, ...).
    A widget's own "class" attribute (a width, say) comes after the look's classes.
    """

    template = "floor/_form.html"
    field_template = FIELD_TEMPLATE
    label_class = "block font-semibold"

    def __init__(self, form, *fields, **settings):
        super().__init__(form)
        if fields:
            self.layout = layout.Layout(*fields)
        for name, value in settings.items():
            if not hasattr(self, name):
                raise ImproperlyConfigured(f"FormHelper has no setting {name!r}.")
            setattr(self, name, value)
        # crispy-forms leaves out a field it cannot find, with no more than a line in the log.
        missing = {pointer.name for pointer in self.layout.get_field_names()} - set(form.fields)
        if missing:
            raise ImproperlyConfigured(f"{type(form).__name__} has no field {', '.join(sorted(missing))}.")
        if any(isinstance(item, layout.Field) and not isinstance(item, Field) for item in _parts(self.layout)):
            raise ImproperlyConfigured("A layout takes floor.form_style.Field, not crispy-forms' own Field.")
        for field in form.fields.values():
            _style(field.widget)


def _parts(container):
    for item in getattr(container, "fields", ()):
        yield item
        yield from _parts(item)


def _style(widget):
    if widget.is_hidden:
        return
    look = next((classes for kind, classes in WIDGET_CLASSES if isinstance(widget, kind)), None)
    if look is None:
        raise ImproperlyConfigured(f"floor.form_style has no look for a {type(widget).__name__}.")
    widget.attrs["class"] = f"{look} {widget.attrs.get('class', '')}".strip()
    # A textarea is as wide as its layout. Django's cols="40" would hold it at 40 characters at least,
    # wider than a phone.
    widget.attrs.pop("cols", None)


def ask_for(field):
    """Draw the eye and the cursor to a field the page asks to be filled in (a field of a styled form)."""
    field.widget.attrs["class"] = field.widget.attrs["class"].replace(BORDER, ASKING_BORDER)
    field.widget.attrs["autofocus"] = True


def button(text, *, style="btn-primary", **attrs):
    """A <button>, a submit button unless `type` says otherwise. Not crispy-tailwind's Submit, which draws
    an <input> with a name: a GET form would carry it into the address (?show=Show)."""
    attrs.setdefault("type", "submit")
    return StrictButton(text, css_class=style, **attrs)
