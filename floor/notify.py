"""
Who is told what, and when: notifications.

Every change of an issue is an event on its timeline (IssueEvent), and every event is written with
`notify_pending` set, whichever way it was made (the floor, the desk, the API, the admin, the worker).
The worker's notification lane (floor/management/commands/db_worker.py) looks every second:

- `fan_out()` turns each pending event into its deliveries, one per person and channel (an e-mail
  address, a webhook URL), folding repeats of one alarm on one machine; queues them as `deliver` tasks
  and clears the event, all in one transaction. A report is never slowed by any of it: its request
  only wrote the event.
- `housekeeping()`, every few seconds: escalation of stopped machines nobody answers (`escalate_due`),
  the managers' daily summary (`plan_daily_summaries`), and deliveries whose worker was killed mid-send
  or whose task was lost queued again (`requeue_stalled`).

`deliver(id)` sends one delivery through floor/channels.py and records the try. A failed try is repeated
after RETRY_DELAYS until about a day has passed (GIVE_UP_AFTER); a destination that keeps failing is
tried by one message at a time (ChannelHealth), so a dead or hanging endpoint holds up nothing else.

Idempotent per (event, channel): a delivery's key names both, so looking twice (a restart, a second
worker) never makes a second message; a delivery recorded sent is never sent again, and a try cut off
by a killed worker is repeated with the same message id (webhook-id, Message-ID) for the receiver to
recognise.
"""

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Prefetch, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from floor import channels, formats, roles
from floor.models import (
    Channel,
    ChannelHealth,
    Delivery,
    DeliveryAttempt,
    EscalationRule,
    Issue,
    IssueEvent,
    Notice,
    Status,
    Subscription,
)

log = logging.getLogger(__name__)

# What a person hears with no subscription of their own, by role: maintenance every stopped machine,
# managers the escalations and a summary each morning; by e-mail, everywhere.
DEFAULTS = {
    roles.MAINTENANCE: (Notice.MACHINE_DOWN,),
    roles.MANAGER: (Notice.ESCALATED, Notice.DAILY_SUMMARY),
}

# After a failed try, the next one waits this long (the last repeats) until GIVE_UP_AFTER has passed.
RETRY_DELAYS = [timedelta(seconds=s) for s in (10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)]
GIVE_UP_AFTER = timedelta(hours=24)
# A destination that fails is probed at most this far apart while messages wait for it.
PROBE_EVERY_MAX = timedelta(minutes=5)
# Events worked out per transaction.
FAN_OUT_BATCH = 200
# A worker's sender threads send to one destination one at a time; a thread waits up to this long for
# another's send to it to end. One under way longer may be a hanging endpoint, known only when its
# timeout ends: the message then waits for that answer instead of holding a second thread as long.
SLOW_AFTER = timedelta(seconds=1)


# --- who hears -------------------------------------------------------------------------------------------
@dataclass
class Route:
    """One way one person hears: a subscription of theirs, or their role's default (subscription None)."""

    user: object
    channel: str
    notices: frozenset
    machine_ids: frozenset = frozenset()
    department_ids: frozenset = frozenset()
    subscription: Subscription | None = None
    url: str = ""

    def covers(self, machine_id, department_id):
        if not self.machine_ids and not self.department_ids:
            return True
        return machine_id in self.machine_ids or (department_id is not None and department_id in self.department_ids)

    @property
    def recipient(self):
        """Whom the message is for, as its key says: one e-mail per person, one post per URL."""
        if self.channel == Channel.EMAIL:
            return f"email:{self.user.pk}"
        return f"url:{hashlib.sha256(self.url.encode()).hexdigest()[:24]}"

    @property
    def target(self):
        return self.user.email if self.channel == Channel.EMAIL else self.url


