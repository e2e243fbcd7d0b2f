"""
`manage.py db_worker`: django-tasks-db's task worker, made to run unattended.

django-tasks-db's own worker (0.13.0) exits on the first database error it does not expect, so a
PostgreSQL restart (an upgrade, a failover, a reboot of the database host) stopped all background
work until someone restarted the worker by hand. It also never looks again at a task whose worker was
killed: that row stays "running" and its issue's AI text pending for ever. This one, found first
because floor comes before django_tasks_db in INSTALLED_APPS, takes the same arguments and

- waits for a lost database, trying again after 1, 2, 4 … up to 30 seconds (--reconnect-wait-max),
  logs the loss and the return, and goes on where it stopped;
- every few seconds gives up on AI text that no worker is writing any more (floor.tasks.fail_stalled_ai);
- runs the notification lane beside it (NOTIFY_WORKER_THREADS, --notify-threads): a planner thread that
  every half second works out who is told of what (floor.notify.fan_out) and every few seconds escalates
  and tidies up (floor.notify.housekeeping), and that many threads sending the messages from their own
  queue, so neither a slow AI answer nor a hanging webhook holds up a stopped machine's message. With
  --batch there are no threads: the one worker does it all for the queues it was given.
"""

import logging
import os
import random
import threading
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from floor import ai, notify
from floor.tasks import deliver_task, fail_stalled_ai

# django-tasks-db's logger, whose level follows --verbosity: the worker's log stays one stream.
log = db_worker.logger

# What a database that went away (restart, network, failover) raises: on the query that found it
# gone, and on every try to connect until it is back.
DATABASE_LOST = (OperationalError, InterfaceError)
RECONNECT_WAIT_FIRST = 1.0
RECONNECT_WAIT_MAX = 30.0
SWEEP_EVERY_MAX = 30.0
NOTIFY_QUEUE = deliver_task.queue_name
# How often the planner looks for events to tell people of, and for escalations and stalled messages.
FAN_OUT_EVERY = 0.5
HOUSEKEEPING_EVERY = 5.0


def ai_sweep_every():
    # Often enough that stalled text is given up on soon after the limit, rarely enough to cost nothing.
    return min(SWEEP_EVERY_MAX, max(1.0, ai.pending_limit().total_seconds() / 4))


NOTIFY_SWEEPS = [(notify.fan_out, FAN_OUT_EVERY), (notify.housekeeping, HOUSEKEEPING_EVERY)]


