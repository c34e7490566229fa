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
subject_prefix = "[PMO]"

[email.sponsors]  # as written in the project register's sponsor column; one address may follow several
"Sponsor Almeida" = ["almeida@example.org"]
"Sponsor Berg" = ["berg@example.org", "berg.office@example.org"]
"Sponsor Costa" = ["costa@example.org"]
"Sponsor Dubois" = ["dubois@example.org"]
"Sponsor Eriksen" = ["eriksen@example.org"]
"Sponsor Fischer" = ["fischer@example.org"]
"Sponsor Garcia" = ["garcia@example.org"]
"Sponsor Huber" = ["huber@example.org"]
"Sponsor Ito" = ["ito@example.org", "huber@example.org"]
"Sponsor Jansen" = ["jansen@example.org"]
"Sponsor Kowalski" = ["kowalski@example.org"]
"Sponsor Lindqvist" = ["lindqvist@example.org"]

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
        "report pack and e-mails to leadership and sponsors out.",
        epilog="Exit codes: 0 done, 3 done but some input was rejected, 4 another run holds the home, "
        "1 failed, 2 usage error.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="ingest an inbox, build the marts, render the pack, send the week's e-mail")
    run.add_argument("--inbox", type=Path, required=True, help="folder of exports (searched recursively)")
    run.add_argument("--home", type=Path, default=Path("var"), help="where everything is written (default: var)")
    run.add_argument("--as-of", type=_date, default=None, help="status date (a week end); default: the last "
                     "complete week in the data")  # fmt: skip
    run.add_argument("--wait", nargs="?", type=float, const=float("inf"), default=None, metavar="SECONDS",
                     help="if another run holds the home, wait for it (at most SECONDS), not exit 4")  # fmt: skip
    status = sub.add_parser(
        "status",
        help="the last run, each source's freshness, failed checks and the latest pack",
        description="Show the home's last run (its failing step if it failed), how fresh each source is, the "
        "checks whose latest evaluation failed and the latest pack. Exit code 0, or 1 when the last run failed.",
    )
    status.add_argument("--home", type=Path, default=Path("var"), help="the home to describe (default: var)")
    fill = sub.add_parser(
        "backfill",
        help="build the packs of a range of weeks in one run (no e-mail)",
        description="Ingest the inbox, build the marts once up to --to and write one pack per status date from "
        "--from to --to, in one run (as a backfill launched from the Dagster UI). Sends no e-mail.",
    )
    fill.add_argument("--from", dest="start", type=_date, required=True, help="first status date (a week end)")
    fill.add_argument("--to", dest="end", type=_date, required=True, help="last status date (a week end)")
    fill.add_argument("--home", type=Path, default=Path("var"), help="where everything is written (default: var)")
    fill.add_argument("--inbox", type=Path, default=None, help="folder of exports (default: <home>/inbox)")
    fill.add_argument("--wait", nargs="?", type=float, const=float("inf"), default=None, metavar="SECONDS",
                      help="when another run holds the home, wait for it (at most SECONDS) instead of "
                      "exiting 4")  # fmt: skip
    demo = sub.add_parser("demo", help="generate the demo portfolio's exports and run the weekly pipeline on it")
    demo.add_argument("--home", type=Path, default=Path("var"), help="where everything is written (default: var)")
    send = sub.add_parser(
        "send",
        help="send a week's e-mails again, on purpose",
        description="Deliver a week's e-mails again, even to recipients who already had them (each delivery is "
        "recorded as a further attempt). Runs and the weekly schedule never send a message twice; this does.",
    )
    send.add_argument("--as-of", type=_date, required=True, help="the status date whose pack to send")
    send.add_argument("--audience", choices=("leadership", "sponsors", "all"), default="all",
                      help="which messages (default: all)")  # fmt: skip
    send.add_argument("--to", default="", metavar="ADDRESS", help="only this recipient (one on the [email] lists)")
    send.add_argument("--home", type=Path, default=Path("var"), help="the home to send from (default: var)")
    ask = sub.add_parser(
        "query",
        help="run SQL on the analysts' published snapshot and print the result",
        description="Run one SQL statement on <home>/published/pmo.duckdb, opened read-only (it never blocks a "
        "run), and print every row as a table, or as CSV with --csv. The CSV is raw: cells are not neutralised "
        "against spreadsheet formulas (the pack's CSV files are), so open it in a spreadsheet with care.",
    )
    ask.add_argument("sql", help='e.g. "SELECT project_id, cpi, spi FROM marts.evm_weekly"')
    ask.add_argument("--csv", action="store_true", help="CSV with a header row instead of a table (raw values)")
    ask.add_argument("--home", type=Path, default=Path("var"), help="the home whose snapshot to read (default: var)")
    erase = sub.add_parser(
        "forget",
        help="erase one person's personal data from the home (a stable pseudonym in its place)",
        description="Replace a person's name, e-mail and ids with a stable pseudonym everywhere the home keeps "
        "them (raw rows, staging, marts, audit, the published snapshot, report packs, the outbox, loaded inbox "
        "files), figures unchanged, and record it in audit.erasures. Exports loaded later are pseudonymised as "
        "they are loaded. Exit codes: 0 done, 2 unknown person, 4 another run holds the home.",
    )
    erase.add_argument("--person", required=True, metavar="ID", help="the person_id (people file, staging.people)")
    erase.add_argument("--reason", default="", help="why, for audit.erasures (e.g. the request's reference)")
    erase.add_argument("--home", type=Path, default=Path("var"), help="the home to erase from (default: var)")
    erase.add_argument("--inbox", type=Path, default=None, help="the inbox its runs read (default: <home>/inbox)")
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
        pipeline = paths.settings().pipeline
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

        with warehouse.connect(paths.warehouse, False, pipeline.memory_limit, pipeline.threads) as conn:
            if effective_from:
                day = dt.date.fromisoformat(effective_from)
            else:
                latest = conn.sql(
                    "SELECT greatest((SELECT max(work_date) FROM staging.worklogs),"
                    " (SELECT max(snapshot_date) FROM staging.work_items))"
                ).fetchall()[0][0]
                day = last_complete_week_end(latest or dt.date.today(), pipeline.week_ends_on)
            if not is_week_end(day, pipeline.week_ends_on):
                _say(f"error: --effective-from {day} is not a status date: weeks end on {pipeline.week_ends_on}")
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


