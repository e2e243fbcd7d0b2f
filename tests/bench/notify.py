"""Machine-down notifications in a bad hour, timed end to end (`make bench-notify`, or
`python -m tests.bench.notify [--reports N] [--seconds S] [--concurrency N] [--control] [--refused]`).

The target: a machine-down report reaches the maintenance person on duty within 30 seconds through the
channel the plant uses; nothing is lost when a channel is down; a dead or slow endpoint never delays a
report, the desk or another delivery.

Starts the README's production recipe as tests/production runs it (DEBUG off, migrate, collectstatic,
gunicorn, db_worker with its default notification lane) on a PostgreSQL database of its own
(`logbook_notify` on BENCH_POSTGRES_URL's server, made fresh and dropped afterwards) seeded with the demo
factory. The run's environment file adds EMAIL_HOST and EMAIL_PORT of an SMTP server this bench runs
(aiosmtpd) and WEBHOOK_ALLOW_LOOPBACK=true, as a plant whose receivers are on the same host would. Then,
on loopback:

1. baseline: N machine-down reports (default 200 in 60 s, Poisson arrivals, at most 4 under way at once)
   as a plant system sends them, POST /api/issues/ with an operator's API key, each on its own machine
   and alarm code (nothing folds), while nobody is to be told (no e-mail address, no subscription);
2. with --control, the live channels alone: the maintenance person gets an e-mail address (the role's
   default, machine down by e-mail, no subscription) and a shift lead a webhook subscription for
   machine down to a receiver here that verifies the Standard Webhooks signature;
3. the live channels (made now, without --control) and a second webhook subscription of the shift lead,
   to an endpoint that accepts the connection and never answers (the worst a dead endpoint does);
4. with --refused, that subscription switched off and one to a port that refuses connections instead
   (the hanging endpoint's deliveries are still waiting, and still tried).

Each phase sends the same reports at the same times, on alarm codes of its own. A maintenance person
at the desk (tests/bench/load.py's DeskUser) browses the desk throughout.

Prints the reports' HTTP times and the desk's in each phase; for each live channel, the time from a
report's answer to its message's arrival at the SMTP server or the receiver (p50, p95, max, and over
the run, to show whether the dead endpoint held anything up), messages missing or doubled (by
Message-ID or webhook-id, and per report); how the worker's lane spent the time (from the deliveries'
rows); and what the dead endpoint cost: its tries and their timeouts, the connections it saw, its
deliveries still kept. Exit status 1 when a live message is missing or came twice, a signature did not
verify, a report failed, or a delivery to the dead endpoint was not kept.

It measures, it does not tune: the worker runs with its defaults (NOTIFY_WORKER_THREADS, timeouts).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import queue
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.bench.database import percentile
from tests.production.recipe import ROOT, Production, RecipeError, free_port

TARGET_SECONDS = 30
MAINTENANCE_EMAIL = "marek.maintenance@logbook.factory.lan"
# Each phase's reports carry codes of their own, so no (machine, code) repeats across phases either.
CODE_PREFIXES = {"baseline": "SV", "control": "PS", "hanging": "SP", "refused": "OH"}
LIVE_HOOK = "Maintenance chat (signed webhook)"
DEAD_HOOK = "Old hall display (dead)"
MOVED_HOOK = "Old hall display, moved (dead)"


# --- what receives the messages ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic() in this process, as the reports' answers are timed
    message_id: str
    report: str  # what names the report: the alarm code (e-mail subject), the issue id (webhook)
    detail: str = ""


class MailServer:
    """A real SMTP server (aiosmtpd) that records each accepted message and when."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self):
        self._controller.start()

    def stop(self):
        self._controller.stop()

    async def handle_DATA(self, server, session, envelope):
        at = time.monotonic()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subject = str(message["Subject"] or "")
        # "Machine down: <machine>, <code>": the code names the report.
        code = subject.rsplit(", ", 1)[-1] if subject.startswith("Machine down:") else ""
        with self._lock:
            self.arrivals.append(Arrival(at, str(message["Message-ID"] or ""), code,
                                         detail=",".join(envelope.rcpt_tos)))
        return "250 Message accepted"


