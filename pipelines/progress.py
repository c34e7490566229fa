"""A run's progress for the person at the terminal: a bar that redraws in place on a terminal, plain lines when the
output goes to a file or a pipe (cron, CI). Steps are counted from Dagster's step events; what the steps say
about their work (files loaded, weeks built, pages written, e-mails delivered) is printed as it comes."""

import logging
import sys
import time

import dagster as dg

WIDTH = 24
DONE = {"STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "skipped"}


class Progress(logging.Handler):
    def __init__(self, steps: int, stream=None):
        super().__init__(logging.DEBUG)  # Dagster's step events come at DEBUG
        self.steps, self.stream = steps, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done, self.started = 0, {}
        self.bar = ""

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event, step = meta.get("dagster_event"), meta.get("step_key") or ""
        if event is None:  # a step's own words: what it loaded, built, wrote or sent
            if record.levelno >= logging.INFO and step:
                self._line(f"  {step}: {meta.get('orig_message', record.getMessage())}")
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.started[step] = time.monotonic()
            self._status(step)
        elif kind in DONE:
            self.done += 1
            seconds = time.monotonic() - self.started.pop(step, time.monotonic())
            if not self.tty or kind != "STEP_SUCCESS":
                self._line(f"[{self.done}/{self.steps or '?'}] {step} {DONE[kind]} ({seconds:.1f} s)")
            self._status(next(iter(self.started), ""))

    def _status(self, step: str) -> None:
        if not self.tty:
            return
        filled = WIDTH * self.done // self.steps if self.steps else 0
        self.bar = f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.steps or '?'} {step}"[:120]
        self.stream.write(self.bar + "\x1b[K")
        self.stream.flush()

    def _line(self, text: str) -> None:
        if self.tty and self.bar:
            self.stream.write("\r\x1b[K")  # clear the bar, print the line, redraw the bar under it
        self.stream.write(text + "\n")
        if self.tty and self.bar:
            self.stream.write(self.bar + "\x1b[K")
        self.stream.flush()


@dg.logger(
    config_schema={"steps": dg.Field(int, default_value=0, description="how many steps the run has")},
    description="Progress on the terminal: a bar on a TTY, plain lines otherwise (pmo run, pmo backfill).",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("pmo-kpi.progress")
    log.handlers = [Progress(init_context.logger_config["steps"])]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log
