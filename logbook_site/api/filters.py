"""The issue list's query parameters: the desk's filters under the old backend's names."""

from datetime import timedelta

from django import forms
from django_filters import fields as django_filters_fields
from django_filters import rest_framework as filters
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from desk.forms import FilterDayField
from floor.models import Category, Issue, IssueAlarmCode, Priority, Status
from floor.ocr import normalise_code
from floor.search import matching


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value in ("", None):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("true or false.")


class StrictBooleanFilter(filters.BooleanFilter):
    """true or false; anything else is a 400, not (as django-filter's own) a filter silently left out."""

    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, widget=forms.TextInput, **kwargs)


class MomentField(django_filters_fields.IsoDateTimeField):
    """An ISO 8601 moment within the desk's days (FilterDayField's years) and with a real UTC offset:
    databases refuse offsets beyond 15 hours and years the desk has no midnight for."""

    MAX_OFFSET = timedelta(hours=14)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        offset = value.utcoffset()
        if offset is not None and abs(offset) > self.MAX_OFFSET:
            raise forms.ValidationError("A UTC offset is at most 14 hours.", code="out_of_range")
        if not FilterDayField.FIRST.year <= value.year <= FilterDayField.LAST.year:
            raise forms.ValidationError(f"Enter a time from {FilterDayField.FIRST.year} to {FilterDayField.LAST.year}.",
                                        code="out_of_range")


class MomentFilter(filters.IsoDateTimeFilter):
    field_class = MomentField


class IssueFilter(filters.FilterSet):
    # distinct=False: each issue matches once anyway, and DISTINCT over the whole table is what a
    # million rows cannot afford.
    status = filters.MultipleChoiceFilter(choices=Status.choices, distinct=False,
                                          help_text="Repeat for several: ?status=open&status=in_progress.")
    machine = filters.UUIDFilter(field_name="machine_id", help_text="A machine's id.")
    department = filters.UUIDFilter(field_name="machine__department_id", help_text="A department's id.")
    category = filters.MultipleChoiceFilter(choices=Category.choices, distinct=False, help_text="Repeatable.")
    is_runnable = StrictBooleanFilter(help_text="true: the machine still runs; false: it is down.")
    priority = filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False, help_text="Repeatable.")
    assigned_to = filters.CharFilter(method="filter_assigned_to",
                                     help_text="A person's id, `me` (the caller) or `nobody`.")
    alarm_code = filters.CharFilter(method="filter_alarm_code", help_text="Issues with this alarm code.")
    reported_after = MomentFilter(field_name="reported_at", lookup_expr="gte",
                                               help_text="Reported at or after (ISO 8601).")
    reported_before = MomentFilter(field_name="reported_at", lookup_expr="lt",
                                                help_text="Reported before (ISO 8601).")
    updated_since = MomentFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text="Changed at or after (ISO 8601), for incremental sync: the list is then ordered by the "
                  "time of the last change, oldest first.")
    search = filters.CharFilter(method="filter_search", max_length=200,
                                help_text="The desk's search: words (full-text on PostgreSQL) or an alarm code. "
                                          "Every match, in the list's order (the desk shows its best 1000, ranked).")

    class Meta:
        model = Issue
        fields = []

    def filter_assigned_to(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assigned_to=self.request.user)
        if value == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        if not value.isdigit() or len(value) > 18:
            raise ValidationError({"assigned_to": ["A person's id, `me` or `nobody`."]})
        return queryset.filter(assigned_to_id=int(value))

    def filter_alarm_code(self, queryset, name, value):
        return queryset.filter(pk__in=IssueAlarmCode.objects.filter(code=normalise_code(value)).values("issue_id"))

    def filter_search(self, queryset, name, value):
        return matching(queryset, value)


class IssueCursor(CursorPagination):
    """Newest report first; with `updated_since`, oldest change first. A cursor, not page numbers: a
    page is an index range, never a count of a million rows."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-reported_at", "-id")

    def get_page_size(self, request):
        """Strict, unlike DRF's (which falls back to the default): a page_size that is no whole number
        from 1 to max_page_size is a 400, so a caller's mistake is not silently a different page."""
        value = request.query_params.get(self.page_size_query_param, "")
        if value == "":
            return self.page_size
        if not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(value)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF's answer to a cursor it cannot read; it is the caller's parameter that is wrong
            raise ValidationError({self.cursor_query_param: ["Not a cursor this list gave: follow `next`."]})

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def get_ordering(self, request, queryset, view):
        if request.query_params.get("updated_since"):
            return ("updated_at", "id")
        return self.ordering
