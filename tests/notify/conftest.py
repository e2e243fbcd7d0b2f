"""
Fixtures for the notification tests, against real peers: an SMTP server (aiosmtpd) that keeps what it
is sent and can refuse, hang or be down; an HTTP receiver that checks every post's Standard Webhooks
signature and can answer what a test tells it; and the steps of the real path (a report through
floor.reporting, the fan-out, the deliveries, the worker).
"""

import asyncio
import email
import io
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from floor import notify
from floor.models import Delivery
from floor.reporting import report_issue

SITE_URL = "https://logbook.plant.test"


def free_port():
    """A port nothing listens on (until someone binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def site_url(settings):
    # Links in messages are built from SITE_URL; a host of its own, so no receiver here is "the app".
    settings.SITE_URL = SITE_URL
    return SITE_URL


# --- SMTP ---------------------------------------------------------------------------------------------
class MailServer:
    """A real SMTP server on 127.0.0.1. `refuse` maps an address to the reply its RCPT gets ("550 …",
    "451 …"); `hang_seconds` makes DATA wait that long (and then refuse), longer than EMAIL_TIMEOUT;
    stop() makes the port refuse connections, start() opens it again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.messages = []  # email.message.EmailMessage, as parsed from what DATA carried
        self.refuse = {}
        self.hang_seconds = 0.0
        self._controller = None

    def start(self):
        # A stopped Controller cannot be started again (its event loop is closed): a new one each time.
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
            return "451 4.4.2 Took too long"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address):
        return [m for m in self.messages if address in m.envelope_to]


@pytest.fixture
def smtp_server(settings):
    """The server, and the settings pointed at it as logbook_site/settings.py makes them from EMAIL_HOST,
    EMAIL_PORT and EMAIL_TIMEOUT (1 s here). Django's test set-up puts the locmem backend in every
    mailer; here the real SMTP one talks to the real server."""
    server = MailServer().start()
    settings.MAIL_ENABLED, settings.MAIL_TIMEOUT = True, 1.0
    settings.MAILERS = {"default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": server.port, "username": "", "password": "", "use_tls": False,
                    "use_ssl": False, "timeout": settings.MAIL_TIMEOUT},
    }}
    yield server
    server.stop()


def mail_off(settings):
    """The settings as logbook_site/settings.py makes them without EMAIL_HOST."""
    settings.MAIL_ENABLED = False
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "localhost", "port": 25, "timeout": settings.MAIL_TIMEOUT}}}


# --- webhooks --------------------------------------------------------------------------------------------
@dataclass
class Answer:
    """How the receiver answers one post: a status (with headers), a hang of `hang` seconds before a 200,
    `garbage` (bytes that are not HTTP, then the connection closed), or a 200 whose body comes one byte
    every `trickle` seconds (each read of the sender's is quick; the whole answer is not). A hang ends
    early when `release` (a threading.Event) is set."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    hang: float = 0.0
    garbage: bool = False
    trickle: float = 0.0
    release: threading.Event | None = None


OK = Answer()


@dataclass
class Received:
    path: str
    headers: dict  # lower-case names
    body: bytes
    verified_with: list  # the receiver's secrets this post's signature verifies with

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def webhook_id(self):
        return self.headers.get("webhook-id")

    @property
    def signatures(self):
        return self.headers.get("webhook-signature", "").split()


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every post and checks its signature with
    standardwebhooks' own verify against `secrets`. `answers[path]` is a list of Answers used one per
    post, the last one repeating; a path with none answers 200."""

    def __init__(self):
        self.requests = []
        self.secrets = []
        self.answers = {}
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # Polled often, so that stopping it at the end of each test takes no half second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def port(self):
        return self._server.server_address[1]

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path, *answers):
        self.answers[path] = list(answers)

    def to(self, path):
        return [r for r in self.requests if r.path == path]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._released.set()  # posts left hanging end with the server
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self, path):
        script = self.answers.get(path) or [OK]
        return script.pop(0) if len(script) > 1 else script[0]

    def _verified_with(self, body, headers):
        found = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
            except WebhookVerificationError:
                continue
            found.append(secret)
        return found

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(path=self.path, headers=headers, body=body,
                                                  verified_with=receiver._verified_with(body, headers)))
                answer = receiver._next_answer(self.path)
                try:
                    if answer.garbage:
                        self.wfile.write(b"\x00\xffthis is no HTTP answer\r\n\r\n")
                        self.close_connection = True
                        return
                    if answer.hang:
                        (answer.release or receiver._released).wait(answer.hang)
                    text = json.dumps({"ok": answer.status < 300}).encode()
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    if answer.trickle:
                        for byte in text:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            if receiver._released.wait(answer.trickle):
                                return
                        return
                    self.wfile.write(text)
                except OSError:
                    self.close_connection = True  # the sender gave up waiting: nobody to answer

        return Handler


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.NOTIFY_WEBHOOK_TIMEOUT = 1.0
    server = Receiver().start()
    yield server
    server.stop()


# --- the real path -------------------------------------------------------------------------------------------
def report_down(machine, *, by, codes=("SP9001",), description="Spindle stopped with an alarm", **kwargs):
    """A machine-down report, made the way the floor form makes it."""
    return report_issue(machine=machine, category="alarm", alarm_codes=list(codes), is_runnable=False, by=by,
                        description=description, **kwargs)


def fan_out(**kwargs):
    """What the worker's planner does every half second: work out the deliveries of pending events."""
    done = notify.fan_out(**kwargs)
    while notify.fan_out(**kwargs):  # one batch at a time, as the worker does
        pass
    return done


def deliver_due(*, now=None):
    """Send every pending delivery that is due at `now` (default: now), the way the sender threads do,
    oldest first, until nothing more is due (a destination that comes back releases what waited).
    Returns the pks tried."""
    tried = []
    for _ in range(10):
        moment = now or timezone.now()
        due = list(Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=moment)
                   .exclude(pk__in=tried).order_by("pk").values_list("pk", flat=True))
        if not due:
            break
        for pk in due:
            notify.deliver(pk, now=moment)
        tried += due
    return tried


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def run_worker():
    """`manage.py db_worker --batch` for both queues, in this process: it plans, sends and exits once
    nothing is due. Needs a transactional test (the queue is read after each commit)."""
    out = io.StringIO()
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "default,notifications",
                 stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def with_addresses(operator, maintenance, manager):
    """The three roles with e-mail addresses of their own."""
    for user in (operator, maintenance, manager):
        user.email = f"{user.username}@plant.test"
        user.save(update_fields=["email"])
    return operator, maintenance, manager
