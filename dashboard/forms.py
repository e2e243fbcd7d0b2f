from crispy_forms.layout import HTML
from django import forms

from dashboard.models import DisplayLink
from floor import form_style
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
        widget=forms.NumberInput(attrs={"class": "w-28", "inputmode": "numeric", "list": "day-choices",
                                        "placeholder": DEFAULT_DAYS}),
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.all(), required=False, empty_label="All departments",
        error_messages={"invalid_choice": "That department does not exist (any more)."},
    )

    def __init__(self, data=None, **kwargs):
        # No days asked for means the default, and the field shows it.
        if data is not None and not data.get("days"):
            data = data.copy()
            data["days"] = DEFAULT_DAYS
        super().__init__(data, **kwargs)
        self.helper = form_style.TouchFormHelper(
            self,
            "days",
            HTML('<datalist id="day-choices"><option value="7"><option value="30"><option value="90">'
                 '<option value="365"></datalist>'),
            "department",
            form_style.button("Show"),
            # Beside the button, and wrapping with it on a phone.
            HTML('<a href="{% url "display_links" %}" class="btn-secondary">Wall screens</a>'),
            form_method="get", form_action="dashboard", form_class="flex flex-wrap items-end gap-3",
            attrs={"aria-label": "Period and department"},
            # What is wrong is said once, in place of the figures, with the way back to the default
            # (templates/dashboard/dashboard.html); the fields keep their red border.
            form_show_errors=False,
        )


class DisplayLinkForm(forms.ModelForm):
    class Meta:
        model = DisplayLink
        fields = ["name", "department"]
        labels = {"name": "Where does the screen hang?"}
        widgets = {"name": forms.TextInput(attrs={"placeholder": "Hall A, by the door"})}
        # The placeholder and the "Whole factory" choice say what the model's help texts say.
        help_texts = {"name": "", "department": ""}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].empty_label = "Whole factory"
        self.helper = form_style.TouchFormHelper(
            self,
            form_style.Field("name", wrapper_class="min-w-64 flex-1"),
            "department",
            form_style.button("Create display link"),
            form_action="display_links", form_class="card mb-6 flex flex-wrap items-end gap-4 p-5",
        )
