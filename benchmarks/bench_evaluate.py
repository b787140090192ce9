"""Throughput and peak memory of ``metasup evaluate`` at fleet scale.

Generates 1,000,000 signals over 500 symbols and 5,000,000 hourly price bars (cached in
``--data``), then times, each in a fresh subprocess so peak RSS is its own:

- ``parse``:   pyarrow reading the raw files, nothing else (the floor);
- ``metrics``: load + validate + reconcile + metrics;
- ``review``:  ``metasup evaluate --config … --json …`` as the console script runs it (``cli.run``):
  the whole review with every decision, the JSON written and the table printed.

With ``--against CHECKOUT`` (a worktree of another commit, e.g. ``git worktree add /tmp/old
HEAD~1``) each turn also runs that checkout's review (``against``, in that checkout and with it
on ``PYTHONPATH``: :func:`run_in_checkout`), so two commits are compared in interleaved runs on the
same data. The ``against`` stage always runs right after ``review``; swap the checkouts' roles to
see whether that order matters.

Usage::

    python benchmarks/bench_evaluate.py [--signals 1000000] [--symbols 500] [--bars 5000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
"""The checkout this script belongs to: its stages time this checkout's metasup."""

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


USER_AGENTS = 50
USER_TELEMETRY = 2_000_000


def _jsonl_lines(frame: pd.DataFrame) -> list[str]:
    """The JSON Lines pandas writes for ``frame``, one string per row."""
    return str(frame.to_json(orient="records", lines=True)).splitlines()


def generate_user(
    folder: Path, signals: int, symbols: int, bars: int, seed: int = 11, telemetry: int = USER_TELEMETRY
) -> None:
    """The shape of the issue's data: mixed horizons, notional, 50 agents, 2M telemetry, 5-min Parquet bars.

    1M signals whose ``horizon`` is a duration string (``"4h"``, ``"1d"``…) or an integer number of
    seconds (``3600``…) and which carry ``notional``; a registry of 50 agents (prod and sandbox);
    2M telemetry lines (``telemetry`` of them: ``run`` with cost/tokens/latency/status, ``cost``,
    ``behavioral_eval``, ``regime``, ``safety_violation``) in time order; 5M five-minute bars in
    ``prices.parquet``, the first symbol being the benchmark (``SPY``).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = np.array(["SPY", *(f"S{i:04d}" for i in range(1, symbols))])
    bars_per_symbol = bars // symbols
    steps = rng.normal(0.0, 0.0008, size=(symbols, bars_per_symbol))
    times = START + pd.to_timedelta(np.arange(bars_per_symbol) * 300, unit="s")
    prices = pd.DataFrame(
        {
            "ts": np.tile(times.as_unit("ns"), symbols),
            "symbol": np.repeat(names, bars_per_symbol),
            "price": (100.0 * np.exp(np.cumsum(steps, axis=1))).ravel().round(6),
        }
    )
    prices.to_parquet(folder / "prices.parquet", index=False)

    span_seconds = int(bars_per_symbol * 300 * 0.9)
    agents = np.array([f"agent-{i:02d}" for i in range(USER_AGENTS)])
    offsets = np.sort(rng.integers(0, span_seconds, size=signals))
    horizons = np.array(["4h", "1d", "2h", "30m", 3600, 14400, 86400], dtype=object)
    frame = pd.DataFrame(
        {
            "ts": (START + pd.to_timedelta(offsets, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signal_id": [f"s{i}" for i in range(signals)],
            "agent": agents[rng.integers(0, len(agents), size=signals)],
            "symbol": names[rng.integers(1, symbols, size=signals)],
            "direction": rng.choice(["long", "short"], size=signals),
            "confidence": rng.uniform(0.3, 0.95, size=signals).round(4),
            "horizon": horizons[rng.integers(0, len(horizons), size=signals)],
            "notional": rng.choice([5000.0, 10000.0, 25000.0], size=signals),
        }
    )
    (folder / "alpha").mkdir(exist_ok=True)
    frame.to_json(folder / "alpha" / "events.jsonl", orient="records", lines=True)

    def stamp(seconds: np.ndarray) -> pd.Index:
        return (START + pd.to_timedelta(seconds, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")

    days = span_seconds // 86400
    evals = pd.DataFrame(
        {
            "type": "behavioral_eval",
            "ts": stamp(np.repeat(np.arange(days) * 86400, len(agents))),
            "agent": np.tile(agents, days),
            "score": rng.uniform(70.0, 99.0, size=days * len(agents)).round(1),
        }
    )
    costs = pd.DataFrame(
        {
            "type": "cost",
            "ts": stamp(np.repeat(np.arange(days) * 86400 + 86000, len(agents))),
            "agent": np.tile(agents, days),
            "cost_usd": rng.uniform(1.0, 5.0, size=days * len(agents)).round(2),
        }
    )
    regime_count = days * 24
    regimes = pd.DataFrame(
        {
            "type": "regime",
            "ts": stamp(np.arange(regime_count) * 3600),
            "regime": rng.choice(["trending", "mean_reverting", "volatile"], size=regime_count),
        }
    )
    violation_count = 200
    violations = pd.DataFrame(
        {
            "type": "safety_violation",
            "ts": stamp(rng.integers(0, span_seconds, size=violation_count)),
            "agent": agents[rng.integers(0, len(agents), size=violation_count)],
            "rule": rng.choice(["max_position", "forbidden_symbol"], size=violation_count),
            "severity": "warning",
        }
    )
    run_count = telemetry - len(evals) - len(costs) - len(regimes) - len(violations)
    runs = pd.DataFrame(
        {
            "type": "run",
            "ts": stamp(rng.integers(0, span_seconds, size=run_count)),
            "agent": agents[rng.integers(0, len(agents), size=run_count)],
            "cost_usd": rng.uniform(0.01, 0.5, size=run_count).round(4),
            "tokens": rng.integers(200, 8000, size=run_count),
            "latency_ms": rng.integers(50, 9000, size=run_count),
            "status": rng.choice(["ok", "ok", "ok", "error"], size=run_count),
        }
    )
    parts = [runs, costs, evals, regimes, violations]
    lines = np.concatenate([np.array(_jsonl_lines(part), dtype=object) for part in parts])
    stamps = np.concatenate([part["ts"].to_numpy(dtype=str) for part in parts])
    order = np.argsort(stamps, kind="stable")
    (folder / "telemetry").mkdir(exist_ok=True)
    (folder / "telemetry" / "events.jsonl").write_text("\n".join(lines[order]) + "\n", encoding="utf-8")

    stages = ["prod" if i < 30 else "sandbox" for i in range(len(agents))]
    agents_yaml = "agents:\n" + "".join(
        f"  - {{name: {a}, stage: {stage}}}\n" for a, stage in zip(agents, stages, strict=True)
    )
    (folder / "agents.yaml").write_text(agents_yaml, encoding="utf-8")
    (folder / "metasup.yml").write_text(
        "registry: agents.yaml\n"
        "benchmark: SPY\n"
        "artifacts: {alpha: alpha/events.jsonl, telemetry: telemetry/events.jsonl, prices: prices.parquet}\n",
        encoding="utf-8",
    )
    (folder / "done").write_text(
        json.dumps({"shape": "user", "signals": signals, "symbols": symbols, "bars": bars})
    )


IMPORTS = """
import numpy as np
import pyarrow as pa, pyarrow.compute as pc, pyarrow.csv, pyarrow.json, pyarrow.parquet
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

