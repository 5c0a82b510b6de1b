"""Tests of the funnel statistics, the adverse-impact families and pooling over strata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from hrpipeline.analysis.funnel import analyse_funnel
from hrpipeline.analysis.impact import AMBER, GREY, RED
from hrpipeline.domain import (
    BELGIAN_ORIGIN,
    DEFAULT_STAGES,
    EU_BACKGROUND,
    NON_EU_BACKGROUND,
    UNKNOWN,
)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["stage", "group", "outcome", "n", "zone"][: len(rows[0])]
    return pd.DataFrame(rows, columns=cols)


def _cells(stage: str, group: str, passed: int, failed: int, withdrew: int = 0,
           pending: int = 0, *extra) -> list[tuple]:
    return [
        (stage, group, o, n, *extra)
        for o, n in (("passed", passed), ("failed", failed), ("withdrew", withdrew),
                     ("pending", pending))
    ]


SMALL = _frame(
    _cells("application", BELGIAN_ORIGIN, 150, 0, 0, 0)
    + _cells("application", NON_EU_BACKGROUND, 60, 0, 0, 0)
    + _cells("application", UNKNOWN, 7, 0, 0, 0)
    + _cells("interview", BELGIAN_ORIGIN, 80, 40, 10, 20)
    + _cells("interview", NON_EU_BACKGROUND, 12, 36, 6, 6)
    + _cells("interview", UNKNOWN, 2, 3, 0, 0)
)


def test_stage_group_definitions():
    """Decision rate = passed / (passed + failed); retention = passed / (passed + failed +
    withdrew); pending excluded from both (docs/domain-primer.md and the task definition)."""
    r = analyse_funnel(SMALL)
    assert r.stages == ["application", "interview"]  # absent default stages skipped
    row = next(g for g in r.groups if (g.stage, g.group) == ("interview", BELGIAN_ORIGIN))
    assert (row.entered, row.decisions, row.retention_denominator) == (150, 120, 130)
    assert row.decision_rate == pytest.approx(80 / 120)
    assert row.retention_rate == pytest.approx(80 / 130)
    # Wilson interval from statsmodels, as cited in Newcombe (1998) method 3.
    ref = proportion_confint(80, 120, method="wilson")
    assert (row.decision_ci.low, row.decision_ci.high) == pytest.approx(ref)
    assert row.cumulative_conversion == pytest.approx(80 / 150)
    assert row.share_entered == pytest.approx(150 / (150 + 60 + 5))
    assert row.share_passed == pytest.approx(80 / (80 + 12 + 2))


def test_unknown_is_counted_not_compared():
    r = analyse_funnel(SMALL)
    unk = {u.stage: (u.unknown_entered, u.stage_entered_total) for u in r.unknown}
    assert unk == {"application": (7, 217), "interview": (5, 215)}
    assert r.excluded_groups[UNKNOWN] == "unknown_not_compared"
    assert r.excluded_groups[EU_BACKGROUND] == "absent"
    assert {row.focal for row in r.impact} == {NON_EU_BACKGROUND}
    assert UNKNOWN in set(r.to_frame("stages")["group"])


def test_impact_rows_carry_counts_test_and_family():
    r = analyse_funnel(SMALL)
    rec = next(x for x in r.to_records("impact")
               if (x["stage"], x["view"]) == ("interview", "decision"))
    assert (rec["focal_pass"], rec["focal_not_pass"], rec["ref_pass"], rec["ref_not_pass"]) == (
        12, 36, 80, 40)
    assert rec["impact_ratio_exact"] == "3/8"  # UGESP Q&A 12 figures
    assert (rec["test_name"], rec["tails"], rec["adjustment"]) == (
        "Fisher's exact test", "two-sided", "holm")
    assert rec["family_size"] == 2  # two stages x one focal group in the decision view
    assert rec["tier"] == RED
    ret = next(x for x in r.to_records("impact")
               if (x["stage"], x["view"]) == ("interview", "retention"))
    assert (ret["focal_not_pass"], ret["ref_not_pass"]) == (42, 50)


def test_holm_runs_over_the_assessed_family():
    """Adjusted p-values equal statsmodels ``multipletests(method="holm")`` over the assessed
    (non-GREY) stage x focal-group comparisons of one view."""
    rows = []
    for stage, (fp, ff) in zip(DEFAULT_STAGES[:4], [(30, 20), (25, 25), (20, 30), (5, 5)],
                               strict=True):
        rows += _cells(stage, BELGIAN_ORIGIN, 35, 15) + _cells(stage, EU_BACKGROUND, fp, ff)
    r = analyse_funnel(_frame(rows))
    dec = [x for x in r.impact if x.view == "decision"]
    # Assessed rows are those with an adjusted p: since issue 16 an assessed row can be GREY too
    # (its ratio's interval reaches below 0.8).
    assessed = [x for x in dec if x.adjusted_p is not None]
    assert len(assessed) == 3 and dec[3].tier.tier == GREY and dec[3].adjusted_p is None
    assert dec[3].tier.reason_code == "too_few_focal"
    expected = multipletests([x.comparison.test.p_value for x in assessed], method="holm")[1]
    assert [x.adjusted_p for x in assessed] == pytest.approx(list(expected))
    assert all(x.family_size == 3 for x in dec)


def test_other_tests_and_reference():
    r = analyse_funnel(SMALL, test="ztest", reference=NON_EU_BACKGROUND)
    assert {x.focal for x in r.impact} == {BELGIAN_ORIGIN}
    assert all(x.comparison.test.test == "ztest" for x in r.impact)


@pytest.mark.parametrize(
    ("kwargs", "frame"),
    [({"reference": UNKNOWN}, SMALL), ({"test": "chisq"}, SMALL),
     ({}, SMALL.assign(stage="nonsense")), ({}, SMALL.assign(group="maghreb")),
     ({}, SMALL.assign(outcome="hired")), ({}, SMALL.assign(n=-1)),
     ({"strata": ["zone"]}, SMALL)],
)
def test_invalid_input_is_rejected(kwargs, frame):
    with pytest.raises(ValueError):
        analyse_funnel(frame, **kwargs)


def test_small_group_is_grey_not_green():
    rows = _cells("interview", BELGIAN_ORIGIN, 80, 40) + _cells("interview", EU_BACKGROUND, 1, 9)
    r = analyse_funnel(_frame(rows))
    row = r.impact[0]
    assert row.tier.tier == GREY and row.tier.reason_code == "too_few_focal"
    assert row.tier.params["focal_n"] == 10


def test_pooled_over_zones_with_simpson():
    """Constructed Simpson's paradox over two zones (see test_pooling)."""
    rows = (_cells("interview", NON_EU_BACKGROUND, 30, 170, 0, 0, "hard")
            + _cells("interview", BELGIAN_ORIGIN, 2, 18, 0, 0, "hard")
            + _cells("interview", NON_EU_BACKGROUND, 18, 2, 0, 0, "easy")
            + _cells("interview", BELGIAN_ORIGIN, 160, 40, 0, 0, "easy"))
    r = analyse_funnel(_frame(rows), strata=["zone"])
    # Collapsed, the focal group looks RED, but the strata say the opposite: since issue 16
    # (item 7) the stratified comparison is the headline (AMBER "strata disagree"), and the
    # crude RED is kept apart, not shown as the verdict.
    row = next(x for x in r.impact if x.view == "decision")
    assert row.crude_tier.tier == RED
    assert r.tiers()[("interview", NON_EU_BACKGROUND)] == AMBER
    assert (row.headline, row.tier.reason_code) == ("stratified", "strata_disagree")
    assert row.tier.params["ratio"] == pytest.approx(4 / 3, abs=1e-4)
    rec = row.to_record()
    assert rec["strata_disagree"] and rec["crude_tier"] == RED
    assert "crude_contradicts_stratified" in rec["disagreement"]
    assert "breslow_day_p_value" in rec
    # ... and the pooled record says the same in plain words.
    pooled = [p for p in r.pooled if p.view == "decision"]
    assert len(pooled) == 1
    rec = pooled[0].to_record()
    assert rec["simpson"] and "Simpson's paradox" in rec["messages"][0]
    assert rec["standardized_ratio"] == pytest.approx(4 / 3)
    assert rec["family_size"] == 1 and rec["adjusted_p"] == pytest.approx(rec["p_value"])
    assert len(r.to_frame("pooled")) == 2  # decision and retention views


