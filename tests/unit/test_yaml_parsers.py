"""metasup's YAML is parsed by libyaml where it can be, and must read exactly as PyYAML's pure-Python
parser reads it (the reference): the same values, the same lines for validation errors, the same
refusals with the same messages. Only the speed may differ (``docs/performance.md``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from metasup.model.errors import ConfigError
from metasup.model.yaml_files import (
    MetasupCLoader,
    MetasupLoader,
    compose_yaml,
    read_yaml_document,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "metasup" / "examples"

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")

ODD_BUT_VALID = {
    "anchors-and-merges": (
        "base: &base {strategy_class: momentum, regimes: [trending]}\n"
        "agents:\n"
        "  - <<: *base\n    name: a   # a comment\n    stage: prod\n"
        "  - {<<: *base, name: b, stage: sandbox}\n"
    ),
    "scalars": (
        "ints: [0x1F, 0o17, 1_000, -3, +4]\nfloats: [1e3, .inf, -.Inf, .nan, 6.8523015e+5]\n"
        "bools: [yes, No, on, OFF, true]\nnulls: [~, null, ]\n"
        "dates: [2026-02-28, 2026-02-28T10:00:00Z, 2026-02-28 10:00:00.5 +02:00]\n"
        "tagged: [!!str 12, !!float 3, !!binary aGk=]\n"
    ),
    "strings": (
        "plain: a b#c d\nsingle: 'it''s # not a comment'\n"
        'double: "tab\\tnewline\\n\\x41\\u00e9\\U0001F600 \\\\ end"\n'
        "folded: >\n  one\n  two\n\n  three\nliteral: |-\n  keep\n    indent\n"
        "unicode: Zürich — 東京 😀\nlong: " + "x" * 5000 + "\n"
    ),
    "line-ends": "agents:\r\n  - name: a\r\n    stage: prod\r\n\r\n  - name: b\r\n    stage: sandbox\r\n",
    "markers": "%YAML 1.1\n---\nagents:\n- name: a\n  regimes:\n  - trending\n...\n",
    "bom": "\ufeffagents:\n  - name: a\n    stage: 'sandbox'\n",
    "explicit-keys": "? a\n: 1\n'b': 2\n\"c\": 3\n",
}


def _both(text: str) -> tuple[object, object]:
    """What metasup reads from ``text``, and what PyYAML's pure-Python parser reads."""
    root, loader = compose_yaml(text)
    reference = MetasupLoader(text)
    expected = reference.get_single_node()
    return (
        (loader.construct_document(root), loader.lines, loader.item_names),
        (reference.construct_document(expected), reference.lines, reference.item_names),
    )


def _shape(node: yaml.Node) -> object:
    """What ``rolling.registry_edit`` reads of a node: where it is, its style (for a list or mapping,
    whether it is flow style: libyaml says False where PyYAML says None), its children."""
    marks = (node.start_mark.index, node.start_mark.line, node.start_mark.column, node.end_mark.index)
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value, node.style, marks)
    children = node.value if isinstance(node, yaml.SequenceNode) else [p for pair in node.value for p in pair]
    return (node.tag, bool(node.flow_style), marks, [_shape(child) for child in children])


@needs_libyaml
@pytest.mark.parametrize("text", ODD_BUT_VALID.values(), ids=ODD_BUT_VALID.keys())
def test_libyaml_reads_as_the_pure_python_parser(text: str) -> None:
    fast, reference = _both(text)
    assert repr(fast) == repr(reference)  # repr: nan != nan, and 1 == True would hide a bool
    root, _ = compose_yaml(text)
    expected = MetasupLoader(text).get_single_node()
    assert root is not None
    assert expected is not None
    assert _shape(root) == _shape(expected)


@needs_libyaml
@pytest.mark.parametrize("name", ["agents.yaml", "metasup.yml"])
def test_libyaml_reads_the_examples_as_the_pure_python_parser(name: str) -> None:
    fast, reference = _both((EXAMPLES / name).read_text(encoding="utf-8"))
    assert fast == reference


@needs_libyaml
def test_a_file_libyaml_reads_is_read_by_libyaml() -> None:
    """The speed-up is libyaml's parser; a silent fall back to the pure-Python one would lose it."""
    _, loader = compose_yaml((EXAMPLES / "agents.yaml").read_text(encoding="utf-8"))
    assert isinstance(loader, MetasupCLoader)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # libyaml: "found character that cannot start any token" (which one?)
        ("agents:\n\t- name: a\n", "line 2: found character '\\t' that cannot start any token"),
        # libyaml: "did not find expected ',' or ']'"
        ("agents: [a, b\n", "line 2: expected ',' or ']', but got '<stream end>'"),
        # libyaml: "did not find expected key"
        ("agents:\n  - name: a\n  name: b\n", "line 3: expected <block end>, but found '?'"),
    ],
    ids=["tab", "unclosed", "indent"],
)
def test_syntax_errors_are_the_pure_python_parsers(tmp_path: Path, text: str, message: str) -> None:
    """A file libyaml refuses is read again by PyYAML's parser, whose message names what it found."""
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        read_yaml_document(path)
    assert str(raised.value) == f"{path}: invalid YAML at {message}"


@needs_libyaml
@pytest.mark.parametrize(
    "text",
    ["agents:\n  - name: a\n    stage: prod\t\n", "agents:\n  - {name: a, regimes: [mean_r?everting]}\n"],
    ids=["tab-after-value", "question-mark-in-flow"],
)
def test_what_libyaml_alone_accepts_is_refused_as_before(text: str) -> None:
    """libyaml reads these; PyYAML's parser, the reference, refuses them: they go to it first, so
    a file is accepted or not whatever PyYAML was built with (found by reviewing this change)."""
    assert yaml.load(text, Loader=yaml.CSafeLoader) is not None
    with pytest.raises(yaml.YAMLError):
        compose_yaml(text)


def test_a_repeated_key_is_refused_by_either_parser(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text("agents: []\nagents: []\n")
    with pytest.raises(ConfigError, match="key agents appears twice, at lines 1 and 2"):
        read_yaml_document(path)


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """libyaml's own composer recurses in C: 100,000 nested lists ended the process with a
    segmentation fault, before any error could be reported. PyYAML's composer raises
    ``RecursionError``, which is the config error; run apart so a crash fails only this test."""
    path = tmp_path / "agents.yaml"
    path.write_text("agents: " + "[" * 200_000 + "]" * 200_000 + "\n")
    script = (
        "import sys; from pathlib import Path\n"
        "from metasup.model.errors import ConfigError\n"
        "from metasup.model.registry import load_registry\n"
        "try:\n    load_registry(Path(sys.argv[1]))\n"
        "except ConfigError as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"{path}: invalid YAML: nested too deeply"
