"""Real exports from ../shared/realdata (read in place, never copied): every row accounted for."""

from pathlib import Path

import polars as pl
import pytest

from transforms.ingest import parse_export
from transforms.staging import stage

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not beside the checkout")


def _stage(relative: str):
    parsed = parse_export(relative, (REALDATA / relative).read_bytes())
    assert parsed.status == "parsed", parsed.message
    return parsed, stage(parsed.kind, parsed.rows.with_columns(pl.lit(1, pl.Int64).alias("_source_file")))


def test_jira_cloud_export():
    parsed, staged = _stage("jira/testautogen_jira_cloud_export_2025.csv")
    counts = staged.counts.row(0, named=True)
    assert counts["rows_in_file"] == counts["rows_loaded"] + counts["rows_duplicate"] + counts["rows_rejected"]
    assert counts["rows_loaded"] > 0
    item = staged.rows.filter(pl.col("item_key") == "TES-24").row(0, named=True)
    # The file says: TES-24, "Bug Fixing: problem in production", In Progress, created 22/Sep/25 9:09 AM.
    assert (item["status"], item["status_category"], str(item["created"])) == ("In Progress", "doing", "2025-09-22")
    assert item["source_project_key"] == "TES" and item["priority"] == "medium"


def test_snipeit_assets_sample():
    parsed, staged = _stage("snipeit/VENDOR_SAMPLE_assets-sample.csv")
    counts = staged.counts.row(0, named=True)
    assert counts["rows_in_file"] == counts["rows_loaded"] + counts["rows_duplicate"] + counts["rows_rejected"]
    asset = staged.rows.filter(pl.col("asset_tag") == "ICC-2065556").row(0, named=True)
    # The file says: Backhoe, Purchase Date 1/23/23, Purchase Cost 2266.13, EOL 10/27/28.
    assert (asset["name"], str(asset["purchase_date"]), float(asset["purchase_cost"])) == (
        "Backhoe",
        "2023-01-23",
        2266.13,
    )
    assert str(asset["eol_date"]) == "2028-10-27"
