"""Pseudonymising one person in the warehouse's tables (`pmo forget`, pipelines/forget.py) and in exports loaded
after the erasure (pipelines/ingest.py). SQL over a DuckDB connection and text rules; no Dagster, no files.

A person is known by identifiers: their person id, display name, e-mail, Jira account id and Tempo user (the
people file), every alias that points at them, and the user id, name and e-mail their worklogs were matched by.
Each identifier becomes the person's pseudonym, `erased-` + 12 hex digits of SHA-256(salt, person id) with the
home's salt, so the same person always gets the same pseudonym and a rebuild from the pseudonymised raw rows gives
the same rows (e-mail addresses become `<pseudonym>@erased.invalid`, so they still look like one). Three rules:

- a cell that IS an identifier (ignoring case and surrounding spaces) becomes the pseudonym. Identifiers without
  a letter (a numeric user id) are left alone, as they could equal an amount or a count;
- in a row that names the person by one of those, a cell that is one word of their name ("Ana", "Almeida": the
  first and last name columns of a Snipe-IT checkout) becomes the pseudonym too;
- inside free text (descriptions, commentary, rejected raw values, JSON), an identifier of at least four
  characters with a letter, as a whole word, becomes the pseudonym (only in `pmo forget`, which knows the values).

Exports loaded after the erasure get the first rule only: the warehouse keeps salted digests of the identifiers,
never the values, so free text in a new export can still name the person.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

PREFIX = "erased-"
DOMAIN = "erased.invalid"
FREE_TEXT_MIN = 4  # shorter identifiers are only replaced as whole cells
_TOKEN = re.compile(r"[\w'’-]+")


def pseudonym(salt: str, person_id: str) -> str:
    return PREFIX + hashlib.sha256(f"{salt}\x1f{person_id}".encode()).hexdigest()[:12]


def key(value: str) -> str:
    """How cells are compared: DuckDB's lower(trim(value)) (trim removes spaces only)."""
    return value.strip(" ").lower()


def digest(salt: str, value: str) -> str:
    """sha256(salt || lower(trim(value))), as DuckDB computes it in `apply_erasure_list`."""
    return hashlib.sha256((salt + key(value)).encode()).hexdigest()


def _has_letter(value: str) -> bool:
    return any(ch.isalpha() for ch in value)


@dataclass(frozen=True)
class Identity:
    """What `pmo forget` replaces for one person, and with what."""

    person_id: str
    pseudonym: str
    values: tuple[str, ...]  # every identifier as found, for the warehouse's cells and the files' text
    parts: tuple[str, ...] = ()  # words of their names, replaced only in rows that name them
    exact: dict[str, str] = field(default_factory=dict)  # key(value) → replacement

    def replacement(self, value: str) -> str:
        return f"{self.pseudonym}@{DOMAIN}" if "@" in value else self.pseudonym

    def free_text(self) -> list[tuple[str, str]]:
        """(regular expression, replacement) for identifiers inside text: e-mails first, longest first, whole words
        only; RE2 and Python read them alike."""
        longest = sorted((v for v in self.values if len(v) >= FREE_TEXT_MIN and _has_letter(v)),
                         key=lambda v: (-("@" in v), -len(v), v))  # fmt: skip
        rules = []
        for value in longest:
            # \b only beside an ASCII word character: RE2's \b is ASCII (no boundary before the É of "Élodie").
            start = r"\b" if re.match(r"[A-Za-z0-9_]", value) else ""
            end = r"\b" if re.search(r"[A-Za-z0-9_]$", value) else ""
            rules.append((f"(?i){start}{re.escape(value)}{end}", self.replacement(value)))
        return rules

    def scrub_text(self, text: str) -> str:
        """Text with every identifier (also HTML- and JSON-escaped) replaced: for pages, CSV and e-mails."""
        import html
        import json

        for pattern, replacement in self.free_text():
            text = re.sub(pattern, replacement, text)
        for value in self.values:
            if len(value) >= FREE_TEXT_MIN and _has_letter(value):
                for variant in {html.escape(value), json.dumps(value)[1:-1]} - {value}:
                    text = re.sub(re.escape(variant), self.replacement(value), text, flags=re.IGNORECASE)
        exact = [v for v in self.values if len(v) < FREE_TEXT_MIN and _has_letter(v)]
        for value in exact:  # short ids (u01) as a whole cell of a page or a CSV
            text = re.sub(rf"(?<=[>,;\"\n]){re.escape(value)}(?=[<,;\"\r\n])", self.replacement(value), text)
        return text

    def named_in(self, text: str) -> bool:
        return self.scrub_text(text) != text


