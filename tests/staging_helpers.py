"""Stage export files in memory the way the pipeline does (file ids 1, 2, ... in the order given)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data_contracts.contract import all_contracts, detect
from transforms.ingest import ParsedFile, parse_export
from transforms.staging import Staged, stage_all
from transforms.textio import read_table

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Tests that read ../shared/realdata (CI has it beside the checkout) are skipped, visibly, without it.
realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not beside the checkout")


def stage_exports(files: dict[str, bytes]) -> tuple[list[ParsedFile], Staged]:
    """Parse and stage files given as {inbox-relative path: bytes}; every file must be recognised."""
    parsed = [parse_export(path, data) for path, data in files.items()]
    raws: dict[str, list[pl.DataFrame]] = {}
    for file_id, p in enumerate(parsed, start=1):
        assert p.status == "parsed", p.message
        raws.setdefault(p.kind, []).append(p.rows.with_columns(pl.lit(file_id, pl.Int64).alias("_source_file")))
    return parsed, stage_all({k: pl.concat(v, how="diagonal") for k, v in raws.items()})


def stage_realdata(*relative: str) -> tuple[list[ParsedFile], Staged]:
    """Stage files of ../shared/realdata, read in place (never copied into the repository)."""
    return stage_exports({r: (REALDATA / r).read_bytes() for r in relative})


def file_counts(staged: Staged, file_id: int = 1) -> dict:
    """The file's accounting, after checking that rows in file = loaded + duplicate + skipped + rejected."""
    row = staged.files.filter(pl.col("_source_file") == file_id).row(0, named=True)
    accounted = row["rows_loaded"] + row["rows_duplicate"] + row["rows_skipped"] + row["rows_rejected"]
    assert row["rows_in_file"] == accounted, row
    assert min(row["rows_loaded"], row["rows_duplicate"], row["rows_skipped"], row["rows_rejected"]) >= 0, row
    return row


def full_matches(data: bytes) -> tuple[str | None, list[str]]:
    """The kind detected for a file, and every kind whose whole signature its header carries."""
    headers = [c for c in read_table(data)[0].columns if c != "_line"]
    kinds = [c.kind for c in all_contracts().values() if set(c.signature) <= {c.canonical_name(h) for h in headers}]
    return detect(headers)[0], kinds


def stage_fixtures(kind: str, *names: str) -> tuple[list[ParsedFile], Staged]:
    """Stage fixture files of tests/fixtures/<kind>/ from a folder that names no kind: the header decides."""
    return stage_exports({f"drop/{n}": (FIXTURES / kind / n).read_bytes() for n in names})


def worklogs_by_line(staged: Staged) -> dict[int, dict]:
    return {r["_line"]: r for r in staged.tables["worklogs"].iter_rows(named=True)}
