"""transforms/resolve.py: projects for work items, worklogs, assets and licences and people for worklogs, in SQL.

Hostile hand-made cases with expected values worked out by hand, the same SELECTs run on tables of a DuckDB file
(as the warehouse runs them), and the key normalisation checked against polars' own string functions."""

import datetime as dt

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms import resolve
from transforms.canonical import conform_table, schema

D = dt.date


def _table(table: str, **columns: list) -> pl.DataFrame:
    """A canonical table (columns not given are NULL) with lineage: file 1, lines 2, 3, ..."""
    frame = pl.DataFrame(columns, strict=False)
    return conform_table(table, frame.with_columns(_source_file=pl.lit(1), _line=pl.int_range(2, frame.height + 2)))


# Map keys are lowercased, never stripped; the keys they are compared with are stripped and lowercased.
PROJECT_MAP = _table(
    "project_map",
    source_kind=["jira", "jira", "jira", "jira", "tempo", "harvest", "snipeit", "cost_centre", "cost_centre", "jira",
                 "servicenow"],
    source_key=["ABC", "abc", "XYZ", "DEF", "abc", "Studio", "cc-1", "CC-1", "CC-2", None, " Padded "],
    project_id=["PRJ-1", "PRJ-7", "PRJ-2", "PRJ-4", "PRJ-9", "PRJ-3", "PRJ-A", "PRJ-B", "PRJ-C", "PRJ-N", "PRJ-P"],
)  # fmt: skip

ITEMS = _table(
    "work_items",
    item_key=["ABC-1", "ABC-1", "ABC-1", "INC-1", None, "DEF-1"],
    snapshot_date=[D(2026, 3, 1), D(2026, 3, 8), None, D(2026, 3, 8), D(2026, 3, 8), D(2026, 3, 8)],
    source_kind=["jira", "jira", "jira", "servicenow", "jira", "jira"],
    source_project_key=["ABC", " xyz\t", "DEF", "Padded", "ABC", None],
    labels=[["moved"], ["moved", "again"], None, [], None, None],
)
# By hand, row by row:
#   ABC-1 on 1 Mar in ABC: jira "ABC" → PRJ-1 ("ABC" and "abc" are one key; "ABC" comes first in key order)
#   ABC-1 on 8 Mar moved to " xyz\t": stripped "xyz" → jira "XYZ" → PRJ-2
#   ABC-1 with no snapshot date, in DEF → PRJ-4 (each snapshot keeps its own project)
#   INC-1 in "Padded": the map's " Padded " keeps its spaces, so nothing → NULL
#   an item with no key, in ABC → PRJ-1;  DEF-1 with no project key → NULL
ITEM_PROJECTS = ["PRJ-1", "PRJ-2", "PRJ-4", None, "PRJ-1", None]
RESOLVED_ITEMS = ITEMS.with_columns(project_id=pl.Series(ITEM_PROJECTS, dtype=pl.String))