def _held_elsewhere(paths, wait: float | None = None) -> bool:
    """Whether another run holds the home (said, with the lock file). The run itself takes the lock again.
    wait: seconds to wait for the holder to finish first (`--wait`), saying once that it waits."""
    from pipelines.home import HomeLocked, RunLock

    probe = RunLock(paths.root)
    try:
        probe.acquire(wait, on_wait=lambda: _say(f"waiting for the run holding {paths.root} …"))
    except HomeLocked as exc:
        _say(f"error: {exc}")
        return True
    probe.release()
    return False


def _wait_seconds(wait: float | None) -> float:
    """--wait for the run itself too: a run that slips in between the probe and this run's start is waited for,
    not met with exit 4 (a resource config holds no infinity: "as long as it takes" is a year)."""
    return 0.0 if wait is None else min(wait, 365 * 86400.0)


def _open(home: Path):
    """The home's paths and its checked settings; settings None (after saying why) when pmo.toml is bad."""
    from pipelines.home import Home, SettingsError

    paths = Home(home.resolve())
    try:
        return paths, paths.settings()
    except SettingsError as exc:
        _say(f"error: {exc}")
        return paths, None


def _off_grid(flag: str, day: str, week_ends_on: str) -> bool:
    """Whether `day` is not a status date (said, naming the flag)."""
    from transforms.calendar import is_week_end

    if is_week_end(dt.date.fromisoformat(day), week_ends_on):
        return False
    _say(f"error: {flag} {day} is not a status date: weeks end on {week_ends_on}")
    return True


def _say(message: str) -> None:
    print(message, flush=True)


