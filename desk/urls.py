from django.urls import path

from desk import views

urlpatterns = [
    path("desk/", views.desk, name="desk"),
    path("desk/export.csv", views.desk_export, name="desk_export"),
    # Maintenance prints the labels; the address is the one the older front end knows.
    path("floor/labels/", views.labels, name="labels"),
    path("issues/<int:pk>/", views.issue_detail, name="issue_detail"),
    path("issues/<int:pk>/similar/", views.issue_similar, name="issue_similar"),
    path("issues/<int:pk>/status/", views.issue_status, name="issue_status"),
    path("issues/<int:pk>/assign/", views.issue_assign, name="issue_assign"),
    path("issues/<int:pk>/priority/", views.issue_priority, name="issue_priority"),
    path("issues/<int:pk>/runnable/", views.issue_runnable, name="issue_runnable"),
    path("issues/<int:pk>/remedies/", views.issue_remedy, name="issue_remedy"),
    path("issues/<int:pk>/ai/", views.issue_ai, name="issue_ai"),
    path("issues/<int:pk>/ai/rerun/", views.issue_ai_rerun, name="issue_ai_rerun"),
    path("remedies/<int:pk>/ai/", views.remedy_ai, name="remedy_ai"),
    path("remedies/<int:pk>/ai/rerun/", views.remedy_ai_rerun, name="remedy_ai_rerun"),
    # What each person hears: their subscriptions and the log of what was sent to them.
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/", views.subscription_change, name="subscription"),
    path("notifications/<int:pk>/active/", views.subscription_active, name="subscription_active"),
    path("notifications/<int:pk>/test/", views.subscription_test, name="subscription_test"),
    path("notifications/<int:pk>/secret/", views.subscription_secret, name="subscription_secret"),
    path("notifications/<int:pk>/delete/", views.subscription_delete, name="subscription_delete"),
    path("notifications/deliveries/<int:pk>/", views.delivery_row, name="delivery_row"),
    path("notifications/deliveries/<int:pk>/redeliver/", views.delivery_redeliver, name="delivery_redeliver"),
]
