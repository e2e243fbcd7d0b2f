from django.urls import path

from floor import views

urlpatterns = [
    path("floor/", views.machine_list, name="machine_list"),
    path("floor/seen-before/", views.seen_before_panel, name="seen_before"),
    path("floor/outbox-token/", views.outbox_token, name="outbox_token"),
    path("floor/issues/<int:pk>/reported/", views.issue_reported, name="issue_reported"),
    # The QR labels point here: keep it short and stable.
    path("m/<uuid:machine_id>/", views.machine_page, name="machine_page"),
    path("m/<uuid:machine_id>/attachments/", views.upload_attachment, name="upload_attachment"),
    path("m/<uuid:machine_id>/attachments/<int:pk>/", views.attachment_preview, name="attachment_preview"),
    path("m/<uuid:machine_id>/attachments/<int:pk>/remove/", views.remove_attachment, name="remove_attachment"),
]
