"""Who may call, how often, and how a repeated or stale call is kept from doing harm."""

import functools
import hashlib
import json
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from floor import locks
from floor.models import APIKey, IdempotentRequest
from logbook_site.api.errors import IdempotencyKeyReused, PreconditionRequired


# --- keys --------------------------------------------------------------------------------------------
class APIKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer mlk_...` (or `X-API-Key: mlk_...`): a key made in the admin (floor.APIKey)."""

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            raw = header[7:].strip()
        else:
            raw = request.headers.get("X-API-Key", "").strip()
        if not raw:
            return None
        key = APIKey.authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not known, or it was revoked.")
        return key.user, key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BrowserSession(SessionAuthentication):
    """A person signed in on the pages, with the CSRF token for anything that changes data."""


class RolePermission(permissions.BasePermission):
    """The permission the view names for the request (`required_permission`): the same permission the
    pages check, granted by the roles of floor/roles.py."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.has_perm(view.required_permission(request))


class KeyRateThrottle(throttling.SimpleRateThrottle):
    """API_THROTTLE_RATE calls per key (or per signed-in person, or per address for calls without
    either), counted in the cache of each server process."""

    scope = "api"

    def get_rate(self):
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request, view):
        ident = f"user-{request.user.pk}" if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- If-Match ----------------------------------------------------------------------------------------
def etag_of(issue):
    return f'"issue-{issue.pk}-v{issue.version}"'


def expected_version(request, issue):
    """The version the caller saw, from If-Match; raises 428 without it. A stale one is the model's
    StaleIssue (answered 412 with the issue as it is now)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    if header == "*":
        return None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/")
        if tag == etag_of(issue):
            return issue.version
    return -1  # no tag names the version as it is: StaleIssue


# --- Idempotency-Key ---------------------------------------------------------------------------------
MAX_KEY_LENGTH = 255


def idempotency_key(request):
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise exceptions.ValidationError({"Idempotency-Key": [f"At most {MAX_KEY_LENGTH} printable characters."]})
    return key


def token_for(request, key, purpose):
    """The submission token an Idempotency-Key stands for: the same key from the same caller is the
    same token, so the domain's own once-only rules (one issue per submission token, one copy of a
    file per form) hold even if the answer kept below is gone."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"machine-logbook:{purpose}:{request.user.pk}:{key}")


def _fingerprint(request):
    content = json.dumps(request.data, sort_keys=True, default=str) if request.data else ""
    return hashlib.sha256(f"{request.method} {request.path}\n{content}".encode()).hexdigest()


def idempotent(view_method):
    """A POST sent again with the same Idempotency-Key gets the first answer (a 201 comes back as 200,
    with `Idempotent-Replayed: true`) and does nothing twice; the same key with another body is 422.
    The first call and its repeats are serialised, so two copies sent at once do the work once."""

    @functools.wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = idempotency_key(request)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            locks.hold(f"idempotency:{request.user.pk}:{key}")
            previous = IdempotentRequest.objects.filter(user=request.user, key=key).first()
            if previous is not None:
                if previous.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                status = 200 if previous.status_code == 201 else previous.status_code
                return Response(previous.response, status=status, headers={"Idempotent-Replayed": "true"})
            response = view_method(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                _keep(request, key, fingerprint, response)
        return response

    return wrapper


def _keep(request, key, fingerprint, response):
    now = timezone.now()
    IdempotentRequest.objects.filter(created_at__lt=now - IdempotentRequest.KEEP).delete()
    # Kept as the caller got it (DRF's JSON of dates, ids and decimals), so a repeat reads the same.
    stored = json.loads(JSONRenderer().render(response.data))
    IdempotentRequest.objects.create(user=request.user, key=key, fingerprint=fingerprint,
                                     status_code=response.status_code, response=stored, created_at=now)


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = APIKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An API key made in the admin (API keys): `Authorization: Bearer mlk_...`."}


class BrowserSessionScheme(OpenApiAuthenticationExtension):
    target_class = BrowserSession
    name = "Session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                "description": "A person signed in on the pages (with the CSRF token for changes)."}
