"""Which audience owns which address: operators at the machines (floor/), maintenance at the desk (desk/),
managers on the dashboard (dashboard/), the plant's other systems on the API (logbook_site/api/); the
site's own pages here."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from logbook_site import views

admin.site.site_header = "Machine Logbook administration"
admin.site.site_title = "Machine Logbook"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path(settings.MEDIA_URL.lstrip("/") + "<path:path>", views.media_file, name="media"),
    path("", include("floor.urls")),
    path("", include("desk.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("api/", include("logbook_site.api.urls")),
]

handler500 = "logbook_site.views.server_error"
