"""Findings about data a decision needed and did not have (SPEC §2.6: stale or empty data is loud).

Two cases where the numbers look fine but rest on nothing: a benchmark symbol with no bar at all
(every benchmark return counts as 0, so excess returns silently equal raw returns and market beta
passes for skill), and a retirement that the rules would have decided had a single signal been
realized (``retirement.py``: ``cost_over_value`` needs a measured PnL), typically because the
prices are empty, stale or lack the subject's symbols.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from metasup.evaluate.findings_names import Seen, closest
from metasup.evaluate.promotion import usd
from metasup.evaluate.retirement import pnl_missing
from metasup.model.config import Config
from metasup.model.review import AgentReport, ClassReport, DataQuality, Finding, Metrics, Retirement


def benchmark_findings(config: Config, data_quality: DataQuality, seen: Seen) -> list[Finding]:
    """``benchmark`` names a symbol without a single bar up to ``as_of``: HIGH.

    Not judged when there is no price bar at all (the "No price bars" finding says more) or no
    benchmark is configured. The per-signal ``benchmark_missing`` finding is then redundant.
    """
    benchmark = config.benchmark
    if benchmark is None or not seen.symbols or benchmark in seen.symbols:
        return []
    guess = closest(benchmark, seen.symbols)
    files = prices_files(data_quality, config.artifacts.prices)
    return [
        Finding(
            kind="benchmark_absent",
            title=f"Benchmark {benchmark} has no price bar",
            impact="Alpha, the skill gate and demotion measure raw returns: market moves count as skill.",
            evidence=f"benchmark {benchmark} has no bars in {files}"
            ": every excess return is the raw return" + (f"; did you mean {guess}?" if guess else ""),
            severity="HIGH",
        )
    ]


def prices_files(data_quality: DataQuality, configured: Path) -> str:
    """The prices file(s) as ``data_quality`` names them (relative to the working directory).

    A shown path belongs to the prices when it starts with the configured path's last parts
    (``market/prices.csv`` for ``/ws/market/prices.csv``, ``market/prices/a.csv`` for a folder);
    the configured path itself when none does.
    """
    tail = PurePosixPath(configured.as_posix()).parts
    names = [
        f.path
        for f in data_quality.files
        if any(PurePosixPath(f.path).parts[:k] == tail[-k:] for k in range(1, len(tail) + 1))
    ]
    return ", ".join(names) if names else configured.as_posix()


def held_retirement_findings(
    agents: Sequence[AgentReport], classes: Sequence[ClassReport], min_rules: int
) -> list[Finding]:
    """A subject the rules would have killed, had ``cost_over_value`` been judged on a realized signal.

    MEDIUM: the fleet keeps something it may have to retire, and the reason is missing prices.
    Only subjects a kill could reach: not retired agents, registered classes not killed already.
    """
    subjects: list[tuple[str, Metrics, Retirement, bool]] = [
        (a.agent, a.metrics, a.retirement, False) for a in agents if a.stage != "retired"
    ]
    subjects += [
        (c.name, c.metrics, c.retirement, True)
        for c in classes
        if c.registered and c.registry_status != "killed"
    ]
    found: list[Finding] = []
    for name, metrics, retirement, is_class in subjects:
        fired = [rule.name for rule in retirement.rules if rule.triggered]
        cost = metrics.cost_30d
        if not pnl_missing(metrics) or not math.isfinite(cost) or cost <= 0 or len(fired) + 1 < min_rules:
            continue
        subject = f"strategy class {name}" if is_class else name
        also = f"; also fired: {', '.join(fired)}" if fired else ""
        found.append(
            Finding(
                kind="retirement_no_data",
                title=f"Retirement of {subject} not judged: its signals found no price bar",
                impact="cost_over_value needs a realized PnL, so no kill rests on missing prices; "
                "with prices it may be retired.",
                evidence=f"cost {usd(cost, 2)} and 0 signals realized in the window "
                f"({metrics.signals_emitted} emitted: {metrics.signals_open} open, "
                f"{metrics.signals_no_price} without a price bar){also}",
                severity="MEDIUM",
                agent=None if is_class else name,
                strategy_class=name if is_class else None,
            )
        )
    return found
