import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dashboard import charts, desk_links, metrics
from dashboard.forms import DisplayLinkForm, PeriodForm
from dashboard.models import DisplayLink
from floor import formats

# Declared with the others on floor.Issue.Meta (the app label every permission of the logbook has).
PERMISSION = "floor.view_dashboard"
TILES_POLL_SECONDS = 15
WALL_POLL_SECONDS = 30
WALL_DAYS = 14
WALL_DOWN_ROWS = 6
TIMELINE_DAYS = 7


# --- conditional GET --------------------------------------------------------------------------------
def _etag(*parts):
    """An ETag from what the reply depends on: the data's change marker, the parameters, and the minute
    (ages and "down until now" move with the clock even when no data changes, so an idle screen
    re-renders once a minute and is answered 304 in between)."""
    now = timezone.now()
    key = "|".join(str(p) for p in (*parts, now.strftime("%Y-%m-%dT%H:%M")))
    return '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def _cache_headers(response, etag):
    response["ETag"] = etag
    # Stored by the browser but revalidated on every poll: the 304 then costs one small query.
    patch_cache_control(response, private=True, no_cache=True)
    # The page and its htmx partials share a URL; the browser's cache must keep them apart.
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _not_modified(request, etag):
    """A 304 when the browser already holds this ETag, before any figure is computed; else None."""
    response = get_conditional_response(request, etag=etag)
    return _cache_headers(response, etag) if response is not None else None


# --- the dashboard ----------------------------------------------------------------------------------
@require_safe
@permission_required(PERMISSION, raise_exception=True)
def dashboard(request):
    """Tiles of what is open now (polled every 15 s by htmx, answered 304 while nothing changed) and the
    period's figures and charts below."""
    form = PeriodForm(request.GET)
    if not form.is_valid():
        # The page says what is wrong in place of the figures (and offers the default period).
        return render(request, "dashboard/dashboard.html", {"form": form}, status=400)
    days, department = form.cleaned_data["days"], form.cleaned_data["department"]
    tiles_only = bool(request.htmx and request.htmx.target == "tiles")

    # The user too: the page shows their name and carries their CSRF token.
    etag = _etag("tiles" if tiles_only else "page", request.user.pk, days, department and department.pk,
                 metrics.change_marker())
    if (response := _not_modified(request, etag)) is not None:
        return response

    now = timezone.now()
    query = request.GET.urlencode()
    context = {
        "form": form,
        "days": days,
        "department": department,
        "now_figures": metrics.now_figures(now=now, department=department),
        "tiles_url": reverse("dashboard") + (f"?{query}" if query else ""),
        "poll_seconds": TILES_POLL_SECONDS,
        "links": _now_links(department),
        "updated_at": now,
        "time_zone": settings.TIME_ZONE,
    }
    template = "dashboard/dashboard.html"
    if tiles_only:
        template += "#tiles"
    else:
        period = metrics.period_ending(now=now, days=days)
        figures = metrics.period_figures(period=period, department=department)
        timeline = metrics.downtime_timeline(now=now, days=TIMELINE_DAYS, department=department)
        context.update(_period_context(figures, timeline, department))
    return _cache_headers(render(request, template, context), etag)


def _now_links(department):
    return {
        "open": desk_links.open_issues_url(department=department),
        "down": desk_links.machines_down_url(department=department),
        "today": desk_links.reported_url(first_day=timezone.localdate(), last_day=timezone.localdate(),
                                   department=department),
    }