ODYSSEAS = "Οδυσσεας Παππας"  # title case: each word ends in the final sigma ς
assert ODYSSEAS.count("ς") == 2 and "Σ" not in ODYSSEAS
PEOPLE = _table(
    "people",
    person_id=["p1", "p2", "p3", "p4", "p5", "p6", "p7"],
    display_name=["Ana Lima", "Bo Chen", "Sam Roe", "Sam Roe ", ODYSSEAS, "Cy Dee", "Di Eve"],
    email=["ana@example.org", None, None, None, "odysseas@example.org", "CY@example.org", "cy@example.org "],
    jira_account_id=[None, "acc-2", None, None, None, None, None],
    tempo_user=[None, "bo.tempo", None, None, None, None, None],
)
ALIASES = _table(
    "person_aliases",
    source_kind=["toggl", "toggl", "toggl", "harvest", "clockify"],
    source_user=["Bobby", " bobby ", "Sam Roe", "ana@example.org", None],
    person_id=["p2", "p6", "p3", "p6", "p1"],
)
LOGS = _table(
    "worklogs",
    worklog_id=[f"w{i}" for i in range(1, 11)],
    source_kind=["tempo", "tempo", "toggl", "harvest", "clockify", "toggl", "jira", None, "harvest", "jira"],
    source_project_key=["abc ", "DEF", None, "Studio", "Studio", None, "xyz", "ABC", "\u00a0Studio\n", "ABC"],
    item_key=["ABC-1", "DEF-1", "ABC-1", "ABC-1", "NOPE-1", None, "INC-1", "ABC-1", None, "ABC-1"],
    person_source_id=[None, "bo.tempo", None, None, None, None, "ACC-2 ", None, None, None],
    person_email=[None, None, None, "ANA@example.org", None, None, None, "cy@example.org", None, None],
    person_name=["ΟΔΥΣΣΕΑΣ ΠΑΠΠΑΣ", None, "bobby", "Sam Roe", "sam roe", "Sam Roe", None, None, None, "ana lima"],
    hours=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
)
# (project_id, item_known, person_id) per worklog, by hand:
EXPECTED_LOGS = [
    # w1 tempo "abc ": Tempo's own "abc" → PRJ-9, not Jira's ABC (PRJ-1) nor the ticket's PRJ-2. "ΟΔΥΣΣΕΑΣ ΠΑΠΠΑΣ"
    #    lowercases to "οδυσσεας παππας" (a capital sigma ending a word becomes ς), p5's name → p5
    ("PRJ-9", True, "p5"),
    # w2 tempo "DEF": no Tempo mapping, so Jira's DEF → PRJ-4; Tempo user "bo.tempo" → p2
    ("PRJ-4", True, "p2"),
    # w3 toggl, no project key: ABC-1's latest dated snapshot (8 Mar) → PRJ-2. Aliases "Bobby" and " bobby " are
    #    one key; in key order " bobby " (space) < "Bobby", the last is "Bobby" → p2 (not p6), whatever order the
    #    rows come in (staging gives them sorted by key, where the polars code kept the last row)
    ("PRJ-2", True, "p2"),
    # w4 harvest "Studio" → PRJ-3 although ABC-1 is in PRJ-2. The Harvest alias of the e-mail → p6 comes before
    #    the person with that e-mail (p1); the name "Sam Roe" would match nobody anyway
    ("PRJ-3", True, "p6"),
    # w5 clockify "Studio": Clockify has no mapping, NOPE-1 is in no export → NULL, unknown. "sam roe" is p3's and
    #    p4's name ("Sam Roe " once stripped) → nobody
    (None, False, None),
    # w6 toggl, no key, no ticket → NULL, and item_known NULL (it names no ticket). Toggl's alias "Sam Roe" → p3
    (None, None, "p3"),
    # w7 jira "xyz" → PRJ-2 (INC-1 has no project). Account id "ACC-2 " → "acc-2" → p2
    ("PRJ-2", True, "p2"),
    # w8 no tool: no mapping applies → ABC-1's PRJ-2. "cy@example.org" is p6's and p7's e-mail → nobody
    ("PRJ-2", True, None),
    # w9 harvest "\u00a0Studio\n": a no-break space and a line break stripped → PRJ-3; no ticket, no person
    ("PRJ-3", None, None),
    # w10 jira "ABC": "ABC" and "abc" are one key → PRJ-1 once (the polars code gave this worklog twice, PRJ-1
    #     and PRJ-7); "ana lima" → p1
    ("PRJ-1", True, "p1"),
]

ASSETS = _table(
    "assets",
    asset_tag=["a1", "a2", "a3", "a4"],
    source_kind=["snipeit", "glpi", "snipeit", "glpi"],
    cost_centre=["CC-1", " cc-1", None, "CC-9"],
)
# a1: Snipe-IT's own "cc-1" → PRJ-A before the generic CC-1 (PRJ-B); a2: GLPI has no own mapping → generic
# CC-1 → PRJ-B; a3: no cost centre → NULL; a4: CC-9 is mapped nowhere → NULL
ASSET_PROJECTS = ["PRJ-A", "PRJ-B", None, None]
LICENCES = _table("licences", licence_id=["l1"], source_kind=["snipeit"], cost_centre=["\tcc-2 "])
# l1: stripped "cc-2", no Snipe-IT mapping → generic CC-2 → PRJ-C


