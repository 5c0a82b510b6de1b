"""Tests for pilot evaluation (before/after, difference-in-differences, verdict, chart).

References used below:
* Saturated-model identity: in the saturated 2x2x2 logit model the three-way interaction equals
  the difference of the two log-odds-ratio contrasts computed from cell proportions
  (Ai & Norton 2003, Econ Lett 80:123; Puhani 2012, Econ Lett 115:85), and its standard error is
  the Woolf-type ``sqrt(sum over cells of 1/successes + 1/failures)`` (Agresti, *Categorical
  Data Analysis*, 3rd ed., section 3.1.7 / 6.1: saturated model = empirical logits).
* Newcombe (1998) Stat Med 17:873, Table II example (a): 56/70 vs 48/80 -> 0.0524 to 0.3339
  (method 10, hybrid score).
* Newcombe's method 10 is the MOVER construction (Zou & Donner 2008) applied to Wilson
  intervals, so ``mover_difference`` on Wilson limits must reproduce statsmodels' result.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from hrpipeline.analysis import pilot as P
from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND

PILOT_ZONES = ("ANT", "GNT")
COMPARISON_ZONES = ("CRL", "BXN", "BXI")
PERIODS = (2019, 2020, 2021, 2022, 2023, 2024)


def synthetic_counts(effect: float, n: int = 60, seed: int = 7, eu_noise: bool = True):
    """Seeded binomial counts with zone and period effects and a planted log-odds DiD effect."""
    rng = np.random.default_rng(seed)
    zone_effect = dict(zip(PILOT_ZONES + COMPARISON_ZONES, (0.2, -0.1, -0.3, 0.0, 0.15),
                           strict=True))
    rows = []
    for zone in PILOT_ZONES + COMPARISON_ZONES:
        for i, period in enumerate(PERIODS):
            groups = [BELGIAN_ORIGIN, NON_EU_BACKGROUND] + ([EU_BACKGROUND] if eu_noise else [])
            for group in groups:
                eta = 0.8 + zone_effect[zone] + 0.05 * i
                if group == NON_EU_BACKGROUND:
                    eta -= 0.9
                    if zone in PILOT_ZONES and period >= 2022:
                        eta += effect
                passed = int(rng.binomial(n, expit(eta)))
                rows.append({"zone": zone, "period": period, "group": group,
                             "passed": passed, "not_passed": n - passed})
    return pd.DataFrame(rows)


DEF = P.PilotDefinition(pilot_zones=PILOT_ZONES, comparison_zones=COMPARISON_ZONES, start=2022,
                        name="physical test preparation")


def test_planted_effect_is_detected_as_improved():
    result = P.evaluate_pilot(synthetic_counts(effect=0.9), DEF)
    assert result.verdict == P.IMPROVED
    assert result.verdict_text == P.VERDICT_TEXTS[P.IMPROVED]
    did = result.did
    assert did is not None and did.fixed_effects  # 5 zones x 6 periods: FE are used
    assert did.log_odds_ci[0] > 0 and did.p_value < 0.05
    # The planted log-odds effect lies within the 95% CI.
    assert did.log_odds_ci[0] < 0.9 < did.log_odds_ci[1]
    assert did.pp > 0 and did.pp_ci[0] > 0
    assert did.odds_ratio == pytest.approx(math.exp(did.log_odds))
    # Before/after in pilot zones: the gap (negative: focal group behind) narrowed.
    assert result.pilot_change is not None
    assert result.pilot_change.gap_before < 0
    assert result.pilot_change.change > 0 and result.pilot_change.change_ci[0] > 0
    # The EU group is neither focal nor reference: it must not enter any cell.
    assert {c.group for c in result.cells} == {NON_EU_BACKGROUND, BELGIAN_ORIGIN}


def test_negative_effect_is_worsened():
    result = P.evaluate_pilot(synthetic_counts(effect=-1.0), DEF)
    assert result.verdict == P.WORSENED
    assert result.did is not None and result.did.log_odds_ci[1] < 0


def test_no_effect_is_no_evidence():
    result = P.evaluate_pilot(synthetic_counts(effect=0.0, seed=11), DEF)
    assert result.verdict == P.NO_EVIDENCE
    assert result.did is not None
    low, high = result.did.log_odds_ci
    assert low < 0 < high
    assert result.reasons == ()


def test_too_little_data_is_too_few():
    result = P.evaluate_pilot(synthetic_counts(effect=0.9, n=3), DEF)
    assert result.verdict == P.TOO_FEW
    assert result.did is None
    assert any("fewer than 20" in r for r in result.reasons)


def test_no_comparison_data_is_too_few():
    counts = synthetic_counts(effect=0.9)
    counts = counts[counts["zone"].isin(PILOT_ZONES)]
    result = P.evaluate_pilot(counts, DEF)
    assert result.verdict == P.TOO_FEW
    assert "no comparison-zone data" in result.reasons
    assert result.comparison_change is None
    assert result.pilot_change is not None  # before/after still reported


def test_separation_is_too_few():
    counts = synthetic_counts(effect=0.9)
    mask = (counts["zone"].isin(PILOT_ZONES) & (counts["period"] >= 2022)
            & (counts["group"] == NON_EU_BACKGROUND))
    counts.loc[mask, "passed"] += counts.loc[mask, "not_passed"]
    counts.loc[mask, "not_passed"] = 0
    result = P.evaluate_pilot(counts, DEF)
    assert result.verdict == P.TOO_FEW
    assert any("separation" in r for r in result.reasons)


# --- the 2x2x2 identity ---------------------------------------------------------------------
# Balanced design, 100 decisions per cell: (arm, phase, group) -> passed.
BALANCED = {
    ("P", 2020, NON_EU_BACKGROUND): 40, ("P", 2020, BELGIAN_ORIGIN): 70,
    ("P", 2021, NON_EU_BACKGROUND): 62, ("P", 2021, BELGIAN_ORIGIN): 72,
    ("C", 2020, NON_EU_BACKGROUND): 45, ("C", 2020, BELGIAN_ORIGIN): 68,
    ("C", 2021, NON_EU_BACKGROUND): 47, ("C", 2021, BELGIAN_ORIGIN): 71,
}


def _balanced_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"zone": z, "period": t, "group": g, "passed": s, "not_passed": 100 - s}
        for (z, t, g), s in BALANCED.items()
    ])


@pytest.mark.parametrize("fixed_effects", [False, True])
def test_glm_interaction_equals_hand_did_of_log_odds(fixed_effects):
    """Ai & Norton (2003) / Puhani (2012): saturated interaction = DiD of cell log-odds."""
    lo = {k: logit(s / 100) for k, s in BALANCED.items()}
    f, r = NON_EU_BACKGROUND, BELGIAN_ORIGIN
    hand = ((lo["P", 2021, f] - lo["P", 2021, r]) - (lo["P", 2020, f] - lo["P", 2020, r])) - (
        (lo["C", 2021, f] - lo["C", 2021, r]) - (lo["C", 2020, f] - lo["C", 2020, r]))
    # Woolf-type SE of the saturated model: each empirical logit has variance 1/s + 1/f.
    se = math.sqrt(sum(1 / s + 1 / (100 - s) for s in BALANCED.values()))

    definition = P.PilotDefinition(pilot_zones=("P",), comparison_zones=("C",), start=2021)
    _, frame = P._prepare(_balanced_frame(), definition)
    # The binomial-only model (decisions independent, normal reference) is the reference here;
    # the verdict's model cannot run on this design (see the test below).
    did = P.did_estimate(frame, fixed_effects=fixed_effects, variance=P.BINOMIAL)
    assert did is not None and did.fixed_effects is fixed_effects
    assert did.log_odds == pytest.approx(hand, abs=1e-8)
    low, high = did.log_odds_ci
    assert (high - low) / (2 * 1.959963984540054) == pytest.approx(se, rel=1e-6)
    # Puhani's treatment effect on the treated in a saturated model: observed focal pass rate
    # in pilot-after minus its counterfactual with the interaction removed.
    p_obs = BALANCED["P", 2021, f] / 100
    assert did.pp == pytest.approx(p_obs - expit(logit(p_obs) - hand), abs=1e-8)
    assert did.pp_ci[0] < did.pp < did.pp_ci[1]


def test_one_pilot_and_one_comparison_zone_is_too_few_zones():
    """Two zones and two periods: the saturated model has no degree of freedom left to measure
    how much the gap varies between zones and campaigns, so no verdict, however many
    decisions (the hand-computed interval above treats 600 decisions as independent)."""
    definition = P.PilotDefinition(pilot_zones=("P",), comparison_zones=("C",), start=2021)
    result = P.evaluate_pilot(_balanced_frame(), definition)
    assert result.verdict == P.TOO_FEW and result.too_few_zones and result.did is None
    assert result.verdict_text == P.TOO_FEW_ZONES_TEXT
    assert result.design == P.Design(pilot_zones=1, comparison_zones=1, periods_before=1,
                                     periods_after=1, cells=4, df=0)
    assert any(r.startswith("too few zones") for r in result.reasons)
    # Observed cell counts are still reported unchanged, with the before/after changes.
    assert result.cell(P.PILOT, P.AFTER, NON_EU_BACKGROUND).successes == 62
    assert result.pilot_change is not None and result.comparison_change is not None


def test_pp_delta_method_matches_numerical_gradient():
    """The analytic delta-method gradient agrees with a finite-difference gradient."""
    _, frame = P._prepare(synthetic_counts(effect=0.5), DEF)
    rows = P._model_rows(frame)
    design = P._design(rows, True)
    fit = P._fit(rows, design)
    tau, se = P._puhani_effect(fit, design, rows)

    beta = fit.beta.to_numpy()
    k = list(design.columns).index(P._INTERACTION)
    treated = (rows["focal"] * rows["pilot"] * rows["after"]) == 1
    x = design[treated].to_numpy()
    w = (rows.loc[treated, "s"] + rows.loc[treated, "f"]).to_numpy(float)
    w = w / w.sum()

    def tau_of(b):
        return w @ (expit(x @ b) - expit(x @ b - b[k]))

    grad = np.array([(tau_of(beta + h) - tau_of(beta - h)) / 2e-6
                     for h in np.eye(len(beta)) * 1e-6])
    assert tau == pytest.approx(tau_of(beta))
    assert se == pytest.approx(math.sqrt(grad @ fit.cov @ grad), rel=1e-5)


# --- before/after intervals -----------------------------------------------------------------
def test_gap_ci_newcombe_published_example():
    """Newcombe (1998) Table II (a): 56/70 - 48/80, method 10 -> 0.0524 to 0.3339."""
    low, high = P.gap_ci(P.Cell(P.PILOT, P.BEFORE, NON_EU_BACKGROUND, 56, 14),
                         P.Cell(P.PILOT, P.BEFORE, BELGIAN_ORIGIN, 48, 32))
    assert low == pytest.approx(0.0524, abs=5e-5)
    assert high == pytest.approx(0.3339, abs=5e-5)


def test_mover_reproduces_newcombe_from_wilson_limits():
    """Newcombe's method 10 is MOVER on Wilson intervals (Zou & Donner 2008, section 3)."""
    w1 = proportion_confint(56, 70, method="wilson")
    w2 = proportion_confint(48, 80, method="wilson")
    mover = P.mover_difference(56 / 70, w1, 48 / 80, w2)
    ref = confint_proportions_2indep(56, 70, 48, 80, method="newcomb", compare="diff")
    assert mover == pytest.approx(tuple(ref), abs=1e-10)


