"""Tests for hrpipeline.analysis.survival.

Reference values: R package ``survival`` documented example data ``aml`` (Miller 1981; printed
by ``survfit``, ``survdiff`` and ``coxph`` in the survival package docs and Therneau's vignette),
hand computations written out next to each test, and cross-checks against lifelines and
statsmodels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test
from statsmodels.duration.hazard_regression import PHReg

from hrpipeline.analysis.survival import (
    GROUP,
    at_risk_at,
    cox_model,
    cumulative_incidence,
    first_year_attrition,
    kaplan_meier,
    kaplan_meier_by_group,
    logrank_by_group,
    logrank_with_entry,
    prepare_survival_data,
    publishable_km,
    publishable_km_by_group,
)
from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND

# R survival::aml — acute myelogenous leukaemia, time in weeks, status 1 = relapse.
AML_MAINTAINED = [(9, 1), (13, 1), (13, 0), (18, 1), (23, 1), (28, 0), (31, 1), (34, 1),
                  (45, 0), (48, 1), (161, 0)]
AML_NONMAINTAINED = [(5, 1), (5, 1), (8, 1), (8, 1), (12, 1), (16, 0), (23, 1), (27, 1),
                     (30, 1), (33, 1), (43, 1), (45, 1)]


def aml() -> pd.DataFrame:
    rows = [("maintained", t, s) for t, s in AML_MAINTAINED] + [
        ("nonmaintained", t, s) for t, s in AML_NONMAINTAINED
    ]
    df = pd.DataFrame(rows, columns=[GROUP, "duration", "event"])
    return df.assign(event=df["event"].astype(bool), entry=0.0)


def test_km_matches_r_survfit_aml():
    """R: summary(survfit(Surv(time, status) ~ x, data = aml)), survival column, and the
    printed medians (Maintained 31, Nonmaintained 23)."""
    d = aml()
    res = kaplan_meier_by_group(d)
    m = res.curves["maintained"]
    s = pd.Series(m.survival, index=m.timeline)
    expected_m = {9: 0.909, 13: 0.818, 18: 0.716, 23: 0.614, 31: 0.491, 34: 0.368, 48: 0.184}
    for t, v in expected_m.items():
        assert s[t] == pytest.approx(v, abs=5e-4)
    nm = res.curves["nonmaintained"]
    s2 = pd.Series(nm.survival, index=nm.timeline)
    expected_nm = {5: 0.8333, 8: 0.6667, 12: 0.5833, 23: 0.4861, 27: 0.3889, 30: 0.2917,
                   33: 0.1944, 43: 0.0972, 45: 0.0}
    for t, v in expected_nm.items():
        assert s2[t] == pytest.approx(v, abs=5e-5)
    assert m.median == 31 and nm.median == 23
    assert (m.n, m.events, nm.n, nm.events) == (11, 7, 12, 11)
    # R n.risk column for Maintained at t = 9, 13, 18: 11, 10, 8
    risk = pd.Series(m.at_risk, index=m.timeline)
    assert [risk[9], risk[13], risk[18]] == [11, 10, 8]
    assert np.all(m.lower <= m.survival + 1e-12) and np.all(m.survival <= m.upper + 1e-12)


def test_logrank_matches_r_survdiff_aml():
    """R: survdiff(Surv(time, status) ~ x, data = aml) -> Chisq = 3.4 on 1 df, p = 0.07;
    Observed 7 / 11, Expected 10.69 / 7.31."""
    res = logrank_by_group(aml(), reference="maintained")
    assert res.statistic == pytest.approx(3.4, abs=0.05)
    assert res.df == 1
    assert res.p_value == pytest.approx(0.07, abs=0.006)
    assert res.observed["maintained"] == 7 and res.observed["nonmaintained"] == 11
    assert res.expected["maintained"] == pytest.approx(10.69, abs=0.01)
    assert res.expected["nonmaintained"] == pytest.approx(7.31, abs=0.01)
    (pair,) = res.pairwise
    assert pair.group == "nonmaintained" and pair.p_value == pytest.approx(res.p_value)


def test_own_logrank_equals_lifelines_without_entry():
    """With all entry = 0 the delayed-entry log-rank must equal lifelines'
    multivariate_logrank_test (3 groups, ties present)."""
    rng = np.random.default_rng(7)
    n = 90
    dur = np.ceil(rng.exponential(20, n))
    ev = rng.random(n) < 0.7
    grp = np.array(["a", "b", "c"] * 30)
    chi2, df, p, _, _ = logrank_with_entry(dur, ev, np.zeros(n), grp)
    ref = multivariate_logrank_test(dur, grp, ev)
    assert chi2 == pytest.approx(ref.test_statistic, rel=1e-9)
    assert p == pytest.approx(ref.p_value, rel=1e-9)
    assert df == 2


def test_delayed_entry_logrank_equals_statsmodels_score_test():
    """Without tied times the log-rank equals the Cox score test with Breslow ties; statsmodels
    PHReg supports delayed entry, so it is an independent reference for our risk sets."""
    rng = np.random.default_rng(3)
    n = 120
    entry = np.where(rng.random(n) < 0.5, rng.uniform(0, 30, n), 0.0)
    grp = np.repeat([0, 1], n // 2)
    dur = entry + rng.exponential(np.where(grp == 1, 15, 25))
    ev = rng.random(n) < 0.8
    chi2, _, _, _, _ = logrank_with_entry(dur, ev, entry, grp.astype(str))
    model = PHReg(dur, grp.reshape(-1, 1).astype(float), status=ev.astype(int), entry=entry,
                  ties="breslow")
    u = model.score(np.zeros(1))
    info = -model.hessian(np.zeros(1))
    assert chi2 == pytest.approx(float(u @ np.linalg.solve(info, u)), rel=1e-8)


def test_cox_matches_r_coxph_aml():
    """R: coxph(Surv(time, status) ~ x, aml): coef 0.9155, exp(coef) 2.498, se 0.5119,
    p 0.0737 (Efron ties, R's default as in lifelines)."""
    res = cox_model(aml(), covariates=(GROUP,), references={GROUP: "maintained"})
    assert res.fitted and res.ties == "efron"
    (term,) = res.terms
    assert term.level == "nonmaintained" and term.reference == "maintained"
    assert term.coef == pytest.approx(0.9155, abs=1e-3)
    assert term.hazard_ratio == pytest.approx(2.498, abs=2e-3)
    assert term.se == pytest.approx(0.5119, abs=1e-3)
    assert term.p_value == pytest.approx(0.0737, abs=1e-3)


def test_cox_too_few_events():
    d = aml().assign(gender=["female", "male"] * 11 + ["male"], rank="agent")
    # 2 parameters need 20 events at 10 per parameter; aml has 18.
    res = cox_model(d, covariates=(GROUP, "gender"), references={GROUP: "maintained"})
    assert not res.fitted and res.reason == "too few events" and res.n_parameters == 2


def test_delayed_entry_constructed_example():
    """Hand computation. 5 officers hired inside the window leave at months 2, 4, 6 or are
    censored at 10, 10; 5 long-servers hired before the window enter at month 100 and are
    censored at 110. Truncated KM: S(6) = 4/5 * 3/4 * 2/3 = 0.4. Ignoring left truncation puts
    the long-servers in every early risk set: 9/10 * 8/9 * 7/8 = 0.7 (overstated)."""
    d = pd.DataFrame({
        GROUP: "x",
        "entry": [0.0] * 5 + [100.0] * 5,
        "duration": [2, 4, 6, 10, 10] + [110] * 5,
        "event": [True, True, True, False, False] + [False] * 5,
    }).astype({"duration": float})
    s_trunc = pd.Series(kaplan_meier(d).survival, index=kaplan_meier(d).timeline)
    naive = kaplan_meier(d.assign(entry=0.0))
    s_naive = pd.Series(naive.survival, index=naive.timeline)
    assert s_trunc[6] == pytest.approx(0.4)
    assert s_naive[6] == pytest.approx(0.7)


def test_prepare_survival_data_censoring_and_entry():
    wf = pd.DataFrame({
        "officer_ref": ["old_stayer", "old_leaver", "gone_before", "new", "late_exit", "future"],
        "migration_background": [BELGIAN_ORIGIN] * 6,
        "gender": "female",
        "rank": "inspector",
        "hire_date": pd.to_datetime(["2010-01-01", "2015-01-01", "2012-01-01", "2021-01-01",
                                     "2021-01-01", "2024-06-01"]),
        "exit_date": pd.to_datetime([None, "2021-01-01", "2019-06-01", None, "2023-06-01",
                                     None]),
        "exit_type": [None, "voluntary", "mobility", None, "voluntary", None],
    })
    d = prepare_survival_data(wf, reference_date="2023-01-01", window_start="2020-01-01")
    d = d.set_index("officer_ref")
    assert set(d.index) == {"old_stayer", "old_leaver", "new", "late_exit"}
    assert d.loc["old_stayer", "entry"] == pytest.approx(120, abs=0.1)  # 10 years served
    assert not d.loc["old_stayer", "event"]
    assert d.loc["old_leaver", "event"] and d.loc["old_leaver", "exit_type"] == "voluntary"
    assert d.loc["new", "entry"] == 0.0 and d.loc["new", "duration"] == pytest.approx(24, abs=.1)
    # exit after the reference date is not known to the extract: censored at reference date
    assert not d.loc["late_exit", "event"] and d.loc["late_exit", "exit_type"] is None
    assert (d["duration"] > d["entry"]).all()
    only_vol = prepare_survival_data(wf, "2023-01-01", event_types=["mobility"])
    assert only_vol.set_index("officer_ref").loc["gone_before", "event"]
    assert not only_vol.set_index("officer_ref").loc["old_leaver", "event"]


def test_first_year_attrition_counts_recent_hires_as_at_risk():
    """Hand computation: 10 hires of 2020; exits at months 3 and 6; 2 censored at month 4;
    6 observed 20 months. S(12) = 9/10 * 6/7 = 0.7714 -> attrition 0.2286 (not 2/10)."""
    d = pd.DataFrame({
        GROUP: "x",
        "hire_date": pd.Timestamp("2020-03-01"),
        "entry": 0.0,
        "duration": [3.0, 6.0, 4.0, 4.0] + [20.0] * 6,
        "event": [True, True, False, False] + [False] * 6,
    })
    # a 2023 cohort followed only 5 months: not estimable yet
    recent = pd.DataFrame({GROUP: "x", "hire_date": pd.Timestamp("2023-08-01"), "entry": 0.0,
                           "duration": [5.0] * 4, "event": [False] * 4})
    res = first_year_attrition(pd.concat([d, recent], ignore_index=True), by_group=False)
    r2020, r2023 = res.rows
    assert r2020.cohort == 2020 and r2020.n == 10
    assert r2020.attrition == pytest.approx(1 - 0.9 * 6 / 7)
    assert (r2020.exits_within_12m, r2020.censored_within_12m, r2020.at_risk_12m) == (2, 2, 6)
    assert r2020.lower <= r2020.attrition <= r2020.upper
    assert r2023.attrition is None and "not yet" in r2023.note
    assert len(res.to_frame()) == 2


def test_aalen_johansen_small_example_and_naive_overstates():
    """Hand computation: exits at 1 (resignation), 2 (mobility), 3 (resignation), censored at
    4. CIF_vol(3) = 1/4 + S(2) * 1/2 = 1/4 + 1/2 * 1/2 = 0.5; naive 1 - KM (mobility censored)
    = 1 - 3/4 * 1/2 = 0.625; CIF_mob(3) = 1/4, naive 1/3."""
    d = pd.DataFrame({GROUP: "x", "entry": 0.0, "duration": [1.0, 2.0, 3.0, 4.0],
                      "event": [True, True, True, False],
                      "exit_type": ["voluntary", "mobility", "voluntary", None]})
    res = cumulative_incidence(d, grid=[3.0])
    vol, mob = res.causes["voluntary"], res.causes["mobility"]
    assert vol.cif[0] == pytest.approx(0.5, abs=1e-6)
    assert vol.naive_one_minus_km[0] == pytest.approx(0.625)
    assert mob.cif[0] == pytest.approx(0.25, abs=1e-6)
    assert mob.naive_one_minus_km[0] == pytest.approx(1 / 3)
    assert res.causes["involuntary"].events == 0


def test_cif_sum_equals_one_minus_km():
    """Property of the Aalen-Johansen estimator: sum_k CIF_k(t) = 1 - S_KM(t) (all causes),
    while the naive 1 - KM per cause sums to more."""
    rng = np.random.default_rng(11)
    n = 200
    dur = rng.uniform(0.5, 60, n)  # continuous: no ties, so lifelines does not jitter
    types = rng.choice(["voluntary", "mobility", "involuntary", "retirement"], n,
                       p=[0.4, 0.3, 0.1, 0.2])
    ev = rng.random(n) < 0.6
    d = pd.DataFrame({GROUP: "x", "entry": 0.0, "duration": dur, "event": ev,
                      "exit_type": np.where(ev, types, None)})
    res = cumulative_incidence(d)
    total = sum(c.cif for c in res.causes.values())
    np.testing.assert_allclose(total, 1 - res.overall_survival, atol=1e-6)
    naive = sum(c.naive_one_minus_km for c in res.causes.values())
    assert naive[-1] > total[-1]
    for c in res.causes.values():
        assert np.all(c.naive_one_minus_km >= c.cif - 1e-9)
    assert set(res.to_frame()["cause"]) == {"voluntary", "mobility", "involuntary", "other_exit"}


# --- simulated workforces ----------------------------------------------------------------
def simulate_workforce(rate_ratio: float, seed: int, n_per_group: int = 150) -> pd.DataFrame:
    """Officers hired 2015-2023, monthly resignation hazard 1%; the non-EU group's hazard is
    ``rate_ratio`` times higher during the first 24 months (planted retention gap)."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in (BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND):
        hires = pd.Timestamp("2015-01-01") + pd.to_timedelta(
            rng.integers(0, 9 * 365, n_per_group), unit="D")
        for i, h in enumerate(hires):
            early = 0.01 * (rate_ratio if g == NON_EU_BACKGROUND else 1.0)
            t = rng.exponential(1 / early)
            if t > 24:
                t = 24 + rng.exponential(1 / 0.01)
            exit_date = h + pd.Timedelta(days=int(t * 30.4375))
            rows.append((f"{g}-{i}", g, h, exit_date, "voluntary"))
    wf = pd.DataFrame(rows, columns=["officer_ref", "migration_background", "hire_date",
                                     "exit_date", "exit_type"])
    ref = pd.Timestamp("2024-12-31")
    return wf.assign(exit_date=wf["exit_date"].where(wf["exit_date"] <= ref))


def test_planted_gap_is_detected_by_logrank():
    d = prepare_survival_data(simulate_workforce(3.0, seed=1), reference_date="2024-12-31")
    res = logrank_by_group(d)
    assert res.p_value < 0.01
    by = {p.group: p for p in res.pairwise}
    assert by[NON_EU_BACKGROUND].p_holm < 0.01
    assert by[EU_BACKGROUND].p_holm > 0.05


def test_no_difference_simulation_is_not_flagged():
    d = prepare_survival_data(simulate_workforce(1.0, seed=2), reference_date="2024-12-31")
    res = logrank_by_group(d)
    assert res.p_value > 0.05
    assert all(p.p_holm > 0.05 for p in res.pairwise)


def test_planted_gap_detected_with_delayed_entry_window():
    d = prepare_survival_data(simulate_workforce(3.0, seed=1), reference_date="2024-12-31",
                              window_start="2018-01-01")
    assert (d["entry"] > 0).any()
    res = logrank_by_group(d)
    assert "delayed-entry" in res.method and res.p_value < 0.01


# --- disclosure control --------------------------------------------------------------------
def _assert_publishable(pub, d):
    assert pub.published
    assert all(float(t).is_integer() for t in pub.time)  # monthly grid only
    assert min(pub.at_risk) >= 10
    # every drawn step: at least 10 officers left the risk set since the previous step
    values = list(zip(pub.survival, pub.lower, pub.upper, pub.at_risk, strict=True))
    step_times = [pub.time[0]] + [
        pub.time[i] for i in range(1, len(values)) if values[i] != values[i - 1]
    ]
    for a, b in zip(step_times, step_times[1:], strict=False):
        leaving = ((d["duration"] > a) & (d["duration"] <= b)).sum()
        assert leaving >= 10
    # no exact exit time is published
    exact = set(d.loc[d["event"], "duration"].round(6))
    assert not any(t in exact for t in pub.time if t > 0)
    if pub.truncated_at is not None:
        assert at_risk_at(d, pub.truncated_at) < 10


def test_publishable_km_rules_hold():
    d = prepare_survival_data(simulate_workforce(3.0, seed=5), reference_date="2024-12-31")
    pubs = publishable_km_by_group(d)
    assert set(pubs) == {BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND}
    for g, pub in pubs.items():
        _assert_publishable(pub, d[d[GROUP] == g])
        assert pub.truncated_at is not None  # tail with < 10 at risk is cut
    frame = pubs[NON_EU_BACKGROUND].to_frame()
    assert list(frame.columns) == [GROUP, "time", "survival", "lower", "upper", "at_risk"]


def test_publishable_km_with_delayed_entry_rules_hold():
    d = prepare_survival_data(simulate_workforce(1.0, seed=6), reference_date="2024-12-31",
                              window_start="2019-01-01")
    pub = publishable_km(d, BELGIAN_ORIGIN)
    _assert_publishable(pub, d[d[GROUP] == BELGIAN_ORIGIN])


def test_publishable_km_withheld_for_small_groups():
    d = prepare_survival_data(simulate_workforce(1.0, seed=3, n_per_group=15), "2024-12-31")
    pub = publishable_km(d, EU_BACKGROUND)
    assert not pub.published and "20 officers" in pub.reason and pub.time == []
    many_few_exits = pd.DataFrame({GROUP: "x", "entry": 0.0, "duration": [30.0] * 40,
                                   "event": [True] * 5 + [False] * 35})
    pub = publishable_km(many_few_exits, "x")
    assert not pub.published and "10 exits" in pub.reason and pub.survival == []


def test_group_order_keeps_unknown():
    d = aml().assign(group=["unknown"] * 5 + ["belgian_origin"] * 18)
    res = kaplan_meier_by_group(d)
    assert list(res.curves) == ["belgian_origin", "unknown"]
    assert "unknown" not in logrank_by_group(d).groups


def test_life_table_is_kaplan_meier_at_the_interval_ends_lifelines():
    """Reference: lifelines ``KaplanMeierFitter`` on officer records whose exits fall at the ends
    of the years (ties): the life table from the yearly counts gives the same S(t) and the same
    log(-log) Greenwood interval at 12, 24 and 36 months; Aalen-Johansen CIF by hand."""
    from lifelines import KaplanMeierFitter

    from hrpipeline.analysis.survival import life_table

    at_risk = [120, 100, 70]
    exits = [{"voluntary": 12, "mobility": 8}, {"voluntary": 10}, {"mobility": 7}]
    # Records: exits at 12, 24, 36 months; the rest censored at the end of the last year they
    # were followed (the cohorts not followed through the next year drop out at its start).
    durations, events = [], []
    for j, (n, d) in enumerate(zip(at_risk, exits, strict=True)):
        left = sum(d.values())
        nxt = at_risk[j + 1] if j + 1 < len(at_risk) else n - left
        durations += [12.0 * (j + 1)] * left
        events += [True] * left
        censored = n - left - nxt
        durations += [12.0 * (j + 1) + 0.5] * censored  # after the exits of that year-end
        events += [False] * censored
    durations += [40.0] * (at_risk[-1] - sum(exits[-1].values()))
    events += [False] * (at_risk[-1] - sum(exits[-1].values()))
    kmf = KaplanMeierFitter().fit(durations, events)
    rows = life_table(at_risk, exits)
    ci = kmf.confidence_interval_survival_function_
    for r in rows:
        assert r.survival == pytest.approx(float(kmf.survival_function_at_times(r.end).iloc[0]))
        at = ci[ci.index <= r.end].iloc[-1]
        assert (r.lower, r.upper) == pytest.approx((float(at.iloc[0]), float(at.iloc[1])),
                                                   abs=1e-6)
    # CIF_voluntary(24) = 12/120 + (100/120) * 10/100
    assert rows[1].cif["voluntary"] == pytest.approx(12 / 120 + (100 / 120) * 10 / 100)
    assert sum(rows[-1].cif.values()) == pytest.approx(1 - rows[-1].survival)


def test_life_table_extra_variance_widens_the_interval_only():
    from hrpipeline.analysis.survival import life_table

    plain = life_table([100, 80], [{"v": 10}, {"v": 8}])
    wide = life_table([100, 80], [{"v": 10}, {"v": 8}], extra_variance=[0.001, 0.001])
    for a, b in zip(plain, wide, strict=True):
        assert a.survival == b.survival
        assert b.lower < a.lower and b.upper > a.upper
