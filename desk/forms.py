"""The desk's forms: its filters (all in the URL), the actions on one issue, the labels' department, and what
a person hears (their notification subscriptions)."""

import uuid
from datetime import date
from urllib.parse import urlsplit

from crispy_forms.layout import HTML, Div
from django import forms

from floor import form_style, formats
from floor.forms import check_subscription
from floor.models import (
    WEBHOOK_CHANNELS,
    Category,
    Department,
    Machine,
    Notice,
    Priority,
    Status,
    Subscription,
)


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

    # max-w-full: a select is as wide as its longest option, and one machine named with 255 characters
    # made the whole desk scroll sideways on a tablet.
    SELECT_CLASSES = "min-h-10 max-w-full rounded-lg border-2 border-slate-300 bg-white px-2"

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Anyone"), ("me", "Me"), ("nobody", "Nobody")] + [
            (str(user.pk), formats.person(user)) for user in assignees
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


class ResolvingForm(ActionForm):
    """An action that may resolve the issue: resolving an issue whose machine is stopped asks whether it
    runs again (Issue.set_status's machine_runs), yes unless told otherwise."""

    machine_runs = forms.ChoiceField(label="Does the machine run again?", required=False, initial="yes",
                                     choices=[("yes", "Yes, it runs again"), ("no", "No, it is still stopped")])

    @property
    def machine_runs_again(self):
        return self.cleaned_data.get("machine_runs") != "no"


class StatusForm(ResolvingForm):
    status = forms.ChoiceField(choices=Status.choices)


class PriorityForm(ActionForm):
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)


class AssignForm(ActionForm):
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Nobody")] + [
            (str(user.pk), formats.person(user)) for user in assignees
        ]


class RunnableForm(ActionForm):
    runs = forms.ChoiceField(choices=[("yes", "Running again"), ("no", "Stopped")])


class RemedyForm(ResolvingForm):
    """What maintenance did. The page writes the form tag (its address is the issue's) and the version: the
    issue's as it is now, not the one sent, so that after a conflict the next save is at the fresh version.

    `asking`: the person tried to resolve the issue without a remedy; the form asks for one. `machine_down`:
    the issue's machine is stopped, and resolving records it running again (Issue.set_status): the form says so."""

    # An empty remedy is told by the page, beside the field ("Say what was done."), not by a browser bubble.
    use_required_attribute = False

    description = forms.CharField(label="What was done", max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 4}),
                                  error_messages={"required": "Say what was done."})
    minutes_spent = forms.IntegerField(label="Minutes spent", required=False, min_value=0, max_value=100_000,
                                       widget=forms.NumberInput(attrs={"class": "w-full"}))
    # One line, as high as the minutes beside it; it grows when dragged.
    parts_used = forms.CharField(label="Parts used", required=False, max_length=1000,
                                 widget=forms.Textarea(attrs={"rows": 1}))
    resolve = forms.BooleanField(label="This fixed it: resolve the issue", required=False)
    # One token per filled-in form: sent again (a retry, the tablet's outbox), it records one remedy.
    token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    # The photos come with the form but not through it: the view checks each (floor/uploads.py) and stores
    # it with the remedy.
    FILES = HTML(
        '<div><label for="id_remedy_files" class="block font-semibold">Photos or a repair video</label>'
        '<input type="file" name="files" id="id_remedy_files" accept="image/*,video/*" multiple'
        f' class="{form_style.FILE_INPUT}"></div>'
    )

    # Shown by static/js/outbox.js when the remedy could not be sent and waits on the tablet.
    KEPT = HTML(
        '<p class="hidden rounded-lg border-2 border-emerald-500 bg-emerald-50 px-4 py-3 font-semibold '
        'text-emerald-900" role="status" data-outbox-kept>No network: the remedy is saved on this tablet and '
        'sent by itself when the network is back.</p>'
    )

    def __init__(self, *args, asking=False, machine_down=False, **kwargs):
        kwargs["initial"] = {"token": uuid.uuid4(), **kwargs.get("initial", {})}
        if asking:
            kwargs["initial"] = {**kwargs.get("initial", {}), "resolve": True}
        super().__init__(*args, **kwargs)
        resolve = ["resolve"]
        if machine_down:
            self.fields["resolve"].help_text = "Say below whether the machine runs again."
            resolve.append("machine_runs")
        else:
            del self.fields["machine_runs"]
        self.helper = form_style.TouchFormHelper(
            self,
            "description",
            Div("minutes_spent", "parts_used", css_class="grid gap-3 sm:grid-cols-[10rem_1fr]"),
            self.FILES,
            *resolve,
            "token",
            self.KEPT,
            form_style.button("Save remedy"),
            form_tag=False,
        )
        if asking:
            form_style.ask_for(self.fields["description"])


