"""Load test of the app as production runs it (`make bench-load`, or
`python -m tests.bench.load [--seconds N] [--tablets N] [--desk-users N] [--dashboard-users N]`).

Starts the README's production recipe exactly as tests/production runs it (the same lines, read from the
README and checked against docs/deploy/; DEBUG off; gunicorn on a free port; db_worker; a local server
speaking the OpenAI protocol) on a PostgreSQL database of its own (`logbook_load` on BENCH_POSTGRES_URL's
server, by default postgres://postgres@127.0.0.1:5432), made fresh each run, seeded with the demo factory
and dropped afterwards. Then, for a bounded time and on loopback only:

- simulated tablets, one per thread and each with its own session, loop: open a machine page, upload a
  photo of an alarm screen (the synthetic corpus's tablet photos, made before the clock starts), send the
  report with the code read from it, open the confirmation;
- desk users loop over the desk, a search and an issue page; dashboard users over /dashboard/?days=30.

Prints, per endpoint, the count and the 50th/95th/99th-percentile milliseconds of answered requests and
the errors (HTTP status outside 2xx/3xx, timeouts, connection errors, answers without what a browser
needs); the machine's load average and cores at start and end; and a check against the database:
every confirmed report stored once, nothing stored that was not sent, no duplicate submission token,
no photo stored twice for one issue. Exit status 1 when that check fails.

The generator measures, it does not tune: whatever the recipe says (workers, threads) is what runs.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.client
import http.cookiejar
import os
import random
import re
import resource
import secrets
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.bench.database import percentile
from tests.production.recipe import ROOT, Production, RecipeError

SEARCHES = ["spindle", "SV0401", "coolant leak", "servo overload", "door interlock", "encoder cable", "lube"]
DESCRIPTIONS = ["alarm on the screen, machine stopped mid cycle", "came back after reset", "axis will not home",
                "second time this shift", "noise before the alarm", ""]
TOKEN = re.compile(r'name="token"[^>]*value="([0-9a-f-]{36})"|value="([0-9a-f-]{36})"[^>]*name="token"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ISSUE_LINK = re.compile(r'href="/issues/(\d+)/"')
CODE_BUTTON = re.compile(r'data-alarm-code="([^"]+)"')
REPORTED = re.compile(r"/floor/issues/(\d+)/reported/$")
# A preview still being read asks for itself again (hx-get every 2 s, as templates/floor/machine.html says);
# its thumbnail is a media URL.
POLL = re.compile(r'hx-get="(/m/[^"]+/attachments/\d+/\?token=[^"]+)"')
THUMBNAIL = re.compile(r'<img src="(/media/[^"]+)"')
POLL_SECONDS = 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs (default 60)")
    parser.add_argument("--tablets", type=int, default=50)
    parser.add_argument("--desk-users", type=int, default=3)
    parser.add_argument("--dashboard-users", type=int, default=2)
    # An operator at the machine taps the kind of problem, takes the photo, checks the code and sends:
    # about 5 s a step, a report every 20 s or so per tablet, so fifty tablets send more photos than two
    # cores can read (the OCR is saturated). --tablet-think 1 is a stress beyond any shop floor.
    parser.add_argument("--tablet-think", type=float, default=5.0,
                        help="mean seconds an operator takes between two steps (default 5)")
    parser.add_argument("--user-think", type=float, default=2.0,
                        help="mean seconds a desk or dashboard user takes between pages (default 2)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as timed out")
    parser.add_argument("--issues", type=int, default=400, help="demo history seeded before the run")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the photos and the users' choices")
    parser.add_argument("--database", default="logbook_load")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for a look afterwards")
    args = parser.parse_args(argv)
    if not args.database.endswith("load"):
        raise SystemExit("The load database's name must end in 'load': each run drops and makes it anew.")
    if args.seconds <= 0 or args.tablets < 0 or args.desk_users < 0 or args.dashboard_users < 0:
        raise SystemExit("--seconds must be positive and the numbers of users 0 or more.")

    print("Making the photos (before the clock starts) ...", flush=True)
    photos = make_photos(args.seed)
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    try:
        with Production(server=server, database=args.database, keep_database=args.keep_database) as prod:
            return run(prod, photos, args)
    except RecipeError as e:
        print(f"The production recipe did not start:\n{e}", file=sys.stderr)
        return 2


def run(prod: Production, photos, args) -> int:
    for difference in prod.recipe.differences:
        print(f"WARNING: {difference}")
    print(f"Database {prod.database}: migrate and collectstatic as the README says ...", flush=True)
    prod.setup()
    # seed_demo refuses with DEBUG off (it makes users with known passwords); this database is the run's
    # own, so it runs with DEBUG on for this one command.
    prod.manage("seed_demo", "--issues", str(args.issues), "--seed", str(args.seed), DEBUG="true")
    prod.start()
    machines = [str(row[0]) for row in prod.query("SELECT id FROM manufacturing_machine ORDER BY name")]
    seeded_issues = prod.query("SELECT count(*) FROM issues_issue")[0][0]

    rng = random.Random(args.seed)
    tablets = [Tablet(prod.url, args.timeout, i + 1, machines[i % len(machines)], photos, args.tablet_think,
                      random.Random(rng.random())) for i in range(args.tablets)]
    desks = [DeskUser(prod.url, args.timeout, args.user_think, random.Random(rng.random()))
             for _ in range(args.desk_users)]
    dashboards = [DashboardUser(prod.url, args.timeout, args.user_think, random.Random(rng.random()))
                  for _ in range(args.dashboard_users)]
    users = [*tablets, *desks, *dashboards]
    print(f"Signing in {len(users)} users (one session each) ...", flush=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for user, error in zip(users, pool.map(lambda u: u.sign_in(), users)):
            if error:
                print(f"Sign-in of {user.username} failed: {error}", file=sys.stderr)
                return 2

    load_start, cores = os.getloadavg(), os.cpu_count()
    cpu_start = _cpu_seconds(prod)
    stop_at = time.monotonic() + args.seconds
    started = time.monotonic()
    threads = [threading.Thread(target=user.loop, args=(stop_at,), daemon=True, name=user.username)
               for user in users]
    print(f"Running {args.tablets} tablets, {args.desk_users} desk and {args.dashboard_users} dashboard users "
          f"for {args.seconds:.0f} s ...", flush=True)
    for thread in threads:
        thread.start()
    # A request under way at the end is waited for (it is measured, and at most --timeout long); none
    # starts after it.
    join_by = stop_at + args.timeout + 5
    for thread in threads:
        thread.join(timeout=max(0.0, join_by - time.monotonic()))
    elapsed = time.monotonic() - started
    still_running = [t.name for t in threads if t.is_alive()]
    load_end = os.getloadavg()
    cpu_end = _cpu_seconds(prod)

    print_configuration(prod, args, photos, machines, seeded_issues)
    print_table(users, elapsed)
    print()
    print(f"Load average (1/5/15 min) at start {_loads(load_start)}, at end {_loads(load_end)}; "
          f"{cores} cores")
    print("CPU seconds used during the run: "
          + ", ".join(f"{name} {cpu_end.get(name, 0) - cpu_start.get(name, 0):.1f}" for name in cpu_end)
          + f" (over {elapsed:.1f} s)")
    print(_log_summary(prod))
    if still_running:
        print(f"{len(still_running)} users were still waiting for an answer when the results were taken")
    for user in users:
        if user.crashed:
            print(f"The load generator's {user.username} thread stopped early: {user.crashed}")
    print()
    failures = check_database(prod, tablets, seeded_issues)
    return 1 if failures else 0


# --- photos -----------------------------------------------------------------------------------------------


@dataclass
class Photo:
    name: str
    data: bytes


def make_photos(seed):
    """One simulated tablet photo (4032x3024 JPEG) of each controller family's alarm screen, plus the
    plain Fanuc screen the browser tests use; drawn before the clock starts, so the generator itself
    spends its time sending them, not drawing them."""
    from tests import images, ocr_corpus

    photos = [Photo(f"{sample.name}.jpg", sample.data)
              for sample in ocr_corpus.generate(seed, per_family=1, negatives=0, kinds=("photo",))]
    photos.append(Photo("alarm-screen.png", images.alarm_screen()))
    return photos


# --- the simulated people ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand, so that each request is timed on its own."""

    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Answer:
    status: int
    headers: dict
    text: str


