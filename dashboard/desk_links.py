"""Links from a figure to the maintenance desk, filtered to the issues behind the figure.

The desk's filter form (desk/forms.py) is the contract: a link may only use its fields, and they take
what the form takes (status, category and priority may repeat; dates are YYYY-MM-DD and inclusive;
machine and department are ids; runnable is "running" or "down").
"""

from urllib.parse import urlencode

from django.urls import reverse

from desk.forms import DeskFilterForm
from floor.models import OPEN_STATUS_VALUES


def desk_url(*, department=None, **filters) -> str:
    """The desk's address with these filters; list values repeat the parameter, None values are left
    out, dates become YYYY-MM-DD. A name the desk's filter form does not have is a mistake: it raises."""
    unknown = set(filters) - set(DeskFilterForm.base_fields)
    if unknown:
        raise ValueError(f"The desk has no filter {', '.join(sorted(unknown))}.")
    pairs = []
    for name, value in filters.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((name, _text(v)) for v in values if v is not None)
    if department is not None:  # a Department or its id
        pairs.append(("department", str(getattr(department, "pk", department))))
    return reverse("desk") + ("?" + urlencode(pairs) if pairs else "")


def _text(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def open_issues_url(*, department=None, **filters):
    return desk_url(status=OPEN_STATUS_VALUES, department=department, **filters)


def machines_down_url(*, department=None):
    return open_issues_url(runnable="down", department=department)


def reported_url(*, first_day, last_day, department=None, **filters):
    return desk_url(reported_from=first_day, reported_to=last_day, department=department, **filters)


def resolved_url(*, first_day, last_day, department=None):
    return desk_url(resolved_from=first_day, resolved_to=last_day, department=department)
