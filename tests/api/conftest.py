"""Calling the API as the plant's systems do: with a key of a role, through real HTTP handling."""

import json

import pytest
from django.test import Client

from floor import roles
from floor.models import APIKey
from floor.reporting import report_issue


class Caller:
    """A test client that sends its key on every call and speaks JSON."""

    def __init__(self, key=None, **headers):
        self.client = Client()
        self.headers = dict(headers)
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def _call(self, method, path, data=None, *, headers=None, multipart=False, **query):
        headers = {**self.headers, **(headers or {})}
        call = getattr(self.client, method)
        if method in ("get", "delete"):
            return call(path, data or query, headers=headers)
        if multipart:
            return call(path, data or {}, headers=headers)
        return call(path, json.dumps(data) if data is not None else "", content_type="application/json",
                    headers=headers)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self._call("post", path, data, **kwargs)

    def patch(self, path, data=None, **kwargs):
        return self._call("patch", path, data, **kwargs)

    def put(self, path, data=None, **kwargs):
        return self._call("put", path, data, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def make_key(db):
    def make(role=roles.MAINTENANCE, name=None):
        key, raw = APIKey.issue(name=name or f"{role} system", role=role)
        return key, raw

    return make


@pytest.fixture
def api(make_key):
    """A maintenance system's key (the role that may do every change on an issue)."""
    return Caller(make_key(roles.MAINTENANCE)[1])


@pytest.fixture
def callers(make_key):
    """One caller per role, one with a revoked key, one with a made-up key and one with none."""
    revoked, raw_revoked = make_key(roles.MANAGER, name="old MES")
    revoked.revoke()
    return {
        "operator": Caller(make_key(roles.OPERATOR)[1]),
        "maintenance": Caller(make_key(roles.MAINTENANCE)[1]),
        "manager": Caller(make_key(roles.MANAGER)[1]),
        "revoked": Caller(raw_revoked),
        "unknown": Caller("mlk_deadbeef_" + "x" * 43),
        "none": Caller(),
    }


@pytest.fixture
def issue(machine, operator):
    return report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], description="Spindle hot",
                        is_runnable=False, by=operator)


def etag(caller, issue_id):
    return caller.get(f"/api/issues/{issue_id}/")["ETag"]
