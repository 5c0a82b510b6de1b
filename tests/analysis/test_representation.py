"""Tests for hrpipeline.analysis.representation (benchmark comparison).

Reference values:
- Hazelwood School District v. United States, 433 U.S. 299 (1977), fn. 17: 15 Black teachers
  among 405 hired against a 15.4% labour-market share is "more than six standard deviations"
  below expectation; with the 5.7% St. Louis County share the gap is under two SD. The
  z-values themselves are hand-computed here from z = (x - n p) / sqrt(n p (1 - p)).
- Exact binomial tail by hand: P(X = 0 | n = 10, p = .5) doubled = 2 / 1024.
- Reference library: statsmodels ``binom_test`` (two-sided "minlike" rule) and
  ``proportion_confint(method="beta")`` (Clopper-Pearson) for the p-value and interval.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import binom_test, proportion_confint

from hrpipeline.analysis.representation import (
    FOREIGN_BACKGROUND,
    BenchmarkShares,
    binomial_p_value,
    compare_to_benchmark,
    populations_from_frame,
    representation_against_benchmark,
    standard_deviations,
)
from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND, UNKNOWN


def test_hazelwood_more_than_six_standard_deviations():
    # Hand: expected 405 * .154 = 62.37; sd = sqrt(405 * .154 * .846) = 7.2639;
    # z = (15 - 62.37) / 7.2639 = -6.521.
    z = standard_deviations(15, 405, 0.154)
    assert z == pytest.approx(-6.521, abs=1e-3)
    assert z < -6  # the Court's "more than six standard deviations"


def test_hazelwood_county_share_under_two_standard_deviations():
    # Hand: expected 405 * .057 = 23.085; sd = sqrt(405 * .057 * .943) = 4.6659; z = -1.733.
    row = compare_to_benchmark(15, 405, 0.057, population="hired", group="black",
                               source_label="St. Louis County")
    assert row.sd == pytest.approx(-1.733, abs=1e-3)
    assert row.beyond_2sd is False
    assert row.expected == pytest.approx(23.085)


def test_binomial_p_value_hand_example():
    assert binomial_p_value(0, 10, 0.5) == pytest.approx(2 / 1024)


def test_hazelwood_row_matches_statsmodels():
    row = compare_to_benchmark(15, 405, 0.154, population="hired", group="black",
                               source_label="Hazelwood labour market")
    assert row.p_value == pytest.approx(binom_test(15, 405, 0.154, alternative="two-sided"),
                                        rel=1e-9)
    assert row.p_value < 1e-9
    lo, hi = proportion_confint(15, 405, alpha=0.05, method="beta")
    assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi), rel=1e-9)
    assert row.share == pytest.approx(15 / 405)
    assert row.gap_points == pytest.approx(100 * (15 / 405 - 0.154))
    assert row.ratio == pytest.approx((15 / 405) / 0.154)
    assert row.beyond_2sd and row.beyond_3sd
    assert row.source_label == "Hazelwood labour market"


def test_populations_with_unknown_and_combined_benchmark():
    bench = BenchmarkShares(
        {BELGIAN_ORIGIN: 0.6, EU_BACKGROUND: 0.1, NON_EU_BACKGROUND: 0.3},
        "Statbel 2024, 18–34, municipalities of PZ Gent",
        counts={BELGIAN_ORIGIN: 600, EU_BACKGROUND: 100, NON_EU_BACKGROUND: 300},
        population_scope="18-34",
    )
    pops = {
        "applicants": {BELGIAN_ORIGIN: 92, EU_BACKGROUND: 3, NON_EU_BACKGROUND: 5, UNKNOWN: 4},
        "appointed": {BELGIAN_ORIGIN: 20, EU_BACKGROUND: 0, NON_EU_BACKGROUND: 0},
    }
    result = representation_against_benchmark(pops, bench)
    groups = {r.group for r in result.rows}
    assert groups == {BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND, FOREIGN_BACKGROUND}
    non_eu = result.row("applicants", NON_EU_BACKGROUND)
    assert (non_eu.observed, non_eu.n, non_eu.unknown) == (5, 100, 4)
    assert non_eu.gap_points == pytest.approx(-25.0)
    assert non_eu.ratio == pytest.approx(5 / 30)
    # Hand: (5 - 30) / sqrt(100 * .3 * .7) = -25 / 4.5826 = -5.455
    assert non_eu.sd == pytest.approx(-5.4554, abs=1e-4)
    foreign = result.row("applicants", FOREIGN_BACKGROUND)
    assert foreign.observed == 8 and foreign.benchmark_share == pytest.approx(0.4)
    assert foreign.benchmark_count == 400
    appointed = result.row("appointed", EU_BACKGROUND)
    assert appointed.share == 0.0 and appointed.n == 20
    assert all(r.source_label == bench.source_label for r in result.rows)
    assert all(r.population_scope == "18-34" for r in result.rows)
    frame = result.to_frame()
    assert len(frame) == 8 and {"observed", "n", "sd", "p_value"} <= set(frame.columns)


def test_fallback_benchmark_with_combined_group_only():
    bench = BenchmarkShares({BELGIAN_ORIGIN: 0.732, FOREIGN_BACKGROUND: 0.268},
                            "Regional fallback: Statbel 2023, Flanders, all ages",
                            is_fallback=True)
    result = representation_against_benchmark(
        [("corps", {BELGIAN_ORIGIN: 180, EU_BACKGROUND: 10, NON_EU_BACKGROUND: 10})], bench)
    assert [r.group for r in result.rows] == [BELGIAN_ORIGIN, FOREIGN_BACKGROUND]
    assert all(r.is_fallback for r in result.rows)
    assert result.row("corps", FOREIGN_BACKGROUND).observed == 20
    with pytest.raises(KeyError):
        representation_against_benchmark({"corps": {BELGIAN_ORIGIN: 1}}, bench,
                                         groups=[EU_BACKGROUND])


def test_empty_population_and_degenerate_share():
    row = compare_to_benchmark(0, 0, 0.3, population="appointed", group=EU_BACKGROUND,
                               source_label="x")
    assert row.share is None and row.sd is None and row.p_value is None and row.ratio is None
    row = compare_to_benchmark(0, 10, 0.0, population="x", group=EU_BACKGROUND, source_label="x")
    assert row.sd is None and row.ratio is None and row.p_value == pytest.approx(1.0)


def test_invalid_inputs_rejected():
    with pytest.raises(ValueError):
        compare_to_benchmark(5, 3, 0.2, population="x", group="g", source_label="x")
    with pytest.raises(ValueError):
        BenchmarkShares({"martian": 0.5}, "x")
    with pytest.raises(ValueError):
        BenchmarkShares({BELGIAN_ORIGIN: 1.5}, "x")
    with pytest.raises(ValueError):
        representation_against_benchmark({"x": {"other": 3}},
                                         BenchmarkShares({BELGIAN_ORIGIN: 0.5}, "x"))


def test_populations_from_frame_keeps_order():
    import pandas as pd

    frame = pd.DataFrame({"population": ["applicants", "applicants", "appointed"],
                          "group": [BELGIAN_ORIGIN, EU_BACKGROUND, BELGIAN_ORIGIN],
                          "n": [10, 2, 3]})
    assert populations_from_frame(frame) == {
        "applicants": {BELGIAN_ORIGIN: 10, EU_BACKGROUND: 2}, "appointed": {BELGIAN_ORIGIN: 3}}


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), p=st.floats(0.01, 0.99), data=st.data())
def test_sd_sign_and_formula_property(n, p, data):
    x = data.draw(st.integers(0, n))
    row = compare_to_benchmark(x, n, p, population="x", group="g", source_label="x")
    assert row.sd == pytest.approx((x - n * p) / math.sqrt(n * p * (1 - p)))
    assert (row.gap_points > 0) == (row.sd > 0) or row.gap_points == pytest.approx(0, abs=1e-9)
    assert 0.0 <= row.p_value <= 1.0
    assert row.ci_low <= row.share <= row.ci_high


# --- verdicts: exact binomial test, Holm over the family compared --------------------------


def test_holm_verdicts_match_statsmodels_multipletests():
    # Reference: statsmodels multipletests(method="holm") on the exact binomial p-values
    # (statsmodels binom_test) of the tested rows: applicants and appointed x EU / non-EU.
    from statsmodels.stats.multitest import multipletests

    bench = BenchmarkShares({BELGIAN_ORIGIN: 0.6, EU_BACKGROUND: 0.1, NON_EU_BACKGROUND: 0.3},
                            "test benchmark")
    pops = [
        ("application", {BELGIAN_ORIGIN: 150, EU_BACKGROUND: 20, NON_EU_BACKGROUND: 30}),
        ("interview", {BELGIAN_ORIGIN: 60, EU_BACKGROUND: 5, NON_EU_BACKGROUND: 5}),
        ("appointed", {BELGIAN_ORIGIN: 30, EU_BACKGROUND: 4, NON_EU_BACKGROUND: 6}),
    ]
    result = representation_against_benchmark(pops, bench,
                                               tested_populations=["application", "appointed"])
    tested = [r for r in result.rows if r.verdict != "not_tested"]
    assert [(r.population, r.group) for r in tested] == [
        ("application", EU_BACKGROUND), ("application", NON_EU_BACKGROUND),
        ("appointed", EU_BACKGROUND), ("appointed", NON_EU_BACKGROUND)]
    assert result.family_size == 4
    raw = [binom_test(r.observed, r.n, r.benchmark_share) for r in tested]
    reject, adjusted, _, _ = multipletests(raw, alpha=0.05, method="holm")
    assert [r.p_adjusted for r in tested] == pytest.approx(list(adjusted), rel=1e-9)
    # Application non-EU: 30 of 200 against 30 % -> far below (raw p ~ 1e-6).
    assert result.row("application", NON_EU_BACKGROUND).verdict == "below"
    for r, rej in zip(tested, reject, strict=True):
        expected = ("below" if r.share < r.benchmark_share else "above") if rej else "consistent"
        assert r.verdict == expected
    # Intermediate stages, Belgian origin and the EU + non-EU sum are shown, not tested.
    assert result.row("interview", NON_EU_BACKGROUND).verdict == "not_tested"
    assert result.row("application", BELGIAN_ORIGIN).verdict == "not_tested"
    assert result.row("application", FOREIGN_BACKGROUND).verdict == "not_tested"
    assert result.row("interview", NON_EU_BACKGROUND).p_adjusted is None


def test_a_raw_p_under_alpha_is_not_below_after_holm():
    # Two tested rows, each raw p between .025 and .05: Holm multiplies the smaller by 2.
    bench = BenchmarkShares({BELGIAN_ORIGIN: 0.7, FOREIGN_BACKGROUND: 0.3}, "test")
    pops = {"application": {BELGIAN_ORIGIN: 80, EU_BACKGROUND: 20},
            "appointed": {BELGIAN_ORIGIN: 80, NON_EU_BACKGROUND: 20}}
    result = representation_against_benchmark(pops, bench)
    row = result.row("application", FOREIGN_BACKGROUND)
    raw = binom_test(20, 100, 0.3)
    assert 0.025 < raw < 0.05 and row.p_value == pytest.approx(raw)
    assert row.p_adjusted == pytest.approx(min(1.0, 2 * raw))
    assert row.share < row.benchmark_share and row.verdict == "consistent"


def test_family_wise_error_under_the_null_is_at_most_alpha_simulation():
    # Simulation (seed 20261207): applicants and hires drawn from the benchmark itself, 4000
    # replicates, four tested rows each (EU and non-EU x applicants and hires). Holm keeps the
    # chance of any "below"/"above" verdict at or under 5 %; raw p < .05 on any of the four
    # rows happens far more often. Rows are memoised per count (the exact test is the cost).
    import numpy as np

    from hrpipeline.analysis.representation import holm_verdicts

    rng = np.random.default_rng(20261207)
    shares = {EU_BACKGROUND: 0.1, NON_EU_BACKGROUND: 0.3}
    memo: dict[tuple, object] = {}

    def row(pop, group, x, n):
        key = (pop, group, x, n)
        if key not in memo:
            memo[key] = compare_to_benchmark(x, n, shares[group], population=pop, group=group,
                                             source_label="simulation")
        return memo[key]

    any_flag = any_raw = 0
    reps = 4000
    for _ in range(reps):
        rows = []
        for pop, n in (("application", 120), ("appointed", 40)):
            _, eu, non_eu = rng.multinomial(n, [0.6, 0.1, 0.3])
            rows += [row(pop, EU_BACKGROUND, int(eu), n),
                     row(pop, NON_EU_BACKGROUND, int(non_eu), n)]
        verdicts = holm_verdicts(rows, [True] * len(rows))
        any_flag += any(r.verdict in ("below", "above") for r in verdicts)
        any_raw += any(r.p_value < 0.05 for r in rows)
    assert any_flag / reps <= 0.05
    assert any_raw / reps > 0.10
