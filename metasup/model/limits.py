"""The largest (and smallest) values metasup accepts from its inputs, in one place.

float64 holds numbers up to about 1.8e308, and a review squares and sums what it reads: a
notional of 1e308 turned the review into NaN, a price of 1e-320 made a return infinite. These
limits are far beyond any real position, instrument or setting, and keep every intermediate
finite: a PnL is at most notional × price ratio = 1e15 × 1e24 = 1e39, its square 1e78, a
return's fourth power (kurtosis) 1e96, summed over a billion rows still under 1e106. A value
beyond them is a typo or a corrupted line: a rejected line (``ingest``) or a config error, named.
"""

from __future__ import annotations

from typing import Final

MAX_YEARS: Final = 100
"""Longest accepted duration, in years (horizons, windows, track records, cool-downs)."""

MAX_DURATION_SECONDS: Final = MAX_YEARS * 366 * 86400
""":data:`MAX_YEARS` in seconds: ``ts + horizon`` and ``as_of - window`` stay inside datetime64[ns]."""

MAX_USD: Final = 1e15
"""Largest accepted amount of dollars in one value (a notional, a run's cost): a quadrillion."""

MIN_PRICE: Final = 1e-12
MAX_PRICE: Final = 1e12
"""Accepted price bars lie in [MIN_PRICE, MAX_PRICE]: a price ratio of at most 1e24."""

MAX_TRIALS: Final = 10**9
"""Most strategies a deflated Sharpe ratio may be told were tried (``promotion.trials``): beyond
2**53, ``1 − 1/N`` rounds to 1 and the normal quantile of the expected maximum is infinite."""