def test_work_items_take_the_project_of_their_own_tool_and_key():
    out = resolve.work_items(ITEMS, PROJECT_MAP)
    assert out.get_column("project_id").to_list() == ITEM_PROJECTS
    assert out.schema == pl.Schema(schema("work_items") | {"project_id": pl.String})
    assert_frame_equal(out.drop("project_id"), ITEMS)  # the items as they were: lists, NULL dates, order


def test_worklogs_take_project_ticket_and_person_across_tools():
    out = resolve.worklogs(LOGS, RESOLVED_ITEMS, PROJECT_MAP, PEOPLE, ALIASES)
    assert out.select("project_id", "item_known", "person_id").rows() == EXPECTED_LOGS
    assert out.schema == pl.Schema(
        schema("worklogs") | {"project_id": pl.String, "item_known": pl.Boolean, "person_id": pl.String}
    )
    assert_frame_equal(out.select(LOGS.columns), LOGS)


def test_the_rows_come_back_in_the_order_they_went_in_and_no_lookup_depends_on_order():
    shuffled = LOGS.reverse()
    out = resolve.worklogs(
        shuffled, RESOLVED_ITEMS.reverse(), PROJECT_MAP.reverse(), PEOPLE.reverse(), ALIASES.reverse()
    )
    assert out.get_column("worklog_id").to_list() == [f"w{i}" for i in range(10, 0, -1)]
    assert out.select("project_id", "item_known", "person_id").rows() == EXPECTED_LOGS[::-1]


def test_assets_and_licences_take_the_tools_cost_centre_mapping_else_the_generic_one():
    assert resolve.assets(ASSETS, PROJECT_MAP).get_column("project_id").to_list() == ASSET_PROJECTS
    assert resolve.assets(LICENCES, PROJECT_MAP).get_column("project_id").to_list() == ["PRJ-C"]


def test_no_lookup_multiplies_rows():
    # Keys differing only in case are one key: the first in key order wins. Jira "ABC" (PRJ-1) and "abc" (PRJ-7)
    # also reach Tempo, which has its own "abc" (PRJ-9): a Tempo key "ABC" → PRJ-9, a Jira one → PRJ-1.
    logs = _table("worklogs", worklog_id=["t", "j"], source_kind=["tempo", "jira"], source_project_key=["ABC"] * 2)
    items = RESOLVED_ITEMS.head(0)
    out = resolve.worklogs(logs, items, PROJECT_MAP, PEOPLE.head(0), ALIASES.head(0))
    assert out.select("worklog_id", "project_id").rows() == [("t", "PRJ-9"), ("j", "PRJ-1")]
    # Two aliases for one key and two snapshots of one item, each with a project: still one row per worklog.
    assert resolve.worklogs(LOGS, RESOLVED_ITEMS, PROJECT_MAP, PEOPLE, ALIASES).height == LOGS.height == 10


