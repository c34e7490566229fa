"""Reproducible: the same inputs run into two fresh homes give the same rows, in the same order; money is DECIMAL(18,4)
as ../shared/EVM.md says; every table is written in its natural key's order; the forecast's randomness is seeded."""

import re
from pathlib import Path

import duckdb
import polars as pl

from transforms import canonical
from transforms.forecast import evm_forecast

REPO = Path(__file__).resolve().parents[2]
COMPARED = ("raw", "staging", "marts")  # audit holds load times, history send times: both differ by design

# Money by its documentation (the data dictionary says "(money…)", "money;" or "money per hour") or by its name.
MONEY_NAME = re.compile(
    r"^(ac|ev|pv|bac|eac|etc|vac|cv|sv|budget|cost|amount|price|variance|hourly_rate|planned_rate|management_reserve"
    r"|contingency)$|^eac_\w+$|_(cost|ac|ev|pv|bac|eac|etc|vac|amount|budget|rate)$"
)
MONEY_DOC = re.compile(r"\(money|money[;)]|money per hour")
# Names that look like money and are not: ratios (TCPI, the share of checkpoints within 10 %), a flag, a count,
# and labels.
NOT_MONEY = re.compile(r"^(tcpi_\w+|within_10pct_\w+|in_ac|\w+_without_cost|eac_method|ev_technique|cost_category"
                       r"|cost_centre)$")  # fmt: skip


def _tables(conn: duckdb.DuckDBPyConnection, schemas) -> list[str]:
    return [t for (t,) in conn.sql(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " AND list_contains(?, schema_name) ORDER BY ALL", params=[list(schemas)]
    ).fetchall()]  # fmt: skip


def test_two_fresh_homes_with_the_same_inputs_hold_the_same_rows_in_the_same_order(runs):
    with (duckdb.connect(str(runs.good.home / "warehouse.duckdb"), read_only=True) as good,
          duckdb.connect(str(runs.bad.home / "warehouse.duckdb"), read_only=True) as bad):  # fmt: skip
        tables = _tables(good, COMPARED)
        assert tables == _tables(bad, COMPARED)
        assert {"marts.evm_weekly", "marts.evm_forecast", "marts.worklog_costs", "staging.worklogs"} <= set(tables)
        forecasts = good.sql("SELECT count(eac_p50) FROM marts.evm_forecast").fetchall()[0][0]
        assert forecasts > 0  # the seeded bootstrap drew bands: comparing them means something
        for table in tables:
            mine, theirs = good.sql(f"SELECT * FROM {table}").fetchall(), bad.sql(f"SELECT * FROM {table}").fetchall()
            assert mine == theirs, table  # same rows, same physical order


def test_money_is_decimal_18_4_in_staging_marts_plans_and_history(runs):
    with duckdb.connect(str(runs.good.home / "warehouse.duckdb"), read_only=True) as conn:
        columns = conn.sql(
            "SELECT schema_name || '.' || table_name || '.' || column_name, column_name, data_type,"
            " coalesce(comment, '') FROM duckdb_columns() WHERE database_name = current_database()"
            " AND schema_name IN ('staging', 'marts', 'plans', 'history') ORDER BY ALL"
        ).fetchall()
    money = {full: kind for full, name, kind, doc in columns
             if (MONEY_NAME.search(name) or MONEY_DOC.search(doc)) and not NOT_MONEY.match(name)}  # fmt: skip
    assert {"marts.evm_weekly.ac", "marts.evm_flags.value", "staging.rates.hourly_rate", "marts.worklog_costs.cost",
            "history.evm_sent.eac", "plans.baselines.budget"} <= set(money)  # fmt: skip
    assert {full: kind for full, kind in money.items() if kind != "DECIMAL(18,4)"} == {}


def test_every_table_written_is_in_its_natural_keys_order_and_the_keys_are_unique(runs):
    with duckdb.connect(str(runs.good.home / "warehouse.duckdb"), read_only=True) as conn:
        order = dict(conn.sql("SELECT table_name, order_by FROM audit.table_order").fetchall())
        written = set(_tables(conn, ("staging", "marts")))
        assert written - set(order) == set()  # every staging table and mart went through replace_table
        for table, keys in sorted(order.items()):
            assert keys, table  # a natural key, not ORDER BY ALL
            key = ", ".join(f'"{k}"' for k in keys)
            rows, distinct = conn.sql(f"SELECT count(*), count(DISTINCT ({key})) FROM {table}").fetchall()[0]
            assert rows == distinct, f"{table}: {rows - distinct} row(s) share a key {keys}"
            stored = conn.sql(f"SELECT * FROM {table}").fetchall()
            assert stored == conn.sql(f"SELECT * FROM {table} ORDER BY {key}").fetchall(), table
        for table in canonical.LOAD_ORDERED:  # in load order (lineage): the natural key is unique all the same
            assert order[f"staging.{table}"] == ["_source_file", "_line"]
            key = ", ".join(f'"{k}"' for k in canonical.KEYS[table])
            rows, distinct = conn.sql(f"SELECT count(*), count(DISTINCT ({key})) FROM staging.{table}").fetchall()[0]
            assert rows == distinct > 0, table
        for table, key in (("audit.rejects", 'file_id, line, "column", rule'), ("audit.skipped", "ALL")):
            assert conn.sql(f"SELECT * FROM {table}").fetchall() == conn.sql(
                f"SELECT * FROM {table} ORDER BY {key}").fetchall(), table  # fmt: skip


def test_no_code_writes_a_staging_table_or_a_mart_around_replace_table():
    writes = re.compile(r"(CREATE\s+(OR\s+REPLACE\s+)?TABLE|INSERT\s+INTO)\s+(staging|marts)\.", re.IGNORECASE)
    sources = [p for folder in ("pipelines", "transforms") for p in (REPO / folder).rglob("*.py")]
    found = [f"{p.relative_to(REPO)}:{n}" for p in sources if p.name != "warehouse.py"
             for n, line in enumerate(p.read_text("utf-8").splitlines(), 1) if writes.search(line)]  # fmt: skip
    assert found == []


def test_the_forecast_bands_come_from_a_fixed_seed(runs):
    with duckdb.connect(str(runs.good.home / "warehouse.duckdb"), read_only=True) as conn:
        evm = conn.sql("SELECT * FROM marts.evm_weekly ORDER BY project_id, status_date").pl()
    first, again = evm_forecast(evm, min_weeks=2, samples=400), evm_forecast(evm, min_weeks=2, samples=400)
    assert first.get_column("eac_p50").count() > 0
    assert first.equals(again)
    other = evm_forecast(evm, min_weeks=2, samples=400, seed=1)
    changed = first.select(pl.col("eac_p10") != other.get_column("eac_p10")).to_series().fill_null(False)
    assert changed.any()  # the bands do depend on the draw: it is the seed that makes reruns agree