def run_pipeline(home: Path, inbox: Path, as_of: str, wait: float | None = None) -> int:
    """Run the weekly job in process against the home's Dagster instance, so the run shows in the UI."""
    paths, settings = _open(home)
    if settings is None or (as_of and _off_grid("--as-of", as_of, settings.pipeline.week_ends_on)):
        return USAGE
    if not inbox.is_dir():
        _say(f"error: inbox {inbox} is not a folder")
        return USAGE
    paths.prepare()
    if _held_elsewhere(paths, wait):
        return LOCKED

    _say(f"running the weekly pipeline on {inbox} (home {paths.root}) …")
    problem = _partition_problem(paths, settings, [as_of] if as_of else [])
    if problem:
        _say(f"error: --as-of {problem}")
        return USAGE
    config = {"home": str(paths.root), "inbox": str(inbox.resolve()), "wait_seconds": _wait_seconds(wait)}
    if as_of:  # one run: partition as_of
        result = _execute(paths, config, {"send": True}, partition_key=as_of)  # `pmo run` sends; the UI does not
    else:  # the last complete week in the data: known once the inbox is loaded, so ingest first, then build it
        result = _execute(paths, config, None, job="ingest_inbox")
        if isinstance(result, int):
            return result
        try:
            day = _data_status_date(paths)
        except ValueError as exc:
            _say(f"error: {exc}")
            return FAILED
        result = _execute(paths, config, {"send": True}, job="weekly_build", partition_key=day)
    if isinstance(result, int):
        return result
    return _report(paths, result)


def _partition_problem(paths, settings, days: list[str]) -> str:
    """What is wrong with these status dates as partition keys: not a week end, before [schedule]
    first_status_date, or a week that has not started yet. "" when they are fine."""
    from transforms.calendar import is_week_end

    os.environ["PMO_HOME"] = str(paths.root)  # the partitions are read from this home's settings
    from pipelines.partitions import first_status_date, last_status_date

    week_ends_on = settings.pipeline.week_ends_on
    first, last = first_status_date(settings), last_status_date(settings)
    for day in days:
        date = dt.date.fromisoformat(day)
        if not is_week_end(date, week_ends_on):
            return f"{day} is not a status date: weeks end on {week_ends_on}"
        if not first <= date <= last:
            return f"{day} is outside the weekly partitions, {first} to {last} ([schedule] first_status_date)"
    return ""


def backfill(home: Path, inbox: Path | None, start: str, end: str, wait: float | None = None) -> int:
    """`pmo backfill`: build every week from `start` to `end` (status dates) in ONE run — the marts once, up to
    `end`, then one pack per week — against the home's Dagster instance, as a backfill from the UI does. No e-mail."""
    paths, settings = _open(home)
    if settings is None:
        return USAGE
    problem = _partition_problem(paths, settings, [start, end])
    if problem:
        _say(f"error: {problem}")
        return USAGE
    if start > end:
        _say(f"error: --from {start} is after --to {end}")
        return USAGE
    inbox = inbox or paths.inbox
    if not inbox.is_dir():
        _say(f"error: inbox {inbox} is not a folder")
        return USAGE
    paths.prepare()
    if _held_elsewhere(paths, wait):
        return LOCKED
    weeks = (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days // 7 + 1
    _say(f"building {weeks} week(s), {start} to {end}, in one run (home {paths.root}) …")
    config = {"home": str(paths.root), "inbox": str(inbox.resolve()), "wait_seconds": _wait_seconds(wait)}
    tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    result = _execute(paths, config, {"send": False}, tags=tags)  # a backfill never sends
    if isinstance(result, int):
        return result
    _say(f"{weeks} pack(s) written under {paths.reports}, {start} to {end}")
    return _report(paths, result)


def _data_status_date(paths) -> str:
    """The last complete week in the loaded data (PmoHome.status_date's fallback), as a partition key."""
    from pipelines import warehouse
    from pipelines.resources import data_status_date

    with warehouse.connect(paths.warehouse, read_only=True) as conn:
        return data_status_date(conn, paths.settings().pipeline.week_ends_on).isoformat()


def _execute(paths, pmo_config: dict, email_config: dict | None, only_email: bool = False,
             partition_key: str | None = None, tags: dict | None = None, job: str = "weekly_pack"):  # fmt: skip
    """Run the weekly job (or just its e-mail asset, or another job of the definitions) in process against the
    home's Dagster instance, so the run shows in the UI. The result, or an exit code when it failed.
    partition_key: the week to build; a range of weeks goes in `tags` (dagster/asset_partition_range_*)."""
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    os.environ["PMO_HOME"] = str(paths.root)
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.delivery import EMAIL_OP
    from pipelines.runs import PROCESS_TAG, process_tag, release_killed_runs

    job_def = defs.resolve_job_def(job)
    steps = 1 if only_email else len(job_def.graph.nodes)
    with dg.DagsterInstance.get() as instance:
        for run_id in release_killed_runs(instance):  # else its warehouse slot would stall this run for ever
            _say(f"note: run {run_id} stopped when its process was killed: marked failed, its warehouse slot freed")
        result = job_def.execute_in_process(
            run_config={
                "resources": {"pmo": {"config": pmo_config}},
                **({"ops": {EMAIL_OP: {"config": email_config}}} if email_config is not None else {}),
                # The progress logger prints what each step says, and `error:` lines say why a run failed: Dagster's
                # console logger would repeat both, with the stack trace of a failed step (never shown to users).
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}, "progress": {"config": {"steps": steps}}},
            },
            instance=instance,
            raise_on_error=False,
            asset_selection=[dg.AssetKey(["reports", "email"])] if only_email else None,
            partition_key=partition_key,
            tags={**(tags or {}), PROCESS_TAG: process_tag()},
        )
    if not result.success:
        # The failed steps; else the run's failure, such as a resource that could not start (the home's lock held by
        # another run). Its type value is the legacy "PIPELINE_FAILURE": ask the event, not the name.
        failures = [e for e in result.all_events if e.is_step_failure] or [
            e for e in result.all_events if e.is_run_failure
        ]
        messages = [_root_cause(e.event_specific_data.error) for e in failures
                    if getattr(e.event_specific_data, "error", None)]  # fmt: skip
        locked = [m for m in messages if "another run holds" in m]
        if locked:  # the lock's own words (the home and its lock file), without the exception's name
            _say(f"error: {locked[0][locked[0].index('another run holds') :]}")
            return LOCKED
        for message in messages or ["the run failed; see the Dagster UI for its log"]:
            _say(f"error: {message}")
        return FAILED
    return result


