"""Pilot evaluation: did a recruitment or retention pilot narrow the focal-reference gap?

Project staff run pilots in some zones (preparation sessions for the physical test, anonymised
first screening, mentoring for new recruits). This module answers "did it work?" from grouped
counts, honestly, and says "too few to tell" when the data cannot carry an answer.

Input: a counts frame with columns ``zone``, ``period`` (campaign or year; ordered by
``PilotDefinition.periods`` when given, else by value), ``group``
(``hrpipeline.domain.BACKGROUNDS``) and either ``passed``/``not_passed`` (decisions at the
targeted stage) or ``left``/``stayed`` (retention pilots; "success" is *stayed*). Rates below
are success rates (pass rate, or stay rate), so a positive change always favours the focal
group.

Three results (see ``docs/pilots-and-briefings.md``):

1. **Before/after** in pilot zones (and, for reading, in comparison zones): the gap
   ``rate(focal) - rate(reference)`` before and after the start, each with a Newcombe (1998,
   method 10) hybrid-score interval from ``statsmodels confint_proportions_2indep``; the change
   in gap gets a MOVER interval (Zou & Donner 2008, Stat Med 27:1693) built from those two.
2. **Difference-in-differences** (a triple difference: focal vs reference, pilot vs comparison,
   after vs before) as a binomial model on the zone x period x group counts::

       logit P(success) = zone x period FE + focal + focal x zone FE + focal x period FE
                          + b5 focal x pilot x after

   with the variation of the gap between zones and campaigns estimated (Williams 1982: variance
   ``n p (1 - p) (1 + (n - 1) phi)``, ``phi`` from Pearson X^2 = df) and Student's t with the
   residual degrees of freedom. Decisions are not independent draws: zones and campaigns
   differ, and a pilot has a handful of zones; the binomial-only GLM that treated them as
   independent said "improved"/"worsened" in about a quarter of null simulations.
   ``b5`` is the DiD effect on the log-odds scale (the odds-ratio ratio; Ai & Norton 2003,
   Econ Lett 80:123; Puhani 2012, Econ Lett 115:85). On the percentage-point scale the effect
   is Puhani's (2012) treatment effect on the treated: the mean over focal, pilot-zone, after
   rows of ``expit(x'b) - expit(x'b - b5)``, weighted by decisions, with a delta-method
   interval; it always has the sign of ``b5``. A placebo (start one period earlier, before
   data only) checks the pre-trend.
3. **Verdict**, decided on the log-odds scale and worded so: ``improved`` (95% t interval of
   ``b5`` above 0), ``worsened`` (below 0), ``no_evidence`` (enough data and zones, interval
   includes 0), ``too_few`` (fewer than ``min_decisions`` focal or reference decisions in any
   arm x phase, no comparison data, a model that cannot be fitted; or "too few zones to tell":
   fewer than ``MIN_COMPARISON_ZONES`` comparison zones or ``MIN_DF`` residual degrees of
   freedom). Caveats: ``pre_trend``, ``no_pre_trend_check``, ``scale_conflict`` (the raw
   percentage-point gaps point the other way).

Example::

    >>> pilot = PilotDefinition(pilot_zones=("ANT",), comparison_zones=("GNT", "CRL", "BXN"),
    ...                         start=2023)
    >>> result = evaluate_pilot(counts, pilot)          # doctest: +SKIP
    >>> result.verdict, result.did.log_odds, result.did.df, result.caveats
    ('improved', 0.74, 5, ())

Everything here is pure and draws nothing (the chart is ``hrpipeline.charts.pilot``); the
service layer passes every published number (including chart points) through the suppression
gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, logit, xlogy
from statsmodels.stats.proportion import confint_proportions_2indep

from hrpipeline.domain import BACKGROUNDS, BELGIAN_ORIGIN, NON_EU_BACKGROUND

# --- vocabulary ---------------------------------------------------------------------------
IMPROVED = "improved"
WORSENED = "worsened"
NO_EVIDENCE = "no_evidence"
TOO_FEW = "too_few"
VERDICTS: tuple[str, ...] = (IMPROVED, WORSENED, NO_EVIDENCE, TOO_FEW)
#: The scale the verdict is decided on: the difference-in-differences of log-odds (``b5``).
SCALE = "log-odds"
#: English sentences; the web layer translates by ``verdict`` code (NL/FR catalogues). Each
#: names the scale and agrees in sign with the estimates shown (log-odds and Puhani's
#: percentage points, which always share the sign of ``b5``).
VERDICT_TEXTS: dict[str, str] = {
    IMPROVED: "Improved, on the log-odds scale: compared with the comparison zones, the gap in "
    "the pilot zones moved in the focal group's favour, by more than the usual variation "
    "between zones and campaigns.",
    WORSENED: "Worsened, on the log-odds scale: compared with the comparison zones, the gap in "
    "the pilot zones moved against the focal group, by more than the usual variation between "
    "zones and campaigns.",
    NO_EVIDENCE: "No evidence of change: the data are sufficient, but on the log-odds scale the "
    "estimated effect is compatible with no change, given how much the gap varies between "
    "zones and campaigns.",
    TOO_FEW: "Too few to tell: there are not enough data to assess this pilot.",
}
#: ``too_few`` because of the design (zones and periods), not the number of decisions.
TOO_FEW_ZONES_TEXT = (
    "Too few zones to tell: with this few pilot and comparison zones and periods, a pilot "
    "effect cannot be told apart from the usual differences between zones and campaigns."
)

# Caveats next to a verdict (codes; English texts, translated by the service).
PRE_TREND = "pre_trend"
NO_PRE_TREND_CHECK = "no_pre_trend_check"
SCALE_CONFLICT = "scale_conflict"
CAVEAT_TEXTS: dict[str, str] = {
    PRE_TREND: "Caution: before the start, the gap already moved differently in the pilot zones "
    "than in the comparison zones (placebo test with the start one period earlier). The "
    "comparison zones may not show what would have happened without the pilot.",
    NO_PRE_TREND_CHECK: "The trend before the start could not be checked: that needs at least "
    "two periods before the start in enough zones.",
    SCALE_CONFLICT: "On the percentage-point scale the raw gaps point the other way (see the "
    "before/after changes): the conclusion depends on the scale, so read it with care.",
}

DECISION = "decision"  # passed / not_passed
RETENTION = "retention"  # stayed / left
PILOT = "pilot"
COMPARISON = "comparison"
BEFORE = "before"
AFTER = "after"
ARMS: tuple[str, ...] = (PILOT, COMPARISON)
PHASES: tuple[str, ...] = (BEFORE, AFTER)

#: Minimum decisions per group in every arm x phase before a verdict other than too_few.
MIN_DECISIONS = 20
#: Minimum comparison zones with data before and after the start: with one, a change in that
#: zone alone decides the comparison.
MIN_COMPARISON_ZONES = 2
#: Minimum residual degrees of freedom of the zone x period model (they estimate how much the
#: gap varies between zones and campaigns; t quantile 4.30 at 2 df, 2.57 at 5).
MIN_DF = 2
ALPHA = 0.05

#: Variance models for ``did_estimate``.
WILLIAMS = "williams"  # binomial x (1 + (n - 1) phi), phi estimated; t reference (the verdict)
BINOMIAL = "binomial"  # binomial variance only, normal reference (reference / comparison only)



# --- definitions and results --------------------------------------------------------------
@dataclass(frozen=True)
class PilotDefinition:
    """Which zones ran the pilot, which compare, and from which period it applies.

    ``periods`` gives the chronological order of the period labels (e.g. campaigns ordered by
    their dates: a label such as ``"2024 voorjaar"`` sorts after ``"2024 najaar"`` as text).
    Without it periods are ordered by value. A period is "after" when it is ``start`` or later.
    """

    pilot_zones: tuple[str, ...]
    comparison_zones: tuple[str, ...]
    start: Any  # periods from start on are "after"
    focal_group: str = NON_EU_BACKGROUND
    reference_group: str = BELGIAN_ORIGIN
    name: str = ""
    periods: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pilot_zones", tuple(self.pilot_zones))
        object.__setattr__(self, "comparison_zones", tuple(self.comparison_zones))
        object.__setattr__(self, "periods", tuple(self.periods))
        if not self.pilot_zones:
            raise ValueError("a pilot needs at least one pilot zone")
        overlap = set(self.pilot_zones) & set(self.comparison_zones)
        if overlap:
            raise ValueError(f"zones cannot be both pilot and comparison: {sorted(overlap)}")
        for group in (self.focal_group, self.reference_group):
            if group not in BACKGROUNDS:
                raise ValueError(f"unknown group {group!r}; expected one of {BACKGROUNDS}")
        if self.focal_group == self.reference_group:
            raise ValueError("focal and reference group must differ")
        if len(set(self.periods)) != len(self.periods):
            raise ValueError("periods must not repeat")

    def _order(self) -> dict[Any, int]:
        return {p: i for i, p in enumerate(self.periods)}

    def is_after(self, period: Any) -> bool:
        """Whether ``period`` is ``start`` or later (in ``periods`` order when both are listed)."""
        order = self._order()
        if period in order and self.start in order:
            return order[period] >= order[self.start]
        return bool(period >= self.start)

    def sort_periods(self, values: Any) -> list[Any]:
        """``values`` in chronological order: listed periods first in ``periods`` order, then
        the others by value."""
        order = self._order()
        listed = sorted((v for v in values if v in order), key=order.__getitem__)
        return listed + sorted(v for v in values if v not in order)


@dataclass(frozen=True)
class Cell:
    """Pooled counts of one group in one arm and phase."""

    arm: str
    phase: str
    group: str
    successes: int
    failures: int

    @property
    def n(self) -> int:
        return self.successes + self.failures

    @property
    def rate(self) -> float:
        return self.successes / self.n if self.n else math.nan


@dataclass(frozen=True)
class GapChange:
    """Focal-minus-reference rate gap before and after the start, within one arm."""

    arm: str
    gap_before: float
    gap_before_ci: tuple[float, float]
    gap_after: float
    gap_after_ci: tuple[float, float]
    change: float  # gap_after - gap_before; > 0 favours the focal group
    change_ci: tuple[float, float]
    method: str = "newcombe hybrid score per gap; MOVER (Zou & Donner 2008) for the change"


@dataclass(frozen=True)
class DidEstimate:
    """The triple-difference interaction ``b5`` from the zone x period binomial model."""

    log_odds: float
    log_odds_ci: tuple[float, float]
    p_value: float
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    pp: float  # effect on the focal pass rate in pilot zones after start (proportion scale)
    pp_ci: tuple[float, float]
    fixed_effects: bool  # zone x period, focal x zone and focal x period fixed effects used
    n_rows: int  # zone x period x group rows in the fit
    n_decisions: int
    df: int = 0  # residual degrees of freedom (t reference); 0 with the normal reference
    overdispersion: float = 0.0  # Williams' phi: variance n p (1 - p) (1 + (n - 1) phi)
    variance: str = WILLIAMS
    n_zones: int = 0
    scale: str = SCALE
    pp_method: str = "Puhani (2012) treatment effect on the treated, delta-method CI"


@dataclass(frozen=True)
class Design:
    """What the zone x period model has to work with (after dropping cells without
    information: a group missing, or all successes or all failures in the cell)."""

    pilot_zones: int  # pilot zones with data before and after the start
    comparison_zones: int  # comparison zones with data before and after the start
    periods_before: int
    periods_after: int
    cells: int  # zone x period cells in the model
    df: int  # residual degrees of freedom: rows minus parameters


@dataclass(frozen=True)
class PilotResult:
    definition: PilotDefinition
    outcome: str  # DECISION or RETENTION
    cells: tuple[Cell, ...]
    pilot_change: GapChange | None
    comparison_change: GapChange | None
    did: DidEstimate | None
    verdict: str
    verdict_text: str
    reasons: tuple[str, ...] = field(default_factory=tuple)  # why too_few, in English
    too_few_zones: bool = False  # too_few because of the design (zones, periods)
    design: Design | None = None
    placebo: DidEstimate | None = None  # the same model, start one period earlier, before data
    caveats: tuple[str, ...] = field(default_factory=tuple)  # codes of CAVEAT_TEXTS
    #: (pilot gap change) - (comparison gap change) in proportion points, from the pooled cells
    gap_change_difference: float | None = None

    def cell(self, arm: str, phase: str, group: str) -> Cell:
        for c in self.cells:
            if (c.arm, c.phase, c.group) == (arm, phase, group):
                return c
        raise KeyError((arm, phase, group))


# --- input handling -----------------------------------------------------------------------
def _outcome_columns(counts: pd.DataFrame) -> tuple[str, str, str]:
    """(kind, success column, failure column) from the frame's columns."""
    if {"passed", "not_passed"} <= set(counts.columns):
        return DECISION, "passed", "not_passed"
    if {"left", "stayed"} <= set(counts.columns):
        return RETENTION, "stayed", "left"
    raise ValueError("counts need columns passed/not_passed or left/stayed")