def test_retention_columns_use_stayed_as_success():
    counts = synthetic_counts(effect=0.9).rename(columns={"passed": "stayed",
                                                          "not_passed": "left"})
    result = P.evaluate_pilot(counts, DEF)
    assert result.outcome == P.RETENTION
    assert result.verdict == P.IMPROVED  # more focal recruits stay in pilot zones


def test_definition_validation():
    with pytest.raises(ValueError):
        P.PilotDefinition(pilot_zones=("ANT",), comparison_zones=("ANT",), start=2022)
    with pytest.raises(ValueError):
        P.PilotDefinition(pilot_zones=("ANT",), comparison_zones=(), start=2022,
                          focal_group="maghreb")
    with pytest.raises(ValueError):
        P.evaluate_pilot(pd.DataFrame({"zone": [], "period": [], "group": []}), DEF)


# --- chart ----------------------------------------------------------------------------------
def test_gap_series_and_chart_never_draw_hidden_as_zero():
    series = P.gap_series(synthetic_counts(effect=0.9), DEF)
    assert len(series) == len(PERIODS) * 2
    assert series["after"].tolist() == [p >= 2022 for p in series["period"]]
    pilot_2020 = series[(series["period"] == 2020) & (series["arm"] == P.PILOT)].iloc[0]
    assert pilot_2020["gap"] == pytest.approx(pilot_2020["focal_rate"]
                                              - pilot_2020["reference_rate"])

    try:
        from hrpipeline.analysis.suppression import SUPPRESSED
    except ImportError:
        SUPPRESSED = P._LocalSuppressed()
    frame = series.copy()
    frame["gap"] = frame["gap"].astype(object)
    frame["gap_suppressed"] = False
    hidden_sentinel = (frame["period"] == 2020) & (frame["arm"] == P.PILOT)
    hidden_flag = (frame["period"] == 2023) & (frame["arm"] == P.COMPARISON)
    frame.loc[hidden_sentinel, "gap"] = SUPPRESSED
    frame.loc[hidden_flag, "gap"] = np.nan
    frame.loc[hidden_flag, "gap_suppressed"] = True

    labels = {"suppressed": "verborgen", "pilot": "Pilotzones"}
    fig = P.gap_figure(frame, 2022, labels)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    pilot_y = lines["Pilotzones"].get_ydata()
    assert math.isnan(pilot_y[1])  # 2020 hidden: a break in the line, not 0
    assert not np.isnan(np.delete(pilot_y, 1)).any()
    assert math.isnan(lines["Comparison zones"].get_ydata()[4])
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("verborgen") == 2
    assert "Pilot start" in texts

    png = P.gap_chart(frame, 2022, labels)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
