"""The production recipe of the README, run as written: migrate and collectstatic with DEBUG off, gunicorn
and the task worker from this checkout, a PostgreSQL database of the run's own, and an operator's report
on a tablet through it all, down to the AI title the worker writes.

`make test-production` runs these (PostgreSQL only; they skip on SQLite).
"""

import json
import os
import re
import secrets
import shutil
import urllib.error
import urllib.request

import pytest

from tests import images
from tests.openai_server import GOOD_TITLE
from tests.production import recipe
from tests.production.recipe import Production

DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(
        not DATABASE_URL.startswith(("postgres://", "postgresql://")),
        reason="the production recipe runs on PostgreSQL only: set DATABASE_URL=postgres://... "
               "(make test-production)",
    ),
]


@pytest.fixture(scope="module")
def production():
    """The recipe running: setup lines done, demo logins and machines in the run's database, gunicorn
    and db_worker answering. Everything is stopped and the database dropped afterwards."""
    database = f"logbook_prod_{secrets.token_hex(4)}"
    with Production(server=recipe.server_of(DATABASE_URL), database=database) as prod:
        prod.setup()
        # seed_demo refuses with DEBUG off (it makes users with known passwords); the run's database is
        # thrown away afterwards, so it is run with DEBUG on for this one command. No history: the
        # operator's issue is then the only one.
        prod.manage("seed_demo", "--issues", "0", DEBUG="true")
        prod.start()
        yield prod


def _get(url):
    """Status, headers and body of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def _brand_rgb():
    """The brand colour as the browser computes it, from the stylesheet's source."""
    source = (recipe.ROOT / "logbook_site" / "styles" / "app.css").read_text()
    hex_colour = re.search(r"--color-brand-600:\s*#([0-9a-fA-F]{6})", source).group(1)
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgb({red}, {green}, {blue})"


# --- the recipe as written --------------------------------------------------------------------------------


def test_readme_recipe_and_systemd_units_say_the_same_commands():
    differences = recipe.recipe_differences()
    assert not differences, "\n".join(differences)


