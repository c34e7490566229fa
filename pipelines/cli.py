"""The `pmo` command. Dagster and the data libraries are imported only by the commands that run them,
so `pmo --help` answers at once.

Exit codes: 0 done; 3 done, but some input was rejected; 4 another run holds this home; 1 failed;
2 usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

DONE, FAILED, USAGE, REJECTED, LOCKED = 0, 1, 2, 3, 4
DEMO_SETTINGS = """\
[pipeline]
currency = "EUR"
week_ends_on = "sunday"

[schedule]
weekday = "monday"
time = "07:00"
timezone = "Europe/Paris"

[email]
sender = "pmo-kpi@example.org"
leadership = ["cio@example.org", "cfo@example.org"]

[service_desk]
tools = ["servicenow"]  # the service desk flow reads the incident exports, not the project tickets
"""


def _date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pmo",
        description="pmo-kpi: exports from Jira, Tempo, Snipe-IT and your plans in; earned value, a weekly "
        "report pack and a leadership e-mail out.",
        epilog="Exit codes: 0 done, 3 done but some input was rejected, 4 another run holds the home, "
        "1 failed, 2 usage error.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="ingest an inbox, build the marts, render the pack, write or send e-mail")
    run.add_argument("--inbox", type=Path, required=True, help="folder of exports (searched recursively)")
    run.add_argument("--home", type=Path, default=Path("var"), help="where everything is written (default: var)")
    run.add_argument("--as-of", type=_date, default=None, help="status date (a week end); default: the last "
                     "complete week in the data")  # fmt: skip
    demo = sub.add_parser("demo", help="generate the demo portfolio's exports and run the weekly pipeline on it")
    demo.add_argument("--home", type=Path, default=Path("var"), help="where everything is written (default: var)")
    baseline = sub.add_parser("baseline", help="baseline versions (see docs/baselines.md)")
    actions = baseline.add_subparsers(dest="action", required=True, metavar="ACTION")
    freeze = actions.add_parser(
        "freeze",
        help="freeze a project's baseline from its tickets' current estimates as a new version",
        description="Freeze a new baseline version of a project from its tickets' current estimates × planned "
        "rates. Older versions are kept; the new one is in force from --effective-from on. Work that appears later "
        "is reported as scope change until the next freeze.",
    )
    freeze.add_argument("--project", required=True, help="project_id from the project register")
    freeze.add_argument("--reason", required=True, help="why (shown beside every figure measured against it)")
    freeze.add_argument("--effective-from", type=_date, default=None, help="status date from which the version is "
                        "in force (a week end); default: the last status date reported")  # fmt: skip
    freeze.add_argument("--home", type=Path, default=Path("var"), help="the home to freeze in (default: var)")
    return p


def freeze_baseline(home: Path, project: str, reason: str, effective_from: str | None) -> int:
    """`pmo baseline freeze`: under the home's run lock, so it never meets a run."""
    from pipelines.home import Home, HomeLocked, RunLock, SettingsError
    from transforms.calendar import is_week_end, last_complete_week_end

    paths = Home(home.resolve())
    try:
        week_ends_on = paths.settings().pipeline.week_ends_on
    except SettingsError as exc:
        _say(f"error: {exc}")
        return USAGE
    if not paths.warehouse.exists():
        _say(f"error: no warehouse in {paths.root}: run `pmo run` first, so the tickets are loaded")
        return USAGE
    if not reason.strip():
        _say("error: --reason must say why the baseline is frozen")
        return USAGE
    lock = RunLock(paths.root)
    try:
        lock.acquire()
    except HomeLocked as exc:
        _say(f"error: {exc}")
        return LOCKED
    try:
        from pipelines import warehouse
        from pipelines.plans import freeze_project

        with warehouse.connect(paths.warehouse) as conn:
            if effective_from:
                day = dt.date.fromisoformat(effective_from)
            else:
                latest = conn.sql(
                    "SELECT greatest((SELECT max(work_date) FROM staging.worklogs),"
                    " (SELECT max(snapshot_date) FROM staging.work_items))"
                ).fetchall()[0][0]
                day = last_complete_week_end(latest or dt.date.today(), week_ends_on)
            if not is_week_end(day, week_ends_on):
                _say(f"error: --effective-from {day} is not a status date: weeks end on {week_ends_on}")
                return USAGE
            try:
                version, elements, bac, undated = freeze_project(conn, project, reason.strip(), day)
            except (LookupError, ValueError) as exc:
                _say(f"error: {exc}")
                return USAGE
    finally:
        lock.release()
    _say(f"{project}: baseline version {version} frozen from {elements} ticket(s), BAC {bac:,.2f}, in force from {day}")
    for row in undated.iter_rows(named=True):  # items left out: a short list for the person who froze it
        _say(f"  left out {row['item_key']}: {row['problem']}")
    _say("the next run measures every week from then on against it; earlier weeks keep their version")
    return DONE


