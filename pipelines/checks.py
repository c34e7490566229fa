"""Freshness checks shown in the Dagster UI: one `fresh` check per raw export kind, read from
marts.source_freshness at its latest status date.

A stale source is a warning (severity WARN): the run goes on, the pack calls the week's figures provisional. A kind
that has never delivered a file passes with "no export yet": a source nobody uses is not late. Reference data
without a maximum age ([freshness] per_source) always passes.
"""

import dagster as dg

from pipelines import warehouse
from pipelines.assets import RAW_KEYS
from pipelines.resources import PmoHome

FRESHNESS = dg.AssetKey(["marts", "source_freshness"])
CHECK = "fresh"


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(CHECK, asset=key, additional_deps=[FRESHNESS],
                          description=f"The newest {kind} data is no older at the status date than [freshness] "
                          "allows (marts.source_freshness); a stale source makes the week's figures provisional.")
        for kind, key in RAW_KEYS.items()
    ],
    pool="warehouse",
)  # fmt: skip
def source_freshness_checks(pmo: PmoHome):
    """Each export kind's freshness at the latest status date of marts.source_freshness."""
    with pmo.connect() as conn:
        rows = []
        if warehouse.table_exists(conn, "marts", "source_freshness"):
            rows = conn.sql(
                "SELECT source_kind, status_date, data_through, age_days, max_age_days, stale, latest_export_file,"
                " dated_by FROM marts.source_freshness"
                " WHERE status_date = (SELECT max(status_date) FROM marts.source_freshness)"
            ).fetchall()
    found = {row[0]: row for row in rows}  # one row per kind: a lookup, not a computation over data rows
    for kind, key in RAW_KEYS.items():
        if kind not in found:
            yield dg.AssetCheckResult(
                asset_key=key, check_name=CHECK, passed=True, severity=dg.AssetCheckSeverity.WARN,
                metadata={"data_through": "no export yet"},
            )  # fmt: skip
            continue
        _, status_date, through, age, limit, stale, latest, dated_by = found[kind]
        yield dg.AssetCheckResult(
            asset_key=key, check_name=CHECK, passed=not stale, severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "status_date": status_date.isoformat(),
                "data_through": through.isoformat() if through else "unknown",
                "age_days": age if age is not None else "unknown",
                "max_age_days": limit if limit is not None else "none (reference data)",
                "latest_export_file": latest or "",
                "dated_by": dated_by or "",
            },
        )  # fmt: skip
