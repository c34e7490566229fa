"""A run killed with SIGKILL at each stage leaves the home consistent, and the next run completes it: marts
byte-identical to an uninterrupted run's, no row twice, no e-mail twice.

Two chains, each on its own copy of the prepared home and each run the rerun of the crash before it (so that five
full reruns are not needed); the chains run side by side, and beside the runs of `concurrent`. The run of 2026-03-15
is killed
  ingest   inside the ingest transaction, staging replaced, not committed (crash point, pipelines/faults.py),
  marts    as soon as it says `earned_value` is done: four marts rewritten, the next ones being built (observed),
  publish  with the new snapshot's marts written, its audit and staging tables not yet (crash point);
and in the other chain
  email    by the SMTP server, when the first message's data has arrived and before it answers (observed),
  pack     with half of the pack's files written, over the whole pack of the run killed at e-mail (crash point);
then one more run completes each chain. The home is copied after each kill and the tests read those copies. The
reference is the uninterrupted run of the same week in `concurrent` (tests/reliability/conftest.py)."""

import signal
import threading

import duckdb
import pytest

from tests.reliability.homes import (
    RECIPIENTS,
    WEEK1,
    WEEK2,
    Run,
    copy_home,
    dump,
    ledger,
    pack,
    published,
    received,
    smtp_server,
    warehouse_problems,
)

CHAINS = (("ingest", "marts", "publish"), ("email", "pack"))
FAULTS = {"ingest", "publish", "pack"}  # the others are killed from outside
KILLED = -signal.SIGKILL
# Run metadata, left out of the comparison with the reference: when a file was loaded.
RUN_METADATA = {"audit.files": ["loaded_at"]}
# Which inbox files a run records as read depends on how long before the run they were written (ingest.SETTLED_NS):
# left out of the comparison with the uninterrupted run, not of the checks that a killed run kept nothing.
RUN_TABLES = ("audit.inbox_seen",)


def _chain(prepared: dict, stages: tuple[str, ...]) -> dict:
    root = prepared["root"]
    home = copy_home(prepared["home"], root / f"chain-{stages[0]}", prepared["later"])
    runs, after, mail = {}, {}, {}
    with smtp_server() as server:
        env = server.env()
        for stage in stages:
            run = Run(home, WEEK2, {**env, "PMO_FAULT_AT": stage} if stage in FAULTS else env)
            try:
                if stage == "email":
                    server.mailbox.victim = run.proc.pid  # its process group: the run and anything it started
                elif stage == "marts" and run.wait_for(r"^\[\d+/\d+\] earned_value done"):
                    run.kill()
                run.finish()
            finally:
                server.mailbox.victim = None
                run.kill()  # a run left behind by a failure here
            runs[stage] = run
            after[stage] = copy_home(home, root / f"after-{stage}")
            mail[stage] = received(server)
        final = Run(home, WEEK2, env)
        try:
            final.finish()
        finally:
            final.kill()
        mail["final"] = received(server)
    return {"home": home, "stages": stages, "runs": runs, "after": after, "mail": mail, "final": final}


@pytest.fixture(scope="module")
def chains(prepared, concurrent) -> dict[str, dict]:
    """Each stage → the chain it was killed in (both chains run at once, in threads)."""
    done, errors = {}, []

    def work(stages):
        try:
            done[stages] = _chain(prepared, stages)
        except BaseException as exc:  # noqa: BLE001 - raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(stages,)) for stages in CHAINS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return {stage: done[stages] for stages in CHAINS for stage in stages}


@pytest.fixture(scope="module")
def before(prepared):
    """The prepared home as the chain found it: its snapshot build, its first pack, staging and audit."""
    home = prepared["home"]
    return {"published": published(home), "pack": pack(home, WEEK1),
            "tables": dump(home / "warehouse.duckdb", ("staging", "audit", "raw"), RUN_METADATA)}  # fmt: skip


