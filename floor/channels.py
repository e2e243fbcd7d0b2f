"""
Sending one message (a floor.models.Delivery) through its channel, and nothing else: e-mail through
Django's mail (SMTP settings under Django's own names), webhooks over HTTP, every body signed the
Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature). The one place that talks to
the SMTP server and to webhook endpoints; floor/notify.py decides who hears what and when to try again.

What a message says is made from the delivery's payload, the facts frozen when it was made
(floor/notify.py, `facts`), so a retry or a redelivery says the same.
"""

import functools
import ipaddress
import json
import smtplib
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx2
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from standardwebhooks.webhooks import Webhook

from floor.models import Channel, Notice

# What is kept of an endpoint's answer in the delivery log.
EXCERPT = 500
USER_AGENT = "MachineLogbook-Webhooks/1"


def mail_enabled():
    """E-mail is on once EMAIL_HOST is set; without it nothing is sent by mail (and the pages say so)."""
    return settings.MAIL_ENABLED


@dataclass(frozen=True)
class Outcome:
    """How one try went."""

    ok: bool
    duration_ms: int = 0
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    # Trying again cannot help (the address refused for good, the endpoint gone, the URL not allowed).
    permanent: bool = False
    # What the endpoint asked for (Retry-After), in seconds.
    retry_after: float | None = None
    # The destination itself works: it answered, and refused this one message (a mail server refusing
    # one address). Others to it are not held back.
    answered: bool = False


# --- where webhooks may go -------------------------------------------------------------------------
class Refused(ValueError):
    """A webhook URL this server will not post to."""


