"""Surgical agents.yaml edits: one line changes, every other byte stays, the data says exactly that."""

from __future__ import annotations

import copy
import difflib
from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from metasup.model.registry import Registry, Stage
from metasup.rolling.registry_edit import (
    RegistryEditError,
    class_is_killed,
    double_quoted,
    has_stage,
    kill_reason_of,
    kill_strategy_class,
    retire_agent,
    set_agent_stage,
)

REGISTRY = """\
# Fleet registry — ünïcödé comment ✓
strategy_classes:
    - name: momentum          # four-space indent, items indented under the key
      status: active
      regimes: [trending]

    - {name: mean_reversion, regimes: [mean_reverting]}
    - name: "llm: macro"
      status: 'deprecated'

agents:
# items not indented under the key
- name: momo-alpha   # flagship
  strategy_class: momentum
  stage: prod\x20\x20
  regimes: [trending]

- {name: meanrev-fast, strategy_class: mean_reversion}   # flow, no stage
- {name: 'flow-quoted', stage: "sandbox"}
- name: "a: b"
  stage: 'sandbox'
- name: "#hash"
  strategy_class: momentum
- name: 'it''s'
  stage: "sandbox"
- name: ünï-agent     # ünïcode name
  stage: sandbox
- name: no-class
  regimes:
    - trending
- name: momo-v1
  stage: retired
  kill_reason: old reason
"""


def changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """The removed and the added lines (line endings included); every other line is identical."""
    removed: list[str] = []
    added: list[str] = []
    for line in difflib.ndiff(old.splitlines(keepends=True), new.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def data_of(text: str) -> Any:
    return yaml.safe_load(text)


def entry_of(data: Any, section: str, name: str) -> dict[str, Any]:
    return next(entry for entry in data[section] if entry["name"] == name)


def expected_after(text: str, section: str, name: str, **fields: str) -> Any:
    expected = copy.deepcopy(data_of(text))
    entry_of(expected, section, name).update(fields)
    return expected


# --- set_agent_stage: replacing an existing value ------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "old_line", "new_line"),
    [
        ("momo-alpha", "  stage: prod  \n", "  stage: sandbox  \n"),
        ("a: b", "  stage: 'sandbox'\n", "  stage: 'prod'\n"),
        ("it's", '  stage: "sandbox"\n', '  stage: "prod"\n'),
        ("ünï-agent", "  stage: sandbox\n", "  stage: prod\n"),
        (
            "flow-quoted",
            "- {name: 'flow-quoted', stage: \"sandbox\"}\n",
            "- {name: 'flow-quoted', stage: \"prod\"}\n",
        ),
    ],
    ids=["plain-trailing-whitespace", "single-quoted", "double-quoted", "unicode", "flow"],
)
def test_set_agent_stage__changes_one_line_keeping_the_quoting(
    agent: str, old_line: str, new_line: str
) -> None:
    stage: Stage = "sandbox" if agent == "momo-alpha" else "prod"

    edited = set_agent_stage(REGISTRY, agent, stage)

    assert changes(REGISTRY, edited) == ([old_line], [new_line])
    assert data_of(edited) == expected_after(REGISTRY, "agents", agent, stage=stage)


# --- set_agent_stage: inserting a missing key ----------------------------------------------------


def test_set_agent_stage__missing_in_a_flow_mapping_goes_before_the_brace() -> None:
    edited = set_agent_stage(REGISTRY, "meanrev-fast", "prod")

    assert changes(REGISTRY, edited) == (
        ["- {name: meanrev-fast, strategy_class: mean_reversion}   # flow, no stage\n"],
        ["- {name: meanrev-fast, strategy_class: mean_reversion, stage: prod}   # flow, no stage\n"],
    )
    assert data_of(edited) == expected_after(REGISTRY, "agents", "meanrev-fast", stage="prod")


def test_set_agent_stage__missing_in_a_block_mapping_is_one_new_line_after_strategy_class() -> None:
    edited = set_agent_stage(REGISTRY, "#hash", "prod")

    assert changes(REGISTRY, edited) == ([], ["  stage: prod\n"])
    assert "  strategy_class: momentum\n  stage: prod\n- name: 'it''s'" in edited
    assert data_of(edited) == expected_after(REGISTRY, "agents", "#hash", stage="prod")


def test_set_agent_stage__missing_without_strategy_class_goes_after_name() -> None:
    edited = set_agent_stage(REGISTRY, "no-class", "prod")

    assert changes(REGISTRY, edited) == ([], ["  stage: prod\n"])
    assert "- name: no-class\n  stage: prod\n  regimes:\n" in edited
    assert data_of(edited) == expected_after(REGISTRY, "agents", "no-class", stage="prod")


