"""Inbox → raw → conformed → staging, in one transaction: every row of every file is loaded or accounted for.

Raw tables are append-only and keyed by the file's SHA-256, so the same file twice loads once. Each file's raw
rows are typed, checked and read once, into candidate rows (conformed.*), and staged again only when the code or
settings that staged them change (`fingerprint`). Every run merges all candidates into the staging tables in SQL,
so a run is idempotent and a corrected re-export replaces what an earlier export said for the same natural keys.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from pipelines import changes, warehouse
from pipelines.faults import crash_point
from pipelines.home import RetentionSettings
from pipelines.retention import delete_inbox_files, prune_raw
from transforms import canonical, duck, merge, resolve
from transforms.erasure import apply_erasure_list
from transforms.ingest import ParsedFile, display_name, parse_export, recorded_path
from transforms.staging import CROSS_FILE_KINDS, KINDS, accounting, stage_kind
from transforms.textio import DEFECT, PlainLayout, plain_layout


@dataclass
class IngestSummary:
    new_files: int = 0
    skipped_known: int = 0
    problems: list[str] = field(default_factory=list)
    staging_rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # "load" (files → raw) and "staging", wall time
    retention: list[str] = field(default_factory=list)  # what [retention] removed, one line each
    appended: dict[str, int] = field(default_factory=dict)  # staging table → rows appended in place (not rewritten)


def inbox_files(inbox: Path) -> list[Path]:
    """Every regular file under the inbox, in path order; hidden files and symlinks are not exports."""
    return sorted(
        p
        for p in inbox.rglob("*")
        if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in p.relative_to(inbox).parts)
    )


def unseen_bytes(conn: duckdb.DuckDBPyConnection, inbox: Path) -> int:
    """The bytes of the inbox's files not seen before as they are now (path, size and modification time: see
    `load_new_files`), which the next ingest reads: a week's exports, or years of history at a first load."""
    seen = _seen(conn)
    total = 0
    for path in inbox_files(inbox):
        try:
            status = path.lstat()
        except OSError:  # gone since the listing
            continue
        if not _as_read(seen.get(recorded_path(path.relative_to(inbox).as_posix())), status):
            total += status.st_size
    return total


def restaged_bytes(conn: duckdb.DuckDBPyConnection, week_ends_on: str) -> int:
    """The bytes of the files loaded before and not staged under the current fingerprint, which the next ingest
    stages again: every file after an upgrade of the contracts, readers or staging code (see `fingerprint`)."""
    return conn.sql(
        "SELECT coalesce(sum(size), 0)::BIGINT FROM audit.files f WHERE status = 'parsed' AND NOT EXISTS"
        " (SELECT 1 FROM audit.staged_files s WHERE s.file_id = f.file_id AND s.fingerprint = ?)",
        params=[fingerprint(week_ends_on)],
    ).fetchall()[0][0]


def _seen(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int, str]]:
    """audit.inbox_seen by path: each file's size, modification time and SHA-256 when it was last read."""
    rows = conn.sql("SELECT path, size, mtime_ns, sha256 FROM audit.inbox_seen").fetchall()
    return {path: (size, mtime, sha) for path, size, mtime, sha in rows}


def _as_read(was: tuple[int, int, str] | None, status: os.stat_result) -> bool:
    """Whether a file's size and modification time are still those it had when it was read (`_seen`)."""
    return was is not None and was[:2] == (status.st_size, status.st_mtime_ns)


