"""Representation-target planner (hrpipeline.analysis.planner).

References: the closed forms of the module docstring (textbook stock–flow recursion
N(t+1) = N(t)(1 − e) + H, steady state H/e), a 3-year example computed by hand below, the
issue's scale example (2,700 officers at 8.4 %, 19 % of hires) and a seeded simulation for the
coverage of the 90 % interval.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrpipeline.analysis import planner as pl


def flows(head, hires_per_year, exit_rate, q=None, years=5, person_years=1000.0):
    """GroupFlows whose yearly exit probability is exactly ``exit_rate``."""
    return pl.GroupFlows(headcount=head, hires=hires_per_year * years, hire_years=years,
                         leavers=-math.log(1 - exit_rate) * person_years,
                         person_years=person_years, first_year_attrition=q,
                         first_year_hires=hires_per_year * years)


def scale_inputs(hire_share=0.19, e_focal=0.05, e_other=0.05, hires=135.0):
    focal = round(0.084 * 2700)
    return pl.PlannerInputs(flows(focal, hire_share * hires, e_focal),
                            flows(2700 - focal, (1 - hire_share) * hires, e_other))


def test_hand_computed_three_years():
    # Focal: 10 officers, 2 hires a year, 10 % yearly exits after a first year of 20 %.
    #   F0 = 2, S0 = 8.  S1 = 8*0.9 + 2*0.8 = 8.8, N1 = 10.8;  S2 = 8.8*0.9 + 1.6 = 9.52,
    #   N2 = 11.52;  S3 = 9.52*0.9 + 1.6 = 10.168, N3 = 12.168.
    # Other: 90 officers, 8 hires a year, 10 % for everyone: N = 0.9 N + 8 -> 89, 88.1, 87.29.
    inp = pl.PlannerInputs(flows(10, 2, 0.10, q=0.20), flows(90, 8, 0.10))
    rows = pl.project(inp, years=3)
    assert [round(r["focal"], 6) for r in rows] == [10, 10.8, 11.52, 12.168]
    assert [round(r["other"], 6) for r in rows] == [90, 89, 88.1, 87.29]
    assert rows[3]["share"] == pytest.approx(12.168 / (12.168 + 87.29))
    # The closed form gives the same numbers.
    for t in range(4):
        assert pl.headcount_at(10, 2, 2, 0.10, 0.20, t) == pytest.approx(rows[t]["focal"])


def test_closed_form_steady_state():
    inp = pl.PlannerInputs(flows(300, 40, 0.07, q=0.15), flows(2400, 100, 0.04))
    far = pl.project(inp, years=1000)[-1]
    # N(inf) = H [1 + (1 - q)/e]
    assert far["focal"] == pytest.approx(40 * (1 + 0.85 / 0.07), rel=1e-9)
    assert far["other"] == pytest.approx(100 / 0.04, rel=1e-9)
    assert far["focal"] == pytest.approx(pl.steady_state(inp.focal), rel=1e-9)
    ans = pl.plan(inp, draws=200)
    assert ans.steady_share == pytest.approx(far["share"], rel=1e-9)


def test_closed_form_matches_iteration_every_year():
    inp = pl.PlannerInputs(flows(227, 25.65, 0.06, q=0.1), flows(2473, 109.35, 0.05))
    rows = pl.project(inp, years=12)
    f0 = min(25.65, 227)
    for r in rows:
        assert pl.headcount_at(227, f0, 25.65, 0.06, 0.1, r["year"]) == pytest.approx(
            r["focal"], rel=1e-12)


def test_scale_of_the_issue():
    # 2,700 officers at 8.4 % keeping 19 % of hires: about 11-13 % after ten years, for
    # yearly exits of 4-6 % and the group leaving up to 1.4 times as often.
    for e in (0.04, 0.05, 0.06):
        for extra in (1.0, 1.2, 1.4):
            share = pl.project(scale_inputs(e_focal=e * extra, e_other=e), 10)[-1]["share"]
            assert 0.105 <= share <= 0.135, (e, extra, share)
    # 20 % in ten years needs about 34-42 % of hires, depending on the group's extra exits.
    equal = pl.required_hire_share(scale_inputs(), 0.20, 10)
    faster = pl.required_hire_share(scale_inputs(e_focal=0.07), 0.20, 10)
    assert equal == pytest.approx(0.373, abs=0.005)
    assert 0.34 <= equal < faster <= 0.43


def test_required_share_reaches_the_target():
    inp = pl.PlannerInputs(flows(150, 10, 0.08, q=0.2), flows(1350, 60, 0.05, q=0.1))
    h = pl.required_hire_share(inp, 0.25, 8)
    assert 0 < h < 1
    assert pl.project(inp, 8, hire_share=h)[-1]["share"] == pytest.approx(0.25, abs=1e-12)
    # Without the group's extra exits the same target needs fewer hires.
    assert pl.required_hire_share(inp.without_extra_exits(), 0.25, 8) < h
    eq = inp.without_extra_exits()
    assert eq.focal.exit_rate == pytest.approx(inp.other.exit_rate)
    assert eq.focal.first_year == pytest.approx(inp.other.first_year)


def test_unreachable_and_already_reached_targets():
    inp = scale_inputs()
    assert pl.required_hire_share(inp, 0.60, 2) > 1  # not by hiring alone in two years
    assert pl.required_hire_share(inp, 0.05, 10) < 0  # reached even without such hires


def test_simulation_without_noise_is_the_projection():
    inp = scale_inputs()
    # Huge counts behind the estimates: the draws collapse onto the estimates.
    big = pl.PlannerInputs(
        pl.GroupFlows(227, 25.65e6, 1e6, -math.log(0.95) * 1e8, 1e8),
        pl.GroupFlows(2473, 109.35e6, 1e6, -math.log(0.95) * 1e8, 1e8))
    sims = pl.simulate(big, 10, draws=50, seed=1, process=False)
    det = [r["share"] for r in pl.project(inp, 10)]
    assert np.allclose(sims, det, atol=2e-3)


def test_interval_coverage_seeded():
    """The 90 % interval covers the realised share in about 90 % of seeded replications:
    true rates -> observed counts over 5 years (Poisson) -> interval from those counts ->
    one realised future (Poisson hires, binomial exits) with the true rates."""
    rng = np.random.default_rng(20261207)
    true = {"m": (30.0, 0.07, 250), "o": (110.0, 0.045, 2450)}  # hires/yr, exit, headcount
    years, reps, covered = 5, 300, 0
    for rep in range(reps):
        obs = {}
        for k, (h, e, n) in true.items():
            py = n * years
            obs[k] = pl.GroupFlows(headcount=n, hires=float(rng.poisson(h * years)),
                                   hire_years=years,
                                   leavers=float(rng.poisson(-math.log(1 - e) * py)),
                                   person_years=py)
        inp = pl.PlannerInputs(obs["m"], obs["o"])
        lo, hi = pl.interval(pl.simulate(inp, 10, draws=800, seed=rep)[:, 10])
        truth = pl.PlannerInputs(
            pl.GroupFlows(250, 1e7 * 30, 1e7, -math.log(0.93) * 1e9, 1e9),
            pl.GroupFlows(2450, 1e7 * 110, 1e7, -math.log(0.955) * 1e9, 1e9))
        real = pl.simulate(truth, 10, draws=1, seed=10_000 + rep)[0, 10]
        covered += lo <= real <= hi
    assert 0.84 <= covered / reps <= 0.96, covered / reps


def test_plan_answers_and_interval_contains_estimate():
    ans = pl.plan(scale_inputs(), target=0.2, years=10, draws=1000, seed=3)
    assert ans.projection[0]["low"] == ans.projection[0]["high"] == pytest.approx(227 / 2700)
    last = ans.projection[-1]
    assert last["low"] < last["share"] < last["high"]
    assert ans.required_low < ans.required_share < ans.required_high
    with pytest.raises(ValueError):
        pl.plan(scale_inputs(), target=1.2)


def test_applicants_needed_and_what_if_examples():
    assert pl.applicants_needed(50, 0.04) == pytest.approx(1250)
    assert pl.applicants_needed(50, 0) == math.inf
    rows = pl.stage_what_if([pl.StageCounts("test", 100, 50, 100, 60),
                             pl.StageCounts("interview", 50, 25, 60, 30)])
    assert rows[0]["extra"] == pytest.approx(100 * (0.6 - 0.5) * 0.5)  # 5 appointments
    assert rows[1]["extra"] == pytest.approx(0.0)
    assert rows[0]["ratio"] == pytest.approx(0.5 / 0.6)
    # No rate: no answer for the stage and the ones before it.
    rows = pl.stage_what_if([pl.StageCounts("a", 10, 5, 10, 6), pl.StageCounts("b", 0, 0, 5, 1)])
    assert rows[0]["extra"] is None and rows[1]["extra"] is None
