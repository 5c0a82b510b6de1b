"""Funnel report for one catalogue entry: scope → the protected release → analyse → format.

Every count comes from the protected release (:mod:`hrpipeline.services.releases`): counts
rounded to multiples of k as sums of independently rounded flows
(:mod:`hrpipeline.disclosure.funnel`). The analysis — rates, Wilson intervals, impact ratios,
Fisher / Holm, tiers, pooled Mantel-Haenszel — runs on those **published** counts, so no rate,
p-value, tier or reason says anything the published counts do not (docs/disclosure-control.md).
Only cells hidden at source stay hidden (``SUPPRESSED``), with every sum and statistic that
needs them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from hrpipeline.analysis.funnel import analyse_funnel
from hrpipeline.analysis.pooling import strata_disagreement
from hrpipeline.disclosure import (
    SUPPRESSED,
    coarsen_p,
    gate_interval,
    gate_p,
    gate_ratio,
    gate_sum,
    is_suppressed,
)
from hrpipeline.disclosure.gates import published_rate
from hrpipeline.domain import DEFAULT_REFERENCE_GROUP, KNOWN_BACKGROUNDS, OUTCOMES
from hrpipeline.errors import NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import Upload, User
from hrpipeline.services import funnel_data
from hrpipeline.services.publish import (
    any_hidden,
    csv_comment,
    csv_text,
    policy,
    rounded,
    to_json,
)
from hrpipeline.services.releases import FunnelRelease, pool_release, zone_release
from hrpipeline.services.releases import clear_cache as _clear_releases
from hrpipeline.services.scope import ALL, resolve_zone

VIEWS = ("decision", "retention")
TESTS = ("fisher", "midp", "boschloo", "ztest")

_representation_cache: OrderedDict[tuple, object] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    _clear_releases()
    with _cache_lock:
        _representation_cache.clear()


# --- the report ------------------------------------------------------------------------------


@dataclass
class FunnelReport:
    """What one funnel table publishes. Every number is a value or ``SUPPRESSED``."""

    key: str
    zone: str
    period: str
    zone_label: str
    period_label: str
    reference: str
    view: str
    test: str
    k: int
    min_denominator: int
    stages: list[str]
    groups: list[str]
    rows: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]
    pooled: list[dict[str, Any]]
    unknown: list[dict[str, Any]]
    quality: dict[str, Any]
    excluded_groups: list[dict[str, Any]]
    representation: list[dict[str, Any]] = field(default_factory=list)
    benchmark_label: str | None = None
    benchmark_scope: str | None = None  # e.g. "18-34:nat" (Belgian nationals aged 18-34)
    representation_family: int = 0  # rows tested together (Holm)
    conversion: list[dict[str, Any]] = field(default_factory=list)
    family_size: int = 0
    synthetic: bool = False

    ROW_COLUMNS = ("stage", "group", "entered", "passed", "failed", "withdrew", "pending",
                   "pass_rate", "pass_rate_low", "pass_rate_high", "retention_rate",
                   "retention_rate_low", "retention_rate_high", "cumulative", "share")
    COMPARISON_COLUMNS = ("stage", "group", "reference", "view", "focal_rate", "reference_rate",
                          "impact_ratio", "ratio_low", "ratio_high", "difference_points",
                          "odds_ratio", "fail_rate_ratio", "test", "tails", "p_value",
                          "p_adjusted", "adjustment", "family_size", "shortfall",
                          "flip_robust", "significance_fragile", "persons_to_four_fifths",
                          "power_at_four_fifths", "more_campaigns_for_power", "power_at_half",
                          "more_campaigns_for_power_half", "headline",
                          "breslow_day_p", "crude_tier", "tier", "reason_code", "reason")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "zone": self.zone, "period": self.period,
            "zone_label": self.zone_label, "period_label": self.period_label,
            "reference": self.reference, "view": self.view, "test": self.test,
            "k": self.k, "min_denominator": self.min_denominator,
            "stages": self.stages, "groups": self.groups,
            "rows": [to_json(r) for r in self.rows],
            "comparisons": [to_json(r) for r in self.comparisons],
            "pooled": [to_json(r) for r in self.pooled],
            "unknown": [to_json(r) for r in self.unknown],
            "representation": [to_json(r) for r in self.representation],
            "benchmark_label": self.benchmark_label,
            "benchmark_scope": self.benchmark_scope,
            "representation_test": {
                "test": "exact two-sided binomial test of each share against the benchmark "
                        "share (scipy binomtest)",
                "adjustment": "holm", "alpha": 0.05, "family_size": self.representation_family,
                "tested": "applicants (first stage) and hires (passed the last stage) with a "
                          "published share (at least min_denominator persons of known "
                          "background), the groups other than Belgian origin",
                "rule": "'below' / 'above' only when the Holm-adjusted p < 0.05; otherwise "
                        "'consistent' with the benchmark; counts are the published (rounded) "
                        "counts; unknown background is counted beside the shares, not in them",
            },
            "conversion": [to_json(r) for r in self.conversion],
            "quality": to_json(self.quality),
            "excluded_groups": self.excluded_groups,
            "family_size": self.family_size,
            "synthetic": self.synthetic,
            "rounding": {"base": self.k, "method": "cell-key random rounding",
                         "rule": f"every count is rounded to a multiple of {self.k}; rates, "
                                 "intervals and tests are computed from the rounded counts; "
                                 f"no rate on fewer than {self.min_denominator} persons"},
            "suppression": {"symbol": "x", "k": self.k,
                            "rule": "x = hidden at source, or a rate on fewer than "
                                    f"{self.min_denominator} persons"},
        }

    def to_csv(self) -> str:
        stage_part = csv_text(self.rows, self.ROW_COLUMNS)
        comp_part = csv_text(self.comparisons, self.COMPARISON_COLUMNS)
        header = csv_comment(f"{self.zone_label} / {self.period_label}; reference group "
                             f"{self.reference}; counts rounded to multiples of {self.k} to "
                             "protect privacy, rates from the rounded counts; x = hidden")
        return header + stage_part + "\n" + comp_part


def _select(release: FunnelRelease, entry: funnel_data.CatalogueEntry):
    """Published counts of one entry, the strata to pool over, and a published-value lookup."""
    if entry.zone == ALL:
        zone, campaign, strata = None, None, ["zone", "campaign"]
    elif entry.campaign is None:
        zone, campaign, strata = entry.zone, None, ["campaign"]
    else:
        zone, campaign, strata = entry.zone, entry.campaign, []

    def pub(stage, group=None, outcome=None):
        return release.count(stage, group, outcome, zone=zone, campaign=campaign)

    return release.counts_frame(zone, campaign), strata, pub, release.hidden_cells(zone, campaign)


def funnel_report(user: User, zone: str, period: str, *, reference: str = DEFAULT_REFERENCE_GROUP,
                  view: str = "decision", test: str = "fisher", lang: str = "en") -> FunnelReport:
    """The published funnel table of one catalogue entry, as this user may see it."""
    if reference not in KNOWN_BACKGROUNDS:
        raise ValidationFailed(f"Unknown reference group {reference!r}.",
                               problems=[{"column": "reference", "value": reference,
                                          "message": "expected one of "
                                          + ", ".join(KNOWN_BACKGROUNDS)}])
    if view not in VIEWS:
        raise ValidationFailed(f"Unknown view {view!r}; expected decision or retention.")
    if test not in TESTS:
        raise ValidationFailed(f"Unknown test {test!r}; expected one of {', '.join(TESTS)}.")
    zone_obj = resolve_zone(user, zone)  # 404 / 403 outside the user's scope
    entry = funnel_data.find_entry(user, zone, period)
    if entry is None:
        raise NotFound(f"No published funnel table for {zone} / {period}.")
    release = pool_release(entry.year) if zone_obj is None else zone_release(zone_obj, entry.year)
    counts, strata, pub, source_hidden = _select(release, entry)
    pol = policy()
    analysis_key = (entry.key, reference, test, pol.min_denominator)
    result = release.analyses.get(analysis_key)
    if result is None:
        # The analysis sees the published (rounded) counts only: every statistic below is a
        # function of numbers the reader is shown.
        result = analyse_funnel(
            counts[[*strata, "stage", "group", "outcome", "n"]],
            stages=release.stages, reference=reference, strata=strata, test=test,
            min_denominator=pol.min_denominator,
        )
        release.analyses[analysis_key] = result
    rows = _published_rows(result, pub, pol)
    comparisons, family = _published_comparisons(result, pub, pol, view, reference)
    pooled = _published_pooled(result, view, release, entry, strata)
    unknown = [
        {"stage": u.stage, "unknown": pub(u.stage, "unknown"),
         "share": _r(published_rate(pub(u.stage, "unknown"), pub(u.stage), pol))}
        for u in result.unknown
    ]
    hidden = sum(1 for r in rows for c in ("entered", "passed", "failed", "withdrew", "pending")
                 if is_suppressed(r[c]))
    total = len(rows) * 5
    pending = gate_sum(*[r["pending"] for r in rows])
    quality = {
        "cells_shown": total,
        "cells_hidden": hidden,
        "hidden_share": (hidden / total) if total else 0.0,
        "pending_total": pending,
        "unknown_at_first_stage": unknown[0]["unknown"] if unknown else 0,
        "source_suppressed": source_hidden > 0,
        "advice": _advice(entry, hidden, total),
    }
    excluded = [{"group": g, "reason_code": code} for g, code in result.excluded_groups.items()]
    report = FunnelReport(
        key=entry.key, zone=zone, period=period,
        zone_label=zone_obj.name(lang) if zone_obj is not None else _all_label(lang),
        period_label=_period_label(entry), reference=reference, view=view, test=test,
        k=pol.k, min_denominator=pol.min_denominator, stages=result.stages,
        groups=[g for g in ("belgian_origin", "eu_background", "non_eu_background", "unknown")
                if g in set(counts["group"])],
        rows=rows, comparisons=comparisons, pooled=pooled, unknown=unknown, quality=quality,
        excluded_groups=excluded, family_size=family, synthetic=_is_demo(),
    )
    _add_representation(report, zone_obj, pol, pub)
    if report.stages:
        _add_conversion(report, pol, pub)
    return report


def _all_label(lang: str) -> str:
    return {"nl": "Alle zones", "fr": "Toutes les zones"}.get(lang, "All zones")


def _period_label(entry: funnel_data.CatalogueEntry) -> str:
    kind, value = entry.period.split(":", 1)
    return f"campaign {value}" if kind == "campaign" else f"year {value}"


def _is_demo() -> bool:
    return bool(db.session.scalar(
        select(func.count(Upload.id)).where(Upload.filename.like("demo_%"))))


def _advice(entry, hidden: int, total: int) -> list[str]:
    advice = []
    if total and hidden / total > 0.2:
        advice.append("pool_year" if entry.campaign else "pool_zones")
    return advice


def _published_rows(result, pub, pol) -> list[dict[str, Any]]:
    rows = []
    first = result.stages[0] if result.stages else None
    for g in result.groups:
        entered = pub(g.stage, g.group)
        n = {o: pub(g.stage, g.group, o) for o in OUTCOMES}
        decisions = gate_sum(n["passed"], n["failed"])
        retention_base = gate_sum(n["passed"], n["failed"], n["withdrew"])
        pass_rate = published_rate(n["passed"], decisions, pol)
        retention = published_rate(n["passed"], retention_base, pol)
        dec_ci = gate_interval(*(_ci(g.decision_ci)), is_suppressed(pass_rate) or g.decision_ci is None)
        ret_ci = gate_interval(*(_ci(g.retention_ci)), is_suppressed(retention) or g.retention_ci is None)
        rows.append({
            "stage": g.stage, "group": g.group, "entered": entered, **n,
            "pass_rate": _rate(pass_rate), "pass_rate_low": _lo(dec_ci),
            "pass_rate_high": _hi(dec_ci),
            "retention_rate": _rate(retention), "retention_rate_low": _lo(ret_ci),
            "retention_rate_high": _hi(ret_ci),
            "cumulative": _rate(published_rate(n["passed"], pub(first, g.group), pol)),
            "share": _rate(published_rate(entered, pub(g.stage), pol)),
        })
    return rows


def _ci(ci):
    return (ci.low, ci.high) if ci is not None else (0.0, 0.0)


def _r(value, digits: int = 4):
    if is_suppressed(value) or value is None:
        return value
    return round(float(value), digits)


def _rate(value):
    """A rate, share or ratio as published: *not* rounded here. The pages, the PDF and the CLI
    round it once for display (one decimal of a percent, two of a ratio); rounding it to 4
    digits first made 20/37 = 0.54054 show as 54.0 % (0.5405 -> 54.05 -> 54.0) instead of
    54.1 % (issue 16 item 10)."""
    if is_suppressed(value) or value is None:
        return value
    return float(value)


def _lo(ci):
    return SUPPRESSED if is_suppressed(ci) else float(ci[0])


def _hi(ci):
    return SUPPRESSED if is_suppressed(ci) else float(ci[1])


def _published_comparisons(result, pub, pol, view, reference):
    out = []
    family = 0
    for row in result.impact:
        if row.view != view:
            continue
        family = max(family, row.family_size)
        c = row.comparison
        not_pass = ("failed",) if view == "decision" else ("failed", "withdrew")
        f_pass = pub(row.stage, row.focal, "passed")
        f_not = gate_sum(*(pub(row.stage, row.focal, o) for o in not_pass))
        r_pass = pub(row.stage, reference, "passed")
        r_not = gate_sum(*(pub(row.stage, reference, o) for o in not_pass))
        hidden = any_hidden(f_pass, f_not, r_pass, r_not)
        f_rate = published_rate(f_pass, gate_sum(f_pass, f_not), pol)
        r_rate = published_rate(r_pass, gate_sum(r_pass, r_not), pol)
        ratio = gate_ratio(f_rate, r_rate)
        ratio_ci = gate_interval(*(_ci(c.ratio_ci)), hidden or is_suppressed(ratio)
                                 or c.ratio_ci is None)
        diff = SUPPRESSED if any_hidden(f_rate, r_rate) else rounded(c.difference_pp, 1)
        p_raw = c.test.p_value
        p_adj = row.adjusted_p
        tier = row.tier
        out.append({
            "stage": row.stage, "group": row.focal, "reference": reference, "view": view,
            "focal_rate": _rate(f_rate), "reference_rate": _rate(r_rate),
            "impact_ratio": _rate(ratio), "ratio_low": _lo(ratio_ci),
            "ratio_high": _hi(ratio_ci),
            "difference_points": diff,
            "odds_ratio": rounded(c.odds.estimate if c.odds else None, 3, hidden),
            "fail_rate_ratio": rounded(c.fail_rate_ratio, 3, hidden),
            "test": c.test.name, "tails": c.test.tails,
            "p_value": _p_text(gate_p(p_raw, hidden)),
            "p_adjusted": _p_text(gate_p(p_adj, hidden)) if p_adj is not None else None,
            "adjustment": row.adjustment, "family_size": row.family_size,
            "shortfall": rounded(float(c.shortfall) if c.shortfall is not None else None, 1,
                                 hidden),
            "flip_robust": None if row.flip is None else row.flip.robust,
            **_verdict_fields(row, hidden),
            "tier": tier.tier.upper(), "reason_code": tier.reason_code,
            "reason_params": _reason_params(tier, hidden, pol),
            "reason": _reason_text(tier.reason_code, tier.tier, pol,
                                   p_adj if p_adj is not None else None),
        })
    return out, family


def _verdict_fields(row, hidden: bool) -> dict[str, Any]:
    """The verdict's numbers (issue 16): derived from the counts, so hidden with them."""
    crude = row.crude_tier if row.crude_tier is not None else row.tier
    params = crude.params
    bd = row.breslow_day_p
    fragile = None if row.flip is None else row.flip.significance_fragile
    return {
        "significance_fragile": SUPPRESSED if hidden and fragile is not None else fragile,
        "persons_to_four_fifths": _hidden_or(params.get("persons_to_four_fifths"), hidden),
        "power_at_four_fifths": rounded(params.get("power_at_four_fifths"), 3, hidden)
        if params.get("power_at_four_fifths") is not None else None,
        "more_campaigns_for_power": _hidden_or(params.get("more_campaigns_for_power"), hidden),
        "power_at_half": rounded(params.get("power_at_half"), 3, hidden)
        if params.get("power_at_half") is not None else None,
        "more_campaigns_for_power_half": _hidden_or(params.get("more_campaigns_for_power_half"),
                                                    hidden),
        "headline": row.headline,
        "strata_disagree": row.headline == "stratified",
        "breslow_day_p": _p_text(gate_p(bd, hidden)) if bd is not None else None,
        "crude_tier": crude.tier.upper(),
    }