@dataclass
class Sample:
    endpoint: str
    ms: float
    error: str = ""  # empty when answered with 2xx/3xx and what a browser needs


class User:
    """One browser: its own cookies and session, one request at a time."""

    username = ""
    password = ""

    def __init__(self, base, timeout, think, rng):
        self.base = base
        self.timeout = timeout
        self.think_mean = think
        self.rng = rng
        self.samples: list[Sample] = []
        self.crashed = ""
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
        self.jar = jar

    def csrf_cookie(self):
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def fetch(self, endpoint, method, path, *, data=None, headers=None, expect=(200,)):
        """One request, timed and recorded under `endpoint`. Returns the Answer, or None when it failed
        (recorded as an error)."""
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        started = time.perf_counter()
        error, answer = "", None
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                answer = Answer(response.status, dict(response.headers), response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            answer = Answer(e.code, dict(e.headers), e.read().decode("utf-8", "replace"))
        except TimeoutError:
            error = "timeout"
        except urllib.error.URLError as e:
            error = "timeout" if isinstance(e.reason, TimeoutError) else f"connection: {e.reason}"
        except (ConnectionError, OSError, http.client.HTTPException) as e:
            error = f"connection: {e!r}"
        ms = (time.perf_counter() - started) * 1000
        if answer is not None and answer.status not in expect:
            error = f"HTTP {answer.status}" if not 200 <= answer.status < 400 else f"HTTP {answer.status} unexpected"
        self.samples.append(Sample(endpoint, ms, error))
        return None if error else answer

    def problem(self, endpoint, reason):
        """An answer that came, but without what a browser needs (no form token, a form with errors)."""
        self.samples[-1] = Sample(endpoint, self.samples[-1].ms, reason)

    def think(self, stop_at):
        time.sleep(max(0.0, min(self.rng.uniform(0, 2 * self.think_mean), stop_at - time.monotonic())))

    def sign_in(self):
        """Signs in as a person does (login page, then the form); returns an error or ''."""
        try:
            page = self.opener.open(self.base + "/login/", timeout=self.timeout).read().decode()
            csrf = CSRF.search(page).group(1)
            form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": self.username,
                                           "password": self.password}).encode()
            self.opener.open(urllib.request.Request(self.base + "/login/", data=form), timeout=self.timeout)
        except urllib.error.HTTPError as e:
            if e.code == 302 and any(c.name == "sessionid" for c in self.jar):
                return ""
            return f"HTTP {e.code}"
        except Exception as e:  # said, and the run stops
            return str(e)
        return "no redirect after signing in (wrong password?)"

    def loop(self, stop_at):
        time.sleep(self.rng.uniform(0, self.think_mean))  # people do not all start in the same second
        try:
            while time.monotonic() < stop_at:
                self.step(stop_at)
        except Exception as e:  # a fault of the generator: said with the results
            self.crashed = repr(e)