class LabelsForm(forms.Form):
    department = forms.ModelChoiceField(queryset=Department.objects.all(), required=False,
                                        empty_label="All departments")
    # One machine's label alone ("Print its QR label" on the issue page); not laid out: it comes in the link.
    machine = forms.ModelChoiceField(queryset=Machine.objects.all(), required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_style.TouchFormHelper(
            self, "department", form_style.button("Show", style="btn-secondary"),
            form_method="get", form_action="labels", form_class="flex flex-wrap items-end gap-3",
        )


# --- notifications ----------------------------------------------------------------------------------
# Everything a person can choose to hear; the test message only "Send a test" sends.
NOTICE_CHOICES = Notice.subscribable()


class MachineChoiceField(forms.ModelMultipleChoiceField):
    """Machines named with their department: asset tags repeat across halls."""

    def label_from_instance(self, machine):
        return f"{machine.name} · {machine.department.name}" if machine.department_id else machine.name


class SubscriptionForm(forms.ModelForm):
    """One way a person hears: what about, where from (departments, machines), and by which channel.
    The page writes the form tag (a new subscription and a change post to different addresses)."""

    # What was ticked is said beside the boxes, not by a browser bubble on the first one.
    use_required_attribute = False

    notices = forms.MultipleChoiceField(
        label="Tell me about", choices=NOTICE_CHOICES, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one thing to hear about."},
    )
    departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.all(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Only what happens there. None ticked and no machine either: every machine.",
    )
    machines = MachineChoiceField(
        queryset=Machine.objects.select_related("department"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="These machines too, whatever their department.",
    )

    class Meta:
        model = Subscription
        fields = ["name", "channel", "url", "notices", "departments", "machines", "active"]
        labels = {"url": "Webhook URL", "active": "Active (untick to pause it)"}
        help_texts = {
            "url": "Teams: the workflow's “When a Teams webhook request is received” URL. Slack-compatible: the "
                   "incoming webhook's URL. ntfy: the topic's URL. Webhook: your receiver's; every post is signed.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # A webhook's URL is not drawn into the form again: it can carry a token of its own (Teams' sig=).
        # Left empty, it stays as it is.
        self.kept_url = self.instance.url if self.instance.pk and self.instance.is_webhook else ""
        if self.kept_url:
            self.initial["url"] = ""
            host = urlsplit(self.kept_url).hostname or "?"
            self.fields["url"].help_text = f"Now a URL at {host}: it stays as it is unless you type a new one."
        self.fields["channel"].widget.attrs["class"] = "w-full"
        self.helper = form_style.TouchFormHelper(
            self,
            "name",
            "channel",
            # Hidden while e-mail is chosen, unless it has an error to show (logbook_site/styles/app.css).
            form_style.Field("url", wrapper_class="webhook-only"),
            form_style.Field("notices", choices_class="grid gap-x-4 sm:grid-cols-2 lg:grid-cols-1 xl:grid-cols-2"),
            "departments",
            form_style.Field("machines", choices_class="max-h-72 overflow-y-auto"),
            "active",
            form_style.button("Save changes" if self.instance.pk else "Add subscription"),
            form_tag=False,
        )

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url and self.kept_url and self.cleaned_data.get("channel") in WEBHOOK_CHANNELS:
            return self.kept_url
        return url

    def clean(self):
        cleaned = super().clean()
        check_subscription(self, self.user)
        return cleaned

    def save(self, commit=True):
        self.instance.user = self.user
        return super().save(commit)


class SubscriptionActiveForm(forms.Form):
    """Pause a subscription or let it send again."""

    active = forms.TypedChoiceField(choices=[("yes", "Resume"), ("no", "Pause")], coerce=lambda v: v == "yes")
