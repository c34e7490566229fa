"""The plain-CSV load (pipelines/ingest.py `_load_plain`): DuckDB's CSV reader straight into raw.<kind>, for files
textio.plain_layout accepts. Its raw rows, `_line` numbers and audit.files rows must equal those of the
parse_export path, which loads every other file."""

import codecs
import dataclasses
import hashlib

import duckdb
import pytest

from pipelines import ingest as ingest_module
from pipelines import warehouse
from tests.bad_input import corpus
from tests.conftest import write_inbox
from transforms import textio
from transforms.textio import MAX_FIELD_CHARS, plain_layout

REAL_LOAD_PLAIN = ingest_module._load_plain
TEMPO = "Worklog Id,Issue Key,Hours,Work date,Full name,Project Key"


def tempo(*rows: str, header: str = TEMPO, end: str = "\n", bom: bool = False) -> bytes:
    text = end.join([header, *rows]) + end
    return (codecs.BOM_UTF8 if bom else b"") + text.encode()


@pytest.fixture
def small_plain(monkeypatch):
    """Let files of any size take the plain path (it skips files under 1 MiB, where it saves nothing)."""
    monkeypatch.setattr(textio, "PLAIN_MIN_BYTES", 0)


def load(tmp_path, files: dict[str, bytes], name: str, plain: bool, monkeypatch) -> tuple[dict, list]:
    """Load an inbox with (or without) the plain path; the raw tables in storage order, audit.files without
    loaded_at, and the files the plain path loaded."""
    taken = []

    def spy(conn, relative, *args):
        result = REAL_LOAD_PLAIN(conn, relative, *args) if plain else None
        if result is not None:
            taken.append(relative)
        return result

    monkeypatch.setattr(ingest_module, "_load_plain", spy)
    inbox = write_inbox(tmp_path / name / "inbox", files)
    with warehouse.connect(tmp_path / name / "w.duckdb") as conn:
        conn.sql("BEGIN TRANSACTION")
        ingest_module.load_new_files(conn, inbox, ingest_module.IngestSummary())
        conn.sql("COMMIT")
        tables = [r[0] for r in conn.sql("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()]
        raw = {t: (conn.sql(f"SELECT * FROM raw.{t}").columns, conn.sql(f"SELECT * FROM raw.{t}").fetchall())
               for t in sorted(tables)}  # fmt: skip
        files_rows = conn.sql("SELECT * EXCLUDE (loaded_at) FROM audit.files ORDER BY file_id").fetchall()
    return {"raw": raw, "files": files_rows}, taken


def both(tmp_path, files, monkeypatch):
    old, none = load(tmp_path, files, "old", False, monkeypatch)
    new, taken = load(tmp_path, files, "new", True, monkeypatch)
    assert none == []
    return old, new, taken


def test_a_plain_file_loads_with_the_same_rows_lines_and_audit_row(tmp_path, monkeypatch, small_plain):
    data = tempo("1,A-1,2.5,2026-03-02,Ana,A", "2,A-2,,2026-03-03, Bea ,A", "3,A-3,1,2026-03-04,Zoë,A")
    old, new, taken = both(tmp_path, {"tempo/t.csv": data}, monkeypatch)
    assert taken == ["tempo/t.csv"]
    assert new == old
    columns, rows = new["raw"]["tempo_worklogs"]
    assert columns == ["_line", "Worklog Id", "Issue Key", "Hours", "Work date", "Full name", "Project Key",
                       "_source_file"]  # fmt: skip
    # Records on lines 2, 3, 4; the empty Hours is NULL, the spaces around " Bea " are kept.
    assert rows == [
        (2, "1", "A-1", "2.5", "2026-03-02", "Ana", "A", 1),
        (3, "2", "A-2", None, "2026-03-03", " Bea ", "A", 1),
        (4, "3", "A-3", "1", "2026-03-04", "Zoë", "A", 1),
    ]
    # file_id 1, 3 rows in the file, parsed, encoding utf-8, comma
    assert [(f[0], f[4], f[5], f[6], f[7], f[14]) for f in new["files"]] == [
        (1, "tempo_worklogs", "utf-8", ",", 3, "parsed")
    ]


@pytest.mark.parametrize(
    "data",
    [
        tempo("1,A-1,2.5,2026-03-02,Ana,A", "2,A-2,3,2026-03-03,Bea,A", end="\r\n", bom=True),  # Excel: BOM + CRLF
        tempo("1;A-1;2,5;2026-03-02;Ana;A", "2;A-2;3;2026-03-03;Bea;A", header=TEMPO.replace(",", ";")),
        tempo("1\tA-1\t2.5\t2026-03-02\tAna\tA", header=TEMPO.replace(",", "\t")),
        # a column the contract does not know (kept out of raw, said in the message), and an alias of Worklog Id
        tempo("1,A-1,2.5,2026-03-02,Ana,A,x", header=TEMPO.replace("Worklog Id", "Tempo Worklog ID") + ",Extra"),
        # fields that are only spaces in a row that is not blank, trailing empty field
        tempo("1,A-1,  ,2026-03-02,Ana,", "2,  ,3,2026-03-03,Bea,A"),
    ],
    ids=["bom-crlf", "semicolon", "tab", "extra-column", "spaces-and-empties"],
)
def test_plain_files_load_like_the_parse_export_path(tmp_path, monkeypatch, small_plain, data):
    old, new, taken = both(tmp_path, {"tempo/t.csv": data}, monkeypatch)
    assert taken == ["tempo/t.csv"]
    assert new == old


def test_repeated_jira_headers_keep_their_suffixed_columns(tmp_path, monkeypatch, small_plain):
    header = "Summary,Issue key,Issue id,Status,Labels,Labels,Created"
    data = tempo("S1,K-1,10001,Done,a,b,22/Sep/25 9:26 AM", "S2,K-2,10002,To Do,,c,22/Sep/25 9:26 AM", header=header)
    old, new, taken = both(tmp_path, {"jira/j.csv": data}, monkeypatch)
    assert taken == ["jira/j.csv"] and new == old
    columns, rows = new["raw"]["jira_issues"]
    assert "Labels__2" in columns and rows[1][columns.index("Labels")] is None
    assert rows[1][columns.index("Labels__2")] == "c"


@pytest.mark.parametrize(
    "data",
    [
        tempo('1,A-1,2.5,2026-03-02,"Ana\nAlmeida",A', "2,A-2,3,2026-03-03,Bea,A"),  # a quoted line end
        tempo('1,A-1,2.5,2026-03-02,"Ana, A.",A'),  # any quote at all
        tempo("1,A-1,2.5,2026-03-02,Ana,A", "", "2,A-2,3,2026-03-03,Bea,A"),  # a blank line
        tempo("1,A-1,2.5,2026-03-02,Ana,A", " , ,\u3000,,,", "2,A-2,3,2026-03-03,Bea,A"),  # a blank row
        tempo("1,A-1,2.5,2026-03-02,Ana,A,surplus"),  # more fields than the header
        tempo("1,A-1,2.5,2026-03-02,Ana"),  # fewer
        tempo("1;A-1;2.5;2026-03-02;Ana;A,,,,,"),  # one field, the rest empty: split by another delimiter?
        tempo("1,A-1,2.5,2026-03-02,Ana,A", "2,A-2,3,2026-03-03,Bea,A", end="\r"),  # old Mac line ends
        tempo("1,A-1,2.5,2026-03-02,Ana,A\r", "2,A-2,3,2026-03-03,Bea,A"),  # CRLF on some lines only
        tempo("1,A-1,2.5,2026-03-02,Ana,A")[:-1],  # no line end at the end
        tempo("1,A-1,2.5,2026-03-02,Jo\u00e3o,A").replace("ã".encode(), "ã".encode("cp1252")),  # not UTF-8
        tempo("1,A-1,2.5,2026-03-02," + "x" * (MAX_FIELD_CHARS + 1) + ",A"),  # a field too long to be real
        b"Issue Key\tHours\tWork date\tFull name\tProject Key\n\x00A-1\t1\t2026-03-02\tAna\tA\n",  # NUL
    ],
    ids=[
        "quoted-newline",
        "quote",
        "blank-line",
        "blank-row",
        "more-fields",
        "fewer-fields",
        "other-delimiter",
        "cr-only",
        "mixed-line-ends",
        "no-final-line-end",
        "cp1252",
        "too-long",
        "nul",
    ],  # fmt: skip
)
def test_files_that_are_not_plain_fall_back_and_load_as_before(tmp_path, monkeypatch, small_plain, data):
    assert plain_layout(data) is None
    old, new, taken = both(tmp_path, {"tempo/t.csv": data}, monkeypatch)
    assert taken == [] and new == old


def test_headers_parse_export_does_not_load_as_they_are_fall_back(tmp_path, monkeypatch, small_plain):
    files = {
        "drop/mystery.csv": b"Foo,Bar\n1,2\n",  # unrecognised
        "tempo/short.csv": b"Issue Key,Hours,Work date,Full name\nA-1,1,2026-03-02,Ana\n",  # no Project Key
        "tempo/twice.csv": tempo("1,A-1,2,2026-03-02,Ana,A,3", header=TEMPO + ",Hours"),  # Hours twice, differing
    }
    old, new, taken = both(tmp_path, files, monkeypatch)
    assert taken == [] and new == old
    assert [f[14] for f in new["files"]] == ["unrecognised", "rejected", "parsed"]


def test_small_files_keep_the_parse_export_path():
    row = "1,A-1,2.5,2026-03-02,Ana,A"  # 27 bytes with its line end; the header line is 59
    under = tempo(*[row] * 38_833)  # 59 + 38,833 × 27 = 1,048,550 bytes: 26 under 1 MiB (1,048,576)
    over = tempo(*[row] * 38_834)  # 1,048,577 bytes: 1 over
    assert (len(under), len(over)) == (1_048_550, 1_048_577)
    assert plain_layout(under) is None and plain_layout(over).records == 38_834


def test_a_file_past_a_row_group_keeps_every_line_number_in_order(tmp_path, monkeypatch):
    # 130,000 rows (over one 122,880-row group) and over 1 MiB: the plain path at its real threshold.
    rows = [f"{i},A-{i % 97},0.25,2026-03-02,Ana {i % 13},A" for i in range(1, 130_001)]
    data = tempo(*rows)
    assert len(data) > 1 << 20
    old, new, taken = both(tmp_path, {"tempo/big.csv": data}, monkeypatch)
    assert taken == ["tempo/big.csv"] and new == old
    columns, loaded = new["raw"]["tempo_worklogs"]
    # Worklog Id i is on line i + 1, in file order.
    assert [(r[0], r[1]) for r in loaded[:2]] == [(2, "1"), (3, "2")] and loaded[-1][:2] == (130_001, "130000")


def test_the_reader_reads_the_bytes_read_and_hashed_not_the_file_an_exporter_rewrites(
    tmp_path, monkeypatch, small_plain
):
    """DuckDB's reader is given the bytes already read (an in-memory file): an exporter rewriting the file during
    the run changes nothing of what is loaded, and raw holds what the recorded sha256 says."""
    data = tempo("1,A-1,2.5,2026-03-02,Ana,A", "2,A-2,1,2026-03-02,Bea,A")
    read = ingest_module._read_regular

    def read_then_rewritten(path):
        got = read(path)
        path.write_bytes(data.replace(b"A-", b"Z-").replace(b"\n2,", b"\n3,"))  # the next export, mid-run
        return got

    monkeypatch.setattr(ingest_module, "_read_regular", read_then_rewritten)
    new, taken = load(tmp_path, {"tempo/t.csv": data}, "new", True, monkeypatch)
    assert taken == ["tempo/t.csv"]
    assert [(r[0], r[1], r[2]) for r in new["raw"]["tempo_worklogs"][1]] == [(2, "1", "A-1"), (3, "2", "A-2")]
    assert new["files"][0][2] == hashlib.sha256(data).hexdigest()


def test_a_plain_load_never_aborts_the_transaction_on_what_duckdb_would_refuse(tmp_path, monkeypatch, small_plain):
    """Everything DuckDB's strict reader refuses is refused by plain_layout first: the transaction goes on."""
    files = {"tempo/a.csv": tempo("1,A-1,2.5,2026-03-02,Ana,A,extra"), "tempo/b.csv": tempo("2,A-2,1,2026-03-02,B,A")}
    new, taken = load(tmp_path, files, "new", True, monkeypatch)
    assert taken == ["tempo/b.csv"] and [f[14] for f in new["files"]] == ["parsed", "parsed"]
    with pytest.raises(duckdb.Error):  # what DuckDB would have said of a.csv
        duckdb.sql(
            f"SELECT * FROM read_csv('{tmp_path / 'new/inbox/tempo/a.csv'}', header = true, auto_detect = false,"
            " columns = {'a': 'VARCHAR', 'b': 'VARCHAR', 'c': 'VARCHAR', 'd': 'VARCHAR', 'e': 'VARCHAR',"
            " 'f': 'VARCHAR'}, strict_mode = true)"
        ).fetchall()


def test_a_reader_giving_other_records_than_the_lines_falls_back(tmp_path, monkeypatch, small_plain):
    """A count check against the file's lines: were DuckDB's reader to read fewer or more records (as it silently
    reads none with new_line='\\r\\n'), its rows go and parse_export reads the file."""
    real = ingest_module.plain_layout

    def miscounted(data):
        layout = real(data)
        return None if layout is None else dataclasses.replace(layout, records=layout.records + 1)

    monkeypatch.setattr(ingest_module, "plain_layout", miscounted)
    data = tempo("1,A-1,2.5,2026-03-02,Ana,A", "2,A-2,3,2026-03-03,Bea,A")
    old, new, taken = both(tmp_path, {"tempo/t.csv": data}, monkeypatch)
    assert taken == [] and new == old
    assert len(new["raw"]["tempo_worklogs"][1]) == 2  # 2 records, loaded once


@pytest.mark.parametrize("case", [*sorted(corpus.cases()), "demo"])
def test_the_bad_input_corpus_and_the_demo_inbox_load_alike_with_the_plain_path(tmp_path, monkeypatch, small_plain,
                                                                                 case):  # fmt: skip
    """Every file of every size may take the plain path here: whichever it takes, raw and audit.files are the same."""
    files = corpus.demo() if case == "demo" else corpus.cases()[case]
    old, new, taken = both(tmp_path, files, monkeypatch)
    assert new == old
    if case == "demo":  # most of the demo's exports are plain CSV; the loads above prove the path was taken
        assert len(taken) >= len(files) // 2, taken


def test_the_bytes_that_make_a_row_not_blank_are_those_polars_does_not_strip():
    import polars as pl

    ascii_chars = [chr(b) for b in range(0x80)]
    stripped = pl.Series(ascii_chars).str.strip_chars().to_list()
    # polars strips 6 ASCII characters: tab, LF, VT, FF, CR (9-13) and the space (32); every other ASCII byte is solid
    assert [b for b in range(0x80) if stripped[b] == ""] == [9, 10, 11, 12, 13, 32]
    assert all(textio._SOLID[b] == (stripped[b] != "") for b in range(0x80))
    assert not textio._SOLID[0x80:].any()  # U+00A0, U+3000...: a byte >= 0x80 may be part of a space
