"""Workforce stock and flow statistics: headcount, joiners, leavers, turnover, tenure at exit,
representation by group and rank, exit reasons by group.

Pure analysis: frames in, dataclasses out (raw counts kept next to every derived number so the
service layer can apply minimum-cell suppression).

Input: one row per officer with ``officer_ref, migration_background, gender, rank, hire_date,
exit_date (NaT if in service), exit_type, exit_reason``.

**Date convention** (used everywhere): an officer is in service on day d when
``hire_date <= d < exit_date``. Hired on d counts on d; the exit date is the first day no longer
in service, so an officer leaving on d does not count on d. With the opening headcount taken at
the day before a period and the closing headcount on its last day, and joiners/leavers counted
on hire/exit dates inside the period (both ends included), the stock-flow identity
``closing = opening + joiners - leavers`` holds exactly.

Example::

    >>> import pandas as pd
    >>> wf = pd.DataFrame({"migration_background": ["belgian_origin"] * 2,
    ...     "hire_date": pd.to_datetime(["2020-01-01", "2020-06-01"]),
    ...     "exit_date": pd.to_datetime([None, "2021-01-01"])})
    >>> headcount_at(wf, "2021-01-01"), headcount_at(wf, "2020-12-31")
    (1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hrpipeline.domain import BACKGROUNDS, EXIT_REASONS, EXIT_TYPES, KNOWN_BACKGROUNDS, RANKS

TOTAL = "all"
FREQ_MONTHS = {"year": 12, "quarter": 3, "month": 1}


def _prep(workforce: pd.DataFrame) -> pd.DataFrame:
    wf = workforce.copy()
    wf["hire_date"] = pd.to_datetime(wf["hire_date"])
    wf["exit_date"] = pd.to_datetime(wf["exit_date"])
    return wf


def _in_service(wf: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    return (wf["hire_date"] <= date) & (wf["exit_date"].isna() | (wf["exit_date"] > date))


def _ordered(values, vocabulary: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(str(v) for v in values))
    return [v for v in vocabulary if v in present] + sorted(v for v in present
                                                            if v not in vocabulary)


def headcount_at(
    workforce: pd.DataFrame, date: str | pd.Timestamp, by: str | None = None
) -> int | pd.Series:
    """Officers in service on ``date`` (``hire_date <= date < exit_date``).

    With ``by`` (a column, e.g. ``migration_background``) returns a Series of counts per value.
    """
    wf = _prep(workforce)
    mask = _in_service(wf, pd.Timestamp(date))
    if by is None:
        return int(mask.sum())
    return wf.loc[mask, by].astype(str).value_counts().sort_index()


# --- flows and turnover ------------------------------------------------------------------------
@dataclass
class FlowRow:
    period: str
    period_start: pd.Timestamp
    period_end: pd.Timestamp
    months: int
    group: str
    headcount_start: int
    headcount_end: int
    average_headcount: float
    joiners: int
    leavers: int
    leavers_by_type: dict[str, int]
    turnover: float | None
    turnover_annualised: float | None
    turnover_by_type_annualised: dict[str, float | None]

    def to_record(self) -> dict:
        rec = asdict(self)
        del rec["leavers_by_type"], rec["turnover_by_type_annualised"]
        for t in self.leavers_by_type:
            rec[f"leavers_{t}"] = self.leavers_by_type[t]
            rec[f"turnover_{t}_annualised"] = self.turnover_by_type_annualised[t]
        return rec


@dataclass
class FlowsResult:
    rows: list[FlowRow]
    average_method: str

    def to_records(self) -> list[dict]:
        return [r.to_record() for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_records())


def period_bounds(
    start: str | pd.Timestamp, end: str | pd.Timestamp, freq: str = "year"
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Calendar periods (label, first day, last day) overlapping [start, end]."""
    if freq not in FREQ_MONTHS:
        raise ValueError(f"freq must be one of {sorted(FREQ_MONTHS)}")
    code = {"year": "Y", "quarter": "Q", "month": "M"}[freq]
    prange = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq=code)
    return [(str(p), p.start_time.normalize(), p.end_time.normalize()) for p in prange]


