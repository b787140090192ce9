"""Skill statistics (SPEC §3.7) against independent references.

scipy (Student's t, moments, Pearson, OLS), jsharpe (another package's PSR/DSR formulas), the worked
example of the DSR paper, closed forms, brute-force scans and naive loops. The module under test uses
none of them at run time.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import empyrical as ep
import jsharpe
import numpy as np
import numpy.typing as npt
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

from metasup.evaluate.skill_stats import (
    eligible_in_days,
    expected_max_sharpe,
    marginal_alpha,
    min_track_record,
    moments,
    murphy,
    overlap_factor,
    pearson,
    psr,
    q_factor,
    sharpe,
    student_t_cdf,
)

FloatArray = npt.NDArray[np.float64]
DFS = [1, 2, 3, 5, 9, 30, 59, 179, 1000, 10_000]
PHI = NormalDist()


def t_ref(x: float, df: float) -> float:
    """scipy's t CDF, except at df = 1 where the exact Cauchy law is used.

    scipy 1.17's ``t.cdf(x, 1)`` is off by ~1.6e-9 at ``|x| = 1e-8`` (measured against
    ``½ + atan(x)/π``), more than the tolerance here.
    """
    return 0.5 + math.atan(x) / math.pi if df == 1 else float(st.t.cdf(x, df))


def samples() -> list[FloatArray]:
    """Series of different shapes: short, normal, skewed, fat-tailed, and daily-return-like."""
    rng = np.random.default_rng(20240601)
    return [
        np.array([0.01, -0.02]),
        np.array([1.0, 2.0, 4.0]),
        rng.normal(0.001, 0.01, 30),
        rng.lognormal(0.0, 1.0, 60) - 1.5,
        rng.standard_t(3, 200) * 0.02,
        rng.exponential(0.01, 500) - 0.008,
    ]


# --------------------------------------------------------------------------------------------
# student_t_cdf
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("df", DFS)
def test_student_t_cdf__matches_scipy_on_grid(df: int) -> None:
    xs = [*np.linspace(-50.0, 50.0, 1001), 0.0, -math.inf, math.inf]
    ours = np.array([student_t_cdf(float(x), df) for x in xs])
    np.testing.assert_allclose(ours, st.t.cdf(xs, df), rtol=0, atol=1e-10)


@pytest.mark.parametrize("df", [1, 3, 30, 1000, 10_000, 1e5, 1e6, 1e6 + 1, 1e8, 1e12])
def test_student_t_cdf__lower_tail_keeps_relative_accuracy(df: float) -> None:
    """Far tails are not computed as ``1 − (1 − tiny)``: PSR of a bad agent is a tiny number, not 0."""
    xs = -np.logspace(0, 4, 60)
    ref = st.t.cdf(xs, df)
    keep = ref > 1e-300
    ours = np.array([student_t_cdf(float(x), df) for x in xs[keep]])
    np.testing.assert_allclose(ours, ref[keep], rtol=1e-9, atol=0)
    assert ours.min() > 0.0


@pytest.mark.parametrize("df", [1e5, 1e6, 1e6 + 1, 1e7, 1e9, 1e15])
def test_student_t_cdf__large_df_matches_scipy(df: float) -> None:
    xs = np.linspace(-40.0, 40.0, 801)
    ours = np.array([student_t_cdf(float(x), df) for x in xs])
    np.testing.assert_allclose(ours, st.t.cdf(xs, df), rtol=0, atol=1e-12)


@pytest.mark.parametrize("x", [-1e6, -3.0, -1e-8, 1e-12, 0.5, 7.0, 1e300])
def test_student_t_cdf__closed_forms_for_one_and_two_df(x: float) -> None:
    assert student_t_cdf(x, 1) == pytest.approx(0.5 + math.atan(x) / math.pi, rel=1e-13, abs=1e-16)
    two = 0.5 + x / (2.0 * math.sqrt(2.0 + x * x)) if abs(x) < 1e100 else (1.0 if x > 0 else 0.0)
    assert student_t_cdf(x, 2) == pytest.approx(two, rel=1e-13, abs=1e-16)


def test_student_t_cdf__infinite_df_is_the_normal_law() -> None:
    for x in (-8.0, -1.96, 0.3, 2.5):
        assert student_t_cdf(x, math.inf) == pytest.approx(PHI.cdf(x), rel=1e-13)


@settings(max_examples=300, deadline=None)
@given(
    x=hs.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
    df=hs.floats(min_value=1.0, max_value=2e4, allow_nan=False),
)
def test_student_t_cdf__matches_scipy_for_random_arguments(x: float, df: float) -> None:
    assert student_t_cdf(x, df) == pytest.approx(t_ref(x, df), rel=0, abs=1e-10)


@settings(max_examples=200, deadline=None)
@given(
    x=hs.floats(allow_nan=False, allow_infinity=True),
    df=hs.floats(min_value=1.0, max_value=1e12, allow_nan=False),
)
def test_student_t_cdf__handles_any_real_argument(x: float, df: float) -> None:
    lower, upper = student_t_cdf(x, df), student_t_cdf(-x, df)
    assert 0.0 <= lower <= 1.0
    assert lower + upper == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("df", [0.0, -1.0, math.nan])
def test_student_t_cdf__invalid_df_raises(df: float) -> None:
    with pytest.raises(ValueError, match="degrees of freedom"):
        student_t_cdf(1.0, df)


def test_student_t_cdf__nan_argument_gives_nan() -> None:
    assert math.isnan(student_t_cdf(math.nan, 5))


# --------------------------------------------------------------------------------------------
# moments, sharpe, q_factor
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", samples(), ids=lambda a: f"n{a.size}")
def test_moments__matches_scipy(x: FloatArray) -> None:
    got = moments(x)
    assert got is not None
    mean, std, skew, kurt = got
    assert mean == pytest.approx(float(np.mean(x)), rel=1e-12)
    assert std == pytest.approx(float(np.std(x, ddof=1)), rel=1e-12)
    assert skew == pytest.approx(float(st.skew(x)), rel=1e-9, abs=1e-12)
    assert kurt == pytest.approx(float(st.kurtosis(x, fisher=False)), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, hs.integers(2, 60), elements=hs.floats(-1e3, 1e3)))
def test_moments__matches_scipy_for_random_series(x: FloatArray) -> None:
    got = moments(x)
    spread = float(np.std(x, ddof=1))
    if spread <= 1e-9 * max(1.0, float(np.max(np.abs(x)))):  # scipy's own moments are noise there
        return
    assert got is not None
    assert got[1] == pytest.approx(spread, rel=1e-9)
    assert got[2] == pytest.approx(float(st.skew(x)), rel=1e-6, abs=1e-6)
    assert got[3] == pytest.approx(float(st.kurtosis(x, fisher=False)), rel=1e-6)


@pytest.mark.parametrize("x", [[], [0.5]])
def test_moments__too_short_is_none(x: list[float]) -> None:
    assert moments(np.array(x)) is None
    assert sharpe(np.array(x)) is None


@pytest.mark.parametrize(("value", "n"), [(3.0, 5), (0.1, 7), (0.7, 100), (1e6 + 0.1, 7), (0.0, 4)])
def test_moments__constant_series_is_none_despite_rounding(value: float, n: int) -> None:
    x = np.full(n, value)
    assert moments(x) is None
    assert sharpe(x) is None


def test_moments__rounding_case_is_real() -> None:
    """numpy's own std of ``[0.1] * 7`` is not 0: the tolerance in :func:`moments` is needed."""
    assert float(np.std(np.full(7, 0.1), ddof=1)) > 0.0


