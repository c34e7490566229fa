"""The whole asset graph, materialized for real into a DuckDB file under tmp_path."""

import datetime as dt
import email
import json
import re
import subprocess
import sys
from email import policy
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines import marts
from pipelines.definitions import defs
from pipelines.delivery import EMAIL_OP
from pipelines.pack import pack_data
from pipelines.resources import Mailer, PmoHome

REPO = Path(__file__).resolve().parents[2]
ASSETS = list(defs.assets)  # every asset of the one Definitions object


def _materialize(home, inbox, week="2026-03-15"):
    return dg.materialize(
        ASSETS,
        resources={"pmo": PmoHome(home=str(home), inbox=str(inbox)), "mailer": Mailer()},
        run_config={"ops": {EMAIL_OP: {"config": {"send": True}}}},  # as the schedule and `pmo run` do
        partition_key=week,  # the small inbox's last week by default (every run of the marts has a partition)
    )


@pytest.fixture
def built(tmp_path, small_inbox, monkeypatch):
    monkeypatch.delenv("PMO_SMTP_HOST", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "pmo.toml").write_text('[email]\nleadership = ["cio@example.org"]\n', encoding="utf-8")
    result = _materialize(home, small_inbox)
    assert result.success
    return home, small_inbox


def test_asset_keys_are_pinned():
    keys = {"/".join(k.path) for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw/jira_issues",
        "raw/tempo_worklogs",
        "staging/work_items",
        "staging/worklogs",
        "staging/baselines",
        "staging/status_reports",
        "audit/files",
        "audit/rejects",
        "marts/worklog_costs",
        "marts/cost_exceptions",
        "marts/evm_weekly",
        "marts/portfolio_weekly",
        "marts/source_freshness",
        "published/pmo",
        "reports/pack",
        "reports/email",
    } <= keys


def test_every_row_is_accounted_for_and_bad_rows_are_rejected_with_their_line(built):
    home, _ = built
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        files = conn.sql("SELECT * FROM audit.files WHERE status = 'parsed'").pl()
        rejects = conn.sql(
            "SELECT f.path, r.line, r.column, r.rule, r.raw_value"
            " FROM audit.rejects r JOIN audit.files f USING (file_id)"
            " ORDER BY f.path, r.line, r.column"
        ).pl()
    assert files.height == 17
    balance = files.select(
        pl.col("rows_in_file") - pl.col("rows_loaded") - pl.col("rows_duplicate") - pl.col("rows_rejected")
    )
    assert balance.to_series().to_list() == [0] * 17
    tempo = rejects.filter(pl.col("path").str.starts_with("tempo/"))
    # The generator writes the negative-hours row first (line 2) and the impossible date (31 Feb) last.
    assert tempo.row(0) == (tempo.row(0)[0], 2, "Hours", "min:0", "-3.00")
    assert tempo.row(-1)[2:] == ("Work date", "type:date", "31/02/2026")


def test_actual_cost_reconciles_with_the_costed_worklogs(built):
    home, _ = built
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        as_of = conn.sql("SELECT max(status_date) FROM marts.evm_weekly").fetchall()[0][0]
        evm = conn.sql(
            "SELECT project_id, ac FROM marts.evm_weekly WHERE status_date = ? ORDER BY 1", params=[as_of]
        ).fetchall()
        costs = conn.sql(
            "SELECT project_id, sum(cost) FROM marts.worklog_costs WHERE exception IS NULL AND work_date <= ?"
            " GROUP BY 1 ORDER BY 1",
            params=[as_of],
        ).fetchall()
        grid = conn.sql("SELECT DISTINCT isodow(status_date) FROM marts.evm_weekly").fetchall()
    assert as_of == dt.date(2026, 3, 15)
    assert evm == costs and len(evm) == 3
    assert grid == [(7,)]  # every status date is a Sunday


def test_second_run_changes_nothing(built):
    home, inbox = built
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        before = conn.sql("SELECT * FROM marts.evm_weekly ORDER BY ALL").pl()
        files_before = conn.sql("SELECT file_id, sha256, rows_loaded FROM audit.files ORDER BY 1").pl()
    assert _materialize(home, inbox).success
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        after = conn.sql("SELECT * FROM marts.evm_weekly ORDER BY ALL").pl()
        files_after = conn.sql("SELECT file_id, sha256, rows_loaded FROM audit.files ORDER BY 1").pl()
        worklogs = conn.sql("SELECT count(*) FROM staging.worklogs").fetchall()[0][0]
        raw = conn.sql("SELECT count(*) FROM raw.tempo_worklogs").fetchall()[0][0]
    assert before.equals(after) and files_before.equals(files_after)
    assert raw == worklogs + 2  # loaded once, not twice; the two rejected rows stay in raw only