def routes():
    """Every way anyone hears anything now: active people of the desk's roles (and anyone else with a
    subscription), each with their active subscriptions, or their role's default when they have none."""
    people = (
        get_user_model().objects.filter(is_active=True, api_key__isnull=True)
        .filter(Q(groups__name__in=DEFAULTS) | Q(subscriptions__isnull=False)).distinct()
        .prefetch_related(
            "groups",
            Prefetch("subscriptions", queryset=Subscription.objects.order_by("id")
                     .prefetch_related("departments", "machines")),
        )
        .order_by("id")
    )
    found = []
    for person in people:
        own = list(person.subscriptions.all())
        if own:
            found.extend(_route(person, s) for s in own if s.active)
            continue
        notices = {n for group in person.groups.all() for n in DEFAULTS.get(group.name, ())}
        if notices:
            found.append(Route(user=person, channel=Channel.EMAIL, notices=frozenset(notices)))
    return found


def _route(person, subscription):
    return Route(
        user=person, channel=subscription.channel, notices=frozenset(subscription.notices),
        machine_ids=frozenset(m.pk for m in subscription.machines.all()),
        department_ids=frozenset(d.pk for d in subscription.departments.all()),
        subscription=subscription, url=subscription.url,
    )


def default_notices(user):
    """The notices `user`'s roles give them with no subscription of their own."""
    names = set(user.groups.values_list("name", flat=True))
    return [n for role, notices in DEFAULTS.items() if role in names for n in notices]


# --- what an event means ----------------------------------------------------------------------------------
# News older than this is not news: an event the worker sees this late (it was stopped for days) is
# passed over. Reports a tablet kept while offline are not affected: their events are written on arrival.
STALE_AFTER = timedelta(days=1)


def notices_of(event, *, now):
    """What `event` (with its issue as it is now) is news of, the most particular first: a report of a
    stopped machine is "machine down" to those who want that, and "new issue" to those who want only
    that. Nothing once it is no longer true: a machine reported down that runs again by the time the
    worker looks, an issue already finished, an escalation somebody has answered."""
    Kind = IssueEvent.Kind
    issue = event.issue
    # A report's event carries the time Send was pressed; its issue row, the time it arrived.
    written = issue.created_at if event.kind == Kind.CREATED else event.created_at
    if now - written > STALE_AFTER:
        return []
    down_now = issue.is_open and not issue.is_runnable
    match event.kind:
        case Kind.CREATED if issue.is_open:
            stopped = down_now and issue.machine_stopped_at <= event.created_at + timedelta(seconds=1)
            return [Notice.MACHINE_DOWN, Notice.NEW_ISSUE] if stopped else [Notice.NEW_ISSUE]
        case Kind.RUNNABLE_CHANGED if event.to_value == "stopped" and down_now:
            return [Notice.MACHINE_DOWN]
        case Kind.ASSIGNED if event.to_value and issue.is_open:
            return [Notice.ASSIGNED]
        case Kind.REMEDY_ADDED:
            return [Notice.REMEDY]
        case Kind.STATUS_CHANGED if event.to_value == Status.RESOLVED:
            return [Notice.RESOLVED]
        case Kind.AI_FAILED | Kind.REMEDY_AI_FAILED:
            return [Notice.AI_FAILED]
        case Kind.ESCALATED if unanswered(issue):
            return [Notice.ESCALATED]
    return []


def issue_url(issue):
    return settings.SITE_URL + reverse("issue_detail", args=[issue.pk])


