"""Pooling focal-vs-reference 2x2 tables across strata (zones, campaigns, years).

Small zones rarely have enough candidates for a verdict on their own; pooled evidence still
answers "is there a consistent gap?" provided the strata agree (homogeneity) and the pooled
answer is compared with the crude, collapsed one (Simpson's paradox).

Each stratum is a :class:`~hrpipeline.analysis.impact.Table2x2`
(rows focal/reference, columns passed/not passed). Sources:

* Standardized impact ratio: indirect standardization (observed / expected at each stratum's
  reference rate), as for the standardized mortality ratio (Breslow & Day 1987, *Statistical
  Methods in Cancer Research* II, ch. 2).
* Mantel-Haenszel common odds ratio (Mantel & Haenszel 1959, JNCI 22:719) with the
  Robins-Breslow-Greenland (1986) interval; CMH test with continuity correction
  (R ``mantelhaen.test``): the formulas of statsmodels ``StratifiedTable``, evaluated once on
  arrays (:func:`mantel_haenszel`; the tests check them against statsmodels and R). Building a
  ``StratifiedTable`` per comparison cost more than the rest of a report's statistics.
* Exact conditional test (Mehta, Patel & Gray 1985; R ``mantelhaen.test(exact=TRUE)``): the sum of
  the focal passers over strata is, under H0 and given all margins, the convolution of the
  strata's hypergeometric distributions. Two-sided p = total probability of sums no more likely
  than the observed one (R's rule, relative tolerance 1e-7). The conditional MLE of the common
  odds ratio solves E_psi[S] = s for the distribution proportional to f0(s) psi^s.
* Exact test chosen automatically when the Mantel-Fleiss (1980, Am J Epidemiol 112:129)
  criterion fails: min(sum E - sum lower bounds, sum upper bounds - sum E) < 5.
* Breslow-Day homogeneity test with Tarone's (1985) correction: statsmodels
  ``StratifiedTable.test_equal_odds(adjust=True)``'s formula with a numerically stable root
  (:func:`breslow_day_tarone`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from hrpipeline.analysis.impact import (
    AMBER,
    FOUR_FIFTHS,
    RED,
    Table2x2,
    Verdict,
    _log_hypergeom,
    _log_norm,
    _z,
    below_four_fifths,
    exact_ratio,
    odds_ratio,
    significance_2x2,
)

#: Mantel-Fleiss criterion threshold.
MANTEL_FLEISS_MIN = 5.0
_R_REL_TOL = 1 + 1e-7


@dataclass(frozen=True)
class ExactConditionalTest:
    """Exact conditional test of independence in 2x2xK tables (R ``mantelhaen.test(exact=TRUE)``)."""

    statistic: int  # S = sum of focal passers over strata
    p_value: float
    conditional_mle: float  # common odds ratio, conditional maximum likelihood


def _hypergeom_pmf(k: np.ndarray, total: int, passed: int, n1: int) -> np.ndarray:
    """P(a = k) for a 2x2 table with fixed margins: C(passed, k) C(total - passed, n1 - k) /
    C(total, n1), on the log scale (the terms of Fisher's test, ``impact._log_hypergeom``; as
    ``scipy.stats.hypergeom.pmf``, ~50x cheaper per call: the frozen-distribution machinery
    dominated the funnel analysis, see docs/performance.md).
    Example: k = [0, 1, 2], total = 4, passed = 2, n1 = 2 -> [1/6, 4/6, 1/6].
    """
    n2 = total - n1
    return np.exp(_log_hypergeom(np.asarray(k, dtype=np.float64), n1, n2, passed,
                                 _log_norm(n1, n2, passed)))


def _null_distribution(tables: Sequence[Table2x2]) -> tuple[int, np.ndarray]:
    """Support start and pmf of S = sum_k a_k under H0: convolution of hypergeometrics."""
    lo_total = 0
    pmf = np.array([1.0])
    for t in tables:
        total, passed, n1 = t.focal_n + t.ref_n, t.focal_pass + t.ref_pass, t.focal_n
        lo, hi = max(0, passed - t.ref_n), min(n1, passed)
        support = np.arange(lo, hi + 1)
        pmf = np.convolve(pmf, _hypergeom_pmf(support, total, passed, n1))
        lo_total += lo
    return lo_total, pmf


def exact_conditional_test(tables: Sequence[Table2x2]) -> ExactConditionalTest:
    """Exact conditional CMH test and conditional MLE of the common odds ratio.

    Example (R ``mantelhaen.test`` help page, Rabbits penicillin data): S = 16, p = 0.03994,
    conditional MLE 10.36102.
    """
    lo, pmf = _null_distribution(tables)
    s = sum(t.focal_pass for t in tables)
    d_obs = pmf[s - lo]
    p = float(min(1.0, pmf[pmf <= d_obs * _R_REL_TOL].sum()))
    support = np.arange(lo, lo + len(pmf))
    hi = lo + len(pmf) - 1
    if s == lo:
        mle = 0.0
    elif s == hi:
        mle = math.inf
    else:
        log_d = np.log(np.where(pmf > 0, pmf, np.finfo(float).tiny))

        def mean_minus_s(log_psi: float) -> float:
            w = log_d + log_psi * support
            w = np.exp(w - w.max())
            return float((w * support).sum() / w.sum() - s)

        # E_psi[S] is increasing in psi, so bracket the root on the log scale.
        a, b = -1.0, 1.0
        while mean_minus_s(a) > 0:
            a *= 2
        while mean_minus_s(b) < 0:
            b *= 2
        mle = math.exp(optimize.brentq(mean_minus_s, a, b, xtol=1e-12))
    return ExactConditionalTest(s, p, mle)


@dataclass(frozen=True)
class MantelHaenszel:
    odds_ratio: float | None  # None when sum(b c / n) = 0 (infinite); may be 0
    # (and then ``ci`` is None)
    ci: tuple[float, float] | None
    statistic: float  # CMH chi-square, 1 df, continuity-corrected
    p_value: float


def mantel_haenszel(tables: Sequence[Table2x2], alpha: float = 0.05) -> MantelHaenszel:
    """MH common odds ratio, its Robins-Breslow-Greenland interval and the CMH test.

    With strata k = [[a, b], [c, d]], n = a + b + c + d::

        OR_MH = sum(a d / n) / sum(b c / n)
        var(ln OR_MH) = RBG (1986), as statsmodels ``logodds_pooled_se``
        X^2 = (|sum a - sum E a| - min(0.5, |sum a - sum E a|))^2 / sum V a,
        E a = (a + b)(a + c) / n,  V a = (a + b)(c + d)(a + c)(b + d) / (n^2 (n - 1))

    The continuity correction is R's (never more than the difference itself); statsmodels
    subtracts 0.5 unconditionally, which the tests show is the only place they differ.
    Informative strata only (both rows and both columns non-empty). Plain float loops: a
    report pools a few to a few dozen strata per comparison, where numpy's per-call cost is
    larger than the arithmetic. Example (R ``mantelhaen.test`` help, Rabbits): X^2 = 3.9286,
    p = 0.04747.
    """
    r = s_ = delta = variance = 0.0
    rr = rs = ss = 0.0  # the RBG sums: sum P R, sum (P S + Q R), sum Q S, each / n^2
    for t in tables:
        a, b, c, d = t.focal_pass, t.focal_fail, t.ref_pass, t.ref_fail
        n = a + b + c + d
        ad, bc = a * d / n, b * c / n
        p = (a + d) / n
        r += ad
        s_ += bc
        rr += p * ad
        rs += p * bc + (1 - p) * ad
        ss += (1 - p) * bc
        row1, col1 = a + b, a + c
        delta += a - row1 * col1 / n
        variance += row1 * (c + d) * col1 * (b + d) / (n * n * (n - 1))
    odds = r / s_ if s_ > 0 else None
    ci = None
    if r > 0 and s_ > 0:  # the log interval needs 0 < OR_MH < infinity
        var = (rr / r**2 + rs / (r * s_) + ss / s_**2) / 2
        half = _z(alpha) * math.sqrt(var)
        ci = (math.exp(math.log(odds) - half), math.exp(math.log(odds) + half))
    delta = abs(delta)
    stat = (delta - min(0.5, delta)) ** 2 / variance
    # chi-square survival on 1 df: P(X^2 > x) = erfc(sqrt(x / 2)) exactly.
    return MantelHaenszel(odds, ci, stat, math.erfc(math.sqrt(stat / 2)))


def breslow_day_tarone(tables: Sequence[Table2x2], common_or: float) -> tuple[float, float]:
    """Breslow-Day statistic with Tarone's correction, as statsmodels computes it.

    The expected focal passers E_k (given the margins and the common odds ratio psi) solve
    a quadratic; statsmodels takes the root (-b + sqrt(b^2 - 4ac)) / 2a with a = 1 - psi,
    which divides by zero when psi is exactly 1. The algebraically equal root
    2c / (-b - sqrt(b^2 - 4ac)) has no such problem. Then
    X^2 = sum (a_k - E_k)^2 / V_k - (sum a_k - sum E_k)^2 / sum V_k, on K - 1 df.
    Example (SAS PROC FREQ migraine data): X^2 = 1.4929, p = 0.2218.
    """
    if not 0 < common_or < math.inf:
        # A common odds ratio of 0 or infinity (no focal or no reference passer in any stratum):
        # every expected count sits on a bound, the variances are 0 and the test is undefined.
        return math.nan, math.nan
    stat = diff = v_sum = 0.0
    try:
        for t in tables:
            n1, m1 = t.focal_n, t.focal_pass + t.ref_pass
            dma = t.ref_fail - t.focal_pass
            qa, qb, qc = 1 - common_or, common_or * (n1 + m1) + dma, -common_or * n1 * m1
            e = 2 * qc / (-qb - math.sqrt(qb * qb - 4 * qa * qc))
            v = 1 / (1 / e + 1 / (m1 - e) + 1 / (n1 - e) + 1 / (dma + e))
            stat += (t.focal_pass - e) ** 2 / v
            diff += t.focal_pass - e
            v_sum += v
        stat -= diff**2 / v_sum
    except (ZeroDivisionError, ValueError):  # a degenerate stratum: no finite statistic
        return math.nan, math.nan
    if not math.isfinite(stat):
        return math.nan, math.nan
    return stat, float(special.chdtrc(len(tables) - 1, stat))


def mantel_fleiss(tables: Sequence[Table2x2]) -> float:
    """Mantel-Fleiss (1980) criterion value; the chi-square approximation is adequate if >= 5."""
    e = lower = upper = 0.0
    for t in tables:
        total, passed = t.focal_n + t.ref_n, t.focal_pass + t.ref_pass
        e += t.focal_n * passed / total
        lower += max(0, passed - t.ref_n)
        upper += min(t.focal_n, passed)
    return min(e - lower, upper - e)


def _informative(t: Table2x2) -> bool:
    # A stratum with an empty row or column has a degenerate conditional distribution: it adds
    # nothing to the MH estimate, the CMH test or the Breslow-Day test (and makes the latter NaN).
    return min(t.focal_n, t.ref_n, t.focal_pass + t.ref_pass, t.focal_fail + t.ref_fail) > 0


@dataclass
class StratumRow:
    label: str
    table: Table2x2
    informative: bool

    @property
    def ratio(self) -> Fraction | None:
        """The stratum's exact impact ratio (computed when read: most strata are never shown)."""
        return exact_ratio(self.table)


