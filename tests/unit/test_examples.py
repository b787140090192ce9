"""The bundled demo data (``metasup/examples``) tells the stories its README promises.

Two independent checks:

* ``spec_*`` below is a small, deliberately naive re-implementation of SPEC §2–§3 (plain Python,
  no pandas, no metasup computation code) that reads the committed files and asserts every story
  with a margin, so a later change to the generator cannot quietly break the demo.
* ``test_pipeline_*`` run metasup's own loader, reconciliation and metrics on the same files and
  assert the same stories (and that both implementations agree on the numbers).

Plus: the generator (``tests/demo/generate.py``) is deterministic (a fresh run reproduces the
committed bytes), the files are small, the folder holds data only, the config and registry
validate, and every planted bad line is where the README says.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from statistics import mean, stdev
from typing import Any

import generate as gen  # tests/demo/generate.py, on sys.path through tests/unit/conftest.py
import pytest
import spec_skill as sk

from metasup.examples import CONFIG_PATH, EXAMPLES_DIR
from metasup.model.config import Config, load_config
from metasup.model.registry import Registry, load_registry

AS_OF = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WINDOW = timedelta(days=30)
PERIOD = timedelta(days=7)

# --------------------------------------------------------------------------------------------
# An independent reading of SPEC §2 (inputs) and §3 (evaluation)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DIRECTIONS: dict[Any, int] = {"long": 1, "buy": 1, "short": -1, "sell": -1}


def parse_ts(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError("timestamp is not a string")
    ts = datetime.fromisoformat(text)
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC)


def parse_horizon(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"(\d+)([smhdw])", value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"unparsable horizon {value!r}")
    return int(match.group(1)) * UNITS[match.group(2)]


def parse_direction(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value in (1, -1):
        return value
    if isinstance(value, str) and value in DIRECTIONS:
        return DIRECTIONS[value]
    raise ValueError(f"unknown direction {value!r}")


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


@dataclass
class Sig:
    ts: datetime
    signal_id: str
    agent: str
    klass: str | None
    symbol: str
    d: int
    c: float
    horizon: int
    notional: float
    status: str = ""
    exit_ts: datetime | None = None
    r: float = math.nan
    e: float = math.nan
    pnl: float = math.nan


@dataclass
class Data:
    signals: list[Sig]
    costs: list[tuple[datetime, str, float]]
    evals: list[tuple[datetime, str, float]]
    violations: list[tuple[datetime, str]]
    regimes: list[tuple[datetime, str, str | None]]
    bars: dict[str, list[tuple[datetime, float]]]
    rejected: list[tuple[str, int, str]] = field(default_factory=list)
    ignored: list[tuple[str, int]] = field(default_factory=list)


def read_jsonl(path: Path, name: str, data: Data) -> Iterable[tuple[int, dict[str, Any]]]:
    for number_, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            data.rejected.append((name, number_, "invalid JSON"))
            continue
        yield number_, record


def spec_load(folder: Path) -> Data:
    data = Data([], [], [], [], [], {})
    seen: set[str] = set()
    for line, rec in read_jsonl(folder / gen.ALPHA_FILE, gen.ALPHA_FILE, data):
        if rec.get("type", "signal") != "signal":
            data.ignored.append((gen.ALPHA_FILE, line))
            continue
        try:
            missing = [
                k
                for k in ("ts", "signal_id", "agent", "symbol", "direction", "confidence", "horizon")
                if k not in rec
            ]
            if missing:
                raise ValueError(f"missing {missing}")
            c = number(rec["confidence"])
            if not 0 <= c <= 1:
                raise ValueError("confidence out of range")
            notional = number(rec.get("notional", 10_000))
            if notional <= 0:
                raise ValueError("notional")
            sig = Sig(
                parse_ts(rec["ts"]), rec["signal_id"], rec["agent"], rec.get("strategy_class"), rec["symbol"],
                parse_direction(rec["direction"]), c, parse_horizon(rec["horizon"]), notional,
            )  # fmt: skip
        except ValueError as exc:
            data.rejected.append((gen.ALPHA_FILE, line, str(exc)))
            continue
        if sig.signal_id in seen:
            data.rejected.append((gen.ALPHA_FILE, line, "duplicate signal_id"))
            continue
        seen.add(sig.signal_id)
        data.signals.append(sig)

    required = {
        "run": ("ts", "agent", "cost_usd"),
        "cost": ("ts", "agent", "cost_usd"),
        "behavioral_eval": ("ts", "agent", "score"),
        "safety_violation": ("ts", "agent", "rule"),
        "regime": ("ts", "regime"),
    }
    for line, rec in read_jsonl(folder / gen.TELEMETRY_FILE, gen.TELEMETRY_FILE, data):
        kind = rec.get("type")
        if kind not in required:
            data.ignored.append((gen.TELEMETRY_FILE, line))
            continue
        try:
            if any(k not in rec for k in required[kind]):
                raise ValueError("missing field")
            ts = parse_ts(rec["ts"])
            if kind in ("run", "cost"):
                data.costs.append((ts, rec["agent"], number(rec["cost_usd"])))
            elif kind == "behavioral_eval":
                score = number(rec["score"])
                if not 0 <= score <= 100:
                    raise ValueError("score out of range")
                data.evals.append((ts, rec["agent"], score))
            elif kind == "safety_violation":
                data.violations.append((ts, rec["agent"]))
            else:
                data.regimes.append((ts, rec["regime"], rec.get("symbol")))
        except ValueError as exc:
            data.rejected.append((gen.TELEMETRY_FILE, line, str(exc)))

    with (folder / gen.PRICES_FILE).open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            price = float(row["price"])
            if not math.isfinite(price) or price <= 0:
                data.rejected.append((gen.PRICES_FILE, line, "bad price"))
                continue
            data.bars.setdefault(row["symbol"], []).append((parse_ts(row["ts"]), price))
    for bars in data.bars.values():
        bars.sort()
    return data


def first_bar(
    bars: list[tuple[datetime, float]], after: datetime, strictly: bool, limit: datetime
) -> tuple[datetime, float] | None:
    for ts, price in bars:  # naive on purpose: a linear scan is obviously right
        if (ts > after if strictly else ts >= after) and ts <= min(limit, AS_OF):
            return ts, price
        if ts > limit:
            break
    return None


def spec_reconcile(data: Data) -> list[Sig]:
    out = []
    spy = data.bars[gen.BENCHMARK]
    for sig in data.signals:
        if sig.ts > AS_OF:
            continue
        bars = data.bars.get(sig.symbol, [])
        entry = first_bar(bars, sig.ts, True, sig.ts + DAY)
        if entry is None:
            sig.status = "open" if sig.ts + DAY > AS_OF else "no_price"
        else:
            target = entry[0] + timedelta(seconds=sig.horizon)
            exit_ = first_bar(bars, target, False, target + DAY)
            if exit_ is None:
                sig.status = "open" if target + DAY > AS_OF else "no_price"
            else:
                sig.status, sig.exit_ts = "realized", exit_[0]
                sig.r = sig.d * (exit_[1] / entry[1] - 1)
                b_in = first_bar(spy, entry[0], False, entry[0] + DAY)
                b_out = first_bar(spy, exit_[0], False, exit_[0] + DAY)
                b = b_out[1] / b_in[1] - 1 if b_in and b_out else 0.0
                sig.e = sig.r - sig.d * b
                sig.pnl = sig.notional * sig.r
        out.append(sig)
    return out


def in_w(ts: datetime) -> bool:
    return AS_OF - WINDOW < ts <= AS_OF


def in_period(ts: datetime, k: int) -> bool:
    return AS_OF - (k + 1) * PERIOD < ts <= AS_OF - k * PERIOD


def regime_at(data: Data, symbol: str, ts: datetime) -> str | None:
    """SPEC §3.2: the latest event for the symbol at or before ts, else the latest global one."""
    own = [(t, r) for t, r, s in data.regimes if s == symbol and t <= ts]
    if own:
        return max(own, key=lambda x: x[0])[1]
    market = [(t, r) for t, r, s in data.regimes if s is None and t <= ts]
    return max(market, key=lambda x: x[0])[1] if market else None


def alpha_of(signals: list[Sig]) -> float | None:
    total = sum(s.notional for s in signals)
    return sum(s.notional * s.e for s in signals) / total if signals else None


def spec_metrics(
    data: Data, recon: list[Sig], agents: set[str], declared: dict[str, list[str]]
) -> dict[str, Any]:
    """SPEC §3.2 for one agent, or for a class (``agents`` = its members), under SPEC names."""
    sigs = [s for s in recon if s.agent in agents]
    realized = [s for s in sigs if s.status == "realized" and s.exit_ts is not None and in_w(s.exit_ts)]
    nonzero = [s for s in realized if s.r != 0]
    emitted = [s for s in sigs if in_w(s.ts)]
    no_price = sum(s.status == "no_price" for s in emitted)
    done = sum(s.status == "realized" for s in emitted)
    hit = mean(s.r > 0 for s in nonzero) if nonzero else None
    decay = None
    if len(nonzero) >= 10 and hit is not None:
        decay = min(max(mean(s.c for s in nonzero) - hit, 0.0), 1.0)
    costs = [(t, c) for t, a, c in data.costs if a in agents]
    p0_cost = sum(c for t, c in costs if in_period(t, 0))
    ref_cost = sum(c for t, c in costs if in_w(t) and not in_period(t, 0))
    p0_n = sum(in_period(s.ts, 0) for s in sigs)
    ref_n = sum(in_w(s.ts) and not in_period(s.ts, 0) for s in sigs)
    shares: list[float | None] = []
    for k in range(4):
        flags = []
        for s in (s for s in sigs if in_period(s.ts, k)):
            regime = regime_at(data, s.symbol, s.ts)
            flags.append(bool(declared[s.agent]) and regime is not None and regime not in declared[s.agent])
        shares.append(mean(flags) if flags else None)
    evals = [v for t, a, v in data.evals if a in agents and in_w(t)]
    return {
        "realized_pnl_30d": sum(s.pnl for s in realized),
        "alpha_30d": alpha_of(realized),
        "hit_rate": hit,
        "mean_confidence": mean(s.c for s in realized) if realized else None,
        "confidence_decay": decay,
        "volatility": stdev(s.r for s in realized) if len(realized) >= 2 else None,
        "behavioral_score": mean(evals) if evals else None,
        "safety_violations_30d": sum(a in agents and in_w(t) for t, a in data.violations),
        "cost_30d": sum(c for t, c in costs if in_w(t)),
        "cost_drift": (p0_cost / p0_n) / (ref_cost / ref_n) - 1 if p0_n and ref_n and ref_cost else None,
        "alpha_period": [
            alpha_of([s for s in realized if s.exit_ts is not None and in_period(s.exit_ts, k)])
            for k in range(4)
        ],
        "regime_mismatch_periods": sum(x is not None and x >= 0.5 for x in shares),
        "signals_realized": len(realized),
        "signals_no_price": no_price,
        "coverage": done / (done + no_price) if done + no_price else None,
        "mismatch_shares": shares,  # not a SPEC metric: the share behind each period's verdict
    }


@dataclass
class Fleet:
    data: Data
    recon: list[Sig]
    agents: dict[str, dict[str, Any]]
    classes: dict[str, dict[str, Any]]
    registry: Registry
    config: Config


@cache
def fleet() -> Fleet:
    config = load_config(CONFIG_PATH)
    registry = load_registry(config.registry)
    data = spec_load(EXAMPLES_DIR)
    recon = spec_reconcile(data)
    declared = {a.name: registry.declared_regimes(a.name) for a in registry.agents}
    for name in {s.agent for s in recon}:
        declared.setdefault(name, [])  # unregistered: fit for any regime
    class_of = {a.name: a.strategy_class or "unclassified" for a in registry.agents}
    agents = {name: spec_metrics(data, recon, {name}, declared) for name in sorted(declared)}
    classes = {}
    for klass in sorted(set(class_of.values())):
        members = {a for a, k in class_of.items() if k == klass}
        # pooling by agent is pooling by signal class here: no signal names a class not its agent's
        assert all(s.klass in (None, klass) for s in recon if s.agent in members)
        classes[klass] = spec_metrics(data, recon, members, declared)
    return Fleet(data, recon, agents, classes, registry, config)


# --------------------------------------------------------------------------------------------
# SPEC §3.3–§3.5 on a table of metrics (ours or metasup's), and the stories README.md promises


def rules_of(m: dict[str, Any]) -> dict[str, bool]:
    return {
        "alpha_negative": all(a is not None and a < 0 for a in m["alpha_period"][:3]),
        "confidence_decay": m["confidence_decay"] is not None and m["confidence_decay"] > 0.3,
        # SPEC §3.4, except when nothing was realized because no price bar was found (decisions.md)
        "cost_over_value": not (m["signals_realized"] == 0 and m["signals_no_price"] > 0)
        and m["cost_30d"] > max(m["realized_pnl_30d"], 0)
        and m["cost_30d"] > 0,
        "regime_mismatch": m["regime_mismatch_periods"] >= 2,
    }


def fired(m: dict[str, Any]) -> set[str]:
    return {rule for rule, on in rules_of(m).items() if on}


def gates_of(
    name: str, agents: dict[str, dict[str, Any]], classes: dict[str, dict[str, Any]], registry: Registry
) -> dict[str, bool]:
    m = agents[name]
    agent = registry.agent(name)
    assert agent is not None
    assert agent.strategy_class is not None
    return {
        "behavioral": m["behavioral_score"] is not None and m["behavioral_score"] >= 80,
        "pnl": m["realized_pnl_30d"] > 0,
        "confidence_decay": m["confidence_decay"] is not None and m["confidence_decay"] < 0.2,
        "cost_drift": m["cost_drift"] is not None and m["cost_drift"] <= 0.25,
        "kill_list": agent.stage != "retired"
        and len(fired(m)) < 2
        and len(fired(classes[agent.strategy_class])) < 2,
        "safety": m["safety_violations_30d"] == 0,
        "evidence": m["signals_realized"] >= 20 and m["coverage"] is not None and m["coverage"] >= 0.65,
    }


def killed(name: str, agents: dict[str, dict[str, Any]], classes: dict[str, dict[str, Any]]) -> bool:
    """Killed in this run (SPEC §3.4), on its own rules or its class's (every class is active)."""
    klass = fleet().registry.agent(name)
    assert klass is not None
    return len(fired(agents[name])) >= 2 or len(fired(classes[klass.strategy_class or ""])) >= 2


