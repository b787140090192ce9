"""Findings about names a user typed that match nothing in the data (SPEC §2.4, §2.5).

A typo in ``agents.yaml`` or in ``kill_list`` is otherwise silent, and each one does harm: a
kill-list entry that names no one stops no one; a registered agent whose signals carry another
spelling sits "active" without data while those signals count as an unregistered sandbox agent
(which can even be approved); a misspelled regime puts every signal of its agents "out of regime"
and feeds the ``regime_mismatch`` retirement rule. Each check compares a list the user wrote with
what the data holds up to ``as_of`` (:class:`Seen`), and offers the closest name when there is one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from metasup.model.artifacts import Artifacts
from metasup.model.registry import Registry
from metasup.model.review import AgentReport, ClassReport, Finding

SIMILARITY = 0.8
"""difflib ratio from which a name is offered as "did you mean …": one or two characters off in a
name of ten (TrendBot_v3 / TrendBot_v2: 0.91, trendng / trending: 0.93), not a sibling agent of
another generation with a longer name (momo-rookie / momo-slow: 0.6)."""

LISTED = 6
"""How many declarers and observed regimes an unknown-regime finding lists: evidence stays short."""


@dataclass(frozen=True)
class Seen:
    """What the artifacts hold up to ``as_of`` (any time, not only the window), to check names against."""

    signals: Mapping[str, int]
    """Signals per agent name."""
    regimes: frozenset[str]
    """Every regime a ``regime`` telemetry event reports."""
    symbols: frozenset[str]
    """Every symbol with at least one price bar."""

    @classmethod
    def of(cls, visible: Artifacts) -> Seen:
        """From artifacts already cut at ``as_of``: nothing later exists for a review (SPEC §3)."""
        counts = visible.signals["agent"].value_counts(sort=False)
        return cls(
            signals={str(agent): int(n) for agent, n in counts.items()},
            regimes=_distinct(visible.regimes["regime"]),
            symbols=_distinct(visible.prices["symbol"]),
        )


def _distinct(column: pd.Series) -> frozenset[str]:
    return frozenset(str(value) for value in pd.unique(column.dropna()))


def canonical(name: str) -> str:
    """``name`` without case or separators (``-``, ``_``, ``.``, blanks): ``Bot-v2`` ~ ``bot_v2``."""
    return re.sub(r"[-_.\s]+", "", name).casefold()


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate that differs from ``name`` only in case or separators, else difflib's closest
    at :data:`SIMILARITY` or more; ``None`` when nothing is that close (or only ``name`` itself)."""
    pool = sorted(set(candidates) - {name})
    same = [c for c in pool if canonical(c) == canonical(name)]
    if same:
        return same[0]
    near = difflib.get_close_matches(name, pool, n=1, cutoff=SIMILARITY)
    return near[0] if near else None


def kill_list_findings(
    kill_list: Sequence[str], agents: Sequence[AgentReport], classes: Sequence[ClassReport]
) -> list[Finding]:
    """A ``kill_list`` entry that is no agent or class in the registry or the data: it stops nothing.

    HIGH: the user meant to take something out of the fleet, and whatever it was keeps trading
    and keeps its capital. ``agents`` and ``classes`` hold the registry's names and the data's.
    """
    known = {a.agent for a in agents} | {c.name for c in classes}
    found: list[Finding] = []
    for entry in dict.fromkeys(kill_list):
        if entry in known:
            continue
        guess = closest(entry, known)
        found.append(
            Finding(
                kind="kill_list_unknown",
                title=f"kill_list entry {entry} matches no agent or strategy class",
                impact="It stops nothing: the agent or class it was meant to stop keeps trading and "
                "keeps its allocation.",
                evidence=f"no agent or strategy class named {entry} in agents.yaml or in the data"
                + (f"; did you mean {guess}?" if guess else ""),
                severity="HIGH",
            )
        )
    return found