def _say(message: str) -> None:
    print(message, flush=True)


def run_pipeline(home: Path, inbox: Path, as_of: str) -> int:
    """Run the weekly job in process against the home's Dagster instance, so the run shows in the UI."""
    from pipelines.home import Home, HomeLocked, RunLock, SettingsError
    from transforms.calendar import is_week_end

    paths = Home(home.resolve())
    try:
        settings = paths.settings()
    except SettingsError as exc:
        _say(f"error: {exc}")
        return USAGE
    week_ends_on = settings.pipeline.week_ends_on
    if as_of and not is_week_end(dt.date.fromisoformat(as_of), week_ends_on):
        _say(f"error: --as-of {as_of} is not a status date: weeks end on {week_ends_on}")
        return USAGE
    if not inbox.is_dir():
        _say(f"error: inbox {inbox} is not a folder")
        return USAGE
    paths.prepare()
    probe = RunLock(paths.root)
    try:
        probe.acquire()
    except HomeLocked as exc:
        _say(f"error: {exc}")
        return LOCKED
    probe.release()

    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    os.environ["PMO_HOME"] = str(paths.root)
    import dagster as dg

    from pipelines.definitions import defs

    _say(f"running the weekly pipeline on {inbox} (home {paths.root}) …")
    config = {"home": str(paths.root), "inbox": str(inbox.resolve()), "as_of": as_of}
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("weekly_pack").execute_in_process(
            run_config={
                "resources": {"pmo": {"config": config}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            instance=instance,
            raise_on_error=False,
        )
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure or e.event_type_value == "RUN_FAILURE"]
        messages = [_root_cause(e.event_specific_data.error) for e in failures
                    if getattr(e.event_specific_data, "error", None)]  # fmt: skip
        if any("another run holds" in m for m in messages):
            _say(f"error: another run holds {paths.root}")
            return LOCKED
        for message in messages or ["the run failed; see the Dagster UI for its log"]:
            _say(f"error: {message}")
        return FAILED
    return _report(paths)


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, without Dagster's wrapping."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip()


def _report(paths) -> int:
    import duckdb

    with duckdb.connect(str(paths.warehouse), read_only=True) as conn:
        files = conn.sql(
            "SELECT path, status, rows_in_file, rows_rejected, message FROM audit.files ORDER BY file_id"
        ).fetchall()
        status_date = conn.sql("SELECT max(status_date) FROM marts.evm_weekly").fetchall()[0][0]
    problems = 0
    for path, status, rows, rejected, message in files:
        if status != "parsed" or rejected:
            problems += 1
            detail = f"{rejected} of {rows} rows rejected" if status == "parsed" else message
            _say(f"  {status:<12} {path}: {detail}")
    day = status_date.isoformat() if status_date else "?"
    _say("outputs:")
    _say(f"  warehouse      {paths.warehouse}")
    _say(f"  analysts' copy {paths.published / 'pmo.duckdb'}")
    _say(f"  report pack    {paths.reports / day / 'index.html'}")
    _say(f"  e-mails        {paths.outbox}/*.eml (sent instead when PMO_SMTP_HOST is set)")
    if problems:
        _say(f"{problems} file(s) had rejected input: see {paths.reports / day / 'data-quality.html'}")
        return REJECTED
    return DONE


def demo(home: Path) -> int:
    from transforms.demo_portfolio import generate

    inbox = home / "inbox"
    for relative, data in generate().items():
        target = inbox / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    settings = home / "pmo.toml"
    if not settings.exists():
        settings.write_text(DEMO_SETTINGS, encoding="utf-8")
    _say(f"demo portfolio written to {inbox}")
    code = run_pipeline(home, inbox, "")
    if code == REJECTED:
        _say("(the demo rejects a few rows on purpose, so the data-quality page has something to show)")
        return DONE
    return code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "demo":
        return demo(args.home)
    if args.command == "baseline":
        return freeze_baseline(args.home, args.project, args.reason, args.effective_from)
    return run_pipeline(args.home, args.inbox, args.as_of or "")


if __name__ == "__main__":
    sys.exit(main())
