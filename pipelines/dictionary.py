"""The data dictionary: every mart, its grain and every column, as ../shared/EVM.md defines them.

One source for both places analysts look: `COMMENT ON` in the warehouse and the published snapshot
(`warehouse.replace_table` applies them) and docs/data-dictionary.md (`python -m pipelines.dictionary`
writes it; a test keeps it current).
"""

from __future__ import annotations

import sys

_EVM = {
    "project_id": "Project, from the project register.",
    "status_date": "Status date: the last day of the reporting week; figures are cumulative as of its end.",
    "baseline_version": "The baseline version the figures are measured against: the latest with "
    "effective_from on or before the status date (marts.baseline_versions).",
    "bac": "Budget at completion: the total budget of the baseline version in force (money).",
    "pv": "Planned value: budget scheduled by the status date, spread over working days (money).",
    "ev": "Earned value: budget earned by the work done, by each element's technique; NULL when the week cannot "
    "be rebuilt from the exports (money).",
    "ac": "Actual cost of the cost categories the baseline budgets: hours × the rate in force on the work date, plus "
    "budgeted direct costs (money).",
    "cv": "Cost variance = EV − AC (money).",
    "sv": "Schedule variance = EV − PV (money).",
    "cv_pct": "CV / EV (fraction); NULL when EV = 0.",
    "sv_pct": "SV / PV (fraction); NULL when PV = 0.",
    "cpi": "Cost performance index = EV / AC; NULL when AC = 0.",
    "spi": "Schedule performance index = EV / PV; NULL when PV = 0. Tends to 1 at the end of every project: see spi_t.",
    "csi": "Critical ratio = CPI × SPI.",
    "eac_cpi": "Estimate at completion, typical: BAC / CPI (money).",
    "eac_budget_rate": "Estimate at completion, atypical: AC + (BAC − EV) (money).",
    "eac_cpi_spi": "Estimate at completion: AC + (BAC − EV) / (CPI × SPI) (money).",
    "eac_composite": "Estimate at completion: AC + (BAC − EV) / (w·CPI + (1 − w)·SPI), w from the settings "
    "(default 0.8); NULL when CPI or SPI is (money).",
    "eac_bottom_up": "Estimate at completion: AC + Σ remaining estimates × rates of the items not done in the export "
    "in force; NULL before the first export or when an item with remaining work has no rate (money).",
    "eac_method": "The project's EAC method (project register): cpi, budget_rate, cpi_spi, composite or bottom_up.",
    "eac": "The EAC of the project's method (money).",
    "etc": "Estimate to complete = EAC − AC (money).",
    "vac": "Variance at completion = BAC − EAC; negative = overrun (money).",
    "tcpi_bac": "To-complete performance index to BAC = (BAC − EV) / (BAC − AC); NULL when AC ≥ BAC.",
    "tcpi_eac": "To-complete performance index to EAC = (BAC − EV) / (EAC − AC).",
    "at_weeks": "Actual time = t(status date) = (status date − baseline start + 1 day) / 7 (weeks).",
    "pd_weeks": "Planned duration = t(baseline finish) (weeks).",
    "es_weeks": "Earned schedule (Lipke): the time at which the PV curve reaches EV, interpolated between status "
    "dates; PD when EV ≥ BAC; NULL before the baseline start (weeks).",
    "sv_t_weeks": "Schedule variance in time = ES − AT (weeks).",
    "spi_t": "Schedule performance index in time = ES / AT; stays meaningful after the planned finish.",
    "tspi": "To-complete schedule performance index = (PD − ES) / (PD − AT); NULL when AT ≥ PD.",
    "ieac_t_weeks": "Independent estimate at completion in time = PD / SPI(t); NULL when ES = 0 (weeks).",
    "forecast_finish": "Forecast finish date = baseline start + IEAC(t) × 7 − 1 day.",
    "risk_exposure_cost": "Σ probability × cost impact of the project's open register risks (money).",
    "risk_exposure_days": "Σ probability × schedule impact of the project's open register risks (working days).",
    "risk_adjusted_eac": "EAC + risk_exposure_cost (money).",
    "pct_complete": "Percent complete = EV / BAC (fraction); '25 % complete' anywhere in the product means this.",
    "baseline_start": "First planned start of the baseline version in force.",
    "baseline_finish": "Last planned finish of the baseline version in force.",
    "reconstructable": "False for a week whose progress cannot be rebuilt from the exports (percent complete or "
    "AgileEVM before the project's first export): EV and what derives from it are NULL.",
    "unbudgeted_ac": "Actual cost of the categories the baseline does not budget, kept out of AC and CPI (money).",
}
_WORKLOG = {
    "worklog_id": "The worklog's id in its tool, or a hash of its fields when the tool has none.",
    "project_id": "PMO project: the mapping of the worklog's tool and project, else its ticket's project.",
    "person_id": "Person, matched across tools (aliases, e-mail, Jira account, Tempo user, unique name).",
    "person_name": "The name the tool gave.",
    "source_kind": "The export kind the worklog came from (tempo, harvest, jira …).",
    "source_project_key": "The project key in the source tool.",
    "item_key": "The ticket the work was logged on.",
    "work_date": "The day the work was done.",
    "hours": "Hours logged.",
    "approved": "Approval status where the tool records one (NULL when it does not).",
    "hourly_rate": "The cost rate in force on the work date: the person's own, else their role's (money per hour).",
    "cost": "hours × hourly_rate (money).",
    "exception": "Why the worklog is not in AC, or is costed with a caveat; NULL when costed cleanly.",
    "in_ac": "Whether the cost is in actual cost.",
    "_source_file": "audit.files.file_id of the export the row came from.",
    "_line": "Line of the row in that export.",
}
_PORTFOLIO = {
    k: v for k, v in _EVM.items() if k not in ("project_id", "baseline_version", "reconstructable", "unbudgeted_ac")
} | {
    "group_level": "total, portfolio or programme.",
    "group_key": "The portfolio's or programme's name ('all' for the total; '(none)' for projects without one).",
    "projects": "Number of projects in the group at the status date.",
    "bac": "Σ BAC of the group's projects (money).",
    "pv": "Σ PV (money).",
    "ev": "Σ EV; NULL when any project's EV is NULL that week (money).",
    "ac": "Σ AC (money).",
    "eac_method": "Always cpi for a group: its EAC is BAC / CPI of the sums; see eac_sum.",
    "eac_bottom_up": "Σ of the projects' bottom-up EAC; NULL when any is NULL (money).",
    "baseline_start": "The earliest baseline start of the group's projects: the origin of its time axis.",
    "baseline_finish": "The latest baseline finish of the group's projects.",
    "at_weeks": "t(status date) from the group's earliest baseline start (weeks).",
    "pd_weeks": "t(latest baseline finish) from the group's earliest baseline start (weeks).",
    "es_weeks": "Earned schedule on the summed PV curve of the group (weeks).",
    "eac_sum": "Σ of each project's own EAC (each by its own method), for reconciliation with eac (money).",
    "risk_exposure_cost": "Σ of the projects' risk exposure (money).",
    "risk_exposure_days": "Σ of the projects' schedule exposure (working days).",
}

