import re

from django import forms

from floor.alarm_codes import normalise_code
from floor.models import Category, Department

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
