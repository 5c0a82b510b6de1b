"""Tests of stratified pooling against R's ``mantelhaen.test`` help page, SAS and SciPy."""

from __future__ import annotations

from fractions import Fraction

import pytest
from scipy import stats
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio

from hrpipeline.analysis.impact import AMBER, RED, Table2x2
from hrpipeline.analysis.pooling import (
    breslow_day_tarone,
    exact_conditional_test,
    mantel_fleiss,
    pool_strata,
    pooled_verdict,
    strata_disagreement,
    strata_verdict,
)

# R ``?mantelhaen.test``, "Rabbits" (penicillin levels 1/8, 1/4, 1/2, 1, 4): rows Delay
# (none, 1.5h), columns Response (cured, died).
RABBITS = [
    Table2x2(0, 6, 0, 5),
    Table2x2(3, 3, 0, 6),
    Table2x2(6, 0, 2, 4),
    Table2x2(5, 1, 6, 0),
    Table2x2(2, 0, 5, 0),
]
# SAS/STAT User's Guide, PROC FREQ example "Cochran-Mantel-Haenszel Statistics" (migraine
# data, stratified by gender): rows Active/Placebo, columns Better/Same.
MIGRAINE = [Table2x2(16, 11, 5, 20), Table2x2(12, 16, 7, 19)]


def test_rabbits_match_r_mantelhaen_test():
    """R output: Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747;
    95% CI 1.026713 to 47.725133; common odds ratio 7 (sum(ad/n) / sum(bc/n) = 3.5 / 0.5).

    The brief quoted 7.166667 for the estimate; the Mantel-Haenszel formula gives exactly 7 for
    this data (and statsmodels agrees), so 7 is what we check.
    """
    r = pool_strata(RABBITS, ["1/8", "1/4", "1/2", "1", "4"])
    assert r.cmh_statistic == pytest.approx(3.9286, abs=5e-5)
    assert r.cmh_p_value == pytest.approx(0.04747, abs=5e-6)
    assert r.mh_odds_ratio == pytest.approx(7.0)
    assert r.mh_odds_ratio_ci == pytest.approx((1.026713, 47.725133), abs=5e-7)
    # Penicillin 1/8 (nobody cured) and 4 (nobody died) carry no information.
    assert r.excluded_strata == ["1/8", "4"]


def test_rabbits_exact_conditional_matches_r():
    """R ``mantelhaen.test(Rabbits, exact = TRUE)``: S = 16, p-value = 0.03994,
    common odds ratio (conditional MLE) 10.36102."""
    ex = exact_conditional_test(RABBITS)
    assert ex.statistic == 16
    assert ex.p_value == pytest.approx(0.03994, abs=5e-6)
    assert ex.conditional_mle == pytest.approx(10.36102, rel=1e-5)
    # Small strata: the Mantel-Fleiss criterion (here 4 < 5) selects the exact test.
    r = pool_strata(RABBITS)
    assert mantel_fleiss([t for t in RABBITS if t.focal_pass + t.ref_pass and
                          t.focal_fail + t.ref_fail]) < 5
    assert r.test_used == "exact_conditional"
    assert r.p_value == pytest.approx(0.03994, abs=5e-6)


def test_exact_conditional_with_one_stratum_is_fisher():
    """With K = 1 the exact conditional test is Fisher's exact test and the conditional MLE is
    SciPy's ``odds_ratio(kind="conditional")`` (R ``fisher.test`` estimate)."""
    t = Table2x2(12, 36, 80, 40)
    ex = exact_conditional_test([t])
    assert ex.p_value == pytest.approx(stats.fisher_exact(t.as_array()).pvalue, rel=1e-9)
    ref = scipy_odds_ratio(t.as_array(), kind="conditional").statistic
    assert ex.conditional_mle == pytest.approx(ref, rel=1e-6)


def test_migraine_matches_sas_proc_freq():
    """SAS PROC FREQ migraine example: Mantel-Haenszel common OR 3.3132 (95% CL 1.4456 to
    7.5934); Breslow-Day-Tarone chi-square 1.4905, p = 0.2221 (homogeneous)."""
    r = pool_strata(MIGRAINE, ["female", "male"])
    assert r.mh_odds_ratio == pytest.approx(3.3132, abs=5e-5)
    assert r.mh_odds_ratio_ci == pytest.approx((1.4456, 7.5934), abs=5e-5)
    assert r.breslow_day_statistic == pytest.approx(1.4905, abs=5e-5)
    assert r.breslow_day_p_value == pytest.approx(0.2221, abs=5e-5)
    assert r.homogeneous is True
    assert r.recommendation == "pooled"
    assert r.test_used == "cmh"  # large enough for the chi-square approximation
    assert not r.simpson


def test_heterogeneous_strata_say_show_side_by_side():
    """Opposite odds ratios in two zones: Breslow-Day rejects, the pooled number is withheld."""
    r = pool_strata([Table2x2(40, 60, 80, 20), Table2x2(80, 20, 40, 60)], ["A", "B"])
    assert r.breslow_day_p_value < 0.001
    assert r.homogeneous is False
    assert r.recommendation == "show_strata"
    assert any("side by side" in m for m in r.messages)


