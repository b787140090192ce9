"""Surgical edits of ``agents.yaml`` for [AUTO-PROMOTE] and [AUTO-RETIRE] pull requests (SPEC §5).

A promotion PR must change only the agent's ``stage``; everything else in the file stays
byte-identical: comments, order, quoting, flow or block style, blank lines, trailing spaces,
line endings. So the file is never re-dumped. PyYAML's composer (the same parser
``metasup.model.registry`` loads the file with) gives the exact character span of every node; an edit
replaces the span of one scalar value, or inserts one ``key: value`` where the key is missing:

- flow mapping ``{name: a, strategy_class: x}`` → ``, stage: prod`` after its last value;
- block mapping → a new line, indented like its sibling keys, right after the line of the
  preferred neighbour (``stage`` after ``strategy_class``, else after ``name``; ``kill_reason``
  after ``stage``/``status``), with that line's own line ending.

A replaced ``stage``/``status`` keeps the old value's quoting (plain, 'single', "double").
``kill_reason`` is always written double-quoted with every character that is not plainly
printable escaped, so no reason text can inject YAML. After the edit the result is parsed again
and must equal the original data with exactly the intended change; anything else (aliases,
merge keys, duplicate keys, exotic layouts) raises :class:`RegistryEditError` rather than
returning a file that says something else.

Decisions the spec leaves open: an edit that changes nothing returns the text unchanged (setting
``prod`` on a ``prod`` agent; ``sandbox`` on an agent without ``stage``, since that is the
default; retiring an already retired agent with the same reason). A value carrying a tag or an
anchor (``stage: !!str prod``, ``stage: &s prod``) or written as a block scalar (``|``/``>``)
is refused: editing it in place could change other nodes or the file's layout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import yaml

from metasup.model.errors import MetasupError
from metasup.model.registry import Stage
from metasup.model.yaml_files import compose_yaml, joined_surrogates, load_yaml

Section = Literal["agents", "strategy_classes"]
STR_TAG = "tag:yaml.org,2002:str"

QUOTE_STYLES: dict[str | None, str] = {None: "", "'": "'", '"': '"'}
"""Scalar styles an edit may replace, and the quote character each one writes around a value."""

SAFE_PLAIN = re.compile(r"^[a-z][a-z_]*$")
"""Values that read the same plain, 'single' or "double" quoted (stage and status names)."""

LINE_BREAK = re.compile(r"\r\n|\n|\r")
"""Line endings as YAML reads them (CRLF, LF, or a lone CR), so an inserted line matches its file."""

_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class RegistryEditError(MetasupError):
    """The requested edit of agents.yaml cannot be made safely; the message says why."""


class RegistryEntryMissing(RegistryEditError):
    """The agent or class is not in agents.yaml (any more): a person renamed or removed it."""


@dataclass(frozen=True)
class Change:
    """Set ``key`` to ``value`` in one entry of the registry.

    ``default`` is the value an absent key means (an absent ``stage`` is ``sandbox``), so
    setting the default on an entry without the key is no change at all. ``double_quoted``
    forces the safe double-quoted form (for free text) instead of keeping the old quoting.
    ``after`` lists the keys to insert a missing key after, in order of preference.
    """

    key: str
    value: str
    default: str | None
    double_quoted: bool
    after: tuple[str, ...]


# --- public API ----------------------------------------------------------------------------------


def set_agent_stage(text: str, agent: str, stage: Stage) -> str:
    """``text`` with only ``agent``'s ``stage`` changed (the [AUTO-PROMOTE] edit)."""
    if stage not in get_args(Stage):
        raise RegistryEditError(f"stage must be one of {', '.join(get_args(Stage))}, got {stage!r}")
    return edit_entry(text, "agents", agent, [_stage_change(stage)])


def retire_agent(text: str, agent: str, kill_reason: str) -> str:
    """``text`` with ``agent`` at ``stage: retired`` and its ``kill_reason`` set (the [AUTO-RETIRE] edit)."""
    return edit_entry(text, "agents", agent, [_stage_change("retired"), _kill_reason_change(kill_reason)])


def kill_strategy_class(text: str, name: str, kill_reason: str) -> str:
    """``text`` with strategy class ``name`` at ``status: killed`` and its ``kill_reason`` set."""
    return edit_entry(text, "strategy_classes", name, [_killed_status(), _kill_reason_change(kill_reason)])


def has_stage(text: str, agent: str, stage: Stage) -> bool:
    """Whether ``agent`` is already at ``stage`` in ``text``: a run whose checkout is older than the
    base (a re-run, or a PR merged meanwhile) must not propose a change that is already there."""
    return set_agent_stage(text, agent, stage) == text


