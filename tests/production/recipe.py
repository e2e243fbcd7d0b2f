"""The production recipe, read from where it is written and run as written.

The README's Operations section holds the recipe in a fenced block after a `<!-- production-recipe: ... -->`
comment; docs/deploy/ holds the same commands as systemd units. `read_recipe()` reads both and
`recipe_differences()` says, line by line, where they disagree. `Production` runs the recipe from this
checkout in an environment of its own (DEBUG off, a PostgreSQL database made for the run, a temporary
STATIC_ROOT and MEDIA_ROOT, a local server speaking the OpenAI protocol) and stops everything it started.

Used by tests/production/test_recipe.py and tests/bench/load.py; nothing here copies a command line.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEPLOY = ROOT / "docs" / "deploy"
# In the order their commands appear in the README: the web server's (with the steps before it), then
# the worker's.
UNITS = ("logbook-web.service", "logbook-worker.service")
MARKER = "<!-- production-recipe:"
# What systemd starts a unit's processes with before its Environment= lines: no login shell's variables.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SITE_URL = "http://logbook.factory.lan"


class RecipeError(Exception):
    """The recipe cannot be read, or a command of it failed."""


# --- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a file: where it is and what it says."""

    path: Path
    number: int
    text: str

    def __str__(self):
        return f'{_shown(self.path)} line {self.number}: "{self.text}"'


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@dataclass
class Unit:
    """The [Service] settings of a systemd unit that the recipe depends on."""

    path: Path
    working_directory: str = ""
    environment_files: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    pre: list[Line] = field(default_factory=list)  # ExecStartPre=, in order
    start: Line | None = None  # ExecStart=

    @property
    def name(self):
        """`web` for logbook-web.service."""
        return self.path.stem.removeprefix("logbook-")

    def command_of(self, line: Line) -> str:
        return line.text.split("=", 1)[1]

    def relative(self, command: str) -> list[str]:
        """The command's words as run from the working directory with the venv's bin first on PATH:
        `/srv/logbook/.venv/bin/python /srv/logbook/manage.py x` becomes `python manage.py x`."""
        words = shlex.split(command.lstrip("-+!:"))  # systemd's prefixes (ignore failure etc.)
        if not self.working_directory.strip("/"):
            return words
        base = self.working_directory.rstrip("/") + "/"
        if words and words[0].startswith(base + ".venv/bin/"):
            words[0] = words[0].removeprefix(base + ".venv/bin/")
        return [word.removeprefix(base) for word in words]


def readme_recipe(path: Path = README) -> list[Line]:
    """The lines of the fenced block after the production-recipe comment (blank lines and comments
    left out)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, text in enumerate(lines):
        if text.strip().startswith(MARKER):
            break
    else:
        raise RecipeError(f"{_shown(path)} has no {MARKER} ... --> comment")
    fence = index + 1
    if fence >= len(lines) or not lines[fence].startswith("```"):
        raise RecipeError(f"{_shown(path)} line {index + 1}: the recipe comment is not followed by a "
                          "fenced block")
    recipe = []
    for number in range(fence + 1, len(lines)):
        text = lines[number].strip()
        if text.startswith("```"):
            return recipe
        if text and not text.startswith("#"):
            recipe.append(Line(path, number + 1, text))
    raise RecipeError(f"{_shown(path)} line {fence + 1}: the recipe's fenced block is never closed")


def read_unit(path: Path) -> Unit:
    """The [Service] section's WorkingDirectory, EnvironmentFile, Environment, ExecStartPre and ExecStart."""
    unit = Unit(path)
    section = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith(("#", ";")):
            continue
        if text.startswith("["):
            section = text
            continue
        if section != "[Service]" or "=" not in text:
            continue
        key, value = (part.strip() for part in text.split("=", 1))
        line = Line(path, number, text)
        if key == "WorkingDirectory":
            unit.working_directory = value
        elif key == "EnvironmentFile":
            unit.environment_files.append(value.lstrip("-"))
        elif key == "Environment":
            for assignment in shlex.split(value):
                name, _, setting = assignment.partition("=")
                unit.environment[name] = setting
        elif key == "ExecStartPre":
            unit.pre.append(line)
        elif key == "ExecStart":
            if unit.start is not None:
                raise RecipeError(f"{line}: a second ExecStart= in one service")
            unit.start = line
    if unit.start is None:
        raise RecipeError(f"{_shown(path)} has no ExecStart= line")
    return unit


