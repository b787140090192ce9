"""Statistics of SPEC §3.7 "Evidence of skill": is a track record skill or luck?

Bailey & López de Prado, *The Sharpe Ratio Efficient Frontier* (2012: PSR, MinTRL) and *The Deflated
Sharpe Ratio* (2014: DSR). Pure: arrays or numbers in, a ``float`` out, ``None`` (JSON ``null``) where a
statistic is undefined, never NaN. numpy and the standard library only, so the action's image stays
small: Student's t CDF is computed here (the tests check it against scipy). Units: a series holds one
value per booked day (a fraction, e.g. an excess return), so every Sharpe ratio is **per day, not
annualized** and ``n`` counts days.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

EULER_GAMMA = 0.5772156649015329  # Euler–Mascheroni, in the expected-maximum formula
_ZERO_SCALE = 1e-15  # a std ≤ _ZERO_SCALE·max(1, |mean|) is rounding noise around a constant
_DF_SERIES = 1e6  # above this many degrees of freedom, t's CDF may use its expansion about Φ
_CF_EPS, _CF_TINY = 1e-16, 1e-300
_NORMAL = NormalDist()
FloatArray = npt.NDArray[np.float64]


# --- Student's t ----------------------------------------------------------------------------------


def _stirling_tail(z: float) -> float:
    """``ln Γ(z) − ((z − ½)·ln z − z + ½·ln 2π)``; the first omitted term is below 2e-15 for z ≥ 20."""
    z2 = z * z
    return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * z2)) / z2) / z2) / z


def _ln_inv_4a_beta(a: float) -> float:
    """``−ln(4^a · B(a, a))``, the normalising constant of the symmetric incomplete beta.

    Straight from ``lgamma`` the terms are huge (~8e4 at a = 5000) and cancel to ~1e-11 of error; the
    Stirling form cancels ``2a·ln 2`` exactly instead.
    """
    if a < 20.0:
        return math.lgamma(2 * a) - 2 * math.lgamma(a) - 2 * a * math.log(2.0)
    return 0.5 * math.log(a / math.pi) - math.log(2.0) + _stirling_tail(2 * a) - 2 * _stirling_tail(a)


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function, modified Lentz (Numerical Recipes ``betacf``).

    Converges for ``x < (a + 1)/(a + b + 2)`` in O(√max(a, b)) terms (~400 at a = b = 5e5).
    """
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
    h = d
    for m in range(1, 20_000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _CF_TINY else _CF_TINY
            h *= d * c
        if abs(d * c - 1.0) < _CF_EPS:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def _t_lower_tail_series(t: float, df: float) -> float:
    """``P(T ≤ t) ≈ Φ(t) + φ(t)·(g1/ν + g2/ν²)``, the t law's expansion about the normal law in 1/ν.

    g1, g2 integrate the density's expansion term by term; the next term is ~(t⁴/ν)³/1400 of the
    tail, below 1e-12 where it is used (``t⁴ < 1e-3·ν``).
    """
    t2 = t * t
    g1 = -t * (t2 + 1) / 4
    g2 = -t * (t2 - 3) * (3 * t2 * t2 + 2 * t2 + 1) / 96
    phi = math.exp(-0.5 * t2) / math.sqrt(2 * math.pi)
    return 0.5 * math.erfc(-t / math.sqrt(2.0)) + phi * (g1 + g2 / df) / df


def student_t_cdf(x: float, df: float) -> float:
    """``P(T ≤ x)`` for Student's t with ``df`` degrees of freedom (any real ``df > 0``; ``inf`` gives Φ).

    The lower tail at ``t = −|x|`` is ``I_w(df/2, df/2)`` with ``w = ½ − |x|/(2·√(x² + df))``,
    evaluated without cancellation (``w = df/(2s(s + |x|))``, ``s = √(x² + df)``), so far tails keep
    their relative accuracy; the upper side is ``1 −`` that. Absolute error ≤ ~1e-13 for ``df`` from 1
    to 1e6; beyond, the 1/df expansion about the normal law is used. NaN ``x`` gives NaN.
    """
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if math.isnan(x) or x == 0.0:
        return x if math.isnan(x) else 0.5
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    t = -abs(x)
    if df > _DF_SERIES and t * t * t * t < 1e-3 * df:
        tail = _t_lower_tail_series(t, df)
    elif df > _DF_SERIES and t < -40.0:  # density below exp(-799): the tail underflows to 0
        tail = 0.0
    else:
        a = 0.5 * df
        s = math.hypot(t, math.sqrt(df))
        w = df / (2.0 * s * (s - t))
        tail = math.exp(_ln_inv_4a_beta(a) - a * math.log1p(t * t / df)) * _beta_cf(a, a, w) / a
    return 1.0 - tail if x > 0 else tail


# --- Moments and the Sharpe ratio -----------------------------------------------------------------


def _finite_1d(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _is_constant(spread: float, level: float) -> bool:
    """True when a standard deviation is only the rounding noise of a constant series."""
    return spread <= _ZERO_SCALE * max(1.0, abs(level))


def _centered(arr: FloatArray) -> FloatArray | None:
    """Deviations from the mean of ``n ≥ 2`` values, or ``None`` when their std (ddof 1) is zero."""
    mean = float(arr.mean())
    dev = arr - mean
    return None if _is_constant(math.sqrt(float(np.dot(dev, dev)) / (arr.size - 1)), mean) else dev


def moments(x: npt.ArrayLike) -> tuple[float, float, float, float] | None:
    """``(mean, std, skew, kurtosis)`` of a series, or ``None`` when its Sharpe ratio is undefined.

    ``std`` has ``ddof=1``; ``skew`` and ``kurtosis`` are the *biased* sample moments ``m3/m2^1.5``
    and ``m4/m2²`` (kurtosis Pearson: 3 for a normal law), as ``scipy.stats.skew(x)`` and
    ``scipy.stats.kurtosis(x, fisher=False)`` — the estimators the PSR's variance formula is stated
    with. ``None`` when ``n < 2`` or ``std`` is zero; a constant series whose values are not exactly
    representable (``[0.1] * 7``) counts as zero: ``std ≤ 1e-15 · max(1, |mean|)``. Non-finite input
    raises ``ValueError``.
    """
    arr = _finite_1d(x, "x")
    n = arr.size
    dev = _centered(arr) if n >= 2 else None
    if dev is None:
        return None
    m2 = float(np.dot(dev, dev)) / n
    skew = float(np.mean(dev**3)) / m2**1.5
    kurt = float(np.mean(dev**4)) / (m2 * m2)
    return float(arr.mean()), math.sqrt(m2 * n / (n - 1)), skew, kurt


def sharpe(x: npt.ArrayLike) -> float | None:
    """``mean(x)/std(x, ddof=1)`` per observation (not annualized); ``None`` as for :func:`moments`."""
    m = moments(x)
    return None if m is None else m[0] / m[1]


def q_factor(sr: float, skew: float, kurt: float) -> float:
    """``q = 1 − skew·SR + (kurt − 1)/4 · SR²``: the SR estimator's variance is ``q/(n − 1)``.

    ``kurt`` is Pearson's (3 for a normal law). Negative skew and fat tails widen the estimate's
    uncertainty. For moments of one real sample ``kurt ≥ skew² + 1``, hence ``q ≥ (1 − skew·SR/2)² ≥ 0``:
    a negative ``q`` only comes from inconsistent inputs.
    """
    return 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr


def overlap_factor(weekdays: npt.ArrayLike, holding: float) -> float:
    """How many times over a series counts the same market days: ``n / overlap`` of its values are
    independent. ``1`` when no two values' holding periods overlap.

    A value booked on weekday ``d`` is the return of signals held the ``holding`` weekdays before
    it (their notional-weighted mean), so two values ``g`` weekdays apart share ``holding − g`` of
    those days when ``g < holding``: with returns independent from day to day, their correlation
    is ``(holding − g)/holding``, and the variance of the series' sum is that of ``n`` independent
    values times ``1 + 2/n · Σ_{i<j} max(0, holding − g_ij)/holding`` (the Hansen–Hodrick count
    of overlapping observations). One signal a day held five days gives 5 − 8/n: each day's value
    repeats four fifths of the day before. Without it a coin-flipper holding five days passed the
    skill gate one time in five instead of one in twenty (``docs/gates.md``, "Overlapping
    holding periods").
    """
    days = np.asarray(weekdays, dtype=np.int64)
    if holding <= 1.0 or days.size < 2:
        return 1.0
    shared = 0.0
    for lag in range(1, days.size):
        gaps = days[lag:] - days[:-lag]
        close = gaps < holding
        if not close.any():
            break  # the days ascend: a longer lag only widens the gaps
        shared += float(np.sum(holding - gaps[close])) / holding
    return 1.0 + 2.0 * shared / days.size


def psr(sr: float, n: float, q: float, sr_star: float = 0.0) -> float | None:
    """Probabilistic Sharpe ratio: the confidence that the true per-day SR exceeds ``sr_star``.

    ``T_{n−1}((SR − SR*)·√(n − 1)/√q)``. The paper writes Φ, the large-``n`` limit; with one or two
    months of days Φ over-approves, Student's t with ``n − 1`` degrees of freedom keeps the promised
    rate. ``sr_star = SR0`` of :func:`expected_max_sharpe` gives the deflated Sharpe ratio (DSR).
    ``n`` may be an effective number of observations (``n / overlap_factor``), not a whole number.
    ``None`` when ``n < 2``, ``q ≤ 0`` or an input is not finite.
    """
    if not n >= 2 or not q > 0 or not all(math.isfinite(v) for v in (sr, q, sr_star)):
        return None
    return student_t_cdf((sr - sr_star) * math.sqrt(n - 1) / math.sqrt(q), n - 1)


def expected_max_sharpe(variance: float, trials: int) -> float:
    """``SR0``: the Sharpe ratio the best of ``trials`` skill-less strategies reaches by luck alone.

    ``√V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))`` (DSR paper, eq. 1 with zero mean), ``V`` the
    variance across trials of their SR, in the SR's units squared (per day here). ``0.0`` when
    ``N < 2`` or ``V ≤ 0``: nothing was selected, there is no selection bias.
    """
    if trials < 2 or not variance > 0:
        return 0.0
    z = (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / trials)
    z += EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (trials * math.e))
    return math.sqrt(variance) * z


def min_track_record(
    sr: float, q: float, min_psr: float, max_days: int = 10_000, sr_star: float = 0.0, overlap: float = 1.0
) -> int | None:
    """MinTRL: the fewest days ``n' ≥ 2`` whose PSR(SR*) would reach ``min_psr`` if SR and q held.

    The smallest integer with ``T_{n'−1}((SR − SR*)·√(n' − 1)/√q) ≥ min_psr``; against SR* = 0 its
    large-``n`` form is the paper's ``1 + q·(Φ⁻¹(min_psr)/SR)²``. For ``SR > SR*`` the left side
    increases with ``n'`` (larger argument, thinner tails), so integer bisection needs ~14 CDF
    evaluations over 10 000 days. ``SR*`` = SR0 gives the record the deflated Sharpe ratio needs.
    With ``overlap`` (:func:`overlap_factor`, assumed to hold as the record grows) ``n'`` days count
    as ``n'/overlap`` observations. ``None`` when ``SR ≤ SR*``, ``q ≤ 0``, or ``max_days`` is not
    enough. ``min_psr`` must be in (0, 1).
    """
    if not 0.0 < min_psr < 1.0:
        raise ValueError(f"min_psr must be in (0, 1), got {min_psr}")
    edge = sr - sr_star
    if not (edge > 0 and q > 0 and math.isfinite(edge) and math.isfinite(q)) or max_days < 2:
        return None

    def reached(days: int) -> bool:
        effective = days / overlap  # days whose values repeat each other count as fewer
        return (
            effective >= 2
            and student_t_cdf(edge * math.sqrt(effective - 1) / math.sqrt(q), effective - 1) >= min_psr
        )

    lo, hi = 2, max_days
    if reached(lo):
        return lo
    if not reached(hi):
        return None
    while hi - lo > 1:  # invariant: not reached(lo), reached(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reached(mid) else (mid, hi)
    return hi


def eligible_in_days(min_trl: int | None, n: int, min_days: int = 0) -> int | None:
    """Days still to record before the skill gate can pass: ``max(0, ⌈min_trl − n⌉, min_days − n)``.

    ``min_days`` is the gate's own floor (``promotion.min_skill_days``): a record that would meet
    MinTRL in fewer days is still not long enough to be judged. ``None`` without MinTRL.
    """
    return None if min_trl is None else max(0, math.ceil(min_trl - n), min_days - n)


# --- Against the prod book ------------------------------------------------------------------------


def _pair(x: npt.ArrayLike, y: npt.ArrayLike, names: tuple[str, str]) -> tuple[FloatArray, FloatArray]:
    a, b = _finite_1d(x, names[0]), _finite_1d(y, names[1])
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} differ in length: {a.size} vs {b.size}")
    return a, b


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> float | None:
    """Pearson's ρ of paired series (same days); ``None`` under 2 pairs or for a constant series."""
    a, b = _pair(x, y, ("x", "y"))
    if a.size < 2:
        return None
    da, db = _centered(a), _centered(b)
    if da is None or db is None:
        return None
    rho = float(np.dot(da, db)) / math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    return max(-1.0, min(1.0, rho))


