"""Reading ``metasup.yml`` and ``agents.yaml``: YAML whose every failure is a config error naming
the file and, where it has one, the line.

PyYAML's safe loader, with four guards a user's file needs: a key repeated in one mapping is
refused (PyYAML keeps the last silently: a second ``agents:`` block unregistered every agent of the
first); aliases that would expand past :data:`MAX_YAML_VALUES` (or refer to themselves) are refused
before anything walks them; a value its constructors cannot build (``2026-02-30``, ``!!int seven``)
names its line instead of raising a plain ``ValueError``; and JSON-style surrogate escapes are
joined into their character, or refused when a half stands alone.

:func:`read_yaml_document` also keeps the line of every key and list item, so a validation error
can say where in the file its value is (:mod:`metasup.model.validation_errors`).

Files are parsed by libyaml's C parser where PyYAML has it, and composed into nodes by PyYAML's own
composer (:class:`MetasupCLoader`): PyYAML's pure-Python scanner and parser took ~0.2 ms per agent
of ``agents.yaml`` (a review reads the head's and the base's; a rolling edit reads it three times),
and libyaml's own composer recurses in C, so a file nested 100,000 deep crashed the process instead
of raising ``RecursionError``. A file libyaml refuses is read again by the pure-Python parser (the
reference, :class:`MetasupLoader`): its messages say what it found ("found character '\\t'",
where libyaml says "found character"), and it reads the JSON-style surrogate escapes libyaml
refuses. Timings: ``docs/performance.md``, "Reading agents.yaml".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

try:
    from yaml._yaml import CParser
except ImportError:  # a PyYAML built without libyaml: every file takes the pure-Python parser
    CParser = yaml.parser.Parser  # type: ignore[assignment,misc]

from metasup.model.errors import ConfigError, why_unreadable

DataPath = tuple[str | int, ...]
"""Where a value sits in a loaded file: its keys and (0-based) list indexes from the top."""


@dataclass(frozen=True)
class YamlDocument:
    """A YAML file's mapping and the 1-based line of each key and list item in it, by data path."""

    data: dict[str, Any]
    lines: dict[DataPath, int] = field(default_factory=dict)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file that must hold a mapping, with errors that name the file and line."""
    return read_yaml_document(path).data


def read_yaml_document(path: Path) -> YamlDocument:
    """:func:`read_yaml_mapping` with the line of every key and list item."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: {why_unreadable(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read file ({exc})") from None
    try:
        data, lines = _load_yaml(text, path)
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    except DuplicateKeyError as exc:
        raise ConfigError(f"{path}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return YamlDocument(data, lines)


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


STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"


def describe_location(where: Sequence[str | int], name_of: Callable[[DataPath], str | None]) -> str:
    """``where`` as a user finds it in the file: ``promotion.min_psr``, ``agents → 'alpha-1' → stage``,
    ``agents → item 14`` (a list item by its ``name:``, else its position counted from 1)."""
    pieces: list[str] = []
    keys: list[str] = []
    for depth, part in enumerate(where):
        if isinstance(part, int):
            pieces += [".".join(keys)] if keys else []
            keys = []
            name = name_of(tuple(where[: depth + 1]))
            pieces.append(repr(name) if name else f"item {part + 1}")
        else:
            keys.append(part)
    pieces += [".".join(keys)] if keys else []
    return " → ".join(pieces) or "(top level)"


def _name_of(node: yaml.Node) -> str | None:
    """The ``name:`` of a list item written as a mapping (agents and strategy classes have one)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if key.tag == STR_TAG and key.value == "name" and isinstance(value, yaml.ScalarNode):
            return str(value.value) or None
    return None


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names one key twice; PyYAML alone would keep the second value and drop the first
    without a word (a second ``agents:`` block replaced the whole registry)."""

    def __init__(
        self,
        where: DataPath,
        again: yaml.Node,
        first: yaml.Node,
        name_of: Callable[[DataPath], str | None],
    ) -> None:
        key = describe_location(
            (*where, str(again.value) if isinstance(again, yaml.ScalarNode) else "?"), name_of
        )
        first_line, line = first.start_mark.line + 1, again.start_mark.line + 1
        problem = (
            f"key {key} appears twice, at lines {first_line} and {line}: YAML would silently keep only"
            " the second; keep one (merge the two if both hold values you want)"
        )
        super().__init__(None, None, problem, again.start_mark)

    def __str__(self) -> str:
        """The problem alone: it names both lines already (PyYAML would add a snippet of the file)."""
        return str(self.problem)


class MetasupRules(Composer, SafeConstructor):
    """PyYAML's safe constructor, whose value errors name the line like its syntax errors do, with
    the checks of the composed nodes (repeated keys) and their lines; the parser is the subclass's.

    Its constructors raise plain Python errors for a scalar that looks like a date but is not one
    (``2026-02-30``, ``2026-13-01``) or that an explicit tag cannot read (``!!int x``,
    ``!!bool maybe``); those became internal errors. Strings have their surrogate pairs joined
    (:func:`joined_surrogates`). ``rolling.registry_edit`` reads the registry with it too, so
    both sides see the same names.
    """

    lines: dict[DataPath, int]
    item_names: dict[DataPath, str]

    def construct_scalar(self, node: yaml.ScalarNode | yaml.MappingNode) -> Any:
        value = super().construct_scalar(node)
        if not isinstance(value, str):
            return value
        try:
            return joined_surrogates(value)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None

    def compose_document(self) -> yaml.Node | None:
        """The document's node tree, refused (:class:`DuplicateKeyError`) when a mapping repeats a
        key; :attr:`lines` then holds the line of every key and list item.

        Checked here, on the nodes, rather than on the loaded dict: every reader of metasup's YAML
        (``yaml.load``, ``yaml.compose``, :func:`read_yaml_document`) composes first, and the nodes
        still know both lines.
        """
        root: yaml.Node | None = super().compose_document()
        self.lines, self.item_names = {}, {}
        if root is not None:
            self._walk(root, (), set())
        return root

    def _walk(self, node: yaml.Node, where: DataPath, seen: set[int]) -> None:
        if id(node) in seen:  # an alias: its node was checked where its anchor is
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.lines.setdefault((*where, index), item.start_mark.line + 1)
                if isinstance(name := _name_of(item), str):
                    self.item_names.setdefault((*where, index), name)
                self._walk(item, (*where, index), seen)
        elif isinstance(node, yaml.MappingNode):
            first: dict[object, yaml.Node] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:  # PyYAML merges every ``<<``: nothing is lost
                    self._walk(value_node, where, seen)
                    continue
                key = self._key_of(key_node)
                if key in first:
                    raise DuplicateKeyError(where, key_node, first[key], self.item_names.get)
                first[key] = key_node
                part = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                self.lines.setdefault((*where, part), key_node.start_mark.line + 1)
                self._walk(value_node, (*where, part), seen)

    def _key_of(self, node: yaml.Node) -> object:
        """A key as the loaded dict holds it: ``yes`` and ``true`` are one key, so are ``1`` and ``0x1``."""
        if not isinstance(node, yaml.ScalarNode):
            return id(node)  # a mapping or list as a key: the constructor refuses it (unhashable)
        if node.tag == STR_TAG:
            return node.value
        try:
            return self.construct_object(node)
        except yaml.YAMLError:
            return (node.tag, node.value)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            kind = {"timestamp": "date"}.get(tag := node.tag.rsplit(":", 1)[-1], tag)
            detail = f" ({exc})" if isinstance(exc, ValueError) else ""
            problem = f"{node.value!r} is not a valid {kind}{detail}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


class MetasupLoader(MetasupRules, yaml.SafeLoader):
    """The rules on PyYAML's pure-Python reader, scanner and parser: the reference, whose syntax
    errors quote the line, and the parser of any file libyaml refuses."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self.lines, self.item_names = {}, {}


class MetasupCLoader(MetasupRules, CParser, Resolver):
    """The rules on libyaml's parser, composed by PyYAML's composer (which comes first in the
    method order): libyaml's own recursed in C, so deep nesting crashed instead of raising
    ``RecursionError``."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.lines, self.item_names = {}, {}

    def compose_scalar_node(self, anchor: dict[Any, yaml.Node]) -> yaml.ScalarNode:
        """PyYAML's node; its plain style is ``None`` as PyYAML writes it (libyaml's is ``''``),
        which ``rolling.registry_edit`` reads to keep a value's quoting."""
        node = super().compose_scalar_node(anchor)
        node.style = node.style or None
        return node


Loader = MetasupLoader | MetasupCLoader
_LOADERS: tuple[type[Loader], ...] = (
    (MetasupCLoader, MetasupLoader) if yaml.__with_libyaml__ else (MetasupLoader,)
)


def _libyaml_reads_alike(text: str) -> bool:
    """False for what libyaml reads otherwise than PyYAML's parser: a leading BOM (libyaml counts
    positions after it, so ``rolling.registry_edit`` edited the wrong characters), and the tabs
    and ``?`` in flow scalars that libyaml accepts and PyYAML refuses (found by reviewing this
    change: 232 of 21,000 fuzzed edits, all tabs or ``?``). Those files take the pure parser."""
    return not text.startswith("\ufeff") and "\t" not in text and "?" not in text


def compose_yaml(text: str) -> tuple[yaml.Node | None, Loader]:
    """The node tree of ``text`` (checked for repeated keys) and the loader that composed it, which
    holds the lines and constructs the values: by libyaml's parser when it reads ``text``, else
    by PyYAML's pure-Python one, whose :class:`yaml.YAMLError` is the one raised."""
    for loader_class in _LOADERS if _libyaml_reads_alike(text) else (MetasupLoader,):
        loader = loader_class(text)
        try:
            return loader.get_single_node(), loader
        except yaml.YAMLError as exc:
            if loader_class is MetasupLoader or isinstance(exc, yaml.constructor.ConstructorError):
                raise  # the reference's syntax error, or a repeated key (refused by either)
        finally:
            loader.dispose()
    raise AssertionError("MetasupLoader, the last loader, returns or raises")


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with metasup's rules (:func:`compose_yaml`); ``None`` for an empty text."""
    root, loader = compose_yaml(text)
    return None if root is None else loader.construct_document(root)


def _load_yaml(text: str, path: Path) -> tuple[Any, dict[DataPath, int]]:
    """``yaml.safe_load`` refusing repeated keys, alias bombs and recursive aliases before anything
    walks them; with the line of every key and list item."""
    root, loader = compose_yaml(text)
    if root is None:
        return None, {}
    _check_expanded_size(root, path)
    return loader.construct_document(root), loader.lines


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