USER_PARSE = """
# pyarrow cannot read a field written both as a number and as a string: its integers are quoted
# first (one RE2 pass), then every horizon is turned into seconds, each distinct value once.
raw = pa.memory_map(str(folder / "alpha" / "events.jsonl")).read_buffer()
ends = pa.array([0, raw.size], pa.int64()).buffers()[1]
whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, ends, raw])
pattern = '("horizon"[ \\t]*:[ \\t]*)(-?\\d+)([ \\t]*[,}])'
quoted = pc.replace_substring_regex(
    whole, pattern=pattern, replacement=r'\\1"\\2"\\3'
)
alpha = pyarrow.json.read_json(pa.BufferReader(quoted[0].as_buffer()))
encoded = alpha["horizon"].combine_chunks().dictionary_encode()
units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
words = encoded.dictionary.to_pylist()
seconds = np.array([int(w) if w.isdigit() else int(float(w[:-1]) * units[w[-1]]) for w in words])
horizon_s = seconds[encoded.indices.to_numpy()]
pyarrow.json.read_json(folder / "telemetry" / "events.jsonl")
pyarrow.parquet.read_table(folder / "prices.parquet")
"""
"""The floor of ``--shape user``: the three files read by pyarrow and the horizons in seconds."""


def run_stage(
    stage: str, folder: Path, shape: str = "default", against: Path | None = None
) -> dict[str, float]:
    """Time one stage in a fresh interpreter: seconds, CPU seconds (user + system, every thread) and
    that process's peak RSS. Stage ``against`` is the review of the checkout ``against``.

    The interpreter runs in the checkout whose code it times (:func:`run_in_checkout`).
    """
    timed = "review" if stage == "against" else stage
    work = USER_PARSE if shape == "user" and timed == "parse" else STAGES[timed]
    code = (
        "import json, os, resource, sys, time\nfrom pathlib import Path\nimport metasup\n"
        + IMPORTS
        + f"folder = Path({str(folder)!r})\ncpu = os.times()\nstart = time.perf_counter()\n"
        + work
        + "\nseconds = time.perf_counter() - start\nused = os.times()\n"
        "print(json.dumps({'seconds': seconds, "
        "'cpu_seconds': used.user + used.system - cpu.user - cpu.system, "
        "'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
        "'package': str(Path(metasup.__file__).resolve().parent)}))\n"
    )
    checkout = against if stage == "against" and against is not None else ROOT
    timings: dict[str, float] = run_in_checkout(code, checkout)
    return timings