def _prepare(counts: pd.DataFrame, pilot: PilotDefinition) -> tuple[str, pd.DataFrame]:
    """Rows of focal/reference groups in pilot/comparison zones with s, f, focal, pilot, after
    and ``rank`` (the period's chronological position)."""
    missing = {"zone", "period", "group"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts lack columns {sorted(missing)}")
    kind, s_col, f_col = _outcome_columns(counts)
    frame = counts[["zone", "period", "group", s_col, f_col]].copy()
    frame = frame.rename(columns={s_col: "s", f_col: "f"})
    values = frame[["s", "f"]].to_numpy(dtype=float)
    if np.isnan(values).any() or (values < 0).any() or (values != np.round(values)).any():
        raise ValueError("counts must be non-negative integers")
    unknown = set(frame["group"]) - set(BACKGROUNDS)
    if unknown:
        raise ValueError(f"unknown groups {sorted(unknown)}")
    zones = set(pilot.pilot_zones) | set(pilot.comparison_zones)
    groups = (pilot.focal_group, pilot.reference_group)
    frame = frame[frame["zone"].isin(zones) & frame["group"].isin(groups)]
    frame = frame.groupby(["zone", "period", "group"], as_index=False)[["s", "f"]].sum()
    frame[["s", "f"]] = frame[["s", "f"]].astype(int)
    frame = frame[(frame["s"] + frame["f"]) > 0].reset_index(drop=True)
    frame["focal"] = (frame["group"] == pilot.focal_group).astype(float)
    frame["pilot"] = frame["zone"].isin(pilot.pilot_zones).astype(float)
    periods = pilot.sort_periods(list(frame["period"].unique()))
    frame["after"] = frame["period"].map({p: float(pilot.is_after(p)) for p in periods})
    frame["rank"] = frame["period"].map({p: i for i, p in enumerate(periods)}).astype(int)
    return kind, frame


def _cells(frame: pd.DataFrame, pilot: PilotDefinition) -> tuple[Cell, ...]:
    sums = frame.groupby(["pilot", "after", "group"])[["s", "f"]].sum()
    out = []
    for arm, is_pilot in ((PILOT, 1.0), (COMPARISON, 0.0)):
        for phase, is_after in ((BEFORE, 0.0), (AFTER, 1.0)):
            for group in (pilot.focal_group, pilot.reference_group):
                key = (is_pilot, is_after, group)
                s, f = (int(v) for v in sums.loc[key]) if key in sums.index else (0, 0)
                out.append(Cell(arm, phase, group, s, f))
    return tuple(out)


def _find(cells: Sequence[Cell], arm: str, phase: str, group: str) -> Cell:
    return next(c for c in cells if (c.arm, c.phase, c.group) == (arm, phase, group))


# --- before/after -------------------------------------------------------------------------
def gap_ci(focal: Cell, reference: Cell, alpha: float = ALPHA) -> tuple[float, float]:
    """Newcombe (1998) hybrid-score interval for ``rate(focal) - rate(reference)``.

    Example (Newcombe 1998, Table II, example (a)): 56/70 vs 48/80 -> 0.0524 to 0.3339.
    """
    low, high = confint_proportions_2indep(
        focal.successes, focal.n, reference.successes, reference.n,
        method="newcomb", compare="diff", alpha=alpha,
    )
    return float(low), float(high)


def mover_difference(
    est1: float, ci1: tuple[float, float], est2: float, ci2: tuple[float, float]
) -> tuple[float, float]:
    """MOVER interval for ``est1 - est2`` from two independent intervals (Zou & Donner 2008)::

        L = d - sqrt((est1 - l1)^2 + (u2 - est2)^2),  U = d + sqrt((u1 - est1)^2 + (est2 - l2)^2)

    Example: 0.3 (0.1, 0.5) minus 0.1 (0.0, 0.2) -> 0.2 (-0.0236, 0.4236).
    """
    d = est1 - est2
    low = d - math.sqrt((est1 - ci1[0]) ** 2 + (ci2[1] - est2) ** 2)
    high = d + math.sqrt((ci1[1] - est1) ** 2 + (est2 - ci2[0]) ** 2)
    return low, high


def before_after(
    cells: Sequence[Cell], arm: str, focal_group: str, reference_group: str, alpha: float = ALPHA
) -> GapChange | None:
    """Change in the focal-reference gap within one arm; ``None`` if a cell is empty."""
    fb, rb = _find(cells, arm, BEFORE, focal_group), _find(cells, arm, BEFORE, reference_group)
    fa, ra = _find(cells, arm, AFTER, focal_group), _find(cells, arm, AFTER, reference_group)
    if min(fb.n, rb.n, fa.n, ra.n) == 0:
        return None
    before, after = fb.rate - rb.rate, fa.rate - ra.rate
    ci_before, ci_after = gap_ci(fb, rb, alpha), gap_ci(fa, ra, alpha)
    return GapChange(
        arm=arm,
        gap_before=before,
        gap_before_ci=ci_before,
        gap_after=after,
        gap_after_ci=ci_after,
        change=after - before,
        change_ci=mover_difference(after, ci_after, before, ci_before),
    )


# --- difference-in-differences ------------------------------------------------------------
_INTERACTION = "focal:pilot:after"


def _model_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the zone x period cells that carry information on the focal-reference odds
    ratio: both groups present, and neither all successes nor all failures in the cell (its
    zone x period effect would be infinite; the conditional likelihood of such a 2x2 table is
    constant)."""
    if frame.empty:
        return frame
    cell, _ = pd.factorize(pd.MultiIndex.from_arrays([frame["zone"], frame["period"]]))
    m = cell.max() + 1
    focal = frame["focal"].to_numpy() == 1
    n_focal = np.bincount(cell, weights=focal, minlength=m)
    n_rows = np.bincount(cell, minlength=m)
    s = np.bincount(cell, weights=frame["s"].to_numpy(dtype=float), minlength=m)
    f = np.bincount(cell, weights=frame["f"].to_numpy(dtype=float), minlength=m)
    ok = (n_focal >= 1) & (n_rows - n_focal >= 1) & (s > 0) & (f > 0)
    return frame[ok[cell]].reset_index(drop=True)


def _dummies(values: pd.Series, prefix: str, drop_first: bool) -> pd.DataFrame:
    codes, uniques = pd.factorize(values, sort=True)
    out = np.zeros((len(values), len(uniques)))
    out[np.arange(len(values)), codes] = 1.0
    names = [f"{prefix}_{u}" for u in uniques]
    if drop_first:
        out, names = out[:, 1:], names[1:]
    return pd.DataFrame(out, columns=names, index=values.index)


def _design(frame: pd.DataFrame, fixed_effects: bool = True) -> pd.DataFrame:
    """Design matrix. With fixed effects (the default, and what the verdict uses)::

        logit P(success) = zone x period FE + focal + focal x zone FE + focal x period FE
                           + b5 focal x pilot x after

    The zone x period effects absorb everything both groups share in a zone and campaign
    (a harder test, a smaller intake); focal x zone and focal x period absorb a zone's
    standing gap and a campaign's gap everywhere. What is left is the zone x period variation
    of the gap itself, which the dispersion estimate measures. Without fixed effects, the
    plain 2x2x2 terms (the saturated model when there are two zones and two periods).
    """
    f, p, a = frame["focal"], frame["pilot"], frame["after"]
    if fixed_effects:
        cell = frame["zone"].astype(str) + " | " + frame["rank"].astype(str)
        parts = [
            _dummies(cell, "cell", False),
            pd.DataFrame({"focal": f}),
            _dummies(frame["zone"].astype(str), "focal:zone", True).mul(f, axis=0),
            _dummies(frame["rank"], "focal:period", True).mul(f, axis=0),
            pd.DataFrame({_INTERACTION: f * p * a}),
        ]
        return pd.concat(parts, axis=1)
    return pd.DataFrame({
        "const": pd.Series(1.0, index=frame.index), "pilot": p, "after": a, "focal": f,
        "focal:pilot": f * p, "focal:after": f * a, "pilot:after": p * a,
        _INTERACTION: f * p * a,
    })


@dataclass(frozen=True)
class _Fit:
    beta: pd.Series
    cov: np.ndarray  # covariance of beta under the fitted variance model
    mu: np.ndarray
    pearson: float  # Pearson X^2 with the prior weights
    overdispersion: float


def _irls(y: np.ndarray, n: np.ndarray, x: np.ndarray, w: np.ndarray,
          start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Binomial GLM (logit link) with prior weights ``w`` (statsmodels' ``var_weights``) by
    iteratively reweighted least squares; ``(beta, cov, mu)`` or ``None`` when it does not
    converge, is singular or separates (fitted probabilities at 0 or 1)."""
    if start is None:
        eta = logit((y + 0.5) / (n + 1.0))
    else:
        eta = x @ start
    dev_old = math.inf
    for _ in range(100):
        mu = np.clip(expit(eta), 1e-12, 1 - 1e-12)
        v = n * mu * (1 - mu)
        wt = w * v
        z = eta + (y - n * mu) / v
        xtw = x.T * wt
        try:
            beta = np.linalg.solve(xtw @ x, xtw @ z)
        except np.linalg.LinAlgError:
            return None
        eta = x @ beta
        mu = np.clip(expit(eta), 1e-12, 1 - 1e-12)
        dev = 2 * float(np.sum(w * (xlogy(y, y / (n * mu)) + xlogy(n - y, (n - y) / (n - n * mu)))))
        if abs(dev - dev_old) <= 1e-10 * (abs(dev) + 0.1):
            break
        dev_old = dev
    else:
        return None
    if np.any((mu < 1e-8) | (mu > 1 - 1e-8)) or not np.all(np.isfinite(beta)):
        return None  # (quasi-)separation: some fitted probability is 0 or 1
    xtw = x.T * (w * n * mu * (1 - mu))
    try:
        cov = np.linalg.inv(xtw @ x)
    except np.linalg.LinAlgError:
        return None
    return beta, cov, mu


def _pearson(y: np.ndarray, n: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (y - n * mu) ** 2 / (n * mu * (1 - mu))))