def facts(issue, *, notice, event=None, **extra):
    """What a message about `issue` says, frozen now: the delivery's payload."""
    machine = issue.machine
    department = machine.department if machine else None
    payload = {
        "notice": str(notice),
        "at": (event.created_at if event else timezone.now()).isoformat(),
        "url": issue_url(issue),
        "issue": {
            "id": issue.pk,
            "number": issue.number,
            "title": issue.display_title,
            "description": issue.description[:1000],
            "category": issue.get_category_display(),
            "status": issue.get_status_display(),
            "priority": issue.get_priority_display(),
            "codes": [c.code for c in issue.alarm_codes.all()],
            "is_runnable": issue.is_runnable,
            "machine_stopped_at": issue.machine_stopped_at.isoformat() if issue.machine_stopped_at else None,
            "reported_at": issue.reported_at.isoformat(),
            "reporter": issue.reporter_display,
            "assignee": formats.person(issue.assigned_to),
        },
        "machine": {"id": str(machine.pk), "name": machine.name} if machine else None,
        "department": {"id": str(department.pk), "name": department.name} if department else None,
        **extra,
    }
    if event is not None:
        payload["event"] = {"id": event.pk, "kind": event.kind, "summary": event.summary, "text": event.to_value,
                            "actor": formats.person(event.actor)}
    return payload


# --- fan-out ----------------------------------------------------------------------------------------------
def fan_out(*, limit=FAN_OUT_BATCH, now=None):
    """Work out the deliveries of events still pending, oldest first; returns how many events were done.

    Two workers may run this at once: on PostgreSQL each takes events the other has not locked, and the
    deliveries' keys make sure that even the same event twice would send once."""
    now = now or timezone.now()
    with transaction.atomic():
        pending = (IssueEvent.objects.filter(notify_pending=True)
                   .select_related("issue__machine__department", "issue__assigned_to", "issue__reported_by", "actor")
                   .prefetch_related("issue__alarm_codes").order_by("id"))
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        events = list(pending[:limit])
        if not events:
            return 0
        known = None
        made = []
        for event in events:
            notices = notices_of(event, now=now)
            if notices:
                known = known if known is not None else routes()
                made.extend(_plan(event, notices, known, now=now))
        IssueEvent.objects.filter(pk__in=[e.pk for e in events]).update(notify_pending=False)
        _enqueue_after_commit(made)
    return len(events)


def _plan(event, notices, known, *, now):
    """The deliveries of one event for the routes that want it."""
    issue = event.issue
    machine_id = issue.machine_id
    department_id = issue.machine.department_id if issue.machine else None
    chosen = {}
    for route in known:
        notice = next((n for n in notices if n in route.notices), None)
        if notice is None or not route.covers(machine_id, department_id):
            continue
        if notice == Notice.ASSIGNED and issue.assigned_to_id != route.user.pk:
            continue
        if route.channel == Channel.EMAIL:
            if not channels.mail_enabled() or not route.user.email:
                continue
            if event.actor_id == route.user.pk:
                continue  # nobody is mailed about what they did themselves
        chosen.setdefault(route.recipient, (route, notice))
    if not chosen:
        return []
    extra = {}
    if event.kind == IssueEvent.Kind.ESCALATED:
        extra["escalation"] = {"level": int(event.from_value or 1), "minutes": _escalation_minutes(event)}
    codes = [c.code for c in issue.alarm_codes.all()]
    made = []
    for recipient, (route, notice) in chosen.items():
        fold_key = ""
        if notice in (Notice.MACHINE_DOWN, Notice.NEW_ISSUE) and codes and machine_id:
            fold_key = f"{recipient}/{machine_id}/{codes[0]}"
        elif notice == Notice.ESCALATED and machine_id:
            # Two unanswered issues of one stopped machine: one escalation.
            fold_key = f"{recipient}/{machine_id}/escalated/{event.from_value}"
        delivery = _make(
            key=f"event:{event.pk}/{recipient}", route=route, notice=notice, event=event, issue=issue,
            payload=facts(issue, notice=notice, event=event, **extra), fold_key=fold_key, now=now,
        )
        if delivery is not None:
            made.append(delivery)
    return made


