"""Time-to-exit (survival) analysis of officers, with the disclosure rules for survival curves.

Pure analysis: frames in, dataclasses out. Uses lifelines (Kaplan-Meier, Aalen-Johansen, Cox),
scipy and statsmodels only. Results are **raw**; only :func:`publishable_km` output may be shown
to users, because raw curves carry individual exit times.

Time is measured in months since hire: ``months = days / (365.25 / 12)``.

* Right-censoring: an officer still in service at the extract's reference date is censored there.
* Delayed entry (left truncation): an officer hired before the observation window start is only
  observed from the window start, so he or she enters the risk set at ``entry`` = months already
  served then (Klein & Moeschberger, *Survival Analysis*, 2nd ed., 2003, section 4.6). Ignoring
  this counts long-serving "survivors" as if they had been at risk since hire and overstates
  retention.

Example::

    >>> import pandas as pd
    >>> wf = pd.DataFrame({"officer_ref": ["a", "b"], "migration_background": ["eu_background"] * 2,
    ...                    "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01"]),
    ...                    "exit_date": pd.to_datetime(["2021-01-01", None]),
    ...                    "exit_type": ["voluntary", None]})
    >>> d = prepare_survival_data(wf, reference_date="2022-01-01")
    >>> d[["duration", "event"]].round(1).values.tolist()
    [[12.0, True], [24.0, False]]
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from scipy import stats
from statsmodels.stats.multitest import multipletests

from hrpipeline.domain import BACKGROUNDS, DEFAULT_REFERENCE_GROUP, EXIT_TYPES, RANKS

DAYS_PER_MONTH = 365.25 / 12
GROUP = "group"

# Disclosure defaults for survival curves (see docs/statistics-retention.md).
MIN_GROUP_OFFICERS = 20
MIN_GROUP_EXITS = 10
MIN_LEAVING_PER_STEP = 10
MIN_AT_RISK = 10


def _months(delta: pd.Series) -> pd.Series:
    return delta.dt.days / DAYS_PER_MONTH


def prepare_survival_data(
    workforce: pd.DataFrame,
    reference_date: str | pd.Timestamp,
    window_start: str | pd.Timestamp | None = None,
    group_col: str = "migration_background",
    event_types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Turn a workforce frame into one survival record per officer.

    Returns columns ``officer_ref, group, gender, rank, hire_date, exit_type, entry, duration,
    event`` (months; ``event`` True if the officer left by ``reference_date``).

    * Officers hired after ``reference_date`` are dropped (not yet observable).
    * Exits after ``reference_date`` are censored at it (the extract cannot know them).
    * With ``window_start``: officers who left on or before it were never observed and are
      dropped; the others enter at ``max(0, months served at window_start)``.
    * ``event_types`` limits which exit types count as events; other exits are censored at
      their exit date (this gives cause-specific curves; see :func:`cumulative_incidence`).
    """
    ref = pd.Timestamp(reference_date)
    wf = workforce.copy()
    wf["hire_date"] = pd.to_datetime(wf["hire_date"])
    wf["exit_date"] = pd.to_datetime(wf["exit_date"])
    wf = wf[wf["hire_date"] <= ref]
    if window_start is not None:
        ws = pd.Timestamp(window_start)
        wf = wf[wf["exit_date"].isna() | (wf["exit_date"] > ws)]
    bad = wf["exit_date"].notna() & (wf["exit_date"] < wf["hire_date"])
    if bad.any():
        raise ValueError(f"{int(bad.sum())} officer(s) have an exit date before their hire date")
    left = wf["exit_date"].notna() & (wf["exit_date"] <= ref)
    end = wf["exit_date"].where(left, ref)
    exit_type = wf.get("exit_type", pd.Series(None, index=wf.index)).where(left, None)
    event = left.copy()
    if event_types is not None:
        event = event & exit_type.isin(list(event_types))
    entry = pd.Series(0.0, index=wf.index)
    if window_start is not None:
        entry = _months(pd.Timestamp(window_start) - wf["hire_date"]).clip(lower=0.0)
    out = pd.DataFrame(
        {
            "officer_ref": wf.get("officer_ref", pd.Series(range(len(wf)), index=wf.index)),
            GROUP: wf[group_col].astype(str) if group_col in wf else "all",
            "gender": wf.get("gender", pd.Series("unknown", index=wf.index)),
            "rank": wf.get("rank", pd.Series(None, index=wf.index)),
            "hire_date": wf["hire_date"],
            "exit_type": exit_type,
            "entry": entry.astype(float),
            "duration": _months(end - wf["hire_date"]).astype(float),
            "event": event.astype(bool),
        }
    )
    return out.reset_index(drop=True)