def test_earned_value_keeps_the_planned_value_curves_while_their_inputs_are_the_same(built):
    """audit.evm_curves: written by the first run, read by the next one while the digest of their inputs is the
    same, written again when it is not."""
    home, inbox = built
    pmo = PmoHome(home=str(home), inbox=str(inbox))

    def earned_value() -> None:
        assert dg.materialize([marts.earned_value], resources={"pmo": pmo}, partition_key="2026-03-15").success

    def pv(conn) -> list[tuple]:
        return conn.sql("SELECT project_id, status_date, pv FROM marts.evm_weekly ORDER BY ALL").fetchall()

    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        before = pv(conn)
        digest, rows = conn.sql("SELECT any_value(digest), count(*) FROM audit.evm_curves").fetchall()[0]
        assert rows > 0 and any(p for _, _, p in before)
        # Rows doubled under the same digest are read as they are: every PV doubles, which only reading them gives.
        conn.sql("UPDATE audit.evm_curves SET pv = pv * 2")
    earned_value()
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        assert pv(conn) == [(p, d, 2 * v) for p, d, v in before]
        # Another digest (inputs that changed): computed again, and written with the digest of the inputs now.
        conn.sql("UPDATE audit.evm_curves SET digest = 'of other inputs'")
    earned_value()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert pv(conn) == before
        assert conn.sql("SELECT DISTINCT digest FROM audit.evm_curves").fetchall() == [(digest,)]
        assert conn.sql("SELECT count(*) FROM audit.evm_curves").fetchall()[0][0] == rows


def test_outputs_exist_and_open(built):
    home, _ = built
    with duckdb.connect(str(home / "published" / "pmo.duckdb"), read_only=True) as conn:
        published = conn.sql("SELECT count(*) FROM marts.evm_weekly").fetchall()[0][0]
        tables = {
            r[0] for r in conn.sql("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
        }
    assert published > 0
    assert "staging.worklogs" not in tables and "staging.rates" not in tables  # personal data stays home
    index = (home / "reports" / "2026-03-15" / "index.html").read_text(encoding="utf-8")
    for project in ("PRJ-001", "PRJ-002", "PRJ-003"):
        assert f'href="projects/{project}.html"' in index
        assert (home / "reports" / "2026-03-15" / "projects" / f"{project}.html").exists()
    # Offline: the only script the page loads is the Vega runtime shipped inside the pack (no CDN, no network).
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', index)
    assert sources == ["assets/vega.js"] and "://" not in "".join(sources)
    assert (home / "reports" / "2026-03-15" / "assets" / "vega.js").exists()
    message = email.message_from_bytes(
        (home / "outbox" / "2026-03-15-leadership-cio@example.org.eml").read_bytes(), policy=policy.default
    )
    html = message.get_body(("html",)).get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert message.get_body(("plain",)) is not None and len(images) == 2
    assert all(f"cid:{image['Content-ID'].strip('<>')}" in html for image in images)


def test_schedule_reports_the_week_that_has_just_ended():
    from pipelines.definitions import weekly_pack_schedule

    # Monday 29 June 2026, 07:00: the week that has just ended is the one ending Sunday 28 June.
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 6, 29, 7, 0))
    request = weekly_pack_schedule(context)
    assert request.partition_key == "2026-06-28"  # the week's partition, keyed by its status date
    assert request.run_key == "2026-06-28"
    assert weekly_pack_schedule.cron_schedule == "0 7 * * 1"


def test_a_run_started_outside_the_cli_also_respects_the_home_lock(tmp_path, small_inbox):
    # The CLI checks the lock before it starts; runs from the UI or the schedule rely on the resource's lock.
    from pipelines.home import RunLock

    home = tmp_path / "home"
    lock = RunLock(home)
    lock.acquire()
    try:
        result = dg.materialize(
            ASSETS,
            resources={"pmo": PmoHome(home=str(home), inbox=str(small_inbox)), "mailer": Mailer()},
            raise_on_error=False,
            partition_key="2026-03-15",
        )
    finally:
        lock.release()
    assert not result.success
    assert not (home / "warehouse.duckdb").exists()


