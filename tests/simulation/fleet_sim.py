"""A simulated fleet whose skill is known, to measure how often the skill gates are right (SPEC §3.7, §3.8).

Everything is drawn from one seeded ``numpy`` Generator, vectorized over signals and bars, and written
as the files a user has (``market/prices.csv``, ``alpha/events.jsonl``, ``telemetry/events.jsonl``,
``agents.yaml``, ``metasup.yml``); :func:`simulate` loads them back through
:func:`metasup.runner.load_workspace` and runs :func:`run_meta_supervisor` at ``AS_OF`` with the
default configuration (only ``benchmark: SPY`` is set).

The market: hourly close bars, around the clock, for ``symbols`` independent random walks (hourly
log-return σ 0.4 %, about 2 % a day) and a benchmark ``SPY`` (σ 0.2 % an hour) independent of them.

An agent (:class:`AgentSpec`) has a stage, a **skill** and a **track record**:

* skill = the probability that its direction matches the sign of the symbol's realized move from the
  entry bar to the exit bar (0.5 = a coin flip; below 0.5 a negative edge);
* track record = days of history before ``AS_OF``: it emits ``per_day`` signals on every weekday of
  the last ``track_days`` days, at a random minute between 13:00 and 21:00 UTC, on a random symbol,
  with a 1-day horizon and the default notional.

In every other respect each agent is a model citizen: a ``behavioral_eval`` of 85 every weekday, no
safety violation, a confidence calibrated to its true hit rate (its skill ± 0.05), and one ``run``
event per signal with a constant cost (0.25 USD, far below any PnL that matters, so ``cost_drift`` is 0
and the retirement rule ``cost_over_value`` fires only when the PnL is about 0 or negative).
Directions are drawn independently for every agent, so agents are independent of one another (and
of the prod book) apart from sharing the market. Each agent has a strategy class of its own, so no
class kill (§3.4) ties one agent's fate to another's.

A fleet of 264 agents with up to 180 days of record (about 40,000 signals, 135,000 bars) is written,
loaded and reviewed in about a second of CPU time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from metasup.evaluate.supervisor import run_meta_supervisor
from metasup.model.review import Review
from metasup.runner import load_workspace

AS_OF = pd.Timestamp("2026-07-01T00:00:00Z")  # a Wednesday, on a bar
BENCHMARK = "SPY"
SYMBOL_SIGMA = 0.004  # hourly log-return σ of a symbol
BENCHMARK_SIGMA = 0.002
HORIZON_HOURS = 24
COST_PER_SIGNAL = 0.25
BEHAVIORAL_SCORE = 85.0
FIRST_HOUR, LAST_HOUR = 13, 21  # signals are emitted in [13:00, 21:00) UTC
ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class AgentSpec:
    """One simulated agent: who it is and how good it really is."""

    name: str
    stage: Literal["sandbox", "prod"]
    skill: float
    track_days: int


def cohort(
    prefix: str, count: int, stage: Literal["sandbox", "prod"], skill: float, track_days: int
) -> list[AgentSpec]:
    """``count`` identical agents named ``<prefix>-00``, ``<prefix>-01``, …"""
    return [AgentSpec(f"{prefix}-{i:02d}", stage, skill, track_days) for i in range(count)]


def write_fleet(
    folder: Path,
    agents: Sequence[AgentSpec],
    seed: int,
    *,
    symbols: int = 30,
    per_day: int = 2,
    as_of: pd.Timestamp = AS_OF,
) -> Path:
    """Write the workspace of ``agents`` into ``folder``; returns the path of its ``metasup.yml``."""
    if len({a.name for a in agents}) != len(agents):
        raise ValueError("agent names must be unique")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    span_days = max(a.track_days for a in agents) + 2
    start = as_of - pd.Timedelta(days=span_days)
    bars = span_days * 24 + 1  # bar i at start + i hours; the last one is as_of
    # The paths run on past as_of so that every signal has a "realized move" to be right or wrong
    # about; the bars after as_of are never written (open signals stay open).
    steps = rng.normal(0.0, SYMBOL_SIGMA, size=(symbols, bars + HORIZON_HOURS + 2))
    steps[:, 0] = 0.0
    log_prices = np.log(100.0) + np.cumsum(steps, axis=1)
    bench_steps = rng.normal(0.0, BENCHMARK_SIGMA, size=bars)
    bench_steps[0] = 0.0
    _write_prices(folder, start, bars, log_prices[:, :bars], 400.0 * np.exp(np.cumsum(bench_steps)))

    signals = _signals(agents, rng, start, span_days, per_day, symbols, as_of)
    entry = signals.pop("hour").to_numpy() + 1  # ts is a minute or more past the hour
    exit_ = entry + HORIZON_HOURS
    symbol = signals["symbol_index"].to_numpy()
    move = np.sign(log_prices[symbol, exit_] - log_prices[symbol, entry])
    move[move == 0] = 1
    right = rng.random(len(signals)) < signals["skill"].to_numpy()
    signals["direction"] = np.where(right, move, -move).astype(np.int64)
    signals["confidence"] = np.clip(
        signals["skill"].to_numpy() + rng.uniform(-0.05, 0.05, len(signals)), 0.01, 0.99
    ).round(3)
    signals["symbol"] = _symbol_names(symbols)[symbol]
    _write_signals(folder, signals)
    _write_telemetry(folder, signals, agents, as_of)
    _write_registry(folder, agents)
    config = folder / "metasup.yml"
    config.write_text(
        "registry: agents.yaml\n"
        "artifacts: {alpha: alpha/events.jsonl, telemetry: telemetry/events.jsonl,"
        " prices: market/prices.csv}\n"
        f"benchmark: {BENCHMARK}\n",
        encoding="utf-8",
    )
    return config


def simulate(folder: Path, agents: Sequence[AgentSpec], seed: int, **options: int) -> Review:
    """Write the fleet, load it as a user's run would, and review it at ``AS_OF``, default config."""
    workspace = load_workspace(write_fleet(folder, agents, seed, **options))
    quality = workspace.artifacts.data_quality
    if quality.rejected_total or quality.duplicates or quality.benchmark_missing:
        raise AssertionError(f"the simulated fleet is not clean input: {quality.model_dump_json()[:500]}")
    return run_meta_supervisor(
        workspace.artifacts, workspace.registry, workspace.config, AS_OF, run_id=f"sim-{seed}"
    )


