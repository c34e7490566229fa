"""altair charts, each a small function frame → chart, rendered to static SVG or PNG (no JavaScript, no CDN)."""

from __future__ import annotations

import altair as alt
import polars as pl
import vl_convert as vlc

SERIES = {"pv": "Planned value (PV)", "ev": "Earned value (EV)", "ac": "Actual cost (AC)"}
COLOURS = ["#1f77b4", "#2ca02c", "#d62728"]


def s_curve(frame: pl.DataFrame, title: str, currency: str) -> alt.Chart:
    """Cumulative PV, EV and AC by status date: one line each."""
    long = (
        frame.select("status_date", *SERIES)
        .with_columns(pl.col(list(SERIES)).cast(pl.Float64))
        .unpivot(index="status_date", variable_name="series", value_name="amount")
        .with_columns(pl.col("series").replace_strict(SERIES), pl.col("status_date").cast(pl.String))
    )
    return (
        alt.Chart(alt.Data(values=long.to_dicts()), title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("status_date:T", title="Status date"),
            y=alt.Y("amount:Q", title=f"Cumulative {currency}", axis=alt.Axis(format="~s")),
            color=alt.Color("series:N", title=None, scale=alt.Scale(domain=list(SERIES.values()), range=COLOURS),
                            legend=alt.Legend(orient="bottom")),
        )
        .properties(width=560, height=260)
    )  # fmt: skip


def to_svg(chart: alt.Chart) -> str:
    return vlc.vegalite_to_svg(chart.to_dict())


def to_png(chart: alt.Chart, scale: float = 2.0) -> bytes:
    return vlc.vegalite_to_png(chart.to_dict(), scale=scale)
