"""The bench's report: the README's table, the per-step table of docs/performance.md and how a table replaces its
markers' content; how it makes a run stage every file again, as after an upgrade; and how it times `pmo forget`."""

from bench.run import BEGIN, END, STAGES, pmo_forget, replace_between, stage_everything_again, steps_table, table
from pipelines import warehouse
from pipelines.ingest import _to_stage, ingest
from tests.bad_input import corpus
from tests.conftest import write_inbox


def _result() -> dict:
    # A step only the incremental week ran (`only_later`) and two steps of equal full-run time (`a`, `b`).
    return {
        "date": "2026-11-23",
        "scale": "full",
        "full": {
            "steps": {
                "exports": {"seconds": 74.83, "peak_mb": 1759},
                "b": {"seconds": 2.04, "peak_mb": 900},
                "a": {"seconds": 2.04, "peak_mb": 800},
            }
        },
        "incremental": {
            "steps": {
                "exports": {"seconds": 6.52, "peak_mb": 929},
                "a": {"seconds": 0.25, "peak_mb": 700},
                "only_later": {"seconds": 0.12, "peak_mb": 600},
            }
        },
    }


def test_steps_table_lists_every_step_of_both_runs_slowest_first():
    lines = steps_table(_result()).splitlines()
    assert lines[0] == "Measured 2026-11-23 (`bench/results/2026-11-23.json`)."
    assert lines[2:] == [
        "| step | full run: s | peak MB | incremental week: s | peak MB |",
        "|---|---|---|---|---|",
        "| `exports` | 74.8 | 1759 | 6.5 | 929 |",  # 74.83 and 6.52 to one decimal
        "| `a` | 2.0 | 800 | 0.2 | 700 |",  # a tie on the full run's seconds goes by name: a before b
        "| `b` | 2.0 | 900 |  |  |",  # not in the incremental week: empty cells, not zeros
        "| `only_later` |  |  | 0.1 | 600 |",  # not in the full run: last
    ]


def test_replace_between_rewrites_only_the_marked_block(tmp_path):
    begin, end = BEGIN.format(scale="full:steps"), END.format(scale="full:steps")
    readme_begin, readme_end = BEGIN.format(scale="full"), END.format(scale="full")
    doc = tmp_path / "performance.md"
    text = f"intro\n{readme_begin}\nstage table\n{readme_end}\n{begin}\nold\ntable\n{end}\noutro\n"
    doc.write_text(text)

    assert replace_between(doc, begin, end, "new table")
    assert doc.read_text() == f"intro\n{readme_begin}\nstage table\n{readme_end}\n{begin}\nnew table\n{end}\noutro\n"

    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not replace_between(plain, begin, end, "new table")
    assert plain.read_text() == "no markers\n"


def test_steps_table_adds_the_run_after_an_upgrade_when_there_is_one():
    result = _result() | {"restaged": {"steps": {"exports": {"seconds": 40.26, "peak_mb": 1801}}}}
    lines = steps_table(result).splitlines()
    assert lines[2:5] == [
        "| step | full run: s | peak MB | incremental week: s | peak MB | after an upgrade: s | peak MB |",
        "|---|---|---|---|---|---|---|",
        "| `exports` | 74.8 | 1759 | 6.5 | 929 | 40.3 | 1801 |",
    ]
    assert lines[5] == "| `a` | 2.0 | 800 | 0.2 | 700 |  |  |"  # a step the third run did not have: empty cells


def test_staging_everything_again_leaves_every_loaded_file_to_stage_as_an_upgrade_does(tmp_path):
    files = corpus.demo()
    write_inbox(tmp_path / "inbox", files)
    with warehouse.connect(tmp_path / "warehouse.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        assert _to_stage(conn, "sunday") == {}  # all staged under this code's fingerprint
        loaded = conn.sql("SELECT count(DISTINCT file_id) FROM audit.staged_files").fetchall()[0][0]
    stage_everything_again(tmp_path)
    with warehouse.connect(tmp_path / "warehouse.duckdb") as conn:
        assert sum(len(ids) for ids in _to_stage(conn, "sunday").values()) == loaded > 0


def _whole_result() -> dict:
    stages = {s: {"seconds": 1.0, "peak_mb": 500} for s in ["start-up", *STAGES]}
    run = {"stages": stages, "total_s": 7.0, "peak_rss_mb": 900, "counts": {"project_pages": 10}}
    return {"date": "2026-11-24", "scale": "small", "machine": "x86_64, 2 cores, 24 GB", "input_mb": 1.0,
            "floor": {"read_csv_s": 1.0, "weekly_evm_s": 0.5, "total_s": 1.5, "peak_rss_mb": 300}, "help_s": 0.04,
            "full": run, "incremental": run, "budget_s": 3.3, "total_over_floor": 4.67, "total_over_budget": 2.12,
            "incremental_over_full": 1.0, "peak_rss_mb": 900}  # fmt: skip


def test_the_readme_table_shows_pmo_forget_on_its_own_row_against_the_memory_target():
    without = table(_whole_result()).splitlines()
    assert not [line for line in without if "pmo forget" in line]  # a result from before it was measured
    under = table(_whole_result() | {"forget": {"person": "u1", "seconds": 170.84, "peak_rss_mb": 1783}})
    over = table(_whole_result() | {"forget": {"person": "u1", "seconds": 180.1, "peak_rss_mb": 2390}})
    assert under.splitlines()[:-1] == over.splitlines()[:-1] == without  # one row more, at the end
    assert under.splitlines()[-1] == (
        "| `pmo forget` of one person, after the runs (an erasure, not part of the weekly run) | 170.8 s, 1783 MB "
        "| < 2048 MB | met |"
    )
    assert over.splitlines()[-1].endswith("| 180.1 s, 2390 MB | < 2048 MB | **not met** |")


def test_pmo_forget_erases_the_first_person_who_logged_work_and_reports_its_time_and_memory(tmp_path):
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "warehouse.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        first = conn.sql("SELECT min(person_id) FROM staging.worklogs").fetchall()[0][0]
    measured = pmo_forget(tmp_path, tmp_path / "forget.log")
    assert measured["person"] == first is not None
    assert measured["seconds"] > 0 and measured["peak_rss_mb"] > 50  # a Python process with DuckDB and polars
    with warehouse.connect(tmp_path / "warehouse.duckdb", read_only=True) as conn:
        erased = conn.sql("SELECT pseudonym FROM audit.erasures").fetchall()
        still = conn.sql("SELECT count(*) FROM staging.worklogs WHERE person_id = ?", params=[first]).fetchall()
    assert len(erased) == 1 and still == [(0,)]
    assert "erased as" in (tmp_path / "forget.log").read_text()
