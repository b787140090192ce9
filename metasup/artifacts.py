"""Load and validate the artifacts: signals, telemetry and prices (SPEC §2).

The frames' columns are documented in ``docs/data-model.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from metasup.review import DataQuality


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

        def cut(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.loc[frame["ts"] <= as_of]

        return replace(
            self,
            signals=cut(self.signals),
            costs=cut(self.costs),
            evals=cut(self.evals),
            violations=cut(self.violations),
            regimes=cut(self.regimes),
            prices=cut(self.prices),
        )