@dataclass
class PooledResult:
    """Pooled comparison of one focal group vs the reference over K strata (raw, unsuppressed)."""

    strata: list[StratumRow]
    excluded_strata: list[str]  # no information (empty row or column)
    # standardized impact ratio
    observed_focal_pass: int
    expected_focal_pass: Fraction | None
    standardized_ratio: Fraction | None
    standardized_below_four_fifths: bool
    # Mantel-Haenszel
    mh_odds_ratio: float | None
    mh_odds_ratio_ci: tuple[float, float] | None
    cmh_statistic: float | None
    cmh_p_value: float | None  # asymptotic, continuity-corrected
    exact: ExactConditionalTest | None  # computed only when used (test_used or no MH estimate)
    mantel_fleiss: float | None
    test_used: str  # "cmh" or "exact_conditional"
    p_value: float | None  # the one used for conclusions
    # homogeneity
    breslow_day_statistic: float | None
    breslow_day_p_value: float | None
    homogeneous: bool | None  # None when fewer than 2 informative strata
    # crude (collapsed) comparison
    crude_table: Table2x2
    crude_odds_ratio: float | None
    crude_p_value: float
    crude_test: str
    simpson: bool
    messages: list[str] = field(default_factory=list)
    alpha: float = 0.05

    @property
    def recommendation(self) -> str:
        """``show_strata`` when strata differ, else ``pooled``; ``insufficient`` without data."""
        if self.p_value is None:
            return "insufficient"
        return "show_strata" if self.homogeneous is False else "pooled"

    def to_records(self) -> list[dict[str, Any]]:
        """One record per stratum plus a ``__crude__`` and a ``__pooled__`` record."""
        recs: list[dict[str, Any]] = []
        for row in self.strata:
            t = row.table
            recs.append({
                "stratum": row.label, "focal_pass": t.focal_pass, "focal_fail": t.focal_fail,
                "ref_pass": t.ref_pass, "ref_fail": t.ref_fail,
                "ratio": None if row.ratio is None else float(row.ratio),
                "informative": row.informative,
            })
        c = self.crude_table
        recs.append({
            "stratum": "__crude__", "focal_pass": c.focal_pass, "focal_fail": c.focal_fail,
            "ref_pass": c.ref_pass, "ref_fail": c.ref_fail,
            "ratio": None if exact_ratio(c) is None else float(exact_ratio(c)),
            "odds_ratio": self.crude_odds_ratio, "p_value": self.crude_p_value,
            "test": self.crude_test,
        })
        recs.append({
            "stratum": "__pooled__", "focal_pass": c.focal_pass, "focal_fail": c.focal_fail,
            "ref_pass": c.ref_pass, "ref_fail": c.ref_fail,
            "observed_focal_pass": self.observed_focal_pass,
            "expected_focal_pass": _f(self.expected_focal_pass),
            "ratio": _f(self.standardized_ratio),
            "odds_ratio": self.mh_odds_ratio, "p_value": self.p_value, "test": self.test_used,
            "breslow_day_p_value": self.breslow_day_p_value,
            "recommendation": self.recommendation, "simpson": self.simpson,
        })
        return recs

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame.from_records(self.to_records())