def identity(conn: duckdb.DuckDBPyConnection, person_id: str, salt: str) -> Identity | None:
    """The person's identifiers as the warehouse's staging tables know them; None when no table knows the id."""
    found: set[str] = set()
    names: set[str] = set()
    queries = [
        ("SELECT person_id, display_name, email, jira_account_id, tempo_user FROM staging.people WHERE person_id = ?",
         (1,)),
        ("SELECT person_id, source_user FROM staging.person_aliases WHERE person_id = ?", ()),
        ("SELECT DISTINCT person_id, person_source_id, person_name, person_email FROM staging.worklogs"
         " WHERE person_id = ?", (2,)),
        ("SELECT person_id FROM staging.rates WHERE person_id = ?", ()),
    ]  # fmt: skip
    known = False
    for sql, name_columns in queries:
        for row in conn.sql(sql, params=[person_id]).fetchall():
            known = True
            found.update(v.strip(" ") for v in row if isinstance(v, str) and v.strip(" "))
            names.update(row[i] for i in name_columns if isinstance(row[i], str))
    if not known:
        return None
    values = tuple(sorted(v for v in found if _has_letter(v)))
    parts = {p.lower() for name in names for p in _TOKEN.findall(name) if len(p) >= 2 and _has_letter(p)}
    me = pseudonym(salt, person_id)
    ident = Identity(person_id, me, values, tuple(sorted(parts)))
    ident.exact.update({key(v): ident.replacement(v) for v in values})
    return ident


# --- the warehouse's tables --------------------------------------------------------------------------------------


