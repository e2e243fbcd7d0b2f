"""
The maintenance desk: the queue of issues with its filters and export, the issue page with its actions
and the polling of its AI text, the machines' QR labels, and each person's notifications (what they hear,
their subscriptions, the log of what was sent to them).
"""

import csv
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Case, F, IntegerField, Prefetch, Q, Value, When
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HTMX_STOP_POLLING, push_url, reswap, retarget

from desk.forms import (
    AssignForm,
    DeskFilterForm,
    LabelsForm,
    PriorityForm,
    RemedyForm,
    RunnableForm,
    StatusForm,
    SubscriptionActiveForm,
    SubscriptionForm,
)
from floor import channels, formats, notify
from floor.models import (
    URGENCY,
    AIState,
    Channel,
    Delivery,
    InvalidTransition,
    Issue,
    IssueAlarmCode,
    IssueEvent,
    Machine,
    Notice,
    Priority,
    Remedy,
    StaleIssue,
    Status,
    Subscription,
)
from floor.reporting import RemedyNeeded, change_status, record_remedy
from floor.roles import assignees
from floor.search import search
from floor.seen_before import seen_before, similar_issues
from floor.tasks import request_ai_text
from floor.uploads import UploadRejected, inspect_upload

PAGE_SIZE = 50
STATUS_ORDER = Case(*[When(status=s, then=Value(i)) for i, s in enumerate(Status.values)],
                    output_field=IntegerField())
ORDERINGS = {
    "urgency": [URGENCY, "is_runnable", F("priority").desc(), F("reported_at").desc(), F("id").desc()],
    "-reported_at": ["-reported_at", "-id"],
    "reported_at": ["reported_at", "id"],
    "-priority": ["-priority", "-reported_at", "-id"],
    "machine": [F("machine__name").asc(nulls_last=True), "-reported_at", "-id"],
    "status": [STATUS_ORDER, "-reported_at", "-id"],
    "category": ["category", "-reported_at", "-id"],
}


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_issues(form, user):
    """The issues a valid DeskFilterForm selects, in the order it asks for (the queue and the export)."""
    data = form.cleaned_data
    issues = Issue.objects.all()
    if data["status"]:
        issues = issues.filter(status__in=data["status"])
    if data["machine"]:
        issues = issues.filter(machine=data["machine"])
    if data["department"]:
        issues = issues.filter(machine__department=data["department"])
    if data["category"]:
        issues = issues.filter(category__in=data["category"])
    if data["runnable"]:
        issues = issues.filter(is_runnable=data["runnable"] == "running")
    if data["priority"]:
        issues = issues.filter(priority__in=data["priority"])
    assignee = data["assignee"]
    if assignee == "me":
        issues = issues.filter(assigned_to=user)
    elif assignee == "nobody":
        issues = issues.filter(assigned_to__isnull=True)
    elif assignee:
        issues = issues.filter(assigned_to_id=int(assignee))
    # Day bounds as datetimes (not __date) so the reported_at index serves the range.
    if data["reported_from"]:
        issues = issues.filter(reported_at__gte=_day_start(data["reported_from"]))
    if data["reported_to"]:
        issues = issues.filter(reported_at__lt=_day_start(data["reported_to"] + timedelta(days=1)))
    if data["resolved_from"]:
        issues = issues.filter(resolved_at__gte=_day_start(data["resolved_from"]))
    if data["resolved_to"]:
        issues = issues.filter(resolved_at__lt=_day_start(data["resolved_to"] + timedelta(days=1)))
    sort = data["sort"] or "urgency"
    if data["q"]:
        issues = search(issues, data["q"])
        if not data["sort"]:
            return issues.order_by("-rank", *ORDERINGS["urgency"])
    return issues.order_by(*ORDERINGS[sort])


def _desk_form(request):
    return DeskFilterForm(request.GET, assignees=assignees())


