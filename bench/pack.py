"""Report pack benchmark: the weekly pack for a portfolio of N projects (default 1,000).

    python -m bench.pack [--projects N] [--home DIR]

It runs the weekly job once on the demo portfolio (12 projects, 26 weeks; or reuses --home if it holds one), reads
the pack's data from that warehouse, and repeats every project-keyed frame under new project ids until there are N
projects (each copy keeps its real history, risks, milestones and costs). It then times, in this process:
- start-up: the Vega runtime bundle and the templates, once per process;
- the pack: render_pack for all N projects (pages, charts, CSVs) and writing it aside and swapping it in;
- per project page: the pack's time ÷ N (target ≤ 30 ms, everything included);
- the e-mails: building the leadership and a sponsor message, attachment included (target ≤ 1 s each).
Figures go to bench/results/pack-<date>-<N>.json. Benchmarks are not tests: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).with_name("results")


def tile(data, projects: int):
    """The pack's data with every project-keyed frame repeated under new ids until there are `projects`."""
    ids = sorted(data.projects["project_id"].to_list())
    copies = -(-projects // len(ids))

    def grow(frame):
        if frame is None or "project_id" not in frame.columns or frame.is_empty():
            return frame
        parts = [frame] + [
            frame.with_columns(pl.when(pl.col("project_id").is_not_null())
                               .then(pl.col("project_id") + pl.lit(f"-{k:03d}")).otherwise(pl.col("project_id"))
                               .alias("project_id"))
            for k in range(1, copies)
        ]  # fmt: skip
        return pl.concat(parts)

    grown = {f.name: grow(getattr(data, f.name)) for f in dataclasses.fields(data)
             if isinstance(getattr(data, f.name), pl.DataFrame)}  # fmt: skip
    keep = sorted(grown["projects"]["project_id"].to_list())[:projects]
    grown = {
        name: frame.filter(pl.col("project_id").is_in(keep) | pl.col("project_id").is_null())
        if "project_id" in frame.columns and not frame.is_empty()
        else frame
        for name, frame in grown.items()
    }
    return dataclasses.replace(data, **grown)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--home", type=Path, default=None, help="a home the demo already ran in (default: a new one)")
    args = parser.parse_args()

    from pipelines.cli import demo
    from pipelines.pack import pack_data, write_pack
    from pipelines.resources import PmoHome

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-pack-")) / "home"
    if not (home / "warehouse.duckdb").exists():
        t = time.perf_counter()
        assert demo(home) == 0, "the demo run failed"
        print(f"demo run                {time.perf_counter() - t:7.2f} s")
    data = tile(pack_data(PmoHome(home=str(home))), args.projects)
    n = data.evm.filter(pl.col("status_date") == data.status_date)["project_id"].n_unique()

    t = time.perf_counter()
    from reports import charts, pack

    charts.runtime()
    pack.environment()
    startup = time.perf_counter() - t

    t = time.perf_counter()
    pages = pack.render_pack(data)
    render = time.perf_counter() - t
    t = time.perf_counter()
    write_pack(pages, home / "reports" / f"bench-{n}")
    write = time.perf_counter() - t
    html = sum(k.endswith(".html") for k in pages)
    project_pages = sum(k.startswith("projects/") and k.endswith(".html") for k in pages)

    emails = _emails(data, home / "reports" / f"bench-{n}")
    figures = {
        "date": dt.date.today().isoformat(),
        "projects": n,
        "pages": html,
        "files": len(pages),
        "bytes": sum(len(v) for v in pages.values()),
        "startup_s": round(startup, 3),
        "render_s": round(render, 3),
        "write_s": round(write, 3),
        "ms_per_project_page": round(1000 * (render + write) / max(project_pages, 1), 2),
        "email_s": emails,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(f"start-up (runtime, templates) {startup:7.2f} s")
    print(f"pack: {html} pages, {len(pages)} files  render {render:.2f} s, write {write:.2f} s")
    print(f"per project page         {figures['ms_per_project_page']:7.1f} ms   (target ≤ 30 ms)")
    for name, value in emails.items():
        print(f"e-mail {name:<28}{value:8.3f} {'MB' if name.endswith('_mb') else 's'}")
    print(f"peak memory             {figures['peak_rss_mb']:7d} MB")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"pack-{figures['date']}-{n}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {out}")


def _emails(data, folder: Path) -> dict[str, float]:
    """Seconds to build the e-mails the weekly run sends: leadership's first message (charts and the zip of the
    written pack, made once per run), each further leadership message, the summary of a pack too large to attach,
    and one sponsor's (their pack rendered around the written pack's project pages, as the weekly run does)."""
    from reports import email

    figures = email.project_figures(data)
    common = {"sender": "pmo@example.org", "recipient": "someone@example.org", "provisional": False}
    t = time.perf_counter()
    images = email.leadership_images(data, figures)
    attachment = email.Attachment("portfolio.zip", email.folder_zip(folder))
    email.leadership_email(data, figures, images=images, attachment=attachment, **common)
    first = time.perf_counter() - t
    t = time.perf_counter()
    email.leadership_email(data, figures, images=images, attachment=attachment, **common)
    further = time.perf_counter() - t
    t = time.perf_counter()  # past [email] max_attachment_mb, leadership get a summary (pipelines.delivery.Messages)
    listed = set(email.watch_list(figures, 10).get_column("project_id"))
    summary = email.pack_zip(data, written=folder, pages_of=listed)
    summarised = time.perf_counter() - t
    sponsor = data.projects.group_by("sponsor").len().sort("len", "sponsor", descending=[True, False])["sponsor"][0]
    theirs = set(data.projects.filter(pl.col("sponsor") == sponsor)["project_id"].to_list())
    t = time.perf_counter()
    mine = figures.filter(pl.col("project_id").is_in(sorted(theirs)))
    email.sponsor_email(data, mine, images=email.sponsor_images(data, mine),
                        attachment=email.Attachment("sponsor.zip", email.pack_zip(data, theirs, written=folder)),
                        **common)  # fmt: skip
    return {"leadership_first": round(first, 3), "leadership_each_further": round(further, 3),
            f"sponsor_of_{len(theirs)}_projects": round(time.perf_counter() - t, 3),
            "leadership_zip_mb": round(len(attachment.content) / 1e6, 1), "leadership_summary": round(summarised, 3),
            "leadership_summary_zip_mb": round(len(summary) / 1e6, 1)}  # fmt: skip


if __name__ == "__main__":
    main()