class Receiver(ThreadingHTTPServer):
    """A webhook receiver as a plant's would be: verifies the Standard Webhooks signature with the
    subscription's secret (401 when it does not verify) and records each message and when."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.secret = ""
        self.arrivals: list[Arrival] = []
        self.rejected: list[str] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="webhook-receiver")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/maintenance"

    def start(self):
        self._thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        at = time.monotonic()
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            payload = Webhook(self.server.secret).verify(body, headers)
        except (WebhookVerificationError, ValueError) as e:
            with self.server.lock:
                self.server.rejected.append(f"{headers.get('webhook-id', '?')}: {e}")
            self.send_response(401)
            self.end_headers()
            return
        issue = ((payload.get("data") or {}).get("issue") or {}).get("id")
        with self.server.lock:
            self.server.arrivals.append(Arrival(at, headers.get("webhook-id", ""), str(issue),
                                                detail=str(payload.get("type"))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class Hanging:
    """A dead endpoint at its worst: accepts every connection and never answers a byte."""

    kind = "accepts, never answers"

    def __init__(self):
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=256)
        self._socket.settimeout(0.2)
        self.connections = 0
        self._held: list[socket.socket] = []
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True, name="hanging-endpoint")

    @property
    def url(self):
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/hooks/old-hall-display"

    def start(self):
        self._thread.start()

    def _accept(self):
        while self._running:
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(connection)

    def stop(self):
        self._running = False
        self._thread.join(timeout=2)
        for connection in [*self._held, self._socket]:
            connection.close()


class Refusing:
    """A dead endpoint at its kindest: a port bound and not listening, so every connection is refused
    at once (and no other program can take the port meanwhile)."""

    kind = "refuses connections"
    connections = 0

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))

    @property
    def url(self):
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/hooks/old-hall-display"

    def start(self):
        pass

    def stop(self):
        self._socket.close()


# --- the reports ------------------------------------------------------------------------------------------------
@dataclass
class Report:
    index: int
    machine: str
    code: str
    due: float  # seconds after the phase starts
    started: float = 0.0  # time.monotonic()
    answered: float = 0.0
    status: int = 0
    error: str = ""
    issue_id: int | None = None

    @property
    def ms(self):
        return (self.answered - self.started) * 1000


def plan_reports(phase, machines, count, seconds, seed):
    """`count` reports at Poisson arrival times over `seconds` (a bad hour has bursts), the same times in
    every phase; machines in turn, each report with an alarm code of its own."""
    rng = random.Random(seed)
    gaps = [rng.expovariate(1.0) for _ in range(count)]
    scale = seconds / sum(gaps)
    due, reports = 0.0, []
    for index, gap in enumerate(gaps):
        reports.append(Report(index, machines[index % len(machines)], f"{CODE_PREFIXES[phase]}{1000 + index}", due))
        due += gap * scale
    return reports


def send_reports(base, key, reports, *, concurrency, timeout):
    """Each report at its time, at most `concurrency` under way (a burst waits for a free sender, as a
    plant system's queue would); returns the monotonic time the phase started."""
    todo = queue.Queue()
    for report in reports:
        todo.put(report)
    start = time.monotonic() + 0.5

    def sender():
        while True:
            try:
                report = todo.get_nowait()
            except queue.Empty:
                return
            time.sleep(max(0.0, start + report.due - time.monotonic()))
            _post(base, key, report, timeout)

    threads = [threading.Thread(target=sender, name=f"reporter-{n}") for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return start


def _post(base, key, report, timeout):
    body = json.dumps({
        "machine": report.machine, "category": "alarm", "alarm_codes": [report.code], "is_runnable": False,
        "description": f"{report.code} on the screen, machine stopped mid cycle", "reporter_name": "Line MES",
    }).encode()
    request = urllib.request.Request(base + "/api/issues/", data=body, method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    report.started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            report.status, data = response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        report.status, data = e.code, {}
    except (urllib.error.URLError, OSError) as e:
        report.error, data = f"no answer: {e}", {}
    report.answered = time.monotonic()
    if report.status == 201 and data.get("id"):
        report.issue_id = data["id"]
    elif not report.error:
        report.error = f"HTTP {report.status}"


# --- the run ----------------------------------------------------------------------------------------------------
class NotifyProduction(Production):
    """The recipe with the plant's mail server and its receivers' allowance in the environment file."""

    def __init__(self, *, extra_settings, **kwargs):
        super().__init__(**kwargs)
        self.extra_settings = extra_settings

    def _settings(self):
        return {**super()._settings(), **self.extra_settings}


@dataclass
class Phase:
    name: str
    title: str
    reports: list
    started: float = 0.0  # monotonic
    started_wall: float = 0.0
    desk: object = None
    dead: object = None  # the dead endpoint of this phase
    dead_subscription: int | None = None
    load: list = None  # os.getloadavg() before and after: the machine is shared
    cpu: dict = None  # CPU seconds each service (and this bench) used during the phase
    seconds: float = 0.0
    mail_from: int = 0  # arrivals before this phase
    hooks_from: int = 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200, help="machine-down reports per phase (default 200)")
    parser.add_argument("--seconds", type=float, default=60, help="over how long (default 60)")
    parser.add_argument("--concurrency", type=int, default=4, help="reports under way at once at most (default 4)")
    parser.add_argument("--control", action="store_true",
                        help="a phase with e-mail and the live webhook only, before the dead endpoint is added")
    parser.add_argument("--refused", action="store_true",
                        help="a last phase with an endpoint that refuses connections instead of hanging")
    parser.add_argument("--drain", type=float, default=2 * TARGET_SECONDS,
                        help="seconds after the last report a live message may still arrive (default 60)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds before a report counts as unanswered")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="logbook_notify")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for a look afterwards")
    args = parser.parse_args(argv)
    if not args.database.endswith("notify"):
        raise SystemExit("The database's name must end in 'notify': each run drops and makes it anew.")
    if args.reports < 1 or args.seconds <= 0 or args.concurrency < 1:
        raise SystemExit("--reports and --concurrency must be 1 or more, --seconds above 0.")

    mail, receiver, hanging = MailServer(), Receiver(), Hanging()
    refusing = Refusing() if args.refused else None
    endpoints = [e for e in (mail, receiver, hanging, refusing) if e]
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    extra = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(mail.port), "WEBHOOK_ALLOW_LOOPBACK": "true"}
    try:
        for endpoint in endpoints:
            endpoint.start()
        with NotifyProduction(server=server, database=args.database, keep_database=args.keep_database,
                              extra_settings=extra) as prod:
            return run(prod, args, mail, receiver, hanging, refusing)
    except RecipeError as e:
        print(f"The production recipe did not start:\n{e}", file=sys.stderr)
        return 2
    finally:
        for endpoint in endpoints:
            try:
                endpoint.stop()
            except Exception as e:  # said, and the rest still stopped
                print(f"Stopping {type(endpoint).__name__}: {e}", file=sys.stderr)


