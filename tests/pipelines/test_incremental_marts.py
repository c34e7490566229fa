"""Marts with rows per status date computed again only from the first week whose inputs changed (or that is new), which
hold what computing every week gives, in the same order (pipelines/marts.py): marts.evm_forecast from the earned
value rows up to each week, marts.itam_cost from the assets and licences at each week."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from pipelines import warehouse
from pipelines.home import Settings
from pipelines.ingest import ingest
from pipelines.marts import FORECAST, ITAM_COST, ITAM_DUE, write_forecast, write_itam
from tests.bad_input import corpus
from tests.conftest import write_inbox
from tests.transforms.test_forecast import _sunday, _weeks
from transforms.itam import itam_due_dates

# Two projects, 12 and 9 weeks: the one with 9 starts four weeks later, so both end on week 12.
A = _weeks("A", [60, 110, 75, 95, 40, 120, 85, 90, 70, 100, 65, 80], [100, 90, 110, 100, 80, 120, 100, 95, 85, 100,
           90, 100], [0.6, 1.1, 0.8, 0.9, 0.5, 1, 1, 0.9, 0.7, 1, 0.6, 0.8])  # fmt: skip
B = _weeks("B", [90, 70, 80, 100, 60, 75, 95, 85, 70], [100] * 9, [0.9, 0.7, 0.8, 1, 0.6, 0.7, 1, 1, 0.8],
           first_week=4)  # fmt: skip
EVM = pl.concat([A, B])


def _write(conn: duckdb.DuckDBPyConnection, evm: pl.DataFrame, settings: Settings | None = None) -> tuple[int, int]:
    """marts.evm_weekly set to `evm`, then the forecast written: its rows and the weeks computed."""
    conn.sql("CREATE OR REPLACE TABLE marts.evm_weekly AS SELECT * FROM evm")  # the columns the forecast reads
    with warehouse.transaction(conn):
        return write_forecast(conn, settings or Settings())


def _rows(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The mart's rows in their physical order (a whole write's: by status date, then project)."""
    return conn.sql(f"SELECT status_date, * FROM {FORECAST}").fetchall()


def _whole(tmp_path: Path, evm: pl.DataFrame, name: str, settings: Settings | None = None) -> list[tuple]:
    """The mart written from nothing, in a warehouse of its own."""
    with warehouse.connect(tmp_path / f"{name}.duckdb") as conn:
        _write(conn, evm, settings)
        return _rows(conn)


def test_a_new_or_changed_week_recomputes_from_it_and_gives_what_computing_every_week_gives(tmp_path: Path):
    upto_11 = EVM.filter(pl.col("status_date") <= _sunday(11))
    # A's cost of week 7 corrected (+50) from then on: its rows change from week 7, B's do not.
    corrected = EVM.with_columns(
        pl.when((pl.col("project_id") == "A") & (pl.col("status_date") >= _sunday(7)))
        .then(pl.col("ac") + 50)
        .otherwise(pl.col("ac"))
        .alias("ac")
    )
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        assert _write(conn, upto_11)[1] == 11  # the first time, every week
        before = _rows(conn)
        assert _write(conn, upto_11)[1] == 0  # nothing changed: nothing computed, nothing rewritten
        assert _rows(conn) == before

        assert _write(conn, EVM) == (21, 1)  # week 12 is new: only it is computed (12 rows of A, 9 of B)
        assert _rows(conn) == _whole(tmp_path, EVM, "all")
        assert _rows(conn)[: len(before)] == before  # the weeks before are the rows they were

        assert _write(conn, corrected)[1] == 6  # weeks 7 to 12
        expected = _whole(tmp_path, corrected, "corrected")
        assert _rows(conn) == expected
        assert expected != _whole(tmp_path, EVM, "all")  # the correction moved A's bands

        # A run for an earlier week: the weeks after it go, none is computed.
        assert _write(conn, corrected.filter(pl.col("status_date") <= _sunday(9)))[1] == 0
        assert _rows(conn) == [r for r in expected if r[0] <= _sunday(9)]

        # Another minimum history changes every week's bands: written whole.
        settings = Settings.model_validate({"evm": {"forecast_min_weeks": 3}})
        assert _write(conn, corrected, settings)[1] == 12
        assert _rows(conn) == _whole(tmp_path, corrected, "three", settings) != expected


def test_a_forecast_not_in_status_date_order_is_written_whole(tmp_path: Path):
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        _write(conn, EVM)
        # as an earlier version wrote it: by project, then status date
        warehouse.replace_query(conn, FORECAST, f"SELECT * FROM {FORECAST}", ["project_id", "status_date"])
        assert _write(conn, EVM)[1] == 12
        assert _rows(conn) == _whole(tmp_path, EVM, "all")
        assert [r[:2] for r in _rows(conn)[:3]] == [(_sunday(1), "A"), (_sunday(2), "A"), (_sunday(3), "A")]