def _read_regular(path: Path) -> tuple[bytes, os.stat_result]:
    """A file's bytes and its status before they were read, refusing a symbolic link even if one replaced the file
    after the listing."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        return handle.read(), status


@contextmanager
def _in_memory(data: bytes):
    """A name DuckDB's reader opens to read exactly these bytes (an anonymous in-memory file), or None where the
    system has none: the reader then never sees a file an exporter is still writing, only what was read and hashed."""
    if not hasattr(os, "memfd_create") or not Path("/proc/self/fd").is_dir():
        yield None
        return
    descriptor = os.memfd_create("pmo-export", os.MFD_CLOEXEC)
    try:
        with os.fdopen(descriptor, "wb", closefd=False) as handle:
            handle.write(data)
        yield f"/proc/self/fd/{descriptor}"
    finally:
        os.close(descriptor)


def _plain_header(relative: str, layout: PlainLayout) -> tuple[ParsedFile, dict[str, int]] | None:
    """What `parse_export` makes of a plain file's header (kind, encoding, notes, kept columns): it parses the
    header line over one row of markers, which shows the field each kept raw column comes from. None when the
    header is not one that loads as it is (unrecognised, missing columns, a column written twice)."""
    markers = [f"m{i}x" for i in range(layout.width)]
    sample = (codecs.BOM_UTF8 if layout.bom else b"") + layout.header + b"\n" + layout.delimiter.join(markers).encode()
    parsed = parse_export(relative, sample + b"\n")
    if parsed.status != "parsed" or parsed.rows is None or parsed.rows.height != 1 or DEFECT in parsed.rows.columns:
        return None
    row = parsed.rows.row(0, named=True)
    if list(row)[0] != "_line" or row["_line"] != 2:
        return None
    sources = {name: markers.index(value) for name, value in row.items() if name != "_line" and value in markers}
    return (parsed, sources) if len(sources) == len(row) - 1 else None


def _load_plain(conn: duckdb.DuckDBPyConnection, relative: str, data: bytes,
                file_id: int) -> tuple[ParsedFile, int] | None:  # fmt: skip
    """Load a plain export (textio.PlainLayout) with DuckDB's CSV reader straight into raw.<kind>: the same rows,
    values and `_line` as `parse_export` + `append_raw`, without the file's text and frames in Python. Returns
    its ParsedFile (without rows) and row count, or None, having loaded nothing, for `parse_export` to read it."""
    # Record n is on line n + 1 (PlainLayout: one record per line, none blank); `row_number() OVER ()` numbers them
    # in the reader's order, which DuckDB keeps while preserve_insertion_order is on (its default).
    if not conn.sql("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]:
        return None
    layout = plain_layout(data)
    header = None if layout is None else _plain_header(relative, layout)
    if header is None:
        return None
    with _in_memory(data) as name:
        return None if name is None else _insert_plain(conn, *header, layout, name, file_id)


def _insert_plain(conn: duckdb.DuckDBPyConnection, parsed: ParsedFile, sources: dict[str, int], layout: PlainLayout,
                  name: str, file_id: int) -> tuple[ParsedFile, int] | None:  # fmt: skip
    fields = [f"c{i}" for i in range(layout.width)]
    columns = "{" + ", ".join(f"'{f}': 'VARCHAR'" for f in fields) + "}"
    # No new_line option: with new_line = '\r\n' (or '\n' on a CRLF file) DuckDB 2.0 silently reads no record at
    # all; it finds the line end itself. The count check below refuses any such surprise.
    source = (
        f"read_csv({duck.text(name)}, header = false, skip = 1, delim = {duck.text(layout.delimiter)}, quote = '\"',"
        f" escape = '\"', columns = {columns}, auto_detect = false, allow_quoted_nulls = false, strict_mode = true,"
        " null_padding = false)"
    )
    # Never an INSERT of no rows: see transforms/duck.py (duckdb 2.0.0 then loses a later insert's rows).
    if not layout.records or not conn.sql(f"SELECT EXISTS (SELECT 1 FROM {source})").fetchall()[0][0]:
        return None
    table = f"raw.{parsed.kind}"
    existed = warehouse.table_exists(conn, "raw", parsed.kind)
    warehouse.ensure_raw_table(conn, table, {"_line": "BIGINT", **dict.fromkeys(sources, "VARCHAR"),
                                             "_source_file": "BIGINT"})  # fmt: skip
    selected = ", ".join(f'c{i} AS "{c}"' for c, i in sources.items())
    inserted = conn.sql(
        f"INSERT INTO {table} BY NAME SELECT row_number() OVER () + 1 AS _line, {selected},"
        f" CAST({int(file_id)} AS BIGINT) AS _source_file FROM {source}"
    ).fetchall()[0][0]
    if inserted == layout.records:
        return parsed, inserted
    if inserted:  # other records than the file's lines: parse_export reads the bytes instead
        conn.sql(f"DELETE FROM {table} WHERE _source_file = {int(file_id)}")
    if not existed:
        conn.sql(f"DROP TABLE {table}")
    return None


# A file modified this recently when it was read may change again within its file system's time resolution (seconds
# on some network shares) without its size or time changing: it is read and hashed again at the next run.
SETTLED_NS = 60 * 10**9


def load_new_files(conn: duckdb.DuckDBPyConnection, inbox: Path, summary: IngestSummary) -> None:
    """Load each new inbox file's rows into raw.<kind> and its audit.files row. A plain CSV export (most of the
    volume) is loaded by DuckDB's CSV reader (`_load_plain`); any other is parsed by `parse_export`.

    A file is known by the SHA-256 of its bytes. One whose path, size and modification time are those it had when
    it was read before (audit.inbox_seen), and whose content is still loaded, is not read again: after years of
    weekly exports the inbox is gigabytes that would otherwise all be read and hashed every week."""
    known = {r[0] for r in conn.sql("SELECT sha256 FROM audit.files").fetchall()}
    seen = _seen(conn)
    next_id = conn.sql("SELECT coalesce(max(file_id), 0) + 1 FROM audit.files").fetchall()[0][0]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    read: list[tuple[str, int, int, str]] = []
    for path in inbox_files(inbox):
        relative = recorded_path(path.relative_to(inbox).as_posix())
        try:
            status, was = path.lstat(), seen.get(relative)
            if _as_read(was, status) and was[2] in known:
                summary.skipped_known += 1
                continue
            started = time.time_ns()
            data, status = _read_regular(path)
        except OSError as exc:  # gone, or swapped for a symbolic link, since the listing: the next run sees it
            summary.problems.append(f"{display_name(relative)}: not read ({exc.strerror or exc})")
            continue
        sha = hashlib.sha256(data).hexdigest()
        if _load_file(conn, relative, data, sha, known, next_id, now, summary):
            next_id += 1
        if status.st_mtime_ns < started - SETTLED_NS:
            read.append((relative, status.st_size, status.st_mtime_ns, sha))
        del data
    if read:
        conn.executemany("INSERT OR REPLACE INTO audit.inbox_seen VALUES (?, ?, ?, ?)", read)


def _load_file(conn: duckdb.DuckDBPyConnection, relative: str, data: bytes, sha: str, known: set[str], file_id: int,
               now: dt.datetime, summary: IngestSummary) -> bool:  # fmt: skip
    """Load one inbox file (`sha`: its bytes' SHA-256) as `file_id` (see `load_new_files`); False when it is a file
    already loaded."""
    if sha in known:
        summary.skipped_known += 1
        return False
    known.add(sha)
    plain = _load_plain(conn, relative, data, file_id)
    parsed, rows = plain if plain is not None else (parse_export(relative, data), None)
    if plain is None:
        rows = None if parsed.rows is None else parsed.rows.height
    conn.execute(
        "INSERT INTO audit.files (file_id, path, sha256, size, source_kind, encoding, delimiter, rows_in_file,"
        " rows_loaded, rows_duplicate, rows_skipped, rows_rejected, status, message, loaded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?)",
        [file_id, relative, sha, len(data), parsed.kind, parsed.encoding, parsed.delimiter, rows,
         rows if parsed.status == "rejected" else 0, parsed.status, parsed.message, now],
    )  # fmt: skip
    summary.new_files += 1
    if parsed.status in ("unreadable", "unrecognised"):
        summary.problems.append(parsed.message)
    elif parsed.status == "rejected":
        summary.problems.append(parsed.message)
        quarantined = parsed.rows.select(
            pl.lit(file_id).alias("file_id"),
            pl.col("_line").alias("line"),
            pl.lit(None, pl.String).alias("column"),
            pl.lit("file quarantined: " + parsed.reason).alias("rule"),
            pl.lit(None, pl.String).alias("raw_value"),
            pl.lit("critical").alias("severity"),
            pl.lit("file").alias("stage"),
        )
        conn.register("_q", quarantined)
        duck.insert(conn, "audit.rejects", "SELECT * FROM _q")
        conn.unregister("_q")
    else:
        if plain is None:
            raw = parsed.rows.with_columns(pl.lit(file_id, pl.Int64).alias("_source_file"))
            warehouse.append_raw(conn, f"raw.{parsed.kind}", raw)
            del raw
        erased = apply_erasure_list(conn, f"raw.{parsed.kind}", file_id)
        if erased:  # an old export re-dropped after `pmo forget`: the person does not come back
            summary.problems.append(
                f"{display_name(relative)}: {erased} row(s) name a person erased by `pmo forget`; they were "
                "pseudonymised as they were loaded (delete the file from the inbox)"
            )
    return True


@cache
def fingerprint(week_ends_on: str) -> str:
    """What a file's staging depends on besides its rows: the contracts, the staging and reader code, and the week's
    end. A file staged under another fingerprint is staged again (an upgrade, or a changed pmo.toml)."""
    root = Path(__file__).resolve().parents[1]
    sources = sorted(
        [*(root / "data_contracts").glob("*.yaml"), root / "data_contracts" / "contract.py",
         *(root / "transforms" / "readers").glob("*.py"), root / "transforms" / "staging.py",
         root / "transforms" / "canonical.py", root / "transforms" / "calendar.py"]
    )  # fmt: skip
    digest = hashlib.sha256(week_ends_on.encode())
    for source in sources:  # files of code, not data rows
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def _to_stage(conn: duckdb.DuckDBPyConnection, week_ends_on: str) -> dict[str, list[int]]:
    """Per kind, the files with raw rows that are not staged under the current fingerprint; a kind with a rule
    across files (staging.CROSS_FILE_KINDS) then has all its files staged again, together."""
    current = fingerprint(week_ends_on)
    out: dict[str, list[int]] = {}
    for kind in KINDS:
        if not warehouse.table_exists(conn, "raw", kind):
            continue
        files = [r[0] for r in conn.sql(f"SELECT DISTINCT _source_file FROM raw.{kind} ORDER BY 1").fetchall()]
        staged = {r[0] for r in conn.sql(
            "SELECT file_id FROM audit.staged_files WHERE source_kind = ? AND fingerprint = ?", params=[kind, current]
        ).fetchall()}  # fmt: skip
        if any(f not in staged for f in files):
            out[kind] = files if kind in CROSS_FILE_KINDS else [f for f in files if f not in staged]
    return out


def stage_files(conn: duckdb.DuckDBPyConnection, summary: IngestSummary, week_ends_on: str) -> list[int]:
    """Type, check and read each file's raw rows once (transforms/staging.py stage_kind), keeping its candidate
    rows in conformed.*, its rejects and skipped rows in audit, and its formats and warnings in the manifest.
    Returns the ids of the files staged."""
    merge.create_candidates(conn, "conformed")
    current = fingerprint(week_ends_on)
    staged: list[int] = []
    for kind, file_ids in _to_stage(conn, week_ends_on).items():
        for batch in [file_ids] if kind in CROSS_FILE_KINDS else [[f] for f in file_ids]:
            _stage_batch(conn, summary, kind, batch, week_ends_on)
            conn.executemany(
                "INSERT OR REPLACE INTO audit.staged_files VALUES (?, ?, ?)", [(f, kind, current) for f in batch]
            )
            staged.extend(batch)
    return staged


def _stage_batch(conn: duckdb.DuckDBPyConnection, summary: IngestSummary, kind: str, file_ids: list[int],
                 week_ends_on: str) -> None:  # fmt: skip
    ids = ", ".join(str(int(f)) for f in file_ids)
    # Read as stored (DuckDB keeps the order rows were inserted in: each file's lines in order) and sorted here only
    # if not in that order: an ORDER BY in DuckDB held ~400 MB beside the frame, the first load's peak memory when it
    # staged a Jira export of a million issues.
    raw = conn.sql(f"SELECT * FROM raw.{kind} WHERE _source_file IN ({ids})").pl()
    if not _in_line_order(raw):
        raw = raw.sort("_source_file", "_line")
    expected = conn.sql(f"SELECT sum(rows_in_file) FROM audit.files WHERE file_id IN ({ids})").fetchall()[0][0]
    if raw.height != expected:  # a guard against engine faults, such as the one append_raw avoids
        raise RuntimeError(f"raw.{kind} gave {raw.height} rows of files {ids}, which hold {expected}; nothing saved")
    loaded = dict(conn.sql(f"SELECT file_id, CAST(loaded_at AS DATE) FROM audit.files WHERE file_id IN ({ids})")
                  .fetchall())  # fmt: skip
    staged = stage_kind(kind, raw, week_ends_on, loaded)
    del raw
    for table in canonical.TABLES:
        conn.sql(f"DELETE FROM conformed.{table} WHERE _source_file IN ({ids})")
    conn.sql(f"DELETE FROM audit.rejects WHERE stage = 'row' AND file_id IN ({ids})")
    conn.sql(f"DELETE FROM audit.skipped WHERE file_id IN ({ids})")
    merge.append_candidates(conn, "conformed", staged.rows)
    # Rejects can be millions of rows (a day-total warning per worklog): inserted without conn.register (see
    # duck.insert_frame); the notes and quarantines, a row per file, are read registered.
    duck.insert_frame(conn, "audit.rejects", merge.audit_rejects(staged.rejects, "row"))
    duck.insert_frame(conn, "audit.skipped", staged.skipped.select(pl.col("_source_file").alias("file_id"), "line",
                                                                    "reason"))  # fmt: skip
    for name, frame in (("_n", staged.notes), ("_q", staged.quarantined)):
        conn.register(name, frame)
    conn.sql(
        """
        UPDATE audit.files f SET formats = n.formats,
            message = CASE WHEN n.warning IS NULL OR f.message LIKE '%' || n.warning || '%' THEN f.message
                           ELSE concat_ws('; ', nullif(f.message, ''), n.warning) END
        FROM _n n WHERE f.file_id = n._source_file
        """
    )
    conn.sql(
        "UPDATE audit.files f SET status = 'rejected', message = q.reason FROM _q q WHERE f.file_id = q._source_file"
    )
    notes = pl.concat(
        [
            staged.quarantined.select("_source_file", pl.format("quarantined: {}", "reason").alias("note")),
            staged.notes.filter(pl.col("warning").is_not_null()).select(
                "_source_file", pl.col("warning").alias("note")
            ),
        ]
    )
    conn.register("_notes", notes)
    noted = conn.sql("SELECT path, note FROM _notes JOIN audit.files ON file_id = _source_file ORDER BY ALL").fetchall()
    summary.problems.extend(f"{display_name(path)}: {note}" for path, note in noted)
    for name in ("_n", "_q", "_notes"):
        conn.unregister(name)


def _in_line_order(raw: pl.DataFrame) -> bool:
    """Whether the raw rows are sorted by file, then line."""
    file, line = pl.col("_source_file"), pl.col("_line")
    ahead = (file > file.shift(1)) | ((file == file.shift(1)) & (line > line.shift(1)))
    return bool(raw.select(ahead.fill_null(True).all()).item())


def merge_staging(conn: duckdb.DuckDBPyConnection, summary: IngestSummary, staged: list[int]) -> None:
    """Merge every staged file's candidates into the staging tables (transforms/merge.py), resolve projects and
    people across the tools (transforms/resolve.py), and write each file's accounting (after `stage_files`, which
    staged the files `staged`). The worklogs and tickets of new files are merged onto staging.worklogs and
    staging.work_items (`_held_worklogs`, `_held_work_items`) and appended (`_append_worklogs`, `_patch_work_items`)
    when they can be."""
    worklog_files = _worklog_files(conn)
    inputs = _inputs(conn, staged)
    held_inputs = dict(conn.sql("SELECT table_name, inputs FROM audit.staging_inputs").fetchall())
    held = {h.table: h for h in (_held_worklogs(conn, staged, worklog_files),
                                 _held_work_items(conn, staged, inputs["work_items"], held_inputs)) if h}  # fmt: skip
    # the tables that hold what their merge would keep: their digest is the one they were written from, and no file
    # staged now has candidates in them; those no other table's rows are resolved against are not even merged
    current = {table for table, (digest, fresh, _) in inputs.items()
               if not fresh and held_inputs.get(f"staging.{table}") == digest
               and warehouse.in_order(conn, f"staging.{table}", list(canonical.order(table)))}  # fmt: skip
    merged = merge.merge(conn, "conformed", tuple(held.values()), {t: f"staging.{t}" for t in current - LOOKED_UP})
    append = _can_append_worklogs(conn, staged)
    tickets = None  # which tickets' latest snapshot staging.work_items changed: None none, else TICKETS_ALL or TOUCHED

    def worklogs(logs: str, few: bool = False) -> str:
        return resolve.worklogs_sql(logs, "staging.work_items", merge.kept("project_map"), merge.kept("people"),
                                    merge.kept("person_aliases"), few=few)  # fmt: skip

    queries = {table: f"SELECT * FROM {merge.kept(table)}" for table in canonical.TABLES}
    queries["work_items"] = resolve.work_items_sql(merge.kept("work_items"), merge.kept("project_map"))
    queries["worklogs"] = worklogs(merge.kept("worklogs"))
    queries["assets"] = resolve.assets_sql(merge.kept("assets"), merge.kept("project_map"))
    queries["licences"] = resolve.assets_sql(merge.kept("licences"), merge.kept("project_map"))
    for table, query in queries.items():
        name, order = f"staging.{table}", list(canonical.order(table))
        appended, rows = None, None
        if table == "worklogs" and append:
            appended = _append_worklogs(conn, worklogs, staged, onto="worklogs" in merged.onto, tickets=tickets)
        digest, _, before = inputs.get(table, ("", True, None))
        if table in current:
            rows = conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]  # what it holds is what it would get
        elif table == "work_items" and before is not None and held_inputs.get(name) == before:
            # only the files staged now are new
            appended = _patch_work_items(conn, merge.kept("project_map"), onto="work_items" in merged.onto)
        if appended is not None:
            rows, summary.appended[table] = appended
            tickets = TOUCHED if table == "work_items" else tickets
        elif rows is None:
            if table in merged.onto:  # not appended after all (a lookup changed): every row is resolved again
                merge.keep_held(conn, held[table])
            if table == "work_items" and append:  # the tickets' projects as they were, before it is written
                conn.sql(f"CREATE OR REPLACE TEMP TABLE _old_latest AS {resolve.latest_items_sql(name)}")
                tickets = TICKETS_ALL
            rows = warehouse.replace_query(conn, name, query, order)
            if table in ("worklogs", "work_items"):
                changes.record(conn, name, None)
        if table in inputs:
            conn.sql("INSERT OR REPLACE INTO audit.staging_inputs VALUES (?, ?)", params=[name, digest])
        summary.staging_rows[table] = rows
        conn.sql(f"DROP TABLE IF EXISTS {merge.kept(table)}")
    conn.sql("INSERT OR REPLACE INTO audit.staging_inputs VALUES ('staging.worklogs', ?)",
             params=[_worklogs_digest(worklog_files)])  # fmt: skip
    for name in ("_old_latest", TOUCHED):
        conn.sql(f"DROP TABLE IF EXISTS temp.main.{name}")
    for table in canonical.TABLES:
        conn.sql(f"DROP TABLE IF EXISTS temp.main._dropped_{table}")
    crash_point("ingest")  # tests/reliability: killed with staging replaced and the transaction not committed
    _write_merge_rejects(conn, merged)
    for name in (*(f(t) for t in merged.onto for f in (merge.gone, merge.added)), merge.DAY_ROWS):
        conn.sql(f"DROP TABLE IF EXISTS {name}")
    warehouse.resort(conn, "audit.rejects", ["file_id", "line", "column", "rule", "raw_value", "severity", "stage"])
    warehouse.resort(conn, "audit.skipped", ["file_id", "line", "reason"])
    staged = "SELECT file_id FROM audit.staged_files"
    in_file = conn.sql(
        f"SELECT file_id AS _source_file, rows_in_file FROM audit.files WHERE file_id IN ({staged})"
    ).pl()
    rejected = conn.sql(
        "SELECT file_id AS _source_file, count(DISTINCT line) AS rows_rejected FROM audit.rejects"
        f" WHERE severity <> 'warning' AND stage <> 'file' AND file_id IN ({staged}) GROUP BY ALL"
    ).pl()
    skipped = conn.sql(
        f"SELECT file_id AS _source_file, count(*) AS rows_skipped FROM audit.skipped WHERE file_id IN ({staged})"
        " GROUP BY ALL"
    ).pl()
    files = accounting(in_file, rejected, skipped, _duplicates(conn, merged)).join(
        merged.covers, on="_source_file", how="left"
    )
    conn.register("_c", files)
    conn.sql(
        """
        UPDATE audit.files f SET rows_in_file = c.rows_in_file, rows_loaded = c.rows_loaded,
            rows_duplicate = c.rows_duplicate, rows_skipped = c.rows_skipped, rows_rejected = c.rows_rejected,
            covers = c.covers
        FROM _c c WHERE f.file_id = c._source_file
        """
    )
    conn.unregister("_c")


def _write_merge_rejects(conn: duckdb.DuckDBPyConnection, merged: merge.Merged) -> None:
    """The merge's rejects in place of those of the merge before; of the worklogs merged onto their held rows, the
    day-total warnings of the person-days they changed only (merge.Merged.onto)."""
    if "worklogs" in merged.onto:
        conn.sql(f"DELETE FROM audit.rejects WHERE stage = 'merge' AND rule <> '{merge.DAY_RULE}'")
        for rows in (merge.DAY_ROWS, merge.gone("worklogs")):
            conn.sql(f"DELETE FROM audit.rejects r USING {rows} d WHERE r.stage = 'merge' AND r.rule = "
                     f"'{merge.DAY_RULE}' AND r.file_id = d._source_file AND r.line = d._line")  # fmt: skip
    else:
        conn.sql("DELETE FROM audit.rejects WHERE stage = 'merge'")
    duck.insert_frame(conn, "audit.rejects", merge.audit_rejects(merged.rejects, "merge"))


def _duplicates(conn: duckdb.DuckDBPyConnection, merged: merge.Merged) -> pl.DataFrame:
    """Per file, its rows dropped as duplicates over every table (_source_file, rows_duplicate); kept per table in
    audit.merge_drops, to which a table merged onto its held rows adds the rows it dropped now; a table not merged
    keeps those of the merge before."""
    dropped = merged.dropped
    if merged.onto or merged.unchanged:
        before = conn.sql(
            'SELECT table_name AS "table", file_id AS _source_file, rows_duplicate FROM audit.merge_drops'
            " WHERE list_contains(?::VARCHAR[], table_name)",
            params=[[*merged.onto, *merged.unchanged]],
        ).pl()
        dropped = (
            pl.concat([dropped, before.cast(dropped.schema)])
            .group_by("table", "_source_file")
            .agg(pl.col("rows_duplicate").sum())
        )
    conn.sql("DELETE FROM audit.merge_drops")
    duck.insert_frame(conn, "audit.merge_drops", dropped.rename({"table": "table_name", "_source_file": "file_id"}))
    return dropped.group_by("_source_file").agg(pl.col("rows_duplicate").sum())


# The table whose kept rows a staging table's rows also come from: the project map resolves a ticket's or an asset's
# project, the register rejects a status report of a project it does not have.
READS = {"work_items": "project_map", "assets": "project_map", "licences": "project_map", "status_reports": "projects"}


def _inputs(conn: duckdb.DuckDBPyConnection, staged: list[int]) -> dict[str, tuple[str, bool, str | None]]:
    """Per staging table but the worklogs (`_append_worklogs`): a digest of what its rows come from (the files of its
    candidates in conformed.*, the staging, merge and resolution code, and those of the table it READS), whether a
    file staged this run has candidates in either (they may hold other values), and the digest it had when only its
    own files staged this run are new (None when the table it READS has such a file). A table whose digest is the one
    it was written from (audit.staging_inputs), with no such file, holds the rows the merge keeps: not written again;
    one written from the digest before its new files, their rows added (`_patch_work_items`)."""
    code = changes.source_digest(__file__, merge.__file__, resolve.__file__, canonical.__file__)

    def digest(table: str, files: list[int]) -> str:
        return hashlib.sha256(f"{code} {table} {files}".encode()).hexdigest()

    own: dict[str, tuple[str, bool, str]] = {}
    for table in canonical.TABLES:
        if table == "worklogs":
            continue
        files = [f for (f,) in conn.sql(f"SELECT DISTINCT _source_file FROM conformed.{table} ORDER BY 1").fetchall()]
        older = [f for f in files if f not in set(staged)]
        own[table] = digest(table, files), len(older) < len(files), digest(table, older)
    read = {table: own[READS[table]][:2] if table in READS else ("", False) for table in own}
    return {
        table: (now + read[table][0], fresh or read[table][1], None if read[table][1] else before + read[table][0])
        for table, (now, fresh, before) in own.items()
    }


# What a worklog's resolved columns come from besides its ticket's latest snapshot: when one changes, staging.worklogs
# is written whole.
WORKLOG_LOOKUPS = ("project_map", "people", "person_aliases")
# The tables whose kept rows the merge and the resolution read (merge.merge's `unchanged` leaves kept(table) out).
LOOKED_UP = {*READS.values(), *WORKLOG_LOOKUPS, *merge.REGISTERED}


def _worklog_files(conn: duckdb.DuckDBPyConnection) -> list[int]:
    return [f for (f,) in conn.sql("SELECT DISTINCT _source_file FROM conformed.worklogs ORDER BY 1").fetchall()]


def _worklogs_digest(files: list[int]) -> str:
    """What staging.worklogs's canonical columns were merged from: the files of their candidates and the code."""
    code = changes.source_digest(__file__, merge.__file__, canonical.__file__)
    return hashlib.sha256(f"{code} worklogs {files}".encode()).hexdigest()


