"""Pilot evaluation: did a recruitment or retention pilot narrow the focal-reference gap?

Project staff run pilots in some zones (preparation sessions for the physical test, anonymised
first screening, mentoring for new recruits). This module answers "did it work?" from grouped
counts, honestly, and says "too few to tell" when the data cannot carry an answer.

Input: a counts frame with columns ``zone``, ``period`` (campaign or year; sortable),
``group`` (``hrpipeline.domain.BACKGROUNDS``) and either ``passed``/``not_passed`` (decisions at
the targeted stage) or ``left``/``stayed`` (retention pilots; "success" is *stayed*). Rates
below are success rates (pass rate, or stay rate), so a positive change always favours the focal
group.

Three results (see ``docs/pilots-and-briefings.md``):

1. **Before/after** in pilot zones (and, for reading, in comparison zones): the gap
   ``rate(focal) - rate(reference)`` before and after the start, each with a Newcombe (1998,
   method 10) hybrid-score interval from ``statsmodels confint_proportions_2indep``; the change
   in gap gets a MOVER interval (Zou & Donner 2008, Stat Med 27:1693) built from those two.
2. **Difference-in-differences** (a triple difference: focal vs reference, pilot vs comparison,
   after vs before) as a binomial GLM on grouped counts (``statsmodels`` GLM, endog
   ``(successes, failures)``)::

       logit P(success) = zone FE + period FE + b1 focal + b2 focal*pilot + b3 focal*after
                          + b4 pilot*after + b5 focal*pilot*after

   ``b5`` is the DiD effect on the log-odds scale: with the saturated 2x2x2 model it equals the
   hand-computed difference of log-odds differences (the odds-ratio ratio; Ai & Norton 2003,
   Econ Lett 80:123; Puhani 2012, Econ Lett 115:85). Zone and period fixed effects replace the
   plain ``pilot`` and ``after`` terms when the design stays full rank.
   On the percentage-point scale the effect is Puhani's (2012) treatment effect on the treated:
   the mean over focal, pilot-zone, after cells of ``expit(x'b) - expit(x'b - b5)``, weighted by
   decisions, with a delta-method interval.
3. **Verdict**: ``improved`` (95% CI of ``b5`` above 0), ``worsened`` (below 0),
   ``no_evidence`` (enough data, CI includes 0), ``too_few`` (fewer than ``min_decisions``
   focal or reference decisions in any arm x phase, no comparison data, or a model that cannot
   be fitted: separation, non-convergence).

Example::

    >>> pilot = PilotDefinition(pilot_zones=("ANT",), comparison_zones=("GNT",), start=2023)
    >>> result = evaluate_pilot(counts, pilot)          # doctest: +SKIP
    >>> result.verdict, result.did.log_odds, result.did.pp
    ('improved', 0.74, 0.12)

Everything here is pure; the service layer passes every published number (including chart
points) through the suppression gate.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.stats.proportion import confint_proportions_2indep

from hrpipeline.domain import BACKGROUNDS, BELGIAN_ORIGIN, NON_EU_BACKGROUND

# --- vocabulary ---------------------------------------------------------------------------
IMPROVED = "improved"
WORSENED = "worsened"
NO_EVIDENCE = "no_evidence"
TOO_FEW = "too_few"
VERDICTS: tuple[str, ...] = (IMPROVED, WORSENED, NO_EVIDENCE, TOO_FEW)
#: English sentences; the web layer translates by ``verdict`` code (NL/FR catalogues).
VERDICT_TEXTS: dict[str, str] = {
    IMPROVED: "The gap narrowed in pilot zones compared with comparison zones.",
    WORSENED: "The gap widened in pilot zones compared with comparison zones.",
    NO_EVIDENCE: "No evidence of change: the data are sufficient, but the estimated effect "
    "is compatible with no change.",
    TOO_FEW: "Too few to tell: there are not enough data to assess this pilot.",
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
ALPHA = 0.05

# Okabe & Ito (2008) colour-universal-design palette: safe for the common colour-vision types.
PILOT_COLOUR = "#0072B2"  # blue
COMPARISON_COLOUR = "#E69F00"  # orange
START_COLOUR = "#555555"


# --- definitions and results --------------------------------------------------------------
@dataclass(frozen=True)
class PilotDefinition:
    """Which zones ran the pilot, which compare, and from which period it applies."""

    pilot_zones: tuple[str, ...]
    comparison_zones: tuple[str, ...]
    start: Any  # periods >= start are "after"
    focal_group: str = NON_EU_BACKGROUND
    reference_group: str = BELGIAN_ORIGIN
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pilot_zones", tuple(self.pilot_zones))
        object.__setattr__(self, "comparison_zones", tuple(self.comparison_zones))
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
    """The triple-difference interaction from the binomial GLM."""

    log_odds: float
    log_odds_ci: tuple[float, float]
    p_value: float
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    pp: float  # effect on the focal pass rate in pilot zones after start (proportion scale)
    pp_ci: tuple[float, float]
    fixed_effects: bool  # zone and period fixed effects used
    n_rows: int  # zone x period x group rows in the fit
    n_decisions: int
    pp_method: str = "Puhani (2012) treatment effect on the treated, delta-method CI"


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
    """Rows of focal/reference groups in pilot/comparison zones with s, f, focal, pilot, after."""
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
    frame["after"] = (frame["period"] >= pilot.start).astype(float)
    return kind, frame


def _cells(frame: pd.DataFrame, pilot: PilotDefinition) -> tuple[Cell, ...]:
    out = []
    for arm, is_pilot in ((PILOT, 1.0), (COMPARISON, 0.0)):
        for phase, is_after in ((BEFORE, 0.0), (AFTER, 1.0)):
            for group in (pilot.focal_group, pilot.reference_group):
                rows = frame[
                    (frame["pilot"] == is_pilot)
                    & (frame["after"] == is_after)
                    & (frame["group"] == group)
                ]
                out.append(Cell(arm, phase, group, int(rows["s"].sum()), int(rows["f"].sum())))
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


def _design(frame: pd.DataFrame, fixed_effects: bool) -> pd.DataFrame:
    f, p, a = frame["focal"], frame["pilot"], frame["after"]
    cols: dict[str, pd.Series] = {"const": pd.Series(1.0, index=frame.index)}
    if fixed_effects:
        zones = pd.get_dummies(frame["zone"].astype(str), prefix="zone", drop_first=True)
        periods = pd.get_dummies(frame["period"].astype(str), prefix="period", drop_first=True)
        cols.update({c: zones[c].astype(float) for c in zones.columns})
        cols.update({c: periods[c].astype(float) for c in periods.columns})
    else:
        cols["pilot"] = p
        cols["after"] = a
    cols["focal"] = f
    cols["focal:pilot"] = f * p
    cols["focal:after"] = f * a
    cols["pilot:after"] = p * a
    cols[_INTERACTION] = f * p * a
    return pd.DataFrame(cols)


def _fit(frame: pd.DataFrame, design: pd.DataFrame) -> Any | None:
    """Binomial GLM on (successes, failures); ``None`` when the MLE is not usable."""
    if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        return None
    endog = frame[["s", "f"]].to_numpy(dtype=float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = sm.GLM(endog, design, family=sm.families.Binomial()).fit()
    except Exception:  # noqa: BLE001 - statsmodels raises several types on separation
        return None
    bse = np.asarray(result.bse)
    # Quasi-separation shows as huge coefficients/SEs rather than an error in IRLS.
    if not result.converged or not np.all(np.isfinite(bse)) or bse.max() > 50:
        return None
    return result


def _puhani_effect(result: Any, design: pd.DataFrame, frame: pd.DataFrame) -> tuple[float, float]:
    """Treatment effect on the treated (pp) and its delta-method SE (Puhani 2012, eq. 4)."""
    treated = (frame["focal"] * frame["pilot"] * frame["after"]) == 1
    x = design[treated].to_numpy()
    w = (frame.loc[treated, "s"] + frame.loc[treated, "f"]).to_numpy(dtype=float)
    w = w / w.sum()
    beta = np.asarray(result.params)
    k = list(design.columns).index(_INTERACTION)
    e_k = np.zeros_like(beta)
    e_k[k] = 1.0
    p1 = expit(x @ beta)
    p0 = expit(x @ beta - beta[k])
    tau = float(w @ (p1 - p0))
    grad = (w * p1 * (1 - p1)) @ x - (w * p0 * (1 - p0)) @ (x - e_k)
    se = float(math.sqrt(grad @ np.asarray(result.cov_params()) @ grad))
    return tau, se


def did_estimate(
    frame: pd.DataFrame, fixed_effects: bool | None = None, alpha: float = ALPHA
) -> DidEstimate | None:
    """Fit the DiD GLM on prepared rows; ``None`` when no usable fit exists.

    ``fixed_effects=None`` (auto) uses zone and period fixed effects when they add something
    (more than two zones or periods) and the fit is usable, else the plain 2x2x2 terms.
    """
    n_zones, n_periods = frame["zone"].nunique(), frame["period"].nunique()
    if fixed_effects is None:
        attempts = [True, False] if (n_zones > 2 or n_periods > 2) else [False]
    else:
        attempts = [fixed_effects]
    for fe in attempts:
        design = _design(frame, fe)
        result = _fit(frame, design)
        if result is None:
            continue
        beta = float(result.params[_INTERACTION])
        low, high = (float(v) for v in result.conf_int(alpha=alpha).loc[_INTERACTION])
        tau, se = _puhani_effect(result, design, frame)
        z = stats.norm.ppf(1 - alpha / 2)
        return DidEstimate(
            log_odds=beta,
            log_odds_ci=(low, high),
            p_value=float(result.pvalues[_INTERACTION]),
            odds_ratio=math.exp(beta),
            odds_ratio_ci=(math.exp(low), math.exp(high)),
            pp=tau,
            pp_ci=(float(tau - z * se), float(tau + z * se)),
            fixed_effects=fe,
            n_rows=len(frame),
            n_decisions=int((frame["s"] + frame["f"]).sum()),
        )
    return None


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

    Periods are pooled within each arm x phase (campaigns pooled where needed); the GLM keeps
    the zone x period rows so fixed effects can absorb zone and period differences.
    """
    kind, frame = _prepare(counts, pilot)
    cells = _cells(frame, pilot)
    focal, ref = pilot.focal_group, pilot.reference_group
    pilot_change = before_after(cells, PILOT, focal, ref, alpha)
    comparison_change = before_after(cells, COMPARISON, focal, ref, alpha)

    reasons: list[str] = []
    if not pilot.comparison_zones or all(
        _find(cells, COMPARISON, ph, g).n == 0 for ph in PHASES for g in (focal, ref)
    ):
        reasons.append("no comparison-zone data")
    for c in cells:
        if c.n < min_decisions:
            reasons.append(f"{c.n} {c.group} decisions in {c.arm} zones {c.phase} the start "
                           f"(fewer than {min_decisions})")
    if any(c.successes == 0 or c.failures == 0 for c in cells if c.n):
        reasons.append("a cell has all or no successes (separation): the model cannot be fitted")

    did = None if reasons else did_estimate(frame, fixed_effects, alpha)
    if did is None and not reasons:
        reasons.append("the model could not be fitted (separation or non-convergence)")

    if did is None:
        verdict = TOO_FEW
    elif did.log_odds_ci[0] > 0:
        verdict = IMPROVED
    elif did.log_odds_ci[1] < 0:
        verdict = WORSENED
    else:
        verdict = NO_EVIDENCE
    return PilotResult(
        definition=pilot,
        outcome=kind,
        cells=cells,
        pilot_change=pilot_change,
        comparison_change=comparison_change,
        did=did,
        verdict=verdict,
        verdict_text=VERDICT_TEXTS[verdict],
        reasons=tuple(reasons),
    )


