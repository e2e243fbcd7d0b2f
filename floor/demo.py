"""
The demo factory: departments, machines of the common controller makes, people, and a history of
issues with alarm codes, remedies and timelines, so that every page has something true-looking to show.

Machines and departments are only created when the factory tables are empty (a demo or benchmark
database); against a real factory database the history is made for the machines it already has.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from floor import roles
from floor.models import (
    AIState,
    Department,
    Issue,
    IssueAlarmCode,
    IssueEvent,
    Machine,
    Priority,
    Remedy,
    Status,
)
from floor.reporting import make_title
from floor.search import compose_document

DEPARTMENTS = ["Milling", "Turning", "5-axis machining", "Production cell"]

# (asset tag and model, department, controller family)
MACHINES = [
    ("M-01 Haas VF-2", "Milling", "haas"),
    ("M-02 Haas VF-2", "Milling", "haas"),
    ("M-03 Haas VF-4SS", "Milling", "haas"),
    ("M-04 Fanuc Robodrill α-D21MiB5", "Milling", "fanuc"),
    ("M-05 Fanuc Robodrill α-D21MiB5", "Milling", "fanuc"),
    ("M-06 Mazak VCN-530C", "Milling", "mitsubishi"),
    ("M-07 Okuma Genos M560-V", "Milling", "okuma"),
    ("T-01 Okuma LB3000 EX II", "Turning", "okuma"),
    ("T-02 Okuma Genos L3000-e", "Turning", "okuma"),
    ("T-03 Mazak Quick Turn 250MSY", "Turning", "mitsubishi"),
    ("T-04 Mazak Integrex i-200S", "Turning", "mitsubishi"),
    ("T-05 Haas ST-20Y", "Turning", "haas"),
    ("T-06 DMG Mori CLX 450", "Turning", "siemens"),
    ("T-07 Doosan Puma 2600SY", "Turning", "fanuc"),
    ("5X-01 Hermle C 42 U", "5-axis machining", "heidenhain"),
    ("5X-02 Hermle C 32 U", "5-axis machining", "heidenhain"),
    ("5X-03 DMG Mori DMU 65 monoBLOCK", "5-axis machining", "siemens"),
    ("5X-04 Grob G350", "5-axis machining", "siemens"),
    ("5X-05 Matsuura MAM72-35V", "5-axis machining", "fanuc"),
    ("5X-06 Mazak Variaxis i-700", "5-axis machining", "mitsubishi"),
    ("C-01 Makino a51nx", "Production cell", "fanuc"),
    ("C-02 Okuma MB-5000H", "Production cell", "okuma"),
    ("C-03 Doosan DNM 5700", "Production cell", "fanuc"),
    ("C-04 DMG Mori DMC 1150 V", "Production cell", "heidenhain"),
]


@dataclass(frozen=True)
class Problem:
    category: str
    code: str  # "" when the problem shows no alarm
    notes: tuple  # what operators type, fast and badly
    remedy: str
    parts: str = ""


ALARMS = {
    "fanuc": [
        Problem("alarm", "SV0401",
                ("SV0401 V READY OFF after estop, wont reset", "servo alarm 401 X axis, machine stopped"),
                "Found CX4 connector loose on the X amplifier. Reseated it, power cycled, alarm cleared."),
        Problem("alarm", "SV0436", ("SV0436 soft thermal z axis during roughing", "z axis overload alarm heavy cut"),
                "Z way lube starved. Refilled lube tank, cleared blocked metering unit, ran warm-up.",
                "Way lube oil 4 l"),
        Problem("alarm", "OT0500", ("OT0500 overtravel +X after tool change", "x overtravel, jogged back"),
                "Offset in program G54 wrong by 100 mm. Corrected work offset, released overtravel."),
        Problem("alarm", "SP9001", ("SP9001 spdl motor overheat again", "spindle hot alm after 20 min tool 12 smokes"),
                "Spindle fan clogged with mist. Cleaned fan and filter, checked motor temp under load.",
                "Fan filter mat"),
        Problem("alarm", "PS0010", ("PS0010 improper g code in new prog",),
                "Post processor output G05.1 not enabled on this control. Reposted program with correct post."),
    ],
    "siemens": [
        Problem("alarm", "25000", ("25000 X1 encoder hardware fault", "alarm 25000 axis x encoder"),
                "Encoder cable chafed at the cable chain. Replaced cable, referenced axis.",
                "Encoder cable 6FX8002-2CA31"),
        Problem("alarm", "10720", ("10720 sw limit Z minus in N120", "soft limit alarm z"),
                "Tool length entered as 350 instead of 250. Corrected tool data, reran block."),
        Problem("alarm", "700016", ("700016 hydraulic pressure low", "hyd pressure alarm chuck"),
                "Hydraulic oil level low, leak at clamp cylinder fitting. Tightened fitting, topped up oil.",
                "Hydraulic oil HLP46 5 l"),
        Problem("alarm", "21612", ("21612 servo enable reset during motion Y",),
                "Door interlock switch intermittent. Replaced safety switch on operator door.",
                "Safety switch AZM 200"),
    ],
    "haas": [
        Problem("alarm", "108", ("108 X SERVO OVERLOAD", "x servo overload alarm when rapid"),
                "Chips packed under X way cover. Cleaned way covers, checked motor current."),
        Problem("alarm", "102", ("102 servos off, wont power up",),
                "Low air pressure tripped servo power. Air compressor drain valve stuck open, replaced it.",
                "Drain valve"),
        Problem("alarm", "145", ("145 X limit switch", "alarm 145 x home switch"),
                "Home switch plunger sticking with coolant residue. Cleaned and greased switch."),
        Problem("alarm", "161", ("161 X axis drive fault",),
                "Amplifier fault. Replaced X axis amplifier after swap test with Y.",
                "Haas servo amplifier 93-32-5558"),
    ],
    "okuma": [
        Problem("alarm", "2136", ("2136 ALARM-B spindle oil temp", "spindle oil temp alarm b"),
                "Oil cooler fins blocked. Cleaned cooler, checked coolant temperature settings."),
        Problem("alarm", "1204", ("1204 ALARM-A servo amp error Z",),
                "DC bus fuse blown on the Z amp after power dip. Replaced fuse, checked supply.", "Fuse 10 A"),
        Problem("alarm", "4207", ("4207 ALARM-D tool life over T5",),
                "Tool life counter reached; replaced insert and reset tool life."),
    ],
    "mitsubishi": [
        Problem("alarm", "S01 0051", ("S01 0051 overload Z", "servo alarm s01 0051"),
                "Z axis brake not releasing fully. Adjusted brake gap, tested axis load.", ""),
        Problem("alarm", "Z70 0004", ("Z70 0004 abs position lost after battery",),
                "Encoder battery dead. Replaced battery, set absolute position by dog-less reference.",
                "Battery ER6V"),
        Problem("alarm", "M01 0101", ("M01 0101 operation error, axis interlocked",),
                "Tailstock interlock not made. Adjusted proximity switch on tailstock."),
    ],
    "heidenhain": [
        Problem("alarm", "320-0028", ("320-0028 Lubrication pressure too low", "lube error 320-0028"),
                "Central lubrication pump filter clogged. Replaced filter, bled the line.", "Lube filter"),
        Problem("alarm", "130-07E2", ("130-07E2 spindle drive error", "error 130-07E2 spindle"),
                "Spindle encoder signal disturbed. Reseated encoder connector, shield clamp fixed."),
        Problem("alarm", "8B40-0001", ("8B40 error X axis control loop",),
                "Following error after collision check. Checked X ball screw, no damage, re-tuned axis."),
    ],
}

GENERAL = [
    Problem("mechanical", "", ("chip conveyor jammed again", "conveyor stops, long chips"),
            "Long stringy chips wrapped around the conveyor. Cleared it; asked programming for chip breaking."),
    Problem("mechanical", "", ("door wont close properly", "front door sticking"),
            "Door roller worn. Replaced roller, adjusted guide rail.", "Door roller"),
    Problem("tooling", "", ("tool 12 broke in pocket", "drill broke, part scrapped"),
            "Worn drill run past life. Replaced drill, set tool life monitoring.", "Drill 8.5 mm carbide"),
    Problem("tooling", "", ("toolchanger dropped holder", "ATC arm misaligned"),
            "ATC arm out of alignment. Realigned arm to spindle and tested 50 changes."),
    Problem("hydraulic", "", ("chuck pressure low, parts slipping", "clamp pressure drops"),
            "Pressure regulator drifting. Reset to 25 bar and locked.", ""),
    Problem("electrical", "", ("cabinet fan noisy", "work light flickers"),
            "Cabinet fan bearing worn. Replaced fan.", "Cabinet fan 120 mm"),
    Problem("quality", "", ("bore 0.02 oversize on last 5 parts", "surface finish bad on face"),
            "Spindle runout 8 µm. Cleaned taper and retention knob, runout back to 2 µm."),
    Problem("program", "", ("prog stops at M00 that should not be there",),
            "Leftover M00 from prove-out. Removed it, program released again."),
    Problem("safety", "", ("coolant on floor, slippery", "guard window cracked"),
            "Coolant hose split. Replaced hose and cleaned floor.", "Coolant hose 3/4 in"),
    Problem("other", "", ("coolant smells bad", "air leak hissing at back"),
            "Coolant concentration 3 %. Skimmed tramp oil, topped up to 7 %.", "Coolant concentrate 10 l"),
]

DEMO_USERS = [
    # (username, password, first name, last name, role, is_superuser)
    ("operator", "operator", "Olga", "Operator", roles.OPERATOR, False),
    ("maintenance", "maintenance", "Marek", "Maintenance", roles.MAINTENANCE, False),
    ("manager", "manager", "Mia", "Manager", roles.MANAGER, False),
    ("admin", "admin", "Ada", "Admin", None, True),
]

REPORTER_NAMES = ["Jonas", "Ana", "Piotr", "Lena", "Tomas", "Sara", "Emre", ""]


def create_demo_users():
    """The demo people, one per role, with known passwords. Only for demos: the command refuses in
    production."""
    User = get_user_model()
    users = {}
    for username, password, first, last, role, superuser in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "is_staff": superuser, "is_superuser": superuser},
        )
        if created:
            user.set_password(password)
            user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return users


def ensure_machines():
    """The factory's machines: the existing ones, or the demo set when the factory tables are empty."""
    machines = list(Machine.objects.all())
    if machines:
        return [(m, _family_of(m.name)) for m in machines]
    departments = {name: Department(id=uuid.uuid4(), name=name) for name in DEPARTMENTS}
    # Plain INSERTs into tables our migration created: a demo database has no ERP writing them.
    Department.objects.bulk_create(departments.values())
    created = [
        (Machine(id=uuid.uuid4(), name=name, department=departments[dept]), family)
        for name, dept, family in MACHINES
    ]
    Machine.objects.bulk_create([m for m, _ in created])
    # In name order, as read back later, so that a seed gives the same history either way.
    return sorted(created, key=lambda pair: pair[0].name)


