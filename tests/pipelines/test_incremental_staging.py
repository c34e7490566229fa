"""Each file is typed and checked once, when it is loaded (conformed.*), and the merge of every file's candidate rows
gives the same staging tables and accounting as staging everything at once (pipelines/ingest.py)."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import warehouse
from pipelines.home import Settings
from pipelines.ingest import _to_stage, fingerprint, ingest
from pipelines.marts import write_worklog_costs
from tests.bad_input import corpus
from tests.conftest import write_inbox

MANIFEST = ("file_id, path, status, rows_in_file, rows_loaded, rows_duplicate, rows_skipped, rows_rejected, covers,"
            " formats, message")  # fmt: skip


def _tables(conn: duckdb.DuckDBPyConnection) -> dict[str, list]:
    names = [r[0] for r in conn.sql(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN ('staging', 'conformed')"
        " ORDER BY ALL"
    ).fetchall()]  # fmt: skip
    # staging in its physical order (a guarantee); conformed.*, the per-file candidate cache, sorted: its rows are
    # appended as each file is staged, so their order depends on which run staged which file
    out = {name: conn.sql(f"SELECT * FROM {name}{' ORDER BY ALL' if name.startswith('conformed') else ''}").fetchall()
           for name in names}  # fmt: skip
    out["audit.files"] = conn.sql(f"SELECT {MANIFEST} FROM audit.files ORDER BY file_id").fetchall()
    out["audit.rejects"] = conn.sql("SELECT * FROM audit.rejects").fetchall()
    out["audit.skipped"] = conn.sql("SELECT * FROM audit.skipped").fetchall()
    out["audit.merge_drops"] = conn.sql("SELECT * FROM audit.merge_drops ORDER BY ALL").fetchall()
    return out


@pytest.fixture(scope="module")
def at_once(tmp_path_factory) -> dict[str, list]:
    root = tmp_path_factory.mktemp("at_once")
    write_inbox(root / "inbox", corpus.demo())
    with warehouse.connect(root / "w.duckdb") as conn:
        ingest(conn, root / "inbox")
        return _tables(conn)


def test_files_loaded_over_two_runs_stage_exactly_as_all_at_once(tmp_path, at_once):
    files = corpus.demo()
    paths = sorted(files)
    # The first run takes the files that sort first, so both homes number every file the same (ids follow the path
    # order of each run's new files) and a newer export is newer in both.
    first = {p: files[p] for p in paths[: len(paths) // 2]}
    write_inbox(tmp_path / "inbox", first)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        staged_first = conn.sql("SELECT count(*) FROM audit.staged_files").fetchall()[0][0]
        write_inbox(tmp_path / "inbox", files)
        summary = ingest(conn, tmp_path / "inbox")
        assert summary.skipped_known == len(first) and summary.new_files == len(files) - len(first)
        assert _to_stage(conn, "sunday") == {}  # nothing is left to stage: the next run only merges
        assert _tables(conn) == at_once
        assert staged_first < conn.sql("SELECT count(*) FROM audit.staged_files").fetchall()[0][0]


def test_a_file_is_staged_once_until_the_code_or_settings_that_staged_it_change(tmp_path, at_once):
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        files = conn.sql("SELECT count(*) FROM audit.staged_files").fetchall()[0][0]
        # Mark candidate rows: staging a file again would replace them with what its raw rows say.
        mark = ("UPDATE conformed.worklogs SET description = 'as staged'"
                " WHERE worklog_id = (SELECT min(worklog_id) FROM conformed.worklogs)")  # fmt: skip
        marked = "SELECT count(*) FROM conformed.worklogs WHERE description = 'as staged'"
        conn.sql(mark)
        assert conn.sql(marked).fetchall()[0][0] > 0
        before = conn.sql(marked).fetchall()
        ingest(conn, tmp_path / "inbox")  # nothing new: the files are merged again, not staged again
        assert conn.sql(marked).fetchall() == before
        conn.sql("UPDATE audit.staged_files SET fingerprint = 'an older release'")
        assert sum(len(ids) for ids in _to_stage(conn, "sunday").values()) == files
        ingest(conn, tmp_path / "inbox")
        assert conn.sql(marked).fetchall() == [(0,)]
        assert _tables(conn) == at_once
        # Another week end is another fingerprint: every file would be typed and checked again under it.
        assert fingerprint("saturday") != fingerprint("sunday")
        assert sum(len(ids) for ids in _to_stage(conn, "saturday").values()) == files


HEADER = b"project_id,status_date,pv,ev,ac,bac,baseline_start,baseline_finish,baseline_version\n"


def test_a_rule_across_files_still_compares_a_file_with_the_ones_loaded_before(tmp_path: Path):
    # evm_status's baseline dates must agree within a project across every file (same_within): the second file,
    # loaded a week later, moves PRJ-010's finish from 2026-04-24 to 2026-05-01, so both files' rows are rejected,
    # exactly as when the two are staged together (tests/transforms/readers/test_evm_status.py).
    inbox = tmp_path / "inbox"
    write_inbox(inbox, {"pmo/a.csv": HEADER + b"PRJ-010,2026-03-01,100,100,90,,2026-02-23,2026-04-24,\n"})
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, inbox)
        assert conn.sql("SELECT count(*) FROM staging.evm_status").fetchall() == [(1,)]
        write_inbox(inbox, {"pmo/c.csv": HEADER + b"PRJ-010,2026-03-15,300,,,,2026-02-23,2026-05-01,\n"})
        ingest(conn, inbox)
        rejects = conn.sql('SELECT file_id, "column", rule FROM audit.rejects ORDER BY ALL').fetchall()
        assert rejects == [
            (1, "baseline_finish", "same_within:project_id"),
            (2, "baseline_finish", "same_within:project_id"),
        ]
        assert conn.sql("SELECT count(*) FROM staging.evm_status").fetchall() == [(0,)]
        assert conn.sql("SELECT file_id, rows_loaded, rows_rejected FROM audit.files ORDER BY 1").fetchall() == [
            (1, 0, 1),
            (2, 0, 1),
        ]


def _week_two() -> dict[str, bytes]:
    """A second week's files, whose paths sort after the demo's: a Jira export that now has the LAB1 tickets (on
    project ERP, so PRJ-001), a corrected re-export of LAB1's first 20 worklogs (their hours halved: it replaces
    every LAB1 worklog on the days it covers) and a new project's worklogs (LAB0)."""
    lab1 = corpus.lab_rows(20, 1)
    halved = (pl.col("Hours").cast(pl.Float64) / 2).round(2).cast(pl.String)
    jira = corpus.demo()["jira/jira_export_2026-03-15.csv"].decode("utf-8-sig").splitlines()
    template = jira[1].split(",")  # ERP-1, on project ERP: the issue key is field 1, the issue id field 2
    rows = [",".join([template[0], key, str(90000 + n), *template[3:]])
            for n, key in enumerate(sorted(set(corpus.lab_rows(40, 1).get_column("Issue Key"))))]  # fmt: skip
    return {
        "z_week2/jira_export_2026-03-22.csv": ("\r\n".join([jira[0], *rows]) + "\r\n").encode(),
        "z_week2/tempo_lab0.csv": corpus.to_csv(corpus.lab_rows(10, 0)),
        "z_week2/tempo_lab1_corrected.csv": corpus.to_csv(lab1.with_columns(halved.alias("Hours"))),
    }