def marginal_alpha(x: npt.ArrayLike, p: npt.ArrayLike) -> tuple[float, float | None] | None:
    """Intercept ``a`` of the least-squares fit ``x = a + b·p`` and its t-statistic.

    ``a`` is what the agent earns per day beyond its exposure ``b`` to the prod book ``p`` (same units
    as ``x``). The intercept's standard error is ``s·√(1/n + p̄²/Σ(p − p̄)²)`` with ``s² = SSR/(n − 2)``.
    ``None`` when ``n < 3`` or ``p`` is constant; the t-statistic is ``None`` for a perfect fit
    (residual std ≤ 1e-15 of the data's scale: only rounding noise is left).
    """
    xs, ps = _pair(x, p, ("x", "p"))
    n = xs.size
    dp = _centered(ps) if n >= 3 else None
    if dp is None:
        return None
    p_bar, x_bar = float(ps.mean()), float(xs.mean())
    spp = float(np.dot(dp, dp))
    b = float(np.dot(dp, xs - x_bar)) / spp
    a = x_bar - b * p_bar
    resid = xs - (a + b * ps)
    s = math.sqrt(float(np.dot(resid, resid)) / (n - 2))
    if _is_constant(s, max(float(np.max(np.abs(xs))), abs(a), abs(b * p_bar))):
        return a, None
    return a, a / (s * math.sqrt(1.0 / n + p_bar * p_bar / spp))