def _group_order(groups: Sequence[str], reference: str | None = None) -> list[str]:
    present = list(dict.fromkeys(groups))
    known = [g for g in BACKGROUNDS if g in present]
    rest = sorted(g for g in present if g not in BACKGROUNDS)
    order = known + rest
    if reference in order:
        order.remove(reference)
        order.insert(0, reference)
    return order


def _has_delayed_entry(data: pd.DataFrame) -> bool:
    return "entry" in data and bool((data["entry"] > 0).any())


def _fit_km(data: pd.DataFrame, label: str, alpha: float) -> KaplanMeierFitter:
    kmf = KaplanMeierFitter(alpha=alpha)
    entry = data["entry"] if _has_delayed_entry(data) else None
    kmf.fit(data["duration"], data["event"], entry=entry, label=label)
    return kmf


def _none_if_inf(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# --- Kaplan-Meier ------------------------------------------------------------------------------
@dataclass
class KMCurve:
    """Raw Kaplan-Meier curve of one group (contains exact exit times: never publish as is)."""

    group: str
    n: int
    events: int
    timeline: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray
    median: float | None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                GROUP: self.group,
                "time": self.timeline,
                "survival": self.survival,
                "lower": self.lower,
                "upper": self.upper,
                "at_risk": self.at_risk,
            }
        )


@dataclass
class KMResult:
    curves: dict[str, KMCurve]
    alpha: float
    delayed_entry: bool

    def to_frame(self) -> pd.DataFrame:
        return pd.concat([c.to_frame() for c in self.curves.values()], ignore_index=True)

    def to_records(self) -> list[dict]:
        return [
            {GROUP: c.group, "n": c.n, "events": c.events, "median_months": c.median}
            for c in self.curves.values()
        ]


def kaplan_meier(data: pd.DataFrame, group: str = "all", alpha: float = 0.05) -> KMCurve:
    """Kaplan-Meier product-limit estimate S(t) = prod_{t_j <= t} (1 - d_j / n_j).

    Kaplan & Meier (1958), JASA 53:457-481; d_j exits at t_j, n_j officers at risk just before
    t_j (with delayed entry: entry < t_j <= duration). Confidence band: lifelines' exponential
    Greenwood ("log-log") interval. Example: 3 officers leaving at 1, 2 and 3 months give
    S = 2/3, 1/3, 0.
    """
    kmf = _fit_km(data, group, alpha)
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    et = kmf.event_table
    at_risk = et["at_risk"].reindex(sf.index).to_numpy()
    return KMCurve(
        group=group,
        n=len(data),
        events=int(data["event"].sum()),
        timeline=sf.index.to_numpy(dtype=float),
        survival=sf.to_numpy(),
        lower=ci.iloc[:, 0].to_numpy(),
        upper=ci.iloc[:, 1].to_numpy(),
        at_risk=at_risk,
        median=_none_if_inf(kmf.median_survival_time_),
    )


def kaplan_meier_by_group(data: pd.DataFrame, alpha: float = 0.05) -> KMResult:
    """Kaplan-Meier curve per group (column ``group``), ``unknown`` included (never dropped)."""
    curves = {
        g: kaplan_meier(data[data[GROUP] == g], g, alpha) for g in _group_order(data[GROUP])
    }
    return KMResult(curves=curves, alpha=alpha, delayed_entry=_has_delayed_entry(data))