@require_safe
@permission_required("floor.view_desk", raise_exception=True)
def desk(request):
    form = _desk_form(request)
    context = {"form": form, "issues": [], "page": 1, "has_next": False}
    status = 200
    if form.is_valid():
        page = form.cleaned_data["page"] or 1
        offset = (page - 1) * PAGE_SIZE
        # One row more than a page tells whether there is a next page, without COUNT(*) over the table.
        rows = list(
            filtered_issues(form, request.user)
            .select_related("machine__department", "assigned_to")
            .prefetch_related(Prefetch("alarm_codes", queryset=IssueAlarmCode.objects.only("issue_id", "code")))
            [offset:offset + PAGE_SIZE + 1]
        )
        context.update(issues=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)
    else:
        status = 400
    context["query"] = _query_without_page(request)
    template = "desk/desk.html"
    if not (request.htmx and request.htmx.target == "desk-table"):
        context["machine_choices"] = [(str(pk), name) for pk, name in Machine.objects.values_list("pk", "name")]
    if request.htmx and request.htmx.target == "desk-table":
        template += "#desk-table"
    return render(request, template, context, status=status)


def _query_without_page(request):
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- export -----------------------------------------------------------------------------------------
class _Echo:
    def write(self, value):
        return value


EXPORT_COLUMNS = [
    "Issue", "Reported at", "Machine", "Department", "Category", "Alarm codes", "Title", "Description",
    "Status", "Priority", "Machine runs", "Reported by", "Assigned to", "Machine stopped at",
    "Machine running again at", "Resolved at", "Closed at", "Downtime minutes", "Remedy minutes", "Remedies",
]


def _when(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# What makes Excel, LibreOffice and Google Sheets read a cell as a formula (tab and carriage return too,
# as some of them skip leading white space before looking).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """A CSV cell a spreadsheet shows as typed. Text that it would run as a formula (a description
    starting with "=HYPERLINK(", a part number "-12+3") gets a leading single quote, as OWASP advises
    against CSV injection; numbers, which only the numeric columns hold, stay numbers, negative too."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _export_rows(issues):
    writer = csv.writer(_Echo())
    # A byte-order mark first, so that Excel reads the file as UTF-8 (umlauts, µ, Ø).
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
    for issue in issues:
        remedies = list(issue.remedies.all())
        downtime = issue.downtime
        yield writer.writerow(spreadsheet_cell(cell) for cell in [
            issue.pk,
            _when(issue.reported_at),
            issue.machine.name if issue.machine else "",
            issue.machine.department.name if issue.machine and issue.machine.department else "",
            issue.get_category_display(),
            ", ".join(c.code for c in issue.alarm_codes.all()),
            issue.display_title,
            issue.description,
            issue.get_status_display(),
            issue.get_priority_display(),
            "yes" if issue.is_runnable else "no",
            issue.reporter_display,
            formats.person(issue.assigned_to),
            _when(issue.machine_stopped_at),
            _when(issue.machine_running_again_at),
            _when(issue.resolved_at),
            _when(issue.closed_at),
            round(downtime.total_seconds() / 60) if downtime is not None else "",
            sum(r.minutes_spent or 0 for r in remedies) or "",
            " | ".join(
                r.display_text + (f" [parts: {r.parts_used}]" if r.parts_used else "") for r in remedies
            ),
        ])


