import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.cache import never_cache
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect, trigger_client_event

from floor import photos, roles
from floor.ocr import parse_typed_codes
from floor.forms import MAX_CODES, MachineSearchForm, ReportForm
from floor.models import OPEN_STATUSES, Attachment, Issue, Machine
from floor.reporting import add_report, sent_at, submit_report
from floor.seen_before import seen_before
from floor.uploads import FILES_PER_REQUEST, UploadRejected, delete_attachment, max_bytes, refuse_oversized_body

RECENTLY_CLOSED = 5
# Under the alarm-code field the panel must not push the form off the screen.
SEEN_BEFORE_IN_FORM = 3


# --- the machine picker -----------------------------------------------------------------------------
@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def machine_list(request):
    form = MachineSearchForm(request.GET)
    machines = Machine.with_state()
    if form.is_valid() and form.cleaned_data["q"]:
        machines = Machine.matching(machines, form.cleaned_data["q"])
    template = "floor/machine_list.html"
    if request.htmx and request.htmx.target == "machine-tiles":
        template += "#machine-tiles"
    return render(request, template, {"form": form, "machines": machines})


# --- a machine's page: the quick entry form ---------------------------------------------------------
def _get_machine(machine_id):
    return get_object_or_404(Machine.objects.select_related("department"), pk=machine_id)


# The names typed on this tablet lately (its session), offered as one tap each: on a shared tablet the
# next person confirms who they are instead of sending under the previous person's name.
RECENT_NAMES = 4


def _about_codes(machine, codes):
    """What the form shows under the alarm code for `codes` on `machine`: what fixed them before ("seen")
    and the open issues the report may belong to ("already_open"; none without a machine)."""
    return {
        "seen": seen_before(codes=codes, machine=machine, limit=SEEN_BEFORE_IN_FORM),
        "already_open": Issue.already_open(machine=machine, codes=codes) if machine else [],
    }


def _remember_name(request, name):
    if name:
        names = [n for n in request.session.get("reporter_names", []) if n.casefold() != name.casefold()]
        request.session["reporter_names"] = [name, *names][:RECENT_NAMES]


def _machine_context(machine, form, request):
    token = form["token"].value() if form.is_bound else form.initial["token"]
    pending = Attachment.objects.none()
    try:
        pending = Attachment.objects.filter(pending_token=uuid.UUID(str(token)), issue__isnull=True)
    except ValueError:
        pass
    issues = Issue.objects.filter(machine=machine).prefetch_related("alarm_codes").order_by("-reported_at")
    codes = form.cleaned_data.get("alarm_codes") if form.is_bound and hasattr(form, "cleaned_data") else []
    open_issues = list(issues.filter(status__in=OPEN_STATUSES))
    return {
        "machine": machine,
        "machine_down": any(not issue.is_runnable for issue in open_issues),
        "form": form,
        "pending": list(pending),
        "open_issues": open_issues,
        "closed_issues": list(issues.exclude(status__in=OPEN_STATUSES)[:RECENTLY_CLOSED]),
        **_about_codes(machine, codes or []),
        "recent_names": request.session.get("reporter_names", []),
        "upload_max_mb": settings.UPLOAD_MAX_MB,
        "upload_max_bytes": max_bytes(),
    }


@permission_required("floor.view_issue", raise_exception=True)
@refuse_oversized_body
def machine_page(request, machine_id):
    machine = _get_machine(machine_id)
    if request.method == "POST":
        if not request.user.has_perm("floor.add_issue"):
            return HttpResponse("You may not report issues.", status=403)
        return _report(request, machine)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    form = ReportForm(initial={"token": uuid.uuid4()})
    return render(request, "floor/machine.html", _machine_context(machine, form, request))


def _report(request, machine):
    token = _token(request.POST.get("token"))
    if token is None:
        return HttpResponseBadRequest("The form is incomplete; reload the page.")
    # Sent already (a double tap, a retry after the Wi-Fi dropped): show that issue, store nothing again.
    existing = Issue.objects.filter(submission_token=token).first()
    if existing:
        return _to_confirmation(request, existing)

    # Files sent with the form itself (browsers without JavaScript, or a photo still in the file input)
    # are kept as the form's uploads first, so they survive a form that comes back with errors; a file
    # the form uploaded already is known by its content and not stored twice. They are read in the
    # background: the report never waits for OCR.
    rejected = []
    for upload in request.FILES.getlist("files")[:FILES_PER_REQUEST]:
        try:
            photos.receive(upload=upload, by=request.user, token=token, wait=False)
        except UploadRejected as e:
            rejected.append(f"{upload.name}: {e}")
    has_attachments = Attachment.objects.filter(pending_token=token, issue__isnull=True).exists()
    form = ReportForm(request.POST, has_attachments=has_attachments)
    if form.is_valid() and not rejected:
        _remember_name(request, form.cleaned_data["reporter_name"])
        data = form.cleaned_data
        reported_at = sent_at(data["waited"])
        if data["add_to"]:
            submitted = _add_to_open_issue(request, machine, form, token=token, reported_at=reported_at)
        else:
            submitted = submit_report(
                machine=machine,
                category=data["category"],
                description=data["description"],
                alarm_codes=data["alarm_codes"],
                is_runnable=form.is_runnable,
                by=request.user,
                reporter_name=data["reporter_name"],
                token=token,
                reported_at=reported_at,
            )
        if submitted and not submitted.created:
            messages.info(request, f"This report had been sent already, as {submitted.issue.number}.")
        if submitted:
            return _to_confirmation(request, submitted.issue)
    for message in rejected:
        form.add_error(None, message)
    template = "floor/machine.html"
    if request.htmx:
        template += "#report-form"
    return render(request, template, _machine_context(machine, form, request), status=200)