def test_set_agent_stage__four_space_indentation_is_followed() -> None:
    text = "agents:\n    -   name: a\n        strategy_class: x   # c\n\n    -   name: b\n"

    edited = set_agent_stage(text, "a", "prod")

    assert changes(text, edited) == ([], ["        stage: prod\n"])
    assert "strategy_class: x   # c\n        stage: prod\n\n" in edited


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_set_agent_stage__line_endings_are_kept(ending: str) -> None:
    text = REGISTRY.replace("\n", ending)

    replaced = set_agent_stage(text, "a: b", "prod")
    inserted = set_agent_stage(text, "#hash", "prod")

    assert changes(text, replaced) == ([f"  stage: 'sandbox'{ending}"], [f"  stage: 'prod'{ending}"])
    assert changes(text, inserted) == ([], [f"  stage: prod{ending}"])
    assert inserted.replace(ending, "\n") == set_agent_stage(REGISTRY, "#hash", "prod")


def test_set_agent_stage__a_byte_order_mark_is_kept() -> None:
    text = "\ufeffagents:\n- name: a\n  strategy_class: x\n"

    assert set_agent_stage(text, "a", "prod") == text + "  stage: prod\n"


def test_set_agent_stage__a_file_without_final_newline_keeps_it_that_way() -> None:
    text = "agents:\n  - name: a\n    stage: sandbox\n  - name: b\n    strategy_class: x"

    replaced = set_agent_stage(text, "a", "prod")
    inserted = set_agent_stage(text, "b", "prod")

    assert replaced == text.replace("stage: sandbox", "stage: prod")
    assert inserted == text + "\n    stage: prod"
    assert data_of(inserted)["agents"][1] == {"name": "b", "strategy_class": "x", "stage": "prod"}


def test_set_agent_stage__an_empty_value_is_filled() -> None:
    text = "agents:\n- name: a\n  stage:\n  regimes: []\n"

    assert set_agent_stage(text, "a", "prod") == "agents:\n- name: a\n  stage: prod\n  regimes: []\n"


def test_set_agent_stage__the_bundled_example_changes_by_one_line() -> None:
    text = resources.files("metasup").joinpath("examples/agents.yaml").read_text(encoding="utf-8")

    edited = set_agent_stage(text, "momo-beta", "prod")

    assert changes(text, edited) == (["    stage: sandbox\n"], ["    stage: prod\n"])
    registry = Registry.model_validate(data_of(edited))
    promoted = registry.agent("momo-beta")
    assert promoted is not None
    assert promoted.stage == "prod"


# --- idempotency ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "stage"),
    [("momo-alpha", "prod"), ("a: b", "sandbox"), ("meanrev-fast", "sandbox"), ("#hash", "sandbox")],
    ids=["same-value", "same-value-quoted", "flow-default", "block-default"],
)
def test_set_agent_stage__no_change_returns_the_text_unchanged(agent: str, stage: Stage) -> None:
    assert set_agent_stage(REGISTRY, agent, stage) == REGISTRY


def test_set_agent_stage__editing_twice_is_idempotent() -> None:
    once = set_agent_stage(REGISTRY, "#hash", "prod")

    assert set_agent_stage(once, "#hash", "prod") == once


@pytest.mark.parametrize(
    ("agent", "stage", "expected"),
    [
        ("momo-alpha", "prod", True),
        ("momo-alpha", "sandbox", False),
        ("meanrev-fast", "sandbox", True),  # no stage line: the default
        ("meanrev-fast", "prod", False),
        ("momo-v1", "retired", True),
    ],
)
def test_has_stage__says_whether_the_change_is_already_there(agent: str, stage: str, expected: bool) -> None:
    assert has_stage(REGISTRY, agent, stage) is expected
    assert has_stage(set_agent_stage(REGISTRY, agent, "prod"), agent, "prod")


def test_class_is_killed__only_after_the_kill() -> None:
    assert not class_is_killed(REGISTRY, "momentum")
    assert not class_is_killed(REGISTRY, "mean_reversion")  # no status line: active
    assert class_is_killed(kill_strategy_class(REGISTRY, "momentum", "r"), "momentum")
    assert class_is_killed(kill_strategy_class(REGISTRY, "llm: macro", "r"), "llm: macro")


# --- retire_agent and kill_strategy_class --------------------------------------------------------