def allocation_of(
    agents: dict[str, dict[str, Any]],
    classes: dict[str, dict[str, Any]],
    registry: Registry,
    demoted: Collection[str],
) -> tuple[dict[str, float], dict[str, float]]:
    """Scores and softmax weights (temperature 1, no caps binding) of the eligible agents."""
    scores = {}
    for agent in registry.agents:
        m = agents[agent.name]
        if (
            agent.stage == "prod"
            and not killed(agent.name, agents, classes)
            and agent.name not in demoted  # SPEC §3.8: out of the allocation at once
            and m["signals_realized"] >= 5
            and m["volatility"] is not None
        ):
            scores[agent.name] = m["alpha_30d"] * m["mean_confidence"] / max(m["volatility"], 0.005)
    top = max(scores.values())
    exp = {a: math.exp(s - top) for a, s in scores.items()}
    return scores, {a: v / sum(exp.values()) for a, v in exp.items()}


def assert_stories(
    agents: dict[str, dict[str, Any]], classes: dict[str, dict[str, Any]], registry: Registry
) -> None:
    """Every story of README.md, each with a margin so a formula detail cannot flip it."""
    stage = {a.name: a.stage for a in registry.agents}

    # 1. momo-beta (sandbox) passes all seven gates, none of them narrowly.
    m = agents["momo-beta"]
    assert stage["momo-beta"] == "sandbox"
    assert all(gates_of("momo-beta", agents, classes, registry).values())
    assert m["behavioral_score"] >= 84
    assert m["realized_pnl_30d"] >= 1500
    assert m["confidence_decay"] <= 0.1
    assert abs(m["cost_drift"]) <= 0.15
    assert m["signals_realized"] >= 35
    assert m["coverage"] >= 0.8
    assert m["safety_violations_30d"] == 0
    assert not fired(m)
    assert not fired(classes["momentum"])

    # 2. meanrev-fast (sandbox) fails the safety gate and nothing else.
    m = agents["meanrev-fast"]
    assert stage["meanrev-fast"] == "sandbox"
    gates = gates_of("meanrev-fast", agents, classes, registry)
    assert [g for g, ok in gates.items() if not ok] == ["safety"]
    assert m["safety_violations_30d"] == 1
    assert m["behavioral_score"] >= 84
    assert m["realized_pnl_30d"] >= 1000
    assert m["confidence_decay"] <= 0.1
    assert abs(m["cost_drift"]) <= 0.15
    assert m["signals_realized"] >= 35
    assert m["coverage"] >= 0.8
    assert not fired(m)
    assert not fired(classes["mean_reversion"])
    assert classes["mean_reversion"]["realized_pnl_30d"] - classes["mean_reversion"]["cost_30d"] >= 1000

    # 3. meanrev-legacy (prod) is retired on two rules: alpha negative P0..P2 and cost over value.
    m = agents["meanrev-legacy"]
    assert stage["meanrev-legacy"] == "prod"
    assert {"alpha_negative", "cost_over_value"} <= fired(m)
    assert all(a <= -0.003 for a in m["alpha_period"][:3])
    assert m["realized_pnl_30d"] <= -1000  # so max(PnL, 0) = 0 ...
    assert m["cost_30d"] >= 200  # ... and any cost is over value

    # 4. llm_macro is killed on pooled metrics; macro-llm alone would survive (one rule only).
    c = classes["llm_macro"]
    assert {"confidence_decay", "cost_over_value", "regime_mismatch"} <= fired(c)
    assert c["confidence_decay"] >= 0.35
    assert c["cost_30d"] - max(c["realized_pnl_30d"], 0) >= 500
    assert c["regime_mismatch_periods"] == 2
    if "mismatch_shares" in c:  # P1 (news-sent) and P2 (macro-llm) wholly mismatched, P0 and P3 not
        shares = c["mismatch_shares"]
        assert shares[1] >= 0.9
        assert shares[2] >= 0.9
        assert shares[0] <= 0.1
        assert shares[3] <= 0.1
    m = agents["macro-llm"]
    assert stage["macro-llm"] == "prod"
    assert fired(m) == {"cost_over_value"}
    assert m["cost_30d"] - max(m["realized_pnl_30d"], 0) >= 500
    assert m["confidence_decay"] <= 0.2
    assert m["regime_mismatch_periods"] == 1
    assert m["alpha_period"][0] >= 0.003  # so alpha_negative cannot fire whatever P1 (null) counts as
    m = agents["news-sent"]
    assert {"confidence_decay", "cost_over_value"} <= fired(m)
    assert m["confidence_decay"] >= 0.5

    # 5. The allocation: three live prod agents of clearly different quality (meanrev-swing, the
    # fourth, is demoted: story 9).
    scores, weights = allocation_of(agents, classes, registry, spec_skill().demoted)
    assert set(scores) == {"momo-alpha", "meanrev-core", "momo-slow"}
    assert scores["momo-alpha"] - scores["meanrev-core"] >= 0.1
    assert scores["meanrev-core"] - scores["momo-slow"] >= 0.1
    assert scores["momo-slow"] > 0
    assert weights["momo-alpha"] > weights["meanrev-core"] > weights["momo-slow"] >= 0.15
    assert weights["momo-alpha"] <= 0.6
    assert 1 / sum(w * w for w in weights.values()) >= 2.5
    for name in ("momo-alpha", "meanrev-core", "momo-slow"):
        assert not fired(agents[name])


