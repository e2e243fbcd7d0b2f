"""What every reply carries in production: the deploy checks pass, pages have a strict CSP, uploads a
sandbox, and HTTPS is enforced when it is on."""

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parent.parent


def _manage(*args, **variables):
    # A fresh server's environment: nothing of this test run's (browser tests allow async-unsafe ORM calls).
    # Its own empty database, too: the checks look at the factory tables, and the test run's database
    # (DATABASE_URL's name) is not the one its test database was made from.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DB_", "DATABASE_URL", "SECURE_", "HTTPS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"))}
    env.update(ENV_FILE="/dev/null", SQLITE_PATH=os.path.join(tempfile.mkdtemp(), "check.sqlite3"), **variables)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=120)


PRODUCTION = {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "logbook.factory.lan",
              "SITE_URL": "https://logbook.factory.lan"}


def test_deploy_checks_are_clean_with_https():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", HTTPS="true", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_checks_warn_of_a_site_url_only_this_server_can_open():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", HTTPS="true",
                     **{**PRODUCTION, "SITE_URL": "http://127.0.0.1:8000"})
    assert result.returncode != 0 and "floor.W010" in result.stderr


def test_deploy_checks_name_what_plain_http_gives_up():
    # Without HTTPS the checks say what is not secured: the README's choice, not a hidden one.
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode != 0
    assert "security.W008" in result.stderr and "security.W012" in result.stderr


@pytest.mark.django_db
def test_pages_forbid_inline_script_eval_and_other_hosts(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy and "http" not in policy


def test_uploads_keep_their_sandbox(client, operator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "photo.jpg").write_bytes(b"jpeg")
    client.force_login(operator)
    response = client.get("/media/photo.jpg")
    assert response["Content-Security-Policy"].startswith("sandbox;")
    assert "script-src" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_https_redirects_plain_http_and_sends_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=3600"
