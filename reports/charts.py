"""The pack's charts: each kind is built once with altair as a Vega-Lite template over a named dataset, and
every chart of that kind is the template with its own rows and title put in (no per-chart altair work).

The pack draws them in the browser with the Vega runtime shipped once in the pack (`runtime()`), so pages
work offline; e-mails get static PNGs from the same specs (`to_png`).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import altair as alt
import polars as pl

from reports.tables import split_lines

DATA = "values"
HEIGHT = 240
PNG_WIDTH = 540
EVM_SERIES = ["Planned value (PV)", "Earned value (EV)", "Actual cost (AC)", "EAC forecast"]
EVM_COLOURS = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd"]
RATIO_SERIES = ["CPI", "SPI", "SPI(t)"]
RAG_COLOURS = {"green": "#1a7f37", "amber": "#b35900", "red": "#c62828", "grey": "#6b7280"}


def _base() -> alt.Chart:
    return alt.Chart(alt.NamedData(DATA)).properties(width="container", height=HEIGHT)


def _is(layer: str):
    return alt.datum.layer == layer


def _legend():
    return alt.Legend(orient="bottom", title=None)


def _s_curve() -> alt.LayerChart:
    colour = alt.Color("series:N", scale=alt.Scale(domain=EVM_SERIES, range=EVM_COLOURS), legend=_legend())
    x = alt.X("date:T", title=None)
    lines = _base().transform_filter(_is("line")).mark_line(point=True).encode(
        x=x, y=alt.Y("amount:Q", title="Cumulative", axis=alt.Axis(format="~s")), color=colour,
        strokeDash=alt.condition(alt.datum.series == "EAC forecast", alt.value([5, 4]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("date:T"), "series:N", alt.Tooltip("amount:Q", format=",.0f")],
    )  # fmt: skip
    band = _base().transform_filter(_is("band")).mark_rule(strokeWidth=3, color="#9467bd", opacity=0.5).encode(
        x=x, y="low:Q", y2="high:Q",
        tooltip=[alt.Tooltip("low:Q", title="EAC p10", format=",.0f"), alt.Tooltip("high:Q", title="EAC p90",
                 format=",.0f")],
    )  # fmt: skip
    bac = _base().transform_filter(_is("bac")).mark_rule(color="#6b7280", strokeDash=[2, 2]).encode(y="amount:Q")
    return alt.layer(lines, band, bac)


def _ratios() -> alt.LayerChart:
    lines = _base().transform_filter(_is("line")).mark_line(point=True).encode(
        x=alt.X("date:T", title=None), y=alt.Y("value:Q", title="Index", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=alt.Scale(domain=RATIO_SERIES), legend=_legend()),
        tooltip=[alt.Tooltip("date:T"), "series:N", alt.Tooltip("value:Q", format=".2f")],
    )  # fmt: skip
    rules = (
        _base()
        .transform_filter(_is("threshold"))
        .mark_rule(strokeDash=[3, 3])
        .encode(y="value:Q", color=alt.Color("colour:N", scale=None))
    )
    return alt.layer(lines, rules)


def _quadrant() -> alt.LayerChart:
    points = _base().transform_filter(_is("point")).mark_circle(size=90, opacity=0.85).encode(
        x=alt.X("spi_t:Q", title="SPI(t): schedule efficiency", scale=alt.Scale(zero=False)),
        y=alt.Y("cpi:Q", title="CPI: cost efficiency", scale=alt.Scale(zero=False)),
        color=alt.Color("rag:N", scale=alt.Scale(domain=list(RAG_COLOURS), range=list(RAG_COLOURS.values())),
                        legend=None),
        tooltip=["project:N", alt.Tooltip("cpi:Q", format=".2f"), alt.Tooltip("spi_t:Q", format=".2f")],
    )  # fmt: skip
    # Only the points given a label are named (the worst few: reports.pack.quadrant_rows); the rest by tooltip.
    labels = (
        points.transform_filter("datum.label")
        .mark_text(align="left", dx=7, dy=-6, fontSize=10)
        .encode(text="label:N", color=alt.value("#333"))
    )
    vertical = _base().transform_filter(_is("one")).mark_rule(color="#6b7280").encode(x="value:Q")
    horizontal = _base().transform_filter(_is("one")).mark_rule(color="#6b7280").encode(y="value:Q")
    return alt.layer(vertical, horizontal, points, labels)


def _burn_up() -> alt.Chart:
    return _base().mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("date:T", title=None), y=alt.Y("amount:Q", title="Value", axis=alt.Axis(format="~s")),
        color=alt.Color("series:N", legend=_legend()),
        tooltip=[alt.Tooltip("date:T"), "series:N", alt.Tooltip("amount:Q", format=",.0f")],
    )  # fmt: skip


def _milestone_trend() -> alt.LayerChart:
    """Milestone trend analysis: each milestone's forecast (its actual once done) at every status date. A flat line
    holds its date, a rising one slips; the dashed diagonal is the status date itself, which an open milestone's
    line cannot cross without becoming overdue."""
    x = alt.X("date:T", title="Status date")
    lines = _base().transform_filter(_is("line")).mark_line(point=True).encode(
        x=x, y=alt.Y("forecast:T", title="Forecast date"), color=alt.Color("series:N", legend=_legend()),
        tooltip=[alt.Tooltip("date:T", title="Status date"), alt.Tooltip("series:N", title="Milestone"), "summary:N",
                 alt.Tooltip("forecast:T", title="Forecast"), "state:N"],
    )  # fmt: skip
    diagonal = (
        _base().transform_filter(_is("today")).mark_line(color="#6b7280", strokeDash=[3, 3]).encode(x=x, y="forecast:T")
    )
    return alt.layer(lines, diagonal)


def _cost() -> alt.Chart:
    return _base().mark_area(opacity=0.85).encode(
        x=alt.X("date:T", title=None), y=alt.Y("amount:Q", title="Cumulative", stack=True, axis=alt.Axis(format="~s")),
        color=alt.Color("category:N", legend=_legend()),
        tooltip=[alt.Tooltip("date:T"), "category:N", alt.Tooltip("amount:Q", format=",.0f")],
    )  # fmt: skip


def _heat_map() -> alt.LayerChart:
    bands = list(range(1, 6))
    cells = _base().mark_rect(stroke="#fff").encode(
        x=alt.X("impact:O", title="Impact band", scale=alt.Scale(domain=bands)),
        y=alt.Y("probability:O", title="Probability band", scale=alt.Scale(domain=bands[::-1])),
        color=alt.Color("score:Q", scale=alt.Scale(domain=[1, 25], range=["#fff3bf", "#c62828"]), legend=None),
    ).properties(width=260, height=200)  # fmt: skip
    counts = cells.mark_text(fontSize=12).encode(text="risks:Q", color=alt.value("#111"))
    return alt.layer(cells, counts)


def _flow() -> alt.Chart:
    return _base().mark_line(point=True).encode(
        x=alt.X("date:T", title=None), y=alt.Y("count:Q", title="Tickets"),
        color=alt.Color("series:N", legend=_legend()), tooltip=[alt.Tooltip("date:T"), "series:N", "count:Q"],
    )  # fmt: skip


def _utilisation() -> alt.LayerChart:
    bars = _base().transform_filter(_is("bar")).mark_bar().encode(
        y=alt.Y("team:N", title=None, sort=None), x=alt.X("utilisation:Q", title="Logged ÷ capacity",
                                                        axis=alt.Axis(format="%")),
        color=alt.Color("kind:N", legend=_legend()), tooltip=["team:N", "kind:N",
                                                              alt.Tooltip("utilisation:Q", format=".0%")],
    )  # fmt: skip
    full = _base().transform_filter(_is("one")).mark_rule(color="#6b7280").encode(x="value:Q")
    return alt.layer(bars, full)


KINDS = {"s_curve": _s_curve, "ratios": _ratios, "quadrant": _quadrant, "burn_up": _burn_up, "cost": _cost,
         "milestone_trend": _milestone_trend, "heat_map": _heat_map, "flow": _flow,
         "utilisation": _utilisation}  # fmt: skip


@functools.cache
def _template(kind: str) -> str:
    spec = KINDS[kind]().to_dict()
    spec.pop("datasets", None)
    return json.dumps(spec, sort_keys=True)


def chartable(rows: pl.DataFrame) -> pl.DataFrame:
    """Dates as ISO text and amounts as floats, the form Vega-Lite reads."""
    if not any(dtype == pl.Date or isinstance(dtype, pl.Decimal) for dtype in rows.schema.values()):
        return rows
    return rows.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d"), pl.col(pl.Decimal).cast(pl.Float64))


_DATA_REF = json.dumps({"name": DATA})  # how a template (sort_keys) refers to its chart's dataset
LAYER_FILTER = re.compile(r"^\(datum\.layer === '(\w+)'\)$")


def spec(kind: str, rows: pl.DataFrame, title: str, text: str | None = None) -> dict | None:
    """The Vega-Lite spec of one chart: the kind's template with these rows and title. Layers with no rows are
    left out (Vega cannot scale an empty layer); None when there is nothing to draw. The rows travel as CSV text
    with their numeric columns parsed as numbers (dates are parsed by their temporal encoding, as from JSON): half
    the bytes of JSON objects that repeat every key on every row, drawn the same. `text` is that CSV when the caller
    wrote it already (`csv_texts`)."""
    if rows.is_empty():
        return None
    parse = {c: "number" if dtype.is_numeric() else "boolean" for c, dtype in rows.schema.items()
             if dtype.is_numeric() or dtype == pl.Boolean}  # fmt: skip
    # Every reference to the chart's dataset gets the format its text is read with.
    ref = json.dumps({"format": {"parse": parse, "type": "csv"}, "name": DATA}, sort_keys=True)
    chart = json.loads(_template(kind).replace(_DATA_REF, ref))
    if "layer" in chart and "layer" in rows.columns:
        present = set(rows.get_column("layer").unique().to_list())
        chart["layer"] = [layer for layer in chart["layer"] if _layer_name(layer) in present | {None}]
    return chart | {"title": title, "datasets": {DATA: chartable(rows).write_csv() if text is None else text}}


def csv_texts(parts: dict[str, pl.DataFrame], key: str = "project_id") -> dict[str, str]:
    """The chart text `spec` writes for each part (a frame split by `key`, the key column left out), from one CSV
    of all the parts: the same text, one write instead of one per chart (a thousand project pages draw five kinds
    each). Each CSV line is one row unless a text cell holds a line break; then nothing is precomputed."""
    if not parts:
        return {}
    whole = chartable(pl.concat(list(parts.values()), how="vertical"))
    rows = whole.drop(key)
    text = [c for c, dtype in rows.schema.items() if dtype == pl.String]
    if text and rows.select(pl.any_horizontal(pl.col(text).str.contains("[\r\n]").any())).item():
        return {}
    return split_lines(whole.get_column(key), rows.write_csv())


def _layer_name(layer: dict) -> str | None:
    for step in layer.get("transform", []):
        match = LAYER_FILTER.match(step.get("filter", "")) if isinstance(step.get("filter"), str) else None
        if match:
            return match.group(1)
    return None


def to_png(chart: dict, scale: float = 2.0) -> bytes:
    """A static PNG for e-mail (no container to size against, so a fixed width)."""
    import vl_convert as vlc

    fixed = chart | {"width": PNG_WIDTH} if chart.get("width") == "container" else chart
    return vlc.vegalite_to_png(fixed, scale=scale)


class PngRenderer:
    """PNG charts drawn in worker processes while the caller goes on (rendering and zipping the packs). Not threads:
    vl-convert holds the GIL while it draws (measured: a thread drawing left the main thread 6 % of its time, and two
    threads drew no faster than one). A chart whose worker cannot start or has died is drawn in the caller instead;
    an error in a chart itself is raised by its result."""

    def __init__(self, workers: int | None = None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Not fork: the caller holds DuckDB's and polars' threads, which a forked child would inherit mid-lock.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))  # the caller keeps a core
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))

    def submit(self, chart: dict):
        """Start drawing a chart; returns a function that gives its PNG, waiting for it if need be."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            future = self._pool.submit(to_png, chart)
        except (BrokenProcessPool, RuntimeError, OSError):  # the pool could not start or is shut down
            future = None

        def result() -> bytes:
            if future is not None:
                try:
                    return future.result()
                except BrokenProcessPool:  # the worker died (killed, out of memory): draw it here
                    pass
            return to_png(chart)

        return result

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@functools.cache
def runtime(cache: Path | None = None) -> str:
    """Vega, Vega-Lite and vega-embed as one classic script that sets window.vegaEmbed: shipped once per pack.
    Bundling takes seconds of CPU per process; with `cache` (a folder) the bundle is kept there, one file per
    vl-convert version (the bundle is the same for the same version), and read back by later runs."""
    import vl_convert as vlc

    path = None if cache is None else cache / f"vega-{vlc.__version__}.js"
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8")
    bundle = vlc.javascript_bundle()
    if path is not None:  # written aside and renamed: a reader never sees half of it; a cache, so never an error
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            aside.write_text(bundle, encoding="utf-8")
            aside.replace(path)
        except OSError:
            aside.unlink(missing_ok=True)
    return bundle