def _make(*, key, route, notice, payload, now, event=None, issue=None, fold_key=""):
    """The delivery named `key`, made once; a repeat within NOTIFY_FOLD_MINUTES of one to the same
    recipient about the same alarm on the same machine is folded into it. Returns the new delivery when
    there is something to send, else None."""
    earlier = None
    if fold_key:
        window = now - timedelta(minutes=settings.NOTIFY_FOLD_MINUTES)
        earlier = (Delivery.objects.filter(fold_key=fold_key, created_at__gte=window, folded_into__isnull=True)
                   .exclude(state=Delivery.State.FOLDED).order_by("created_at").first())
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                key=key, notice=notice, channel=route.channel, user=route.user, subscription=route.subscription,
                event=event, issue=issue, target=route.target, payload=payload, fold_key=fold_key,
                created_at=now, next_attempt_at=now, retry_until=now + GIVE_UP_AFTER,
                **({"state": Delivery.State.FOLDED, "folded_into": earlier} if earlier else {}),
            )
    except IntegrityError:
        return None  # made already
    if earlier:
        Delivery.objects.filter(pk=earlier.pk).update(folded_count=F("folded_count") + 1)
        return None
    return delivery


def _enqueue_after_commit(deliveries, *, run_after=None):
    from floor.tasks import deliver_task

    ids = [d.pk for d in deliveries]
    if not ids:
        return

    def enqueue():
        Delivery.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
        # A message that waits (a retry, its turn behind a failing destination) goes after every fresh one
        # that is due: django-tasks-db takes the highest priority first, then the earliest run_after, and a
        # task without one sorts last, so a crowd of waiting messages coming due went before new ones.
        task = deliver_task.using(run_after=run_after, priority=-1) if run_after else deliver_task
        for pk in ids:
            task.enqueue(pk)

    transaction.on_commit(enqueue, robust=True)


# --- sending ----------------------------------------------------------------------------------------------
def deliver(delivery_id, *, now=None):
    """Send delivery `delivery_id` if it is due and nobody else is sending it; returns its state."""
    now = now or timezone.now()
    taken = Delivery.objects.filter(pk=delivery_id, state=Delivery.State.PENDING,
                                    next_attempt_at__lte=now + timedelta(seconds=1)).update(
        state=Delivery.State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    delivery = Delivery.objects.select_related("subscription", "issue", "user").filter(pk=delivery_id).first()
    if not taken or delivery is None:
        return delivery.state if delivery else None
    health = health_key(delivery)
    busy_for = _take_destination(health)
    if busy_for is not None:
        # Another thread's send there is slow: wait for its answer rather than beside it.
        return _wait(delivery, now + timedelta(seconds=max(1.0, _timeout(delivery) + 1 - busy_for)))
    try:
        wait = _take_turn(health, now)
        if wait is not None and wait > delivery.retry_until:
            # Its destination has failed all along: give up as its own tries would have.
            _record(delivery, channels.Outcome(ok=False, error=_still_failing(health), permanent=True),
                    health=None, started=now)
            return delivery.state
        if wait is not None:
            # Its destination is failing and another message is trying it: wait for that one's answer.
            return _wait(delivery, wait)
        outcome = channels.send(delivery)
        # The post may have taken seconds, and the database restarted meanwhile: the outcome is written on a
        # live connection, or the message would stay "sending" and go out a second time.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        _record(delivery, outcome, health=health, started=now)
    finally:
        _release_destination(health)
    return delivery.state


def _wait(delivery, until):
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.PENDING, attempts=F("attempts") - 1,
                                                   next_attempt_at=until, claimed_at=None)
    _enqueue_after_commit([delivery], run_after=until)
    return Delivery.State.PENDING


# The destinations this process's threads are sending to, each with when that send began (monotonic).
_sending = {}
_sending_changed = threading.Condition()


def _take_destination(key):
    """Make `key` this thread's to send to and return None; or, when another thread's send there has been
    under way for SLOW_AFTER, leave it to that one and return how many seconds it has been under way."""
    with _sending_changed:
        while key in _sending:
            under_way = time.monotonic() - _sending[key]
            if under_way >= SLOW_AFTER.total_seconds():
                return under_way
            _sending_changed.wait(SLOW_AFTER.total_seconds() - under_way)
        _sending[key] = time.monotonic()
        return None