def _held_worklogs(conn: duckdb.DuckDBPyConnection, staged: list[int], files: list[int]) -> merge.Held | None:
    """staging.worklogs as holding what the merge kept of the candidates of every file but those staged now, when it
    does (merge.Held): its digest (audit.staging_inputs) is that of those very files (`files`: all the candidates')
    and this code. A file staged again or pruned by [retention] since changes the files, an upgrade the code: the
    worklogs are then merged whole."""
    if not warehouse.in_load_order(conn, "staging.worklogs"):
        return None
    new = set(staged)
    recorded = conn.sql("SELECT inputs FROM audit.staging_inputs WHERE table_name = 'staging.worklogs'").fetchall()
    if recorded != [(_worklogs_digest([f for f in files if f not in new]),)]:
        return None
    return merge.Held("worklogs", "staging.worklogs", tuple(f for f in files if f in new))


def _held_work_items(conn: duckdb.DuckDBPyConnection, staged: list[int], inputs: tuple[str, bool, str | None],
                     held_inputs: dict[str, str]) -> merge.Held | None:  # fmt: skip
    """staging.work_items as holding what the merge kept of the candidates of every file but those staged now, when
    it does (merge.Held): files staged now have tickets, and its digest (audit.staging_inputs) is the one of the other
    files, the code and the project map as they are (`_inputs`, `inputs`: the tickets')."""
    _, fresh, before = inputs
    if not fresh or before is None or held_inputs.get("staging.work_items") != before:
        return None
    if not warehouse.in_load_order(conn, "staging.work_items"):
        return None
    new = conn.sql("SELECT DISTINCT _source_file FROM conformed.work_items WHERE list_contains(?::BIGINT[], "
                   "_source_file) ORDER BY 1", params=[staged]).fetchall()  # fmt: skip
    return merge.Held("work_items", "staging.work_items", tuple(f for (f,) in new))


