"""Time a review as the fleet grows: the same 300,000 signals spread over 1,000 to 20,000 agents.

Every other benchmark has 40-50 agents, where a step that scans the fleet once per agent costs
nothing; this one grows the number of agents alone, so such a step shows as a time that grows
with its square. Each run is ``metasup evaluate --json`` in a fresh interpreter (``cli.run``, as
the console script runs it), once without and once with ``--baseline`` (the review itself, as a
pull request compares with its base). With ``--against CHECKOUT`` each turn also runs that
checkout's metasup, alternated. Numbers: ``docs/performance.md``, "Fleets of thousands of agents".

Usage::

    python benchmarks/bench_fleet_size.py --agents 1000 5000 10000 --runs 3 [--against /tmp/old]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_evaluate import run_in_checkout  # noqa: E402

START = pd.Timestamp("2026-01-05T00:00:00Z")
SYMBOLS, HOURS, CLASSES = 50, 24 * 200, ("momentum", "mean_rev", "macro")

RUN = """
import json, os, sys, time
from pathlib import Path
import metasup
from metasup.cli import run
folder, baseline = Path(sys.argv[1]), sys.argv[2]
out = folder / ("with-base.json" if baseline else "review.json")
argv = ["evaluate", "--config", str(folder / "metasup.yml"), "--json", str(out), "--fail-on", "never"]
argv += ["--baseline", baseline] if baseline else []
sys.stdout = open(os.devnull, "w")
start = time.perf_counter()
code = run(argv)
seconds = time.perf_counter() - start
sys.stdout = sys.__stdout__
print(json.dumps({"package": str(Path(metasup.__file__).parent), "seconds": seconds, "code": code}))
"""


def generate(folder: Path, agents: int, signals: int, seed: int = 3) -> None:
    """Hourly bars of 50 symbols over 200 days, ``signals`` of 1-day horizon over ``agents``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    symbols = np.array(["SPY", *(f"S{i:03d}" for i in range(1, SYMBOLS))])
    times = START + pd.to_timedelta(np.arange(HOURS), unit="h")
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, size=(SYMBOLS, HOURS)), axis=1))
    pd.DataFrame(
        {
            "ts": np.tile(times.strftime("%Y-%m-%dT%H:%M:%SZ"), SYMBOLS),
            "symbol": np.repeat(symbols, HOURS),
            "price": prices.ravel().round(4),
        }
    ).to_csv(folder / "prices.csv", index=False)
    names = np.array([f"agent-{i:05d}" for i in range(agents)])
    offsets = pd.to_timedelta(rng.integers(0, int(HOURS * 3600 * 0.95), size=signals), unit="s")
    (folder / "alpha").mkdir(exist_ok=True)
    pd.DataFrame(
        {
            "ts": (START + offsets).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signal_id": [f"s{i}" for i in range(signals)],
            "agent": names[rng.integers(0, agents, size=signals)],
            "symbol": symbols[rng.integers(1, SYMBOLS, size=signals)],
            "direction": rng.choice(["long", "short"], size=signals),
            "confidence": 0.6,
            "horizon": "1d",
        }
    ).to_json(folder / "alpha" / "events.jsonl", orient="records", lines=True)
    (folder / "telemetry").mkdir(exist_ok=True)
    pd.DataFrame(
        {"type": "behavioral_eval", "ts": START.strftime("%Y-%m-%dT%H:%M:%SZ"), "agent": names, "score": 85.0}
    ).to_json(folder / "telemetry" / "events.jsonl", orient="records", lines=True)
    registry = ["strategy_classes:", *(f"  - {{name: {c}, regimes: [trending]}}" for c in CLASSES), "agents:"]
    stages = np.where(np.arange(agents) % 4 == 0, "prod", "sandbox")
    registry += [
        f"  - {{name: {name}, strategy_class: {CLASSES[i % 3]}, stage: {stages[i]}}}"
        for i, name in enumerate(names)
    ]
    (folder / "agents.yaml").write_text("\n".join(registry) + "\n", encoding="utf-8")
    (folder / "metasup.yml").write_text(
        "registry: agents.yaml\nbenchmark: SPY\n"
        "artifacts: {alpha: alpha/events.jsonl, telemetry: telemetry/events.jsonl, prices: prices.csv}\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--signals", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/tmp/metasup-bench-fleet"))
    parser.add_argument("--against", type=Path, help="another checkout, timed alternately")
    args = parser.parse_args()
    checkouts = {"this": ROOT} | ({"against": args.against} if args.against else {})
    for agents in args.agents:
        folder = args.data / f"{agents}-{args.signals}"
        if not (folder / "metasup.yml").exists():
            generate(folder, agents, args.signals)
        times: dict[str, list[float]] = {}
        for _ in range(args.runs):
            for label, checkout in checkouts.items():
                plain = run_in_checkout(RUN, checkout, str(folder), "")
                based = run_in_checkout(RUN, checkout, str(folder), str(folder / "review.json"))
                times.setdefault(f"{label}, review", []).append(plain["seconds"])
                times.setdefault(f"{label}, with --baseline", []).append(based["seconds"])
        for name, runs in times.items():
            print(
                f"{agents:>6} agents  {name:<24} median {statistics.median(runs):6.2f} s"
                f"  ({min(runs):.2f}–{max(runs):.2f}, {len(runs)} runs)",
                flush=True,
            )


if __name__ == "__main__":
    main()
