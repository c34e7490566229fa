"""The CLI's progress output, from a real in-process Dagster run."""

import io

import dagster as dg

from pipelines.progress import Progress, progress_logger


@dg.asset
def first(context: dg.AssetExecutionContext) -> int:
    context.log.info("12 files loaded")
    return 1


@dg.asset
def second(first: int) -> int:
    return first + 1


def _run() -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("two_steps")
    defs = dg.Definitions(assets=[first, second], jobs=[job], loggers={"progress": progress_logger})
    result = defs.resolve_job_def("two_steps").execute_in_process(
        run_config={"loggers": {"progress": {"config": {"steps": 2}}}}
    )
    assert result.success
    return result


def test_plain_lines_count_the_steps_and_pass_on_what_they_say(capsys):
    _run()
    err = capsys.readouterr().err
    assert "  first: 12 files loaded" in err
    assert "[1/2] first done" in err and "[2/2] second done" in err
    assert "\r" not in err  # not a terminal: no bar redrawn in place


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_bar_redraws_in_place():
    stream = Terminal()
    handler = Progress(steps=4, stream=stream)
    handler._status("marts/evm_weekly")
    handler.done = 2
    handler._status("reports/pack")
    handler._line("  reports/pack: 21 pages")
    out = stream.getvalue()
    # 2 of 4 steps fill half of the 24-character bar
    assert "\r[############............] 2/4 reports/pack" in out
    assert "\r\x1b[K  reports/pack: 21 pages\n" in out  # the line is printed above a cleared bar, which is redrawn
    assert out.endswith("2/4 reports/pack\x1b[K")
