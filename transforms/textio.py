"""Turn an export's bytes into text and a frame of strings, recording how the file was written.

Everything here is pure: bytes in, frames out. Non-UTF-8 text is decoded before any engine sees it.

A row that the file itself spoils (cut off by a truncated download, split by the wrong delimiter, more fields
than the header, a field too long to be real, a line in another encoding) is kept, with `_defect` saying what is
wrong with it (see `defect`): the contract check turns it into a reject, so the row is counted and shown, never
dropped or loaded half-read.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

DELIMITERS = (",", ";", "\t", "|")
DEFECT = "_defect"  # severity, column, rule and raw value of what spoils the row, joined by DEFECT_SEP; else NULL
DEFECT_SEP = "\x1f"
# No tool writes a longer field: Excel cells and Jira text fields stop at 32,767 characters. A longer one is an
# unclosed quote that swallowed the rest of the file, or junk; it is rejected instead of loaded.
MAX_FIELD_CHARS = 100_000
RAW_VALUE_CHARS = 200  # a rejected value is quoted up to this many characters
TRUNCATED = "truncated"
MIXED = "utf-8+cp1252"  # UTF-8 with some bytes that are not: read as Windows-1252


@dataclass(frozen=True)
class TextFile:
    """A decoded export: its text, the encoding it was written in and its field delimiter.

    `replaced`: for a file in mixed encodings, its text with every non-UTF-8 byte as U+FFFD, to find the
    cells that were read as Windows-1252."""

    text: str
    encoding: str
    delimiter: str
    replaced: str | None = None


class UnreadableFile(ValueError):
    """The bytes are not a delimited text export (binary junk, empty file)."""


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


codecs.register_error("pmo-cp1252", _cp1252_fallback)


def decode(data: bytes) -> tuple[str, str]:
    """Decode an export's bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    A file that is UTF-8 except for some bytes (lines pasted from a Windows-1252 file) is MIXED: its UTF-8
    stays UTF-8 and only the other bytes are read as Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="pmo-cp1252"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    whole = data.decode("cp1252", errors="replace")
    mixed = data.decode("utf-8", errors="pmo-cp1252")
    # Every non-ASCII byte reads the same either way unless some of them were valid UTF-8 sequences.
    return (whole, "cp1252") if mixed == whole else (mixed, MIXED)


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
    replaced = None
    if encoding == MIXED:
        replaced = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return TextFile(text=text, encoding=encoding, delimiter=sniff_delimiter(header_line), replaced=replaced)


def unique_headers(names: list[str]) -> list[str]:
    """Header names made unique the way repeated Jira columns need: Labels, Labels__2, Labels__3."""
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        name = (raw or "").strip()
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}__{seen[name]}")
    return out


def clip(value: pl.Expr) -> pl.Expr:
    """A raw value as a reject quotes it: at most RAW_VALUE_CHARS characters."""
    return (
        pl.when(value.str.len_chars() > RAW_VALUE_CHARS)
        .then(value.str.slice(0, RAW_VALUE_CHARS) + pl.lit("…"))
        .otherwise(value)
    )


def defect(severity: str, column: pl.Expr | str, rule: pl.Expr | str, raw: pl.Expr) -> pl.Expr:
    """A `_defect` value: what spoils a row, for `contract.conform` to reject (or flag, for a warning)."""
    parts = [pl.lit(severity), column, rule, clip(raw.fill_null("")).str.replace_all(DEFECT_SEP, " ", literal=True)]
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts], separator=DEFECT_SEP)


def _grid(data: bytes, delimiter: str, width: int | None = None, n_rows: int | None = None) -> pl.DataFrame:
    """Records of UTF-8 text as string columns c0, c1, ... (`width` of them when given: fields past it are dropped).
    Given bytes, not a StringIO: polars copies a StringIO's text and encodes it again, and the StringIO itself holds
    4 bytes a character, so a 170 MB export peaked at 1,340 MB instead of 666 MB."""
    schema = {"schema": {f"c{i}": pl.String for i in range(width)}, "missing_columns": "insert"} if width else {}
    grid = pl.read_csv(
        data, has_header=False, separator=delimiter, infer_schema=False, truncate_ragged_lines=True,
        raise_if_empty=False, n_rows=n_rows, **schema,
    )  # fmt: skip
    return grid.rename(dict(zip(grid.columns, [f"c{i}" for i in range(grid.width)], strict=True)))