# The tickets whose latest snapshot may have changed when staging.work_items was patched (`_patch_work_items`): a
# temporary table of item_key; TICKETS_ALL when it was written whole.
TOUCHED, TICKETS_ALL = "_items_touched", "all"


def _patch_work_items(conn: duckdb.DuckDBPyConnection, project_map: str, onto: bool) -> tuple[int, int] | None:
    """Bring staging.work_items (in load order) to the merge's kept tickets without writing its million rows again,
    when the files staged this run are all that changed since it was written (the caller compares digests, `_inputs`):
    delete the rows the merge no longer keeps (a newer export of the same ticket and day), append the new files' rows,
    resolved against the kept `project_map`; the others are what they were. Keeps the tickets touched in TOUCHED and
    their latest snapshots before, in _old_latest (`_append_worklogs`). `onto`: the merge was made onto the table's
    rows (merge.Held) and says which go and which come; otherwise they are found by comparing its kept rows with the
    table's. Returns the row count and the rows appended, or None, having changed nothing, when the table is not in
    load order or a kept row to add comes before its last row (a file pruned by [retention] can bring back a row a
    newer export replaced): the caller writes it whole."""
    name = "staging.work_items"
    if not warehouse.in_load_order(conn, name):
        return None
    lineage = "_source_file, _line"
    if onto:
        gone, added = f"SEMI JOIN {merge.gone('work_items')}", f"(FROM {merge.added('work_items')})"
        kept = f"(FROM {name} ANTI JOIN {merge.gone('work_items')} USING ({lineage}) SELECT {lineage}" \
               f" UNION ALL FROM {merge.added('work_items')} SELECT {lineage})"  # fmt: skip
    else:
        kept = merge.kept("work_items")
        gone, added = f"ANTI JOIN {kept}", f"(FROM {kept} ANTI JOIN {name} USING ({lineage}))"
    conn.sql(
        f"CREATE OR REPLACE TEMP TABLE _items_gone AS SELECT {lineage}, item_key FROM {name} {gone} USING ({lineage})"
    )
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _items_added AS {resolve.work_items_sql(added, project_map)}")
    last = conn.sql(f"SELECT {lineage} FROM {name} ORDER BY ALL DESC LIMIT 1").fetchall()
    first = conn.sql(f"SELECT {lineage} FROM temp.main._items_added ORDER BY ALL LIMIT 1").fetchall()
    if first and last and first[0] <= last[0]:
        for table in ("_items_gone", "_items_added"):
            conn.sql(f"DROP TABLE temp.main.{table}")
        return None
    conn.sql(
        f"CREATE OR REPLACE TEMP TABLE {TOUCHED} AS SELECT DISTINCT item_key FROM (SELECT item_key FROM"
        " temp.main._items_gone UNION ALL SELECT item_key FROM temp.main._items_added) WHERE item_key IS NOT NULL"
    )
    touched = f"(FROM {name} SEMI JOIN temp.main.{TOUCHED} USING (item_key))"
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _old_latest AS {resolve.latest_items_sql(touched)}")
    changes.record(conn, name, _work_items_lineage(touched))
    new, total = conn.sql(
        f"SELECT (FROM temp.main._items_added SELECT count(*)), (FROM {kept} SELECT count(*))"
    ).fetchall()[0]
    rows = warehouse.patch_in_load_order(conn, name, gone="FROM temp.main._items_gone",
                                         updates=f"SELECT {lineage} FROM temp.main._items_gone WHERE false",
                                         added="FROM temp.main._items_added")  # fmt: skip
    for table in ("_items_gone", "_items_added"):
        conn.sql(f"DROP TABLE temp.main.{table}")
    if rows != total:  # a guard against engine faults (see transforms/duck.insert): the transaction rolls back
        raise RuntimeError(f"{name} holds {rows} rows after the append; the merge kept {total}: not saved")
    return rows, new


