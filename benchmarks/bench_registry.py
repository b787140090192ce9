"""Time reading a big ``agents.yaml``: metasup's reader as shipped (libyaml's parser, PyYAML's
composer), the same reader on PyYAML's pure-Python parser alone (as before 2026-12-07), and the
raw-parse floor (``yaml.load`` with libyaml's ``CSafeLoader``, no checks, no lines, no
validation), interleaved. ``read`` is the YAML read (``read_yaml_document``); ``registry`` adds the
pydantic validation of every agent (``load_registry``). Numbers: ``docs/performance.md``,
"Reading agents.yaml".

Usage::

    python benchmarks/bench_registry.py --agents 1000 4000 10000 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from metasup.model import yaml_files
from metasup.model.registry import load_registry
from metasup.model.yaml_files import MetasupLoader, read_yaml_document


def write_registry(path: Path, agents: int) -> None:
    """A registry shaped like a big fleet's: three classes, agents with comments and flow lists."""
    lines = ["strategy_classes:"]
    for name, regime in [("momentum", "trending"), ("mean_rev", "mean_reverting"), ("macro", "volatile")]:
        lines += [f"  - name: {name}", "    status: active", f"    regimes: [{regime}]"]
    lines.append("agents:")
    for i in range(agents):
        cls = ("momentum", "mean_rev", "macro")[i % 3]
        stage = "prod" if i % 5 == 0 else "sandbox"
        lines += [
            f"  - name: agent-{i:05d}    # owner: desk {i % 7}",
            f"    strategy_class: {cls}",
            f"    stage: {stage}",
            "    regimes: [trending, volatile]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    shipped = yaml_files._LOADERS
    variants: dict[str, Callable[[Path], object]] = {
        "floor: yaml.load, CSafeLoader": lambda p: yaml.load(p.read_text(), Loader=yaml.CSafeLoader),
        "read, as shipped": read_yaml_document,
        "read, pure-Python parser": read_yaml_document,
        "registry, as shipped": load_registry,
        "registry, pure-Python parser": load_registry,
    }
    with tempfile.TemporaryDirectory() as folder:
        for agents in args.agents:
            path = Path(folder) / "agents.yaml"
            write_registry(path, agents)
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.runs):  # interleaved: one run of each variant per round
                for name, read in variants.items():
                    yaml_files._LOADERS = (MetasupLoader,) if "pure" in name else shipped
                    times[name].append(timed(lambda: read(path)))  # noqa: B023
            yaml_files._LOADERS = shipped
            for name, runs in times.items():
                print(
                    f"{agents:>6} agents  {name:<30} median {statistics.median(runs):.3f} s"
                    f"  ({min(runs):.3f}–{max(runs):.3f}, {len(runs)} runs)"
                )


if __name__ == "__main__":
    main()
