"""Per-(agent, booked day) sums behind the skill series of SPEC §3.7, mergeable across partitions.

``x_d = Σ notional·e / Σ notional`` over an agent's signals realized inside the track record
``T = (as_of − track_record, as_of]`` and booked on UTC weekday ``d`` (a weekend exit is booked on the
next Monday). The two sums add up over any split of the signals, so a distributed engine reduces
each partition to them and the driver adds them (:func:`merge_skill_sums`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pandas as pd

from metasup.evaluate.columns import codes
from metasup.evaluate.row_facts import status_at
from metasup.evaluate.windows import Windows
from metasup.model.config import Config
from metasup.model.timestamps import utc

TRACK_RECORD = timedelta(days=180)
"""SPEC §3.7 default ``promotion.track_record``."""
SKILL_SUM_COLUMNS = ("agent", "day", "weighted_excess", "notional")
_DAY_NS = 86_400_000_000_000


def skill_day_sums(
    recon: pd.DataFrame,
    agent_names: Sequence[str],
    config: Config,
    as_of: pd.Timestamp,
    track_record: timedelta = TRACK_RECORD,
) -> pd.DataFrame:
    """``agent`` (code in ``agent_names``), ``day`` (UTC midnight, ns), Σ notional·excess, Σ notional."""
    windows = Windows.from_config(utc(as_of), config.windows)
    realized, _, _ = status_at(recon, windows, config)
    span = max(track_record, config.windows.window)
    exit_ns = windows.as_of_ns - windows.ages(recon["exit_ts"])
    inside = realized & (windows.ages(recon["exit_ts"]) < pd.Timedelta(span).value)
    agent = codes(pd.Index(list(agent_names), dtype=object), recon["agent"])
    inside &= agent >= 0
    day = exit_ns[inside] // _DAY_NS * _DAY_NS
    weekday = (day // _DAY_NS + 3) % 7  # 1970-01-01 was a Thursday (3)
    day = day + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0)) * _DAY_NS
    notional = recon["notional"].to_numpy(dtype=np.float64, na_value=np.nan)[inside]
    excess = recon["excess"].to_numpy(dtype=np.float64, na_value=np.nan)[inside]
    frame = pd.DataFrame(
        {"agent": agent[inside], "day": day, "weighted_excess": notional * excess, "notional": notional}
    )
    return frame.groupby(["agent", "day"], as_index=False, sort=True).sum()


def merge_skill_sums(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The sums of the union of the parts' signals, sorted by agent then day."""
    frames = [part for part in parts if len(part)]
    if not frames:
        return pd.DataFrame({name: np.empty(0, dtype=np.float64) for name in SKILL_SUM_COLUMNS})
    return pd.concat(frames, ignore_index=True).groupby(["agent", "day"], as_index=False, sort=True).sum()
