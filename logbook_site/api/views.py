"""The API's endpoints. Each calls the domain code the pages call; nothing here decides a rule."""

from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from dashboard import metrics
from dashboard.forms import PeriodForm
from floor import photos
from floor.roles import assignees
from floor.models import (
    Attachment,
    Department,
    InvalidTransition,
    Issue,
    Machine,
    StaleIssue,
)
from floor.ocr import normalise_code
from floor.reporting import change_status, record_remedy, report_issue
from floor.seen_before import seen_before
from floor.uploads import UploadRejected, content_digest, oversized_body
from logbook_site.api import serializers as s
from logbook_site.api.errors import body as error_body
from logbook_site.api.errors import TooLarge, json_error
from logbook_site.api.filters import IssueCursor, IssueFilter
from logbook_site.api.security import etag_of, expected_version, idempotency_key, idempotent, token_for


class _Endpoint:
    """What every endpoint shares: the permission it requires (`permission`, or per action
    `permissions`), and its own authentication instead of the pages' sign-in redirect."""

    permission = None
    permissions = {}
    # The actions that take a file ("post" for a view without actions): refused by their size first.
    takes_files = ()

    def initial(self, request, *args, **kwargs):
        # Before authentication, which for a browser session reads the body (its CSRF token may be in it).
        if getattr(self, "action", None) in self.takes_files or request.method.lower() in self.takes_files:
            if reason := oversized_body(request, files=1):
                raise TooLarge(reason)
        super().initial(request, *args, **kwargs)

    def required_permission(self, request):
        return self.permissions.get(getattr(self, "action", None), self.permission)

    @classmethod
    def as_view(cls, *args, **kwargs):
        # A key or a session says who calls (logbook_site.api.security); a caller without either gets a
        # 401 in JSON, not the sign-in page.
        return login_not_required(super().as_view(*args, **kwargs))


# Answers every endpoint may give besides its own.
def _errors(*codes):
    described = {
        400: "Invalid: `errors` names each field and what is wrong with it.",
        401: "No API key, or one that is unknown or revoked.",
        403: "The key's role may not do this.",
        404: "No such thing.",
        409: "The change is not possible in the issue's status (`detail` says why).",
        412: "The issue changed since its ETag: the body is the issue as it is now.",
        413: "The file is too large.",
        415: "Send JSON (or multipart for files).",
        422: "This Idempotency-Key came before with another request.",
        428: "If-Match with the issue's ETag is required.",
        429: "Too many calls: wait as Retry-After says.",
    }
    # Any call may lack a key, lack the role or come too often.
    codes = sorted({*codes, 401, 403, 429})
    return {code: OpenApiResponse(s.ErrorSerializer, description=described[code]) for code in codes}


IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True,
                            description="The issue's ETag as last read (from GET /api/issues/{id}/).")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Any unique string (a UUID) per request: a repeat with the same key gets the first answer "
                "and does nothing twice.")
ETAG = OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200, 201, 412],
                        description="The issue's version as answered, for If-Match.")


# --- the factory's tables -------------------------------------------------------------------------------
@extend_schema(tags=["Factory"], responses={200: s.DepartmentSerializer, **_errors(404)})
@extend_schema_view(list=extend_schema(summary="The departments"), retrieve=extend_schema(summary="One department"))
class DepartmentViewSet(_Endpoint, viewsets.ReadOnlyModelViewSet):
    """The factory's departments (read from its own table, never changed)."""

    permission = "floor.view_department"
    serializer_class = s.DepartmentSerializer
    pagination_class = None

    def get_queryset(self):
        return Department.objects.annotate(machine_count=Count("machines")).order_by("name")


@extend_schema(tags=["Factory"], responses={200: s.MachineSerializer, **_errors(404)})
@extend_schema_view(list=extend_schema(summary="The machines, with what is open on them"),
                    retrieve=extend_schema(summary="One machine"))
class MachineViewSet(_Endpoint, viewsets.ReadOnlyModelViewSet):
    """The factory's machines (read from its own table, never changed), with what is open on them."""

    permission = "floor.view_machine"
    serializer_class = s.MachineSerializer
    pagination_class = None

    def get_queryset(self):
        return Machine.with_state()


# --- issues -------------------------------------------------------------------------------------------
def _issue_queryset():
    """Issues as lists show them."""
    return Issue.objects.select_related("machine__department", "reported_by", "assigned_to").prefetch_related(
        "alarm_codes")


