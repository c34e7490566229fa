"""The report pack, rendered from a real warehouse built by the weekly job on the small demo portfolio."""

import csv
import dataclasses
import datetime as dt
import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main
from pipelines.pack import pack_data, write_pack
from pipelines.resources import PmoHome
from reports import pack
from reports.email import by_recipient
from reports.pack import (
    Look,
    PackData,
    _eac_methods,
    _period_key,
    page_digests,
    render_pack,
    with_status,
    zip_pages,
)
from reports.tables import clean, neutralise, table
from tests.conftest import SMALL, write_inbox
from transforms.demo_portfolio import generate
from transforms.restatements import restatements

PERSON_ID = re.compile(rb"\bu0\d\d\b")  # the demo's person ids: u001, u002, ...


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pack")
    inbox = write_inbox(root / "inbox", generate(SMALL))
    assert main(["run", "--inbox", str(inbox), "--home", str(root / "home")]) in (0, 3)
    return root / "home"


@pytest.fixture(scope="module")
def data(home):
    return pack_data(PmoHome(home=str(home)))


@pytest.fixture(scope="module")
def pages(data):
    return render_pack(data)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def test_the_pack_has_every_page_the_issue_names(pages, data):
    projects = sorted(data.evm.filter(pl.col("status_date") == data.status_date)["project_id"].to_list())
    assert len(projects) == SMALL.projects
    for page in ["index.html", "month-end.html", "methodology.html", "data-quality.html", "it/service-desk.html",
                 "it/utilisation.html", "it/assets.html", "pmo/index.html", "assets/vega.js",
                 *(f"projects/{p}.html" for p in projects)]:  # fmt: skip
        assert page in pages, page


def test_every_link_and_csv_download_resolves_inside_the_pack(pages):
    assert_links_resolve(pages)


def assert_links_resolve(pages: dict) -> None:
    for path, content in pages.items():
        if not path.endswith(".html"):
            continue
        parser = Links()
        parser.feed(content)
        folder = Path(path).parent
        for link in parser.links:
            assert "://" not in link, f"{path} links outside the pack: {link}"
            target = (folder / link.split("#")[0]).as_posix()
            normalised = Path(*[p for p in Path(target).parts if p != "."])
            parts: list[str] = []
            for part in normalised.parts:
                parts = parts[:-1] if part == ".." else [*parts, part]
            assert "/".join(parts) in pages, f"{path}: {link} does not resolve"
        # our own markup is never escaped into visible text (it was, when Markup met a plain "<td>" with +)
        assert not re.search(r"&lt;(td|tr|span|a|th)\b", content), path
        # every table shown offers its CSV
        assert content.count("<table>") == content.count("download>Download CSV") + content.count(
            '<th class="text">Figure</th>'
        ), path  # the methodology's formula table is prose, not data


def test_public_pages_name_no_person_and_show_no_rate_while_the_pmo_section_does(pages):
    public = {k: v for k, v in pages.items() if not k.startswith("pmo/") and k != "assets/vega.js"}
    for path, content in public.items():
        raw = content.encode() if isinstance(content, str) else content
        assert not PERSON_ID.search(raw), f"{path} shows a person id"
        assert b"hourly_rate" not in raw and b"Hourly rate" not in raw, path
    pmo = b"".join(v.encode() if isinstance(v, str) else v for k, v in pages.items() if k.startswith("pmo/"))
    assert PERSON_ID.search(pmo)  # the same check finds them where they belong


def test_csv_downloads_neutralise_formulas_and_leave_numbers_alone():
    frame = pl.DataFrame({"text": ["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)", "\tx", "plain", None,
                                   "a\u202eb\x07c"], "amount": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]})  # fmt: skip
    rows = list(csv.reader(io.StringIO(table("t", "T", frame, [("text", "Text"), ("amount", "Amount", "money")])
                                       .to_csv().decode())))  # fmt: skip
    assert rows[0] == ["Text", "Amount"]
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "plain",
                                        "", "abc"]  # fmt: skip
    assert [r[1] for r in rows[1:]] == ["-5.0", "1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0"]
    assert neutralise(pl.DataFrame({"n": [-1]}))["n"].to_list() == [-1]