# --------------------------------------------------------------------------------------------
# SPEC §3.7–§3.8 on the same reconciliation (spec_skill.py, with scipy.stats), and stories 6–9

TRACK_RECORD = timedelta(days=180)  # promotion.track_record (longer than the window)
DEMOTION_WINDOW = timedelta(days=60)  # demotion.window
MAX_DEMOTION_PSR = 0.10  # demotion.max_psr


@dataclass
class SkillView:
    """The naive §3.7–§3.8 numbers of every agent with a realized signal in its track record."""

    facts: dict[str, sk.Sharpe | None]  # over the track record
    rho: dict[str, float | None]  # with the prod book
    demotion: dict[str, sk.Sharpe | None]  # over the demotion window: prod agents not killed
    demoted: set[str]


@cache
def spec_skill() -> SkillView:
    f = fleet()
    track = sk.series(f.recon, AS_OF, TRACK_RECORD)
    prod = [
        a.name for a in f.registry.agents if a.stage == "prod" and not killed(a.name, f.agents, f.classes)
    ]
    prod_book = sk.book(track, prod)
    recent = sk.series(f.recon, AS_OF, DEMOTION_WINDOW)
    demotion = {name: sk.sharpe(recent.get(name, {}).values()) for name in prod}
    return SkillView(
        facts={name: sk.sharpe(x.values()) for name, x in track.items()},
        rho={name: sk.prod_correlation(x, prod_book) for name, x in track.items()},
        demotion=demotion,
        demoted={
            name
            for name, d in demotion.items()
            if d is not None and d.n >= sk.MIN_SKILL_DAYS and d.psr() < MAX_DEMOTION_PSR
        },
    )