def class_is_killed(text: str, name: str) -> bool:
    """Whether strategy class ``name`` is already ``status: killed`` in ``text`` (see :func:`has_stage`)."""
    return edit_entry(text, "strategy_classes", name, [_killed_status()]) == text


def kill_reason_of(text: str, section: Section, name: str) -> str | None:
    """The ``kill_reason`` that entry ``name`` of ``section`` carries in ``text`` (None: none, or
    not a plain string): the reason an [AUTO-RETIRE] branch holds, kept by a re-cut that knows no
    other."""
    value = _value_of(_find_entry(text, section, name), "kill_reason", _what(section, name))
    if isinstance(value, yaml.ScalarNode) and value.tag == STR_TAG and value.value:
        return str(value.value)
    return None


def _killed_status() -> Change:
    return Change("status", "killed", default="active", double_quoted=False, after=("name",))


def _stage_change(stage: str) -> Change:
    return Change("stage", stage, default="sandbox", double_quoted=False, after=("strategy_class", "name"))


def _kill_reason_change(kill_reason: str) -> Change:
    return Change(
        "kill_reason", kill_reason, default=None, double_quoted=True, after=("stage", "status", "name")
    )


def edit_entry(text: str, section: Section, name: str, changes: Sequence[Change]) -> str:
    """Apply ``changes`` to the entry called ``name`` of ``section``, then prove the result.

    Each change is located afresh in the text the previous one produced (offsets move). The
    final text must parse to the original data with exactly these changes, else nothing is
    returned but a :class:`RegistryEditError`.
    """
    original = _load(text, "agents.yaml")
    expected = _expected_data(original, section, name, changes)
    edited = text
    for change in changes:
        edited = _apply(edited, section, name, change)
    if _load(edited, "the edited agents.yaml") != expected:
        raise RegistryEditError(
            f"agents.yaml: cannot edit {_what(section, name)} safely (the file uses aliases, merge keys "
            "or a layout an in-place edit cannot handle); please make the change by hand"
        )
    return edited


# --- expected result -----------------------------------------------------------------------------


def _load(text: str, label: str) -> Any:
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        raise RegistryEditError(f"{label}: invalid YAML: {exc}") from None


def _expected_data(original: Any, section: Section, name: str, changes: Sequence[Change]) -> Any:
    """The original data with the changes applied: what the edited file must parse to."""
    expected = _unshared_copy(original)
    entries = expected.get(section) if isinstance(expected, dict) else None
    listed = entries if isinstance(entries, list) else []
    matches = [entry for entry in listed if isinstance(entry, dict) and entry.get("name") == name]
    if len(matches) != 1:
        raise _not_found_or_ambiguous(section, name, len(matches))
    entry = matches[0]
    for change in changes:
        if change.key in entry or change.value != change.default:
            entry[change.key] = change.value
    return expected


def _unshared_copy(value: Any) -> Any:
    """A deep copy in which no two places share a dict or list, unlike ``copy.deepcopy``.

    An entry reached through a YAML alias is one object in several places; changing it in the
    expected data must not change the other places, so an edit that would is caught.
    """
    if isinstance(value, dict):
        return {key: _unshared_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unshared_copy(item) for item in value]
    return value


def _not_found_or_ambiguous(section: Section, name: str, count: int) -> RegistryEditError:
    if count == 0:
        return RegistryEntryMissing(f"agents.yaml: {_what(section, name)} is not in the registry")
    return RegistryEditError(f"agents.yaml: {_what(section, name)} appears {count} times; expected once")


def _what(section: Section, name: str) -> str:
    return f"agent {name!r}" if section == "agents" else f"strategy class {name!r}"


# --- locating nodes ------------------------------------------------------------------------------


