"""Every error of the API in one shape, whatever raised it:

    {"status": 400, "code": "invalid", "detail": "Check the fields named in errors.",
     "errors": {"machine": ["..."]}}

`errors` is there for validation errors only, keyed by field ("non_field_errors" for the whole body).
"""

from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer


def body(status_code, code, detail, errors=None):
    data = {"status": status_code, "code": code, "detail": detail}
    if errors is not None:
        data["errors"] = errors
    return data


def _codes(exc):
    codes = exc.get_codes()
    while isinstance(codes, (list, dict)) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) else "error"


def exception_handler(exc, context):
    # Imported here: DRF's views read the settings that name this module (an import cycle at start-up).
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real fault: Django's 500 handler answers (logbook_site.views.server_error)
    # JSON whatever the endpoint renders otherwise (the schema's YAML, say), and whatever Accept asked for.
    request = context.get("request")
    if request is not None:
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = body(response.status_code, "invalid", "Check the fields named in errors.", errors)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        code = _codes(exc) if isinstance(exc, exceptions.APIException) else "error"
        response.data = body(response.status_code, code, str(detail))
    return response


def json_error(status_code, code, detail):
    """The same shape outside DRF (unknown paths, server errors)."""
    return JsonResponse(body(status_code, code, detail), status=status_code)


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"
    default_detail = ("Send the issue's ETag in an If-Match header: a change is made to the issue as you last "
                      "saw it.")


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key came before with another request; use a new key for a new request."


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
