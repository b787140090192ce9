"""Pydantic's validation errors in the words of the file the user wrote, in one place.

``metasup.yml``, ``agents.yaml`` and a review JSON given to ``comment`` or ``--baseline`` are
checked by pydantic models, whose messages speak of the models: ``agents.0.stage`` (a list counted
from 0), ``Input should be a valid dictionary or instance of Agent``, one line per member of a
union (``engine.partitions.literal['auto']``, ``engine.partitions.constrained-int``). A user finds
a list item by its ``name:`` or by counting from 1, and the line their editor shows; so every
problem here names its place that way (:func:`~metasup.model.yaml_files.describe_location`) and
says what is allowed in plain words.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from metasup.model.yaml_files import DataPath, describe_location

SHOWN_INPUT_CHARS = 80
"""How much of a bad value an error message quotes: the entry, never the whole file."""

MAPPING_KEYS_SHOWN = 3
"""Keys named in "must be a mapping (name:, strategy_class:, stage:, …)"."""

PLAIN_WORDS: dict[str, str] = {
    "list_type": "must be a list",
    "string_type": "must be text",
    "string_too_short": "must not be empty",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number (not .inf or .nan)",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "path_type": "must be a path",
}
"""Pydantic's error types whose message names a Python type, in the words of a YAML file."""

MAPPING_TYPES = frozenset({"model_type", "model_attributes_type", "dict_type"})


def describe_validation_error(
    source: str,
    error: ValidationError,
    model: type[BaseModel],
    data: object = None,
    lines: Mapping[DataPath, int] | None = None,
) -> str:
    """``source is not valid:`` and one line per problem (:func:`validation_problems`)."""
    problems = validation_problems(error, model, data, lines)
    return "\n".join([f"{source} is not valid:", *(f"  {problem}" for problem in problems)])


def validation_problems(
    error: ValidationError,
    model: type[BaseModel],
    data: object = None,
    lines: Mapping[DataPath, int] | None = None,
) -> list[str]:
    """One line per problem: where (list items by ``name:`` or from 1, the line when ``lines``
    knows it), what is wrong, what is allowed. ``data`` is what was validated (for the names)."""
    found: dict[DataPath, _Problem] = {}
    for detail in error.errors():
        place = _place(model, detail["loc"])
        problem = found.setdefault(place.where, _Problem(place, []))
        problem.details.append(detail)
    return [problem.line(data, lines or {}) for problem in found.values()]


@dataclass(frozen=True)
class _Place:
    """Where a pydantic ``loc`` points in the user's file, and what the model expects there."""

    where: DataPath
    """``loc`` without the names pydantic gives union members (``literal['auto']``)."""
    parent: type[BaseModel] | None
    """The model holding the last key of ``where`` (for the keys allowed next to it)."""
    field: FieldInfo | None
    """The field at ``where``; None at the top level or for an item of a list of models."""
    union: bool


def _place(model: type[BaseModel], loc: tuple[int | str, ...]) -> _Place:
    where: list[str | int] = []
    current: type[BaseModel] | None = model
    parent: type[BaseModel] | None = model
    field: FieldInfo | None = None
    union = False
    for part in loc:
        if isinstance(part, int):
            where.append(part)
            continue
        if current is None:  # past a leaf: pydantic's name of a union member
            union = True
            continue
        field = _field(current, part)
        where.append(part)
        parent = current
        current = _model_in(field.annotation) if field is not None else None
    if loc and isinstance(loc[-1], int) and current is not None:
        field = None  # an item of a list of models (an agent): its model says what it must be
    return _Place(tuple(where), parent, field, union)


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model a field holds, itself or as its list's items or a member of its union."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _model_in(arg)) is not None), None)


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


