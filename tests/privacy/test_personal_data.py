"""Per-person data stays with the PMO: the planted person's name, e-mail, account id, person id and personal hourly
rate are in no leadership or sponsor message (bodies and attached zips), no page or CSV of the pack outside pmo/,
no zip of the shared folder and no text of the analysts' snapshot, while the PMO section shows them and the
figures everyone gets include her cost (the planted person: tests/privacy/conftest.py)."""

import csv
import io
import re
from decimal import Decimal

import duckdb

from tests.privacy.conftest import AC, ACCOUNT, DAY, EMAIL, NAME, PERSON, PROJECT, planted_files
from tests.privacy.scan import duckdb_containing, email_texts, parquet_containing, zip_texts

RATE = re.compile(r"(?<![\d.])(?<!\d,)151[.,]370*(?!\d)")  # 151.37, 151,37, 151.3700; not 1151.37, 2,151.37, 151.375
WHO = {"name": re.compile(re.escape(NAME), re.IGNORECASE), "e-mail": re.compile(re.escape(EMAIL), re.IGNORECASE),
       "account": re.compile(ACCOUNT), "person id": re.compile(rf"\b{PERSON}\b"), "rate": RATE}  # fmt: skip


def _found(text: str) -> list[str]:
    return [what for what, pattern in WHO.items() if pattern.search(text)]


def test_no_leadership_or_sponsor_message_names_her_or_shows_her_rate(runs):
    by = {r.envelope_to[0]: email_texts(r.content) for r in runs.good.received}
    assert sorted(by) == ["almeida@example.org", "cio@example.org", "zed@example.org"]
    assert PROJECT in by["zed@example.org"]["part 1"]  # her sponsor's message is about her project
    assert any(name.endswith(f"projects/{PROJECT}.html") for name in by["cio@example.org"])
    for address, texts in by.items():
        for name, text in texts.items():
            assert _found(text) == [], (address, name)


def test_no_public_page_shared_zip_or_snapshot_names_her_while_the_pmo_section_does(runs):
    home = runs.good.home
    pack = (home / "reports" / DAY).resolve()
    pages = {p.relative_to(pack).as_posix(): p.read_text(encoding="utf-8") for p in pack.rglob("*")
             if p.is_file() and p.suffix in (".html", ".csv", ".js", ".json", ".svg")}  # fmt: skip
    public = {k: v for k, v in pages.items() if not k.startswith("pmo/")}
    assert f"projects/{PROJECT}.html" in public
    assert {name: _found(text) for name, text in public.items() if _found(text)} == {}
    pmo = "\n".join(v for k, v in pages.items() if k.startswith("pmo/"))
    assert {"name", "person id"} <= set(_found(pmo))  # the same checks find them where they belong ...
    assert "rate" in _found(planted_files()["pmo/rate_card.csv"].decode("utf-8"))  # ... and her rate in its input
    shared = sorted((home / "shared").glob("*.zip"))
    expected = [f"pmo-kpi-{DAY}-{who}.zip" for who in ("portfolio", "Sponsor_Almeida", "Sponsor_Zed")]
    assert sorted(p.name for p in shared) == sorted(expected)
    for path in shared:
        texts = zip_texts(path.read_bytes())
        assert {name: _found(text) for name, text in texts.items() if _found(text)} == {}, path.name
    for value in (NAME, EMAIL, ACCOUNT):
        assert duckdb_containing(home / "published" / "pmo.duckdb", value) == []
        assert parquet_containing(home / "published", value) == []
    assert duckdb_containing(home / "warehouse.duckdb", NAME)  # the pipeline's warehouse keeps her, for the PMO


def _weeks(texts: dict[str, str]) -> dict[str, str]:
    """The AC column of the project's weekly table, by status date, as the zip carries it."""
    [name] = [n for n in texts if n.endswith(f"projects/{PROJECT}.weeks.csv")]
    return {row["Status date"]: row["AC"] for row in csv.DictReader(io.StringIO(texts[name]))}


def test_her_cost_is_in_the_figures_leadership_and_her_sponsor_get(runs):
    with duckdb.connect(str(runs.good.home / "warehouse.duckdb"), read_only=True) as conn:
        project = conn.sql("SELECT ac FROM marts.evm_weekly WHERE project_id = ? AND status_date = ?",
                           params=[PROJECT, DAY]).fetchall()  # fmt: skip
        total, projects = conn.sql(
            "SELECT (SELECT ac FROM marts.portfolio_weekly WHERE group_level = 'total' AND status_date = $d),"
            " (SELECT sum(ac) FROM marts.evm_weekly WHERE status_date = $d)", params={"d": DAY}
        ).fetchall()[0]  # fmt: skip
    # Her project has no other worklog: AC = (3.5 + 4.5) h × 151.37 = 1,210.96, DECIMAL to the cent.
    assert project == [(Decimal(AC),)]
    assert total == projects  # and the portfolio total is the sum of the projects', hers included
    by = {r.envelope_to[0]: email_texts(r.content) for r in runs.good.received}
    assert _weeks(by["cio@example.org"])[DAY] == AC
    assert _weeks(by["zed@example.org"])[DAY] == AC
