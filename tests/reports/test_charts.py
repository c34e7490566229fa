"""A chart's rows travel as CSV text (reports.charts.spec): the drawing must be the one the same rows give as JSON
objects, the form Vega-Lite reads without a format, and the text must hold the rows exactly."""

import datetime as dt
import html
import io
import json
import re
from decimal import Decimal

import polars as pl
import pytest
import vl_convert as vlc

from reports import charts
from reports.pack import by_project

WEEKS = [dt.date(2026, 1, 4) + dt.timedelta(weeks=i) for i in range(3)]
HOSTILE = 'PRJ-9, "quoted"\nand a second line'


def _as_objects(chart: dict, rows: pl.DataFrame) -> dict:
    """The same chart with its rows as JSON objects and no format: what spec() gave before it wrote CSV."""
    plain = json.loads(json.dumps(chart))
    for ref in _refs(plain):
        del ref["format"]
    return plain | {"datasets": {charts.DATA: charts.chartable(rows).to_dicts()}}


def _refs(node) -> list[dict]:
    """Every reference to the chart's dataset."""
    found = []
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, dict) and child.get("name") == charts.DATA:
            found.append(child)
        elif isinstance(child, dict | list):
            found += _refs(child)
    return found


def _format(chart: dict) -> dict:
    formats = [ref.get("format") for ref in _refs(chart)]
    assert formats and all(f == formats[0] for f in formats), "every reference to the dataset carries its format"
    return formats[0]


def _svg(chart: dict) -> str:
    return vlc.vegalite_to_svg(chart | {"width": charts.PNG_WIDTH})


CASES = {
    # the S-curve's band rows have no line values and its line rows no band: NULLs both ways; DECIMAL money
    "s_curve": pl.DataFrame(
        {"layer": ["line"] * 3 + ["band", "bac"], "date": [*WEEKS, WEEKS[-1], None],
         "series": ["Planned value (PV)"] * 3 + [None, None],
         "amount": [Decimal("0.0000"), Decimal("1250.5000"), Decimal("2600.1234"), None, Decimal("3000.0000")],
         "low": [None, None, None, 2500.0, None], "high": [None, None, None, 3400.0, None]},
        schema_overrides={"amount": pl.Decimal(18, 4)},
    ),
    "ratios": pl.DataFrame(
        {"layer": ["line"] * 3 + ["threshold"] * 2, "date": [*WEEKS, None, None],
         "series": ["CPI", "CPI", "SPI(t)", None, None], "value": [1.0, 0.9134567891234567, 1.2, 0.95, 0.85],
         "colour": [None, None, None, "#1a7f37", "#b35900"]}
    ),
    "cost": pl.DataFrame({"date": WEEKS, "category": ["labour", "assets", "labour"], "amount": [10.5, 3.25, 20.0]}),
    "heat_map": pl.DataFrame({"probability": [1, 5], "impact": [2, 5], "risks": [3, 1], "score": [2, 25]}),
    # a label with a comma, quotes and a line break must come back whole
    "quadrant": pl.DataFrame(
        {"layer": ["point", "point", "one"], "project": [HOSTILE, "PRJ-2", None], "cpi": [0.8, 1.1, None],
         "spi_t": [0.9, 1.05, None], "rag": ["red", "green", None], "label": [HOSTILE, None, None],
         "value": [None, None, 1.0]}
    ),
    "burn_up": pl.DataFrame({"date": WEEKS * 2, "series": ["Scope (BAC)"] * 3 + ["Earned (EV)"] * 3,
                             "amount": [100.0, 100.0, 120.0, 0.0, 40.0, 90.0]}),
    "flow": pl.DataFrame({"date": WEEKS, "series": ["created"] * 3, "count": [4, 0, 7]}),
    "milestone_trend": pl.DataFrame(
        {"layer": ["line"] * 3 + ["today"] * 2, "date": [*WEEKS, WEEKS[0], WEEKS[-1]],
         "series": ["M1"] * 3 + [None, None], "summary": [HOSTILE] * 3 + [None, None],
         "forecast": [WEEKS[1], dt.date(2026, 2, 27), dt.date(2026, 3, 6), WEEKS[0], WEEKS[-1]],
         "state": ["on_track", "slipped", "slipped", None, None]}
    ),
    "utilisation": pl.DataFrame({"layer": ["bar", "bar", "one"], "team": ["Ops", "Dev", None],
                                 "kind": ["project", "operational", None], "utilisation": [0.7, 1.2, None],
                                 "value": [None, None, 1.0]}),
}  # fmt: skip


