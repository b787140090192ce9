"""Field validation: vectorized checks over whole columns, and the reason each bad row gets.

Every check is a mask over a column, so clean data costs no Python work per row; only rejected
rows have their reason formatted. Checks run in the order of the SPEC's tables and the first one a
row fails names it (:class:`Checks`). Each ``*_field`` function also returns the field's values in
the dtype its frame holds. Blank text and the codes of distinct values come from ``ingest.fastpath``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasup.ingest.fastpath import blank, factorize
from metasup.ingest.rows import Bools, Column, Floats, Ints, Objects, Rows, utc_series
from metasup.model.config import DURATION_PATTERN, UNIT_SECONDS
from metasup.model.limits import MAX_DURATION_SECONDS, MAX_YEARS
from metasup.model.review import CLASS_SUBJECT_PREFIX
from metasup.model.timestamps import UTC_NS

_DIRECTION_WORDS: Final[Mapping[str, int]] = {
    "1": 1,
    "+1": 1,
    "-1": -1,
    "long": 1,
    "buy": 1,
    "short": -1,
    "sell": -1,
}
_INTEGER_TEXT: Final = re.compile(r"-?[0-9]+")
_NS_MIN: Final = pd.Timestamp.min.tz_localize("UTC")
_NS_MAX: Final = pd.Timestamp.max.tz_localize("UTC")


class Checks:
    """The verdict on each row: the first check a row fails gives its reason, later checks keep it."""

    def __init__(self, rows: int) -> None:
        self.ok: Bools = np.ones(rows, dtype=bool)
        # Made on the first failure: clean data never pays for millions of ``None`` objects.
        self._reasons: Objects | None = None

    @property
    def reasons(self) -> Objects:
        """Each row's reason, ``None`` where the row passed every check so far."""
        if self._reasons is None:
            self._reasons = np.full(len(self.ok), None, dtype=object)
        return self._reasons

    def fail(self, bad: Bools, reason: str | Objects) -> None:
        """Reject the rows where ``bad`` is true (unless an earlier check did) with ``reason``."""
        new = bad & self.ok
        if not new.any():
            return
        self.reasons[new] = reason if isinstance(reason, str) else reason[new]
        self.ok &= ~new


_TEXT, _INTEGER, _FLOAT = 1, 2, 3
_PYTHON_KINDS: Final[Mapping[type, int]] = {
    str: _TEXT,
    int: _INTEGER,
    np.int64: _INTEGER,
    float: _FLOAT,
    np.float64: _FLOAT,
}
"""Exact types (``bool`` is not ``int`` here): one dict lookup per value in object columns."""


@dataclass(frozen=True)
class _Types:
    """Which present values of a column are strings and which are numbers (booleans are neither)."""

    text: Bools
    number: Bools
    integer: Bools


def _types(column: Column) -> _Types:
    """Typed columns answer from their dtype; only object columns (mixed types) are inspected per value."""
    dtype = column.values.dtype
    present = ~column.missing
    nothing = np.zeros(len(present), dtype=bool)
    if not present.any() or pd.api.types.is_bool_dtype(dtype):
        return _Types(nothing, nothing, nothing)
    if pd.api.types.is_numeric_dtype(dtype):
        return _Types(nothing, present, present if pd.api.types.is_integer_dtype(dtype) else nothing)
    if isinstance(dtype, pd.StringDtype):
        return _Types(present, nothing, nothing)
    if not pd.api.types.is_object_dtype(dtype):
        return _Types(nothing, nothing, nothing)
    values = column.values.to_numpy(dtype=object)
    kinds = np.fromiter(
        (_PYTHON_KINDS.get(type(value), 0) for value in values), dtype=np.int8, count=len(values)
    )
    return _Types((kinds == _TEXT) & present, (kinds >= _INTEGER) & present, (kinds == _INTEGER) & present)


def _as_text(column: Column, types: _Types) -> pd.Series:
    """The string values (pandas ``str``), NA where the value is missing or not a string."""
    if isinstance(column.values.dtype, pd.StringDtype):
        return column.values
    if not types.text.any():  # e.g. a field no line has: all NA, without a million conversions
        return pd.Series(pd.array(pa.nulls(len(types.text), type=pa.large_string()), dtype="str"))
    strings = column.values.to_numpy(dtype=object).copy()
    strings[~types.text] = None
    return pd.Series(strings, dtype="str")