def test_a_unit_line_that_differs_from_the_readme_is_named(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("Intro\n\n<!-- production-recipe: x -->\n```sh\npython manage.py migrate\n"
                      "gunicorn app.wsgi --bind 0.0.0.0:8000\n```\n")
    unit = tmp_path / "logbook-web.service"
    unit.write_text("[Service]\nWorkingDirectory=/srv/logbook\n"
                    "ExecStartPre=/srv/logbook/.venv/bin/python /srv/logbook/manage.py migrate\n"
                    "ExecStart=/srv/logbook/.venv/bin/gunicorn app.wsgi --bind 0.0.0.0:8000 --workers 9\n")
    lines, units = recipe.readme_recipe(readme), [recipe.read_unit(unit)]

    differences = recipe.recipe_differences(lines, units)

    # The venv's path and the working directory are no difference; the extra option is, named by line.
    assert len(differences) == 1
    assert "README.md line 6" in differences[0]
    assert "logbook-web.service line 4" in differences[0]
    assert "--workers 9" in differences[0]


def test_recipe_runs_this_venvs_python_and_gunicorn(production):
    path = production.environment()["PATH"]
    for program in ("python", "gunicorn"):
        assert shutil.which(program, path=path) == str(recipe.venv_bin() / program)
    assert production.command("web")[:1] == ["gunicorn"]
    assert f":{production.port}" in " ".join(production.command("web"))


# --- the running site -------------------------------------------------------------------------------------


def test_login_answers_200_with_debug_off_and_a_csp_header(production):
    status, headers, body = _get(production.url + "/login/")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe" not in policy


def test_missing_static_file_is_404_not_500(production):
    status, _, body = _get(production.url + "/static/css/no-such-file.css")
    assert status == 404
    assert "DEBUG = True" not in body  # Django's technical page would mean DEBUG is on


def test_deploy_check_is_clean_behind_https(production):
    # Behind a TLS proxy the address on the labels is an https one too.
    https_site = recipe.SITE_URL.replace("http://", "https://", 1)
    result = production.manage("check", "--deploy", "--fail-level", "WARNING", HTTPS="true", SITE_URL=https_site,
                               EMAIL_HOST="mail.factory.lan")
    assert "System check identified no issues" in result.stdout + result.stderr


def test_deploy_check_says_when_mail_is_off(production):
    https_site = recipe.SITE_URL.replace("http://", "https://", 1)
    result = production.manage("check", "--deploy", "--fail-level", "WARNING", HTTPS="true", SITE_URL=https_site,
                               EMAIL_HOST="")
    assert result.returncode == 0  # not a fault: webhooks still notify
    assert "floor.I020" in result.stdout + result.stderr


@pytest.mark.browser
def test_operator_reports_through_gunicorn_and_the_worker_writes_the_ai_title(production, tablet):
    responses = []
    tablet.on("response", lambda r: responses.append((r.url, r.status)))
    machine_id, machine_name = production.query("SELECT id, name FROM manufacturing_machine ORDER BY name")[0]

    tablet.goto(production.url + "/login/")
    tablet.get_by_label("Username").fill("operator")
    tablet.get_by_label("Password").fill("operator")
    tablet.get_by_role("button", name="Sign in").click()
    tablet.wait_for_url(re.compile(r".*/floor/$"))
    tablet.goto(f"{production.url}/m/{machine_id}/")
    assert tablet.get_by_role("heading", name=machine_name).is_visible()

    # The stylesheet is the hashed name from collectstatic's manifest, served by WhiteNoise, and applied.
    hashed = json.loads((production.static_root / "staticfiles.json").read_text())["paths"]["css/app.css"]
    assert hashed != "css/app.css"
    assert tablet.locator("link[rel=stylesheet]").get_attribute("href") == f"/static/{hashed}"
    assert (f"{production.url}/static/{hashed}", 200) in responses
    send = tablet.get_by_role("button", name="Send report")
    assert send.evaluate("button => getComputedStyle(button).backgroundColor") == _brand_rgb()

    tablet.get_by_text("Alarm", exact=True).tap()
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm-screen.png", "mimeType": "image/png", "buffer": images.alarm_screen()}]
    )
    code_button = tablet.locator("[data-alarm-code='SV0401']")
    code_button.wait_for()  # Tesseract read it inside a gunicorn worker
    assert tablet.get_by_label("Alarm code").input_value() == "SV0401"  # filled in from the photo
    tablet.get_by_text("No, it stopped").tap()
    send.tap()

    tablet.wait_for_url("**/reported/")
    number = int(re.search(r"/floor/issues/(\d+)/reported/", tablet.url).group(1))
    assert tablet.get_by_text(f"#{number}", exact=True).is_visible()
    assert production.query("SELECT count(*) FROM issues_attachment WHERE issue_id = %s", [number]) == [(1,)]

    # The worker asks the local model server and stores its title; the issue page swaps it in.
    tablet.goto(f"{production.url}/issues/{number}/")
    tablet.get_by_role("heading", name=re.compile(re.escape(GOOD_TITLE))).wait_for(timeout=20_000)
    assert production.query("SELECT ai_state, ai_title FROM issues_issue WHERE id = %s", [number]) == [
        ("done", GOOD_TITLE)
    ], production.log("worker")
    assert any("SV0401" in json.dumps(request) for request in production.ai.requests)

    static = [(url, status) for url, status in responses if "/static/" in url]
    assert static and all(status == 200 for _, status in static), static
    assert all(status < 500 for _, status in responses), responses


def test_a_plant_system_reports_through_the_api_with_a_key_from_the_command_line(production):
    key = production.manage("api_key", "create", "MES line 2", "--role", "maintenance").stdout.strip().splitlines()[-1]
    machine_id = production.query("SELECT id FROM manufacturing_machine ORDER BY name")[0][0]
    body = json.dumps({"machine": str(machine_id), "category": "hydraulic", "description": "Pump leaks oil",
                       "is_runnable": False}).encode()
    request = urllib.request.Request(production.url + "/api/issues/", data=body, method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json", "Idempotency-Key": "mes-1"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        number = json.loads(response.read())["id"]
    with urllib.request.urlopen(request, timeout=10) as again:  # sent again: the same issue, once
        assert again.status == 200 and json.loads(again.read())["id"] == number
    assert production.query("SELECT count(*) FROM issues_issue WHERE description = 'Pump leaks oil'") == [(1,)]

    # Errors are JSON with DEBUG off too, and the docs page's files come from collectstatic's manifest.
    status, headers, text = _get(production.url + "/api/issues/")
    assert status == 401 and headers["Content-Type"] == "application/json" and json.loads(text)["status"] == 401
    docs = urllib.request.Request(production.url + "/api/docs/", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(docs, timeout=10) as response:
        page = response.read().decode()
    script = re.search(r'src="(/static/drf_spectacular_sidecar/swagger-ui-dist/[^"]+\.js)"', page).group(1)
    assert _get(production.url + script)[0] == 200
