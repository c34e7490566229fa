"""The failure notice: a run that nobody started by hand (the weekly schedule's, or the inbox sensor's) and that
fails e-mails the operator ([email] operator) with the failing step, the error and where the run's log is.

Runs started from the UI or by `pmo run` are not notified: whoever started them sees the failure. The notice goes
through the Mailer (SMTP when PMO_SMTP_HOST is set, else a .eml file in the home's outbox).
"""

import os
from email.message import EmailMessage
from pathlib import Path

import dagster as dg

from pipelines.home import Home
from pipelines.resources import Mailer

# Runs started by automation carry one of these tags; those are the runs nobody is watching.
AUTOMATION_TAGS = ("dagster/schedule_name", "dagster/sensor_name")
UI_URL = "http://127.0.0.1:3000"  # where `make dev` serves the UI


def _root_cause(error) -> str:
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return " ".join(str(error.message).split())


def _scrub(text: str) -> str:
    """Never mail a secret: the SMTP password, should an error ever carry it."""
    secret = os.environ.get("PMO_SMTP_PASSWORD", "")
    return text.replace(secret, "***") if secret else text


def run_home(run: dg.DagsterRun) -> Home:
    """The failed run's home: from its run config, else PMO_HOME (as the definitions use)."""
    config = (run.run_config or {}).get("resources", {}).get("pmo", {}).get("config", {})
    return Home(Path(config.get("home") or os.environ.get("PMO_HOME", "var")).resolve())


def failure_message(context: dg.RunFailureSensorContext, sender: str, operator: str, prefix: str) -> EmailMessage:
    run = context.dagster_run
    failures = context.get_step_failure_events()
    steps = [event.step_key for event in failures] or ["the run"]
    errors = [
        f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"
        for event in failures
        if getattr(event.event_specific_data, "error", None)
    ] or [f"{context.failure_event.message or 'the run failed before any step'}"]
    how = next((f"{tag.split('/')[-1].replace('_', ' ')} {run.tags[tag]}" for tag in AUTOMATION_TAGS
                if tag in run.tags), "")  # fmt: skip
    storage = Path(context.instance.root_directory) / "storage" / run.run_id / "compute_logs"
    message = EmailMessage()
    message["From"], message["To"] = sender, operator
    message["Subject"] = f"{prefix} pmo-kpi run failed: {', '.join(steps)}".strip()
    message.set_content(
        _scrub(
            "\n".join(
                [
                    f"The pmo-kpi run {run.run_id} of job {run.job_name} ({how}) failed.",
                    "",
                    f"Failing step: {', '.join(steps)}",
                    *(f"Error: {line}" for line in errors),
                    "",
                    "Where its log is:",
                    f"  Dagster UI: /runs/{run.run_id} (under `make dev`: {UI_URL}/runs/{run.run_id})",
                    f"  step output (stdout/stderr): {storage}",
                    f"  Dagster instance: {context.instance.root_directory}",
                    "",
                    "Fix the cause, then re-execute the run from the UI (from failure) or run `pmo run` again; "
                    "e-mails already delivered are not sent twice.",
                ]
            )
        )
    )
    return message


@dg.run_failure_sensor(
    name="failure_notice",
    description="E-mails [email] operator when a scheduled or sensor-started run fails: the step, the error and "
    "where the log is.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def failure_notice(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    if not any(tag in run.tags for tag in AUTOMATION_TAGS):
        return dg.SkipReason(f"run {run.run_id} was started by hand: no notice")
    home = run_home(run)
    email = home.settings().email
    if not email.operator:
        return dg.SkipReason(f"no [email] operator in {home.settings_file}: no notice for run {run.run_id}")
    message = failure_message(context, email.sender, email.operator, email.subject_prefix)
    done = Mailer().deliver(message, home.outbox, f"run-failed-{run.run_id}")
    context.log.info(f"failure notice for run {run.run_id} to {email.operator}: {done}")
    return None
