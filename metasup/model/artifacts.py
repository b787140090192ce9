"""The loaded artifacts every wing shares: validated frames, not their loading (that is ``ingest``).

Columns and dtypes of each frame are in ``docs/data-model.md``. This is also where the one
``as_of`` cut lives (SPEC §3: nothing after ``as_of`` exists for an evaluation): the supervisor
cuts the artifacts once with :meth:`Artifacts.until`, and ``reconcile`` — the only other place
that must never see a later bar, since it is also called on its own — cuts with :func:`until`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from metasup.model.review import DataQuality
from metasup.model.timestamps import NAT_NS, epoch_ns, utc


def until(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``frame`` whose ``ts`` is at or before ``as_of``; ``frame`` itself when all are."""
    stamps = epoch_ns(frame["ts"])
    cut = utc(as_of).value
    if len(stamps) == 0 or (stamps.max() <= cut and stamps.min() != NAT_NS):
        return frame  # nothing later, no NaT (usual): two reductions, no mask, no copy
    kept = (stamps <= cut) & (stamps != NAT_NS)  # on int64: 4x pandas' comparison
    kept_rows: pd.DataFrame = frame.loc[kept]
    return kept_rows


@dataclass(frozen=True)
class Artifacts:
    """Validated inputs of one evaluation; every rejected line is accounted for in ``data_quality``."""

    signals: pd.DataFrame
    costs: pd.DataFrame
    evals: pd.DataFrame
    violations: pd.DataFrame
    regimes: pd.DataFrame
    prices: pd.DataFrame
    data_quality: DataQuality

    def until(self, as_of: pd.Timestamp) -> Artifacts:
        """The same artifacts as if the data ended at ``as_of`` (SPEC §3: nothing later exists)."""
        return replace(
            self,
            signals=until(self.signals, as_of),
            costs=until(self.costs, as_of),
            evals=until(self.evals, as_of),
            violations=until(self.violations, as_of),
            regimes=until(self.regimes, as_of),
            prices=until(self.prices, as_of),
        )