def test_moments__non_finite_raises() -> None:
    with pytest.raises(ValueError, match="finite"):
        moments(np.array([0.1, math.nan, 0.2]))


@pytest.mark.parametrize("x", samples(), ids=lambda a: f"n{a.size}")
def test_sharpe__matches_numpy_and_empyrical(x: FloatArray) -> None:
    got = sharpe(x)
    assert got is not None
    assert got == pytest.approx(float(np.mean(x) / np.std(x, ddof=1)), rel=1e-12)
    assert got * math.sqrt(252) == pytest.approx(float(ep.sharpe_ratio(x)), rel=1e-12)


def test_q_factor__matches_jsharpe_variance() -> None:
    """jsharpe's asymptotic SR variance with T = 1 (and no autocorrelation) is q itself."""
    for sr, g3, g4 in [(0.0, 0.0, 3.0), (0.3, -1.2, 7.0), (0.158, -3.0, 10.0), (-0.4, 0.8, 4.5)]:
        ref = jsharpe.sharpe_ratio_variance(sr, 1, gamma3=g3, gamma4=g4)
        assert q_factor(sr, g3, g4) == pytest.approx(ref, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, hs.integers(2, 40), elements=hs.floats(-1.0, 1.0)))
def test_q_factor__is_not_negative_for_a_real_sample(x: FloatArray) -> None:
    """Pearson's inequality kurt ≥ skew² + 1 makes q ≥ (1 − skew·SR/2)² for real sample moments."""
    got = moments(x)
    if got is None:
        return
    mean, std, skew, kurt = got
    assert q_factor(mean / std, skew, kurt) >= -1e-9


