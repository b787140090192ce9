"""The metrics' groups: which agents and strategy classes there are, and every row's group codes.

Agents are the registry's plus every agent seen in the data; an agent's class is the registry's,
else the most common class of its signals; a signal's class is its own, else its agent's. Codes
are positions in the list of names (``NO_GROUP`` for a row without one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from metasup.evaluate.columns import NO_GROUP, IntArray, codes
from metasup.model.registry import UNCLASSIFIED, Registry


def collect_agent_names(registry: Registry, frames: Iterable[pd.DataFrame]) -> list[str]:
    """Registry agents in registry order, then every other agent seen in ``frames``, sorted."""
    registered = [agent.name for agent in registry.agents]
    seen: set[str] = set()
    for frame in frames:
        seen.update(str(name) for name in pd.unique(frame["agent"].dropna()))
    return registered + sorted(seen - set(registered))


def resolve_agent_classes(
    registry: Registry, agent_names: Sequence[str], signals: pd.DataFrame
) -> dict[str, str]:
    """The registry's class, else the most common ``strategy_class`` of the agent's signals.

    A tie between equally common classes goes to the alphabetically first one, so the answer does
    not depend on row order. An agent with neither is ``unclassified``.
    """
    from_signals = most_common_class(signals)
    resolved: dict[str, str] = {}
    for name in agent_names:
        agent = registry.agent(name)
        registered_class = agent.strategy_class if agent is not None else None
        resolved[name] = registered_class or from_signals.get(name, UNCLASSIFIED)
    return resolved


def most_common_class(signals: pd.DataFrame) -> dict[str, str]:
    """Per agent, the ``strategy_class`` most of its signals carry (ties: alphabetical)."""
    labelled = signals.loc[
        signals["strategy_class"].notna() & signals["agent"].notna(), ["agent", "strategy_class"]
    ]
    if labelled.empty:
        return {}
    counts = (
        labelled.groupby(["agent", "strategy_class"], sort=False, observed=True)
        .size()
        .rename("n")
        .reset_index()
    )
    ranked = counts.sort_values(
        ["agent", "n", "strategy_class"], ascending=[True, False, True], kind="stable"
    )
    first = ranked.drop_duplicates("agent")
    return {
        str(agent): str(klass) for agent, klass in zip(first["agent"], first["strategy_class"], strict=True)
    }


def collect_class_names(
    registry: Registry, agent_classes: Iterable[str], signal_classes: pd.Series
) -> list[str]:
    """Registry classes in registry order, then every other class an agent or a signal is in, sorted."""
    registered = [klass.name for klass in registry.strategy_classes]
    seen = set(agent_classes) | {str(name) for name in pd.unique(signal_classes.dropna())}
    return registered + sorted(seen - set(registered))


def declared_regimes(registry: Registry, agent_name: str, agent_class: str) -> list[str]:
    """The agent's regimes, else its class's, else any (empty) — SPEC §2.4.

    ``Registry.declared_regimes`` covers registered agents with a registered class; an agent whose
    class comes from its signals (unregistered, or registered without a class) falls back to that
    class's regimes when the registry declares the class.
    """
    declared = registry.declared_regimes(agent_name)
    if declared:
        return declared
    klass = registry.strategy_class(agent_class)
    return list(klass.regimes) if klass is not None else []


def signal_class_codes_for(
    strategy_class: pd.Series, agent_codes: IntArray, class_index: pd.Index, class_code_of_agent: IntArray
) -> IntArray:
    """A signal's class is its own ``strategy_class``, else its agent's class."""
    own = codes(class_index, strategy_class)
    inherited = class_codes_of(agent_codes, class_code_of_agent)
    return np.where(own >= 0, own, inherited).astype(np.int64, copy=False)


def class_codes_of(agent_codes: IntArray, class_code_of_agent: IntArray) -> IntArray:
    """Map agent codes to the codes of the agents' classes (``NO_GROUP`` stays ``NO_GROUP``)."""
    if len(class_code_of_agent) == 0:
        return np.full(len(agent_codes), NO_GROUP, dtype=np.int64)
    mapped = class_code_of_agent[np.where(agent_codes >= 0, agent_codes, 0)]
    return np.where(agent_codes >= 0, mapped, NO_GROUP).astype(np.int64, copy=False)