def _release_destination(key):
    with _sending_changed:
        _sending.pop(key, None)
        _sending_changed.notify_all()


def _timeout(delivery):
    return settings.MAIL_TIMEOUT if delivery.channel == Channel.EMAIL else settings.NOTIFY_WEBHOOK_TIMEOUT


def health_key(delivery):
    if delivery.channel == Channel.EMAIL:
        return "smtp"
    return "url:" + hashlib.sha256(delivery.target.encode()).hexdigest()[:24]


def _still_failing(key):
    health = ChannelHealth.objects.filter(key=key).first()
    since = (f" since {timezone.localtime(health.failing_since):%Y-%m-%d %H:%M}"
             if health and health.failing_since else "")
    last = f": {health.last_error}" if health and health.last_error else ""
    return f"Not tried: the destination has been failing{since}{last}"[:500]


def _take_turn(key, now):
    """None when a message to destination `key` may be sent now; else when to try again. A failing
    destination is tried by one message at a time, once its retry time has come."""
    health = ChannelHealth.objects.filter(key=key).first()
    if health is None or not health.failures:
        return None
    hold = now + timedelta(seconds=settings.NOTIFY_WEBHOOK_TIMEOUT + settings.MAIL_TIMEOUT + 30)
    if ChannelHealth.objects.filter(pk=health.pk, failures__gt=0, retry_at__lte=now).update(retry_at=hold):
        return None  # this message is the probe
    health.refresh_from_db()
    return health.retry_at if health.failures and health.retry_at and health.retry_at > now else None


def _record(delivery, outcome, *, health, started):
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery, started_at=started, duration_ms=outcome.duration_ms, ok=outcome.ok,
            status_code=outcome.status_code, response_excerpt=outcome.excerpt[:500], error=outcome.error[:500])
        if outcome.ok:
            delivery.state, delivery.sent_at, delivery.last_error = Delivery.State.SENT, now, ""
            Delivery.objects.filter(pk=delivery.pk).update(state=delivery.state, sent_at=now, last_error="")
            if health is not None:
                _healthy(health, now, wake=_slow(outcome))
            _on_timeline(delivery, IssueEvent.Kind.NOTIFIED)
            return
        delay = RETRY_DELAYS[min(delivery.attempts, len(RETRY_DELAYS)) - 1]
        if outcome.retry_after:
            delay = max(delay, timedelta(seconds=min(outcome.retry_after, 3600)))
        retry_at = now + delay
        if health is not None and outcome.answered:
            _healthy(health, now, wake=_slow(outcome))
        elif health is not None:
            _failing(health, now, outcome.error)
        if outcome.permanent or retry_at > delivery.retry_until:
            delivery.state = Delivery.State.FAILED
            Delivery.objects.filter(pk=delivery.pk).update(state=delivery.state, last_error=outcome.error[:500])
            _on_timeline(delivery, IssueEvent.Kind.NOTIFY_FAILED)
            log.warning("Gave up on %s: %s", delivery, outcome.error)
            return
        delivery.state = Delivery.State.PENDING
        Delivery.objects.filter(pk=delivery.pk).update(state=delivery.state, next_attempt_at=retry_at,
                                                       claimed_at=None, last_error=outcome.error[:500])
        _enqueue_after_commit([delivery], run_after=retry_at)


def _slow(outcome):
    # After an answer this slow, messages may be waiting for it (_take_destination): they go now.
    return outcome.duration_ms >= SLOW_AFTER.total_seconds() * 1000


def _healthy(key, now, *, wake=False):
    was_failing = ChannelHealth.objects.filter(key=key, failures__gt=0).update(
        failures=0, failing_since=None, retry_at=None, last_error="")
    if was_failing or wake:
        # The destination is back: what waited for it goes now, not at its own next try.
        waiting = [d for d in Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__gt=now)
                   .only("pk", "channel", "target") if health_key(d) == key]
        Delivery.objects.filter(pk__in=[d.pk for d in waiting]).update(next_attempt_at=now)
        _enqueue_after_commit(waiting)


