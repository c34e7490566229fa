"""Work the pack does once for many pages or packs must give the bytes the one-at-a-time way gives: the CSV of
every project's table from one write (tables.csv_by_key) and the zip whose first member is compressed once
(pack.zip_pages)."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import polars as pl

from reports.pack import by_project, zip_pages
from reports.tables import csv_by_key, table

COLUMNS = [("project_id", "Project"), ("note", "Note"), ("value", "Value", "number"), ("week", "Week", "date"),
           ("amount", "Amount", "money")]  # fmt: skip


def _frame(notes: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "project_id": ["P-1", "P-2", "P-1"],
            "note": notes,
            "value": [1.5, None, 2.0],
            "week": [dt.date(2026, 1, 4), dt.date(2026, 1, 11), dt.date(2026, 1, 11)],
            "amount": [Decimal("10.50"), Decimal("3.00"), Decimal("-7.25")],
        },
        schema_overrides={"amount": pl.Decimal(12, 2)},
    )


def test_each_projects_csv_from_one_write_is_the_csv_of_its_own_rows():
    parts = by_project(_frame(["=SUM(A1)", "fine", None]))
    batched = csv_by_key(parts, COLUMNS)
    # P-1 keeps its two rows in order; the formula gets its apostrophe, the decimal its two places, NULL is empty.
    header = b"Project,Note,Value,Week,Amount\n"
    assert batched["P-1"] == header + b"P-1,'=SUM(A1),1.5,2026-01-04,10.50\nP-1,,2.0,2026-01-11,-7.25\n"
    assert batched["P-2"] == header + b"P-2,fine,,2026-01-11,3.00\n"
    assert batched == {pid: table("t", "t", part, COLUMNS).to_csv() for pid, part in parts.items()}


def test_a_line_break_in_a_cell_leaves_each_table_to_write_its_own_csv():
    parts = by_project(_frame(["two\nlines", "fine", None]))
    assert csv_by_key(parts, COLUMNS) == {}  # one line per row no longer holds: nothing precomputed
    assert csv_by_key({}, COLUMNS) == {}
    # ... and the table's own CSV quotes the cell: P-1 is 3 lines of text, 4 lines of file.
    assert table("t", "t", parts["P-1"], COLUMNS).to_csv().count(b"\n") == 4


def _afresh(pages: dict[str, str | bytes]) -> bytes:
    """The zip written member by member in one go, as zip_pages wrote it before it kept the first member."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(pages):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            content = pages[name]
            archive.writestr(info, content.encode("utf-8") if isinstance(content, str) else content)
    return buffer.getvalue()


def test_the_zip_with_its_first_member_compressed_once_is_the_zip_written_afresh():
    runtime = "window.vegaEmbed = function () {};\n" * 2000
    one = {"assets/vega.js": runtime, "index.html": "<p>one</p>", "projects/P-1.csv": b"a,b\n1,2\n"}
    two = {"assets/vega.js": runtime, "index.html": "<p>two</p>"}
    other = {"assets/vega.js": runtime.replace("{}", "{ }"), "index.html": "<p>two</p>"}
    for pages in (one, two, one, other, {}):  # the second `one` and `two` reuse the first member's compression
        assert zip_pages(pages) == _afresh(pages)
    assert zip_pages(two) != zip_pages(other)  # a different first member is compressed again, not reused
    archive = zipfile.ZipFile(io.BytesIO(zip_pages(one)))
    assert archive.namelist() == ["assets/vega.js", "index.html", "projects/P-1.csv"]
    assert archive.read("projects/P-1.csv") == b"a,b\n1,2\n" and archive.read("assets/vega.js") == runtime.encode()


def test_the_vega_script_is_bundled_once_and_read_back_from_the_cache_folder(tmp_path):
    import vl_convert

    from reports.charts import runtime

    bundled = runtime(tmp_path / "first")
    kept = tmp_path / "first" / f"vega-{vl_convert.__version__}.js"
    assert kept.read_text(encoding="utf-8") == bundled == runtime()  # the same script as bundling afresh
    assert bundled.count("vegaEmbed") > 0 and [p.name for p in kept.parent.iterdir()] == [kept.name]  # no leftovers
    # A later run finds the file and does not bundle: what it returns is what the file says.
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / kept.name).write_text("/* kept */", encoding="utf-8")
    assert runtime(tmp_path / "second") == "/* kept */"
