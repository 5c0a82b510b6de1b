"""Exact power of Fisher's test to detect an impact ratio of 0.8 or 0.5 (GREY "too few to tell",
AMBER "could be chance")."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from hrpipeline.analysis.power import (
    HALF_RATIO,
    MAX_CAMPAIGNS,
    campaigns_for_power,
    fisher_power,
    normal_power,
)


@pytest.mark.parametrize(("n1", "n2", "p_ref"), [(20, 20, 0.5), (15, 40, 0.8), (30, 25, 0.3)])
def test_exact_power_matches_a_seeded_simulation_with_scipy_fisher_exact(n1, n2, p_ref):
    """Seeded simulation: binomial tables at rates 0.8 p_ref and p_ref, each tested with
    ``scipy.stats.fisher_exact`` (two-sided); a rejection counts when the focal rate is the lower
    one. Agreement within 4 Monte-Carlo standard errors."""
    rng = np.random.default_rng(16)
    reps = 2000
    a = rng.binomial(n1, 0.8 * p_ref, reps)
    c = rng.binomial(n2, p_ref, reps)
    hits = sum(
        1 for x, y in zip(a, c, strict=True)
        if x * n2 < y * n1 and fisher_exact([[x, n1 - x], [y, n2 - y]])[1] < 0.05
    )
    exact = fisher_power(n1, n2, p_ref)
    se = np.sqrt(exact * (1 - exact) / reps)
    assert abs(hits / reps - exact) < 4 * se + 1e-3


def test_exact_enumeration_by_hand_on_a_tiny_table():
    """n1 = n2 = 3, p_ref = 1: the focal rate is 0.8, the reference group always passes 3/3.
    Fisher's two-sided test on [[a, 3 - a], [3, 0]] rejects at 0.05 only for a = 0
    (p = 0.1 for [[0, 3], [3, 0]]: no table rejects), so the power is 0."""
    assert fisher_exact([[0, 3], [3, 0]])[1] == pytest.approx(0.1)
    assert fisher_power(3, 3, 1.0) == 0.0
    # n1 = n2 = 5: [[0, 5], [5, 0]] has p = 2/252 < 0.05 and [[1, 4], [5, 0]] 0.0476 < 0.05;
    # P(a <= 1) at rate 0.8 is 0.2^5 + 5 * 0.8 * 0.2^4.
    assert fisher_exact([[1, 4], [5, 0]])[1] < 0.05 < fisher_exact([[2, 3], [5, 0]])[1]
    assert fisher_power(5, 5, 1.0) == pytest.approx(0.2**5 + 5 * 0.8 * 0.2**4)


@pytest.mark.parametrize(("n", "p_ref"), [(500, 0.5), (1000, 0.3), (400, 0.7)])
def test_large_samples_agree_with_statsmodels_normal_power(n, p_ref):
    """For large groups the normal approximation applies: statsmodels ``NormalIndPower`` with
    Cohen's h (``proportion_effectsize``) agrees with the exact Fisher power within 0.02 (Fisher
    is conservative, so a little lower), and ``normal_power`` is that same formula."""
    es = proportion_effectsize(p_ref, 0.8 * p_ref)
    reference = NormalIndPower().power(es, nobs1=n, alpha=0.05, ratio=1.0)
    assert normal_power(n, n, p_ref) == pytest.approx(reference, abs=1e-9)
    exact = fisher_power(n, n, p_ref)
    assert reference - 0.02 < exact <= reference + 1e-9


def test_campaigns_for_power_is_the_first_multiple_reaching_80_percent():
    """20 vs 20 at a reference rate of 0.5: one campaign has power 0.047; k campaigns together
    (20k vs 20k) reach 80 % first at k = 21."""
    assert fisher_power(20, 20, 0.5) == pytest.approx(0.0471, abs=1e-4)
    k = campaigns_for_power(20, 20, 0.5)
    assert k == 21
    assert fisher_power(20 * k, 20 * k, 0.5) >= 0.8 > fisher_power(20 * (k - 1), 20 * (k - 1), 0.5)


def test_campaigns_out_of_reach_and_undefined():
    assert campaigns_for_power(2, 2, 0.01) is None  # far more than MAX_CAMPAIGNS needed
    assert MAX_CAMPAIGNS == 100
    assert campaigns_for_power(0, 20, 0.5) is None and fisher_power(20, 0, 0.5) == 0.0
    assert fisher_power(20, 20, 0.0) == 0.0


# --- a ratio of 0.5, AMBER comparisons and strata (zones) -------------------------------------


@pytest.mark.parametrize(("n1", "n2", "p_ref"), [(20, 30, 0.6), (12, 60, 0.4)])
def test_half_ratio_power_matches_a_seeded_scipy_simulation(n1, n2, p_ref):
    """As above for a true impact ratio of 0.5 (seeded; ``scipy.stats.fisher_exact``)."""
    rng = np.random.default_rng(19)
    reps = 2000
    a = rng.binomial(n1, 0.5 * p_ref, reps)
    c = rng.binomial(n2, p_ref, reps)
    hits = sum(1 for x, y in zip(a, c, strict=True)
               if x * n2 < y * n1 and fisher_exact([[x, n1 - x], [y, n2 - y]])[1] < 0.05)
    exact = fisher_power(n1, n2, p_ref, HALF_RATIO)
    se = np.sqrt(exact * (1 - exact) / reps)
    assert abs(hits / reps - exact) < 4 * se + 1e-3


def test_half_ratio_large_samples_agree_with_statsmodels():
    es = proportion_effectsize(0.2, 0.1)
    reference = NormalIndPower().power(es, nobs1=250, alpha=0.05, ratio=1.0)
    exact = fisher_power(250, 250, 0.2, HALF_RATIO)
    assert reference - 0.03 < exact <= reference + 1e-9
    k = campaigns_for_power(20, 20, 0.3, HALF_RATIO)
    assert fisher_power(20 * k, 20 * k, 0.3, HALF_RATIO) >= 0.8
    assert fisher_power(20 * (k - 1), 20 * (k - 1), 0.3, HALF_RATIO) < 0.8
    assert k < campaigns_for_power(20, 20, 0.3)  # a larger gap needs fewer campaigns


def test_k_zones_with_cmh_have_about_the_power_of_fisher_on_the_sum():
    """k strata of the same size (campaigns or zones) tested with Cochran-Mantel-Haenszel
    (statsmodels ``StratifiedTable.test_null_odds``, seeded simulation) reach about the power of
    Fisher's test on the summed table, so "k campaigns" reads as "k zones" too. CMH is not
    conservative, so a little higher."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    n1, n2, p_ref = 20, 40, 0.5
    k = campaigns_for_power(n1, n2, p_ref)
    rng = np.random.default_rng(23)
    reps, hits = 400, 0
    for _ in range(reps):
        a = rng.binomial(n1, 0.8 * p_ref, k)
        c = rng.binomial(n2, p_ref, k)
        tables = [np.array([[x, n1 - x], [y, n2 - y]]) for x, y in zip(a, c, strict=True)]
        res = StratifiedTable(tables).test_null_odds(correction=False)
        hits += a.sum() * n2 < c.sum() * n1 and res.pvalue < 0.05
    exact = fisher_power(k * n1, k * n2, p_ref)
    assert exact >= 0.8
    assert abs(hits / reps - exact) < 0.07


def test_amber_verdicts_carry_the_power_too():
    """Below four-fifths but possibly chance (AMBER): the same power numbers as GREY."""
    from hrpipeline.analysis.impact import AMBER, impact_verdict

    v = impact_verdict(12, 18, 20, 10, adjusted_p=0.2)  # 0.4 vs 0.667: ratio 0.6
    assert v.tier == AMBER and v.reason_code == "below_four_fifths_not_significant"
    p_ref = 20 / 30
    assert v.numbers["power_at_four_fifths"] == pytest.approx(fisher_power(30, 30, p_ref))
    assert v.numbers["power_at_half"] == pytest.approx(fisher_power(30, 30, p_ref, HALF_RATIO))
    assert v.numbers["more_campaigns_for_power"] == campaigns_for_power(30, 30, p_ref) - 1
    assert v.numbers["more_campaigns_for_power_half"] == campaigns_for_power(
        30, 30, p_ref, HALF_RATIO) - 1
