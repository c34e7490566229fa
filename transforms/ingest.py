"""Recognise one export by its header signature (or its inbox subfolder) and read it into raw rows.

Pure: a file's relative path and bytes in, a ParsedFile out. Nothing here touches the disk.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import polars as pl

from data_contracts.contract import all_contracts, detect, rename_to_contract
from transforms.mspdi_xml import looks_like_xml, parse_xml_export
from transforms.textio import DEFECT, UnreadableFile, defect, read_table, unique_headers

HEADER_SEARCH_ROWS = 10  # a workbook's header may sit below title rows (merged cells): look this far down


@dataclass(frozen=True)
class ParsedFile:
    status: str  # parsed | unreadable | unrecognised | rejected
    kind: str | None
    rows: pl.DataFrame | None  # contract-named string columns + _line (+ _defect), when parsed or rejected
    encoding: str | None = None
    delimiter: str | None = None
    message: str = ""  # for the user: starts with the file's display name when something is wrong
    reason: str = ""  # the message without the file's name


def recorded_path(relative: str) -> str:
    """An inbox-relative path as text the warehouse can hold: bytes that are not UTF-8 in a file name (which
    Python keeps as lone surrogates) become \\xNN."""
    return relative.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def display_name(relative: str) -> str:
    """A file name safe to quote in a message, a log line or a page: control and format characters (line ends,
    tabs, right-to-left overrides, zero-width spaces) are written as escapes, so a name can neither start a
    line of its own nor show other text than it holds."""
    hidden = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    return "".join(
        (repr(c)[1:-1] if c in "\n\r\t" else f"\\u{ord(c):04x}") if unicodedata.category(c) in hidden else c
        for c in recorded_path(relative)  # characters of one file name, not data rows
    )


def forced_kind(relative_path: str) -> str | None:
    """The kind an inbox subfolder names: a contract kind, or a source with a single kind (inbox/tempo/)."""
    parts = relative_path.split("/")[:-1]
    contracts = all_contracts()
    for folder in reversed(parts):
        if folder in contracts:
            return folder
        kinds = [c.kind for c in contracts.values() if c.source == folder]
        if len(kinds) == 1:
            return kinds[0]
    return None


def _failed(status: str, name: str, reason: str, kind=None, rows=None, encoding=None, delimiter=None) -> ParsedFile:
    return ParsedFile(status, kind, rows, encoding, delimiter, f"{name}: {reason}", reason)


def _header_below(table: pl.DataFrame) -> tuple[pl.DataFrame, int] | None:
    """A workbook whose first rows are titles or group headings (often merged cells): the rows under the first
    of the next HEADER_SEARCH_ROWS rows that carries a known signature, renamed by it, and its sheet row."""
    data = [c for c in table.columns if c not in ("_line", DEFECT)]
    for index, row in enumerate(table.head(HEADER_SEARCH_ROWS).select(data).iter_rows()):  # a few header rows
        headers = unique_headers([v if v is not None else "" for v in row])
        if detect([h for h in headers if h])[0] is not None:
            line = int(table.get_column("_line")[index])
            return table.slice(index + 1).rename(dict(zip(data, headers, strict=True))), line
    return None


def _same_column_twice(table: pl.DataFrame, contract) -> pl.DataFrame:
    """A header written twice (Hours, Hours) for a column the contract does not repeat: the values must agree.
    A row where both are filled and differ is rejected (which one is right?); elsewhere the first filled one
    counts. Aliases of one column (Tempo Worklog ID, Jira Worklog ID) are different fields: the first counts."""
    columns = [c for c in table.columns if not c.startswith("_")]
    for name in columns:
        column = contract.canonical_name(name)
        copies = [c for c in columns if c.startswith(name + "__") and c[len(name) + 2 :].isdigit()]
        if not copies or column is None or next(c for c in contract.columns if c.name == column).repeated:
            continue
        texts = [pl.col(c).str.strip_chars() for c in (name, *copies)]
        filled = [t.is_not_null() & (t != "") for t in texts]
        differs = pl.any_horizontal(filled[0] & f & (texts[0] != t) for f, t in zip(filled[1:], texts[1:], strict=True))
        both = pl.concat_str(texts, separator=" | ", ignore_nulls=True)
        rule = f"duplicate_column: {name} is in the header {len(copies) + 1} times, with different values in this row"
        flagged = pl.when(differs).then(defect("error", name, rule, both))
        table = table.with_columns(
            (pl.coalesce(DEFECT, flagged) if DEFECT in table.columns else flagged).alias(DEFECT),
            pl.coalesce(pl.when(f).then(pl.col(c)) for f, c in zip(filled, (name, *copies), strict=True)).alias(name),
        ).drop(copies)
    return table


def parse_export(relative_path: str, data: bytes) -> ParsedFile:
    """Decode, sniff, detect and check the header of one export. Row rules are checked later, in staging."""
    name = display_name(relative_path)
    if looks_like_xml(data):  # Microsoft Project XML (MSPDI): one row per <Task> (transforms/mspdi_xml.py)
        fields = parse_xml_export(name, data)
        return ParsedFile(**fields, reason=fields["message"].removeprefix(f"{name}: "))
    try:
        table, encoding, delimiter = read_table(data)
    except UnreadableFile as exc:
        return _failed("unreadable", name, str(exc))
    except pl.exceptions.PolarsError:
        return _failed("unreadable", name, "not a delimited file: its quotes and line ends make no rows")
    notes = []
    headers = [c for c in table.columns if c not in ("_line", DEFECT)]
    kind = forced_kind(relative_path)
    if kind is None:
        kind, closest = detect(headers)
        below = _header_below(table) if kind is None and encoding == "xlsx" else None
        if below is not None:
            table, line = below
            headers = [c for c in table.columns if c not in ("_line", DEFECT)]
            kind, closest = detect(headers)
            notes.append(f"header on row {line}, under {line - 1} title row(s)")
        if kind is None:
            hint = ", ".join(all_contracts()[k].title for k in closest) or "none share its columns"
            reason = f"no known export format has this header; closest: {hint}"
            return _failed("unrecognised", name, reason, encoding=encoding, delimiter=delimiter)
    contract = all_contracts()[kind]
    table = _same_column_twice(table, contract)
    headers = [c for c in table.columns if c not in ("_line", DEFECT)]
    rows = rename_to_contract(table, contract)
    kept = [c for c in rows.columns if not c.startswith("_") and contract.canonical_name(c.split("__")[0])]
    rows = rows.select("_line", *kept, *([DEFECT] if DEFECT in rows.columns else []))
    missing = contract.missing_required(headers)
    if missing:
        reason = f"missing required column(s) {', '.join(missing)} for {contract.title}"
        return _failed("rejected", name, reason, kind, rows, encoding, delimiter)
    if rows.height == 0:
        notes.append("a header but no data rows (an export of an empty filter?)")
    ignored = [h for h in headers if contract.canonical_name(h.split("__")[0]) is None]
    if ignored:
        notes.append(f"columns not in the contract, kept out of raw: {', '.join(ignored)}")
    return ParsedFile("parsed", kind, rows, encoding, delimiter, "; ".join(notes))