@pytest.fixture(scope="module")
def reference(concurrent):
    """The uninterrupted run of the same week (with a second run that waited for it and changed nothing)."""
    home = concurrent.result().home
    return {"home": home, "marts": dump(home / "warehouse.duckdb", ("marts",)),
            "tables": dump(home / "warehouse.duckdb", ("staging", "audit", "raw"), RUN_METADATA),
            "published": dump(home / "published" / "pmo.duckdb", ("marts",)), "pack": pack(home, WEEK2)}  # fmt: skip


def _killed(chains, stage):
    chain = chains[stage]
    run = chain["runs"][stage]
    assert run.proc.returncode == KILLED, f"the run was not killed during {stage}:\n{run.output}"
    assert "Traceback" not in run.output
    return chain["after"][stage]


def _differs(got: dict[str, bytes], want: dict[str, bytes]) -> list[str]:
    return sorted(name for name in set(got) | set(want) if got.get(name) != want.get(name))


def test_killed_inside_the_ingest_transaction_nothing_of_it_is_kept(chains, before):
    home = _killed(chains, "ingest")
    assert "exports done" not in chains["ingest"]["runs"]["ingest"].output  # it died inside the first step
    assert warehouse_problems(home) == []
    # Raw rows, the manifest and staging as before the run: the three new files are not half loaded.
    assert _differs(dump(home / "warehouse.duckdb", ("staging", "audit", "raw"), RUN_METADATA), before["tables"]) == []
    assert published(home) == before["published"]
    assert pack(home, WEEK2) is None and pack(home, WEEK1) == before["pack"]
    assert chains["ingest"]["mail"]["ingest"] == {}


def test_killed_between_marts_the_warehouse_stays_consistent_and_nothing_is_published(chains, before):
    home = _killed(chains, "marts")
    assert warehouse_problems(home) == []
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        files = conn.sql("SELECT count(*), count(DISTINCT sha256) FROM audit.files").fetchall()[0]
        week = conn.sql("SELECT max(status_date)::VARCHAR FROM marts.evm_weekly").fetchall()[0][0]
    assert files == (17, 17)  # the first week's 14 files and the 3 new ones, committed, once each
    assert week == WEEK2  # killed after earned_value had written its marts, while the next marts were built
    assert published(home) == before["published"]  # analysts still see the first week, whole
    assert pack(home, WEEK2) is None
    assert chains["marts"]["mail"]["marts"] == {}


def test_killed_while_publishing_the_old_snapshot_stays_in_force_and_the_half_build_is_not_visible(chains, before):
    home = _killed(chains, "publish")
    assert "published__pmo done" not in chains["publish"]["runs"]["publish"].output
    assert warehouse_problems(home) == []
    assert published(home) == before["published"]  # `current` and the stable paths: the old build, every table
    unfinished = {p.name for p in (home / "published" / ".builds").iterdir()} - {before["published"][0]}
    assert len(unfinished) == 1  # the new build was being written when the run died ...
    assert (home / "published" / ".builds" / unfinished.pop() / "pmo.duckdb").exists()  # ... its marts in it
    assert pack(home, WEEK2) is None
    assert chains["publish"]["mail"]["publish"] == {}


def test_killed_while_sending_the_pack_and_snapshot_are_whole_and_the_message_stays_sending(chains, before, reference):
    home = _killed(chains, "email")
    assert warehouse_problems(home) == []
    build, day = published(home)
    assert build != before["published"][0] and day == WEEK2  # the new snapshot, whole
    assert pack(home, WEEK2)[1] == reference["pack"][1]  # the whole pack: every file of an uninterrupted run's
    # The first message (leadership, cio) was handed over and the run died before the server's answer: the server
    # has it, the ledger says 'sending'; nothing else was tried.
    assert chains["email"]["mail"]["email"] == {"cio@example.org": 1}
    assert ledger(home, WEEK2) == {"cio@example.org": [(1, "sending", "smtp")]}


