from django import forms

from dashboard.models import DisplayLink
from floor.models import Department

DEFAULT_DAYS = 30
MAX_DAYS = 365


class PeriodForm(forms.Form):
    """The dashboard's query string: ?days=N (1 to 365) and optionally ?department=<uuid>."""

    days = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_DAYS, label="Days",
        error_messages={
            "invalid": f"Days must be a whole number from 1 to {MAX_DAYS}.",
            "min_value": f"Days must be a whole number from 1 to {MAX_DAYS}.",
            "max_value": f"Days must be a whole number from 1 to {MAX_DAYS}.",
        },
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.all(), required=False, empty_label="All departments",
        error_messages={"invalid_choice": "That department does not exist (any more)."},
    )

    def clean_days(self):
        return self.cleaned_data["days"] or DEFAULT_DAYS


class DisplayLinkForm(forms.ModelForm):
    class Meta:
        model = DisplayLink
        fields = ["name", "department"]
        labels = {"name": "Where does the screen hang?"}
