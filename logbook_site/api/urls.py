"""Every path of the API (the older backend's, kept as they were), its schema and its docs page."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from logbook_site.api import views

router = SimpleRouter()
router.register("machines", views.MachineViewSet, basename="api-machine")
router.register("departments", views.DepartmentViewSet, basename="api-department")
router.register("issues", views.IssueViewSet, basename="api-issue")

urlpatterns = [
    *router.urls,
    path("ocr/", views.OcrView.as_view(), name="api-ocr"),
    path("alarm-codes/<str:code>/remedies/", views.AlarmCodeRemediesView.as_view(), name="api-alarm-code-remedies"),
    path("dashboard/metrics/", views.MetricsView.as_view(), name="api-metrics"),
    path("schema/", views.SchemaView.as_view(), name="api-schema"),
    path("docs/", views.DocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ is a JSON 404, never the site's HTML page.
    re_path(r"^[\s\S]*$", views.unknown_path, name="api-unknown"),  # [\s\S]: a newline in the path too
]
