"""Load the YAML data contracts and turn one into row checks over a frame of strings.

A contract names an export kind's columns (with the aliases other tools and languages use), their types,
which are required, allowed values and ranges, rules across the columns of a row, the natural key, and the
header signature that detects the kind. `conform` types a raw frame and returns the rows that broke a rule,
one reject per rule broken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from transforms.calendar import isodow
from transforms.textio import DEFECT, DEFECT_SEP, clip

CONTRACT_DIR = Path(__file__).parent
TYPES = {"string", "integer", "decimal", "date", "datetime", "boolean"}
REJECT_SCHEMA = {
    "line": pl.Int64, "column": pl.String, "rule": pl.String, "raw_value": pl.String, "severity": pl.String
}  # fmt: skip
# error: the row is rejected; warning: the row loads and the finding is kept; critical: the file is quarantined.
SEVERITIES = ("error", "warning", "critical")
# No export of the tools this project reads holds real dates before this: earlier ones are typos or a
# spreadsheet's day zero (1899-12-30, 1900-01-00). A column may set its own `earliest`.
EARLIEST = dt.date(1990, 1, 1)
# A `not_future` date (work done, a ticket created or updated) may be at most this many days after the day its
# file was loaded: time zones ahead of the server, and a worklog entered for tomorrow. Later is a typo (2062).
FUTURE_DAYS = 1
_TRUE = ["yes", "true", "1", "y", "billable"]
_FALSE = ["no", "false", "0", "n", "non-billable", ""]


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    formats: tuple[str, ...] = ()
    repeated: bool = False
    on_week_end: bool = False  # a status date: must fall on the week-end grid (pmo.toml: week_ends_on)
    same_within: str | None = None  # must hold one value within each group of this column (e.g. project_id)
    severity: str = "error"  # of every rule on this column: error | warning | critical
    earliest: dt.date | None = None  # dates and datetimes: the first plausible day (EARLIEST unless set)
    not_future: bool = False  # a date that has happened: at most FUTURE_DAYS after its file was loaded


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row: when `when_filled` holds a value, every column of `require` must too.

    A row that breaks it gets one reject named `name`, on the `when_filled` column with its value."""

    name: str
    when_filled: str
    require: tuple[str, ...]
    severity: str = "error"


@dataclass(frozen=True)
class Contract:
    kind: str
    title: str
    source: str
    signature: tuple[str, ...]
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    description: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    row_cap: int | None = None  # the tool's export limit: a file of exactly this many rows was probably cut
    row_rules: tuple[RowRule, ...] = ()

    def canonical_name(self, header: str) -> str | None:
        """The contract column a header stands for (its own name or an alias), ignoring case."""
        return self.aliases.get(header.strip().lower())

    def missing_required(self, headers: list[str]) -> list[str]:
        present = {self.canonical_name(h) for h in headers}
        return [c.name for c in self.columns if c.required and c.name not in present]