# The demo's status dates (Sundays); its assets were bought from 2023 on and some reach their end of life in 2026.
DEMO_WEEKS = [dt.date(2026, 1, 11) + dt.timedelta(weeks=n) for n in range(10)]


def _itam(conn: duckdb.DuckDBPyConnection, weeks: list[dt.date]) -> tuple[list[tuple], int]:
    """marts.itam_cost for the status dates `weeks` (marts.evm_weekly's): its rows, in order, and the weeks computed."""
    conn.sql("CREATE OR REPLACE TABLE marts.evm_weekly AS SELECT unnest(CAST(? AS DATE[])) AS status_date",
             params=[weeks])  # fmt: skip
    with warehouse.transaction(conn):
        computed = write_itam(conn, Settings())[1]
    return conn.sql(f"SELECT * FROM {ITAM_COST}").fetchall(), computed


def test_itam_cost_computes_only_the_new_weeks_until_the_assets_change(tmp_path: Path):
    with warehouse.connect(tmp_path / "all.duckdb") as conn:
        ingest(conn, write_inbox(tmp_path / "inbox", corpus.demo()))
        expected, computed = _itam(conn, DEMO_WEEKS)
        assert computed == len(DEMO_WEEKS)
        conn.sql("UPDATE staging.assets SET purchase_cost = purchase_cost * 2 WHERE asset_tag = "
                 "(SELECT min(asset_tag) FROM staging.assets WHERE purchase_cost > 0)")  # fmt: skip
        doubled, _ = _itam(conn, DEMO_WEEKS)
    assert doubled != expected
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        first, computed = _itam(conn, DEMO_WEEKS[:-1])
        assert computed == len(DEMO_WEEKS) - 1
        assert _itam(conn, DEMO_WEEKS[:-1])[1] == 0  # nothing changed: nothing computed
        rows, computed = _itam(conn, DEMO_WEEKS)
        assert computed == 1 and rows == expected  # the new week only, and what computing every week gives
        assert rows[: len(first)] == first
        rows, computed = _itam(conn, DEMO_WEEKS[:4])  # a run for an earlier week: the weeks after it go
        assert computed == 0 and rows == [r for r in expected if r[0] <= DEMO_WEEKS[3]]
        # an asset's cost changes every week it counts in: written whole
        conn.sql("UPDATE staging.assets SET purchase_cost = purchase_cost * 2 WHERE asset_tag = "
                 "(SELECT min(asset_tag) FROM staging.assets WHERE purchase_cost > 0)")  # fmt: skip
        rows, computed = _itam(conn, DEMO_WEEKS)
        assert computed == len(DEMO_WEEKS) and rows == doubled


def test_itam_due_dates_are_written_again_only_when_the_assets_or_licences_change(tmp_path: Path):
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, write_inbox(tmp_path / "inbox", corpus.demo()))
        _itam(conn, DEMO_WEEKS[:-1])

        def due() -> list[tuple]:
            return conn.sql(f"SELECT * FROM {ITAM_DUE} ORDER BY kind, key").fetchall()

        first = due()
        assert {r[0] for r in first} == {"licence_expiry", "warranty_end", "end_of_life"}
        # A tell: rows deleted by hand stay deleted while nothing changes (a run reads them back, it does not write)
        conn.sql(f"DELETE FROM {ITAM_DUE} WHERE kind = 'end_of_life'")
        _itam(conn, DEMO_WEEKS)  # a new week, the same assets and licences
        assert due() == [r for r in first if r[0] != "end_of_life"]
        # An asset held by the last week whose warranty now ends 5 days after it: written again, whole
        tag = conn.sql("SELECT min(asset_tag) FROM staging.assets WHERE coalesce(purchase_date, DATE '2000-01-01')"
                       " <= DATE '2026-03-15'").fetchall()[0][0]  # fmt: skip
        conn.sql("UPDATE staging.assets SET warranty_end = DATE '2026-03-20' WHERE asset_tag = ?", params=[tag])
        _itam(conn, DEMO_WEEKS)
        staged = itam_due_dates(warehouse.read(conn, "staging.assets"), warehouse.read(conn, "staging.licences"))
        assert due() == staged.sort("kind", "key").rows()
        renewal = conn.sql("SELECT days_until, \"window\" FROM marts.itam_renewals WHERE kind = 'warranty_end'"
                           " AND key = ?", params=[tag]).fetchall()  # fmt: skip
        assert renewal == [(5, "30")]  # 20 March − 15 March (DEMO_WEEKS[-1])
