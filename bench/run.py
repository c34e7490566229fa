"""The whole weekly run at portfolio scale, the way a user runs it, against the floor, in the same run.

    make bench [SCALE=small]        (python -m bench.run --scale full|small [--workdir DIR])

1. Writes the seeded portfolio of bench/portfolio.py (kept in the work folder and reused while the generator is
   unchanged).
2. The floor, in its own process: DuckDB's `CREATE TABLE AS SELECT * FROM read_csv(...)` of every export file, then
   one SQL query computing weekly PV, EV (0/100) and AC → CPI and SPI per project for every week.
3. The full run: `pmo run --as-of <week>` (the CLI, through Dagster, in one process) on a fresh home with all the
   history: the first import, the marts of every week, the pack and the e-mails (to the outbox).
4. The incremental week: the next week's exports dropped into the inbox and `pmo run --as-of <next week>` again.
5. The same week after an upgrade: every file staged again (`stage_everything_again`), as the first run after an
   upgrade of the contracts, readers or staging code does, and `pmo run --as-of <next week>` once more.
6. `pmo forget` of one person (`pmo_forget`): not part of the weekly run, so reported on its own, against the same
   memory target.

Per stage (start-up, ingest, contracts, staging, marts, publish, pack, e-mails) it reports wall time, rows per
second and peak memory. Stage times come from the run's own Dagster event log (step start and success) and, for
ingest vs staging inside the `exports` step, from the step's metadata; memory from sampling the process's RSS every
20 ms, and its exact peak from the kernel (wait4). `pmo --help` is timed too. The figures go to
bench/results/<date>[-small].json, to the README's Performance section and, per Dagster step, to
docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PMO = ROOT / ".venv" / "bin" / "pmo"
STAGES = ["ingest", "contracts", "staging", "marts", "publish", "pack", "e-mails"]
BEFORE_PACK = ["ingest", "contracts", "staging", "marts"]  # what the incremental week must do in 1/10 of the time
# The runs: the first import of all the history, the week after it, and that week again after an upgrade.
RUNS = {"full": "full run", "incremental": "incremental week", "restaged": "after an upgrade"}
TARGETS = {"total_over_floor": 2.0, "ms_per_project_page": 30, "peak_rss_mb": 2048, "help_s": 0.5,
           "incremental_over_full": 0.1}  # fmt: skip


def _stage(step_key: str) -> str:
    if step_key == "exports":
        return "exports"
    if step_key == "audit__contract_validations":
        return "contracts"
    return {"published__pmo": "publish", "reports__pack": "pack", "reports__email": "e-mails"}.get(step_key, "marts")


# ----------------------------------------------------------------------------------------------------------- data


def prepare_data(work: Path, scale: str) -> Path:
    """The generated portfolio under work/data, regenerated only when the generator or the scale changed."""
    stamp = hashlib.sha256((ROOT / "bench" / "portfolio.py").read_bytes() + scale.encode()).hexdigest()[:16]
    data = work / "data"
    if (data / ".stamp").exists() and (data / ".stamp").read_text() == stamp:
        print(f"portfolio: reusing {data}", flush=True)
        return data
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    # In a process of its own: a child inherits its parent's peak RSS as its own starting peak (the kernel carries
    # it over fork and exec), so generating the data here (4 GB) would become the floor's and the run's peak memory.
    made = subprocess.run([sys.executable, "-m", "bench.portfolio", "--scale", scale, "--out", str(data)],
                          cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)  # fmt: skip
    counts = json.loads(made.stdout.splitlines()[-1])
    # Dated an hour back, as exports downloaded before the run: `pmo run` does not yet trust the size and time of a
    # file written in the last minute (it may still be being written) and would read and hash it again next week.
    settled = time.time() - 3600
    for path in data.rglob("*"):
        os.utime(path, (settled, settled))
    (data / "counts.json").write_text(json.dumps(counts, indent=2))
    (data / ".stamp").write_text(stamp)
    print(f"portfolio: generated {counts} in {time.perf_counter() - started:.0f} s", flush=True)
    return data


# ---------------------------------------------------------------------------------------------------------- floor

FLOOR = r"""
import json, resource, sys, time
from pathlib import Path
import duckdb
inbox, db, as_of, first = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
conn = duckdb.connect(db)
t0 = time.perf_counter()
rows = 0
for i, path in enumerate(sorted(inbox.rglob("*.csv"))):
    name = f"{path.parent.name}_{re.sub(r'[^a-z0-9]', '_', path.stem.lower())}"
    conn.sql(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', all_varchar = false)")
    rows += conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]