def _compose(text: str) -> yaml.MappingNode:
    try:
        root, _ = compose_yaml(text)
    except yaml.YAMLError as exc:
        raise RegistryEditError(f"agents.yaml: invalid YAML: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise RegistryEditError("agents.yaml: expected a mapping of keys at the top level")
    return root


def _value_of(mapping: yaml.MappingNode, key: str, owner: str) -> yaml.Node | None:
    """The value node of ``key`` in ``mapping``; a key given twice is refused (YAML keeps the last)."""
    values = [
        value
        for key_node, value in mapping.value
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == STR_TAG and key_node.value == key
    ]
    if len(values) > 1:
        raise RegistryEditError(f"agents.yaml: {owner} has the key {key!r} {len(values)} times")
    return values[0] if values else None


def _find_entry(text: str, section: Section, name: str) -> yaml.MappingNode:
    """The mapping node of the entry called ``name`` in the ``section`` list."""
    root = _compose(text)
    entries = _value_of(root, section, "the top level")
    if not isinstance(entries, yaml.SequenceNode):
        raise RegistryEditError(
            f"agents.yaml: {_what(section, name)} is not in the registry (no {section} list)"
        )
    matches = [entry for entry in entries.value if _is_named(entry, name)]
    if len(matches) != 1:
        raise _not_found_or_ambiguous(section, name, len(matches))
    entry = matches[0]
    assert isinstance(entry, yaml.MappingNode)  # _is_named checked it
    return entry


def _is_named(entry: yaml.Node, name: str) -> bool:
    if not isinstance(entry, yaml.MappingNode):
        return False
    value = _value_of(entry, "name", "an entry")
    if not isinstance(value, yaml.ScalarNode) or value.tag != STR_TAG:
        return False
    try:
        return joined_surrogates(value.value) == name
    except ValueError:  # a lone half: the review refused this registry already
        return False


# --- editing -------------------------------------------------------------------------------------


def _apply(text: str, section: Section, name: str, change: Change) -> str:
    entry = _find_entry(text, section, name)
    current = _value_of(entry, change.key, _what(section, name))
    if current is None:
        if change.value == change.default:
            return text
        return _insert(text, entry, change, section, name)
    if isinstance(current, yaml.ScalarNode) and current.tag == STR_TAG and current.value == change.value:
        return text
    return _replace(text, current, change, f"{_what(section, name)}: {change.key}")


def _replace(text: str, node: yaml.Node, change: Change, label: str) -> str:
    """Swap exactly the characters of the old value for the new one."""
    start, end = node.start_mark.index, node.end_mark.index
    if not isinstance(node, yaml.ScalarNode) or node.style not in QUOTE_STYLES:
        raise RegistryEditError(f"agents.yaml: {label} is not a plain or quoted scalar; edit it by hand")
    if start < end and text[start] in "!&*":
        raise RegistryEditError(f"agents.yaml: {label} carries a tag or an anchor; edit it by hand")
    rendered = _render(change, node.style)
    if start == end:  # an empty value (``stage:``): the span sits right after the colon
        rendered = " " + rendered
    return text[:start] + rendered + text[end:]


def _insert(text: str, entry: yaml.MappingNode, change: Change, section: Section, name: str) -> str:
    pair = f"{change.key}: {_render(change, None)}"
    if entry.flow_style:
        last_value = entry.value[-1][1]
        at = last_value.end_mark.index
        return text[:at] + ", " + pair + text[at:]
    neighbour = _neighbour_value(entry, change.after)
    if neighbour is None:
        raise RegistryEditError(
            f"agents.yaml: no single-line key to place {change.key!r} after in {_what(section, name)}; "
            "edit it by hand"
        )
    indent = " " * entry.value[0][0].start_mark.column
    return _insert_line_after(text, neighbour.end_mark.index, indent + pair)


def _neighbour_value(entry: yaml.MappingNode, after: Sequence[str]) -> yaml.ScalarNode | None:
    """The value of the first key of ``after`` that is a plain or quoted scalar (ends on its line)."""
    for key in after:
        value = _value_of(entry, key, "an entry")
        if isinstance(value, yaml.ScalarNode) and value.style in QUOTE_STYLES:
            return value
    return None


def _insert_line_after(text: str, index: int, line: str) -> str:
    """Insert ``line`` after the line holding ``index``, ending it the way that line ends."""
    line_end = LINE_BREAK.search(text, index)
    if line_end is None:  # the last line, without a final newline: keep it without one
        first_break = LINE_BREAK.search(text)
        return text + (first_break.group() if first_break else "\n") + line
    return text[: line_end.end()] + line + line_end.group() + text[line_end.end() :]


# --- rendering -----------------------------------------------------------------------------------


def _render(change: Change, style: str | None) -> str:
    """The value in the old value's quoting; free text (or anything unusual) double-quoted."""
    if change.double_quoted or not SAFE_PLAIN.match(change.value):
        return double_quoted(change.value)
    quote = QUOTE_STYLES[style]
    return f"{quote}{change.value}{quote}"


def double_quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar on one line that reads back exactly as ``value``.

    Everything but printable characters stays literal; control characters, line and paragraph
    separators, bidi overrides, zero-width and other format characters are escaped.

    >>> double_quoted('alpha: "neg" # 3\\n')
    '"alpha: \\\\"neg\\\\" # 3\\\\n"'
    """
    return '"' + "".join(_escape(char) for char in value) + '"'


def _escape(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