# --- Calibration ----------------------------------------------------------------------------------


def murphy(
    confidence: npt.ArrayLike, outcome: npt.ArrayLike, bins: int = 10
) -> tuple[float, float, float] | None:
    """Murphy decomposition of the Brier score: ``(reliability, resolution, uncertainty)``.

    Confidences are grouped in ``bins`` equal-width bins of [0, 1], bin ``k = ⌊c·bins⌋`` (a confidence
    of exactly 1.0 falls in the last bin). With ``f̄_k``, ``ō_k`` the mean confidence and mean outcome
    of the ``n_k`` forecasts in bin ``k``, and ``ō`` the overall mean outcome:

    * ``reliability = Σ_k n_k/N · (f̄_k − ō_k)²`` — miscalibration, 0 is perfect;
    * ``resolution  = Σ_k n_k/N · (ō_k − ō)²`` — how much the bins tell outcomes apart;
    * ``uncertainty = ō·(1 − ō)`` — the Brier score of always forecasting ``ō``.

    Forecasts inside a bin differ from its mean, so the textbook identity needs two within-bin terms
    (Stephenson, Coelho & Jolliffe 2008, "Two extra components in the Brier score decomposition"):
    ``brier = reliability − resolution + uncertainty + WBV − 2·WBC`` with ``WBV = 1/N Σ_i (f_i − f̄_k)²``
    and ``WBC = 1/N Σ_i (f_i − f̄_k)(o_i − ō_k)``, ``k`` the bin of ``i``. Outcomes must be 0/1 and
    confidences in [0, 1] (else ``ValueError``). ``None`` for empty input.
    """
    k, f, o = brier_bins(confidence, outcome, bins)
    if f.size == 0:
        return None
    n_k = np.bincount(k, minlength=bins)
    return murphy_from_sums(
        n_k, np.bincount(k, weights=f, minlength=bins), np.bincount(k, weights=o, minlength=bins)
    )