LAB1_TICKETS = ("SELECT count(*) FILTER (item_known), count(*) FILTER (project_id = 'PRJ-001'), count(*)"
                " FROM staging.worklogs WHERE item_key LIKE 'LAB1-%'")  # fmt: skip


def _week_by_week(root: Path, week_one: dict[str, bytes], week_two: dict[str, bytes],
                  after_week_one=None) -> tuple[dict[str, list], dict[str, list], dict[str, int]]:  # fmt: skip
    """The staging, conformed and audit tables of a home that loaded `week_one`, then `week_two`, and of one that
    loaded them all at once; and what the second run appended. `after_week_one(conn)` checks the first home between."""
    write_inbox(root / "at_once", week_one | week_two)
    with warehouse.connect(root / "at_once.duckdb") as conn:
        ingest(conn, root / "at_once")
        expected = _tables(conn)
    write_inbox(root / "inbox", week_one)
    with warehouse.connect(root / "w.duckdb") as conn:
        ingest(conn, root / "inbox")
        if after_week_one is not None:
            after_week_one(conn)
        write_inbox(root / "inbox", week_two)
        summary = ingest(conn, root / "inbox")
        return _tables(conn), expected, summary.appended


def _two_weeks(root: Path, week_two: dict[str, bytes]) -> tuple[dict[str, list], dict[str, list], dict[str, int]]:
    """`_week_by_week` of the demo and 40 LAB1 worklogs, then `week_two`."""

    def no_ticket_has_them_yet(conn: duckdb.DuckDBPyConnection) -> None:
        assert conn.sql(LAB1_TICKETS).fetchall() == [(0, 0, 40)]

    week_one = corpus.demo() | {"tempo/tempo_lab1.csv": corpus.to_csv(corpus.lab_rows(40, 1))}
    return _week_by_week(root, week_one, week_two, no_ticket_has_them_yet)


