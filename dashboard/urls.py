from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("displays/", views.display_links, name="display_links"),
    path("displays/<int:pk>/revoke/", views.revoke_display_link, name="revoke_display_link"),
    # The address the TV opens; the token is the only credential.
    path("wall/<str:token>/", views.wall_screen, name="wall_screen"),
]