@dataclass
class Report:
    """One form's fate, for the database check."""

    token: str
    uploads_answered: int = 0
    uploads_sent: int = 0  # retries included
    sent: bool = False
    outcome: str = ""  # "confirmed", "refused" (answered without an issue), "unanswered" (no answer or 5xx)
    number: int | None = None


class Tablet(User):
    """The tablet beside one machine: the operator's whole report, again and again."""

    username = password = "operator"

    def __init__(self, base, timeout, number, machine, photos, think, rng):
        super().__init__(base, timeout, think, rng)
        self.number = number
        self.sequence = 0
        self.machine = machine
        self.photos = photos
        self.reports: list[Report] = []
        self.previews = Counter()
        self.retries = Counter()

    def step(self, stop_at):
        page = self.fetch("GET  /m/<machine>/", "GET", f"/m/{self.machine}/")
        if page is None:
            return self.think(stop_at)
        token, csrf = TOKEN.search(page.text), CSRF.search(page.text)
        if not token or not csrf:
            self.problem("GET  /m/<machine>/", "page without form token")
            return self.think(stop_at)
        report = Report(token.group(1) or token.group(2))
        self.reports.append(report)
        csrf = csrf.group(1)
        htmx = {"HX-Request": "true", "X-CSRFToken": csrf}
        self.think(stop_at)
        if time.monotonic() >= stop_at:
            return

        photo = self.rng.choice(self.photos)
        body, content_type = multipart({"csrfmiddlewaretoken": csrf, "token": report.token, "alarm_codes": ""},
                                       [("files", photo.name, _mime(photo.name), photo.data)])
        preview = None
        # The page says when a photo did not arrive; the operator then picks the same photo again, once.
        for attempt in range(2):
            report.uploads_sent += 1
            self.retries["upload"] += attempt
            preview = self.fetch("POST /m/<machine>/attachments/", "POST", f"/m/{self.machine}/attachments/",
                                 data=body, headers={**htmx, "Content-Type": content_type})
            if preview is not None or not self._unanswered() or time.monotonic() >= stop_at:
                break
        codes = []
        if preview is not None:
            report.uploads_answered += 1
            thumbnail = THUMBNAIL.search(preview.text)
            if thumbnail:
                self.fetch("GET  /media/<thumbnail>", "GET", thumbnail.group(1))
            text = self._while_being_read(preview.text, stop_at)
            codes = CODE_BUTTON.findall(text)[:1]
            self.previews[_preview_state(text)] += 1
        else:
            self.think(stop_at)
        if time.monotonic() >= stop_at:
            return

        # Each report's text is its own: the same report on one machine within minutes is taken for the
        # same one sent again (floor/reporting.py), and every report here is meant as a new one. A code
        # not offered by the photo in time is left for the photo's reading to fill in after sending.
        self.sequence += 1
        description = f"{self.rng.choice(DESCRIPTIONS)} (tablet {self.number}, report {self.sequence})"
        fields = {"csrfmiddlewaretoken": csrf, "token": report.token, "category": "alarm",
                  "runs": self.rng.choice(["yes", "no"]), "alarm_codes": ", ".join(codes),
                  "description": description, "reporter_name": ""}
        body, content_type = multipart(fields, [])
        report.sent = True
        # "Not sent: no connection ... tap Send report again": the operator does, once, with the same form.
        for attempt in range(2):
            self.retries["send"] += attempt
            sent = self.fetch("POST /m/<machine>/ (send)", "POST", f"/m/{self.machine}/", data=body,
                              headers={**htmx, "Content-Type": content_type})
            if sent is not None or not self._unanswered() or time.monotonic() >= stop_at:
                break
        if sent is None:
            report.outcome = "unanswered" if self._unanswered() else "refused"
            return self.think(stop_at)
        target = sent.headers.get("HX-Redirect", "")
        match = REPORTED.search(target)
        if not match:
            report.outcome = "refused"
            self.problem("POST /m/<machine>/ (send)", "form came back without an issue")
            return self.think(stop_at)
        report.outcome, report.number = "confirmed", int(match.group(1))
        confirmation = self.fetch("GET  /floor/issues/<n>/reported/", "GET", target)
        if confirmation is not None and f"#{report.number}" not in confirmation.text:
            self.problem("GET  /floor/issues/<n>/reported/", "confirmation without the issue number")
        self.think(stop_at)

    def _while_being_read(self, text, stop_at):
        """While the operator gets on with the form (a think time), the browser asks for the preview
        every 2 s as long as it says the photo is being read (an empty 204 means "not yet": the preview
        stays as it was); returns the preview as last seen."""
        ready_at = time.monotonic() + self.rng.uniform(0, 2 * self.think_mean)
        while (poll := POLL.search(text)) and time.monotonic() + POLL_SECONDS < min(ready_at, stop_at):
            time.sleep(POLL_SECONDS)
            answer = self.fetch("GET  /m/<machine>/attachments/<pk>/", "GET",
                                html.unescape(poll.group(1)) + "&alarm_codes=", expect=(204, 286))
            if answer is None:
                break
            if answer.status != 204:
                text = answer.text
        time.sleep(max(0.0, min(ready_at, stop_at) - time.monotonic()))
        return text

    def _unanswered(self):
        """The last request got no answer, or the server failed: it may or may not have been done."""
        error = self.samples[-1].error
        return error == "timeout" or error.startswith(("connection", "HTTP 5"))


