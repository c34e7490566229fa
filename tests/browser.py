"""A small Chrome DevTools Protocol client over --remote-debugging-pipe, for testing and shooting report pages.

`python -m tests.browser shoot page.html out.png [--width N]` writes a full-page PNG for the documentation.
"""

import argparse
import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LOCAL_SCHEMES = {"file", "data", "blob", "about"}
# No network: no host resolves and every connection goes to a proxy on the discard port, which refuses it.
NO_NETWORK = ("--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--disable-background-networking")
FLAGS = (
    "--headless=new",
    "--remote-debugging-pipe",
    "--disable-gpu",
    "--no-first-run",
    "--hide-scrollbars",
    *NO_NETWORK,
)
MAX_SHOT_HEIGHT = 16384  # px; Chromium cannot capture taller, and a runaway page would otherwise fail the shot
PAPER = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}  # inches, as Page.printToPDF wants them

# The chart contract: <body data-charts="ready"> once every `.chart` is drawn, "error: ..." if one failed.
CHART_STATE_JS = """(() => {
  const charts = [...document.querySelectorAll('.chart')];
  const state = document.body ? document.body.dataset.charts : undefined;
  if (state !== undefined) return state;
  if (charts.length === 0) return 'ready';
  return 'pending';
})()"""
UNDRAWN_CHARTS_JS = """[...document.querySelectorAll('.chart')].filter(c => ![...c.querySelectorAll('svg, canvas')]
  .some(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })).length"""


def settled(chart_state: str) -> bool:
    return chart_state == "ready" or chart_state.startswith("error")


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageResult:
    url: str
    width: int
    console: list[str] = field(default_factory=list)  # console/log messages of level error or warning
    exceptions: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)  # every request that would leave the machine
    charts: str = "pending"
    undrawn_charts: int = 0
    scroll_width: int = 0
    title: str = ""

    def problems(self) -> list[str]:
        """Everything that makes the page unfit to ship, as readable lines; [] when clean."""
        return (
            [f"console: {m}" for m in self.console]
            + [f"exception: {m}" for m in self.exceptions]
            + [f"failed request: {m}" for m in self.failed_requests]
            + [f"network request: {m}" for m in self.network]
            + ([] if self.charts == "ready" else [f"charts: {self.charts}"])
            + ([f"{self.undrawn_charts} chart(s) without a drawn svg/canvas"] if self.undrawn_charts else [])
        )