# --------------------------------------------------------------------------------------------
# psr, expected_max_sharpe
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sr", "n", "skew", "kurt", "sr_star"),
    [
        (0.2, 20, 0.0, 3.0, 0.0),
        (0.05, 180, -1.5, 9.0, 0.0),
        (-0.1, 40, 0.5, 4.0, 0.0),
        (0.3, 2, 0.0, 1.0, 0.1),
    ],
)
def test_psr__matches_scipy(sr: float, n: int, skew: float, kurt: float, sr_star: float) -> None:
    q = q_factor(sr, skew, kurt)
    ref = st.t.cdf((sr - sr_star) * math.sqrt(n - 1) / math.sqrt(q), n - 1)
    assert psr(sr, n, q, sr_star) == pytest.approx(float(ref), rel=0, abs=1e-12)


def test_psr__dsr_paper_worked_example() -> None:
    """Bailey & López de Prado, *The Deflated Sharpe Ratio* (JPM 2014), section "A numerical example".

    N = 100 trials, V = 1/2 (variance of the annualized SRs), T = 1250 daily returns, annualized SR
    2.5, skew −3, kurtosis 10, 250 days a year (so daily SR = 2.5/√250, daily V = 0.5/250). The paper
    prints SR0 ≈ 0.1132 (daily) and DSR ≈ 0.9004; with N = 46 the DSR is 0.9505. The PDF itself was
    not reachable from here: inputs and results were confirmed from several independent public
    write-ups and test suites that reproduce that section (all agree on 0.1132, 0.9004 and 0.9505).

    The paper uses Φ; we use Student's t with T − 1 = 1249 degrees of freedom, whose tail is slightly
    heavier: the difference at z ≈ 1.28 is ≈ φ(z)·(z³ + z)/(4·1249) ≈ 1.3e-4, hence tolerance 1e-3.
    Φ applied to our own statistic must reproduce the printed 4 decimals exactly.
    """
    sr, n, variance = 2.5 / math.sqrt(250), 1250, 0.5 / 250
    q = q_factor(sr, -3.0, 10.0)
    for trials, dsr_printed in [(100, 0.9004), (46, 0.9505)]:
        sr0 = expected_max_sharpe(variance, trials)
        paper = PHI.cdf((sr - sr0) * math.sqrt(n - 1) / math.sqrt(q))
        assert paper == pytest.approx(dsr_printed, abs=5e-5)
        got = psr(sr, n, q, sr0)
        assert got == pytest.approx(dsr_printed, abs=1e-3)
        assert got is not None
        assert got < paper
    assert expected_max_sharpe(variance, 100) == pytest.approx(0.1132, abs=5e-5)


def test_psr__tends_to_jsharpe_normal_form_for_long_records() -> None:
    """jsharpe's PSR is the paper's Φ form; given the same SR variance q/(n − 1) ours differs by O(1/n)."""
    sr, n, sr0 = 0.04, 5000, 0.01
    q = q_factor(sr, -0.7, 6.0)
    ref = jsharpe.probabilistic_sharpe_ratio(sr, sr0, variance=q / (n - 1))
    got = psr(sr, n, q, sr0)
    assert got == pytest.approx(ref, abs=2e-4)
    assert got != pytest.approx(ref, abs=1e-9)