def _average_headcount(wf: pd.DataFrame, p0: pd.Timestamp, p1: pd.Timestamp, method: str
                       ) -> float:
    opening = _in_service(wf, p0 - pd.Timedelta(days=1)).sum()
    closing = _in_service(wf, p1).sum()
    if method == "start_end":
        return (opening + closing) / 2
    if method == "monthly":
        month_ends = pd.date_range(p0, p1, freq="ME")
        counts = [opening] + [_in_service(wf, d).sum() for d in month_ends]
        return float(np.mean(counts))
    raise ValueError("average must be 'start_end' or 'monthly'")


def flows(
    workforce: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    freq: str = "year",
    group_col: str = "migration_background",
    average: str = "start_end",
    include_total: bool = True,
) -> FlowsResult:
    """Joiners, leavers and turnover per period and group.

    Turnover (CIPD "crude labour turnover" / separation rate):
    ``T = leavers in period / average headcount in period``; the average headcount is
    ``(opening + closing) / 2`` (``average="start_end"``, as in CIPD's factsheet *Employee
    turnover and retention* and the UK Civil Service Statistics published by ONS/Cabinet Office)
    or the mean of the opening and the month-end headcounts (``average="monthly"``, steadier when
    a large academy intake arrives mid-period). For periods shorter than a year
    ``T_annualised = T * 12 / months``. Exit types are reported separately: T_type =
    leavers of that type / same average headcount. Example: opening 100, closing 96, 10 leavers
    in a quarter -> T = 10 / 98 = 0.102, annualised 0.408.
    """
    wf = _prep(workforce)
    months = FREQ_MONTHS[freq]
    groups = _ordered(wf[group_col], BACKGROUNDS)
    rows: list[FlowRow] = []
    subsets = [(g, wf[wf[group_col].astype(str) == g]) for g in groups]
    if include_total:
        subsets.append((TOTAL, wf))
    for label, p0, p1 in period_bounds(start, end, freq):
        for g, sub in subsets:
            opening = int(_in_service(sub, p0 - pd.Timedelta(days=1)).sum())
            closing = int(_in_service(sub, p1).sum())
            avg = _average_headcount(sub, p0, p1, average)
            joiners = int(sub["hire_date"].between(p0, p1).sum())
            left = sub[sub["exit_date"].between(p0, p1)]
            types = left.get("exit_type", pd.Series("other", index=left.index)).fillna("other")
            by_type = {t: int((types == t).sum()) for t in EXIT_TYPES}
            extra = sorted(set(types) - set(EXIT_TYPES))
            by_type["other"] += int(types.isin(extra).sum())

            def rate(k: int, avg: float = avg) -> float | None:
                return k / avg if avg > 0 else None

            t = rate(len(left))
            rows.append(FlowRow(
                label, p0, p1, months, g, opening, closing, float(avg), joiners, len(left),
                by_type, t, None if t is None else t * 12 / months,
                {k: (None if rate(v) is None else rate(v) * 12 / months)
                 for k, v in by_type.items()},
            ))
    return FlowsResult(rows, average)


# --- tenure at exit ----------------------------------------------------------------------------
@dataclass
class TenureRow:
    group: str
    exit_type: str
    n: int
    median_months: float | None
    q1_months: float | None
    q3_months: float | None


@dataclass
class TenureResult:
    rows: list[TenureRow]

    def to_records(self) -> list[dict]:
        return [asdict(r) for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_records())