def text_columns(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    """A table's VARCHAR columns and its VARCHAR[] columns."""
    schema, name = table.split(".")
    rows = conn.sql(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ? ORDER BY column_index",
        params=[schema, name],
    ).fetchall()
    return [c for c, t in rows if t == "VARCHAR"], [c for c, t in rows if t == "VARCHAR[]"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Scrubber:
    """Pseudonymises a table's text cells. `rows` are the lookup (key, replacement, pseudonym, part): a key is
    lower(trim(value)) for `pmo forget`, or its salted digest for an export loaded later (`salt` given); `rules` are
    the free-text rules (`pmo forget` only). The lookups are MAP literals, not joins: the list is short (a few values
    per person erased), and DuckDB plans a correlated subquery per cell row by row."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str, bool]], salt: str = "",
                 rules: list[tuple[str, str]] | None = None):  # fmt: skip
        self.conn, self.salt, self.rules = conn, salt, rules or []
        if salt and not re.fullmatch(r"[0-9a-f]+", salt):
            raise ValueError("the erasure salt must be hexadecimal")
        self.whole = _map({k: r for k, r, _, part in rows if not part})
        self.owner = _map({k: p for k, _, p, part in rows if not part})
        self.parts = _map({f"{p}\x1f{k}": r for k, r, p, part in rows if part})

    def keyed(self, column: str) -> str:
        plain = f"lower(trim({column}))"
        return f"sha256('{self.salt}' || {plain})" if self.salt else plain

    def _free(self, column: str) -> str:
        out = column
        for pattern, replacement in self.rules:
            out = f"regexp_replace({out}, {_literal(pattern)}, {_literal(replacement)}, 'g')"
        return out

    def _query(self, table: str, where: str, select: Callable[[list[tuple[str, str]]], str]) -> str | None:
        """SELECT `select(new values)` over the rows of the table to change, or None when it has no text column."""
        texts, lists = text_columns(self.conn, table)
        if not texts and not lists:
            return None
        cols = [_quote(c) for c in texts]
        keys = "".join(f", {self.keyed(c)} AS __k{i}" for i, c in enumerate(cols))
        owner = ("coalesce(" + ", ".join(f"map_extract_value({self.owner}, __k{i})" for i in range(len(cols))) + ")"
                 if cols else "NULL::VARCHAR")  # fmt: skip
        new = [(c, f"coalesce(map_extract_value({self.whole}, __k{i}), "
                   f"map_extract_value({self.parts}, __m || chr(31) || __k{i}), {self._free(c)})")
               for i, c in enumerate(cols)]  # fmt: skip
        conditions = ["__m IS NOT NULL"]
        if self.rules:
            new += [(_quote(c), f"list_transform({_quote(c)}, lambda x: {self._free('x')})") for c in lists]
            combined = _literal("(?i)" + "|".join(f"(?:{p.removeprefix('(?i)')})" for p, _ in self.rules))
            conditions += [f"regexp_matches({c}, {combined})" for c in cols]
            conditions += [f"len(list_filter({_quote(c)}, lambda x: regexp_matches(x, {combined}))) > 0"
                           for c in lists]  # fmt: skip
        inner = f"SELECT rowid AS _rid, *{keys} FROM {table}" + (f" WHERE {where}" if where else "")
        return (f"SELECT {select(new)} FROM (SELECT *, {owner} AS __m FROM ({inner})) "
                f"WHERE {' OR '.join(conditions)}")  # fmt: skip

    def count(self, table: str, where: str = "", by: str = "") -> dict:
        """Rows `update` would change: {None: n}, or per value of the column `by` (a raw table's file id)."""
        group = _quote(by) if by else "NULL"
        sql = self._query(table, where, lambda _: f"{group} AS _by")
        if sql is None:
            return {}
        rows = self.conn.sql(f"SELECT _by, count(*) FROM ({sql}) GROUP BY ALL").fetchall()
        return {k: n for k, n in rows if n}

    def update(self, table: str, where: str = "") -> int:
        """Pseudonymise the table's rows that name an erased person; the number of rows changed."""
        columns: list[str] = []

        def select(new: list[tuple[str, str]]) -> str:
            columns.extend(c for c, _ in new)
            return ", ".join(["_rid", *(f"{expr} AS {c}" for c, expr in new)])

        sql = self._query(table, where, select)
        if sql is None:
            return 0
        self.conn.sql(f"CREATE OR REPLACE TEMP TABLE _scrubbed AS {sql}")
        changed = self.conn.sql("SELECT count(*) FROM temp._scrubbed").fetchall()[0][0]
        if changed:
            assign = ", ".join(f"{c} = s.{c}" for c in columns)
            self.conn.sql(f"UPDATE {table} SET {assign} FROM temp._scrubbed s WHERE {table}.rowid = s._rid")
        self.conn.sql("DROP TABLE temp._scrubbed")
        return changed


def _map(pairs: dict[str, str]) -> str:
    if not pairs:
        return "MAP {}::MAP(VARCHAR, VARCHAR)"
    return "MAP {" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in sorted(pairs.items())) + "}"


def forget_rows(ident: Identity) -> list[tuple[str, str, str, bool]]:
    """The lookup rows of `pmo forget`: plain keys."""
    whole = [(k, r, ident.pseudonym, False) for k, r in ident.exact.items()]
    parts = [(p, ident.pseudonym, ident.pseudonym, True) for p in ident.parts if p not in ident.exact]
    return whole + parts


def erasure_list(conn: duckdb.DuckDBPyConnection) -> tuple[str, list[tuple[str, str, str, bool]]]:
    """The home's salt and the digests of every identifier erased so far (whole cells only)."""
    salt = conn.sql("SELECT min(salt) FROM audit.erasure_salt").fetchall()[0][0] or ""
    rows = conn.sql(
        "SELECT digest, replacement, pseudonym, false FROM audit.erased_identifiers ORDER BY ALL"
    ).fetchall()
    return salt, rows


def apply_erasure_list(conn: duckdb.DuckDBPyConnection, table: str, file_id: int) -> int:
    """Pseudonymise the rows of one newly loaded file that name a person erased before (whole cells). The number of
    rows changed; 0 at once when nobody was ever erased."""
    salt, rows = erasure_list(conn)
    if not rows:
        return 0
    return Scrubber(conn, rows, salt=salt).update(table, where=f"_source_file = {int(file_id)}")
