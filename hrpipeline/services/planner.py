"""Representation-target planner for one zone: published inputs → projection → answers.

Inputs are **published** values only:

* retention (``retention_inputs``): the retention report's turnover table (headcount at each
  period's start and end, leavers, by group) and its Kaplan-Meier summary (first-year
  attrition, 1 − S(12 months)). Hires per period are derived from those published values
  (end − start + leavers). Hidden values (``SUPPRESSED``) are never guessed: a group's value
  is then taken pooled over groups (e.g. "with a migration background" = all − Belgian origin −
  unknown) or the planner says it cannot answer;
* funnel (``funnel_inputs``): the zone's protected funnel releases (counts rounded to base k),
  for the cumulative pass rates and the what-if per stage.

The projection itself is the pure :mod:`hrpipeline.analysis.planner`; its outputs are
functions of published numbers and are rounded (shares to 0.1 %, persons to whole numbers).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import click

from hrpipeline.analysis import planner as model
from hrpipeline.disclosure.values import SUPPRESSED, is_suppressed
from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND, UNKNOWN
from hrpipeline.errors import DomainError, NotFound, ValidationFailed
from hrpipeline.models import User
from hrpipeline.services.publish import any_hidden, policy, to_json
from hrpipeline.services.scope import ALL, resolve_zone

#: Officers with a migration background (the focal compartment).
FOCAL_GROUPS = (EU_BACKGROUND, NON_EU_BACKGROUND)
#: Hiring and leaving "as they are": the average over this many recent full years.
RECENT_YEARS = 5
DEFAULT_TARGET = 0.20
DEFAULT_YEARS = 10
MAX_YEARS = 20
SEED = 20260101  # fixed: the same inputs always give the same interval


class PlannerUnavailable(NotFound):
    """The published values do not allow an answer (too few, or hidden); says why."""


# --- retention inputs ------------------------------------------------------------------------


def _sum(values: list[Any]) -> Any:
    return SUPPRESSED if any_hidden(*values) else sum(float(v) for v in values)


def _focal_other(rows: dict[str, Any], key: str, groups: list[str]) -> tuple[Any, Any, bool]:
    """(focal, other, pooled) of one published quantity: the focal groups summed, or, where one
    of them is hidden, all − Belgian origin − unknown (``pooled`` = that fallback used)."""
    get = lambda g: rows[g][key] if g in rows else 0  # noqa: E731 (absent group: none)
    total = get("all")
    focal = _sum([get(g) for g in FOCAL_GROUPS if g in groups])
    pooled = False
    if is_suppressed(focal):
        rest = _sum([get(g) for g in (BELGIAN_ORIGIN, UNKNOWN) if g in groups])
        focal = SUPPRESSED if any_hidden(total, rest) else float(total) - rest
        pooled = True
    other = SUPPRESSED if any_hidden(total, focal) else float(total) - float(focal)
    return focal, other, pooled


@dataclass
class RetentionFigures:
    """The published retention values behind the planner (for the page's "inputs" table)."""

    reference_date: str
    years: list[str]
    inputs: model.PlannerInputs
    notes: list[str] = field(default_factory=list)


def retention_inputs(user: User, zone: str, lang: str = "en") -> RetentionFigures:
    """Headcount now, hires and leavers per year (with person-years) by compartment, from the
    zone's published retention report (the only retention source of the planner).

    Over the last ``RECENT_YEARS`` full calendar years (``Y``), per compartment ``c``:
    person-years ``PY_c`` = sum of (headcount at the year's start + at its end) / 2, leavers
    ``L_c`` = sum of the published yearly leavers, hires = headcount at the end of ``Y`` − at
    its start + ``L_c``. Where a group's leavers are hidden, ``L_c`` is *not* reconstructed:
    the compartment is given the pooled exit rate of all groups (``L_c = PY_c × L_all /
    PY_all``, note ``pooled``). The reference group's rates (for "without extra exits") are
    Belgian origin's, over ``Y`` or, if hidden there, over the whole window.

    First-year attrition ``q`` comes from the published life-table summaries (1 − S(12)),
    headcount-weighted over the compartment's groups with a published curve when these hold at
    least 80 % of it; the yearly exit rate after the first year is then
    ``(L − q H) / (PY − H (1 − q/2))`` (``H`` hires; hires spend about ``1 − q/2`` of their first
    year in service). Otherwise one rate for every tenure (note ``no_first_year``).
    """
    from hrpipeline.services.retention import retention_report

    report = retention_report(user, zone, lang=lang)
    notes: list[str] = []
    full = [r for r in report.turnover if r.get("months") == 12.0 and "–" not in r["period"]]
    years = sorted({r["period"] for r in full})[-RECENT_YEARS:]
    if len(years) < 2:
        raise PlannerUnavailable("The planner needs at least two full years of retention "
                                 "data.")
    groups = report.groups
    by = {(r["period"], r["group"]): r for r in report.turnover}
    window = {r["group"]: r for r in report.turnover if "–" in r["period"]}
    last = report.periods[-1]

    def rows(y: str) -> dict[str, Any]:
        return {g: by[(y, g)] for g in [*groups, "all"] if (y, g) in by}

    comp = {c: {"py": 0.0, "leavers": 0.0, "hidden": False} for c in ("focal", "other", "all")}
    start_end = {}
    for i, y in enumerate(years):
        r = rows(y)
        for key in ("headcount_start", "headcount_end"):
            f, o, pooled = _focal_other(r, key, groups)
            if any_hidden(f, o):
                raise PlannerUnavailable(_HIDDEN)
            if pooled and "pooled_headcount" not in notes:
                notes.append("pooled_headcount")
            if (i == 0 and key == "headcount_start") or (i == len(years) - 1
                                                         and key == "headcount_end"):
                start_end[key] = (f, o)
            if key == "headcount_end":
                f0, o0, _p = _focal_other(r, "headcount_start", groups)
                comp["focal"]["py"] += (f0 + f) / 2
                comp["other"]["py"] += (o0 + o) / 2
        f, o, pooled = _focal_other(r, "leavers", groups)
        total = r.get("all", {}).get("leavers", SUPPRESSED)
        for c, v in (("focal", f), ("other", o), ("all", total)):
            if is_suppressed(v) or (c != "all" and pooled):
                comp[c]["hidden"] = True
            else:
                comp[c]["leavers"] += float(v)
    comp["all"]["py"] = comp["focal"]["py"] + comp["other"]["py"]
    if comp["focal"]["hidden"] or comp["other"]["hidden"]:
        notes.append("pooled")
        if not comp["all"]["hidden"]:
            pooled_rate = comp["all"]["leavers"] / comp["all"]["py"]
        else:
            w = window.get("all")
            pooled_rate = _window_rate(w, report)
            notes.append("pooled_window")
            if pooled_rate is None:
                raise PlannerUnavailable(_HIDDEN)
        for c in ("focal", "other"):
            comp[c]["leavers"] = pooled_rate * comp[c]["py"]

    # Headcount now: at the reference date, or at the last year end where that is hidden.
    now = {g: by[(last, g)] for g in [*groups, "all"] if (last, g) in by}
    n_focal, n_other, _pooled = _focal_other(now, "headcount_end", groups)
    if any_hidden(n_focal, n_other):
        now = rows(years[-1])
        n_focal, n_other = start_end["headcount_end"]
        notes.append("headcount_year_end")
    if n_focal + n_other < policy().min_denominator:
        raise PlannerUnavailable("Too few officers in this zone for a projection.")

    hires = {c: max(0.0, start_end["headcount_end"][i] - start_end["headcount_start"][i]
                    + comp[c]["leavers"]) for i, c in enumerate(("focal", "other"))}
    heads = {"focal": float(n_focal), "other": float(n_other)}
    km = {s["group"]: s for s in report.km_summary}

    def first_year(members: tuple[str, ...]) -> float | None:
        present = [g for g in members if g in groups]
        weights = {g: now.get(g, {}).get("headcount_end") for g in present}
        known = {g: float(weights[g]) for g in present
                 if not any_hidden(weights[g], km.get(g, {}).get("attrition_12m", SUPPRESSED))
                 and km.get(g, {}).get("attrition_12m") is not None}
        total = sum(float(w) for w in weights.values() if not is_suppressed(w))
        if not known or total <= 0 or sum(known.values()) < 0.8 * total:
            return None
        return sum(km[g]["attrition_12m"] * w for g, w in known.items()) / sum(known.values())

    q = {"focal": first_year(FOCAL_GROUPS), "other": first_year((BELGIAN_ORIGIN, UNKNOWN))}
    if q["focal"] is None or q["other"] is None:
        q = {"focal": None, "other": None}
        notes.append("no_first_year")

    def flows(c: str) -> model.GroupFlows:
        return _flows(heads[c], hires[c], len(years), comp[c]["leavers"], comp[c]["py"], q[c])

    focal, other = flows("focal"), flows("other")
    reference = _reference(years, rows, window.get(BELGIAN_ORIGIN), report,
                           None if q["other"] is None else first_year((BELGIAN_ORIGIN,)))
    if reference is None:
        notes.append("reference_pooled")
    if focal.person_years <= 0 or other.person_years <= 0 or other.hires_per_year <= 0:
        raise PlannerUnavailable("Too few officers in this zone for a projection.")
    return RetentionFigures(report.reference_date, years,
                            model.PlannerInputs(focal, other, reference, tuple(notes)), notes)


_HIDDEN = ("The published retention figures of this zone are too small (hidden to protect "
           "privacy) for a projection.")


def _flows(head: float, hires: float, years: int, leavers: float, py: float,
           q: float | None) -> model.GroupFlows:
    if q is not None:
        leavers = max(0.0, leavers - q * hires)
        py = max(1e-9, py - hires * (1 - q / 2))
    return model.GroupFlows(headcount=head, hires=hires, hire_years=years, leavers=leavers,
                            person_years=py, first_year_attrition=q, first_year_hires=hires)


def _window_rate(row: dict | None, report) -> float | None:
    """Leavers per person-year of the whole-window row (published), or ``None``."""
    if row is None or any_hidden(row["leavers"], row["average_headcount"]):
        return None
    months = float(row.get("months") or 0)
    py = float(row["average_headcount"]) * months / 12
    return float(row["leavers"]) / py if py > 0 else None


def _reference(years, rows, window_row, report, q) -> model.GroupFlows | None:
    """Belgian origin's flows over the recent years, or its whole-window exit rate."""
    py = leavers = 0.0
    ok = True
    for y in years:
        r = rows(y).get(BELGIAN_ORIGIN)
        if r is None or any_hidden(r["headcount_start"], r["headcount_end"], r["leavers"]):
            ok = False
            break
        py += (float(r["headcount_start"]) + float(r["headcount_end"])) / 2
        leavers += float(r["leavers"])
    if not ok:
        rate = _window_rate(window_row, report)
        if rate is None:
            return None
        months = float(window_row.get("months") or 0)
        py = float(window_row["average_headcount"]) * months / 12
        leavers = rate * py
    if py <= 0:
        return None
    # Hires are not needed for the rates; q applies to the reference's own hires share of PY.
    return _flows(0.0, 0.0, len(years), leavers, py, q)


# --- funnel inputs ---------------------------------------------------------------------------


@dataclass
class FunnelFigures:
    years: list[int]
    applicants_focal: Any  # per year (published counts summed over the years / years)
    appointed_focal: Any
    pass_rate_focal: Any  # cumulative: appointed / applied
    pass_rate_ref: Any
    what_if_year: int | None
    what_if: list[dict[str, Any]]


def _zone_years(zone_obj) -> list[int]:
    from hrpipeline.services import funnel_data

    return [y for y in funnel_data.years_with_data()
            if any(z.id == zone_obj.id for z in funnel_data.zones_with_data(y))]


def funnel_inputs(zone_obj) -> FunnelFigures | None:
    """Cumulative pass rates (appointed at the last stage / entered at the first stage) of the
    focal group and the reference group, and the what-if per stage, over every campaign year
    of the zone together (published, rounded counts of the zone's funnel releases; per year =
    the total / the number of years)."""
    from hrpipeline.disclosure.gates import published_rate
    from hrpipeline.services.releases import zone_release

    years = _zone_years(zone_obj)
    if not years:
        return None
    pol = policy()
    code = zone_obj.code
    releases = [zone_release(zone_obj, y) for y in years]
    stages = releases[-1].stages

    def total(stage: str, groups: tuple[str, ...], outcomes: tuple[str | None, ...]) -> Any:
        return _sum([r.count(stage, g, o, zone=code) for r in releases if stage in r.stages
                     for g in groups for o in outcomes])

    first, last = stages[0], stages[-1]
    a, p = total(first, FOCAL_GROUPS, (None,)), total(last, FOCAL_GROUPS, ("passed",))
    ra = total(first, (BELGIAN_ORIGIN,), (None,))
    rp = total(last, (BELGIAN_ORIGIN,), ("passed",))
    rate = SUPPRESSED if any_hidden(a, p) else published_rate(int(p), int(a), pol)
    ref_rate = SUPPRESSED if any_hidden(ra, rp) else published_rate(int(rp), int(ra), pol)
    n = len(years)
    return FunnelFigures(
        years=years,
        applicants_focal=SUPPRESSED if is_suppressed(a) else a / n,
        appointed_focal=SUPPRESSED if is_suppressed(p) else p / n,
        pass_rate_focal=rate, pass_rate_ref=ref_rate,
        what_if_year=None, what_if=_what_if(stages, total, n, pol))


_DECIDED = ("passed", "failed", "withdrew")


def _what_if(stages, total, n_years: int, pol) -> list[dict[str, Any]]:
    """Stage by stage: more focal appointments per campaign year had the stage treated the
    group like the reference group (``analysis.planner.stage_what_if``). A rate needs
    ``min_denominator`` published decisions; where the focal group's rate at a later stage has
    fewer, the stage's rate over all groups carries the extra candidates on (note
    ``pooled``); where that too is missing, no answer."""
    from hrpipeline.domain import BACKGROUNDS

    out = []
    rates = []
    for s in stages:
        fp, fd = total(s, FOCAL_GROUPS, ("passed",)), total(s, FOCAL_GROUPS, _DECIDED)
        rp, rd = total(s, (BELGIAN_ORIGIN,), ("passed",)), total(s, (BELGIAN_ORIGIN,), _DECIDED)
        ap, ad = total(s, BACKGROUNDS, ("passed",)), total(s, BACKGROUNDS, _DECIDED)
        ok = lambda num, den: not any_hidden(num, den) and den >= pol.min_denominator  # noqa
        a = fp / fd if ok(fp, fd) else None
        b = rp / rd if ok(rp, rd) else None
        carry, pooled = (a, False) if a is not None else (
            (ap / ad, True) if ok(ap, ad) else (None, False))
        rates.append((s, fd, a, b, carry, pooled))
    for i, (s, fd, a, b, _carry, _pooled) in enumerate(rates):
        later = [r[4] for r in rates[i + 1:]]
        extra = None
        if a is not None and b is not None and all(c is not None for c in later):
            extra = model.extra_appointments(float(fd), a, b, later) / n_years
        out.append({"stage": s, "focal_decided": None if a is None else int(fd),
                    "focal_rate": a, "ref_rate": b,
                    "extra_appointments": None if extra is None else round(extra, 1),
                    "pooled_later": extra is not None and any(r[5] for r in rates[i + 1:])})
    return out


# --- the report ------------------------------------------------------------------------------


@dataclass
class PlannerReport:
    """What the planner page, API and CLI publish (rounded functions of published values)."""

    zone: str
    zone_label: str
    reference_date: str
    years_used: list[str]
    target: float
    horizon: int
    answer: model.PlanAnswer
    funnel: FunnelFigures | None
    notes: list[str]
    applicants_needed: Any
    applicants_needed_equal: Any

    def to_dict(self) -> dict[str, Any]:
        a = self.answer
        r3 = lambda x: None if x is None or (isinstance(x, float) and math.isnan(x)) \
            else round(float(x), 3)  # noqa: E731
        out = {
            "zone": self.zone, "zone_label": self.zone_label,
            "reference_date": self.reference_date, "years_used": self.years_used,
            "target": self.target, "horizon_years": self.horizon,
            "inputs": {"headcount": round(a.headcount), "share_now": r3(a.share_now),
                       "hires_per_year": round(a.hires_per_year, 1),
                       "hire_share": r3(a.hire_share),
                       "exit_rate_focal": r3(a.exit_focal), "exit_rate_other": r3(a.exit_other),
                       "first_year_attrition_focal": r3(a.first_year_focal),
                       "first_year_attrition_other": r3(a.first_year_other)},
            "projection": [{"year": r["year"], "share": r3(r["share"]), "low": r3(r["low"]),
                            "high": r3(r["high"]), "headcount": round(r["headcount"])}
                           for r in a.projection],
            "interval": model.INTERVAL,
            "steady_state_share": r3(a.steady_share),
            "required_hire_share": {"as_now": r3(a.required_share),
                                    "as_now_low": r3(a.required_low),
                                    "as_now_high": r3(a.required_high),
                                    "equal_exits": r3(a.required_share_equal_exits),
                                    "equal_exits_low": r3(a.required_equal_low),
                                    "equal_exits_high": r3(a.required_equal_high)},
            "applicants_needed_per_year": self.applicants_needed,
            "applicants_needed_per_year_equal_exits": self.applicants_needed_equal,
            "notes": self.notes,
        }
        if self.funnel is not None:
            f = self.funnel
            out["funnel"] = {
                "years": f.years, "applicants_per_year": _round(f.applicants_focal, 0),
                "appointed_per_year": _round(f.appointed_focal, 1),
                "cumulative_pass_rate": _round(f.pass_rate_focal, 4),
                "cumulative_pass_rate_reference": _round(f.pass_rate_ref, 4),
                "what_if_year": f.what_if_year, "what_if": f.what_if}
        return to_json_deep(out)


def _round(v: Any, digits: int) -> Any:
    if v is None or is_suppressed(v):
        return v
    return round(float(v), digits) if digits else int(round(float(v)))


def to_json_deep(value: Any) -> Any:
    """Hidden values as ``{"value": null, "suppressed": true}`` anywhere in the answer."""
    if is_suppressed(value):
        return to_json({"v": value})["v"]
    if isinstance(value, dict):
        return {k: to_json_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_deep(v) for v in value]
    return value


_cache: OrderedDict[tuple, PlannerReport] = OrderedDict()
_inputs: OrderedDict[tuple, tuple] = OrderedDict()
_lock = threading.Lock()


def planner_report(user: User, zone: str, *, target: float = DEFAULT_TARGET,
                   years: int = DEFAULT_YEARS, lang: str = "en") -> PlannerReport:
    """The planner's answers for one zone the user may see (404 / 403 outside the scope)."""
    if not (isinstance(target, int | float) and 0.01 <= target <= 0.99):
        raise ValidationFailed("The target must be a share between 1 % and 99 %.")
    if not (isinstance(years, int) and 1 <= years <= MAX_YEARS):
        raise ValidationFailed(f"The horizon must be 1 to {MAX_YEARS} years.")
    zone_obj = resolve_zone(user, zone)  # 404 outside the scope, 403 for the pool
    if zone_obj is None or zone == ALL:
        raise ValidationFailed("The planner answers for one zone at a time.")
    from hrpipeline.extensions import db
    from hrpipeline.services.releases import data_version

    base = (db.engine.url.render_as_string(), data_version(), policy(), zone, lang)
    key = (*base, round(target, 4), years)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        inputs = _inputs.get(base)
    if inputs is None:  # the published inputs do not depend on the target: read them once
        inputs = (retention_inputs(user, zone, lang), funnel_inputs(zone_obj))
        with _lock:
            _inputs[base] = inputs
            while len(_inputs) > 32:
                _inputs.popitem(last=False)
    figures, funnel = inputs
    answer = model.plan(figures.inputs, target=target, years=years, seed=SEED)
    need = need_eq = None
    if funnel is not None:
        rate = funnel.pass_rate_focal
        for which, share in (("now", answer.required_share),
                             ("equal", answer.required_share_equal_exits)):
            if is_suppressed(rate):
                value: Any = SUPPRESSED
            elif rate is None or rate <= 0 or not 0 <= share <= 1:
                value = None
            else:
                value = int(round(model.applicants_needed(share * answer.hires_per_year,
                                                          rate), -1))
            if which == "now":
                need = value
            else:
                need_eq = value
    report = PlannerReport(zone=zone, zone_label=zone_obj.name(lang),
                           reference_date=figures.reference_date, years_used=figures.years,
                           target=target, horizon=years, answer=answer, funnel=funnel,
                           notes=figures.notes, applicants_needed=need,
                           applicants_needed_equal=need_eq)
    with _lock:
        _cache[key] = report
        while len(_cache) > 64:
            _cache.popitem(last=False)
    return report


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _inputs.clear()


# --- CLI -------------------------------------------------------------------------------------


@click.command("planner")
@click.option("--zone", required=True, help="Zone code.")
@click.option("--target", type=click.FloatRange(1, 99), default=20.0, show_default=True,
              help="Target share with a migration background, in %.")
@click.option("--years", type=click.IntRange(1, MAX_YEARS), default=DEFAULT_YEARS,
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def planner_command(zone: str, target: float, years: int, as_json: bool) -> None:
    """Where representation goes if hiring and leaving stay as they are, and what a target
    needs (published values only; x = hidden)."""
    from hrpipeline.services.scope import OPERATOR

    try:
        report = planner_report(OPERATOR, zone, target=target / 100, years=years)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    d = report.to_dict()
    if as_json:
        click.echo(json.dumps(d, indent=2, ensure_ascii=False))
        return
    echo = click.echo
    i = d["inputs"]
    pct = lambda v: "-" if v is None else ("x" if isinstance(v, dict) and v.get("suppressed")  # noqa: E731
                                          else f"{_v(v):.1%}")
    echo(f"Planner {report.zone_label} (reference date {report.reference_date}; years used "
         f"{', '.join(report.years_used)})")
    echo(f"  corps {i['headcount']}, with a migration background {pct(i['share_now'])}; "
         f"hires {i['hires_per_year']} a year, {pct(i['hire_share'])} with a migration "
         f"background")
    echo(f"  yearly exits after the first year: {pct(i['exit_rate_focal'])} vs "
         f"{pct(i['exit_rate_other'])}; first year: {pct(i['first_year_attrition_focal'])} vs "
         f"{pct(i['first_year_attrition_other'])}")
    echo(f"\n(a) Share with a migration background if hiring and exits stay as they are "
         f"({round(100 * d['interval'])} % interval):")
    for r in d["projection"]:
        echo(f"  year {r['year']:>2}: {pct(r['share'])}  ({pct(r['low'])} – {pct(r['high'])})")
    echo(f"  in the long run: {pct(d['steady_state_share'])}")
    req = d["required_hire_share"]
    echo(f"\n(b) Share of hires needed for {target:.0f} % in {years} years: "
         f"{pct(req['as_now'])} ({pct(req['as_now_low'])} – {pct(req['as_now_high'])}) with "
         f"exits as they are; {pct(req['equal_exits'])} without the group's extra exits")
    echo(f"\n(c) Applicants with a migration background needed a year: "
         f"{_show(d['applicants_needed_per_year'])} "
         f"({_show(d['applicants_needed_per_year_equal_exits'])} without extra exits)")
    if "funnel" in d:
        f = d["funnel"]
        echo(f"  today: {_show(f['applicants_per_year'])} a year, cumulative pass rate "
             f"{pct(f['cumulative_pass_rate'])} (reference group "
             f"{pct(f['cumulative_pass_rate_reference'])})")
        echo(f"\nWhat-if per stage ({f['what_if_year']}): more appointments with a migration "
             "background had the stage treated the group like the reference group")
        for r in f["what_if"]:
            echo(f"  {r['stage']:<18} {_show(r['extra_appointments'])}")
    if d["notes"]:
        echo(f"\nNotes: {', '.join(d['notes'])}")


def _v(v: Any) -> float:
    return v["value"] if isinstance(v, dict) else v


def _show(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        return "x" if v.get("suppressed") else str(v["value"])
    return str(v)


# --- briefing --------------------------------------------------------------------------------

_BRIEFING = {
    "en": {"projection": "Planner: if hiring and leaving stay as they are, officers with a "
                         "migration background would make up about {share} of the corps in "
                         "{years} years (chance alone: {low} to {high}).",
           "need": "Reaching {target} in {years} years would take about {need} of hires with a "
                   "migration background (today {now}).",
           "out_of_reach": "Reaching {target} in {years} years is not possible by hiring alone "
                           "with exits as they are."},
    "nl": {"projection": "Planner: als instroom en uitstroom blijven zoals ze zijn, vormen "
                         "personeelsleden met een migratieachtergrond over {years} jaar ongeveer "
                         "{share} van het korps (alleen al door toeval: {low} tot {high}).",
           "need": "Om {target} te halen binnen {years} jaar moet ongeveer {need} van de "
                   "instroom een migratieachtergrond hebben (vandaag {now}).",
           "out_of_reach": "{target} binnen {years} jaar is met de huidige uitstroom niet "
                           "haalbaar door aanwerving alleen."},
    "fr": {"projection": "Planificateur : si les recrutements et les départs restent tels "
                         "quels, les membres du personnel issus de l'immigration représenteraient "
                         "environ {share} du corps dans {years} ans (le seul hasard : de {low} à "
                         "{high}).",
           "need": "Atteindre {target} en {years} ans demanderait environ {need} de recrues "
                   "issues de l'immigration (aujourd'hui {now}).",
           "out_of_reach": "Atteindre {target} en {years} ans n'est pas possible par le seul "
                           "recrutement avec les départs actuels."},
}


def briefing_lines(user: User, zone: str, lang: str = "en") -> list[str]:
    """One or two sentences for the leadership briefing (default target and horizon); none for
    the pool or when the planner cannot answer."""
    if zone == ALL:
        return []
    try:
        report = planner_report(user, zone, lang=lang)
    except DomainError:
        return []
    t = _BRIEFING.get(lang, _BRIEFING["en"])
    a = report.answer
    last = a.projection[-1]
    pct = (lambda v: f"{100 * v:.1f} %".replace(".", ",")) if lang in ("nl", "fr") else (
        lambda v: f"{100 * v:.1f}%")
    lines = [t["projection"].format(share=pct(last["share"]), years=report.horizon,
                                    low=pct(last["low"]), high=pct(last["high"]))]
    target = f"{100 * report.target:g}".replace(".", "," if lang in ("nl", "fr") else ".")
    fmt = {"target": target + (" %" if lang in ("nl", "fr") else "%"), "years": report.horizon}
    if a.required_share > 1:
        lines.append(t["out_of_reach"].format(**fmt))
    elif a.required_share > 0:
        lines.append(t["need"].format(need=pct(a.required_share), now=pct(a.hire_share), **fmt))
    return lines