def test_simpsons_paradox_is_reported():
    """Focal candidates mostly apply in the hard zone: within each zone they pass *more* often
    (30/200 vs 2/20; 18/20 vs 160/200), yet collapsed they pass far less often (48/220 vs
    162/220)."""
    r = pool_strata([Table2x2(30, 170, 2, 18), Table2x2(18, 2, 160, 40)], ["hard", "easy"])
    assert r.crude_odds_ratio < 1 < r.mh_odds_ratio
    assert r.crude_p_value < 0.05
    assert r.simpson
    assert "Simpson's paradox" in r.messages[0]
    # Indirect standardization: expected = 200 * 2/20 + 20 * 160/200 = 36; SIR = 48/36.
    assert r.expected_focal_pass == 36
    assert r.standardized_ratio == Fraction(4, 3)
    assert not r.standardized_below_four_fifths


def test_standardized_ratio_flags_consistent_gap():
    r = pool_strata([Table2x2(10, 30, 30, 10), Table2x2(12, 28, 28, 12)])
    assert r.standardized_ratio == Fraction(22, 58)
    assert r.standardized_below_four_fifths
    assert r.p_value < 0.05 and not r.simpson


def test_records_and_frame_keep_counts():
    r = pool_strata(MIGRAINE, ["female", "male"])
    frame = r.to_frame()
    assert list(frame["stratum"]) == ["female", "male", "__crude__", "__pooled__"]
    crude = frame.set_index("stratum").loc["__crude__"]
    assert (crude["focal_pass"], crude["ref_fail"]) == (28, 39)


def test_nothing_to_pool():
    r = pool_strata([Table2x2(5, 0, 5, 0)], ["A"])
    assert r.p_value is None and r.recommendation == "insufficient"
    with pytest.raises(ValueError):
        pool_strata([Table2x2(1, 1, 1, 1)], ["A", "B"])


def test_breslow_day_fallback_equals_statsmodels_and_handles_common_or_one():
    """The fallback (stable quadratic root) reproduces statsmodels' Breslow-Day-Tarone on the
    SAS migraine data; with a pooled OR of exactly 1 statsmodels divides by zero and the
    fallback gives the finite value (expected cell = n1 m1 / N, the null expectation)."""
    r = pool_strata(MIGRAINE)
    stat, p = breslow_day_tarone(MIGRAINE, r.mh_odds_ratio)
    assert (stat, p) == pytest.approx((r.breslow_day_statistic, r.breslow_day_p_value), rel=1e-9)
    sym = [Table2x2(40, 60, 80, 20), Table2x2(80, 20, 40, 60)]
    r1 = pool_strata(sym)
    assert r1.mh_odds_ratio == pytest.approx(1.0)
    # Null expectation E = 100 * 120 / 200 = 60 in both strata; a - E = -20 and +20, so the
    # Tarone term (sum of a - E = 0) vanishes.
    v = 1 / (1 / 60 + 1 / 40 + 1 / 40 + 1 / 60)
    assert r1.breslow_day_statistic == pytest.approx(2 * 20**2 / v)


def test_hypergeometric_pmf_matches_scipy():
    """The log-gamma pmf used by the exact test equals ``scipy.stats.hypergeom.pmf``."""
    import numpy as np
    from scipy import stats

    from hrpipeline.analysis.pooling import _hypergeom_pmf

    for total, passed, n1 in [(4, 2, 2), (60, 25, 13), (5000, 1200, 700)]:
        k = np.arange(max(0, passed - (total - n1)), min(n1, passed) + 1)
        np.testing.assert_allclose(_hypergeom_pmf(k, total, passed, n1),
                                   stats.hypergeom.pmf(k, total, passed, n1), rtol=1e-9)


def test_zero_common_odds_ratio_is_untestable_not_a_crash():
    """No focal passer in any stratum: MH OR = 0, Breslow-Day undefined (was ZeroDivisionError,
    found by bench/funnel.py on sparse data)."""
    result = pool_strata([Table2x2(0, 1, 1, 6), Table2x2(0, 1, 1, 1)])
    assert result.breslow_day_p_value is None and result.homogeneous is None
    assert result.p_value is not None


def _random_strata(rng, k: int, scale: int) -> list[Table2x2]:
    tables = []
    while len(tables) < k:
        t = Table2x2(*(int(x) for x in rng.integers(0, scale, 4)))
        if min(t.focal_n, t.ref_n, t.focal_pass + t.ref_pass, t.focal_fail + t.ref_fail) > 0:
            tables.append(t)
    return tables


