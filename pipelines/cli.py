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


def _held_elsewhere(paths) -> bool:
    """Whether another run holds the home (said, with the lock file). The run itself takes the lock again."""
    from pipelines.home import HomeLocked, RunLock

    probe = RunLock(paths.root)
    try:
        probe.acquire()
    except HomeLocked as exc:
        _say(f"error: {exc}")
        return True
    probe.release()
    return False


def _say(message: str) -> None:
    print(message, flush=True)


def run_pipeline(home: Path, inbox: Path, as_of: str) -> int:
    """Run the weekly job in process against the home's Dagster instance, so the run shows in the UI."""
    from pipelines.home import Home, SettingsError
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
    if _held_elsewhere(paths):
        return LOCKED

    _say(f"running the weekly pipeline on {inbox} (home {paths.root}) …")
    config = {"home": str(paths.root), "inbox": str(inbox.resolve()), "as_of": as_of}
    result = _execute(paths, config, {"send": True})  # `pmo run` sends; runs from the UI do not
    if isinstance(result, int):
        return result
    return _report(paths, result)


def _execute(paths, pmo_config: dict, email_config: dict, only_email: bool = False):
    """Run the weekly job (or just its e-mail asset) in process against the home's Dagster instance, so the run
    shows in the UI. The result, or an exit code when it failed."""
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    os.environ["PMO_HOME"] = str(paths.root)
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.delivery import EMAIL_OP

    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("weekly_pack").execute_in_process(
            run_config={
                "resources": {"pmo": {"config": pmo_config}},
                "ops": {EMAIL_OP: {"config": email_config}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            instance=instance,
            raise_on_error=False,
            asset_selection=[dg.AssetKey(["reports", "email"])] if only_email else None,
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
    from pipelines.home import Home, SettingsError
    from transforms.calendar import is_week_end

    paths = Home(home.resolve())
    try:
        settings = paths.settings()
    except SettingsError as exc:
        _say(f"error: {exc}")
        return USAGE
    week_ends_on = settings.pipeline.week_ends_on
    if not is_week_end(dt.date.fromisoformat(as_of), week_ends_on):
        _say(f"error: --as-of {as_of} is not a status date: weeks end on {week_ends_on}")
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
    result = _execute(paths, {"home": str(paths.root), "as_of": as_of}, config, only_email=True)
    if isinstance(result, int):
        return result
    _say(f"e-mail: {_email_summary(result)}")
    return DONE


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, without Dagster's wrapping."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip()


def _report(paths, result) -> int:
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
    _say(f"  PMO only       {paths.reports / day / 'pmo' / 'index.html'} (people by name: not for forwarding)")
    where = f"by SMTP through {os.environ['PMO_SMTP_HOST']}" if os.environ.get("PMO_SMTP_HOST") else f"{paths.outbox}"
    _say(f"  e-mails        {where}: {_email_summary(result)}")
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
    if args.command == "send":
        return send(args.home, args.as_of, args.audience, args.to)
    if args.command == "baseline":
        return freeze_baseline(args.home, args.project, args.reason, args.effective_from)
    return run_pipeline(args.home, args.inbox, args.as_of or "")


if __name__ == "__main__":
    sys.exit(main())