def _hidden_or(value, hidden: bool):
    return SUPPRESSED if hidden and value is not None else value


def _p_text(p) -> Any:
    """p-values are published as text: exact to 4 decimals, or a band."""
    if is_suppressed(p) or p is None or isinstance(p, str):
        return p
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def _reason_params(tier, hidden: bool, pol) -> dict[str, Any]:
    """Only parameters that reveal no count: thresholds, and p as a band."""
    params = {"min_denominator": pol.min_denominator, "threshold": 0.8}
    if tier.params.get("adjusted_p") is not None:
        params["p_band"] = coarsen_p(tier.params["adjusted_p"])
    # Derived from the counts: only when they are published (and never for the stratified
    # headline, whose numbers come from stratum cells this check does not cover).
    if not hidden and tier.reason_code != "strata_disagree":
        for key in ("persons_to_four_fifths", "more_campaigns_for_power",
                    "more_campaigns_for_power_half"):
            if tier.params.get(key) is not None:
                params[key] = tier.params[key]
        if tier.params.get("power_at_four_fifths") is not None:
            params["power"] = round(100 * tier.params["power_at_four_fifths"])
        if tier.params.get("power_at_half") is not None:
            params["power_half"] = round(100 * tier.params["power_at_half"])
    return params


_REASONS = {
    "too_few_focal": "Too few to tell: fewer than {n} decisions in this group.",
    "too_few_reference": "Too few to tell: fewer than {n} decisions in the reference group.",
    "no_reference_passers": "Too few to tell: nobody in the reference group passed.",
    "interval_reaches_below_four_fifths": "Too few to tell: the 95% interval of the impact "
                                          "ratio reaches below 0.8, so these numbers cannot "
                                          "show that there is no disproportionate drop-out.",
    "strata_disagree": "Strata disagree: see each campaign/zone. The comparison shown is the "
                       "stratified one, not the total of all campaigns/zones.",
}