def test_mantel_haenszel_and_breslow_day_match_statsmodels_on_random_strata():
    """Reference: statsmodels ``StratifiedTable`` (oddsratio_pooled, oddsratio_pooled_confint,
    test_null_odds(correction=True), test_equal_odds(adjust=True)) on 400 random sets of 2 to
    40 informative strata with counts up to 5,000, at two confidence levels."""
    import numpy as np
    from statsmodels.stats.contingency_tables import StratifiedTable

    from hrpipeline.analysis.pooling import mantel_haenszel

    rng = np.random.default_rng(11)
    checked = 0
    for i in range(400):
        tables = _random_strata(rng, int(rng.integers(2, 41)), int(rng.choice([8, 60, 5000])))
        alpha = 0.05 if i % 2 else 0.01
        st = StratifiedTable([t.as_array() for t in tables])
        mh = mantel_haenszel(tables, alpha)
        ref_or = float(st.oddsratio_pooled)
        if not 0 < ref_or < np.inf:
            continue
        checked += 1
        assert mh.odds_ratio == pytest.approx(ref_or, rel=1e-12)
        assert mh.ci == pytest.approx(st.oddsratio_pooled_confint(alpha=alpha), rel=1e-10)
        null = st.test_null_odds(correction=True)
        delta = abs(sum(t.focal_pass - t.focal_n * (t.focal_pass + t.ref_pass) /
                        (t.focal_n + t.ref_n) for t in tables))
        if delta >= 0.5:  # below, statsmodels over-corrects (see the next test)
            assert mh.statistic == pytest.approx(float(null.statistic), rel=1e-9, abs=1e-12)
            assert mh.p_value == pytest.approx(float(null.pvalue), rel=1e-9, abs=1e-12)
        bd = st.test_equal_odds(adjust=True)
        stat, p = breslow_day_tarone(tables, mh.odds_ratio)
        assert stat == pytest.approx(float(bd.statistic), rel=1e-7, abs=1e-9)
        assert p == pytest.approx(float(bd.pvalue), rel=1e-7, abs=1e-9)
    assert checked > 300


def test_cmh_continuity_correction_never_exceeds_the_difference():
    """R ``mantelhaen.test``: YATES <- min(0.5, abs(DELTA)). With sum(a) equal to its
    expectation the statistic is 0 and p = 1 (statsmodels would report (0 - 0.5)^2 / V > 0)."""
    from hrpipeline.analysis.pooling import mantel_haenszel

    tables = [Table2x2(5, 5, 5, 5), Table2x2(10, 10, 20, 20)]
    mh = mantel_haenszel(tables)
    assert mh.statistic == 0.0
    assert mh.p_value == 1.0
    assert mh.odds_ratio == pytest.approx(1.0)


# --- issue 16 item 7: the stratified comparison is the headline when strata disagree -----------


def test_heterogeneous_strata_make_the_stratified_comparison_the_headline():
    """Opposite odds ratios in two zones (Breslow-Day p < 0.001): code ``strata_disagree``,
    AMBER (one pooled number would hide the disagreement), Breslow-Day p in the numbers."""
    v = strata_verdict([(40, 60, 80, 20), (80, 20, 40, 60)], ["A", "B"])
    assert v is not None and (v.tier, v.reason_code) == (AMBER, "strata_disagree")
    assert v.numbers["heterogeneous"] is True and "heterogeneous" in v.numbers["disagreement"]
    assert v.numbers["breslow_day_p"] < 0.001


def test_simpson_collapsed_red_is_not_the_headline():
    """The constructed Simpson case: collapsed ratio 0.30 (significant), standardized 4/3."""
    r = pool_strata([Table2x2(30, 170, 2, 18), Table2x2(18, 2, 160, 40)], ["hard", "easy"])
    assert set(strata_disagreement(r)) == {"crude_side_of_four_fifths",
                                           "crude_contradicts_stratified"}
    v = pooled_verdict(r, r.p_value)
    assert (v.tier, v.reason_code) == (AMBER, "strata_disagree")
    assert v.numbers["ratio"] == pytest.approx(4 / 3, abs=1e-4)
    assert v.numbers["crude_ratio"] == pytest.approx(48 / 162)


def test_gap_hidden_by_the_collapsed_table_is_red_when_strata_agree():
    """Focal candidates mostly in the easy zone: within each zone they pass less often (130/200
    vs 36/40; 10/40 vs 90/200), collapsed they pass *more* often (140/240 vs 126/240, ratio
    1.11, not significant). Standardized ratio 140/198 = 0.707 (CMH p 0.0002), Breslow-Day
    p 0.31: the strata agree, the stratified comparison is RED and it is the headline."""
    v = strata_verdict([(130, 70, 36, 4), (10, 30, 90, 110)], ["easy", "hard"])
    assert (v.tier, v.reason_code) == (RED, "strata_disagree")
    assert v.numbers["standardized_ratio"] == pytest.approx(140 / 198)
    assert v.numbers["heterogeneous"] is False and v.numbers["breslow_day_p"] > 0.05
    assert v.numbers["persons_to_four_fifths"] == 19  # ceil(0.8 * 198 - 140)
    assert v.numbers["crude_ratio"] == pytest.approx(140 / 126)


def test_agreeing_strata_keep_the_crude_headline():
    assert strata_verdict([(10, 30, 30, 10), (12, 28, 28, 12)]) is None
    assert strata_verdict(MIGRAINE) is None
