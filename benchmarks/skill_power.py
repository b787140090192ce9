"""How often the skill gate (SPEC §3.7) and the demotion rule (§3.8) are right, on simulated fleets.

The fleets are those of ``tests/simulation/fleet_sim.py`` (written as files, loaded as a user's run
loads them, reviewed at the default configuration). For each seed:

* a **promotion fleet**: ``--agents`` sandbox agents for every skill × track record below, plus 4 prod
  agents of skill 0.56 with a 180-day record that form the prod book;
* a **demotion fleet**: ``--agents`` prod agents for every demotion skill below, 90 days of record.

It prints, as markdown: per skill and track record the share APPROVED (with a 95 % interval), the
share the gates before §3.7 would have approved, the share blocked by the skill gate alone, the
median number of skill days ``n`` and the median ``eligible_in_days`` of the agents the skill gate
blocked while showing a positive Sharpe ratio; then per prod skill the share demoted, killed by the
retirement rules (§3.4, which pre-empt demotion), and either.

Usage (from the repository root)::

    python -m benchmarks.skill_power [--seeds 20] [--first-seed 1] [--agents 50]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "simulation")]  # this checkout's metasup, then fleet_sim

from fleet_sim import AgentSpec, cohort, outcomes, simulate  # noqa: E402

SKILLS = (0.50, 0.53, 0.55, 0.60)
TRACKS = (30, 90, 180)
DEMOTION_SKILLS = (0.60, 0.55, 0.50, 0.45, 0.40, 0.35, 0.30)
DEMOTION_TRACK = 90
PROD_BOOK = cohort("book", 4, "prod", 0.56, 180)
DEMOTION_SEED_OFFSET = 1_000_000  # demotion fleets use seed + this, so no fleet shares a seed


def promotion_fleet(agents: int) -> list[AgentSpec]:
    cells = [
        cohort(f"s{round(skill * 100)}-t{track}", agents, "sandbox", skill, track)
        for skill in SKILLS
        for track in TRACKS
    ]
    return [a for cell in cells for a in cell] + PROD_BOOK


def demotion_fleet(agents: int) -> list[AgentSpec]:
    return [
        a
        for skill in DEMOTION_SKILLS
        for a in cohort(f"p{round(skill * 100)}", agents, "prod", skill, DEMOTION_TRACK)
    ]


def run(seeds: range, agents: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every simulated agent's outcome, all seeds: (sandbox agents, prod agents of the demotion fleets)."""
    promoted, demoted = [], []
    fleet, prod = promotion_fleet(agents), demotion_fleet(agents)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            review = simulate(Path(tmp) / f"p{seed}", fleet, seed)
            promoted.append(outcomes(review, fleet, seed))
            review = simulate(Path(tmp) / f"d{seed}", prod, seed + DEMOTION_SEED_OFFSET)
            demoted.append(outcomes(review, prod, seed))
    sandbox = pd.concat(promoted, ignore_index=True)
    return sandbox[sandbox["stage"] == "sandbox"], pd.concat(demoted, ignore_index=True)


def share(hits: int, total: int) -> str:
    """``4.6 % [3.4–6.1]``: a share with its 95 % Wilson interval."""
    if total == 0:
        return "–"
    p, z = hits / total, 1.959964
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return f"{100 * p:.1f} % [{100 * low:.1f}–{100 * high:.1f}]"


def promotion_table(sandbox: pd.DataFrame) -> str:
    lines = [
        "| true hit rate | track record | agents | APPROVED [95 % CI] | old gates alone would approve "
        "| blocked by skill only | median skill days n | median eligible_in_days (blocked, Sharpe > 0) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (skill, track), cell in sandbox.groupby(["skill", "track_days"]):
        total = len(cell)
        approved = int((cell["result"] == "APPROVED").sum())
        only_skill = int(cell["failed"].map(lambda f: f == ("skill",)).sum())
        waiting = cell.loc[cell["failed"].map(lambda f: "skill" in f), "eligible_in_days"].dropna()
        waiting = waiting[waiting > 0]
        median_wait = f"{waiting.median():,.0f} ({len(waiting)} agents)" if len(waiting) else "–"
        lines.append(
            f"| {skill:.2f} | {track} days | {total} | {share(approved, total)} "
            f"| {100 * cell['old_gates'].mean():.1f} % | {100 * only_skill / total:.1f} % "
            f"| {cell['n'].median():.0f} | {median_wait} |"
        )
    zero = sandbox[sandbox["skill"] == 0.50]
    approved = int((zero["result"] == "APPROVED").sum())
    lines.append(
        f"\nZero-skill agents, all track records: {share(approved, len(zero))} APPROVED of {len(zero)}; "
        f"the gates before §3.7 alone would approve {100 * zero['old_gates'].mean():.1f} %."
    )
    return "\n".join(lines)


def demotion_table(prod: pd.DataFrame) -> str:
    lines = [
        "| true hit rate | prod agents | demoted [95 % CI] | killed by retirement (§3.4) "
        "| out of prod (either) |",
        "|---|---|---|---|---|",
    ]
    for skill, cell in prod.groupby("skill", sort=False):
        total = len(cell)
        out = (cell["demoted"] | cell["killed"]).mean()
        lines.append(
            f"| {skill:.2f} | {total} | {share(int(cell['demoted'].sum()), total)} "
            f"| {100 * cell['killed'].mean():.1f} % | {100 * out:.1f} % |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds (fleets of each kind)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--agents", type=int, default=50, help="agents per cell and per seed")
    args = parser.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.perf_counter()
    sandbox, prod = run(seeds, args.agents)
    elapsed = time.perf_counter() - started
    command = "python -m benchmarks.skill_power " + " ".join(
        ["--seeds", str(args.seeds), "--first-seed", str(args.first_seed), "--agents", str(args.agents)]
    )
    print(f"Command: `{command}`  ")
    print(
        f"Date: {datetime.now(UTC):%Y-%m-%d}; seeds {seeds.start}–{seeds.stop - 1} (promotion fleets), "
        f"{seeds.start + DEMOTION_SEED_OFFSET}–{seeds.stop - 1 + DEMOTION_SEED_OFFSET} (demotion fleets); "
        f"{elapsed:.0f} s.\n"
    )
    print("Promotion (sandbox agents, default config, prod book of 4 agents at 0.56):\n")
    print(promotion_table(sandbox))
    print(f"\nDemotion (prod agents, {DEMOTION_TRACK} days of record, 60-day demotion window):\n")
    print(demotion_table(prod))


if __name__ == "__main__":
    main()