def _as_float(column: Column, types: _Types) -> Floats:
    """The numeric values as float64, NaN where missing or not a number."""
    if types.number.any() and pd.api.types.is_numeric_dtype(column.values.dtype):
        return column.values.to_numpy(dtype=np.float64, na_value=np.nan)
    result = np.full(len(types.number), np.nan)
    if types.number.any():
        values = column.values.to_numpy(dtype=object)
        for index in np.flatnonzero(types.number):
            result[index] = _to_float(values[index])
    return result


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _shown(value: object) -> str:
    """A value as quoted in a reason: strings in quotes, whole floats without ``.0``, long ones cut.

    An integer written as a string shows like the integer: a file may have had its integers quoted
    (``ingest.jsonl``) and the reason must not depend on that.
    """
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        text = value
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reasons_with_values(prefix: str, values: pd.Series, bad: Bools) -> Objects:
    """``prefix <value>`` for the rows where ``bad`` is true (built only for those rows)."""
    reasons = np.full(len(bad), None, dtype=object)
    if bad.any():
        objects = values.to_numpy(dtype=object)
        for index in np.flatnonzero(bad):
            reasons[index] = f"{prefix} {_shown(objects[index])}"
    return reasons


def _bools(mask: pd.Series) -> Bools:
    return np.asarray(mask.to_numpy(dtype=bool, na_value=False), dtype=bool)


def _present_and_typed(column: Column, name: str, checks: Checks, allowed: Bools, required: bool) -> None:
    """The two checks every field shares: present when required, of an allowed type when present."""
    if required:
        checks.fail(column.missing, f"missing required field '{name}'")
    checks.fail(~column.missing & ~allowed, f"wrong type for '{name}'")


def text_field(rows: Rows, name: str, checks: Checks, required: bool = True) -> pd.Series:
    """A string field; a required one must not be empty, an empty optional one counts as absent."""
    column = rows.column(name)
    types = _types(column)
    _present_and_typed(column, name, checks, types.text, required)
    text = _as_text(column, types)
    empty = blank(text)
    if required:
        checks.fail(empty, f"empty '{name}'")
    elif empty.any():
        text = text.mask(empty)
    return text


CLASS_NAMED_AGENT = f"agent name starts with '{CLASS_SUBJECT_PREFIX}' (metasup names strategy classes so)"


def agent_field(rows: Rows, checks: Checks) -> pd.Series:
    """``agent``: a name, which cannot be ``class:<name>``, metasup's subject for a strategy class in
    kills and the ledger. An agent named so by its own signals (agents write their artifacts)
    would have been taken for the class: its retire PR could have killed the whole class."""
    agent = text_field(rows, "agent", checks)
    checks.fail(_bools(agent.str.startswith(CLASS_SUBJECT_PREFIX, na=False)), CLASS_NAMED_AGENT)
    return agent


def number_field(rows: Rows, name: str, checks: Checks, required: bool = True) -> Floats:
    """A numeric field as float64 (NaN where absent); range checks are the caller's."""
    column = rows.column(name)
    types = _types(column)
    _present_and_typed(column, name, checks, types.number, required)
    return _as_float(column, types)


def timestamp_field(rows: Rows, checks: Checks) -> pd.Series:
    """``ts`` as datetime64[ns, UTC]: RFC 3339 text with or without offset (naive = UTC)."""
    column = rows.column("ts")
    if pd.api.types.is_datetime64_any_dtype(column.values.dtype):
        _present_and_typed(column, "ts", checks, ~column.missing, required=True)
        stamps = pd.Series(column.values)
        zoned = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
        parsed, out_of_range = _within_ns(zoned)
    else:
        types = _types(column)
        _present_and_typed(column, "ts", checks, types.text, required=True)
        parsed, out_of_range = _parse_timestamps(_as_text(column, types))
    checks.fail(out_of_range, "timestamp out of range")
    checks.fail(_bools(parsed.isna()), "unparsable timestamp")
    return parsed


def _parse_timestamps(text: pd.Series) -> tuple[pd.Series, Bools]:
    """Parse ISO 8601 text: pyarrow's cast when every value has an offset (or none has), else pandas."""
    strings = pa.array(text, from_pandas=True)
    for zone in ("UTC", None):
        try:
            cast = strings.cast(pa.timestamp("ns", tz=zone))
        except pa.ArrowException:
            continue
        return utc_series(cast), np.zeros(len(text), dtype=bool)
    # An ISO 8601 stamp starts with its year. pandas' ISO parser also reads "now" and "today" as
    # the clock at parse time: one such line made a review's default as_of the wall clock (found
    # by an audit). Those are unparsable, as any other word.
    words = _bools(text.notna()) & ~_bools(text.str.match(r"\s*\d", na=False))
    if words.any():
        text = text.mask(words)
    stamps = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    parsed, out_of_range = _within_ns(stamps)
    lost = np.flatnonzero(_bools(parsed.isna()) & _bools(text.notna()))
    if stamps.dtype == UTC_NS and len(lost):
        # pandas parses every value at the finest resolution any one needs: beside a stamp with
        # nanoseconds, the year 3000 would come out unparsable. Alone, the lost ones get a coarser
        # one; those that parse then are out of range, not unparsable.
        alone = pd.to_datetime(text.iloc[lost], utc=True, format="ISO8601", errors="coerce")
        out_of_range[lost[_bools(alone.notna())]] = True
    return parsed, out_of_range


