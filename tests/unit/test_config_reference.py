"""docs/gates.md "Configuration at a glance" is the reference users read: it must list every key
of ``metasup.yml`` with the default the code uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from metasup.model.config import Config, parse_duration

GATES_MD = Path(__file__).resolve().parents[2] / "docs" / "gates.md"


def documented() -> dict[str, tuple[str, str]]:
    """``key → (default cell, allowed cell)`` of the section's table."""
    text = GATES_MD.read_text(encoding="utf-8")
    section = text.split("## Configuration at a glance", 1)[1].split("Constants that are", 1)[0]
    rows = {}
    for line in section.splitlines():
        if match := re.match(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|", line):
            rows[match.group(1)] = (match.group(2).strip(), match.group(3).strip())
    return rows


def config_keys(model: type[BaseModel] = Config, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every leaf key of the config models, as a user writes it (aliases: ``email.from``)."""
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from config_keys(annotation, key + ".")
        else:
            yield key, field.get_default(call_default_factory=True), annotation


def test_gates_md__lists_every_config_key_and_no_other() -> None:
    in_code = {key for key, _, _ in config_keys()}
    in_docs = set(documented())
    assert sorted(in_code - in_docs) == [], "config keys missing from docs/gates.md"
    assert sorted(in_docs - in_code) == [], "docs/gates.md lists keys the config does not have"


def _read_cell(cell: str) -> object:
    if cell == "required":
        return PydanticUndefined
    if cell == "none":
        return None
    value = cell.strip("`")
    if value == "[]":
        return []
    if re.fullmatch(r"\d+(\.\d+)?[smhdw]", value):
        return parse_duration(value)
    try:
        return float(value)
    except ValueError:
        return value


@pytest.mark.parametrize(("key", "default", "annotation"), list(config_keys()), ids=lambda v: str(v)[:40])
def test_gates_md__states_the_default_the_code_uses(key: str, default: object, annotation: object) -> None:
    cell, allowed = documented()[key]
    shown = _read_cell(cell)
    if isinstance(default, Path):
        default = str(default)
    assert shown == default, f"{key}: docs say {cell}, the code's default is {default!r}"
    if get_origin(annotation) is Literal:  # every choice is named among the allowed values
        missing = [choice for choice in get_args(annotation) if f"`{choice}`" not in allowed]
        assert missing == [], f"{key}: docs/gates.md does not name {missing} as allowed"