def test_psr__undefined_inputs_are_none() -> None:
    q_negative = q_factor(1.0, 3.0, 1.0)  # inconsistent moments (kurt < skew² + 1)
    assert q_negative < 0
    assert psr(1.0, 30, q_negative) is None
    assert psr(0.2, 30, 0.0) is None
    assert psr(0.2, 1, 1.0) is None
    assert psr(0.2, 0, 1.0) is None
    assert psr(math.nan, 30, 1.0) is None
    assert psr(0.2, 30, math.inf) is None


def test_psr__is_one_half_at_the_benchmark() -> None:
    assert psr(0.1, 50, 1.3, sr_star=0.1) == 0.5


def test_expected_max_sharpe__matches_jsharpe() -> None:
    for trials in (2, 10, 100, 1000):
        for variance in (1e-4, 0.002, 1.0):
            ref = jsharpe.expected_maximum_sharpe_ratio(trials, variance)
            assert expected_max_sharpe(variance, trials) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize(("variance", "trials"), [(0.5, 1), (0.5, 0), (0.0, 100), (-0.1, 100)])
def test_expected_max_sharpe__no_selection_is_zero(variance: float, trials: int) -> None:
    assert expected_max_sharpe(variance, trials) == 0.0


def test_expected_max_sharpe__grows_with_trials_and_scales_with_sqrt_variance() -> None:
    assert expected_max_sharpe(1.0, 3) < expected_max_sharpe(1.0, 30) < expected_max_sharpe(1.0, 300)
    assert expected_max_sharpe(4.0, 30) == pytest.approx(2.0 * expected_max_sharpe(1.0, 30), rel=1e-15)


# --------------------------------------------------------------------------------------------
# min_track_record, eligible_in_days
# --------------------------------------------------------------------------------------------


def brute_min_trl(sr: float, q: float, min_psr: float, max_days: int = 10_000) -> int | None:
    days = np.arange(2, max_days + 1)
    ok = st.t.cdf(sr * np.sqrt(days - 1) / math.sqrt(q), days - 1) >= min_psr
    return int(days[np.argmax(ok)]) if ok.any() else None


CASES = [
    (0.5, 1.0, 0.95),
    (0.2, 1.3, 0.95),
    (0.1, 0.9, 0.95),
    (0.05, 1.1, 0.9),
    (0.03, 1.0, 0.95),
    (2.0, 1.0, 0.95),
]


@pytest.mark.parametrize(("sr", "q", "min_psr"), CASES)
def test_min_track_record__matches_brute_force_scan(sr: float, q: float, min_psr: float) -> None:
    assert min_track_record(sr, q, min_psr) == brute_min_trl(sr, q, min_psr)


@pytest.mark.parametrize(("sr", "q", "min_psr"), CASES)
def test_min_track_record__is_minimal(sr: float, q: float, min_psr: float) -> None:
    got = min_track_record(sr, q, min_psr)
    assert got is not None
    assert st.t.cdf(sr * math.sqrt(got - 1) / math.sqrt(q), got - 1) >= min_psr
    if got > 2:
        assert st.t.cdf(sr * math.sqrt(got - 2) / math.sqrt(q), got - 2) < min_psr


@pytest.mark.parametrize(
    ("sr", "q", "min_psr"), [(0.05, 1.1, 0.95), (0.03, 1.0, 0.95), (0.02, 1.4, 0.9), (0.03, 1.0, 0.99)]
)
def test_min_track_record__agrees_with_paper_formula_for_long_records(
    sr: float, q: float, min_psr: float
) -> None:
    """The paper's large-n form is ``1 + q·(z/SR)²``, z = Φ⁻¹(min_psr).

    With t, z becomes the t quantile ≈ z·(1 + (z² + 1)/(4ν)) at ν ≈ n' days, so n' − 1 grows by the
    factor 1 + (z² + 1)/(2ν): a constant ≈ (z² + 1)/2 days more, whatever the length, plus < 1 day of
    rounding up to an integer.
    """
    z = PHI.inv_cdf(min_psr)
    paper = 1.0 + q * (z / sr) ** 2
    got = min_track_record(sr, q, min_psr)
    assert got is not None
    assert paper > 1000
    assert (z * z + 1) / 2 - 0.01 <= got - paper <= (z * z + 1) / 2 + 1


