"""The site's own pages: where each person starts, and the uploaded files."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils._os import safe_join
from django.views import defaults
from django.views.decorators.http import require_safe


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def home(request):
    """Everyone starts where their work is: operators at the machines, maintenance at the desk,
    managers on the dashboard."""
    if request.user.has_perm("floor.view_dashboard"):
        return redirect("dashboard")
    if request.user.has_perm("floor.view_desk"):
        return redirect("desk")
    return redirect("machine_list")


@require_safe
@permission_required("floor.view_issue", raise_exception=True)
def media_file(request, path):
    """Uploaded photos and videos, for people who may see issues."""
    try:
        full = Path(safe_join(settings.MEDIA_ROOT, path))
    except SuspiciousFileOperation:
        raise Http404("No such file.")
    try:
        # Opening is the test: a name too long for the file system, or with a NUL in it, fails as a
        # missing file does.
        response = FileResponse(full.open("rb"))
    except (OSError, ValueError):
        raise Http404("No such file.")
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    # Uploads are photos and videos; should anything else ever be served, it runs no script.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'"
    return response


def server_error(request):
    """A fault nobody foresaw: the API answers it in its JSON shape, the pages with the 500 page."""
    if request.path.startswith("/api/"):
        from logbook_site.api.errors import json_error

        return json_error(500, "server_error", "Something went wrong on the server; it is logged. Try again, "
                                               "and tell the plant's administrator if it persists.")
    return defaults.server_error(request)