def test_a_new_weeks_worklogs_are_appended_and_give_what_loading_everything_at_once_gives(tmp_path):
    got, expected, appended = _two_weeks(tmp_path, _week_two())
    # Appended: the 10 LAB0 worklogs and the 20 corrected LAB1 ones, and the new Jira export's 20 tickets; neither
    # staging.worklogs nor staging.work_items was written whole.
    assert appended == {"worklogs": 30, "work_items": 20}
    assert got == expected  # the same rows, in the same (load) order, and the same accounting
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        # The LAB1 worklogs of week one that the correction left (outside its days) were resolved again in place:
        # their tickets are now known, on PRJ-001. 40 - 20 replaced (at least) + 20 corrected.
        known, on_erp, rows = conn.sql(LAB1_TICKETS).fetchall()[0]
        assert known == on_erp == rows and rows > 20
        files = [f for (f,) in conn.sql("SELECT _source_file FROM staging.worklogs").fetchall()]
        assert files == sorted(files) and len(set(files)) == 4  # demo Tempo, LAB1, then the two new files


def _jira_export(*tickets: tuple[list[str], str, int]) -> bytes:
    """A Jira export in the demo's layout, its rows the demo's first ticket's but for their keys: for each (keys,
    Jira project, first issue id), those tickets on that project."""
    header, first = corpus.demo()["jira/jira_export_2026-03-15.csv"].decode("utf-8-sig").splitlines()[:2]
    template = first.split(",")
    rows = [",".join([template[0], key, str(first_id + n), *template[3:6], project, *template[7:]])
            for keys, project, first_id in tickets for n, key in enumerate(keys)]  # fmt: skip
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


@pytest.mark.parametrize("appearing", [True, False], ids=["and_tickets_appear", "alone"])
def test_the_worklogs_of_a_ticket_that_moved_project_and_of_tickets_that_appeared_are_resolved_again(
    tmp_path, appearing
):
    # Week one: the LAB1 and LAB0 worklogs (their Tempo project is mapped to none, so their ticket gives their
    # project) and a Jira export with the LAB1 tickets on ERP (PRJ-001). Week two's export moves the first LAB1
    # ticket to CRM (PRJ-002) and brings the LAB0 tickets, on NET (PRJ-003). The worklogs of the tickets that
    # appeared are found among those whose ticket was unknown, those of the ticket that moved among all of them;
    # both are resolved again in place, as loading everything at once resolves them. `alone`: the export moves the
    # ticket and brings no other (the worklogs of tickets that appeared are none, those of the moved one some).
    lab1, lab0 = (sorted(set(corpus.lab_rows(n, slot).get_column("Issue Key"))) for n, slot in ((40, 1), (10, 0)))
    week_one = corpus.demo() | {
        "tempo/tempo_lab1.csv": corpus.to_csv(corpus.lab_rows(40, 1)),
        "tempo/tempo_lab0.csv": corpus.to_csv(corpus.lab_rows(10, 0)),
        "z_week1/jira_export_2026-03-16.csv": _jira_export((lab1, "ERP", 90000)),
    }
    new = lab0 if appearing else []
    week_two = {"z_week2/jira_export_2026-03-22.csv": _jira_export((lab1[:1], "CRM", 90000), (new, "NET", 95000))}
    got, expected, appended = _week_by_week(tmp_path, week_one, week_two)
    assert appended == {"worklogs": 0, "work_items": 1 + len(new)}  # neither written whole
    assert got == expected
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        projects = conn.sql(
            "SELECT item_key = ? AS moved, item_key LIKE 'LAB0-%' AS appeared, project_id, item_known, count(*)"
            " FROM staging.worklogs WHERE item_key LIKE 'LAB_-%' GROUP BY ALL ORDER BY ALL", params=[lab1[0]]
        ).fetchall()  # fmt: skip
    moved, others = (sum(1 for key in corpus.lab_rows(40, 1).get_column("Issue Key") if (key == lab1[0]) == m)
                     for m in (True, False))  # fmt: skip
    lab0_rows = (False, True, "PRJ-003", True, 10) if appearing else (False, True, None, False, 10)
    assert projects == [(False, False, "PRJ-001", True, others), lab0_rows, (True, False, "PRJ-002", True, moved)]


