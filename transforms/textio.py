"""Turn an export's bytes into text and a frame of strings, recording how the file was written.

Everything here is pure: bytes in, frames out. Non-UTF-8 text is decoded before any engine sees it.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass

import polars as pl

DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class TextFile:
    """A decoded export: its text, the encoding it was written in and its field delimiter."""

    text: str
    encoding: str
    delimiter: str


class UnreadableFile(ValueError):
    """The bytes are not a delimited text export (binary junk, empty file)."""


def decode(data: bytes) -> tuple[str, str]:
    """Decode an export's bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line into the most fields (ties go to the comma)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_text(data: bytes) -> TextFile:
    """Decode and sniff one export; raise UnreadableFile for binary or empty input."""
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("the file holds binary data (NUL bytes), not delimited text")
    text, encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UnreadableFile("the file is empty")
    header_line = text.split("\n", 1)[0]
    return TextFile(text=text, encoding=encoding, delimiter=sniff_delimiter(header_line))


def unique_headers(names: list[str]) -> list[str]:
    """Header names made unique the way repeated Jira columns need: Labels, Labels__2, Labels__3."""
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        name = (raw or "").strip()
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}__{seen[name]}")
    return out


def parse_table(tf: TextFile) -> pl.DataFrame:
    """All data rows of a delimited export as strings, with `_line`: the file line the row starts on.

    Repeated header names get suffixes (see `unique_headers`); blank lines are not rows. A quoted field
    that spans lines pushes the following rows' line numbers down, as an editor would show them.
    """
    grid = pl.read_csv(
        io.StringIO(tf.text),
        has_header=False,
        separator=tf.delimiter,
        infer_schema=False,
        truncate_ragged_lines=True,
        raise_if_empty=False,
    )
    if grid.height == 0:
        raise UnreadableFile("the file has no header line")
    headers = unique_headers([v if v is not None else "" for v in grid.row(0)])
    body = grid.slice(1).rename(dict(zip(grid.columns, headers, strict=True)))
    # The header may itself span lines; every record takes 1 line plus its embedded newlines.
    header_lines = 1 + sum(str(v or "").count("\n") for v in grid.row(0))
    extra = pl.sum_horizontal(pl.col(c).str.count_matches("\n").fill_null(0) for c in headers)
    body = body.with_columns(
        (pl.lit(header_lines + 1) + (pl.lit(1) + extra).cum_sum().shift(1, fill_value=0)).cast(pl.Int64).alias("_line")
    )
    blank = pl.all_horizontal((pl.col(c).fill_null("").str.strip_chars() == "") for c in headers)
    return body.filter(~blank)


XLSX_MAGIC = b"PK\x03\x04"


def read_workbook(data: bytes) -> pl.DataFrame:
    """The first sheet of an Excel workbook (.xlsx, read with calamine) as strings, like `parse_table`.

    `_line` is the sheet's row number. Cells that hold real dates read as ISO text ("2026-03-02", or
    "2026-03-02 14:30:00" with a time), which every contract's date columns accept.
    """
    try:
        grid = pl.read_excel(
            data, engine="calamine", has_header=False, infer_schema_length=0, drop_empty_rows=False,
            drop_empty_cols=False, raise_if_empty=False,
        )  # fmt: skip
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        raise UnreadableFile(f"not a readable Excel workbook ({type(exc).__name__}: {exc})") from exc
    if grid.height == 0:
        raise UnreadableFile("the workbook's first sheet is empty")
    headers = unique_headers([v if v is not None else "" for v in grid.row(0)])
    body = grid.slice(1).rename(dict(zip(grid.columns, headers, strict=True)))
    midnight = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"
    body = body.with_columns(pl.col(h).str.replace(midnight, "$1") for h in headers).with_columns(
        pl.int_range(2, body.height + 2, dtype=pl.Int64).alias("_line")
    )
    blank = pl.all_horizontal((pl.col(c).fill_null("").str.strip_chars() == "") for c in headers)
    return body.filter(~blank)


def read_table(data: bytes) -> tuple[pl.DataFrame, str, str | None]:
    """An export's rows as strings with `_line`, its encoding ("xlsx" for a workbook) and delimiter."""
    if data.startswith(XLSX_MAGIC):
        return read_workbook(data), "xlsx", None
    text = read_text(data)
    return parse_table(text), text.encoding, text.delimiter