def _reason_text(code: str, tier: str, pol, p_adj) -> str:
    """Plain-language reason rebuilt from the code, without raw counts (they may be hidden)."""
    if code in _REASONS:
        return _REASONS[code].format(n=pol.min_denominator)
    band = coarsen_p(p_adj) if p_adj is not None else None
    texts = {
        "red": "Disproportionate drop-out: the pass rate is below four-fifths of the reference "
               f"group's, the difference is statistically significant (adjusted p {band}) and "
               "it holds if one more candidate had passed.",
        "amber": "Watch: a large or significant gap, but not all of: ratio below 0.8, "
                 f"significant after correction (adjusted p {band}), robust to one candidate.",
        "green": "No disproportionate drop-out at this stage: the pass rate is not "
                 f"significantly lower (adjusted p {band}) and the 95% interval of the impact "
                 "ratio excludes ratios below 0.8.",
    }
    return texts.get(tier, code)


def _published_pooled(result, view, release, entry, strata) -> list[dict[str, Any]]:
    """Pooled statistics over strata (campaigns or zones), from the published counts.

    Where a stratum cell behind a comparison was hidden at source, the pooled statistic leaves
    that stratum out and would mislead, so only coarse results are shown (p band, direction,
    homogeneity verdict).
    """
    if not strata:
        return []
    part = release.published.cells
    if entry.zone != ALL:
        part = part[part["zone"] == entry.zone]
    hidden_stage_groups = {
        (s, g) for s, g, v in zip(part["stage"], part["group"], part["n"], strict=True)
        if is_suppressed(v)
    }
    out = []
    for row in result.pooled:
        if row.view != view:
            continue
        r = row.result
        hidden = (row.stage, row.focal) in hidden_stage_groups or (
            row.stage, row.reference) in hidden_stage_groups
        ci = r.mh_odds_ratio_ci
        out.append({
            "stage": row.stage, "group": row.focal, "reference": row.reference,
            "strata": ",".join(row.strata), "n_strata": len(r.strata),
            "standardized_ratio": rounded(
                float(r.standardized_ratio) if r.standardized_ratio is not None else None, 3,
                hidden),
            "mh_odds_ratio": rounded(r.mh_odds_ratio, 3, hidden),
            "mh_ci_low": rounded(ci[0] if ci else None, 3, hidden),
            "mh_ci_high": rounded(ci[1] if ci else None, 3, hidden),
            "test": r.test_used,
            "p_value": _p_text(gate_p(r.p_value, hidden)) if r.p_value is not None else None,
            "p_adjusted": _p_text(gate_p(row.adjusted_p, hidden))
            if row.adjusted_p is not None else None,
            "homogeneous": r.homogeneous,
            "breslow_day_p": _p_text(gate_p(r.breslow_day_p_value, hidden))
            if r.breslow_day_p_value is not None else None,
            "strata_disagree": bool(strata_disagreement(r)),
            "recommendation": r.recommendation,
            "simpson": bool(r.simpson),
        })
    return out


