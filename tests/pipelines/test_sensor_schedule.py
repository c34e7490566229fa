"""The weekly partitions (keyed by status date), the weekly schedule and the inbox sensor, evaluated for real."""

import datetime as dt
import hashlib
import json
import os
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines import partitions, sensors
from pipelines.definitions import weekly_pack_schedule
from pipelines.delivery import EMAIL_OP
from pipelines.home import Settings, SettingsError, load_settings


def _settings(**sections) -> Settings:
    return Settings.model_validate(sections)


def test_partition_keys_are_status_dates_seven_days_apart():
    weekly = partitions.weekly_partitions(_settings())
    # 2026-03-18 is a Wednesday: the last complete week ended on Sunday 2026-03-15.
    keys = weekly.get_partition_keys(current_time=dt.datetime(2026, 3, 18, 12, tzinfo=ZoneInfo("UTC")))
    assert keys[0] == "2020-01-05"  # 1 January 2020 was a Wednesday; the first Sunday is the 5th
    assert keys[-1] == "2026-03-15"
    days = [dt.date.fromisoformat(k) for k in keys]
    assert {d.isoweekday() for d in days} == {7}  # every key is a Sunday, the default week end
    assert {(b - a).days for a, b in zip(days, days[1:], strict=False)} == {7}
    # 2020-01-05 to 2026-03-15: 2262 days = 323 weeks, so 324 keys.
    assert len(keys) == 324
    # The window Dagster shows for key S is [S, S + 7 days); the data is the week ending on S.
    window = weekly.time_window_for_partition_key("2026-03-15")
    assert (window.start.date(), window.end.date()) == (dt.date(2026, 3, 15), dt.date(2026, 3, 22))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2026, 3, 16, 7, 0), "2026-03-15"),  # Monday morning: the week ended yesterday
        (dt.datetime(2026, 3, 15, 23, 0), "2026-03-15"),  # Sunday night: its own week, on its last day
        (dt.datetime(2026, 3, 14, 23, 0), "2026-03-08"),  # Saturday: the week ending the 15th is not over
    ],
)
def test_the_latest_key_is_the_week_just_ended(now, expected):
    settings = _settings()
    weekly = partitions.weekly_partitions(settings)
    now = now.replace(tzinfo=ZoneInfo("UTC"))
    assert weekly.get_partition_keys(current_time=now)[-1] == expected
    assert partitions.last_status_date(settings, now).isoformat() == expected


def test_weeks_ending_on_friday_are_keyed_by_fridays():
    settings = _settings(pipeline={"week_ends_on": "friday"}, schedule={"first_status_date": "2025-01-03"})
    keys = partitions.weekly_partitions(settings).get_partition_keys(
        current_time=dt.datetime(2025, 1, 20, tzinfo=ZoneInfo("UTC"))
    )
    # Fridays from 3 January 2025 to Friday 17 January, the last one on or before Monday the 20th.
    assert keys == ["2025-01-03", "2025-01-10", "2025-01-17"]


def test_first_status_date_must_be_a_week_end(tmp_path):
    path = tmp_path / "pmo.toml"
    path.write_text('[schedule]\nfirst_status_date = "2020-01-06"\n', encoding="utf-8")  # a Monday
    with pytest.raises(SettingsError, match="first_status_date 2020-01-06 is not a week end"):
        load_settings(path)


@pytest.mark.parametrize(
    ("tick", "status_date"),
    [
        (dt.datetime(2026, 3, 16, 7, 0), "2026-03-15"),  # Monday 07:00 (the default): yesterday's week
        (dt.datetime(2026, 3, 18, 7, 0), "2026-03-15"),  # a Wednesday tick: still the week ended on Sunday
        (dt.datetime(2026, 3, 15, 7, 0), "2026-03-08"),  # Sunday 07:00: that week is not over yet
    ],
)
def test_schedule_requests_the_week_just_ended_as_partition_and_sends(tick, status_date):
    from pipelines.definitions import defs

    context = dg.build_schedule_context(
        scheduled_execution_time=tick.replace(tzinfo=ZoneInfo("UTC")), repository_def=defs.get_repository_def()
    )
    request = weekly_pack_schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == status_date
    assert request.run_key == status_date
    assert request.run_config["ops"][EMAIL_OP]["config"]["send"] is True


def _tick(sensor, cursor):
    with dg.DagsterInstance.ephemeral() as instance:
        result = sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, instance=instance))
    return result.run_requests or [], result.cursor


def test_inbox_sensor_runs_once_per_new_or_changed_content(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "tempo").mkdir(parents=True)
    sensor = sensors.inbox_sensor(inbox)

    requests, cursor = _tick(sensor, None)
    assert requests == []  # an empty inbox starts nothing

    worklogs = inbox / "tempo" / "tempo_worklogs_2026-03-15.csv"
    worklogs.write_bytes(b"Issue Key,Hours\nERP-1,2.00\n")
    requests, cursor = _tick(sensor, cursor)
    assert len(requests) == 1

    assert requests[0].run_key == hashlib.sha256(b"Issue Key,Hours\nERP-1,2.00\n").hexdigest()
    assert requests[0].partition_key is None  # ingestion only: unpartitioned; after_ingestion picks the week

    stat = worklogs.stat()
    os.utime(worklogs, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched: same bytes
    requests, cursor = _tick(sensor, cursor)
    assert requests == []
    assert json.loads(cursor)["tempo/tempo_worklogs_2026-03-15.csv"][1] == stat.st_mtime_ns + 5_000_000_000

    worklogs.write_bytes(b"Issue Key,Hours\nERP-1,2.50\n")  # corrected
    requests, cursor = _tick(sensor, cursor)
    assert [r.run_key for r in requests] == [hashlib.sha256(b"Issue Key,Hours\nERP-1,2.50\n").hexdigest()]

    (inbox / ".hidden.csv").write_bytes(b"x")
    (inbox / "tempo" / "upload.csv.part").write_bytes(b"x")
    (inbox / "tempo" / "next.tmp").write_bytes(b"x")
    (inbox / "~$projects.xlsx").write_bytes(b"x")
    requests, cursor = _tick(sensor, cursor)
    assert requests == []
    assert sorted(json.loads(cursor)) == ["tempo/tempo_worklogs_2026-03-15.csv"]


def test_several_new_files_in_one_tick_make_one_run(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sensor = sensors.inbox_sensor(inbox)
    (inbox / "a.csv").write_bytes(b"a")
    (inbox / "b.csv").write_bytes(b"b")
    requests, _ = _tick(sensor, None)
    hashes = sorted(hashlib.sha256(x).hexdigest() for x in (b"a", b"b"))
    # One run for both (each run ingests the whole inbox under the home's lock); key: sha256 of the sorted hashes.
    assert [r.run_key for r in requests] == [hashlib.sha256("\n".join(hashes).encode()).hexdigest()]


def test_the_sensor_and_the_schedule_are_registered():
    from pipelines.definitions import defs

    for name in ("inbox_sensor", "after_ingestion"):
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert sensor.minimum_interval_seconds == 30
    assert defs.resolve_sensor_def("inbox_sensor").job_name == "ingest_inbox"
    assert defs.resolve_job_def("ingest_inbox").partitions_def is None
    for job in ("weekly_pack", "weekly_build"):
        assert defs.resolve_job_def(job).partitions_def == partitions.WEEKLY