def _unterminated_quote(text: str, delimiter: str) -> int | None:
    """Where the record starts whose quoted field runs to the end of the text (a file cut inside a quote)."""
    opening = re.search(rf'(?:^|(?<=[{re.escape(delimiter)}\n]))"(?:[^"]|"")*\Z', text)
    if opening is None:
        return None
    return text.rfind("\n", 0, opening.start()) + 1


def _records(tf: TextFile, text: str) -> pl.DataFrame:
    """Every record of the text, header first, as c0..c{n}: one column past the header's n fields, to see rows
    that have more. A file cut inside a quoted field gives its records up to the cut, then the cut record with
    a critical `_defect`: the whole file is then quarantined, since the rest of it is missing."""
    data = text.encode("utf-8")
    try:
        width = _grid(data, tf.delimiter, n_rows=1).width
        return _grid(data, tf.delimiter, width + 1).with_columns(pl.lit(None, pl.String).alias(DEFECT))
    except pl.exceptions.PolarsError as exc:
        start = _unterminated_quote(text, tf.delimiter)
        if not start:  # no cut quote, or one in the header: nothing to keep
            raise UnreadableFile("not a delimited file: its quotes and line ends make no rows") from exc
    del data
    head = _records(tf, text[:start])
    fields = next(csv.reader(io.StringIO(text[start:]), delimiter=tf.delimiter), [])
    names = head.row(0)[: head.width - 2]
    column = names[min(len(fields), len(names)) - 1] if fields else names[0]
    cut = pl.DataFrame([fields[: head.width - 2]], schema=head.columns[: min(len(fields), head.width - 2)],
                       orient="row")  # fmt: skip
    rule = f"{TRUNCATED}: the file ends inside this quoted field (an interrupted download or export?)"
    cut = cut.with_columns(defect("critical", column or "", rule, pl.lit(fields[-1] if fields else "")).alias(DEFECT))
    return pl.concat([head, cut], how="diagonal")


def _short_last_record(tf: TextFile, text: str, extra: int, width: int) -> tuple[int, str] | None:
    """A file that ends without a line end in the middle of its last record (fewer fields than the header's
    `width`): the number of fields it has and the last (probably cut) field. `extra`: the record's embedded
    line ends."""
    if text.endswith("\n"):
        return None
    start = len(text)
    for _ in range(extra + 1):  # back over the last record's own lines only
        start = text.rfind("\n", 0, start)
    record = text[start + 1 :]
    if not record.strip():  # trailing blanks after the last line end: not a record
        return None
    fields = next(csv.reader(io.StringIO(record), delimiter=tf.delimiter), [])
    return (len(fields), fields[-1] if fields else "") if len(fields) < width else None


def parse_table(tf: TextFile) -> pl.DataFrame:
    """All data rows of a delimited export as strings, with `_line`: the file line the row starts on.

    Repeated header names get suffixes (see `unique_headers`); blank lines are not rows. A quoted field
    that spans lines pushes the following rows' line numbers down, as an editor would show them. Rows the
    file spoils carry `_defect` (see the module's docstring); the column is there only when a row has one.
    """
    grid = _records(tf, tf.text)
    if grid.height == 0:
        raise UnreadableFile("the file has no header line")
    fields = [c for c in grid.columns if c != DEFECT]
    width = len(fields) - 1  # the header's fields; the last column holds a row's first field past them
    headers = unique_headers([v if v is not None else "" for v in grid.row(0)[:width]])
    body = grid.slice(1)
    # The header may itself span lines; every record takes 1 line plus its embedded newlines.
    header_lines = 1 + sum(str(v or "").count("\n") for v in grid.row(0)[:width])
    extra = pl.sum_horizontal(pl.col(c).str.count_matches("\n").fill_null(0) for c in fields)
    body = body.with_columns(
        (pl.lit(header_lines + 1) + (pl.lit(1) + extra).cum_sum().shift(1, fill_value=0)).cast(pl.Int64).alias("_line"),
        extra.alias("_extra"),
    )
    body = body.with_columns(_defects(tf, body, headers, fields))
    if tf.replaced is not None:  # mixed encodings: a warning on each row with a cell read as Windows-1252
        other = _records(tf, tf.replaced).slice(1).select(fields)
        if other.height == body.height:
            first = pl.coalesce(pl.when(pl.col(c) != other.get_column(c)).then(pl.lit(h))
                                for c, h in zip(fields, headers, strict=False))  # fmt: skip
            value = pl.coalesce(pl.when(pl.col(c) != other.get_column(c)).then(pl.col(c)) for c in fields)
            rule = "encoding: not UTF-8 like the rest of the file; read as Windows-1252"
            flagged = pl.when(first.is_not_null()).then(defect("warning", first, rule, value))
            body = body.with_columns(pl.coalesce(DEFECT, flagged).alias(DEFECT))
    body = body.rename(dict(zip(fields[:width], headers, strict=True))).drop(fields[width], "_extra")
    blank = pl.all_horizontal((pl.col(c).fill_null("").str.strip_chars() == "") for c in headers)
    body = body.filter(~blank | pl.col(DEFECT).is_not_null())
    if body.get_column(DEFECT).null_count() == body.height:
        body = body.drop(DEFECT)
    return body.select(*headers, "_line", *([DEFECT] if DEFECT in body.columns else []))


