"""A seeded, deterministic demo portfolio, written in the real vendor export formats.

About a dozen IT projects (agile and plan-driven; on track, late, over budget, one rebaselined, one closed),
forty people and half a year of history: Jira CSV exports taken every four weeks (each the state of every item
on its date), a Tempo worklog export, Snipe-IT asset and licence exports and the product's own inputs, the
managers' weekly status (commentary, actions, one manual RAG override) for the last two weeks among them. Between
them the projects use every earned-value technique (0/100, 50/50, percent complete, weighted milestones, level
of effort, AgileEVM with a sprint calendar), several EAC methods, management reserve and contingency, and a
baseline derived from ticket estimates. Nobody logs more than 8 h on a working day across all their items
(an item takes longer when its person is busy) but on one deliberately absurd day; that day and a few rows are
deliberately bad, so the data-quality page and the earned-value flags have something to show. Pure: returns
file names and bytes; the caller writes them.

Beside the projects, whatever the settings, runs the service desk: ServiceNow incident list exports ("Export >
CSV": field names, display values) taken every eight weeks back from the end, three at most, each the state of
every incident opened by its date. Three assignment
groups, priorities 1 - Critical .. 4 - Low with resolution SLAs (sla_due, made_sla); most incidents are resolved
within them, some breach, a few are reopened between exports (done in one, in progress or resolved again with a
higher reopen count in the next) and some are still open at the end, waiting for over 30 and over 90 days. The
Workplace and Platform people log operational hours on some incidents in Tempo, around their project work (the
same 8 h a day).

What each project shows is keyed by its index in PROJECTS (see the constants below); smaller settings
(fewer projects, fewer weeks) simply show less.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FIRST = ("Ana", "Ben", "Chloé", "Dev", "Eva", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kemi", "Lars",
         "Maya", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara")  # fmt: skip
LAST = ("Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Huber", "Ito", "Jansen",
        "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Silva")  # fmt: skip
ROLES = {
    "developer": 85,
    "engineer": 90,
    "analyst": 75,
    "architect": 120,
    "project_manager": 100,
    "tester": 70,
}
TEAMS = ("Platform", "Applications", "Data", "Workplace")
PROJECTS = (
    ("ERP", "ERP upgrade", "Business Applications", "Finance Transformation", "plan"),
    ("CRM", "CRM consolidation", "Business Applications", "Customer", "agile"),
    ("NET", "Campus network refresh", "Infrastructure", "Network 2026", "plan"),
    ("IAM", "Identity and access management", "Security", None, "plan"),
    ("DWH", "Data warehouse migration", "Data & Analytics", None, "agile"),
    ("MOB", "Field service mobile app", "Business Applications", "Customer", "agile"),
    ("CLD", "Cloud landing zone", "Infrastructure", "Network 2026", "plan"),
    ("ITSM", "Service desk replatforming", "Infrastructure", None, "agile"),
    ("SOC", "Security operations centre", "Security", None, "plan"),
    ("BI", "Self-service BI rollout", "Data & Analytics", None, "agile"),
    ("VOIP", "Telephony migration", "Infrastructure", "Network 2026", "plan"),
    ("WEB", "Intranet redesign", "Business Applications", None, "agile"),
)
# Behaviour per project: (schedule slip factor, cost factor).
PROFILES = ((1.0, 1.0), (1.0, 1.35), (1.5, 1.05), (1.3, 1.2), (1.0, 0.95), (1.6, 1.4),
            (1.1, 1.25), (1.2, 1.0), (1.25, 1.15), (1.05, 1.15), (1.4, 1.3), (1.05, 1.05))  # fmt: skip
# What each project demonstrates, by index in PROJECTS. Techniques not listed: 0/100 (plan), 50/50 (agile).
AGILE_EVM, PERCENT_COMPLETE, WEIGHTED_MILESTONES = 4, 6, 8
TECHNIQUE = {AGILE_EVM: "agile", PERCENT_COMPLETE: "percent_complete", WEIGHTED_MILESTONES: "weighted_milestones"}
EAC_METHOD = {3: "cpi_spi", 5: "composite", 6: "bottom_up", 7: "budget_rate"}  # the others: cpi
PLANNED_RATE = {6: 95, 7: 90}  # the register's hourly rate for unassigned and ticket-derived budgets
REBASELINED = 3  # a second baseline version, 12 weeks in: elements planned after week 10 move 4 weeks later
CUT_OVER = 3  # a zero-budget milestone element at the end of the plan
BLOCKED = 2  # one item goes Blocked and stays so
DERIVED_BASELINE = 7  # no baseline rows: the budget is derived from ticket estimates × the planned rate
CLOSED = 9  # starts at the first week, finishes, and is closed weeks before the end
LEVEL_OF_EFFORT = 10  # a project-management element earned as planned
SCOPE_ADDED = 6  # an unassigned item added after the baseline freeze
RESERVES = (3, 6, 8)  # management reserve and contingency on every baseline row of a version
EXPIRING_LICENCE, OVERALLOCATED_LICENCE = 0, 1
ABSURD_DAY = 5  # the one person-day over the flags' 16 h limit: someone logs 9 h on each of two items
DAY_HOURS = 8.0  # nobody logs more in a working day, across all their items (but on the absurd day)
HOLIDAYS = {
    "default": (
        dt.date(2026, 1, 1),
        dt.date(2026, 4, 3),
        dt.date(2026, 4, 6),
        dt.date(2026, 5, 1),
        dt.date(2026, 5, 25),
    ),
    "de": (  # the Workplace team works to another calendar
        dt.date(2026, 1, 1),
        dt.date(2026, 4, 3),
        dt.date(2026, 4, 6),
        dt.date(2026, 5, 1),
        dt.date(2026, 5, 14),
        dt.date(2026, 5, 25),
        dt.date(2026, 6, 4),
    ),
}
# The service desk: its groups (and the team whose people work in each), priorities with their resolution SLA.
DESK_GROUPS = (
    ("Service Desk", "Workplace", 5, ("Password reset", "Cannot open the shared drive", "MFA token lost",
     "Outlook keeps asking for the password", "VPN client will not connect", "New starter account missing",
     "Teams calls drop", "Printer offline on floor 2")),
    ("Workplace Support", "Workplace", 3, ("Laptop will not boot", "Docking station not detected",
     "Meeting room display broken", "Monitor flickers", "Headset not recognised", "Laptop battery swollen")),
    ("Network Operations", "Platform", 3, ("Wi-Fi drops in building B", "Switch port down in comms room",
     "Slow WAN link to the branch office", "DNS lookups fail intermittently", "Access point offline",
     "Firewall blocks the payroll interface")),
)  # (assignment group, team, agents, short descriptions)  # fmt: skip
# (display value, resolution SLA in hours: critical round the clock, the others office hours; weight)
DESK_PRIORITIES = (("1 - Critical", 4, 1), ("2 - High", 10, 3), ("3 - Moderate", 30, 10), ("4 - Low", 50, 6))
DESK_HOURS = {"1 - Critical": (2.0, 4.0), "2 - High": (1.0, 3.0), "3 - Moderate": (0.5, 2.0),
              "4 - Low": (0.25, 1.5)}  # hours someone logs on an incident, by priority  # fmt: skip
AUTO_CLOSE = dt.timedelta(days=7)  # ServiceNow closes a resolved incident after a week (glide.ui.autoclose.time)
SNOW_HEADER = ["number", "short_description", "caller_id", "priority", "state", "assignment_group", "assigned_to",
               "opened_at", "resolved_at", "closed_at", "sys_updated_on", "sla_due", "made_sla",
               "reopen_count"]  # fmt: skip
ITEM_WORDS = ("Design", "Build", "Configure", "Migrate", "Test", "Document", "Deploy", "Review", "Integrate")
ITEM_THINGS = ("interfaces", "user roles", "reports", "data model", "firewall rules", "cut-over plan",
               "monitoring", "training material", "API gateway", "backups", "SSO", "dashboards")  # fmt: skip
WORK_PACKAGES = ("Detection engineering", "SIEM onboarding", "Incident response")
LICENCES = (("Microsoft Project Online", "Microsoft"), ("Jira Software Cloud", "Atlassian"),
            ("Cisco DNA Advantage", "Cisco"), ("Okta Workforce Identity", "Okta"))  # fmt: skip
POINTS = {8: 1, 16: 2, 24: 3, 32: 3, 40: 5, 60: 8, 80: 8}  # story points by estimated hours
JIRA_HEADER = ["Summary", "Issue key", "Issue id", "Issue Type", "Parent", "Status", "Project key", "Priority",
               "Assignee", "Assignee Id", "Created", "Updated", "Resolved", "Custom field (Start date)", "Due date",
               "Original estimate", "Remaining Estimate", "Time Spent", "Sprint", "Sprint",
               "Custom field (Story Points)", "Labels", "Labels", "Labels", "Status Category"]  # fmt: skip
TEMPO_HEADER = ["Issue Key", "Issue summary", "Hours", "Work date", "Username", "Full name", "Account Key",
                "Activity Name", "Issue Type", "Project Key", "Project Name", "Work Description",
                "Billed Hours"]  # fmt: skip
SNIPE_HEADER = ["Company", "Name", "Asset Tag", "Category", "Supplier", "Manufacturer", "Location",
                "Order Number", "Model", "Model Notes", "Model Number", "Asset Notes", "Purchase Date",
                "Purchase Cost", "Warranty Expires", "Checkout Type", "Checked Out To: Username",
                "Checked Out To: First Name", "Checked Out To: Last Name", "Checked Out To: Email",
                "Checked Out To: Location", "Asset EOL Date"]  # fmt: skip
LICENCE_HEADER = ["Full Name", "Email", "Username", "Item name", "serial number", "Category", "manufacturer",
                  "purchase date", "purchase cost", "Licensed To Name", "Licensed to Email", "expiration date",
                  "seats", "company", "supplier"]  # fmt: skip
BASELINE_HEADER = ["project_id", "baseline_version", "effective_from", "reason", "element_key", "element_name",
                   "cost_category", "budget", "planned_start", "planned_finish", "is_milestone", "ev_technique",
                   "weight", "parent_key", "management_reserve", "contingency"]  # fmt: skip
REGISTER_HEADER = ["project_id", "name", "portfolio", "programme", "sponsor", "manager", "status", "ev_technique",
                   "eac_method", "calendar_id", "closed_on", "planned_rate"]  # fmt: skip
STATUS_HEADER = ["project_id", "status_date", "rag_override", "override_reason", "author", "entered_on",
                 "commentary", "actions"]  # fmt: skip
# The weekly status the managers write for the last two status weeks (pmo/status/<status date>.csv).
STATUS_COMMENTARY = (
    "Build on track; two change requests raised this week and sent to the change board.",
    "Testing started on the first release; the defect rate is in line with the plan.",
    "The supplier's delivery slipped by a week; the critical path absorbs it for now.",
    "Key architect on leave for two weeks; cover arranged from the Platform team.",
    "Migration rehearsal done; address data quality issues are being fixed at source.",
    "Integration environment unstable; an infrastructure ticket is open with the service desk.",
    "User acceptance sessions booked for next week; training material in review.",
    "Load test passed: response times < 2 s at 500 concurrent users.",
)  # fmt: skip
STATUS_ACTIONS = (
    "Confirm the cut-over date with the business owner.",
    "Chase the vendor for the revised delivery plan.",
    "Book the security review before go-live.",
    "Update the risk register after the steering committee.",
    "Agree the test exit criteria with the QA lead.",
    "Raise the purchase order for the extra licences.",
)
# What the status files show, by index in PROJECTS: the first project's manager writes a comma, quotes and a
# line break; the project the cost profile puts in the red (CPI about 0.7) is overridden to amber; one manager
# misses the last week.
STATUS_QUOTED, STATUS_OVERRIDE, STATUS_MISSING = 0, 1, 11


@dataclass(frozen=True)
class DemoSettings:
    seed: int = 2026
    projects: int = 12
    people: int = 40
    weeks: int = 26
    end: dt.date = dt.date(2026, 6, 28)  # a Sunday: the last status date with data


@dataclass
class _Item:
    """One Jira issue over its whole life; `_jira_row` renders it as of an export date."""

    key: str
    issue_id: int
    summary: str
    type: str
    project_key: str
    priority: str
    person: dict | None
    created: dt.datetime
    planned_start: dt.date
    planned_finish: dt.date
    estimate_h: float | None = None  # None: epics and milestones carry no estimate
    hours_total: float = 0.0  # the hours the item really takes
    actual_start: dt.date | None = None
    actual_finish: dt.date | None = None  # None: not finished within the history
    blocked_from: dt.date | None = None
    reestimated: bool = False  # remaining = real hours left (re-estimated), else Jira's estimate − time spent
    sprint_origin: dt.date | None = None  # agile: the project start sprints are counted from
    last_sprint: int | None = None  # agile with a sprint calendar: the release's last sprint
    points: int | None = None
    parent_id: int | None = None
    labels: list[str] = field(default_factory=list)
    due_moves: list[tuple[dt.date, dt.date]] = field(default_factory=list)  # (announced on, new due date)
    logs: list[tuple[dt.date, float]] = field(default_factory=list)  # (work date, hours), up to the end
    log_days: list[dt.date] = field(default_factory=list)
    log_cumulative: list[float] = field(default_factory=list)


def jira_datetime(value: dt.datetime) -> str:
    """Jira's CSV date format, e.g. 22/Sep/25 9:26 AM (English month names whatever the locale)."""
    hour = value.hour % 12 or 12
    ampm = "AM" if value.hour < 12 else "PM"
    return f"{value.day:02d}/{MONTHS[value.month - 1]}/{value.year % 100:02d} {hour}:{value.minute:02d} {ampm}"