def _period_context(figures, timeline, department):
    period = figures.period
    span = {"first_day": period.first_day, "last_day": period.last_day, "department": department}

    def reported(**filters):
        return desk_links.reported_url(**span, **filters)

    summary = figures.summary
    downtime_bars = [
        (row["name"], row["downtime_seconds"] / 3600, formats.hours(row["downtime_seconds"]),
         reported(machine=row["machine_id"]))
        for row in figures.by_machine[:10] if row["downtime_seconds"]
    ]
    category_bars = [
        (row["label"], row["issues"], f"{row['issues']:,}", reported(category=row["category"]))
        for row in figures.by_category
    ]
    # Machines without a department cannot be filtered for at the desk: their bar is not a link.
    department_bars = [
        (row["name"], row["downtime_seconds"] / 3600, formats.hours(row["downtime_seconds"]),
         desk_links.reported_url(first_day=period.first_day, last_day=period.last_day,
                           department=row["department_id"]) if row["department_id"] else None)
        for row in figures.by_department
    ]
    previous = f"previous {period.days} days"
    return {
        "figures": figures,
        "period": period,
        "summary": summary,
        "period_links": {
            "reported": reported(),
            "resolved": desk_links.resolved_url(first_day=period.first_day, last_day=period.last_day,
                                          department=department),
        },
        "machine_rows": [{**row, "href": reported(machine=row["machine_id"])} for row in figures.by_machine],
        "department_rows": [{**row, "href": bar[3]} for row, bar in zip(figures.by_department, department_bars)],
        "code_rows": [{**row, "href": reported(q=row["code"])} for row in figures.alarm_codes],
        "category_rows": [{**row, "href": bar[3]} for row, bar in zip(figures.by_category, category_bars)],
        "daily_chart": charts.daily_chart(
            title=f"Issues reported per day, last {period.days} days",
            description=(f"Bars: issues reported each day, {summary.reported:,} in all. Dashed line: the same "
                         f"day of the {previous}, {summary.reported_previous:,} in all."),
            days=figures.per_day,
            href_for_day=lambda day: desk_links.reported_url(first_day=day, last_day=day, department=department),
        ),
        "pareto_chart": charts.pareto_chart(
            title="Top alarm codes (Pareto)",
            description=_pareto_description(figures.alarm_codes, figures.alarm_code_total),
            rows=figures.alarm_codes,
            href_for_code=lambda code: reported(q=code),
        ),
        "downtime_chart": charts.bar_chart(
            title="Downtime by machine, hours",
            description=charts.describe_bars(downtime_bars, unit_word="Machines with the most downtime"),
            bars=downtime_bars, unit=" h", color=charts.RED,
        ),
        "category_chart": charts.bar_chart(
            title="Issues by category",
            description=charts.describe_bars(category_bars, unit_word="Issues reported per category"),
            bars=category_bars,
        ),
        "department_chart": charts.bar_chart(
            title="Downtime by department, hours",
            description=charts.describe_bars(department_bars, unit_word="Downtime per department"),
            bars=department_bars, unit=" h", color=charts.RED,
        ),
        "timeline": timeline,
        "timeline_chart": _timeline_chart(timeline, href_for_machine=lambda machine_id: desk_links.reported_url(
            first_day=timeline["days"][0], last_day=timeline["days"][-1], machine=machine_id,
            department=department)),
    }


def _pareto_description(rows, total):
    if not rows:
        return "No alarm codes in this period."
    top = ", ".join(f"{r['code']} {r['issues']}" for r in rows[:5])
    return (f"{total:,} alarm codes in the period. Most frequent: {top}. The top {len(rows)} make "
            f"{round(rows[-1]['cumulative'] * 100)} % of all alarm codes.")


def _timeline_chart(timeline, href_for_machine=None, **options):
    rows = timeline["rows"]
    if rows:
        worst = "; ".join(f"{r['name']} {formats.hours(r['downtime_seconds'])}" for r in rows[:5])
        description = (f"Stops of the {len(rows)} machines with the most downtime in the last "
                       f"{len(timeline['days'])} days, one row each, red while stopped: {worst}.")
    else:
        description = f"No machine was stopped in the last {len(timeline['days'])} days."
    return charts.timeline_chart(
        title=f"Downtime timeline, last {len(timeline['days'])} days", description=description,
        timeline=timeline, href_for_machine=href_for_machine, **options,
    )


