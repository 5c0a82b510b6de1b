"""Tests for hrpipeline.analysis.retention.

Sources: hand-computed small workforces (worked out in each docstring); R documentation
examples for the association tests (``chisq.test`` Agresti 2007 table, ``fisher.test``
TeaTasting and Job-satisfaction tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrpipeline.analysis.retention import (
    TOTAL,
    exit_reason_test,
    exit_reasons,
    fisher_freeman_halton_mc,
    flows,
    headcount_at,
    period_bounds,
    representation,
    tenure_at_exit,
    year_ends,
)
from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND, UNKNOWN

B, E, N = BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND


def wf(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["officer_ref", "migration_background", "rank", "hire_date",
                                     "exit_date", "exit_type", "exit_reason"])
    return df.assign(hire_date=pd.to_datetime(df["hire_date"]),
                     exit_date=pd.to_datetime(df["exit_date"]))


def test_headcount_edge_cases():
    """Convention: in service on d iff hire_date <= d < exit_date."""
    d = wf([
        ("hired_on_date", B, "agent", "2022-01-01", None, None, None),
        ("left_on_date", B, "agent", "2020-01-01", "2022-01-01", "voluntary", "pay"),
        ("left_day_after", N, "agent", "2020-01-01", "2022-01-02", "mobility", "commute"),
        ("future_hire", N, "agent", "2022-01-02", None, None, None),
    ])
    assert headcount_at(d, "2022-01-01") == 2  # hired_on_date + left_day_after
    assert headcount_at(d, "2021-12-31") == 2  # left_on_date + left_day_after
    assert headcount_at(d, "2022-01-02") == 2  # hired_on_date + future_hire
    by = headcount_at(d, "2022-01-01", by="migration_background")
    assert by.to_dict() == {B: 1, N: 1}


def test_turnover_hand_computed_year_and_quarter():
    """11 officers in service on 31 Dec 2020 (6 Belgian origin, 5 non-EU). In 2021: 2 non-EU
    resign (10 Mar, 1 Aug), 1 Belgian-origin officer transfers out (30 Jun), 1 non-EU officer
    is hired (1 Oct). All: opening 11, closing 9 -> average 10; T = 3 / 10 = 0.30.
    Non-EU: opening 5, closing 4, average 4.5, 2 leavers -> 2 / 4.5 = 0.444 (all voluntary).
    Q1 2021 (all): opening 11, closing 10, 1 leaver -> 1 / 10.5 = 0.0952, annualised x 12/3 =
    4 / 10.5 = 0.381."""
    rows = [(f"b{i}", B, "inspector", "2015-01-01", None, None, None) for i in range(5)]
    rows += [(f"n{i}", N, "inspector", "2016-01-01", None, None, None) for i in range(3)]
    rows += [
        ("n3", N, "agent", "2018-05-01", "2021-03-10", "voluntary", "workload"),
        ("n4", N, "agent", "2019-05-01", "2021-08-01", "voluntary", "team_climate"),
        ("b5", B, "agent", "2014-01-01", "2021-06-30", "mobility", "commute"),
        ("n5", N, "agent", "2021-10-01", None, None, None),
    ]
    d = wf(rows)
    res = flows(d, "2021-01-01", "2021-12-31", freq="year")
    by = {r.group: r for r in res.rows}
    tot = by[TOTAL]
    assert (tot.headcount_start, tot.headcount_end, tot.joiners, tot.leavers) == (11, 9, 1, 3)
    assert tot.headcount_end == tot.headcount_start + tot.joiners - tot.leavers
    assert tot.average_headcount == 10
    assert tot.turnover == pytest.approx(3 / 10)
    assert tot.turnover_annualised == pytest.approx(3 / 10)
    n = by[N]
    assert (n.headcount_start, n.headcount_end, n.leavers) == (5, 4, 2)
    assert n.turnover == pytest.approx(2 / 4.5)
    assert n.leavers_by_type["voluntary"] == 2 and n.leavers_by_type["mobility"] == 0
    assert n.turnover_by_type_annualised["voluntary"] == pytest.approx(2 / 4.5)
    assert by[B].leavers_by_type["mobility"] == 1
    q = flows(d, "2021-01-01", "2021-03-31", freq="quarter")
    q_tot = {r.group: r for r in q.rows}[TOTAL]
    assert (q_tot.headcount_start, q_tot.headcount_end, q_tot.leavers) == (11, 10, 1)
    assert q_tot.turnover == pytest.approx(1 / 10.5)
    assert q_tot.turnover_annualised == pytest.approx(4 / 10.5)
    rec = res.to_frame()
    assert {"leavers_voluntary", "turnover_mobility_annualised", "average_headcount"} <= set(
        rec.columns)


def test_monthly_average_headcount():
    """Monthly average = mean of opening and the 12 month-end headcounts. 12 officers all year,
    one leaves on 1 July: month ends Jan-Jun 12, Jul-Dec 11 -> (12 + 6*12 + 6*11) / 13."""
    rows = [(f"o{i}", B, "agent", "2010-01-01", None, None, None) for i in range(11)]
    rows.append(("x", B, "agent", "2010-01-01", "2021-07-01", "retirement", "other"))
    res = flows(wf(rows), "2021-01-01", "2021-12-31", average="monthly", include_total=False)
    (row,) = res.rows
    assert row.average_headcount == pytest.approx((12 + 6 * 12 + 6 * 11) / 13)
    assert row.turnover == pytest.approx(1 / ((12 + 6 * 12 + 6 * 11) / 13))
    assert res.average_method == "monthly"


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.one_of(st.none(), st.integers(0, 2500))),
                min_size=1, max_size=30))
def test_stock_flow_identity(spans):
    """closing = opening + joiners - leavers for every period and group (date convention)."""
    base = pd.Timestamp("2018-01-01")
    rows = []
    for i, (h, dur) in enumerate(spans):
        hire = base + pd.Timedelta(days=h)
        exit_ = None if dur is None else hire + pd.Timedelta(days=dur)
        rows.append((str(i), [B, E, N][i % 3], "agent", hire, exit_, "voluntary", "pay"))
    res = flows(wf(rows), "2018-01-01", "2024-12-31", freq="quarter")
    for r in res.rows:
        assert r.headcount_end == r.headcount_start + r.joiners - r.leavers


def test_period_bounds():
    assert period_bounds("2021-02-10", "2021-07-01", "quarter") == [
        ("2021Q1", pd.Timestamp("2021-01-01"), pd.Timestamp("2021-03-31")),
        ("2021Q2", pd.Timestamp("2021-04-01"), pd.Timestamp("2021-06-30")),
        ("2021Q3", pd.Timestamp("2021-07-01"), pd.Timestamp("2021-09-30")),
    ]
    with pytest.raises(ValueError):
        period_bounds("2021-01-01", "2021-12-31", "week")


def test_tenure_at_exit_quartiles():
    """Leavers after 6, 12 and 30 months (exact day counts of 30.4375 per month):
    median 12, Q1 9, Q3 21 (linear interpolation, R type 7)."""
    hire = pd.Timestamp("2015-01-01")
    rows = [(f"x{m}", N, "agent", hire, hire + pd.Timedelta(days=round(m * 30.4375)),
             "voluntary", "pay") for m in (6, 12, 30)]
    rows.append(("stay", N, "agent", hire, None, None, None))
    res = tenure_at_exit(wf(rows), "2015-01-01", "2020-12-31")
    row = next(r for r in res.rows if r.group == N and r.exit_type == "voluntary")
    assert row.n == 3
    assert row.median_months == pytest.approx(12, abs=0.02)
    assert row.q1_months == pytest.approx(9, abs=0.02)
    assert row.q3_months == pytest.approx(21, abs=0.02)
    mob = next(r for r in res.rows if r.group == N and r.exit_type == "mobility")
    assert mob.n == 0 and mob.median_months is None


def test_representation_by_rank_keeps_unknown():
    """12 officers on 31 Dec 2021: 8 Belgian origin, 3 non-EU, 1 unknown -> non-EU 0.25."""
    rows = [(f"b{i}", B, "inspector", "2010-01-01", None, None, None) for i in range(8)]
    rows += [(f"n{i}", N, "agent", "2019-01-01", None, None, None) for i in range(3)]
    rows += [("u", UNKNOWN, "agent", "2019-01-01", None, None, None)]
    rows += [("gone", N, "agent", "2019-01-01", "2021-06-01", "voluntary", "pay")]
    res = representation(wf(rows), year_ends(2021, 2021))
    df = res.to_frame().set_index(["rank", "group"])
    assert df.loc[(TOTAL, N), "count"] == 3 and df.loc[(TOTAL, N), "total"] == 12
    assert df.loc[(TOTAL, N), "share"] == pytest.approx(0.25)
    assert df.loc[(TOTAL, UNKNOWN), "count"] == 1
    assert df.loc[("agent", N), "share"] == pytest.approx(3 / 4)
    assert df.loc[("inspector", B), "share"] == pytest.approx(1.0)
    assert list(dict.fromkeys(df.index.get_level_values("rank"))) == [TOTAL, "agent",
                                                                         "inspector"]


def test_chi_square_matches_r_chisq_test_example():
    """R ?chisq.test: M <- as.table(rbind(c(762, 327, 468), c(484, 239, 477)))
    (Agresti 2007, p. 39) -> X-squared = 30.07, df = 2, p-value = 2.954e-07."""
    table = pd.DataFrame([[762, 327, 468], [484, 239, 477]])
    test, stat, p, dof, min_exp, _ = exit_reason_test(table)
    assert test == "chi-square"
    assert stat == pytest.approx(30.07, abs=0.01)
    assert dof == 2
    assert p == pytest.approx(2.954e-07, rel=1e-3)


def test_fisher_2x2_matches_r_tea_tasting():
    """R ?fisher.test TeaTasting: matrix(c(3, 1, 1, 3), 2) -> two-sided p-value = 0.4857."""
    test, _, p, _, _, _ = exit_reason_test(pd.DataFrame([[3, 1], [1, 3]]))
    assert test == "fisher-exact"
    assert p == pytest.approx(0.4857, abs=1e-4)


def test_fisher_freeman_halton_matches_r_job_satisfaction():
    """R ?fisher.test Job: matrix(c(1,2,1,0, 3,3,6,1, 10,10,14,9, 6,7,12,11), 4, 4)
    -> p-value = 0.7827 (exact network algorithm); Monte Carlo within simulation error."""
    job = np.array([1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11]).reshape(4, 4).T
    assert fisher_freeman_halton_mc(job, n_resamples=20_000, seed=1) == pytest.approx(
        0.7827, abs=0.01)
    test, _, _, _, min_exp, _ = exit_reason_test(pd.DataFrame(job))
    assert test == "fisher-freeman-halton-monte-carlo" and min_exp < 5


def test_exit_reasons_table_and_choice_of_test():
    rng = np.random.default_rng(0)
    rows = []
    reasons = ["workload", "career", "discrimination"]
    for g, p in ((B, [0.6, 0.35, 0.05]), (N, [0.3, 0.2, 0.5])):
        for i in range(60):
            rows.append((f"{g}{i}", g, "agent", "2015-01-01", "2021-05-01", "voluntary",
                         rng.choice(reasons, p=p)))
    rows.append(("u", UNKNOWN, "agent", "2015-01-01", "2021-05-01", "voluntary", None))
    rows.append(("outside", B, "agent", "2015-01-01", "2023-05-01", "voluntary", "pay"))
    res = exit_reasons(wf(rows), "2021-01-01", "2021-12-31")
    assert UNKNOWN in res.table.index and res.table.loc[UNKNOWN, "unknown"] == 1
    assert "pay" not in res.table.columns  # exit outside the period
    assert res.tested_groups == [B, N] and "unknown" not in res.tested_reasons
    assert res.n_tested == 120
    assert res.test == "chi-square" and res.p_value < 0.001
    recs = res.to_records()
    assert sum(r["count"] for r in recs) == 121
    small = exit_reasons(wf(rows[:4] + rows[60:64]), "2021-01-01", "2021-12-31")
    assert small.test in {"fisher-exact", "fisher-freeman-halton-monte-carlo", "not testable"}
    one_group = exit_reasons(wf(rows[:10]), "2021-01-01", "2021-12-31")
    assert one_group.test == "not testable" and one_group.p_value is None


def test_reasons_are_compared_within_one_exit_type():
    """Issue 16 item 9: a group with more retirements 'differs' in its reasons across all exits
    for that alone. Within voluntary exits the reasons are the same, and the test says so.
    Reference: scipy.stats.chi2_contingency on the voluntary table, computed here by hand."""
    from scipy.stats import chi2_contingency

    rows = []
    for g, retired in ((B, 40), (N, 2)):
        for i in range(retired):
            rows.append((f"{g}r{i}", g, "agent", "1990-01-01", "2021-05-01", "retirement",
                         "retirement"))
        for i, reason in enumerate(["workload"] * 20 + ["career"] * 20):
            rows.append((f"{g}v{i}", g, "agent", "2015-01-01", "2021-05-01", "voluntary",
                         reason))
    everything = exit_reasons(wf(rows), "2021-01-01", "2021-12-31")
    voluntary = exit_reasons(wf(rows), "2021-01-01", "2021-12-31", exit_types=("voluntary",))
    assert everything.p_value < 0.001  # the retirements alone
    assert voluntary.n_tested == 80 and "retirement" not in voluntary.tested_reasons
    expected = chi2_contingency([[20, 20], [20, 20]], correction=False)[1]
    assert voluntary.p_value == pytest.approx(1.0) and expected == pytest.approx(1.0)
