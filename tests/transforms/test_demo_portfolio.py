"""The demo portfolio: deterministic, in the vendor formats, with the bad rows the data-quality page needs."""

from transforms.demo_portfolio import generate
from transforms.ingest import parse_export


def test_same_seed_same_bytes_and_every_file_is_recognised():
    first, second = generate(), generate()
    assert first == second
    kinds = {parse_export(name, data).kind for name, data in first.items()}
    assert {"jira_issues", "tempo_worklogs", "snipeit_assets", "baseline", "rate_card", "risk_register"} <= kinds


def test_jira_export_repeats_labels_as_jira_does():
    jira = next(v for k, v in generate().items() if k.startswith("jira/")).decode()
    header = jira.splitlines()[0].split(",")
    assert header.count("Labels") == 3 and header.count("Sprint") == 2
    assert "Time Spent" in header and "Original estimate" in header
