"""What a user reads when metasup.yml or agents.yaml is wrong: repeated keys refused with both
lines, list items named as the user finds them, plain words instead of pydantic's type names."""

from __future__ import annotations

from pathlib import Path

import pytest

from metasup.model.config import load_config
from metasup.model.errors import ConfigError
from metasup.model.registry import load_registry
from metasup.rolling.registry_edit import RegistryEditError, set_agent_stage

KEEP_ONE = ": YAML would silently keep only the second; keep one (merge the two if both hold values you want)"
ARTIFACTS = "artifacts: {alpha: a, prices: p}\n"


def message_of(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    load = load_registry if path.name == "agents.yaml" else load_config
    with pytest.raises(ConfigError) as caught:
        load(path)
    return str(caught.value)


def test_load_registry__a_second_agents_block_is_refused_not_last_wins(tmp_path: Path) -> None:
    """Before: the second block replaced the first, whose agents became unregistered (and APPROVED)."""
    path = tmp_path / "agents.yaml"
    text = (
        "agents:\n  - {name: a, stage: prod}\n  - {name: b}\nstrategy_classes: []\nagents:\n  - {name: c}\n"
    )
    assert message_of(path, text) == f"{path}: key agents appears twice, at lines 1 and 5{KEEP_ONE}"


@pytest.mark.parametrize(
    ("name", "text", "key", "lines"),
    [
        (
            "metasup.yml",
            ARTIFACTS + "portfolio: {capital: 5}\nportfolio: {max_weight: 0.5}\n",
            "portfolio",
            (2, 3),
        ),
        (
            "metasup.yml",
            ARTIFACTS + "promotion:\n  min_psr: 0.9\n  min_psr: 0.5\n",
            "promotion.min_psr",
            (3, 4),
        ),
        ("metasup.yml", ARTIFACTS + "email:\n  smtp: {port: 25, port: 26}\n", "email.smtp.port", (3, 3)),
        (
            "agents.yaml",
            "agents:\n  - name: a\n    stage: prod\n    stage: retired\n",
            "agents → 'a' → stage",
            (3, 4),
        ),
        ("agents.yaml", "agents:\n  - {stage: prod, stage: retired}\n", "agents → item 1 → stage", (2, 2)),
        (
            "agents.yaml",
            "strategy_classes: []\n'strategy_classes': [{name: x}]\n",
            "strategy_classes",
            (1, 2),
        ),
    ],
    ids=["config-section", "config-nested", "config-flow", "registry-agent", "registry-unnamed", "quoted"],
)
def test_load__a_repeated_key_at_any_depth_names_the_key_and_both_lines(
    tmp_path: Path, name: str, text: str, key: str, lines: tuple[int, int]
) -> None:
    path = tmp_path / name
    first, second = lines
    assert (
        message_of(path, text) == f"{path}: key {key} appears twice, at lines {first} and {second}{KEEP_ONE}"
    )


def test_registry_edit__refuses_a_registry_with_a_repeated_key_anywhere(tmp_path: Path) -> None:
    """The rolling edit reads agents.yaml with the same loader: a file the review would refuse is
    never edited (before, a repeated key of another agent went through unnoticed)."""
    text = "agents:\n  - {name: a, stage: sandbox}\n  - name: b\n    stage: prod\n    stage: retired\n"
    with pytest.raises(RegistryEditError) as caught:
        set_agent_stage(text, "a", "prod")
    assert str(caught.value) == (
        f"agents.yaml: invalid YAML: key agents → 'b' → stage appears twice, at lines 4 and 5{KEEP_ONE}"
    )
    assert set_agent_stage(text.replace("    stage: retired\n", ""), "a", "prod").startswith(
        "agents:\n  - {name: a, stage: prod}\n"
    )


def test_load_registry__entries_named_as_the_user_finds_them_in_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    text = (
        "agents:\n"
        "  - {name: alpha-1, stage: production}\n"  # line 2: by its name
        "  - beta\n"  # line 3: not a mapping
        "  - stage: prod\n"  # line 4: no name, counted from 1
        "  - name: gamma\n"
        "    strategy-class: x\n"  # line 6
    )
    assert message_of(path, text).splitlines() == [
        f"{path} is not valid:",
        "  agents → 'alpha-1' → stage: must be 'sandbox', 'prod' or 'retired' (got 'production') (line 2)",
        "  agents → item 2: must be a mapping (name:, strategy_class:, stage:, …) (got 'beta') (line 3)",
        "  agents → item 3 → name: required key is missing (line 4)",
        "  agents → 'gamma' → strategy-class: unknown key"
        " (allowed: kill_reason, name, regimes, stage, strategy_class) (line 6)",
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            ARTIFACTS + "engine:\n  partitions: -1\n",
            "  engine.partitions: must be 'auto' or a whole number ≥ 1 (got -1) (line 3)",
        ),
        (
            ARTIFACTS + "engine: {partitions: many}\n",
            "  engine.partitions: must be 'auto' or a whole number ≥ 1 (got 'many') (line 2)",
        ),
        (
            ARTIFACTS + "promotion: 5\n",
            "  promotion: must be a mapping (min_behavioral_score:, min_realized_pnl:,"
            " max_confidence_decay:, …) (got 5) (line 2)",
        ),
        (ARTIFACTS + "kill_list: [a, 3]\n", "  kill_list → item 2: must be text (got 3) (line 2)"),
        (
            ARTIFACTS + "portfolio:\n  min_signals: 2.5\n",
            "  portfolio.min_signals: must be a whole number (got 2.5) (line 3)",
        ),
        (ARTIFACTS + "email: {to: x}\n", "  email.to: must be a list (got 'x') (line 2)"),
    ],
    ids=["partitions-negative", "partitions-word", "section-not-a-mapping", "list-item", "int", "list"],
)
def test_load_config__errors_in_plain_words_with_the_line(tmp_path: Path, text: str, line: str) -> None:
    path = tmp_path / "metasup.yml"
    assert message_of(path, text).splitlines() == [f"{path} is not valid:", line]