# --- log-rank ----------------------------------------------------------------------------------
def logrank_with_entry(
    duration: np.ndarray, event: np.ndarray, entry: np.ndarray, groups: np.ndarray
) -> tuple[float, int, float, dict[str, float], dict[str, float]]:
    """K-sample log-rank test with risk sets that respect delayed entry.

    lifelines' log-rank functions have no ``entry`` argument, so for left-truncated data the
    risk set at each exit time t_j is {i : entry_i < t_j <= duration_i}. With d_j exits among
    n_j at risk (n_gj, d_gj in group g): E_g = sum n_gj d_j / n_j, and
    V_gh = sum d_j (n_j - d_j) / (n_j - 1) * n_gj / n_j * (delta_gh - n_hj / n_j);
    chi2 = (O - E)' V^- (O - E) on K - 1 df (Klein & Moeschberger 2003, section 7.3, eq. 7.3.4).
    Reduces to the usual log-rank (lifelines ``multivariate_logrank_test``) when all entry = 0,
    which the tests check on R's ``aml`` data. Returns (chi2, df, p, observed, expected).
    """
    duration = np.asarray(duration, float)
    event = np.asarray(event, bool)
    entry = np.asarray(entry, float)
    labels = list(dict.fromkeys(groups))
    g_idx = np.array([labels.index(g) for g in groups])
    k = len(labels)
    o = np.zeros(k)
    e = np.zeros(k)
    v = np.zeros((k, k))
    for t in np.unique(duration[event]):
        risk = (entry < t) & (duration >= t)
        n_g = np.bincount(g_idx[risk], minlength=k).astype(float)
        d_g = np.bincount(g_idx[risk & event & (duration == t)], minlength=k).astype(float)
        n, d = n_g.sum(), d_g.sum()
        if n == 0 or d == 0:
            continue
        o += d_g
        e += n_g * d / n
        if n > 1:
            frac = n_g / n
            v += d * (n - d) / (n - 1) * (np.diag(frac) - np.outer(frac, frac))
    diff = (o - e)[:-1]
    chi2 = float(diff @ np.linalg.pinv(v[:-1, :-1]) @ diff) if k > 1 else 0.0
    df = k - 1
    p = float(stats.chi2.sf(chi2, df)) if df > 0 else 1.0
    return chi2, df, p, dict(zip(labels, o, strict=True)), dict(zip(labels, e, strict=True))


@dataclass
class PairwiseLogRank:
    group: str
    reference: str
    n: int
    events: int
    n_reference: int
    events_reference: int
    statistic: float
    p_value: float
    p_holm: float


@dataclass
class LogRankResult:
    """Overall K-group log-rank test plus each group against the reference group."""

    groups: list[str]
    statistic: float
    df: int
    p_value: float
    method: str
    reference: str
    observed: dict[str, float]
    expected: dict[str, float]
    pairwise: list[PairwiseLogRank] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    def to_records(self) -> list[dict]:
        return [asdict(p) for p in self.pairwise]


def _logrank(sub: pd.DataFrame) -> tuple[float, int, float, str]:
    if _has_delayed_entry(sub):
        chi2, df, p, _, _ = logrank_with_entry(
            sub["duration"], sub["event"], sub["entry"], sub[GROUP].to_numpy()
        )
        return chi2, df, p, "log-rank with delayed-entry risk sets (Klein & Moeschberger 7.3)"
    res = multivariate_logrank_test(sub["duration"], sub[GROUP], sub["event"])
    return (
        float(res.test_statistic),
        int(res.degrees_of_freedom),
        float(res.p_value),
        "log-rank (lifelines multivariate_logrank_test)",
    )