def test_staging_worklogs_is_written_whole_when_a_lookup_changes(tmp_path):
    mapping = b"source_kind,source_key,project_id\r\ntempo,LAB0,PRJ-002\r\n"
    got, expected, appended = _two_weeks(tmp_path, _week_two() | {"z_week2/zz_project_map.csv": mapping})
    assert appended == {}  # a new project mapping may move any worklog: written whole
    assert got == expected


def test_a_new_weeks_worklogs_are_merged_onto_staging_without_ranking_the_earlier_candidates_again(tmp_path):
    week_one = corpus.demo() | {"tempo/tempo_lab1.csv": corpus.to_csv(corpus.lab_rows(40, 1))}
    write_inbox(tmp_path / "inbox", week_one)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        # A candidate of week one no merge has seen: the same worklog as a kept row, on a later line of its file. A
        # merge of every candidate would keep it (the later line ranks first); a merge onto staging does not read the
        # candidates of the files it merged before.
        first = conn.sql("SELECT _source_file, _line FROM staging.worklogs WHERE item_key NOT LIKE 'LAB%' LIMIT 1")
        first = first.fetchall()[0]  # a demo worklog: week two replaces LAB1's
        conn.sql("INSERT INTO conformed.worklogs SELECT * REPLACE (_line + 100000 AS _line) FROM conformed.worklogs"
                 " WHERE _source_file = ? AND _line = ?", params=list(first))  # fmt: skip
        unseen = "SELECT count(*) FROM staging.worklogs WHERE _line > 100000"
        write_inbox(tmp_path / "inbox", _week_two())
        assert ingest(conn, tmp_path / "inbox").appended == {"worklogs": 30, "work_items": 20}
        assert conn.sql(unseen).fetchall() == [(0,)]
        # Once staging.worklogs may not be what those candidates give (a file of them staged again), all are merged.
        conn.sql("UPDATE audit.staged_files SET fingerprint = 'before' WHERE file_id = (SELECT max(file_id) FROM"
                 " audit.staged_files WHERE source_kind = 'tempo_worklogs')")  # fmt: skip
        ingest(conn, tmp_path / "inbox")
        assert conn.sql(unseen).fetchall() == [(1,)]


def test_a_re_export_of_a_days_tickets_replaces_their_rows_in_place_as_merging_all_at_once_does(tmp_path):
    # The export of an earlier day again, its first ticket renamed: its rows replace that day's rows of the first
    # export of it (same tickets, same day), which are deleted; the new ones are appended after every row.
    header, first, *rest = corpus.demo()["jira/jira_export_2026-02-15.csv"].decode("utf-8-sig").splitlines()
    again = "\r\n".join([header, "Renamed" + first[first.index(",") :], *rest]) + "\r\n"
    got, expected, appended = _week_by_week(
        tmp_path, corpus.demo(), {"z_week2/jira_export_2026-02-15.csv": again.encode()}
    )
    assert appended == {"work_items": len(rest) + 1, "worklogs": 0}  # patched, neither written whole
    assert got == expected  # the same rows, in the same (load) order, and the same accounting
    renamed = [row for row in got["staging.work_items"] if "Renamed" in row]
    assert len(renamed) == 1