def read_units() -> list[Unit]:
    return [read_unit(DEPLOY / name) for name in UNITS]


def _readme_commands(recipe: list[Line]) -> list[tuple[Line, str]]:
    """Each command of the README's block with its line: `a && b` is two commands on one line."""
    return [(line, command.strip()) for line in recipe for command in line.text.split("&&")]


def _unit_commands(units: list[Unit]) -> list[tuple[Unit, Line]]:
    return [(unit, line) for unit in units for line in [*unit.pre, unit.start]]


def recipe_differences(recipe: list[Line] | None = None, units: list[Unit] | None = None) -> list[str]:
    """Where the README's recipe and the systemd units disagree, one message per command, naming both
    lines. The units may give the venv's full path and absolute paths under their working directory;
    everything else must be the same words in the same order."""
    recipe = readme_recipe() if recipe is None else recipe
    units = read_units() if units is None else units
    problems = []
    readme = _readme_commands(recipe)
    deployed = _unit_commands(units)
    for (line, command), (unit, unit_line) in zip(readme, deployed):
        if shlex.split(command) != unit.relative(unit.command_of(unit_line)):
            problems.append(f'{line} runs "{command}", but {unit_line} runs '
                            f'"{shlex.join(unit.relative(unit.command_of(unit_line)))}" from '
                            f"{unit.working_directory}")
    for line, command in readme[len(deployed):]:
        problems.append(f'{line}: "{command}" is in no unit of docs/deploy/')
    for unit, unit_line in deployed[len(readme):]:
        problems.append(f"{unit_line} is not in the README's recipe")
    problems += _mixed_lines(recipe, readme, deployed)
    places = {(unit.working_directory, tuple(unit.environment_files)) for unit in units}
    if len(places) > 1:
        problems.append("the units run from different folders or environment files: "
                        + "; ".join(f"{u.path.name}: WorkingDirectory={u.working_directory} "
                                    f"EnvironmentFile={' '.join(u.environment_files)}" for u in units))
    return problems


def _mixed_lines(recipe, readme, deployed) -> list[str]:
    """README lines whose commands the units run in different roles (`migrate && gunicorn`): such a
    line cannot be run as written and as the units run it at once."""
    problems = []
    for line in recipe:
        roles = {unit.name + (" ExecStart" if unit_line is unit.start else " ExecStartPre")
                 for (readme_line, _), (unit, unit_line) in zip(readme, deployed) if readme_line == line}
        if len(roles) > 1:
            problems.append(f"{line} holds commands that the units run as {' and '.join(sorted(roles))}")
    return problems


@dataclass(frozen=True)
class Step:
    """A README line and the unit whose environment it runs in."""

    line: Line
    unit: Unit

    @property
    def text(self):
        return self.line.text


@dataclass
class Recipe:
    setup: list[Step]  # run to completion, in order, before the services start
    services: dict[str, Step]  # "web", "worker": long-running, as the units' ExecStart=
    differences: list[str]  # where the README and docs/deploy/ disagree (empty when in step)


def read_recipe() -> Recipe:
    """The README's recipe, each line given the role the units give it (steps before a service, or the
    service). The README's words are what runs; where the units' words differ, `differences` says so.
    Raises RecipeError when the lines cannot be matched to the units at all."""
    recipe, units = readme_recipe(), read_units()
    differences = recipe_differences(recipe, units)
    readme, deployed = _readme_commands(recipe), _unit_commands(units)
    if len(readme) != len(deployed) or _mixed_lines(recipe, readme, deployed):
        raise RecipeError("The README's production recipe does not match docs/deploy/ line for line:\n  "
                          + "\n  ".join(differences))
    result = Recipe(setup=[], services={}, differences=differences)
    for (line, _), (unit, unit_line) in zip(readme, deployed):
        if unit_line is unit.start:
            result.services[unit.name] = Step(line, unit)
        elif not result.setup or result.setup[-1].line != line:
            result.setup.append(Step(line, unit))
    if "web" not in result.services:
        raise RecipeError("no logbook-web.service ExecStart= in the recipe")
    return result


def with_port(words: list[str], port: int) -> list[str]:
    """gunicorn's words with only the port of its bind address replaced."""
    words = list(words)
    for index, word in enumerate(words):
        for option in ("--bind", "-b"):
            if word == option and index + 1 < len(words):
                words[index + 1] = _replace_port(words[index + 1], port)
                return words
            if word.startswith(option + "="):
                words[index] = option + "=" + _replace_port(word.split("=", 1)[1], port)
                return words
    raise RecipeError(f"no --bind address to give a free port in: {shlex.join(words)}")