def logrank_by_group(
    data: pd.DataFrame,
    reference: str = DEFAULT_REFERENCE_GROUP,
    exclude: Sequence[str] = ("unknown",),
) -> LogRankResult:
    """Log-rank test of equal time-to-exit across groups (Mantel 1966; Peto & Peto 1972).

    ``unknown`` is excluded from the comparison (it is reported, not compared). Pairwise tests
    against ``reference`` are Holm-adjusted (statsmodels ``multipletests``). Example: R's
    ``survdiff(Surv(time, status) ~ x, data = aml)`` prints Chisq = 3.4 on 1 df, p = 0.07.
    """
    sub = data[~data[GROUP].isin(list(exclude))]
    groups = _group_order(sub[GROUP], reference)
    sub = sub.assign(**{GROUP: pd.Categorical(sub[GROUP], categories=groups)})
    if len(groups) < 2 or sub["event"].sum() == 0:
        return LogRankResult(groups, math.nan, 0, math.nan, "not testable", reference, {}, {},
                             excluded=list(exclude))
    chi2, df, p, method = _logrank(sub.assign(**{GROUP: sub[GROUP].astype(str)}))
    _, _, _, obs, exp = logrank_with_entry(
        sub["duration"], sub["event"], sub["entry"], sub[GROUP].astype(str).to_numpy()
    )
    pairs: list[PairwiseLogRank] = []
    if reference in groups:
        ref = sub[sub[GROUP] == reference]
        raw = []
        for g in groups[1:]:
            oth = sub[sub[GROUP] == g]
            pair = pd.concat([ref, oth]).assign(**{GROUP: lambda d: d[GROUP].astype(str)})
            if _has_delayed_entry(pair):
                s, _, pv, _, _ = logrank_with_entry(
                    pair["duration"], pair["event"], pair["entry"], pair[GROUP].to_numpy()
                )
            else:
                r = logrank_test(oth["duration"], ref["duration"], oth["event"], ref["event"])
                s, pv = float(r.test_statistic), float(r.p_value)
            raw.append((g, len(oth), int(oth["event"].sum()), s, pv))
        holm = multipletests([r[4] for r in raw], method="holm")[1] if raw else []
        pairs = [
            PairwiseLogRank(g, reference, n, ev, len(ref), int(ref["event"].sum()), s, pv,
                            float(h))
            for (g, n, ev, s, pv), h in zip(raw, holm, strict=True)
        ]
    return LogRankResult(groups, chi2, df, p, method, reference, obs, exp, pairs, list(exclude))


# --- first-year attrition ------------------------------------------------------------------
@dataclass
class CohortAttrition:
    cohort: int
    group: str
    n: int
    exits_within_12m: int
    censored_within_12m: int
    at_risk_12m: int
    attrition: float | None
    lower: float | None
    upper: float | None
    note: str


@dataclass
class FirstYearAttritionResult:
    rows: list[CohortAttrition]

    def to_records(self) -> list[dict]:
        return [asdict(r) for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_records())


def first_year_attrition(
    data: pd.DataFrame, by_group: bool = True, horizon: float = 12.0, alpha: float = 0.05
) -> FirstYearAttritionResult:
    """First-year attrition per hire cohort (calendar year of hire): A = 1 - S(12 months).

    S is the Kaplan-Meier estimate, so recent hires still in service before 12 months count
    as at risk for as long as they were observed and are then censored - not as stayers
    (which would understate attrition) nor dropped (which would waste data). When nobody of
    the cohort has been followed 12 months yet, A is not estimable (None). Example: 10 hires,
    2 leave at months 3 and 6, 2 recent hires are censored at month 4, 6 stay: S(12) =
    (9/10) * (6/7) = 0.771, A = 0.229 (counting the recent hires as stayers: 2/10 = 0.20).
    """
    rows: list[CohortAttrition] = []
    keys = ["cohort", GROUP] if by_group else ["cohort"]
    frame = data.assign(cohort=pd.to_datetime(data["hire_date"]).dt.year)
    for key, sub in frame.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        cohort, grp = int(key[0]), (key[1] if by_group else "all")
        within = sub["duration"] <= horizon
        exits = int((within & sub["event"]).sum())
        cens = int((within & ~sub["event"]).sum())
        at_risk = int(((sub["duration"] > horizon) & (sub["entry"] < horizon)).sum())
        attr = lo = hi = None
        if sub["duration"].max() >= horizon or exits == len(sub):
            kmf = _fit_km(sub, str(grp), alpha)
            s = float(kmf.survival_function_at_times(horizon).iloc[0])
            ci = kmf.confidence_interval_survival_function_
            ci_at = ci[ci.index <= horizon].iloc[-1]
            attr, lo, hi = 1 - s, 1 - float(ci_at.iloc[1]), 1 - float(ci_at.iloc[0])
            note = "complete" if cens == 0 else "includes officers censored before 12 months"
        else:
            note = "not yet estimable: no officer followed 12 months"
        rows.append(CohortAttrition(cohort, str(grp), len(sub), exits, cens, at_risk, attr, lo,
                                    hi, note))
    return FirstYearAttritionResult(rows)