@require_safe
@permission_required("floor.export_issues", raise_exception=True)
def desk_export(request):
    """The current filtered list as CSV, streamed so a year of issues never sits in memory."""
    form = _desk_form(request)
    if not form.is_valid():
        return render(request, "desk/desk.html", {"form": form, "issues": []}, status=400)
    issues = (
        filtered_issues(form, request.user)
        .select_related("machine__department", "assigned_to", "reported_by")
        .prefetch_related("alarm_codes", Prefetch("remedies", queryset=Remedy.objects.order_by("performed_at")))
        .iterator(chunk_size=1000)
    )
    filename = timezone.localtime().strftime("issues-%Y%m%d-%H%M.csv")
    return StreamingHttpResponse(
        _export_rows(issues),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- one issue --------------------------------------------------------------------------------------
def get_issue(pk):
    return get_object_or_404(Issue.with_history(), pk=pk)


# Shown by their own entries in the timeline, not as events.
_SHOWN_ELSEWHERE = {IssueEvent.Kind.REMEDY_ADDED, IssueEvent.Kind.ATTACHMENT_ADDED}


def timeline(issue):
    """Events, remedies, photos and repeat reports of an issue in the order they happened."""
    entries = [("event", e.created_at, e) for e in issue.events.all() if e.kind not in _SHOWN_ELSEWHERE]
    entries += [("occurrence", o.reported_at, o) for o in issue.occurrences.all()]
    entries += [("remedy", r.performed_at, r) for r in issue.remedies.all()]
    entries += [("attachment", a.uploaded_at, a) for a in issue.attachments.all() if a.remedy_id is None]
    return sorted(entries, key=lambda entry: entry[1])


def _stopped_and_open(issue):
    """Resolving this issue will record its machine running again (Issue.set_status)."""
    return issue.is_open and not issue.is_runnable


def issue_context(issue, **extra):
    codes = [c.code for c in issue.alarm_codes.all()]
    people = list(assignees())
    context = {
        "issue": issue,
        "timeline": timeline(issue),
        "seen": seen_before(codes=codes, machine=issue.machine, exclude=issue.pk),
        "codes": codes,
        "assign_form": AssignForm(initial={"version": issue.version,
                                           "assignee": issue.assigned_to_id or ""}, assignees=people),
        "remedy_form": RemedyForm(initial={"version": issue.version}, machine_down=_stopped_and_open(issue)),
        "next_statuses": issue.allowed_statuses(),
        "resolving_runs_machine": _stopped_and_open(issue),
        "priorities": Priority.choices,
    }
    context.update(extra)
    return context


def _issue_response(request, issue, status=200, **extra):
    issue = get_issue(issue.pk)
    template = "desk/issue.html"
    if request.htmx:
        template += "#issue-main"
    return render(request, template, issue_context(issue, **extra), status=status)


def _after_change(request, issue):
    if request.htmx:
        return _issue_response(request, issue)
    return redirect("issue_detail", pk=issue.pk)


def _conflict(request, issue, error, **extra):
    message = (
        "Someone else changed this issue while you were looking at it. Here it is as it is now; "
        "nothing of yours was saved. Check it and try again."
        if isinstance(error, StaleIssue) else str(error)
    )
    return _issue_response(request, issue, status=409 if isinstance(error, StaleIssue) else 400,
                           action_error=message, **extra)


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def issue_detail(request, pk):
    issue = get_issue(pk)
    return render(request, "desk/issue.html", issue_context(issue))


def _act(request, pk, form, invalid, change):
    """The shape every action on an issue shares: a valid form, then the change at the version the
    person saw, then the fresh issue (or why nothing changed)."""
    issue = get_object_or_404(Issue, pk=pk)
    if not form.is_valid():
        return _issue_response(request, issue, status=400, action_error=invalid)
    try:
        change(issue, form.cleaned_data)
    except RemedyNeeded:
        return _issue_response(request, issue, status=400,
                               remedy_form=RemedyForm(initial={"version": issue.version}, asking=True,
                                                      machine_down=_stopped_and_open(issue)),
                               action_error="Record what fixed it first: fill in the remedy and tick "
                                            "“This fixed it”.")
    except (StaleIssue, InvalidTransition) as e:
        return _conflict(request, issue, e)
    return _after_change(request, issue)


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def issue_similar(request, pk):
    """Reports whose text is like this issue's: loaded after the page, as ranking them costs more
    than the rest of the page together."""
    issue = get_object_or_404(Issue, pk=pk)
    return render(request, "desk/issue.html#similar", {"similar": similar_issues(issue)})


@require_POST
@permission_required("floor.change_issue_status", raise_exception=True)
def issue_status(request, pk):
    def change(issue, data):
        change_status(issue, data["status"], by=request.user, expected_version=data["version"],
                      machine_runs=form.machine_runs_again)

    form = StatusForm(request.POST)
    return _act(request, pk, form, "Choose a status.", change)


@require_POST
@permission_required("floor.assign_issue", raise_exception=True)
def issue_assign(request, pk):
    people = {str(p.pk): p for p in assignees()}
    data = request.POST.copy()
    if data.get("assignee") == "me":
        data["assignee"] = str(request.user.pk)

    def change(issue, cleaned):
        issue.assign(people.get(cleaned["assignee"]), by=request.user, expected_version=cleaned["version"])

    form = AssignForm(data, assignees=people.values())
    return _act(request, pk, form, "Choose someone to assign.", change)


@require_POST
@permission_required("floor.change_issue", raise_exception=True)
def issue_priority(request, pk):
    def change(issue, data):
        issue.set_priority(data["priority"], by=request.user, expected_version=data["version"])

    return _act(request, pk, PriorityForm(request.POST), "Choose a priority.", change)


@require_POST
@permission_required("floor.change_issue", raise_exception=True)
def issue_runnable(request, pk):
    def change(issue, data):
        issue.set_runnable(data["runs"] == "yes", by=request.user, expected_version=data["version"])

    return _act(request, pk, RunnableForm(request.POST), "Say whether the machine runs.", change)


@require_POST
@permission_required("floor.add_remedy", raise_exception=True)
def issue_remedy(request, pk):
    """Record a remedy with its photos or repair video, and resolve the issue if it fixed it."""
    issue = get_object_or_404(Issue, pk=pk)
    form = RemedyForm(request.POST, machine_down=_stopped_and_open(issue))
    uploads = request.FILES.getlist("files")
    for upload in uploads:
        try:
            inspect_upload(upload)
        except UploadRejected as e:
            form.add_error(None, f"{upload.name}: {e}")
    if not form.is_valid():
        return _issue_response(request, issue, status=400, remedy_form=form)
    data = form.cleaned_data
    try:
        record_remedy(issue=issue, description=data["description"], by=request.user,
                      minutes_spent=data["minutes_spent"], parts_used=data["parts_used"], files=uploads,
                      resolve=data["resolve"], expected_version=data["version"],
                      machine_runs=form.machine_runs_again, token=data["token"])
    except (StaleIssue, InvalidTransition) as e:
        # What was typed comes back in the form (a remedy can be minutes of writing); a browser cannot
        # be given files back, so those have to be chosen again.
        form.add_error(None, "Your remedy was not saved; it is still here. Check the issue as it is now, then "
                             "save again" + (", and choose the photos or video again." if uploads else "."))
        return _conflict(request, issue, e, remedy_form=form)
    return _after_change(request, issue)


# --- AI text of an issue or remedy -------------------------------------------------------------------
# Both kinds go one way: the same model methods (floor.models.AIText), the same fragment
# (templates/desk/_ai_text.html, included by a partial of each kind's own template, which its views
# render) and these two helpers. Who may see why the text failed and ask again is the same for both:
# the permission below, which the fragment checks too (perms.floor.change_issue).
AI_RERUN_PERMISSION = "floor.change_issue"
AI_TEXT_PARTIALS = {Issue: "desk/issue.html#ai-text", Remedy: "desk/_remedy.html#ai-text"}


def _ai_text(request, row, *, polled):
    """The AI text of `row` as its page shows it. A poll gets 286 once the text is no longer pending,
    which stops it."""
    status = HTMX_STOP_POLLING if polled and row.ai_state != AIState.PENDING else 200
    return render(request, AI_TEXT_PARTIALS[type(row)], {row._meta.model_name: row}, status=status)


def _ai_poll(request, row):
    row.fail_ai_if_overdue()  # text pending past the limit will never come: say so, offer "Try again"
    return _ai_text(request, row, polled=True)


def _ai_rerun(request, row):
    row.fail_ai_if_overdue()  # a page loaded before the limit passed: the text is stuck, ask anew
    if row.ai_state != AIState.PENDING:
        request_ai_text(row)
    if not request.htmx:
        return redirect("issue_detail", pk=row.ai_issue_id)
    return _ai_text(request, row, polled=False)


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def issue_ai(request, pk):
    """The AI title and summary block; polled while the text is being written."""
    return _ai_poll(request, get_object_or_404(Issue.objects.select_related("reported_by"), pk=pk))


@require_POST
@permission_required(AI_RERUN_PERMISSION, raise_exception=True)
def issue_ai_rerun(request, pk):
    return _ai_rerun(request, get_object_or_404(Issue.objects.select_related("reported_by"), pk=pk))


@require_safe
@permission_required("floor.view_remedy", raise_exception=True)
def remedy_ai(request, pk):
    """A remedy's text; polled while AI rewrites it."""
    return _ai_poll(request, get_object_or_404(Remedy, pk=pk))


@require_POST
@permission_required(AI_RERUN_PERMISSION, raise_exception=True)
def remedy_ai_rerun(request, pk):
    return _ai_rerun(request, get_object_or_404(Remedy, pk=pk))


# --- QR labels --------------------------------------------------------------------------------------
# Two columns of four: 60 mm labels fit the printable height of both A4 and Letter (10 mm margins).
LABELS_PER_SHEET = 8


@require_safe
@permission_required("floor.print_labels", raise_exception=True)
def labels(request):
    """Printable QR labels, each pointing at its machine's page under SITE_URL: all machines, one
    department's or one machine's. They come in sheets of LABELS_PER_SHEET, each printed on a page of its
    own, A4 or Letter (templates/desk/labels.html has the sizes)."""
    form = LabelsForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "desk/labels.html", {"form": form, "sheets": []}, status=400)
    machines = Machine.objects.select_related("department").order_by(
        F("department__name").asc(nulls_last=True), "name"
    )
    department = form.cleaned_data.get("department") if form.is_bound else None
    machine = form.cleaned_data.get("machine") if form.is_bound else None
    if department:
        machines = machines.filter(department=department)
    if machine:
        machines = machines.filter(pk=machine.pk)
    labels = []
    for each in machines:
        url = settings.SITE_URL + reverse("machine_page", args=[each.pk])
        # segno writes plain SVG markup for a URL it encoded itself: safe to inline.
        svg = segno.make(url, error="m").svg_inline(scale=4, border=2, omitsize=True)
        labels.append({"machine": each, "url": url, "svg": mark_safe(svg)})
    sheets = [labels[i:i + LABELS_PER_SHEET] for i in range(0, len(labels), LABELS_PER_SHEET)]
    return render(request, "desk/labels.html", {"form": form, "sheets": sheets, "department": department,
                                                "machine": machine, "per_sheet": LABELS_PER_SHEET})