def _replace_port(address: str, port: int) -> str:
    host, separator, old = address.rpartition(":")
    if not separator or not old.isdigit():
        raise RecipeError(f"the bind address {address!r} has no port to replace")
    return f"{host}:{port}"


# --- running ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_bin() -> Path:
    """The bin folder of the virtual environment running this code."""
    if sys.prefix == sys.base_prefix:
        raise RecipeError(f"{sys.executable} is not a virtual environment's Python; run with .venv/bin/python")
    return Path(sys.prefix) / "bin"


def server_of(database_url: str) -> str:
    """`postgres://user@host:5432/name` without its database name."""
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", "")).rstrip("/")


def _tail(path: Path, lines: int | None = 40) -> str:
    """The last `lines` lines of a log (all of it with None)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines if lines else None:])
    except FileNotFoundError:
        return "(no output)"


@dataclass
class Service:
    name: str
    words: list[str]
    process: subprocess.Popen
    log: Path


class Production:
    """The recipe run from this checkout, with everything it needs made for the run and removed after.

        with Production(server="postgres://postgres@127.0.0.1:5432", database="logbook_prod_x") as prod:
            prod.setup()              # the README's migrate/collectstatic line(s), as written
            prod.manage("shell", "-c", "...")
            prod.start()              # gunicorn and db_worker, each in its own process group
            urllib.request.urlopen(prod.url + "/login/")

    The database is made fresh (dropped first if it is there) and dropped at the end; the temporary
    folder holds STATIC_ROOT, MEDIA_ROOT, the environment file and the services' logs.
    """

    def __init__(self, *, server: str, database: str, keep_database: bool = False):
        from tests.openai_server import FakeOpenAI

        if not re.fullmatch(r"[a-z0-9_]+", database):
            raise RecipeError(f"database name {database!r}: lower-case letters, digits and _ only")
        self.recipe = read_recipe()
        self.server = server.rstrip("/")
        self.database = database
        self.database_url = f"{self.server}/{database}"
        self.keep_database = keep_database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ai = FakeOpenAI()
        self.services: dict[str, Service] = {}
        self.tmp: Path | None = None

    def _settings(self) -> dict[str, str]:
        """What the run's EnvironmentFile holds: production's variables with the run's own values."""
        return {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": self.database_url,
            "STATIC_ROOT": str(self.tmp / "static"),
            "MEDIA_ROOT": str(self.tmp / "media"),
            # The address tablets reach production by, printed on QR labels; the run itself is reached on
            # loopback (ALLOWED_HOSTS), and a loopback SITE_URL is a deploy-check warning of its own.
            "SITE_URL": SITE_URL,
            "OPENAI_BASE_URL": self.ai.base_url,
        }

    @property
    def static_root(self) -> Path:
        return self.tmp / "static"

    @property
    def media_root(self) -> Path:
        return self.tmp / "media"

    def __enter__(self):
        # Killed with SIGTERM (a CI time limit, `kill`), Python would exit without cleaning up, and the
        # services, in process groups of their own, would run on: make it an interrupt that unwinds.
        self._previous_sigterm = None
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        self.tmp = Path(tempfile.mkdtemp(prefix="logbook-production-"))
        (self.tmp / "logs").mkdir()
        try:
            self._create_database()
            self.ai.start()
            self.env_file = self.tmp / "env"
            self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self._settings().items()))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            try:
                self.ai.stop()
            except Exception:
                pass
            if not self.keep_database:
                self._drop_database()
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)

    def environment(self, unit: Unit | None = None, **overrides) -> dict[str, str]:
        """A fresh environment as systemd gives the unit's processes: its EnvironmentFile (the run's
        file), then its Environment= lines (where they name the unit's EnvironmentFile, the run's file
        instead), with this venv's bin first on PATH."""
        unit = unit or self.recipe.services["web"].unit
        env = {"PATH": f"{venv_bin()}:{SYSTEMD_PATH}", "LANG": "C.UTF-8", "HOME": str(self.tmp)}
        env.update(self.env_file_values())
        for name, value in unit.environment.items():
            env[name] = str(self.env_file) if value in unit.environment_files else value
        env.update(overrides)
        return env

    def env_file_values(self) -> dict[str, str]:
        """The run's EnvironmentFile, as systemd reads it."""
        values = {}
        for text in self.env_file.read_text().splitlines():
            if text.strip() and not text.startswith("#"):
                name, _, value = text.partition("=")
                values[name.strip()] = value.strip()
        return values

    def setup(self, timeout: float = 300):
        """The README's lines that come before the services (migrate, collectstatic), each run by the
        shell exactly as written, in the environment of the unit that runs them first."""
        for step in self.recipe.setup:
            self._run_shell(step.text, self.environment(step.unit), timeout=timeout)

    def manage(self, *args: str, timeout: float = 300, **overrides) -> subprocess.CompletedProcess:
        """`python manage.py ARGS` in the web unit's environment (plus overrides); fails on a non-zero exit."""
        return self._run([str(venv_bin() / "python"), "manage.py", *args], self.environment(**overrides), timeout)

    def _run_shell(self, text, env, *, timeout):
        return self._run(["/bin/sh", "-c", text], env, timeout, shown=text)

    def _run(self, argv, env, timeout, shown=None):
        shown = shown or shlex.join(argv)
        try:
            result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                                    start_new_session=True)
        except subprocess.TimeoutExpired as e:
            raise RecipeError(f"`{shown}` took longer than {timeout:.0f} s") from e
        if result.returncode != 0:
            raise RecipeError(f"`{shown}` exited with {result.returncode}:\n{result.stdout[-3000:]}"
                              f"\n{result.stderr[-3000:]}")
        return result

    def command(self, name: str) -> list[str]:
        """The words a service is started with: as written, except that the web server's bind address
        gets this run's free port (the only change: several runs and a developer's own server may be
        on this machine at once)."""
        words = shlex.split(self.recipe.services[name].text)
        return with_port(words, self.port) if name == "web" else words

    def start(self, ready_timeout: float = 60):
        """Start every service in its own process group (so that stopping takes its children too),
        then wait until the web server answers."""
        for name, step in self.recipe.services.items():
            words = self.command(name)
            log = self.tmp / "logs" / f"{name}.log"
            with open(log, "wb") as out:
                process = subprocess.Popen(words, cwd=ROOT, env=self.environment(step.unit), stdout=out,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
            self.services[name] = Service(name, words, process, log)
        self._wait_until_answering(ready_timeout)

    def _wait_until_answering(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for service in self.services.values():
                if service.process.poll() is not None:
                    raise RecipeError(f"`{shlex.join(service.words)}` exited with {service.process.returncode}:\n"
                                      f"{_tail(service.log)}")
            try:
                with urllib.request.urlopen(self.url + "/login/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RecipeError(f"gunicorn did not answer on {self.url} within {timeout:.0f} s:\n"
                                  f"{_tail(self.services['web'].log)}")
            time.sleep(0.2)

    def log(self, name: str, lines: int | None = 200) -> str:
        """What a running service has printed: its last `lines` lines, or all with None."""
        return _tail(self.services[name].log, lines) if name in self.services else ""

    def stop(self, grace: float = 10):
        """Stop every service and everything in its process group: TERM, then KILL after `grace` s."""
        leftovers = []
        for service in self.services.values():
            group = service.process.pid
            _signal_group(group, signal.SIGTERM)
            try:
                service.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                service.process.wait(timeout=grace)
            # The leader is gone; its workers may still be on their way out.
            deadline = time.monotonic() + grace
            while _group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _group_alive(group):
                _signal_group(group, signal.SIGKILL)
                time.sleep(0.5)
                if _group_alive(group):
                    leftovers.append(service.name)
        self.services = {}
        if leftovers:
            raise RecipeError(f"processes of {', '.join(leftovers)} outlived SIGKILL")

    # --- the run's database -------------------------------------------------------------------------------

    def _admin(self, sql: str):
        import psycopg2

        connection = psycopg2.connect(f"{self.server}/postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def _create_database(self):
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.database}"')

    def _drop_database(self):
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except Exception as e:  # the server went away: nothing left to drop then
            print(f"Could not drop database {self.database}: {e}", file=sys.stderr)

    def query(self, sql: str, params=()) -> list[tuple]:
        """Rows of one query on the run's database (for checks from outside the app)."""
        import psycopg2

        connection = psycopg2.connect(self.database_url)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _signal_group(group: int, sig):
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