def test_hostile_text_from_exports_is_inert(data):
    hostile = '<script>alert(1)</script>=HYPERLINK("http://evil")\u202eTXT.EXE'
    projects = data.projects.with_columns(name=pl.lit(hostile))
    pages = render_pack(dataclasses.replace(data, projects=projects))
    index = pages["index.html"]
    assert "<script>alert(1)</script>" not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "\u202e" not in index
    chart_json = re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>', index, re.S).group(1)
    assert "</" not in chart_json and "<script" not in chart_json
    projects_csv = pages["index.projects.csv"].decode()
    assert "'PRJ" not in projects_csv  # labels start with the project id, so they are not formulas
    assert clean("a\u202eb\x00c") == "abc"


def test_rag_is_the_worse_of_cost_and_schedule_at_the_configured_thresholds():
    look = Look(green=0.95, amber=0.85)
    frame = pl.DataFrame({"cpi": [0.95, 0.9499, 0.85, 0.8499, None, None, 1.2],
                          "spi_t": [1.0, 1.0, 1.0, 1.0, None, 0.5, 0.9]})  # fmt: skip
    out = with_status(frame, look)
    assert out["cpi_rag"].to_list() == ["green", "amber", "amber", "red", "grey", "grey", "green"]
    assert out["status"].to_list() == ["green", "amber", "amber", "red", "grey", "red", "amber"]
    assert with_status(frame, Look(green=1.1, amber=0.9))["status"].to_list()[0] == "amber"  # 0.95 < 1.1


def test_every_eac_method_beside_the_tcpi_it_implies():
    # BAC 100, EV 40, AC 50. EAC(cpi) = 50 + 60 / 0.8 = 125, TCPI = (100 - 40) / (125 - 50) = 0.8.
    # EAC(budget rate) = 50 + 60 = 110, TCPI = 60 / 60 = 1.0. An EAC equal to AC leaves TCPI undefined (NULL).
    row = {
        "project_id": "P",
        "bac": 100,
        "ev": 40,
        "ac": 50,
        "eac_cpi": 125.0,
        "eac_budget_rate": 110.0,
        "eac_cpi_spi": 50.0,
        "eac_composite": None,
        "eac_bottom_up": 90.0,
        "eac_method": "budget_rate",
    }
    out = {r["method"]: r for r in _eac_methods(pl.DataFrame([row])).to_dicts()}
    assert out["cpi"]["tcpi"] == pytest.approx(0.8)
    assert out["cpi"]["vac"] == pytest.approx(-25.0)
    assert out["budget_rate"]["tcpi"] == pytest.approx(1.0) and out["budget_rate"]["chosen"] == "✓"
    assert out["cpi_spi"]["tcpi"] is None and out["composite"]["tcpi"] is None
    assert out["bottom_up"]["tcpi"] == pytest.approx(60 / 40)  # 1.5: the remaining 60 of work for 40


def test_periods_follow_the_calendar_month_or_the_fiscal_quarter():
    days = pl.DataFrame({"d": [dt.date(2026, 3, 29), dt.date(2026, 4, 5), dt.date(2026, 12, 27)]})
    month = days.select(_period_key(pl.col("d"), Look()))["d"].to_list()
    assert month == ["2026-03", "2026-04", "2026-12"]
    # A fiscal year from April: March 2026 is the last quarter of FY2025, April opens FY2026's first.
    quarter = days.select(_period_key(pl.col("d"), Look(period="quarter", fiscal_year_start=4)))["d"].to_list()
    assert quarter == ["2025-Q4", "2026-Q1", "2026-Q3"]


def test_month_end_shows_the_last_status_date_of_each_month(pages, data):
    rows = list(csv.DictReader(io.StringIO(pages["month-end.totals.csv"].decode())))
    dates = sorted(data.evm["status_date"].unique().to_list())
    expected = sorted({max(d for d in dates if d.strftime("%Y-%m") == m) for m in {d.strftime("%Y-%m") for d in dates}})
    assert sorted(dt.date.fromisoformat(r["Status date"]) for r in rows) == expected


