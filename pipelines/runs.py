"""Runs left behind by a killed `pmo` process.

The CLI runs its jobs in process. A process killed mid-run (kill -9, out of memory, a power cut) cannot tell the
home's Dagster instance that its run ended: the run stays STARTED and keeps the slot it held in the `warehouse` pool
(limit 1, dagster.yaml), so every later run of the home would wait for that slot for ever, printing nothing. Each
run the CLI starts carries its process (PROCESS_TAG: host, pid and start time); before the next run starts, a run
whose process is gone is marked failed and its pool slots are freed. A run of another machine, or of a live process,
is left alone."""

import os
import socket
from pathlib import Path

PROCESS_TAG = "pmo/process"
UNFINISHED = ("NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def process_tag(pid: int | None = None) -> str:
    """host:pid:start, the start time (clock ticks since boot, /proc) telling a reused pid from the process."""
    pid = os.getpid() if pid is None else pid
    try:
        start = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        start = ""
    return f"{socket.gethostname()}:{pid}:{start}"


def _gone(tag: str) -> bool:
    host, _, rest = tag.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's process, or not a tag of ours: cannot tell
    if start:
        return process_tag(int(pid_text)) != tag
    try:  # no /proc: whether the pid is in use
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release_killed_runs(instance) -> list[str]:
    """Mark failed, and free the pool slots of, every unfinished run whose `pmo` process is gone. Their ids."""
    import dagster as dg

    statuses = [dg.DagsterRunStatus[name] for name in UNFINISHED]
    released = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=statuses)):
        tag = run.tags.get(PROCESS_TAG, "")
        if not tag or not _gone(tag):
            continue
        pid = tag.split(":")[1]
        why = f"the pmo process running it (pid {pid}) was killed; marked failed by a later run"
        instance.report_run_failed(run, why)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
