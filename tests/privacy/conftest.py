"""Two real weekly runs (`pmo run` in subprocesses, side by side) of the small demo portfolio with a planted person,
shared by the secrets, personal-data, reproducibility and erasure tests:

- `good`: SMTP through a real aiosmtpd with a login, PMO_SMTP_PASSWORD a canary that the server accepts;
- `bad`: the same inputs into a fresh home, PMO_SMTP_PASSWORD a second canary that its server refuses, so the run
  fails at the e-mail step after building everything else.

The planted person: Zephyrine Quillfeather (u099), a personal hourly rate of 151.37 that no other row has, and two
Tempo worklogs, 3.5 h and 4.5 h in the week ending 2026-03-15, on a project of her own (PRJ-004), so its actual
cost is hers alone: 8 h × 151.37 = 1,210.96.
"""

import csv
import io
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import SMALL, write_inbox
from tests.smtp import Received, Server, smtp_server
from transforms.demo_portfolio import generate

DAY = "2026-03-15"
USER = "pmo-kpi"
NAME = "Zephyrine Quillfeather"
EMAIL = "zephyrine.quillfeather@example.org"
ACCOUNT = "7f3c9e1a2b4d6f8091a2b3c4"  # her Jira account id and Tempo user
PERSON = "u099"
RATE = "151.37"
PROJECT = "PRJ-004"
AC = "1210.96"  # (3.5 + 4.5) h × 151.37
SETTINGS = """\
[email]
sender = "pmo-kpi@example.org"
leadership = ["cio@example.org"]
shared_folder = "shared"
operator = "ops@example.org"
[email.sponsors]
"Sponsor Almeida" = ["almeida@example.org"]
"Sponsor Zed" = ["zed@example.org"]
"""


def _append(files: dict[str, bytes], name: str, rows: list[dict]) -> None:
    text = files[name].decode("utf-8")
    header = next(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writerows({k: "" for k in header} | row for row in rows)
    files[name] = (text if text.endswith("\n") else text + "\n").encode() + out.getvalue().encode()


def planted_files() -> dict[str, bytes]:
    files = generate(SMALL)
    _append(
        files,
        "pmo/people.csv",
        [
            {
                "person_id": PERSON,
                "display_name": NAME,
                "email": EMAIL,
                "team": "Platform",
                "role": "developer",
                "jira_account_id": ACCOUNT,
                "tempo_user": ACCOUNT,
                "contracted_hours_week": "40",
                "calendar_id": "default",
            }
        ],
    )
    _append(
        files,
        "pmo/rate_card.csv",
        [{"person_id": PERSON, "hourly_rate": RATE, "currency": "EUR", "valid_from": "2025-01-01"}],
    )
    _append(
        files,
        "pmo/projects.csv",
        [
            {
                "project_id": PROJECT,
                "name": "Key vault",
                "portfolio": "Infrastructure",
                "programme": "Security",
                "sponsor": "Sponsor Zed",
                "manager": "Dev Dubois",
                "status": "active",
                "ev_technique": "0/100",
                "eac_method": "cpi",
                "calendar_id": "default",
            }
        ],
    )
    _append(files, "pmo/project_map.csv", [{"source_kind": "tempo", "source_key": "VLT", "project_id": PROJECT}])
    _append(
        files,
        "pmo/baseline.csv",
        [
            {
                "project_id": PROJECT,
                "baseline_version": "1",
                "effective_from": "2026-03-01",
                "reason": "initial plan",
                "element_key": "VLT-1",
                "element_name": "Rotate vault keys",
                "cost_category": "labour",
                "budget": "5000.00",
                "planned_start": "2026-03-02",
                "planned_finish": "2026-03-27",
            }
        ],
    )
    tempo = next(name for name in files if name.startswith("tempo/"))
    worklog = {"Issue Key": "VLT-1", "Issue summary": "Rotate vault keys", "Username": ACCOUNT, "Full name": NAME,
               "Account Key": "VLT", "Activity Name": "Development", "Issue Type": "Task", "Project Key": "VLT",
               "Project Name": "Key vault", "Billed Hours": "0"}  # fmt: skip
    _append(files, tempo, [
        worklog | {"Hours": "3.50", "Work date": "2026-03-10 00:00", "Work Description": f"{NAME}: rotated the keys"},
        worklog | {"Hours": "4.50", "Work date": "2026-03-11 00:00", "Work Description": "vault audit"},
    ])  # fmt: skip
    return files


def pmo(*args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The `pmo` command in a subprocess, without the test process's PMO_HOME and DAGSTER_HOME."""
    base = {k: v for k, v in os.environ.items() if k not in ("PMO_HOME", "DAGSTER_HOME") and not k.startswith("PMO_")}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**base, **(env or {})})  # fmt: skip


@dataclass
class Run:
    home: Path
    inbox: Path
    password: str  # the canary in PMO_SMTP_PASSWORD
    server: Server
    returncode: int = -1
    output: str = ""  # stdout and stderr
    received: list[Received] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Runs:
    good: Run
    bad: Run


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> Path:
    return write_inbox(tmp_path_factory.mktemp("planted") / "inbox", planted_files())


@pytest.fixture(scope="session")
def runs(tmp_path_factory, planted) -> Runs:
    root = tmp_path_factory.mktemp("privacy-runs")
    good_password = f"Canary-{secrets.token_hex(8)}-good"
    bad_password = f"Canary-{secrets.token_hex(8)}-bad"
    with (smtp_server(credentials=(USER, good_password)) as good_server,
          smtp_server(credentials=(USER, "the-right-password")) as bad_server):  # fmt: skip
        plan = [Run(root / "good", planted, good_password, good_server),
                Run(root / "bad", planted, bad_password, bad_server)]  # fmt: skip
        started = time.monotonic()
        procs = []
        for run in plan:
            run.home.mkdir()
            (run.home / "pmo.toml").write_text(SETTINGS, encoding="utf-8")
            env = {**run.server.env(), "PMO_SMTP_PASSWORD": run.password}
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(run.inbox), "--home", str(run.home),
                 "--as-of", DAY],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**{k: v for k, v in os.environ.items() if k not in ("PMO_HOME", "DAGSTER_HOME")}, **env},
            ))  # fmt: skip
        for run, proc in zip(plan, procs, strict=True):
            run.output, _ = proc.communicate(timeout=900)
            run.returncode = proc.returncode
            run.seconds = time.monotonic() - started
            run.received = list(run.server.mailbox.received)
    good, bad = plan
    assert good.returncode in (0, 3), good.output
    assert bad.returncode == 1, bad.output
    return Runs(good, bad)
