from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from floor.ocr import MAX_CODE_LENGTH, parse_typed_codes
from floor.models import Category, Subscription

MAX_CODES = 5


class MachineSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, strip=True)


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
    # The open issue this report is added to ("happened again"), from the button that offers it.
    add_to = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # Seconds the report waited on the tablet for the network (the outbox); its time is when Send was
    # pressed (floor/reporting.sent_at).
    waited = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, has_attachments=False, **kwargs):
        self.has_attachments = has_attachments
        super().__init__(*args, **kwargs)
        if self.is_bound and str(self.data.get("add_to") or "").strip():
            # Added to an open issue: its kind is that issue's, and the machine's state is asked only to
            # learn that it stopped since.
            self.fields["category"].required = False
            self.fields["runs"].required = False
        # The field is read by parse_typed_codes, which drops NUL as the "seen before" panel reading the
        # same field does; Django's refusal of NUL would make the two disagree.
        field = self.fields["alarm_codes"]
        field.validators = [v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def clean_alarm_codes(self):
        typed = parse_typed_codes(self.cleaned_data["alarm_codes"])
        if typed.too_long:
            raise forms.ValidationError(
                f"An alarm code is at most {MAX_CODE_LENGTH} characters; separate codes by commas."
            )
        if len(typed.codes) > MAX_CODES:
            raise forms.ValidationError(f"At most {MAX_CODES} alarm codes, please.")
        return list(typed.codes)

    def clean(self):
        cleaned = super().clean()
        if (
            not cleaned.get("add_to")
            and not cleaned.get("description")
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
        return self.cleaned_data["runs"] != "no"


def check_subscription(form, user, *, yours=True):
    """Add a subscription's problems (Subscription.problems) to its form's fields: the one set of rules of
    the notifications page and of the admin. A channel or URL already refused by its own field is not
    judged again."""
    data = form.cleaned_data
    if "channel" not in data or form.has_error("url"):
        return
    candidate = Subscription(channel=data["channel"], url=data.get("url", ""), user=user)
    for name, message in candidate.problems(yours=yours).items():
        form.add_error(name, message)
