from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils._os import safe_join
from django.views.decorators.http import require_safe

from floor.models import OPEN_STATUSES, Issue, IssueAlarmCode


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def home(request):
    """The start page: what is open on the floor right now, machines that are down first."""
    issues = (
        Issue.objects.filter(status__in=OPEN_STATUSES)
        .select_related("machine__department", "assigned_to")
        .prefetch_related(Prefetch("alarm_codes", queryset=IssueAlarmCode.objects.only("issue_id", "code")))
        .order_by("is_runnable", "-priority", "-reported_at")[:50]
    )
    return render(request, "floor/home.html", {"issues": issues})


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def media_file(request, path):
    """Uploaded photos and videos, for people who may see issues."""
    try:
        full = Path(safe_join(settings.MEDIA_ROOT, path))
    except SuspiciousFileOperation:
        raise Http404("No such file.")
    if not full.is_file():
        raise Http404("No such file.")
    response = FileResponse(full.open("rb"))
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
