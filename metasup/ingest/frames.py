"""The frames of :class:`~metasup.model.artifacts.Artifacts`: what each input holds and what is kept.

One function per input (:func:`signals_frame`, :func:`telemetry_frames`, :func:`prices_frame`)
runs the field checks in the SPEC's order, books every row in the :class:`LineAccounts`, drops
repeated signals and price bars, and builds the frame in its documented dtypes (``FRAME_DTYPES``)
without copying columns when every row is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd

from metasup.ingest.bar_order import BarOrder, bar_order
from metasup.ingest.checks import (
    Checks,
    agent_field,
    direction_field,
    horizon_field,
    identifier_field,
    number_field,
    text_field,
    timestamp_field,
    type_index,
    type_is,
)
from metasup.ingest.fastpath import repeated
from metasup.ingest.quality import LineAccounts
from metasup.ingest.rows import Bools, FileIds, InputSpec, Ints, Kind, Rows, concat_alike, no_rows
from metasup.model.limits import MAX_PRICE, MAX_USD, MIN_PRICE
from metasup.model.timestamps import UTC_NS

FRAME_DTYPES: Final[Mapping[str, Mapping[str, str | pd.DatetimeTZDtype]]] = {
    "signals": {
        "ts": UTC_NS,
        "signal_id": "str",
        "agent": "str",
        "strategy_class": "str",
        "symbol": "str",
        "direction": "int8",
        "confidence": "float64",
        "horizon_s": "int64",
        "notional": "float64",
    },
    "costs": {"ts": UTC_NS, "agent": "str", "cost_usd": "float64", "kind": "str"},
    "evals": {"ts": UTC_NS, "agent": "str", "score": "float64"},
    "violations": {"ts": UTC_NS, "agent": "str", "rule": "str", "severity": "str", "detail": "str"},
    "regimes": {"ts": UTC_NS, "regime": "str", "symbol": "str"},
    "prices": {"ts": UTC_NS, "symbol": "str", "price": "float64"},
}
"""Columns and dtypes of every frame of :class:`Artifacts` (``docs/data-model.md``), empty or not."""


TELEMETRY_FRAMES: Final = ("costs", "evals", "violations", "regimes")
"""The frames :func:`telemetry_frames` builds from the telemetry input."""


def empty_frame(name: str) -> pd.DataFrame:
    """Frame ``name`` of :class:`Artifacts` without rows, with its documented columns and dtypes."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in FRAME_DTYPES[name].items()})