def _column(spec: dict, earliest: dt.date = EARLIEST) -> Column:
    col = Column(
        name=spec["name"],
        type=spec.get("type", "string"),
        required=bool(spec.get("required", False)),
        aliases=tuple(spec.get("aliases", ())),
        allowed=tuple(str(v) for v in spec.get("allowed", ())),
        min=spec.get("min"),
        max=spec.get("max"),
        formats=tuple(spec.get("formats", ())),
        repeated=bool(spec.get("repeated", False)),
        on_week_end=bool(spec.get("on_week_end", False)),
        same_within=spec.get("same_within"),
        severity=spec.get("severity", "error"),
        earliest=spec.get("earliest"),
        not_future=bool(spec.get("not_future", False)),
    )
    if col.severity not in SEVERITIES:
        raise ValueError(f"column {col.name!r}: unknown severity {col.severity!r} (one of {list(SEVERITIES)})")
    if col.type not in TYPES:
        raise ValueError(f"column {col.name!r}: unknown type {col.type!r} (one of {sorted(TYPES)})")
    if col.type in {"date", "datetime"} and not col.formats:
        raise ValueError(f"column {col.name!r}: a {col.type} column needs its formats")
    # Excel cells holding real dates read as ISO text: every date column accepts it, after its own formats.
    iso = {"date": ("%Y-%m-%d",), "datetime": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d")}.get(col.type, ())
    col = replace(col, formats=col.formats + tuple(f for f in iso if f not in col.formats))
    if col.type in {"date", "datetime"} and col.earliest is None:
        col = replace(col, earliest=earliest)
    if (col.not_future or spec.get("earliest")) and col.type not in {"date", "datetime"}:
        raise ValueError(f"column {col.name!r}: not_future and earliest need a date or datetime column")
    if col.on_week_end and col.type != "date":
        raise ValueError(f"column {col.name!r}: on_week_end needs a date column")
    return col


def _row_rule(spec: dict, names: set[str], source: str) -> RowRule:
    rule = RowRule(
        name=spec["name"],
        when_filled=spec["when_filled"],
        require=tuple(spec["require"]),
        severity=spec.get("severity", "error"),
    )
    if rule.severity not in SEVERITIES:
        raise ValueError(f"{source}: row rule {rule.name!r}: unknown severity {rule.severity!r}")
    unknown = [c for c in (rule.when_filled, *rule.require) if c not in names]
    if unknown or not rule.require:
        raise ValueError(f"{source}: row rule {rule.name!r} names {unknown or 'no required'} columns")
    return rule


def load(path: Path) -> Contract:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    # A contract may lower the first plausible day for all its dates (an asset register holds old purchases).
    columns = tuple(_column(c, spec.get("earliest", EARLIEST)) for c in spec["columns"])
    aliases = {}
    for c in columns:
        for name in (c.name, *c.aliases):
            aliases[name.strip().lower()] = c.name
    names = {c.name for c in columns}
    groups = [c.same_within for c in columns if c.same_within]
    for key in (*spec.get("keys", ()), *spec["signature"], *groups):
        if key not in names:
            raise ValueError(f"{path.name}: {key!r} is in keys, signature or same_within but not among the columns")
    return Contract(
        kind=spec["kind"],
        title=spec["title"],
        source=spec["source"],
        signature=tuple(spec["signature"]),
        columns=columns,
        keys=tuple(spec.get("keys", ())),
        description=spec.get("description", ""),
        aliases=aliases,
        row_cap=spec.get("row_cap"),
        row_rules=tuple(_row_rule(r, names, path.name) for r in spec.get("row_rules", ())),
    )


@cache
def all_contracts() -> dict[str, Contract]:
    """Every contract in this folder, by kind."""
    out = {}
    for path in sorted(CONTRACT_DIR.glob("*.yaml")):
        contract = load(path)
        out[contract.kind] = contract
    return out


def detect(headers: list[str]) -> tuple[str | None, list[str]]:
    """The kind whose signature the headers carry (the most specific wins), else the closest kinds."""
    scores = []
    for contract in all_contracts().values():
        present = {contract.canonical_name(h) for h in headers}
        hits = sum(1 for s in contract.signature if s in present)
        scores.append((hits == len(contract.signature), len(contract.signature), hits, contract.kind))
    full = sorted((s for s in scores if s[0]), reverse=True)
    if full:
        return full[0][3], []
    closest = sorted(scores, key=lambda s: (s[2] / s[1], s[2]), reverse=True)
    return None, [s[3] for s in closest if s[2] > 0][:3]


def rename_to_contract(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Rename headers to contract names; repeated columns become name, name__2, ...; others are kept."""
    mapping: dict[str, str] = {}
    counts: dict[str, int] = {}
    for header in frame.columns:
        if header.startswith("_"):
            continue
        base = header.split("__")[0] if "__" in header and header.rsplit("__", 1)[1].isdigit() else header
        name = contract.canonical_name(base)
        if name is None:
            continue
        counts[name] = counts.get(name, 0) + 1
        mapping[header] = name if counts[name] == 1 else f"{name}__{counts[name]}"
    return frame.rename(mapping)


_FILE = "_source_file"
_SPACES = r"[\s\u00a0\u202f']"  # thousands separators: spaces (GLPI's "2 553"), no-break spaces, apostrophes
# A decimal comma: 1,5 or 1.234,56 or 0,125; a decimal point: 1.5 or 1,234.56.
_COMMA_DECIMAL = r"^-?(\d{1,3}(\.\d{3})+|\d+),\d+$"
_POINT_DECIMAL = r"^-?(\d{1,3}(,\d{3})+|\d+)\.\d+$"
_TYPED = "typed\x1f"  # prefixes a column's typed value inside `conform`
# A file's date format is decided on at most this many of its values in a column, spread through the file.
SAMPLE = 10_000


def parse_column(col: Column, raw: pl.Expr, comma_files: Collection[int] = ()) -> tuple[pl.Expr, pl.Expr | None]:
    """The typed value of a raw text column, and (for dates and decimals) what was detected in its file.

    Formats are decided per file, never per value: a file is written in one date format, so 03/04/2025
    is read the way the rest of its file reads (the format that parses most of its values; ties go to
    the contract's first). Likewise a file writes decimals with a comma or with a point, never both.
    Every format is tried on every value here; `conform` decides a date column's format from a sample of
    each file first (`_chosen_formats`) and parses with that format alone. A decimal column reads a decimal
    comma in the files `comma_files` (`conform` finds them with `_comma_files`) and a decimal point elsewhere.
    """
    text = raw.str.strip_chars()
    if col.type == "string":
        return text, None
    if col.type == "integer":
        return text.str.replace_all(_SPACES, "").cast(pl.Int64, strict=False), None
    if col.type == "decimal":
        cleaned = text.str.replace_all(_SPACES, "")
        point = cleaned.str.replace_all(",", "", literal=True)
        if not comma_files:  # the usual case: one reading to compute (when/then would compute both)
            return point.cast(pl.Decimal(18, 4), strict=False), None
        comma = pl.col(_FILE).is_in(list(comma_files))
        decimal_comma = cleaned.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        value = pl.when(comma).then(decimal_comma).otherwise(point)
        return value.cast(pl.Decimal(18, 4), strict=False), pl.when(comma).then(pl.lit("decimal comma"))
    if col.type == "boolean":
        low = text.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False), None
    parsed = [_strptime(col, text, fmt) for fmt in col.formats]
    if len(parsed) == 1:
        return parsed[0], pl.when(text.is_not_null().any().over(_FILE)).then(pl.lit(col.formats[0]))
    hits = [p.is_not_null().sum().over(_FILE) for p in parsed]
    best = pl.max_horizontal(hits)
    value, chosen = pl.when(hits[0] == best).then(parsed[0]), pl.when(hits[0] == best).then(pl.lit(col.formats[0]))
    for p, h, fmt in zip(parsed[1:], hits[1:], col.formats[1:], strict=True):
        value, chosen = value.when(h == best).then(p), chosen.when(h == best).then(pl.lit(fmt))
    return value, pl.when(best > 0).then(chosen)


def _strptime(col: Column, text: pl.Expr, fmt: str) -> pl.Expr:
    """A date or datetime column's stripped text read in one format (NULL where it does not fit)."""
    dtype = pl.Date if col.type == "date" else pl.Datetime("us")
    if "%z" in fmt:
        # Offsets are normalised to UTC and dropped: the warehouse keeps naive timestamps.
        return text.str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False).dt.replace_time_zone(None).cast(dtype)
    return text.str.strptime(dtype, fmt, strict=False, exact=True)


def _comma_files(frame: pl.DataFrame, name: str) -> list[int]:
    """The files (`_source_file`) that write the decimal column `name` with a decimal comma: a value of the file
    reads as one (1,5 or 1.234,56) and none as a decimal point (1.5 or 1,234.56). Without a comma in the
    column, none: the patterns are not even tried."""
    if not frame.select(pl.col(name).str.contains(",", literal=True).any()).item():
        return []
    cleaned = pl.col(name).str.strip_chars().str.replace_all(_SPACES, "")
    files = frame.group_by(_FILE).agg(
        comma=cleaned.str.contains(_COMMA_DECIMAL).any(), point=cleaned.str.contains(_POINT_DECIMAL).any()
    )
    return files.filter(pl.col("comma") & ~pl.col("point")).get_column(_FILE).sort().to_list()


def _chosen_formats(frame: pl.DataFrame, name: str, col: Column) -> pl.DataFrame:
    """Each file's format for a date column of several formats: `_source_file`, `format` (NULL: none parses).

    The format that parses most of the file's non-blank values, ties to the contract's first, as
    `parse_column` decides, but counted on a sample: at most SAMPLE values, every k-th non-blank value of
    the file with k = ceil(n / SAMPLE), so that a file of up to SAMPLE values counts every value and a
    bigger one is sampled from its first line to its last.
    """
    text = pl.col(name).str.strip_chars()
    values = frame.select(pl.col(_FILE), text.alias("text")).filter(
        pl.col("text").is_not_null() & (pl.col("text") != "")
    )
    step = (pl.len().over(_FILE) + SAMPLE - 1) // SAMPLE
    sample = values.filter(pl.int_range(pl.len()).over(_FILE) % step == 0)
    counts = [f"hits{i}" for i in range(len(col.formats))]
    hits = sample.group_by(_FILE).agg(
        _strptime(col, pl.col("text"), fmt).is_not_null().sum().alias(c)
        for c, fmt in zip(counts, col.formats, strict=True)
    )
    best = pl.max_horizontal(counts)
    chosen = pl.when(pl.col(counts[0]) == best).then(pl.lit(col.formats[0]))
    for c, fmt in zip(counts[1:], col.formats[1:], strict=True):
        chosen = chosen.when(pl.col(c) == best).then(pl.lit(fmt))
    return hits.select(_FILE, pl.when(best > 0).then(chosen).alias("format"))


def _parse_chosen(col: Column, raw: pl.Expr, chosen: pl.DataFrame) -> pl.Expr:
    """A date column parsed, each file in its chosen format only (`_chosen_formats`).

    Files that chose the same format are parsed together, once: the other rows are NULL before strptime, so
    each distinct format reads only its own files' values. A file that chose none reads as NULL.
    """
    text = raw.str.strip_chars()
    dtype = pl.Date if col.type == "date" else pl.Datetime("us")
    picked = chosen.drop_nulls("format")
    if picked.is_empty():
        return pl.lit(None, dtype)
    groups = picked.group_by("format", maintain_order=True).agg(_FILE)
    if groups.height == 1 and picked.height == chosen.height:  # every file with a value chose one format
        return _strptime(col, text, groups.item(0, "format"))
    parsed = [
        _strptime(col, pl.when(pl.col(_FILE).is_in(files.implode())).then(text), fmt)
        for fmt, files in zip(groups.get_column("format"), groups.get_column(_FILE), strict=True)
    ]
    return parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)


@dataclass(frozen=True)
class Conformed:
    typed: pl.DataFrame  # every row, typed, with `_valid`
    rejects: pl.DataFrame  # _source_file, line, column, rule, raw_value: one row per rule broken
    formats: pl.DataFrame  # _source_file, column, format: the date format or decimal comma found per file


def conform(
    frame: pl.DataFrame, contract: Contract, week_ends_on: str = "sunday", loaded: dict[int, dt.date] | None = None
) -> Conformed:
    """Type a frame of strings by its contract and check every row rule.

    A row with an error or critical reject has `_valid = false`; a warning leaves it valid.
    `frame` carries `_source_file` and `_line`, and `_defect` where reading the file found rows it spoils
    (transforms/textio.py): each becomes a reject of its own severity.
    `same_within` compares the values of every file of the kind together: the rule is about the data, not
    one file.
    `loaded`: the day each file (by `_source_file`) was loaded, which `not_future` dates are checked against;
    today for a file it does not name.
    A date column of several formats is read in the format that parses most of its file's values (ties: the
    contract's first), decided before parsing on at most SAMPLE of them spread through the file: the sample
    decides for a bigger file, and every row is then parsed with its file's format alone.
    """
    frame = rename_to_contract(frame, contract)
    if _FILE not in frame.columns:
        frame = frame.with_columns(pl.lit(0, pl.Int64).alias(_FILE))
    lineage = [c for c in frame.columns if c.startswith("_") and c != DEFECT]
    checks: list[_Check] = [_defect_reject()] if DEFECT in frame.columns else []
    today = pl.lit(dt.date.today(), pl.Date)
    loaded_on = (
        pl.col(_FILE).replace_strict(list(loaded), list(loaded.values()), default=today, return_dtype=pl.Date)
        if loaded
        else today
    )
    typed: list[pl.Expr] = []
    values: list[pl.Expr] = []  # each typed value, computed once into a column of its own that the checks read
    # What was detected per file (`formats`): the chosen date formats and the decimal comma files, and the
    # single-format date columns, whose format is reported for a file with a value in them. Found per file, not as
    # a column per row, which for an export of 10 million rows held 10 million copies of "%Y-%m-%d".
    detected: list[pl.DataFrame] = []
    single: dict[str, str] = {}
    for col in contract.columns:
        names = [c for c in frame.columns if c == col.name or c.startswith(col.name + "__")]
        if not names:
            typed.append(pl.lit(None, dtype=_dtype(col)).alias(col.name))
            continue
        for name in names if col.repeated else names[:1]:
            raw = pl.col(name)
            blank = raw.is_null() | (raw.str.strip_chars() == "")
            nulled = pl.when(blank).then(None).otherwise(raw)
            first = name == col.name
            if col.type in {"date", "datetime"} and len(col.formats) > 1:
                chosen = _chosen_formats(frame, name, col)
                parsed = _parse_chosen(col, nulled, chosen)
                if first:
                    detected.append(chosen.drop_nulls("format").select(_FILE, pl.lit(name).alias("column"), "format"))
            else:
                comma = _comma_files(frame, name) if col.type == "decimal" else []
                parsed, _ = parse_column(col, nulled, comma)
                if first and comma:
                    detected.append(pl.DataFrame({_FILE: comma, "column": name, "format": "decimal comma"}))
                if first and col.type in {"date", "datetime"}:
                    single[name] = col.formats[0]
            values.append(pl.when(blank).then(None).otherwise(parsed).alias(_TYPED + name))
            value = pl.col(_TYPED + name)
            typed.append(value.alias(name))
            if col.type != "string":
                checks.append(_reject(~blank & value.is_null(), name, f"type:{col.type}", col.severity))
            if col.required and name == col.name:
                checks.append(_reject(blank, name, "required", col.severity))
            if col.allowed:
                ok = raw.str.strip_chars().str.to_lowercase().is_in([a.lower() for a in col.allowed])
                checks.append(_reject(~blank & ~ok, name, "allowed:" + "|".join(col.allowed), col.severity))
            if col.min is not None:
                checks.append(_reject(value < col.min, name, f"min:{col.min}", col.severity))
            if col.max is not None:
                checks.append(_reject(value > col.max, name, f"max:{col.max}", col.severity))
            if col.earliest is not None:
                early = value.cast(pl.Date) < col.earliest
                checks.append(_reject(early, name, f"min_date:{col.earliest.isoformat()}", col.severity))
            if col.not_future:
                late = value.cast(pl.Date) > loaded_on + pl.duration(days=FUTURE_DAYS)
                checks.append(_reject(late, name, f"max_date:loaded+{FUTURE_DAYS}d", col.severity))
            if col.on_week_end:
                off_grid = value.dt.weekday() != isodow(week_ends_on)
                checks.append(_reject(off_grid, name, f"week_end:{week_ends_on}", col.severity))
            if col.same_within:
                group = pl.col(col.same_within).str.strip_chars()
                differs = value.n_unique().over(group) > 1
                checks.append(_reject(differs, name, f"same_within:{col.same_within}", col.severity))
    for rule in contract.row_rules:
        missing = pl.any_horizontal(_blank(frame, c) for c in rule.require)
        if rule.when_filled in frame.columns:
            checks.append(_reject(~_blank(frame, rule.when_filled) & missing, rule.when_filled, rule.name,
                                  rule.severity))  # fmt: skip
    keys = [c for c in lineage if c != "_line"]
    work = frame.with_columns(values)
    if not checks:
        rejects = pl.DataFrame(schema={c: frame.schema[c] for c in keys} | REJECT_SCHEMA)
    else:
        # Each check's condition is computed over every row; its reject (a struct quoting the raw value) only
        # on the rows that broke a rule, and only those are unpivoted: over 10 million rows the structs cost
        # seconds, and one row per check and row would be most of the memory.
        broken = [f"\x1fbroken{i}" for i in range(len(checks))]
        marked = work.with_columns(check.broken.alias(b) for check, b in zip(checks, broken, strict=True))
        flagged = marked.filter(pl.any_horizontal(broken)).select(
            *lineage,
            *(pl.when(b).then(check.reject).alias(check.name) for check, b in zip(checks, broken, strict=True)),
        )
        rejects = (
            flagged.unpivot(index=lineage, value_name="hit")
            .drop_nulls("hit")
            .select(*lineage, pl.col("hit").struct.unnest())
            .rename({"_line": "line"})
            .sort(*keys, "line", "column", "rule")
        )
    errors = rejects.filter(pl.col("severity") != "warning")
    out = work.select(*lineage, *typed)
    if errors.is_empty():
        out = out.with_columns(_valid=pl.lit(True))
    else:
        bad = errors.select(*[pl.col(c) for c in keys], pl.col("line").alias("_line")).unique()
        out = out.join(bad.with_columns(_bad=True), on=lineage, how="left")
        out = out.with_columns(_valid=pl.col("_bad").is_null()).drop("_bad")
    schema = {_FILE: pl.Int64, "column": pl.String, "format": pl.String}
    if single:
        filled = frame.group_by(_FILE).agg((~_blank(frame, name)).any().alias(name) for name in single)
        detected.append(
            filled.unpivot(index=_FILE, variable_name="column", value_name="filled")
            .filter("filled")
            .select(_FILE, "column", pl.col("column").replace_strict(single, return_dtype=pl.String).alias("format"))
        )
    formats = pl.concat([pl.DataFrame(schema=schema), *(d.cast(schema) for d in detected)]).sort(_FILE, "column")
    return Conformed(out, rejects.with_columns(pl.col(c).cast(t) for c, t in REJECT_SCHEMA.items()), formats)


def _blank(frame: pl.DataFrame, name: str) -> pl.Expr:
    """Whether a raw text column is empty on a row (a column the file does not have is empty everywhere)."""
    if name not in frame.columns:
        return pl.lit(True)
    return pl.col(name).is_null() | (pl.col(name).str.strip_chars() == "")


def _dtype(col: Column) -> pl.DataType:
    return {
        "string": pl.String(),
        "integer": pl.Int64(),
        "decimal": pl.Decimal(18, 4),
        "date": pl.Date(),
        "datetime": pl.Datetime("us"),
        "boolean": pl.Boolean(),
    }[col.type]


@dataclass(frozen=True)
class _Check:
    """One rule over a frame's rows: where it is `broken` (a boolean, never NULL), and the `reject` it gives there,
    a struct (column, rule, raw_value, severity); `name` is unique within a contract."""

    broken: pl.Expr
    reject: pl.Expr
    name: str


def _reject(condition: pl.Expr, column: str, rule: str, severity: str) -> _Check:
    """The check of a rule on a column: broken where `condition` holds (NULL: not broken)."""
    reject = pl.struct(
        pl.lit(column).alias("column"),
        pl.lit(rule).alias("rule"),
        clip(pl.col(column)).alias("raw_value"),
        pl.lit(severity).alias("severity"),
    )
    return _Check(condition.fill_null(False), reject, f"{column}|{rule}")


def _defect_reject() -> _Check:
    """The reject a `_defect` row gets: the column, rule, raw value and severity reading the file found."""
    parts = pl.col(DEFECT).str.splitn(DEFECT_SEP, 4)
    reject = pl.struct(
        parts.struct.field("field_1").alias("column"),
        parts.struct.field("field_2").alias("rule"),
        parts.struct.field("field_3").alias("raw_value"),
        parts.struct.field("field_0").alias("severity"),
    )
    return _Check(pl.col(DEFECT).is_not_null(), reject, f"{DEFECT}|file")