# --- competing risks -------------------------------------------------------------------------
DEFAULT_CAUSES: tuple[str, ...] = ("voluntary", "mobility", "involuntary")
OTHER_EXIT = "other_exit"


@dataclass
class CauseIncidence:
    cause: str
    events: int
    timeline: np.ndarray
    cif: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    naive_one_minus_km: np.ndarray


@dataclass
class CumulativeIncidenceResult:
    """Cause-specific cumulative incidence on a common time grid (months)."""

    grid: np.ndarray
    overall_survival: np.ndarray
    causes: dict[str, CauseIncidence]
    n: int

    def to_frame(self) -> pd.DataFrame:
        frames = [
            pd.DataFrame({"cause": c.cause, "time": c.timeline, "cif": c.cif, "lower": c.lower,
                          "upper": c.upper, "naive_one_minus_km": c.naive_one_minus_km})
            for c in self.causes.values()
        ]
        return pd.concat(frames, ignore_index=True)


def cumulative_incidence(
    data: pd.DataFrame,
    causes: Sequence[str] = DEFAULT_CAUSES,
    grid: Sequence[float] | None = None,
    alpha: float = 0.05,
    seed: int = 0,
) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence CIF_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j.

    Aalen & Johansen (1978), Scand. J. Statist. 5:141-150; lifelines ``AalenJohansenFitter``.
    Exit types not in ``causes`` form one extra competing cause ``other_exit``, so that
    sum_k CIF_k(t) = 1 - S_KM(t) (all exits). The "naive" 1 - KM per cause (other causes treated
    as censored) estimates the probability in a world without competing exits and overstates
    each CIF (Putter, Fiocco & Geskus 2007, Stat. Med. 26:2389-2430). lifelines breaks tied
    exit times by a tiny seeded jitter. Example: 4 officers, exits at 1 (resign), 2 (transfer),
    3 (resign), censored at 4: CIF_resign(3) = 1/4 + 2/4 * 1/2 = 0.5; naive 1 - KM = 1 - 3/4 *
    1/2 = 0.625.
    """
    if data.empty:
        raise ValueError("no officers")
    ex_type = data["exit_type"].where(data["event"], None)
    code = pd.Series(0, index=data.index)
    all_causes = list(causes) + [OTHER_EXIT]
    for i, c in enumerate(causes, start=1):
        code[ex_type == c] = i
    code[data["event"] & ~ex_type.isin(list(causes))] = len(all_causes)
    entry = data["entry"] if _has_delayed_entry(data) else None
    if grid is None:
        grid = np.arange(0, math.floor(data["duration"].max()) + 1, dtype=float)
    grid = np.asarray(grid, dtype=float)
    km = KaplanMeierFitter().fit(data["duration"], data["event"], entry=entry)
    out: dict[str, CauseIncidence] = {}
    for i, c in enumerate(all_causes, start=1):
        n_ev = int((code == i).sum())
        if n_ev == 0:
            zeros = np.zeros_like(grid)
            out[c] = CauseIncidence(c, 0, grid, zeros, zeros, zeros, zeros)
            continue
        ajf = AalenJohansenFitter(seed=seed, alpha=alpha)
        ajf.fit(data["duration"], code, event_of_interest=i, entry=entry)
        cif = ajf.cumulative_density_.iloc[:, 0]
        ci = ajf.confidence_interval_
        naive = KaplanMeierFitter().fit(data["duration"], code == i, entry=entry)
        out[c] = CauseIncidence(
            cause=c,
            events=n_ev,
            timeline=grid,
            cif=_step_at(cif, grid),
            lower=_step_at(ci.iloc[:, 0], grid, fill=0.0),
            upper=_step_at(ci.iloc[:, 1], grid, fill=0.0),
            naive_one_minus_km=1 - naive.survival_function_at_times(grid).to_numpy(),
        )
    return CumulativeIncidenceResult(
        grid=grid,
        overall_survival=km.survival_function_at_times(grid).to_numpy(),
        causes=out,
        n=len(data),
    )


def _step_at(series: pd.Series, grid: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Right-continuous step function value at each grid time."""
    s = series.sort_index()
    idx = np.searchsorted(s.index.to_numpy(dtype=float), grid, side="right") - 1
    vals = s.to_numpy(dtype=float)
    res = np.where(idx >= 0, vals[np.clip(idx, 0, None)], fill)
    return np.nan_to_num(res, nan=fill)