def _email_summary(result) -> str:
    """The e-mail asset's own account of the run: delivered, already delivered, and any in doubt by name."""
    from pipelines.delivery import EMAIL_OP, IN_DOUBT

    for materialization in result.asset_materializations_for_node(EMAIL_OP):
        meta = materialization.metadata
        if "summary" not in meta:
            return str(meta["delivery"].value) if "delivery" in meta else "not run"
        doubts = "".join(f"\n    {label}: {IN_DOUBT}" for label in meta["in_doubt"].value)
        return f"{meta['summary'].value}{doubts}"
    return "not run"


def send(home: Path, as_of: str, audience: str, to: str) -> int:
    """`pmo send`: deliver a week's e-mails again on purpose, under the home's run lock."""
    paths, settings = _open(home)
    if settings is None or _off_grid("--as-of", as_of, settings.pipeline.week_ends_on):
        return USAGE
    if not paths.warehouse.exists() or not (paths.reports / as_of / "index.html").exists():
        _say(f"error: no pack for {as_of} in {paths.reports}: run `pmo run --as-of {as_of}` first")
        return USAGE
    lists = {"leadership": settings.email.leadership,
             "sponsors": [a for addresses in settings.email.sponsors.values() for a in addresses]}  # fmt: skip
    allowed = {a.lower() for name, addresses in lists.items() if audience in (name, "all") for a in addresses}
    if to and to.strip().lower() not in allowed:
        _say(f"error: {to} is not on the [email] {audience} lists of {paths.settings_file}")
        return USAGE
    if _held_elsewhere(paths):
        return LOCKED
    _say(f"sending the e-mails of {as_of} again ({audience}{f', to {to}' if to else ''}) …")
    config = {"resend": True, "audience": audience, "to": to}
    result = _execute(paths, {"home": str(paths.root), "as_of": as_of}, config, only_email=True, partition_key=as_of)
    if isinstance(result, int):
        return result
    _say(f"e-mail: {_email_summary(result)}")
    return DONE


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, without Dagster's wrapping."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip().removeprefix("dagster._core.definitions.events.Failure: ")


