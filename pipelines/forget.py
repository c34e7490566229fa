"""`pmo forget --person ID [--reason R] [--inbox DIR]`: erase one person's personal data from a home by replacing it
with a stable pseudonym (transforms/erasure.py), everywhere the home stores it, while every figure stays as it was.

Under the home's run lock:

1. Files first, as they are copies of what the warehouse holds (if a later step fails, the warehouse still knows the
   person and `pmo forget` can be run again): every report pack that names the person is rewritten with the
   pseudonym and swapped in whole; the shared folder's pack zips likewise; e-mails in the outbox that name the
   person are deleted (`pmo send` writes them again from the rewritten pack); inbox files already loaded that name
   the person are deleted (their rows are in raw.*, pseudonymised, and a copy dropped again is known by its SHA-256).
2. One transaction: raw.* rows are pseudonymised, every file is staged again from them (conformed.*, then staging;
   synthetic worklog ids that hash the person's name change with it), worklog costs are computed again, the
   person's cells in every mart, audit, history and plans table are replaced (tables whose order key changed are
   written again in key order), and audit.erasures, audit.erasure_counts and audit.erased_identifiers (salted
   digests: an export naming the person that is loaded later is pseudonymised as it is loaded) are written.
   Figures do not change: only text does.
3. The warehouse file is copied into a fresh file and swapped in (DuckDB keeps replaced values in freed blocks
   until then), and the published snapshot is built again, with the build it replaced removed at once.

Not changed, and said: pmo.toml (an [email] list may hold the person's address) and Dagster's run storage (which
holds no person-level data; it is checked). E-mails already delivered cannot be recalled; they carry no
person-level data. No Dagster import except the pack swap (pipelines.pack.write_pack) and the worklog costing.
"""

from __future__ import annotations

import datetime as dt
import email
import getpass
import hashlib
import io
import os
import secrets
import zipfile
from collections.abc import Callable
from email import policy
from pathlib import Path

import duckdb

from pipelines import warehouse
from pipelines.home import Home, HomeLocked, RunLock, Settings
from transforms import erasure

DONE, USAGE, LOCKED = 0, 2, 4
TEXT_SUFFIXES = {".html", ".htm", ".csv", ".json", ".svg", ".txt", ".md", ".js", ".xml", ".tsv"}
# Tables `pmo forget` writes itself, or that hold no personal data by construction.
_OWN = {"audit.erasures", "audit.erasure_counts", "audit.erasure_salt", "audit.erased_identifiers",
        "audit.table_order", "audit.staging_changes", "audit.mart_marks", "audit.staging_inputs",
        "audit.merge_drops"}  # fmt: skip


def forget(home: Path, person: str, reason: str, inbox: Path | None, say: Callable[[str], None]) -> int:
    paths = Home(home.resolve())
    settings = paths.settings()  # SettingsError: the CLI says it and exits 2
    if not paths.warehouse.exists():
        say(f"error: no warehouse in {paths.root}: nothing to forget")
        return USAGE
    if not person.strip():
        say("error: --person must name a person_id")
        return USAGE
    lock = RunLock(paths.root)
    try:
        lock.acquire()
    except HomeLocked as exc:
        say(f"error: {exc}")
        return LOCKED
    try:
        return _forget(paths, settings, person.strip(), reason.strip(), (inbox or paths.inbox).resolve(), say)
    finally:
        lock.release()


