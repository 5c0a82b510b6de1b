"""Two-by-two statistics for adverse impact (disproportionate drop-out) at one stage.

A comparison is one 2x2 table (focal group vs reference group, passed vs not passed)::

                 passed   not passed
    focal          a          b        n1 = a + b
    reference      c          d        n2 = c + d

"Not passed" is ``failed`` for the *decision* view and ``failed + withdrew`` for the *retention*
view; the caller (``funnel.py``) builds the table. Everything here is pure: counts in, plain
dataclasses out, with the counts kept next to every derived number so that the service layer can
pass each number through the suppression gate.

Sources (see ``docs/statistics-funnel.md`` for the full text):

* Four-fifths rule: Uniform Guidelines on Employee Selection Procedures (UGESP), 29 C.F.R.
  1607.4D (1978); Questions & Answers no. 12 (worked example) and no. 21 (one-person flip).
* Wilson score interval: Wilson (1927) JASA 22:209; Newcombe (1998) Stat Med 17:857, method 3.
* Katz log interval for a ratio of proportions: Katz, Baptista, Azen & Pike (1978) Biometrics
  34:469.
* Woolf log interval for the odds ratio, Haldane (1956) 0.5 correction for zero cells.
* Fisher's exact test: the p-value of R ``fisher.test`` / ``scipy.stats.fisher_exact`` (the
  tests check it against scipy on thousands of tables), computed on the log scale over the
  window of the support where terms can matter (``fisher_two_sided``).
* Mid-p: Lancaster (1961) JASA 56:223; two-sided as twice the smaller one-sided mid-p
  (Rothman, Greenland & Lash, *Modern Epidemiology*; R ``epitools::tab2by2.test``).
* Boschloo's exact unconditional test: ``scipy.stats.boschloo_exact``.
* Pooled two-proportion Z test ("two standard deviations" in US case law, Hazelwood School
  District v. United States, 433 U.S. 299 (1977)): ``statsmodels proportions_ztest``.
* Holm (1979) Scand J Stat 6:65 step-down correction (checked against statsmodels
  ``multipletests(method="holm")``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special, stats
from statsmodels.stats.proportion import proportions_ztest

#: The four-fifths threshold as an exact fraction: a ratio of exactly 4/5 is *not* below it.
FOUR_FIFTHS = Fraction(4, 5)
#: Tests offered for one 2x2 comparison.
TESTS: tuple[str, ...] = ("fisher", "midp", "boschloo", "ztest")
TEST_NAMES: dict[str, str] = {
    "fisher": "Fisher's exact test",
    "midp": "Fisher mid-p exact test",
    "boschloo": "Boschloo's exact unconditional test",
    "ztest": "pooled two-proportion Z test",
}
TAILS = "two-sided"
ADJUSTMENT = "holm"

# Tiers (machine values; the web layer translates them).
RED = "red"
AMBER = "amber"
GREY = "grey"
GREEN = "green"
TIER_LABELS: dict[str, str] = {
    RED: "disproportionate drop-out",
    AMBER: "watch",
    GREY: "too few to tell",
    GREEN: "no disproportionate drop-out",
}


@dataclass(frozen=True)
class Table2x2:
    """Counts of one comparison: focal/reference x passed/not passed."""

    focal_pass: int
    focal_fail: int
    ref_pass: int
    ref_fail: int

    def __post_init__(self) -> None:
        for name in ("focal_pass", "focal_fail", "ref_pass", "ref_fail"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    @property
    def focal_n(self) -> int:
        return self.focal_pass + self.focal_fail

    @property
    def ref_n(self) -> int:
        return self.ref_pass + self.ref_fail

    def as_array(self) -> np.ndarray:
        return np.array([[self.focal_pass, self.focal_fail], [self.ref_pass, self.ref_fail]])

    def flipped(self) -> Table2x2:
        """The table with one focal candidate moved from "not passed" to "passed" (UGESP Q21)."""
        if self.focal_fail == 0:
            return self
        return Table2x2(self.focal_pass + 1, self.focal_fail - 1, self.ref_pass, self.ref_fail)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str
    level: float = 0.95


@dataclass(frozen=True)
class Significance:
    """A p-value with everything needed to read it."""

    test: str  # machine key, one of TESTS
    name: str  # human name
    tails: str
    p_value: float
    statistic: float | None = None


@dataclass(frozen=True)
class OddsRatio:
    estimate: float
    ci: Interval
    haldane_corrected: bool  # True when a zero cell forced the 0.5 correction


@lru_cache(maxsize=64)
def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


# Pure function of integers; the same group's interval is asked for once per comparison.
@lru_cache(maxsize=4096)
def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> Interval | None:
    """Wilson score interval for a proportion; ``None`` when ``n == 0``.

    Formula (Wilson 1927; Newcombe 1998 method 3), with z = z_{1-alpha/2}, p = x/n::

        (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)

    Example (Newcombe 1998, Table II): 81/263 -> 0.2553 to 0.3662.
    """
    if n == 0:
        return None
    # Written out (the tests check it against statsmodels ``proportion_confint(method=
    # "wilson")``): that function looks up the normal quantile on every call, which cost more
    # than the rest of a report's intervals together.
    z = _z(alpha)
    p = successes / n
    z2n = z * z / n
    centre = p + z2n / 2
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    low, high = (centre - half) / (1 + z2n), (centre + half) / (1 + z2n)
    # As statsmodels: clip rounding at the bounds (x = 0 gives exactly 0, x = n exactly 1).
    low = 0.0 if successes == 0 else max(0.0, low)
    high = 1.0 if successes == n else min(1.0, high)
    return Interval(float(low), float(high), "wilson", 1 - alpha)


def exact_ratio(table: Table2x2) -> Fraction | None:
    """Impact ratio (a/n1) / (c/n2) as an exact fraction; ``None`` when undefined.

    Example (UGESP Q&A 12): 12/48 vs 80/120 -> Fraction(3, 8) = 0.375.
    """
    if table.focal_n == 0 or table.ref_n == 0 or table.ref_pass == 0:
        return None
    return Fraction(table.focal_pass, table.focal_n) / Fraction(table.ref_pass, table.ref_n)


def below_four_fifths(ratio: Fraction | None) -> bool:
    """``ratio < 4/5`` in exact arithmetic (UGESP 1607.4D); 4/5 itself is not below."""
    return ratio is not None and ratio < FOUR_FIFTHS


def katz_log_ci(table: Table2x2, alpha: float = 0.05) -> tuple[Interval | None, bool]:
    """Katz log interval for the ratio of two proportions (Katz et al. 1978).

    ``exp(ln RR +- z sqrt(1/a - 1/n1 + 1/c - 1/n2))``. When a or c is zero the log is
    undefined; then 0.5 is added to every cell (Haldane) and the second value is ``True``.

    Example: a=10/30 vs c=5/45 -> RR 3.0, SE(ln RR) 0.4944, 95% CI 1.138 to 7.906.
    """
    a, b, c, d = (table.focal_pass, table.focal_fail, table.ref_pass, table.ref_fail)
    if table.focal_n == 0 or table.ref_n == 0:
        return None, False
    corrected = a == 0 or c == 0
    if corrected:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    n1, n2 = a + b, c + d
    log_rr = math.log((a / n1) / (c / n2))
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    z = _z(alpha)
    return (
        Interval(math.exp(log_rr - z * se), math.exp(log_rr + z * se), "katz-log", 1 - alpha),
        corrected,
    )


def odds_ratio(table: Table2x2, alpha: float = 0.05) -> OddsRatio | None:
    """Sample odds ratio ad/bc with Woolf log CI ``exp(ln OR +- z sqrt(1/a+1/b+1/c+1/d))``.

    Haldane's 0.5 is added to every cell only when a cell is zero (then the plain estimate is
    0 or infinite); ``haldane_corrected`` says so. Example: [[3, 1], [1, 3]] -> OR 9.0.
    """
    a, b, c, d = (table.focal_pass, table.focal_fail, table.ref_pass, table.ref_fail)
    if table.focal_n == 0 or table.ref_n == 0:
        return None
    corrected = min(a, b, c, d) == 0
    if corrected:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    log_or = math.log(a * d / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = _z(alpha)
    ci = Interval(math.exp(log_or - z * se), math.exp(log_or + z * se), "woolf-log", 1 - alpha)
    return OddsRatio(math.exp(log_or), ci, corrected)


def _midp_two_sided(table: Table2x2) -> float:
    """Two-sided mid-p = 2 * min(P(X<x) + P(X=x)/2, P(X>x) + P(X=x)/2), capped at 1.

    X is hypergeometric (the conditional distribution of Fisher's test).
    """
    a = table.focal_pass
    total = table.focal_n + table.ref_n
    passed = table.focal_pass + table.ref_pass
    dist = stats.hypergeom(total, passed, table.focal_n)
    half = 0.5 * dist.pmf(a)
    lower = dist.cdf(a) - half
    upper = dist.sf(a) + half
    return float(min(1.0, 2 * min(lower, upper)))


#: R ``fisher.test``'s relative tolerance: tables whose probability is within it of the observed
#: table's count as "no more likely" (ties that rounding would otherwise split).
_FISHER_REL_TOL = 1 + 1e-7
#: Terms below ``p_obs * exp(-_FISHER_TAIL)`` are left out of the two-sided sum (see below).
_FISHER_TAIL = 50.0
#: Below this a float's exp() is 0.0.
_LOG_TINY = math.log(np.nextafter(0, 1))


def _log_norm(n1: int, n2: int, m1: int) -> float:
    """log of n1! n2! m1! m2! / N!: the part of log P(a = k) that does not depend on k."""
    lg = math.lgamma
    return lg(n1 + 1) + lg(n2 + 1) + lg(m1 + 1) + lg(n1 + n2 - m1 + 1) - lg(n1 + n2 + 1)


def _log_hypergeom_at(k: int, n1: int, n2: int, m1: int, norm: float) -> float:
    """log P(a = k) = norm - log(k! (n1 - k)! (m1 - k)! (n2 - m1 + k)!) for one k."""
    lg = math.lgamma
    return norm - lg(k + 1) - lg(n1 - k + 1) - lg(m1 - k + 1) - lg(n2 - m1 + k + 1)


def _log_hypergeom(k: np.ndarray, n1: int, n2: int, m1: int, norm: float) -> np.ndarray:
    """log P(a = k) for an array of k (row sums n1, n2; first-column sum m1)."""
    g = special.gammaln
    return norm - g(k + 1) - g(n1 - k + 1) - g(m1 - k + 1) - g(n2 - m1 + k + 1)


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact p-value of [[a, b], [c, d]] (R ``fisher.test``).

    p = sum of P(a = k) over the k with P(a = k) <= P(a = a_obs) * (1 + 1e-7), where a is
    hypergeometric given all margins (Fisher 1935; Agresti 2002, 3.5.1). The same p-value as
    ``scipy.stats.fisher_exact``, which binary-searches the hypergeometric cdf through scipy's
    distribution machinery at about 0.5-2 ms a table; this sums the terms directly on the log
    scale in a few tens of microseconds, which is what makes a report's family of tests cheap.

    The distribution is unimodal, so the terms no larger than the observed one are two tails:
    every k from the observed a away from the mode, and every k beyond the point on the other
    side of the mode where the terms fall to P(a_obs) (found by bisection). Only a window of
    each tail is summed: Hoeffding's (1963, Thm. 4) bound for sampling without replacement
    gives P(a = k) <= exp(-2 (k - E a)^2 / m), m = min(n1, n2, m1, m2) (a, b, c and d are each
    a hypergeometric count of m draws); outside ``|k - E a| <= sqrt(m (50 - log p_obs) / 2)``
    every term is below p_obs e^-50, so the terms left out change p by less than
    (n1 + n2) e^-50 ~ 2e-22 (n1 + n2) relative.

    Example (R ``fisher.test`` help, tea tasting): (3, 1, 1, 3) -> 0.4857.
    """
    n1, n2, m1 = a + b, c + d, a + c
    total = n1 + n2
    if n1 == 0 or n2 == 0 or m1 == 0 or m1 == total:
        return 1.0
    norm = _log_norm(n1, n2, m1)
    log_obs = _log_hypergeom_at(a, n1, n2, m1, norm)
    if log_obs + math.log(total + 1) < _LOG_TINY:
        return 0.0  # p <= (N + 1) p_obs underflows: what the sum below would return, sooner
    threshold = log_obs + math.log(_FISHER_REL_TOL)
    m = min(n1, n2, m1, total - m1)
    half = math.sqrt(m * (_FISHER_TAIL - min(log_obs, 0.0)) / 2)
    mean = n1 * m1 / total
    lo = max(0, m1 - n2, math.floor(mean - half))
    hi = min(n1, m1, math.ceil(mean + half))
    mode = min(max((n1 + 1) * (m1 + 1) // (total + 2), lo), hi)

    def term_small(k: int) -> bool:
        return _log_hypergeom_at(k, n1, n2, m1, norm) <= threshold

    if a <= mode:
        # far tail: the first k in [mode, hi] whose term is small (terms fall beyond the mode)
        left, right = mode, hi + 1
        while left < right:
            mid = (left + right) // 2
            if term_small(mid):
                right = mid
            else:
                left = mid + 1
        k = np.concatenate((np.arange(lo, a + 1), np.arange(max(left, a + 1), hi + 1)))
    else:
        # far tail: the last k in [lo, mode] whose term is small (terms rise up to the mode)
        left, right = lo - 1, mode
        while left < right:
            mid = (left + right + 1) // 2
            if term_small(mid):
                left = mid
            else:
                right = mid - 1
        k = np.concatenate((np.arange(lo, left + 1), np.arange(a, hi + 1)))
    log_p = _log_hypergeom(k.astype(np.float64), n1, n2, m1, norm)
    # a itself is in k (its own term obeys the bound), so ``kept`` is never empty.
    kept = log_p[log_p <= threshold]
    top = kept.max()  # log-sum-exp by hand: scipy's logsumexp costs more than the sum itself
    return float(min(1.0, math.exp(top) * float(np.exp(kept - top).sum())))


# Pure function of a frozen table: the collapsed table of a pooled comparison is the same
# table as the unstratified comparison at that stage, so each is tested once per report.
@lru_cache(maxsize=4096)
def significance_2x2(table: Table2x2, test: str = "fisher") -> Significance:
    """Two-sided test of equal pass rates in a 2x2 table.

    ``fisher`` (default; R ``fisher.test`` p-value: tables no more likely than the observed one),
    ``midp``, ``boschloo`` (slow for large n) or ``ztest`` (pooled variance). A table with an
    empty row or an empty column carries no evidence: p = 1.
    Example (R ``fisher.test`` help, tea tasting): [[3, 1], [1, 3]] -> p = 0.4857.
    """
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; expected one of {TESTS}")
    t = table
    degenerate = 0 in (t.focal_n, t.ref_n, t.focal_pass + t.ref_pass, t.focal_fail + t.ref_fail)
    statistic: float | None = None
    if degenerate:
        p = 1.0
    elif test == "fisher":
        p = fisher_two_sided(table.focal_pass, table.focal_fail, table.ref_pass, table.ref_fail)
    elif test == "midp":
        p = _midp_two_sided(table)
    elif test == "boschloo":
        res = stats.boschloo_exact(table.as_array(), alternative="two-sided")
        p, statistic = float(res.pvalue), float(res.statistic)
    else:
        z, pz = proportions_ztest(
            [table.focal_pass, table.ref_pass], [table.focal_n, table.ref_n], value=0
        )
        p, statistic = float(pz), float(z)
    return Significance(test, TEST_NAMES[test], TAILS, min(1.0, p), statistic)


def clear_caches() -> None:
    """Forget the memoised intervals and tests (benchmarks time the computation, not a hit)."""
    wilson_interval.cache_clear()
    significance_2x2.cache_clear()


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values for one family (order preserved).

    Example: [0.01, 0.04, 0.03, 0.005] -> [0.03, 0.06, 0.06, 0.02].
    """
    # Same arithmetic as statsmodels ``multipletests(method="holm")`` (the tests check they
    # agree), written out because that function calls ``gc.collect()`` on every use, which made
    # the flip test (one Holm pass per flagged comparison) dominate the run time.
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted


@dataclass
class Comparison:
    """Raw (family-unadjusted) statistics of one focal-vs-reference 2x2 table."""

    table: Table2x2
    focal_rate: float | None
    ref_rate: float | None
    focal_rate_ci: Interval | None
    ref_rate_ci: Interval | None
    ratio: Fraction | None  # exact, from the counts
    ratio_ci: Interval | None  # Katz log
    ratio_ci_corrected: bool  # Haldane 0.5 added for the Katz interval
    difference_pp: float | None  # (focal - reference) rate, percentage points
    odds: OddsRatio | None
    fail_rate_ratio: float | None  # focal not-pass rate / reference not-pass rate
    shortfall: Fraction | None  # focal passers expected at the reference rate - actual
    test: Significance

    @property
    def unfavourable(self) -> bool:
        """Focal rate strictly below the reference rate (exact comparison of the counts)."""
        t = self.table
        if t.focal_n == 0 or t.ref_n == 0:
            return False
        return Fraction(t.focal_pass, t.focal_n) < Fraction(t.ref_pass, t.ref_n)


def compare(table: Table2x2, test: str = "fisher", alpha: float = 0.05) -> Comparison:
    """All raw statistics of one 2x2 comparison (no tier: that needs the family's Holm step).

    Example (UGESP Q&A 12): ``compare(Table2x2(12, 36, 80, 40)).ratio == Fraction(3, 8)``.
    """
    fr = table.focal_pass / table.focal_n if table.focal_n else None
    rr = table.ref_pass / table.ref_n if table.ref_n else None
    ratio = exact_ratio(table)
    ratio_ci, corrected = katz_log_ci(table, alpha) if ratio is not None else (None, False)
    diff = (fr - rr) * 100 if fr is not None and rr is not None else None
    fail_ratio = None
    if table.focal_n and table.ref_n and table.ref_fail:
        fail_ratio = (table.focal_fail / table.focal_n) / (table.ref_fail / table.ref_n)
    shortfall = None
    if table.ref_n:
        shortfall = table.focal_n * Fraction(table.ref_pass, table.ref_n) - table.focal_pass
    return Comparison(
        table=table,
        focal_rate=fr,
        ref_rate=rr,
        focal_rate_ci=wilson_interval(table.focal_pass, table.focal_n, alpha),
        ref_rate_ci=wilson_interval(table.ref_pass, table.ref_n, alpha),
        ratio=ratio,
        ratio_ci=ratio_ci,
        ratio_ci_corrected=corrected,
        difference_pp=diff,
        odds=odds_ratio(table, alpha),
        fail_rate_ratio=fail_ratio,
        shortfall=shortfall,
        test=significance_2x2(table, test),
    )


@dataclass
class Tier:
    """Traffic-light verdict with a machine reason code and its parameters (for i18n)."""

    tier: str
    label: str
    reason_code: str
    params: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FlipCheck:
    """UGESP Q&A 21: one focal candidate moved from not-passed to passed.

    The Guidelines' question is whether the *ratio finding* (below 4/5) would reverse; that is
    :attr:`robust`. Whether the significance survives (the flipped p re-adjusted in the same Holm
    family) is reported apart, as :attr:`significance_fragile`, and does not change the tier.
    """

    flipped_table: Table2x2
    flipped_ratio: Fraction | None
    flipped_adjusted_p: float
    ratio_reaches_four_fifths: bool
    becomes_non_significant: bool

    @property
    def robust(self) -> bool:
        """The ratio finding survives one more focal passer (it stays below 4/5)."""
        return not self.ratio_reaches_four_fifths

    @property
    def significance_fragile(self) -> bool:
        """One more focal passer would make the (adjusted) test not significant."""
        return self.becomes_non_significant


def flip_check(
    table: Table2x2,
    family_raw_p: Sequence[float],
    index: int,
    test: str = "fisher",
    alpha: float = 0.05,
) -> FlipCheck:
    """Recompute ratio and Holm-adjusted p with one focal non-passer turned into a passer.

    The flipped p-value replaces this comparison's raw p in the same family before Holm, so
    the flipped table is judged under the same multiplicity as the original.
    """
    flipped = table.flipped()
    flipped_ratio = exact_ratio(flipped)
    p_raw = list(family_raw_p)
    p_raw[index] = significance_2x2(flipped, test).p_value
    p_adj = holm_adjust(p_raw)[index]
    return FlipCheck(
        flipped_table=flipped,
        flipped_ratio=flipped_ratio,
        flipped_adjusted_p=p_adj,
        ratio_reaches_four_fifths=not below_four_fifths(flipped_ratio),
        becomes_non_significant=not p_adj < alpha,
    )


def persons_to_four_fifths(table: Table2x2) -> int | None:
    """How many more focal passes (non-passers turned passers) bring the ratio to 4/5.

    The smallest k >= 0 with (a + k)/n1 >= 4/5 * c/n2, i.e. ceil(4/5 * n1 * c/n2 - a) (exact);
    0 when the ratio is not below 4/5; ``None`` when the ratio is undefined. Always <= b, since
    4/5 * n1 * c/n2 <= 4/5 * n1. Example (UGESP Q&A 12): 12/48 vs 80/120 -> ceil(25.6 - 12) = 14.
    """
    if exact_ratio(table) is None:
        return None
    need = FOUR_FIFTHS * table.focal_n * Fraction(table.ref_pass, table.ref_n) - table.focal_pass
    return max(0, math.ceil(need))


def _fmt_ratio(ratio: Fraction | None) -> float | None:
    return None if ratio is None else round(float(ratio), 4)


@dataclass(frozen=True)
class Verdict:
    """The verdict of one comparison: a tier, a machine reason code and plain numbers, no prose.

    ``numbers`` holds (``None`` where undefined): ``focal_n``, ``reference_n``,
    ``min_denominator``, ``alpha``, ``ratio``, ``ratio_ci_low``, ``ratio_ci_high`` (Katz 95 %),
    ``adjusted_p``, ``shortfall`` (persons, at the reference rate),
    ``persons_to_four_fifths`` (more focal passes to reach a ratio of 0.8),
    ``ratio_flip_reverses`` (one more focal pass brings the ratio to 0.8),
    ``significance_fragile`` (one more focal pass makes the adjusted test not significant),
    ``interval_above_four_fifths`` (the interval excludes ratios below 0.8),
    ``power_at_four_fifths`` (exact Fisher power to detect a ratio of 0.8 at these sizes),
    ``more_campaigns_for_power`` (how many more campaigns of this size reach 80 % power) and the
    same for a ratio of 0.5 (``power_at_half``, ``more_campaigns_for_power_half``); set for GREY
    and AMBER verdicts.
    """

    tier: str
    reason_code: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "reason_code": self.reason_code, **self.numbers}


_NO_POWER = {"power_at_four_fifths": None, "more_campaigns_for_power": None,
             "power_at_half": None, "more_campaigns_for_power_half": None}


def _power_numbers(n1: int, n2: int, ref_pass: int, alpha: float) -> dict[str, Any]:
    """Exact Fisher power to detect a true impact ratio of 0.8 and of 0.5 at these sizes, and
    how many more campaigns (or zones) of this size together would reach 80 % power."""
    from hrpipeline.analysis.power import HALF_RATIO, campaigns_for_power, fisher_power

    if n1 == 0 or n2 == 0 or ref_pass == 0:
        return dict(_NO_POWER)
    p_ref = ref_pass / n2
    k = campaigns_for_power(n1, n2, p_ref, alpha=alpha)
    k_half = campaigns_for_power(n1, n2, p_ref, HALF_RATIO, alpha=alpha)
    return {
        "power_at_four_fifths": fisher_power(n1, n2, p_ref, alpha=alpha),
        "more_campaigns_for_power": None if k is None else k - 1,
        "power_at_half": fisher_power(n1, n2, p_ref, HALF_RATIO, alpha=alpha),
        "more_campaigns_for_power_half": None if k_half is None else k_half - 1,
    }


def impact_verdict(
    focal_pass: int,
    focal_fail: int,
    ref_pass: int,
    ref_fail: int,
    *,
    adjusted_p: float | None,
    flipped_adjusted_p: float | None = None,
    alpha: float = 0.05,
    min_denominator: int = 20,
) -> Verdict:
    """RED / AMBER / GREY / GREEN of one comparison from plain counts (rules and calibration in
    ``docs/statistics-funnel.md``).

    ``adjusted_p`` is the comparison's Holm-adjusted p (``None``: not assessed);
    ``flipped_adjusted_p`` the adjusted p with one focal non-passer turned passer (same family),
    used only to report ``significance_fragile``.

    * GREY ``too_few_*`` / ``no_reference_passers``: a group below ``min_denominator`` decisions,
      or no reference passers.
    * RED: ratio < 4/5, adjusted p < alpha, shortfall >= 1 person, and one more focal pass would
      not bring the ratio to 4/5 (UGESP Q&A 21: the flip is applied to the ratio finding).
    * AMBER: ratio < 4/5 without all of that; or significant, unfavourable, ratio >= 4/5.
    * GREEN: ratio >= 4/5, not significantly unfavourable, *and* the 95 % interval of the ratio
      lies at or above 0.8 (the data could have shown a disproportion and did not).
    * GREY ``interval_reaches_below_four_fifths``: otherwise (too few to tell).

    GREY and AMBER verdicts carry the power to detect a ratio of 0.8 and of 0.5 and how many
    more campaigns of this size would reach 80 % power.
    """
    t = Table2x2(focal_pass, focal_fail, ref_pass, ref_fail)
    ratio = exact_ratio(t)
    ci, _ = katz_log_ci(t) if ratio is not None else (None, False)
    shortfall = (t.focal_n * Fraction(t.ref_pass, t.ref_n) - t.focal_pass) if t.ref_n else None
    persons = persons_to_four_fifths(t)
    significant = adjusted_p is not None and adjusted_p < alpha
    numbers: dict[str, Any] = {
        "focal_n": t.focal_n,
        "reference_n": t.ref_n,
        "min_denominator": min_denominator,
        "alpha": alpha,
        "ratio": _fmt_ratio(ratio),
        "ratio_ci_low": None if ci is None else ci.low,
        "ratio_ci_high": None if ci is None else ci.high,
        "adjusted_p": adjusted_p,
        "shortfall": None if shortfall is None else round(float(shortfall), 2),
        "persons_to_four_fifths": persons,
        "ratio_flip_reverses": None if persons is None or persons == 0 else persons <= 1,
        "significance_fragile": (
            None if not significant or flipped_adjusted_p is None
            else not flipped_adjusted_p < alpha
        ),
        "interval_above_four_fifths": None if ci is None else ci.low >= float(FOUR_FIFTHS),
        **_NO_POWER,
    }

    def grey(code: str) -> Verdict:
        numbers.update(_power_numbers(t.focal_n, t.ref_n, t.ref_pass, alpha))
        return Verdict(GREY, code, numbers)

    def amber(code: str) -> Verdict:
        numbers.update(_power_numbers(t.focal_n, t.ref_n, t.ref_pass, alpha))
        return Verdict(AMBER, code, numbers)

    if t.focal_n < min_denominator:
        return grey("too_few_focal")
    if t.ref_n < min_denominator:
        return grey("too_few_reference")
    if t.ref_pass == 0:
        return grey("no_reference_passers")
    unfavourable = Fraction(t.focal_pass, t.focal_n) < Fraction(t.ref_pass, t.ref_n)
    if below_four_fifths(ratio):
        short = shortfall if shortfall is not None else Fraction(0)
        if not significant:
            return amber("below_four_fifths_not_significant")
        if short < 1:
            return amber("below_four_fifths_shortfall_below_one")
        if numbers["ratio_flip_reverses"]:
            return amber("below_four_fifths_not_robust")
        return Verdict(RED, "below_four_fifths_significant_robust", numbers)
    if significant and unfavourable:
        return amber("significant_above_four_fifths")
    if numbers["interval_above_four_fifths"]:
        return Verdict(GREEN, "no_evidence" if unfavourable else "focal_rate_not_lower", numbers)
    return grey("interval_reaches_below_four_fifths")


def assess_family(
    tables: Sequence[Table2x2 | tuple[int, int, int, int]],
    test: str = "fisher",
    alpha: float = 0.05,
    min_denominator: int = 20,
) -> list[Verdict]:
    """Verdicts of one family of comparisons (one view of one report) from plain counts.

    Holm runs over the assessable comparisons (both groups >= ``min_denominator`` decisions and
    reference passers); the others get ``adjusted_p = None`` and a GREY verdict. Each tuple is
    (focal passed, focal not passed, reference passed, reference not passed).
    """
    tabs = [t if isinstance(t, Table2x2) else Table2x2(*t) for t in tables]
    family = [i for i, t in enumerate(tabs)
              if min(t.focal_n, t.ref_n) >= min_denominator and t.ref_pass > 0]
    raw = [significance_2x2(tabs[i], test).p_value for i in family]
    adjusted = dict(zip(family, holm_adjust(raw), strict=True))
    out = []
    for i, t in enumerate(tabs):
        adj = adjusted.get(i)
        flipped_p = None
        if adj is not None and adj < alpha:
            flipped_p = flip_check(t, raw, family.index(i), test, alpha).flipped_adjusted_p
        out.append(impact_verdict(
            t.focal_pass, t.focal_fail, t.ref_pass, t.ref_fail, adjusted_p=adj,
            flipped_adjusted_p=flipped_p, alpha=alpha, min_denominator=min_denominator,
        ))
    return out


#: English sentences of the reason codes, for the analysis-level records (CLI, CSV of the raw
#: analysis); the web layer translates by code (``hrpipeline.web.messages``).
REASON_TEXTS: dict[str, str] = {
    "too_few_focal": "Too few to tell: only {focal_n} decisions in this group (at least "
                     "{min_denominator} needed).",
    "too_few_reference": "Too few to tell: only {reference_n} decisions in the reference group "
                         "(at least {min_denominator} needed).",
    "no_reference_passers": "Too few to tell: nobody in the reference group passed, so there is "
                            "no rate to compare with.",
    "interval_reaches_below_four_fifths": "Too few to tell: the ratio is {ratio} but its 95% "
                                          "interval reaches below 0.8.",
    "below_four_fifths_significant_robust": "This group passes at {ratio} times the reference "
                                            "rate (below 0.8); the gap is statistically "
                                            "significant after correction for multiple "
                                            "comparisons, and {persons_to_four_fifths} more "
                                            "people would have to pass to reach 0.8.",
    "below_four_fifths_not_significant": "Watch: this group passes at {ratio} times the "
                                         "reference rate (below 0.8), but the gap could be "
                                         "chance at these numbers.",
    "below_four_fifths_shortfall_below_one": "Watch: this group passes at {ratio} times the "
                                             "reference rate (below 0.8), but the gap amounts "
                                             "to less than one person.",
    "below_four_fifths_not_robust": "Watch: this group passes at {ratio} times the reference "
                                    "rate (below 0.8), but one more person passing would bring "
                                    "the ratio to 0.8.",
    "significant_above_four_fifths": "Watch: this group passes at a significantly lower rate, "
                                     "though at {ratio} times the reference rate it is not "
                                     "below 0.8.",
    "focal_rate_not_lower": "No disproportionate drop-out: this group passes at least as often "
                            "as the reference group, and the 95% interval of the ratio excludes "
                            "ratios below 0.8.",
    "no_evidence": "No disproportionate drop-out: the ratio is {ratio} and its 95% interval "
                   "excludes ratios below 0.8.",
    "strata_disagree": "Strata disagree: see each campaign/zone (the stratified comparison is "
                       "shown, not the collapsed one).",
}


def reason_text(code: str, numbers: dict[str, Any]) -> str:
    """The English sentence of a reason code (analysis records only; no translation)."""
    text = REASON_TEXTS.get(code, code)
    shown = {k: (f"{v:.2f}" if isinstance(v, float) else v) for k, v in numbers.items()}
    try:
        return text.format(**shown)
    except (KeyError, ValueError):
        return text


def tier_from_verdict(verdict: Verdict) -> Tier:
    return Tier(verdict.tier, TIER_LABELS[verdict.tier], verdict.reason_code,
                dict(verdict.numbers), reason_text(verdict.reason_code, verdict.numbers))


def assign_tier(
    comparison: Comparison,
    adjusted_p: float,
    flip: FlipCheck | None,
    alpha: float = 0.05,
    min_denominator: int = 20,
) -> Tier:
    """:func:`impact_verdict` of a :class:`Comparison`, with the English label and reason."""
    t = comparison.table
    return tier_from_verdict(impact_verdict(
        t.focal_pass, t.focal_fail, t.ref_pass, t.ref_fail, adjusted_p=adjusted_p,
        flipped_adjusted_p=None if flip is None else flip.flipped_adjusted_p,
        alpha=alpha, min_denominator=min_denominator,
    ))