def test_small_groups_are_not_shown_outside_the_pmo(data):
    teams = data.teams.head(2).with_columns(people=pl.Series([1, 5]), status_date=pl.lit(data.status_date))
    pages = render_pack(dataclasses.replace(data, teams=teams, look=Look(min_group_size=3)))
    rows = list(csv.DictReader(io.StringIO(pages["it/utilisation.teams.csv"].decode())))
    assert [r["Logged"] == "" for r in rows] == [True, False]  # one person's hours are blank, five people's shown


def test_a_manager_override_is_shown_beside_the_computed_status(data):
    pid = data.evm["project_id"].min()
    reports = pl.DataFrame({"project_id": [pid], "status_date": [data.status_date], "rag_override": ["green"],
                            "override_reason": ["Vendor credit agreed"], "author": ["PM Lead"],
                            "entered_on": [data.status_date], "commentary": ["Go-live <moved>"],
                            "actions": ["Chase vendor"]})  # fmt: skip
    pages = render_pack(dataclasses.replace(data, status_reports=reports))
    page = pages[f"projects/{pid}.html"]
    assert "manager's override" in page and "Vendor credit agreed" in page and "PM Lead" in page
    assert "computed: cost" in page  # the computed status stays
    assert "Go-live &lt;moved&gt;" in page and "Chase vendor" in page
    projects_csv = list(csv.DictReader(io.StringIO(pages["index.projects.csv"].decode())))
    mine = next(r for r in projects_csv if r["Project"].startswith(pid))
    assert mine["Override"] == "green" and mine["Status"] in ("red", "amber", "green", "grey")


def test_a_stale_source_makes_the_pack_provisional(data):
    assert "Provisional" not in render_pack(dataclasses.replace(data, freshness=None))["index.html"]
    stale = pl.DataFrame({"status_date": [data.status_date], "source_kind": ["tempo_worklogs"], "stale": [True]})
    page = render_pack(dataclasses.replace(data, freshness=stale))["projects/" + data.evm["project_id"].min() + ".html"]
    assert "Provisional" in page and "tempo_worklogs" in page


def test_a_sponsor_pack_holds_only_their_projects(data):
    first, *others = sorted(data.evm["project_id"].unique().to_list())
    pages = render_pack(data, projects={first}, include_pmo=False)
    assert f"projects/{first}.html" in pages
    assert not any(f"projects/{o}.html" in pages for o in others)
    assert not any(k.startswith("pmo/") for k in pages) and "data-quality.html" not in pages
    assert all(o not in pages["index.html"] for o in others)


def test_a_summary_pack_holds_every_portfolio_page_and_only_the_pages_asked_for(data, pages):
    first, *others = sorted(data.evm.filter(pl.col("status_date") == data.status_date)["project_id"].to_list())
    summary = render_pack(data, include_pmo=False, pages_of={first})  # no written pack: the page is rendered
    assert {k for k in summary if k.startswith("projects/") and k.endswith(".html")} == {f"projects/{first}.html"}
    assert summary[f"projects/{first}.html"] == pages[f"projects/{first}.html"]  # as in the full pack
    portfolio = {k for k in pages if not k.startswith(("projects/", "pmo/"))}
    assert portfolio <= summary.keys()
    assert_links_resolve(summary)
    index = summary["index.html"]
    assert all(f">{p} · " in index for p in others)  # listed, with their figures, and not linked
    assert set(re.findall(r'href="projects/([^"]+)\.html"', index)) == {first}
    assert f"holds the pages of 1 of the {len(others) + 1} projects" in " ".join(index.split())
    assert "holds the pages" not in pages["index.html"]
    none = render_pack(data, include_pmo=False, pages_of=set())["index.html"]  # no project needs attention
    assert "it holds no project's page" in " ".join(none.split()) and 'href="projects/' not in none


