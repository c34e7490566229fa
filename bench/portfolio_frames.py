"""A seeded portfolio at scale, as the staging tables the weekly marts read (the marts benchmark's input).

    generate(scale) -> {table: polars frame}

Every frame has exactly the canonical columns and types (`transforms.canonical.schema(table)`), and staging's own
additions: `project_id` on work_items, worklogs, assets and licences; `person_id` and `item_known` on worklogs.
Rows are unique per natural key and sorted by it, as staging leaves them. Built with numpy and polars column
operations, never a Python loop over rows; same seed, same frames.

The portfolio at full scale: 1,000 projects starting in the first four weeks of a 104-week window that ends on
a Sunday (the as-of date), each planned for 26 to 130 weeks with its own cost and schedule performance; 5,000
people in 8 roles, a rate per role that changes mid-period (and own rates for a few people); 1,000,000 work
items, each a baseline element of its project (budget = estimate × the rate in force at its planned start,
spread over its planned start..due date), exported every 26 weeks (≤ 4 snapshot rows per item, from its
creation on); 10,000,000 worklogs on the items that have started, between their actual start and finish;
100,000 assets (a third charged to a project), a few thousand licences, 5 risks per project, public holidays.
"half" and "quarter" keep that shape (items and worklogs per project) with fewer projects; "small" is a quick run.
Techniques: mostly 0/100 and 50/50, some percent complete; EAC method cpi; calendar "default".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from transforms import canonical
from transforms.baselines import VERSION_SCHEMA

WEEKS = 104
AS_OF = dt.date(2026, 11, 15)  # a Sunday: the last status date
DAY0 = AS_OF - dt.timedelta(days=WEEKS * 7 - 1)  # Monday 2024-11-18, the first day of the first week
LAST = WEEKS * 7 - 1  # the as-of date as a day number (days since DAY0)
RATE_CHANGE = 52 * 7  # role rates rise 5 % from the first day of week 53
SNAPSHOT_EVERY = 26  # weeks between ticket exports: exports at weeks 26, 52, 78 and 104

SCALES = {
    "full": {"projects": 1_000, "people": 5_000, "items": 1_000_000, "worklogs": 10_000_000, "assets": 100_000,
             "licences": 3_000},
    "half": {"projects": 500, "people": 2_500, "items": 500_000, "worklogs": 5_000_000, "assets": 50_000,
             "licences": 1_500},
    "quarter": {"projects": 250, "people": 1_250, "items": 250_000, "worklogs": 2_500_000, "assets": 25_000,
                "licences": 750},
    "small": {"projects": 20, "people": 200, "items": 2_000, "worklogs": 20_000, "assets": 2_000, "licences": 100},
}  # fmt: skip
ROLES = np.array(["developer", "engineer", "analyst", "architect", "tester", "project_manager", "designer", "dba"])
ROLE_RATE = np.array([85.0, 90.0, 75.0, 120.0, 70.0, 100.0, 80.0, 95.0])
ROLE_WEIGHT = np.array([0.35, 0.15, 0.12, 0.05, 0.15, 0.06, 0.07, 0.05])
TEAM_SIZE = 30  # people a project draws its assignees from
RISKS_PER_PROJECT = 5
HOLIDAYS = ["2024-12-25", "2024-12-26", "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-01", "2025-05-29",
            "2025-12-25", "2025-12-26", "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01"]  # fmt: skip


def _dates(days: np.ndarray) -> pl.Series:
    """Day numbers (days since DAY0) as a polars Date series."""
    return pl.Series((np.datetime64(DAY0, "D") + days.astype("int64")).astype("datetime64[D]"))


def _frame(table: str, columns: dict, extra: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    """The canonical columns of `table` in order and type (NULL where not given), then staging's `extra` ones."""
    out = pl.DataFrame(columns)
    target = canonical.schema(table) | (extra or {})
    return out.select([(pl.col(c) if c in out.columns else pl.lit(None)).cast(t).alias(c) for c, t in target.items()])


def _pick(values: list[str], codes: np.ndarray) -> pl.Series:
    """values[codes] as a String series (gathered in polars: numpy string arrays are slow to convert)."""
    return pl.Series(values, dtype=pl.String).gather(codes)


def _keys(prefix: str, numbers: np.ndarray, width: int) -> pl.Expr:
    return pl.format(f"{prefix}{{}}", pl.lit(pl.Series(numbers)).cast(pl.String).str.zfill(width))