class Worker(db_worker.Worker):
    def __init__(self, *, reconnect_wait_max=RECONNECT_WAIT_MAX, sweeps=None, runs_tasks=True, **kwargs):
        super().__init__(**kwargs)
        self.reconnect_wait_max = reconnect_wait_max
        # [(function, seconds between calls)], run between tasks.
        self.sweeps = sweeps if sweeps is not None else [(fail_stalled_ai, ai_sweep_every())]
        self.runs_tasks = runs_tasks
        self._next_sweep = {}
        self.lanes = []
        self.is_lane = False

    def shutdown(self, signum, frame):
        for lane in self.lanes:
            lane.running = False  # each ends after the message it is sending
        if not self.running:
            os._exit(1)  # asked twice: now, whatever the threads are doing
        super().shutdown(signum, frame)

    def start_lanes(self, threads):
        """The notification lane: a planner and `threads` senders on the notification queue, each a
        worker of its own with its own database connection, ending when this one is stopped."""
        common = dict(interval=min(self.interval, 0.5), batch=False, backend_name=self.backend_name,
                      startup_delay=False, max_tasks=None, excluded_queue_names=[],
                      reconnect_wait_max=self.reconnect_wait_max)
        self.lanes = [Worker(queue_names=[NOTIFY_QUEUE], worker_id=f"{self.worker_id}-planner"[:64],
                             sweeps=NOTIFY_SWEEPS, runs_tasks=False, **common)]
        self.lanes += [Worker(queue_names=[NOTIFY_QUEUE], worker_id=f"{self.worker_id}-notify{n}"[:64], sweeps=[],
                              **common) for n in range(threads)]
        for n, lane in enumerate(self.lanes):
            lane.is_lane = True
            threading.Thread(target=lane.run, name=f"notify-{n}", daemon=False).start()

    def run_with_lanes(self, threads):
        if threads:
            self.start_lanes(threads)
        try:
            self.run()
        finally:
            for lane in self.lanes:
                lane.running = False

    def run(self):
        """django-tasks-db's loop (Worker.run in 0.13.0), with the rounds for stalled AI text and
        a lost database handled instead of ending the worker."""
        log.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # several workers started at once do not all poll together
        while self.running:
            try:
                if self._step():
                    return
            except DATABASE_LOST as e:
                if is_locked_database_exception(e):
                    time.sleep(max(self.interval, 0.1))  # SQLite busy with another writer: it frees itself
                    continue
                self._wait_for_database(e)

    def _step(self):
        """Sweep if due, then claim and run one task; sleep when there was none. True means stop."""
        close_old_connections()
        self._sweep_if_due()
        if not self.runs_tasks:
            if self.running:
                time.sleep(self.interval)
            return False

        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)

        task_result, retrieved = None, True
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)  # so that no other worker runs it
            except OperationalError as e:
                if not is_locked_database_exception(e):
                    raise
                retrieved = False

        if task_result is not None:
            self.run_task(task_result)

        if self.batch and retrieved and task_result is None:
            log.info("No more tasks to run for worker_id=%s - exiting gracefully.", self.worker_id)
            return True
        if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
            log.info("Run maximum tasks (%d) on worker=%s - exiting gracefully.", self._run_tasks, self.worker_id)
            return True

        close_old_connections()
        if self.running and not task_result:
            time.sleep(self.interval)
        return False

    def _sweep_if_due(self):
        for job, every in self.sweeps:
            if time.monotonic() < self._next_sweep.get(job, 0.0):
                continue
            self._next_sweep[job] = time.monotonic() + every
            try:
                job()
            except OperationalError as e:
                if not is_locked_database_exception(e):
                    raise

    def _wait_for_database(self, error):
        """Wait, longer each time, until the database answers again; the worker then goes on."""
        lost_at, wait = time.monotonic(), RECONNECT_WAIT_FIRST
        # The lane's threads wait for it too, each on its own connection; the main worker tells the log.
        loud = not self.is_lane
        log.log(logging.ERROR if loud else logging.DEBUG, "Lost the database: %s. Trying again in %.0f s.",
                _one_line(error), wait)
        while self.running:
            _drop_connections()
            time.sleep(wait)
            try:
                for connection in connections.all():
                    connection.ensure_connection()
            except DATABASE_LOST as e:
                wait = min(wait * 2, self.reconnect_wait_max)
                log.log(logging.WARNING if loud else logging.DEBUG,
                        "The database is still unavailable: %s. Trying again in %.0f s.", _one_line(e), wait)
            else:
                log.log(logging.WARNING if loud else logging.DEBUG,
                        "The database is back after %.0f s; processing tasks again.", time.monotonic() - lost_at)
                self._next_sweep = {}  # what stalled while it was away is looked at first
                return


def _drop_connections():
    # A connection that saw its server go is useless; closing it may fail the same way.
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DATABASE_LOST:
            pass


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


class Command(db_worker.Command):
    help = "Run the background task worker; it waits for a lost database and goes on when it is back"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--reconnect-wait-max", type=db_worker.valid_interval, default=RECONNECT_WAIT_MAX,
            help="Longest wait in seconds between tries to reach a lost database (default: %(default)r)",
        )
        parser.add_argument(
            "--notify-threads", type=int, default=settings.NOTIFY_WORKER_THREADS,
            help="Threads sending notifications beside the tasks of --queue-name; 0: none "
                 "(default: NOTIFY_WORKER_THREADS, %(default)r). Ignored with --batch.",
        )

    def handle(self, *, verbosity, queue_name, interval, batch, backend_name, startup_delay, reload, max_tasks,
               worker_id, exclude_queues, reconnect_wait_max, notify_threads, **options):
        # django-tasks-db's handle(), building this module's Worker.
        self.configure_logging(verbosity)
        if reload and batch:
            log.warning("Warning: --reload and --batch cannot be specified together. Disabling autoreload.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        if notify_threads < 0:
            raise CommandError("--notify-threads must be 0 or more.")
        sweeps = [(fail_stalled_ai, ai_sweep_every())]
        works_notifications = ("*" in queue_names and NOTIFY_QUEUE not in excluded_queue_names) or \
            NOTIFY_QUEUE in queue_names
        if batch and works_notifications:
            sweeps += NOTIFY_SWEEPS  # no threads: this worker plans the messages it then sends
        threads = 0 if batch else notify_threads
        worker = Worker(
            sweeps=sweeps,
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
            reconnect_wait_max=reconnect_wait_max,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the reloaded child handles signals
            run_with_reloader(worker.run_with_lanes, threads)
        else:
            worker.configure_signals()
            worker.run_with_lanes(threads)