def tenure_at_exit(
    workforce: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    group_col: str = "migration_background",
) -> TenureResult:
    """Tenure at exit (months = days / 30.4375) of leavers with exit date in [start, end]:
    n, median and quartiles (pandas linear-interpolation quantiles, Hyndman & Fan type 7 - R's
    default), per group and exit type, plus ``all`` rows. Descriptive of leavers only: it is
    not the expected tenure of recruits (that needs survival analysis, which counts stayers).
    Example: leavers after 6, 12 and 30 months -> median 12, Q1 9, Q3 21.
    """
    wf = _prep(workforce)
    left = wf[wf["exit_date"].between(pd.Timestamp(start), pd.Timestamp(end))].copy()
    left["tenure"] = (left["exit_date"] - left["hire_date"]).dt.days / (365.25 / 12)
    left["exit_type"] = left.get("exit_type", pd.Series("other", index=left.index)).fillna(
        "other")
    rows = []
    groups = _ordered(wf[group_col], BACKGROUNDS) + [TOTAL]
    for g in groups:
        gsub = left if g == TOTAL else left[left[group_col].astype(str) == g]
        for et in [*EXIT_TYPES, TOTAL]:
            s = gsub["tenure"] if et == TOTAL else gsub.loc[gsub["exit_type"] == et, "tenure"]
            if s.empty:
                rows.append(TenureRow(g, et, 0, None, None, None))
                continue
            q1, med, q3 = (float(x) for x in s.quantile([0.25, 0.5, 0.75]))
            rows.append(TenureRow(g, et, int(len(s)), med, q1, q3))
    return TenureResult(rows)


# --- representation ----------------------------------------------------------------------------
@dataclass
class RepresentationRow:
    date: pd.Timestamp
    rank: str
    group: str
    count: int
    total: int
    share: float | None


@dataclass
class RepresentationResult:
    rows: list[RepresentationRow]

    def to_records(self) -> list[dict]:
        return [asdict(r) for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_records())


def year_ends(first_year: int, last_year: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(year=y, month=12, day=31) for y in range(first_year, last_year + 1)]


def representation(
    workforce: pd.DataFrame,
    dates: Sequence[str | pd.Timestamp],
    group_col: str = "migration_background",
    by_rank: bool = True,
) -> RepresentationResult:
    """Composition of the corps on each date: share_g = headcount_g / headcount (all groups,
    ``unknown`` included in the denominator and shown), overall (``rank = "all"``) and per
    rank. ``rank`` is the rank in the extract (current or at exit), so per-rank shares on past
    dates are approximate unless the extract holds rank history. Example: 3 of 12 officers with
    a non-EU background -> share 0.25.
    """
    wf = _prep(workforce)
    groups = _ordered(wf[group_col], BACKGROUNDS)
    ranks = [TOTAL] + (_ordered(wf["rank"].dropna(), RANKS) if by_rank else [])
    rows = []
    for d in dates:
        d = pd.Timestamp(d)
        present = wf[_in_service(wf, d)]
        for r in ranks:
            sub = present if r == TOTAL else present[present["rank"].astype(str) == r]
            total = len(sub)
            counts = sub[group_col].astype(str).value_counts()
            for g in groups:
                c = int(counts.get(g, 0))
                rows.append(RepresentationRow(d, r, g, c, total, c / total if total else None))
    return RepresentationResult(rows)


# --- exit reasons by group ---------------------------------------------------------------------
@dataclass
class ExitReasonResult:
    """Exit reasons x group counts and a test of association.

    ``test`` says which test was used: ``"chi-square"`` (Pearson, no continuity correction),
    ``"fisher-exact"`` (2 x 2), ``"fisher-freeman-halton-monte-carlo"`` (larger tables with an
    expected count under 5), or ``"not testable"``.
    """

    table: pd.DataFrame
    test: str
    statistic: float | None
    p_value: float | None
    dof: int | None
    min_expected: float | None
    tested_groups: list[str]
    tested_reasons: list[str]
    n_tested: int
    note: str = ""
    n_resamples: int | None = None

    def to_records(self) -> list[dict]:
        t = self.table.reset_index().melt(id_vars="group", var_name="exit_reason",
                                          value_name="count")
        return t.to_dict("records")


def fisher_freeman_halton_mc(
    table: np.ndarray, n_resamples: int = 20_000, seed: int = 0
) -> float:
    """Monte Carlo p-value of the Fisher-Freeman-Halton exact test for an r x c table.

    Tables with the observed margins are drawn from the multivariate hypergeometric null
    (``scipy.stats.random_table``); p = (1 + #{P(T) <= P(observed)}) / (1 + B) (Freeman &
    Halton 1951; Davison & Hinkley 1997 for the +1; as R's ``fisher.test(simulate.p.value =
    TRUE)``). Example: R's ``fisher.test(Job)`` job-satisfaction table gives p = 0.7827.
    """
    table = np.asarray(table, dtype=int)
    dist = stats.random_table(table.sum(axis=1), table.sum(axis=0), seed=seed)
    observed = dist.logpmf(table)
    sims = dist.rvs(size=n_resamples)
    logp = dist.logpmf(sims)
    # relative tolerance as in R's fisher.test, so tables tied with the observed count
    extreme = int(np.sum(logp <= observed + 1e-7))
    return (1 + extreme) / (1 + n_resamples)


