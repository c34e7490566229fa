"""Snipe-IT asset export → canonical assets, one row per asset tag."""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage


def assets(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per asset. The Snipe-IT company is the cost centre the project map knows."""
    return typed.select(
        pl.col("Asset Tag").alias("asset_tag"),
        pl.lit("snipeit").alias("source_kind"),
        pl.col("Name").alias("name"),
        pl.col("Category").alias("category"),
        pl.col("Model").alias("model"),
        pl.col("Serial").alias("serial"),
        pl.col("Status").alias("status"),
        pl.col("Checked Out To: Username").alias("owner_id"),
        pl.col("Location").alias("location"),
        pl.col("Company").alias("cost_centre"),
        pl.col("Purchase Date").alias("purchase_date"),
        pl.col("Purchase Cost").alias("purchase_cost"),
        pl.col("Warranty Expires").alias("warranty_end"),
        pl.col("Asset EOL Date").alias("eol_date"),
        *lineage(),
    )


READERS = [Reader("snipeit_assets", "assets", assets)]