def concat_frames(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One frame's pieces (built from consecutive pieces of an input) one after the other."""
    kept = [part for part in parts if len(part)] or list(parts[:1])
    return kept[0] if len(kept) == 1 else pd.concat(kept, ignore_index=True)


_T, _X, _N, _F = Kind.TIMESTAMP, Kind.TEXT, Kind.NUMBER, Kind.FLEXIBLE
SIGNALS: Final = InputSpec(
    {
        "type": _X,
        "ts": _T,
        "signal_id": _F,
        "agent": _X,
        "strategy_class": _X,
        "symbol": _X,
        "direction": _F,
        "confidence": _N,
        "horizon": _F,
        "notional": _N,
    },
    ("ts", "signal_id", "agent", "symbol", "direction", "confidence", "horizon"),
)
TELEMETRY: Final = InputSpec(
    {
        "type": _X,
        "ts": _T,
        "agent": _X,
        "cost_usd": _N,
        "score": _N,
        "rule": _X,
        "severity": _X,
        "detail": _X,
        "regime": _X,
        "symbol": _X,
    },
    ("ts", "type"),
    null_apart=("cost_usd",),
)
PRICES: Final = InputSpec({"ts": _T, "symbol": _X, "price": _N}, ("ts", "symbol", "price"))
_TELEMETRY_TYPES: Final = ("run", "cost", "behavioral_eval", "safety_violation", "regime")


def _frame(name: str, columns: Mapping[str, Any], keep: Bools) -> pd.DataFrame:
    """Frame ``name`` from full-length columns, with only the rows in ``keep``, in documented dtypes."""
    data = {
        column: (values.array if isinstance(values, pd.Series) else values)
        for column, values in columns.items()
    }
    frame = pd.DataFrame(data, columns=list(FRAME_DTYPES[name]), copy=False)
    if not keep.all():
        frame = frame.loc[keep].reset_index(drop=True)
    # Only the columns not yet in their dtype: ``astype`` has a fixed cost a call even when nothing
    # changes, and the telemetry's four frames are built for every 16 MiB piece.
    cast = {column: dtype for column, dtype in FRAME_DTYPES[name].items() if frame[column].dtype != dtype}
    return frame.astype(cast) if cast else frame


_Array = TypeVar("_Array", bound=np.ndarray[Any, Any])


def _kept(values: _Array, keep: Bools) -> _Array:
    """``values[keep]``, without a copy when every row is kept (clean data: the common case)."""
    return values if keep.all() else values[keep]  # type: ignore[return-value]


def _settle(rows: Rows, checks: Checks, accounts: LineAccounts) -> None:
    """Book the rows ``checks`` rejected; the accepted ones are booked by the caller (duplicates)."""
    bad = ~checks.ok
    if bad.any():
        accounts.reject(rows.file[bad], rows.line[bad], checks.reasons[bad])


def signals_frame(pieces: Iterable[Rows], accounts: LineAccounts) -> pd.DataFrame:
    """Signals frame: lines of another ``type`` ignored, bad lines rejected, repeated ids rejected.

    Each piece of rows is checked as it comes (every check but the repeated ids is about one line),
    so only the valid signals' typed columns, never every field of every line, accumulate; the
    repeated ids are then looked for across all of them, in file and line order.
    """
    parts = [_checked_signals(rows, accounts) for rows in pieces]
    frame = concat_frames([part.frame for part in parts])
    files = np.concatenate([part.files for part in parts])
    lines = np.concatenate([part.lines for part in parts])
    duplicates = repeated(frame["signal_id"])
    accounts.duplicates += int(duplicates.sum())
    return _drop_repeated(frame, files, lines, duplicates, "duplicate signal_id", accounts)


@dataclass(frozen=True)
class _Checked:
    """The valid rows of one piece, typed, and where each was read; repeats not looked for yet."""

    frame: pd.DataFrame
    files: FileIds
    lines: Ints


def _checked_signals(rows: Rows, accounts: LineAccounts) -> _Checked:
    """One piece's signals: other types ignored, bad lines rejected (booked), the rest typed."""
    typed = rows.columns.get("type")
    is_signal = np.ones(len(rows), dtype=bool) if typed is None else typed.missing | type_is(rows, "signal")
    accounts.ignore(rows.file[~is_signal])
    rows = rows.take(is_signal)
    checks = Checks(len(rows))
    ts = timestamp_field(rows, checks)
    signal_id = identifier_field(rows, checks)
    agent = agent_field(rows, checks)
    strategy_class = text_field(rows, "strategy_class", checks, required=False)
    symbol = text_field(rows, "symbol", checks)
    direction = direction_field(rows, checks)
    confidence = number_field(rows, "confidence", checks)
    checks.fail(~((confidence >= 0) & (confidence <= 1)), "confidence outside [0, 1]")
    horizon_s = horizon_field(rows, checks)
    notional = number_field(rows, "notional", checks, required=False)
    given = ~rows.column("notional").missing
    checks.fail(given & ~(np.isfinite(notional) & (notional > 0)), "notional must be finite and > 0")
    checks.fail(given & (notional > MAX_USD), f"notional above {_power(MAX_USD)} USD")
    _settle(rows, checks, accounts)
    frame = _frame(
        "signals",
        {
            "ts": ts,
            "signal_id": signal_id,
            "agent": agent,
            "strategy_class": strategy_class,
            "symbol": symbol,
            "direction": direction,
            "confidence": confidence,
            "horizon_s": horizon_s,
            "notional": notional,
        },
        checks.ok,
    )
    return _Checked(frame, _kept(rows.file, checks.ok), _kept(rows.line, checks.ok))


def _drop_repeated(
    frame: pd.DataFrame,
    files: FileIds,
    lines: Ints,
    repeated: Bools,
    reason: str,
    accounts: LineAccounts,
    order: BarOrder | None = None,
) -> pd.DataFrame:
    """Book the valid rows of ``frame``: the ``repeated`` ones rejected and dropped, the rest accepted.

    ``files`` and ``lines`` locate the rows as they were read; ``order`` says where each row of
    ``frame`` came from, when it was reordered (only the repeated rows' places are looked up).
    """
    if not repeated.any():
        accounts.accept(files)
        return frame
    at = np.flatnonzero(repeated) if order is None else order.positions[repeated]
    accounts.reject(files[at], lines[at], reason)
    kept = np.ones(len(files), dtype=bool)
    kept[at] = False
    accounts.accept(files[kept])
    return frame.loc[~repeated].reset_index(drop=True)


def telemetry_frames(
    rows: Rows, accounts: LineAccounts, unknown_cost: float = 0.0
) -> dict[str, pd.DataFrame]:
    """The four telemetry frames; events of an unknown ``type`` are ignored, without one rejected.

    ``unknown_cost``: the ``cost_usd`` of a run of unknown cost (see :func:`_costs`)."""
    untyped = rows.column("type").missing
    if untyped.any():
        accounts.reject(rows.file[untyped], rows.line[untyped], "missing required field 'type'")
    index = type_index(rows, _TELEMETRY_TYPES)
    kinds = {kind: index == number for number, kind in enumerate(_TELEMETRY_TYPES)}
    known = np.logical_or.reduce(list(kinds.values()))
    accounts.ignore(rows.file[~untyped & ~known])
    # Each frame's rows carry only the fields its checks read, not every field of every line.
    return {
        "costs": _costs(
            rows.take(kinds["run"] | kinds["cost"], ("type", "ts", "agent", "cost_usd")),
            accounts,
            unknown_cost,
        ),
        "evals": _evals(rows.take(kinds["behavioral_eval"], ("ts", "agent", "score")), accounts),
        "violations": _violations(
            rows.take(kinds["safety_violation"], ("ts", "agent", "rule", "severity", "detail")), accounts
        ),
        "regimes": _regimes(rows.take(kinds["regime"], ("ts", "regime", "symbol")), accounts),
    }


def _accepted(
    name: str, rows: Rows, checks: Checks, accounts: LineAccounts, columns: Mapping[str, Any]
) -> pd.DataFrame:
    _settle(rows, checks, accounts)
    accounts.accept(_kept(rows.file, checks.ok))
    return _frame(name, columns, checks.ok)


def _costs(rows: Rows, accounts: LineAccounts, unknown_cost: float = 0.0) -> pd.DataFrame:
    """``run`` and ``cost`` events; a ``run`` whose ``cost_usd`` is ``null`` is kept at cost 0.

    Such a run's cost is unknown (SPEC §2.6): it is kept, counted in ``cost_unknown``, and adds
    nothing to cost sums (0.0 in the frame: the metrics' sums would turn a NaN into NaN). A run
    without the field, and a ``cost`` event with ``null``, are rejected as before. ``metasup
    convert`` asks for NaN instead (``unknown_cost``), which it writes as the null it was.
    """
    checks = Checks(len(rows))
    ts = timestamp_field(rows, checks)
    agent = agent_field(rows, checks)
    column = rows.column("cost_usd")
    unknown = np.zeros(len(rows), dtype=bool)
    if column.null is not None and column.null.any():
        unknown = column.null & type_is(rows, "run")
    checks.fail(column.missing & ~unknown, "missing required field 'cost_usd'")
    cost = number_field(rows, "cost_usd", checks, required=False)
    checks.fail(~unknown & ~(np.isfinite(cost) & (cost >= 0)), "cost_usd must be finite and >= 0")
    checks.fail(~unknown & (cost > MAX_USD), f"cost_usd above {_power(MAX_USD)} USD")
    if unknown.any():
        accounts.cost_unknown += int(np.count_nonzero(unknown & checks.ok))
        cost = np.where(unknown, unknown_cost, cost)
    kind = rows.column("type").values.astype("str")
    return _accepted(
        "costs", rows, checks, accounts, {"ts": ts, "agent": agent, "cost_usd": cost, "kind": kind}
    )


def _evals(rows: Rows, accounts: LineAccounts) -> pd.DataFrame:
    checks = Checks(len(rows))
    ts = timestamp_field(rows, checks)
    agent = agent_field(rows, checks)
    score = number_field(rows, "score", checks)
    checks.fail(~((score >= 0) & (score <= 100)), "score outside [0, 100]")
    return _accepted("evals", rows, checks, accounts, {"ts": ts, "agent": agent, "score": score})


def _violations(rows: Rows, accounts: LineAccounts) -> pd.DataFrame:
    checks = Checks(len(rows))
    columns = {
        "ts": timestamp_field(rows, checks),
        "agent": agent_field(rows, checks),
        "rule": text_field(rows, "rule", checks),
        "severity": text_field(rows, "severity", checks, required=False),
        "detail": text_field(rows, "detail", checks, required=False),
    }
    return _accepted("violations", rows, checks, accounts, columns)


def _regimes(rows: Rows, accounts: LineAccounts) -> pd.DataFrame:
    checks = Checks(len(rows))
    columns = {
        "ts": timestamp_field(rows, checks),
        "regime": text_field(rows, "regime", checks),
        "symbol": text_field(rows, "symbol", checks, required=False),
    }
    return _accepted("regimes", rows, checks, accounts, columns)


def prices_frame(pieces: Iterable[Rows], accounts: LineAccounts) -> pd.DataFrame:
    """Price bars sorted by ``symbol, ts``; a repeated ``(symbol, ts)`` keeps the first in file order.

    Pieces are checked in runs of alike dtypes (``rows.concat_alike``): files of one price input
    can hold ``ts`` in different types (a Parquet file in ms beside one in ns, naive beside UTC,
    CSV text beside Parquet timestamps, a JSON Lines piece whose one bad stamp left its column
    text). Joined before the checks, the column became mixed objects and every bar of every file
    was rejected as "wrong type for 'ts'"; now each run is typed alike, and only the bad line goes.
    """
    checked = [_checked_prices(rows, accounts) for rows in concat_alike(pieces)]
    parts = checked or [_checked_prices(no_rows(), accounts)]
    frame = concat_frames([part.frame for part in parts])
    files = np.concatenate([part.files for part in parts])
    lines = np.concatenate([part.lines for part in parts])
    order, repeated = bar_order(frame)
    if order is None:
        return _drop_repeated(frame, files, lines, repeated, "duplicate price bar", accounts)
    frame = order.applied(frame)
    return _drop_repeated(frame, files, lines, repeated, "duplicate price bar", accounts, order)


def _checked_prices(rows: Rows, accounts: LineAccounts) -> _Checked:
    """One run of pieces' bars: bad lines rejected (booked), the rest typed; repeats not looked for yet."""
    checks = Checks(len(rows))
    ts = timestamp_field(rows, checks)
    symbol = text_field(rows, "symbol", checks)
    price = number_field(rows, "price", checks)
    checks.fail(~(np.isfinite(price) & (price > 0)), "price must be finite and > 0")
    outside = f"price outside [{_power(MIN_PRICE)}, {_power(MAX_PRICE)}]"
    checks.fail((price < MIN_PRICE) | (price > MAX_PRICE), outside)
    _settle(rows, checks, accounts)
    frame = _frame("prices", {"ts": ts, "symbol": symbol, "price": price}, checks.ok)
    return _Checked(frame, _kept(rows.file, checks.ok), _kept(rows.line, checks.ok))


def _power(limit: float) -> str:
    """A limit as the reasons write it: ``1e15``, ``1e-12``."""
    return f"{limit:.0e}".replace("e+", "e")