def test_retire_agent__sets_stage_and_adds_kill_reason_after_it() -> None:
    edited = retire_agent(REGISTRY, "momo-alpha", "2 of 4 retirement rules fired")

    assert changes(REGISTRY, edited) == (
        ["  stage: prod  \n"],
        ["  stage: retired  \n", '  kill_reason: "2 of 4 retirement rules fired"\n'],
    )
    expected = expected_after(
        REGISTRY, "agents", "momo-alpha", stage="retired", kill_reason="2 of 4 retirement rules fired"
    )
    assert data_of(edited) == expected


def test_retire_agent__a_flow_agent_stays_on_its_line() -> None:
    edited = retire_agent(REGISTRY, "meanrev-fast", "cost over value")

    assert changes(REGISTRY, edited)[1] == [
        "- {name: meanrev-fast, strategy_class: mean_reversion, stage: retired, "
        'kill_reason: "cost over value"}   # flow, no stage\n'
    ]


def test_retire_agent__updates_an_existing_kill_reason_only() -> None:
    edited = retire_agent(REGISTRY, "momo-v1", "new reason")

    assert changes(REGISTRY, edited) == (["  kill_reason: old reason\n"], ['  kill_reason: "new reason"\n'])


def test_retire_agent__twice_is_idempotent() -> None:
    once = retire_agent(REGISTRY, "#hash", "reason: x")

    assert retire_agent(once, "#hash", "reason: x") == once
    assert changes(REGISTRY, once) == ([], ["  stage: retired\n", '  kill_reason: "reason: x"\n'])


def test_kill_strategy_class__block_class_with_four_space_indent() -> None:
    edited = kill_strategy_class(REGISTRY, "momentum", "alpha_negative; cost_over_value")

    assert changes(REGISTRY, edited) == (
        ["      status: active\n"],
        ["      status: killed\n", '      kill_reason: "alpha_negative; cost_over_value"\n'],
    )
    expected = expected_after(
        REGISTRY,
        "strategy_classes",
        "momentum",
        status="killed",
        kill_reason="alpha_negative; cost_over_value",
    )
    assert data_of(edited) == expected


def test_kill_strategy_class__flow_class_without_status() -> None:
    edited = kill_strategy_class(REGISTRY, "mean_reversion", "r")

    assert changes(REGISTRY, edited) == (
        ["    - {name: mean_reversion, regimes: [mean_reverting]}\n"],
        ['    - {name: mean_reversion, regimes: [mean_reverting], status: killed, kill_reason: "r"}\n'],
    )


def test_kill_strategy_class__keeps_single_quotes_and_a_quoted_name() -> None:
    edited = kill_strategy_class(REGISTRY, "llm: macro", "r")

    assert changes(REGISTRY, edited) == (
        ["      status: 'deprecated'\n"],
        ["      status: 'killed'\n", '      kill_reason: "r"\n'],
    )


# --- kill_reason is always safe ------------------------------------------------------------------

HOSTILE_REASONS = [
    'say "hi"',
    "it's",
    "line one\nline two\n",
    "key: value",
    "# not a comment",
    "a #b",
    "\\ backslash \\n",
    "- item",
    "{flow: map}",
    "[1, 2]",
    "&anchor *alias !!tag",
    "null",
    "",
    "  padded  ",
    "tab\there",
    "\r\n crlf",
    "ünï ✓ 🚀",
    "bidi \u202e override \u200b zero width \ufeff bom",
    "separators \u2028 \u2029 \x85 nel",
    "control \x00 \x07 \x1b \x7f",
    '"\n# injected: true\nstage: prod\n"',
]


@pytest.mark.parametrize("reason", HOSTILE_REASONS)
def test_retire_agent__any_kill_reason_round_trips_on_one_line(reason: str) -> None:
    edited = retire_agent(REGISTRY, "#hash", reason)

    removed, added = changes(REGISTRY, edited)
    assert removed == []
    assert added[0] == "  stage: retired\n"
    assert len(added) == 2
    assert added[1].startswith('  kill_reason: "')
    assert data_of(edited) == expected_after(REGISTRY, "agents", "#hash", stage="retired", kill_reason=reason)


@pytest.mark.parametrize("reason", HOSTILE_REASONS)
def test_kill_reason_of__reads_back_what_a_retirement_wrote(reason: str) -> None:
    """A re-cut retire PR keeps the reason its branch holds: it reads back exactly, for an agent
    and for a class; an entry without one has none."""
    assert kill_reason_of(retire_agent(REGISTRY, "#hash", reason), "agents", "#hash") == (reason or None)
    killed = kill_strategy_class(REGISTRY, "momentum", reason)
    assert kill_reason_of(killed, "strategy_classes", "momentum") == (reason or None)
    assert kill_reason_of(REGISTRY, "agents", "#hash") is None