MARTS: dict[str, tuple[str, dict[str, str]]] = {
    "marts.evm_weekly": ("One row per project per status date, from the week of its first baseline start to the "
                         "as-of date (or to the last complete week in the data, when that is later), carried "
                         "forward after it finishes (../shared/EVM.md).", _EVM),
    "marts.portfolio_weekly": ("One row per group (total, portfolio, programme) per status date, from summed PV, EV, "
                               "AC and BAC with the same formulas (never averaged ratios).", _PORTFOLIO),
    "marts.baseline_versions": ("One row per project and baseline version.", {
        "project_id": "Project.",
        "baseline_version": "Version number; every figure names the version it was measured against.",
        "effective_from": "Status date from which the version is in force.",
        "reason": "Why the version was made (rebaseline reason).",
        "source": "baseline (file), mspdi (MS Project), tickets (frozen from ticket estimates) or evm_status.",
        "frozen_at": "When `pmo baseline freeze` (or the first run) froze it; NULL for files.",
        "management_reserve": "Management reserve, held beside BAC, not inside it (money).",
        "contingency": "Contingency reserve, held beside BAC, not inside it (money).",
        "bac": "Budget at completion of the version: Σ element budgets (money).",
        "baseline_start": "First planned start of the version's elements.",
        "baseline_finish": "Last planned finish of the version's elements.",
        "elements": "Number of budgeted elements.",
    }),
    "marts.actual_cost_weekly": ("One row per project, status date and cost category with any cost.", {
        "project_id": "Project.",
        "status_date": "Status date.",
        "cost_category": "labour (worklogs × rates), assets or licences (direct costs, at purchase or amortised).",
        "ac": "Cumulative actual cost of the category as of the status date (money).",
        "budgeted": "Whether the baseline in force budgets the category: only budgeted categories are in AC and CPI.",
    }),
    "marts.planned_value_weekly": ("One row per project per status date of its plan in force, future weeks "
                                   "included: the curve earned schedule reads.", {
        "project_id": "Project.",
        "status_date": "Status date.",
        "pv": "Cumulative planned value (money).",
    }),
    "marts.evm_progress": ("Per project, its progress at the weeks it changes, which the EV of any status date reads "
                           "(the latest row on or before it): one row per part and week, and one `inputs` row. "
                           "Computed again only for the projects whose inputs changed.", {
        "project_id": "Project.",
        "part": "ev (the version's cumulative EV of its elements measured by their items, before level of effort), "
                "points (the project's story points done), first_export (the week of its first export of an item of "
                "its elements), percent_complete (a version with percent-complete elements: EV before first_export "
                "cannot be rebuilt), inputs (the digest of what the rows were computed from).",
        "baseline_version": "The version of an ev or percent_complete row.",
        "wk": "The status date from which the value holds (first_export: that week).",
        "ev": "ev: the version's cumulative EV as of wk (money).",
        "story_points": "points: the project's cumulative story points done as of wk.",
        "digest": "inputs: a digest of what the rows were computed from: the project's elements, their items' "
                  "exports and first work dates, its technique, the techniques per item type, the week end, the "
                  "code.",
    }),
    "marts.worklog_costs": ("One row per worklog, with its rate and cost (PMO only: per-person rates).", _WORKLOG),
    "marts.cost_exceptions": ("One row per worklog not in AC or costed with a caveat, with the reason.", _WORKLOG),
    "marts.evm_flags": ("One row per project, status date and finding beside the figures.", {
        "project_id": "Project.",
        "status_date": "Status date the finding belongs to.",
        "finding": "ev_over_bac, ev_without_ac, ac_at_or_over_bac, worklog_before_baseline_start, "
        "worklog_after_closure, negative_hours, absurd_hours, unbaselined_work, week_not_reconstructable, "
        "items_not_budgeted.",
        "detail": "What was found, in words.",
        "value": "The amount behind it (money, hours or items).",
        "rows": "Number of source rows behind it.",
        "source_rows": "The rows behind it (file and line, or item keys), the first 20.",
    }),
    "marts.evm_forecast": ("One row per project per status date: forecast bands from the project's own "
                           "week-to-week efficiency; NULL with fewer weeks of history than configured.", {
        "project_id": "Project.",
        "status_date": "Status date.",
        "weeks_of_history": "Weeks with a measurable period CPI behind the bands.",
        "eac_p10": "10th percentile of EAC (money).",
        "eac_p50": "Median EAC (money).",
        "eac_p90": "90th percentile of EAC (money).",
        "finish_p10": "10th percentile of the finish date.",
        "finish_p50": "Median finish date.",
        "finish_p90": "90th percentile of the finish date.",
        "method": "How the bands were computed (seeded bootstrap of period CPI and SPI(t)).",
    }),
    "marts.evm_restatements": ("One row per sent week, project and measure whose figure changed after sending.", {
        "project_id": "Project.",
        "status_date": "The sent week.",
        "measure": "The measure that changed.",
        "as_sent": "Its value as sent.",
        "restated": "Its value now.",
        "difference": "restated − as_sent (days for forecast_finish).",
        "sent_at": "When the week's figures were sent.",
    }),
    "marts.eac_backtest": ("One row per closed project, EAC method and checkpoint (25/50/75 % complete).", {
        "project_id": "Closed project.",
        "eac_method": "cpi, budget_rate, cpi_spi, composite or bottom_up.",
        "checkpoint": "Percent complete (EV / BAC) checkpoint: 0.25, 0.5 or 0.75.",
        "checkpoint_date": "First status date at or past the checkpoint.",
        "pct_complete": "EV / BAC at that date.",
        "eac": "The method's EAC at that date (money).",
        "final_status_date": "The status date whose AC is the final cost.",
        "final_cost": "AC at completion (money).",
        "error": "eac − final_cost (money).",
        "pct_error": "error / final_cost (fraction).",
        "abs_pct_error": "|pct_error|.",
        "within_10pct_from": "The percent complete from which the method stayed within ±10 % of the final cost.",
    }),
    "marts.eac_backtest_summary": ("One row per EAC method and checkpoint over the closed projects.", {
        "checkpoint": "Percent complete checkpoint.",
        "eac_method": "EAC method.",
        "projects": "Closed projects measured.",
        "mean_abs_pct_error": "Mean absolute error as a fraction of the final cost.",
        "median_abs_pct_error": "Median absolute error.",
        "mean_pct_error": "Mean signed error (bias).",
        "rank": "1 = the most accurate method at that checkpoint.",
    }),
    "marts.risk_exposure": ("One row per open risk per status date: register risks and operational risks derived "
                            "from assets, licences and tickets, each traceable to its source row.", {
        "status_date": "Status date.",
        "project_id": "Project.",
        "risk_id": "Register id, or OPS-<kind>-<key> for a derived risk.",
        "source": "register, asset, licence, ticket or blocked.",
        "title": "What the risk is.",
        "owner": "Risk owner.",
        "probability": "Probability as a fraction (converted from the register's scale).",
        "cost_impact": "Cost impact (money).",
        "schedule_impact_days": "Schedule impact (working days).",
        "exposure_cost": "probability × cost_impact (money); NULL for derived risks.",
        "exposure_days": "probability × schedule_impact_days (working days).",
        "probability_band": "1–5 band of the probability.",
        "impact_band": "1–5 band of the larger of the cost and schedule impact.",
        "heat_score": "probability_band × impact_band.",
        "heat_band": "low, medium or high.",
        "source_table": "The staging table of the row behind a derived risk.",
        "source_key": "Its key in that table.",
        "_source_file": "audit.files.file_id of the source row.",
        "_line": "Line of the source row.",
    }),
    "marts.milestone_variance": ("One row per project and milestone or due-dated item at the as-of date.", {
        "project_id": "Project.",
        "item_key": "Milestone or item.",
        "summary": "Its title.",
        "is_milestone": "Whether it is a milestone.",
        "in_baseline": "Whether a baseline element dates it.",
        "baseline_version": "The version whose date is the baseline date.",
        "baseline_date": "Baseline date: planned finish in the version in force, else the first due date seen.",
        "forecast_date": "Due date in the export in force.",
        "actual_date": "Resolution date when done.",
        "slip_working_days": "Working days from the baseline date to the actual, forecast or (overdue) status date.",
        "state": "done_on_time, done_late, done_undated, slipped, overdue or on_track.",
    }),
    "marts.milestone_slips": ("One row per project per status date: milestone and due-date slips.", {
        "project_id": "Project.",
        "status_date": "Status date.",
        "items": "Milestones and due-dated items tracked.",
        "items_due": "Items whose baseline date has passed.",
        "slipped": "Items whose forecast or actual date is later than the baseline date.",
        "overdue": "Items not done whose date has passed.",
        "done_late": "Items done after their baseline date.",
        "mean_slip_working_days": "Mean slip of the items with a known slip (working days).",
        "slipped_change": "Change in slipped items since the previous week.",
    }),
    "marts.milestone_history": ("One row per milestone per status date of its project: the milestone trend.", {
        "project_id": "Project.",
        "item_key": "Milestone.",
        "status_date": "Status date: the row is the milestone as milestone_variance would show it at this date.",
        "summary": "Its title.",
        "in_baseline": "Whether a baseline element dates it.",
        "baseline_version": "The version whose date is the baseline date.",
        "baseline_date": "Baseline date: planned finish in the version in force, else the first due date seen.",
        "forecast_date": "Due date in the export in force at the status date.",
        "actual_date": "Resolution date when done by the status date.",
        "slip_working_days": "Working days from the baseline date to the actual, forecast or (overdue) status date.",
        "state": "done_on_time, done_late, done_undated, slipped, overdue or on_track.",
    }),
    "marts.milestone_state": ("One row per project: the as-of date its milestone rows are of and a digest of what "
                              "they were computed from. A project whose inputs did not change, and none of whose "
                              "dates fell in between, is carried forward to the next as-of date, not computed again.", {
        "project_id": "Project.",
        "as_of": "The as-of date of its rows of milestone_variance (and the last of milestone_slips and history).",
        "digest": "Count and sum of the hashes of what its milestone figures read: its elements, versions and calendar "
                  "and the exports of its milestones and due-dated items, after the holidays and the code.",
    }),
    "marts.timesheet_completeness": ("One row per person per status date (PMO only: per-person hours).", {
        "person_id": "Person.",
        "status_date": "Status date.",
        "team": "Team.",
        "expected_hours": "Contracted hours × working days in the week / 5.",
        "logged_hours": "Hours logged in the week, all projects.",
        "missing_hours": "max(expected − logged, 0).",
        "completeness": "logged / expected; NULL when nothing was expected.",
        "complete": "completeness at or above the configured threshold.",
    }),
    "marts.project_timesheet_completeness": ("One row per project per status date: the timesheet completeness of "
                                             "the people who logged on it in the last 4 weeks, beside CPI.", {
        "project_id": "Project.",
        "status_date": "Status date.",
        "people": "People counted.",
        "expected_hours": "Σ their expected hours.",
        "logged_hours": "Σ their logged hours (any project).",
        "missing_hours": "Σ their missing hours.",
        "completeness": "Σ logged / Σ expected (ratio of sums).",
    }),
    "marts.project_closure": ("One row per closed project (register status closed): the figures of its final status "
                              "date, how early each EAC method was right, and its lessons learned.", {
        "project_id": "Closed project.",
        "name": "Project name.",
        "closed_on": "Closure date from the register.",
        "final_status_date": "The status date whose figures are final (evm_weekly carries them forward).",
        "baseline_version": "The baseline version in force at the end.",
        "bac": "BAC of that version (money).",
        "ev": "Final earned value (money).",
        "final_cost": "Final actual cost (money).",
        "final_cpi": "Final CPI = EV / AC.",
        "final_spi": "Final SPI = EV / PV (1.0 for any finished project: see final_spi_t).",
        "final_spi_t": "Final SPI(t) = ES / AT, AT stopped at the week EV reached BAC.",
        "cv_at_completion": "Cost variance at completion = EV − AC (money).",
        "sv_t_weeks_at_completion": "Schedule variance in time at completion = ES − AT (weeks; negative = late).",
        "vac": "Variance at completion = BAC − final cost (money; negative = overrun).",
        "forecast_finish": "The finish date earned schedule forecast at the end.",
        "baseline_finish": "The planned finish of the final baseline version.",
        **{f"within_10pct_from_{m}": f"Percent complete (EV / BAC) from which the {m} EAC stayed within ±10 % of the "
           "final cost (marts.eac_backtest); NULL if never." for m in ("cpi", "budget_rate", "cpi_spi", "composite",
                                                                     "bottom_up")},
        "lessons_learned": "The closure record's lessons learned, from the project register.",
    }),
    "marts.closure_drivers": ("One row per closed project, dimension and value: budget vs actual cost, ranked by the "
                              "size of the variance.", {
        "project_id": "Closed project.",
        "dimension": "work_type (the item's type), team (assignee for budget, worklog person for cost) or "
        "cost_category.",
        "key": "The work type, team or category; (unknown) when a cost cannot be attributed.",
        "budget": "Budget of the final baseline version attributed to it (money).",
        "actual": "Actual cost attributed to it (money).",
        "variance": "budget − actual (money; negative = overrun).",
        "rank": "1 = the largest |variance| within the project and dimension.",
    }),
    "marts.resource_utilisation": ("One row per person per status date (PMO only: per-person hours).", {
        "person_id": "Person.",
        "status_date": "Status date.",
        "team": "Team.",
        "capacity_hours": "Contracted hours × working days in the week / 5 (the timesheet completeness capacity).",
        "logged_hours": "Hours logged in the week (weekend work included).",
        "utilisation": "logged / capacity; NULL when capacity is 0.",
        "project_hours": "Hours on project work.",
        "operational_hours": "Hours with no project or on service-desk tickets ([resources] service_desk_tools).",
        "projects": "Projects with hours in the week.",
        "over_allocated": "utilisation above 1 (over 100 %).",
        "spread_thin": "More projects in the week than [resources] max_projects.",
    }),
    "marts.utilisation_by_project": ("One row per person, status date and project with hours (PMO only).", {
        "person_id": "Person.",
        "status_date": "Status date.",
        "project_id": "Project, or (operational) for operational work.",
        "hours": "Hours in the week on it.",
        "share": "hours / the person's hours that week.",
    }),
    "marts.team_utilisation": ("One row per team per status date: the leadership view of people's time, no "
                               "per-person data.", {
        "team": "Team ((none) for people without one).",
        "status_date": "Status date.",
        "people": "People in the team.",
        "capacity_hours": "Σ capacity.",
        "logged_hours": "Σ logged hours.",
        "utilisation": "Σ logged / Σ capacity (ratio of sums).",
        "project_hours": "Σ project hours.",
        "operational_hours": "Σ operational hours.",
        "people_over_allocated": "People over 100 %.",
        "people_spread_thin": "People on more projects than the limit.",
    }),
    "marts.itam_cost": ("One row per status date, group level (project, cost_centre) and group: what assets and "
                        "licences cost and how licence seats are used.", {
        "status_date": "Status date.",
        "group_level": "project or cost_centre.",
        "group_key": "The project or cost centre ((none) when not set).",
        "assets": "Assets purchased by the date.",
        "assets_without_cost": "Assets with no purchase cost or date (in no cost column).",
        "purchase_cost": "Σ purchase cost of the assets bought by the date (money).",
        "amortised_cost": "Σ straight-line amortised cost to the date ([evm] direct_costs; money).",
        "licence_cost": "Licence cost to the date, amortised to expiry or at purchase (money).",
        "licences": "Licences in force.",
        "unlimited_licences": "Licences in force with unlimited (or no) seats, not in the seat counts.",
        "seats_owned": "Seats of the licences in force.",
        "seats_assigned": "Seats assigned.",
        "seats_free": "seats_owned − seats_assigned (negative = over-allocated).",
    }),
    "marts.itam_due_dates": ("One row per licence expiry, warranty end or end of life with a date: what each week's "
                             "pack counts its renewals from.", {
        "kind": "licence_expiry, warranty_end or end_of_life.",
        "key": "Licence id or asset tag.",
        "name": "Product or asset name.",
        "project_id": "Project it is charged to.",
        "cost_centre": "Cost centre.",
        "purchase_date": "When it was bought (NULL: always held); not a renewal before then.",
        "due_date": "When it falls due.",
        "cost": "Licence cost, or the asset's purchase cost as its replacement value (money).",
        "_source_file": "audit.files.file_id of the source row.",
        "_line": "Line of the source row.",
    }),
    "marts.itam_renewals": ("One row per licence expiry, warranty end or end of life held at the as-of date "
                            "and due in the 180 days after it.", {
        "kind": "licence_expiry, warranty_end or end_of_life.",
        "key": "Licence id or asset tag.",
        "name": "Product or asset name.",
        "project_id": "Project it is charged to.",
        "cost_centre": "Cost centre.",
        "due_date": "When it falls due.",
        "days_until": "Days from the as-of date.",
        "window": "30, 90 or 180: the smallest window that holds it.",
        "cost": "Licence cost, or the asset's purchase cost as its replacement value (money).",
        "_source_file": "audit.files.file_id of the source row.",
        "_line": "Line of the source row.",
    }),
    "marts.itam_gaps": ("One row per asset without an owner or a location.", {
        "asset_tag": "Asset tag.",
        "name": "Asset name.",
        "project_id": "Project.",
        "cost_centre": "Cost centre.",
        "missing": "owner, location, or both.",
        "_source_file": "audit.files.file_id of the source row.",
        "_line": "Line of the source row.",
    }),
    "marts.ticket_flow": ("One row per group (project or assignment group), priority ('all' and each) and status "
                          "date: the service desk flow, each ticket as of the export in force that week.", {
        "group_level": "project or assignment_group.",
        "group_key": "The project or assignment group ((none) when not set).",
        "priority": "all, or critical, high, medium, low, planning.",
        "status_date": "Status date.",
        "created": "Tickets created in the week.",
        "resolved": "Tickets resolved in the week.",
        "backlog": "Tickets created by the status date and not resolved by it.",
        "backlog_0_7": "Backlog aged 0–7 days.",
        "backlog_8_30": "Backlog aged 8–30 days.",
        "backlog_31_90": "Backlog aged 31–90 days.",
        "backlog_over_90": "Backlog aged over 90 days.",
        "backlog_unknown": "Tickets done with no resolution date, before the export that shows them done.",
        "median_resolve_hours": "Median hours from creation to resolution of the tickets resolved in the week.",
        "p90_resolve_hours": "90th percentile (linear) of the same.",
        "reopened": "Tickets reopened in the week (reopen count grew, or done before and not now).",
        "sla_breaches": "Resolved in the week past target, or open past target; NULL when no target is known.",
        "sla_known": "Tickets with a known target (the export's SLA, else [service_desk] sla_hours).",
    }),
    "marts.ticket_flow_items": ("One row per ticket and status date where it breaches its SLA or is reopened: the "
                                "rows behind marts.ticket_flow.", {
        "status_date": "Status date.",
        "item_key": "Ticket.",
        "project_id": "Project ((none) when not set).",
        "assignment_group": "Assignment group ((none) when not set).",
        "priority": "Priority.",
        "sla_breach": "Whether it counts as an SLA breach that week.",
        "breach": "resolved (late) or open (past target).",
        "reopened": "Whether it counts as reopened that week.",
        "sla_due_at": "Its target.",
        "resolved_at": "When it was resolved.",
        "snapshot_date": "The export in force.",
        "_source_file": "audit.files.file_id of that export.",
        "_line": "Line of the ticket in it.",
    }),
    "marts.source_freshness": ("One row per export kind with at least one loaded file, at the status date: how "
                               "fresh its data is. A stale source makes the week's figures provisional.", {
        "status_date": "Status date the ages are measured at.",
        "source_kind": "The export kind (data_contracts/<kind>.yaml), e.g. tempo_worklogs, jira_issues.",
        "files": "Files of the kind loaded (quarantined and unreadable files do not count).",
        "latest_export_file": "Inbox path of the file holding the newest data (on a tie, the last loaded); the last "
        "loaded file when no date is known.",
        "data_through": "The newest day the kind's data covers, from its rows (see dated_by), else the date in its "
        "file name; NULL when neither gives one. Never a file time.",
        "age_days": "Status date − data_through in days; 0 when the data runs past the status date; NULL when "
        "data_through is.",
        "max_age_days": "The oldest the data may be: [freshness] per_source for the kind, else max_age_days "
        "(default 14); NULL for reference data (register, mapping, baselines, rates, people, aliases, holidays, "
        "sprints, risk register) unless per_source names it.",
        "stale": "age_days > max_age_days, or no date known while a maximum applies; false without a maximum.",
        "dated_by": "What gives data_through: the staging columns of the kind's rows (e.g. worklogs.work_date; "
        "evm_status.status_date counts weeks with EV or AC only), or 'file name'.",
    }),
}  # fmt: skip


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(name: str, prefix: str = "") -> list[str]:
    """COMMENT ON statements for a documented table (none for others); `prefix` names an attached database."""
    if name not in MARTS:
        return []
    grain, columns = MARTS[name]
    target = f"{prefix}{name}"
    return [f"COMMENT ON TABLE {target} IS {_quote(grain)}"] + [
        f'COMMENT ON COLUMN {target}."{col}" IS {_quote(text)}' for col, text in columns.items()
    ]


def markdown() -> str:
    """docs/data-dictionary.md."""
    out = [
        "# Data dictionary",
        "",
        "Generated by `python -m pipelines.dictionary` from `pipelines/dictionary.py`; the same text is in the "
        "warehouse and the published snapshot as `COMMENT ON` (`SELECT * FROM duckdb_columns()`). Money is "
        "DECIMAL(18,4), ratios DOUBLE, percentages fractions; a ratio with a zero denominator is NULL.",
        "",
    ]
    for name, (grain, columns) in MARTS.items():
        out += [f"## `{name}`", "", grain, "", "| column | meaning |", "|---|---|"]
        out += [f"| `{col}` | {text} |" for col, text in columns.items()]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(markdown())
