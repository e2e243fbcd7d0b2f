from django.urls import path

from floor import desk, views

urlpatterns = [
    path("floor/", views.machine_list, name="machine_list"),
    path("floor/labels/", views.labels, name="labels"),
    path("floor/seen-before/", views.seen_before_panel, name="seen_before"),
    path("floor/issues/<int:pk>/reported/", views.issue_reported, name="issue_reported"),
    path("desk/", desk.desk, name="desk"),
    path("desk/export.csv", desk.desk_export, name="desk_export"),
    path("issues/<int:pk>/", desk.issue_detail, name="issue_detail"),
    path("issues/<int:pk>/similar/", desk.issue_similar, name="issue_similar"),
    path("issues/<int:pk>/status/", desk.issue_status, name="issue_status"),
    path("issues/<int:pk>/assign/", desk.issue_assign, name="issue_assign"),
    path("issues/<int:pk>/priority/", desk.issue_priority, name="issue_priority"),
    path("issues/<int:pk>/runnable/", desk.issue_runnable, name="issue_runnable"),
    path("issues/<int:pk>/remedies/", desk.issue_remedy, name="issue_remedy"),
    path("issues/<int:pk>/ai/", views.issue_ai, name="issue_ai"),
    path("issues/<int:pk>/ai/rerun/", views.issue_ai_rerun, name="issue_ai_rerun"),
    path("remedies/<int:pk>/ai/", views.remedy_ai, name="remedy_ai"),
    # The QR labels point here: keep it short and stable.
    path("m/<uuid:machine_id>/", views.machine_page, name="machine_page"),
    path("m/<uuid:machine_id>/attachments/", views.upload_attachment, name="upload_attachment"),
    path("m/<uuid:machine_id>/attachments/<int:pk>/", views.attachment_preview, name="attachment_preview"),
    path("m/<uuid:machine_id>/attachments/<int:pk>/remove/", views.remove_attachment, name="remove_attachment"),
]