# --- display links for wall screens -----------------------------------------------------------------
def _wall_url(link):
    # The TV reaches the server by the same address the QR labels use.
    return settings.SITE_URL + reverse("wall_screen", args=[link.token])


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(PERMISSION, raise_exception=True)
def display_links(request):
    """Managers create, see and revoke the read-only links of the wall screens."""
    if request.method == "POST":
        form = DisplayLinkForm(request.POST)
        if form.is_valid():
            link = form.save(commit=False)
            link.created_by = request.user
            link.save()
            messages.success(request, f"Display link for “{link.name}” created. Open it on the screen's browser.")
            return redirect("display_links")
        status = 400
    else:
        form, status = DisplayLinkForm(), 200
    links = DisplayLink.objects.select_related("department", "created_by")
    rows = [{"link": link, "url": _wall_url(link) if link.is_active else ""} for link in links]
    return render(request, "dashboard/display_links.html", {"form": form, "rows": rows}, status=status)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def revoke_display_link(request, pk):
    link = get_object_or_404(DisplayLink, pk=pk)
    link.revoke()
    messages.success(request, f"Display link for “{link.name}” revoked: that screen now shows “not found”.")
    return redirect("display_links")


# --- the wall screen --------------------------------------------------------------------------------
def _link_or_none(token):
    return DisplayLink.objects.active().with_token(token).select_related("department").first()


@login_not_required
@require_safe
def wall_screen(request, token):
    """The TV on the shop floor: no login, only a display link's token; big, dark, refreshing itself."""
    link = _link_or_none(token)
    if link is None:
        response = HttpResponseNotFound("Not found.", content_type="text/plain; charset=utf-8")
        if request.htmx:
            # A screen whose link was revoked while it showed the figures: reload into the plain 404
            # rather than keep showing the last figures forever.
            response["HX-Refresh"] = "true"
        return response
    department = link.department if link.department_id else None
    body_only = bool(request.htmx and request.htmx.target == "wall-body")
    etag = _etag("wall", body_only, link.pk, link.department_id, metrics.change_marker())
    if (response := _not_modified(request, etag)) is not None:
        return response

    now = timezone.now()
    period = metrics.period_ending(now=now, days=WALL_DAYS)
    per_day, reported, previous = metrics.issues_per_day(period=period, department=department)
    timeline = metrics.downtime_timeline(now=now, days=TIMELINE_DAYS, department=department, machines=9)
    now_figures = metrics.now_figures(now=now, department=department, with_down_list=True)
    # Just stopped first, then longest first: the wall lists the first WALL_DOWN_ROWS only, where the newest
    # stop would otherwise be the one left out.
    now_figures.down.sort(key=lambda row: not row["just_stopped"])
    context = {
        "link": link,
        "department": department,
        "now_figures": now_figures,
        "updated_at": now,
        "poll_seconds": WALL_POLL_SECONDS,
        # Sized for a 1920 x 1080 TV read from across a hall: about 28 px text.
        "timeline_chart": _timeline_chart(timeline, width=640, label_width=200, font=17, row_h=34,
                                          day_format="%a"),
        "daily_chart": charts.daily_chart(
            title=f"Issues reported per day, last {WALL_DAYS} days",
            description=f"{reported:,} issues in the last {WALL_DAYS} days; the {WALL_DAYS} days before: "
                        f"{previous:,} (dashed line).",
            days=per_day, width=560, height=190, font=17,
        ),
        "reported": reported,
        "previous": previous,
        "wall_days": WALL_DAYS,
        "down_rows": WALL_DOWN_ROWS,
        "down_rows_negative": -WALL_DOWN_ROWS,
    }
    template = "dashboard/wall.html"
    if body_only:
        template += "#wall-body"
    response = render(request, template, context)
    response["X-Robots-Tag"] = "noindex"
    return _cache_headers(response, etag)
