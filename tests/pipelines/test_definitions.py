"""The one Definitions object, pinned: every asset key, every check (asset key + check name), the job's selection,
the schedules and the sensors. A change here is a change to what the UI shows and what a run builds."""

import dagster as dg

from pipelines.checks import source_freshness_checks
from pipelines.definitions import defs
from pipelines.notices import failure_notice

RAW = ["baseline", "clockify_time", "evm_status", "glpi_assets", "glpi_tickets", "harvest_time", "holidays",
       "jira_issues", "jira_worklog_report", "mspdi_tasks", "people", "person_aliases", "project_map",
       "project_register", "project_status", "rate_card", "risk_register", "servicenow_cmdb", "servicenow_tasks",
       "snipeit_assets", "snipeit_licences", "sprints", "tempo_worklogs", "toggl_time"]  # fmt: skip
STAGING = ["assets", "baselines", "evm_status", "holidays", "licences", "people", "person_aliases", "project_map",
           "projects", "rates", "risks", "sprints", "status_reports", "work_items", "worklogs"]  # fmt: skip
MARTS = ["actual_cost_weekly", "baseline_versions", "closure_drivers", "cost_exceptions", "eac_backtest",
         "eac_backtest_summary", "evm_flags", "evm_forecast", "evm_progress", "evm_restatements", "evm_weekly",
         "itam_cost", "itam_due_dates", "itam_gaps", "itam_renewals", "milestone_history", "milestone_slips",
         "milestone_state", "milestone_variance", "planned_value_weekly", "portfolio_weekly", "project_closure",
         "project_timesheet_completeness", "resource_utilisation", "risk_exposure", "source_freshness",
         "team_utilisation", "ticket_flow", "ticket_flow_items", "timesheet_completeness", "utilisation_by_project",
         "worklog_costs"]  # fmt: skip
OTHERS = ["audit/contract_validations", "audit/files", "audit/rejects", "published/pmo", "reports/email",
          "reports/pack"]  # fmt: skip
ASSET_KEYS = sorted(
    [f"raw/{k}" for k in RAW] + [f"staging/{t}" for t in STAGING] + [f"marts/{m}" for m in MARTS] + OTHERS
)
# 24 raw kinds × (contract, fresh) + the two blocking "present" checks = 50
CHECK_KEYS = sorted(
    [(f"raw/{k}", "contract") for k in RAW] + [(f"raw/{k}", "fresh") for k in RAW]
    + [("staging/projects", "present"), ("staging/rates", "present")]
)  # fmt: skip


def _checks(keys) -> list[tuple[str, str]]:
    return sorted((k.asset_key.to_user_string(), k.name) for k in keys)


def test_asset_keys_are_pinned():
    graph = defs.resolve_asset_graph()
    assert sorted(k.to_user_string() for k in graph.get_all_asset_keys()) == ASSET_KEYS
    assert len(ASSET_KEYS) == 24 + 15 + 32 + 6


def test_check_keys_are_pinned_and_the_weekly_job_runs_every_check():
    graph = defs.resolve_asset_graph()
    assert _checks(graph.asset_check_keys) == CHECK_KEYS
    assert len(CHECK_KEYS) == 50
    job = defs.resolve_job_def("weekly_pack")
    assert _checks(job.asset_layer.asset_graph.asset_check_keys) == CHECK_KEYS
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == set(ASSET_KEYS)


def test_freshness_checks_run_after_the_freshness_mart_in_the_warehouse_pool_and_only_warn():
    spec = next(iter(source_freshness_checks.check_specs))
    assert [dep.asset_key for dep in spec.additional_deps] == [dg.AssetKey(["marts", "source_freshness"])]
    assert not spec.blocking
    assert source_freshness_checks.node_def.pool == "warehouse"


def test_schedules_and_sensors_are_pinned():
    repository = defs.get_repository_def()
    assert sorted(s.name for s in repository.schedule_defs) == ["weekly_pack_schedule"]
    assert sorted(s.name for s in repository.sensor_defs) == ["after_ingestion", "failure_notice", "inbox_sensor"]
    # The notice runs without anyone switching it on in the UI: a failed Monday run is not missed.
    assert failure_notice.default_status == dg.DefaultSensorStatus.RUNNING
