"""pmo.toml: the example in docs/inputs.md is valid, and a bad value is named with its key."""

import tomllib
from pathlib import Path

import pytest

from pipelines.home import Settings, SettingsError, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "inputs.md"


def test_the_documented_example_is_a_valid_settings_file():
    text = DOCS.read_text(encoding="utf-8")
    block = text[text.index("```toml\n[pipeline]") + len("```toml\n") :]
    settings = Settings.model_validate(tomllib.loads(block[: block.index("```")]))
    assert settings.evm.techniques == {"Epic": "level_of_effort"}
    assert settings.risk.days_bands == [2, 5, 10, 20]
    assert settings.timesheets.complete_at == 0.95
    assert settings.service_desk.sla_hours == {"critical": 4, "high": 8, "medium": 24, "low": 72}
    assert settings.resources.max_projects == 3


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[evm]\ncomposite_weight = 1.5\n", "evm.composite_weight"),
        ('[evm]\ndirect_costs = "monthly"\n', "evm.direct_costs"),
        ('[evm.techniques]\nStory = "guesswork"\n', "evm.techniques.Story"),
        ("[risk]\ncost_bands = [1, 2]\n", "risk.cost_bands"),
        ("[timesheets]\ncontracted_hours_week = 0\n", "timesheets.contracted_hours_week"),
        ("[service_desk.sla_hours]\nurgent = 2\n", "service_desk.sla_hours.urgent"),
        ("[resources]\nmax_projects = 0\n", "resources.max_projects"),
        ("[freshness.per_source]\ntempo = 7\n", "freshness.per_source"),  # the kind is tempo_worklogs
    ],
)
def test_a_bad_evm_risk_or_timesheet_setting_is_named_with_its_key(tmp_path, toml, key):
    path = tmp_path / "pmo.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        load_settings(path)