def _f(x: Fraction | None) -> float | None:
    return None if x is None else float(x)


def pool_strata(
    tables: Sequence[Table2x2],
    labels: Sequence[str] | None = None,
    alpha: float = 0.05,
    exact: bool | None = None,
    crude_test: str = "fisher",
) -> PooledResult:
    """Pool K focal-vs-reference tables; see the module docstring for formulas and sources.

    ``exact=None`` picks the exact conditional test when the Mantel-Fleiss criterion is < 5.
    Example (SAS PROC FREQ migraine example): tables [[16, 11], [5, 20]] and [[12, 16], [7, 19]]
    give MH OR 3.3132 (1.4456 to 7.5934) and Breslow-Day chi-square 1.4929 (p 0.2218).
    """
    labels = [str(x) for x in (labels if labels is not None else range(len(tables)))]
    if len(labels) != len(tables):
        raise ValueError("labels and tables differ in length")
    rows = [StratumRow(lab, t, _informative(t)) for lab, t in zip(labels, tables, strict=True)]
    info = [r.table for r in rows if r.informative]
    crude = Table2x2(
        sum(t.focal_pass for t in tables), sum(t.focal_fail for t in tables),
        sum(t.ref_pass for t in tables), sum(t.ref_fail for t in tables),
    )

    observed = sum(t.focal_pass for t in tables if t.ref_n and t.focal_n)
    expected: Fraction | None = None
    sir: Fraction | None = None
    usable = [t for t in tables if t.ref_n and t.focal_n]
    if usable:
        # sum of focal_n * ref_pass / ref_n over one common denominator: one gcd, not K.
        den = math.lcm(*(t.ref_n for t in usable))
        num = sum(t.focal_n * t.ref_pass * (den // t.ref_n) for t in usable)
        expected = Fraction(num, den)
        sir = Fraction(observed * den, num) if num > 0 else None

    mh_or = mh_ci = cmh_stat = cmh_p = bd_stat = bd_p = mf = None
    exact_res: ExactConditionalTest | None = None
    homogeneous: bool | None = None
    test_used = "cmh"
    p_used: float | None = None
    if info:
        mh = mantel_haenszel(info, alpha)
        mh_or, mh_ci = mh.odds_ratio, mh.ci
        cmh_stat, cmh_p = mh.statistic, mh.p_value
        mf = mantel_fleiss(info)
        use_exact = exact if exact is not None else mf < MANTEL_FLEISS_MIN
        if use_exact or mh_or is None:
            # Only when it is used (p-value, or the conditional MLE when MH has no estimate):
            # on large counts it is most of the analysis' time (docs/performance.md).
            # Degenerate strata add a constant to S (as in R's statistic), p unchanged.
            exact_res = exact_conditional_test([t for t in tables if t.focal_n and t.ref_n])
        test_used = "exact_conditional" if use_exact else "cmh"
        p_used = exact_res.p_value if use_exact else cmh_p
        if len(info) >= 2 and mh_or is not None:
            bd_stat, bd_p = breslow_day_tarone(info, mh_or)
            if math.isfinite(bd_p):
                homogeneous = not bd_p < alpha
            else:  # untestable (see breslow_day_tarone): say nothing rather than guess
                bd_stat = bd_p = None

    crude_or = odds_ratio(crude)
    crude_sig = significance_2x2(crude, crude_test)
    messages: list[str] = []
    simpson = False
    if p_used is not None and crude_or is not None:
        pooled_or = mh_or if mh_or is not None else exact_res.conditional_mle
        crude_dir, pooled_dir = _direction(crude_or.estimate), _direction(pooled_or)
        crude_sig_b, pooled_sig_b = crude_sig.p_value < alpha, p_used < alpha
        if crude_dir != pooled_dir and (crude_sig_b or pooled_sig_b):
            simpson = True
            messages.append(
                "Simpson's paradox: taken together the focal group appears "
                f"{_word(crude_dir)} the reference group, but within the strata it appears "
                f"{_word(pooled_dir)} it. The difference comes from how candidates are spread over "
                "the strata; read the stratified result."
            )
        elif crude_sig_b != pooled_sig_b:
            simpson = True
            messages.append(
                "The collapsed table and the stratified analysis disagree: the gap is "
                f"{'significant' if crude_sig_b else 'not significant'} when all strata are "
                f"added up, but {'significant' if pooled_sig_b else 'not significant'} after "
                "accounting for the strata. Read the stratified result."
            )
    if homogeneous is False:
        messages.append(
            "The strata differ (Breslow-Day test): show the strata side by side instead of one "
            "pooled number."
        )
    if p_used is None:
        messages.append("No stratum has both groups and both outcomes: nothing to pool.")

    return PooledResult(
        strata=rows,
        excluded_strata=[r.label for r in rows if not r.informative],
        observed_focal_pass=observed,
        expected_focal_pass=expected,
        standardized_ratio=sir,
        standardized_below_four_fifths=below_four_fifths(sir),
        mh_odds_ratio=mh_or,
        mh_odds_ratio_ci=mh_ci,
        cmh_statistic=cmh_stat,
        cmh_p_value=cmh_p,
        exact=exact_res,
        mantel_fleiss=mf,
        test_used=test_used,
        p_value=p_used,
        breslow_day_statistic=bd_stat,
        breslow_day_p_value=bd_p,
        homogeneous=homogeneous,
        crude_table=crude,
        crude_odds_ratio=None if crude_or is None else crude_or.estimate,
        crude_p_value=crude_sig.p_value,
        crude_test=crude_test,
        simpson=simpson,
        messages=messages,
        alpha=alpha,
    )


def _word(direction: float) -> str:
    if direction < 0:
        return "to pass less often than"
    if direction > 0:
        return "to pass more often than"
    return "to pass as often as"


def _direction(odds: float) -> int:
    if odds < 1:
        return -1
    return 1 if odds > 1 else 0


#: Kinds of disagreement that make the stratified comparison the headline.
HETEROGENEOUS = "heterogeneous"  # Breslow-Day p < alpha: the strata's odds ratios differ
CRUDE_SIDE_OF_FOUR_FIFTHS = "crude_side_of_four_fifths"  # crude ratio and SIR either side of 0.8
CRUDE_CONTRADICTS = "crude_contradicts_stratified"  # ``simpson``: direction or significance


def strata_disagreement(result: PooledResult) -> list[str]:
    """Why the collapsed (crude) verdict cannot be the headline; empty when it can.

    * ``heterogeneous``: Breslow-Day (Tarone) p < alpha;
    * ``crude_side_of_four_fifths``: the crude impact ratio and the standardized ratio lie on
      different sides of 4/5 (exact comparison);
    * ``crude_contradicts_stratified``: the crude and Mantel-Haenszel odds ratios lie on
      different sides of 1 with one of the two tests significant, or the two tests disagree on
      significance (:attr:`PooledResult.simpson`). A difference of side of 1 with neither test
      significant is noise around "no difference" and is not flagged (it flagged a large share
      of null simulations).
    """
    kinds = []
    if result.homogeneous is False:
        kinds.append(HETEROGENEOUS)
    crude_ratio = exact_ratio(result.crude_table)
    if (crude_ratio is not None and result.standardized_ratio is not None
            and below_four_fifths(crude_ratio) != result.standardized_below_four_fifths):
        kinds.append(CRUDE_SIDE_OF_FOUR_FIFTHS)
    if result.simpson:
        kinds.append(CRUDE_CONTRADICTS)
    return kinds


def pooled_verdict(result: PooledResult, adjusted_p: float | None) -> Verdict | None:
    """The stratified headline verdict when the strata disagree (see :func:`strata_disagreement`),
    else ``None`` (the crude comparison stays the headline).

    Reason code ``strata_disagree`` ("strata disagree: see each campaign/zone"), tier:

    * RED when the strata agree with each other (Breslow-Day not significant) and the stratified
      comparison meets the RED rule: standardized ratio O/E < 4/5, Holm-adjusted pooled p <
      alpha, E - O >= 1 person, and one more focal pass would not bring O/E to 4/5;
    * AMBER otherwise: a disagreement between strata, or between the collapsed and the
      stratified result, is itself a reason to look at each campaign/zone. Never GREEN.

    ``numbers`` carries the stratified figures (``ratio`` is the standardized ratio), the
    Breslow-Day p and the kinds of disagreement.
    """
    kinds = strata_disagreement(result)
    if not kinds:
        return None
    alpha = result.alpha
    sir, expected, observed = (result.standardized_ratio, result.expected_focal_pass,
                               result.observed_focal_pass)
    persons = None
    shortfall = None
    if expected is not None and expected > 0:
        persons = max(0, math.ceil(FOUR_FIFTHS * expected - observed))
        shortfall = expected - observed
    ci = result.mh_odds_ratio_ci
    numbers = {
        "ratio": None if sir is None else round(float(sir), 4),
        "standardized_ratio": None if sir is None else float(sir),
        "observed_focal_pass": observed,
        "expected_focal_pass": None if expected is None else float(expected),
        "shortfall": None if shortfall is None else round(float(shortfall), 2),
        "persons_to_four_fifths": persons,
        "ratio_flip_reverses": None if not persons else persons <= 1,
        "mh_odds_ratio": result.mh_odds_ratio,
        "mh_ci_low": None if ci is None else ci[0],
        "mh_ci_high": None if ci is None else ci[1],
        "pooled_p": result.p_value,
        "adjusted_p": adjusted_p,
        "pooled_test": result.test_used,
        "breslow_day_p": result.breslow_day_p_value,
        "heterogeneous": result.homogeneous is False,
        "disagreement": kinds,
        "crude_ratio": _f(exact_ratio(result.crude_table)),
        "crude_p": result.crude_p_value,
        "alpha": alpha,
    }
    red = (
        result.homogeneous is not False
        and below_four_fifths(sir)
        and adjusted_p is not None and adjusted_p < alpha
        and shortfall is not None and shortfall >= 1
        and persons is not None and persons > 1
    )
    return Verdict(RED if red else AMBER, "strata_disagree", numbers)


def strata_verdict(
    tables: Sequence[Table2x2 | tuple[int, int, int, int]],
    labels: Sequence[str] | None = None,
    *,
    adjusted_p: float | None = None,
    alpha: float = 0.05,
    crude_test: str = "fisher",
) -> Verdict | None:
    """:func:`pooled_verdict` from plain counts (one tuple per stratum: focal passed, focal not
    passed, reference passed, reference not passed). Without ``adjusted_p`` the pooled p itself
    is used (a family of one)."""
    tabs = [t if isinstance(t, Table2x2) else Table2x2(*t) for t in tables]
    result = pool_strata(tabs, labels, alpha=alpha, crude_test=crude_test)
    return pooled_verdict(result, result.p_value if adjusted_p is None else adjusted_p)