def _add_representation(report: FunnelReport, zone_obj, pol, pub) -> None:
    """Group shares at each stage vs the zone's eligible pool, through the gate.

    Benchmark: Belgian nationals of the candidate age band (``benchmark_for_zone``, kind
    ``flow``). Every stage is shown (persons who entered it; for the last stage, those who
    passed it: the hires); only the two flows are tested, applicants (first stage) and hires,
    with Holm over those rows (``representation_against_benchmark``). A stage with a hidden
    count publishes no share and is not tested, nor is a flow of fewer than MIN_DENOMINATOR
    persons of known background (its share is not published either). Everything is computed from the published
    (rounded) counts.
    """
    try:
        from hrpipeline.services.benchmarks import benchmark_for_zone
    except ImportError:  # benchmarks service not installed yet
        return
    if zone_obj is None or not report.stages:
        return
    bench = benchmark_for_zone(zone_obj.id, kind="flow")
    if bench is None:
        return
    from hrpipeline.analysis.representation import representation_against_benchmark

    first, last = report.stages[0], report.stages[-1]
    known = [g for g in report.groups if g != "unknown"]
    populations = []
    for stage in report.stages:
        outcome = "passed" if stage == last else None
        populations.append((stage, {g: pub(stage, g, outcome) for g in report.groups}))
    # A stage with any hidden group count publishes no shares (they would give it back).
    hidden_pops = {name for name, p in populations if any_hidden(*p.values())}
    clean = [(name, {g: (0 if is_suppressed(v) else int(v)) for g, v in p.items()})
             for name, p in populations]
    # Tested: the flows whose shares are published (no hidden count, a base of at least
    # MIN_DENOMINATOR persons of known background).
    known_total = {name: sum(p[g] for g in known) for name, p in clean}
    tested = [s for s in dict.fromkeys((first, last))
              if s not in hidden_pops and known_total[s] >= pol.min_denominator]
    benchmark = bench.as_analysis()
    # Pure function of the published populations and the benchmark: computed once per
    # combination (its exact binomial intervals cost ~0.1 s per zone report).
    key = (repr(clean), repr(benchmark), tuple(tested))
    with _cache_lock:
        result = _representation_cache.get(key)
    if result is None:
        result = representation_against_benchmark(clean, benchmark,
                                                   tested_populations=tested)
        with _cache_lock:
            _representation_cache[key] = result
            while len(_representation_cache) > 256:
                _representation_cache.popitem(last=False)
    report.benchmark_label = result.source_label
    report.benchmark_scope = bench.population_scope
    report.representation_family = result.family_size
    raw = dict(populations)
    for row in result.rows:
        hidden = row.population in hidden_pops
        share = published_rate(row.observed, row.n, pol) if not hidden else SUPPRESSED
        counts = raw[row.population]
        report.representation.append({
            "stage": row.population, "group": row.group,
            "flow": ("applicants" if row.population == first else
                     "hires" if row.population == last else None),
            "known": gate_sum(*[counts[g] for g in known]),
            "unknown": counts.get("unknown", 0),
            "share": _rate(share), "benchmark_share": round(row.benchmark_share, 4),
            "gap_points": rounded(row.gap_points, 1, is_suppressed(share)),
            "ratio": rounded(row.ratio, 3, is_suppressed(share)),
            "sd": rounded(row.sd, 1, is_suppressed(share)),
            "p_value": _p_text(row.p_value) if row.verdict != "not_tested" else None,
            "p_adjusted": _p_text(row.p_adjusted) if row.verdict != "not_tested" else None,
            "verdict": row.verdict,
            "benchmark_label": row.source_label, "is_fallback": row.is_fallback,
        })