# --- simulation -------------------------------------------------------------------------------
SIM_STAGES = ("cognitive_test", "interview", "medical")
SIZES = {BELGIAN_ORIGIN: 500, EU_BACKGROUND: 150, NON_EU_BACKGROUND: 400, UNKNOWN: 15}
PROBS = {"cognitive_test": (0.7, 0.2),
         "interview": (0.65, 0.25), "medical": (0.85, 0.1)}  # (pass, fail); rest withdraws


def _simulate(rng: np.random.Generator, planted: float = 1.0) -> pd.DataFrame:
    """A funnel where candidates who pass move on; ``planted`` scales the non-EU pass
    probability at the interview (failures absorb the difference)."""
    rows = []
    for group, n in SIZES.items():
        for stage in SIM_STAGES:
            p_pass, p_fail = PROBS[stage]
            if stage == "interview" and group == NON_EU_BACKGROUND:
                p_pass, p_fail = p_pass * planted, p_fail + p_pass * (1 - planted)
            passed, failed, withdrew = rng.multinomial(n, [p_pass, p_fail, 1 - p_pass - p_fail])
            rows += _cells(stage, group, int(passed), int(failed), int(withdrew))
            n = int(passed)
    return _frame(rows)


def test_null_simulation_red_rate_at_most_alpha():
    """No planted effect: with Holm per view and the four-fifths, shortfall and flip rules, the
    share of simulated funnels with any RED flag (either view) stays at or below alpha."""
    rng = np.random.default_rng(20240501)
    n_sim = 200
    any_red = 0
    for _ in range(n_sim):
        r = analyse_funnel(_simulate(rng), stages=SIM_STAGES)
        any_red += any(x.tier.tier == RED for x in r.impact)
    assert any_red / n_sim <= 0.05


def test_planted_effect_is_red_at_that_stage_only():
    """Non-EU interview pass rate 0.6 x the reference (0.39 vs 0.65 of those entering; about
    280 non-EU and 350 reference candidates reach the interview): RED there and nowhere else,
    in five seeds."""
    for seed in range(5):
        r = analyse_funnel(_simulate(np.random.default_rng(seed), planted=0.6), stages=SIM_STAGES)
        for view in ("decision", "retention"):
            reds = {k for k, v in r.tiers(view).items() if v == RED}
            assert reds == {("interview", NON_EU_BACKGROUND)}, (seed, view, reds)
        amber = {k for k, v in r.tiers().items() if v == AMBER}
        assert ("interview", NON_EU_BACKGROUND) not in amber