def _defects(tf: TextFile, body: pl.DataFrame, headers: list[str], fields: list[str]) -> pl.Expr:
    """What spoils each row, worst first: a cut last record (critical: the file is incomplete), then errors
    (the row alone is rejected): a field too long to be real, more fields than the header, the wrong delimiter."""
    width = len(headers)
    checks: list[pl.Expr] = [pl.col(DEFECT)]
    if body.height:
        short = _short_last_record(tf, tf.text, int(body.get_column("_extra")[-1]), width)
        if short is not None:
            count, last = short
            rule = (f"{TRUNCATED}: the file ends after field {count} of {width}, with no line end "
                    "(an interrupted download or export?)")  # fmt: skip
            checks.append(pl.when(pl.int_range(pl.len()) == body.height - 1)
                          .then(defect("critical", headers[max(count, 1) - 1], rule, pl.lit(last))))  # fmt: skip
    too_long = [pl.col(c).str.len_chars() > MAX_FIELD_CHARS for c in fields[:width]]
    checks.append(
        pl.when(pl.any_horizontal(too_long)).then(defect(
            "error", pl.coalesce(pl.when(t).then(pl.lit(h)) for t, h in zip(too_long, headers, strict=True)),
            f"field_length: over {MAX_FIELD_CHARS:,} characters (an unclosed quote, or not an export?)",
            pl.coalesce(pl.when(t).then(pl.col(c)) for t, c in zip(too_long, fields, strict=False)),
        ))
    )  # fmt: skip
    past = pl.col(fields[width])
    checks.append(
        pl.when(past.fill_null("").str.strip_chars() != "").then(defect(
            "error", headers[-1], f"fields: more fields than the header's {width} (a delimiter inside an unquoted "
            "value?)", past))
    )  # fmt: skip
    if width >= 3:
        others = [d for d in DELIMITERS if d != tf.delimiter]
        alone = pl.all_horizontal(pl.col(c).is_null() for c in fields[1:width])
        split = pl.max_horizontal(pl.col(fields[0]).str.count_matches(re.escape(d)) for d in others)
        named = pl.coalesce(pl.when(pl.col(fields[0]).str.count_matches(re.escape(d)) == split).then(pl.lit(d))
                            for d in others)  # fmt: skip
        label = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
        checks.append(
            pl.when(alone & (split >= width - 1)).then(defect(
                "error", headers[0], pl.format("delimiter: the row is split by {}, the header by {}",
                                               named.replace(label), pl.lit(label[tf.delimiter])), pl.col(fields[0])))
        )  # fmt: skip
    return pl.coalesce(checks).alias(DEFECT)


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


PLAIN_MIN_BYTES = 1 << 20  # smaller files are read by `read_table` alone: the plain path would save nothing there
_PLAIN_CHUNK = 1 << 24  # bytes checked at a time (whole lines), to bound the checks' working memory