def _add_to_open_issue(request, machine, form, *, token, reported_at):
    """The report added to the open issue its form's button named, or None with the form saying why."""
    data = form.cleaned_data
    issue = Issue.objects.filter(pk=data["add_to"], machine=machine, status__in=OPEN_STATUSES).first()
    if issue is None:
        form.add_error(None, f"#{data['add_to']} is no longer open on this machine: send this as a new report.")
        return None
    submitted = add_report(issue=issue, description=data["description"], stopped=not form.is_runnable,
                           by=request.user, reporter_name=data["reporter_name"], token=token,
                           reported_at=reported_at)
    if submitted.created:
        messages.success(request, f"Added to {issue.number}: it happened again.")
    return submitted


def _token(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _to_confirmation(request, issue):
    url = reverse("issue_reported", args=[issue.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_POST
@permission_required("floor.add_attachment", raise_exception=True)
@refuse_oversized_body
def upload_attachment(request, machine_id):
    """A photo or video chosen in the form: stored at once with the form's token, read for alarm codes,
    and answered with its preview (with the codes, or "being read" while the readers are busy)."""
    machine = _get_machine(machine_id)
    token = _token(request.POST.get("token"))
    if token is None:
        return HttpResponseBadRequest("The form is incomplete; reload the page.")
    context = {"machine": machine, "token": token}
    uploads = request.FILES.getlist("files")
    if not uploads:
        context["error"] = "No file arrived. Try again."
    elif len(uploads) > FILES_PER_REQUEST:
        context["error"] = f"At most {FILES_PER_REQUEST} files at once."
        uploads = []
    attachments = []
    for upload in uploads:
        try:
            attachments.append(photos.receive(upload=upload, by=request.user, token=token))
        except UploadRejected as e:
            context["error"] = f"{upload.name}: {e}"
    context["attachments"] = attachments
    context.update(_code_from_photos(machine, attachments, typed=request.POST.get("alarm_codes", "")))
    return render(request, "floor/machine.html#upload-result", context)


def _code_from_photos(machine, attachments, *, typed):
    """One code found and the field still empty: fill it in, saving the operator a tap."""
    found = [code for attachment in attachments for code in attachment.found_codes]
    if len(set(found)) != 1 or typed.strip():
        return {}
    return {
        "fill_code": found[0],
        "form": ReportForm(initial={"alarm_codes": found[0]}),
        **_about_codes(machine, found[:1]),
    }


@require_safe
@permission_required("floor.view_attachment", raise_exception=True)
def attachment_preview(request, machine_id, pk):
    """A photo's preview in the form, asked for every two seconds while it is being read: "not yet" is an
    empty 204 (htmx leaves the preview as it is and asks again), the read preview stops the asking."""
    attachment = get_object_or_404(Attachment, pk=pk, pending_token=_token(request.GET.get("token")))
    attachment = photos.current(attachment)
    if attachment.is_being_read:
        return HttpResponse(status=204)
    machine = _get_machine(machine_id)
    context = {"machine": machine, "attachments": [attachment], "token": attachment.pending_token}
    context.update(_code_from_photos(machine, [attachment], typed=request.GET.get("alarm_codes", "")))
    return render(request, "floor/machine.html#upload-result", context, status=HTMX_STOP_POLLING)


@require_POST
@permission_required("floor.add_attachment", raise_exception=True)
def remove_attachment(request, machine_id, pk):
    """Take a pending photo off the form before sending."""
    token = _token(request.POST.get("token"))
    attachment = get_object_or_404(Attachment, pk=pk, pending_token=token, issue__isnull=True)
    delete_attachment(attachment)
    return HttpResponse("")


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def seen_before_panel(request):
    """Earlier issues with the alarm code being typed; follows the alarm-code field as it changes.

    The field is read as the report form reads it (parse_typed_codes), but quietly: an entry too long to
    be a code is left out and the first MAX_CODES codes are looked up; the form says why when it is sent.
    The codes read go back with the text they were read from (the "typedcodes" event), so the buttons
    that put a code from a photo into the field know what the field holds without reading it themselves.
    """
    text = request.GET.get("alarm_codes", "")[:200]
    read = list(parse_typed_codes(text).codes)
    codes = read[:MAX_CODES]
    machine = None
    machine_id = _token(request.GET.get("machine"))
    if machine_id:
        machine = Machine.objects.filter(pk=machine_id).first()
    # With the panel, the offer to add the report to an open issue with the code (or that has the
    # machine down) follows the field too.
    response = render(request, "floor/_seen_before.html", {
        **_about_codes(machine, codes), "codes": codes, "machine": machine, "oob_already_open": bool(machine),
    })
    return trigger_client_event(response, "typedcodes", {"text": text, "codes": read})


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def issue_reported(request, pk):
    issue = get_object_or_404(
        Issue.objects.select_related("machine__department").prefetch_related("alarm_codes", "attachments"), pk=pk
    )
    codes = [c.code for c in issue.alarm_codes.all()]
    return render(request, "floor/reported.html", {
        "issue": issue,
        "codes": codes,
        "seen": seen_before(codes=codes, machine=issue.machine, exclude=issue.pk),
    })


@require_safe
@never_cache
@login_required
def outbox_token(request):
    """A fresh CSRF token for the tablet's outbox (static/js/outbox.js), which sends reports and remedies
    kept while the network was down from whatever page is open; being sent to sign in tells it to wait."""
    if not roles.uses_outbox(request.user):
        return HttpResponse("You may not send reports or remedies.", status=403)
    return JsonResponse({"csrfToken": get_token(request)})
