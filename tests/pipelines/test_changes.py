"""The digests a mart's mark keeps of what it was computed from (pipelines/changes.py): the same rows in any order give
the same digest, and any change of a value, a row added or a row gone gives another, so the mart is computed again."""

import datetime as dt
from pathlib import Path

import duckdb

from pipelines import changes

W1, W2 = dt.date(2026, 1, 4), dt.date(2026, 1, 11)


def _rows(conn, name: str, rows: list[tuple]) -> str:
    conn.sql(f"CREATE OR REPLACE TABLE {name} (status_date DATE, asset VARCHAR, cost DECIMAL(18, 4))")
    if rows:
        conn.executemany(f"INSERT INTO {name} VALUES (?, ?, ?)", rows)
    return name


def test_a_fingerprint_is_the_same_for_the_same_rows_in_any_order_and_differs_for_any_change(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        a = (W1, "A-1", 100)
        b = (W1, "A-2", 250)

        def fingerprint(*rows, text="settings"):
            return changes.fingerprint(conn, text, _rows(conn, "t", list(rows)))

        base = fingerprint(a, b)
        assert fingerprint(b, a) == base  # order is no change
        assert fingerprint(a, b, text="other settings") != base
        assert fingerprint(a, (W1, "A-2", 251)) != base  # one value
        assert fingerprint(a, (W1, None, 250)) != base  # a value gone to NULL
        assert fingerprint(a) != base  # a row gone
        assert fingerprint(a, b, b) != base  # a row twice
        # Two equal rows do not cancel out (a sum of the rows' hashes, not an XOR): {a, a} and {b, b} have the same
        # row count and the same XOR (0), and still differ.
        assert fingerprint(a, a) != fingerprint(b, b)
        assert fingerprint() == fingerprint()  # no rows: a digest all the same
        assert fingerprint() != fingerprint(a)


def test_week_digests_differ_only_for_the_weeks_whose_rows_changed(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        before = [(W1, "A-1", 100), (W1, "A-2", 250), (W2, "A-1", 100)]
        weeks, old = changes.week_digests(conn, f"SELECT * FROM {_rows(conn, 't', before)}")
        assert weeks == [W1, W2]
        # W2's row changed and W1's rows come back in another order
        after = [(W2, "A-1", 120), (W1, "A-2", 250), (W1, "A-1", 100)]
        weeks, new = changes.week_digests(conn, f"SELECT * FROM {_rows(conn, 't', after)}")
        assert weeks == [W1, W2]
        assert new[0] == old[0]
        assert new[1] != old[1]