# --- chart data and chart -----------------------------------------------------------------
def gap_series(counts: pd.DataFrame, pilot: PilotDefinition) -> pd.DataFrame:
    """Focal-minus-reference gap per period and arm, for the chart (before suppression).

    Columns: ``period, arm, focal_successes, focal_n, reference_successes, reference_n,
    focal_rate, reference_rate, gap, after``. A rate with ``n == 0`` is NaN (undefined), not 0.
    The service passes counts and rates through the suppression gate before charting.
    """
    _, frame = _prepare(counts, pilot)
    rows = []
    for period in sorted(frame["period"].unique()):
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
                "after": bool(period >= pilot.start),
            })
    return pd.DataFrame(rows)


def _suppression_check() -> Any:
    from hrpipeline.disclosure.values import is_suppressed

    return is_suppressed


_DEFAULT_LABELS: dict[str, str] = {
    "title": "Pass-rate gap (focal minus reference group)",
    "ylabel": "Gap in percentage points",
    "xlabel": "Period",
    "pilot": "Pilot zones",
    "comparison": "Comparison zones",
    "start": "Pilot start",
    "suppressed": "suppressed",
}


def gap_chart(
    frame: pd.DataFrame, start_period: Any, labels: Mapping[str, str] | None = None
) -> bytes:
    """PNG of the gap over time, pilot vs comparison, with the pilot start marked.

    ``frame`` has ``period``, ``arm`` and ``gap`` (proportion scale), as from ``gap_series``
    after the suppression gate. A hidden gap is ``SUPPRESSED`` (or NaN with a true
    ``gap_suppressed`` column): it is drawn as the word "suppressed" at its period, never as 0,
    and the line breaks there. ``labels`` override the English texts (keys as in
    ``_DEFAULT_LABELS``) so the caller can pass NL/FR. Okabe-Ito colours plus distinct line
    styles and markers keep the arms apart without colour.
    """
    fig = gap_figure(frame, start_period, labels)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def gap_figure(
    frame: pd.DataFrame, start_period: Any, labels: Mapping[str, str] | None = None
) -> Any:
    """The ``matplotlib.figure.Figure`` behind ``gap_chart`` (Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    is_hidden = _suppression_check()
    text = {**_DEFAULT_LABELS, **(labels or {})}
    periods = sorted(frame["period"].unique(), key=lambda p: (str(type(p)), p))
    pos = {p: i for i, p in enumerate(periods)}

    fig = Figure(figsize=(7.0, 3.6), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.axhline(0, color="#BBBBBB", linewidth=0.8)
    styles = {
        PILOT: {"color": PILOT_COLOUR, "linestyle": "-", "marker": "o"},
        COMPARISON: {"color": COMPARISON_COLOUR, "linestyle": "--", "marker": "s"},
    }
    hidden_points: list[tuple[int, str]] = []
    for arm in ARMS:
        sub = frame[frame["arm"] == arm]
        if sub.empty:
            continue
        xs, ys = [], []
        for _, row in sub.iterrows():
            value = row["gap"]
            flagged = bool(row.get("gap_suppressed", False))
            hidden = flagged or is_hidden(value)
            x = pos[row["period"]]
            xs.append(x)
            if hidden:
                ys.append(np.nan)  # break the line; never plot a hidden value as a number
                hidden_points.append((x, arm))
            else:
                ys.append(float(value) * 100 if value is not None else np.nan)
        order = np.argsort(xs)
        ax.plot(np.array(xs)[order], np.array(ys)[order], label=text[arm], linewidth=2,
                markersize=6, **styles[arm])
    if start_period in pos:
        ax.axvline(pos[start_period] - 0.5, color=START_COLOUR, linestyle=":", linewidth=1.5)
        ax.annotate(text["start"], xy=(pos[start_period] - 0.5, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(4, -12),
                    textcoords="offset points", fontsize=8, color=START_COLOUR)
    for x, arm in hidden_points:
        offset = -0.12 if arm == PILOT else 0.12
        ax.text(x + offset, 0.04, text["suppressed"], transform=ax.get_xaxis_transform(),
                rotation=90, ha="center", va="bottom", fontsize=7, style="italic",
                color=styles[arm]["color"],
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
    ax.set_xticks(range(len(periods)), [str(p) for p in periods])
    ax.set_xlim(-0.5, len(periods) - 0.5)
    ax.set_title(text["title"], fontsize=10)
    ax.set_ylabel(text["ylabel"], fontsize=9)
    ax.set_xlabel(text["xlabel"], fontsize=9)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="best")
    fig.tight_layout()
    return fig
