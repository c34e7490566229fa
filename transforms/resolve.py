"""Join the tools that never meet: give work items, worklogs, assets and licences their PMO project, and
worklogs their person, across Jira, Tempo, Harvest, Toggl, Clockify, ServiceNow, GLPI and Snipe-IT.

Pure: relations in, one SELECT out (the `*_sql` builders, for the warehouse's tables), or frames in, frames out
(the thin wrappers over the same SQL). What cannot be resolved stays NULL, is reported as a cost exception or a
data-quality finding, and is never dropped; no lookup holds two rows for one key, so no join adds rows.

Keys match ignoring case and surrounding whitespace, by polars' (Rust's) rules, which DuckDB's lower() and trim()
alone do not follow: see `_trimmed` and `_lowered`. Where a lookup has several rows for one key, the one kept does
not depend on the order of the rows: it is the one the polars code kept from a staged table, which is sorted by its
natural key (first in key order for the project map, last for the aliases).
"""

from __future__ import annotations

import polars as pl

from transforms import duck

# Tools whose project keys are Jira's: a Jira mapping applies to them when they have none of their own.
JIRA_BASED = ("tempo", "jira")

# What polars' strip_chars() removes: Rust's char::is_whitespace (Unicode White_Space), as code point ranges.
# DuckDB's trim() keeps tabs, line breaks, U+0085, U+2028 and U+2029, which spreadsheet cells carry, and
# trim(s, characters) is slower than a regular expression.
_WHITESPACE = [(0x9, 0xD), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
               (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]  # fmt: skip
_WS_CLASS = "".join(f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in _WHITESPACE)
# Rust lowercases a capital sigma to the final form ς at the end of a word: after a cased letter (case-ignorable
# characters skipped) and not before one. DuckDB always gives σ, so "ΟΔΟΣ" would stop matching "Οδος".
# Cased: Lu, Ll, Lt and Other_Lowercase/Other_Uppercase outside Lm (ª º, Roman numerals, circled and squared
# letters); case-ignorable: Mn, Me, Cf, Lm, Sk and the word-break MidLetter, MidNumLet and Single_Quote characters.
_CASED = (
    r"\p{Lu}\p{Ll}\p{Lt}\x{AA}\x{BA}\x{2160}-\x{217F}\x{24B6}-\x{24E9}\x{1F130}-\x{1F149}\x{1F150}-\x{1F169}"
    r"\x{1F170}-\x{1F189}"
)
_IGNORABLE = (
    r"\p{Mn}\p{Me}\p{Cf}\p{Lm}\p{Sk}''.:\x{B7}\x{387}\x{55F}\x{5F4}\x{2018}\x{2019}\x{2024}\x{2027}\x{FE13}\x{FE52}"
    r"\x{FE55}\x{FF07}\x{FF0E}\x{FF1A}"
)
_FINAL_SIGMA = rf"([{_CASED}][{_IGNORABLE}]*)\x{{3A3}}([{_IGNORABLE}]*(?:[^{_CASED}{_IGNORABLE}]|$))"
# Capitals of recent Unicode versions whose lowercase DuckDB's case tables lack (found by comparing every code
# point with polars: tests/transforms/test_resolve_sql.py).
_NEWER_CAPITALS = {
    0x1C89: 0x1C8A, 0xA7CB: 0x0264, 0xA7CC: 0xA7CD, 0xA7CE: 0xA7CF, 0xA7D2: 0xA7D3, 0xA7D4: 0xA7D5, 0xA7DA: 0xA7DB,
    0xA7DC: 0x019B,
    **{c: c + 0x20 for c in range(0x10D50, 0x10D66)},
    **{c: c + 0x1B for c in range(0x16EA0, 0x16EB9)},
}  # fmt: skip
_NEWER_CLASS = r"[\x{1C89}\x{A7CB}-\x{A7DC}\x{10D50}-\x{10D65}\x{16EA0}-\x{16EB8}]"
_FROM = "".join(map(chr, _NEWER_CAPITALS))
_TO = "".join(map(chr, _NEWER_CAPITALS.values()))


def _trimmed(column: str) -> str:
    """SQL for polars' str.strip_chars() of a column (a name: it is read several times): the text as it is when it
    is ASCII and neither end is a control character or a space, else without the whitespace at its ends."""
    ends = f"ord({column}) <= 32 OR ord({column}[-1]) <= 32 OR strlen({column}) <> length({column})"
    strip = f"regexp_replace({column}, '^[{_WS_CLASS}]+|[{_WS_CLASS}]+$', '', 'g')"
    return f"CASE WHEN {ends} THEN {strip} ELSE {column} END"


def _lowered(column: str) -> str:
    """SQL for polars' str.to_lowercase() of a column (a name): DuckDB's lower() where the text is ASCII (as many
    bytes as characters); else with İ → i̇ (two characters, as Rust gives) and, where the text has them, the final
    sigma and the newer capitals (translate() costs ~8 µs a value, the other steps well under 1)."""
    sigma = f"regexp_replace({column}, '{_FINAL_SIGMA}', '\\1\u03c2\\2', 'g')"
    sigma = f"CASE WHEN contains({column}, '\u03a3') THEN {sigma} ELSE {column} END"
    newer = f"translate({sigma}, '{_FROM}', '{_TO}')"
    newer = f"CASE WHEN regexp_matches({column}, '{_NEWER_CLASS}') THEN {newer} ELSE {sigma} END"
    unicode = f"lower(replace({newer}, '\u0130', 'i\u0307'))"
    return f"CASE WHEN strlen({column}) = length({column}) THEN lower({column}) ELSE {unicode} END"


def _with_keys(relation: str, keys: dict[str, str], *, trim: bool = True, where: str = "") -> str:
    """A subquery: the rows of `relation` (filtered by `where`), its columns and, for each `name: column` of
    `keys`, the column's key `name`: lowercased (polars' str.to_lowercase) and, with `trim`, stripped first."""
    quoted = {name: f'"{column}"' for name, column in keys.items()}
    first = ", ".join(f"{_trimmed(column) if trim else column} AS {name}" for name, column in quoted.items())
    then = ", ".join(f"{_lowered(name)} AS {name}" for name in keys)
    where = f" WHERE {where}" if where else ""
    return f"(SELECT * REPLACE ({then}) FROM (SELECT *, {first} FROM {relation}{where}))"


def _keys_cte(project_map: str) -> str:
    """`_rk_keys`: (source_kind, lowercased source_key) → project_id, one row per pair, with Jira's keys repeated
    for the Jira-based tools. A tool's own mapping comes before the one it inherits from Jira, then the first key
    in key order (two keys differing only in case are one key; polars gave a row for each)."""
    inherited = "".join(
        f"""
            UNION ALL
            SELECT '{tool}', _rk_key, "project_id", "source_key", 1 FROM _rk_map WHERE "source_kind" = 'jira'"""
        for tool in JIRA_BASED
        if tool != "jira"
    )
    return f"""_rk_map AS (SELECT * FROM {_with_keys(project_map, {"_rk_key": "source_key"}, trim=False)}),
    _rk_keys AS (
        SELECT source_kind, source_key, project_id
        FROM (
            SELECT "source_kind" AS source_kind, _rk_key AS source_key, "project_id" AS project_id,
                "source_key" AS _original, 0 AS _inherited
            FROM _rk_map{inherited}
        )
        QUALIFY row_number() OVER (
            PARTITION BY source_kind, source_key ORDER BY _inherited, _original, project_id NULLS LAST
        ) = 1
    )"""


def work_items_sql(items: str, project_map: str) -> str:
    """One row per row of `items`: its columns, then project_id from the item's tool and project key (Jira
    project, ServiceNow/GLPI group or project)."""
    return f"""
    WITH {_keys_cte(project_map)}
    SELECT i.* EXCLUDE (_rk_project), k.project_id AS project_id
    FROM {_with_keys(items, {"_rk_project": "source_project_key"})} AS i
    LEFT JOIN _rk_keys AS k ON k.source_kind = i."source_kind" AND k.source_key = i._rk_project
    """


def _unique_person(people: str, column: str) -> str:
    """The people's `column` keys → person_id, for keys exactly one person row has."""
    return f"""
        SELECT _rk_user, any_value("person_id") AS person_id
        FROM {_with_keys(people, {"_rk_user": column}, where=f'"{column}" IS NOT NULL')}
        GROUP BY _rk_user HAVING count(*) = 1"""


def latest_items_sql(items: str, named_by: str | None = None) -> str:
    """item_key → project_id of the item's latest snapshot in `items` (the resolved work items): what a worklog's
    ticket gives it (`worklogs_sql`). `named_by`: only the items the rows of that relation name (its item_key), the
    same rows for them, as the latest snapshot is taken per item."""
    named = f' AND "item_key" IN (SELECT "item_key" FROM {named_by})' if named_by else ""
    return f"""
        SELECT "item_key" AS item_key, "project_id" AS project_id
        FROM {items} WHERE "item_key" IS NOT NULL{named}
        QUALIFY row_number() OVER (
            PARTITION BY "item_key" ORDER BY "snapshot_date" DESC NULLS LAST, "project_id" NULLS LAST
        ) = 1"""


def worklogs_sql(logs: str, items: str, project_map: str, people: str, aliases: str, few: bool = False) -> str:
    """One row per row of `logs`: its columns, then
    project_id: the mapping of the worklog's tool and project, else its ticket's project (the ticket's latest
    snapshot in `items`, the resolved work items);
    item_known: whether the ticket the worklog names is in any ticket export (NULL when it names none);
    person_id: an alias for the tool's user id, name or e-mail (the last alias in key order where several
    normalise alike); else the person's e-mail, Jira account id, Tempo user, or display name (ignoring case; a
    name two people share matches nobody).
    few: `logs` are a few of the worklogs (a week's): the latest snapshots are taken only of the items they name
    (0.10 s instead of 0.16-0.23 s for the bench's week of 96,153 against a million snapshots; for all 10M worklogs
    that filter costs 0.3 s more)."""
    who = ("source_kind", "person_source_id", "person_email", "person_name")
    same_who = " AND ".join(f'w."{c}" IS NOT DISTINCT FROM l."{c}"' for c in who)
    who_keys = {"_rk_source_id": "person_source_id", "_rk_email": "person_email", "_rk_name": "person_name"}
    projects = _with_keys(f'(SELECT DISTINCT "source_kind", "source_project_key" FROM {logs})',
                          {"_rk_project": "source_project_key"})  # fmt: skip
    users = _with_keys("(SELECT DISTINCT " + ", ".join(f'"{c}"' for c in who) + f" FROM {logs})", who_keys)
    # Lookups run once per distinct tool and project key, and per distinct tool, user id, e-mail and name (thousands),
    # not per worklog (millions); each worklog then joins its two answers.
    return f"""
    WITH {_keys_cte(project_map)},
    _rk_latest AS ({latest_items_sql(items, named_by=logs if few else None)}),
    _rk_alias AS (
        SELECT "source_kind" AS source_kind, _rk_user, "person_id" AS person_id
        FROM {_with_keys(aliases, {"_rk_user": "source_user"})}
        QUALIFY row_number() OVER (PARTITION BY "source_kind", _rk_user ORDER BY "source_user" DESC, person_id DESC) = 1
    ),
    _rk_by_email AS ({_unique_person(people, "email")}
    ),
    _rk_by_account AS ({_unique_person(people, "jira_account_id")}
    ),
    _rk_by_tempo AS ({_unique_person(people, "tempo_user")}
    ),
    _rk_by_name AS ({_unique_person(people, "display_name")}
    ),
    _rk_projects AS (
        SELECT p."source_kind", p."source_project_key", k.project_id AS _rk_mapped
        FROM {projects} AS p
        LEFT JOIN _rk_keys AS k ON k.source_kind = p."source_kind" AND k.source_key = p._rk_project
    ),
    _rk_people AS (
        SELECT {", ".join(f'w."{c}"' for c in who)},
            coalesce(
                alias_id.person_id, alias_email.person_id, alias_name.person_id, by_email.person_id,
                by_email_id.person_id, by_account.person_id, by_tempo.person_id, by_name.person_id
            ) AS _rk_person
        FROM {users} AS w
        LEFT JOIN _rk_alias AS alias_id ON alias_id.source_kind = w.source_kind AND alias_id._rk_user = w._rk_source_id
        LEFT JOIN _rk_alias AS alias_email 
            ON alias_email.source_kind = w.source_kind AND alias_email._rk_user = w._rk_email
        LEFT JOIN _rk_alias AS alias_name ON alias_name.source_kind = w.source_kind AND alias_name._rk_user = w._rk_name
        LEFT JOIN _rk_by_email AS by_email ON by_email._rk_user = w._rk_email
        LEFT JOIN _rk_by_email AS by_email_id ON by_email_id._rk_user = w._rk_source_id
        LEFT JOIN _rk_by_account AS by_account ON by_account._rk_user = w._rk_source_id
        LEFT JOIN _rk_by_tempo AS by_tempo ON by_tempo._rk_user = w._rk_source_id
        LEFT JOIN _rk_by_name AS by_name ON by_name._rk_user = w._rk_name
    )
    SELECT l.*,
        coalesce(p._rk_mapped, latest.project_id) AS project_id,
        CASE WHEN l."item_key" IS NOT NULL THEN latest.item_key IS NOT NULL END AS item_known,
        w._rk_person AS person_id
    FROM {logs} AS l
    LEFT JOIN _rk_projects AS p
        ON p."source_kind" IS NOT DISTINCT FROM l."source_kind"
        AND p."source_project_key" IS NOT DISTINCT FROM l."source_project_key"
    LEFT JOIN _rk_latest AS latest ON latest.item_key = l."item_key"
    LEFT JOIN _rk_people AS w ON {same_who}
    """


def assets_sql(frame: str, project_map: str) -> str:
    """One row per row of `frame` (assets or licences): its columns, then project_id from the row's tool and cost
    centre, else a mapping of the cost centre for any tool (source_kind 'cost_centre')."""
    return f"""
    WITH {_keys_cte(project_map)}
    SELECT f.* EXCLUDE (_rk_centre), coalesce(own.project_id, generic.project_id) AS project_id
    FROM {_with_keys(frame, {"_rk_centre": "cost_centre"})} AS f
    LEFT JOIN _rk_keys AS own ON own.source_kind = f."source_kind" AND own.source_key = f._rk_centre
    LEFT JOIN _rk_keys AS generic ON generic.source_kind = 'cost_centre' AND generic.source_key = f._rk_centre
    """


_ROW = "_rk_row"


def _run(sql: str, frames: dict[str, pl.DataFrame], main: str, added: dict[str, pl.DataType]) -> pl.DataFrame:
    """`frames[main]` as it is, with the `added` columns of `sql` run over the frames registered under their names.

    Only the added columns come back from DuckDB, in the row order of `frames[main]`: the input columns keep their
    types (lists, decimals) and are not copied."""
    registered = frames | {main: frames[main].with_row_index(_ROW)}
    columns = ", ".join(f'"{c}"' for c in added)
    out = duck.query(f"SELECT {columns} FROM ({sql}) ORDER BY {_ROW}", registered)
    return frames[main].hstack(out.cast(added).get_columns())


def _supertype(*dtypes: pl.DataType) -> pl.DataType:
    return pl.concat([pl.DataFrame(schema={"c": d}) for d in dtypes], how="vertical_relaxed").schema["c"]


def work_items(items: pl.DataFrame, project_map: pl.DataFrame) -> pl.DataFrame:
    """`items` with project_id (see `work_items_sql`)."""
    added = {"project_id": project_map.schema["project_id"]}
    return _run(work_items_sql("items", "project_map"), {"items": items, "project_map": project_map}, "items", added)


def worklogs(
    logs: pl.DataFrame,
    items: pl.DataFrame,
    project_map: pl.DataFrame,
    people: pl.DataFrame,
    aliases: pl.DataFrame,
) -> pl.DataFrame:
    """`logs` with project_id, item_known and person_id (see `worklogs_sql`)."""
    added = {
        "project_id": _supertype(project_map.schema["project_id"], items.schema["project_id"]),
        "item_known": pl.Boolean,
        "person_id": _supertype(aliases.schema["person_id"], people.schema["person_id"]),
    }
    frames = {"logs": logs, "items": items, "project_map": project_map, "people": people, "aliases": aliases}
    return _run(worklogs_sql("logs", "items", "project_map", "people", "aliases"), frames, "logs", added)


def assets(frame: pl.DataFrame, project_map: pl.DataFrame) -> pl.DataFrame:
    """Assets or licences with project_id (see `assets_sql`)."""
    added = {"project_id": project_map.schema["project_id"]}
    return _run(assets_sql("frame", "project_map"), {"frame": frame, "project_map": project_map}, "frame", added)
