"""The real dagster-webserver, started on loopback against the project's definitions, answers its GraphQL
endpoint with the project's assets and their checks; the test stops it and leaves no process behind."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.smtp import free_port

WEBSERVER = Path(sys.executable).parent / "dagster-webserver"
REPO_ROOT = Path(__file__).resolve().parents[2]
QUERY = """{ assetNodes { assetKey { path }
  assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } }"""


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def test_the_webserver_serves_the_projects_assets_and_checks(tmp_path):
    port = free_port()
    (tmp_path / "dagster").mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster"), "PMO_HOME": str(tmp_path / "home")}
    log = (tmp_path / "webserver.log").open("wb")
    process = subprocess.Popen(
        [str(WEBSERVER), "-h", "127.0.0.1", "-p", str(port), "-m", "pipelines.definitions"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        info = None
        while info is None:
            assert process.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the webserver did not answer within 90 s"
            try:
                info = json.loads(_get(f"{base}/server_info"))
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert "dagster_webserver_version" in info
        request = urllib.request.Request(
            f"{base}/graphql", data=json.dumps({"query": QUERY}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert "errors" not in answer, answer.get("errors")
        nodes = answer["data"]["assetNodes"]
        keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
        assert {"raw/tempo_worklogs", "staging/worklogs", "marts/evm_weekly", "marts/source_freshness",
                "published/pmo", "reports/pack", "reports/email"} <= keys  # fmt: skip
        assert len(keys) == 77  # as pinned in test_definitions
        checks = {
            "/".join(node["assetKey"]["path"]): sorted(c["name"] for c in node["assetChecksOrError"]["checks"])
            for node in nodes
        }
        assert checks["raw/tempo_worklogs"] == ["contract", "fresh"]
        assert checks["staging/projects"] == ["present"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
    assert process.returncode is not None
    # Its code server (a child in the same process group) follows it out; none is left behind.
    assert _group_gone(process.pid, within=20), "a webserver child outlived the test"


def _group_gone(pgid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)
    return False