# Cloud metadata services answer on these; link-local ranges cover most of them.
METADATA_ADDRESSES = {ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")}


def _refused_address(address):
    """Why `address` is no place for a webhook, or ""."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "not an address one can post to"
    if address.is_loopback and not settings.WEBHOOK_ALLOW_LOOPBACK:
        return "this server itself (loopback; WEBHOOK_ALLOW_LOOPBACK is off)"
    return ""


def _origin(url):
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _is_loopback_literal(host):
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_destination(url):
    """Refuse a webhook URL that points at this app itself, at a metadata or link-local address, or
    (unless WEBHOOK_ALLOW_LOOPBACK) at this machine. Checked when a subscription is saved and again on
    every send, on the addresses the name resolves to then. A name that cannot be resolved passes here
    (the send then fails and is tried again)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("A webhook URL starts with http:// or https:// and names a host.")
    host, port = _origin(url)
    site_host, site_port = _origin(settings.SITE_URL)
    own_names = {h.lower() for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")}
    if (host, port) == (site_host, site_port) or (host in own_names and host not in ("localhost", "127.0.0.1",
                                                                                        "[::1]", "::1")):
        raise Refused("A webhook cannot point at Machine Logbook itself.")
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    addresses = [literal] if literal else []
    if literal is None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            infos = []
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    site_on_loopback = site_host == "localhost" or _is_loopback_literal(site_host)
    for address in addresses:
        why = _refused_address(address)
        if why:
            raise Refused(f"This URL leads to {address}, {why}: webhooks may not go there.")
        # The app on this machine under another of its names (localhost against 127.0.0.1). SITE_URL's
        # own name is not looked up: other hosts behind the same proxy share its addresses.
        if port == site_port and (str(address) == site_host or (site_on_loopback and address.is_loopback)):
            raise Refused("A webhook cannot point at Machine Logbook itself.")


# --- what a message says -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    subject: str
    lines: list  # [(label, value)]
    text: str  # the message's own words, under the facts
    link: str
    link_label: str
    urgent: bool


def _when(value):
    moment = parse_datetime(value) if isinstance(value, str) else value
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def compose(payload):
    """The message the facts of a delivery make, the same for every channel."""
    notice = payload.get("notice")
    issue = payload.get("issue") or {}
    machine = (payload.get("machine") or {}).get("name") or "a machine"
    department = (payload.get("department") or {}).get("name")
    where = f"{machine} ({department})" if department else machine
    codes = ", ".join(issue.get("codes") or [])
    number = issue.get("number", "")
    title = issue.get("title", "")
    event = payload.get("event") or {}
    folded = payload.get("folded") or 0

    lines = []
    if issue:
        lines.append(("Machine", where))
        if codes:
            lines.append(("Alarm", codes))
        lines.append(("Issue", f"{number} {title}".strip()))
        if issue.get("machine_stopped_at") and not issue.get("is_runnable", True):
            lines.append(("Machine stopped", f"since {_when(issue['machine_stopped_at'])}"))
        reporter = issue.get("reporter")
        lines.append(("Reported", f"{_when(issue.get('reported_at'))}" + (f" by {reporter}" if reporter else "")))
        if issue.get("assignee"):
            lines.append(("Assigned to", issue["assignee"]))
    text = ""
    urgent = notice in (Notice.MACHINE_DOWN, Notice.ESCALATED)
    match notice:
        case Notice.MACHINE_DOWN:
            subject = f"Machine down: {machine}" + (f", {codes}" if codes else f", {title}")
            text = issue.get("description", "")
        case Notice.NEW_ISSUE:
            subject = f"New issue on {machine}: {title}"
            text = issue.get("description", "")
        case Notice.ASSIGNED:
            subject = f"Assigned to you: {number} on {machine}"
            text = issue.get("description", "")
        case Notice.REMEDY:
            subject = f"Remedy recorded on {number} ({machine})"
            text = event.get("text", "")
        case Notice.RESOLVED:
            subject = f"Resolved: {number} on {machine}"
        case Notice.AI_FAILED:
            subject = f"AI text failed on {number} ({machine})"
            text = event.get("text", "")
        case Notice.ESCALATED:
            escalation = payload.get("escalation") or {}
            subject = f"Nobody has answered: {machine} down for {escalation.get('minutes', '?')} min"
            text = (f"The machine stopped at {_when(issue.get('machine_stopped_at'))} and the issue is still "
                    f"open with nobody assigned.")
        case Notice.DAILY_SUMMARY:
            summary = payload.get("summary") or {}
            reported = summary.get("reported", 0)
            subject = (f"Machine Logbook, {summary.get('day', '')}: {reported} "
                       f"issue{'' if reported == 1 else 's'} reported")
            lines = [(label, value) for label, value in summary.get("lines", [])]
            text = summary.get("text", "")
        case _:
            subject = payload.get("subject") or "Machine Logbook"
            text = payload.get("text", "")
    if folded:
        text = (text + "\n\n" if text else "") + f"It happened {folded} more time{'s' if folded != 1 else ''} since."
    link = payload.get("url") or settings.SITE_URL + "/"
    link_label = f"Open issue {number}" if issue else "Open Machine Logbook"
    return Message(subject=subject[:200], lines=lines, text=text, link=link, link_label=link_label, urgent=urgent)


def _webhook_body(delivery, message):
    """(body bytes, content type, extra headers) for the delivery's channel."""
    payload = delivery.payload
    facts = "\n".join(f"{label}: {value}" for label, value in message.lines)
    if delivery.channel == Channel.TEAMS:
        # A Teams workflow ("When a Teams webhook request is received", then "Post card in a chat or
        # channel") takes an Adaptive Card in a message envelope.
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": message.subject, "weight": "Bolder", "size": "Medium", "wrap": True,
                 **({"color": "Attention"} if message.urgent else {})},
                {"type": "FactSet", "facts": [{"title": label, "value": str(value)} for label, value in message.lines]},
                *([{"type": "TextBlock", "text": message.text, "wrap": True}] if message.text else []),
            ],
            "actions": [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.link}],
        }
        body = {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
        return json.dumps(body).encode(), "application/json", {}
    if delivery.channel == Channel.SLACK:
        # Slack's incoming webhooks and the chat servers that copy them (Mattermost, Rocket.Chat) all read
        # `text`; Slack shows the blocks instead.
        plain = "\n".join(filter(None, [f"*{message.subject}*", facts, message.text, message.link]))
        body = {
            "text": plain,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{message.subject}*\n{facts}"}},
                *([{"type": "section", "text": {"type": "plain_text", "text": message.text[:2900]}}]
                  if message.text else []),
                {"type": "actions", "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": message.link_label},
                     "url": message.link}]},
            ],
        }
        return json.dumps(body).encode(), "application/json", {}
    if delivery.channel == Channel.NTFY:
        # ntfy publishes a plain-text body to the topic's URL; title, priority and link go in headers.
        text = "\n".join(filter(None, [facts, message.text])) or message.subject
        headers = {
            "Title": _header_text(message.subject),
            "Priority": "urgent" if message.urgent else "default",
            "Tags": "rotating_light" if message.urgent else "wrench",
            "Click": message.link,
        }
        return text.encode(), "text/plain; charset=utf-8", headers
    # The plain signed webhook: the Standard Webhooks shape, {type, timestamp, data}.
    body = {
        "type": f"issue.{payload.get('notice')}" if payload.get("issue") else str(payload.get("notice")),
        "timestamp": payload.get("at") or timezone.now().isoformat(),
        "data": {**payload, "subject": message.subject, "text": message.text},
    }
    return json.dumps(body, default=str).encode(), "application/json", {}


def _header_text(value):
    """HTTP headers carry Latin-1 at most: other letters become '?' rather than failing the send."""
    return value.encode("latin-1", "replace").decode("latin-1")


# --- sending -------------------------------------------------------------------------------------------
def send(delivery):
    """Try to send `delivery` once; never raises for what the other side does."""
    message = compose({**delivery.payload, "folded": delivery.folded_count})
    started = time.monotonic()
    if delivery.channel == Channel.EMAIL:
        outcome = _send_mail(delivery, message)
    else:
        outcome = _send_webhook(delivery, message)
    return Outcome(**{**outcome.__dict__, "duration_ms": round((time.monotonic() - started) * 1000)})