def facts_of(skill: SkillView, name: str) -> sk.Sharpe:
    found = skill.facts[name]
    assert found is not None, name
    return found


def assert_skill_stories(
    agents: dict[str, dict[str, Any]],
    classes: dict[str, dict[str, Any]],
    registry: Registry,
    skill: SkillView,
) -> None:
    """Stories 6–9 of README.md (and momo-beta's skill, story 1), each with a margin."""
    stage = {a.name: a.stage for a in registry.agents}

    # 1. momo-beta's two months are long and steady enough: the skill gate passes as well.
    beta = facts_of(skill, "momo-beta")
    assert beta.n >= 40
    assert beta.psr() >= 0.96
    assert (skill.rho["momo-beta"] or 1.0) <= 0.5

    # 6. meanrev-lucky: a model citizen whose coin had a lucky month; every old gate passes.
    m = agents["meanrev-lucky"]
    assert stage["meanrev-lucky"] == "sandbox"
    assert all(gates_of("meanrev-lucky", agents, classes, registry).values())
    assert m["behavioral_score"] >= 85
    assert m["realized_pnl_30d"] >= 200
    assert m["confidence_decay"] <= 0.05  # calibrated (if anything under-confident)
    assert abs(m["cost_drift"]) <= 0.1  # constant cost per signal
    assert not fired(m)
    lucky = facts_of(skill, "meanrev-lucky")
    assert lucky.n >= 60  # three months of record ...
    assert lucky.psr() <= 0.9  # ... that do not show an edge

    # 7. momo-rookie: a real edge, live for three weeks only.
    m = agents["momo-rookie"]
    assert stage["momo-rookie"] == "sandbox"
    assert all(gates_of("momo-rookie", agents, classes, registry).values())
    first = min(s.ts for s in fleet().recon if s.agent == "momo-rookie")
    assert AS_OF - 4 * PERIOD <= first <= AS_OF - 2 * PERIOD
    assert m["realized_pnl_30d"] >= 300
    rookie = facts_of(skill, "momo-rookie")
    assert sk.MIN_SKILL_DAYS <= rookie.n <= 20
    assert rookie.sharpe >= 0.1
    assert rookie.psr() <= 0.94
    assert (rookie.eligible_in_days() or 0) >= 1

    # 8. momo-twin: copies the prod momentum agents; skilled, but the prod book already holds it.
    assert stage["momo-twin"] == "sandbox"
    assert all(gates_of("momo-twin", agents, classes, registry).values())
    assert facts_of(skill, "momo-twin").psr() >= 0.99
    rho = skill.rho["momo-twin"]
    assert rho is not None
    assert rho >= 0.72

    # 9. meanrev-swing (prod): its edge turned negative; demoted, not killed.
    m = agents["meanrev-swing"]
    assert stage["meanrev-swing"] == "prod"
    assert fired(m) == {"cost_over_value"}  # one rule of the two a kill needs
    assert (m["alpha_period"][1] or 0) >= 0.002  # its good week: alpha_negative cannot fire
    swing = skill.demotion["meanrev-swing"]
    assert swing is not None
    assert swing.n >= 30
    assert swing.psr() <= 0.05
    assert skill.demoted == {"meanrev-swing"}