class IssueViewSet(_Endpoint, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = r"[0-9]{1,18}"
    permission = "floor.view_issue"
    permissions = {
        "create": "floor.add_issue",
        "update_status": "floor.change_issue_status",
        "assign": "floor.assign_issue",
        "update_priority": "floor.change_issue",
        "update_runnable": "floor.change_issue",
        "add_remedy": "floor.add_remedy",
        "attachments": "floor.add_attachment",
    }
    takes_files = ("attachments",)
    filter_backends = [DjangoFilterBackend]
    filterset_class = IssueFilter
    pagination_class = IssueCursor
    parser_classes = [JSONParser]

    def get_queryset(self):
        return _issue_queryset() if self.action == "list" else Issue.with_history()

    def get_serializer_class(self):
        return s.IssueSerializer if self.action == "list" else s.IssueDetailSerializer

    def _detail(self, pk):
        """The issue as it is now, with its ETag, as GET /api/issues/{id}/ answers it."""
        issue = get_object_or_404(Issue.with_history(), pk=pk)
        return s.IssueDetailSerializer(issue, context=self.get_serializer_context()).data, {"ETag": etag_of(issue)}

    def _answer(self, pk, status_code=status.HTTP_200_OK):
        data, headers = self._detail(pk)
        return Response(data, status=status_code, headers=headers)

    @extend_schema(tags=["Issues"], summary="List issues",
                   description="Newest report first, a page at a time: follow `next` (a cursor). The filters "
                               "are the desk's; `search` finds what the desk's search box finds.",
                   responses={200: s.IssueSerializer(many=True), **_errors(400, 401, 403)})
    def list(self, request, *args, **kwargs):
        if connection.vendor != "postgresql":
            return super().list(request, *args, **kwargs)
        with transaction.atomic():
            # A page is 51 rows along an index. With parallel workers PostgreSQL splits that walk into
            # several that each go on past the page (a rarer search word: 146 ms, against 55 ms alone).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            return super().list(request, *args, **kwargs)

    @extend_schema(tags=["Issues"], summary="One issue with its remedies, files and timeline", parameters=[ETAG],
                   responses={(200, "application/json"): s.IssueDetailSerializer,
                              **_errors(401, 403, 404)})
    def retrieve(self, request, pk=None):
        return self._answer(pk)

    @extend_schema(
        tags=["Issues"], summary="Report an issue", parameters=[IDEMPOTENCY_KEY, ETAG], request=s.IssueCreateSerializer,
        description="As a tablet reports one: the AI title and summary follow in the background.",
        responses={201: s.IssueDetailSerializer, 200: OpenApiResponse(s.IssueDetailSerializer,
                                                                      description="A repeat (Idempotency-Key)."),
                   **_errors(400, 401, 403, 415, 422)},
        examples=[OpenApiExample("A stopped machine", request_only=True, value={
            "machine": "7d1f0c1e-52b2-4b5e-9c1e-6f1a2b3c4d5e", "category": "alarm", "alarm_codes": ["SV0401"],
            "description": "Spindle overheated", "is_runnable": False, "reporter_name": "MES line 2"})],
    )
    @idempotent
    def create(self, request):
        form = s.IssueCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        key = idempotency_key(request)
        token = token_for(request, key, "issue") if key else None
        try:
            with transaction.atomic():
                issue = report_issue(
                    machine=data["machine"], category=data["category"], description=data["description"],
                    alarm_codes=data["alarm_codes"], is_runnable=data["is_runnable"], by=request.user,
                    reporter_name=data["reporter_name"].strip(), priority=data["priority"],
                    reported_at=data.get("reported_at"), machine_stopped_at=data.get("machine_stopped_at"),
                    submission_token=token)
        except IntegrityError:
            # Made already with this key, though its kept answer is gone: the token found it.
            return self._answer(Issue.objects.get(submission_token=token).pk)
        return self._answer(issue.pk, status.HTTP_201_CREATED)

    def _change(self, request, pk, form_class, change):
        """A state change at the version the caller saw (If-Match): the fresh issue, 412 with it when the
        issue changed meanwhile, 409 when its status does not allow the change."""
        issue = get_object_or_404(Issue, pk=pk)
        version = expected_version(request, issue)
        form = form_class(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            change(issue, form.validated_data, version)
        except StaleIssue as e:
            data, headers = self._detail(e.issue.pk)
            return Response({**error_body(412, "stale", "The issue changed since you read it; here it is as it is "
                                                        "now. Nothing was changed."), "issue": data},
                            status=status.HTTP_412_PRECONDITION_FAILED, headers=headers)
        except InvalidTransition as e:
            return Response(error_body(409, "not_allowed", str(e)), status=status.HTTP_409_CONFLICT)
        return self._answer(issue.pk)

    _change_responses = {(200, "application/json"): s.IssueDetailSerializer,
                         **_errors(400, 401, 403, 404, 409, 412, 415, 428)}

    @extend_schema(tags=["Issues"], summary="Move an issue to another status", parameters=[IF_MATCH, ETAG],
                   request=s.StatusChangeSerializer, responses=_change_responses,
                   description="Along the same transitions as the desk: an issue is resolved only with a remedy "
                               "on record (see add_remedy's `fixed`). Resolving an issue whose machine is stopped "
                               "records it running again from that moment, as the desk does, unless "
                               "`machine_runs` is false.")
    @action(detail=True, methods=["patch"])
    def update_status(self, request, pk=None):
        return self._change(request, pk, s.StatusChangeSerializer, lambda issue, data, version: change_status(
            issue, data["status"], by=request.user, expected_version=version, machine_runs=data["machine_runs"]))

    @extend_schema(tags=["Issues"], summary="Assign an issue", parameters=[IF_MATCH, ETAG], request=s.AssignSerializer,
                   responses=_change_responses)
    @action(detail=True, methods=["patch"])
    def assign(self, request, pk=None):
        def change(issue, data, version):
            person = None
            if data["assigned_to"] is not None:
                person = assignees().filter(pk=data["assigned_to"]).first()
                if person is None:
                    raise serializers.ValidationError(
                        {"assigned_to": ["Not someone issues can be assigned to (maintenance or a manager)."]})
            issue.assign(person, by=request.user, expected_version=version)

        return self._change(request, pk, s.AssignSerializer, change)

    @extend_schema(tags=["Issues"], summary="Change an issue's priority", parameters=[IF_MATCH, ETAG],
                   request=s.PriorityChangeSerializer, responses=_change_responses)
    @action(detail=True, methods=["patch"])
    def update_priority(self, request, pk=None):
        return self._change(request, pk, s.PriorityChangeSerializer, lambda issue, data, version: issue.set_priority(
            data["priority"], by=request.user, expected_version=version))

    @extend_schema(tags=["Issues"], summary="The machine stopped, or runs again", parameters=[IF_MATCH, ETAG],
                   request=s.RunnableChangeSerializer, responses=_change_responses)
    @action(detail=True, methods=["patch"])
    def update_runnable(self, request, pk=None):
        return self._change(request, pk, s.RunnableChangeSerializer, lambda issue, data, version: issue.set_runnable(
            data["is_runnable"], by=request.user, at=data.get("at"), expected_version=version))

    @extend_schema(tags=["Issues"], summary="Record a remedy (and resolve with it)",
                   parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG], request=s.RemedyCreateSerializer,
                   description="Its text is polished by AI in the background, as on the desk. With `fixed` the "
                               "issue is resolved in the same step: both or neither; a stopped machine is then "
                               "recorded running again.",
                   responses={(201, "application/json"): s.IssueDetailSerializer,
                              200: OpenApiResponse(s.IssueDetailSerializer, description="A repeat (Idempotency-Key)."),
                              **_errors(400, 401, 403, 404, 409, 412, 415, 422, 428)})
    @action(detail=True, methods=["post"])
    @idempotent
    def add_remedy(self, request, pk=None):
        def change(issue, data, version):
            record_remedy(issue=issue, description=data["description"], by=request.user,
                          minutes_spent=data.get("minutes_spent"), parts_used=data["parts_used"],
                          resolve=data["fixed"], expected_version=version, machine_runs=data["machine_runs"])

        response = self._change(request, pk, s.RemedyCreateSerializer, change)
        if response.status_code == status.HTTP_200_OK:
            response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(
        tags=["Issues"], summary="Add a photo or video to an issue", parameters=[IDEMPOTENCY_KEY],
        request={"multipart/form-data": s.UploadSerializer},
        description="The same checks and limits as on the tablet. A photo is read for alarm codes before the "
                    "answer when a reader is free (`reading`: `read`); otherwise it is read in the background "
                    "and the issue shows the codes later. Codes read become the issue's when it has none.",
        responses={201: s.AttachmentSerializer, 200: OpenApiResponse(s.AttachmentSerializer,
                                                                     description="A repeat (Idempotency-Key)."),
                   **_errors(400, 401, 403, 404, 413, 415, 422)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        issue = get_object_or_404(Issue, pk=pk)
        form = s.UploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        key = idempotency_key(request)
        token = token_for(request, key, "attachment") if key else None
        replay = False
        if token:
            # The key's token holds one file on one issue: the same again is a repeat, another a new request.
            earlier = Attachment.objects.filter(pending_token=token).first()
            if earlier and (earlier.issue_id != issue.pk or earlier.sha256 != content_digest(upload)):
                return Response(error_body(422, "idempotency_key_reused", "This Idempotency-Key came before with "
                                           "another file or issue; use a new key."), status=422)
            replay = earlier is not None
        try:
            attachment = photos.receive(upload=upload, by=request.user, token=token, issue=issue)
        except UploadRejected as e:
            raise serializers.ValidationError({"file": [str(e)]})
        attachment = photos.current(attachment)
        data = s.AttachmentSerializer(attachment, context=self.get_serializer_context()).data
        if replay:
            return Response(data, headers={"Idempotent-Replayed": "true"})
        return Response(data, status=status.HTTP_201_CREATED)


# --- reading, history, figures --------------------------------------------------------------------------
@extend_schema(tags=["OCR"], summary="Read a photo of a controller screen, storing nothing",
               request={"multipart/form-data": s.UploadSerializer},
               description="The text and alarm codes the tablet's photo reading finds. Nothing is stored, so a "
                           "repeat (with or without Idempotency-Key) reads the same photo the same way.",
               responses={200: s.ReadingSerializer, **_errors(400, 401, 403, 413, 415)})
class OcrView(_Endpoint, APIView):
    permission = "floor.add_attachment"
    takes_files = ("post",)
    parser_classes = [MultiPartParser]

    def post(self, request):
        form = s.UploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            outcome = photos.read_upload(form.validated_data["file"])
        except UploadRejected as e:
            raise serializers.ValidationError({"file": [str(e)]})
        result = outcome.result
        return Response({
            "reading": outcome.state,
            "error": outcome.error,
            "text": result.text if result else "",
            "alarm_codes": [{"code": c.code, "family": c.family, "line": c.line} for c in result.alarm_codes]
            if result else [],
        })


@extend_schema(
    tags=["History"], summary="What fixed this alarm before",
    description="The desk's “seen before” panel as data: `fixes`, the remedies that closed an issue with this "
                "code (identical texts folded into one, with how many issues each closed, of the latest 200), "
                "those seen on `machine` first, then the most frequent; `unfixed`, the ids of issues nothing has "
                "fixed yet; and every issue the two name in `here` (on `machine`) and `elsewhere`, with the "
                "remedies recorded last on them.",
    parameters=[OpenApiParameter("machine", OpenApiTypes.UUID, description="Put this machine's issues first.")],
    responses={200: inline_serializer("SeenBefore", {
        "code": serializers.CharField(),
        "here": s.IssueSerializer(many=True), "elsewhere": s.IssueSerializer(many=True),
        "remedies": s.RemedySerializer(many=True),
        "fixes": inline_serializer("SeenBeforeFix", {
            "remedy": serializers.IntegerField(help_text="The latest remedy with this text (in `remedies`)."),
            "count": serializers.IntegerField(help_text="How many issues a remedy of this text closed."),
            "here": serializers.IntegerField(help_text="How many of them were on `machine`."),
            "issues": serializers.ListField(child=serializers.IntegerField(), help_text="Their ids, newest first."),
        }, many=True),
        "unfixed": serializers.ListField(child=serializers.IntegerField())}), **_errors(400, 401, 403)},
)
class AlarmCodeRemediesView(_Endpoint, APIView):
    permission = "floor.view_issue"

    def get(self, request, code):
        code = normalise_code(code)
        machine = None
        if request.query_params.get("machine"):
            machine = Machine.objects.filter(pk=_uuid_or_400(request.query_params["machine"], "machine")).first()
        found = seen_before(codes=[code], machine=machine)
        context = {"request": request}
        issues = found.here + found.elsewhere
        # What the list's serializer reads of each issue, fetched for all at once.
        prefetch_related_objects(issues, "alarm_codes", "machine__department", "reported_by", "assigned_to")
        remedies = [issue.last_remedy for issue in issues if issue.last_remedy]
        remedies += [fix.remedy for fix in found.fixes if fix.remedy not in remedies]
        prefetch_related_objects(remedies, "performed_by", "attachments__uploaded_by")
        return Response({
            "code": code,
            "here": s.IssueSerializer(found.here, many=True, context=context).data,
            "elsewhere": s.IssueSerializer(found.elsewhere, many=True, context=context).data,
            "remedies": s.RemedySerializer(remedies, many=True, context=context).data,
            "fixes": [{"remedy": fix.remedy.pk, "count": fix.count, "here": fix.here,
                       "issues": [issue.pk for issue in fix.issues]} for fix in found.fixes],
            "unfixed": [issue.pk for issue in found.unfixed],
        })


def _uuid_or_400(value, name):
    field = serializers.UUIDField()
    try:
        return field.to_internal_value(value)
    except serializers.ValidationError as e:
        raise serializers.ValidationError({name: e.detail}) from e


@extend_schema(
    tags=["Dashboard"], summary="The dashboard's figures",
    description="The figures of the dashboard page for the same period, computed by the same code "
                "(dashboard/metrics.py): see the README's “How we count”.",
    parameters=[OpenApiParameter("days", int, description="The period: the last 1 to 365 days (default 30)."),
                OpenApiParameter("department", OpenApiTypes.UUID, description="Only this department's machines.")],
    responses={200: OpenApiTypes.OBJECT, **_errors(400, 401, 403)},
)
class MetricsView(_Endpoint, APIView):
    permission = "floor.view_dashboard"

    def get(self, request):
        form = PeriodForm(request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        days, department = form.cleaned_data["days"], form.cleaned_data["department"]
        now = timezone.now()
        figures = metrics.period_figures(period=metrics.period_ending(now=now, days=days), department=department)
        current = metrics.now_figures(now=now, department=department)
        summary = figures.summary
        return Response({
            "days": days,
            "department": {"id": department.pk, "name": department.name} if department else None,
            "period": {"start": figures.period.start, "end": figures.period.end},
            "now": {"open_issues": current.open_issues, "machines_down": current.machines_down,
                    "reported_today": current.reported_today, "oldest_open_at": current.oldest_open_at,
                    "oldest_open_issue": current.oldest_open_pk},
            "summary": {
                "reported": summary.reported, "reported_previous_period": summary.reported_previous,
                "resolved": summary.resolved, "mttr_report_seconds": summary.mttr_report_seconds,
                "mttr_stop_seconds": summary.mttr_stop_seconds, "repairs_with_stop": summary.repairs_with_stop,
                "downtime_seconds": summary.downtime_seconds, "downtime_share": summary.downtime_share,
                "stops": summary.stops, "machines": summary.machines, "mtbf_seconds": summary.mtbf_seconds,
            },
            "per_day": [{"day": day, "reported": reported, "reported_previous_period": previous}
                        for day, reported, previous in figures.per_day],
            "by_category": [{"category": row["category"], "issues": row["issues"]} for row in figures.by_category],
            "by_machine": figures.by_machine,
            "by_department": figures.by_department,
            "alarm_codes": figures.alarm_codes,
        })

# --- the schema, its docs page, and everything else -----------------------------------------------------
class SchemaView(_Endpoint, SpectacularAPIView):
    """The OpenAPI 3 schema, for anyone who may read issues (a key or a signed-in person)."""

    permission = "floor.view_issue"
    # drf-spectacular's views bring their own, open access; these are the API's like every endpoint's.
    authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    permission_classes = api_settings.DEFAULT_PERMISSION_CLASSES


class DocsView(_Endpoint, SpectacularSwaggerSplitView):
    """Swagger UI from this server's own static files (drf-spectacular-sidecar), its start-up script a
    file of its own rather than inline, as the site's Content-Security-Policy requires (its style too:
    templates/api/docs.html)."""

    template_name = "api/docs.html"
    permission = "floor.view_issue"
    authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    permission_classes = api_settings.DEFAULT_PERMISSION_CLASSES


@csrf_exempt  # a 404 for every method: a POST to a wrong path must not meet the pages' CSRF refusal
@login_not_required
def unknown_path(request, *args, **kwargs):
    return json_error(404, "not_found", f"There is no API endpoint at {request.path}. "
                                        "The endpoints are listed at /api/docs/; every path ends with a slash.")
