"""Warehouse writes that duckdb 2.0.0 would lose (transforms/duck.py): inside a transaction, when the first write to
a table adds no rows, a later INSERT of more than a row group (122,880 rows) from a table is counted but never read,
and COMMIT drops it. At portfolio scale this emptied audit.rejects of 2.3 million day-total warnings."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from pipelines import warehouse
from pipelines.ingest import ingest
from transforms import duck

ROWS = 200_000  # > one row group of 122,880


def _database(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.sql(f"CREATE TABLE source AS SELECT range AS n, 'row ' || range AS label FROM range({ROWS})")
    conn.sql("CREATE TABLE target (n BIGINT, label VARCHAR)")
    return conn


def test_an_insert_of_no_rows_is_skipped_so_a_large_insert_after_it_keeps_every_row(tmp_path):
    conn = _database(tmp_path)
    conn.sql("BEGIN")
    assert duck.insert(conn, "target", "SELECT * FROM source WHERE n < 0") is False  # no rows: not written
    assert duck.insert(conn, "target", "SELECT * FROM source") is True
    conn.sql("COMMIT")
    # sum(1) scans the rows (count(*) may answer from the table's row count, which counted the lost rows too)
    assert conn.sql("SELECT sum(1), sum(n) FROM target").fetchall() == [(ROWS, ROWS * (ROWS - 1) // 2)]


def test_a_table_made_of_an_empty_query_and_a_large_one_is_created_from_the_large_one(tmp_path):
    conn = _database(tmp_path)
    conn.sql("BEGIN")
    duck.create_from(conn, "made", [
        "SELECT * FROM source WHERE n < 0",  # no rows
        "SELECT * FROM source",  # 200,000 rows: 0 … 199,999
        "SELECT * FROM source WHERE n < 3",  # 3 rows: 0, 1, 2
    ])  # fmt: skip
    conn.sql("COMMIT")
    rows = conn.sql("SELECT n FROM made").fetchall()
    assert len(rows) == ROWS + 3
    assert rows[ROWS - 1 :] == [(ROWS - 1,), (0,), (1,), (2,)]  # the queries' rows one after another
    duck.create_from(conn, "none", ["SELECT * FROM source WHERE n < 0", "SELECT * FROM source WHERE n < 0"])
    assert conn.sql("SELECT count(*) FROM none").fetchall() == [(0,)]
    assert [c[0] for c in conn.sql("DESCRIBE none").fetchall()] == ["n", "label"]


def test_a_table_made_from_a_large_query_first_keeps_the_later_rows_and_skips_the_empty_ones(tmp_path):
    # The first query is run once (the table is created from it, then asked whether it has rows): 200,000 rows, then
    # nothing written for the empty query, then 3 rows.
    conn = _database(tmp_path)
    conn.sql("BEGIN")
    duck.create_from(conn, "made", [
        "SELECT * FROM source",
        "SELECT * FROM source WHERE n < 0",
        "SELECT * FROM source WHERE n < 3",
    ])  # fmt: skip
    conn.sql("COMMIT")
    rows = conn.sql("SELECT n FROM made").fetchall()
    assert len(rows) == ROWS + 3
    assert rows[ROWS - 1 :] == [(ROWS - 1,), (0,), (1,), (2,)]


def test_more_than_a_row_group_of_day_total_warnings_survive_the_ingest(tmp_path):
    # 1,600 people × 10 days × 13 worklogs of 2 h: every day is 26 h > 24 h, so each of the 208,000 worklogs gets a
    # max_day_total warning; the first staged file wrote no row rejects before them (the case duckdb loses).
    people, days, per_day = 1_600, 10, 13
    n = people * days * per_day
    index = pl.int_range(0, n, eager=True)
    person = index // (days * per_day)
    day = (index // per_day) % days
    dates = pl.Series([str(dt.date(2026, 3, 2) + dt.timedelta(days=d)) for d in range(days)])
    tempo = pl.DataFrame({
        "Worklog Id": (index + 1).cast(pl.String),
        "Issue Key": "ERP-2",
        "Issue summary": "Cutover",
        "Hours": "2",
        "Work date": dates.gather(day),
        "Username": "u" + person.cast(pl.String).str.zfill(4),
        "Full name": "Person " + person.cast(pl.String).str.zfill(4),
        "Project Key": "ERP",
        "Work Description": "work",
        "Billed Hours": "0",
    })  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    tempo.write_csv(inbox / "tempo_worklogs.csv")
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, inbox)
        warned = conn.sql(
            "SELECT sum(1), count(DISTINCT line) FROM audit.rejects WHERE rule = 'max_day_total:24'"
        ).fetchall()
        staged = conn.sql("SELECT sum(1), sum(hours) FROM staging.worklogs").fetchall()
    assert warned == [(n, n)]
    assert staged == [(n, 2 * n)]  # 208,000 worklogs of 2 h = 416,000 h


def test_frames_are_inserted_by_name_and_an_empty_one_writes_nothing_inside_a_transaction(tmp_path):
    conn = _database(tmp_path)
    conn.sql("BEGIN")
    duck.insert_frame(conn, "target", pl.DataFrame(schema={"label": pl.String, "n": pl.Int64}))  # no rows
    frame = pl.DataFrame({"label": [f"row {i}" for i in range(ROWS)], "n": range(ROWS)})  # columns not in order
    duck.insert_frame(conn, "target", frame)
    conn.sql("COMMIT")
    # every row, each label beside its own number: 0 + 1 + … + 199,999
    assert conn.sql("SELECT sum(1), sum(n), bool_and(label = 'row ' || n) FROM target").fetchall() == [
        (ROWS, ROWS * (ROWS - 1) // 2, True)
    ]


def test_a_large_frame_is_inserted_in_slices_with_every_row_in_order_inside_a_transaction(tmp_path, monkeypatch):
    # Slices bound what DuckDB converts at once (a 10M-row export's candidates: 4,091 → 3,662 MB peak); 200,000 rows
    # in slices of 30,000 are 7 INSERTs (6 × 30,000 + 20,000), together more than a row group.
    monkeypatch.setattr(duck, "INSERT_SLICE", 30_000)
    conn = _database(tmp_path)
    conn.sql("CALL enable_logging('QueryLog')")  # DuckDB's own log of the statements it ran
    conn.sql("BEGIN")
    duck.insert_frame(conn, "target", pl.DataFrame({"label": [f"row {i}" for i in range(ROWS)], "n": range(ROWS)}))
    conn.sql("COMMIT")
    inserts = "SELECT count(*) FROM duckdb_logs WHERE type = 'QueryLog' AND message LIKE 'INSERT INTO target %'"
    assert conn.sql(inserts).fetchall() == [(7,)]
    assert [n for (n,) in conn.sql("SELECT n FROM target").fetchall()] == list(range(ROWS))  # all, in frame order
    assert conn.sql("SELECT bool_and(label = 'row ' || n) FROM target").fetchall() == [(True,)]