def run(prod, args, mail, receiver, hanging, refusing) -> int:
    from tests.bench.load import DeskUser, _cpu_seconds

    for difference in prod.recipe.differences:
        print(f"WARNING: {difference}")
    began = time.monotonic()
    print(f"Database {prod.database}: migrate and collectstatic as the README says ...", flush=True)
    prod.setup()
    # seed_demo refuses with DEBUG off (it makes users with known passwords); the database is the run's own.
    prod.manage("seed_demo", "--issues", "50", "--seed", str(args.seed), DEBUG="true")
    key = prod.manage("api_key", "create", "Line MES", "--role", "operator").stdout.strip().splitlines()[-1]
    prod.start()
    machines = [str(row[0]) for row in prod.query("SELECT id FROM manufacturing_machine ORDER BY name")]

    def planned(name):
        return plan_reports(name, machines, args.reports, args.seconds, args.seed)

    phases = [Phase("baseline", "baseline: nobody to tell", planned("baseline"))]
    if args.control:
        phases.append(Phase("control", "e-mail, live webhook, no dead one", planned("control")))
    phases.append(Phase("hanging", "e-mail, live webhook, hanging webhook", planned("hanging"), dead=hanging))
    if refusing:
        phases.append(Phase("refused", "e-mail, live webhook, refusing webhook", planned("refused"), dead=refusing))
    live = [(LIVE_HOOK, receiver.url)]
    for phase in phases:
        hooks, switch_off = [], []
        if phase.name != "baseline" and not receiver.secret:
            hooks += live
        if phase.name == "hanging":
            hooks.append((DEAD_HOOK, hanging.url))
        elif phase.name == "refused":
            hooks.append((MOVED_HOOK, refusing.url))
            switch_off = [p.dead_subscription for p in phases if p.name == "hanging"]
        if hooks:
            made = _subscribe(prod, hooks, email=MAINTENANCE_EMAIL, switch_off=switch_off)
            receiver.secret = receiver.secret or made[LIVE_HOOK]["secret"]
            phase.dead_subscription = next((made[name]["id"] for name in (DEAD_HOOK, MOVED_HOOK) if name in made),
                                           None)
        _wait_until_quiet(prod)
        phase.load, cpu, started = [os.getloadavg()], _cpu_seconds(prod), time.monotonic()
        _run_phase(prod, phase, key, args, mail, receiver, DeskUser)
        if phase.name != "baseline":
            _drain(phase, mail, receiver, args.drain)
        phase.load.append(os.getloadavg())
        phase.cpu = {name: used - cpu.get(name, 0) for name, used in _cpu_seconds(prod).items()}
        phase.seconds = time.monotonic() - started

    failures = report(prod, args, phases, mail, receiver, time.monotonic() - began)
    return 1 if failures else 0