def _send_mail(delivery, message):
    if not mail_enabled():
        return Outcome(ok=False, error="E-mail is off on this server: EMAIL_HOST is not set.")
    context = {"message": message, "settings_url": settings.SITE_URL + "/notifications/"}
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=render_to_string("notify/email.txt", context),
        to=[delivery.target],
        headers={
            "Message-ID": f"<{delivery.message_id}@{domain}>",
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            **({"Importance": "high", "X-Priority": "1"} if message.urgent else {}),
        },
    )
    email.attach_alternative(render_to_string("notify/email.html", context), "text/html")
    try:
        # The default mailer (settings.MAILERS) holds the server, its login and MAIL_TIMEOUT.
        with mailers.default as connection:
            connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        words = "; ".join(f"{address}: {code} {reply.decode(errors='replace')}"
                          for address, (code, reply) in e.recipients.items())
        return Outcome(ok=False, error=f"The mail server refused the address: {words}"[:EXCERPT],
                       permanent=all(500 <= code < 600 for code in codes), answered=True)
    except smtplib.SMTPResponseException as e:
        reply = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return Outcome(ok=False, status_code=e.smtp_code,
                       error=f"The mail server answered {e.smtp_code} {reply}"[:EXCERPT])
    except (smtplib.SMTPException, OSError) as e:
        return Outcome(ok=False, error=_error_words("Could not reach the mail server", e))
    return Outcome(ok=True, excerpt="Accepted by the mail server")


def _send_webhook(delivery, message):
    subscription = delivery.subscription
    if subscription is None:
        return Outcome(ok=False, error="The subscription was removed.", permanent=True)
    try:
        check_destination(delivery.target)
    except Refused as e:
        return Outcome(ok=False, error=str(e), permanent=True)
    body, content_type, extra = _webhook_body(delivery, message)
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, **extra, **sign(subscription, delivery, body)}
    timeout = settings.NOTIFY_WEBHOOK_TIMEOUT
    # httpx's timeouts bound each read, not the answer: an endpoint trickling its body a byte at a time
    # would hold a sender as long as it liked. What is read of the body stops at the deadline (or at
    # what the log keeps); the answer's status is all that counts.
    deadline = time.monotonic() + timeout
    try:
        with httpx2.stream("POST", delivery.target, content=body, headers=headers, follow_redirects=False,
                           timeout=httpx2.Timeout(timeout, connect=min(5.0, timeout)), verify=_tls()) as response:
            content = b""
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) >= 4 * EXCERPT or time.monotonic() > deadline:
                    break
    except httpx2.HTTPError as e:
        return Outcome(ok=False, error=_error_words("No answer from the endpoint", e))
    excerpt = _excerpt(content, response.encoding)
    if 200 <= response.status_code < 300:
        return Outcome(ok=True, status_code=response.status_code, excerpt=excerpt)
    error = f"The endpoint answered {response.status_code} {response.reason_phrase}"
    if 300 <= response.status_code < 400:
        error += f" (a redirect to {response.headers.get('location', '?')}: give the final URL)"
    return Outcome(ok=False, status_code=response.status_code, excerpt=excerpt, error=error[:EXCERPT],
                   # 410 Gone is how Standard Webhooks receivers say "stop sending".
                   permanent=response.status_code == 410, retry_after=_retry_after(response))


@functools.cache
def _tls():
    """The certificates webhooks are checked against, loaded once per process: without `verify`, each
    httpx2 call loads the system store anew, 40 ms of CPU under the worker's one interpreter lock."""
    return httpx2.create_ssl_context()


def sign(subscription, delivery, body):
    """The Standard Webhooks headers of one try: the message's stable id, the time now, and an HMAC
    signature per active secret: two while a rotation overlaps, and one for each subscription to the same
    URL (several people subscribed to one Teams channel make one post, which each one's secret verifies)."""
    from floor.models import Subscription

    message_id = f"msg_{delivery.message_id.hex}"
    now = datetime.now(UTC)
    text = body.decode()
    keys = list(subscription.signing_secrets())
    sharing = Subscription.objects.filter(url=subscription.url, active=True).exclude(pk=subscription.pk)
    for other in sharing.order_by("id"):
        keys += [key for key in other.signing_secrets() if key not in keys]
    signatures = " ".join(Webhook(key).sign(message_id, now, text) for key in keys)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signatures}


def _excerpt(content, encoding):
    try:
        text = content.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        text = content.decode("utf-8", errors="replace")
    return " ".join(text.split())[:EXCERPT]


def _retry_after(response):
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _error_words(prefix, error):
    words = " ".join(str(error).split()) or type(error).__name__
    return f"{prefix}: {words}"[:EXCERPT]
