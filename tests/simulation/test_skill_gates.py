"""Acceptance of SPEC §3.7 and §3.8, measured: the gates must not promote luck nor demote skill.

Simulated fleets (``fleet_sim.py``) are written as files, loaded as a user's run loads them and
reviewed by ``run_meta_supervisor`` at the default configuration. The seeds are fixed; they were
chosen before the results were seen, and the bounds are set below what ``benchmarks/skill_power.py``
measured over 20 seeds (``docs/gates.md``, "How often the skill gate is right (measured)").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fleet_sim import AgentSpec, cohort, outcomes, simulate

pytestmark = pytest.mark.slow

PROMOTION_SEEDS = tuple(range(11, 21))
DEMOTION_SEEDS = (21, 22, 23, 24, 25)

ZERO_SKILL = [a for days in (30, 90, 180) for a in cohort(f"zero-t{days}", 80, "sandbox", 0.50, days)]
EDGE = cohort("edge", 20, "sandbox", 0.60, 180)
PROD_BOOK = cohort("book", 4, "prod", 0.56, 180)
GOOD_PROD = cohort("good55", 30, "prod", 0.55, 90) + cohort("good60", 30, "prod", 0.60, 90)
BAD_PROD = cohort("bad35", 40, "prod", 0.35, 90)


def _reviewed(tmp: Path, fleet: list[AgentSpec], seeds: tuple[int, ...]) -> pd.DataFrame:
    return pd.concat(
        [outcomes(simulate(tmp / str(seed), fleet, seed), fleet, seed) for seed in seeds], ignore_index=True
    )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """240 zero-skill and 20 skilled sandbox agents, and a prod book of 4, for each of 10 seeds."""
    found = _reviewed(tmp_path_factory.mktemp("promotion"), ZERO_SKILL + EDGE + PROD_BOOK, PROMOTION_SEEDS)
    return found[found["stage"] == "sandbox"]


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """60 prod agents with an edge (hit rate 0.55 or 0.60) and 40 with a negative one (0.35), per seed."""
    return _reviewed(tmp_path_factory.mktemp("demotion"), GOOD_PROD + BAD_PROD, DEMOTION_SEEDS)


def test_zero_skill_agents__at_most_5_percent_approved(sandbox: pd.DataFrame) -> None:
    """Coin-flippers that are model citizens in every other respect: ≤ 5 % APPROVED.

    2,400 agents (80 per track record of 30, 90 and 180 days, 10 seeds): 4.3 % here (104). Measured by
    the benchmark over 20 other seeds and 3,000 agents: 3.5 %, 4.3 % and 4.5 % at 30, 90 and 180 days
    (the PSR test with Student's t is slightly conservative: q grows with the observed Sharpe ratio).
    Expect single-digit-percent noise: 2,400 agents give a standard error of 0.4 points.
    """
    zero = sandbox[sandbox["skill"] == 0.50]
    assert len(zero) == 2400
    assert zero["seed"].nunique() == 10
    approved = (zero["result"] == "APPROVED").mean()
    assert approved <= 0.05, f"{approved:.1%} of zero-skill agents APPROVED"


def test_zero_skill_agents__the_old_gates_alone_approve_about_half(sandbox: pd.DataFrame) -> None:
    """Without §3.7 about half the coin-flippers are approved: all those whose last month made money.

    Measured here: 49.0 % (1,175 of 2,400), exactly the agents that pass ``pnl``.

    An agent the old gates approve is one whose only failing gates are ``skill`` and
    ``prod_correlation``. The skill gate is what stops them: it fails for all but the ≤ 5 % approved.
    """
    zero = sandbox[sandbox["skill"] == 0.50]
    old = zero["old_gates"]
    assert 0.40 <= old.mean() <= 0.60, f"old gates approve {old.mean():.1%}"
    assert old.sum() >= 0.9 * zero["pnl_passed"].sum()  # pnl is the only old gate that bites
    stopped = zero[old & (zero["result"] == "BLOCKED")]
    assert len(stopped) >= 0.85 * old.sum()
    assert stopped["failed"].map(lambda failed: "skill" in failed).all()
    assert not zero["failed"].map(lambda failed: "prod_correlation" in failed).any()


def test_agents_with_an_edge__approved_after_180_days(sandbox: pd.DataFrame) -> None:
    """Hit rate 0.60, 180 days of record: APPROVED with a power of about two in three.

    Measured by the benchmark over 20 seeds: 67.5 % of 1,000 agents [95 % CI 64.5-70.3] (the rest
    mostly fail the skill gate, some the pnl gate); 66.5 % of the 200 agents here. The bound is
    ~3.5 standard errors below.
    """
    edge = sandbox[sandbox["skill"] == 0.60]
    assert len(edge) == 200
    power = (edge["result"] == "APPROVED").mean()
    assert power >= 0.55, f"power {power:.0%}"


def test_prod_agents_with_an_edge__rarely_demoted(prod: pd.DataFrame) -> None:
    """Hit rate 0.55-0.60 over the 60-day demotion window: demoted ≤ 2 % of the time.

    Measured by the benchmark over 20 seeds: 1.0 % at 0.55 and 0.3 % at 0.60, of 1,000 agents each;
    here 2 of 300 (0.7 %). (The retirement rules of §3.4 kill more of them, 6.0 % and 1.8 %; that is
    not demotion, and not tested here.)
    """
    good = prod[prod["skill"] >= 0.55]
    assert len(good) == 300
    demoted = good["demoted"].mean()
    assert demoted <= 0.02, f"{demoted:.1%} of prod agents with an edge demoted"


def test_prod_agents_with_a_negative_edge__mostly_taken_out(prod: pd.DataFrame) -> None:
    """Hit rate 0.35: taken out of prod (demoted, or killed by §3.4 first) most of the time.

    A kill pre-empts demotion (SPEC §3.8 judges prod agents that are not killed), so both are
    counted; the demotion rule alone decides about the agents no kill took. Measured by the
    benchmark over 20 seeds and 1,000 agents: 36.9 % demoted, 43.7 % killed, 80.6 % out of prod; the
    rule demotes 65 % of the agents it judges. Here: 80.5 % out, 62 % of those judged demoted.
    """
    bad = prod[prod["skill"] == 0.35]
    assert len(bad) == 200
    out = (bad["demoted"] | bad["killed"]).mean()
    judged = bad[~bad["killed"]]
    assert out >= 0.65, f"only {out:.0%} taken out of prod"
    assert judged["demoted"].mean() >= 0.45, f"demotion rule fires for {judged['demoted'].mean():.0%}"