# --- notifications ----------------------------------------------------------------------------------
# Everyone at the desk manages what they hear themselves, and only that: their own subscriptions and the
# deliveries made for them. Another person's answer 404, as if they did not exist.
NOTIFICATIONS_PERMISSION = "floor.view_desk"
LOG_SIZE = 50
# A delivery due within POLL_SOON (a test, a first try) is polled every POLL_FAST seconds, so its outcome
# shows within seconds; one waiting longer for its next try (its endpoint failing) every POLL_SLOW: a day
# of retries must not mean a request every 2 s from every open page.
POLL_SOON = timedelta(minutes=1)
POLL_FAST, POLL_SLOW = 2, 30
UNDER_WAY = (Delivery.State.PENDING, Delivery.State.SENDING)
REDELIVERABLE = (Delivery.State.SENT, Delivery.State.FAILED)


@dataclass(frozen=True)
class SubscriptionRow:
    """A subscription as the page says it: what about, where from, and where it goes (a webhook by its
    host only: the rest of its URL may carry a token, as Teams' sig= does)."""

    subscription: Subscription
    notices: list
    where: str
    host: str


def _subscription_row(subscription):
    known = dict(Notice.choices)
    places = [d.name for d in subscription.departments.all()] + [m.name for m in subscription.machines.all()]
    return SubscriptionRow(
        subscription=subscription,
        notices=[known.get(n, n) for n in subscription.notices],
        where=", ".join(places) if places else "Every machine",
        host=(urlsplit(subscription.url).hostname or "") if subscription.is_webhook else "",
    )


