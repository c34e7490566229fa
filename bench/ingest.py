"""Ingest benchmark: a 10-million-row Tempo export, a 1-million-row Jira export and a 100,000-row Snipe-IT
asset export, loaded through the real ingestion (contracts included) and compared, in the same run, with
DuckDB's own `CREATE TABLE AS SELECT * FROM read_csv(...)` of the same files (the floor).

    python -m bench.ingest [--scale full|small] [--workdir DIR]

Each side runs in its own process, so its wall time and peak memory (max RSS) are its own. Start-up (the
imports) is timed on its own and stays outside the ratio. Figures go to bench/results/ingest-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALES = {"full": (10_000_000, 1_000_000, 100_000), "small": (200_000, 20_000, 2_000)}


def generate(inbox: Path, worklogs: int, issues: int, assets: int, seed: int = 42) -> dict[str, int]:
    """Write the three exports in their tools' real formats, seeded (same seed, same bytes)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    projects = [f"P{i:03d}" for i in range(1000)]
    people = [f"Person {i:04d}" for i in range(5000)]
    start = dt.date(2024, 7, 1)
    (inbox / "jira").mkdir(parents=True, exist_ok=True)
    (inbox / "tempo").mkdir(parents=True, exist_ok=True)
    (inbox / "snipeit").mkdir(parents=True, exist_ok=True)

    day0 = pl.lit(start)
    jira = pl.DataFrame(
        {
            "n": pl.int_range(issues, eager=True),
            "Project key": pl.Series(rng.choice(projects, issues)),
            "Issue Type": rng.choice(["Story", "Task", "Bug"], issues),
            "Status": rng.choice(["To Do", "In Progress", "Done"], issues),
            "Priority": rng.choice(["High", "Medium", "Low"], issues),
            "Assignee": rng.choice(people, issues),
            "created": rng.integers(0, 700, issues),
            "Original estimate": rng.integers(1, 40, issues) * 3600,
        }
    ).select(
        pl.format("Work item {}", "n").alias("Summary"),
        pl.format("{}-{}", "Project key", "n").alias("Issue key"),
        (pl.col("n") + 10_000).alias("Issue id"),
        "Issue Type", "Status", "Project key", "Priority", "Assignee",
        (day0 + pl.duration(days="created")).dt.strftime("%d/%b/%y 9:00 AM").alias("Created"),
        "Original estimate",
    )  # fmt: skip
    jira.write_csv(inbox / "jira" / "jira_export.csv")

    item = rng.integers(0, issues, worklogs)
    keys = jira.get_column("Issue key").to_numpy()
    pkeys = jira.get_column("Project key").to_numpy()
    days = rng.integers(0, 728, worklogs)
    tempo = pl.DataFrame(
        {
            "Worklog Id": pl.int_range(1, worklogs + 1, eager=True),
            "Issue Key": keys[item],
            "Hours": (rng.integers(1, 33, worklogs) / 4).round(2),
            "Work date": days,
            "Full name": rng.choice(people, worklogs),
            "Project Key": pkeys[item],
        }
    ).with_columns((day0 + pl.duration(days="Work date")).dt.strftime("%Y-%m-%d").alias("Work date"))
    tempo.write_csv(inbox / "tempo" / "tempo_worklogs.csv")

    snipe = pl.DataFrame(
        {
            "n": pl.int_range(assets, eager=True),
            "Company": rng.choice([f"CC-{i:02d}" for i in range(50)], assets),
            "Category": rng.choice(["Laptop", "Monitor", "Server"], assets),
            "Model": rng.choice(["X1", "U2720", "R740"], assets),
            "m": rng.integers(1, 13, assets),
            "d": rng.integers(1, 29, assets),
            "Purchase Cost": (rng.integers(300_00, 9000_00, assets) / 100).round(2),
        }
    ).select(
        "Company", pl.format("Laptop {}", "n").alias("Name"), pl.format("AT-{}", "n").alias("Asset Tag"),
        "Category", "Model", pl.format("SN{}", "n").alias("Serial"),
        pl.format("{}/{}/24", "m", "d").alias("Purchase Date"), "Purchase Cost",
    )  # fmt: skip
    snipe.write_csv(inbox / "snipeit" / "assets.csv")
    return {"worklogs": worklogs, "issues": issues, "assets": assets}


def _child(code: str, *args: str) -> dict:
    """Run a measured step in its own process; it prints a JSON line with its timings."""
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


FLOOR = """
import json, resource, sys, time
t0 = time.perf_counter()
import duckdb
t1 = time.perf_counter()
conn = duckdb.connect(sys.argv[1])
for name, path in [("tempo", sys.argv[2]), ("jira", sys.argv[3]), ("assets", sys.argv[4])]:
    conn.sql(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}')")
conn.close()
t2 = time.perf_counter()
print(json.dumps({"startup_s": t1 - t0, "work_s": t2 - t1,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OURS = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from pipelines import warehouse
from pipelines.home import PipelineSettings
from pipelines.ingest import ingest
t1 = time.perf_counter()
caps = PipelineSettings()  # DuckDB's caps as a home has them by default (memory 1 GiB), not DuckDB's own defaults
conn = warehouse.connect(Path(sys.argv[1]), False, caps.memory_limit, caps.threads)
summary = ingest(conn, Path(sys.argv[2]))
files = conn.sql("SELECT sum(rows_in_file), sum(rows_loaded), sum(rows_rejected) FROM audit.files").fetchall()[0]
conn.close()
t2 = time.perf_counter()
print(json.dumps({"startup_s": t1 - t0, "work_s": t2 - t1, "rows_in_file": int(files[0]),
                  "rows_loaded": int(files[1]), "rows_rejected": int(files[2]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pmo-bench-"))
    inbox = work / "inbox"
    t = time.perf_counter()
    sizes = generate(inbox, *SCALES[args.scale])
    print(f"generated {sizes} in {time.perf_counter() - t:.1f}s under {inbox}", flush=True)
    paths = [str(inbox / "tempo" / "tempo_worklogs.csv"), str(inbox / "jira" / "jira_export.csv"),
             str(inbox / "snipeit" / "assets.csv")]  # fmt: skip
    floor = _child(FLOOR, str(work / "floor.duckdb"), *paths)
    print(f"floor (DuckDB read_csv): {floor['work_s']:.1f}s, peak {floor['peak_rss_mb']:.0f} MB", flush=True)
    ours = _child(OURS, str(work / "warehouse.duckdb"), str(inbox))
    rows = ours["rows_in_file"]
    result = {
        "date": dt.date.today().isoformat(),
        "scale": args.scale,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "sizes": sizes,
        "input_mb": round(sum(Path(p).stat().st_size for p in paths) / 2**20, 1),
        "floor_s": round(floor["work_s"], 2),
        "ingest_s": round(ours["work_s"], 2),
        "startup_s": round(ours["startup_s"], 2),
        "ingest_over_floor": round(ours["work_s"] / floor["work_s"], 2),
        "rows_per_s": round(rows / ours["work_s"]),
        "peak_rss_mb": round(ours["peak_rss_mb"]),
        "floor_peak_rss_mb": round(floor["peak_rss_mb"]),
        "rows_in_file": rows,
        "rows_loaded": ours["rows_loaded"],
        "rows_rejected": ours["rows_rejected"],
        "targets": {"ingest_over_floor": 1.5, "peak_rss_mb": 2048},
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / f"ingest-{result['date']}-{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