def test_the_sql_runs_on_tables_of_a_duckdb_file(tmp_path):
    tables = {
        "work_items": ITEMS, "worklogs": LOGS, "project_map": PROJECT_MAP, "people": PEOPLE,
        "person_aliases": ALIASES, "assets": ASSETS, "licences": LICENCES,
    }  # fmt: skip
    with duckdb.connect(tmp_path / "warehouse.duckdb") as conn:
        conn.sql("CREATE SCHEMA staging")
        for name, frame in tables.items():
            conn.register("_frame", frame)
            conn.sql(f"CREATE TABLE staging.{name} AS SELECT * FROM _frame")
            conn.unregister("_frame")
    # Another connection: nothing registered, only the file's tables.
    with duckdb.connect(tmp_path / "warehouse.duckdb") as conn:
        sql = resolve.work_items_sql("staging.work_items", "staging.project_map")
        conn.sql(f"CREATE TABLE staging.resolved_items AS {sql}")
        items = conn.sql("SELECT * FROM staging.resolved_items ORDER BY _line").pl()
        assert items.columns == [*schema("work_items"), "project_id"]
        assert items.get_column("project_id").to_list() == ITEM_PROJECTS
        assert items.get_column("labels").to_list() == [["moved"], ["moved", "again"], None, [], None, None]
        sql = resolve.worklogs_sql(
            "staging.worklogs", "staging.resolved_items", "staging.project_map", "staging.people",
            "staging.person_aliases",
        )  # fmt: skip
        logs = conn.sql(f"{sql} ORDER BY _line").pl()
        assert logs.columns == [*schema("worklogs"), "project_id", "item_known", "person_id"]
        assert logs.select("project_id", "item_known", "person_id").rows() == EXPECTED_LOGS
        assert logs.get_column("hours").dtype == pl.Decimal(18, 4)
        # A few of the worklogs (a week's) take the latest snapshots of only the items they name: ABC-1 (NOPE-1 is
        # in no export), not DEF-1 nor INC-1; the same answers as when every item's is taken.
        some = "(FROM staging.worklogs WHERE item_key IS DISTINCT FROM 'DEF-1' AND item_key IS DISTINCT FROM 'INC-1')"
        latest = conn.sql(resolve.latest_items_sql("staging.resolved_items", named_by=some)).fetchall()
        assert [key for key, _ in latest] == ["ABC-1"]
        few = resolve.worklogs_sql(
            some, "staging.resolved_items", "staging.project_map", "staging.people", "staging.person_aliases",
            few=True,
        )  # fmt: skip
        kept = ~pl.col("item_key").is_in(["DEF-1", "INC-1"]).fill_null(False)
        assert conn.sql(f"{few} ORDER BY _line").pl().equals(logs.filter(kept))
        assert logs.filter(kept).height == 8
        assets = conn.sql(f"{resolve.assets_sql('staging.assets', 'staging.project_map')} ORDER BY _line").pl()
        assert assets.get_column("project_id").to_list() == ASSET_PROJECTS
        licences = conn.sql(resolve.assets_sql("staging.licences", "staging.project_map")).pl()
        assert licences.select("licence_id", "project_id").rows() == [("l1", "PRJ-C")]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("\tABC\u00a0\n", "abc"),  # tabs, no-break spaces and line breaks are whitespace (DuckDB's trim keeps \t, \n)
        ("\u2028x\u3000", "x"),  # line separator, ideographic space
        ("a b", "a b"),  # inner spaces stay
        ("ΟΔΟΣ", "οδος"),  # a capital sigma ending a word → ς (DuckDB's lower gives σ)
        ("ΣΑΣ ΕΣ.", "σας ες."),  # a word-initial Σ → σ; before a space or a full stop → ς
        ("ΑΣ.Β", "ασ.β"),  # a full stop between letters is case-ignorable: Σ is not word-final
        ("ΑΣ\u0301", "ας\u0301"),  # a combining accent after Σ is skipped: Σ is word-final
        ("İstanbul", "i\u0307stanbul"),  # Turkish dotted İ → i + combining dot (DuckDB's lower gives plain i)
        ("Straße", "straße"),
    ],
)
def test_keys_are_stripped_and_lowercased_by_polars_rules(text, key):
    sql = f"SELECT {resolve._lowered('k')} FROM (SELECT {resolve._trimmed('t')} AS k FROM (SELECT ? AS t))"
    with duckdb.connect() as conn:
        assert conn.sql(sql, params=[text]).fetchall() == [(key,)]


def test_keys_agree_with_polars_for_every_code_point():
    # The oracle is polars' own str.strip_chars().str.to_lowercase(): the behaviour these keys had before. Every
    # code point alone; every one of the Basic Multilingual Plane around a capital sigma and between spaces.
    every = pl.Series([chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF])
    bmp = every.filter(every.str.len_bytes() <= 3)
    contexts = [("", "", every), (" ", "a\t", bmp), ("Α", "Σ", bmp), ("ΑΣ", "", bmp), ("ΑΣ", "Α", bmp)]
    texts = pl.concat([pl.DataFrame({"t": before + chars + after}) for before, after, chars in contexts])
    with duckdb.connect() as conn:
        conn.register("texts", texts)
        sql = f"SELECT t, {resolve._lowered('k')} AS k FROM (SELECT t, {resolve._trimmed('t')} AS k FROM texts)"
        got = conn.sql(sql).pl()
    differ = got.filter(pl.col("k") != pl.col("t").str.strip_chars().str.to_lowercase())
    # 0x10FFFF code points less NUL and the 2,048 surrogates; those up to U+FFFF, four times
    assert texts.height == 1_112_063 + 4 * 63_487 == got.height
    assert differ.height == 0, differ.head()
