"""Settings are read from the environment in a fresh interpreter, as the server would at start."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; "
    "d = s.DATABASES['default']; "
    "print(json.dumps({'engine': d['ENGINE'], 'name': str(d['NAME']), 'user': d.get('USER', ''), "
    "'host': d.get('HOST', ''), 'port': str(d.get('PORT', '')), 'debug': s.DEBUG, "
    "'hosts': s.ALLOWED_HOSTS, 'model': s.OPENAI_MODEL, 'ai': s.AI_ENABLED, "
    "'upload_max_mb': s.UPLOAD_MAX_MB, 'tz': s.TIME_ZONE, 'media_url': s.MEDIA_URL}))"
)
VARIABLES = ["DATABASE_URL", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DEBUG",
             "SECRET_KEY", "ALLOWED_HOSTS", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL",
             "AI_ENABLED", "UPLOAD_MAX_MB", "TIME_ZONE", "MEDIA_URL", "MEDIA_ROOT", "SQLITE_PATH"]


def load_settings(tmp_path, env_file_text=None, **variables):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env_file = tmp_path / "test.env"
    if env_file_text is not None:
        env_file.write_text(env_file_text)
    env.update(ENV_FILE=str(env_file), DJANGO_SETTINGS_MODULE="logbook_site.settings", **variables)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + PRINT_SETTINGS],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )
    return result


def settings_from(tmp_path, env_file_text=None, **variables):
    result = load_settings(tmp_path, env_file_text, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_configured_gives_sqlite_and_debug(tmp_path):
    s = settings_from(tmp_path)
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"].endswith("db.sqlite3")
    assert s["debug"] is True
    assert s["ai"] is False
    assert s["model"] == "gpt-4o-mini"
    assert s["upload_max_mb"] == 10


def test_db_variables_select_postgresql(tmp_path):
    s = settings_from(tmp_path, DB_NAME="erabase_db", DB_USER="logbook", DB_PASSWORD="pw",
                      DB_HOST="db.factory.lan", DB_PORT="5433")
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["name"], s["user"], s["host"], s["port"]) == ("erabase_db", "logbook", "db.factory.lan", "5433")


def test_database_url_wins_over_db_variables(tmp_path):
    s = settings_from(tmp_path, DATABASE_URL="postgres://app:secret@pg.local:5432/logbook",
                      DB_NAME="erabase_db", DB_HOST="elsewhere")
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["name"], s["user"], s["host"]) == ("logbook", "app", "pg.local")


def test_env_file_is_read_and_environment_wins_over_it(tmp_path):
    s = settings_from(tmp_path, env_file_text="DB_NAME=from_file\nDB_HOST=filehost\nOPENAI_MODEL=llama3\n",
                      DB_HOST="envhost")
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["name"], s["host"], s["model"]) == ("from_file", "envhost", "llama3")


def test_base_url_alone_turns_ai_on_and_ai_enabled_false_turns_it_off(tmp_path):
    assert settings_from(tmp_path, OPENAI_BASE_URL="http://127.0.0.1:8080/v1")["ai"] is True
    assert settings_from(tmp_path, OPENAI_API_KEY="sk-x", AI_ENABLED="false")["ai"] is False


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_without_required_variable_fails_naming_it(tmp_path, missing):
    variables = {"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "logbook.factory.lan"}
    del variables[missing]
    result = load_settings(tmp_path, **variables)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_production_with_required_variables_starts(tmp_path):
    s = settings_from(tmp_path, DEBUG="false", SECRET_KEY="x" * 50,
                      ALLOWED_HOSTS="logbook.factory.lan, 10.0.0.5")
    assert s["debug"] is False
    assert s["hosts"] == ["logbook.factory.lan", "10.0.0.5"]


def test_malformed_database_url_fails_with_a_clear_message(tmp_path):
    result = load_settings(tmp_path, DATABASE_URL="nosuchdb://x")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8000", True), ("http://localhost:9000", True), ("http://[::1]:8000", True),
    ("http://10.20.0.15:8000", False), ("https://logbook.factory.lan", False),
])
def test_site_url_on_this_machine_alone_is_told_apart(tmp_path, url, loopback):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings as s; "
                               "print(s.SITE_URL_IS_LOOPBACK)"],
        cwd=BASE_DIR, env={**env, "ENV_FILE": "/dev/null", "SITE_URL": url,
                           "DJANGO_SETTINGS_MODULE": "logbook_site.settings"},
        capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == str(loopback)


@pytest.mark.parametrize("rate", ["600", "lots/min", "0/min", "10/fortnight"])
def test_a_malformed_api_throttle_rate_stops_start_up_naming_it(tmp_path, rate):
    result = load_settings(tmp_path, API_THROTTLE_RATE=rate)
    assert result.returncode != 0 and "API_THROTTLE_RATE" in result.stderr


def test_an_api_throttle_rate_per_hour_is_taken(tmp_path):
    assert load_settings(tmp_path, API_THROTTLE_RATE="5000/hour").returncode == 0


def test_every_variable_the_settings_read_is_in_the_readme_and_env_example():
    root = Path(__file__).resolve().parent.parent
    settings_text = (root / "logbook_site" / "settings.py").read_text()
    names = set(re.findall(r'env(?:\.(?:str|int|bool|float|list|db_url))?\(\s*"([A-Z][A-Z0-9_]+)"', settings_text))
    names |= set(re.findall(r'(?:_require|_at_least_one)\(\s*"([A-Z][A-Z0-9_]+)"', settings_text))
    assert {"EMAIL_HOST", "NOTIFY_ESCALATE_MINUTES", "DATABASE_URL", "SECRET_KEY"} <= names
    readme = (root / "README.md").read_text()
    example = (root / "env_example.txt").read_text()
    assert not sorted(n for n in names if f"`{n}`" not in readme and f"`{n}`," not in readme), "missing in README"
    assert not sorted(n for n in names if not re.search(rf"\b{n}=", example)), "missing in env_example.txt"