def _not_rendered():
    raise AssertionError("a project page was rendered, not taken from the written pack")


def test_a_sponsors_pack_takes_the_written_packs_project_pages_with_its_own_links(data, tmp_path):
    first, second, *others = sorted(data.evm["project_id"].unique().to_list())
    folder = tmp_path / "reports" / data.status_date.isoformat()
    write_pack(render_pack(data), folder)
    rendered = render_pack(data, projects={first, second}, include_pmo=False)
    taken = render_pack(data, projects={first, second}, include_pmo=False, project_pages=_not_rendered,
                        written=folder)  # fmt: skip
    # The bytes rendering gives, HTML and CSVs, with nothing rendered: the project pages and their CSVs came from
    # the folder and the header links are the sponsor pack's (no Service desk page in it to link to).
    assert taken == rendered
    page = f"projects/{first}.html"
    assert "it/service-desk.html" in (folder / page).read_text() and "it/service-desk.html" not in taken[page]
    assert {k for k in taken if k.startswith(f"projects/{first}.")} == {
        f"projects/{p.name}" for p in (folder / "projects").glob(f"{first}.*")
    }
    # What the folder says is what the pack holds: a page changed on disk is taken as it is.
    written = (folder / page).read_text()
    (folder / page).write_text(written.replace("<main>", "<main><!-- as written -->", 1))
    taken = render_pack(data, projects={first, second}, include_pmo=False, written=folder)
    assert (
        "<!-- as written -->" in taken[page] and taken[f"projects/{second}.html"] == rendered[f"projects/{second}.html"]
    )


def test_a_written_page_of_other_figures_or_settings_or_none_at_all_is_rendered_again(data, tmp_path):
    first, second, third = sorted(data.evm["project_id"].unique().to_list())
    folder = tmp_path / "reports" / data.status_date.isoformat()
    pages = render_pack(data)
    for pid in (first, second):  # marked: a page taken from the folder shows it
        pages[f"projects/{pid}.html"] = pages[f"projects/{pid}.html"].replace("<main>", "<main><!-- old -->", 1)
    del pages[f"projects/{third}.html"]
    write_pack(pages, folder)
    mine = {first, second, third}

    def taken(frames: PackData) -> set[str]:
        out = render_pack(frames, projects=mine, include_pmo=False, written=folder)
        fresh = render_pack(frames, projects=mine, include_pmo=False)
        marked = {k for k, v in out.items() if isinstance(v, str) and "<!-- old -->" in v}
        assert out.keys() == fresh.keys() and all(out[k] == fresh[k] for k in out if k not in marked)
        return {pid for pid in mine if "<!-- old -->" in out[f"projects/{pid}.html"]}

    assert taken(data) == {first, second}  # the third is not in the folder: rendered
    # Another data snapshot or other thresholds: every page is rendered again.
    assert taken(dataclasses.replace(data, snapshot="0" * 64)) == set()
    assert taken(dataclasses.replace(data, look=Look(green=0.99))) == set()
    # One project's figures restated since the pack was written: its page is rendered again, the other taken.
    restated = data.evm.with_columns(
        ac=pl.when(pl.col("project_id") == first).then(pl.col("ac") + 1).otherwise(pl.col("ac"))
    )
    assert taken(dataclasses.replace(data, evm=restated)) == {second}
    # A sponsor's share of the data (pipelines/delivery.py) gives their project the digest the whole pack gave it.
    share = by_recipient(data, {"sponsor@example.org": [second]})["sponsor@example.org"]
    ids = pl.Series([second])
    assert page_digests(share, ids) == {second: page_digests(data, data.evm.get_column("project_id"))[second]}


def _footer(page: str) -> str:
    return re.search(r"<footer>(.*?)</footer>", page, re.S).group(1)


