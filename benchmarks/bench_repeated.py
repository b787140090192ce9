"""Time and memory of the repeated-``signal_id`` search (``ingest.fastpath.repeated``) alone.

Each run is a fresh interpreter (fresh pages are most of the cost at scale), on ids ``s0``, ``s1``…
held as the loader holds them: arrow strings in chunks of 170k rows (one 16 MiB piece of a JSON Lines
file each), three repeats appended. With ``--against CHECKOUT`` each turn also runs that checkout's
function, alternated. Numbers: ``docs/performance.md``, "Duplicate ids in blocks".

Usage::

    python benchmarks/bench_repeated.py --ids 1000000 10000000 --runs 2 [--against /tmp/old]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_evaluate import run_in_checkout  # noqa: E402

RUN = """
import json, resource, sys, time
from pathlib import Path
import pandas as pd, pyarrow as pa
import metasup
from metasup.runtime import prepare_one_shot_process
from metasup.ingest.fastpath import repeated
prepare_one_shot_process()
ids, piece = int(sys.argv[1]), 170_000
chunks = [
    pa.array([f"s{i}" for i in range(k, min(ids, k + piece))], pa.large_string())
    for k in range(0, ids, piece)
]
column = pd.Series(pd.array(pa.chunked_array(chunks), dtype="str"))
column = pd.concat([column, column.iloc[:3]], ignore_index=True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
found = int(repeated(column).sum())
seconds = time.perf_counter() - start
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
package = str(Path(metasup.__file__).resolve().parent)
print(json.dumps({"seconds": seconds, "peak_growth_mib": grown, "repeats": found, "package": package}))
"""


def run(ids: int, checkout: Path) -> dict[str, float]:
    """One run of ``repeated`` on ``ids`` ids, in ``checkout`` (``bench_evaluate.run_in_checkout``)."""
    result = run_in_checkout(RUN, checkout, str(ids))
    if result["repeats"] != 3:
        raise SystemExit(f"{checkout}: found {result['repeats']} repeats, not 3")
    timings: dict[str, float] = result
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ids", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--against", type=Path, help="a checkout of another commit, run in the same turns")
    args = parser.parse_args()
    checkouts = [ROOT] if args.against is None else [ROOT, args.against.resolve()]
    for ids in args.ids:
        for turn in range(args.runs):
            for checkout in checkouts if turn % 2 == 0 else checkouts[::-1]:
                result = run(ids, checkout)
                name = "this" if checkout == ROOT else str(checkout)
                print(
                    f"{ids:>11,} ids  {name:<12} {result['seconds']:6.3f} s"
                    f"   peak +{result['peak_growth_mib']:.0f} MiB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
