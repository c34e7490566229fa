"""Snipe-IT CSVs → canonical assets (the asset list, one row per asset tag) and licences (the licence list or the
licence import file).

Licences come in two shapes, told apart per file by the `Free Seats`/`Avail` column the licence list export has:
- the licence list export: one row per licence; seats_assigned = seats − free seats;
- the licence import file (Snipe-IT's sample_csvs/licenses-sample.csv): one row per licensed person, so several
  rows share a product and serial. Such rows are one licence: each row keys to the same licence_id, staging counts
  all but the last as duplicates of it, and every row carries the licence's seats_assigned = the number of the
  file's rows for that licence that name a person (Full Name, Email or Username), i.e. seats checked out.
Quirks: purchase cost with a currency sign ("$12.58", "1.254,00 €") is read as text and cleaned here; dates are
M/D/YYYY in the import file and the UI format (YYYY-MM-DD by default) in the export.
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage, row_hash


def assets(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per asset. The Snipe-IT company is the cost centre the project map knows."""
    return typed.select(
        pl.col("Asset Tag").alias("asset_tag"),
        pl.lit("snipeit").alias("source_kind"),
        pl.col("Name").alias("name"),
        pl.col("Category").alias("category"),
        pl.col("Model").alias("model"),
        pl.col("Manufacturer").alias("manufacturer"),
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


def money(text: pl.Expr) -> pl.Expr:
    """An amount written with a currency sign or code and either decimal mark ("$9,360.00", "1.254,00 €")."""
    digits = text.str.replace_all(r"[^\d,.\-]", "")
    comma = digits.str.contains(r"^-?(\d{1,3}(\.\d{3})+|\d+),\d{1,2}$")
    return (
        pl.when(comma)
        .then(digits.str.replace_all(r"\.", "").str.replace(",", "."))
        .otherwise(digits.str.replace_all(",", ""))
        .cast(pl.Decimal(18, 4), strict=False)
    )


def licence_id() -> pl.Expr:
    """The product key (Snipe-IT's serial) when there is one. Without it, a hash of product and company: in an
    export, with its rank among identical rows (row_hash: two keyless licences of one product and company stay
    two); in an import file, always rank 0, so the rows of one licence's seats share one id (and the first
    keyless licence of a product and company gets the same id in both shapes)."""
    product, company = pl.col("Item name"), pl.col("company")
    fields = pl.concat_str([e.fill_null("") for e in (product, company)], separator="\x1f")
    seat_rows = pl.lit("h") + pl.concat_str(fields, pl.lit("0"), separator="\x1f").hash(seed=0).cast(pl.String)
    per_licence = pl.col("Free Seats").is_not_null().any().over("_source_file")
    return pl.coalesce(
        pl.col("serial number"), pl.when(per_licence).then(row_hash(product, company)).otherwise(seat_rows)
    )


def licences(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per licence (keyed by licence_id); an import file's seat rows key to their licence."""
    holder = pl.any_horizontal(pl.col("Full Name", "Email", "Username").is_not_null())
    per_licence = pl.col("Free Seats").is_not_null().any().over("_source_file")
    checked_out = holder.cast(pl.Int64).sum().over("_source_file", "licence_id")
    return (
        typed.with_columns(licence_id().alias("licence_id"))
        .select(
            "licence_id",
            pl.lit("snipeit").alias("source_kind"),
            pl.col("Item name").alias("product"),
            pl.col("manufacturer"),
            pl.col("seats"),
            pl.when(per_licence).then(pl.col("seats") - pl.col("Free Seats")).otherwise(checked_out)
            .alias("seats_assigned"),
            money(pl.col("purchase cost")).alias("cost"),
            pl.col("purchase date").alias("purchase_date"),
            pl.col("expiration date").alias("expiry"),
            pl.col("company").alias("cost_centre"),
            *lineage(),
        )
    )  # fmt: skip


READERS = [Reader("snipeit_assets", "assets", assets), Reader("snipeit_licences", "licences", licences)]
