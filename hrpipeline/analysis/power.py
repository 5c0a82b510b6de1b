"""Power of Fisher's exact test to detect an impact ratio of 0.8 (or 0.5), by exact enumeration.

Used for the GREY "too few to tell" verdict (``docs/statistics-funnel.md``): when a comparison
cannot show that the impact ratio is at least 0.8, the report says how likely a comparison of
this size was to detect a true ratio of 0.8, and how many campaigns of this size taken together
would detect it 80 % of the time. The same is reported for a ratio of 0.5, and for AMBER
comparisons (below four-fifths but possibly chance).

"Campaigns" may equally be zones: k strata of the same size analysed with the
Cochran-Mantel-Haenszel test have about the power of Fisher's test on their summed table (the
tests check this by seeded simulation with statsmodels ``StratifiedTable``).

Model: the focal group's ``n1`` and the reference group's ``n2`` decisions are independent
binomials with pass rates ``p1 = ratio * p2`` and ``p2`` (the reference group's observed rate).
Power = P(two-sided Fisher p < alpha *and* the focal rate is the lower one), summed exactly over
every table: for each number of passers m the conditional (hypergeometric) distribution of the
focal passers gives every table's Fisher p-value at once (R ``fisher.test``'s rule, the terms no
larger than the observed one, relative tolerance 1e-7), and the rejected tables' binomial
probabilities are added. Values of m whose binomial probability is below 1e-15 altogether are
skipped (their contribution is below that bound).

Checked in the tests against a seeded simulation with ``scipy.stats.fisher_exact`` and, for large
samples where the normal approximation applies, against statsmodels
``NormalIndPower().power(proportion_effectsize(p1, p2), ...)`` (Cohen's arcsine effect size).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special, stats

#: The ratio the power is computed for (the four-fifths threshold).
POWER_RATIO = 0.8
#: A large disproportion (the group passes half as often): also reported.
HALF_RATIO = 0.5
#: The power asked for when counting campaigns.
TARGET_POWER = 0.8
#: Beyond this many campaigns of the observed size the answer is "not within reach" (None).
MAX_CAMPAIGNS = 100
_REL_TOL = 1 + 1e-7
_SKIP = 1e-15


def _log_binom_pmf(n: int, p: float) -> np.ndarray:
    k = np.arange(n + 1, dtype=np.float64)
    out = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    # xlogy: 0 * log(0) is 0 (k = 0 with p = 0, or k = n with p = 1, has probability 1).
    return out + special.xlogy(k, p) + special.xlog1py(n - k, -p)


@lru_cache(maxsize=1024)
def fisher_power(n1: int, n2: int, p_ref: float, ratio: float = POWER_RATIO,
                 alpha: float = 0.05) -> float:
    """Probability that Fisher's two-sided test at ``alpha`` finds the focal group's rate
    significantly *lower*, when its true rate is ``ratio * p_ref`` (exact enumeration).

    Example: n1 = n2 = 20, p_ref = 0.5, ratio 0.8 -> 0.0471 (a campaign of 20 vs 20 almost never
    detects a ratio of 0.8; 21 such campaigns together would, 80 % of the time).
    """
    if n1 <= 0 or n2 <= 0 or not 0 < p_ref <= 1:
        return 0.0
    p1 = min(1.0, ratio * p_ref)
    lb1, lb2 = _log_binom_pmf(n1, p1), _log_binom_pmf(n2, p_ref)
    total = n1 + n2
    # Distribution of m = a + c: only the m that carry probability matter.
    m_pmf = np.convolve(np.exp(lb1), np.exp(lb2))
    ms = np.nonzero(m_pmf > _SKIP)[0]
    g = special.gammaln(np.arange(1, total + 2, dtype=np.float64))  # g[x] = log x!
    # One row per m, one column per a near the row's conditional mean n1 m / N: by Hoeffding's
    # bound (as in ``impact.fisher_two_sided``) P(a = k | m) <= exp(-2 (k - E a)^2 / w) with
    # w = min(n1, n2, m, N - m), so beyond |k - E a| > sqrt(15 w) every term is below e^-30 of
    # the largest and leaving them out changes no p-value that matters. Cells outside the
    # support have h = 0.
    m = ms[:, None]
    w = np.minimum(np.minimum(ms, total - ms), min(n1, n2)).max()
    half = int(math.ceil(math.sqrt(15 * w))) + 1
    start = np.clip(np.floor(ms * n1 / total).astype(int) - half, 0, None)[:, None]
    a = start + np.arange(min(n1, 2 * half) + 1)[None, :]
    c = m - a
    valid = (c >= 0) & (c <= n2) & (a <= m) & (a <= n1)
    ai, ci = np.where(valid, a, 0), np.where(valid, c, 0)
    log_h = np.where(valid, g[n1] + g[n2] - g[total] + g[m] + g[total - m]
                     - g[ai] - g[ci] - g[n1 - ai] - g[n2 - ci], -np.inf)
    h = np.exp(log_h - log_h.max(axis=1, keepdims=True))  # each row's mode is 1
    ordered = np.sort(h, axis=1)
    cum = np.cumsum(ordered, axis=1)
    # Fisher p of each cell: the row's total of terms <= h * (1 + 1e-7), over the row total.
    # Rows are searched at once by shifting row r to [2r, 2r + 1] (h <= 1): shifting costs
    # absolute precision ~1e-12, which can only misplace terms far too small to matter.
    shift = 2.0 * np.arange(len(ms))[:, None]
    wanted = valid & (a * n2 < c * n1)  # the focal rate strictly lower
    rows = np.nonzero(wanted)[0]
    idx = np.searchsorted((ordered + shift).ravel(), (h * _REL_TOL + shift)[wanted],
                          side="right") - 1
    p_values = cum.ravel()[idx] / cum[rows, -1]
    reject = p_values < alpha
    ar, cr = a[wanted][reject], c[wanted][reject]
    power = float(np.exp(lb1[ar] + lb2[cr]).sum())
    return min(1.0, power)


def normal_power(n1: int, n2: int, p_ref: float, ratio: float = POWER_RATIO,
                 alpha: float = 0.05) -> float:
    """Normal-approximation power (Cohen's h, two-sided) as statsmodels ``NormalIndPower``;
    used only to start the search in :func:`campaigns_for_power`."""
    p1 = min(1.0, ratio * p_ref)
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p_ref)))
    se = math.sqrt(1 / n1 + 1 / n2)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.sf(z - h / se) + stats.norm.cdf(-z - h / se))


@lru_cache(maxsize=1024)
def campaigns_for_power(n1: int, n2: int, p_ref: float, ratio: float = POWER_RATIO,
                        alpha: float = 0.05, target: float = TARGET_POWER) -> int | None:
    """Smallest k such that k campaigns of this size together (k*n1 vs k*n2) reach ``target``
    exact Fisher power; ``None`` when more than :data:`MAX_CAMPAIGNS` would be needed.

    The normal approximation gives the starting k; the exact power then decides (it is lower,
    Fisher's test being conservative, and not quite monotone in k: the answer is the smallest k
    at or below the first k that reaches the target whose predecessor does not).
    """
    if n1 <= 0 or n2 <= 0 or not 0 < p_ref <= 1:
        return None
    p1 = min(1.0, ratio * p_ref)
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p_ref)))
    if h == 0:
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target)
    # n1 k * n2 k / (n1 k + n2 k) = (z / h)^2  ->  k = (z / h)^2 (1/n1 + 1/n2)
    k = max(1, math.ceil((z / h) ** 2 * (1 / n1 + 1 / n2)))
    if k > MAX_CAMPAIGNS:
        return None
    while fisher_power(k * n1, k * n2, p_ref, ratio, alpha) < target:
        k += 1
        if k > MAX_CAMPAIGNS:
            return None
    while k > 1 and fisher_power((k - 1) * n1, (k - 1) * n2, p_ref, ratio, alpha) >= target:
        k -= 1
    return k


def clear_caches() -> None:
    fisher_power.cache_clear()
    campaigns_for_power.cache_clear()