# --- Cox model -------------------------------------------------------------------------------
@dataclass
class CoxTerm:
    covariate: str
    level: str
    reference: str
    coef: float
    hazard_ratio: float
    lower: float
    upper: float
    se: float
    p_value: float
    n: int
    events: int


@dataclass
class CoxResult:
    fitted: bool
    reason: str
    n: int
    events: int
    n_parameters: int
    ties: str = "efron"
    terms: list[CoxTerm] = field(default_factory=list)
    concordance: float | None = None

    def to_records(self) -> list[dict]:
        return [asdict(t) for t in self.terms]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_records())


def _levels(values: pd.Series, covariate: str, reference: str | None) -> list[str]:
    present = list(dict.fromkeys(values.astype(str)))
    if covariate == GROUP:
        order = _group_order(present, reference)
    elif covariate == "rank":
        order = [r for r in RANKS if r in present] + sorted(p for p in present if p not in RANKS)
    else:
        order = sorted(present)
        if reference in order:
            order.remove(reference)
            order.insert(0, reference)
    return order


def cox_model(
    data: pd.DataFrame,
    covariates: Sequence[str] = (GROUP, "gender", "rank"),
    references: dict[str, str] | None = None,
    min_events_per_parameter: int = 10,
    alpha: float = 0.05,
) -> CoxResult:
    """Exploratory Cox proportional-hazards model h(t|x) = h0(t) exp(x'b) (Cox 1972).

    lifelines ``CoxPHFitter`` (Efron ties, its default; ``entry_col`` for delayed entry);
    categorical covariates are dummy-coded against a reference level (``references``; default
    the reference background, the lowest rank, and the alphabetically first other level). Only fitted with at least
    ``min_events_per_parameter`` exits per parameter (Peduzzi et al. 1995, J. Clin. Epidemiol.
    48:1503-1510), otherwise ``reason = "too few events"``. Example: R's
    ``coxph(Surv(time, status) ~ x, aml)`` gives coef 0.9155 (Nonmaintained vs Maintained).
    """
    refs = {GROUP: DEFAULT_REFERENCE_GROUP, **(references or {})}
    n, events = len(data), int(data["event"].sum())
    design = pd.DataFrame({"duration": data["duration"], "event": data["event"].astype(int)})
    if _has_delayed_entry(data):
        design["entry"] = data["entry"]
    meta: dict[str, tuple[str, str, str]] = {}
    for cov in covariates:
        vals = data[cov].fillna("unknown").astype(str)
        lv = _levels(vals, cov, refs.get(cov))
        for level in lv[1:]:
            col = f"{cov}={level}"
            design[col] = (vals == level).astype(float)
            meta[col] = (cov, level, lv[0])
    n_par = len(meta)
    if n_par == 0:
        return CoxResult(False, "no covariate varies", n, events, 0)
    if events < min_events_per_parameter * n_par:
        return CoxResult(False, "too few events", n, events, n_par)
    cph = CoxPHFitter(alpha=alpha)
    try:
        cph.fit(design, "duration", "event",
                entry_col="entry" if "entry" in design else None)
    except Exception as exc:  # lifelines raises ConvergenceError subclasses of several types
        return CoxResult(False, f"model did not converge: {type(exc).__name__}", n, events,
                         n_par)
    s = cph.summary
    terms = []
    for col, (cov, level, ref) in meta.items():
        row = s.loc[col]
        mask = design[col] == 1
        terms.append(CoxTerm(
            cov, level, ref, float(row["coef"]), float(row["exp(coef)"]),
            float(row.filter(like="exp(coef) lower").iloc[0]),
            float(row.filter(like="exp(coef) upper").iloc[0]),
            float(row["se(coef)"]), float(row["p"]), int(mask.sum()),
            int(design.loc[mask, "event"].sum()),
        ))
    return CoxResult(True, "fitted", n, events, n_par, "efron", terms,
                     float(cph.concordance_index_))


