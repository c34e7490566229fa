"""Real exports from ../shared/realdata (read in place, never copied): every row accounted for."""

import polars as pl

from tests.staging_helpers import file_counts, realdata, stage_realdata

pytestmark = realdata


def test_jira_cloud_export():
    _, staged = stage_realdata("jira/testautogen_jira_cloud_export_2025.csv")
    assert file_counts(staged)["rows_loaded"] > 0
    item = staged.tables["work_items"].filter(pl.col("item_key") == "TES-24").row(0, named=True)
    # The file says: TES-24, "Bug Fixing: problem in production", In Progress, created 22/Sep/25 9:09 AM.
    assert (item["status"], item["status_category"], str(item["created"])) == ("In Progress", "doing", "2025-09-22")
    assert item["source_project_key"] == "TES" and item["priority"] == "medium"


def test_snipeit_assets_sample():
    _, staged = stage_realdata("snipeit/VENDOR_SAMPLE_assets-sample.csv")
    file_counts(staged)
    asset = staged.tables["assets"].filter(pl.col("asset_tag") == "ICC-2065556").row(0, named=True)
    # The file says: Backhoe, Purchase Date 1/23/23, Purchase Cost 2266.13, EOL 10/27/28.
    assert (asset["name"], str(asset["purchase_date"]), float(asset["purchase_cost"])) == (
        "Backhoe",
        "2023-01-23",
        2266.13,
    )
    assert str(asset["eol_date"]) == "2028-10-27"