def _fit(frame: pd.DataFrame, design: pd.DataFrame, variance: str = WILLIAMS) -> _Fit | None:
    """Fit the binomial model on (successes, failures); ``None`` when it is not usable.

    ``WILLIAMS`` (Williams 1982, *Appl Stat* 31:144, "method III"): a row of ``n`` decisions
    has variance ``n p (1 - p) (1 + (n - 1) phi)``, as for beta-binomial counts; ``phi`` is
    chosen so that the weighted Pearson X^2 equals its degrees of freedom (``phi = 0`` when X^2
    is already below them). This is extra variation *added* per zone x period cell, so large
    zones do not get a dispersion fitted to small ones (a constant quasi-binomial scale does
    that, and is overconfident when the pilot zone is much larger than the comparison zones).
    ``BINOMIAL``: binomial variance only.
    """
    x = design.to_numpy(dtype=float)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        return None
    y = frame["s"].to_numpy(dtype=float)
    n = (frame["s"] + frame["f"]).to_numpy(dtype=float)
    df = len(frame) - x.shape[1]

    def at(phi: float, start: np.ndarray | None = None):
        w = 1.0 / (1.0 + (n - 1.0) * phi)
        got = _irls(y, n, x, w, start)
        return (math.nan, None) if got is None else (_pearson(y, n, got[2], w), got)

    x2, got = at(0.0)
    if got is None:
        return None
    phi = 0.0
    if variance == WILLIAMS and df >= 1 and x2 > df:
        first = got[0]
        high = 0.01
        while True:
            x2_high, at_high = at(high, first)
            if at_high is None:
                return None
            if x2_high <= df or high > 1e6:
                break
            high *= 4.0
        try:
            phi = float(optimize.brentq(lambda v: at(v, first)[0] - df, 0.0, high,
                                        xtol=1e-10, rtol=1e-8))
        except ValueError:  # no sign change (a failed fit inside): not usable
            return None
        x2, got = at(phi, first)
        if got is None:
            return None
    beta, cov, mu = got
    return _Fit(pd.Series(beta, index=design.columns), cov, mu, x2, phi)