def brier_bins(
    confidence: npt.ArrayLike, outcome: npt.ArrayLike, bins: int = 10
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """``(k, f, o)``: each forecast's bin ``k = min(⌊f·bins⌋, bins − 1)``, the forecasts and outcomes.

    Validates as :func:`murphy` documents (``ValueError`` for bad input).
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    f, o = _pair(confidence, outcome, ("confidence", "outcome"))
    if np.any((f < 0.0) | (f > 1.0)):
        raise ValueError("confidence must be in [0, 1]")
    if np.any((o != 0.0) & (o != 1.0)):
        raise ValueError("outcome must be 0 or 1")
    return np.minimum((f * bins).astype(np.int64), bins - 1), f, o


def murphy_from_sums(
    count: npt.ArrayLike, confidence_sum: npt.ArrayLike, outcome_sum: npt.ArrayLike
) -> tuple[float, float, float] | None:
    """:func:`murphy` from per-bin sums: ``n_k``, ``Σ f`` and ``Σ o`` of each bin (empty bins allowed).

    The sums add up over any split of the forecasts, so a distributed engine merges them before this.
    ``None`` when no bin holds a forecast.
    """
    n_all = np.asarray(count, dtype=np.float64)
    n = int(n_all.sum())
    if n == 0:
        return None
    used = n_all > 0
    n_k = n_all[used]
    f_k = np.asarray(confidence_sum, dtype=np.float64)[used] / n_k
    outcomes = np.asarray(outcome_sum, dtype=np.float64)
    o_k = outcomes[used] / n_k
    o_bar = float(outcomes.sum()) / n  # outcomes are 0/1: the sum is exact, as is their mean
    reliability = float(np.dot(n_k, (f_k - o_k) ** 2)) / n
    resolution = float(np.dot(n_k, (o_k - o_bar) ** 2)) / n
    return reliability, resolution, o_bar * (1.0 - o_bar)
