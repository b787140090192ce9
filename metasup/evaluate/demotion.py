"""Demotion (SPEC §3.8): a prod agent must keep earning its place.

Softer than a kill: a demoted agent goes back to sandbox, keeps running there and can re-earn
promotion. The rule asks the same question as the promotion's skill gate, turned around: over the
last ``demotion.window`` (60 days), is the agent's live edge *negative* with at least
``1 − max_psr`` (90 %) confidence? That is PSR(0) < ``max_psr`` on its skill series, with at
least ``promotion.min_skill_days`` days of evidence. A short or flat series never demotes: the
rule fails open, because demotion moves capital away from an agent a person promoted.
"""

from __future__ import annotations

from metasup.evaluate.promotion import settled
from metasup.evaluate.skill import DailySeries, sharpe_facts
from metasup.model.config import Config
from metasup.model.review import Demotion


def decide_demotion(series: DailySeries, config: Config, vetoed: bool = False) -> Demotion:
    """Judge one prod agent that is not killed; ``vetoed`` = a person closed its demote PR in cooldown."""
    rule = config.demotion
    days = rule.window.total_seconds() / 86_400
    facts = sharpe_facts(series)
    common = {"window_days": days, "n": facts.n, "psr": facts.psr, "threshold": rule.max_psr}
    needed = config.promotion.min_skill_days
    if facts.n < needed:
        evidence = f"{facts.n} skill days in the last {days:g} days (< {needed}): too few to judge"
        return Demotion(demoted=False, evidence=evidence, **common)
    if facts.psr is None:
        why = "no variation in daily excess returns"
        if facts.sharpe is not None and facts.effective_n < 2:
            why = f"its holding periods overlap: {facts.effective_n:.2g} independent values, too few to judge"
        evidence = f"PSR undefined over {facts.n} days ({why})"
        return Demotion(demoted=False, evidence=evidence, **common)
    confidence = 1 - facts.psr
    if settled(facts.psr, rule.max_psr) >= rule.max_psr:
        evidence = (
            f"PSR {facts.psr:.2f} ≥ {rule.max_psr:g} over {facts.n} days: "
            f"no {1 - rule.max_psr:.0%} confidence that the edge is negative"
        )
        return Demotion(demoted=False, evidence=evidence, **common)
    evidence = (
        f"PSR {facts.psr:.2f} < {rule.max_psr:g} over {facts.n} days: "
        f"{confidence:.0%} confident that the live edge is negative"
    )
    if vetoed:
        return Demotion(
            demoted=False, vetoed=True, evidence=evidence + "; demotion vetoed (cooldown)", **common
        )
    return Demotion(demoted=True, evidence=evidence, **common)