def test_a_footer_names_the_baselines_of_its_page_and_a_long_list_gives_way_to_methodology(data, monkeypatch):
    ids = sorted(data.evm["project_id"].unique().to_list())
    versions = dict(data.evm.filter(pl.col("status_date") == data.status_date)
                    .select("project_id", "baseline_version").rows())  # fmt: skip
    every = ", ".join(f"{p} v{versions[p]}" for p in ids)
    pages = render_pack(data)
    assert f"baselines {every} ·" in _footer(pages["index.html"])
    # A project page names only its own baseline.
    assert f"baselines {ids[0]} v{versions[ids[0]]} ·" in _footer(pages[f"projects/{ids[0]}.html"])
    # Past FOOTER_BASELINES projects a portfolio page points to the Methodology page's table instead.
    monkeypatch.setattr(pack, "FOOTER_BASELINES", len(ids) - 1)
    pages = render_pack(data)
    assert f"baselines of {len(ids)} projects: see Methodology ·" in _footer(pages["index.html"])
    assert f"baselines {ids[-1]} v{versions[ids[-1]]} ·" in _footer(pages[f"projects/{ids[-1]}.html"])
    assert all(f'<td class="text">{p}</td>' in pages["methodology.html"] for p in ids)


def test_same_data_gives_the_same_bytes_apart_from_the_stamp(data):
    a = render_pack(data)
    b = render_pack(dataclasses.replace(data, generated_at=data.generated_at + dt.timedelta(hours=3)))
    assert a.keys() == b.keys()
    stamp = re.compile(r"generated \S+ UTC")
    differing = [k for k in a if a[k] != b[k]]
    assert differing and all(k.endswith(".html") for k in differing)
    assert all(stamp.sub("", a[k]) == stamp.sub("", b[k]) for k in differing)
    assert zip_pages(a) == zip_pages(a)
    names = zipfile.ZipFile(io.BytesIO(zip_pages(a))).namelist()
    assert names == sorted(a)


def test_a_failed_write_leaves_the_previous_pack_whole(tmp_path):
    target = tmp_path / "reports" / "2026-03-15"
    write_pack({"index.html": "old", "projects/a.html": "old a"}, target)
    assert (target / "index.html").read_text() == "old"

    with pytest.raises(OSError):  # the second page cannot be written (a file is in the way): fails half-way
        write_pack({"index.html": "new", "index.html/a.html": "new a"}, target)
    assert (target / "index.html").read_text() == "old" and (target / "projects/a.html").read_text() == "old a"
    write_pack({"index.html": "new"}, target)
    assert (target / "index.html").read_text() == "new" and not (target / "projects").exists()
    builds = list((tmp_path / "reports" / ".builds").iterdir())
    assert builds == [target.resolve()]  # the replaced pack and the failed attempt are gone


def test_the_weekly_job_wrote_the_pack_it_reports(home, data):
    target = home / "reports" / data.status_date.isoformat()
    assert target.is_symlink() and (target / "index.html").exists()
    assert (target / "assets" / "vega.js").stat().st_size > 100_000  # the runtime, shipped once
    assert not list(target.rglob("*.js"))[1:]  # and only once