def _report(paths, result) -> int:
    import duckdb

    with duckdb.connect(str(paths.warehouse), read_only=True) as conn:
        files = conn.sql(
            "SELECT path, status, rows_in_file, rows_rejected, message FROM audit.files ORDER BY file_id"
        ).fetchall()
        status_date = conn.sql("SELECT max(status_date) FROM marts.evm_weekly").fetchall()[0][0]
    from transforms.ingest import display_name  # a file name with a line end or a bidi override is escaped

    problems = 0
    for path, status, rows, rejected, message in files:
        if status != "parsed" or rejected:
            problems += 1
            name = display_name(path)
            detail = f"{rejected} of {rows} rows rejected" if status == "parsed" else message.removeprefix(f"{name}: ")
            _say(f"  {status:<12} {name}: {detail}")
    day = status_date.isoformat() if status_date else "?"
    _say("outputs:")
    _say(f"  warehouse      {paths.warehouse}")
    _say(f"  analysts' copy {paths.published / 'pmo.duckdb'}")
    _say(f"  report pack    {paths.reports / day / 'index.html'}")
    _say(f"  PMO only       {paths.reports / day / 'pmo' / 'index.html'} (people by name: not for forwarding)")
    where = f"by SMTP through {os.environ['PMO_SMTP_HOST']}" if os.environ.get("PMO_SMTP_HOST") else f"{paths.outbox}"
    _say(f"  e-mails        {where}: {_email_summary(result)}")
    if problems:
        _say(f"{problems} file(s) had rejected input: see {paths.reports / day / 'data-quality.html'}")
        return REJECTED
    return DONE


def show_status(home: Path) -> int:
    """`pmo status`: exit 0, or 1 when the last run failed."""
    if not home.is_dir():
        _say(f"error: no home at {home}: run `pmo run` or `pmo demo` first")
        return USAGE
    from pipelines.status import status

    try:
        lines, failed = status(home)
    except Exception as exc:  # noqa: BLE001 - a status report never ends in a traceback
        _say(f"error: cannot read the status of {home}: {' '.join(str(exc).split())}")
        return FAILED
    for line in lines:
        _say(line)
    return FAILED if failed else DONE


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


def query(home: Path, sql: str, as_csv: bool) -> int:
    """`pmo query`: one statement on the published snapshot, read-only; no Dagster import, so it answers at once."""
    import duckdb
    import polars as pl

    published = home.resolve() / "published" / "pmo.duckdb"
    if not published.exists():
        _say(f"error: no published snapshot at {published}: run `pmo run` (or `pmo demo`) first")
        return USAGE
    try:
        with duckdb.connect(str(published), read_only=True) as conn:
            relation = conn.sql(sql)
            if relation is None:  # a statement without a result (SET, …)
                return DONE
            if as_csv:  # nested values (lists, structs) as DuckDB writes them, since CSV has no nesting
                relation = relation.project(", ".join(
                    f'CAST("{name}" AS VARCHAR) AS "{name}"' if str(kind).endswith("]") or
                    str(kind).startswith(("STRUCT", "MAP", "UNION")) else f'"{name}"'
                    for name, kind in zip(relation.columns, relation.types, strict=True)
                ))  # fmt: skip
            frame = relation.pl()
    except duckdb.Error as exc:
        _say(f"error: {str(exc).strip()}")
        return USAGE
    if as_csv:
        sys.stdout.write(frame.write_csv())
        return DONE
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=30_000, fmt_str_lengths=10_000,
                   fmt_table_cell_list_len=-1, tbl_hide_dataframe_shape=True):  # fmt: skip
        _say(str(frame))
    _say(f"({frame.height} row{'' if frame.height == 1 else 's'})")
    return DONE


def forget(home: Path, person: str, reason: str, inbox: Path | None) -> int:
    """`pmo forget`: under the home's run lock (pipelines/forget.py)."""
    from pipelines.forget import forget as erase
    from pipelines.home import SettingsError

    try:
        return erase(home, person, reason, inbox, _say)
    except SettingsError as exc:
        _say(f"error: {exc}")
        return USAGE


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "demo":
        return demo(args.home)
    if args.command == "send":
        return send(args.home, args.as_of, args.audience, args.to)
    if args.command == "status":
        return show_status(args.home)
    if args.command == "backfill":
        return backfill(args.home, args.inbox, args.start, args.end, args.wait)
    if args.command == "baseline":
        return freeze_baseline(args.home, args.project, args.reason, args.effective_from)
    if args.command == "query":
        return query(args.home, args.sql, args.csv)
    if args.command == "forget":
        return forget(args.home, args.person, args.reason, args.inbox)
    return run_pipeline(args.home, args.inbox, args.as_of or "", args.wait)


if __name__ == "__main__":
    sys.exit(main())