def test_min_track_record__already_reached_at_two_days() -> None:
    assert min_track_record(50.0, 1.0, 0.95) == 2


@pytest.mark.parametrize(("sr", "q"), [(0.0, 1.0), (-0.2, 1.0), (0.2, 0.0), (0.2, -1.0), (math.nan, 1.0)])
def test_min_track_record__undefined_is_none(sr: float, q: float) -> None:
    assert min_track_record(sr, q, 0.95) is None


def test_min_track_record__beyond_max_days_is_none() -> None:
    assert 1.0 + (PHI.inv_cdf(0.95) / 0.015) ** 2 > 10_000  # paper's MinTRL ≈ 12 026 days
    assert min_track_record(0.015, 1.0, 0.95) is None
    needed = min_track_record(0.1, 1.0, 0.95)
    assert needed is not None
    assert min_track_record(0.1, 1.0, 0.95, max_days=needed - 1) is None
    assert min_track_record(0.1, 1.0, 0.95, max_days=needed) == needed


@pytest.mark.parametrize("min_psr", [0.0, 1.0, 1.5, math.nan])
def test_min_track_record__invalid_min_psr_raises(min_psr: float) -> None:
    with pytest.raises(ValueError, match="min_psr"):
        min_track_record(0.2, 1.0, min_psr)


@pytest.mark.parametrize(("sr", "sr_star"), [(0.3, 0.1), (0.12, 0.1), (0.5, -0.1)])
def test_min_track_record__against_a_bar_matches_brute_force_scan(sr: float, sr_star: float) -> None:
    """Against SR* the edge is SR − SR*: the record the deflated Sharpe ratio needs."""
    days = np.arange(2, 10_001)
    ok = st.t.cdf((sr - sr_star) * np.sqrt(days - 1) / math.sqrt(1.2), days - 1) >= 0.95
    assert min_track_record(sr, 1.2, 0.95, sr_star=sr_star) == int(days[np.argmax(ok)])


@pytest.mark.parametrize(("sr", "sr_star"), [(0.1, 0.1), (0.1, 0.2)])
def test_min_track_record__at_or_below_the_bar_is_none(sr: float, sr_star: float) -> None:
    assert min_track_record(sr, 1.0, 0.95, sr_star=sr_star) is None


@pytest.mark.parametrize(
    ("min_trl", "n", "min_days", "expected"),
    [
        (100, 30, 0, 70),
        (30, 100, 0, 0),
        (50, 50, 0, 0),
        (2, 0, 0, 2),
        (None, 10, 0, None),
        (4, 6, 10, 4),  # MinTRL met, the gate's 10-day floor not
        (40, 6, 10, 34),
        (None, 6, 10, None),
    ],
)
def test_eligible_in_days__arithmetic(
    min_trl: int | None, n: int, min_days: int, expected: int | None
) -> None:
    assert eligible_in_days(min_trl, n, min_days) == expected


# --------------------------------------------------------------------------------------------
# pearson, marginal_alpha
# --------------------------------------------------------------------------------------------


def pairs() -> list[tuple[FloatArray, FloatArray]]:
    rng = np.random.default_rng(7)
    p = rng.normal(0.0005, 0.01, 120)
    return [
        (np.array([1.0, 2.0]), np.array([3.0, 1.0])),
        (np.array([0.01, 0.03, -0.02]), np.array([0.0, 0.02, -0.01])),
        (0.002 + 0.6 * p + rng.normal(0, 0.008, 120), p),
        (rng.normal(0, 0.02, 120), p),
        (-0.001 - 1.5 * p + rng.standard_t(3, 120) * 0.01, p),
    ]


