"""One prepared home for every reliability test: the small demo's first week (2026-03-08) run once by `pmo run` in a
subprocess, e-mails delivered to a real SMTP server on loopback and recorded in the ledger. The tests copy it and run
the next week (2026-03-15) on the copy, the third export snapshot and the week's status reports added to its inbox.

`concurrent` starts its runs at once and returns; they go on beside the crash tests (two cores), and the tests that
need them wait for them."""

import subprocess
import sys
import threading
import time

import pytest

from pipelines.cli import DEMO_SETTINGS
from tests.conftest import SMALL, write_inbox
from tests.reliability.homes import LATER, RECIPIENTS, WEEK1, WEEK2, Run, copy_home, received, smtp_server
from transforms.demo_portfolio import generate


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("reliability")
    files = generate(SMALL)
    home = root / "prepared"
    write_inbox(home / "inbox", {k: v for k, v in files.items() if k not in LATER})
    (home / "pmo.toml").write_text(DEMO_SETTINGS, encoding="utf-8")
    with smtp_server() as server:
        run = Run(home, WEEK1, server.env())
        code = run.finish()
        mail = received(server)
    assert code == 3, run.output  # 3: done, with the demo's few rejected rows
    assert mail == dict.fromkeys(RECIPIENTS, 1), mail
    return {"root": root, "home": home, "later": {k: files[k] for k in LATER}}


class Concurrent:
    """Two `pmo run` of the next week started at the same instant on one copy of the prepared home; once one of them
    holds the home, a third with --wait and a reader (`pmo query`) of the published snapshot."""

    QUERY = "SELECT max(status_date) AS week FROM marts.evm_weekly"

    def __init__(self, prepared: dict):
        self.home = copy_home(prepared["home"], prepared["root"] / "concurrent", prepared["later"])
        self._smtp = smtp_server()
        self.server = self._smtp.__enter__()
        env = self.server.env()
        self.pair = [Run(self.home, WEEK2, env), Run(self.home, WEEK2, env)]
        self.waiting: Run | None = None
        self.query: subprocess.CompletedProcess | None = None
        self.query_ended = 0.0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._then, args=(env,), daemon=True)
        self._thread.start()

    def _then(self, env: dict) -> None:
        try:
            deadline = time.monotonic() + 600
            while not any(r.saw(r"^\[1/\d+\] ") for r in self.pair):  # one of them is past its first step
                assert any(r.proc.poll() is None for r in self.pair), "both runs ended before a step was done"
                assert time.monotonic() < deadline, "no step done in 600 s"
                time.sleep(0.05)
            self.waiting = Run(self.home, WEEK2, env, "--wait")
            self.waiting.wait_for("waiting for the run holding")
            self.query = subprocess.run(
                [sys.executable, "-m", "pipelines.cli", "query", self.QUERY, "--csv", "--home", str(self.home)],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            self.query_ended = time.monotonic()
            self.codes = [r.finish(timeout=600) for r in self.pair]
            self.waiting_code = self.waiting.finish(timeout=600)
            self.mail = received(self.server)
        except BaseException as exc:  # noqa: BLE001 - handed to the test that waits for it
            self.error = exc

    def result(self) -> "Concurrent":
        self._thread.join(timeout=1200)
        assert not self._thread.is_alive(), "the concurrent runs did not end in 20 minutes"
        if self.error is not None:
            raise self.error
        return self

    def close(self) -> None:
        for run in [*self.pair, *([self.waiting] if self.waiting else [])]:
            run.kill()
        self._thread.join(timeout=30)
        self._smtp.__exit__(None, None, None)


@pytest.fixture(scope="session")
def concurrent(prepared):
    runs = Concurrent(prepared)
    yield runs
    runs.close()
