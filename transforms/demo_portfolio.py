"""A seeded, deterministic demo portfolio, written in the real vendor export formats.

About a dozen IT projects (agile and plan-driven; on track, late, over budget, one rebaselined), forty
people and half a year of history: a Jira CSV export, a Tempo worklog export, a Snipe-IT asset export and
the product's own inputs. A few rows are deliberately bad, so the data-quality page has something to show.
Pure: returns file names and bytes; the caller writes them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass

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
# Behaviour per project: (schedule slip factor, cost factor); index 3 (IAM) is rebaselined.
PROFILES = ((1.0, 1.0), (1.0, 1.35), (1.5, 1.05), (1.3, 1.2), (1.0, 0.95), (1.6, 1.4),
            (1.0, 1.0), (1.2, 1.0), (1.0, 1.15), (1.0, 1.0), (1.4, 1.3), (1.05, 1.05))  # fmt: skip
REBASELINED = 3
HOLIDAYS = (
    dt.date(2026, 1, 1),
    dt.date(2026, 4, 3),
    dt.date(2026, 4, 6),
    dt.date(2026, 5, 1),
    dt.date(2026, 5, 25),
)
ITEM_WORDS = ("Design", "Build", "Configure", "Migrate", "Test", "Document", "Deploy", "Review", "Integrate")
ITEM_THINGS = ("interfaces", "user roles", "reports", "data model", "firewall rules", "cut-over plan",
               "monitoring", "training material", "API gateway", "backups", "SSO", "dashboards")  # fmt: skip


@dataclass(frozen=True)
class DemoSettings:
    seed: int = 2026
    projects: int = 12
    people: int = 40
    weeks: int = 26
    end: dt.date = dt.date(2026, 6, 28)  # a Sunday: the last status date with data


def jira_datetime(value: dt.datetime) -> str:
    """Jira's CSV date format, e.g. 22/Sep/25 9:26 AM (English month names whatever the locale)."""
    hour = value.hour % 12 or 12
    ampm = "AM" if value.hour < 12 else "PM"
    return f"{value.day:02d}/{MONTHS[value.month - 1]}/{value.year % 100:02d} {hour}:{value.minute:02d} {ampm}"


