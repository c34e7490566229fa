"""IT asset management list exports → canonical assets, one row per asset.

- ServiceNow CMDB (`cmdb_ci`, `cmdb_ci_computer`) or hardware assets (`alm_hardware`), CSV list export: field
  names as headers, display values in cells. CIs without an asset tag (a virtual server, a CI discovered but
  never tagged) key on their sys_id, which ServiceNow never reuses.
- GLPI's asset search (Computers...) exported to CSV: semicolon, BOM, English, pt-BR or French headers; amounts
  like "1 299,00" are typed by the contract. The inventory number is the asset tag; assets without one key on
  their serial number. The entity (e.g. "Root entity > Finance") is the cost centre the project map knows.
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, id_or_row_hash, lineage


def servicenow(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per configuration item or hardware asset (asset tag, else sys_id)."""
    fields = pl.col("sys_class_name"), pl.col("name"), pl.col("serial_number")
    return typed.select(
        id_or_row_hash(typed, ["asset_tag", "sys_id"], *fields).alias("asset_tag"),
        pl.lit("servicenow").alias("source_kind"),
        pl.col("name"),
        pl.coalesce(pl.col("model_category"), pl.col("sys_class_name")).alias("category"),
        pl.col("model_id").alias("model"),
        pl.col("manufacturer"),
        pl.col("serial_number").alias("serial"),
        pl.col("install_status").alias("status"),
        pl.col("assigned_to").alias("owner_id"),
        pl.col("location"),
        pl.col("cost_center").alias("cost_centre"),
        pl.col("purchase_date"),
        pl.col("cost").alias("purchase_cost"),
        pl.col("warranty_expiration").alias("warranty_end"),
        *lineage(),
    )


def glpi(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per asset (inventory number, else serial number, else a hash of entity and name)."""
    fields = pl.col("Entity"), pl.col("Name"), pl.col("Type")
    return typed.select(
        id_or_row_hash(typed, ["Inventory number", "Serial number"], *fields).alias("asset_tag"),
        pl.lit("glpi").alias("source_kind"),
        pl.col("Name").alias("name"),
        pl.col("Type").alias("category"),
        pl.col("Model").alias("model"),
        pl.col("Manufacturer").alias("manufacturer"),
        pl.col("Serial number").alias("serial"),
        pl.col("Status").alias("status"),
        pl.col("User").alias("owner_id"),
        pl.col("Location").alias("location"),
        pl.col("Entity").alias("cost_centre"),
        pl.col("Date of purchase").alias("purchase_date"),
        pl.col("Value").alias("purchase_cost"),
        pl.col("Warranty expiration date").alias("warranty_end"),
        *lineage(),
    )


READERS = [Reader("servicenow_cmdb", "assets", servicenow), Reader("glpi_assets", "assets", glpi)]
