"""`pmo status`, `pmo run --wait`, the home's Dagster instance (its warehouse pool) and the failure notice, on real
runs of the small demo inbox: a real home, a real DagsterInstance, real subprocesses, a real SMTP server."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.definitions import defs
from pipelines.notices import failure_notice
from tests.conftest import SMALL, write_inbox
from tests.smtp import smtp_server
from transforms.demo_portfolio import generate

REPO_ROOT = Path(__file__).resolve().parents[2]


def pmo(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, "PMO_SMTP_HOST": "", **(env or {})},
    )  # fmt: skip


def _run(home: Path, inbox: Path, *extra: str) -> int:
    with pytest.MonkeyPatch.context() as mp:  # main() points DAGSTER_HOME and PMO_HOME at the home
        mp.delenv("PMO_SMTP_HOST", raising=False)
        mp.setenv("DAGSTER_HOME", os.environ.get("DAGSTER_HOME", ""))
        mp.setenv("PMO_HOME", os.environ["PMO_HOME"])
        return main(["run", "--inbox", str(inbox), "--home", str(home), *extra])


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One successful run of the small demo inbox (exit 3: the demo rejects a few rows on purpose)."""
    root = tmp_path_factory.mktemp("status")
    inbox = write_inbox(root / "inbox", generate(SMALL))
    home = root / "home"
    assert _run(home, inbox) == 3
    return home, inbox


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
    """A run that fails: an inbox without the project register stops at the blocking `present` check."""
    root = tmp_path_factory.mktemp("failed")
    files = {name: data for name, data in generate(SMALL).items() if name != "pmo/projects.csv"}
    inbox = write_inbox(root / "inbox", files)
    home = root / "home"
    (home).mkdir()
    (home / "pmo.toml").write_text('[email]\noperator = "ops@example.org"\nsubject_prefix = "[PMO]"\n')
    assert _run(home, inbox) == 1
    return home, inbox


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home / "dagster"))


def test_status_after_a_run_shows_the_run_the_sources_and_the_pack(ran):
    home, _ = ran
    with _instance(home) as instance:
        run = instance.get_run_records(limit=1)[0].dagster_run
    done = pmo("status", "--home", home)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"last run: {run.run_id} ({run.job_name}, by hand)" in out
    assert "  status   SUCCESS" in out
    # The demo ends on Sunday 2026-03-15 (the status date); tempo's newest worklog is Friday 2026-03-13, so its
    # age is 15 - 13 = 2 days ≤ 14 (the default maximum): fresh.
    assert "sources at 2026-03-15" in out
    tempo = next(line for line in out.splitlines() if line.strip().startswith("tempo_worklogs"))
    assert tempo.split() == ["tempo_worklogs", "2026-03-13", "2", "14", "fresh"]
    # The demo rejects 2 tempo rows on purpose (negative hours, 31 Feb): its contract check failed, as a warning.
    assert "raw/tempo_worklogs contract (WARN): 2 row(s) rejected, 0 file(s) quarantined" in out
    assert f"latest pack: {home.resolve() / 'reports' / '2026-03-15' / 'index.html'}" in out


def test_the_freshness_checks_are_evaluated_in_the_run(ran):
    home, _ = ran
    with _instance(home) as instance:
        tempo = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey(["raw", "tempo_worklogs"]), "fresh")
        )
        toggl = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey(["raw", "toggl_time"]), "fresh")
        )
    evaluation = tempo.event.dagster_event.event_specific_data
    assert evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    assert meta["data_through"] == "2026-03-13" and meta["age_days"] == 2 and meta["max_age_days"] == 14
    assert meta["latest_export_file"] == "tempo/tempo_worklogs_2026-03-15.csv"
    # The demo has no Toggl export: never delivered is not stale.
    toggl_eval = toggl.event.dagster_event.event_specific_data
    assert toggl_eval.passed and toggl_eval.metadata["data_through"].value == "no export yet"


def test_the_home_instance_runs_warehouse_steps_one_at_a_time(ran):
    """dagster.yaml's `concurrency: pools: default_limit: 1` is in force: the run claimed the warehouse pool,
    which the instance created with one slot."""
    home, _ = ran
    with _instance(home) as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure
        pool = instance.event_log_storage.get_concurrency_info("warehouse")
    assert pool.slot_count == 1


