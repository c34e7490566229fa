"""What the reliability tests share: `pmo run` as a real subprocess in its own process group (killed with SIGKILL at a
chosen moment), an SMTP server on loopback that can kill the run talking to it, and the checks of a home a kill left
behind: warehouse, published snapshot, report pack and e-mail ledger."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
from aiosmtpd.controller import Controller

from pipelines.publish import MARTS, PUBLISHED_TABLES
from tests.smtp import Mailbox, Server, free_port
from transforms.canonical import KEYS as STAGING_KEYS

WEEK1, WEEK2 = "2026-03-08", "2026-03-15"  # the prepared run's status date, and the next week's
# Exports of the small demo that arrive in the second week: the newest Jira and ServiceNow snapshots, and the status
# reports of the week. The first week's run has the rest.
LATER = ("jira/jira_export_2026-03-15.csv", "servicenow/incident_2026-03-15.csv", "pmo/status/2026-03-15.csv")
# One message per recipient each week: leadership (demo settings) and the sponsors of the small demo's 3 projects.
RECIPIENTS = {"cio@example.org", "cfo@example.org", "almeida@example.org", "berg@example.org",
              "berg.office@example.org", "costa@example.org"}  # fmt: skip
# Natural keys of the marts (the order pipelines/marts.py writes them in); a mart not named here is checked for
# whole duplicated rows instead.
MART_KEYS = {
    "evm_weekly": ["project_id", "status_date"], "baseline_versions": ["project_id", "baseline_version"],
    "actual_cost_weekly": ["project_id", "status_date", "cost_category"],
    "planned_value_weekly": ["project_id", "status_date"], "worklog_costs": ["worklog_id"],
    "cost_exceptions": ["worklog_id"], "portfolio_weekly": ["group_level", "group_key", "status_date"],
    "risk_exposure": ["status_date", "project_id", "risk_id"], "milestone_variance": ["project_id", "item_key"],
    "milestone_slips": ["project_id", "status_date"], "milestone_history": ["project_id", "item_key", "status_date"],
    "evm_forecast": ["project_id", "status_date"],
    "evm_flags": ["status_date", "project_id", "finding"], "evm_restatements": ["project_id", "status_date", "measure"],
    "timesheet_completeness": ["person_id", "status_date"],
    "project_timesheet_completeness": ["project_id", "status_date"],
    "resource_utilisation": ["person_id", "status_date"],
    "utilisation_by_project": ["person_id", "status_date", "project_id"], "team_utilisation": ["team", "status_date"],
    "itam_cost": ["status_date", "group_level", "group_key"], "itam_gaps": ["asset_tag"],
    "itam_due_dates": ["kind", "key"],
    "ticket_flow": ["status_date", "group_level", "group_key", "priority"],
    "ticket_flow_items": ["status_date", "item_key"], "source_freshness": ["status_date", "source_kind"],
    "project_closure": ["project_id"],
}  # fmt: skip


class Run:
    """`pmo run` in a subprocess and its own process group, its output read line by line as it comes."""

    def __init__(self, home: Path, as_of: str, env: dict[str, str], *extra: str):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PMO_SMTP_", "PMO_FAULT_AT"))}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(home / "inbox"), "--home", str(home),
             "--as-of", as_of, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, env={**base, **env},
        )  # fmt: skip
        self.lines: list[str] = []
        self.ended: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
        self.ended = time.monotonic()  # its output closed: the process has ended

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def saw(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in list(self.lines))

    def wait_for(self, pattern: str, timeout: float = 300) -> bool:
        """Until a line matches (True) or the process ends without one (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.saw(pattern):
                return True
            if self.proc.poll() is not None:
                self._reader.join(timeout=10)
                return self.saw(pattern)
            time.sleep(0.005)
        raise TimeoutError(f"no line matching {pattern!r} in {timeout} s:\n{self.output}")

    def kill(self) -> None:
        """SIGKILL to its process group, while it runs (never to a group id reused after it ended)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def finish(self, timeout: float = 300) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        finally:
            self._reader.join(timeout=10)
        return code


class KillingMailbox(Mailbox):
    """Takes messages as tests.smtp's mailbox does. While `victim` (a process group) is set, the first message's data
    arrives in full and then the sender is killed with SIGKILL, before the server answers: the run dies between
    handing the message over and hearing it was taken, the moment its ledger says 'sending'."""

    victim: int | None = None

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if self.victim is not None:
            os.killpg(self.victim, signal.SIGKILL)
            self.victim = None
        return answer


@contextlib.contextmanager
def smtp_server():
    mailbox = KillingMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), auth_require_tls=False)
    controller.start()
    try:
        yield Server(controller.port, mailbox)
    finally:
        controller.stop()


def received(server: Server) -> dict[str, int]:
    """Messages the server took, per envelope recipient."""
    counts: dict[str, int] = {}
    for message in list(server.mailbox.received):
        for address in message.envelope_to:
            counts[address] = counts.get(address, 0) + 1
    return counts


def copy_home(source: Path, target: Path, later: dict[str, bytes] | None = None) -> Path:
    """A copy of a home (links kept as links), with the next week's exports added to its inbox."""
    shutil.copytree(source, target, symlinks=True)
    for relative, data in (later or {}).items():
        path = target / "inbox" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def dump(database: Path, schemas: tuple[str, ...], exclude: dict[str, list[str]] | None = None) -> dict[str, bytes]:
    """Every table of the schemas as CSV bytes, rows in ORDER BY ALL (`COPY ... TO`), for a byte comparison.
    exclude: columns left out, by schema.table (run metadata only)."""
    out: dict[str, bytes] = {}
    folder = database.parent / f".dump-{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir()
    try:
        with duckdb.connect(str(database), read_only=True) as conn:
            tables = conn.sql(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE list_contains(?, schema_name)"
                " ORDER BY 1", params=[list(schemas)]
            ).fetchall()  # fmt: skip
            for (name,) in tables:
                columns = [r[0] for r in conn.sql(f"DESCRIBE {name}").fetchall()
                           if r[0] not in (exclude or {}).get(name, [])]  # fmt: skip
                select = ", ".join(f'"{c}"' for c in columns)
                target = folder / f"{name}.csv"
                conn.sql(f"COPY (SELECT {select} FROM {name} ORDER BY ALL) TO '{target}' (HEADER)")
                out[name] = target.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def warehouse_problems(home: Path) -> list[str]:
    """What is inconsistent in the home's warehouse: duplicated natural keys in staging or the marts, a file whose
    rows do not add up (in file = loaded + duplicate + skipped + rejected), raw rows of no file or not as many as
    their file's, a file loaded twice."""
    problems = []
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        tables = {tuple(r) for r in conn.sql("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
        keyed = [("staging", t, list(k)) for t, k in STAGING_KEYS.items()]
        keyed += [("marts", t, MART_KEYS.get(t)) for s, t in sorted(tables) if s == "marts"]
        for schema, table, key in keyed:
            if (schema, table) not in tables:
                continue
            columns = ", ".join(f'"{c}"' for c in key) if key else "*"
            extra = conn.sql(
                f"SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT {columns} FROM {schema}.{table}))"
                f" FROM {schema}.{table}"
            ).fetchall()[0][0]
            if extra:
                problems.append(f"{schema}.{table}: {extra} row(s) with a duplicated key ({columns})")
        unbalanced = conn.sql(
            "SELECT path FROM audit.files WHERE status = 'parsed' AND rows_in_file IS DISTINCT FROM"
            " rows_loaded + rows_duplicate + rows_skipped + rows_rejected"
        ).fetchall()
        problems += [f"audit.files {path}: in file ≠ loaded + duplicate + skipped + rejected" for (path,) in unbalanced]
        twice = conn.sql("SELECT sha256 FROM audit.files GROUP BY ALL HAVING count(*) > 1").fetchall()
        problems += [f"audit.files: {sha} loaded twice" for (sha,) in twice]
        raws = [t for s, t in sorted(tables) if s == "raw"]
        if raws:
            per_file = " UNION ALL ".join(f"SELECT _source_file, count(*) AS n FROM raw.{t} GROUP BY ALL" for t in raws)
            off = conn.sql(  # a parsed file's rows are all in raw (rejected ones too); no raw row without its file
                f"SELECT coalesce(f.file_id, r._source_file), f.path, coalesce(r.n, 0), f.rows_in_file"
                f" FROM ({per_file}) r FULL JOIN (SELECT * FROM audit.files WHERE status = 'parsed') f"
                " ON f.file_id = r._source_file WHERE r.n IS DISTINCT FROM f.rows_in_file"
                " AND NOT (r.n IS NULL AND f.rows_in_file = 0)"
            ).fetchall()
            problems += [f"raw rows of file {fid} ({path}): {n}, rows in file {rows}" for fid, path, n, rows in off]
    return problems


def published(home: Path) -> tuple[str, str]:
    """The build `published/current` is, after reading the snapshot through its stable paths: every table of the
    DuckDB file and every mart's Parquet (as many rows as the table). And its latest status date."""
    folder = home / "published"
    build = (folder / "current").resolve(strict=True)
    assert build.parent == (folder / ".builds").resolve(), build
    with duckdb.connect(str(folder / "pmo.duckdb"), read_only=True) as conn:
        for name in PUBLISHED_TABLES:
            rows = conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            if name in MARTS:
                parquet = folder / "parquet" / Path(*name.split("."))
                in_parquet = conn.sql(
                    f"SELECT count(*) FROM read_parquet('{parquet}/**/*.parquet', hive_partitioning = true)"
                ).fetchall()[0][0]
                assert in_parquet == rows, f"{name}: {in_parquet} rows in Parquet, {rows} in the snapshot"
        day = conn.sql("SELECT max(status_date) FROM marts.evm_weekly").fetchall()[0][0]
    return build.name, day.isoformat()


LINK = re.compile(r'(?:href|src)="([^"]+)"')


def pack(home: Path, day: str) -> tuple[str, frozenset[str]] | None:
    """None when reports/<day> is absent. Else the build it points at and its files, after checking the pack is
    whole: every page the pack links to (from the index on, through every HTML page) is there."""
    target = home / "reports" / day
    if not target.exists() and not target.is_symlink():
        return None
    root = target.resolve(strict=True)
    files = frozenset(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert "index.html" in files, f"{target}: no index.html"
    for page in sorted(f for f in files if f.endswith(".html")):
        html = (root / page).read_text(encoding="utf-8")
        for link in LINK.findall(html):
            if ":" in link or link.startswith(("#", "/")):  # other sites, data: URIs, anchors
                continue
            linked = (root / page).parent / link.split("#")[0].split("?")[0]
            assert linked.exists(), f"{target}/{page} links to {link}, which is missing"
    return root.name, files


def ledger(home: Path, day: str) -> dict[str, list[tuple]]:
    """history.deliveries of a week: recipient → [(attempt, state, transport)]."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.sql(
            "SELECT recipient, attempt, state, transport FROM history.deliveries WHERE status_date = ? ORDER BY ALL",
            params=[day],
        ).fetchall()
    out: dict[str, list[tuple]] = {}
    for recipient, attempt, state, transport in rows:
        out.setdefault(recipient, []).append((attempt, state, transport))
    return out