def _checks(result) -> dict[tuple[str, str], bool]:
    return {("/".join(e.asset_key.path), e.check_name): e.passed for e in result.get_asset_check_evaluations()}


GX_APART = """
import sys
import dagster as dg
import duckdb
from pipelines.assets import contract_validations, exports
from pipelines.resources import PmoHome
pmo = PmoHome(home=sys.argv[1], inbox=sys.argv[2])
result = dg.materialize([exports, contract_validations], resources={"pmo": pmo})
with duckdb.connect(sys.argv[1] + "/warehouse.duckdb", read_only=True) as conn:
    files, results = conn.sql("SELECT (SELECT count(*) FROM audit.files WHERE rows_in_file IS NOT NULL),"
                              " (SELECT count(*) FROM audit.contract_validations)").fetchall()[0]
print(result.success, files, results, "great_expectations" in sys.modules)
"""


def test_great_expectations_is_imported_in_a_worker_not_in_the_runs_process(tmp_path, small_inbox):
    # ~200 MB the marts' peak memory would otherwise carry (docs/performance.md, "Memory")
    home = tmp_path / "home"
    home.mkdir()
    args = [sys.executable, "-c", GX_APART, str(home), str(small_inbox)]
    out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=REPO).stdout.split()
    success, files, results, imported = out[-4:]
    assert (success, imported) == ("True", "False")
    assert int(files) > 0 and results == files  # every file's validation result written, by the worker


def test_contract_checks_show_in_dagster_and_great_expectations_holds_the_results(tmp_path, small_inbox):
    result = _materialize(tmp_path / "home", small_inbox)
    checks = _checks(result)
    # The demo's Tempo export has two bad rows (negative hours, 31/02/2026); its Jira export has none.
    assert checks[("raw/tempo_worklogs", "contract")] is False
    assert checks[("raw/jira_issues", "contract")] is True
    assert checks[("staging/projects", "present")] is True
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.sql(
            "SELECT f.path, v.success, v.result FROM audit.contract_validations v JOIN audit.files f USING (file_id)"
        ).fetchall()
        suite = json.loads(
            conn.sql("SELECT suite FROM audit.contract_suites WHERE kind = 'tempo_worklogs'").fetchall()[0][0]
        )
    by_path = {path: (success, json.loads(doc)) for path, success, doc in rows}
    tempo = next(v for p, v in by_path.items() if p.startswith("tempo/"))
    assert tempo[0] is False
    failed = {
        (r["expectation_config"]["meta"]["pmo_column"], r["expectation_config"]["meta"]["pmo_rule"]):
        r["result"]["unexpected_count"]
        for r in tempo[1]["results"] if not r["success"]
    }  # fmt: skip
    assert failed == {("Hours", "min:0"): 1, ("Work date", "type:date"): 1}
    assert {e["type"] for e in suite["expectations"]} >= {
        "expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
    }  # fmt: skip


