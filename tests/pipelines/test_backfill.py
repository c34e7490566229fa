"""`pmo backfill` builds a range of weeks in one run; a new week dropped in the inbox builds its pack by sensor."""

import csv
import datetime as dt
import io
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from pipelines import cli, sensors
from pipelines.definitions import defs
from pipelines.resources import Mailer, PmoHome
from tests.conftest import write_inbox
from transforms.demo_portfolio import DemoSettings, generate

SETTINGS = '[email]\nleadership = ["cio@example.org"]\n'


def test_backfill_writes_every_week_of_the_range_in_one_run_and_sends_nothing(tmp_path, small_inbox, monkeypatch):
    monkeypatch.delenv("PMO_SMTP_HOST", raising=False)
    monkeypatch.setenv("PMO_HOME", str(tmp_path / "home"))  # the CLI points these at the home; undone after
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home" / "dagster"))
    home = tmp_path / "home"
    home.mkdir()
    (home / "pmo.toml").write_text(SETTINGS, encoding="utf-8")
    code = cli.main(["backfill", "--from", "2026-02-22", "--to", "2026-03-15", "--home", str(home),
                     "--inbox", str(small_inbox)])  # fmt: skip
    assert code in (cli.DONE, cli.REJECTED)  # 3: the demo rejects a few rows on purpose
    # 22 Feb, 1, 8 and 15 March: four Sundays, four packs.
    packs = sorted(p.name for p in (home / "reports").iterdir() if not p.name.startswith("."))
    assert packs == ["2026-02-22", "2026-03-01", "2026-03-08", "2026-03-15"]
    assert all((home / "reports" / day / "index.html").exists() for day in packs)
    assert "2026-02-22" in (home / "reports" / "2026-02-22" / "index.html").read_text(encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
    assert len(runs) == 1  # one run, one process, for the four weeks
    assert runs[0].tags["dagster/asset_partition_range_start"] == "2026-02-22"
    assert runs[0].tags["dagster/asset_partition_range_end"] == "2026-03-15"
    assert not list((home / "outbox").glob("*.eml"))  # a backfill never sends
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(*) FROM history.deliveries").fetchall()[0][0] == 0
        freshness = conn.sql("SELECT DISTINCT status_date FROM marts.source_freshness ORDER BY 1").fetchall()
    assert [d for (d,) in freshness] == [dt.date(2026, 2, 22), dt.date(2026, 3, 1), dt.date(2026, 3, 8),
                                         dt.date(2026, 3, 15)]  # fmt: skip


def _append_copy(path: Path, changes: dict[str, str]) -> None:
    """Append to a demo CSV a copy of its first row with some columns changed (by header name)."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    row = dict(zip(rows[0], rows[1], strict=True)) | changes
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([row[c] for c in rows[0]])
    path.write_text(text + out.getvalue(), encoding="utf-8")


def test_a_backfills_earlier_pack_shows_the_milestones_and_renewals_of_its_own_week(tmp_path, monkeypatch):
    """The marts reach the range's last week before its packs are written; each pack still shows its week's
    milestones (marts.milestone_history) and renewals (from marts.itam_due_dates), not the last week's."""
    monkeypatch.delenv("PMO_SMTP_HOST", raising=False)
    monkeypatch.setenv("PMO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home" / "dagster"))
    # Nine projects: the ninth earns by weighted milestones, and its first milestone's forecast moves in the export
    # of Friday 13 March, from 13 March (its baseline date) to 26 June.
    settings = DemoSettings(seed=7, projects=9, people=12, weeks=10, end=dt.date(2026, 3, 15))
    inbox = write_inbox(tmp_path / "inbox", generate(settings))
    # A licence bought in January that expires on Friday 10 April, and a switch bought on Tuesday 10 March whose
    # warranty ends on Monday 20 April.
    _append_copy(
        inbox / "snipeit" / "licenses_2026-03-15.csv",
        {"serial number": "TEST-LIC", "purchase date": "01/05/2026", "expiration date": "04/10/2026"},
    )
    _append_copy(inbox / "snipeit" / "assets_2026-03-15.csv",
                 {"Asset Tag": "TEST-0001", "Name": "Switch", "Purchase Date": "3/10/26",
                  "Warranty Expires": "4/20/26", "EOL Date": "3/10/30"})  # fmt: skip
    home = tmp_path / "home"
    code = cli.main(["backfill", "--from", "2026-03-08", "--to", "2026-03-15", "--home", str(home),
                     "--inbox", str(inbox)])  # fmt: skip
    assert code in (cli.DONE, cli.REJECTED)

    def shown(day: str) -> dict[str, tuple]:
        page = pl.read_csv(home / "reports" / day / "projects" / "PRJ-009.milestones.csv", infer_schema=False)
        return {r[0]: (r[3], r[5], r[6]) for r in page.rows()}  # forecast, slip, state

    assert shown("2026-03-08")["SOC-27"] == ("2026-03-13", "0", "on_track")
    # 26 June against 13 March: 71 working days on the demo's calendar (as the mart computes, below)
    assert shown("2026-03-15")["SOC-27"] == ("2026-06-26", "71", "slipped")
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        for day in ("2026-03-08", "2026-03-15"):
            rows = conn.sql(
                "SELECT item_key, CAST(forecast_date AS VARCHAR), CAST(slip_working_days AS VARCHAR), state"
                " FROM marts.milestone_history WHERE project_id = 'PRJ-009' AND status_date = CAST(? AS DATE)",
                params=[day],
            ).fetchall()
            assert shown(day) == {key: tuple(rest) for key, *rest in rows}

    def renewals(day: str) -> dict[str, tuple]:
        page = pl.read_csv(home / "reports" / day / "it" / "assets.renewals.csv", infer_schema=False)
        return {r[4]: (r[3], r[1], r[2]) for r in page.rows()}  # key: kind, days, window

    # 8 March: the licence is 33 days from expiring (10 April − 8 March = 23 + 10), in the 90-day window; the switch
    # is not bought yet, so its warranty is nobody's renewal.
    assert renewals("2026-03-08") == {"TEST-LIC": ("licence_expiry", "33", "90")}
    # 15 March: 26 days, in the 30-day window; the switch, bought on 10 March, has 36 days of warranty left
    # (20 April − 15 March = 16 + 20).
    assert renewals("2026-03-15") == {"TEST-LIC": ("licence_expiry", "26", "30"),
                                      "TEST-0001": ("warranty_end", "36", "90")}  # fmt: skip
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        # the last week's pack is marts.itam_renewals, computed with the marts for the same week
        mart = conn.sql('SELECT key, kind, CAST(days_until AS VARCHAR), "window" FROM marts.itam_renewals').fetchall()
    assert renewals("2026-03-15") == {key: tuple(rest) for key, *rest in mart}


