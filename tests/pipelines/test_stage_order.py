"""Staging reads a kind's raw rows as stored, without an ORDER BY in DuckDB (it held ~400 MB beside the frame at a
first load's peak), and sorts them itself when they are not in file and line order (pipelines/ingest.py
`_stage_batch`): `stage_kind` always gets each file's lines in order."""

import polars as pl

from pipelines import ingest as ingest_module
from pipelines import warehouse
from tests.conftest import write_inbox

TEMPO = "Worklog Id,Issue Key,Hours,Work date,Full name,Project Key\n"


def frame(files: list[int], lines: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"_source_file": files, "_line": lines}, schema={"_source_file": pl.Int64, "_line": pl.Int64})


def test_rows_are_in_line_order_only_when_each_is_past_the_one_before():
    assert ingest_module._in_line_order(frame([], []))
    assert ingest_module._in_line_order(frame([1, 1, 1, 2, 2], [2, 3, 9, 2, 5]))  # a new file restarts its lines
    assert not ingest_module._in_line_order(frame([1, 1, 2, 1], [2, 3, 2, 4]))  # file 1 again after file 2
    assert not ingest_module._in_line_order(frame([1, 1, 1], [2, 4, 3]))  # a line back within a file
    assert not ingest_module._in_line_order(frame([1, 1], [2, 2]))  # the same line twice is not past it


def test_raw_rows_stored_out_of_order_reach_staging_in_file_and_line_order(tmp_path, monkeypatch):
    files = {
        f"tempo/tempo_worklogs_2026-0{month}.csv": (
            TEMPO + "".join(f"{month}{n:03d},APP-{n},1.5,2026-0{month}-0{n % 9 + 1},Ann Lee,APP\n" for n in range(40))
        ).encode()
        for month in (3, 4)
    }
    inbox = write_inbox(tmp_path / "inbox", files)
    given: list[pl.DataFrame] = []
    real = ingest_module.stage_kind

    def spy(kind, raw, *args):
        given.append(raw.select("_source_file", "_line"))
        return real(kind, raw, *args)

    monkeypatch.setattr(ingest_module, "stage_kind", spy)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        summary = ingest_module.IngestSummary()
        ingest_module.load_new_files(conn, inbox, summary)
        # stored backwards: the last file's last line first
        conn.sql("CREATE OR REPLACE TABLE raw.tempo_worklogs AS "
                 "SELECT * FROM raw.tempo_worklogs ORDER BY _source_file DESC, _line DESC")  # fmt: skip
        stored = conn.sql("SELECT _source_file, _line FROM raw.tempo_worklogs").pl()
        ingest_module.stage_files(conn, summary, "sunday")
    assert not ingest_module._in_line_order(stored)  # the table really is out of order
    assert [g.height for g in given] == [40, 40]  # one batch per file
    for batch in given:
        assert batch.equals(batch.sort("_source_file", "_line"))