def test_a_new_weeks_tickets_are_merged_onto_staging_and_all_again_once_an_earlier_file_is_staged_again(tmp_path):
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        # A kept candidate of an earlier file that staging does not hold (a ticket no merge has seen). A merge of every
        # candidate keeps it; a merge onto staging does not read the candidates of the files it merged before.
        conn.sql("INSERT INTO conformed.work_items SELECT * REPLACE ('OLD-1' AS item_key, _line + 100000 AS _line)"
                 " FROM conformed.work_items WHERE _source_file = (SELECT min(_source_file) FROM conformed.work_items)"
                 " LIMIT 1")  # fmt: skip
        old = "SELECT count(*) FROM staging.work_items WHERE item_key = 'OLD-1'"
        write_inbox(tmp_path / "inbox", _week_two())  # a new Jira export among them
        assert ingest(conn, tmp_path / "inbox").appended == {"work_items": 20, "worklogs": 30}
        assert conn.sql(old).fetchall() == [(0,)]
        # Once staging.work_items may not be what those candidates give (a file of them staged again: an upgrade,
        # `pmo forget`), every candidate is merged and the table is written whole, in load order.
        conn.sql("UPDATE audit.staged_files SET fingerprint = 'before' WHERE file_id = (SELECT max(_source_file) FROM"
                 " conformed.work_items)")  # fmt: skip
        summary = ingest(conn, tmp_path / "inbox")
        assert "work_items" not in summary.appended
        lineage = conn.sql("SELECT _source_file, _line, item_key FROM staging.work_items").fetchall()
        assert conn.sql(old).fetchall() == [(1,)] and lineage == sorted(lineage)
        assert conn.sql("SELECT count(*) FROM staging.work_items WHERE item_key LIKE 'LAB1-%'").fetchall() == [(20,)]


def test_a_table_whose_files_and_lookups_are_as_they_were_is_not_merged_again(tmp_path):
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        drops = "SELECT * FROM audit.merge_drops WHERE table_name = 'baselines' ORDER BY ALL"
        before = conn.sql(drops).fetchall()
        # A duplicate of a baseline element on an earlier line of its file: a merge of the baselines would drop it
        # and count it against that file. A week of tickets and worklogs does not merge the baselines: their drops,
        # like their rows, are those of the merge before.
        conn.sql("INSERT INTO conformed.baselines SELECT * REPLACE (_line - 100000 AS _line) FROM conformed.baselines"
                 " LIMIT 1")  # fmt: skip
        write_inbox(tmp_path / "inbox", _week_two())
        summary = ingest(conn, tmp_path / "inbox")
        assert summary.appended == {"work_items": 20, "worklogs": 30}
        assert conn.sql(drops).fetchall() == before
        # A new export of the baseline merges them all again: every row of the earlier one, the planted duplicate
        # too, is dropped for the new one's.
        ((file, rows),) = conn.sql("SELECT _source_file, count(*) FROM conformed.baselines GROUP BY ALL").fetchall()
        again = corpus.demo()["pmo/baseline.csv"].replace(b"\r\n", b"\n")  # the same rows in other bytes
        write_inbox(tmp_path / "inbox", {"z_week3/baseline.csv": again})
        ingest(conn, tmp_path / "inbox")
        assert conn.sql(drops).fetchall() == [("baselines", file, rows)]


def _lab(frame: pl.DataFrame, project: str, **values: str) -> bytes:
    return corpus.to_csv(frame.with_columns(**{"Project Key": pl.lit(project), "Account Key": pl.lit(project)},
                                            **{c.replace("_", " "): pl.lit(v) for c, v in values.items()}))  # fmt: skip


def test_a_worklog_a_new_export_drops_brings_back_an_earlier_candidate_of_its_key_as_merging_all_at_once_does(
    tmp_path,
):
    # One worklog (same issue, day, person and hours: the same id) exported under project LAB1, then under LAB2: the
    # LAB2 row is kept. Week two re-exports LAB2 for that day without it: the LAB2 row is dropped (a corrected export
    # replaces what an earlier one said for its days), and the LAB1 row, which nothing replaces, is kept again.
    row = corpus.lab_rows(1, 1)
    week_one = {"tempo/a_lab1.csv": _lab(row, "LAB1"), "tempo/b_lab2.csv": _lab(row, "LAB2")}
    week_two = {"z_week2/lab2_again.csv": _lab(row, "LAB2", Hours="3.00", Billed_Hours="3.00")}
    got, expected, _ = _week_by_week(tmp_path, week_one, week_two)
    assert got == expected
    kept = sorted((r[6], str(r[9])) for r in got["staging.worklogs"])  # source_project_key, hours
    assert kept == [("LAB1", "2.0000"), ("LAB2", "3.0000")]


