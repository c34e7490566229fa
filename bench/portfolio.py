"""A seeded large portfolio written as the exports pmo-kpi reads, in their tools' real formats.

    python -m bench.portfolio --scale full|small --out DIR

Full scale: 1,000 projects, 5,000 people, 104 weeks of history, 10 million Tempo worklogs (monthly export files),
1 million Jira issues (one export of all of them, as a PMO takes when it starts), 100,000 Snipe-IT assets (a tenth
with a one-year warranty), Snipe-IT's licence list (two annual subscriptions per project), one baseline element per
issue, five risks per project, the rate card and the people list. Each project runs late or on time and
estimates well or badly by a profile of its own, so its RAG mix is a PMO's, not a thousand projects alike.

Beside the history, `next_week/` holds what the following week adds: that week's Tempo export and a Jira export of
the issues updated in it (a JQL "updated >= -7d" export), for the incremental run.

Everything is vectorised (numpy + polars) and seeded: the same seed writes the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

AS_OF = dt.date(2026, 11, 15)  # a Sunday: the full run's status date; the incremental week ends 7 days later
FIRST = ["Ana", "Ben", "Chloé", "Dan", "Eva", "Femi", "Gus", "Hana", "Ivan", "Jun", "Kemi", "Lars", "Mia", "Nils",
         "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Vik", "Wen", "Xavi", "Yara", "Zoe", "Aldo", "Bea",
         "Cruz", "Dara", "Eli", "Fay", "Gil", "Hal", "Ines", "Jon", "Kai", "Lea", "Max", "Noa", "Oli", "Pau", "Raj",
         "Sol", "Teo", "Ulf", "Val", "Wim", "Yan", "Zia"]  # fmt: skip
ROLES = ["developer", "engineer", "analyst", "tester", "architect", "project_manager"]
RATES = [85.0, 90.0, 80.0, 70.0, 120.0, 100.0]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
JIRA_HEADER = ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Priority", "Assignee",
               "Assignee Id", "Created", "Updated", "Resolved", "Custom field (Start date)", "Due date",
               "Original estimate", "Remaining Estimate", "Time Spent", "Status Category"]  # fmt: skip


@dataclass(frozen=True)
class Scale:
    projects: int
    people: int
    weeks: int
    worklogs: int
    issues: int
    assets: int


SCALES = {
    "full": Scale(projects=1_000, people=5_000, weeks=104, worklogs=10_000_000, issues=1_000_000, assets=100_000),
    "small": Scale(projects=40, people=200, weeks=52, worklogs=200_000, issues=20_000, assets=2_000),
}


def _jira_dt(col: pl.Expr) -> pl.Expr:
    """Jira's CSV datetime, e.g. 06/Mar/26 09:30 AM (English month names)."""
    month = pl.lit(pl.Series(MONTHS)).get(col.dt.month().cast(pl.Int64) - 1)
    return pl.format("{}/{}/{} {}", col.dt.strftime("%d"), month, col.dt.strftime("%y"), col.dt.strftime("%I:%M %p"))


def _write(frame: pl.DataFrame, path: Path, **kwargs) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, **kwargs)
    return frame.height


def _weekday(day: pl.Expr) -> pl.Expr:
    """A Saturday or Sunday moved back to the Friday before (people log work on working days)."""
    wd = day.dt.weekday()  # 1 = Monday … 7 = Sunday
    return day - pl.duration(days=pl.when(wd > 5).then(wd - 5).otherwise(0))


