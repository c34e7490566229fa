"""Inbox file names and links can make the product neither read nor write outside its home: symbolic links are not
followed (by the ingestion or the sensor), names with `..`, line ends, quotes, bidi overrides, markup, undecodable
bytes or 250 characters are recorded as their relative name and quoted escaped; and one real `pmo run` on such an
inbox exits 3 naming each bad file, with no traceback, and an escaped data-quality page."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines import ingest as ingest_module
from pipelines import warehouse
from pipelines.ingest import ingest
from pipelines.sensors import scan
from tests.bad_input import corpus
from tests.conftest import write_inbox

LAB = corpus.to_csv(corpus.lab_rows(3, 12))  # a valid Tempo export: it would load if it were read


def tree(root: Path, skip: Path | None = None) -> dict[str, bytes]:
    """Every file under root (not following links) and its bytes, leaving out the folder `skip`."""
    out = {}
    for folder, dirs, names in os.walk(root):
        if skip is not None and Path(folder) == skip:
            dirs[:] = []
            continue
        for name in names:
            path = Path(folder) / name
            out[str(path.relative_to(root))] = b"<link>" if path.is_symlink() else path.read_bytes()
    return out


def test_links_out_of_the_inbox_are_read_neither_by_the_ingestion_nor_by_the_sensor(tmp_path):
    outside = tmp_path / "outside"
    (outside / "more").mkdir(parents=True)
    (outside / "secret.csv").write_bytes(LAB)
    (outside / "more" / "tempo.csv").write_bytes(LAB.replace(b"LAB12", b"LAB13"))
    inbox = write_inbox(tmp_path / "home" / "inbox", {"tempo/real.csv": LAB})
    (inbox / "tempo" / "link.csv").symlink_to(outside / "secret.csv")
    (inbox / "passwd.csv").symlink_to("/etc/passwd")
    (inbox / "linked_folder").symlink_to(outside / "more", target_is_directory=True)
    with warehouse.connect(tmp_path / "home" / "warehouse.duckdb") as conn:
        summary = ingest(conn, inbox)
        paths = conn.sql("SELECT path FROM audit.files").fetchall()
        projects = conn.sql("SELECT DISTINCT source_project_key FROM staging.worklogs").fetchall()
    assert paths == [("tempo/real.csv",)] and summary.new_files == 1
    assert projects == [("LAB12",)]  # LAB13 is only behind the folder link
    seen, changed = scan(inbox, {})
    assert sorted(seen) == ["tempo/real.csv"] and changed == ["tempo/real.csv"]


def test_a_file_swapped_for_a_link_after_the_listing_is_not_read(tmp_path, monkeypatch):
    """The race the listing cannot see: the file is opened without following a link, so a link put in its place
    between the listing and the read is refused (and said), not followed."""
    (tmp_path / "secret.csv").write_bytes(LAB)
    inbox = tmp_path / "home" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "swapped.csv").symlink_to(tmp_path / "secret.csv")
    monkeypatch.setattr(ingest_module, "inbox_files", lambda _inbox: [inbox / "swapped.csv"])
    with warehouse.connect(tmp_path / "home" / "warehouse.duckdb") as conn:
        summary = ingest(conn, inbox)
        assert conn.sql("SELECT count(*) FROM audit.files").fetchall() == [(0,)]
    assert summary.problems == ["swapped.csv: not read (Too many levels of symbolic links)"]


ODD = {
    # name on disk: (name recorded in audit.files.path, name as messages quote it)
    "x..%2f..%2fetc%2fpasswd.csv": ("x..%2f..%2fetc%2fpasswd.csv", "x..%2f..%2fetc%2fpasswd.csv"),
    "line\nbreak.csv": ("line\nbreak.csv", "line\\nbreak.csv"),
    "quo\"te's;,.csv": ("quo\"te's;,.csv", "quo\"te's;,.csv"),
    "report\u202evsc.exe": ("report\u202evsc.exe", "report\\u202evsc.exe"),  # shows as "reportexe.csv" unescaped
    "<img src=x onerror=alert(1)>.csv": ("<img src=x onerror=alert(1)>.csv", "<img src=x onerror=alert(1)>.csv"),
    "n" * 246 + ".csv": ("n" * 246 + ".csv", "n" * 246 + ".csv"),  # 250 bytes: near the 255-byte limit
}


def test_odd_file_names_are_recorded_as_their_relative_name_and_quoted_escaped(tmp_path):
    home = tmp_path / "home"
    inbox = home / "inbox"
    (inbox / "sub").mkdir(parents=True)
    for i, name in enumerate(ODD):  # binary content, each different: each is its own unreadable file
        (inbox / "sub" / name).write_bytes(b"\x00junk" + bytes([i]))
    (inbox / "sub" / "..%2fhidden.csv").write_bytes(LAB)  # a dotfile: not an export
    os.mkdir(os.fsencode(inbox) + b"/caf\xe9")  # a folder whose name is not UTF-8 (Latin-1 é)
    with open(os.fsencode(inbox) + b"/caf\xe9/r\xe9sum\xe9.csv", "wb") as handle:
        handle.write(b"\x00latin-1 name")
    (tmp_path / "neighbour.txt").write_text("untouched")
    before = tree(tmp_path, skip=home)
    with warehouse.connect(home / "warehouse.duckdb") as conn:
        summary = ingest(conn, inbox)
        recorded = dict(conn.sql("SELECT path, message FROM audit.files").fetchall())
    expected = {f"sub/{path}": f"sub/{shown}: the file holds binary data (NUL bytes), not delimited text"
                for path, shown in ODD.values()}  # fmt: skip
    expected["caf\\xe9/r\\xe9sum\\xe9.csv"] = (
        "caf\\xe9/r\\xe9sum\\xe9.csv: the file holds binary data (NUL bytes), not delimited text"
    )
    assert recorded == expected
    assert sorted(summary.problems) == sorted(expected.values())
    for problem in summary.problems:  # one line each, and no character that reorders what a reader sees
        assert "\n" not in problem and "\u202e" not in problem
    assert tree(tmp_path, skip=home) == before  # nothing written, moved or removed outside the home
    assert sorted(p.name for p in home.iterdir()) == ["inbox", "warehouse.duckdb"]


def pmo(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *map(str, args)], capture_output=True, text=True, timeout=600,
        env={**os.environ, "PMO_SMTP_HOST": "", **(env or {})},
    )  # fmt: skip


def test_pmo_run_on_a_bad_inbox_exits_3_naming_each_file_without_a_traceback(tmp_path):
    home = tmp_path / "home"
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.csv").write_bytes(LAB)
    bad = {
        "tempo/truncated_mid_quote.csv": corpus.truncated_mid_quote(),
        "exports/<img src=x onerror=alert(1)>.csv": corpus.binary_gzip(),
        "exports/line\nbreak.csv": corpus.binary_noise(),
        "exports/report\u202evsc.exe": corpus.wrong_delimiter(),
    }
    inbox = write_inbox(home / "inbox", corpus.demo() | bad)
    (inbox / "tempo" / "link.csv").symlink_to(tmp_path / "outside" / "secret.csv")
    before = tree(tmp_path, skip=home)
    done = pmo("run", "--inbox", inbox, "--home", home)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = done.stdout.splitlines()
    for expected in [
        "  rejected     tempo/truncated_mid_quote.csv: critical rule truncated: the file ends inside this quoted "
        "field (an interrupted download or export?) broken on line 8, column Work Description",
        "  unreadable   exports/<img src=x onerror=alert(1)>.csv: the file holds binary data (NUL bytes), not "
        "delimited text",
        "  unreadable   exports/line\\nbreak.csv: not a delimited file: its quotes and line ends make no rows",
        "  parsed       exports/report\\u202evsc.exe: 5 of 5 rows rejected",
    ]:
        assert expected in lines, done.stdout
    assert not any(line.startswith("break.csv") for line in lines)  # the name's line end did not start a line
    assert "\u202e" not in done.stdout + done.stderr
    page = (home / "reports" / "2026-03-15" / "data-quality.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in page and "<img src=x" not in page
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(*) FROM audit.files WHERE path = 'tempo/link.csv'").fetchall() == [(0,)]
        assert conn.sql("SELECT count(*) FROM staging.worklogs WHERE source_project_key = 'LAB12'").fetchall() == [(0,)]
    assert tree(tmp_path, skip=home) == before  # the run wrote nothing outside its home