def _work_items_lineage(touched: str) -> str:
    """For the marts built from staging.work_items (pipelines/changes.py): the rows `_patch_work_items` deletes and
    appends, each with the first day its ticket's facts as of a date can differ from. That is its snapshot date, as
    a snapshot holds from its export on, unless the ticket's first dated snapshot is among them (a new ticket, or an
    export older than its first). Before its first export a ticket's dates hold (../shared/EVM.md "Progress over
    time"), so then the day is its earliest date, old or new (creation, or a resolution recorded before it). The
    first snapshot is the first with a snapshot date and a creation date, as the service desk counts them.
    `touched`: the tickets' rows before the patch. NULL for a row with no date at all."""
    born = "least(created, CAST(created_at AS DATE), resolved, CAST(resolved_at AS DATE))"
    return f"""WITH old AS (SELECT item_key, snapshot_date, {born} AS born, _source_file, _line FROM {touched}),
    changed AS (SELECT * FROM old SEMI JOIN temp.main._items_gone USING (_source_file, _line)
                UNION ALL SELECT item_key, snapshot_date, {born}, _source_file, _line FROM temp.main._items_added),
    firsts AS (SELECT item_key, min(snapshot_date) AS first, min(born) AS born FROM old
               WHERE snapshot_date IS NOT NULL AND born IS NOT NULL GROUP BY item_key),
    days AS (SELECT item_key, CASE WHEN f.first IS NOT NULL AND min(c.snapshot_date) > f.first
                                   THEN min(c.snapshot_date)
                                   ELSE least(min(c.snapshot_date), min(c.born), f.born) END AS day
             FROM changed c LEFT JOIN firsts f USING (item_key) GROUP BY item_key, f.first, f.born)
    SELECT c._source_file, c._line, d.day FROM changed c JOIN days d ON c.item_key IS NOT DISTINCT FROM d.item_key"""