def test_killed_while_writing_the_pack_the_previous_pack_of_the_week_stays_whole(chains):
    home = _killed(chains, "pack")
    assert warehouse_problems(home) == []
    assert published(home)[1] == WEEK2
    # reports/2026-03-15 is still the whole pack the run killed at e-mail wrote; the half-written one is beside it.
    old = pack(chains["pack"]["after"]["email"], WEEK2)
    assert pack(home, WEEK2) == old
    halves = [p for p in (home / "reports" / ".builds").glob(f"{WEEK2}.*") if p.name != old[0]]
    assert len(halves) == 1
    assert 0 < sum(1 for p in halves[0].rglob("*") if p.is_file()) < len(old[1])
    assert chains["pack"]["mail"]["pack"] == {"cio@example.org": 1}


@pytest.mark.parametrize("first", [stages[0] for stages in CHAINS])
def test_each_run_after_a_kill_frees_the_killed_runs_warehouse_slot(chains, first):
    """Without it the killed run keeps the warehouse pool's one slot and the next run waits for ever."""
    chain = chains[first]
    for run in [chain["runs"][stage] for stage in chain["stages"][1:]] + [chain["final"]]:
        notes = [line for line in run.lines if line.startswith("note: run ")]
        assert len(notes) == 1 and "stopped when its process was killed" in notes[0], run.output


@pytest.mark.parametrize("first", [stages[0] for stages in CHAINS])
def test_the_rerun_gives_the_marts_of_an_uninterrupted_run_byte_for_byte(chains, first, reference):
    chain = chains[first]
    assert chain["final"].proc.returncode == 3, chain["final"].output  # done, with the demo's rejected rows
    home = chain["home"]
    assert warehouse_problems(home) == []
    marts = dump(home / "warehouse.duckdb", ("marts",))
    assert len(marts) >= 25 and _differs(marts, reference["marts"]) == []
    # No row twice anywhere: raw, the manifest (less when each file was loaded) and staging are the reference's too.
    tables = dump(home / "warehouse.duckdb", ("staging", "audit", "raw"), RUN_METADATA)
    assert [name for name in _differs(tables, reference["tables"]) if name not in RUN_TABLES] == []
    assert _differs(dump(home / "published" / "pmo.duckdb", ("marts",)), reference["published"]) == []


@pytest.mark.parametrize("first", [stages[0] for stages in CHAINS])
def test_the_rerun_leaves_no_unfinished_build_behind(chains, first):
    home = chains[first]["home"]
    builds = {p.name for p in (home / "published" / ".builds").iterdir()}
    current = (home / "published" / "current").resolve().name
    assert current in builds and len(builds) == 2  # the build in force and the one it replaced; no half build
    packs = {p.name for p in (home / "reports" / ".builds").iterdir()}
    assert packs == {pack(home, WEEK1)[0], pack(home, WEEK2)[0]}


def test_no_email_is_sent_twice_and_the_one_in_doubt_is_reported_not_resent(chains):
    chain = chains["email"]
    final, home = chain["final"], chain["home"]
    assert chain["mail"]["final"] == dict.fromkeys(RECIPIENTS, 1)  # cio's once (before the kill), the rest now
    deliveries = ledger(home, WEEK2)
    assert deliveries.pop("cio@example.org") == [(1, "sending", "smtp")]  # in doubt: reported, never resent
    assert deliveries == {a: [(1, "sent", "smtp")] for a in RECIPIENTS - {"cio@example.org"}}
    assert "5 delivered; 0 already delivered before; 1 may have been sent: not resent" in final.output
    assert "leadership cio@example.org: may have been sent: not resent" in final.output


def test_a_chain_without_a_kill_at_email_sends_each_message_once(chains):
    chain = chains["ingest"]
    assert chain["mail"]["final"] == dict.fromkeys(RECIPIENTS, 1)
    assert ledger(chain["home"], WEEK2) == {a: [(1, "sent", "smtp")] for a in RECIPIENTS}