# --------------------------------------------------------------------------------------------
# Tests on the committed files


def test_config_and_registry_validate_with_default_thresholds() -> None:
    config = load_config(CONFIG_PATH)
    defaults = Config.model_validate({"artifacts": {"alpha": "a", "prices": "p"}})
    sections = (
        "reconcile",
        "windows",
        "promotion",
        "demotion",
        "retirement",
        "portfolio",
        "promotion_prs",
        "email",
    )
    for section in sections:
        assert getattr(config, section) == getattr(defaults, section), section
    assert config.benchmark == "SPY"
    assert config.kill_list == []
    assert config.artifacts.telemetry == EXAMPLES_DIR / gen.TELEMETRY_FILE
    registry = load_registry(config.registry)
    assert [c.name for c in registry.strategy_classes] == ["momentum", "mean_reversion", "llm_macro"]
    assert {a.name: a.stage for a in registry.agents} == {
        a.name: a.stage for a in gen.AGENTS if a.klass is not None
    }
    assert registry.agent("scalper-x") is None  # seen in the signals only: an unregistered agent
    assert (EXAMPLES_DIR / gen.REGISTRY_FILE).read_text(encoding="utf-8").count("#") >= 10


def test_prices_are_hourly_weekday_bars_ending_at_as_of() -> None:
    bars = fleet().data.bars
    assert set(bars) == {*gen.STOCKS, "SPY"}
    assert len(gen.STOCKS) == 8
    stamps = {t for series in bars.values() for t, _ in series}
    assert max(stamps) == AS_OF == gen.AS_OF
    assert all(t.weekday() < 5 and t.hour in gen.BAR_HOURS and t.minute == 0 for t in stamps)
    assert not any(t.date() == gen.date(2026, 9, 7) for t in stamps)  # Labor Day
    assert all(len(series) == len(stamps) for series in bars.values())