def _can_append_worklogs(conn: duckdb.DuckDBPyConnection, staged: list[int]) -> bool:
    """Whether staging.worklogs may be changed in place (`_append_worklogs`) rather than written whole: it is in load
    order, no file staged this run has rows in it (a file staged again, after an upgrade or `pmo forget`, may give
    them other values), and the lookups WORKLOG_LOOKUPS are what they were."""
    if not warehouse.in_load_order(conn, "staging.worklogs"):
        return False
    if conn.sql("SELECT EXISTS (SELECT 1 FROM staging.worklogs WHERE list_contains(?::BIGINT[], _source_file))",
                params=[staged]).fetchall()[0][0]:  # fmt: skip
        return False
    return not any(_differs(conn, merge.kept(t), f"staging.{t}") for t in WORKLOG_LOOKUPS)


def _differs(conn: duckdb.DuckDBPyConnection, kept: str, table: str) -> bool:
    """Whether the merge's kept rows of a table are not exactly the rows `table` holds (or it does not exist)."""
    schema, name = table.split(".")
    if not warehouse.table_exists(conn, schema, name):
        return True
    either = f"EXISTS (FROM {kept} EXCEPT ALL FROM {table}) OR EXISTS (FROM {table} EXCEPT ALL FROM {kept})"
    return conn.sql(f"SELECT {either}").fetchall()[0][0]