@pytest.mark.parametrize(("x", "y"), pairs())
def test_pearson__matches_scipy(x: FloatArray, y: FloatArray) -> None:
    if x.size > 2:
        assert pearson(x, y) == pytest.approx(float(st.pearsonr(x, y).statistic), rel=1e-12, abs=1e-15)
    else:  # scipy warns on two points; two distinct points are perfectly (anti)correlated
        assert pearson(x, y) == pytest.approx(-1.0, abs=1e-15)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([], []),
        ([0.1], [0.2]),
        ([0.1] * 7, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
        ([1.0, 2.0, 3.0], [5.0] * 3),
    ],
)
def test_pearson__undefined_is_none(x: list[float], y: list[float]) -> None:
    assert pearson(np.array(x), np.array(y)) is None


def test_pearson__length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        pearson(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0]))


@pytest.mark.parametrize(("x", "p"), pairs()[1:])
def test_marginal_alpha__matches_linregress(x: FloatArray, p: FloatArray) -> None:
    got = marginal_alpha(x, p)
    ref = st.linregress(p, x)
    assert got is not None
    a, t = got
    assert a == pytest.approx(float(ref.intercept), rel=1e-9, abs=1e-15)
    assert t == pytest.approx(float(ref.intercept / ref.intercept_stderr), rel=1e-9)


def test_marginal_alpha__perfect_fit_has_no_t_statistic() -> None:
    p = np.array([0.01, -0.02, 0.03, 0.005, -0.011, 0.02])
    got = marginal_alpha(0.001 + 0.7 * p, p)
    assert got is not None
    assert got[0] == pytest.approx(0.001, rel=1e-12)
    assert got[1] is None


@pytest.mark.parametrize(("x", "p"), [([0.1, 0.2], [0.3, 0.1]), ([0.1, 0.2, 0.3], [0.1, 0.1, 0.1]), ([], [])])
def test_marginal_alpha__undefined_is_none(x: list[float], p: list[float]) -> None:
    assert marginal_alpha(np.array(x), np.array(p)) is None


# --------------------------------------------------------------------------------------------
# murphy
# --------------------------------------------------------------------------------------------


def naive_murphy(f: FloatArray, o: FloatArray, bins: int) -> tuple[float, float, float, float]:
    """One bin at a time, bins as intervals ``[k/B, (k+1)/B)`` (the last one closed); returns the
    three components and the within-bin term ``WBV − 2·WBC``."""
    n, o_bar = f.size, float(np.mean(o))
    rel = res = within = 0.0
    for k in range(bins):
        upper = (f < (k + 1) / bins) if k < bins - 1 else (f <= 1.0)
        member = (f >= k / bins) & upper
        if not member.any():
            continue
        fk, ok = f[member], o[member]
        rel += fk.size / n * (fk.mean() - ok.mean()) ** 2
        res += fk.size / n * (ok.mean() - o_bar) ** 2
        within += float(np.sum((fk - fk.mean()) ** 2 - 2 * (fk - fk.mean()) * (ok - ok.mean()))) / n
    return rel, res, o_bar * (1 - o_bar), within


def test_murphy__hand_computed_case() -> None:
    """bins [0, .5): f̄ = .3, ō = .5; [.5, 1]: f̄ = .75, ō = 1; ō = .75.

    reliability = ½·.2² + ½·.25² = .05125; resolution = ½·.25² + ½·.25² = .0625; uncertainty = .1875.
    """
    got = murphy(np.array([0.2, 0.4, 0.6, 0.9]), np.array([0, 1, 1, 1]), bins=2)
    assert got == pytest.approx((0.05125, 0.0625, 0.1875), abs=1e-15)


def test_murphy__confidence_one_falls_in_the_last_bin() -> None:
    """With 1.0 and 0.95 in one bin: f̄ = .975, ō = .5; in separate bins reliability would be .45125."""
    got = murphy(np.array([0.95, 1.0]), np.array([0, 1]), bins=10)
    assert got == pytest.approx((0.475**2, 0.0, 0.25), abs=1e-15)