def _failing(key, now, error):
    """One more failure of destination `key`: the next message tries it after a wait that grows with its
    failures in a row, at most PROBE_EVERY_MAX."""
    health, _ = ChannelHealth.objects.get_or_create(key=key)
    health.failures += 1
    health.failing_since = health.failing_since or now
    health.retry_at = now + min(RETRY_DELAYS[min(health.failures, len(RETRY_DELAYS)) - 1], PROBE_EVERY_MAX)
    health.last_error = error[:500]
    health.save()


TIMELINE_WORDS = {Notice.ESCALATED: "escalation", Notice.ASSIGNED: "assigned to them"}


def _on_timeline(delivery, kind):
    """A message about an issue sent, or given up on, is on the issue's timeline."""
    if delivery.issue_id is None or delivery.notice == Notice.DAILY_SUMMARY:
        return
    who = f"{formats.person(delivery.user)} by e-mail" if delivery.channel == Channel.EMAIL else \
        (delivery.subscription.name if delivery.subscription and delivery.subscription.name
         else delivery.get_channel_display())
    words = f"{who}: {TIMELINE_WORDS.get(delivery.notice, delivery.get_notice_display().lower())}"
    IssueEvent(issue_id=delivery.issue_id, kind=kind, to_value=words[:200], notify_pending=False).save()


# --- escalation ---------------------------------------------------------------------------------------------
def escalation_rules():
    """(first, again) minutes by department id, and the plant's default for the others: how long a
    stopped machine may wait unanswered before the managers are told, and before they are told once
    more; 0 means never."""
    rules = {rule.department_id: (rule.first_after_minutes, rule.again_after_minutes)
             for rule in EscalationRule.objects.all()}
    return rules, (settings.NOTIFY_ESCALATE_MINUTES, settings.NOTIFY_ESCALATE_AGAIN_MINUTES)


def _escalation_minutes(event):
    issue = event.issue
    rules, default = escalation_rules()
    first, again = rules.get(issue.machine.department_id if issue.machine else None, default)
    return first if (event.from_value or "1") == "1" else first + again


def unanswered(issue):
    """Whether nobody has taken up the stopped machine of `issue` yet: still open (not in progress),
    nobody assigned, and the machine still down."""
    return issue.status == Status.OPEN and issue.assigned_to_id is None and not issue.is_runnable


def escalate_due(*, now=None):
    """Escalate every stopped machine nobody has answered in time: an ESCALATED event on its issue's
    timeline (level 1 after the first interval, level 2 after the second), which fan_out delivers to
    the managers. Each level once per stop. Returns how many were escalated."""
    now = now or timezone.now()
    # An issue's machine_stopped_at is its first stop; a machine that ran again and stopped again is timed
    # from its latest stop, the last "machine stopped" on the timeline.
    latest_stop = (IssueEvent.objects.filter(issue=OuterRef("pk"), kind=IssueEvent.Kind.RUNNABLE_CHANGED,
                                             to_value="stopped").order_by("-created_at").values("created_at")[:1])
    rules, default = escalation_rules()
    soonest = min((first for first, _ in [default, *rules.values()] if first), default=0)
    if not soonest:
        return 0
    # The planner runs this between fan-outs, every few seconds: a machine stopped and reported within
    # the shortest wait cannot be due, so a burst of fresh reports costs nothing here (nor one query per
    # open issue for its department's rule).
    due_from = now - timedelta(minutes=soonest)
    candidates = (Issue.objects.filter(status=Status.OPEN, assigned_to__isnull=True, is_runnable=False,
                                       machine_stopped_at__lte=due_from, created_at__lte=due_from)
                  .annotate(latest_stop=Subquery(latest_stop)).select_related("machine"))
    done = 0
    for issue in candidates:
        first, again = rules.get(issue.machine.department_id if issue.machine else None, default)
        if not first:
            continue
        # The clock starts when the app knew: a report kept on a tablet for an hour (its reported_at an
        # hour back) is not late at once; its row was written when it arrived.
        since = max(issue.machine_stopped_at, issue.created_at, issue.latest_stop or issue.created_at)
        levels = [(1, first)] + ([(2, first + again)] if again else [])
        due = [(level, minutes) for level, minutes in levels if now >= since + timedelta(minutes=minutes)]
        if due:
            # The highest level due only: a worker that was away past both intervals sends one message.
            level, minutes = due[-1]
            done += _escalate(issue.pk, level=level, minutes=minutes, since=since, now=now)
    return done


