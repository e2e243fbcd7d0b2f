"""Sign-in throttling: django-axes records failed sign-ins and refuses sign-ins while locked; this module holds
what is ours on top of it: the shop floor's two limits, the address a sign-in comes from, and the login page a
locked-out person sees. The settings that wire it in are in logbook_site/settings.py ("Sign-in throttling").

Axes compares one count with one limit. Shared tablets sit behind one NAT address, so an account and an address
need limits of their own: an account is locked after AXES_FAILURE_LIMIT failures (from any address), an address
only after LOGIN_ADDRESS_FAILURE_LIMIT failures over all accounts. The django-axes maintainers point to a handler
of one's own for exactly this (jazzband/django-axes#661); ours changes only how failures are counted.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone


def client_address(request):
    """The address a sign-in comes from, for counting failures per address (AXES_CLIENT_IP_CALLABLE).

    The connection's own address, unless REVERSE_PROXY_COUNT proxies stand in front: then the address the
    outermost of them was reached from. Each proxy appends the address it was reached from to
    X-Forwarded-For; entries further left were written by the client and are not believed. A header with
    fewer entries than proxies, or no address where ours should be, did not come through them: the
    connection's address counts.
    """
    proxies = settings.REVERSE_PROXY_COUNT
    if proxies:
        forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [entry for entry in forwarded if entry]
        if len(forwarded) >= proxies:
            try:
                return str(ipaddress.ip_address(forwarded[-proxies]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check before the password is checked (first in AUTHENTICATION_BACKENDS).

    Axes refuses to work without a request; only code calls authenticate() so (Django's test client's
    login(), scripts), never a sign-in form. Such a call is still refused while the account is locked, with
    an empty request standing in: there is no address to count.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        return super().authenticate(request if request is not None else HttpRequest(), username=username,
                                    password=password, **kwargs)


def _recent_attempts(request, credentials):
    """The failures on record that still count: by this account, and from this address."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
    username = get_client_username(request, credentials)
    return recent.filter(username=username), recent.filter(ip_address=request.axes_ip_address)


def _count(attempts):
    return attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0


class ShopFloorHandler(AxesDatabaseHandler):
    """Axes' database handler, with a limit for the address of its own (AXES_HANDLER)."""

    def get_failures(self, request, credentials=None):
        # Axes locks when this count reaches AXES_FAILURE_LIMIT, the account's limit, both before a sign-in is
        # tried and after one failed: an address over its own, higher limit must count as reaching it too.
        by_account, from_address = (_count(attempts) for attempts in _recent_attempts(request, credentials))
        if from_address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(by_account, get_failure_limit(request, credentials))
        return by_account


@dataclass(frozen=True)
class Lockout:
    """What refuses a sign-in, and until when."""

    username: str
    by_address: bool
    until: datetime

    @property
    def seconds_left(self):
        return max(1, math.ceil((self.until - timezone.now()).total_seconds()))

    @property
    def minutes_left(self):
        return math.ceil(self.seconds_left / 60)


def _unlocks_at(attempts, limit, cool_off):
    """When so many of these failures are older than the cool-off that fewer than `limit` still count."""
    counted = 0
    for attempt_time, failures in attempts.order_by("-attempt_time").values_list("attempt_time",
                                                                                 "failures_since_start"):
        counted += failures
        if counted >= limit:
            return attempt_time + cool_off
    return None


def current_lockout(request, credentials=None):
    """The lock on this sign-in: the account's or the address's, whichever lasts longer (both must be over
    before a sign-in works)."""
    cool_off = get_cool_off(request)
    by_account, from_address = _recent_attempts(request, credentials)
    username = get_client_username(request, credentials) or ""
    locks = [
        Lockout(username=username, by_address=by_address, until=until)
        for by_address, until in (
            (False, _unlocks_at(by_account, get_failure_limit(request, credentials), cool_off)),
            (True, _unlocks_at(from_address, settings.LOGIN_ADDRESS_FAILURE_LIMIT, cool_off)),
        )
        if until is not None
    ]
    if not locks:
        # Axes found a lock a moment ago (a limit just lowered, a clean-up in between): a full period is the
        # honest upper bound.
        return Lockout(username=username, by_address=False, until=timezone.now() + cool_off)
    return max(locks, key=lambda lock: lock.until)


def lockout_page(request, original_response=None, credentials=None):
    """The login page again, saying what is locked, until when, and that an administrator can unlock it now
    (AXES_LOCKOUT_CALLABLE). A fresh form: the password may well have been right, so "enter a correct
    password" would be wrong."""
    lockout = current_lockout(request, credentials)
    context = getattr(original_response, "context_data", None) or {}
    response = render(request, "registration/login.html", {
        "form": AuthenticationForm(request, initial={"username": lockout.username}),
        "next": context.get("next", ""),
        "lockout": lockout,
    }, status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Retry-After"] = str(lockout.seconds_left)
    return response