def _add_conversion(report: FunnelReport, pol, pub) -> None:
    """Application-to-appointment ratio per group, from the published (rounded) counts."""
    from hrpipeline.analysis.conversion import application_to_appointment

    first, last = report.stages[0], report.stages[-1]
    known = [g for g in report.groups if g != "unknown"]
    applicants = {g: pub(first, g) for g in known}
    hires = {g: pub(last, g, "passed") for g in known}
    clean_a = {g: 0 if is_suppressed(v) else int(v) for g, v in applicants.items()}
    clean_h = {g: 0 if is_suppressed(v) else int(v) for g, v in hires.items()}
    ref_hidden = any_hidden(applicants.get(report.reference), hires.get(report.reference))
    for c in application_to_appointment(clean_a, clean_h, report.reference):
        hidden = any_hidden(applicants[c.group], hires[c.group])
        rate = published_rate(hires[c.group], applicants[c.group], pol)
        no_rate = is_suppressed(rate) or rate is None
        ci = gate_interval(c.rate_low if c.rate_low is not None else 0.0,
                           c.rate_high if c.rate_high is not None else 0.0,
                           hidden or no_rate or c.rate_low is None)
        ref_rate = published_rate(hires.get(report.reference, 0),
                                  applicants.get(report.reference, 0), pol)
        ratio_hidden = (no_rate or ref_hidden or is_suppressed(ref_rate)
                        or ref_rate is None or c.ratio is None)
        report.conversion.append({
            "group": c.group, "applicants": applicants[c.group], "hires": hires[c.group],
            "rate": _rate(rate), "rate_low": _lo(ci), "rate_high": _hi(ci),
            "ratio": None if c.group == report.reference else
            rounded(c.ratio, 3, ratio_hidden and c.ratio is not None),
            "ratio_low": None if c.group == report.reference or c.ratio_low is None else
            rounded(c.ratio_low, 3, ratio_hidden),
            "ratio_high": None if c.group == report.reference or c.ratio_high is None else
            rounded(c.ratio_high, 3, ratio_hidden),
        })