def _subscribe(prod, hooks, *, email="", switch_off=()):
    """In the run's database, as a person would on their notifications page: the maintenance person's
    e-mail address, and webhook subscriptions for machine down of a shift lead (whose own subscriptions
    replace his role's default e-mail). Returns {name: {"id", "secret"}}."""
    code = f"""
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from floor import channels, roles
from floor.models import Channel, Notice, Subscription
User = get_user_model()
if {email!r}:
    User.objects.filter(username="maintenance").update(email={email!r})
lead, _ = User.objects.get_or_create(username="shiftlead", defaults={{"first_name": "Sam", "last_name": "Shift"}})
lead.groups.add(Group.objects.get(name=roles.MAINTENANCE))
Subscription.objects.filter(pk__in={list(switch_off)!r}).update(active=False)
made = {{}}
for name, url in {hooks!r}:
    channels.check_destination(url)  # what the subscription form checks
    s = Subscription.objects.create(user=lead, name=name, channel=Channel.WEBHOOK, notices=[Notice.MACHINE_DOWN],
                                    url=url)
    made[name] = {{"id": s.pk, "secret": s.secret}}
print(json.dumps(made))
"""
    return json.loads(prod.manage("shell", "-c", code).stdout.strip().splitlines()[-1])


def _wait_until_quiet(prod, limit=60):
    """Before a phase: the AI tasks of the one before done and every event worked out, so that each phase
    starts from the same calm."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = prod.query("SELECT (SELECT count(*) FROM django_tasks_database_dbtaskresult "
                          "WHERE queue_name = 'default' AND status IN ('READY', 'RUNNING')) "
                          "+ (SELECT count(*) FROM issues_issueevent WHERE notify_pending)")[0][0]
        if not busy:
            return
        time.sleep(0.5)


def _run_phase(prod, phase, key, args, mail, receiver, desk_class):
    print(f"Phase {phase.name}: {len(phase.reports)} machine-down reports in {args.seconds:g} s "
          f"({phase.title}) ...", flush=True)
    phase.mail_from, phase.hooks_from = len(mail.arrivals), len(receiver.arrivals)
    phase.desk = desk_class(prod.url, args.timeout, 2.0, random.Random(args.seed))
    error = phase.desk.sign_in()
    if error:
        raise RecipeError(f"The desk user could not sign in: {error}")
    phase.started_wall = time.time() + 0.5
    desk = threading.Thread(target=phase.desk.loop, args=(time.monotonic() + 0.5 + args.seconds,), daemon=True,
                            name="desk")
    desk.start()
    phase.started = send_reports(prod.url, key, phase.reports, concurrency=args.concurrency, timeout=args.timeout)
    desk.join(timeout=args.timeout + 5)


def _drain(phase, mail, receiver, drain):
    """Wait until every report's e-mail and webhook have arrived, or `drain` seconds after the last answer."""
    answered = [r for r in phase.reports if r.issue_id]
    codes = {r.code for r in answered}
    issues = {str(r.issue_id) for r in answered}
    deadline = max((r.answered for r in phase.reports), default=time.monotonic()) + drain
    while time.monotonic() < deadline:
        mails = {a.report for a in mail.arrivals[phase.mail_from:]} & codes
        hooks = {a.report for a in receiver.arrivals[phase.hooks_from:]} & issues
        if len(mails) == len(codes) and len(hooks) == len(issues):
            time.sleep(3)  # a doubled message would come now, not later
            return
        time.sleep(0.25)


