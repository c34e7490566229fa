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
    return p


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
    return run_pipeline(args.home, args.inbox, args.as_of or "")


if __name__ == "__main__":
    sys.exit(main())
