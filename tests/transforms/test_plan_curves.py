"""Planned value curves kept from one run to the next (transforms/planned_value.py `inputs_digest`, `compute`'s
prior_plan): the digest changes with anything the curves are computed from and nothing else, and `compute` reads an
earlier result's curves only while it is the same.

Project P (0/100): A 1000 over Mon 6 .. Fri 17 Jan 2025 (10 working days), B 500 over 13..17 Jan (5 days).
PV(12 Jan) = 1000 × 5/10 = 500; PV(19 Jan) = 1500.
"""

import polars as pl
import pytest

from tests.transforms.evm_frames import NO_HOLIDAYS, W1, W2, D, column, element, money, project, rows, run
from transforms.planned_value import Curves, inputs_digest

PROJECTS = rows("projects", project("P"))


def _elements(a_budget=1000, **kw):
    return rows("baselines", element("A", a_budget, D(2025, 1, 6), D(2025, 1, 17), **kw),
                element("B", 500, D(2025, 1, 13), D(2025, 1, 17)))  # fmt: skip


def _digest(elements=None, projects=PROJECTS, holidays=NO_HOLIDAYS, shared="s"):
    return inputs_digest(_elements() if elements is None else elements, projects, holidays, shared)


@pytest.mark.parametrize(
    "changed",
    [
        {"elements": _elements(a_budget=1200)},
        {"elements": _elements().with_columns(pl.col("planned_finish").dt.offset_by("1d"))},
        {"elements": _elements().with_columns(pl.col("planned_start").dt.offset_by("-1d"))},
        {"elements": _elements().with_columns(pl.lit(2, pl.Int64).alias("baseline_version"))},
        {"elements": _elements(project_id="Q")},
        {"projects": rows("projects", project("P", calendar_id="ops"))},
        {"holidays": rows("holidays", {"calendar_id": "default", "date": D(2025, 1, 8), "holiday": "x"})},
        {"shared": "another release"},
    ],
    ids=["budget", "finish", "start", "version", "project", "calendar", "holiday", "code"],
)
def test_the_digest_changes_with_what_the_curves_are_computed_from(changed):
    assert _digest(**changed) != _digest()


def test_the_digest_does_not_change_with_row_order_or_a_column_the_curves_do_not_read():
    assert _digest(_elements().reverse()) == _digest()
    assert _digest(_elements().with_columns(pl.lit("renamed").alias("element_name"))) == _digest()
    assert _digest(projects=PROJECTS.with_columns(pl.lit("renamed").alias("name"))) == _digest()


def test_compute_reads_an_earlier_results_curves_only_while_their_inputs_are_the_same():
    first = run(W2, baselines=_elements(), projects=PROJECTS)
    assert column(first.evm, "pv") == [money(500), money(1500)]  # 12 Jan, 19 Jan (see the docstring)

    kept = run(W2, baselines=_elements(), projects=PROJECTS, prior_plan=first.curves)
    assert kept.evm.equals(first.evm) and kept.curves.digest == first.curves.digest
    assert kept.curves.rows.equals(first.curves.rows)

    # Curves with the same digest are read as they are: doubled rows double PV (1000, 3000), which only reading them
    # can give. The digest is the caller's promise that they are what the inputs give.
    doubled = Curves(first.curves.digest, first.curves.rows.with_columns(pl.col("pv") * 2))
    assert column(run(W2, baselines=_elements(), projects=PROJECTS, prior_plan=doubled).evm, "pv") == [
        money(1000), money(3000)]  # fmt: skip

    # Another budget for A (2000): the curves are computed again, whatever the prior holds.
    # PV(12 Jan) = 2000 × 5/10 = 1000; PV(19 Jan) = 2000 + 500 = 2500.
    again = run(W2, baselines=_elements(a_budget=2000), projects=PROJECTS, prior_plan=doubled)
    assert column(again.evm, "pv") == [money(1000), money(2500)]
    assert again.curves.digest != first.curves.digest


def test_the_curves_do_not_depend_on_the_status_date():
    # A later as-of date extends the calendar and the grid, not the curves: the same digest, the same rows, and the
    # later week reads them (PV stays at BAC after the finish).
    early, late = run(W1, baselines=_elements(), projects=PROJECTS), run(W2, baselines=_elements(), projects=PROJECTS)
    assert early.curves.digest == late.curves.digest and early.curves.rows.equals(late.curves.rows)
    kept = run(W2, baselines=_elements(), projects=PROJECTS, prior_plan=early.curves)
    assert kept.evm.equals(late.evm)