def _puhani_effect(fit: _Fit, design: pd.DataFrame, frame: pd.DataFrame) -> tuple[float, float]:
    """Treatment effect on the treated (pp) and its delta-method SE (Puhani 2012, eq. 4)."""
    treated = ((frame["focal"] * frame["pilot"] * frame["after"]) == 1).to_numpy()
    x = design.to_numpy(dtype=float)[treated]
    w = (frame["s"] + frame["f"]).to_numpy(dtype=float)[treated]
    w = w / w.sum()
    beta = fit.beta.to_numpy()
    k = list(design.columns).index(_INTERACTION)
    e_k = np.zeros_like(beta)
    e_k[k] = 1.0
    p1 = expit(x @ beta)
    p0 = expit(x @ beta - beta[k])
    tau = float(w @ (p1 - p0))
    grad = (w * p1 * (1 - p1)) @ x - (w * p0 * (1 - p0)) @ (x - e_k)
    se = float(math.sqrt(grad @ fit.cov @ grad))
    return tau, se


def design_summary(frame: pd.DataFrame) -> Design:
    """Zones, periods and residual degrees of freedom of the zone x period model."""
    rows = _model_rows(frame)
    if rows.empty:
        return Design(0, 0, 0, 0, 0, 0)
    phases = rows.groupby(["pilot", "zone"])["after"].agg(["min", "max"])
    both = phases[(phases["min"] == 0) & (phases["max"] == 1)].reset_index()
    x = _design(rows, True).to_numpy(dtype=float)
    rank = int(np.linalg.matrix_rank(x))
    return Design(
        pilot_zones=int((both["pilot"] == 1).sum()),
        comparison_zones=int((both["pilot"] == 0).sum()),
        periods_before=int(rows.loc[rows["after"] == 0, "rank"].nunique()),
        periods_after=int(rows.loc[rows["after"] == 1, "rank"].nunique()),
        cells=int(len(rows.drop_duplicates(["zone", "period"]))),
        df=len(rows) - rank,
    )