def _csv(header: list[str], rows: list[list], delimiter: str = ",", bom: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _working_days(start: dt.date, finish: dt.date) -> list[dt.date]:
    days = [start + dt.timedelta(days=i) for i in range((finish - start).days + 1)]
    return [d for d in days if d.isoweekday() <= 5 and d not in HOLIDAYS]


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def generate(settings: DemoSettings = DemoSettings()) -> dict[str, bytes]:
    """The demo inbox: relative path → file bytes. Same settings, same bytes."""
    rng = random.Random(settings.seed)
    first_day = settings.end - dt.timedelta(weeks=settings.weeks) + dt.timedelta(days=1)
    people = []
    for i in range(settings.people):
        role = ("developer", "engineer", "analyst", "tester", "architect", "project_manager")[i % 6]
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        account = f"{rng.getrandbits(96):024x}"
        people.append(
            {
                "person_id": f"u{i + 1:03d}",
                "display_name": name,
                "email": f"{name.lower().replace(' ', '.').replace('é', 'e')}@example.org",
                "team": TEAMS[i % len(TEAMS)],
                "role": "contractor" if i == settings.people - 1 else role,
                "jira_account_id": account,
                "tempo_user": account,
                "contracted_hours_week": 40 if i % 5 else 32,
            }
        )
    issues, worklogs, baseline, risks, assets, register, mapping = [], [], [], [], [], [], []
    issue_id = 10000
    for p in range(settings.projects):
        key, name, portfolio, programme, style = PROJECTS[p % len(PROJECTS)]
        if p >= len(PROJECTS):
            key = f"{key}{p // len(PROJECTS) + 1}"
        pid = f"PRJ-{p + 1:03d}"
        slip, cost_factor = PROFILES[p % len(PROFILES)]
        start = _monday(first_day + dt.timedelta(weeks=rng.randint(0, 10)))
        duration_weeks = rng.randint(18, 34)
        team = rng.sample(people[:-1], k=rng.randint(3, 6))
        pm = people[(5 + 6 * p) % len(people)]
        register.append(
            [
                pid,
                name,
                portfolio,
                programme,
                f"Sponsor {LAST[p % len(LAST)]}",
                pm["display_name"],
                "active",
                "50/50" if style == "agile" else "0/100",
                "cpi",
                "default",
                None,
            ]
        )
        mapping += [["jira", key, pid], ["snipeit", f"CC-{key}", pid]]
        n_items = rng.randint(15, 30)
        rebaseline_week = 12 if p % len(PROJECTS) == REBASELINED else None
        for i in range(n_items):
            issue_id += 1
            item_key = f"{key}-{i + 1}"
            person = team[i % len(team)]
            estimate_h = rng.choice((8, 16, 24, 32, 40, 60, 80))
            offset = dt.timedelta(weeks=duration_weeks * 0.85 * i / n_items)
            planned_start = _monday(start + offset)
            planned_finish = planned_start + dt.timedelta(days=7 * rng.randint(1, 3) - 3)
            rate = ROLES.get(person["role"], 80)
            baseline.append(
                [
                    pid,
                    1,
                    (start + dt.timedelta(days=6)).isoformat(),
                    "initial plan",
                    item_key,
                    "labour",
                    f"{estimate_h * rate:.2f}",
                    planned_start.isoformat(),
                    planned_finish.isoformat(),
                ]
            )
            hours_total = estimate_h * cost_factor * rng.uniform(0.9, 1.1)
            actual_start = start + (planned_start - start) * slip + dt.timedelta(days=rng.randint(0, 3))
            # Nobody logs more than about six hours a day on one item: big items take longer.
            span = max((planned_finish - planned_start) * slip, dt.timedelta(days=hours_total / 6 * 7 / 5))
            actual_finish = actual_start + dt.timedelta(days=round(span.total_seconds() / 86400))
            if rebaseline_week is not None:
                pushed = (
                    planned_start + dt.timedelta(weeks=4)
                    if planned_start > start + dt.timedelta(weeks=10)
                    else planned_start
                )
                shift = pushed - planned_start
                effective = (start + dt.timedelta(weeks=rebaseline_week, days=6)).isoformat()
                baseline.append(
                    [
                        pid,
                        2,
                        effective,
                        "scope approved by the steering committee",
                        item_key,
                        "labour",
                        f"{estimate_h * rate * 1.2:.2f}",
                        (planned_start + shift).isoformat(),
                        (planned_finish + shift).isoformat(),
                    ]
                )
            days = _working_days(actual_start, actual_finish)
            logged = 0.0
            for day in days:
                if day > settings.end:
                    break
                h = min(8.0, round(hours_total / len(days) * 4) / 4 or 0.25)
                logged += h
                worklogs.append(
                    [
                        item_key,
                        f"Item {item_key}",
                        f"{h:.2f}",
                        f"{day.isoformat()} 00:00",
                        person["tempo_user"],
                        person["display_name"],
                        key,
                        "Development",
                        "Task",
                        key,
                        name,
                        "",
                        f"{h:.2f}" if style == "agile" else "0",
                    ]
                )
            done = actual_finish <= settings.end
            started = actual_start <= settings.end
            status, category = (
                ("Done", "Done") if done else (("In Progress", "In Progress") if started else ("To Do", "To Do"))
            )
            created = dt.datetime.combine(start - dt.timedelta(days=3), dt.time(9, 30)) + dt.timedelta(hours=i)
            resolved = dt.datetime.combine(actual_finish, dt.time(16, 45)) if done else None
            updated = resolved or dt.datetime.combine(min(settings.end, max(actual_start, start)), dt.time(11, 5))
            sprint = f"{key} Sprint {(planned_start - start).days // 14 + 1}" if style == "agile" else ""
            labels = [
                lbl for lbl in (key.lower(), "migration" if i % 3 == 0 else "", "q2" if i % 4 == 0 else "") if lbl
            ]
            issues.append([
                f"{rng.choice(ITEM_WORDS)} {rng.choice(ITEM_THINGS)}", item_key, issue_id,
                "Story" if style == "agile" else "Task", status, key,
                rng.choice(("High", "Medium", "Medium", "Low")), person["display_name"], person["jira_account_id"],
                jira_datetime(created), jira_datetime(updated), jira_datetime(resolved) if resolved else "",
                jira_datetime(dt.datetime.combine(planned_finish, dt.time(17, 0))),
                estimate_h * 3600, 0 if done else max(int((estimate_h - logged) * 3600), 0), int(logged * 3600),
                sprint, "", (rng.choice((1, 2, 3, 5, 8)) if style == "agile" else ""),
                *(labels + ["", "", ""])[:3], category,
            ])  # fmt: skip
        for r in range(rng.randint(2, 4)):
            risks.append([f"R-{key}-{r + 1}", pid, rng.choice(("Vendor delivery slips", "Key person leaves",
                          "Licence costs rise", "Data quality worse than assumed", "Integration defects")),
                          f"{rng.choice((0.1, 0.2, 0.3, 0.5, 0.7)):.2f}", rng.choice((5000, 12000, 25000, 60000)),
                          rng.choice((0, 5, 10, 20)), pm["display_name"], "open" if r < 2 else "closed",
                          settings.end.isoformat(), "mitigate"])  # fmt: skip
        for a in range(rng.randint(3, 7)):
            purchase = start + dt.timedelta(days=rng.randint(0, 60))
            assets.append([f"CC-{key}", rng.choice(("Laptop", "Switch", "Firewall", "Server", "Access point")),
                           f"{key}-{a + 1:04d}", rng.choice(("Laptops", "Network", "Servers")), "Acme Supply",
                           rng.choice(("Dell", "Cisco", "HPE", "Lenovo")), "HQ", f"PO-{issue_id}{a}",
                           rng.choice(("Latitude 7450", "Catalyst 9300", "ProLiant DL360")), "", f"M{a}",
                           "", f"{purchase.month}/{purchase.day}/{purchase.year % 100:02d}",
                           f"{rng.choice((1200, 1850.5, 4200, 9800)):.2f}", "", "", "", "", "", "",
                           f"{purchase.month}/{purchase.day}/{(purchase.year + 4) % 100:02d}"])  # fmt: skip
    # Deliberately bad rows: the data-quality page shows each with its file, line, column and rule.
    worklogs.append(
        [
            "ERP-1",
            "Item ERP-1",
            "-3.00",
            f"{first_day.isoformat()} 00:00",
            people[0]["tempo_user"],
            people[0]["display_name"],
            "ERP",
            "Development",
            "Task",
            "ERP",
            "ERP upgrade",
            "",
            "0",
        ]
    )
    worklogs.append(
        [
            "ERP-2",
            "Item ERP-2",
            "4.00",
            "31/02/2026",
            people[0]["tempo_user"],
            people[0]["display_name"],
            "ERP",
            "Development",
            "Task",
            "ERP",
            "ERP upgrade",
            "",
            "0",
        ]
    )
    # Hours that cannot be costed: an unmatched person, and the contractor with no rate.
    worklogs.append(
        [
            "CRM-3",
            "Item CRM-3",
            "6.00",
            f"{(first_day + dt.timedelta(days=15)).isoformat()} 00:00",
            "unknown-account",
            "Temp Contractor",
            "CRM",
            "Development",
            "Task",
            "CRM",
            "CRM",
            "",
            "0",
        ]
    )
    worklogs.append(
        [
            "CRM-4",
            "Item CRM-4",
            "5.00",
            f"{(first_day + dt.timedelta(days=16)).isoformat()} 00:00",
            people[-1]["tempo_user"],
            people[-1]["display_name"],
            "CRM",
            "Development",
            "Task",
            "CRM",
            "CRM",
            "",
            "0",
        ]
    )
    assets.append(["CC-NET", "Router", "NET-9999", "Network", "Acme Supply", "Cisco", "HQ", "PO-X", "ISR 4331",
                   "", "M9", "", "13/45/26", "n/a", "", "", "", "", "", "", ""])  # fmt: skip
    worklogs.sort(key=lambda w: (w[3], w[0], w[4]))
    rates = [[None, role, f"{rate:.2f}", "EUR", "2025-01-01", "2026-03-31"] for role, rate in ROLES.items()]
    rates += [[None, role, f"{rate * 1.04:.2f}", "EUR", "2026-04-01", None] for role, rate in ROLES.items()]
    rates += [[people[4]["person_id"], None, "135.00", "EUR", "2025-01-01", None]]
    jira_header = ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Priority", "Assignee",
                   "Assignee Id", "Created", "Updated", "Resolved", "Due date", "Original estimate",
                   "Remaining Estimate", "Time Spent", "Sprint", "Sprint", "Custom field (Story Points)",
                   "Labels", "Labels", "Labels", "Status Category"]  # fmt: skip
    tempo_header = ["Issue Key", "Issue summary", "Hours", "Work date", "Username", "Full name", "Account Key",
                    "Activity Name", "Issue Type", "Project Key", "Project Name", "Work Description",
                    "Billed Hours"]  # fmt: skip
    snipe_header = ["Company", "Name", "Asset Tag", "Category", "Supplier", "Manufacturer", "Location",
                    "Order Number", "Model", "Model Notes", "Model Number", "Asset Notes", "Purchase Date",
                    "Purchase Cost", "Checkout Type", "Checked Out To: Username", "Checked Out To: First Name",
                    "Checked Out To: Last Name", "Checked Out To: Email", "Checked Out To: Location",
                    "Asset EOL Date"]  # fmt: skip
    stamp = settings.end.isoformat()
    person_cols = list(people[0])
    return {
        f"jira/jira_export_{stamp}.csv": _csv(jira_header, issues),
        f"tempo/tempo_worklogs_{stamp}.csv": _csv(tempo_header, worklogs),
        f"snipeit/assets_{stamp}.csv": _csv(snipe_header, assets, bom=True),
        "pmo/projects.csv": _csv(["project_id", "name", "portfolio", "programme", "sponsor", "manager", "status",
                                  "ev_technique", "eac_method", "calendar_id", "closed_on"], register),
        "pmo/project_map.csv": _csv(["source_kind", "source_key", "project_id"], mapping),
        "pmo/baseline.csv": _csv(["project_id", "baseline_version", "effective_from", "reason", "element_key",
                                  "cost_category", "budget", "planned_start", "planned_finish"], baseline),
        "pmo/rate_card.csv": _csv(["person_id", "role", "hourly_rate", "currency", "valid_from", "valid_to"], rates),
        "pmo/people.csv": _csv(person_cols, [[p[c] for c in person_cols] for p in people]),
        "pmo/holidays.csv": _csv(["calendar_id", "date", "holiday"],
                                 [["default", d.isoformat(), "public holiday"] for d in HOLIDAYS]),
        "pmo/risks.csv": _csv(["risk_id", "project_id", "title", "probability", "cost_impact",
                               "schedule_impact_days", "owner", "status", "review_date", "response"], risks),
    }  # fmt: skip