def _jira_date(value: dt.date) -> str:
    """A date-only Jira field (Due date, Start date) as the CSV writes it: midnight."""
    return jira_datetime(dt.datetime.combine(value, dt.time(0, 0)))


def _mdy(value: dt.date) -> str:
    """Snipe-IT's asset list date: M/D/YY."""
    return f"{value.month}/{value.day}/{value.year % 100:02d}"


def _mmddyyyy(value: dt.date) -> str:
    """Snipe-IT's licence file date: MM/DD/YYYY."""
    return f"{value.month:02d}/{value.day:02d}/{value.year}"


def _csv(header: list[str], rows: list[list], delimiter: str = ",", bom: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _records(header: list[str], records: list[dict]) -> list[list]:
    return [[r.get(c) for c in header] for r in records]


def _working_days(start: dt.date, finish: dt.date, calendar: str = "default") -> list[dt.date]:
    days = [start + dt.timedelta(days=i) for i in range((finish - start).days + 1)]
    return [d for d in days if d.isoweekday() <= 5 and d not in HOLIDAYS[calendar]]


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _weekday(day: dt.date) -> dt.date:
    """The day itself, or the Monday after when it falls on a weekend."""
    return day + dt.timedelta(days=8 - day.isoweekday() if day.isoweekday() > 5 else 0)


def _weekday_before(day: dt.date) -> dt.date:
    """The day itself, or the Friday before when it falls on a weekend."""
    return day - dt.timedelta(days=day.isoweekday() - 5 if day.isoweekday() > 5 else 0)


def _friday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(4 - day.weekday()) % 7)