def outcomes(review: Review, agents: Iterable[AgentSpec], seed: int) -> pd.DataFrame:
    """One row per simulated agent: its true skill and what the review decided about it.

    ``failed`` is the tuple of gates that failed (sandbox agents); ``old_gates`` whether the gates
    before §3.7 (all but ``skill`` and ``prod_correlation``) would have approved it; ``demoted`` and
    ``killed`` are the §3.8 and §3.4 decisions (prod agents).
    """
    reports = {a.agent: a for a in review.agents}
    rows = []
    for spec in agents:
        report = reports[spec.name]
        failed = tuple(g.name for g in report.promotion.gates if not g.passed)
        skill = report.skill
        rows.append(
            {
                "seed": seed,
                "agent": spec.name,
                "stage": spec.stage,
                "skill": spec.skill,
                "track_days": spec.track_days,
                "result": report.promotion.result,
                "failed": failed,
                "old_gates": report.promotion.result != "NOT_APPLICABLE"
                and set(failed) <= {"skill", "prod_correlation"},
                "pnl_passed": "pnl" not in failed,
                "n": None if skill is None else skill.n,
                "psr": None if skill is None else skill.psr,
                "eligible_in_days": None if skill is None else skill.eligible_in_days,
                "prod_correlation": None if skill is None else skill.prod_correlation,
                "demoted": report.demotion is not None and report.demotion.demoted,
                "demotion_psr": None if report.demotion is None else report.demotion.psr,
                "killed": report.retirement.kill,
                "status": report.status,
                "signals_realized": report.metrics.signals_realized,
            }
        )
    return pd.DataFrame(rows)


def _symbol_names(symbols: int) -> np.ndarray:
    return np.array([f"S{i:02d}" for i in range(symbols)], dtype=object)


