"""A generated fleet of 60 agents for the golden-output test (``tests/golden``).

Deterministic (one seeded generator, no clock): hourly bars for 40 symbols and SPY over 100
days, about 24,000 signals from 60 agents in 8 strategy classes (prod, sandbox, retired and
unregistered agents; a killed and a deprecated class), telemetry with runs, costs, behavioral
scores, safety violations and regimes, and a few bad lines of each kind. It exists to exercise
as many paths of a review as possible, not to tell stories (the demo does that).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-07-01T00:00:00Z")
DAYS = 100
CLASSES = ("momentum", "meanrev", "news", "macro", "pairs", "vol", "legacy", "carry")
CLASS_STATUS = {"legacy": "killed", "carry": "deprecated"}
REGIMES = ("trending", "mean_reverting", "volatile")


def _iso(stamps: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(stamps).strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_fleet(folder: Path, seed: int = 20261206) -> Path:
    """Write the workspace into ``folder``; returns the path of its ``metasup.yml``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    symbols = np.array([f"T{i:02d}" for i in range(40)] + ["SPY"])
    hours = START + pd.to_timedelta(np.arange(DAYS * 24), unit="h")
    steps = rng.normal(0.0002, 0.004, size=(len(symbols), len(hours)))
    prices = pd.DataFrame(
        {
            "ts": np.tile(_iso(hours), len(symbols)),
            "symbol": np.repeat(symbols, len(hours)),
            "price": (50.0 * np.exp(np.cumsum(steps, axis=1))).ravel().round(5),
        }
    )
    (folder / "market").mkdir(exist_ok=True)
    text = prices.to_csv(index=False)
    text += "2026-07-02T00:00:00Z,T01,-3\n2026-07-02T00:00:00Z,T02,abc\n"
    (folder / "market" / "prices.csv").write_text(text, encoding="utf-8")

    agents = [f"agent-{i:02d}" for i in range(60)]
    agent_class = {a: CLASSES[i % len(CLASSES)] for i, a in enumerate(agents)}
    stage = {
        a: ("prod" if i % 3 == 0 else "retired" if i % 17 == 5 else "sandbox") for i, a in enumerate(agents)
    }
    skill = {a: float(rng.uniform(0.35, 0.7)) for a in agents}
    n = 24_000
    who = rng.integers(0, len(agents), size=n)
    offsets = pd.to_timedelta(rng.integers(0, (DAYS - 2) * 86400, size=n), unit="s")
    ts = START + offsets
    sym = rng.integers(0, 40, size=n)
    # Direction agrees with the symbol's next-day move with the agent's skill probability.
    hour_index = np.asarray((offsets // pd.Timedelta(hours=1)).astype(int))
    future = np.minimum(hour_index + 24, len(hours) - 1)
    path = np.cumsum(steps, axis=1)
    move = np.sign(path[sym, future] - path[sym, hour_index])
    right = rng.uniform(size=n) < np.array([skill[agents[i]] for i in who])
    direction = np.where(right, move, -move).astype(int)
    direction[direction == 0] = 1
    horizons = np.array(["4h", "1d", "30m", "2d", "3600", "86400"], dtype=object)
    horizon = horizons[rng.integers(0, len(horizons), size=n)]
    records = pd.DataFrame(
        {
            "ts": _iso(ts),
            "signal_id": [f"g{i}" for i in range(n)],
            "agent": np.array(agents, dtype=object)[who],
            "symbol": symbols[sym],
            "direction": np.where(direction > 0, "long", "short"),
            "confidence": rng.uniform(0.4, 0.9, size=n).round(3),
            "horizon": horizon,
        }
    )
    lines = []
    for row in records.itertuples(index=False):
        record = row._asdict()
        if record["horizon"].isdigit():
            record["horizon"] = int(record["horizon"])
        lines.append(json.dumps(record))
    # Unregistered agents, an explicit class, notional, duplicates and bad lines.
    lines.append(json.dumps({**json.loads(lines[0]), "signal_id": "x1", "agent": "ghost-1"}))
    lines.append(json.dumps({**json.loads(lines[5]), "signal_id": "x2", "notional": 25000}))
    lines.append(json.dumps({**json.loads(lines[9]), "signal_id": "x3", "strategy_class": "macro"}))
    lines.append(lines[3])
    lines += ["{not json", json.dumps({"signal_id": "bad", "agent": "agent-01"}), ""]
    (folder / "alpha").mkdir(exist_ok=True)
    (folder / "alpha" / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    events: list[dict[str, object]] = []
    for day in range(DAYS):
        stamp = START + pd.Timedelta(days=day, hours=23)
        for i, agent in enumerate(agents):
            cost = round(float(rng.uniform(5, 40)) * (1 + (i % 5 == 0) * day / 40), 2)
            events.append(
                {
                    "type": "run",
                    "ts": _iso(pd.DatetimeIndex([stamp]))[0],
                    "agent": agent,
                    "cost_usd": cost,
                    "tokens": int(rng.integers(1000, 9000)),
                }
            )
            if day % 7 == i % 7:
                events.append(
                    {
                        "type": "behavioral_eval",
                        "ts": _iso(pd.DatetimeIndex([stamp]))[0],
                        "agent": agent,
                        "score": round(float(rng.uniform(60, 98)), 1),
                    }
                )
            if i % 11 == 4 and day in (80, 95):
                events.append(
                    {
                        "type": "safety_violation",
                        "ts": _iso(pd.DatetimeIndex([stamp]))[0],
                        "agent": agent,
                        "rule": "max_position",
                        "severity": "high",
                    }
                )
        if day % 9 == 0:
            for s in symbols[:40:3]:
                events.append(
                    {
                        "type": "regime",
                        "ts": _iso(pd.DatetimeIndex([stamp]))[0],
                        "symbol": str(s),
                        "regime": REGIMES[int(rng.integers(0, 3))],
                    }
                )
    events.append({"type": "cost", "ts": "2026-10-01T12:00:00Z", "agent": "agent-03", "cost_usd": 900.0})
    events.append({"type": "heartbeat", "ts": "2026-10-01T12:00:00Z", "agent": "agent-03"})
    telemetry = [json.dumps(e) for e in events] + ['{"type": "run", "agent": "agent-02"}']
    (folder / "telemetry").mkdir(exist_ok=True)
    (folder / "telemetry" / "events.jsonl").write_text("\n".join(telemetry) + "\n", encoding="utf-8")

    registry = ["strategy_classes:"]
    for c in CLASSES:
        status = CLASS_STATUS.get(c, "active")
        regimes = "[trending]" if c == "momentum" else "[mean_reverting]" if c == "meanrev" else "[]"
        registry.append(f"  - {{name: {c}, status: {status}, regimes: {regimes}}}")
    registry.append("agents:")
    for a in agents:
        registry.append(f"  - {{name: {a}, strategy_class: {agent_class[a]}, stage: {stage[a]}}}")
    (folder / "agents.yaml").write_text("\n".join(registry) + "\n", encoding="utf-8")
    config = folder / "metasup.yml"
    config.write_text(
        "registry: agents.yaml\n"
        "artifacts: {alpha: alpha/events.jsonl, telemetry: telemetry/events.jsonl,"
        " prices: market/prices.csv}\n"
        "benchmark: SPY\n"
        "kill_list: [agent-07]\n"
        "portfolio: {max_weight: 0.2, min_signals: 5}\n",
        encoding="utf-8",
    )
    return config
