"""metasup.yml and agents.yaml: defaults, path resolution and errors a user can act on."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from metasup.model.config import load_config, parse_duration
from metasup.model.errors import ConfigError
from metasup.model.registry import Agent, Registry, load_registry


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("4h", 14400), ("1d", 86400), ("2w", 1209600), (3600, 3600), ("90", 90), ("1.5h", 5400)],
)
def test_parse_duration__units(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["3x", "", "-1", 0, True, "1 day"])
def test_parse_duration__rejects(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_load_config__defaults_of_the_spec(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "metasup.yml", "artifacts: {alpha: a.jsonl, prices: p.csv}\n"))
    assert config.base == "main"
    assert config.reconcile.max_delay == timedelta(days=1)
    assert config.reconcile.default_notional == 10_000
    assert config.reconcile.max_loss == 0.35
    assert (config.windows.window, config.windows.period) == (timedelta(days=30), timedelta(days=7))
    assert config.promotion.min_behavioral_score == 80
    assert config.promotion.max_confidence_decay == 0.2
    assert config.promotion.max_cost_drift == 0.25
    assert (config.promotion.min_realized_signals, config.promotion.min_decay_signals) == (20, 10)
    assert config.retirement.min_rules == 2
    assert config.retirement.alpha_negative_periods == 3
    assert config.portfolio.capital == 1_000_000
    assert config.portfolio.vol_floor == 0.005
    assert config.promotion_prs.auto_merge_after_hours == 24
    assert config.promotion_prs.veto_cooldown_days == 30
    assert config.email.cadence == "weekly"
    assert config.email.smtp.port == 587


def test_load_config__paths_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    config = load_config(
        write(
            tmp_path / "sub" / "metasup.yml",
            "registry: reg.yaml\nartifacts: {alpha: a.jsonl, prices: p.csv}\n",
        )
    )
    assert config.registry == tmp_path / "sub" / "reg.yaml"
    assert config.artifacts.alpha == tmp_path / "sub" / "a.jsonl"
    assert config.artifacts.telemetry is None


def test_load_config__unknown_key_names_key_and_allowed(tmp_path: Path) -> None:
    path = write(
        tmp_path / "metasup.yml",
        "artifacts: {alpha: a, prices: p}\npromotion: {min_behavioural_score: 70}\n",
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert str(path) in message
    assert "promotion.min_behavioural_score: unknown key" in message
    assert "min_behavioral_score" in message.split("allowed:")[1]


def test_load_config__bad_value_says_what_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "metasup.yml", "artifacts: {alpha: a, prices: p}\nemail: {cadence: hourly}\n")
    with pytest.raises(
        ConfigError, match=r"email\.cadence: must be 'daily' or 'weekly' \(got 'hourly'\) \(line 2\)"
    ):
        load_config(path)


@pytest.mark.parametrize(
    ("email", "words"),
    [
        ('{from: "ops@fund.example\\nBcc: leak@elsewhere.example"}', "email.from: not one e-mail address"),
        ('{from: "the ops desk"}', "email.from: not one e-mail address"),
        ('{fund_name: "Acme\\r\\nBcc: leak@elsewhere.example"}', "email.fund_name: must be one line"),
        # RFC 2047 encoded words: the e-mail headers decode them, =0D=0A into a line break
        (
            '{fund_name: "=?utf-8?q?Acme_Capital=0D=0AReply-To:_ir=40evil.example?="}',
            "email.fund_name: holds an encoded word",
        ),
        ('{from: "=?utf-8?q?Acme=0D=0AX:_y?= <ops@fund.example>"}', "email.from: not one e-mail address"),
        # an unquoted comma makes the From header name two mailboxes, the first without an address
        ('{from: "Acme Capital, LLC <ops@fund.example>"}', "email.from: not one e-mail address"),
    ],
    ids=[
        "from-header-injection",
        "from-not-an-address",
        "fund-name-header-injection",
        "fund-name-encoded-word",
        "from-encoded-word",
        "from-unquoted-comma",
    ],
)
def test_load_config__email_headers_cannot_be_injected(tmp_path: Path, email: str, words: str) -> None:
    """``from`` and ``fund_name`` become the From and Subject headers: a line break there would add
    headers of its own (Python refuses it only when the e-mail is sent, as a crash)."""
    path = write(tmp_path / "metasup.yml", f"artifacts: {{alpha: a, prices: p}}\nemail: {email}\n")
    with pytest.raises(ConfigError, match=words):
        load_config(path)


@pytest.mark.parametrize(
    "sender", ["Fund Ops <ops@fund.example>", '"Acme Capital, LLC" <ops@fund.example>', "ops@fund.example"]
)
def test_load_config__email_sender_and_fund_name_as_people_write_them(tmp_path: Path, sender: str) -> None:
    quoted = sender.replace('"', '\\"')
    path = write(
        tmp_path / "metasup.yml",
        f'artifacts: {{alpha: a, prices: p}}\nemail: {{from: "{quoted}", fund_name: "Acme — LP = 1?"}}\n',
    )
    assert load_config(path).email.sender == sender


def test_load_config__artifacts_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="artifacts: required key is missing"):
        load_config(write(tmp_path / "metasup.yml", "base: main\n"))


def test_load_config__object_storage_urls_stay_urls(tmp_path: Path) -> None:
    config = write(tmp_path / "metasup.yml", "artifacts: {alpha: 's3://bucket/a/', prices: 'gs://b/p/'}\n")
    loaded = load_config(config).artifacts
    assert (str(loaded.alpha), str(loaded.prices)) == ("s3:/bucket/a", "gs:/b/p")


def test_load_config__invalid_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid YAML at line 2: mapping values are not allowed"):
        load_config(write(tmp_path / "metasup.yml", "base: main\nartifacts: x: y\n"))


def test_load_config__missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yml")


def test_load_registry__declared_regimes_fall_back_to_class(tmp_path: Path) -> None:
    registry = load_registry(
        write(
            tmp_path / "agents.yaml",
            "strategy_classes:\n  - {name: momentum, regimes: [trending]}\n"
            "agents:\n  - {name: a, strategy_class: momentum}\n"
            "  - {name: b, strategy_class: momentum, regimes: [volatile], stage: prod}\n",
        )
    )
    assert registry.declared_regimes("a") == ["trending"]
    assert registry.declared_regimes("b") == ["volatile"]
    assert registry.declared_regimes("unknown") == []
    agent_a = registry.agent("a")
    assert agent_a is not None
    assert agent_a.stage == "sandbox"


def test_load_registry__undeclared_class_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "agents.yaml", "agents:\n  - {name: a, strategy_class: ghost}\n")
    with pytest.raises(ConfigError, match="strategy_class 'ghost' is not declared"):
        load_registry(path)


def test_load_registry__bad_stage_lists_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "agents.yaml", "agents:\n  - {name: a, stage: production}\n")
    with pytest.raises(
        ConfigError,
        match=r"agents → 'a' → stage: must be 'sandbox', 'prod' or 'retired' \(got 'production'\)",
    ):
        load_registry(path)


def test_load_registry__repeated_names(tmp_path: Path) -> None:
    path = write(tmp_path / "agents.yaml", "agents:\n  - {name: a}\n  - {name: a}\n")
    with pytest.raises(ConfigError, match="names must be unique, repeated: a"):
        load_registry(path)


def test_load_config__portfolio_caps_must_be_ordered(tmp_path: Path) -> None:
    path = write(
        tmp_path / "metasup.yml",
        "artifacts: {alpha: a, prices: p}\nportfolio: {min_weight: 0.6, max_weight: 0.5}\n",
    )
    with pytest.raises(ConfigError, match=r"portfolio: .*min_weight 0\.6 is above max_weight 0\.5"):
        load_config(path)


def test_load_config__period_must_be_shorter_than_window(tmp_path: Path) -> None:
    path = write(
        tmp_path / "metasup.yml", "artifacts: {alpha: a, prices: p}\nwindows: {window: 7d, period: 7d}\n"
    )
    with pytest.raises(ConfigError, match=r"windows: .*period \(7d\) must be shorter than window \(7d\)"):
        load_config(path)


def test_load_registry__aliases_within_reason_still_work(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(
        "agents:\n  - {name: a, stage: sandbox, regimes: &trend [trending, volatile]}\n"
        "  - {name: b, stage: prod, regimes: *trend}\n"
    )
    registry = load_registry(path)
    assert [a.regimes for a in registry.agents] == [["trending", "volatile"]] * 2


def _alias_bomb(levels: int) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nagents:\n  - {{name: a, stage: sandbox, regimes: *l{levels - 1}}}\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_alias_bomb(7), "over 1,000,000 values once its aliases"),  # 10^7 values; 9 levels: hours
        ("a: &a [1, *a]\nagents: []\n", "an alias refers to itself"),
        ("agents: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ],
    ids=["alias-bomb", "recursive-alias", "deep"],
)
def test_load_registry__yaml_that_would_not_end_is_refused(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_registry(path)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-02-30", "line 3: '2026-02-30' is not a valid date (day is out of range for month)"),
        ("2026-13-01T00:00:00Z", "line 3: '2026-13-01T00:00:00Z' is not a valid date (month must be in"),
        ("!!int seven", "line 3: 'seven' is not a valid int"),
        ("!!bool maybe", "line 3: 'maybe' is not a valid bool"),
        ("!!timestamp soon", "line 3: 'soon' is not a valid date"),
    ],
    ids=["feb-30", "month-13", "int-tag", "bool-tag", "timestamp-tag"],
)
def test_load_registry__unreadable_value_names_its_line(tmp_path: Path, value: str, words: str) -> None:
    """PyYAML reads date-like scalars as dates and raises plain errors for impossible ones (found
    by fuzzing: ``stage: 2026-02-30`` was an internal error)."""
    path = write(tmp_path / "agents.yaml", f"agents:\n  - name: a\n    stage: {value}\n")
    with pytest.raises(ConfigError, match=re.escape(f"invalid YAML at {words}")):
        load_registry(path)


def test_load_registry__json_style_surrogate_escapes(tmp_path: Path) -> None:
    """PyYAML reads ``"\\ud83d\\ude00"`` as two halves of a pair; joined, it is the agent 😀. A half alone
    is no character: it ended the review as an internal error (found by fuzzing), now a config error."""
    pair = write(tmp_path / "agents.yaml", 'agents:\n  - {name: "\\ud83d\\ude00", stage: sandbox}\n')
    assert [agent.name for agent in load_registry(pair).agents] == ["😀"]
    lone = write(tmp_path / "lone.yaml", 'agents:\n  - {name: ok}\n  - {name: "x\\ud800"}\n')
    with pytest.raises(ConfigError, match=r"line 3: 'x\\ud800' holds a lone surrogate escape"):
        load_registry(lone)


def test_registry__lookups_follow_a_copy_with_other_agents() -> None:
    """Lookups use an index of the agents; a copy with another list (as tests and a rolling plan's
    what-if make) must not answer from the original's index."""
    registry = Registry(agents=[Agent(name="a", stage="prod")])
    assert registry.agent("a") is not None  # the index of the first list is built
    copy = registry.model_copy(update={"agents": [Agent(name="b")]})
    assert (copy.agent("a"), copy.agent("b")) == (None, Agent(name="b"))
    assert registry.agent("a") == Agent(name="a", stage="prod")
    assert registry == Registry(agents=[Agent(name="a", stage="prod")])  # the index is not compared


def test_load_registry__an_agent_cannot_be_named_like_a_class_subject(tmp_path: Path) -> None:
    """``class:momentum`` is how kills, the ledger and retire branches name the class: an agent named
    so was killed as the class (found by an audit: its retire PR set the class's status to killed)."""
    path = write(
        tmp_path / "agents.yaml",
        "strategy_classes: [{name: momentum}]\nagents:\n  - name: 'class:momentum'\n",
    )
    with pytest.raises(ConfigError, match=r"name: an agent's name cannot start with 'class:' .* \(line 3\)"):
        load_registry(path)


def test_load_registry__a_missing_registry_says_it_is_the_registry(tmp_path: Path) -> None:
    """``agents.yaml: file not found`` alone did not say which file that is, nor how to name another
    (a newcomer's audit: a metasup.yml without ``registry:`` beside no agents.yaml)."""
    with pytest.raises(
        ConfigError, match=r"agents\.yaml: file not found: the agents' registry \(set `registry:`"
    ):
        load_registry(tmp_path / "agents.yaml")
