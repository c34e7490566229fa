"""What the mart steps read from the warehouse (pipelines/marts.py), on a real DuckDB file."""

from pathlib import Path

from pipelines import warehouse
from pipelines.marts import _elements


def test_the_elements_of_the_given_projects_come_from_the_files_and_the_freezes_in_element_order(tmp_path: Path):
    # Closure reads only its closed projects' elements: P's and R's, from staging (the baseline files) and from the
    # frozen versions (plans), sorted by project, version and element like every element read; Q's are left out.
    conn = warehouse.connect(tmp_path / "warehouse.duckdb")
    columns = "t(project_id, baseline_version, element_key, budget)"
    conn.sql("CREATE OR REPLACE TABLE staging.baselines AS SELECT * FROM (VALUES ('Q', 1, 'Q-1', 5), "
             f"('R', 2, 'R-2', 7), ('P', 2, 'P-9', 3), ('P', 2, 'P-1', 4)) {columns}")  # fmt: skip
    conn.sql("CREATE OR REPLACE TABLE plans.baselines AS SELECT * FROM (VALUES ('P', 1, 'P-1', 2), "
             f"('Q', 1, 'Q-2', 6)) {columns}")  # fmt: skip
    some = _elements(conn, "project_id", "baseline_version", "element_key", "budget", projects=["R", "P"])
    assert some.rows() == [("P", 1, "P-1", 2), ("P", 2, "P-1", 4), ("P", 2, "P-9", 3), ("R", 2, "R-2", 7)]
    keys = ("project_id", "baseline_version", "element_key")
    assert _elements(conn, *keys, projects=[]).height == 0
    assert _elements(conn, *keys).get_column("element_key").to_list() == ["P-1", "P-1", "P-9", "Q-1", "Q-2", "R-2"]
