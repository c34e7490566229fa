"""Restatements (../shared/EVM.md "Progress over time"): a week whose pack was sent is frozen; a later correction
(a late timesheet, a corrected export) shows beside the figures as sent, never as a silent change.

Grain of the output: one row per project, status date and measure whose recomputed value differs from the value
sent: as_sent, restated, difference (restated − as_sent), sent_at.
"""

from __future__ import annotations

import polars as pl

MEASURES = ["bac", "pv", "ev", "ac", "eac", "cpi", "spi", "spi_t", "baseline_version", "forecast_finish"]
SENT_COLUMNS = ["project_id", "status_date", *MEASURES]


def restatements(sent: pl.DataFrame, evm: pl.DataFrame) -> pl.DataFrame:
    """sent: history.evm_sent (project_id, status_date, sent_at and MEASURES); evm: marts.evm_weekly."""
    key = ["project_id", "status_date"]
    now = evm.select(*key, *MEASURES)
    joined = sent.select(*key, "sent_at", *MEASURES).join(now, on=key, how="left", suffix="_now")
    parts = []
    for m in MEASURES:  # a loop over ten measures, not over rows
        text = pl.col(m).cast(pl.String)
        later = pl.col(f"{m}_now").cast(pl.String)
        changed = joined.filter(text.ne_missing(later)).select(
            *key,
            pl.lit(m).alias("measure"),
            text.alias("as_sent"),
            later.alias("restated"),
            (
                (pl.col(f"{m}_now").cast(pl.Float64) - pl.col(m).cast(pl.Float64))
                if m != "forecast_finish"
                else (pl.col(f"{m}_now") - pl.col(m)).dt.total_days().cast(pl.Float64)
            ).alias("difference"),
            "sent_at",
        )
        parts.append(changed)
    schema = {"project_id": pl.String, "status_date": pl.Date, "measure": pl.String, "as_sent": pl.String,
              "restated": pl.String, "difference": pl.Float64, "sent_at": pl.Datetime("us")}  # fmt: skip
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([p.cast(schema) for p in parts]).sort(*key, "measure")
