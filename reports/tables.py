"""Tables shown in the pack, each downloadable as CSV: one definition gives both the HTML and the CSV.

Text from exports is made inert on the way out: control characters and bidirectional overrides are removed
(HTML escaping is jinja's autoescape), and in CSV a text cell that a spreadsheet would run as a formula
(it begins with =, +, -, @, a tab or a carriage return) gets a leading apostrophe. Numbers are never touched.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from markupsafe import Markup, escape

# C0 controls other than tab, newline and carriage return, DEL, and the Unicode bidirectional controls
# (embeddings, overrides, isolates and marks) that can make text display as something it is not.
INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORMULA_START = r"^[=+\-@\t\r]"


def clean(value: object) -> object:
    """Every value a template prints passes through here (the jinja environment's `finalize`)."""
    if isinstance(value, Markup):  # already built from cleaned, escaped parts (a macro's or filter's output)
        return value
    return INVISIBLE.sub("", value) if isinstance(value, str) else value


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as it may go into a CSV a spreadsheet opens: text cells inert, numbers untouched."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    visible = {name: pl.col(name).str.replace_all(INVISIBLE.pattern, "") for name in text}
    return frame.with_columns(
        pl.when(v.str.contains(FORMULA_START)).then(pl.lit("'") + v).otherwise(v).alias(name)
        for name, v in visible.items()
    )


def money(value: Decimal | float | None) -> str:
    return "–" if value is None else f"{float(value):,.0f}"


def ratio(value: float | None) -> str:
    return "–" if value is None else f"{float(value):.2f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


RAG_LABELS = {"green": "Green", "amber": "Amber", "red": "Red", "grey": "n/a"}


def badge(value: str | None) -> Markup:
    colour = value if value in RAG_LABELS else "grey"
    return Markup(f'<span class="rag {colour}">{RAG_LABELS[colour]}</span>')


FORMATS: dict[str, Callable[[object], str]] = {
    "text": lambda v: escape(clean(str(v))),
    "money": money,
    "ratio": ratio,
    "percent": percent,
    "int": lambda v: f"{v:,}",
    "number": lambda v: f"{float(v):,.1f}",
    "change": lambda v: f"{float(v):+,.0f}",  # a difference, signed
    "ratio change": lambda v: f"{float(v):+.2f}",
    "days": lambda v: f"{float(v):+,.0f} d",
    "weeks": lambda v: f"{float(v):,.1f}",
    "date": lambda v: str(v),
    "bool": lambda v: "yes" if v else "no",
    "rag": badge,
}


def cell(value: object, fmt: str) -> str | Markup:
    """One value as the pack shows it: "–" for NULL (an empty cell for an absent RAG override)."""
    if value is None:
        return "" if fmt == "rag" else "–"
    return Markup(FORMATS[fmt](value)) if fmt in ("text", "rag") else FORMATS[fmt](value)


def _needs_neutralising(series: pl.Series) -> bool:
    """A cheap look before the (costlier) rewrite: most of the pack's small tables have nothing to change."""
    values = [v for v in series.to_list() if v]
    return any(v[0] in "=+-@\t\r" for v in values) or INVISIBLE.search("".join(values)) is not None


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    format: str = "text"  # a FORMATS key: text, money, ratio, percent, number, int, change, days, date, rag …
    # a column of the frame naming each row's format instead (a FORMATS key): a column of figures of different
    # kinds, as text (the restatements' money, ratios and dates). The CSV keeps the text as it is.
    format_by: str = ""


@dataclass(frozen=True)
class Table:
    """A table on a page. `csv` is its download, relative to the page; `link` names a column holding each
    row's href for the first column (a null href: no link)."""

    id: str
    title: str
    columns: tuple[Column, ...]
    frame: pl.DataFrame
    csv: str = ""
    note: str = ""
    link: str = ""
    limit: int | None = None  # rows shown on the page; the CSV always has them all
    csv_bytes: bytes | None = None  # to_csv() already written (csv_by_key), or None to write it from the frame

    @property
    def total(self) -> int:
        return self.frame.height

    @property
    def shown(self) -> int:
        return self.total if self.limit is None else min(self.limit, self.total)

    def body(self) -> Markup:
        """The <tbody> rows, built here rather than in a template macro: it is the pack's innermost loop."""
        if self.frame.is_empty():
            return Markup(f'<tr><td class="text" colspan="{len(self.columns)}">None.</td></tr>')
        shown = self.frame.head(self.shown)
        values = [shown.get_column(c.name).to_list() for c in self.columns]
        formats = [FORMATS[c.format] for c in self.columns]
        by_row = {j: [FORMATS[f] for f in shown.get_column(c.format_by).to_list()]
                  for j, c in enumerate(self.columns) if c.format_by}  # fmt: skip
        opens = ['<td class="text">' if c.format == "text" and not c.format_by else "<td>" for c in self.columns]
        links = shown.get_column(self.link).to_list() if self.link else None
        out = []
        for i, row in enumerate(zip(*values, strict=True)):
            row_formats = [by_row[j][i] if j in by_row else f for j, f in enumerate(formats)] if by_row else formats
            # str.join, not +: "<td>" + Markup(...) would let Markup escape the tag itself.
            cells = [
                "".join((o, "" if v is None and f is badge else "–" if v is None else f(v), "</td>"))
                for o, f, v in zip(opens, row_formats, row, strict=True)
            ]
            if links is not None and links[i] is not None:
                first = "–" if row[0] is None else formats[0](row[0])
                cells[0] = f'{opens[0]}<a href="{escape(links[i])}">{first}</a></td>'
            out.append("<tr>" + "".join(cells) + "</tr>")
        return Markup("\n".join(out))

    def to_csv(self) -> bytes:
        """Every row (not only those shown), text neutralised, amounts exact (DECIMAL as written), numbers as is."""
        if self.csv_bytes is not None:
            return self.csv_bytes
        columns = {}
        for c in self.columns:
            series = self.frame.get_column(c.name)
            if series.dtype == pl.String and _needs_neutralising(series):
                series = neutralise(series.to_frame()).to_series()
            elif isinstance(series.dtype, pl.Decimal):
                series = series.cast(pl.String)
            columns[c.label] = series
        buffer = io.BytesIO()
        pl.DataFrame(columns).write_csv(buffer, date_format="%Y-%m-%d", null_value="")
        return buffer.getvalue()


def table(id: str, title: str, frame: pl.DataFrame, columns: list[tuple], **kwargs) -> Table:
    """Shorthand: columns as (name, label[, format]) tuples."""
    return Table(id, title, tuple(Column(*c) for c in columns), frame, **kwargs)


def csv_by_key(parts: dict[str, pl.DataFrame], columns: list[tuple], key: str = "project_id") -> dict[str, bytes]:
    """Table.to_csv() of each part (a frame split by `key`, as pack.by_project splits it), from one CSV of all
    the parts: the same bytes, one write instead of one per part. Each CSV line is one row unless a text cell
    holds a line break; then (and for no parts) nothing is precomputed: {}."""
    if not parts:
        return {}
    whole = pl.concat(list(parts.values()), how="vertical")
    names = [c[0] for c in columns]
    text = [n for n in names if whole.schema[n] == pl.String]
    if text and whole.select(pl.any_horizontal(pl.col(text).str.contains("[\r\n]").any())).item():
        return {}
    parts_text = split_lines(whole.get_column(key), table("", "", whole, columns).to_csv().decode("utf-8"))
    return {k: text.encode() for k, text in parts_text.items()}


def split_lines(keys: pl.Series, text: str) -> dict[str, str]:
    """A CSV of many parts' rows (a header, then one line per row in the order of `keys`) as each key's own CSV:
    the header and its lines. {} when the lines are not the rows after all (a cell held a line break): then each
    part is written on its own."""
    header, *lines = text.split("\n")[:-1]
    if len(lines) != keys.len():
        return {}
    joined = (
        pl.DataFrame({"key": keys, "line": pl.Series(lines, dtype=pl.String)})
        .group_by("key", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))
    )
    return {k: f"{header}\n{body}\n" for k, body in joined.iter_rows()}  # one row per part, not per row