def _forget(paths: Home, settings: Settings, person: str, reason: str, inbox: Path, say) -> int:
    caps = settings.pipeline.memory_limit, settings.pipeline.threads
    with warehouse.connect(paths.warehouse, False, *caps) as conn:
        salt = conn.sql("SELECT min(salt) FROM audit.erasure_salt").fetchall()[0][0]
        new_salt = salt is None
        salt = salt or secrets.token_hex(16)
        me = erasure.pseudonym(salt, person)
        earlier = conn.sql("SELECT min(erased_at) FROM audit.erasures WHERE pseudonym = ?", params=[me]).fetchall()
        if earlier[0][0] is not None:
            conn.close()
            _finish(paths, settings)
            say(f"{person} was already erased on {earlier[0][0]:%Y-%m-%d %H:%M} UTC as {me}; warehouse compacted and "
                "snapshot published again")  # fmt: skip
            return DONE
        ident = erasure.identity(conn, person, salt) if warehouse.table_exists(conn, "staging", "people") else None
        if ident is None:
            say(f"error: no person {person!r} in {paths.warehouse} (staging.people, person_aliases, worklogs, rates)")
            return USAGE
        # at portfolio scale an erasure takes minutes: each stage says when it starts
        say(f"erasing {person}: finding the rows and files that name them …")
        scrubber = erasure.Scrubber(conn, erasure.forget_rows(ident), rules=ident.free_text())
        tables = _tables(conn)
        planned = {t: sum(scrubber.count(t).values()) for t in tables}
        named_files = {f for t in tables if t.startswith("raw.") for f in scrubber.count(t, by="_source_file")}
        loaded = {sha: (file_id, enc) for sha, file_id, enc in conn.sql(
            "SELECT sha256, file_id, encoding FROM audit.files").fetchall()}  # fmt: skip
    # Opened again for the transaction: counting read every table's text, which DuckDB keeps cached up to its memory
    # cap (880 MB at portfolio scale). Held into the transaction, that cache stood beside staging's polars frames,
    # and the erasure peaked at 2.4 GB instead of 1.8 GB.
    say("rewriting the exports, packs and e-mails that name them …")
    files = _scrub_files(paths, settings, ident, inbox, loaded, named_files)
    say("pseudonymising the warehouse's rows; staging and the worklog costs are rebuilt from them …")
    with warehouse.connect(paths.warehouse, False, *caps) as conn:
        scrubber = erasure.Scrubber(conn, erasure.forget_rows(ident), rules=ident.free_text())
        counts: list[tuple[str, int, str]] = []
        with warehouse.transaction(conn):
            if new_salt:
                conn.sql("INSERT INTO audit.erasure_salt VALUES (?)", params=[salt])
            for table in (t for t in tables if t.startswith("raw.")):
                counts.append((table, scrubber.update(table), "pseudonymised"))
            _rebuild(conn, settings)
            counts += [(t, planned[t], "rebuilt") for t in tables if t.startswith(("conformed.", "staging."))]
            counts += [(t, planned[t], "rebuilt") for t in ("marts.worklog_costs", "marts.cost_exceptions")
                       if t in planned]  # fmt: skip
            order = dict(conn.sql("SELECT table_name, order_by FROM audit.table_order").fetchall())
            for table in tables:
                rebuilt = table.startswith(("raw.", "conformed.", "staging."))
                if rebuilt or table in ("marts.worklog_costs", "marts.cost_exceptions"):
                    continue
                changed = scrubber.update(table)
                counts.append((table, changed, "pseudonymised"))
                if changed and order.get(table):
                    warehouse.resort(conn, table, order[table])
            counts += files
            erasure_id = conn.sql("SELECT coalesce(max(erasure_id), 0) + 1 FROM audit.erasures").fetchall()[0][0]
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
            conn.sql(
                "INSERT INTO audit.erasures VALUES (?, ?, ?, ?, ?)",
                params=[erasure_id, now, _user(), ident.scrub_text(reason) or "not given", me],
            )
            kept = [(erasure_id, place, n, action) for place, n, action in counts if n]
            if kept:
                conn.executemany("INSERT INTO audit.erasure_counts VALUES (?, ?, ?, ?)", kept)
            conn.executemany(
                "INSERT INTO audit.erased_identifiers VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(erasure.digest(salt, v), ident.replacement(v), me) for v in ident.values],
            )
    say("compacting the warehouse (its freed pages keep no erased value) and publishing the analysts' copy again …")
    _finish(paths, settings)
    say(f"{person} erased as {me} (audit.erasures {erasure_id}):")
    for _, place, n, action in kept:
        say(f"  {place}: {n} {'file(s)' if '/' in place or place in _FOLDERS else 'row(s)'} {action}")
    for warning in _leftovers(paths, ident):
        say(f"warning: {warning}")
    return DONE


