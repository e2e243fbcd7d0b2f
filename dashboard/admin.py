from django.contrib import admin

from dashboard.models import DisplayLink


@admin.register(DisplayLink)
class DisplayLinkAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "created_by", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    # The token is shown to managers on the dashboard's display page; not in lists here.
    readonly_fields = ["created_by", "created_at"]
    fields = ["name", "department", "created_by", "created_at", "revoked_at"]
