"""The task worker as production runs it: `manage.py db_worker` in a process of its own, against a
real PostgreSQL, killed with SIGKILL mid-task, and outliving a restart of its database."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from glob import glob
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from floor.models import AIState, Issue
from floor.reporting import report_issue
from tests.openai_server import GOOD_TITLE, FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the worker runs in a process of its own, which SQLite's in-memory test database "
                              "cannot serve"),
]

# The worker's AI settings, small so that the pending limit is seconds: one attempt of at most 3 s and a
# margin of 1 s make AI text count as failed 4 s after the worker took it up.
AI_ENV = {"AI_TIMEOUT_SECONDS": "3", "AI_ATTEMPTS": "1", "AI_RETRY_BASE_SECONDS": "0.1",
          "AI_QUEUE_MARGIN_SECONDS": "1"}
LIMIT = 4.0


@pytest.fixture
def model():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def worker_env(database_url, model):
    env = {k: v for k, v in os.environ.items() if k not in {"DB_NAME", "DATABASE_URL"}}
    env.update(AI_ENV, ENV_FILE="/dev/null", DATABASE_URL=database_url, OPENAI_BASE_URL=model.base_url,
               OPENAI_API_KEY="", OPENAI_MODEL="test-model", AI_ENABLED="true", DEBUG="true",
               PYTHONUNBUFFERED="1")
    return env


def manage(*args, env, log=None, **kwargs):
    out = open(log, "ab") if log else subprocess.PIPE
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, **kwargs)


def start_worker(env, log, *args):
    # --no-reload: with DEBUG on the reloader would run the worker in a child that SIGKILL leaves behind.
    return manage("db_worker", "--interval", "0.2", "--no-startup-delay", "--no-reload", "--reconnect-wait-max", "2",
                  *args, env=env, log=log)


def wait_for(condition, timeout, what, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout} s for {what}" + (f"; the worker's log:\n{log.read_text()}" if log else ""))


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- a worker killed mid-task ---------------------------------------------------------------------------
@pytest.fixture
def test_database_url():
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def small_ai_settings(settings, model):
    settings.AI_TIMEOUT_SECONDS, settings.AI_ATTEMPTS, settings.AI_RETRY_BASE_SECONDS = 3.0, 1, 0.1
    settings.AI_QUEUE_MARGIN_SECONDS = 1.0
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.AI_ENABLED = model.base_url, "", True


@pytest.mark.django_db(transaction=True)
def test_text_of_a_worker_killed_mid_task_fails_within_the_limit_and_try_again_writes_it(
        client, machine, operator, maintenance, model, small_ai_settings, test_database_url, tmp_path):
    """Two workers; the one that takes the task is killed with SIGKILL while it waits on the model."""
    model.mode = "hang"
    env = worker_env(test_database_url, model)
    logs = {name: tmp_path / f"{name}.log" for name in ["one", "two"]}
    workers = {name: start_worker(env, log, "--worker-id", name) for name, log in logs.items()}
    try:
        for log in logs.values():
            wait_for(lambda: log.exists() and "Starting worker" in log.read_text(), 30, "the workers to start")
        issue = report_issue(machine=machine, category="alarm", alarm_codes=["SP9001"], by=operator,
                             description="spdl hot again alm after 20min")
        wait_for(lambda: model.requests, 30, "a worker to ask the model")
        task_row = DBTaskResult.objects.get()
        [taker] = task_row.worker_ids
        workers[taker].send_signal(signal.SIGKILL)
        workers[taker].wait(timeout=10)
        [survivor] = set(workers) - {taker}
        assert task_row.status == TaskResultStatus.RUNNING  # and django-tasks-db would leave it so for ever
        model.mode = "good"

        # Nobody looks at the issue: the other worker's rounds give up on the text on their own.
        wait_for(lambda: Issue.objects.get(pk=issue.pk).ai_state != AIState.PENDING, 30, "the text to fail",
                 logs[survivor])
        issue.refresh_from_db()
        task_row.refresh_from_db()
        assert issue.ai_state == AIState.FAILED
        assert issue.ai_error.startswith("The background worker stopped before the text was written")
        # Not before the limit, counted from when the killed worker took the text up, and soon after it
        # (at this limit the rounds come every second).
        waited = issue.ai_updated_at - task_row.started_at
        assert timedelta(seconds=LIMIT) <= waited <= timedelta(seconds=LIMIT + 3), waited
        assert task_row.status == TaskResultStatus.FAILED
        assert task_row.exception_class_path == "floor.tasks.WorkerStopped"
        assert issue.title == "Alarm SP9001: spdl hot again alm after 20min"  # the typed text untouched
        assert issue.description == "spdl hot again alm after 20min" and issue.ai_title == ""
        assert len(model.requests) == 1

        client.force_login(maintenance)
        page = client.get(reverse("issue_detail", args=[issue.pk])).content.decode()
        assert "AI summary failed" in page and "The background worker stopped" in page and "Try again" in page
        client.post(reverse("issue_ai_rerun", args=[issue.pk]))
        wait_for(lambda: Issue.objects.get(pk=issue.pk).ai_state == AIState.DONE, 30, "the text to be written",
                 logs[survivor])
        issue.refresh_from_db()
        assert issue.ai_title == GOOD_TITLE and issue.ai_error == ""
        # The worker marks its row a moment after the text is written, once the task has returned.
        wait_for(lambda: DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL,
                                                     worker_ids=[survivor]).count() == 1,
                 10, "the survivor's task row to be marked successful", logs[survivor])
        assert workers[survivor].poll() is None
    finally:
        for worker in workers.values():
            stop(worker)


# --- a database restart ---------------------------------------------------------------------------------
def _postgres_bin(name):
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    return found[-1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on a port of its own. initdb refuses to
    run as root, so as root it runs as the postgres user."""

    def __init__(self, folder):
        self.folder, self.port = folder, _free_port()
        self.data = folder / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            postgres = pwd.getpwnam("postgres")
            os.chown(folder, postgres.pw_uid, postgres.pw_gid)
        self._run(_postgres_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")

    def _run(self, *args):
        command = [str(a) for a in args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd="/tmp")

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_postgres_bin("pg_ctl"), "-D", self.data, "-o", options, "-l", self.folder / "server.log",
                  "-w", "start")

    def stop(self, mode="fast"):
        self._run(_postgres_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")

    def url(self, name="logbook"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def query(self, sql, *params):
        with psycopg2.connect(self.url()) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


@pytest.fixture
def cluster():
    if not _postgres_bin("initdb") or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl)")
    folder = Path(tempfile.mkdtemp(prefix="logbook-pg-"))
    try:
        cluster = Cluster(folder)
        cluster.start()
        conn = psycopg2.connect(cluster.url("postgres"))
        conn.autocommit = True  # CREATE DATABASE runs outside a transaction only
        conn.cursor().execute("CREATE DATABASE logbook")
        conn.close()
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except (NameError, subprocess.CalledProcessError):
            pass  # never made, or stopped already
        shutil.rmtree(folder, ignore_errors=True)


REPORT = """
from floor.models import Department, Machine
from floor.reporting import report_issue
machine = Machine.objects.first() or Machine.objects.create(name="M-01", department=Department.objects.create(name="A"))
print(report_issue(machine=machine, category="alarm", by=None, description="spdl hot").pk)
"""


def report(env):
    """An issue reported through our own code, in a process of its own like the web server's."""
    process = manage("shell", "-c", REPORT, env=env)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out.decode()
    return int(out.split()[-1])


def test_worker_outlives_a_database_restart_and_goes_on_with_its_work(cluster, model, tmp_path):
    env = worker_env(cluster.url(), model)
    migrate = manage("migrate", "--no-input", env=env)
    assert migrate.wait(timeout=120) == 0, migrate.stdout.read().decode()
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)

    def ai_state(pk):
        try:
            return cluster.query("SELECT ai_state FROM issues_issue WHERE id = %s", pk)[0][0]
        except psycopg2.OperationalError:
            return None

    try:
        # Restarted while the worker waits on the model: the answer is written once it arrives.
        model.mode, model.slow_seconds = "slow", 2.5  # within the worker's AI_TIMEOUT_SECONDS
        first = report(env)
        wait_for(lambda: model.requests, 30, "the worker to ask the model")
        cluster.stop()
        cluster.start()
        assert len(model.requests) == 1 and ai_state(first) == AIState.PENDING  # restarted before the answer
        wait_for(lambda: ai_state(first) == AIState.DONE, 20, "the first text after the restart", log)

        # Down for a while: the worker waits, trying again now and then, not in a tight loop.
        model.mode = "good"
        cluster.stop()
        time.sleep(5)
        assert worker.poll() is None, log.read_text()
        text = log.read_text()
        assert "Lost the database" in text
        assert 1 <= text.count("The database is still unavailable") <= 5, text  # tries after 1, 2, 2 s

        cluster.start()
        second = report(env)
        wait_for(lambda: ai_state(second) == AIState.DONE, 20, "the second text after the database came back", log)
        assert "The database is back after" in log.read_text()
        assert worker.poll() is None  # the same process all along
        # Each row is marked a moment after its text is written, once the task has returned.
        wait_for(lambda: cluster.query("SELECT count(*) FROM django_tasks_database_dbtaskresult "
                                       "WHERE status = 'SUCCESSFUL'") == [(2,)],
                 10, "both task rows to be marked successful", log)
    finally:
        stop(worker)