def run_in_checkout(code: str, checkout: Path, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter in ``checkout`` and return the JSON object it prints last.

    The working directory and ``PYTHONPATH`` are the checkout: ``python -c`` puts its working
    directory ahead of ``PYTHONPATH``, so code started from another checkout would import that one's
    metasup. ``code`` reports the folder it imported metasup from as ``package``; another folder
    stops the benchmark.
    """
    checkout = checkout.resolve()
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-c", code, *args]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=checkout)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result.pop("package")) != checkout / "metasup":
        raise SystemExit(f"imported metasup from outside {checkout}")
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
    parser.add_argument(
        "--shape",
        choices=("default", "user"),
        default="default",
        help="default: hourly csv bars, 40 agents, 40 telemetry lines; user: the issue's data "
        "(mixed horizons, notional, 50 agents, 2M telemetry lines, 5-minute Parquet bars)",
    )
    parser.add_argument(
        "--against", type=Path, help="a checkout of another commit whose review also runs each turn"
    )
    args = parser.parse_args()

    user = args.shape == "user"
    folder = args.data / f"{'user-' if user else ''}{args.signals}-{args.symbols}-{args.bars}"
    if not (folder / "done").exists():
        started = time.perf_counter()
        (generate_user if user else generate)(folder, args.signals, args.symbols, args.bars)
        print(f"generated {folder} in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    # Stages take turns, so a slower spell of the machine hits every stage alike.
    stages = [*STAGES, *(["against"] if args.against else [])]
    runs: dict[str, list[dict[str, float]]] = {stage: [] for stage in stages}
    for _ in range(args.repeat):
        for stage in stages:
            runs[stage].append(run_stage(stage, folder, args.shape, args.against))
    results = {stage: min(stage_runs, key=lambda r: r["seconds"]) for stage, stage_runs in runs.items()}
    medians = {
        stage: statistics.median(r["seconds"] for r in stage_runs) for stage, stage_runs in runs.items()
    }
    parse, metrics, review = (results[s]["seconds"] for s in ("parse", "metrics", "review"))
    if user:
        report_user(runs, args.signals)
        return
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


def report_user(runs: dict[str, list[dict[str, float]]], signals: int) -> None:
    """``--shape user``: medians with their spread, and the issue's targets (≤ 1.5×, ≤ 1.0 GiB)."""
    medians: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for stage, stage_runs in runs.items():
        seconds = [r["seconds"] for r in stage_runs]
        peaks = [r["peak_rss_mib"] for r in stage_runs]
        medians[stage] = statistics.median(seconds)
        cpu[stage] = statistics.median(r["cpu_seconds"] for r in stage_runs)
        print(
            f"{stage:8s} median {medians[stage]:5.2f} s (runs {min(seconds):.2f}–{max(seconds):.2f} s)"
            f"   CPU median {cpu[stage]:5.2f} s"
            f"   peak RSS median {statistics.median(peaks):5.0f} MiB (max {max(peaks):.0f})"
        )
    ratios = sorted(r["seconds"] / p["seconds"] for r, p in zip(runs["review"], runs["parse"], strict=True))
    review_peak = max(r["peak_rss_mib"] for r in runs["review"]) / 1024
    print(f"signals/s (review, median)  {signals / medians['review']:,.0f}")
    print(
        f"review / parse, medians     {medians['review'] / medians['parse']:.2f}   (target ≤ 1.5)"
        f"   per turn {ratios[0]:.2f}–{ratios[-1]:.2f}"
    )
    print(f"  CPU seconds, medians      {cpu['review'] / cpu['parse']:.2f}   (user + system, all threads)")
    print(f"peak RSS (review, max)      {review_peak:.2f} GiB   (target ≤ 1.0 GiB)")
    if "against" in runs:
        print(f"against / parse, medians    {medians['against'] / medians['parse']:.2f}")


if __name__ == "__main__":
    main()