# --- disclosure control for curves -----------------------------------------------------------
@dataclass
class PublishableKM:
    """A Kaplan-Meier curve gated for publication, or the reason it is withheld.

    ``time`` is a monthly grid; survival/lower/upper/at_risk are carried between merged steps,
    so no individual exit time, and no count of fewer than ``min_leaving`` officers leaving,
    can be read off the curve.
    """

    group: str
    published: bool
    reason: str
    n: int
    events: int
    time: list[float] = field(default_factory=list)
    survival: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    at_risk: list[int] = field(default_factory=list)
    truncated_at: float | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({GROUP: self.group, "time": self.time, "survival": self.survival,
                             "lower": self.lower, "upper": self.upper, "at_risk": self.at_risk})

    def to_records(self) -> list[dict]:
        return self.to_frame().to_dict("records")


def at_risk_at(data: pd.DataFrame, t: float) -> int:
    """Officers under observation at month t: entry <= t <= duration."""
    return int(((data["entry"] <= t) & (data["duration"] >= t)).sum())


def publishable_km(
    data: pd.DataFrame,
    group: str | None = None,
    min_officers: int = MIN_GROUP_OFFICERS,
    min_exits: int = MIN_GROUP_EXITS,
    min_leaving: int = MIN_LEAVING_PER_STEP,
    min_at_risk: int = MIN_AT_RISK,
    alpha: float = 0.05,
) -> PublishableKM:
    """Gate a Kaplan-Meier curve for publication.

    Rules (project disclosure policy for curves): (1) the group has >= ``min_officers`` officers
    and >= ``min_exits`` exits, else withheld; (2) values only on a whole-month grid; (3) a new
    value (a drawn step) is shown only once >= ``min_leaving`` officers have left the risk set
    (exits + censorings) since the last drawn step, otherwise the previous survival, band *and*
    number at risk are carried (carrying at-risk too, because month-to-month differences of the
    at-risk count would reveal the monthly leavers); (4) the curve stops before the first month
    whose number at risk is under ``min_at_risk``.
    """
    sub = data if group is None else data[data[GROUP] == group]
    label = group or "all"
    n, events = len(sub), int(sub["event"].sum()) if len(sub) else 0
    if n < min_officers:
        return PublishableKM(label, False, f"fewer than {min_officers} officers", n, events)
    if events < min_exits:
        return PublishableKM(label, False, f"fewer than {min_exits} exits", n, events)
    kmf = _fit_km(sub, label, alpha)
    grid = np.arange(0, math.floor(sub["duration"].max()) + 1, dtype=float)
    surv = kmf.survival_function_at_times(grid).to_numpy()
    ci = kmf.confidence_interval_survival_function_
    lower = _step_at(ci.iloc[:, 0], grid, fill=1.0)
    upper = _step_at(ci.iloc[:, 1], grid, fill=1.0)
    dur = sub["duration"].to_numpy()
    out = PublishableKM(label, True, "published", n, events)
    last_t = 0.0
    current: tuple[float, float, float, int] | None = None
    for i, t in enumerate(grid):
        risk = at_risk_at(sub, t)
        if risk < min_at_risk:
            out.truncated_at = float(t)
            break
        leaving = int(((dur > last_t) & (dur <= t)).sum())
        if current is None or leaving >= min_leaving:
            current = (float(surv[i]), float(lower[i]), float(upper[i]), risk)
            last_t = float(t)
        out.time.append(float(t))
        out.survival.append(current[0])
        out.lower.append(current[1])
        out.upper.append(current[2])
        out.at_risk.append(current[3])
    if not out.time:
        return PublishableKM(label, False, f"fewer than {min_at_risk} at risk from the start",
                             n, events, truncated_at=0.0)
    return out