def _preview_state(text):
    """What the photo's preview said when the operator sent the report."""
    if CODE_BUTTON.search(text):
        return "offered alarm codes"
    if POLL.search(text):
        return "were still being read"
    for words, state in [("No alarm code found", "found no alarm code"), ("took too long", "took too long to read"),
                         ("busy reading other photos", "were not read: server busy")]:
        if words in text:
            return state
    return "said something else"


class DeskUser(User):
    username = password = "maintenance"

    def __init__(self, *args):
        super().__init__(*args)
        self.issues: list[str] = []

    def step(self, stop_at):
        desk = self.fetch("GET  /desk/", "GET", "/desk/")
        if desk is not None:
            self.issues = ISSUE_LINK.findall(desk.text) or self.issues
        self.think(stop_at)
        if time.monotonic() >= stop_at:
            return
        query = urllib.parse.urlencode({"q": self.rng.choice(SEARCHES)})
        self.fetch("GET  /desk/?q=...", "GET", f"/desk/?{query}")
        self.think(stop_at)
        if self.issues and time.monotonic() < stop_at:
            self.fetch("GET  /issues/<n>/", "GET", f"/issues/{self.rng.choice(self.issues)}/")
            self.think(stop_at)


class DashboardUser(User):
    username = password = "manager"

    def step(self, stop_at):
        self.fetch("GET  /dashboard/?days=30", "GET", "/dashboard/?days=30")
        self.think(stop_at)