@dataclass(frozen=True)
class _Problem:
    place: _Place
    details: list[ErrorDetails]

    def line(self, data: object, lines: Mapping[DataPath, int]) -> str:
        where = self.place.where
        location = describe_location(where, lambda prefix: _name_at(data, prefix))
        known = next((lines[where[:n]] for n in range(len(where), 0, -1) if where[:n] in lines), None)
        first = self.details[0]
        if first["type"] == "value_error" and not first["loc"]:  # a model-wide rule: its own words
            return str(first["msg"]).removeprefix("Value error, ")
        # The line last, so "key: what is wrong" reads (and greps) as one phrase.
        return f"{location}: {self._what()}" + ("" if known is None else f" (line {known})")

    def _what(self) -> str:
        first = self.details[0]
        kind, shown = first["type"], _shown_input(first.get("input"))
        if kind == "extra_forbidden":
            allowed = _keys(self.place.parent) if self.place.parent else []
            return f"unknown key (allowed: {', '.join(sorted(allowed))})"
        if kind == "missing":
            return "required key is missing"
        if self.place.union and self.place.field is not None:
            message = f"must be {describe_type(self.place.field.annotation)}"
        elif kind in MAPPING_TYPES:
            message = f"must be {_mapping_words(self._model_here())}"
        elif kind in PLAIN_WORDS:
            message = PLAIN_WORDS[kind]
        else:
            message = str(first["msg"]).removeprefix("Value error, ")
            message = message.replace("Input should be", "must be", 1)
        return message + ("" if shown in message else f" (got {shown})")

    def _model_here(self) -> type[BaseModel] | None:
        if self.place.field is not None:
            return _model_in(self.place.field.annotation)
        parent = self.place.parent
        last_key = next((p for p in reversed(self.place.where) if isinstance(p, str)), None)
        field = _field(parent, last_key) if parent is not None and last_key is not None else None
        return _model_in(field.annotation) if field is not None else parent


def _mapping_words(model: type[BaseModel] | None) -> str:
    """``a mapping (name:, strategy_class:, stage:, …)``: what such an entry looks like."""
    if model is None:
        return "a mapping (key: value)"
    keys = _keys(model)
    shown = ", ".join(f"{key}:" for key in keys[:MAPPING_KEYS_SHOWN])
    return f"a mapping ({shown}{', …' if len(keys) > MAPPING_KEYS_SHOWN else ''})"


def _name_at(data: object, prefix: DataPath) -> str | None:
    """The ``name:`` of the list item at ``prefix`` in ``data``, when it has a text one."""
    value = data
    for part in prefix:
        if isinstance(part, int) and isinstance(value, Sequence) and not isinstance(value, str):
            value = value[part] if 0 <= part < len(value) else None
        elif isinstance(part, str) and isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    name = value.get("name") if isinstance(value, Mapping) else None
    return name if isinstance(name, str) and name else None


_USERINFO = re.compile(r"(:/{1,2})[^/@\s'\"]+@")
"""``s3://KEY:SECRET@bucket`` (pathlib's ``s3:/KEY:SECRET@bucket`` too): what a message never quotes."""


def _shown_input(value: object) -> str:
    """The value as the message quotes it: short, and without a URL's ``user:secret@``."""
    text = _USERINFO.sub(r"\1…@", repr(value))
    return text if len(text) <= SHOWN_INPUT_CHARS else text[: SHOWN_INPUT_CHARS - 1] + "…"


def describe_type(annotation: object) -> str:
    """A field's type in words: ``'auto' or a whole number ≥ 1``, ``a number``, ``a duration``."""
    origin = get_origin(annotation)
    if origin is Literal:
        return " or ".join(repr(value) for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        words = " or ".join(describe_type(arg) for arg in members)
        return words + (" or null" if len(members) < len(get_args(annotation)) else "")
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        return _with_bounds(describe_type(base), base, metadata)
    if origin is list:
        return "a list"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _mapping_words(annotation)
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    return names.get(annotation, "a value") if isinstance(annotation, type) else "a value"


def _with_bounds(words: str, base: object, metadata: Sequence[Any]) -> str:
    """``a whole number`` with its ``Field(gt=0)`` as ``≥ 1`` (a whole number > 0 is ≥ 1)."""
    bounds: list[Any] = []
    for item in metadata:
        bounds += getattr(item, "metadata", [item])  # Field(gt=0) arrives as a FieldInfo
    for bound in bounds:
        if isinstance(bound, annotated_types.Gt):
            words += f" ≥ {int(str(bound.gt)) + 1}" if base is int else f" > {bound.gt}"
        elif isinstance(bound, annotated_types.Ge):
            words += f" ≥ {bound.ge}"
        elif isinstance(bound, annotated_types.Lt):
            words += f" < {bound.lt}"
        elif isinstance(bound, annotated_types.Le):
            words += f" ≤ {bound.le}"
    return words