def test_without_a_project_register_the_run_stops_before_the_marts(tmp_path, small_inbox):
    (small_inbox / "pmo" / "projects.csv").unlink()
    result = dg.materialize(
        ASSETS,
        resources={"pmo": PmoHome(home=str(tmp_path / "home"), inbox=str(small_inbox)), "mailer": Mailer()},
        raise_on_error=False,
        partition_key="2026-03-15",
    )
    assert _checks(result)[("staging/projects", "present")] is False
    materialized = {"/".join(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert "staging/worklogs" in materialized  # ingestion itself went through
    assert "marts/evm_weekly" not in materialized and "reports/pack" not in materialized


def test_every_mart_column_is_documented_in_the_warehouse_the_snapshot_and_the_docs(built):
    from pathlib import Path

    from pipelines.dictionary import MARTS, markdown
    from pipelines.home import load_settings

    home, _ = built
    for path in (home / "warehouse.duckdb", home / "published" / "pmo.duckdb"):
        # The snapshot leaves out the [privacy] columns (tests/pipelines/test_publish.py), and their comments.
        left_out = load_settings(home / "pmo.toml").privacy.exclude_columns if "published" in path.parts else {}
        with duckdb.connect(str(path), read_only=True) as conn:
            columns = conn.sql(
                "SELECT schema_name || '.' || table_name, column_name, comment FROM duckdb_columns()"
                " WHERE schema_name = 'marts'"
            ).fetchall()
            tables = dict(conn.sql(
                "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'"
            ).fetchall())  # fmt: skip
        # Every column of every mart has its comment, the dictionary's text, and nothing is documented that
        # the mart does not have.
        found = {}
        for table, column, comment in columns:
            found.setdefault(table, {})[column] = comment
        for table, cols in found.items():
            assert table in MARTS, f"{table} is not in the data dictionary"
            assert cols == {c: t for c, t in MARTS[table][1].items() if c not in left_out.get(table, [])}, table
            assert tables[table] == MARTS[table][0]
    docs = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"
    assert docs.read_text(encoding="utf-8") == markdown(), (
        "run: python -m pipelines.dictionary > docs/data-dictionary.md"
    )


def test_the_sent_week_is_frozen_once_and_every_mart_has_rows(built):
    from pipelines.dictionary import MARTS

    home, inbox = built
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        sent = conn.sql(
            "SELECT status_date::VARCHAR, count(*), min(sent_at) FROM history.evm_sent GROUP BY 1"
        ).fetchall()
        projects = conn.sql("SELECT count(*) FROM staging.projects").fetchall()[0][0]
        marts = [
            t for (t,) in conn.sql("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        ]
        empty = [t for t in marts if conn.sql(f"SELECT count(*) FROM marts.{t}").fetchall()[0][0] == 0]
    assert [(d, n) for d, n, _ in sent] == [("2026-03-15", projects)]
    # The small inbox has no closed project, no finding beside the figures (its bad rows are rejected before
    # staging), no sent week changed since and no milestone: only those marts are empty.
    assert set(empty) == {
        "eac_backtest",
        "eac_backtest_summary",
        "evm_flags",
        "evm_restatements",
        "project_closure",
        "closure_drivers",
        "milestone_history",
    }, empty
    assert sorted(f"marts.{t}" for t in marts) == sorted(MARTS)  # every mart built, every one documented
    assert _materialize(home, inbox).success
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        again = conn.sql(
            "SELECT status_date::VARCHAR, count(*), min(sent_at) FROM history.evm_sent GROUP BY 1"
        ).fetchall()
    assert again == sent  # sent once: the second run keeps the first sending's figures and time


def test_a_run_for_an_older_week_keeps_the_later_weeks_and_restates_nothing(built):
    # The small inbox's last week (2026-03-15) was built and sent; then its pack of 2026-03-01 is made again. The
    # marts and the analysts' copy keep every week to 2026-03-15; before, they ended at 2026-03-01, and every sent
    # figure of 2026-03-15 showed as restated to none.
    home, inbox = built

    def weeks(db) -> tuple:
        with duckdb.connect(str(db), read_only=True) as conn:
            return conn.sql("SELECT max(status_date), count(*) FROM marts.evm_weekly").fetchall()[0]

    latest = weeks(home / "warehouse.duckdb")
    assert latest[0] == dt.date(2026, 3, 15)
    assert _materialize(home, inbox, week="2026-03-01").success
    assert weeks(home / "warehouse.duckdb") == latest
    assert weeks(home / "published" / "pmo.duckdb") == latest
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(*) FROM marts.evm_restatements").fetchall()[0][0] == 0
    older = (home / "reports" / "2026-03-01" / "index.html").read_text(encoding="utf-8")
    assert "Status date 2026-03-01" in older and 'id="restatements"' not in older
    # a restatement of the later week is not the older week's news: its pack reads those up to its own week
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.sql("INSERT INTO marts.evm_restatements (project_id, status_date, measure, as_sent, restated, difference)"
                 " VALUES ('PRJ-001', DATE '2026-03-15', 'ac', '100', '150', 50)")  # fmt: skip
    pmo = PmoHome(home=str(home))
    assert pack_data(pmo, dt.date(2026, 3, 1)).restatements.height == 0
    assert pack_data(pmo, dt.date(2026, 3, 15)).restatements.height == 1


def test_earned_value_keeps_the_progress_of_projects_whose_inputs_did_not_change(built):
    from pipelines.marts import earned_value

    home, inbox = built

    def run_earned_value():
        result = dg.materialize([earned_value], resources={"pmo": PmoHome(home=str(home), inbox=str(inbox))},
                                partition_key="2026-03-15")  # fmt: skip
        assert result.success

    def ev(conn, project):
        return conn.sql("SELECT status_date, ev FROM marts.evm_weekly WHERE project_id = ? ORDER BY 1",
                        params=[project]).fetchall()  # fmt: skip

    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        measured = [
            p
            for (p,) in conn.sql(
                "SELECT DISTINCT project_id FROM marts.evm_progress WHERE part = 'ev' AND ev > 0 ORDER BY 1"
            ).fetchall()
        ]
        kept, changed = measured[:2]  # two projects that earned something
        before = {p: ev(conn, p) for p in (kept, changed)}
        first = conn.sql("SELECT min(wk) FROM marts.evm_progress WHERE part = 'ev' AND project_id = ?",
                         params=[kept]).fetchall()[0][0]  # fmt: skip
        # Both projects' stored progress raised by 1000: a project computed again loses it, one kept shows it.
        conn.sql("UPDATE marts.evm_progress SET ev = ev + 1000 WHERE part = 'ev' AND project_id IN (?, ?)",
                 params=[kept, changed])  # fmt: skip
        # The remaining estimate of one of `changed`'s measured items edited: its digest changes, not `kept`'s.
        conn.sql("UPDATE staging.work_items SET remaining_estimate_h = coalesce(remaining_estimate_h, 0) + 1 WHERE"
                 " item_key = (SELECT min(element_key) FROM staging.baselines WHERE project_id = ?)",
                 params=[changed])  # fmt: skip
    run_earned_value()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert ev(conn, changed) == before[changed]
        # `kept`'s stored rows were read: every EV from its first week with progress on is 1000 higher.
        assert ev(conn, kept) == [(d, v + 1000 if d >= first else v) for d, v in before[kept]]


def test_milestones_carry_forward_the_projects_whose_inputs_did_not_change(built):
    from pipelines.marts import MILESTONES, earned_value, milestones

    home, inbox = built
    resources = {"pmo": PmoHome(home=str(home), inbox=str(inbox))}
    tables = list(MILESTONES)[:3]  # variance, slips, history

    def dump():
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
            return {t: conn.sql(f"SELECT * FROM {t}").pl() for t in tables}

    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        # Every stored summary marked: a project carried forward keeps the mark, one computed again loses it.
        conn.sql("UPDATE marts.milestone_variance SET summary = 'kept'")
        changed = conn.sql("SELECT min(project_id) FROM marts.milestone_variance WHERE forecast_date IS NOT NULL"
                           " AND state NOT LIKE 'done%'").fetchall()[0][0]  # fmt: skip
        # One due date of `changed`'s open items moved (its digest changes); every assignee renamed (read by no
        # milestone figure: no project's digest changes).
        conn.sql("UPDATE staging.work_items SET due = due + 1 WHERE item_key = (SELECT min(item_key) FROM"
                 " marts.milestone_variance WHERE project_id = ? AND forecast_date IS NOT NULL AND state NOT LIKE"
                 " 'done%')", params=[changed])  # fmt: skip
        conn.sql("UPDATE staging.work_items SET assignee = 'someone else'")
        projects = {p for (p,) in conn.sql("SELECT DISTINCT project_id FROM marts.milestone_variance").fetchall()}
    # A week later (earned value's grid gains 22 March): the marts carried forward to it.
    assert dg.materialize([earned_value, milestones], resources=resources, partition_key="2026-03-22").success
    carried = dump()
    marked = set(carried[tables[0]].filter(pl.col("summary") == "kept").get_column("project_id"))
    assert changed not in marked and marked == projects - {changed}
    assert carried[tables[1]]["status_date"].max() == dt.date(2026, 3, 22)
    # The same as computing every project again (without the kept state), but for the marked summaries.
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.sql("DROP TABLE marts.milestone_state")
    assert dg.materialize([milestones], resources=resources, partition_key="2026-03-22").success
    again = dump()
    assert carried[tables[0]].drop("summary").equals(again[tables[0]].drop("summary"))
    assert carried[tables[1]].equals(again[tables[1]]) and carried[tables[2]].equals(again[tables[2]])
    assert again[tables[0]].filter(pl.col("summary") == "kept").is_empty()