def _append_worklogs(conn: duckdb.DuckDBPyConnection, resolved, staged: list[int], onto: bool,
                     tickets: str | None) -> tuple[int, int] | None:  # fmt: skip
    """Bring staging.worklogs to the merge's kept worklogs without writing its millions of rows again: delete the rows
    the merge no longer keeps (replaced by a newer export), resolve again the rows whose ticket's project changed or
    appeared, and append the rows of the files staged this run, which come after every row in load order. `onto`: the
    merge was made onto the table's rows (merge.Held) and says which go and which come; otherwise they are found by
    comparing its kept rows with the table's. `tickets`: whose latest snapshot staging.work_items changed (None, none;
    TICKETS_ALL; TOUCHED), compared with those in _old_latest. `resolved` gives the resolving query of a relation of
    worklogs (`few`: of a few of them). Returns
    the row count and the rows appended, or None, having changed nothing, when the kept rows are not exactly the
    table's rows less those deleted plus those appended (a file pruned by [retention] can bring back rows it
    replaced): the caller then writes the table whole."""
    lineage = "SELECT _source_file, _line, work_date AS day FROM staging.worklogs"
    if onto:
        added = f"SELECT * FROM {merge.added('worklogs')}"
        conn.sql(f"CREATE OR REPLACE TEMP TABLE _gone AS {lineage} SEMI JOIN {merge.gone('worklogs')}"
                 " USING (_source_file, _line)")  # fmt: skip
    else:
        kept = merge.kept("worklogs")
        added = f"SELECT * FROM {kept} WHERE list_contains({[int(f) for f in staged]}::BIGINT[], _source_file)"
        conn.sql(f"CREATE OR REPLACE TEMP TABLE _gone AS {lineage} ANTI JOIN {kept} USING (_source_file, _line)")
    before, gone, new = conn.sql(
        f"SELECT (FROM staging.worklogs SELECT count(*)), (FROM temp.main._gone SELECT count(*)),"
        f" (SELECT count(*) FROM ({added}))"
    ).fetchall()[0]
    total = before - gone + new if onto else conn.sql(f"FROM {merge.kept('worklogs')} SELECT count(*)").fetchall()[0][0]
    last = conn.sql("SELECT max(_source_file) FROM staging.worklogs").fetchall()[0][0]
    first = conn.sql(f"SELECT min(_source_file) FROM ({added})").fetchall()[0][0]
    if before - gone + new != total or (last is not None and first is not None and first <= last):
        conn.sql("DROP TABLE temp.main._gone")
        return None
    # a ticket that moved project, appeared or went: its worklogs' project and item_known
    changed = "SELECT NULL::VARCHAR AS item_key, NULL::BOOLEAN AS appeared WHERE false"
    if tickets is not None:
        items = f"(FROM staging.work_items SEMI JOIN temp.main.{TOUCHED} USING (item_key))"
        latest = resolve.latest_items_sql("staging.work_items" if tickets == TICKETS_ALL else items)
        changed = f"""SELECT coalesce(o.item_key, n.item_key) AS item_key, o.item_key IS NULL AS appeared
        FROM temp.main._old_latest o FULL JOIN ({latest}) n USING (item_key)
        WHERE o.item_key IS NULL OR n.item_key IS NULL OR o.project_id IS DISTINCT FROM n.project_id"""
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _changed_items AS {changed}")
    stored = conn.sql(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'staging' AND table_name = 'worklogs' ORDER BY column_index"
    ).fetchall()
    columns = ", ".join(f'"{c}"' for (c,) in stored if c not in canonical.schema("worklogs"))  # the resolved ones
    # The worklogs of those tickets, read once (the change log and the update read them). A ticket that appeared was
    # in no export when its worklogs were resolved, so they are among the few whose ticket is unknown (item_known
    # false): not looked for by key among the millions (0.3-0.9 s for the bench's week, whose 4,344 new tickets
    # have none yet). Only a ticket that moved project or went sends the search through every row.
    of = "item_key IN (SELECT item_key FROM temp.main._changed_items WHERE {})"
    where = [f"NOT item_known AND {of.format('appeared')}"]
    if conn.sql("SELECT EXISTS (FROM temp.main._changed_items WHERE NOT appeared)").fetchall()[0][0]:
        where.append(of.format("NOT appeared"))
    duck.create_from(conn, "_moved", [f"SELECT * EXCLUDE ({columns}) FROM staging.worklogs WHERE {w}" for w in where],
                     temp=True)  # fmt: skip
    moved = "temp.main._moved"
    updates = f"SELECT _source_file, _line, {columns} FROM ({resolved(moved, few=True)})"
    if not conn.sql("SELECT EXISTS (FROM temp.main._moved)").fetchall()[0][0]:
        # no worklog's ticket changed: no row is resolved again (the resolving query costs its lookups even for no
        # rows: 0.5-0.8 s at portfolio scale)
        updates = "SELECT _source_file, _line FROM staging.worklogs WHERE false"
    # for the marts built from it (pipelines/changes.py): the rows deleted, set again and appended, with their dates
    lineage = "SELECT _source_file, _line, work_date AS day FROM"
    changes.record(conn, "staging.worklogs", f"FROM temp.main._gone UNION ALL {lineage} {moved} "
                                             f"UNION ALL {lineage} ({added})")  # fmt: skip
    rows = warehouse.patch_in_load_order(
        conn, "staging.worklogs", gone="FROM temp.main._gone",
        updates=updates, added=resolved(f"({added})", few=True),
    )  # fmt: skip
    for name in ("_gone", "_changed_items", "_moved"):
        conn.sql(f"DROP TABLE temp.main.{name}")
    if rows != total:  # a guard against engine faults (see transforms/duck.insert): the transaction rolls back
        raise RuntimeError(f"staging.worklogs holds {rows} rows after the append; the merge kept {total}: not saved")
    return rows, new