# Bytes that are surely not whitespace as polars' str.strip_chars() strips it (Rust's char::is_whitespace: ASCII
# tab, LF, VT, FF, CR, space, and multi-byte ones such as U+00A0 or U+3000, so no byte >= 0x80 is sure): a line
# with one of them besides delimiters is not a blank row.
_SOLID = np.ones(256, dtype=bool)
_SOLID[[9, 10, 11, 12, 13, 32]] = False
_SOLID[0x80:] = False


@dataclass(frozen=True)
class PlainLayout:
    """A delimited export with nothing for `parse_table` to interpret: UTF-8 (with or without BOM), no quote
    character at all, no NUL, every line ended by the same line end (LF, or CRLF on every line), every line
    with exactly the header's number of fields and under MAX_FIELD_CHARS bytes, and something other than
    whitespace in it. Such a file's records are its lines, so a CSV reader splitting it on `delimiter` gives
    exactly `parse_table`'s rows (record n on line n + 1, none blank), none of which can carry a `_defect` except
    a row split by another delimiter, which is refused too.

    `header`: the header line's bytes, without the BOM and line end; `records`: the lines after it."""

    delimiter: str
    width: int
    bom: bool
    crlf: bool
    header: bytes
    records: int


def plain_layout(data: bytes) -> PlainLayout | None:
    """The layout of an export that any strict CSV reader reads as `parse_table` does (see PlainLayout), else
    None: the file then goes through `read_table`. Vectorised over the bytes, a chunk of whole lines at a time."""
    bom = data.startswith(codecs.BOM_UTF8)
    start = len(codecs.BOM_UTF8) if bom else 0
    if len(data) < PLAIN_MIN_BYTES or not data.endswith(b"\n") or data.startswith(XLSX_MAGIC):
        return None
    if data.find(b'"') >= 0 or data.find(b"\x00") >= 0:
        return None
    crlf = data.find(b"\r") >= 0
    end = data.find(b"\n", start)
    header = data[start : end - 1 if crlf else end]
    if crlf and data[end - 1 : end] != b"\r":
        return None
    try:
        header_text = header.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not header_text.strip() or header_text.lstrip().startswith("<"):
        return None  # a blank header line, or XML or HTML
    delimiter = sniff_delimiter(header_text)
    width = header_text.count(delimiter) + 1
    if width < 2:
        return None
    view = np.frombuffer(data, dtype=np.uint8)
    code, eol = ord(delimiter), 2 if crlf else 1
    chunk_start, lines = start, 0
    while chunk_start < len(data):
        chunk_end = data.rfind(b"\n", chunk_start, min(chunk_start + _PLAIN_CHUNK, len(data))) + 1
        if chunk_end <= chunk_start:  # a line longer than a chunk is longer than MAX_FIELD_CHARS
            return None
        chunk = view[chunk_start:chunk_end]
        ends = np.flatnonzero(chunk == 10)  # each line's LF, in the chunk
        lines += len(ends)
        starts = np.concatenate(([0], ends[:-1] + 1))
        if int((ends - starts).max()) > MAX_FIELD_CHARS:
            return None
        if crlf:  # a CR right before every LF, and nowhere else (a file without CRLF has no CR at all)
            carriage = np.flatnonzero(chunk == 13)
            if not (len(carriage) == len(ends) and np.array_equal(carriage, ends - 1)):
                return None
        delimiters_before = np.searchsorted(np.flatnonzero(chunk == code), ends)  # per line end, in the chunk
        if (np.diff(delimiters_before, prepend=0) != width - 1).any():
            return None
        if width >= 3:  # no row whose only field is its first (one the other delimiter may have split)
            alone = np.ones(len(ends), dtype=bool)
            for back in range(1, width):
                alone &= chunk[ends - eol - back + 1] == code
            if alone.any():
                return None
        solid = _SOLID.copy()
        solid[code] = False
        if not solid[chunk[starts]].all() and not np.maximum.reduceat(solid[chunk], starts).all():
            return None  # a line of delimiters and whitespace: a blank row, which parse_table numbers and drops
        if (chunk >= 0x80).any():
            try:
                data[chunk_start:chunk_end].decode("utf-8")
            except UnicodeDecodeError:
                return None
        chunk_start = chunk_end
    return PlainLayout(delimiter, width, bom, crlf, header, lines - 1)