@pytest.mark.parametrize("bins", [1, 3, 10, 20])
def test_murphy__matches_naive_per_bin_loop(bins: int) -> None:
    rng = np.random.default_rng(bins)
    f = np.concatenate([rng.uniform(0, 1, 300), [0.0, 1.0, 0.5]])
    o = (rng.uniform(0, 1, f.size) < f**1.5).astype(float)
    got = murphy(f, o, bins=bins)
    assert got == pytest.approx(naive_murphy(f, o, bins)[:3], rel=1e-12, abs=1e-15)


def test_murphy__brier_identity_with_within_bin_terms() -> None:
    rng = np.random.default_rng(11)
    f = rng.uniform(0, 1, 400)
    o = (rng.uniform(0, 1, 400) < 0.2 + 0.6 * f).astype(float)
    got = murphy(f, o)
    assert got is not None
    rel, res, unc = got
    within = naive_murphy(f, o, 10)[3]
    assert abs(within) > 1e-4  # the binned identity needs it: the textbook one would fail here
    brier = float(np.mean((f - o) ** 2))
    assert brier == pytest.approx(rel - res + unc + within, abs=1e-12)


def test_murphy__calibrated_binned_forecasts_have_zero_reliability() -> None:
    f = np.array([0.25] * 4 + [0.75] * 4)
    o = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    got = murphy(f, o)
    assert got is not None
    rel, res, unc = got
    assert rel == 0.0
    assert float(np.mean((f - o) ** 2)) == pytest.approx(unc - res, abs=1e-15)


def test_murphy__empty_is_none() -> None:
    assert murphy(np.array([]), np.array([])) is None


@pytest.mark.parametrize(
    ("f", "o", "bins", "message"),
    [
        ([1.2], [1], 10, "confidence"),
        ([0.5], [0.5], 10, "outcome"),
        ([0.5], [1], 0, "bins"),
        ([0.5, 0.2], [1], 10, "length"),
    ],
)
def test_murphy__invalid_input_raises(f: list[float], o: list[float], bins: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        murphy(np.array(f), np.array(o), bins=bins)


# --- Overlapping holding periods ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekdays", "holding", "expected"),
    [
        ([0, 1, 2], 1.0, 1.0),  # held a day or less: no two values share a day
        ([0, 1, 2], 0.4, 1.0),
        ([0, 1, 2], 2.0, 1 + 2 * (0.5 + 0.5) / 3),  # neighbours share one of two days
        ([0, 5, 10], 5.0, 1.0),  # weekly signals held five days: adjacent, not overlapping
        ([0, 1, 3], 3.0, 1 + 2 * (2 / 3 + 1 / 3 + 0) / 3),  # gaps 1, 2 and 3
        ([7], 5.0, 1.0),
    ],
)
def test_overlap_factor__hand_computed(weekdays: list[int], holding: float, expected: float) -> None:
    assert overlap_factor(np.array(weekdays), holding) == pytest.approx(expected, rel=1e-12)


def test_overlap_factor__daily_signals_held_h_days_count_as_n_over_h() -> None:
    """One signal a day held ``h`` days: ``1 + 2/n Σ_g (n − g)(h − g)/h``, which tends to ``h``."""
    n, h = 250, 5
    expected = 1 + 2 / n * sum((n - g) * (h - g) / h for g in range(1, h))
    assert overlap_factor(np.arange(n), h) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(h, rel=0.02)


def test_psr__takes_a_fractional_number_of_observations() -> None:
    sr, n, q = 0.3, 128 / 4.94, 1.1
    expected = st.t.cdf(sr * math.sqrt(n - 1) / math.sqrt(q), n - 1)
    assert psr(sr, n, q) == pytest.approx(expected, rel=1e-9)
    assert psr(sr, 1.99, q) is None


def test_min_track_record__overlap_multiplies_the_days_needed() -> None:
    """The fewest days ``n'`` whose ``n'/overlap`` observations reach ``min_psr`` (scipy search)."""
    sr, q, overlap = 0.2, 1.0, 3.0
    days = next(
        d
        for d in range(7, 10_000)
        if st.t.cdf(sr * math.sqrt(d / overlap - 1) / math.sqrt(q), d / overlap - 1) >= 0.95
    )
    assert min_track_record(sr, q, 0.95, overlap=overlap) == days
    assert days > 2.5 * min_track_record(sr, q, 0.95)  # type: ignore[operator]