def exit_reason_test(table: pd.DataFrame, n_resamples: int = 20_000, seed: int = 0
                     ) -> tuple[str, float | None, float | None, int | None, float | None, str]:
    """Choose and run the test of association on a groups x reasons count table."""
    t = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return "not testable", None, None, None, None, "fewer than 2 groups or reasons with exits"
    obs = t.to_numpy(dtype=int)
    chi2, p, dof, expected = stats.chi2_contingency(obs, correction=False)
    min_exp = float(expected.min())
    if t.shape == (2, 2):
        odds, p = stats.fisher_exact(obs)
        note = "2 x 2 table: statistic is the odds ratio"
        return "fisher-exact", float(odds), float(p), 1, min_exp, note
    if min_exp < 5:
        p = fisher_freeman_halton_mc(obs, n_resamples, seed)
        return ("fisher-freeman-halton-monte-carlo", float(chi2), p, int(dof), min_exp,
                "an expected count is under 5: exact conditional test by simulation")
    return "chi-square", float(chi2), float(p), int(dof), min_exp, ""


def exit_reasons(
    workforce: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    group_col: str = "migration_background",
    compare_groups: Sequence[str] = KNOWN_BACKGROUNDS,
    exit_types: Sequence[str] | None = None,
    n_resamples: int = 20_000,
    seed: int = 0,
) -> ExitReasonResult:
    """Exit reasons by group for leavers in [start, end] and a test of association.

    Pearson chi-square (``scipy.stats.chi2_contingency``, no Yates correction) when every
    expected count is >= 5 (Cochran 1954 rule); Fisher's exact test for 2 x 2 tables
    (``scipy.stats.fisher_exact``); otherwise the Fisher-Freeman-Halton test by Monte Carlo.
    The table shows every group (``unknown`` too); the test compares only ``compare_groups``
    and leaves out the ``unknown`` reason (it says nothing about the reason). Example: Agresti
    (2007) party x gender table in R's ``chisq.test`` docs: X-squared = 30.07, df = 2.
    """
    wf = _prep(workforce)
    left = wf[wf["exit_date"].between(pd.Timestamp(start), pd.Timestamp(end))]
    if exit_types is not None:
        left = left[left["exit_type"].isin(list(exit_types))]
    reasons = left.get("exit_reason", pd.Series(index=left.index, dtype=object))
    reasons = reasons.fillna("unknown").astype(str)
    groups = _ordered(wf[group_col], BACKGROUNDS)
    cols = _ordered(reasons, EXIT_REASONS) if len(reasons) else []
    table = pd.crosstab(left[group_col].astype(str), reasons).reindex(
        index=groups, columns=cols, fill_value=0)
    table.index.name, table.columns.name = "group", "exit_reason"
    tested = table.loc[[g for g in groups if g in compare_groups],
                       [c for c in cols if c != "unknown"]]
    test, stat, p, dof, min_exp, note = exit_reason_test(tested, n_resamples, seed)
    return ExitReasonResult(
        table=table.astype(int), test=test, statistic=stat, p_value=p, dof=dof,
        min_expected=min_exp, tested_groups=list(tested.index),
        tested_reasons=list(tested.columns), n_tested=int(tested.to_numpy().sum()), note=note,
        n_resamples=n_resamples if test.endswith("monte-carlo") else None,
    )


__all__ = [
    "TOTAL",
    "ExitReasonResult",
    "FlowRow",
    "FlowsResult",
    "RepresentationResult",
    "RepresentationRow",
    "TenureResult",
    "TenureRow",
    "exit_reason_test",
    "exit_reasons",
    "fisher_freeman_halton_mc",
    "flows",
    "headcount_at",
    "period_bounds",
    "representation",
    "tenure_at_exit",
    "year_ends",
]