def test_planted_bad_lines_are_where_the_readme_says() -> None:
    _, planted = gen.build()
    data = fleet().data
    assert sorted((p.file, p.line) for p in planted if p.outcome == "rejected") == sorted(
        (f, line) for f, line, _ in data.rejected
    )
    assert sorted((p.file, p.line) for p in planted if p.outcome == "ignored") == sorted(data.ignored)
    assert {p.file for p in planted if p.outcome == "rejected"} == {
        gen.ALPHA_FILE,
        gen.TELEMETRY_FILE,
        gen.PRICES_FILE,
    }
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    for p in planted:
        assert f"| `{p.file}` | {p.line} |" in readme, p


def test_stories_hold_in_an_independent_computation() -> None:
    f = fleet()
    assert_stories(f.agents, f.classes, f.registry)
    assert_skill_stories(f.agents, f.classes, f.registry, spec_skill())


def test_generator_is_deterministic(tmp_path: Path) -> None:
    gen.main(["--out", str(tmp_path)])
    for name in gen.OUTPUT_FILES:
        assert (tmp_path / name).read_bytes() == (EXAMPLES_DIR / name).read_bytes(), name


def test_examples_hold_data_only() -> None:
    """SPEC §1: the shipped folder holds data; the generator lives in tests/demo."""
    shipped = sorted(p.name for p in EXAMPLES_DIR.rglob("*.py"))
    assert shipped == ["__init__.py"]
    assert Path(gen.__file__).resolve().parent.name == "demo"
    assert gen.DEFAULT_OUT == EXAMPLES_DIR