t1 = time.perf_counter()
tempo = " UNION ALL ".join(f"SELECT * FROM {t}" for (t,) in conn.sql(
    "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'tempo_%' ORDER BY 1").fetchall())
jira = conn.sql("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'jira_%'").fetchall()[0][0]
conn.sql(f'''
CREATE TABLE weekly_evm AS
WITH weeks AS (SELECT unnest(generate_series(DATE '{first}', DATE '{as_of}', INTERVAL 7 DAY))::DATE AS wk),
base AS (
    SELECT project_id, element_key, budget::DECIMAL(18, 2) AS budget, planned_start::DATE AS ps,
           planned_finish::DATE AS pf, datediff('day', planned_start::DATE, planned_finish::DATE) + 1 AS days
    FROM pmo_baseline),
grid AS (SELECT wk, project_id FROM weeks CROSS JOIN (SELECT DISTINCT project_id FROM base)),
finished AS (  -- a budget whose planned finish falls in a week counts whole from that week on
    SELECT project_id, (pf + ((7 - isodow(pf)) % 7)::INTEGER)::DATE AS wk, sum(budget) AS budget
    FROM base GROUP BY ALL),
partial AS (  -- the prorated part of the elements under way at a week end
    SELECT b.project_id, w.wk, sum(b.budget * (datediff('day', b.ps, w.wk) + 1) / b.days) AS budget
    FROM base b JOIN weeks w ON w.wk >= b.ps AND w.wk < b.pf GROUP BY ALL),
pv AS (
    SELECT g.wk, g.project_id,
        coalesce(sum(f.budget) OVER (PARTITION BY g.project_id ORDER BY g.wk), 0) + coalesce(p.budget, 0) AS pv
    FROM grid g LEFT JOIN finished f USING (project_id, wk) LEFT JOIN partial p USING (project_id, wk)),
items AS (
    SELECT "Issue key" AS item, strptime("Resolved", '%d/%b/%y %I:%M %p')::DATE AS resolved
    FROM {jira} WHERE "Resolved" IS NOT NULL),
earned AS (
    SELECT b.project_id, (i.resolved + ((7 - isodow(i.resolved)) % 7)::INTEGER)::DATE AS wk, sum(b.budget) AS budget
    FROM base b JOIN items i ON i.item = b.element_key GROUP BY ALL),
ev AS (
    SELECT g.wk, g.project_id, sum(e.budget) OVER (PARTITION BY g.project_id ORDER BY g.wk) AS ev
    FROM grid g LEFT JOIN earned e USING (project_id, wk)),
logs AS (
    SELECT m.project_id, t."Work date"::DATE AS day, t."Hours" * r.hourly_rate AS cost
    FROM ({tempo}) t
    JOIN pmo_project_map m ON m.source_kind = 'jira' AND m.source_key = t."Project Key"
    JOIN pmo_people p ON p.tempo_user = t."Username"
    JOIN pmo_rate_card r ON r.role = p.role),
ac_week AS (
    SELECT project_id, (day + ((7 - isodow(day)) % 7)::INTEGER)::DATE AS wk, sum(cost) AS cost FROM logs GROUP BY ALL),
ac AS (
    SELECT g.wk, g.project_id, sum(a.cost) OVER (PARTITION BY g.project_id ORDER BY g.wk) AS ac
    FROM grid g LEFT JOIN ac_week a USING (project_id, wk))
SELECT pv.project_id, pv.wk AS status_date, pv.pv, ev.ev, ac.ac,
       ev.ev / nullif(ac.ac, 0) AS cpi, ev.ev / nullif(pv.pv, 0) AS spi
FROM pv LEFT JOIN ev USING (project_id, wk) LEFT JOIN ac USING (project_id, wk)
ORDER BY project_id, status_date
''')
t2 = time.perf_counter()
weeks = conn.sql("SELECT count(*) FROM weekly_evm").fetchall()[0][0]
print(json.dumps({"read_s": t1 - t0, "evm_s": t2 - t1, "rows": rows, "evm_rows": weeks,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def floor(data: Path, work: Path, as_of: dt.date, weeks: int) -> dict:
    db = work / "floor.duckdb"
    db.unlink(missing_ok=True)
    first = as_of - dt.timedelta(weeks=weeks - 1)
    code = "import re\n" + FLOOR
    proc = subprocess.run([sys.executable, "-c", code, str(data / "inbox"), str(db), str(as_of), str(first)],
                          cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    db.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise SystemExit(f"the floor failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------------------ run


class RssSampler(threading.Thread):
    """The RSS of a process and its children, every 20 ms, as (epoch seconds, MB)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.done = pid, [], threading.Event()

    @staticmethod
    def _rss_mb(pid: int) -> float:
        total = 0.0
        for p in [pid, *_children(pid)]:
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                pass
        return total

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append((time.time(), self._rss_mb(self.pid)))
            self.done.wait(0.02)

    def peak(self, start: float, end: float) -> float:
        inside = [mb for t, mb in self.samples if start <= t <= end]
        return max(inside, default=0.0)


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids] + [g for k in kids for g in _children(int(k))]


def pmo_run(home: Path, as_of: dt.date, log: Path) -> dict:
    """`pmo run` in its own process; its wall time, exact peak RSS (wait4) and the RSS samples."""
    args = [str(PMO), "run", "--home", str(home), "--inbox", str(home / "inbox"), "--as-of", as_of.isoformat()]
    return _timed(args, log, succeeded=(0, 3))


def pmo_forget(home: Path, log: Path) -> dict:
    """`pmo forget` of one person (the first who logged work) in its own process, after the runs: an erasure stages
    every file again and rebuilds the worklog costs in one transaction, at most the memory of a run after an upgrade
    plus what the transaction holds. Its wall time and peak RSS (the larger of the kernel's and the samples')."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        person = conn.sql("SELECT min(person_id) FROM staging.worklogs").fetchall()[0][0]
    args = [str(PMO), "forget", "--home", str(home), "--person", person, "--reason", "bench"]
    run = _timed(args, log, succeeded=(0,))
    peak = max(run["peak_rss_mb"], run["sampler"].peak(run["started"], run["ended"]))
    return {"person": person, "seconds": round(run["ended"] - run["started"], 1), "peak_rss_mb": round(peak)}


def _timed(args: list[str], log: Path, succeeded: tuple[int, ...]) -> dict:
    """A `pmo` command in its own process, its output to `log`; its start and end, exact peak RSS (wait4) and the
    RSS samples."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PMO_SMTP_HOST", None)  # the e-mails go to the home's outbox
    with log.open("w") as out:
        started = time.time()
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        sampler = RssSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        ended = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.done.set()
        sampler.join()
    if proc.returncode not in succeeded:
        tail = log.read_text()[-3000:]
        raise SystemExit(f"pmo {args[1]} failed ({proc.returncode}); its output is in {log}:\n{tail}")
    return {"started": started, "ended": ended, "peak_rss_mb": usage.ru_maxrss / 1024, "sampler": sampler}


def stages(home: Path, run: dict) -> dict:
    """Per stage: seconds, peak MB; from the last run's Dagster event log in the home."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        record = instance.get_runs(limit=1)[0]
        events = instance.all_logs(record.run_id)
    starts, ends, split = {}, {}, {}
    for e in events:
        if not e.is_dagster_event:
            continue
        kind, key = e.dagster_event.event_type_value, e.step_key
        if kind == "STEP_START":
            starts[key] = e.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            ends[key] = e.timestamp
        elif kind == "ASSET_MATERIALIZATION" and e.dagster_event.asset_key.path == ["audit", "files"]:
            meta = e.dagster_event.event_specific_data.materialization.metadata
            split = {"load": meta["seconds_load"].value, "staging": meta["seconds_staging"].value}
    sampler: RssSampler = run["sampler"]
    out = {s: {"seconds": 0.0, "peak_mb": 0.0} for s in STAGES}
    steps = {}  # per Dagster step (asset or multi-asset): where a stage's time and memory go
    for key, start in starts.items():
        stage, end = _stage(key), ends.get(key, start)
        peak = sampler.peak(start, end)
        steps[key] = {"seconds": round(end - start, 2), "peak_mb": round(peak)}
        if stage == "exports":
            # ingest = reading the files into raw (plus the step's own bookkeeping); staging = the rebuild.
            out["staging"]["seconds"] += split["staging"]
            out["ingest"]["seconds"] += end - start - split["staging"]
            for s in ("ingest", "staging"):
                out[s]["peak_mb"] = max(out[s]["peak_mb"], peak)
            continue
        out[stage]["seconds"] += end - start
        out[stage]["peak_mb"] = max(out[stage]["peak_mb"], peak)
    first_step = min(starts.values())
    out = {"start-up": {"seconds": first_step - run["started"], "peak_mb": sampler.peak(run["started"], first_step)},
           **out}  # fmt: skip
    for body in out.values():
        body["seconds"] = round(body["seconds"], 2)
        body["peak_mb"] = round(body["peak_mb"])
    # The kernel's peak is the largest single process's; the samples add up the process and its children.
    peak = max(run["peak_rss_mb"], sampler.peak(run["started"], run["ended"]))
    return {
        "stages": out,
        "total_s": round(run["ended"] - first_step, 2),
        "peak_rss_mb": round(peak),
        "steps": dict(sorted(steps.items(), key=lambda kv: -kv[1]["seconds"])),
    }


def counts(home: Path, as_of: dt.date) -> dict:
    """What each stage handled, for rows per second: rows in new files, staged rows, mart rows, pages, e-mails."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        q = lambda sql: conn.sql(sql).fetchall()[0][0] or 0  # noqa: E731
        sizes = conn.sql(
            "SELECT schema_name, sum(estimated_size) FROM duckdb_tables()"
            " WHERE schema_name IN ('staging', 'marts') GROUP BY ALL"
        ).fetchall()
        rows = {"staging": 0, "marts": 0} | {schema: int(n) for schema, n in sizes}
        files = q("SELECT sum(rows_in_file) FROM audit.files")
    pack = home / "reports" / as_of.isoformat()
    return {"files_rows": int(files), "staging_rows": rows["staging"], "mart_rows": rows["marts"],
            "pages": sum(1 for _ in pack.rglob("*.html")),
            "project_pages": sum(1 for _ in (pack / "projects").glob("*.html")),
            "emails": sum(1 for p in (home / "outbox").glob("*.eml") if as_of.isoformat() in p.name)}  # fmt: skip


def help_seconds() -> float:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([str(PMO), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of source into target (the exports are large; the inbox only reads them)."""
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)


SETTINGS = """\
[email]
sender = "pmo-kpi@example.org"
leadership = ["cio@example.org", "cfo@example.org", "coo@example.org"]

[email.sponsors]
{sponsors}
"""


def measure(data: Path, work: Path, scale: str) -> dict:
    from bench.portfolio import AS_OF, SCALES

    size = SCALES[scale]
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    sponsors = "\n".join(f'"Sponsor {i:02d}" = ["sponsor{i:02d}@example.org"]' for i in range(1, 61))
    (home / "pmo.toml").write_text(SETTINGS.format(sponsors=sponsors))
    _link_tree(data / "inbox", home / "inbox")

    help_s = help_seconds()
    print(f"pmo --help: {help_s:.2f} s", flush=True)
    low = floor(data, work, AS_OF, size.weeks)
    low_s = low["read_s"] + low["evm_s"]
    print(f"floor: read_csv {low['read_s']:.1f} s ({low['rows']:,} rows) + weekly EVM {low['evm_s']:.1f} s "
          f"({low['evm_rows']:,} rows), peak {low['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip

    runs = {}
    for name, as_of in (("full", AS_OF), ("incremental", AS_OF + dt.timedelta(days=7)),
                        ("restaged", AS_OF + dt.timedelta(days=7))):  # fmt: skip
        if name == "incremental":
            _link_tree(data / "next_week", home / "inbox")
        if name == "restaged":
            stage_everything_again(home)
        print(f"{RUNS[name]}: pmo run --as-of {as_of} …", flush=True)
        run = pmo_run(home, as_of, work / f"{name}.log")
        result = stages(home, run) | {"counts": counts(home, as_of)}
        handled = {"ingest": "files_rows", "contracts": "files_rows", "staging": "staging_rows", "marts": "mart_rows",
                   "publish": "mart_rows", "pack": "pages", "e-mails": "emails"}  # fmt: skip
        for stage, body in result["stages"].items():
            if stage in handled and body["seconds"] > 0:
                body["per_s"] = round(result["counts"][handled[stage]] / body["seconds"])
        runs[name] = result
        _print_run(name, result)
    print("pmo forget (one person, after the runs) …", flush=True)
    erasure = pmo_forget(home, work / "forget.log")
    print(f"  {erasure['seconds']:.1f} s, peak {erasure['peak_rss_mb']} MB", flush=True)

    full, inc = runs["full"], runs["incremental"]
    pages = full["counts"]["project_pages"]
    budget = TARGETS["total_over_floor"] * low_s + TARGETS["ms_per_project_page"] / 1000 * pages
    before = lambda r: sum(r["stages"][s]["seconds"] for s in BEFORE_PACK)  # noqa: E731
    # The ingest of the incremental run counts only the new files' rows; the full run's, all the history's.
    return {
        "date": dt.date.today().isoformat(),
        "scale": scale,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {_memory_gb()} GB",
        "sizes": json.loads((data / "counts.json").read_text()),
        "input_mb": round(sum(p.stat().st_size for p in (data / "inbox").rglob("*.csv")) / 2**20, 1),
        "floor": {"read_csv_s": round(low["read_s"], 2), "weekly_evm_s": round(low["evm_s"], 2),
                  "total_s": round(low_s, 2), "rows": low["rows"], "peak_rss_mb": round(low["peak_rss_mb"])},
        "help_s": help_s,
        "full": full,
        "incremental": inc,
        "restaged": runs["restaged"],
        "forget": erasure,
        "budget_s": round(budget, 1),
        "total_over_floor": round(full["total_s"] / low_s, 2),
        "total_over_budget": round(full["total_s"] / budget, 2),
        "incremental_over_full": round(before(inc) / before(full), 3),
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs.values()),
        "targets": TARGETS,
    }  # fmt: skip


def stage_everything_again(home: Path) -> None:
    """Make the next run stage every file again and merge every table again, as the first run after an upgrade of
    the contracts, readers or staging code does (pipelines/ingest.py `fingerprint`: no file is staged under the new
    one), without changing the code: the record of which files were staged under which fingerprint is emptied."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.sql("DELETE FROM audit.staged_files")


def _memory_gb() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


def _print_run(name: str, result: dict) -> None:
    print(f"  {'stage':<10} {'seconds':>8} {'rows/s':>12} {'peak MB':>8}")
    for stage, body in result["stages"].items():
        print(f"  {stage:<10} {body['seconds']:>8.1f} {body.get('per_s', ''):>12} {body['peak_mb']:>8}")
    print(f"  {'total':<10} {result['total_s']:>8.1f} {'':>12} {result['peak_rss_mb']:>8}   (start-up excluded)",
          flush=True)  # fmt: skip


# --------------------------------------------------------------------------------------------------------- report

BEGIN, END = "<!-- bench:{scale}:begin -->", "<!-- bench:{scale}:end -->"


def table(r: dict) -> str:
    full, low = r["full"], r["floor"]
    later = [r[name] for name in list(RUNS)[1:] if name in r]  # the incremental week, then after an upgrade
    ok = lambda good: "met" if good else "**not met**"  # noqa: E731
    lines = [
        f"Measured {r['date']} on {r['machine']}, scale `{r['scale']}` ({r['input_mb']} MB of CSV; "
        f"`bench/results/{_result_name(r)}`).",
        "",
        "| stage | full run: s | rows/s | peak MB | "
        + "".join(f"{RUNS[n]}: s | peak MB | " for n in list(RUNS)[1:] if n in r).rstrip(),
        "|---|---|---|---|" + "---|---|" * len(later),
    ]
    for stage in ["start-up", *STAGES]:
        f = full["stages"][stage]
        cells = "".join(
            f" {run['stages'][stage]['seconds']:.1f} | {run['stages'][stage]['peak_mb']} |" for run in later
        )
        lines.append(f"| {stage} | {f['seconds']:.1f} | {f.get('per_s', '')} | {f['peak_mb']} |{cells}")
    totals = "".join(f" **{run['total_s']:.1f}** | **{run['peak_rss_mb']}** |" for run in later)
    lines += [
        f"| **total** (start-up excluded) | **{full['total_s']:.1f}** | | **{full['peak_rss_mb']}** |{totals}",
        "",
        "| measure | result | target | |",
        "|---|---|---|---|",
        f"| floor: DuckDB `read_csv` of every file + one weekly EVM query | {low['read_csv_s']:.1f} s + "
        f"{low['weekly_evm_s']:.1f} s = {low['total_s']:.1f} s, {low['peak_rss_mb']} MB | | |",
        f"| total ÷ floor | {r['total_over_floor']}× | ≤ 2× + 30 ms × {full['counts']['project_pages']} project "
        f"pages = {r['budget_s']} s | {ok(r['total_over_budget'] <= 1)} |",
        f"| incremental week ÷ full (ingest to marts) | {r['incremental_over_full']} | ≤ 0.1 | "
        f"{ok(r['incremental_over_full'] <= 0.1)} |",
        f"| peak memory ({', '.join(RUNS[n] for n in RUNS if n in r)}) | {r['peak_rss_mb']} MB | < 2048 MB | "
        f"{ok(r['peak_rss_mb'] < 2048)} |",
        f"| `pmo --help` | {r['help_s']} s | < 0.5 s | {ok(r['help_s'] < 0.5)} |",
    ]
    if "forget" in r:  # not a weekly run, so not in the targets above; held to the same memory
        erasure = r["forget"]
        lines.append(f"| `pmo forget` of one person, after the runs (an erasure, not part of the weekly run) | "
                     f"{erasure['seconds']:.1f} s, {erasure['peak_rss_mb']} MB | < 2048 MB | "
                     f"{ok(erasure['peak_rss_mb'] < 2048)} |")  # fmt: skip
    return "\n".join(lines)


def steps_table(r: dict) -> str:
    """Every Dagster step of every run, the slowest of the full run first (docs/performance.md)."""
    names = [name for name in RUNS if name in r]
    runs = [r[name]["steps"] for name in names]
    order = sorted(set().union(*runs), key=lambda step: (-runs[0].get(step, {}).get("seconds", 0), step))
    lines = [
        f"Measured {r['date']} (`bench/results/{_result_name(r)}`).",
        "",
        "| step | " + " | ".join(f"{RUNS[name]}: s | peak MB" for name in names) + " |",
        "|---|" + "---|---|" * len(names),
    ]
    for step in order:
        cells = [f"{run[step]['seconds']:.1f} | {run[step]['peak_mb']}" if step in run else " | " for run in runs]
        lines.append(f"| `{step}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _result_name(r: dict) -> str:
    return f"{r['date']}{'' if r['scale'] == 'full' else '-' + r['scale']}.json"


def write(r: dict) -> None:
    out = ROOT / "bench" / "results" / _result_name(r)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2) + "\n")
    tables = {"README.md": (r["scale"], table(r)), "docs/performance.md": (f"{r['scale']}:steps", steps_table(r))}
    for doc, (marker, body) in tables.items():
        if replace_between(ROOT / doc, BEGIN.format(scale=marker), END.format(scale=marker), body):
            print(f"{doc}: the {marker} table updated")
    print(f"written to {out.relative_to(ROOT)}")


def replace_between(path: Path, begin: str, end: str, body: str) -> bool:
    """Put `body` between the markers `begin` and `end` of the file; False (the file as it was) without them."""
    text = path.read_text()
    if begin not in text or end not in text:
        return False
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text))
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / ".work")
    args = parser.parse_args()
    work = args.workdir.resolve() / args.scale
    work.mkdir(parents=True, exist_ok=True)
    data = prepare_data(work, args.scale)
    result = measure(data, work, args.scale)
    print(table(result))
    write(result)


if __name__ == "__main__":
    main()