@pytest.mark.parametrize("kind", CASES)
def test_a_chart_from_csv_text_is_drawn_as_from_json_rows_and_holds_them_exactly(kind):
    rows = CASES[kind]
    chart = charts.spec(kind, rows, "A chart")
    assert isinstance(chart["datasets"][charts.DATA], str)
    assert _svg(chart) == _svg(_as_objects(chart, rows))
    # Every numeric column is read as a number, nothing else is; the text reads back as the rows.
    numeric = {c for c, dtype in rows.schema.items() if dtype.is_numeric()}
    assert _format(chart) == {"type": "csv", "parse": dict.fromkeys(numeric, "number")}
    back = pl.read_csv(io.StringIO(chart["datasets"][charts.DATA]), schema=charts.chartable(rows).schema)
    assert back.equals(charts.chartable(rows))
    if kind == "quadrant":  # the label is drawn whole, not split apart; the point without one is not named
        assert _texts(_svg(chart))[-2:] == [HOSTILE, "A chart"] and "PRJ-2" not in _texts(_svg(chart))


def _texts(svg: str) -> list[str]:
    """The text drawn in an SVG (axis ticks, titles, labels), in order; not the points' aria-labels."""
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_a_quadrant_names_only_its_worst_points_and_draws_every_point():
    from reports.pack import QUADRANT_LABELS, quadrant_rows, worst_first

    # P-00..P-12 worst first by hand: red (3) P-00..P-04, amber (2) P-05..P-08, green (1) P-09..P-12, and within a
    # RAG by the lower of CPI (0.50 + 0.03 i) and SPI(t) (1.0), so by i. P-13 has no CPI: not drawn. Given shuffled.
    order = [7, 2, 12, 0, 9, 13, 4, 11, 1, 6, 10, 3, 8, 5]
    frame = pl.DataFrame({
        "project_id": [f"P-{i:02d}" for i in order],
        "severity": [3 if i < 5 else 2 if i < 9 else 1 for i in order],
        "rag": ["red" if i < 5 else "amber" if i < 9 else "green" for i in order],
        "cpi": [None if i == 13 else 0.5 + 0.03 * i for i in order],
        "spi_t": [1.0] * len(order),
    })  # fmt: skip
    rows = quadrant_rows(worst_first(frame), rag="rag")
    points = rows.filter(pl.col("layer") == "point")
    assert points.get_column("project").to_list() == [f"P-{i:02d}" for i in range(13)]
    named = [f"P-{i:02d}" for i in range(QUADRANT_LABELS)]
    assert QUADRANT_LABELS == 10 and points.get_column("label").drop_nulls().to_list() == named
    svg = _svg(charts.spec("quadrant", rows, "Cost and schedule efficiency"))
    assert [t for t in _texts(svg) if t.startswith("P-")] == named
    assert all(f"project: P-{i:02d};" in svg for i in range(13)) and "P-13" not in svg  # every point, by its tooltip
    assert quadrant_rows(worst_first(frame.filter(pl.col("project_id") == "P-13")), rag="rag").is_empty()


def test_the_chart_text_of_every_project_from_one_write_is_the_text_of_its_own_rows():
    ratios = CASES["ratios"]
    quoted = pl.col("series").str.replace("CPI", 'CPI, "as, quoted"')
    second = ratios.with_columns(project_id=pl.lit("P-1"), value=pl.col("value") * 1.5, series=quoted)
    frame = pl.concat([ratios.with_columns(project_id=pl.lit("P-2")), second])
    parts = by_project(frame)
    texts = charts.csv_texts(parts)
    assert sorted(texts) == ["P-1", "P-2"]
    for pid, part in parts.items():
        own = charts.spec("ratios", part.drop("project_id"), "t")
        assert charts.spec("ratios", part, "t", texts[pid]) == own  # the same spec, the project id left out
    assert '"CPI, ""as, quoted"""' in texts["P-1"] and "P-2" not in texts["P-2"]
    # A line break inside a cell: one CSV line is no longer one row, so each chart writes its own.
    broken = frame.with_columns(series=pl.col("series").str.replace("SPI", "SPI\nline"))
    assert charts.csv_texts(by_project(broken)) == {} and charts.csv_texts({}) == {}
