"""Recognise one export by its header signature (or its inbox subfolder) and read it into raw rows.

Pure: a file's relative path and bytes in, a ParsedFile out. Nothing here touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_contracts.contract import all_contracts, detect, rename_to_contract
from transforms.mspdi_xml import looks_like_xml, parse_xml_export
from transforms.textio import UnreadableFile, read_table


@dataclass(frozen=True)
class ParsedFile:
    status: str  # parsed | unreadable | unrecognised | rejected
    kind: str | None
    rows: pl.DataFrame | None  # contract-named string columns + _line, when parsed or rejected
    encoding: str | None = None
    delimiter: str | None = None
    message: str = ""


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


def parse_export(relative_path: str, data: bytes) -> ParsedFile:
    """Decode, sniff, detect and check the header of one export. Row rules are checked later, in staging."""
    if looks_like_xml(data):  # Microsoft Project XML (MSPDI): one row per <Task> (transforms/mspdi_xml.py)
        return ParsedFile(**parse_xml_export(relative_path, data))
    try:
        table, encoding, delimiter = read_table(data)
    except UnreadableFile as exc:
        return ParsedFile("unreadable", None, None, message=f"{relative_path}: {exc}")
    except pl.exceptions.PolarsError as exc:
        return ParsedFile("unreadable", None, None, message=f"{relative_path}: not a delimited file ({exc})")
    headers = [c for c in table.columns if c != "_line"]
    kind = forced_kind(relative_path)
    if kind is None:
        kind, closest = detect(headers)
        if kind is None:
            hint = ", ".join(all_contracts()[k].title for k in closest) or "none share its columns"
            return ParsedFile(
                "unrecognised", None, None, encoding, delimiter,
                f"{relative_path}: no known export format has this header; closest: {hint}",
            )  # fmt: skip
    contract = all_contracts()[kind]
    rows = rename_to_contract(table, contract)
    rows = rows.select(
        "_line", *[c for c in rows.columns if c != "_line" and contract.canonical_name(c.split("__")[0])]
    )
    missing = contract.missing_required(headers)
    if missing:
        return ParsedFile(
            "rejected", kind, rows, encoding, delimiter,
            f"{relative_path}: missing required column(s) {', '.join(missing)} for {contract.title}",
        )  # fmt: skip
    ignored = [h for h in headers if contract.canonical_name(h.split("__")[0]) is None]
    note = f"columns not in the contract, kept out of raw: {', '.join(ignored)}" if ignored else ""
    return ParsedFile("parsed", kind, rows, encoding, delimiter, note)