# --- what is printed ----------------------------------------------------------------------------------------------
def report(prod, args, phases, mail, receiver, elapsed) -> list[str]:
    failures = []
    print()
    print("Configuration")
    print(f"  commit      {_git_revision()}")
    for step in prod.recipe.setup:
        print(f"  setup       {step.text}   ({step.line.path.name} line {step.line.number})")
    for name, step in prod.recipe.services.items():
        changed = "; only the port changed" if name == "web" else ""
        print(f"  {name:<11} {' '.join(prod.command(name))}   ({step.line.path.name} line {step.line.number}{changed})")
    print("  env file    " + " ".join(f"{k}={v}" for k, v in prod.extra_settings.items())
          + " added to the recipe run's own (DEBUG=false, DATABASE_URL, ...)")
    print("  lane        the worker's defaults: NOTIFY_WORKER_THREADS=4 sender threads and a planner every 0.5 s, "
          "NOTIFY_WEBHOOK_TIMEOUT=10 s, EMAIL_TIMEOUT=10 s")
    print(f"  reports     {args.reports} a phase in {args.seconds:g} s (Poisson arrivals, the same times in each "
          f"phase, at most {args.concurrency} under way), POST /api/issues/ with an operator's API key, each on its "
          "own machine and alarm code (nothing folds); one maintenance person at the desk throughout")
    print(f"  channels    e-mail to {MAINTENANCE_EMAIL} (the maintenance role's default) through aiosmtpd on "
          f"127.0.0.1:{mail.port}; a signed webhook to {receiver.url} (verified with its secret); a webhook to "
          "a dead endpoint (as each phase says)")
    print(f"  machine     {os.cpu_count()} cores, load average {'/'.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"at the end; {elapsed:.0f} s in all")

    print()
    print(f"{'Reports and the desk, ms':<58} {'count':>5} {'errors':>6} {'p50':>7} {'p95':>7} {'max':>7}")
    for phase in phases:
        times = [r.ms for r in phase.reports if not r.error]
        errors = [r for r in phase.reports if r.error]
        print(f"  {'POST /api/issues/, ' + phase.title:<56} {len(phase.reports):5} {len(errors):6} "
              f"{_figures(times, '7.0f')}   load {_loads(phase.load)}")
        for reason, count in Counter(r.error for r in errors).most_common(3):
            print(f"      error: {reason} x{count}")
        if errors:
            failures.append(f"{len(errors)} report(s) of the {phase.name} phase failed")
    for phase in phases:
        for endpoint in ("GET  /desk/", "GET  /issues/<n>/"):
            samples = [s for s in phase.desk.samples if s.endpoint == endpoint]
            good = [s.ms for s in samples if not s.error]
            print(f"  {endpoint.replace('  ', ' ') + ', ' + phase.title:<56} {len(samples):5} "
                  f"{len(samples) - len(good):6} {_figures(good, '7.0f')}")
    for phase in phases:
        print(f"  CPU seconds, {phase.title} ({phase.seconds:.0f} s with its drain): "
              + ", ".join(f"{name} {used:.1f}" for name, used in phase.cpu.items()))
    baseline, *others = phases
    base95 = percentile([r.ms for r in baseline.reports if not r.error] or [0], 0.95)
    for phase in others:
        p95 = percentile([r.ms for r in phase.reports if not r.error] or [0], 0.95)
        print(f"  report p95 with notifications ({phase.name}) / without: {p95:.0f} / {base95:.0f} ms")

    mails, hooks = _by_report(mail.arrivals), _by_report(receiver.arrivals)
    for phase in others:
        failures += _live(prod, phase, mails, hooks, receiver, args.drain)
        if phase.dead:
            failures += _dead(prod, phase)
    known = {r.code for p in phases for r in p.reports} | {str(r.issue_id) for p in phases for r in p.reports}
    strays = [a for a in [*mail.arrivals, *receiver.arrivals] if a.report not in known]
    if strays:
        print(f"Messages that belong to no report: {len(strays)} (e.g. {strays[0]})")
    if receiver.rejected:
        failures.append(f"{len(receiver.rejected)} webhook(s) whose signature did not verify, e.g. "
                        f"{receiver.rejected[0]}")

    print()
    print("Nothing was tuned on this run: the figures are of this machine "
          f"({os.cpu_count()} cores, everything on loopback) with the worker's defaults (4 sender threads).")
    print("Check")
    for failure in failures:
        print(f"  FAILED: {failure}")
    print("  OK: every live message arrived once, every delivery to the dead endpoint is kept"
          if not failures else f"  {len(failures)} check(s) FAILED")
    return failures


def _loads(pair):
    return " -> ".join("/".join(f"{v:.1f}" for v in load) for load in pair or [])


def _figures(values, spec):
    if not values:
        return f"{'-':>7} {'-':>7} {'-':>7}"
    return " ".join(format(v, spec) for v in (percentile(values, 0.5), percentile(values, 0.95), max(values)))


def _by_report(arrivals):
    found = defaultdict(list)
    for arrival in arrivals:
        found[arrival.report].append(arrival)
    return found


def _live(prod, phase, mails, hooks, receiver, drain) -> list[str]:
    """The live channels of one phase: what was made, what arrived, once or not, and how soon."""
    answered = [r for r in phase.reports if r.issue_id]
    ids = [r.issue_id for r in answered]
    made = dict(prod.query(
        "SELECT CASE WHEN channel = 'email' THEN 'email' ELSE subscription_id::text END, count(*) "
        "FROM issues_delivery WHERE notice = 'machine_down' AND issue_id = ANY(%s) GROUP BY 1", [ids]))
    live_hook = str(_subscription_id(prod, receiver.url))
    rows = [("e-mail to maintenance (SMTP, by Message-ID)", "email", mails, lambda r: r.code),
            ("signed webhook (verified, by webhook-id)", live_hook, hooks, lambda r: str(r.issue_id))]
    failures = []
    print()
    print(f"Phase {phase.name} ({phase.title}; load average {_loads(phase.load)}): "
          "from the report's answer to the message's arrival, seconds")
    print(f"  {'channel':<46} {'made':>5} {'came':>5} {'twice':>5} {'p50':>6} {'p95':>6} {'max':>6} "
          f"{'>' + str(TARGET_SECONDS) + ' s':>6}")
    delays = {}
    for label, key, found, name_of in rows:
        mine = [(r, found.get(name_of(r), [])) for r in answered]
        came = [(r, a) for r, a in mine if a]
        doubled = [r for r, a in mine if len(a) > 1]
        message_ids = Counter(x.message_id for _, a in mine for x in a)
        repeated_ids = [m for m, n in message_ids.items() if n > 1]
        seconds = [min(x.at for x in a) - r.answered for r, a in came]
        delays[label] = {r.index: s for (r, _), s in zip(came, seconds)}
        late = sum(s > TARGET_SECONDS for s in seconds)
        print(f"  {label:<46} {made.get(key, 0):5} {len(came):5} {len(doubled):5} {_figures(seconds, '6.2f')} "
              f"{late:6}")
        if len(came) < len(answered):
            failures.append(f"{phase.name}: {len(answered) - len(came)} of {len(answered)} reports' {label} never "
                            f"arrived (waited until {drain:g} s after the last report)")
        if doubled or repeated_ids:
            failures.append(f"{phase.name}: {label} came more than once for {len(doubled)} report(s), "
                            f"{len(repeated_ids)} message id(s) seen twice")
        if made.get(key, 0) != len(answered):
            failures.append(f"{phase.name}: {made.get(key, 0)} deliveries made for {label}, {len(answered)} reports")

    width = 10
    print(f"  over the run: reports by when they were sent, arrival seconds p50/max per {width} s "
          "(e-mail | webhook)")
    buckets = defaultdict(list)
    for report in answered:
        buckets[int(report.due // width)].append(report.index)
    e_mail, webhook = (delays[label] for label, *_ in rows)
    for bucket in sorted(buckets):
        indexes = buckets[bucket]
        cells = []
        for series in (e_mail, webhook):
            values = [series[i] for i in indexes if i in series]
            cells.append(f"{percentile(values, 0.5):5.2f}/{max(values):5.2f}" if values else f"{'-':>11}")
        print(f"    {bucket * width:3d}-{bucket * width + width:3d} s  {len(indexes):3} reports   "
              f"{cells[0]} | {cells[1]}")

    # The lane's two steps on the worker's clock: the planner making the delivery after the report was
    # stored, and a sender thread having it accepted after that.
    stages = prod.query(
        "SELECT d.channel, extract(epoch FROM d.created_at - i.created_at), "
        "extract(epoch FROM d.sent_at - d.created_at) FROM issues_delivery d JOIN issues_issue i ON i.id = d.issue_id "
        "WHERE d.notice = 'machine_down' AND d.issue_id = ANY(%s) AND d.state = 'sent'", [ids])
    planned = [float(row[1]) for row in stages]
    sent = defaultdict(list)
    for channel, _, seconds in stages:
        sent["e-mail" if channel == "email" else "webhook"].append(float(seconds))
    print("  the lane, on the worker's clock: report stored -> delivery made "
          f"p50 {percentile(planned or [0], 0.5):.2f} / p95 {percentile(planned or [0], 0.95):.2f} / "
          f"max {max(planned or [0]):.2f} s; made -> accepted "
          + ", ".join(f"{name} p50 {percentile(v, 0.5):.2f} / p95 {percentile(v, 0.95):.2f} / max {max(v):.2f} s"
                      for name, v in sorted(sent.items())))
    return failures


def _subscription_id(prod, url):
    rows = prod.query("SELECT id FROM issues_subscription WHERE url = %s", [url])
    return rows[0][0] if rows else None


def _dead(prod, phase) -> list[str]:
    """What the dead endpoint of one phase cost, and whether its messages are kept."""
    import hashlib

    ids = [r.issue_id for r in phase.reports if r.issue_id]
    states = dict(prod.query("SELECT state, count(*) FROM issues_delivery WHERE subscription_id = %s "
                             "AND issue_id = ANY(%s) GROUP BY state", [phase.dead_subscription, ids]))
    made = sum(states.values())
    tries = prod.query(
        "SELECT extract(epoch FROM a.started_at), a.duration_ms, a.error FROM issues_deliveryattempt a "
        "JOIN issues_delivery d ON d.id = a.delivery_id WHERE d.subscription_id = %s ORDER BY a.started_at",
        [phase.dead_subscription])
    # Tasks run for this phase's deliveries, the dead endpoint's and the live ones': a message waiting for a
    # failing destination has its task queued again for when the wait ends.
    tasks = dict(prod.query(
        "SELECT coalesce(d.subscription_id = %s, false), count(*) FROM django_tasks_database_dbtaskresult r "
        "JOIN issues_delivery d ON d.id = (r.args_kwargs->'args'->>0)::int "
        "WHERE r.queue_name = 'notifications' AND r.status <> 'READY' AND d.issue_id = ANY(%s) "
        "GROUP BY 1", [phase.dead_subscription, ids]))
    url = prod.query("SELECT url FROM issues_subscription WHERE id = %s", [phase.dead_subscription])[0][0]
    health = prod.query("SELECT failures, extract(epoch FROM failing_since), extract(epoch FROM retry_at), last_error "
                        "FROM issues_channelhealth WHERE key = %s",
                        ["url:" + hashlib.sha256(url.encode()).hexdigest()[:24]])
    print(f"  the dead endpoint ({phase.dead.kind}): {made} deliveries made, now "
          + ", ".join(f"{state} {count}" for state, count in sorted(states.items())))
    waited = sum(row[1] for row in tries) / 1000
    print(f"    {len(tries)} tries in all (not one per message), {waited:.1f} s spent waiting on them"
          + (f", {phase.dead.connections} connections it saw" if isinstance(phase.dead, Hanging) else "")
          + f"; {tasks.get(True, 0)} tasks run for its {made} deliveries (a waiting message's task is queued "
          f"again), {tasks.get(False, 0)} for the live ones' {2 * len(ids)}")
    if tries:
        print("    tries started at (s after the phase began): "
              + " ".join(f"{float(row[0]) - phase.started_wall:+.1f}" for row in tries[:24])
              + (" ..." if len(tries) > 24 else ""))
        print(f"    its error: {tries[-1][2][:150]}")
    if health:
        failures_seen, since, retry_at, _ = health[0]
        when = (f", failing since {float(since) - phase.started_wall:+.1f} s, next probe at "
                f"{float(retry_at) - phase.started_wall:+.1f} s" if since and retry_at else "")
        print(f"    channel health: {failures_seen} failures{when}")
    failures = []
    if made != len(ids):
        failures.append(f"{phase.name}: {made} deliveries to the dead endpoint for {len(ids)} reports")
    lost = made - states.get("pending", 0) - states.get("sending", 0)
    if lost:
        failures.append(f"{phase.name}: {lost} deliveries to the dead endpoint are no longer waiting to be sent")
    return failures


def _git_revision():
    try:
        revision = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        revision = ""
    return revision or "unknown"


if __name__ == "__main__":
    sys.exit(main())