def _write_prices(
    folder: Path, start: pd.Timestamp, bars: int, log_prices: np.ndarray, benchmark: np.ndarray
) -> None:
    stamps = np.asarray((start + pd.to_timedelta(np.arange(bars), unit="h")).strftime(ISO))
    names = np.append(_symbol_names(len(log_prices)), BENCHMARK)
    frame = pd.DataFrame(
        {
            "ts": np.tile(stamps, len(names)),
            "symbol": np.repeat(names, bars),
            "price": np.concatenate([np.exp(log_prices).ravel(), benchmark]).round(6),
        }
    )
    (folder / "market").mkdir(exist_ok=True)
    frame.to_csv(folder / "market" / "prices.csv", index=False)


def _signals(
    agents: Sequence[AgentSpec],
    rng: np.random.Generator,
    start: pd.Timestamp,
    span_days: int,
    per_day: int,
    symbols: int,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Who signals when and on what: ``per_day`` signals on each weekday of each agent's track record."""
    first_day = span_days - np.array([a.track_days for a in agents])  # day k starts at start + k days
    weekday_of = (start.day_of_week + np.arange(span_days)) % 7
    days, owner = [], []
    for i, first in enumerate(first_day):
        mine = np.arange(first, span_days)
        mine = np.repeat(mine[weekday_of[mine] < 5], per_day)
        days.append(mine)
        owner.append(np.full(len(mine), i))
    day = np.concatenate(days)
    who = np.concatenate(owner)
    minute = rng.integers(FIRST_HOUR * 60, LAST_HOUR * 60, size=len(day))
    minute += minute % 60 == 0  # never on a bar: the entry bar is the next hour's
    ts = start + pd.to_timedelta(day * 1440 + minute, unit="min")
    assert ts.max() < as_of
    names = np.array([a.name for a in agents], dtype=object)
    return pd.DataFrame(
        {
            "ts": np.asarray(ts.strftime(ISO)),
            "signal_id": names[who] + "-" + pd.Series(np.arange(len(day))).astype(str).to_numpy(dtype=object),
            "agent": names[who],
            "hour": day * 24 + minute // 60,
            "symbol_index": rng.integers(0, symbols, size=len(day)),
            "skill": np.array([a.skill for a in agents])[who],
        }
    )


def _write_signals(folder: Path, signals: pd.DataFrame) -> None:
    lines = signals[["ts", "signal_id", "agent", "symbol", "direction", "confidence"]].assign(horizon="1d")
    (folder / "alpha").mkdir(exist_ok=True)
    lines.to_json(folder / "alpha" / "events.jsonl", orient="records", lines=True)


def _write_telemetry(
    folder: Path, signals: pd.DataFrame, agents: Sequence[AgentSpec], as_of: pd.Timestamp
) -> None:
    runs = pd.DataFrame(
        {"type": "run", "ts": signals["ts"], "agent": signals["agent"], "cost_usd": COST_PER_SIGNAL}
    )
    evals = []
    for spec in agents:
        days = pd.date_range(as_of - pd.Timedelta(days=spec.track_days), as_of, freq="D", inclusive="left")
        days = days[days.day_of_week < 5] + pd.Timedelta(hours=22)
        evals.append(pd.DataFrame({"ts": np.asarray(days.strftime(ISO)), "agent": spec.name}))
    scores = pd.concat(evals, ignore_index=True).assign(type="behavioral_eval", score=BEHAVIORAL_SCORE)
    (folder / "telemetry").mkdir(exist_ok=True)
    text = runs.to_json(orient="records", lines=True) + scores.to_json(orient="records", lines=True)
    (folder / "telemetry" / "events.jsonl").write_text(text, encoding="utf-8")


def _write_registry(folder: Path, agents: Sequence[AgentSpec]) -> None:
    """One active strategy class per agent: a class pools its agents' signals, and a class kill (§3.4)
    would take healthy agents down with unlucky ones, which is not what this fleet measures."""
    lines = ["strategy_classes:"] + [f"  - {{name: c-{a.name}, status: active}}" for a in agents]
    lines.append("agents:")
    lines += [f"  - {{name: {a.name}, strategy_class: c-{a.name}, stage: {a.stage}}}" for a in agents]
    (folder / "agents.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