def test_backfill_refuses_a_range_off_the_week_grid(tmp_path, small_inbox, capsys):
    code = cli.main(["backfill", "--from", "2026-02-23", "--to", "2026-03-15", "--home", str(tmp_path / "home"),
                     "--inbox", str(small_inbox)])  # fmt: skip
    assert code == cli.USAGE
    assert "2026-02-23 is not a status date: weeks end on sunday" in capsys.readouterr().out


def _next_week_of_worklogs(inbox):
    """The small inbox's last week of Tempo rows (9-13 March 2026) again, seven days later (16-20 March)."""
    source = inbox / "tempo" / "tempo_worklogs_2026-03-15.csv"
    rows = pl.read_csv(source, infer_schema=False)
    day = pl.col("Work date").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    shifted = rows.filter(day.is_between(dt.date(2026, 3, 9), dt.date(2026, 3, 13))).with_columns(
        (day + pl.duration(days=7)).dt.strftime("%Y-%m-%d 00:00").alias("Work date")
    )
    assert shifted.height > 0
    shifted.write_csv(inbox / "tempo" / "tempo_worklogs_2026-03-22.csv")


def test_a_new_week_dropped_in_the_inbox_builds_its_pack_through_the_sensors(tmp_path, small_inbox, monkeypatch):
    """The done-when, without the daemon: each sensor is evaluated and its run request executed in process."""
    monkeypatch.delenv("PMO_SMTP_HOST", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "pmo.toml").write_text(SETTINGS, encoding="utf-8")
    inbox = small_inbox
    resources = {"pmo": PmoHome(home=str(home), inbox=str(inbox)), "mailer": Mailer()}
    inbox_sensor, after = sensors.inbox_sensor(inbox), sensors.after_ingestion(home)
    with dg.DagsterInstance.ephemeral() as instance:

        def tick(cursor):
            result = inbox_sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, instance=instance))
            return result.run_requests or [], result.cursor

        def run_ingestion_then_build(request):
            job = defs.resolve_job_def("ingest_inbox")
            ingested = job.execute_in_process(instance=instance, resources=resources, tags=request.tags)
            assert ingested.success
            context = dg.build_run_status_sensor_context(
                sensor_name="after_ingestion", dagster_instance=instance, dagster_run=ingested.dagster_run,
                dagster_event=ingested.get_run_success_event(),
            )  # fmt: skip
            build = after(context)  # a run-status sensor is evaluated by calling it
            built = defs.resolve_job_def("weekly_build").execute_in_process(
                instance=instance, resources=resources, partition_key=build.partition_key, tags=build.tags
            )
            assert built.success
            return build.partition_key

        [first], cursor = tick(None)  # the demo's files, as after `make demo`
        assert run_ingestion_then_build(first) == "2026-03-15"
        assert (home / "reports" / "2026-03-15" / "index.html").exists()
        assert tick(cursor)[0] == []  # nothing new: nothing runs

        _next_week_of_worklogs(inbox)
        [second], cursor = tick(cursor)
        # Worklogs up to Friday 20 March complete the week ending Sunday 22 March.
        assert run_ingestion_then_build(second) == "2026-03-22"
        assert (home / "reports" / "2026-03-22" / "index.html").exists()
    assert not list((home / "outbox").glob("*.eml"))  # only the schedule and `pmo run` send