def _within_ns(stamps: pd.Series) -> tuple[pd.Series, Bools]:
    """UTC timestamps at nanosecond resolution, and which ones did not fit (those become NaT)."""
    if stamps.dtype == UTC_NS:  # already nanoseconds (a typed csv column): every value fits
        return stamps.reset_index(drop=True), np.zeros(len(stamps), dtype=bool)
    out_of_range = _bools(stamps.notna() & ((stamps < _NS_MIN) | (stamps > _NS_MAX)))
    if out_of_range.any():
        stamps = stamps.mask(out_of_range)
    return stamps.astype(UTC_NS).reset_index(drop=True), out_of_range


def identifier_field(rows: Rows, checks: Checks) -> pd.Series:
    """``signal_id``: a non-empty string, or an integer kept as its decimal string."""
    column = rows.column("signal_id")
    types = _types(column)
    _present_and_typed(column, "signal_id", checks, types.text | types.integer, required=True)
    ids = _as_text(column, types)
    if types.integer.any():
        if pd.api.types.is_integer_dtype(column.values.dtype):
            numbers = column.values.astype("str")
        else:
            numbers = pd.Series(
                [
                    str(int(value)) if integer else None
                    for value, integer in zip(column.values, types.integer, strict=True)
                ],
                dtype="str",
            )
        ids = ids.where(~types.integer, numbers)
    checks.fail(blank(ids), "empty 'signal_id'")
    return ids


def _words(column: Column, types: _Types) -> tuple[Ints, list[str]]:
    """The string values as codes into their distinct values, so parsing runs once per distinct value."""
    return factorize(_as_text(column, types))


def direction_field(rows: Rows, checks: Checks) -> npt.NDArray[np.int8]:
    """``direction`` as int8 ±1 from ±1 (number or text) or long/buy/short/sell in any case."""
    column = rows.column("direction")
    types = _types(column)
    _present_and_typed(column, "direction", checks, types.text | types.number, required=True)
    direction = np.zeros(len(rows), dtype=np.int8)
    numbers = _as_float(column, types)
    direction[types.number & (numbers == 1)] = 1
    direction[types.number & (numbers == -1)] = -1
    if types.text.any():
        codes, uniques = _words(column, types)
        meaning = np.array(
            [_DIRECTION_WORDS.get(word.strip().lower(), 0) for word in uniques] + [0], dtype=np.int8
        )
        direction[types.text] = meaning[codes][types.text]
    unknown = (types.text | types.number) & (direction == 0)
    checks.fail(unknown, _reasons_with_values("unknown direction", column.values, unknown & checks.ok))
    return direction


def _horizon_seconds(text: str) -> int | None:
    """Seconds of ``"30m"``/``"4h"``/``"1d"``/``"2w"`` or of an integer string; None when unparsable.

    An integer string may be negative (it is then refused as not positive, like the number would be).
    """
    text = text.strip()
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    match = DURATION_PATTERN.match(text)
    if match is None:
        return None
    seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    return int(seconds) if seconds.is_integer() else None


def horizon_field(rows: Rows, checks: Checks) -> Ints:
    """``horizon`` in whole seconds (> 0, at most ``MAX_DURATION_SECONDS``), from a number or a duration."""
    column = rows.column("horizon")
    types = _types(column)
    _present_and_typed(column, "horizon", checks, types.text | types.number, required=True)
    seconds = np.zeros(len(rows), dtype=np.float64)
    numbers = _as_float(column, types)
    whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
    seconds[types.number] = np.where(whole, numbers, np.nan)[types.number]
    if types.text.any():
        codes, uniques = _words(column, types)
        parsed = [_horizon_seconds(word) for word in uniques]
        meaning = np.array([np.nan if value is None else _to_float(value) for value in parsed] + [np.nan])
        seconds[types.text] = meaning[codes][types.text]
    unparsable = (types.text | types.number) & np.isnan(seconds)
    checks.fail(unparsable, _reasons_with_values("unparsable horizon", column.values, unparsable & checks.ok))
    checks.fail(seconds <= 0, "horizon must be > 0")
    checks.fail(seconds > MAX_DURATION_SECONDS, f"horizon longer than {MAX_YEARS} years")
    return np.where(checks.ok, seconds, 0).astype(np.int64)


def type_index(rows: Rows, values: Sequence[str]) -> Ints:
    """Which of ``values`` each row's ``type`` is exactly (its index), -1 for none of them.

    One hash lookup per row for all the values at once.
    """
    if "type" not in rows.columns:  # no line has one (signals often): nothing to compare
        return np.full(len(rows), -1, dtype=np.int64)
    column = rows.column("type")
    text = pa.array(_as_text(column, _types(column)).array)
    found = pc.index_in(text, value_set=pa.array(list(values), pa.large_string())).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def type_is(rows: Rows, value: str) -> Bools:
    """Rows whose ``type`` is exactly ``value``."""
    return np.asarray(type_index(rows, [value]) == 0, dtype=bool)
