import re
from datetime import date

from django import forms

from floor.alarm_codes import normalise_code
from floor.models import Category, Department, Machine, Priority, Status

MAX_CODES = 5


class MachineSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, strip=True)


class LabelsForm(forms.Form):
    department = forms.ModelChoiceField(queryset=Department.objects.all(), required=False,
                                        empty_label="All departments")


class ReportForm(forms.Form):
    """The operator's quick entry at the machine. The machine comes from the URL (its QR label)."""

    category = forms.ChoiceField(
        choices=Category.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Tap the kind of problem."},
    )
    runs = forms.ChoiceField(
        label="Is the machine still running?",
        choices=[("yes", "Yes, still running"), ("no", "No, it stopped")],
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the machine still runs."},
    )
    alarm_codes = forms.CharField(
        label="Alarm code",
        required=False,
        max_length=200,
        help_text="As the screen shows it; several separated by commas.",
    )
    description = forms.CharField(label="What happened?", required=False, max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    reporter_name = forms.CharField(label="Your name", required=False, max_length=100)
    # One token per filled-in form: it ties uploaded photos to the form and makes sending idempotent.
    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, has_attachments=False, **kwargs):
        self.has_attachments = has_attachments
        super().__init__(*args, **kwargs)

    def clean_alarm_codes(self):
        codes = []
        for part in re.split(r"[,;\n]+", self.cleaned_data["alarm_codes"]):
            code = normalise_code(part)
            if not code:
                continue
            if len(code) > 40:
                raise forms.ValidationError("An alarm code is at most 40 characters; separate codes by commas.")
            if code not in codes:
                codes.append(code)
        if len(codes) > MAX_CODES:
            raise forms.ValidationError(f"At most {MAX_CODES} alarm codes, please.")
        return codes

    def clean(self):
        cleaned = super().clean()
        if (
            not cleaned.get("description")
            and not cleaned.get("alarm_codes")
            and not self.has_attachments
            and "alarm_codes" not in self.errors
        ):
            self.add_error(
                "description", "Say what happened, enter the alarm code, or add a photo of the screen."
            )
        return cleaned

    @property
    def is_runnable(self):
        return self.cleaned_data["runs"] == "yes"


class FilterDayField(forms.DateField):
    """A day of the desk's date filters, between 1900 and 2999.

    The desk turns a day into midnight in TIME_ZONE (and "to" into the midnight after it); Python's
    datetimes end at year 9999 and begin at year 1, so days near either end have no such midnight in UTC.
    No issue is that old or that far ahead: the bound is the one rule, and a clear message beats an error."""

    FIRST, LAST = date(1900, 1, 1), date(2999, 12, 31)

    def __init__(self, **kwargs):
        super().__init__(required=False, widget=forms.DateInput(attrs={"type": "date"}), **kwargs)

    def validate(self, value):
        super().validate(value)
        if value and not self.FIRST <= value <= self.LAST:
            raise forms.ValidationError(f"Enter a date from {self.FIRST.year} to {self.LAST.year}.",
                                        code="out_of_range")


class DeskFilterForm(forms.Form):
    """The desk's filters, all in the URL (shareable, back button works)."""

    SORTS = {
        "urgency": "Open and down first",
        "-reported_at": "Newest first",
        "reported_at": "Oldest first",
        "-priority": "Priority",
        "machine": "Machine",
        "status": "Status",
        "category": "Category",
    }

    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.MultipleChoiceField(choices=Status.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple)
    machine = forms.ModelChoiceField(queryset=Machine.objects.all(), required=False, empty_label="All machines")
    department = forms.ModelChoiceField(queryset=Department.objects.all(), required=False,
                                        empty_label="All departments")
    category = forms.MultipleChoiceField(choices=Category.choices, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    runnable = forms.ChoiceField(label="Machine state", required=False,
                                 choices=[("", "Running or down"), ("running", "Running"), ("down", "Down")])
    priority = forms.TypedMultipleChoiceField(choices=Priority.choices, coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple)
    assignee = forms.ChoiceField(required=False)
    reported_from = FilterDayField(label="Reported from")
    reported_to = FilterDayField(label="to")
    resolved_from = FilterDayField(label="Resolved from")
    resolved_to = FilterDayField(label="to")
    sort = forms.ChoiceField(choices=list(SORTS.items()), required=False)
    page = forms.IntegerField(min_value=1, max_value=10_000, required=False)

    SELECT_CLASSES = "min-h-10 rounded-lg border-2 border-slate-300 bg-white px-2"

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Anyone"), ("me", "Me"), ("nobody", "Nobody")] + [
            (str(user.pk), user.get_full_name() or user.get_username()) for user in assignees
        ]
        for name in ("machine", "department", "runnable", "assignee", "sort"):
            self.fields[name].widget.attrs["class"] = self.SELECT_CLASSES

    def clean(self):
        cleaned = super().clean()
        for start, end in [("reported_from", "reported_to"), ("resolved_from", "resolved_to")]:
            if cleaned.get(start) and cleaned.get(end) and cleaned[start] > cleaned[end]:
                self.add_error(end, "The end date is before the start date.")
        return cleaned


class ActionForm(forms.Form):
    """Every change on an issue carries the version the person saw (lost-update protection)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class StatusForm(ActionForm):
    status = forms.ChoiceField(choices=Status.choices)


class PriorityForm(ActionForm):
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)


class AssignForm(ActionForm):
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Nobody")] + [
            (str(user.pk), user.get_full_name() or user.get_username()) for user in assignees
        ]


class RunnableForm(ActionForm):
    runs = forms.ChoiceField(choices=[("yes", "Running again"), ("no", "Stopped")])


class RemedyForm(ActionForm):
    description = forms.CharField(label="What was done", max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 4}),
                                  error_messages={"required": "Say what was done."})
    minutes_spent = forms.IntegerField(label="Minutes spent", required=False, min_value=0, max_value=100_000)
    parts_used = forms.CharField(label="Parts used", required=False, max_length=1000,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    resolve = forms.BooleanField(label="This fixed it: resolve the issue", required=False)