@settings(max_examples=200, deadline=None)
@given(reason=st.text())
def test_double_quoted__reads_back_exactly_as_one_line(reason: str) -> None:
    rendered = double_quoted(reason)

    assert yaml.safe_load(f"k: {rendered}") == {"k": reason}
    assert rendered.splitlines() == [rendered]


def test_kill_strategy_class__hostile_reason_cannot_inject_keys() -> None:
    edited = kill_strategy_class(REGISTRY, "mean_reversion", '"}\n- {name: evil, status: active}')

    data = data_of(edited)
    assert [c["name"] for c in data["strategy_classes"]] == ["momentum", "mean_reversion", "llm: macro"]


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: set_agent_stage(text, "ghost", "prod"), "agent 'ghost' is not in the registry"),
        (lambda text: set_agent_stage(text, "momo", "prod"), "agent 'momo' is not in the registry"),
        (lambda text: retire_agent(text, "momentum", "r"), "agent 'momentum' is not in the registry"),
        (lambda text: kill_strategy_class(text, "momo-alpha", "r"), "strategy class 'momo-alpha' is not"),
        (
            lambda text: set_agent_stage(text, "momo-alpha", "live"),  # type: ignore[arg-type]
            "stage must be one of sandbox, prod, retired",
        ),
    ],
    ids=["unknown-agent", "prefix-only", "class-as-agent", "agent-as-class", "bad-stage"],
)
def test_edits__refuse_what_is_not_there(edit: Any, message: str) -> None:
    with pytest.raises(RegistryEditError, match=message):
        edit(REGISTRY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents:\n- name: a\n- name: a\n", "appears 2 times"),
        (
            "agents:\n- name: a\n  stage: sandbox\n  stage: prod\n",
            "agents.yaml: invalid YAML: key agents → 'a' → stage appears twice, at lines 3 and 4: ",
        ),
        ("agents:\n- name: a\n  stage: &s sandbox\n- name: b\n  stage: *s\n", "tag or an anchor"),
        ("agents:\n- name: a\n  stage: !!str sandbox\n", "tag or an anchor"),
        ("agents:\n- name: a\n  stage: |\n    sandbox\n", "not a plain or quoted scalar"),
        ("agents:\n- name: a\n  stage: [sandbox]\n", "not a plain or quoted scalar"),
        ("base: &base {stage: prod}\nagents:\n- <<: *base\n  name: a\n", "cannot edit agent 'a' safely"),
        ("spare: &t {name: a}\nagents: [*t]\n", "cannot edit agent 'a' safely"),
        ("agents: 5\n", "not in the registry"),
        ("agents: [\n", "invalid YAML"),
        ("- just a list\n", "not in the registry"),
        ("agents:\n", "not in the registry"),
        ("", "not in the registry"),
    ],
    ids=[
        "duplicate-agent",
        "duplicate-key",
        "anchor",
        "tag",
        "block-scalar",
        "not-a-scalar",
        "merge-key",
        "aliased-entry",
        "agents-not-a-list",
        "invalid-yaml",
        "not-a-mapping",
        "no-agents",
        "empty-file",
    ],
)
def test_set_agent_stage__refuses_what_it_cannot_edit_safely(text: str, message: str) -> None:
    with pytest.raises(RegistryEditError, match=message):
        set_agent_stage(text, "a", "sandbox" if "<<" in text else "prod")


def test_set_agent_stage__finds_a_name_written_with_json_style_surrogate_escapes() -> None:
    """The review reads ``"\\ud83e\\udd16 bot"`` as 🤖 bot (model/yaml_files joins the pair); the
    edit must find the same agent, or a promotion the review approved could not be opened."""
    text = (
        'agents:\n  - name: "\\ud83e\\udd16 bot"\n    stage: sandbox\n  - name: other\n    stage: sandbox\n'
    )
    edited = set_agent_stage(text, "🤖 bot", "prod")
    assert edited == text.replace("stage: sandbox", "stage: prod", 1)
    with pytest.raises(RegistryEditError, match="not in the registry"):
        set_agent_stage(text, "\ud83e\udd16 bot", "prod")  # the halves are no name


def test_set_agent_stage__a_file_that_starts_with_a_bom() -> None:
    """libyaml counts positions after a BOM; the edit replaced the wrong characters (``stage:prodx``)
    until such files went to PyYAML's parser (found by reviewing the libyaml change)."""
    text = "\ufeffagents:\n- name: a\n  stage: sandbox\n"
    assert set_agent_stage(text, "a", "prod") == "\ufeffagents:\n- name: a\n  stage: prod\n"