def _get_subscription_for_user(request, pk):
    return get_object_or_404(Subscription.objects.filter(user=request.user), pk=pk)


def _deliveries_for(user):
    """The deliveries a person sees: those made for them (their e-mail) and for their subscriptions."""
    return Delivery.objects.filter(Q(user=user) | Q(subscription__user=user)).prefetch_related("tries")


def _get_delivery_for_user(request, pk):
    delivery = get_object_or_404(_deliveries_for(request.user), pk=pk)
    delivery.poll_every = _poll_every(delivery, timezone.now())
    return delivery


def _poll_every(delivery, now):
    """Seconds between the row's polls while it is under way, else None (it is not polled)."""
    if delivery.state not in UNDER_WAY:
        return None
    return POLL_FAST if delivery.next_attempt_at <= now + POLL_SOON else POLL_SLOW


def notifications_context(request, *, form=None, **extra):
    user = request.user
    overview = notify.overview(user)
    now = timezone.now()
    deliveries = list(_deliveries_for(user)[:LOG_SIZE])
    for delivery in deliveries:
        delivery.poll_every = _poll_every(delivery, now)
    known = dict(Notice.choices)
    context = {
        "overview": overview,
        "rows": [_subscription_row(s) for s in overview.subscriptions],
        "defaults": [known.get(n, n) for n in overview.defaults],
        "all_paused": bool(overview.subscriptions) and not any(s.active for s in overview.subscriptions),
        "form": form or SubscriptionForm(user=user),
        "editing": None,
        "deliveries": deliveries,
        "log_size": LOG_SIZE,
        "redeliverable": REDELIVERABLE,
        "overlap_hours": round(Subscription.ROTATION_OVERLAP.total_seconds() / 3600),
    }
    context.update(extra)
    return context