_FOLDERS = ("inbox", "reports", "outbox", "shared")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container)
        return f"uid {os.getuid()}"


def _tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table of the warehouse's schemas that may hold personal data, raw first."""
    rows = conn.sql(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " AND NOT temporary ORDER BY array_position(?, schema_name), table_name",
        params=[list(warehouse.SCHEMAS)],
    ).fetchall()
    return [name for (name,) in rows if name.split(".")[0] in warehouse.SCHEMAS and name not in _OWN]


def _rebuild(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Staging from the pseudonymised raw rows, and the worklog costs from staging, as a run would."""
    from pipelines.ingest import IngestSummary, rebuild_staging

    rebuild_staging(conn, IngestSummary(), settings.pipeline.week_ends_on, everything=True)
    if warehouse.table_exists(conn, "marts", "worklog_costs"):
        from pipelines.marts import write_worklog_costs

        write_worklog_costs(conn, settings)


# --- files ------------------------------------------------------------------------------------------------------


def _scrub_files(paths: Home, settings: Settings, ident: erasure.Identity, inbox: Path, loaded: dict,
                 named_files: set[int]) -> list[tuple[str, int, str]]:  # fmt: skip
    """Rewrite the packs and shared zips, delete the outbox e-mails and loaded inbox files that name the person."""
    counts = [("reports", _scrub_packs(paths.reports, ident), "rewritten")]
    if settings.email.shared_folder:
        counts.append(("shared", _scrub_zips(paths.root / Path(settings.email.shared_folder).expanduser(), ident),
                       "rewritten"))  # fmt: skip
    counts.append(("outbox", _delete_emails(paths.outbox, ident), "deleted"))
    counts.append(("inbox", _delete_exports(inbox, ident, loaded, named_files), "deleted"))
    return counts


def _readable(name: str) -> bool:
    """A page, table or chart of a pack: text that may name people. Not the pack's assets/ (the Vega runtime)."""
    return Path(name).suffix.lower() in TEXT_SUFFIXES and not name.startswith("assets/")


def _scrub_bytes(name: str, data: bytes, ident: erasure.Identity) -> bytes:
    if not _readable(name):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    scrubbed = ident.scrub_text(text)
    return data if scrubbed == text else scrubbed.encode("utf-8")


def _scrub_packs(reports: Path, ident: erasure.Identity) -> int:
    """Each pack (reports/<status date>, a link into reports/.builds) that names the person, rewritten and swapped in
    whole as the run writes it."""
    if not reports.is_dir():
        return 0
    rewritten = 0
    for target in sorted(p for p in reports.iterdir() if not p.name.startswith(".") and p.is_dir()):
        folder = target.resolve()
        pages = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        scrubbed = {name: _scrub_bytes(name, data, ident) for name, data in pages.items()}
        if scrubbed != pages:
            from pipelines.pack import write_pack

            write_pack(scrubbed, target)
            rewritten += 1
    return rewritten


def _scrub_zips(folder: Path, ident: erasure.Identity) -> int:
    if not folder.is_dir():
        return 0
    rewritten = 0
    for path in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            entries = [(info, archive.read(info)) for info in archive.infolist()]
        scrubbed = [(info, _scrub_bytes(info.filename, data, ident)) for info, data in entries]
        if any(a[1] != b[1] for a, b in zip(entries, scrubbed, strict=True)):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for info, data in scrubbed:
                    archive.writestr(info, data)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(buffer.getvalue())
            tmp.replace(path)
            rewritten += 1
    return rewritten


def _texts(data: bytes) -> list[str]:
    """The text of an e-mail: every text part, and every text file of a zip it carries."""
    message = email.message_from_bytes(data, policy=policy.default)
    texts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_content_maintype() == "text":
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
        elif zipfile.is_zipfile(io.BytesIO(payload)):
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                texts += [archive.read(i).decode("utf-8", "replace") for i in archive.infolist()
                          if _readable(i.filename)]  # fmt: skip
    return [str(message.get("Subject", "")), *texts]


def _delete_emails(outbox: Path, ident: erasure.Identity) -> int:
    if not outbox.is_dir():
        return 0
    deleted = 0
    for path in sorted(outbox.glob("*.eml")):
        if any(ident.named_in(text) for text in _texts(path.read_bytes())):
            path.unlink()
            deleted += 1
    return deleted


def _export_text(data: bytes, encoding: str | None) -> str:
    if zipfile.is_zipfile(io.BytesIO(data)):  # .xlsx: its XML parts
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(archive.read(i).decode("utf-8", "replace") for i in archive.infolist())
    try:
        return data.decode(encoding or "utf-8", "replace")
    except LookupError:
        return data.decode("latin-1")


def _delete_exports(inbox: Path, ident: erasure.Identity, loaded: dict, named_files: set[int]) -> int:
    """Inbox files already loaded (by SHA-256) whose rows named the person, or whose text does. A file not loaded
    yet stays: its rows are pseudonymised as they are loaded."""
    if not inbox.is_dir():
        return 0
    from pipelines.ingest import inbox_files

    deleted = 0
    for path in inbox_files(inbox):
        data = path.read_bytes()
        known = loaded.get(hashlib.sha256(data).hexdigest())
        if known is None:
            continue
        file_id, encoding = known
        if file_id in named_files or ident.named_in(_export_text(data, encoding)):
            path.unlink()
            deleted += 1
    return deleted


# --- after the transaction -----------------------------------------------------------------------------------------


def compact(path: Path, memory_limit: str = "", threads: int = 0) -> None:
    """Copy the database into a fresh file and swap it in: values replaced in place stay in freed blocks of the old
    file until then. Under the run's caps: uncapped, DuckDB cached the copy up to 2.8 GB at portfolio scale."""
    fresh = path.with_name(f".{path.name}.compact")
    fresh.unlink(missing_ok=True)
    with warehouse.connect(path, False, memory_limit, threads) as conn:
        name = conn.sql("SELECT current_database()").fetchall()[0][0]
        conn.sql(f"ATTACH '{fresh}' AS compacted")
        conn.sql(f'COPY FROM DATABASE "{name}" TO compacted')
        conn.sql("DETACH compacted")
    os.replace(fresh, path)


def _finish(paths: Home, settings: Settings) -> None:
    caps = settings.pipeline.memory_limit, settings.pipeline.threads
    compact(paths.warehouse, *caps)
    if (paths.published / "current").exists():
        from pipelines.publish import publish

        with warehouse.connect(paths.warehouse, False, *caps) as conn:
            publish(conn, paths.published, settings.privacy.exclude_columns, keep_previous=False)


def _leftovers(paths: Home, ident: erasure.Identity) -> list[str]:
    """What `pmo forget` does not change, when it names the person: the settings and Dagster's run storage."""
    found = []
    if paths.settings_file.exists() and ident.named_in(paths.settings_file.read_text(encoding="utf-8")):
        found.append(f"{paths.settings_file} names this person (an [email] list?): edit it by hand")
    needles = [v.encode() for v in ident.values if len(v) >= erasure.FREE_TEXT_MIN]
    hits = [p for p in paths.dagster_home.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)]
    if hits:
        found.append(f"{len(hits)} file(s) of Dagster's run storage under {paths.dagster_home} name this person")
    return found
