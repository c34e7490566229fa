"""The warehouse's catalog, on a real DuckDB file: opening it runs its DDL only when the warehouse has not run this
release's (pipelines/warehouse.py DDL_DIGEST), and `table_exists` looks a name up."""

from __future__ import annotations

from pipelines import warehouse


def _columns(conn, table: str) -> list[str]:
    schema, name = table.split(".")
    return [c for (c,) in conn.sql(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        params=[schema, name],
    ).fetchall()]  # fmt: skip


def test_a_new_warehouse_gets_its_schemas_and_audit_tables_and_the_digest_of_the_ddl_it_ran(tmp_path):
    conn = warehouse.connect(tmp_path / "w.duckdb")
    try:
        schemas = {s for (s,) in conn.sql("SELECT schema_name FROM duckdb_schemas()").fetchall()}
        assert set(warehouse.SCHEMAS) <= schemas
        assert "digests" in _columns(conn, "audit.mart_marks")  # added by an ALTER TABLE of the DDL
        assert conn.sql("SELECT digest FROM audit.schema_ddl").fetchall() == [(warehouse.DDL_DIGEST,)]
    finally:
        conn.close()


def test_an_open_runs_the_ddl_again_only_when_the_warehouse_ran_another_releases(tmp_path):
    path = tmp_path / "w.duckdb"
    warehouse.connect(path).close()
    # A column that a release's DDL adds (ALTER TABLE ... ADD COLUMN IF NOT EXISTS) is missing.
    with warehouse.connect(path) as conn:
        conn.sql("ALTER TABLE audit.mart_marks DROP COLUMN digests")
    # The warehouse ran this release's DDL: opening it does not run it again (the column stays missing). This is
    # what saves the 6 ms of every open.
    with warehouse.connect(path) as conn:
        assert "digests" not in _columns(conn, "audit.mart_marks")
        # As after another release, or a warehouse from before the digest was kept.
        conn.sql("UPDATE audit.schema_ddl SET digest = 'an older release'")
    with warehouse.connect(path) as conn:
        assert "digests" in _columns(conn, "audit.mart_marks")
        assert conn.sql("SELECT digest FROM audit.schema_ddl").fetchall() == [(warehouse.DDL_DIGEST,)]
    with warehouse.connect(path) as conn:
        conn.sql("DROP TABLE audit.schema_ddl")
        conn.sql("ALTER TABLE audit.mart_marks DROP COLUMN digests")
    with warehouse.connect(path) as conn:
        assert "digests" in _columns(conn, "audit.mart_marks")


def test_a_read_only_open_writes_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    warehouse.connect(path).close()
    with warehouse.connect(path) as conn:
        conn.sql("UPDATE audit.schema_ddl SET digest = 'an older release'")
    with warehouse.connect(path, read_only=True) as conn:
        assert conn.sql("SELECT digest FROM audit.schema_ddl").fetchall() == [("an older release",)]


def test_table_exists_finds_a_table_or_a_view_of_that_schema_only(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        conn.sql("CREATE TABLE staging.worklogs (x INTEGER)")
        conn.sql("CREATE VIEW marts.latest AS SELECT 1 AS x")
        conn.sql("CREATE TEMP TABLE rates (x INTEGER)")
        assert warehouse.table_exists(conn, "staging", "worklogs")
        assert warehouse.table_exists(conn, "marts", "latest")
        assert not warehouse.table_exists(conn, "raw", "worklogs")  # the name, in another schema
        assert not warehouse.table_exists(conn, "staging", "rates")  # a temporary table is not of the schema
        assert not warehouse.table_exists(conn, "nowhere", "worklogs")
        conn.sql("DROP TABLE staging.worklogs")
        assert not warehouse.table_exists(conn, "staging", "worklogs")