def _notifications_response(request, status=200, **extra):
    template = "desk/notifications.html"
    # The Change links push their address: going back to it after the cache is gone asks for the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#notifications-main"
    response = render(request, template, notifications_context(request, **extra), status=status)
    if "secret" in extra:
        # The secret is in this answer and nowhere else: no cache, no back-forward copy keeps it.
        add_never_cache_headers(response)
    return response


def _done(request, text, *, show=None):
    """After a change: a plain form post goes back to the page (Post/Redirect/Get), at `show` if that is
    a part of it ("#deliveries"); htmx gets the fresh fragment with the message and the page's address (an
    edit was at the subscription's), scrolled to `show` ("window": the top, where the message is). Without
    `show` it stays where it was: a button's outcome shows beside the button."""
    if request.htmx:
        response = push_url(_notifications_response(request, done=text), reverse("notifications"))
        return reswap(response, f"outerHTML show:{show}:top") if show else response
    messages.success(request, text)
    return redirect(reverse("notifications") + (show if show and show.startswith("#") else ""))


def _with_secret(request, subscription, secret, *, text, rotated=False):
    """A webhook's new signing secret is shown in the answer to the post that made it, and never again:
    it is not put in the session or a message to survive a redirect, so this answer is the page itself,
    with the secret at its top."""
    response = _notifications_response(request, done=text, secret=secret, secret_of=subscription, rotated=rotated)
    return reswap(push_url(response, reverse("notifications")), "outerHTML show:window:top") if request.htmx \
        else response


def _saved(request, subscription, *, had_secret, text):
    if subscription.is_webhook and subscription.secret and not had_secret:
        return _with_secret(request, subscription, subscription.secret, text=text)
    return _done(request, text, show="window")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def notifications(request):
    """What the person hears now, their subscriptions (a new one is added here) and the delivery log."""
    if request.method != "POST":
        return _notifications_response(request)
    form = SubscriptionForm(request.POST, user=request.user)
    if not form.is_valid():
        return _notifications_response(request, status=400, form=form)
    subscription = form.save()
    return _saved(request, subscription, had_secret=False, text=f"Subscription “{subscription}” added.")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def subscription_change(request, pk):
    """The notifications page with one subscription's form filled in, to change it."""
    subscription = _get_subscription_for_user(request, pk)
    # Said in the form's heading as it is saved, not as typed into a form that was refused.
    editing = {"pk": subscription.pk, "name": str(subscription)}
    if request.method != "POST":
        return _notifications_response(request, form=SubscriptionForm(instance=subscription, user=request.user),
                                       editing=editing)
    had_secret = bool(subscription.secret)
    form = SubscriptionForm(request.POST, instance=subscription, user=request.user)
    if not form.is_valid():
        return _notifications_response(request, status=400, form=form, editing=editing)
    subscription = form.save()
    return _saved(request, subscription, had_secret=had_secret, text=f"Subscription “{subscription}” saved.")