def _escalate(issue_id, *, level, minutes, since, now):
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue_id)
        if not unanswered(issue):
            return 0
        if IssueEvent.objects.filter(issue=issue, kind=IssueEvent.Kind.ESCALATED, created_at__gte=since,
                                     from_value__in=[str(n) for n in range(level, 3)]).exists():
            return 0
        words = f"nobody answered within {minutes} min, managers told" + (" again" if level > 1 else "")
        IssueEvent.objects.create(issue=issue, kind=IssueEvent.Kind.ESCALATED, from_value=str(level),
                                  to_value=words, created_at=now)
    return 1


# --- the daily summary -----------------------------------------------------------------------------------
def plan_daily_summaries(*, now=None):
    """Once the day's summary hour (NOTIFY_SUMMARY_HOUR, local time) has come, make yesterday's summary
    for everyone who hears it, once. Returns how many deliveries were made."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.NOTIFY_SUMMARY_HOUR:
        return 0
    day = local.date() - timedelta(days=1)
    source = f"summary:{day.isoformat()}"
    wanted = {r.recipient: r for r in routes() if Notice.DAILY_SUMMARY in r.notices
              and (r.channel != Channel.EMAIL or (channels.mail_enabled() and r.user.email))}
    have = set(Delivery.objects.filter(key__in=[f"{source}/{k}" for k in wanted]).values_list("key", flat=True))
    missing = {k: r for k, r in wanted.items() if f"{source}/{k}" not in have}
    if not missing:
        return 0
    payload = {"notice": str(Notice.DAILY_SUMMARY), "at": now.isoformat(), "url": settings.SITE_URL + "/dashboard/",
               "summary": summary_of(day, now=now)}
    with transaction.atomic():
        made = [d for k, r in missing.items() if (d := _make(key=f"{source}/{k}", route=r, notice=Notice.DAILY_SUMMARY,
                                                             payload=payload, now=now)) is not None]
        _enqueue_after_commit(made)
    return len(made)


def summary_of(day, *, now):
    """The figures of `day` (the plant's calendar day) and of now, as lines of a message."""
    from dashboard.metrics import Period, local_midnight, now_figures, period_figures

    start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    period = Period(days=1, start=start, end=end, previous_start=local_midnight(day - timedelta(days=1)))
    figures = period_figures(period=period, top_machines=3)
    current = now_figures(now=now, with_down_list=True)
    s = figures.summary
    lines = [
        ("Reported", f"{s.reported} issues (the day before: {s.reported_previous})"),
        ("Resolved", str(s.resolved)),
        ("Downtime", f"{formats.hours(s.downtime_seconds)} in {s.stops} stops"),
        ("MTTR from report", formats.duration(s.mttr_report_seconds)),
        ("Open now", f"{current.open_issues} issues, {current.machines_down} "
                     f"machine{'' if current.machines_down == 1 else 's'} down"),
    ]
    longest = [m for m in figures.by_machine if m["downtime_seconds"]][:3]
    if longest:
        lines.append(("Most downtime", ", ".join(f"{m['name']} {formats.hours(m['downtime_seconds'])}"
                                                  for m in longest)))
    if figures.alarm_codes:
        lines.append(("Top alarms", ", ".join(f"{c['code']} ×{c['issues']}" for c in figures.alarm_codes[:3])))
    down = ", ".join(f"{row['machine__name']} (since {timezone.localtime(row['since']):%H:%M})"
                     for row in current.down[:10] if row["since"])
    return {"day": day.isoformat(), "reported": s.reported, "lines": lines,
            "text": f"Down now: {down}" if down else "No machine is down now."}


# --- keeping it going -------------------------------------------------------------------------------------
def requeue_stalled(*, now=None):
    """Deliveries stuck "sending" past any timeout (their worker was killed mid-send) go back to the
    queue, as do those due for minutes whose task never ran (it was lost). Returns how many."""
    now = now or timezone.now()
    limit = timedelta(seconds=settings.NOTIFY_WEBHOOK_TIMEOUT + settings.MAIL_TIMEOUT + 60)
    stalled = list(Delivery.objects.filter(state=Delivery.State.SENDING, claimed_at__lt=now - limit))
    Delivery.objects.filter(pk__in=[d.pk for d in stalled], state=Delivery.State.SENDING).update(
        state=Delivery.State.PENDING, next_attempt_at=now, claimed_at=None)
    lost = list(Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lt=now - timedelta(minutes=5))
                .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("next_attempt_at"))))
    with transaction.atomic():
        _enqueue_after_commit(stalled + lost)
    if stalled or lost:
        log.warning("Queued again %s deliveries cut off by a stopped worker and %s whose task was lost",
                    len(stalled), len(lost))
    return len(stalled) + len(lost)