def silent_agent_findings(agents: Sequence[AgentReport], seen: Seen) -> list[Finding]:
    """A registered agent (not retired) that no signal names: a renamed agent, or a typo in either file.

    MEDIUM: it sits "active" with empty metrics and no allocation, and nothing else says so. When
    an unregistered agent that does emit has a close name, the finding names it.
    """
    emitting_unregistered = [a.agent for a in agents if not a.registered and seen.signals.get(a.agent, 0)]
    found: list[Finding] = []
    for report in agents:
        if not report.registered or report.stage == "retired" or seen.signals.get(report.agent, 0):
            continue
        guess = closest(report.agent, emitting_unregistered)
        hint = (
            f"; did you mean {guess} ({seen.signals[guess]} signal(s), not in agents.yaml)?" if guess else ""
        )
        found.append(
            Finding(
                kind="registered_no_signals",
                title=f"No signal from registered agent {report.agent}",
                impact="It is judged on no data: empty metrics, no allocation, nothing to retire or promote.",
                evidence=f"agents.yaml lists {report.agent} (stage {report.stage}) but no signal "
                f"up to as_of names it{hint}",
                severity="MEDIUM",
                agent=report.agent,
            )
        )
    return found


def registered_suggestions(agents: Sequence[AgentReport], seen: Seen) -> dict[str, str]:
    """For each unregistered agent that looks like a registered one, what to say: "did you mean …".

    Any registered agent counts when only case or separators differ; a looser difflib match counts
    only against registered agents that emit nothing (the other half of a typo), so that a new
    ``momo-v3`` is not told it meant the running ``momo-v2``.
    """
    registered = [a.agent for a in agents if a.registered]
    silent = [name for name in registered if not seen.signals.get(name, 0)]
    suggestions: dict[str, str] = {}
    for report in agents:
        if report.registered:
            continue
        same = [name for name in registered if canonical(name) == canonical(report.agent)]
        guess = same[0] if same else closest(report.agent, silent)
        if guess is not None:
            no_data = "" if seen.signals.get(guess, 0) else ", which has no signal"
            suggestions[report.agent] = f"did you mean {guess} (in agents.yaml{no_data})?"
    return suggestions


def regime_findings(registry: Registry, seen: Seen) -> list[Finding]:
    """A regime declared in ``agents.yaml`` that no ``regime`` event ever reports.

    The spec gives regimes no fixed vocabulary (SPEC §2.2, §2.4), so the telemetry is the
    reference; without any regime event nothing is judged (then no signal can mismatch either).
    MEDIUM when the name is close to an observed regime: a typo, which makes every signal of its
    agents count as out of regime; LOW otherwise, as it may be a regime the market has not shown yet.
    Retired agents and killed classes are left out: their regimes no longer decide anything.
    """
    if not seen.regimes:
        return []
    declared_by: dict[str, list[str]] = {}
    for klass in registry.strategy_classes:
        if klass.status != "killed":
            for regime in klass.regimes:
                declared_by.setdefault(regime, []).append(f"class {klass.name}")
    for agent in registry.agents:
        if agent.stage != "retired":
            for regime in agent.regimes:
                declared_by.setdefault(regime, []).append(agent.name)
    observed = sorted(seen.regimes)
    found: list[Finding] = []
    for regime, declarers in declared_by.items():
        if regime in seen.regimes:
            continue
        guess = closest(regime, observed)
        agents = [d for d in declarers if not d.startswith("class ")]
        found.append(
            Finding(
                kind="regime_unseen",
                title=f"Regime {regime} never appears in the telemetry",
                impact="A signal counts as out of regime whenever the regime in force is not declared: "
                "an unseen name feeds regime_mismatch, a retirement rule.",
                evidence=f"declared by {_listed(declarers)} in agents.yaml; regimes in the telemetry: "
                f"{_listed(observed)}" + (f"; did you mean {guess}?" if guess else ""),
                severity="MEDIUM" if guess else "LOW",
                agent=agents[0] if len(declarers) == 1 and agents else None,
                strategy_class=declarers[0].removeprefix("class ")
                if len(declarers) == 1 and not agents
                else None,
            )
        )
    return found


def _listed(names: Sequence[str]) -> str:
    """The first :data:`LISTED` names, and how many more."""
    more = len(names) - LISTED
    return ", ".join(names[:LISTED]) + (f" and {more} more" if more > 0 else "")