class Browser:
    """One headless Chromium, one page at a time; use as a context manager so the process always ends."""

    def __init__(self, executable: str | None = None, timeout: float = 30.0):
        executable = executable or find_chromium()
        if not executable:
            raise RuntimeError("Debian's chromium package is not installed: apt-get install chromium")
        self.timeout, self._next_id, self._buffer, self._urls, self._loaded = timeout, 0, b"", {}, False
        self.session: str | None = None
        self.target: str | None = None
        self.result: PageResult | None = None
        self._profile = tempfile.TemporaryDirectory(prefix="pmo-chromium-")
        flags = [*FLAGS, f"--user-data-dir={self._profile.name}"] + (["--no-sandbox"] if os.geteuid() == 0 else [])
        self._log = (Path(self._profile.name) / "stderr.log").open("wb")  # quoted when chromium dies
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def as_fds_3_and_4() -> None:  # Chromium reads commands on fd 3 and answers on fd 4, nothing else.
            # Copied out of the way first: either end may already be 3 or 4. dup2's copies survive exec.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child)]
            for fd, wanted in zip(high, (3, 4), strict=True):
                os.dup2(fd, wanted)
                os.close(fd)

        # pass_fds keeps descriptor numbers but cannot renumber them, hence the dup2 in the child.
        self.process = subprocess.Popen(
            [executable, *flags, "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            close_fds=False,  # Python's own descriptors are close-on-exec; fds 3 and 4 must survive exec
            preexec_fn=as_fds_3_and_4,
        )
        os.close(to_child)
        os.close(from_child)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.send("Browser.close", session=None, timeout=5)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for fd in (self._read, self._write):
            os.close(fd)
        self._log.close()
        self._profile.cleanup()

    def _died(self) -> RuntimeError:
        said = (Path(self._profile.name) / "stderr.log").read_text(encoding="utf-8", errors="replace").splitlines()
        return RuntimeError("chromium closed the DevTools pipe; it said:\n" + "\n".join(said[-5:]))

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._read, 1 << 20) if ready else None
            if chunk is None:
                raise TimeoutError("chromium did not answer in time")
            if not chunk:
                raise self._died()
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = "page", timeout: float = 0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session if session == "page" else session
        try:
            os.write(self._write, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise self._died() from None
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._on_event(reply)

    def _on_event(self, event: dict) -> None:
        method, params, page = event.get("method"), event.get("params", {}), self.result
        if page is None or event.get("sessionId") != self.session:
            return
        if method == "Page.loadEventFired":
            self._loaded = True
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
            page.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            page.console.append(f"{params['entry']['text']} {params['entry'].get('url', '')}".strip())
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            page.exceptions.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Network.requestWillBeSent":
            self._urls[params["requestId"]] = url = params["request"]["url"]
            if url.split(":")[0] not in LOCAL_SCHEMES:
                page.network.append(url)
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            page.failed_requests.append(f"{params['errorText']} {self._urls.get(params['requestId'], '?')}")

    def evaluate(self, js: str):
        reply = self.send("Runtime.evaluate", {"expression": js, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"evaluate failed: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def open(self, url: str, width: int = 1280, chart_timeout: float = 15.0) -> PageResult:
        """Load url in a fresh tab `width` CSS px wide (a phone below 600), wait for its charts, report problems."""
        if self.target:
            self.send("Target.closeTarget", {"targetId": self.target}, session=None)
        self.target = self.send("Target.createTarget", {"url": "about:blank"}, session=None)["targetId"]
        attach = {"targetId": self.target, "flatten": True}
        self.session = self.send("Target.attachToTarget", attach, session=None)["sessionId"]
        self.result, self._urls = (page := PageResult(url=url, width=width)), {}
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        self.send("Network.emulateNetworkConditions", offline)
        metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}
        self.send("Emulation.setDeviceMetricsOverride", metrics)
        deadline, self._loaded = time.monotonic() + self.timeout, False
        navigation = self.send("Page.navigate", {"url": url})
        if navigation.get("errorText"):
            raise RuntimeError(f"cannot open {url}: {navigation['errorText']}")
        while not self._loaded:
            self._on_event(self._receive(deadline))
        deadline = time.monotonic() + chart_timeout
        while not settled(state := self.evaluate(CHART_STATE_JS)) and time.monotonic() < deadline:
            time.sleep(0.1)
        page.charts = state if settled(state) else f"still {state!r} after {chart_timeout:g} s"
        page.undrawn_charts = self.evaluate(UNDRAWN_CHARTS_JS)
        page.scroll_width = self.evaluate("document.documentElement.scrollWidth")
        page.title = self.evaluate("document.title")
        self.send("Runtime.evaluate", {"expression": "0"})  # flush events queued behind the last evaluation
        return page

    def screenshot(self, path: Path) -> bytes:
        """Full-page PNG of the open page, at its emulated width."""
        height = min(self.send("Page.getLayoutMetrics")["cssContentSize"]["height"], MAX_SHOT_HEIGHT)
        clip = {"x": 0, "y": 0, "width": self.result.width, "height": height, "scale": 1}
        shot = {"format": "png", "captureBeyondViewport": True, "clip": clip}
        data = base64.b64decode(self.send("Page.captureScreenshot", shot)["data"])
        Path(path).write_bytes(data)
        return data

    def print_pdf(self, paper: str = "A4") -> bytes:
        width, height = PAPER[paper]
        options = {"paperWidth": width, "paperHeight": height, "printBackground": True}
        return base64.b64decode(self.send("Page.printToPDF", options)["data"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.browser")
    commands = parser.add_subparsers(dest="command", required=True)
    shoot = commands.add_parser("shoot", help="full-page PNG of one HTML file")
    shoot.add_argument("page", type=Path)
    shoot.add_argument("out", type=Path)
    shoot.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    try:
        with Browser() as browser:
            page = browser.open(args.page.resolve().as_uri(), args.width)
            browser.screenshot(args.out)
    except (OSError, RuntimeError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for problem in page.problems():
        print(f"warning: {problem}", file=sys.stderr)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