def rebuild_staging(
    conn: duckdb.DuckDBPyConnection, summary: IngestSummary, week_ends_on: str, everything: bool = False
) -> None:
    """Stage the files not staged yet (or, `everything`, every file again: after `pmo forget` changed raw rows),
    then merge them all into the staging tables."""
    if everything:
        conn.sql("DELETE FROM audit.staged_files")
    merge_staging(conn, summary, stage_files(conn, summary, week_ends_on))


def ingest(
    conn: duckdb.DuckDBPyConnection,
    inbox: Path,
    week_ends_on: str = "sunday",
    retention: RetentionSettings | None = None,
) -> IngestSummary:
    """Load the inbox's new files and rebuild staging, all or nothing; then apply [retention] (pipelines/retention.py):
    raw rows nothing uses any more go in the same transaction, inbox files after it."""
    summary = IngestSummary()
    with warehouse.transaction(conn):
        started = time.perf_counter()
        load_new_files(conn, inbox, summary)
        loaded = time.perf_counter()
        rebuild_staging(conn, summary, week_ends_on)
        if retention is not None:
            summary.retention.extend(prune_raw(conn, retention))
    summary.seconds = {"load": round(loaded - started, 3), "staging": round(time.perf_counter() - loaded, 3)}
    if retention is not None:
        summary.retention.extend(delete_inbox_files(conn, inbox, retention))
    return summary