def multipart(fields: dict, files: list[tuple]) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it, and its Content-Type."""
    boundary = "----logbookload" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content_type, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _mime(name):
    return "image/png" if name.endswith(".png") else "image/jpeg"


# --- what is printed --------------------------------------------------------------------------------------


def print_configuration(prod, args, photos, machines, seeded_issues):
    print()
    print("Configuration")
    print(f"  commit      {_git_revision()}")
    for step in prod.recipe.setup:
        print(f"  setup       {step.text}   ({step.line.path.name} line {step.line.number})")
    for name, step in prod.recipe.services.items():
        changed = "; only the port changed" if name == "web" else ""
        print(f"  {name:<11} {shlex.join(prod.command(name))}   ({step.line.path.name} line {step.line.number}"
              f"{changed})")
    for name, step in prod.recipe.services.items():
        print(f"  {name + ' env':<11} " + " ".join(f"{k}={v}" for k, v in sorted(step.unit.environment.items())
                                                 if k != "ENV_FILE") + f"  (Environment= of {step.unit.path.name})")
    shown = {k: ("(random)" if k == "SECRET_KEY" else v) for k, v in prod.env_file_values().items()}
    print("  env file    " + " ".join(f"{k}={v}" for k, v in shown.items()))
    print(f"  database    {prod.database} on PostgreSQL: {len(machines)} machines, {seeded_issues} issues seeded")
    print(f"  load        {args.tablets} tablets (think {args.tablet_think:g} s), {args.desk_users} desk and "
          f"{args.dashboard_users} dashboard users (think {args.user_think:g} s), {args.seconds:g} s, "
          f"request timeout {args.timeout:g} s, loopback {prod.url}")
    sizes = sorted(len(p.data) for p in photos)
    print(f"  photos      {len(photos)} ({sizes[0] // 1024}-{sizes[-1] // 1024} KB): "
          + ", ".join(p.name.split(".")[0] for p in photos))


def print_table(users, elapsed):
    samples = defaultdict(list)
    for user in users:
        for sample in user.samples:
            samples[sample.endpoint].append(sample)
    print()
    print(f"Requests over {elapsed:.1f} s (the load's time, then the answers still under way); milliseconds of "
          "the answered ones (2xx/3xx with what a browser needs)")
    header = f"{'endpoint':<34} {'count':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    reasons = Counter()
    order = ["GET  /m/<machine>/", "POST /m/<machine>/attachments/", "GET  /media/<thumbnail>",
             "GET  /m/<machine>/attachments/<pk>/", "POST /m/<machine>/ (send)",
             "GET  /floor/issues/<n>/reported/", "GET  /desk/", "GET  /desk/?q=...", "GET  /issues/<n>/",
             "GET  /dashboard/?days=30"]
    for endpoint in sorted(samples, key=lambda e: order.index(e) if e in order else len(order)):
        rows = samples[endpoint]
        good = [s.ms for s in rows if not s.error]
        errors = [s for s in rows if s.error]
        reasons.update((endpoint, s.error) for s in errors)
        figures = (f"{percentile(good, 0.5):8.0f} {percentile(good, 0.95):8.0f} {percentile(good, 0.99):8.0f} "
                   f"{max(good):8.0f}" if good else f"{'-':>8} {'-':>8} {'-':>8} {'-':>8}")
        print(f"{endpoint:<34} {len(rows):6} {figures} {len(errors):7}")
    tablets = [u for u in users if isinstance(u, Tablet)]
    confirmed = sum(r.outcome == "confirmed" for t in tablets for r in t.reports)
    print(f"Reports confirmed: {confirmed} ({confirmed / elapsed * 60:.1f} a minute)")
    previews = sum((t.previews for t in tablets), Counter())
    if previews:
        print("Photo previews as the operator last saw them: "
              + ", ".join(f"{what}: {count}" for what, count in previews.most_common()))
    retries = sum((t.retries for t in tablets), Counter())
    print(f"Sent again after no answer (once, same form): {retries['upload']} uploads, {retries['send']} reports")
    for (endpoint, reason), count in reasons.most_common(8):
        print(f"  error: {reason} x{count} at {endpoint.strip()}")


def _loads(values):
    return "/".join(f"{v:.2f}" for v in values)


def _git_revision():
    try:
        revision = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        revision = ""
    return revision or "unknown"


def _cpu_seconds(prod) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each service's processes (its process group), and by
    this load generator. Processes that ended (a restarted gunicorn worker) are not counted."""
    ticks = os.sysconf("SC_CLK_TCK")
    groups = {service.process.pid: name for name, service in prod.services.items()}
    used = dict.fromkeys(groups.values(), 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields after the command name: state ppid pgrp ... utime stime cutime cstime (12th to 15th).
        name = groups.get(int(fields[2]))
        if name:
            # Its own time and that of its children that ended (Tesseract runs, restarted workers).
            used[name] += sum(int(value) for value in fields[11:15]) / ticks
    own = resource.getrusage(resource.RUSAGE_SELF)
    used["load generator"] = own.ru_utime + own.ru_stime
    return used


def _log_summary(prod):
    """What gunicorn's log says about timeouts, crashes and errors, with the last traceback in full."""
    log = prod.log("web", lines=None)
    summary = (f"gunicorn log: {log.count('WORKER TIMEOUT')} worker timeouts, {log.count('Traceback')} tracebacks, "
               f"{len(re.findall(r' ERROR ', log))} errors logged, {log.count('Booting worker')} workers booted")
    if "Traceback" in log:
        last = log[log.rindex("Traceback"):].splitlines()[:30]
        summary += "\n  last traceback:\n" + "\n".join("    " + line for line in last)
    return summary


# --- the check ----------------------------------------------------------------------------------------------


def check_database(prod, tablets, seeded_issues) -> list[str]:
    """Compares what the tablets sent with what the database holds; prints the outcome, returns failures."""
    reports = {r.token: r for t in tablets for r in t.reports if r.sent}
    for report in reports.values():
        report.outcome = report.outcome or "unanswered"  # still under way when the results were taken
    outcomes = Counter(r.outcome for r in reports.values())
    rows = prod.query("SELECT submission_token::text, id FROM issues_issue WHERE submission_token IS NOT NULL")
    stored = defaultdict(list)
    for token, number in rows:
        stored[token].append(number)
    new_issues = prod.query("SELECT count(*) FROM issues_issue")[0][0] - seeded_issues
    failures = []

    for token, report in reports.items():
        numbers = stored.get(token, [])
        if report.outcome == "confirmed" and numbers != [report.number]:
            failures.append(f"report {token} was confirmed as #{report.number}, the database holds {numbers}")
        if report.outcome == "refused" and numbers:
            failures.append(f"report {token} was answered without an issue, yet #{numbers} is stored")
    unknown = [token for token in stored if token not in reports]
    if unknown:
        failures.append(f"{len(unknown)} issue(s) stored for forms no tablet sent")
    duplicates = {token: numbers for token, numbers in stored.items() if len(numbers) > 1}
    if duplicates:
        failures.append(f"{len(duplicates)} submission token(s) stored more than once: {duplicates}")
    if new_issues != len(rows):
        failures.append(f"{new_issues} issues appeared during the run, {len(rows)} of them from a sent form")

    photos_stored, twice, missing = 0, [], []
    for number, name in prod.query(
        "SELECT a.issue_id, a.file FROM issues_attachment a JOIN issues_issue i ON i.id = a.issue_id "
        "WHERE i.submission_token IS NOT NULL ORDER BY a.issue_id"
    ):
        photos_stored += 1
        path = prod.media_root / name
        if not path.is_file():
            missing.append(number)
            continue
        twice.append((number, hashlib.sha256(path.read_bytes()).hexdigest()))
    if missing:
        failures.append(f"{len(missing)} photo(s) in the database without their file: issues {missing[:10]}")
    repeated = [key for key, count in Counter(twice).items() if count > 1]
    if repeated:
        failures.append(f"{len(repeated)} photo(s) stored twice for one issue: issues "
                        f"{sorted({number for number, _ in repeated})[:10]}")
    per_issue = Counter(number for number, _ in twice)
    by_number = {r.number: r for r in reports.values() if r.number}
    over = [n for n, count in per_issue.items() if n in by_number and count > by_number[n].uploads_sent]
    if over:
        failures.append(f"{len(over)} issue(s) hold more photos than were uploaded for them: {sorted(over)[:10]}")

    landed = sum(1 for r in reports.values() if r.outcome == "unanswered" and stored.get(r.token))
    print("Check against the database")
    print(f"  reports sent {len(reports)}: confirmed {outcomes['confirmed']}, answered without an issue "
          f"{outcomes['refused']}, unanswered {outcomes['unanswered']} (of which {landed} stored anyway)")
    print(f"  issues stored from the tablets' forms {len(rows)} (expected {outcomes['confirmed'] + landed}); "
          f"new issues in all {new_issues}; photos stored with them {photos_stored}")
    print(f"  duplicate issues by submission token: {len(duplicates)}; photos stored twice for one issue: "
          f"{len(repeated)}")
    # How far reading the photos got by the end (the readers go on after the load stops; "busy" photos
    # waited longer than floor/photos.py's queue limit): whether OCR was the bottleneck, in figures.
    readings = dict(prod.query("SELECT reading, count(*) FROM issues_attachment a JOIN issues_issue i "
                               "ON i.id = a.issue_id WHERE i.submission_token IS NOT NULL GROUP BY reading"))
    coded = prod.query("SELECT count(DISTINCT i.id) FROM issues_issue i JOIN issues_alarmcode c ON c.issue_id = i.id "
                       "WHERE i.submission_token IS NOT NULL")[0][0]
    print("  photos by reading state at the end: " + ", ".join(f"{state or 'not read'} {count}"
                                                              for state, count in sorted(readings.items()))
          + f"; issues with an alarm code {coded} of {len(rows)}")
    for failure in failures:
        print(f"  FAILED: {failure}")
    print("  OK" if not failures else f"  {len(failures)} check(s) FAILED")
    return failures


if __name__ == "__main__":
    sys.exit(main())
