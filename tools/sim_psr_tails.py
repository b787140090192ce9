"""How often PSR(0) ≥ 0.95 approves a zero-mean daily series whose returns are not Gaussian.

Usage:
    python tools/sim_psr_tails.py [--runs 20000] [--seed 11] [--days 22 63 127] [--min-psr 0.95]

§3.7's PSR (Student's t with n − 1 degrees of freedom, q from the biased skewness and Pearson
kurtosis) promises a 5 % approval rate for an agent without skill. This draws ``--runs`` series of
zero-mean daily values per shape and length, computes PSR(0) with scipy (not metasup's code) and
prints the share at or above 0.95 with a 95 % interval. Numbers: docs/gates.md, "Limits".
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from scipy import stats

Draw = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]

SHAPES: dict[str, Draw] = {
    "Gaussian": lambda rng, size: rng.standard_normal(size),
    "Student t, 3 df": lambda rng, size: rng.standard_t(3, size),
    "Student t, 6 df": lambda rng, size: rng.standard_t(6, size),
    "lognormal, skew > 0": lambda rng, size: rng.lognormal(0.0, 1.0, size) - np.exp(0.5),
    "lognormal, skew < 0": lambda rng, size: np.exp(0.5) - rng.lognormal(0.0, 1.0, size),
}


def approval_rate(values: np.ndarray, min_psr: float = 0.95) -> tuple[float, int]:
    """Share of rows (series) whose PSR(0) reaches ``min_psr``, over the rows where it is defined."""
    n = values.shape[1]
    sr = values.mean(axis=1) / values.std(axis=1, ddof=1)
    g3 = stats.skew(values, axis=1)
    g4 = stats.kurtosis(values, axis=1, fisher=False)
    q = 1 - g3 * sr + (g4 - 1) / 4 * sr**2
    defined = q > 0
    psr = stats.t.cdf(sr[defined] * np.sqrt(n - 1) / np.sqrt(q[defined]), n - 1)
    return float(np.mean(psr >= min_psr)), int(defined.sum())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--days", type=int, nargs="+", default=[22, 63, 127])
    parser.add_argument("--min-psr", type=float, default=0.95)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print("| daily values | " + " | ".join(f"n = {n}" for n in args.days) + " |")
    print("|---|" + "---|" * len(args.days))
    for name, draw in SHAPES.items():
        cells = []
        for n in args.days:
            rate, count = approval_rate(draw(rng, (args.runs, n)), args.min_psr)
            half = 1.96 * np.sqrt(rate * (1 - rate) / count)
            cells.append(f"{100 * rate:.1f} % ± {100 * half:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