def _family_of(name):
    lowered = name.lower()
    for word, family in [("haas", "haas"), ("okuma", "okuma"), ("mazak", "mitsubishi"), ("hermle", "heidenhain"),
                         ("dmc 1150", "heidenhain"), ("siemens", "siemens"), ("dmg", "siemens"),
                         ("grob", "siemens")]:
        if word in lowered:
            return family
    return "fanuc"


def generate_history(*, machines, users, issues, days, seed=1, batch_size=5000, progress=None):
    """Create `issues` issues spread over the last `days` days, with remedies and timelines.

    Bulk inserts in batches, so a million issues take minutes, not hours. Deterministic for a seed.
    """
    rng = random.Random(seed)
    now = timezone.now()
    maintenance = users.get("maintenance")
    operator = users.get("operator")
    made = 0
    while made < issues:
        size = min(batch_size, issues - made)
        with transaction.atomic():
            _generate_batch(rng, now, machines, operator, maintenance, size, days)
        made += size
        if progress:
            progress(made)
    return made


def _generate_batch(rng, now, machines, operator, maintenance, size, days):
    rows = []
    for _ in range(size):
        machine, family = rng.choice(machines)
        problem = rng.choice(ALARMS.get(family, ALARMS["fanuc"])) if rng.random() < 0.6 else rng.choice(GENERAL)
        reported_at = now - timedelta(seconds=rng.uniform(0, days * 86400))
        age = now - reported_at
        runnable = rng.random() < 0.55 or problem.category in ("quality", "other")
        # Most of what is older than two days is finished; recent issues are still being worked on.
        if age > timedelta(days=2) or rng.random() < 0.35:
            repair = timedelta(minutes=rng.choice([15, 25, 40, 60, 90, 150, 240, 480]) * rng.uniform(0.6, 1.4))
            repair = min(repair, age * 0.9)
            status = Status.CLOSED if age > timedelta(days=7) and rng.random() < 0.8 else Status.RESOLVED
        else:
            repair = None
            status = rng.choice([Status.OPEN, Status.OPEN, Status.IN_PROGRESS, Status.WAITING_PARTS])
        description = rng.choice(problem.notes)
        codes = [problem.code] if problem.code else []
        title = make_title(category=problem.category, alarm_codes=codes, description=description)
        issue = Issue(
            machine=machine,
            category=problem.category,
            description=description,
            title=title,
            ai_state=AIState.OFF,
            search_document=compose_document(title, description, *codes,
                                             *((problem.remedy, problem.parts) if repair is not None else ())),
            status=status,
            priority=rng.choices(list(Priority), weights=[2, 10, 4, 1])[0],
            is_runnable=runnable or repair is not None,
            reported_by=operator,
            reporter_name=rng.choice(REPORTER_NAMES),
            reported_at=reported_at,
            machine_stopped_at=None if runnable else reported_at,
            machine_running_again_at=None if runnable or repair is None else reported_at + repair,
            resolved_at=reported_at + repair if repair is not None else None,
            closed_at=reported_at + repair + timedelta(hours=8) if status == Status.CLOSED else None,
            assigned_to=maintenance if status != Status.OPEN else None,
        )
        rows.append((issue, problem, codes, repair, family))

    Issue.objects.bulk_create([r[0] for r in rows], batch_size=2000)
    codes, remedies, events = [], [], []
    for issue, problem, issue_codes, repair, family in rows:
        codes.extend(IssueAlarmCode(issue=issue, code=c, family=family) for c in issue_codes)
        events.append(IssueEvent(issue=issue, kind=IssueEvent.Kind.CREATED, to_value=Status.OPEN,
                                 actor=operator, created_at=issue.reported_at))
        if issue.status != Status.OPEN:
            events.append(IssueEvent(issue=issue, kind=IssueEvent.Kind.ASSIGNED, to_value="maintenance",
                                     actor=maintenance, created_at=issue.reported_at + timedelta(minutes=5)))
        if repair is not None:
            done = issue.resolved_at
            remedies.append(Remedy(issue=issue, description=problem.remedy, parts_used=problem.parts,
                                   performed_by=maintenance, performed_at=done,
                                   minutes_spent=max(5, int(repair.total_seconds() // 60))))
            events.append(IssueEvent(issue=issue, kind=IssueEvent.Kind.REMEDY_ADDED, actor=maintenance,
                                     created_at=done))
            if issue.machine_running_again_at:
                events.append(IssueEvent(issue=issue, kind=IssueEvent.Kind.RUNNABLE_CHANGED,
                                         from_value="stopped", to_value="running", actor=maintenance,
                                         created_at=issue.machine_running_again_at))
            events.append(IssueEvent(issue=issue, kind=IssueEvent.Kind.STATUS_CHANGED, from_value=Status.OPEN,
                                     to_value=Status.RESOLVED, actor=maintenance, created_at=done))
            if issue.closed_at:
                events.append(IssueEvent(issue=issue, kind=IssueEvent.Kind.STATUS_CHANGED,
                                         from_value=Status.RESOLVED, to_value=Status.CLOSED, actor=maintenance,
                                         created_at=issue.closed_at))
        elif issue.status != Status.OPEN:
            events.append(IssueEvent(issue=issue, kind=IssueEvent.Kind.STATUS_CHANGED, from_value=Status.OPEN,
                                     to_value=issue.status, actor=maintenance,
                                     created_at=issue.reported_at + timedelta(minutes=6)))
    IssueAlarmCode.objects.bulk_create(codes, batch_size=5000)
    Remedy.objects.bulk_create(remedies, batch_size=5000)
    # Made-up history: nobody is to be told of it (floor/notify.py).
    for event in events:
        event.notify_pending = False
    IssueEvent.objects.bulk_create(events, batch_size=5000)
