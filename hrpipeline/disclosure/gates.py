"""Derived statistics of published counts: sums, rates, ratios, intervals, p-values.

Each helper takes published values (ints or ``SUPPRESSED``) and returns a published value:
a statistic that needs a hidden input is hidden (or, for p-values, coarsened to a band).
"""

from __future__ import annotations

import math

from hrpipeline.disclosure.policy import DEFAULT_POLICY, Policy
from hrpipeline.disclosure.values import SUPPRESSED, _Suppressed

#: p-value bands (upper limits) used when an exact p-value could be inverted.
P_BANDS = (0.001, 0.01, 0.05)


def gate_sum(*values: int | _Suppressed) -> int | _Suppressed:
    """Sum of published counts; ``SUPPRESSED`` if any part is hidden (it cannot be computed)."""
    if any(v is SUPPRESSED for v in values):
        return SUPPRESSED
    return int(sum(int(v) for v in values))  # type: ignore[arg-type]


def gate_rate(
    numerator: int | _Suppressed,
    denominator: int | _Suppressed,
    policy: Policy = DEFAULT_POLICY,
) -> float | _Suppressed:
    """``numerator / denominator``, or ``SUPPRESSED`` when publishing it could disclose.

    Hidden when an input is hidden, the denominator is under ``min_denominator``, the
    numerator or its complement (denominator - numerator: rate and base give it back) is a
    count of 1..k-1, or the rate is 0 % / 100 % on a base under ``extreme_rate_min_base``.
    Example (k=5): ``gate_rate(12, 40) == 0.3``; ``gate_rate(3, 40)`` and ``gate_rate(0, 30)``
    are ``SUPPRESSED``; ``gate_rate(0, 60) == 0.0``.
    """
    rate = published_rate(numerator, denominator, policy)
    if rate is SUPPRESSED:
        return SUPPRESSED
    num, den = int(numerator), int(denominator)  # type: ignore[arg-type]
    if policy.is_primary(num) or policy.is_primary(den - num):
        return SUPPRESSED
    if (num == 0 or num == den) and den < policy.extreme_rate_min_base:
        return SUPPRESSED
    return rate


def gate_ratio(a: float | _Suppressed, b: float | _Suppressed) -> float | _Suppressed:
    """``a / b`` for already-gated rates (impact ratio): hidden if either is hidden.

    ``b == 0`` gives NaN (undefined, not a disclosure: NaN is never the hidden marker).
    """
    if a is SUPPRESSED or b is SUPPRESSED:
        return SUPPRESSED
    if b == 0:
        return math.nan
    return float(a) / float(b)  # type: ignore[arg-type]


def gate_interval(
    lo: float | _Suppressed, hi: float | _Suppressed, inputs_hidden: bool
) -> tuple[float, float] | _Suppressed:
    """A confidence interval, or ``SUPPRESSED`` when a count behind it is hidden.

    An exact (e.g. Clopper-Pearson) interval is a function of the counts and can be inverted
    to recover them, so it is not published at all then.
    """
    if inputs_hidden or lo is SUPPRESSED or hi is SUPPRESSED:
        return SUPPRESSED
    return (float(lo), float(hi))  # type: ignore[arg-type]


def coarsen_p(p: float) -> str:
    """The p-value band: ``"< 0.001"``, ``"< 0.01"``, ``"< 0.05"`` or ``"≥ 0.05"``."""
    if p is SUPPRESSED:
        raise TypeError("cannot coarsen a suppressed p-value")
    p = float(p)
    if math.isnan(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"not a p-value: {p!r}")
    for band in P_BANDS:
        if p < band:
            return f"< {band:g}"
    return f"≥ {P_BANDS[-1]:g}"


def gate_p(p: float | _Suppressed, inputs_hidden: bool) -> float | str | _Suppressed:
    """The exact p-value, or only its band when a count behind it is hidden.

    An exact p-value (Fisher's test) is a function of the 2x2 counts: with the margins
    published, it can be inverted to the hidden cell, so only the band is shown.
    """
    if p is SUPPRESSED:
        return SUPPRESSED
    if inputs_hidden:
        return coarsen_p(p)  # type: ignore[arg-type]
    return float(p)  # type: ignore[arg-type]


def published_rate(numerator: int | _Suppressed, denominator: int | _Suppressed,
                   policy: Policy = DEFAULT_POLICY) -> float | _Suppressed:
    """A rate of two **published** (already protected) counts.

    The counts are public, so their ratio tells nothing more: it is hidden only when an input
    is hidden or the denominator is under ``min_denominator`` (a rate on too few people is
    not shown, however it was protected; ``min_denominator >= k >= 3``, so 0/0 is hidden too).
    ``gate_rate`` adds the rules for counts that are not yet protected.
    Example: ``published_rate(15, 40) == 0.375``; ``published_rate(5, 15)`` is ``SUPPRESSED``.
    """
    if numerator is SUPPRESSED or denominator is SUPPRESSED:
        return SUPPRESSED
    num, den = int(numerator), int(denominator)  # type: ignore[arg-type]
    if num < 0 or den < 0 or num > den:
        raise ValueError(f"not a proportion: {num}/{den}")
    if den < policy.min_denominator:
        return SUPPRESSED
    return num / den