def _key_series(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return pl.select(_keys(prefix, numbers, width).alias("k")).to_series()


def generate(scale: str = "full", seed: int = 7) -> dict[str, pl.DataFrame]:
    """The staging tables of a seeded portfolio at `scale` ("full" or "small"), and `as_of` is AS_OF.

    Returns projects, people, rates, holidays, work_items, worklogs, baselines, assets, licences, risks, and the
    empty evm_status, sprints, frozen_versions (plans.baseline_versions) and frozen_elements (plans.baselines)."""
    size = SCALES[scale]
    rng = np.random.default_rng(seed)
    n_p, n_people, n_items, n_logs = size["projects"], size["people"], size["items"], size["worklogs"]

    # People: role, team; a few with their own rate.
    role = rng.choice(len(ROLES), n_people, p=ROLE_WEIGHT)
    person_ids = _key_series("U", np.arange(1, n_people + 1), 5)
    own_rate = np.where(
        rng.random(n_people) < 0.02, np.round(ROLE_RATE[role] * rng.uniform(0.9, 1.3, n_people)), np.nan
    )
    names = _key_series("Person ", np.arange(1, n_people + 1), 5)
    people = _frame(
        "people",
        {
            "person_id": person_ids, "display_name": names,
            "email": _key_series("person", np.arange(1, n_people + 1), 5) + "@example.org",
            "team": _key_series("Team ", np.arange(n_people) // 50 + 1, 3), "role": ROLES[role],
            "jira_account_id": _key_series("acc-", np.arange(1, n_people + 1), 5),
            "tempo_user": _key_series("tempo-", np.arange(1, n_people + 1), 5),
            "contracted_hours_week": np.where(rng.random(n_people) < 0.1, 32.0, 40.0), "calendar_id": "default",
            "_source_file": 1, "_line": np.arange(2, n_people + 2),
        },
    )  # fmt: skip

    # Rates: per role, raised 5 % mid-period; a few people have their own.
    n_roles, has_own = len(ROLES), ~np.isnan(own_rate)
    n_own = int(has_own.sum())
    rates = _frame(
        "rates",
        {
            "person_id": pl.concat([pl.Series([None] * (2 * n_roles), dtype=pl.String), person_ids.filter(has_own)]),
            "role": pl.Series([*ROLES, *ROLES, *[None] * n_own], dtype=pl.String),
            "hourly_rate": np.concatenate([ROLE_RATE, np.round(ROLE_RATE * 1.05, 2), own_rate[has_own]]),
            "currency": "EUR",
            "valid_from": _dates(np.repeat([-365, RATE_CHANGE, -365], [n_roles, n_roles, n_own])),
            "valid_to": _dates(np.full(2 * n_roles + n_own, RATE_CHANGE - 1)).set(
                pl.Series(np.arange(2 * n_roles + n_own) >= n_roles), None
            ),
            "_source_file": 2, "_line": np.arange(2, 2 * n_roles + n_own + 2),
        },
    ).sort("person_id", "role", "valid_from", nulls_last=False)  # fmt: skip
    # The rate in force per person on a day number: own rate, else the role's (before/after the change).
    role_before, role_after = ROLE_RATE[role], np.round(ROLE_RATE[role] * 1.05, 2)

    def rate_on(person: np.ndarray, day: np.ndarray) -> np.ndarray:
        by_role = np.where(day >= RATE_CHANGE, role_after[person], role_before[person])
        return np.where(np.isnan(own_rate[person]), by_role, own_rate[person])

    # Projects: start in the first four weeks, planned for 26..130 weeks; own cost and schedule factors.
    p_start = rng.integers(0, 28, n_p)
    p_weeks = rng.integers(26, 131, n_p)
    p_finish = p_start + p_weeks * 7 - 1
    cost_factor = rng.lognormal(0.0, 0.15, n_p)  # > 1: over budget
    slip_factor = 1.0 + np.abs(rng.normal(0.0, 0.15, n_p))  # > 1: late
    technique = rng.choice(np.array(["0/100", "50/50", "percent_complete"]), n_p, p=[0.45, 0.45, 0.10])
    p_keys = _key_series("P", np.arange(n_p), 4)

    # Work items: each a baseline element of its project, planned inside the project's span.
    weights = rng.lognormal(0.0, 0.5, n_p) * p_weeks
    per_project = rng.multinomial(n_items, weights / weights.sum())
    proj = np.repeat(np.arange(n_p), per_project)
    number = np.arange(n_items) - np.repeat(np.cumsum(per_project) - per_project, per_project) + 1
    milestone = rng.random(n_items) < 0.02
    span = np.where(milestone, 0, rng.integers(3, 43, n_items))  # calendar days after the planned start
    room = np.maximum(p_finish[proj] - p_start[proj] - span, 1)
    planned_start = p_start[proj] + (rng.random(n_items) * room).astype(np.int64)
    planned_finish = planned_start + span
    estimate = np.where(milestone, 2.0, np.maximum(1.0, np.round(rng.gamma(2.0, 9.0, n_items) * 2) / 2))
    assignee = (proj * 7 + rng.integers(0, TEAM_SIZE, n_items)) % n_people
    budget = np.round(estimate * rate_on(assignee, planned_start), 4)
    # Actuals: starts and durations stretched by the project's slip, hours by its cost factor.
    s = slip_factor[proj]
    actual_start = p_start[proj] + np.round((planned_start - p_start[proj]) * s + rng.normal(0, 3, n_items)).astype(
        np.int64
    )
    actual_start = np.maximum(actual_start, p_start[proj])
    actual_days = np.round(span * s * rng.lognormal(0.0, 0.2, n_items)).astype(np.int64)
    actual_finish = actual_start + actual_days
    actual_hours = estimate * cost_factor[proj] * rng.lognormal(0.0, 0.25, n_items)
    created = np.maximum(p_start[proj], planned_start - rng.integers(0, 22, n_items))
    item_type = rng.choice(3, n_items, p=[0.5, 0.3, 0.2])  # Story, Task, Bug
    priority = rng.choice(4, n_items, p=[0.03, 0.17, 0.5, 0.3])  # critical, high, medium, low
    points = rng.choice(np.array([1.0, 2.0, 3.0, 5.0, 8.0]), n_items)
    item_keys = pl.select(pl.format("{}-{}", pl.lit(p_keys[proj]), pl.lit(pl.Series(number)))).to_series()

    last_finish = np.full(n_p, -1)
    np.maximum.at(last_finish, proj, actual_finish)
    closed = (last_finish <= LAST - 7) & (per_project > 0)
    projects = _frame(
        "projects",
        {
            "project_id": p_keys, "name": _key_series("Project ", np.arange(n_p), 4),
            "portfolio": _key_series("Portfolio ", np.arange(n_p) % 5 + 1, 1),
            "programme": pl.Series(np.where(np.arange(n_p) % 5 == 4, None,
                                            np.char.add("Programme ", (np.arange(n_p) % 40 + 1).astype(str)))),
            "sponsor": names[(np.arange(n_p) * 13) % n_people], "manager": names[(np.arange(n_p) * 7) % n_people],
            "status": np.where(closed, "closed", "active"), "ev_technique": technique, "eac_method": "cpi",
            "calendar_id": "default", "closed_on": _dates(last_finish).set(pl.Series(~closed), None),
            "planned_rate": 90.0, "_source_file": 3, "_line": np.arange(2, n_p + 2),
        },
    )  # fmt: skip

    baselines = _frame(
        "baselines",
        {
            "project_id": p_keys[proj], "baseline_version": 1, "effective_from": _dates(p_start[proj]),
            "reason": "initial baseline", "element_key": item_keys, "cost_category": "labour", "budget": budget,
            "planned_start": _dates(planned_start), "planned_finish": _dates(planned_finish), "is_milestone": milestone,
            "source_kind": "baseline", "_source_file": 4, "_line": np.arange(2, n_items + 2),
        },
    ).sort("project_id", "baseline_version", "element_key")  # fmt: skip

    # Ticket exports every 26 weeks: an item appears in every export from its creation on.
    snap_days = np.arange(1, WEEKS // SNAPSHOT_EVERY + 1) * SNAPSHOT_EVERY * 7 - 1
    parts = []
    for k, snap in enumerate(snap_days):  # four exports: a loop over files, not rows
        idx = np.flatnonzero(created <= snap)
        done = actual_finish[idx] <= snap
        started = actual_start[idx] <= snap
        elapsed = np.clip((snap - actual_start[idx] + 1) / (actual_days[idx] + 1), 0.0, 1.0)
        spent = np.round(actual_hours[idx] * elapsed, 2)
        remaining = np.where(done, 0.0, np.round(np.maximum(actual_hours[idx] - spent, 0.0), 2))
        blocked = started & ~done & (rng.random(idx.size) < 0.03)
        category = np.where(done, 2, np.where(started, 1, 0))  # todo, doing, done
        status = np.where(blocked, 3, category)  # To Do, In Progress, Done, Blocked
        parts.append(
            pl.DataFrame(
                {
                    "_i": idx, "snapshot_date": _dates(np.full(idx.size, snap)),
                    "status": _pick(["To Do", "In Progress", "Done", "Blocked"], status),
                    "status_category": _pick(["todo", "doing", "done"], category),
                    "resolved": _dates(actual_finish[idx]).set(pl.Series(~done), None),
                    "remaining_estimate_h": remaining, "time_spent_h": np.where(started, spent, 0.0),
                    "_source_file": 10 + k, "_line": np.arange(2, idx.size + 2),
                }
            )
        )  # fmt: skip
    snaps = pl.concat(parts)
    i = snaps.get_column("_i").to_numpy()
    who = assignee[i]
    work_items = _frame(
        "work_items",
        {
            "item_key": item_keys.gather(i), "snapshot_date": snaps["snapshot_date"], "source_kind": "jira",
            "source_project_key": p_keys.gather(proj[i]), "summary": "Work item " + item_keys.gather(i),
            "type": _pick(["Story", "Task", "Bug"], item_type[i]), "status": snaps["status"],
            "status_category": snaps["status_category"],
            "priority": _pick(["critical", "high", "medium", "low"], priority[i]), "assignee": names.gather(who),
            "assignee_account_id": pl.select(_keys("acc-", who + 1, 5)).to_series(),
            "created": _dates(created[i]), "resolved": snaps["resolved"], "due": _dates(planned_finish[i]),
            "planned_start": _dates(planned_start[i]), "original_estimate_h": estimate[i],
            "remaining_estimate_h": snaps["remaining_estimate_h"], "time_spent_h": snaps["time_spent_h"],
            "story_points": points[i], "is_milestone": milestone[i], "_source_file": snaps["_source_file"],
            "_line": snaps["_line"], "project_id": p_keys.gather(proj[i]),
        },
        {"project_id": pl.String},
    ).sort("item_key", "snapshot_date")  # fmt: skip
    del snaps, parts, i, who

    # Worklogs on the started items, spread over their worked days to the as-of date, hours ∝ actual hours.
    to_date = np.clip((LAST - actual_start + 1) / (actual_days + 1), 0.0, 1.0) * (actual_start <= LAST)
    hours_to_date = actual_hours * to_date
    per_item = rng.multinomial(n_logs, hours_to_date / hours_to_date.sum())
    item = np.repeat(np.arange(n_items), per_item)
    first = actual_start[item]
    days_worked = np.minimum(actual_finish[item], LAST) - first + 1
    work_day = first + (rng.random(n_logs) * days_worked).astype(np.int64)
    dow = work_day % 7  # DAY0 is a Monday: 5 and 6 are the weekend
    work_day = np.where(dow >= 5, np.maximum(work_day - (dow - 4), first), work_day)
    hours = np.maximum(0.25, np.round(hours_to_date[item] / per_item[item] * 4) / 4)
    person = np.where(rng.random(n_logs) < 0.85, assignee[item], (proj[item] * 7 + rng.integers(0, TEAM_SIZE, n_logs)))
    person = person % n_people
    unmatched = rng.random(n_logs) < 0.001  # a Tempo user nobody knows: an exception, never dropped
    order = np.argsort(work_day, kind="stable")  # worklog ids grow with the work date
    item, work_day, hours, person, unmatched = (
        item[order],
        work_day[order],
        hours[order],
        person[order],
        unmatched[order],
    )
    del order, first, days_worked, dow
    tempo_user = pl.select(_keys("tempo-", person + 1, 5)).to_series()
    worklogs = _frame(
        "worklogs",
        {
            "worklog_id": _key_series("TW", np.arange(1, n_logs + 1), 8), "source_kind": "tempo",
            "person_source_id": tempo_user.set(pl.Series(unmatched), "tempo-ghost"),
            "person_name": names.gather(person),
            "item_key": item_keys.gather(item), "source_project_key": p_keys.gather(proj[item]),
            "work_date": _dates(work_day), "hours": hours, "billable": rng.random(n_logs) < 0.7,
            "_source_file": 20 + work_day // 91, "_line": np.arange(2, n_logs + 2),
            "project_id": p_keys.gather(proj[item]),
            "person_id": person_ids.gather(person).set(pl.Series(unmatched), None), "item_known": True,
        },
        {"project_id": pl.String, "person_id": pl.String, "item_known": pl.Boolean},
    )  # fmt: skip
    del item, work_day, hours, person, unmatched, tempo_user

    # Assets (a third charged to a project), licences (half), risks (5 per project), holidays.
    n_a = size["assets"]
    bought = rng.integers(-900, LAST, n_a)
    assets = _frame(
        "assets",
        {
            "asset_tag": _key_series("AT-", np.arange(1, n_a + 1), 6), "source_kind": "snipeit",
            "name": _key_series("Asset ", np.arange(1, n_a + 1), 6),
            "category": _pick(["Laptop", "Monitor", "Server", "Switch"], rng.integers(0, 4, n_a)),
            "model": _pick(["X1", "U2720", "R740", "C9300"], rng.integers(0, 4, n_a)), "manufacturer": "Acme",
            "serial": _key_series("SN", np.arange(1, n_a + 1), 7), "status": "Deployed",
            "owner_id": person_ids.gather(rng.integers(0, n_people, n_a)), "location": "HQ",
            "cost_centre": _key_series("CC-", rng.integers(1, 51, n_a), 2), "purchase_date": _dates(bought),
            "purchase_cost": np.round(rng.uniform(300, 9000, n_a), 2),
            "warranty_end": _dates(bought + 365 * rng.integers(1, 4, n_a)),
            "eol_date": _dates(bought + 365 * rng.integers(4, 6, n_a)), "_source_file": 30,
            "_line": np.arange(2, n_a + 2),
            "project_id": p_keys.gather(rng.integers(0, n_p, n_a)).set(pl.Series(rng.random(n_a) >= 1 / 3), None),
        },
        {"project_id": pl.String},
    )  # fmt: skip
    n_l = size["licences"]
    seats = rng.integers(5, 500, n_l)
    licence_bought = rng.integers(-700, LAST, n_l)
    licences = _frame(
        "licences",
        {
            "licence_id": _key_series("L-", np.arange(1, n_l + 1), 5), "source_kind": "snipeit",
            "product": rng.choice(np.array(["Office", "IDE", "CAD", "Monitoring"]), n_l), "manufacturer": "Acme",
            "seats": seats, "seats_assigned": np.round(seats * rng.uniform(0.5, 1.1, n_l)).astype(np.int64),
            "cost": np.round(seats * rng.uniform(20, 400, n_l), 2), "purchase_date": _dates(licence_bought),
            "expiry": _dates(licence_bought + 365 * rng.integers(1, 4, n_l)),
            "cost_centre": _key_series("CC-", rng.integers(1, 51, n_l), 2), "_source_file": 31,
            "_line": np.arange(2, n_l + 2),
            "project_id": p_keys.gather(rng.integers(0, n_p, n_l)).set(pl.Series(rng.random(n_l) >= 0.5), None),
        },
        {"project_id": pl.String},
    )  # fmt: skip
    n_r = n_p * RISKS_PER_PROJECT
    r_proj = np.repeat(np.arange(n_p), RISKS_PER_PROJECT)
    r_open = np.minimum(p_finish[r_proj], LAST) - p_start[r_proj]
    risks = _frame(
        "risks",
        {
            "risk_id": p_keys.gather(r_proj) + "-R" + pl.Series(np.tile(np.arange(1, RISKS_PER_PROJECT + 1), n_p)).cast(
                pl.String
            ),
            "project_id": p_keys.gather(r_proj), "title": "Risk",
            "probability": np.round(rng.uniform(0.05, 0.9, n_r), 2),
            "cost_impact": rng.integers(1_000, 200_000, n_r).astype(np.float64),
            "schedule_impact_days": rng.integers(0, 30, n_r).astype(np.float64),
            "owner": person_ids.gather(rng.integers(0, n_people, n_r)),
            "status": np.where(rng.random(n_r) < 0.75, "open", "closed"),
            "review_date": _dates(p_start[r_proj] + (rng.random(n_r) * r_open).astype(np.int64)),
            "response": "mitigate", "_source_file": 32, "_line": np.arange(2, n_r + 2),
        },
    ).sort("risk_id")  # fmt: skip
    holidays = _frame(
        "holidays",
        {"calendar_id": "default", "date": pl.Series(HOLIDAYS).str.to_date(), "holiday": "public holiday",
         "_source_file": 33, "_line": np.arange(2, len(HOLIDAYS) + 2)},
    )  # fmt: skip

    return {
        "projects": projects,
        "people": people,
        "rates": rates,
        "holidays": holidays,
        "work_items": work_items,
        "worklogs": worklogs,
        "baselines": baselines,
        "assets": assets.sort("asset_tag"),
        "licences": licences.sort("licence_id"),
        "risks": risks,
        "evm_status": canonical.empty("evm_status"),
        "sprints": canonical.empty("sprints"),
        "frozen_versions": pl.DataFrame(schema=VERSION_SCHEMA),
        "frozen_elements": pl.DataFrame(schema=canonical.TABLES["baselines"]),
    }