def test_restated_figures_are_shown_each_as_its_kind_newest_week_and_largest_change_first(data):
    # Figures of two sent weeks recomputed later. In the newer week: a money figure, a ratio first sent as no figure
    # (NULL: no difference, still a change), a forecast finish (a date: it failed the whole pack, formatted as a
    # number) and an EV change too small to show. In the older week, an EAC change larger than any of them.
    pid, week = data.evm["project_id"].min(), data.status_date
    before = week - dt.timedelta(days=7)
    sent = pl.DataFrame({"project_id": [pid, pid], "status_date": [week, before],
                         "sent_at": [dt.datetime(2026, 1, 5, 9)] * 2, "bac": [1000.0] * 2, "pv": [500.0] * 2,
                         "ev": [400.0] * 2, "ac": [400.0] * 2, "eac": [1000.0] * 2, "cpi": [None, 1.0],
                         "spi": [0.8] * 2, "spi_t": [0.75] * 2, "baseline_version": [1, 1],
                         "forecast_finish": [week + dt.timedelta(days=24)] * 2})  # fmt: skip
    now = sent.drop("sent_at").with_columns(
        ev=pl.when(pl.col("status_date") == week).then(400.2).otherwise(400.0),
        ac=pl.when(pl.col("status_date") == week).then(1634.6).otherwise(400.0),
        cpi=pl.when(pl.col("status_date") == week).then(0.245).otherwise(1.0),
        eac=pl.when(pl.col("status_date") == week).then(1000.0).otherwise(9000.0),
        forecast_finish=pl.when(pl.col("status_date") == week).then(week + dt.timedelta(days=36))
        .otherwise(week + dt.timedelta(days=24)),
    )  # fmt: skip
    pages = render_pack(dataclasses.replace(data, restatements=restatements(sent, now)))
    body = pages["index.html"].split('id="restatements"')[1].split("<tbody>")[1].split("</tbody>")[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r)[1:] for r in body.split("<tr>")[1:]]
    finish_sent, finish_now = (str(week + dt.timedelta(days=d)) for d in (24, 36))
    assert rows == [
        [str(week), "cpi", "–", "0.24", "–"],  # from no figure to 0.245: first in its week
        [str(week), "ac", "400", "1,635", "+1,235"],  # 1634.6 − 400 = 1234.6, 309 % of the figure sent
        [str(week), "forecast_finish", finish_sent, finish_now, "+12 d"],  # 12 d of 24 to go, counted as 28: 43 %
        [str(before), "eac", "1,000", "9,000", "+8,000"],  # 800 %, but a week older
    ]  # the EV of 400.2 shows as 400, as sent: not listed
    # the download keeps the figures as the mart holds them
    downloaded = list(csv.DictReader(io.StringIO(pages["index.restatements.csv"].decode())))
    assert [(r["Measure"], r["Now"], r["Difference"]) for r in downloaded] == [
        ("cpi", "0.245", ""), ("ac", "1634.6", "1234.6"), ("forecast_finish", finish_now, "12.0"),
        ("eac", "9000.0", "8000.0")]  # fmt: skip


def test_milestone_trend_rows_plot_each_forecast_by_week_and_the_diagonal():
    d = dt.date
    weeks = [d(2026, 1, 4), d(2026, 1, 11), d(2026, 1, 18), d(2026, 1, 25)]
    history = pl.DataFrame(
        [
            # P's M1: no forecast before its first export (its baseline date 30 Jan is plotted), then 6 Feb,
            # then done on 9 Feb (the actual is plotted); a week after the pack's (25 Jan) is not shown
            ("P", "M1", weeks[0], "Go-live", d(2026, 1, 30), None, None, "on_track"),
            ("P", "M1", weeks[1], "Go-live", d(2026, 1, 30), d(2026, 2, 6), None, "slipped"),
            ("P", "M1", weeks[2], "Go-live", d(2026, 1, 30), d(2026, 2, 6), d(2026, 2, 9), "done_late"),
            ("P", "M1", weeks[3], "Go-live", d(2026, 1, 30), d(2026, 2, 6), d(2026, 2, 9), "done_late"),
            # Q has one week of history: no trend to draw
            ("Q", "M9", weeks[2], "Cut-over", d(2026, 3, 1), d(2026, 3, 1), None, "on_track"),
        ],
        schema=["project_id", "item_key", "status_date", "summary", "baseline_date", "forecast_date", "actual_date",
                "state"],
        orient="row",
    )  # fmt: skip
    rows = pack.milestone_trend_rows(history, weeks[2])
    assert rows.select("project_id", "layer", "date", "series", "forecast").rows() == [
        ("P", "line", weeks[0], "M1", d(2026, 1, 30)),
        ("P", "line", weeks[1], "M1", d(2026, 2, 6)),
        ("P", "line", weeks[2], "M1", d(2026, 2, 9)),
        # the diagonal, forecast = status date, from P's first week shown to its last
        ("P", "today", weeks[0], None, weeks[0]),
        ("P", "today", weeks[2], None, weeks[2]),
    ]