def housekeeping(*, now=None):
    escalate_due(now=now)
    plan_daily_summaries(now=now)
    requeue_stalled(now=now)


# --- from the pages and the admin --------------------------------------------------------------------------
def redeliver(delivery):
    """Send a delivery again (the "Redeliver" button): with the same message id, tried for another day."""
    with transaction.atomic():
        fresh = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if fresh.state in (Delivery.State.PENDING, Delivery.State.SENDING):
            return fresh
        now = timezone.now()
        fresh.state, fresh.next_attempt_at, fresh.claimed_at = Delivery.State.PENDING, now, None
        fresh.retry_until = now + GIVE_UP_AFTER
        fresh.attempts = 0  # its tries start over: the first retry comes after seconds, not hours
        if fresh.folded_into_id:
            fresh.folded_into = None
        fresh.save()
        _enqueue_after_commit([fresh])
    return fresh


def send_test(subscription, *, by):
    """A test message through `subscription` (the "Send a test" button); returns its delivery."""
    now = timezone.now()
    route = _route(subscription.user, subscription)
    payload = {"notice": "test", "at": now.isoformat(), "url": settings.SITE_URL + "/",
               "subject": "Test from Machine Logbook",
               "text": f"{formats.person(by)} sent this test to check that {subscription} reaches you."}
    with transaction.atomic():
        delivery = Delivery.objects.create(
            key=f"test:{uuid.uuid4()}/sub:{subscription.pk}", notice=Notice.TEST, channel=route.channel,
            user=subscription.user, subscription=subscription, target=route.target, payload=payload, created_at=now,
            retry_until=now + timedelta(minutes=10))
        _enqueue_after_commit([delivery])
    return delivery


@dataclass
class Overview:
    """What a person hears, for their notifications page."""

    subscriptions: list = field(default_factory=list)
    defaults: list = field(default_factory=list)  # notices heard by default, when there is no subscription
    mail_enabled: bool = False


def overview(user):
    subscriptions = list(user.subscriptions.prefetch_related("departments", "machines"))
    return Overview(subscriptions=subscriptions, defaults=[] if subscriptions else default_notices(user),
                    mail_enabled=channels.mail_enabled())
