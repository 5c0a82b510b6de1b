"""Representation-target planner: a stock–flow projection of the corps by migration background.

Pure functions on plain numbers (no flask, no database). The service
(``hrpipeline.services.planner``) fills :class:`PlannerInputs` from *published* values only, so
every output is a function of protected numbers and reveals no hidden count.

The corps is split into two compartments, the focal group ``m`` (officers with a migration
background: EU and non-EU together) and everyone else ``o``. Each compartment ``g`` has

* ``N_g``  its headcount now (year 0),
* ``H_g``  its hires per year (the recent yearly average),
* ``q_g``  the probability that a new hire leaves within the first year of service
  (first-year attrition, 1 − S(12 months) of the Kaplan-Meier curve), and
* ``e_g``  the yearly exit probability of officers past their first year.

Model (one step per year; a year's hires are counted in the headcount at the year's end)::

    F_g(t+1) = H_g                                  officers in their first year
    S_g(t+1) = S_g(t) (1 − e_g) + F_g(t) (1 − q_g)  officers past their first year
    N_g(t)   = S_g(t) + F_g(t),      share(t) = N_m(t) / (N_m(t) + N_o(t))

with ``F_g(0) = min(H_g, N_g)`` and ``S_g(0) = N_g − F_g(0)``. Without a separate first year
(``q_g = e_g``) this is the textbook stock–flow equation ``N(t+1) = N(t)(1 − e) + H``.

Closed forms (``t ≥ 1``; ``r = 1 − e``; for ``e = 0`` read ``(1 − r^(t−1)) / e`` as ``t − 1``)::

    N_g(t) = S_g(0) r^t + F_g(0) (1 − q) r^(t−1) + H_g [1 + (1 − q)(1 − r^(t−1)) / e]
    N_g(∞) = H_g [1 + (1 − q) / e]                     (steady state)

Example (no first-year effect): a corps of 2,700 with 8.4 % migration background (227 officers),
135 hires a year of which 19 % with a migration background, everyone leaving at 5 % a year:
``N_m(10) = 227 · 0.95^10 + 25.65 · (1 − 0.95^10) / 0.05 = 341.7`` of 2,700 → 12.7 %.

**Share of hires needed for a target** ``T`` in ``Y`` years, total hires ``H`` a year kept, of
which a share ``h`` with a migration background: ``N_m(Y) = A_m + h H C_m`` and
``N_o(Y) = A_o + (1 − h) H C_o`` are linear in ``h`` (``A`` the survivors of today's corps,
``C = 1 + (1 − q)(1 − r^(Y−1)) / e`` the survivors per yearly hire), so::

    h = (T (A_m + A_o + H C_o) − A_m) / (H ((1 − T) C_m + T C_o))

(above 1: not reachable by hiring alone in ``Y`` years; at or below 0: reached anyway).
In the example, 20 % in 10 years needs h = 37 %.

**Applicants needed** (the funnel inverted): ``h H / p`` applicants with a migration background a
year, ``p`` the group's cumulative pass rate (appointed / applied) of the published funnel.

**Uncertainty** (:func:`simulate`): parameter draws from Jeffreys posteriors of the published
counts behind each estimate — exit rates ``Gamma(L + ½, 1 / PY)`` (L leavers in PY person-years),
hires per year ``Gamma(ΣH + ½, 1 / years)``, first-year attrition ``Beta(x + ½, n − x + ½)`` —
then each year's hires drawn Poisson and exits binomial (process noise). The interval is the
central 90 % of the simulated shares. It does not include the rounding of published counts
(± a few officers) nor any change of policy: it says how far chance alone could move the
result if hiring and leaving stay as they were.

**What-if per stage** (:func:`stage_what_if`): with ``n_s`` focal candidates deciding at stage
``s``, focal pass rate ``a_s`` and reference pass rate ``b_s``, treating the focal group like the
reference group at stage ``s`` alone would have given ``n_s (b_s − a_s) Π_{j>s} a_j`` more focal
appointments (negative: the group did better than the reference group at that stage).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

#: The central interval of the simulation (5th to 95th percentile).
INTERVAL = 0.90
#: Default number of simulation draws (fast: vectorised over draws).
DRAWS = 2000
FOCAL = "m"
OTHER = "o"


@dataclass(frozen=True)
class GroupFlows:
    """One compartment's inputs, with the counts behind them (for the uncertainty).

    ``headcount`` now; ``hires`` = hires counted over ``hire_years`` years; ``leavers`` = exits
    (after the first year when ``first_year_attrition`` is given) over ``person_years``;
    ``first_year_attrition`` = share of new hires leaving within 12 months (``None``: the same
    yearly rate as everyone, no separate first year) with ``first_year_hires`` hires behind it.
    """

    headcount: float
    hires: float
    hire_years: float
    leavers: float
    person_years: float
    first_year_attrition: float | None = None
    first_year_hires: float = 0.0

    @property
    def hires_per_year(self) -> float:
        return self.hires / self.hire_years if self.hire_years > 0 else 0.0

    @property
    def exit_rate(self) -> float:
        """Yearly exit probability ``e`` (from the rate ``L / PY``: ``1 − exp(−L / PY)``)."""
        if self.person_years <= 0:
            return 0.0
        return 1.0 - math.exp(-self.leavers / self.person_years)

    @property
    def first_year(self) -> float:
        return self.exit_rate if self.first_year_attrition is None else self.first_year_attrition


@dataclass(frozen=True)
class PlannerInputs:
    """Both compartments: ``focal`` (migration background) and ``other`` (everyone else);
    ``reference_exit`` optionally replaces the focal group's rates "without extra exits"
    (default: the other compartment's)."""

    focal: GroupFlows
    other: GroupFlows
    reference: GroupFlows | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def headcount(self) -> float:
        return self.focal.headcount + self.other.headcount

    @property
    def share_now(self) -> float:
        return self.focal.headcount / self.headcount if self.headcount > 0 else float("nan")

    @property
    def hires_per_year(self) -> float:
        return self.focal.hires_per_year + self.other.hires_per_year

    @property
    def hire_share(self) -> float:
        h = self.hires_per_year
        return self.focal.hires_per_year / h if h > 0 else float("nan")

    def without_extra_exits(self) -> PlannerInputs:
        """The focal group leaving like the reference group (its rates, not its counts)."""
        ref = self.reference or self.other
        e, q = ref.exit_rate, ref.first_year
        focal = replace(self.focal, leavers=-math.log(1 - e) * self.focal.person_years
                        if e < 1 else self.focal.leavers,
                        first_year_attrition=q)
        return replace(self, focal=focal)


# --- deterministic projection ----------------------------------------------------------------


def _survivors(e, q, years: int):
    """``(r^t, (1 − q) r^(t−1), C)`` for ``t = years ≥ 1``, ``C`` per yearly hire (arrays ok)."""
    e = np.asarray(e, dtype=float)
    q = np.asarray(q, dtype=float)
    r = 1.0 - e
    geo = np.where(e > 0, (1.0 - r ** (years - 1)) / np.where(e > 0, e, 1.0), years - 1.0)
    return r ** years, (1.0 - q) * r ** (years - 1), 1.0 + (1.0 - q) * geo


def headcount_at(n0, h0, hires, e, q, years: int):
    """Closed form of ``N_g(years)`` (arrays ok): today's headcount ``n0`` of which ``h0`` in
    their first year, ``hires`` a year from now on."""
    if years == 0:
        return np.asarray(n0, dtype=float)
    a, b, c = _survivors(e, q, years)
    return (np.asarray(n0) - h0) * a + np.asarray(h0) * b + np.asarray(hires) * c


def steady_state(g: GroupFlows, hires: float | None = None) -> float:
    """``N_g(∞) = H [1 + (1 − q) / e]`` (``inf`` when nobody leaves and hiring goes on)."""
    h = g.hires_per_year if hires is None else hires
    e = g.exit_rate
    if e <= 0:
        return math.inf if h > 0 else g.headcount
    return h * (1.0 + (1.0 - g.first_year) / e)


def _first_year_now(g: GroupFlows) -> float:
    return min(g.hires_per_year, g.headcount)


def project(inp: PlannerInputs, years: int = 10, hire_share: float | None = None
            ) -> list[dict[str, float]]:
    """Year-by-year projection (year 0 = now), iterating the stock–flow equations.

    ``hire_share``: keep the total hires and give this share to the focal group (default: each
    group keeps its own hires). Rows: ``year``, ``focal``, ``other``, ``total``, ``share``.
    """
    hm, ho = _hires(inp, hire_share)
    out = []
    state = {}
    for key, g, h in ((FOCAL, inp.focal, hm), (OTHER, inp.other, ho)):
        f0 = _first_year_now(g)
        state[key] = [g.headcount - f0, f0, h, g.exit_rate, g.first_year]
    for t in range(years + 1):
        if t > 0:
            for s in state.values():
                s[0], s[1] = s[0] * (1 - s[3]) + s[1] * (1 - s[4]), s[2]
        nm = state[FOCAL][0] + state[FOCAL][1]
        no = state[OTHER][0] + state[OTHER][1]
        out.append({"year": t, "focal": nm, "other": no, "total": nm + no,
                    "share": nm / (nm + no) if nm + no > 0 else float("nan")})
    return out


def _hires(inp: PlannerInputs, hire_share: float | None) -> tuple[float, float]:
    if hire_share is None:
        return inp.focal.hires_per_year, inp.other.hires_per_year
    total = inp.hires_per_year
    return hire_share * total, (1 - hire_share) * total


def required_hire_share(inp: PlannerInputs, target: float, years: int) -> float:
    """The share ``h`` of the (unchanged) total hires that brings the focal share to ``target``
    after ``years`` (closed form above; may lie outside [0, 1])."""
    return float(_required(inp.focal.headcount, _first_year_now(inp.focal), inp.focal.exit_rate,
                           inp.focal.first_year, inp.other.headcount,
                           _first_year_now(inp.other), inp.other.exit_rate,
                           inp.other.first_year, inp.hires_per_year, target, years))


def _required(nm, fm, em, qm, no, fo, eo, qo, hires, target, years):
    am_, bm_, cm = _survivors(em, qm, years)
    ao_, bo_, co = _survivors(eo, qo, years)
    a_m = (nm - fm) * am_ + fm * bm_
    a_o = (no - fo) * ao_ + fo * bo_
    den = hires * ((1 - target) * cm + target * co)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (target * (a_m + a_o + hires * co) - a_m) / den


# --- simulation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """Parameter draws of one compartment (arrays of length ``draws``)."""

    hires: np.ndarray
    exit: np.ndarray
    first_year: np.ndarray


def _draw(g: GroupFlows, rng: np.random.Generator, n: int) -> Draws:
    hires = (rng.gamma(g.hires + 0.5, 1.0 / g.hire_years, n) if g.hire_years > 0
             else np.zeros(n))
    rate = (rng.gamma(g.leavers + 0.5, 1.0 / g.person_years, n) if g.person_years > 0
            else np.zeros(n))
    exit_ = 1.0 - np.exp(-rate)
    if g.first_year_attrition is None:
        first = exit_
    else:
        x = g.first_year_attrition * g.first_year_hires
        first = rng.beta(x + 0.5, g.first_year_hires - x + 0.5, n)
    return Draws(hires, exit_, first)


def simulate(inp: PlannerInputs, years: int = 10, draws: int = DRAWS, seed: int = 0,
             hire_share: float | None = None, process: bool = True) -> np.ndarray:
    """Simulated focal shares, shape ``(draws, years + 1)`` (column 0 = now).

    Parameters are drawn from the posteriors of the counts behind them; with ``process`` each
    year's hires are then Poisson and exits binomial. ``hire_share``: as in :func:`project`.
    """
    rng = np.random.default_rng(seed)
    dm, do = _draw(inp.focal, rng, draws), _draw(inp.other, rng, draws)
    if hire_share is not None:
        total = dm.hires + do.hires
        dm = replace(dm, hires=hire_share * total)
        do = replace(do, hires=(1 - hire_share) * total)
    out = np.empty((draws, years + 1))
    stocks = []
    for g, d in ((inp.focal, dm), (inp.other, do)):
        f0 = _first_year_now(g)
        stocks.append([np.full(draws, g.headcount - f0), np.full(draws, f0), d])
    for t in range(years + 1):
        if t > 0:
            for s in stocks:
                est, first, d = s
                if process:
                    stay = (rng.binomial(np.round(est).astype(np.int64), 1 - d.exit)
                            + rng.binomial(np.round(first).astype(np.int64), 1 - d.first_year))
                    s[0], s[1] = stay.astype(float), rng.poisson(d.hires).astype(float)
                else:
                    s[0], s[1] = est * (1 - d.exit) + first * (1 - d.first_year), d.hires
        nm = stocks[0][0] + stocks[0][1]
        tot = nm + stocks[1][0] + stocks[1][1]
        out[:, t] = np.divide(nm, tot, out=np.full(draws, np.nan), where=tot > 0)
    return out


def interval(values: np.ndarray, level: float = INTERVAL) -> tuple[float, float]:
    lo, hi = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return float(lo), float(hi)


def required_share_draws(inp: PlannerInputs, target: float, years: int,
                         draws: int = DRAWS, seed: int = 0) -> np.ndarray:
    """``required_hire_share`` for each parameter draw (its uncertainty)."""
    rng = np.random.default_rng(seed)
    dm, do = _draw(inp.focal, rng, draws), _draw(inp.other, rng, draws)
    return _required(inp.focal.headcount, _first_year_now(inp.focal), dm.exit, dm.first_year,
                     inp.other.headcount, _first_year_now(inp.other), do.exit, do.first_year,
                     dm.hires + do.hires, target, years)


# --- the answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanAnswer:
    """Everything the planner page shows for one set of inputs (plain numbers)."""

    years: int
    target: float
    share_now: float
    headcount: float
    hires_per_year: float
    hire_share: float
    exit_focal: float
    exit_other: float
    first_year_focal: float
    first_year_other: float
    projection: list[dict[str, float]]  # year, share, low, high
    steady_share: float
    required_share: float
    required_low: float
    required_high: float
    required_share_equal_exits: float
    required_equal_low: float
    required_equal_high: float


def plan(inp: PlannerInputs, target: float = 0.20, years: int = 10, draws: int = DRAWS,
         seed: int = 0) -> PlanAnswer:
    """The three answers: (a) the projection with its interval, (b) the share of hires needed
    for ``target`` in ``years``, as exits are and without the focal group's extra exits."""
    if not 0 < target < 1 or years < 1:
        raise ValueError("target must lie strictly between 0 and 1, years at least 1")
    det = project(inp, years)
    sims = simulate(inp, years, draws, seed)
    rows = []
    for r in det:
        lo, hi = interval(sims[:, r["year"]])
        rows.append({"year": r["year"], "share": r["share"], "low": lo, "high": hi,
                     "headcount": r["total"]})
    equal = inp.without_extra_exits()
    req = required_share_draws(inp, target, years, draws, seed)
    req_eq = required_share_draws(equal, target, years, draws, seed)
    sm, so = steady_state(inp.focal), steady_state(inp.other)
    return PlanAnswer(
        years=years, target=target, share_now=inp.share_now, headcount=inp.headcount,
        hires_per_year=inp.hires_per_year, hire_share=inp.hire_share,
        exit_focal=inp.focal.exit_rate, exit_other=inp.other.exit_rate,
        first_year_focal=inp.focal.first_year, first_year_other=inp.other.first_year,
        projection=rows,
        steady_share=sm / (sm + so) if math.isfinite(sm + so) and sm + so > 0 else float("nan"),
        required_share=required_hire_share(inp, target, years),
        required_low=interval(req)[0], required_high=interval(req)[1],
        required_share_equal_exits=required_hire_share(equal, target, years),
        required_equal_low=interval(req_eq)[0], required_equal_high=interval(req_eq)[1],
    )


def applicants_needed(hires_per_year: float, cumulative_pass_rate: float) -> float:
    """Applicants a year for ``hires_per_year`` appointments at this cumulative pass rate.

    Example: 50 hires a year at a pass rate of 4 % need 1,250 applicants a year.
    """
    if cumulative_pass_rate <= 0:
        return math.inf
    return hires_per_year / cumulative_pass_rate


def extra_appointments(decided: float, focal_rate: float, ref_rate: float,
                       later_rates: list[float]) -> float:
    """``n_s (b_s − a_s) Π_{j>s} a_j``: the extra passers at the stage, carried through the
    later stages at the group's own rates. Example: 100 × (0.6 − 0.5) × 0.5 = 5."""
    return decided * (ref_rate - focal_rate) * math.prod(later_rates)


@dataclass(frozen=True)
class StageCounts:
    """Published counts of one stage: ``decided`` = passed + failed + withdrew, ``passed``."""

    stage: str
    focal_decided: int
    focal_passed: int
    ref_decided: int
    ref_passed: int


def stage_what_if(stages: list[StageCounts]) -> list[dict[str, float | str | None]]:
    """Extra focal appointments if stage ``s`` alone had passed the focal group at the
    reference group's rate: ``n_s (b_s − a_s) Π_{j>s} a_j`` (``None`` where a rate is
    undefined). Example: stages (100 decided, 50 passed | ref 60 %) then (50, 25 | any):
    stage 1 gives 100 × (0.6 − 0.5) × 0.5 = 5 more appointments.
    """
    rates = [s.focal_passed / s.focal_decided if s.focal_decided else None for s in stages]
    out = []
    for i, s in enumerate(stages):
        a = rates[i]
        b = s.ref_passed / s.ref_decided if s.ref_decided else None
        later = rates[i + 1:]
        if a is None or b is None or any(r is None for r in later):
            extra = None
        else:
            extra = extra_appointments(s.focal_decided, a, b, later)
        out.append({"stage": s.stage, "focal_rate": a, "ref_rate": b,
                    "ratio": None if a is None or not b else a / b, "extra": extra})
    return out