def dispersion_ratio(counts: pd.DataFrame, pilot: PilotDefinition) -> float | None:
    """Pearson X^2/df of the binomial zone x period model (``_design``, no extra variation).

    About 1 when decisions are independent binomial draws; above 1 when the gap varies between
    zones and campaigns more than that (what ``_fit`` estimates); far below 1 for counts that
    vary less than chance (e.g. fixed by quota). ``None`` without residual degrees of freedom
    or a usable fit.
    """
    _, frame = _prepare(counts, pilot)
    rows = _model_rows(frame)
    if rows.empty:
        return None
    design = _design(rows, True)
    df = len(rows) - design.shape[1]
    fit = _fit(rows, design, BINOMIAL) if df >= 1 else None
    return None if fit is None else fit.pearson / df


def _zones_suffice(design: Design) -> bool:
    return (design.pilot_zones >= 1 and design.comparison_zones >= MIN_COMPARISON_ZONES
            and design.df >= MIN_DF)


def did_estimate(
    frame: pd.DataFrame, fixed_effects: bool | None = None, alpha: float = ALPHA,
    variance: str = WILLIAMS,
) -> DidEstimate | None:
    """Fit the DiD model on prepared rows; ``None`` when no usable fit exists.

    ``fixed_effects`` (default ``True``): the zone x period design of ``_design``. ``variance``
    ``WILLIAMS`` (what the verdict uses) estimates the extra zone x period variation and refers
    ``b5 / se`` to Student's t with the residual degrees of freedom (``None`` without any);
    ``BINOMIAL`` is the plain binomial GLM with a normal reference, which treats decisions as
    independent and is overconfident when zones and campaigns differ (kept as a reference:
    in the saturated 2x2x2 design it reproduces the hand-computed Woolf interval).
    """
    fe = True if fixed_effects is None else fixed_effects
    rows = _model_rows(frame) if fe else frame.reset_index(drop=True)
    if rows.empty or not ((rows["focal"] * rows["pilot"] * rows["after"]) == 1).any():
        return None
    design = _design(rows, fe)
    df = len(rows) - design.shape[1]
    if variance == WILLIAMS and df < 1:
        return None
    fit = _fit(rows, design, variance)
    if fit is None:
        return None
    k = list(design.columns).index(_INTERACTION)
    beta = float(fit.beta.iloc[k])
    se = float(math.sqrt(fit.cov[k, k]))
    if not math.isfinite(se) or se > 50:
        return None
    if variance == WILLIAMS:
        quantile = float(stats.t.ppf(1 - alpha / 2, df))
        p_value = float(2 * stats.t.sf(abs(beta / se), df))
    else:
        quantile = float(stats.norm.ppf(1 - alpha / 2))
        p_value = float(2 * stats.norm.sf(abs(beta / se)))
        df = 0
    low, high = beta - quantile * se, beta + quantile * se
    tau, se_tau = _puhani_effect(fit, design, rows)
    return DidEstimate(
        log_odds=beta,
        log_odds_ci=(low, high),
        p_value=p_value,
        odds_ratio=math.exp(beta),
        odds_ratio_ci=(math.exp(low), math.exp(high)),
        pp=tau,
        pp_ci=(float(tau - quantile * se_tau), float(tau + quantile * se_tau)),
        fixed_effects=fe,
        n_rows=len(rows),
        n_decisions=int((rows["s"] + rows["f"]).sum()),
        df=df,
        overdispersion=fit.overdispersion,
        variance=variance,
        n_zones=int(rows["zone"].nunique()),
    )