def test_day_totals_and_duplicates_over_a_new_and_an_earlier_export_are_those_of_merging_all_at_once(tmp_path):
    # Ben works 13 h + 12.5 h on Monday and 13 h on Tuesday in LAB1's export (file 1; Monday: 25.5 h, two warnings),
    # whose Tuesday a second LAB1 export replaces (file 2: a duplicate of file 1). Week two: LAB1 re-exported for
    # Monday with the 13 h only (file 3: no warning left; two more duplicates of file 1), and LAB3's export with 12 h
    # more on Tuesday (file 4: 25 h, a warning on both Tuesday rows, one of them in week one's file 2).
    ben = corpus.lab_rows(1, 1)
    monday = ben.get_column("Work date")[0]
    tuesday = monday.replace("-09 ", "-10 ")
    week_one = {
        "tempo/lab1.csv": b"".join([
            _lab(ben, "LAB1", Hours="13.00"),
            _lab(ben, "LAB1", Hours="12.50").split(b"\r\n", 1)[1],
            _lab(ben, "LAB1", Hours="13.00", Work_date=tuesday).split(b"\r\n", 1)[1],
        ]),
        "tempo/lab1_tuesday.csv": _lab(ben, "LAB1", Hours="13.00", Work_date=tuesday),
    }  # fmt: skip
    week_two = {"z_week2/lab1_monday.csv": _lab(ben, "LAB1", Hours="13.00"),
                "z_week2/lab3.csv": _lab(ben, "LAB3", Hours="12.00", Work_date=tuesday)}  # fmt: skip
    got, expected, _ = _week_by_week(tmp_path, week_one, week_two)
    assert got == expected
    warned = [(r[0], r[1], r[3]) for r in got["audit.rejects"] if r[3].startswith("max_day_total")]
    assert warned == [(2, 2, "max_day_total:24"), (4, 2, "max_day_total:24")]
    assert [(r[0], r[4], r[5]) for r in got["audit.files"]] == [(1, 0, 3), (2, 1, 0), (3, 1, 0), (4, 1, 0)]


# A staging table's rows marked where no merge would put them (a line number no file has): a table written again
# loses the mark.
MARKED = ("baselines", "work_items", "assets", "people")


