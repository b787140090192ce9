"""Time and peak memory of a review on the local engine vs a Dask ``LocalCluster`` (SPEC §8).

Generates the ``bench_evaluate`` workspace (cached in ``--data``), then runs the review once per
engine, each in a fresh subprocess, sampling the RSS of that process and of every process it starts
(the driver and each dask worker) every 0.2 s. Loading (on the driver, either way) and measuring are
timed apart. When both engines ran, their reviews are compared as the tests compare them
(``tests/review_compare.py``: parsed JSON, floats within 1e-9 relative) and the verdict printed.

Usage::

    python benchmarks/bench_dask.py --data /tmp/bench1m --signals 1000000 --symbols 500 --bars 5000000
    python benchmarks/bench_dask.py --data /tmp/bench10m --signals 10000000 --symbols 2000 --bars 10000000 \\
        --engines dask --memory-limit 2GiB
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
from bench_evaluate import generate  # noqa: E402
from review_compare import assert_same  # noqa: E402

STAGE = """
import json, sys, time
from pathlib import Path
from metasup.engine import open_measure
from metasup.model.config import EngineConfig
from metasup.runner import evaluate, load_workspace
folder, engine, workers, limit = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] or None
start = time.perf_counter()
ws = load_workspace(folder / "metasup.yml")
loaded = time.perf_counter()
with open_measure(EngineConfig(kind=engine), workers=workers, memory_limit=limit) as measure:
    ready = time.perf_counter()
    review = evaluate(ws, None, None, run_id="bench", measure=measure)
    done = time.perf_counter()
(folder / f"review-{engine}.json").write_text(review.to_json())
print(json.dumps({"load_s": loaded - start, "cluster_start_s": ready - loaded, "review_s": done - ready,
                  "signals": len(ws.artifacts.signals)}))
"""


def run(folder: Path, engine: str, workers: int, memory_limit: str) -> dict[str, object]:
    process = subprocess.Popen(
        [sys.executable, "-c", STAGE, str(folder), engine, str(workers), memory_limit],
        stdout=subprocess.PIPE,
        text=True,
    )
    peaks: dict[int, float] = {}
    peak_total = 0.0

    def sample() -> None:
        nonlocal peak_total
        root = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                sizes = {p.pid: p.memory_info().rss / 2**30 for p in tree}
            except psutil.Error:
                continue
            for pid, size in sizes.items():
                peaks[pid] = max(peaks.get(pid, 0.0), size)
            peak_total = max(peak_total, sum(sizes.values()))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    sampler.join()
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    driver = peaks.pop(process.pid, 0.0)
    result.update(
        engine=engine,
        peak_driver_gib=round(driver, 2),
        peak_worker_gib=round(max(peaks.values(), default=0.0), 2),
        peak_total_gib=round(peak_total, 2),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--bars", type=int, default=5_000_000)
    parser.add_argument("--engines", default="local,dask")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="")
    args = parser.parse_args()
    if not (args.data / "done").exists():
        generate(args.data, args.signals, args.symbols, args.bars)
    engines = args.engines.split(",")
    for engine in engines:
        print(json.dumps(run(args.data, engine, args.workers, args.memory_limit)), flush=True)
    if {"local", "dask"} <= set(engines):
        print(same_reviews(args.data))


def same_reviews(folder: Path) -> str:
    """Whether the two engines' reviews, just written to ``folder``, agree (1e-9 relative)."""
    local, dask = (json.loads((folder / f"review-{e}.json").read_text()) for e in ("local", "dask"))
    try:
        assert_same(local, dask)
    except AssertionError as exc:
        return f"reviews DIFFER at {exc}"
    return "reviews equal (floats within 1e-9 relative)"


if __name__ == "__main__":
    main()