def generate(out: Path, scale: Scale, seed: int = 8) -> dict[str, int]:
    """Write the history under out/inbox and the following week under out/next_week. Rows per export kind."""
    rng = np.random.default_rng(seed)
    inbox, nxt = out / "inbox", out / "next_week"
    first_day = AS_OF - dt.timedelta(weeks=scale.weeks) + dt.timedelta(days=1)  # a Monday
    next_end = AS_OF + dt.timedelta(days=7)
    counts: dict[str, int] = {}

    # People: unique names, one Jira/Tempo account each, a role that prices their hours.
    n = scale.people
    idx = np.arange(n)
    people = pl.DataFrame(
        {
            "person_id": [f"u{i + 1:05d}" for i in range(n)],
            "display_name": [f"{FIRST[i % len(FIRST)]} Person{i // len(FIRST) + 1:03d}" for i in range(n)],
            "role": [ROLES[i % len(ROLES)] for i in range(n)],
            "jira_account_id": [f"{v:016x}{i:08x}" for i, v in enumerate(rng.integers(0, 2**62, n))],
            "team": [f"Team {i % 40 + 1:02d}" for i in range(n)],
            "contracted_hours_week": np.where(idx % 5 == 0, 32, 40),
        }
    )
    counts["people"] = _write(
        people.select(
            "person_id", "display_name",
            pl.format("{}@example.org", pl.col("display_name").str.to_lowercase().str.replace(" ", ".")).alias("email"),
            "team", "role", "jira_account_id", pl.col("jira_account_id").alias("tempo_user"), "contracted_hours_week",
            pl.lit("default").alias("calendar_id"),
        ),
        inbox / "pmo" / "people.csv",
    )  # fmt: skip
    rate_card = pl.DataFrame(
        {"person_id": [None] * len(ROLES), "role": ROLES, "hourly_rate": [f"{r:.2f}" for r in RATES],
         "currency": ["EUR"] * len(ROLES), "valid_from": ["2020-01-01"] * len(ROLES), "valid_to": [None] * len(ROLES)}
    )  # fmt: skip
    counts["rate_card"] = _write(rate_card, inbox / "pmo" / "rate_card.csv")
    holidays = pl.DataFrame(
        {"calendar_id": "default", "date": [f"{y}-{md}" for y in range(first_day.year, next_end.year + 1)
                                            for md in ("01-01", "05-01", "12-25")], "holiday": "public holiday"}
    )  # fmt: skip
    counts["holidays"] = _write(holidays, inbox / "pmo" / "holidays.csv")

    # Projects: each runs 20–60 weeks somewhere in the history; some end before the as-of week.
    p = scale.projects
    pidx = np.arange(p)
    p_start = rng.integers(0, max(1, scale.weeks - 20), p) * 7  # day offsets, Mondays
    p_len = rng.integers(20, 61, p) * 7
    keys = [f"K{i:04d}" for i in range(p)]
    projects = pl.DataFrame(
        {
            "project_id": [f"PRJ-{i + 1:04d}" for i in range(p)],
            "key": keys,
            "name": [f"Project {i + 1:04d}" for i in range(p)],
            "portfolio": [f"Portfolio {i % 8 + 1}" for i in range(p)],
            "programme": [f"Programme {i % 40 + 1:02d}" for i in range(p)],
            "sponsor": [f"Sponsor {i % 60 + 1:02d}" for i in range(p)],
            "manager": people.get_column("display_name").gather(rng.integers(0, n, p)),
            "ev_technique": np.where(pidx % 3 == 0, "50/50", "0/100"),
            "start": p_start,
            "length": p_len,
        }
    )
    counts["projects"] = _write(
        projects.select(
            "project_id", "name", "portfolio", "programme", "sponsor", "manager", pl.lit("active").alias("status"),
            "ev_technique", pl.lit("cpi").alias("eac_method"), pl.lit("default").alias("calendar_id"),
            pl.lit(None, pl.String).alias("closed_on"), pl.lit(None, pl.String).alias("planned_rate"),
        ),
        inbox / "pmo" / "projects.csv",
    )  # fmt: skip
    project_map = pl.concat(
        [
            projects.select(pl.lit("jira").alias("source_kind"), pl.col("key").alias("source_key"), "project_id"),
            projects.select(pl.lit("snipeit").alias("source_kind"), pl.format("CC-{}", "key").alias("source_key"),
                            "project_id"),
        ]
    )  # fmt: skip
    counts["project_map"] = _write(project_map, inbox / "pmo" / "project_map.csv")

    # Issues: planned inside their project's window; the real start slips and the work takes longer or shorter than
    # planned, by the project's profile (below). What an export shows depends on its date: created, started,
    # resolved by then.
    m = scale.issues
    proj = np.sort(rng.integers(0, p, m))
    span = p_len[proj]
    planned_start = p_start[proj] + (rng.random(m) * (span - 7)).astype(np.int64)
    planned_days = rng.integers(5, 29, m)
    planned_finish = np.minimum(planned_start + planned_days, p_start[proj] + span - 1)
    # Each project has a profile, drawn from a stream of its own: how late it runs (0–1: its issues start up to that
    # share of 0–10 days late and take 0.67–1.33× their planned days times its pace, from 0.7 on time to 1.6 late)
    # and how well it estimates (about its CPI: 0.75–1.2). A portfolio of projects on time, late and very late,
    # under and over budget, as a PMO's is, rather than a thousand projects alike.
    mix_rng = np.random.default_rng([seed, 2])
    lateness, estimating = mix_rng.uniform(0, 1, p), mix_rng.uniform(0.75, 1.2, p)
    pace = 0.7 + 0.9 * lateness
    actual_start = planned_start + (rng.integers(0, 11, m) * lateness[proj]).astype(np.int64)
    # against the days planned (an issue planned to run past its project's end is planned to end with it)
    planned_len = planned_finish - planned_start
    actual_finish = actual_start + (planned_len * rng.uniform(0.8, 1.6, m) / 1.2 * pace[proj]).astype(np.int64)
    created = np.maximum(planned_start - rng.integers(1, 30, m), 0)
    assignee = rng.integers(0, n, m)
    size = rng.integers(4, 41, m)  # an issue's relative size; its estimate in hours is set from the worklogs below
    day0 = pl.lit(first_day)
    issues = pl.DataFrame(
        {
            "n": np.arange(m),
            "proj": proj,
            "type": rng.choice(["Story", "Task", "Bug"], m, p=[0.5, 0.35, 0.15]),
            "priority": rng.choice(["High", "Medium", "Low"], m),
            "assignee": assignee,
            "created": created,
            "effective": p_start[proj] + 6,  # the week end of the project's first week
            "planned_start": planned_start,
            "planned_finish": planned_finish,
            "actual_start": actual_start,
            "actual_finish": actual_finish,
        }
    ).with_columns(
        pl.lit(pl.Series(keys)).gather(pl.col("proj")).alias("project_key"),
        pl.lit(projects.get_column("project_id")).gather(pl.col("proj")).alias("project_id"),
    )
    issues = issues.with_columns(
        pl.format("{}-{}", "project_key", pl.col("n") + 1).alias("key"),
        pl.lit(people.get_column("display_name")).gather(pl.col("assignee")).alias("assignee_name"),
        pl.lit(people.get_column("jira_account_id")).gather(pl.col("assignee")).alias("assignee_id"),
        pl.lit(people.get_column("role")).gather(pl.col("assignee")).alias("role"),
    )
    rate = pl.lit(pl.Series(RATES)).gather(
        pl.col("role").replace_strict(ROLES, list(range(len(ROLES))), return_dtype=pl.Int64)
    )
    # Worklogs: about ten per started issue, more for a bigger one, on working days between its real start and finish
    # (or the as-of date), mostly by its assignee; the next week gets a week's share of them, on the issues active in
    # it.
    lo, hi = (AS_OF - first_day).days, (next_end - first_day).days  # day indexes of the as-of and the next week end
    began, active = np.flatnonzero(actual_start <= lo), np.flatnonzero((actual_start <= hi) & (actual_finish > lo))
    item = np.concatenate(
        [rng.choice(began, scale.worklogs, p=size[began] / size[began].sum()),
         rng.choice(active, scale.worklogs // scale.weeks, p=size[active] / size[active].sum())]
    )  # fmt: skip
    first = np.where(np.arange(item.size) < scale.worklogs, actual_start[item], np.maximum(actual_start[item], lo + 1))
    last = np.where(np.arange(item.size) < scale.worklogs, np.minimum(actual_finish[item], lo),
                    np.minimum(actual_finish[item], hi))  # fmt: skip
    day = first + (rng.random(item.size) * (last - first + 1)).astype(np.int64)
    who = np.where(rng.random(item.size) < 0.9, assignee[item], rng.integers(0, n, item.size))
    logs = (
        pl.DataFrame({"item": item, "day": day, "who": who, "q": rng.integers(1, 17, item.size)})
        .with_columns(_weekday(day0 + pl.duration(days="day")).alias("date"))
        # A working day: a person's quarter hours on a date are scaled down to at most 40 (10 h), one at least each.
        .with_columns(
            pl.max_horizontal(
                1,
                (pl.col("q") * pl.min_horizontal(1.0, 40 / pl.col("q").sum().over("who", "date")))
                .floor()
                .cast(pl.Int64),
            ).alias("q")
        )
        .sort("date", "item", "who")
        .with_row_index("id", offset=1)
        .select(
            pl.col("id").alias("Jira Worklog ID"),
            pl.lit(issues.get_column("key")).gather(pl.col("item")).alias("Issue Key"),
            pl.format("Work item {}", pl.col("item") + 1).alias("Issue summary"),
            (pl.col("q") / 4).alias("Hours"),
            pl.col("date").dt.strftime("%Y-%m-%d 00:00").alias("Work date"),
            pl.lit(people.get_column("jira_account_id")).gather(pl.col("who")).alias("Username"),
            pl.lit(people.get_column("display_name")).gather(pl.col("who")).alias("Full name"),
            pl.lit(issues.get_column("project_key")).gather(pl.col("item")).alias("Project Key"),
            pl.lit(issues.get_column("type")).gather(pl.col("item")).alias("Issue Type"),
            pl.lit("Development").alias("Activity Name"),
            pl.col("date"),
            pl.col("item"),
        )
    )
    # The estimates: the issues' sizes scaled so that over the portfolio they add up to the hours the worklogs record
    # (about 1.4 h × ten worklogs an issue, once a person's day is capped at 10 h), then each by its project's
    # estimating factor: a project's CPI is about that factor.
    hours_per_size = logs.get_column("Hours").sum() / size[np.unique(item)].sum()
    issues = issues.with_columns(
        pl.Series("estimate_h", np.maximum(1, np.round(size * hours_per_size * estimating[proj])).astype(np.int64))
    )
    counts["baseline"] = _write(
        issues.select(
            "project_id", pl.lit(1).alias("baseline_version"),
            (day0 + pl.duration(days="effective")).alias("effective_from"),
            pl.lit("initial plan").alias("reason"), pl.col("key").alias("element_key"),
            pl.format("Work item {}", pl.col("n") + 1).alias("element_name"), pl.lit("labour").alias("cost_category"),
            (pl.col("estimate_h") * rate).round(2).alias("budget"),
            (day0 + pl.duration(days="planned_start")).alias("planned_start"),
            (day0 + pl.duration(days="planned_finish")).alias("planned_finish"),
        ),
        inbox / "pmo" / "baseline.csv",
        float_precision=2,
    )  # fmt: skip

    history = logs.filter(pl.col("date") <= AS_OF)
    spent = history.group_by("item").agg(pl.col("Hours").sum().alias("spent_h"), pl.col("date").max().alias("last"))
    by_month = history.with_columns(pl.col("date").dt.strftime("%Y-%m").alias("month"))
    counts["tempo_worklogs"] = 0
    for (month,), part in by_month.partition_by("month", as_dict=True, maintain_order=True).items():
        counts["tempo_worklogs"] += _write(
            part.drop("date", "item", "month"), inbox / "tempo" / f"tempo_worklogs_{month}.csv", float_precision=2
        )
    week = logs.filter(pl.col("date") > AS_OF)
    counts["next_week_worklogs"] = _write(
        week.drop("date", "item"), nxt / "tempo" / f"tempo_worklogs_week_{next_end.isoformat()}.csv", float_precision=2
    )

    def jira_export(on: dt.date, rows: pl.DataFrame, spent_h: pl.DataFrame) -> pl.DataFrame:
        """The issues as a Jira export taken on `on` shows them."""
        cut = (on - first_day).days
        midnight = pl.lit(dt.datetime.combine(first_day, dt.time()))
        at = lambda c, h, mi: midnight + pl.duration(days=c, hours=h, minutes=mi)  # noqa: E731
        started, done = pl.col("actual_start") <= cut, pl.col("actual_finish") <= cut
        status = pl.when(done).then(pl.lit("Done")).when(started).then(pl.lit("In Progress")).otherwise(pl.lit("To Do"))
        spent_s = (pl.col("spent_h").fill_null(0) * 3600).round(0).cast(pl.Int64)
        return (
            rows.filter(pl.col("created") <= cut)
            .join(spent_h, left_on="n", right_on="item", how="left")
            .select(
                pl.format("Work item {}", pl.col("n") + 1).alias("Summary"), pl.col("key").alias("Issue key"),
                (pl.col("n") + 10_001).alias("Issue id"), pl.col("type").alias("Issue Type"), status.alias("Status"),
                pl.col("project_key").alias("Project key"), pl.col("priority").alias("Priority"),
                pl.col("assignee_name").alias("Assignee"), pl.col("assignee_id").alias("Assignee Id"),
                _jira_dt(at("created", 9, 30)).alias("Created"),
                _jira_dt(at(pl.min_horizontal(pl.lit(cut), pl.max_horizontal("created", pl.col("actual_start")
                                                                              .clip(upper_bound=cut))), 17, 30))
                .alias("Updated"),
                pl.when(done).then(_jira_dt(at("actual_finish", 16, 45))).alias("Resolved"),
                _jira_dt(at("planned_start", 0, 0)).alias("Custom field (Start date)"),
                _jira_dt(at("planned_finish", 0, 0)).alias("Due date"),
                (pl.col("estimate_h") * 3600).alias("Original estimate"),
                pl.when(done).then(0).otherwise((pl.col("estimate_h") * 3600 - spent_s).clip(lower_bound=0))
                .alias("Remaining Estimate"),
                spent_s.alias("Time Spent"),
                pl.when(done).then(pl.lit("Done")).when(started).then(pl.lit("In Progress")).otherwise(pl.lit("To Do"))
                .alias("Status Category"),
            )
        )  # fmt: skip

    counts["jira_issues"] = _write(
        jira_export(AS_OF, issues, spent.select("item", "spent_h")), inbox / "jira" / f"jira_export_{AS_OF}.csv"
    )
    touched = issues.filter(
        pl.col("actual_start").is_between(lo + 1, hi) | pl.col("actual_finish").is_between(lo + 1, hi)
        | pl.col("created").is_between(lo + 1, hi) | pl.col("n").is_in(week.get_column("item").unique().implode())
    )  # fmt: skip
    all_spent = logs.group_by("item").agg(pl.col("Hours").sum().alias("spent_h"))
    counts["next_week_issues"] = _write(
        jira_export(next_end, touched, all_spent), nxt / "jira" / f"jira_export_{next_end}_updated.csv"
    )

    # Assets: Snipe-IT's asset list (with a BOM, M/D/YY dates) charged to projects by company. The ITAM additions
    # (warranty terms, licences) draw from a stream of their own, so the draws before and after them are unchanged.
    itam_rng = np.random.default_rng([seed, 1])
    a = scale.assets
    owner = rng.integers(0, p, a)
    bought = p_start[owner] + rng.integers(0, 60, a)
    assets = pl.DataFrame({"n": np.arange(a), "owner": owner, "bought": np.minimum(bought, (AS_OF - first_day).days)})
    assets = assets.with_columns(
        (day0 + pl.duration(days="bought")).alias("d"),
        pl.lit(pl.Series(keys)).gather(pl.col("owner")).alias("key"),
        pl.lit(pl.Series(rng.choice(["Laptop", "Monitor", "Server", "Network"], a))).alias("category"),
        pl.lit(pl.Series((rng.integers(300, 9000, a)).astype(np.float64))).alias("cost"),
        # a warranty of 1 year (a tenth of the assets, so some end within the renewals' 180 days) or 3 years
        pl.lit(pl.Series(np.where(itam_rng.random(a) < 0.1, 1, 3))).alias("warranty_years"),
    )
    mdy = lambda c: pl.format("{}/{}/{}", c.dt.month(), c.dt.day(), c.dt.year() % 100)  # noqa: E731
    later = lambda c, years: c.dt.offset_by(pl.format("{}y", years))  # noqa: E731  (29 Feb + 1y is 28 Feb)
    counts["snipeit_assets"] = _write(
        assets.select(
            pl.format("CC-{}", "key").alias("Company"), pl.col("category").alias("Name"),
            pl.format("AT-{}", pl.col("n") + 1).alias("Asset Tag"), pl.col("category").alias("Category"),
            pl.lit("Acme Supply").alias("Supplier"), pl.lit("Dell").alias("Manufacturer"),
            pl.lit("HQ").alias("Location"),
            pl.format("PO-{}", pl.col("n") + 100_000).alias("Order Number"), pl.lit("Latitude 7450").alias("Model"),
            mdy(pl.col("d")).alias("Purchase Date"),
            pl.format("{}.00", pl.col("cost").cast(pl.Int64)).alias("Purchase Cost"),
            mdy(later(pl.col("d"), pl.col("warranty_years"))).alias("Warranty Expires"),
            mdy(later(pl.col("d"), 4)).alias("Asset EOL Date"),
        ),
        inbox / "snipeit" / f"assets_{AS_OF}.csv",
        include_bom=True,
    )  # fmt: skip
    risks = pl.DataFrame({"proj": np.repeat(pidx, 5), "k": np.tile(np.arange(1, 6), p)}).with_columns(
        pl.lit(projects.get_column("project_id")).gather(pl.col("proj")).alias("project_id"),
        pl.lit(pl.Series(keys)).gather(pl.col("proj")).alias("key"),
        pl.lit(pl.Series(rng.choice([0.1, 0.3, 0.5, 0.7], p * 5))).alias("probability"),
        pl.lit(pl.Series(rng.integers(1, 50, p * 5) * 1000)).alias("cost_impact"),
        pl.lit(pl.Series(rng.integers(0, 30, p * 5))).alias("days"),
    )
    counts["risk_register"] = _write(
        risks.select(
            pl.format("R-{}-{}", "key", "k").alias("risk_id"), "project_id",
            pl.format("Risk {} of {}", "k", "key").alias("title"), pl.col("probability").round(2), "cost_impact",
            pl.col("days").alias("schedule_impact_days"), pl.lit("Risk Owner").alias("owner"),
            pl.lit("open").alias("status"), pl.lit(str(AS_OF)).alias("review_date"),
            pl.lit("mitigate").alias("response"),
        ),
        inbox / "pmo" / "risks.csv",
    )  # fmt: skip

    # Licences: Snipe-IT's licence list export (Licences > Export: one row per licence, its seats and the free ones),
    # two annual subscriptions per project bought in its first month, so the ones of projects started 6 to 12 months
    # before the as-of date come up for renewal within 180 days.
    licence_day = np.minimum(np.repeat(p_start, 2) + itam_rng.integers(0, 31, 2 * p), (AS_OF - first_day).days)
    lic = pl.DataFrame({"proj": np.repeat(pidx, 2), "k": np.tile(np.arange(2), p), "day": licence_day}).with_columns(
        pl.lit(pl.Series(keys)).gather(pl.col("proj")).alias("key"),
        (day0 + pl.duration(days="day")).alias("bought"),
        pl.lit(pl.Series(itam_rng.integers(5, 51, 2 * p))).alias("seats"),
        pl.lit(pl.Series(itam_rng.random(2 * p))).alias("share_free"),
    )
    lic = lic.with_columns(
        (pl.col("seats") * pl.col("share_free")).floor().cast(pl.Int64).alias("free"),
        pl.lit(pl.Series(["Microsoft 365 E3", "Jira Software"])).gather(pl.col("k")).alias("product"),
        pl.lit(pl.Series(["Microsoft", "Atlassian"])).gather(pl.col("k")).alias("vendor"),
    )
    counts["snipeit_licences"] = _write(
        lic.select(
            pl.col("product").alias("Name"), pl.format("CC-{}", "key").alias("Company"),
            pl.format("{}-{}-{}", pl.col("vendor").str.to_uppercase(), "key", pl.col("k") + 1).alias("Product Key"),
            later(pl.col("bought"), 1).alias("Expiration Date"),
            pl.lit("it-licensing@example.org").alias("Licensed to Email"),
            pl.lit("Example Corp").alias("Licensed to Name"), pl.col("vendor").alias("Manufacturer"),
            pl.lit(0).alias("Min. QTY"), pl.col("seats").alias("Total"), pl.col("free").alias("Avail"),
            pl.format("{}%", (pl.col("free") * 100 / pl.col("seats")).round(0).cast(pl.Int64)).alias("% Remaining"),
            pl.col("bought").alias("Purchase Date"),
            # with Snipe-IT's thousands separator: 9,360.00 (at most 50 seats × 240 = 12,000)
            pl.when(pl.col("seats") * 240 >= 1000)
            .then(pl.format("{},{}.00", pl.col("seats") * 240 // 1000,
                            (pl.col("seats") * 240 % 1000).cast(pl.String).str.zfill(3)))
            .otherwise(pl.format("{}.00", pl.col("seats") * 240)).alias("Purchase Cost"),
        ),
        inbox / "snipeit" / f"licenses_{AS_OF}.csv",
    )  # fmt: skip
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(generate(args.out, SCALES[args.scale], args.seed)))


if __name__ == "__main__":
    main()
