"""Throughput and peak memory of ``metasup evaluate`` at fleet scale.

Generates 1,000,000 signals over 500 symbols and 5,000,000 hourly price bars (cached in
``--data``), then times, each in a fresh subprocess so peak RSS is its own:

- ``parse``:   pyarrow reading the raw files, nothing else (the floor);
- ``metrics``: load + validate + reconcile + metrics;
- ``review``:  ``metasup evaluate --config … --json …`` as the console script runs it (``cli.run``):
  the whole review with every decision, the JSON written and the table printed.

Usage::

    python benchmarks/bench_evaluate.py [--signals 1000000] [--symbols 500] [--bars 5000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-06T00:00:00Z")


def generate(folder: Path, signals: int, symbols: int, bars: int, seed: int = 7) -> None:
    """Write the benchmark workspace, vectorized (a few seconds per million rows)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = np.array([f"S{i:04d}" for i in range(symbols)])
    bars_per_symbol = bars // symbols
    hours = pd.to_timedelta(np.arange(bars_per_symbol), unit="h")
    steps = rng.normal(0.0, 0.004, size=(symbols, bars_per_symbol))
    prices = pd.DataFrame(
        {
            "ts": np.tile((START + hours).strftime("%Y-%m-%dT%H:%M:%SZ"), symbols),
            "symbol": np.repeat(names, bars_per_symbol),
            "price": (100.0 * np.exp(np.cumsum(steps, axis=1))).ravel().round(6),
        }
    )
    prices.to_csv(folder / "prices.csv", index=False)

    span_seconds = int(bars_per_symbol * 3600 * 0.95)
    offsets = pd.to_timedelta(rng.integers(0, span_seconds, size=signals), unit="s")
    agents = np.array([f"agent-{i:02d}" for i in range(40)])
    frame = pd.DataFrame(
        {
            "ts": (START + offsets).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signal_id": [f"s{i}" for i in range(signals)],
            "agent": agents[rng.integers(0, len(agents), size=signals)],
            "symbol": names[rng.integers(0, symbols, size=signals)],
            "direction": rng.choice(["long", "short"], size=signals),
            "confidence": rng.uniform(0.3, 0.95, size=signals).round(4),
            "horizon": rng.choice(["4h", "1d", "2d"], size=signals),
        }
    )
    (folder / "alpha").mkdir(exist_ok=True)
    frame.to_json(folder / "alpha" / "events.jsonl", orient="records", lines=True)

    evals = pd.DataFrame(
        {
            "type": "behavioral_eval",
            "ts": (START + pd.to_timedelta(np.arange(len(agents)), unit="h")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "agent": agents,
            "score": 85.0,
        }
    )
    (folder / "telemetry").mkdir(exist_ok=True)
    evals.to_json(folder / "telemetry" / "events.jsonl", orient="records", lines=True)
    agents_yaml = "agents:\n" + "".join(f"  - {{name: {a}, stage: prod}}\n" for a in agents)
    (folder / "agents.yaml").write_text(agents_yaml, encoding="utf-8")
    (folder / "metasup.yml").write_text(
        "registry: agents.yaml\n"
        "artifacts: {alpha: alpha/events.jsonl, telemetry: telemetry/events.jsonl, prices: prices.csv}\n",
        encoding="utf-8",
    )
    (folder / "done").write_text(json.dumps({"signals": signals, "symbols": symbols, "bars": bars}))


IMPORTS = """
import pyarrow.csv, pyarrow.json
from metasup.runtime import prepare_one_shot_process
from metasup.cli import run
from metasup.runner import load_workspace, default_as_of
from metasup.evaluate.reconcile import reconcile
from metasup.evaluate.metrics import compute_metrics
"""
"""Imported before the clock starts: every stage is timed on its work, not on imports."""

STAGES = {
    "parse": """
pyarrow.json.read_json(folder / "alpha" / "events.jsonl")
pyarrow.json.read_json(folder / "telemetry" / "events.jsonl")
pyarrow.csv.read_csv(folder / "prices.csv")
""",
    "metrics": """
prepare_one_shot_process()  # as the command does (metasup/runtime.py)
ws = load_workspace(folder / "metasup.yml")
as_of = default_as_of(ws.artifacts)
recon = reconcile(ws.artifacts.signals, ws.artifacts.prices, ws.config.reconcile, as_of, ws.config.benchmark)
compute_metrics(recon.signals, ws.artifacts, ws.registry, ws.config, as_of)
""",
    "review": """
run(["evaluate", "--config", str(folder / "metasup.yml"), "--json", str(folder / "review.json")])
""",
}


def run_stage(stage: str, folder: Path) -> dict[str, float]:
    """Time one stage in a fresh interpreter; returns seconds and that process's peak RSS."""
    code = (
        "import json, resource, sys, time\nfrom pathlib import Path\n"
        + IMPORTS
        + f"folder = Path({str(folder)!r})\nstart = time.perf_counter()\n"
        + STAGES[stage]
        + "\nprint(json.dumps({'seconds': time.perf_counter() - start, "
        "'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--bars", type=int, default=5_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/metasup-bench"))
    parser.add_argument("--repeat", type=int, default=1, help="runs per stage; the best time is kept")
    args = parser.parse_args()

    folder = args.data / f"{args.signals}-{args.symbols}-{args.bars}"
    if not (folder / "done").exists():
        started = time.perf_counter()
        generate(folder, args.signals, args.symbols, args.bars)
        print(f"generated {folder} in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    # Stages take turns, so a slower spell of the machine hits every stage alike.
    runs: dict[str, list[dict[str, float]]] = {stage: [] for stage in STAGES}
    for _ in range(args.repeat):
        for stage in STAGES:
            runs[stage].append(run_stage(stage, folder))
    results = {stage: min(stage_runs, key=lambda r: r["seconds"]) for stage, stage_runs in runs.items()}
    medians = {
        stage: statistics.median(r["seconds"] for r in stage_runs) for stage, stage_runs in runs.items()
    }
    parse, metrics, review = (results[s]["seconds"] for s in ("parse", "metrics", "review"))
    for stage, result in results.items():
        print(
            f"{stage:8s} {result['seconds']:7.2f} s (median {medians[stage]:.2f} s)"
            f"   peak RSS {result['peak_rss_mib']:7.0f} MiB"
        )
    print(f"signals/s (review)        {args.signals / review:,.0f}")
    print(f"review / parse            {review / parse:.2f}   (target ≤ 2.0)")
    print(f"  the same, of medians    {medians['review'] / medians['parse']:.2f}")
    print(f"review / metrics          {review / metrics:.2f}   (target ≤ 1.2)")
    print(f"peak RSS (review)         {results['review']['peak_rss_mib'] / 1024:.2f} GiB   (target ≤ 3 GiB)")
    print(f"this process              {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