@require_POST
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def subscription_active(request, pk):
    subscription = _get_subscription_for_user(request, pk)
    form = SubscriptionActiveForm(request.POST)
    if not form.is_valid():
        return _notifications_response(request, status=400, problem="Say whether to pause or resume it.")
    active = form.cleaned_data["active"]
    subscription.set_active(active)
    return _done(request, f"“{subscription}” sends again." if active else
                 f"“{subscription}” paused: nothing is sent through it until you resume it.")


@require_POST
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def subscription_delete(request, pk):
    subscription = _get_subscription_for_user(request, pk)
    name = str(subscription)
    subscription.delete()
    left = Subscription.objects.filter(user=request.user).exists()
    return _done(request, f"Subscription “{name}” deleted." + ("" if left else " You hear your role's default again."))


@require_POST
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def subscription_test(request, pk):
    """A test message through the subscription, shown in the log as it goes."""
    subscription = _get_subscription_for_user(request, pk)
    if subscription.channel == Channel.EMAIL and not channels.mail_enabled():
        problem = "E-mail is off on this server (EMAIL_HOST is not set): a test by e-mail cannot be sent."
    elif subscription.channel == Channel.EMAIL and not request.user.email:
        problem = ("You have no e-mail address in Machine Logbook, so a test by e-mail cannot arrive. An "
                   "administrator sets it in the admin (Users).")
    else:
        problem = ""
    if problem:
        return _notifications_response(request, status=400, problem=problem)
    notify.send_test(subscription, by=request.user)
    return _done(request, f"A test is on its way through “{subscription}”: the delivery log shows how it went.",
                 show="#deliveries")


@require_POST
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def subscription_secret(request, pk):
    """A new signing secret for a webhook (Subscription.rotate_secret); the old one signs beside it a while."""
    subscription = _get_subscription_for_user(request, pk)
    if not subscription.is_webhook:
        return _notifications_response(request, status=400, problem="Only a webhook has a signing secret.")
    secret = subscription.rotate_secret()
    return _with_secret(request, subscription, secret, rotated=True,
                        text=f"New signing secret for “{subscription}”.")


@require_safe
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def delivery_row(request, pk):
    """One row of the delivery log; polled while it is under way. 286 once it is sent or failed, which
    stops the polling."""
    delivery = _get_delivery_for_user(request, pk)
    status = 200 if delivery.poll_every else HTMX_STOP_POLLING
    return render(request, "desk/notifications.html#delivery", {"delivery": delivery,
                                                                 "redeliverable": REDELIVERABLE}, status=status)


@require_POST
@permission_required(NOTIFICATIONS_PERMISSION, raise_exception=True)
def delivery_redeliver(request, pk):
    """Send a delivery again, with the same message id (notify.redeliver)."""
    delivery = _get_delivery_for_user(request, pk)
    if delivery.state not in REDELIVERABLE:
        response = _notifications_response(request, status=400,
                                           problem="Only a message that was sent or given up on can be sent again.")
        # The button asked for its row; the answer is the page's fragment, with the reason at its top.
        return reswap(retarget(response, "#notifications-main"), "outerHTML") if request.htmx else response
    notify.redeliver(delivery)
    if request.htmx:
        delivery = _get_delivery_for_user(request, pk)
        return render(request, "desk/notifications.html#delivery", {"delivery": delivery,
                                                                     "redeliverable": REDELIVERABLE})
    messages.success(request, f"{delivery} is sent again.")
    return redirect(reverse("notifications") + "#deliveries")