def placebo_estimate(frame: pd.DataFrame, alpha: float = ALPHA) -> DidEstimate | None:
    """The same model on the periods before the start, as if the pilot had started one period
    earlier (the last period before the start is the placebo "after"). A real effect here means
    the gaps were already drifting apart: the parallel-trends assumption is in doubt. ``None``
    when there are fewer than two periods before the start or too few zones for the model.
    """
    before = frame[frame["after"] == 0].copy()
    if before["rank"].nunique() < 2:
        return None
    before["after"] = (before["rank"] == before["rank"].max()).astype(float)
    if not _zones_suffice(design_summary(before)):
        return None
    return did_estimate(before, alpha=alpha)


# --- the whole evaluation -----------------------------------------------------------------
def evaluate_pilot(
    counts: pd.DataFrame,
    pilot: PilotDefinition,
    *,
    min_decisions: int = MIN_DECISIONS,
    fixed_effects: bool | None = None,
    alpha: float = ALPHA,
) -> PilotResult:
    """Before/after, difference-in-differences and a plain-language verdict for one pilot.

    Periods are pooled within each arm x phase for the before/after cells; the model keeps
    the zone x period rows (see ``_design``) and estimates how much the gap varies between
    zones and campaigns (``_fit``). ``too_few`` when the decisions are too few (any pooled
    cell under ``min_decisions``, separation), or the zones are (fewer than one pilot zone and
    ``MIN_COMPARISON_ZONES`` comparison zones with data before and after the start, or fewer
    than ``MIN_DF`` residual degrees of freedom): "too few zones to tell".
    """
    kind, frame = _prepare(counts, pilot)
    cells = _cells(frame, pilot)
    focal, ref = pilot.focal_group, pilot.reference_group
    pilot_change = before_after(cells, PILOT, focal, ref, alpha)
    comparison_change = before_after(cells, COMPARISON, focal, ref, alpha)
    design = design_summary(frame)

    reasons: list[str] = []
    few_zones = False
    if not pilot.comparison_zones or all(
        _find(cells, COMPARISON, ph, g).n == 0 for ph in PHASES for g in (focal, ref)
    ):
        reasons.append("no comparison-zone data")
    elif not _zones_suffice(design):
        few_zones = True
        reasons.append(
            f"too few zones to tell: {design.pilot_zones} pilot and {design.comparison_zones} "
            f"comparison zones with data before and after the start and {design.df} degrees of "
            f"freedom for the zone x period variation (at least 1 pilot and "
            f"{MIN_COMPARISON_ZONES} comparison zones and {MIN_DF} degrees of freedom needed)")
    for c in cells:
        if c.n < min_decisions:
            reasons.append(f"{c.n} {c.group} decisions in {c.arm} zones {c.phase} the start "
                           f"(fewer than {min_decisions})")
    if any(c.successes == 0 or c.failures == 0 for c in cells if c.n):
        reasons.append("a cell has all or no successes (separation): the model cannot be fitted")

    did = None if reasons else did_estimate(frame, fixed_effects, alpha)
    if did is None and not reasons:
        reasons.append("the model could not be fitted (separation or non-convergence)")

    caveats: list[str] = []
    placebo = None
    difference = None
    if pilot_change is not None and comparison_change is not None:
        difference = pilot_change.change - comparison_change.change
    if did is None:
        verdict = TOO_FEW
    else:
        if did.log_odds_ci[0] > 0:
            verdict = IMPROVED
        elif did.log_odds_ci[1] < 0:
            verdict = WORSENED
        else:
            verdict = NO_EVIDENCE
        placebo = placebo_estimate(frame, alpha)
        if placebo is None:
            caveats.append(NO_PRE_TREND_CHECK)
        elif placebo.p_value < alpha:
            caveats.append(PRE_TREND)
        if verdict in (IMPROVED, WORSENED) and difference is not None \
                and difference * did.log_odds < 0:
            caveats.append(SCALE_CONFLICT)
    return PilotResult(
        definition=pilot,
        outcome=kind,
        cells=cells,
        pilot_change=pilot_change,
        comparison_change=comparison_change,
        did=did,
        verdict=verdict,
        verdict_text=TOO_FEW_ZONES_TEXT if few_zones else VERDICT_TEXTS[verdict],
        reasons=tuple(reasons),
        too_few_zones=few_zones,
        design=design,
        placebo=placebo,
        caveats=tuple(caveats),
        gap_change_difference=difference,
    )


