"""Reading ``metasup.yml`` and ``agents.yaml``: YAML whose every failure is a config error naming
the file and, where it has one, the line.

PyYAML's safe loader, with three guards a user's file needs: aliases that would expand past
:data:`MAX_YAML_VALUES` (or refer to themselves) are refused before anything walks them; a value
its constructors cannot build (``2026-02-30``, ``!!int seven``) names its line instead of raising
a plain ``ValueError``; and JSON-style surrogate escapes are joined into their character, or
refused when a half stands alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from metasup.model.errors import ConfigError, why_unreadable


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file that must hold a mapping, with errors that name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: {why_unreadable(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read file ({exc})") from None
    try:
        data = _load_yaml(text, path)
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data


MAX_YAML_VALUES = 1_000_000
"""Most values a config or registry may hold once its aliases are expanded (10 000 agents of ten
fields are 100 000): YAML aliases nest, and nine levels of ten ``*refs`` are a billion values,
which validation would walk for hours."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def joined_surrogates(value: str) -> str:
    """``value`` with each escaped surrogate pair joined into its character (``"\\ud83d\\ude00"``,
    JSON's spelling of 😀, arrives from PyYAML as two halves); ``ValueError`` for a half alone."""
    if not _SURROGATE.search(value):
        return value
    try:
        return value.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        raise ValueError(
            f"{value!r} holds a lone surrogate escape (\\ud800-\\udfff), which is no character"
        ) from None


class MetasupLoader(yaml.SafeLoader):
    """PyYAML's safe loader, whose value errors name the line like its syntax errors do.

    Its constructors raise plain Python errors for a scalar that looks like a date but is not one
    (``2026-02-30``, ``2026-13-01``) or that an explicit tag cannot read (``!!int x``,
    ``!!bool maybe``); those became internal errors. Strings have their surrogate pairs joined
    (:func:`joined_surrogates`). ``rolling.registry_edit`` reads the registry with it too, so
    both sides see the same names.
    """

    def construct_scalar(self, node: yaml.ScalarNode | yaml.MappingNode) -> Any:
        value = super().construct_scalar(node)
        if not isinstance(value, str):
            return value
        try:
            return joined_surrogates(value)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            kind = {"timestamp": "date"}.get(tag := node.tag.rsplit(":", 1)[-1], tag)
            detail = f" ({exc})" if isinstance(exc, ValueError) else ""
            problem = f"{node.value!r} is not a valid {kind}{detail}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def _load_yaml(text: str, path: Path) -> Any:
    """``yaml.safe_load``, refusing alias bombs and recursive aliases before anything walks them."""
    loader = MetasupLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_expanded_size(root, path)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def _check_expanded_size(root: yaml.Node, path: Path) -> None:
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise ConfigError(f"{path}: invalid YAML at line {line}: an alias refers to itself")
        open_nodes.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        total = 1 + sum(size(child) for child in children)
        open_nodes.discard(key)
        sizes[key] = total
        if total > MAX_YAML_VALUES:
            raise ConfigError(
                f"{path}: over {MAX_YAML_VALUES:,} values once its aliases (*name) are expanded;"
                " write the values out, or use fewer nested aliases"
            )
        return total

    size(root)