@pytest.mark.parametrize(
    ("text", "key", "given"),
    [
        ("engine: {kind: dask, partitions: true}\n", "engine.partitions", "true"),
        ("portfolio: {max_weight: yes}\n", "portfolio.max_weight", "true"),  # YAML 1.1's yes
        ("promotion: {trials: false}\n", "promotion.trials", "false"),
    ],
)
def test_load_config__a_boolean_for_a_number_is_refused_not_read_as_1(
    tmp_path: Path, text: str, key: str, given: str
) -> None:
    """``partitions: true`` ran on one partition and ``max_weight: yes`` capped at 100 %, silently."""
    message = message_of(tmp_path / "metasup.yml", ARTIFACTS + text)
    assert key in message
    assert f"expected a number, not the boolean {given}" in message


def test_load_config__a_url_with_credentials_is_refused_without_quoting_them(tmp_path: Path) -> None:
    """Credentials come from the environment only (SPEC §8); the message must not print them."""
    text = 'artifacts: {alpha: "s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/alpha", prices: p}\n'
    message = message_of(tmp_path / "metasup.yml", text)
    assert "artifacts.alpha: a URL may not carry credentials (user:secret@)" in message
    assert "AKIAEXAMPLE" not in message
    assert "wJalrXUtnFEMI" not in message


@pytest.mark.parametrize("value", ["''", '" "', "''\n  telemetry: t"])
def test_load_config__an_empty_artifact_path_is_named_not_read_as_the_configs_folder(
    tmp_path: Path, value: str
) -> None:
    """``alpha: ''`` (a templated config whose variable was unset) was the config's own folder:
    the run failed on agents.yaml as "unsupported file type in an artifact directory", never
    naming artifacts.alpha."""
    text = f"artifacts:\n  alpha: {value}\n  prices: p\n"
    message = message_of(tmp_path / "metasup.yml", text)
    assert "artifacts.alpha: is empty: give a file, a folder, a glob or a URL" in message
    assert "(line 2)" in message
