"""The notification lane as production runs it: `manage.py db_worker` in a process of its own, killed with
SIGKILL while it waits on a webhook, and outliving a restart of its database.

A try cut off by a killed worker cannot know whether the receiver got the message; it is sent again with
the same webhook-id, and receivers drop a webhook-id they have seen (Standard Webhooks). So the receiver
may see one message twice on the wire, and these tests count messages by distinct webhook-id."""

import os
import signal
import subprocess
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from floor.models import Channel, Delivery, DeliveryAttempt, IssueEvent, Notice, Subscription
from tests.floor.test_worker import cluster, manage, start_worker, stop, wait_for  # noqa: F401 (cluster: a fixture)
from tests.notify.conftest import OK, SITE_URL, Answer, report_down

# What the worker process is told. The webhook timeout is long enough that the worker is still waiting
# on the hanging receiver when it is killed.
WORKER_SETTINGS = {"NOTIFY_WEBHOOK_TIMEOUT": "20", "EMAIL_TIMEOUT": "1", "WEBHOOK_ALLOW_LOOPBACK": "true",
                   "NOTIFY_WORKER_THREADS": "2", "SITE_URL": SITE_URL, "AI_ENABLED": "false", "EMAIL_HOST": ""}


def worker_env(**database):
    env = {k: v for k, v in os.environ.items() if k not in {"DB_NAME", "DATABASE_URL", "SQLITE_PATH"}}
    env.update(WORKER_SETTINGS, ENV_FILE="/dev/null", DEBUG="true", PYTHONUNBUFFERED="1", **database)
    return env


def database_of_the_tests():
    """The test database, as the worker process is to find it."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        return {"DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"}
    return {"SQLITE_PATH": s["NAME"]}  # a file (tests/conftest.py), which another process can open


def started(log):
    return log.exists() and "Starting worker" in log.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_is_replaced_and_the_message_arrives_once(receiver, maintenance, manager, operator,
                                                                           machine, tmp_path):
    subscription = Subscription.objects.create(user=maintenance, channel=Channel.WEBHOOK, url=receiver.url(),
                                               notices=[Notice.MACHINE_DOWN])
    live = Subscription.objects.create(user=manager, channel=Channel.WEBHOOK, url=receiver.url("/live"),
                                       notices=[Notice.MACHINE_DOWN])
    receiver.secrets = [subscription.secret, live.secret]
    receiver.answer("/hook", Answer(hang=60), OK)  # the first post is never answered in time
    env = worker_env(**database_of_the_tests())
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    workers = [start_worker(env, logs[0], "--worker-id", "first")]
    try:
        wait_for(lambda: started(logs[0]), 30, "the worker to start", logs[0])
        issue = report_down(machine, by=operator)
        wait_for(lambda: receiver.to("/hook"), 20, "the worker to post", logs[0])
        # The other sender thread is not held up by the one waiting on the hanging endpoint.
        wait_for(lambda: Delivery.objects.get(subscription=live).state == Delivery.State.SENT, 10,
                 "the message to the live endpoint", logs[0])
        delivery = Delivery.objects.get(subscription=subscription)
        assert delivery.state == Delivery.State.SENDING
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)

        # Nobody will ever record how that try went. The next worker's rounds queue it again once it has
        # been "sending" longer than any timeout (a minute and more): that wait is skipped here.
        Delivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
        workers.append(start_worker(env, logs[1], "--worker-id", "second"))
        wait_for(lambda: Delivery.objects.get(pk=delivery.pk).state == Delivery.State.SENT, 20,
                 "the message to be sent", logs[1])
    finally:
        for worker in workers:
            stop(worker)

    posts = receiver.to("/hook")
    assert len(posts) == 2  # the cut-off try, and the one answered
    assert len({r.webhook_id for r in posts}) == 1
    assert all(r.verified_with == [subscription.secret] for r in posts)
    assert len(receiver.to("/live")) == 1
    assert Delivery.objects.count() == 2
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1  # the killed try left no record
    assert issue.events.filter(kind=IssueEvent.Kind.NOTIFIED).count() == 2


SETUP = """
import os
from django.contrib.auth.models import Group
from django.contrib.auth import get_user_model
from floor import roles
from floor.models import Channel, Department, Machine, Notice, Subscription
from floor.reporting import report_issue
user = get_user_model().objects.create_user(username="marek")
user.groups.add(Group.objects.get(name=roles.MAINTENANCE))
machine = Machine.objects.create(name="M-01", department=Department.objects.create(name="Milling"))
subscription = Subscription.objects.create(user=user, channel=Channel.WEBHOOK, url=os.environ["HOOK_URL"],
                                           notices=[Notice.MACHINE_DOWN])
report_issue(machine=machine, category="alarm", alarm_codes=["SP9001"], is_runnable=False, by=None)
print(subscription.secret)
"""


# Rows migrate writes: a database with these and the tables is as migrate leaves it.
MADE_BY_MIGRATE = ["django_migrations", "django_content_type", "auth_permission", "auth_group",
                   "auth_group_permissions"]


@pytest.fixture
def migrated_sql(transactional_db):
    """The test database's tables and the rows migrate made, as SQL. Loading it into the new cluster takes a
    second or two where migrating it takes ten or more on a busy machine, most of this test's time."""
    s = connection.settings_dict
    where = ["-h", s["HOST"] or "127.0.0.1", "-p", str(s["PORT"] or 5432), "-U", s["USER"] or "postgres",
             "--no-owner", "--no-privileges"]
    tables = [f"--table={t}" for t in MADE_BY_MIGRATE]
    return b"".join(subprocess.run(["pg_dump", *where, *options, s["NAME"]], check=True, capture_output=True).stdout
                    for options in (["--schema-only"], ["--data-only", *tables]))


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="restarts a PostgreSQL server of its own")
def test_a_database_restart_while_a_message_is_sent_still_gets_it_there_once(cluster, migrated_sql, receiver,  # noqa: F811
                                                                            tmp_path):
    env = worker_env(DATABASE_URL=cluster.url(), HOOK_URL=receiver.url())
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", cluster.url()], input=migrated_sql, check=True,
                   capture_output=True)
    setup = manage("shell", "-c", SETUP, env=env)
    out, _ = setup.communicate(timeout=60)
    assert setup.returncode == 0, out.decode()
    receiver.secrets = [out.split()[-1].decode()]
    # The post is answered once the database has restarted, well inside the worker's 20 s.
    restarted = threading.Event()
    receiver.answer("/hook", Answer(hang=15, release=restarted), OK)

    def state():
        return cluster.query("SELECT state FROM issues_delivery")

    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        wait_for(lambda: receiver.requests, 30, "the worker to post", log)
        cluster.stop()
        cluster.start()
        assert state() == [("sending",)]
        restarted.set()
        # Recorded at once on a new connection; not left "sending" until the rounds queue it again (after
        # the webhook timeout and a minute) to be posted a second time.
        wait_for(lambda: state() == [("sent",)], 10, "the delivery to be recorded sent", log)
        assert worker.poll() is None  # the same process all along
    finally:
        stop(worker)
    assert len({r.webhook_id for r in receiver.requests}) == 1
    assert all(r.verified_with == receiver.secrets for r in receiver.requests)