def test_examples_are_small() -> None:
    total = sum(
        p.stat().st_size for p in EXAMPLES_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert total < 5 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# metasup's own pipeline on the same files


def pipeline_artifacts(config: Config) -> Any:
    from metasup.ingest import load_artifacts

    return load_artifacts(config.artifacts)


@cache
def pipeline() -> tuple[Any, Any, Any]:
    import pandas as pd

    from metasup.evaluate import metrics as metrics_module
    from metasup.evaluate import reconcile as reconcile_module

    f = fleet()
    artifacts = pipeline_artifacts(f.config)
    as_of = pd.Timestamp(AS_OF)
    recon = reconcile_module.reconcile(
        artifacts.signals, artifacts.prices, f.config.reconcile, as_of, f.config.benchmark
    )
    table = metrics_module.compute_metrics(recon.signals, artifacts, f.registry, f.config, as_of)
    return artifacts, recon, table


def test_pipeline_reconciles_like_the_spec() -> None:
    _, recon, _ = pipeline()
    ours = {s.signal_id: s for s in spec_reconcile(spec_load(EXAMPLES_DIR))}
    frame = recon.signals
    assert len(frame) == len(ours)
    for row in frame.itertuples():
        s = ours[row.signal_id]
        assert row.status == s.status, row.signal_id
        if s.status == "realized":
            assert row.exit_ts.to_pydatetime() == s.exit_ts, row.signal_id
            assert row.ret == pytest.approx(s.r, abs=1e-12)
            assert row.excess == pytest.approx(s.e, abs=1e-12)


def test_pipeline_metrics_agree_with_the_independent_computation() -> None:
    f = fleet()
    _, _, table = pipeline()
    pairs = [("agent", n, m, table.agents.get(n)) for n, m in f.agents.items()]
    pairs += [("class", n, m, table.classes.get(n)) for n, m in f.classes.items()]
    for kind, name, ours, theirs in pairs:
        assert theirs is not None, f"{kind} {name} missing from metasup.evaluate.metrics"
        for metric, value in ours.items():
            if metric == "mismatch_shares":
                continue
            got = getattr(theirs, metric)
            if metric == "alpha_period":
                for k, (a, b) in enumerate(zip(got, value, strict=True)):
                    assert (a is None) == (b is None), (name, k)
                    assert a is None or a == pytest.approx(b, abs=1e-12), (name, k)
                continue
            assert (got is None) == (value is None), f"{kind} {name} {metric}: {got} vs {value}"
            if value is not None:
                assert got == pytest.approx(value, rel=1e-9, abs=1e-9), f"{kind} {name} {metric}"


def test_stories_hold_in_metasup_metrics() -> None:
    f = fleet()
    _, _, table = pipeline()
    agents = {n: m.model_dump() for n, m in table.agents.items()}
    classes = {n: m.model_dump() for n, m in table.classes.items()}
    assert_stories(agents, classes, f.registry)
    assert_skill_stories(agents, classes, f.registry, spec_skill())


def test_stories_hold_in_the_supervisors_decisions() -> None:
    import pandas as pd

    from metasup.evaluate import supervisor

    f = fleet()
    artifacts, _, _ = pipeline()
    review = supervisor.run_meta_supervisor(artifacts, f.registry, f.config, pd.Timestamp(AS_OF))
    agents = {a.agent: a for a in review.agents}
    classes = {c.name: c for c in review.strategy_classes}

    def failed(name: str) -> list[str]:
        return [g.name for g in agents[name].promotion.gates if not g.passed]

    assert agents["momo-beta"].promotion.result == "APPROVED"
    assert agents["meanrev-fast"].promotion.result == "BLOCKED"
    assert failed("meanrev-fast") == ["safety"]
    assert {a for a, r in agents.items() if r.promotion.result == "APPROVED"} == {"momo-beta"}
    legacy = agents["meanrev-legacy"].retirement
    assert legacy.kill
    assert {"alpha_negative", "cost_over_value"} <= {r.name for r in legacy.rules if r.triggered}
    assert classes["llm_macro"].retirement.kill
    assert not agents["macro-llm"].retirement.kill
    assert "class" in agents["macro-llm"].status
    assert agents["news-sent"].retirement.kill
    assert {n for n, c in classes.items() if c.retirement.kill} == {"llm_macro"}
    assert {n for n, a in agents.items() if a.retirement.kill} == {"meanrev-legacy", "news-sent"}
    weights = {n: w for n, w in review.allocation.weights.items() if w > 0}
    assert set(weights) == {"momo-alpha", "meanrev-core", "momo-slow"}
    assert weights["momo-alpha"] > weights["meanrev-core"] > weights["momo-slow"] >= 0.15
    assert review.allocation.cash == pytest.approx(0.0, abs=1e-9)


@cache
def review() -> Any:
    """metasup's whole evaluation of the demo, as ``metasup demo`` runs it (as_of: the last bar)."""
    from metasup import runner

    found = runner.evaluate(runner.load_workspace(CONFIG_PATH), None, None)
    assert datetime.fromisoformat(found.as_of) == AS_OF
    return found


def test_skill_stories_hold_in_metasups_review() -> None:
    agents = {a.agent: a for a in review().agents}

    def failed(name: str) -> list[str]:
        return [g.name for g in agents[name].promotion.gates if not g.passed]

    def gate(name: str, gate_name: str) -> Any:
        return next(g for g in agents[name].promotion.gates if g.name == gate_name)

    assert agents["momo-beta"].promotion.result == "APPROVED"
    assert gate("momo-beta", "skill").passed
    assert gate("momo-beta", "skill").value >= 0.95

    assert agents["meanrev-lucky"].promotion.result == "BLOCKED"
    assert failed("meanrev-lucky") == ["skill"]
    assert agents["meanrev-lucky"].skill.psr < 0.95

    assert agents["momo-rookie"].promotion.result == "BLOCKED"
    assert failed("momo-rookie") == ["skill"]
    days = agents["momo-rookie"].skill.eligible_in_days
    assert days > 0
    assert f"eligible in ~{days} trading days" in gate("momo-rookie", "skill").evidence

    assert agents["momo-twin"].promotion.result == "BLOCKED"
    assert failed("momo-twin") == ["prod_correlation"]
    assert agents["momo-twin"].skill.prod_correlation > 0.7

    swing = agents["meanrev-swing"]
    assert swing.stage == "prod"
    assert swing.status == "demoted"
    assert swing.demotion.demoted
    assert swing.demotion.psr < 0.10
    assert not swing.retirement.kill
    assert review().allocation.weights.get("meanrev-swing", 0.0) == 0.0
    assert review().allocation.capital_usd.get("meanrev-swing", 0.0) == 0.0
    assert any(
        f.severity == "HIGH" and f.agent == "meanrev-swing" and f.title.startswith("Demotion")
        for f in review().findings
    )
    assert {a.agent for a in review().agents if a.status == "demoted"} == {"meanrev-swing"}


def test_metasup_skill_numbers_agree_with_the_independent_computation() -> None:
    ours = spec_skill()
    for agent in review().agents:
        theirs = agent.skill
        facts = ours.facts.get(agent.agent)
        if facts is None:
            assert theirs is None or theirs.psr is None, agent.agent
            continue
        assert theirs is not None, agent.agent
        assert theirs.n == facts.n, agent.agent
        assert theirs.sharpe == pytest.approx(facts.sharpe, rel=1e-9, abs=1e-9), agent.agent
        assert theirs.psr == pytest.approx(facts.psr(), rel=1e-9, abs=1e-9), agent.agent
        assert theirs.eligible_in_days == facts.eligible_in_days(), agent.agent
        rho = ours.rho[agent.agent]
        assert (theirs.prod_correlation is None) == (rho is None), agent.agent
        if rho is not None:
            assert theirs.prod_correlation == pytest.approx(rho, rel=1e-9, abs=1e-9), agent.agent
    demotions = {a.agent: a.demotion for a in review().agents if a.demotion is not None}
    assert set(demotions) == set(ours.demotion)
    for name, facts in ours.demotion.items():
        assert facts is not None, name
        assert demotions[name].n == facts.n, name
        assert demotions[name].psr == pytest.approx(facts.psr(), rel=1e-9, abs=1e-9), name
    assert {n for n, d in demotions.items() if d.demoted} == ours.demoted


def test_loader_reports_every_planted_line() -> None:
    from metasup.ingest import load_artifacts

    config = load_config(CONFIG_PATH)
    artifacts = load_artifacts(config.artifacts)
    quality = artifacts.data_quality
    _, planted = gen.build()
    rejected = {(p.file, p.line) for p in planted if p.outcome == "rejected"}
    reported = {(next(f for f in gen.OUTPUT_FILES if r.file.endswith(f)), r.line) for r in quality.rejected}
    assert reported == rejected
    assert quality.rejected_total == len(rejected)
    assert quality.duplicates == 1
    for file_quality in quality.files:
        name = next(f for f in gen.OUTPUT_FILES if file_quality.path.endswith(f))
        assert file_quality.rejected == sum(p.file == name and p.outcome == "rejected" for p in planted)
        assert file_quality.ignored == sum(p.file == name and p.outcome == "ignored" for p in planted)
    ours = fleet().data
    assert len(artifacts.signals) == len(ours.signals)
    assert len(artifacts.prices) == sum(len(b) for b in ours.bars.values())
