"""How many skill-less agents the promotion gate approves at least once when every rolling run
looks again (found by an audit, 2026-12-07; ``docs/gates.md``, "Looking again every run").

SPEC §3.7 promises at most 5 % of coin-flippers approved *by a review*. A rolling run reviews every
sandbox agent each time it runs, and an [AUTO-PROMOTE] PR merges when the gates still pass 24 hours
after it opened. This simulates the fleet model of ``docs/gates.md`` §11 (two one-day signals a
weekday, ~2 % daily moves, direction a coin flip: the daily value ``x_d`` is the mean of two zero-
mean normals), one review per weekday for a year, with scipy's PSR (not metasup's code) over the
last 128 weekdays (the 180-day track record) and the 30-day pnl gate (last 22 weekdays > 0). It
prints, for each ``min_psr``, the share approved at the last review, approved at any review, and
approved on two consecutive reviews (what survives the 24-hour wait). Vectorized over agents.

Usage::

    python tools/sim_repeated_looks.py [--agents 2000] [--days 260] [--seed 20261207]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

TRACK_RECORD, PNL_WINDOW, MIN_DAYS = 128, 22, 10


def psr(window: np.ndarray) -> np.ndarray:
    """PSR(0) of each row (SPEC §3.7: Student's t, biased skewness and Pearson kurtosis)."""
    n = window.shape[1]
    sharpe = window.mean(axis=1) / window.std(axis=1, ddof=1)
    skew = stats.skew(window, axis=1)
    kurt = stats.kurtosis(window, axis=1, fisher=False)
    q = 1 - skew * sharpe + (kurt - 1) / 4 * sharpe**2
    return np.asarray(stats.t.cdf(sharpe * np.sqrt(n - 1) / np.sqrt(q), n - 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--days", type=int, default=260)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--min-psr", type=float, nargs="+", default=[0.95, 0.99, 0.995, 0.999])
    parser.add_argument("--edge", type=float, default=0.0, help="mean excess of a signal (0: a coin flip)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    x = rng.normal(args.edge, 0.02, (args.agents, args.days, 2)).mean(axis=2)
    looks = range(MIN_DAYS - 1, args.days)
    scores = np.full((args.agents, args.days), np.nan)
    for t in looks:
        scores[:, t] = psr(x[:, max(0, t + 1 - TRACK_RECORD) : t + 1])
    cumulative = np.cumsum(x, axis=1)
    pnl = cumulative - np.concatenate(
        [np.zeros((args.agents, PNL_WINDOW)), cumulative[:, :-PNL_WINDOW]], axis=1
    )
    who = "coin-flippers" if args.edge == 0 else f"agents with an edge of {args.edge} a signal"
    print(f"{args.agents} {who}, one review a weekday for {args.days} weekdays, seed {args.seed}")
    for bar in args.min_psr:
        approved = (scores >= bar) & (pnl > 0)
        approved[:, : MIN_DAYS - 1] = False
        twice = approved[:, 1:] & approved[:, :-1]
        first = np.where(twice.any(axis=1), twice.argmax(axis=1) + 1, -1)
        median = f"{int(np.median(first[first >= 0]))}" if (first >= 0).any() else "-"
        print(
            f"min_psr {bar}: last review {approved[:, -1].mean():6.1%}"
            f"   any review {approved.any(axis=1).mean():6.1%}"
            f"   two reviews running {twice.any(axis=1).mean():6.1%} (median weekday {median})"
        )


if __name__ == "__main__":
    main()