def test_the_home_instance_keeps_its_event_log_where_dagster_does(ran):
    """dagster.yaml's event_log_storage (pipelines/eventlog.py) is in force, and the run's events are where Dagster's
    own SQLite event log keeps them: its class reads every one back."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from pipelines.eventlog import KeptEngineSqliteEventLogStorage

    home, _ = ran
    with _instance(home) as instance:
        assert type(instance.event_log_storage) is KeptEngineSqliteEventLogStorage
        run_id = instance.get_run_records(limit=1)[0].dagster_run.run_id
        stored = instance.all_logs(run_id)
    plain = SqliteEventLogStorage(str(home / "dagster" / "history" / "runs"))
    assert len(stored) > 50 and len(plain.get_logs_for_run(run_id)) == len(stored)
    plain.dispose()


def test_in_one_run_the_contracts_step_comes_after_the_marts_and_before_the_steps_that_read_it(tmp_path):
    """`pmo run --as-of` (the schedule's and the benchmark's one run of the whole job): the contracts' step (priority
    -1) waits for every mart step, so a week's worker has imported great-expectations by then; the snapshot and the
    pack, which read audit.contract_validations, start after it."""
    home = tmp_path / "home"
    assert _run(home, write_inbox(tmp_path / "inbox", generate(SMALL)), "--as-of", "2026-03-15") == 3
    with _instance(home) as instance:
        run_id = instance.get_run_records(limit=1)[0].dagster_run.run_id
        started = [e.step_key for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)]
    at = started.index("audit__contract_validations")
    assert started[:2] == ["exports", "actual_cost"] and at > 10, started
    assert set(started[at + 1 :]) == {"published__pmo", "reports__pack", "reports__email"}, started


def test_status_after_a_failing_run_shows_the_failed_step_and_exits_1(failed):
    home, _ = failed
    done = pmo("status", "--home", home)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "  status   FAILURE" in done.stdout
    assert "failed step exports:" in done.stdout
    assert "staging/projects present (ERROR)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_status_of_a_missing_home_is_a_usage_error(tmp_path):
    done = pmo("status", "--home", tmp_path / "nowhere")
    assert done.returncode == 2 and "no home at" in done.stdout


def _hold(home: Path, seconds: float) -> subprocess.Popen:
    """A real process holding the home's run lock for `seconds`; it prints "held" once it has it."""
    code = (
        "import sys, time\nfrom pipelines.home import RunLock\n"
        f"lock = RunLock(__import__('pathlib').Path({str(home)!r}))\nlock.acquire()\n"
        f"print('held', flush=True)\ntime.sleep({seconds})\nlock.release()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_run_waits_for_the_holder_with_wait_and_exits_4_without(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", generate(SMALL))
    home = tmp_path / "home"
    holder = _hold(home, 8)
    try:
        refused = pmo("run", "--inbox", inbox, "--home", home, timeout=60)
        assert refused.returncode == 4
        assert f"another run holds {home.resolve()}" in refused.stdout
        gave_up = pmo("run", "--inbox", inbox, "--home", home, "--wait", "1", timeout=60)
        assert gave_up.returncode == 4 and "after waiting 1 s" in gave_up.stdout
        started = time.monotonic()
        waited = pmo("run", "--inbox", inbox, "--home", home, "--wait", timeout=300)
        elapsed = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert waited.returncode == 3, waited.stdout + waited.stderr
    assert waited.stdout.count(f"waiting for the run holding {home.resolve()} …") == 1
    assert holder.returncode == 0
    assert (home / "reports" / "2026-03-15" / "index.html").is_file()
    assert elapsed > 1  # it did wait: the holder kept the lock for 8 s from before the first refusal


def _scheduled_failure(home: Path, inbox: Path, instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    """Run the weekly job as the schedule does (its tags) on the failing inbox; the sensor's context for it."""
    result = defs.resolve_job_def("weekly_pack").execute_in_process(
        run_config={"resources": {"pmo": {"config": {"home": str(home), "inbox": str(inbox)}}}},
        instance=instance, raise_on_error=False, partition_key="2026-03-15",
        tags={"dagster/schedule_name": "weekly_pack_schedule"},
    )  # fmt: skip
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
    return dg.build_run_status_sensor_context(
        sensor_name="failure_notice", dagster_event=failure, dagster_instance=instance, dagster_run=run
    ).for_run_failure()


def test_a_failed_scheduled_run_emails_the_operator_the_step_and_the_log(failed, monkeypatch):
    home, inbox = failed
    with _instance(home) as instance, smtp_server() as server:
        context = _scheduled_failure(home, inbox, instance)
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        assert failure_notice(context) is None
        run_id = context.dagster_run.run_id
    assert len(server.mailbox.received) == 1
    got = server.mailbox.received[0]
    assert got.envelope_to == ["ops@example.org"]
    message = got.message
    assert message["Subject"] == "[PMO] pmo-kpi run failed: exports"
    body = message.get_content()
    assert f"The pmo-kpi run {run_id} of job weekly_pack (schedule name weekly_pack_schedule) failed." in body
    assert "Failing step: exports" in body
    assert "staging/projects" in body  # the blocking check that stopped it
    assert f"Dagster UI: /runs/{run_id}" in body
    assert f"{home.resolve() / 'dagster' / 'storage' / run_id / 'compute_logs'}" in body


def test_a_failed_run_started_by_hand_is_not_notified(failed, monkeypatch):
    home, _ = failed
    with _instance(home) as instance, smtp_server() as server:
        run = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))[-1]  # `pmo run`'s
        assert "dagster/schedule_name" not in run.tags
        failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        context = dg.build_run_status_sensor_context(
            sensor_name="failure_notice", dagster_event=failure, dagster_instance=instance, dagster_run=run
        ).for_run_failure()
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        skipped = failure_notice(context)
    assert isinstance(skipped, dg.SkipReason) and "started by hand" in skipped.skip_message
    assert server.mailbox.received == []


def test_the_run_itself_waits_for_a_run_that_slipped_in_after_the_cli_probe(tmp_path):
    """`--wait` reaches the run's own lock (PmoHome.wait_seconds): a run that takes the home between the CLI's
    probe and this run's start is waited for; without a wait the run stops at once."""
    import dagster as dg

    from pipelines.home import HomeLocked
    from pipelines.resources import PmoHome

    home = tmp_path / "home"
    context = dg.build_init_resource_context()  # before the holder starts: building it takes a moment
    holder = _hold(home, 3)
    try:
        with pytest.raises(HomeLocked):
            PmoHome(home=str(home)).setup_for_execution(context)
        waiting = PmoHome(home=str(home), wait_seconds=30)
        started = time.monotonic()
        waiting.setup_for_execution(context)
        assert time.monotonic() - started > 0.5  # it waited for the rest of the holder's 3 s, then took the lock
        waiting.teardown_after_execution(context)
    finally:
        holder.wait(timeout=30)