def _marked(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {t for t in MARKED if conn.sql(f"SELECT bool_and(_line < 0) FROM staging.{t}").fetchall()[0][0]}


def test_a_staging_table_is_written_again_only_when_its_candidates_or_what_it_reads_changed(tmp_path):
    lab0 = {"z_week2/tempo_lab0.csv": corpus.to_csv(corpus.lab_rows(10, 0))}
    mapping = {"z_week3/zz_project_map.csv": b"source_kind,source_key,project_id\r\ntempo,LAB0,PRJ-002\r\n"}
    write_inbox(tmp_path / "at_once", corpus.demo() | lab0 | mapping)
    with warehouse.connect(tmp_path / "at_once.duckdb") as conn:
        ingest(conn, tmp_path / "at_once")
        expected = _tables(conn)
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        for table in MARKED:
            conn.sql(f"UPDATE staging.{table} SET _line = -_line")
        write_inbox(tmp_path / "inbox", lab0)  # worklogs only: no other table's candidates changed
        ingest(conn, tmp_path / "inbox")
        assert _marked(conn) == set(MARKED)  # none written again
        write_inbox(tmp_path / "inbox", mapping)  # the project map, which resolves tickets' and assets' projects
        ingest(conn, tmp_path / "inbox")
        assert _marked(conn) == {"baselines", "people"}
        got = _tables(conn)
        assert {t: got[t] for t in ("staging.work_items", "staging.assets", "staging.project_map")} == {
            t: expected[t] for t in ("staging.work_items", "staging.assets", "staging.project_map")
        }
        # a file staged again (after an upgrade of the code that stages it) may give other rows: written again
        conn.sql("UPDATE audit.staged_files SET fingerprint = 'before' WHERE source_kind = 'people'")
        ingest(conn, tmp_path / "inbox")
        assert _marked(conn) == {"baselines"}
        assert _tables(conn)["staging.people"] == expected["staging.people"]


def test_a_table_in_load_order_is_only_appended_to_after_its_last_row(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        rows = "SELECT * FROM (VALUES (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c')) t(_source_file, _line, v)"
        warehouse.replace_query(conn, "staging.t", rows, warehouse.LOAD_ORDER)
        keep = "SELECT 1 AS _source_file, 1 AS _line WHERE false"
        with pytest.raises(RuntimeError, match="do not come after its last row"):  # (2, 0) sorts before (2, 1)
            warehouse.patch_in_load_order(conn, "staging.t", gone=keep, updates="SELECT 1 AS _source_file, 1 AS _line",
                                          added="SELECT 2 AS _source_file, 0 AS _line, 'x' AS v")  # fmt: skip
        # Delete (1, 2), set v of (1, 1), append (3, 1): the rows stay in load order.
        count = warehouse.patch_in_load_order(
            conn, "staging.t", gone="SELECT 1 AS _source_file, 2 AS _line",
            updates="SELECT 1 AS _source_file, 1 AS _line, 'A' AS v",
            added="SELECT 3 AS _source_file, 1 AS _line, 'd' AS v",
        )  # fmt: skip
        assert count == 3
        assert conn.sql("SELECT * FROM staging.t").fetchall() == [(1, 1, "A"), (2, 1, "c"), (3, 1, "d")]
        warehouse.replace_query(conn, "staging.u", rows, ["v"])  # in natural-key order: never patched
        with pytest.raises(RuntimeError, match="not in load order"):
            warehouse.patch_in_load_order(conn, "staging.u", gone=keep, updates=keep, added=keep)


COST_TABLES = ("marts.worklog_costs", "marts.cost_exceptions")


def _cost(conn: duckdb.DuckDBPyConnection) -> tuple[int, int, float, int]:
    with warehouse.transaction(conn):
        return write_worklog_costs(conn, Settings())


def test_a_new_weeks_worklogs_are_costed_alone_and_patched_into_what_costing_everything_gives(tmp_path):
    week_one = corpus.demo() | {"tempo/tempo_lab1.csv": corpus.to_csv(corpus.lab_rows(40, 1))}
    write_inbox(tmp_path / "at_once", week_one | _week_two())
    with warehouse.connect(tmp_path / "at_once.duckdb") as conn:
        ingest(conn, tmp_path / "at_once")
        _cost(conn)
        expected = {table: conn.sql(f"SELECT * FROM {table}").fetchall() for table in COST_TABLES}
    write_inbox(tmp_path / "inbox", week_one)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        costed, _, _, recosted = _cost(conn)
        assert recosted == costed  # the first time, every worklog
        lab1 = ("SELECT count(*) FILTER (exception = 'unknown project') FROM marts.worklog_costs"
                " WHERE item_key LIKE 'LAB1-%'")  # fmt: skip
        assert conn.sql(lab1).fetchall() == [(40,)]  # no ticket export has them yet: no project
        write_inbox(tmp_path / "inbox", week_one | _week_two())
        ingest(conn, tmp_path / "inbox")
        left = conn.sql(
            "SELECT count(*) FROM staging.worklogs WHERE item_key LIKE 'LAB1-%' AND _source_file = "
            "(SELECT min(_source_file) FROM staging.worklogs WHERE item_key LIKE 'LAB1-%')"
        ).fetchall()[0][0]
        costed, _, _, recosted = _cost(conn)
        # Costed again: the 30 appended (10 LAB0, 20 corrected LAB1) and the week-one LAB1 worklogs the correction
        # left, set again in place (their tickets are now known, on PRJ-001); not the demo's worklogs.
        assert left > 0 and recosted == 30 + left < costed
        assert conn.sql(lab1).fetchall() == [(0,)]
        assert {table: conn.sql(f"SELECT * FROM {table}").fetchall() for table in COST_TABLES} == expected
        assert conn.sql("SELECT count(*) FROM audit.staging_changes").fetchall() == [(0,)]  # all consumed
        assert _cost(conn)[3] == 0  # nothing changed since: nothing costed
        conn.sql(
            "UPDATE staging.people SET team = 'Moved' WHERE person_id = (SELECT min(person_id) FROM staging.people)"
        )
        assert _cost(conn)[3] == 0  # a team changes no rate in force: nothing costed
        conn.sql("UPDATE staging.rates SET hourly_rate = hourly_rate + 1")
        costed, _, _, recosted = _cost(conn)
        assert recosted == costed  # a rate changed: any worklog's cost may have, so every worklog is costed again
        assert conn.sql("SELECT count(*) FROM marts.worklog_costs WHERE cost IS NOT NULL").fetchall() != [(0,)]
        assert {table: conn.sql(f"SELECT * FROM {table}").fetchall() for table in COST_TABLES} != expected
