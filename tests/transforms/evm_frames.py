"""Small builders of canonical frames for the earned value tests.

Every frame has every canonical column, typed as `transforms.canonical` says, plus the columns staging adds:
`project_id` on work items, worklogs, assets and licences; `person_id` and `item_known` on worklogs. Money given
as int, float or str becomes an exact Decimal.

The calendar used throughout: Monday 2025-01-06 starts the first week; status dates are Sundays (12, 19, 26 Jan,
2, 9 Feb 2025 ...).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from transforms import canonical
from transforms.actual_cost import cost_worklogs
from transforms.baselines import VERSION_SCHEMA
from transforms.calendar import working_day_index
from transforms.earned_value import EvmOptions, EvmResult, compute
from transforms.planned_value import Curves

D = dt.date
STAGING_EXTRA: dict[str, dict[str, pl.DataType]] = {
    "work_items": {"project_id": pl.String},
    "worklogs": {"project_id": pl.String, "person_id": pl.String, "item_known": pl.Boolean},
    "assets": {"project_id": pl.String},
    "licences": {"project_id": pl.String},
}
# Status dates (Sundays) of the weeks used in the tests.
W1, W2, W3, W4, W5, W6 = (D(2025, 1, 12) + dt.timedelta(weeks=i) for i in range(6))


def table_schema(table: str) -> dict[str, pl.DataType]:
    return canonical.schema(table) | STAGING_EXTRA.get(table, {})


def _value(value, dtype: pl.DataType):
    if value is not None and isinstance(dtype, pl.Decimal) and not isinstance(value, Decimal):
        return Decimal(str(value))
    return value


def rows(table: str, *records: dict) -> pl.DataFrame:
    """A frame of `table` (canonical + staging columns) from records naming any subset of its columns."""
    schema = table_schema(table)
    for record in records:
        unknown = set(record) - set(schema)
        if unknown:
            raise KeyError(f"{table}: not a column: {sorted(unknown)}")
    data = {c: [_value(r.get(c), t) for r in records] for c, t in schema.items()}
    return pl.DataFrame(data, schema=schema)


def money(value) -> Decimal:
    return Decimal(str(value))


# ------------------------------------------------------------------------------------------------ records


def project(project_id: str = "P", **kw) -> dict:
    return {
        "project_id": project_id,
        "name": project_id,
        "portfolio": "Apps",
        "status": "active",
        "ev_technique": "0/100",
        "eac_method": "cpi",
        "calendar_id": "default",
    } | kw


def element(key: str, budget, start: dt.date, finish: dt.date, *, project_id: str = "P", version: int = 1, **kw):
    return {
        "project_id": project_id,
        "baseline_version": version,
        "effective_from": start,
        "element_key": key,
        "cost_category": "labour",
        "budget": budget,
        "planned_start": start,
        "planned_finish": finish,
        "source_kind": "baseline",
    } | kw


def item(key: str, snapshot: dt.date, status: str = "todo", *, project_id: str = "P", **kw) -> dict:
    return {
        "item_key": key,
        "snapshot_date": snapshot,
        "project_id": project_id,
        "source_kind": "jira",
        "type": "Task",
        "status": status,
        "status_category": status,
    } | kw


def worklog(wid: str, item_key: str | None, day: dt.date, hours, *, line: int = 1, **kw) -> dict:
    return {
        "worklog_id": wid,
        "source_kind": "tempo",
        "person_id": "u1",
        "person_name": "U One",
        "project_id": "P",
        "source_project_key": "P",
        "item_key": item_key,
        "item_known": True,
        "work_date": day,
        "hours": hours,
        "_source_file": 1,
        "_line": line,
    } | kw


def person(person_id: str = "u1", role: str = "dev", **kw) -> dict:
    return {"person_id": person_id, "display_name": person_id.upper(), "role": role} | kw


RATE_FROM = D(2024, 1, 1)


def rate(hourly, *, person_id: str | None = None, role: str | None = "dev", valid_from=RATE_FROM, valid_to=None):
    return {"person_id": person_id, "role": role, "hourly_rate": hourly, "currency": "EUR",
            "valid_from": valid_from, "valid_to": valid_to}  # fmt: skip


# Everyone is a developer at 50/h unless a test says otherwise.
PEOPLE = rows("people", person("u1"))
RATES = rows("rates", rate(50))
NO_HOLIDAYS = rows("holidays")


CALENDAR_SPAN = (D(2024, 12, 1), D(2025, 6, 30))


def calendar(holidays: pl.DataFrame = NO_HOLIDAYS, calendars=("default",), span=CALENDAR_SPAN):
    """`working_day_index` over a span that covers every test date (and the day before)."""
    return working_day_index(holidays, list(calendars), *span)


def empty_versions() -> pl.DataFrame:
    return pl.DataFrame(schema=VERSION_SCHEMA)


# ------------------------------------------------------------------------------------------------ compute()

INPUT_TABLES = {
    "projects": "projects", "baselines": "baselines", "frozen_elements": "baselines", "evm_status": "evm_status",
    "work_items": "work_items", "worklogs": "worklogs", "assets": "assets", "licences": "licences",
    "people": "people", "rates": "rates", "holidays": "holidays", "sprints": "sprints", "risks": "risks",
}  # fmt: skip


def run(as_of: dt.date, *, options: dict | None = None, count_unapproved: bool = True,
        prior_plan: Curves | None = None, **frames) -> EvmResult:  # fmt: skip
    """`compute` with every input frame empty (canonical columns) unless given; people and rates default to
    PEOPLE and RATES, `costed` to `cost_worklogs` of the worklogs; `prior_plan`: curves an earlier result computed."""
    unknown = set(frames) - set(INPUT_TABLES) - {"frozen_versions", "costed"}
    if unknown:
        raise KeyError(f"not an input of compute: {sorted(unknown)}")
    inputs = {name: rows(table) for name, table in INPUT_TABLES.items()}
    inputs |= {"people": PEOPLE, "rates": RATES, "frozen_versions": empty_versions()}
    inputs |= frames
    if "costed" not in inputs:
        inputs["costed"] = cost_worklogs(
            inputs["worklogs"], inputs["people"], inputs["rates"], count_unapproved=count_unapproved
        )
    return compute(**inputs, options=EvmOptions(as_of=as_of, **(options or {})), prior_plan=prior_plan)


def row(frame: pl.DataFrame, status_date: dt.date, project_id: str = "P") -> dict:
    found = frame.filter(pl.col("project_id") == project_id, pl.col("status_date") == status_date)
    assert found.height == 1, f"{project_id} {status_date}: {found.height} rows"
    return found.row(0, named=True)


def column(frame: pl.DataFrame, name: str, project_id: str = "P") -> list:
    return frame.filter(pl.col("project_id") == project_id).sort("status_date").get_column(name).to_list()