# --- chart data (the drawing: hrpipeline.charts.pilot) ------------------------------------
def gap_series(counts: pd.DataFrame, pilot: PilotDefinition) -> pd.DataFrame:
    """Focal-minus-reference gap per period and arm, for the chart (before suppression).

    Columns: ``period, arm, focal_successes, focal_n, reference_successes, reference_n,
    focal_rate, reference_rate, gap, after``. A rate with ``n == 0`` is NaN (undefined), not 0.
    The service passes counts and rates through the suppression gate before charting.
    """
    _, frame = _prepare(counts, pilot)
    rows = []
    for period in pilot.sort_periods(list(frame["period"].unique())):
        for arm, is_pilot in ((PILOT, 1.0), (COMPARISON, 0.0)):
            sub = frame[(frame["period"] == period) & (frame["pilot"] == is_pilot)]
            if sub.empty:
                continue
            fs = sub[sub["focal"] == 1]
            rs = sub[sub["focal"] == 0]
            f_s, f_n = int(fs["s"].sum()), int((fs["s"] + fs["f"]).sum())
            r_s, r_n = int(rs["s"].sum()), int((rs["s"] + rs["f"]).sum())
            f_rate = f_s / f_n if f_n else math.nan
            r_rate = r_s / r_n if r_n else math.nan
            rows.append({
                "period": period,
                "arm": arm,
                "focal_successes": f_s,
                "focal_n": f_n,
                "reference_successes": r_s,
                "reference_n": r_n,
                "focal_rate": f_rate,
                "reference_rate": r_rate,
                "gap": f_rate - r_rate,
                "after": pilot.is_after(period),
            })
    return pd.DataFrame(rows)