def first_day(settings: DemoSettings) -> dt.date:
    """The first day of the history (a Monday when `end` is a Sunday)."""
    return settings.end - dt.timedelta(weeks=settings.weeks) + dt.timedelta(days=1)


def snapshot_dates(settings: DemoSettings) -> list[dt.date]:
    """The days the Jira exports are taken: every four weeks back from `end` (included) within the history."""
    dates = [settings.end - dt.timedelta(weeks=4 * k) for k in range(settings.weeks // 4, -1, -1)]
    return [d for d in dates if d >= first_day(settings)]


def _due_moves(planned: dt.date, forecast: dt.date | None, created: dt.date) -> list[tuple[dt.date, dt.date]]:
    """A late item's due date moves twice: three weeks before it, halfway to the real finish; two weeks before
    that, to the Friday of the real finish. An item on time (or never finishing) keeps its due date."""
    if forecast is None or forecast <= planned + dt.timedelta(days=2):
        return []
    final = _friday_on_or_after(forecast)
    half = _friday_on_or_after(planned + dt.timedelta(days=(forecast - planned).days // 2))
    first = _weekday(max(created + dt.timedelta(days=1), planned - dt.timedelta(days=21)))
    if half >= final or half <= planned:
        return [(first, final)]
    second = _weekday(max(first + dt.timedelta(days=7), half - dt.timedelta(days=14)))
    return [(first, half), (second, final)]


def _rebaseline_shift(start: dt.date, planned: dt.date) -> dt.timedelta:
    """How far the rebaseline moves an element planned at `planned`: 4 weeks when after the project's week 10."""
    return dt.timedelta(weeks=4) if planned > start + dt.timedelta(weeks=10) else dt.timedelta(0)


def _sprint_no(origin: dt.date, day: dt.date) -> int:
    """Two-week sprints from the project start: sprint n runs from day 14(n − 1) to day 14n − 3 (a Friday)."""
    return (day - origin).days // 14 + 1


def _sprint_name(key: str, number: int) -> str:
    return f"{key} Sprint {number}"


def _load(person: dict, start: dt.date, finish: dt.date, booked: dict) -> float:
    """The hours `person` already logs, across all projects, on their working days from start to finish."""
    return sum(booked.get((person["person_id"], d), 0.0) for d in _working_days(start, finish, person["calendar_id"]))


def _plan(item: _Item, person: dict, booked: dict) -> list[tuple[dt.date, float]]:
    """The worklogs `person` would write for the item: its hours spread evenly over the working days of its
    planned span (from its actual start to its forecast finish), but never more than DAY_HOURS for the person on
    any day across all their items (`booked`: (person_id, day) → hours). When the person is busy the item takes
    more days; a blocked item logs until it is blocked. Empty when the item is not started or an epic or
    milestone (nobody logs on those)."""
    if item.actual_start is None or item.estimate_h is None:
        return []
    calendar = person["calendar_id"]
    days = _working_days(item.actual_start, item.actual_finish or item.actual_start, calendar)
    rate = min(DAY_HOURS, round(item.hours_total / max(len(days), 1) * 4) / 4 or 0.25)
    left = rate * max(len(days), 1)
    stop = item.blocked_from - dt.timedelta(days=1) if item.blocked_from else None
    day, logs = item.actual_start, []
    while left > 0 and (stop is None or day <= stop):
        if day.isoweekday() <= 5 and day not in HOLIDAYS[calendar]:
            hours = min(rate, DAY_HOURS - booked.get((person["person_id"], day), 0.0), left)  # quarter hours
            if hours > 0:
                logs.append((day, hours))
                left -= hours
        day += dt.timedelta(days=1)
    return logs


def _schedule(item: _Item, booked: dict, end: dt.date) -> None:
    """Books the item's planned worklogs for its person; its finish moves to its last worklog when that is later
    (a blocked item never finishes). Worklogs after `end` book the person but are not kept: not yet written."""
    logs = _plan(item, item.person, booked) if item.person else []
    for day, hours in logs:
        slot = (item.person["person_id"], day)
        booked[slot] = booked.get(slot, 0.0) + hours
    if item.blocked_from:
        item.actual_finish = None
    elif logs and (item.actual_finish is None or logs[-1][0] > item.actual_finish):
        item.actual_finish = logs[-1][0]
    item.logs = [(day, hours) for day, hours in logs if day <= end]
    _set_cumulative(item)


def _set_cumulative(item: _Item) -> None:
    """The running time spent after each worklog, which the Jira exports read."""
    item.log_days = [d for d, _ in item.logs]
    total = 0.0
    item.log_cumulative = []
    for _, hours in item.logs:
        total += hours
        item.log_cumulative.append(total)


@dataclass
class _Incident:
    """One ServiceNow incident over its whole life; `_incident_row` renders it as of an export date."""

    number: str
    summary: str
    caller: str
    priority: str
    group: str
    person: dict
    opened: dt.datetime
    sla_due: dt.datetime
    resolutions: list[dt.datetime]  # every one but the last is followed by a reopen (before the auto-close)
    reopens: list[dt.datetime] = field(default_factory=list)
    hold_from: dt.datetime | None = None  # On Hold (waiting for a vendor) from then on, while open


def service_desk_dates(settings: DemoSettings) -> list[dt.date]:
    """The days the ServiceNow exports are taken: every eight weeks back from `end` (included), three at most."""
    return snapshot_dates(settings)[::-2][:3][::-1]


def _snow_datetime(value: dt.datetime | None) -> str | None:
    """ServiceNow's default display format: yyyy-MM-dd HH:mm:ss."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None


def _incidents(settings: DemoSettings, people: list[dict], rng: random.Random) -> list[_Incident]:
    """About 1.7 incidents a working day over the history, numbered in the order they were opened. Most are resolved
    within their SLA, about one in eight late; three wait (On Hold) for over 90 days and three for 31 to 90 at the
    end; at every export but the last, three incidents resolved in its last days are reopened the next day: two are
    resolved again before the next export, one only after it."""
    start, end = first_day(settings), settings.end
    days = _working_days(start, end)
    agents, taken = {}, {}  # each group's agents: the next people of its team (the contractor is no agent)
    for group, team, n, _ in DESK_GROUPS:
        members = [p for p in people[:-1] if p["team"] == team]
        first = taken.get(team, 0)
        agents[group], taken[team] = members[first : first + n] or members[:1], first + n
    incidents = []
    for _ in range(round(len(days) * 1.7)):
        opened = dt.datetime.combine(rng.choice(days), dt.time(8, 0)) + dt.timedelta(minutes=rng.randint(0, 599))
        priority, sla_h, _ = rng.choices(DESK_PRIORITIES, weights=[w for *_, w in DESK_PRIORITIES])[0]
        group, _, _, summaries = rng.choices(DESK_GROUPS, weights=(2, 1, 1))[0]
        late = rng.random() < 0.12
        hours = sla_h * (rng.uniform(1.2, 3.0) if late else rng.uniform(0.05, 0.9))
        incidents.append(_Incident(
            number="", summary=rng.choice(summaries), caller=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            priority=priority, group=group, person=rng.choice(agents[group]), opened=opened,
            sla_due=_desk_time(opened, sla_h, priority), resolutions=[_desk_time(opened, hours, priority)],
        ))  # fmt: skip
    incidents.sort(key=lambda i: (i.opened, i.summary))
    for n, incident in enumerate(incidents):
        incident.number = f"INC{10001 + n:07d}"
    # Waiting for a vendor: never resolved, On Hold two days after opening.
    for low, high in ((91, 180), (31, 90)):
        ages = [i for i in incidents if low + 14 <= (end - i.opened.date()).days <= high - 14 and i.priority[0] in "34"]
        for incident in rng.sample(ages, min(3, len(ages))):
            incident.resolutions, incident.hold_from = [], incident.opened + dt.timedelta(days=2)
    exports = service_desk_dates(settings)
    for day, following in zip(exports, exports[1:], strict=False):
        # Resolved in the export's last five days: still Resolved (not auto-closed) when reopened the day after.
        recent = [
            i for i in incidents
            if len(i.resolutions) == 1 and day - dt.timedelta(days=5) <= i.resolutions[0].date() <= day
        ]  # fmt: skip
        for n, incident in enumerate(rng.sample(recent, min(3, len(recent)))):
            reopened = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9, 30 + rng.randint(0, 29)))
            again = _desk_time(reopened, rng.choice((2, 6, 12, 20)), incident.priority)
            if n == 0:  # still in progress at the next export
                again = dt.datetime.combine(following + dt.timedelta(days=3), dt.time(15, 10))
            incident.reopens, incident.resolutions = [reopened], [incident.resolutions[0], again]
    return incidents


def _desk_time(start: dt.datetime, hours: float, priority: str) -> dt.datetime:
    """`hours` after `start` on the desk's clock: critical incidents round the clock, the others in office hours
    (8:00 to 18:00 on working days), as the SLA schedules count them."""
    if priority.startswith("1"):
        return start + dt.timedelta(minutes=round(hours * 60))
    moment, left = start, round(hours * 60)
    while True:
        if moment.isoweekday() > 5 or moment.date() in HOLIDAYS["default"] or moment.hour >= 18:
            moment = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time(8, 0))
            continue
        moment = max(moment, dt.datetime.combine(moment.date(), dt.time(8, 0)))
        room = (dt.datetime.combine(moment.date(), dt.time(18, 0)) - moment).seconds // 60
        if left <= room:
            return moment + dt.timedelta(minutes=left)
        left -= room
        moment = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time(8, 0))


def _incident_row(incident: _Incident, day: dt.date) -> list | None:
    """The incident as a ServiceNow list export taken at the end of `day` shows it; None when not opened yet.
    Reopening clears the resolution; made_sla turns false when the SLA passes unresolved or the resolution is late."""
    cut = dt.datetime.combine(day, dt.time(23, 59, 59))
    if incident.opened > cut:
        return None
    resolved = [r for r in incident.resolutions if r <= cut]
    reopened = [r for r in incident.reopens if r <= cut]
    events = [incident.opened, *resolved, *reopened]
    resolved_at = closed_at = None
    if len(resolved) > len(reopened):
        resolved_at = resolved[-1]
        made = resolved_at <= incident.sla_due
        state = "Resolved"
        if resolved_at + AUTO_CLOSE <= cut:
            state, closed_at = "Closed", resolved_at + AUTO_CLOSE
            events.append(closed_at)
    else:
        made = incident.sla_due > cut
        state = "On Hold" if incident.hold_from and incident.hold_from <= cut else "In Progress"
        if incident.hold_from and incident.hold_from <= cut:
            events.append(incident.hold_from)
    if incident.sla_due <= max(events) and (resolved_at is None or resolved_at > incident.sla_due):
        events.append(incident.sla_due)  # the SLA engine marks the breach
    return [
        incident.number, incident.summary, incident.caller, incident.priority, state, incident.group,
        incident.person["display_name"], _snow_datetime(incident.opened), _snow_datetime(resolved_at),
        _snow_datetime(closed_at), _snow_datetime(max(events)), _snow_datetime(incident.sla_due),
        "true" if made else "false", len(reopened),
    ]  # fmt: skip


def _incident_logs(
    incidents: list[_Incident], booked: dict, end: dt.date, rng: random.Random
) -> list[tuple[_Incident, dt.date, float]]:
    """Hours the assignee logs on about half the incidents: a few hours by priority, at most 2 h a day, from the
    day the incident is opened until its last resolution (or the end), only where their day has room under
    DAY_HOURS (`booked`, which this updates). An incident on days with no room gets fewer hours, or none."""
    logs = []
    for incident in incidents:
        if rng.random() >= 0.5:
            continue
        low, high = DESK_HOURS[incident.priority]
        left = round(rng.uniform(low, high) * 4) / 4
        person = incident.person
        last = min(incident.resolutions[-1].date(), end) if incident.resolutions else end
        for day in _working_days(incident.opened.date(), last, person["calendar_id"]):
            slot = (person["person_id"], day)
            hours = min(2.0, left, DAY_HOURS - booked.get(slot, 0.0))
            if hours > 0:
                booked[slot] = booked.get(slot, 0.0) + hours
                logs.append((incident, day, hours))
                left -= hours
            if left <= 0:
                break
    return logs


def _jira_row(item: _Item, day: dt.date) -> list | None:
    """The item as a Jira export taken on `day` shows it; None when it did not exist yet."""
    if item.created.date() > day:
        return None
    done = item.actual_finish is not None and item.actual_finish <= day
    blocked = not done and item.blocked_from is not None and item.blocked_from <= day
    started = item.actual_start is not None and item.actual_start <= day
    if done:
        status, category = "Done", "Done"
    elif blocked:
        status, category = "Blocked", "In Progress"
    elif started:
        status, category = "In Progress", "In Progress"
    else:
        status, category = "To Do", "To Do"
    n_logs = bisect.bisect_right(item.log_days, day)
    spent = item.log_cumulative[n_logs - 1] if n_logs else 0.0
    if item.estimate_h is None:
        estimate = remaining = time_spent = None
    else:
        left = item.hours_total if item.reestimated else item.estimate_h
        estimate = int(item.estimate_h * 3600)
        remaining = 0 if done else int(round(max(left - spent, 0.0) * 4) / 4 * 3600)  # to the quarter hour
        time_spent = int(spent * 3600)
    due = item.planned_finish
    events = [item.created]
    for announced, moved in item.due_moves:
        if announced <= day:
            due = moved
            events.append(dt.datetime.combine(announced, dt.time(11, 40)))
    resolved = dt.datetime.combine(item.actual_finish, dt.time(16, 45)) if done else None
    if started:
        events.append(dt.datetime.combine(item.actual_start, dt.time(9, 0)))
    if n_logs:
        events.append(dt.datetime.combine(item.log_days[n_logs - 1], dt.time(17, 30)))
    if blocked:
        events.append(dt.datetime.combine(item.blocked_from, dt.time(10, 15)))
    if resolved:
        events.append(resolved)
    sprints = [None, None]
    if item.sprint_origin is not None:
        planned = _sprint_no(item.sprint_origin, item.planned_start)
        current = _sprint_no(item.sprint_origin, item.actual_finish if done else day)
        if item.last_sprint is not None:
            planned, current = min(planned, item.last_sprint), min(current, item.last_sprint)
        sprints = [_sprint_name(item.project_key, planned)]
        sprints.append(_sprint_name(item.project_key, current) if current > planned else None)
    person = item.person or {}
    return [
        item.summary, item.key, item.issue_id, item.type, item.parent_id, status, item.project_key, item.priority,
        person.get("display_name"), person.get("jira_account_id"), jira_datetime(item.created),
        jira_datetime(max(events)), jira_datetime(resolved) if resolved else None, _jira_date(item.planned_start),
        _jira_date(due), estimate, remaining, time_spent, *sprints, item.points, *(item.labels + [None] * 3)[:3],
        category,
    ]  # fmt: skip


def _people(settings: DemoSettings, rng: random.Random) -> list[dict]:
    people = []
    for i in range(settings.people):
        role = ("developer", "engineer", "analyst", "tester", "architect", "project_manager")[i % 6]
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        account = f"{rng.getrandbits(96):024x}"
        team = TEAMS[i % len(TEAMS)]
        people.append(
            {
                "person_id": f"u{i + 1:03d}",
                "display_name": name,
                "email": f"{name.lower().replace(' ', '.').replace('é', 'e')}@example.org",
                "team": team,
                "role": "contractor" if i == settings.people - 1 else role,
                "jira_account_id": account,
                "tempo_user": account,
                "contracted_hours_week": 40 if i % 5 else 32,
                "calendar_id": "de" if team == "Workplace" else "default",
            }
        )
    return people


def _baseline_row(pid: str, item: _Item, budget: float, **extra) -> dict:
    return {
        "project_id": pid, "element_key": item.key, "element_name": item.summary, "cost_category": "labour",
        "budget": f"{budget:.2f}", "planned_start": item.planned_start.isoformat(),
        "planned_finish": item.planned_finish.isoformat(), **extra,
    }  # fmt: skip


def generate(settings: DemoSettings = DemoSettings()) -> dict[str, bytes]:
    """The demo inbox: relative path → file bytes. Same settings, same bytes."""
    rng = random.Random(settings.seed)
    end = settings.end
    history_start = first_day(settings)
    people = _people(settings, rng)
    items: list[_Item] = []
    worklogs, baseline, risks, assets, register, mapping, sprints, licences = [], [], [], [], [], [], [], []
    finishes: dict[str, dt.date] = {}  # project → its last planned finish (for the warranty risk)
    booked: dict[tuple[str, dt.date], float] = {}  # (person_id, day) → hours logged, across all projects
    names: dict[str, tuple[str, str]] = {}  # Jira project key → (project name, style)
    issue_id = 10000

    def new_id() -> int:
        nonlocal issue_id
        issue_id += 1
        return issue_id

    for p in range(settings.projects):
        idx = p % len(PROJECTS)
        key, name, portfolio, programme, style = PROJECTS[idx]
        if p >= len(PROJECTS):
            key = f"{key}{p // len(PROJECTS) + 1}"
        pid = f"PRJ-{p + 1:03d}"
        slip, cost_factor = PROFILES[idx]
        start = _monday(history_start + dt.timedelta(weeks=rng.randint(0, 10)))
        duration_weeks = rng.randint(18, 34)
        if idx == CLOSED:
            start, duration_weeks = _monday(history_start), max(4, settings.weeks - 6)
        team = rng.sample(people[:-1], k=rng.randint(3, 6))
        if idx == PERCENT_COMPLETE:  # its long work packages overlap: two more hands, the least busy over its life
            until = start + dt.timedelta(weeks=duration_weeks)
            team += sorted((m for m in people[:-1] if m not in team), key=lambda m: _load(m, start, until, booked))[:2]
        pm = people[(5 + 6 * p) % len(people)]
        mapping += [["jira", key, pid], ["snipeit", f"CC-{key}", pid]]
        technique = TECHNIQUE.get(idx, "50/50" if style == "agile" else "0/100")
        effective = (start + dt.timedelta(days=6)).isoformat()
        version_1 = {"baseline_version": 1, "effective_from": effective, "reason": "initial plan"}

        # The project's tasks (stories when agile), planned and as they really went.
        tasks: list[_Item] = []
        kickoff = dt.datetime.combine(start - dt.timedelta(days=3), dt.time(9, 0))  # the Friday before the start
        n_items = rng.randint(15, 30)
        for i in range(n_items):
            # Percent complete suits long work packages: the remaining estimate shrinks from export to export.
            long = idx == PERCENT_COMPLETE
            estimate_h = rng.choice((60, 80, 120, 160) if long else (8, 16, 24, 32, 40, 60, 80))
            offset = dt.timedelta(weeks=duration_weeks * 0.85 * i / n_items)
            planned_start = _monday(start + offset)
            planned_finish = planned_start + dt.timedelta(days=7 * rng.randint(*((3, 6) if long else (1, 3))) - 3)
            hours_total = estimate_h * cost_factor * rng.uniform(0.9, 1.1)
            actual_start = _weekday(start + (planned_start - start) * slip + dt.timedelta(days=rng.randint(0, 3)))
            # Nobody logs more than about six hours a day on one item: big items take longer.
            span = max((planned_finish - planned_start) * slip, dt.timedelta(days=hours_total / 6 * 7 / 5))
            actual_finish = _weekday_before(actual_start + dt.timedelta(days=round(span.total_seconds() / 86400)))
            labels = [
                lbl for lbl in (key.lower(), "migration" if i % 3 == 0 else "", "q2" if i % 4 == 0 else "") if lbl
            ]
            item = _Item(
                key=f"{key}-{i + 1}", issue_id=new_id(), summary=f"{rng.choice(ITEM_WORDS)} {rng.choice(ITEM_THINGS)}",
                type="Story" if style == "agile" else "Task", project_key=key,
                priority=rng.choice(("High", "Medium", "Medium", "Low")), person=None,
                created=kickoff + dt.timedelta(minutes=30 + 10 * i),
                planned_start=planned_start, planned_finish=planned_finish, estimate_h=estimate_h,
                hours_total=hours_total, actual_start=actual_start, actual_finish=actual_finish, labels=labels,
                reestimated=idx == PERCENT_COMPLETE, sprint_origin=start if style == "agile" else None,
                points=POINTS[estimate_h] if style == "agile" else None,
            )  # fmt: skip
            tasks.append(item)

        if idx == BLOCKED:  # the latest-started item by six weeks before the end goes Blocked and stays so
            candidates = [t for t in tasks if t.actual_start <= end - dt.timedelta(weeks=6)]
            if candidates:
                blocked = max(candidates, key=lambda t: (t.actual_start, t.key))
                blocked.blocked_from = _weekday(blocked.actual_start + dt.timedelta(days=3))
                blocked.priority = "High"

        # Each item goes to the team member who would finish it first around their other work (any project), then
        # to the least loaded over its span, then in the team's order, turn by turn.
        for i, item in enumerate(tasks):
            item.person = team[min(range(len(team)), key=lambda n: (
                (_plan(item, team[n], booked) or [(item.actual_start, 0.0)])[-1][0],
                _load(team[n], item.actual_start, item.actual_finish, booked), (n - i) % len(team),
            ))]  # fmt: skip
            _schedule(item, booked, end)
            if i % 4 == 1 and item.blocked_from is None:  # some late items get their due date moved
                item.due_moves = _due_moves(item.planned_finish, item.actual_finish, item.created.date())
        if idx != DERIVED_BASELINE:
            finishes[pid] = max(t.planned_finish for t in tasks)
        extra: list[_Item] = []  # epics, milestones and the like, after the tasks

        if idx == LEVEL_OF_EFFORT:  # the project manager's hour a day, earned as planned
            last = max(t.planned_finish for t in tasks)
            pm_days = _working_days(start, last, pm["calendar_id"])
            real_last = max(t.actual_finish for t in tasks)
            extra.append(_Item(
                key=f"{key}-{n_items + 1}", issue_id=new_id(), summary="Project management", type="Task",
                project_key=key, priority="Medium", person=pm,
                created=kickoff, planned_start=start,
                planned_finish=last, estimate_h=float(len(pm_days)), hours_total=float(len(_working_days(
                    start, real_last, pm["calendar_id"]))), actual_start=start, actual_finish=real_last,
                labels=[key.lower(), "pmo"],
            ))  # fmt: skip

        if idx == SCOPE_ADDED and end - dt.timedelta(weeks=3) > start:  # new work after the freeze, unassigned
            extra.append(_Item(
                key=f"{key}-{n_items + 1}", issue_id=new_id(), summary="Decommission legacy landing zone",
                type="Task", project_key=key, priority="Medium", person=None,
                created=dt.datetime.combine(end - dt.timedelta(weeks=3, days=2), dt.time(14, 0)),
                planned_start=end + dt.timedelta(days=8), planned_finish=end + dt.timedelta(days=33),
                estimate_h=40.0, hours_total=40.0, reestimated=True, labels=[key.lower(), "scope-change"],
            ))  # fmt: skip

        if idx == WEIGHTED_MILESTONES:
            # Three work packages (epics) hold the budget; each has two milestones worth 40 % and 60 % of it,
            # reached when the first half and then all of its tasks are done.
            packages = [[t for i, t in enumerate(tasks) if i * 3 // n_items == w] for w in range(3)]
            epics = []
            for w, members in enumerate(packages):
                finished = [t.actual_finish for t in members]
                epic = _Item(
                    key=f"{key}-{n_items + 1 + w}", issue_id=new_id(), summary=WORK_PACKAGES[w], type="Epic",
                    project_key=key, priority="Medium", person=pm,
                    created=kickoff,
                    planned_start=min(t.planned_start for t in members),
                    planned_finish=max(t.planned_finish for t in members),
                    actual_start=min(t.actual_start for t in members),
                    actual_finish=None if None in finished else max(finished), labels=[key.lower()],
                )  # fmt: skip
                for t in members:
                    t.parent_id = epic.issue_id
                epics.append(epic)
                budget = sum(t.estimate_h * ROLES.get(t.person["role"], 80) for t in members)
                baseline.append(_baseline_row(pid, epic, budget, **version_1, ev_technique=technique))
            extra += epics
            for w, members in enumerate(packages):
                for m, (share, part) in enumerate(((0.4, members[: (len(members) + 1) // 2]), (0.6, members))):
                    reached = [t.actual_finish for t in part]
                    when = None if None in reached else max(reached)
                    planned = max(t.planned_finish for t in part)
                    created = kickoff + dt.timedelta(minutes=5)
                    milestone = _Item(
                        key=f"{key}-{n_items + 4 + 2 * w + m}", issue_id=new_id(),
                        summary=f"{WORK_PACKAGES[w]}: {'first half done' if m == 0 else 'complete'}",
                        type="Milestone", project_key=key, priority="High", person=pm, created=created,
                        planned_start=planned, planned_finish=planned, actual_start=when, actual_finish=when,
                        parent_id=epics[w].issue_id, labels=[key.lower(), "milestone"],
                        due_moves=_due_moves(planned, when, created.date()),
                    )  # fmt: skip
                    extra.append(milestone)
                    baseline.append(_baseline_row(
                        pid, milestone, 0, **version_1, is_milestone="true", weight=f"{share:.2f}",
                        parent_key=epics[w].key,
                    ))  # fmt: skip

        if idx == CUT_OVER:  # a zero-budget milestone: the cut-over, when every task is done
            finished = [t.actual_finish for t in tasks]
            when = None if None in finished else max(finished)
            planned = max(t.planned_finish for t in tasks)
            created = kickoff + dt.timedelta(minutes=10)
            moves = _due_moves(planned, when, created.date())
            if idx == REBASELINED:  # the PM moves the due date with the rebaseline (the Friday before it)
                replanned = planned + _rebaseline_shift(start, planned)
                decided = start + dt.timedelta(weeks=12, days=4)
                moves = [(decided, replanned), *_due_moves(replanned, when, decided)]
            extra.append(_Item(
                key=f"{key}-{n_items + 1}", issue_id=new_id(), summary="Cut-over to the new identity platform",
                type="Milestone", project_key=key, priority="High", person=pm, created=created,
                planned_start=planned, planned_finish=planned, actual_start=when, actual_finish=when,
                labels=[key.lower(), "milestone"], due_moves=moves,
            ))  # fmt: skip

        if idx == AGILE_EVM:  # the AgileEVM release: its sprint calendar and planned points
            last_sprint = max(_sprint_no(start, t.planned_start) for t in tasks)
            planned_points = [0] * last_sprint
            for t in tasks:
                t.last_sprint = last_sprint
                planned_points[_sprint_no(start, t.planned_start) - 1] += t.points
            for n, points in enumerate(planned_points, start=1):
                first = start + dt.timedelta(days=14 * (n - 1))
                sprints.append([pid, _sprint_name(key, n), first.isoformat(),
                                (first + dt.timedelta(days=11)).isoformat(), points])  # fmt: skip

        for item in extra:  # the project manager's hour a day fits around their other work too
            _schedule(item, booked, end)
        items += [*tasks, *extra]
        names[key] = (name, style)

        # The baseline file's rows (none for the project whose budget is derived from its tickets).
        if idx != DERIVED_BASELINE:
            for item in [*tasks, *extra]:
                if idx == WEIGHTED_MILESTONES:
                    break  # its work packages and milestones are in already (above)
                if item.type == "Milestone":
                    baseline.append(_baseline_row(pid, item, 0, **version_1, is_milestone="true"))
                elif item.type in ("Task", "Story") and item.person is not None:
                    rate = ROLES.get(item.person["role"], 80)
                    loe = {"ev_technique": "level_of_effort"} if item.summary == "Project management" else {}
                    baseline.append(_baseline_row(pid, item, item.estimate_h * rate, **version_1, **loe))
        if idx == REBASELINED:
            version_2 = {
                "baseline_version": 2,
                "effective_from": (start + dt.timedelta(weeks=12, days=6)).isoformat(),
                "reason": "scope approved by the steering committee",
            }
            for row in [r for r in baseline if r["project_id"] == pid and r["baseline_version"] == 1]:
                planned_start = dt.date.fromisoformat(row["planned_start"])
                shift = _rebaseline_shift(start, planned_start)
                baseline.append(row | version_2 | {
                    "budget": f"{float(row['budget']) * 1.2:.2f}",
                    "planned_start": (planned_start + shift).isoformat(),
                    "planned_finish": (dt.date.fromisoformat(row["planned_finish"]) + shift).isoformat(),
                })  # fmt: skip

        # The register row: the closed project is closed only when everything really finished weeks ago.
        finished = [t.actual_finish for t in [*tasks, *extra]]
        closed_on = None
        if idx == CLOSED and None not in finished and max(finished) <= end - dt.timedelta(weeks=3):
            closed_on = max(finished) + dt.timedelta(days=4)
        register.append([
            pid, name, portfolio, programme, f"Sponsor {LAST[p % len(LAST)]}", pm["display_name"],
            "closed" if closed_on else "active", technique, EAC_METHOD.get(idx, "cpi"),
            "default", closed_on.isoformat() if closed_on else None,
            f"{PLANNED_RATE[idx]:.2f}" if idx in PLANNED_RATE else None,
        ])  # fmt: skip

        # Risks, reviewed at dates spread over the project's life; a closed project's risks are closed.
        life = max((end - start).days, 0)
        for r in range(rng.randint(2, 4)):
            review = start + dt.timedelta(days=rng.randint(0, life))
            status = "closed" if r >= 2 or closed_on else "open"
            risks.append([f"R-{key}-{r + 1}", pid, rng.choice(("Vendor delivery slips", "Key person leaves",
                          "Licence costs rise", "Data quality worse than assumed", "Integration defects")),
                          f"{rng.choice((0.1, 0.2, 0.3, 0.5, 0.7)):.2f}", rng.choice((5000, 12000, 25000, 60000)),
                          rng.choice((0, 5, 10, 20)), pm["display_name"], status, review.isoformat(),
                          "mitigate"])  # fmt: skip
        for a in range(rng.randint(3, 7)):
            purchase = start + dt.timedelta(days=rng.randint(0, 60))
            warranty = purchase.replace(year=purchase.year + 3)
            assets.append([f"CC-{key}", rng.choice(("Laptop", "Switch", "Firewall", "Server", "Access point")),
                           f"{key}-{a + 1:04d}", rng.choice(("Laptops", "Network", "Servers")), "Acme Supply",
                           rng.choice(("Dell", "Cisco", "HPE", "Lenovo")), "HQ", f"PO-{issue_id}{a}",
                           rng.choice(("Latitude 7450", "Catalyst 9300", "ProLiant DL360")), "", f"M{a}",
                           "", _mdy(purchase), f"{rng.choice((1200, 1850.5, 4200, 9800)):.2f}", _mdy(warranty),
                           "", "", "", "", "", "", _mdy(purchase.replace(year=purchase.year + 4))])  # fmt: skip
        if idx in (EXPIRING_LICENCE, OVERALLOCATED_LICENCE, 2, 3):
            product, vendor = LICENCES[idx]
            purchase = start + dt.timedelta(days=7)
            expiry = end + dt.timedelta(days=45) if idx == EXPIRING_LICENCE else purchase + dt.timedelta(days=365)
            seats = len(team) - 1 if idx == OVERALLOCATED_LICENCE else len(team) + 2
            for person in team:  # one row per seat checked out, as Snipe-IT's licence file has them
                first_name, last_name = person["display_name"].split(" ", 1)
                licences.append([
                    person["display_name"], person["email"], f"{first_name[0]}{last_name}".lower(), product,
                    f"{key}-LIC-{purchase.year}", "Software", vendor, _mmddyyyy(purchase),
                    f"${seats * 240:,.2f}", "Example Corp", "it-licensing@example.org", _mmddyyyy(expiry), seats,
                    f"CC-{key}", "SoftwareOne",
                ])  # fmt: skip

    # A warranty that ends before the project does: two assets of the active project planned to finish last.
    open_projects = {r[0] for r in register if r[6] == "active"}
    candidates = [(f, pid) for pid, f in finishes.items() if pid in open_projects]
    late = max(candidates) if candidates else None
    if late and late[0] > end + dt.timedelta(days=28):
        cc = next(m[1] for m in mapping if m[0] == "snipeit" and m[2] == late[1])
        for row in [a for a in assets if a[0] == cc][:2]:
            row[14] = _mdy(end + (late[0] - end) / 2)

    # Deliberately bad rows: the data-quality page shows each with its file, line, column and rule.
    def tempo(key: str, hours: str, day: str, person: dict | None, project: str) -> list:
        user, full = (
            (person["tempo_user"], person["display_name"]) if person else ("unknown-account", "Temp Contractor")
        )
        return [key, f"Item {key}", hours, day, user, full, project, "Development", "Task", project, project, "", "0"]

    # One absurd day: on the first day someone logs on two items of the ABSURD_DAY project, both logs become 9 h
    # (18 h or more that day; the earned-value flags' limit is 16 h). Jira's time spent follows, as in real life.
    absurd = [t for t in items if settings.projects > ABSURD_DAY and t.project_key == PROJECTS[ABSURD_DAY][0]]
    by_day: dict[tuple[str, dt.date], list[tuple[_Item, int]]] = {}
    for item in absurd:
        for n, (day, _) in enumerate(item.logs):
            by_day.setdefault((item.person["person_id"], day), []).append((item, n))
    twice = sorted((day, person) for (person, day), logs in by_day.items() if len(logs) >= 2)
    if twice:
        day, person = twice[0]
        for item, n in by_day[(person, day)][:2]:
            booked[(person, day)] += 9.0 - item.logs[n][1]  # the ledger follows: nothing else fits that day
            item.logs[n] = (day, 9.0)
            _set_cumulative(item)

    # Worklogs, in Tempo's export format (the agile projects bill their hours).
    for item in items:
        name, style = names[item.project_key]
        for day, hours in item.logs:
            worklogs.append([
                item.key, item.summary, f"{hours:.2f}", f"{day.isoformat()} 00:00", item.person["tempo_user"],
                item.person["display_name"], item.project_key, "Development", item.type, item.project_key, name, "",
                f"{hours:.2f}" if style == "agile" else "0",
            ])  # fmt: skip

    # The service desk (see the module docstring), drawn from its own seed so the projects stay as they are. Its
    # people log in Tempo on the incident number with the Project Key "OPS" (the column is required), which no
    # project map names, nor do the assignment groups: the hours are operational work (marts.resource_utilisation)
    # and, having no project, show in marts.cost_exceptions as "unknown project" and stay out of every AC.
    desk_rng = random.Random(f"{settings.seed}/service desk")
    incidents = _incidents(settings, people, desk_rng)
    for incident, day, hours in _incident_logs(incidents, booked, end, desk_rng):
        person = incident.person
        worklogs.append([
            incident.number, incident.summary, f"{hours:.2f}", f"{day.isoformat()} 00:00", person["tempo_user"],
            person["display_name"], "OPS", "Support", "Incident", "OPS", "IT Operations", "", "0",
        ])  # fmt: skip

    # Hours that cannot be costed: an unmatched person, and the contractor with no rate.
    worklogs.append(tempo("CRM-3", "6.00", f"{(history_start + dt.timedelta(days=15)).isoformat()} 00:00", None, "CRM"))
    worklogs.append(
        tempo("CRM-4", "5.00", f"{(history_start + dt.timedelta(days=16)).isoformat()} 00:00", people[-1], "CRM")
    )
    assets.append(["CC-NET", "Router", "NET-9999", "Network", "Acme Supply", "Cisco", "HQ", "PO-X", "ISR 4331",
                   "", "M9", "", "13/45/26", "n/a", "", "", "", "", "", "", "", ""])  # fmt: skip
    worklogs.sort(key=lambda w: (w[3], w[0], w[4]))
    # Negative hours on the first line (line 2 of the file), an impossible date on the last.
    worklogs.insert(0, tempo("ERP-1", "-3.00", f"{history_start.isoformat()} 00:00", people[0], "ERP"))
    worklogs.append(tempo("ERP-2", "4.00", "31/02/2026", people[0], "ERP"))
    rates = [[None, role, f"{rate:.2f}", "EUR", "2025-01-01", "2026-03-31"] for role, rate in ROLES.items()]
    rates += [[None, role, f"{rate * 1.04:.2f}", "EUR", "2026-04-01", None] for role, rate in ROLES.items()]
    rates += [[people[4]["person_id"], None, "135.00", "EUR", "2025-01-01", None]]

    # Reserves: the same amounts on every row of a version, 5 % and 8 % of its budget in whole thousands.
    for p in range(settings.projects):
        if p % len(PROJECTS) in RESERVES:
            pid = f"PRJ-{p + 1:03d}"
            for version in sorted({r["baseline_version"] for r in baseline if r["project_id"] == pid}):
                rows = [r for r in baseline if r["project_id"] == pid and r["baseline_version"] == version]
                total = sum(float(r["budget"]) for r in rows)
                for r in rows:
                    r["management_reserve"] = f"{round(total * 0.05, -3):.2f}"
                    r["contingency"] = f"{round(total * 0.08, -3):.2f}"
    baseline.sort(key=lambda r: (r["project_id"], r["baseline_version"], _key_order(r["element_key"])))

    files: dict[str, bytes] = {}
    previous = None
    for day in snapshot_dates(settings):
        rows = [row for item in items if (row := _jira_row(item, day)) is not None]
        updated = max((row[11] for row in rows), key=_parse_jira, default=None)
        if rows and updated != previous:  # an export that changed nothing would repeat its predecessor's date
            files[f"jira/jira_export_{day.isoformat()}.csv"] = _csv(JIRA_HEADER, rows)
            previous = updated
    for day in service_desk_dates(settings):
        rows = [row for incident in incidents if (row := _incident_row(incident, day)) is not None]
        if rows:
            files[f"servicenow/incident_{day.isoformat()}.csv"] = _csv(SNOW_HEADER, rows)
    stamp = end.isoformat()
    person_cols = list(people[0])
    files |= {
        f"tempo/tempo_worklogs_{stamp}.csv": _csv(TEMPO_HEADER, worklogs),
        f"snipeit/assets_{stamp}.csv": _csv(SNIPE_HEADER, assets, bom=True),
        f"snipeit/licenses_{stamp}.csv": _csv(LICENCE_HEADER, licences),
        "pmo/projects.csv": _csv(REGISTER_HEADER, register),
        "pmo/project_map.csv": _csv(["source_kind", "source_key", "project_id"], mapping),
        "pmo/baseline.csv": _csv(BASELINE_HEADER, _records(BASELINE_HEADER, baseline)),
        "pmo/rate_card.csv": _csv(["person_id", "role", "hourly_rate", "currency", "valid_from", "valid_to"], rates),
        "pmo/people.csv": _csv(person_cols, [[p[c] for c in person_cols] for p in people]),
        "pmo/holidays.csv": _csv(["calendar_id", "date", "holiday"],
                                 [[c, d.isoformat(), "public holiday"] for c, days in HOLIDAYS.items() for d in days]),
        "pmo/risks.csv": _csv(["risk_id", "project_id", "title", "probability", "cost_impact",
                               "schedule_impact_days", "owner", "status", "review_date", "response"], risks),
    }  # fmt: skip
    if sprints:
        files["pmo/sprints.csv"] = _csv(["project_id", "sprint", "start", "finish", "planned_points"], sprints)
    for day, rows in _status_reports(settings, register).items():
        files[f"pmo/status/{day.isoformat()}.csv"] = _csv(STATUS_HEADER, rows)
    if not licences:
        del files[f"snipeit/licenses_{stamp}.csv"]
    return files


def _status_reports(settings: DemoSettings, register: list[list]) -> dict[dt.date, list[list]]:
    """The managers' weekly status for the last two status weeks: commentary and actions for every active project
    (but STATUS_MISSING's last week), one manual RAG override with its reason, author and date. Drawn from its own
    seed, so the rest of the demo stays as it is."""
    rng = random.Random(f"{settings.seed}/status")
    weeks = [settings.end - dt.timedelta(weeks=1), settings.end]
    out: dict[dt.date, list[list]] = {week: [] for week in weeks}
    for p, row in enumerate(register):
        pid, name, manager, status = row[0], row[1], row[5], row[6]
        idx = p % len(PROJECTS)
        if status != "active":
            continue
        for week in weeks:
            last = week == settings.end
            if last and idx == STATUS_MISSING:
                continue
            entered = week + dt.timedelta(days=rng.choice((-2, 1)))  # the Friday before or the Monday after
            commentary, actions = rng.choice(STATUS_COMMENTARY), rng.choice(STATUS_ACTIONS)
            override = reason = None
            if last and idx == STATUS_QUOTED:
                commentary = (
                    f"Cut-over rehearsal for the {name} passed, with two open defects.\n"
                    'The vendor\'s "final" build arrives on Tuesday.'
                )
                actions = "Fix the two defects; re-run the reconciliation report."
            if last and idx == STATUS_OVERRIDE:
                commentary = "Costs above plan: the licence true-up was invoiced twice."
                actions = "Book the credit note as soon as it arrives."
                agreed = week - dt.timedelta(days=4)
                override = "amber"
                reason = (
                    f"Vendor credit note for the duplicate licence invoice agreed on {agreed.isoformat()}; "
                    "actual cost falls back to plan once it is booked."
                )
            out[week].append([pid, week.isoformat(), override, reason, manager, entered.isoformat(), commentary,
                              actions])  # fmt: skip
    return {week: rows for week, rows in out.items() if rows}


def _key_order(element_key: str) -> tuple[str, int]:
    project, _, number = element_key.rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _parse_jira(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%d/%b/%y %I:%M %p")