def publishable_km_by_group(data: pd.DataFrame, **kwargs) -> dict[str, PublishableKM]:
    """:func:`publishable_km` for every group (``unknown`` included)."""
    return {g: publishable_km(data, g, **kwargs) for g in _group_order(data[GROUP])}


__all__ = [
    "EXIT_TYPES",
    "CauseIncidence",
    "CohortAttrition",
    "CoxResult",
    "CoxTerm",
    "CumulativeIncidenceResult",
    "FirstYearAttritionResult",
    "KMCurve",
    "KMResult",
    "LogRankResult",
    "PairwiseLogRank",
    "PublishableKM",
    "at_risk_at",
    "cox_model",
    "cumulative_incidence",
    "first_year_attrition",
    "kaplan_meier",
    "kaplan_meier_by_group",
    "logrank_by_group",
    "logrank_with_entry",
    "prepare_survival_data",
    "publishable_km",
    "publishable_km_by_group",
]


# --- life table from counts (what the protected release publishes) ----------------------------
@dataclass
class LifeTableRow:
    """One interval of service ``(start, end]`` months: counts and the estimate at its end."""

    start: float
    end: float
    at_risk: int
    exits: int
    survival: float
    lower: float
    upper: float
    cif: dict[str, float]


def life_table(at_risk: Sequence[int], exits_by_cause: Sequence[dict[str, int]],
               width: float = 12.0, alpha: float = 0.05,
               extra_variance: Sequence[float] | None = None) -> list[LifeTableRow]:
    """Survival and cumulative incidence at the ends of equal intervals of service, from counts.

    ``at_risk[j]``: officers in service at the start of interval *j* among the cohorts followed
    through it (nobody is censored inside an interval: a cohort enters interval *j* only once
    all of it has been followed to its end), ``exits_by_cause[j]``: who left during it, by cause.
    This is the cohort life table (Cutler & Ederer 1958, J. Chronic Dis. 8:699-712, with no
    withdrawals inside an interval), i.e. the Kaplan-Meier estimator read at the interval ends:

        S(j) = prod_{i <= j} (1 - d_i / n_i)
        Var log S(j) = sum_i d_i / (n_i (n_i - d_i))                    (Greenwood 1926)
        CI: S^exp(±z sqrt(V) / log S)  (the log(-log) interval; lifelines' default)
        CIF_k(j) = sum_{i <= j} S(i-1) d_ki / n_i                         (Aalen-Johansen)

    ``extra_variance[j]``: a variance to add to q_j = d_j / n_j beyond sampling, e.g. from
    rounding the counts (it enters Var log S as extra_j / (1 - q_j)^2, the delta method).

    Example: n = (100, 80), d = (10, 8) → S = 0.9, 0.81. Stops at the first interval with
    nobody at risk.
    """
    z = float(stats.norm.ppf(1 - alpha / 2))
    out: list[LifeTableRow] = []
    s, var, cif = 1.0, 0.0, defaultdict(float)
    for j, (n, by_cause) in enumerate(zip(at_risk, exits_by_cause, strict=True)):
        n = int(n)
        d = int(sum(by_cause.values()))
        if n <= 0 or d > n:
            break
        for cause, dk in by_cause.items():
            cif[cause] += s * dk / n
        s *= 1 - d / n
        extra = extra_variance[j] if extra_variance is not None else 0.0
        var = var + d / (n * (n - d)) + extra / (1 - d / n) ** 2 if d < n else math.inf
        if 0 < s < 1 and math.isfinite(var):
            half = z * math.sqrt(var) / math.log(s)
            lower, upper = s ** math.exp(-half), s ** math.exp(half)
        else:
            lower, upper = s, s
        out.append(LifeTableRow(j * width, (j + 1) * width, n, d, s, min(lower, upper),
                                max(lower, upper), dict(cif)))
    return out
