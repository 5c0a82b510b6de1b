"""Funnel report for one catalogue entry: load in the user's scope → analyse → suppress.

Releases (docs/disclosure-control.md):

* A **zone release** is everything published about one zone and one campaign year: the
  stage × group × outcome table of every campaign and of the whole year, with their margins.
  These tables share cells, so they pass ``suppression.protect`` **together**, with the
  funnel identity ``passed(s) = entered(s+1)`` known to the attacker and with the
  suppression memory of earlier releases. Zones share no cells, so their releases are
  independent.
* The **all-zone pool** of a year is derived from the zone releases: a pooled cell is
  published only when every zone cell behind it is published (it is then their sum, which
  anyone could compute), otherwise it is hidden. The pool therefore adds no information to
  what the zone releases publish, and cannot be differenced against them.

Reports read their counts from these published cells and derive every rate, ratio,
interval and p-value through the gate helpers; a statistic whose counts include a hidden
cell is hidden or coarsened.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from hrpipeline.analysis.funnel import analyse_funnel
from hrpipeline.analysis.suppression import (
    SUPPRESSED,
    TOTAL,
    Policy,
    ProtectedRelease,
    cell_key_from_str,
    cell_key_str,
    coarsen_p,
    funnel_relations,
    gate_interval,
    gate_p,
    gate_rate,
    gate_ratio,
    gate_sum,
    is_suppressed,
    protect,
)
from hrpipeline.domain import DEFAULT_REFERENCE_GROUP, KNOWN_BACKGROUNDS, OUTCOMES
from hrpipeline.errors import NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import (
    CountRecord,
    ReleaseCache,
    SuppressionMemory,
    Upload,
    User,
    Zone,
)
from hrpipeline.services import funnel_data
from hrpipeline.services.publish import (
    any_hidden,
    csv_comment,
    csv_text,
    policy,
    rounded,
    to_json,
)
from hrpipeline.services.scope import ALL, resolve_zone

DIMS = ("zone", "campaign", "stage", "group", "outcome")
LEVELS = (
    ("zone", "campaign", "stage", "group", "outcome"),
    ("zone", "campaign", "stage", "group"),
    ("zone", "campaign", "stage"),
    ("zone", "stage", "group", "outcome"),
    ("zone", "stage", "group"),
    ("zone", "stage"),
    ("stage", "group", "outcome"),
    ("stage", "group"),
    ("stage",),
)
VIEWS = ("decision", "retention")
TESTS = ("fisher", "midp", "boschloo", "ztest")


# --- the protected release of one year -------------------------------------------------------


class PublishedCells:
    """The published values of a protected release: what reports may read.

    Built from ``protect()``'s result, or from the database cache so that a release is
    computed once per data version for every worker. ``status`` is internal (never shown).
    """

    def __init__(self, dims, cells: pd.DataFrame, policy: Policy, audit_passed: bool,
                 elapsed_ms: float):
        self.dims = tuple(dims)
        self.cells = cells
        self.policy = policy
        self.audit_passed = audit_passed
        self.elapsed_ms = elapsed_ms
        keys = cells[list(self.dims)].itertuples(index=False, name=None)
        self._index = {tuple(k): v for k, v in zip(keys, cells["published_value"], strict=True)}

    def value(self, level, **key):
        lev = tuple(d for d in self.dims if d in tuple(level))
        k = tuple(key[d] if d in lev else TOTAL for d in self.dims)
        if k not in self._index:
            raise KeyError(k)
        return self._index[k]

    def hidden_count(self) -> tuple[int, int]:
        hidden = int((self.cells["status"] != "published").sum())
        return hidden, len(self.cells)

    @classmethod
    def from_protected(cls, protected: ProtectedRelease) -> PublishedCells:
        cells = protected.cells[[*protected.dims, "status", "published_value"]].copy()
        return cls(protected.dims, cells, protected.policy, protected.audit.passed,
                   protected.elapsed_ms)

    def to_payload(self) -> str:
        rows = [[*(str(v) for v in key), status, None if is_suppressed(v) else int(v)]
                for key, status, v in zip(
                    self.cells[list(self.dims)].itertuples(index=False, name=None),
                    self.cells["status"], self.cells["published_value"], strict=True)]
        return json.dumps({"dims": list(self.dims), "audit_passed": self.audit_passed,
                           "rows": rows})

    @classmethod
    def from_payload(cls, text: str, policy: Policy, elapsed_ms: float) -> PublishedCells:
        data = json.loads(text)
        dims = data["dims"]
        frame = pd.DataFrame([r[: len(dims) + 1] for r in data["rows"]],
                             columns=[*dims, "status"])
        frame["published_value"] = pd.Series(
            [SUPPRESSED if r[-1] is None else int(r[-1]) for r in data["rows"]], dtype=object)
        return cls(dims, frame, policy, data["audit_passed"], elapsed_ms)


@dataclass
class Release:
    year: int
    inner: pd.DataFrame
    protected: PublishedCells
    stages: list[str]
    #: ``analyse_funnel`` results per (entry, reference, test): the analysis is a pure function
    #: of the release's counts, so it is computed once per release (i.e. per data version)
    #: instead of on every request (the load test showed it dominating warm requests).
    analyses: dict = field(default_factory=dict, repr=False, compare=False)


_cache: OrderedDict[tuple, Release] = OrderedDict()
_cache_lock = threading.Lock()
_representation_cache: OrderedDict[tuple, object] = OrderedDict()
_CACHE_SIZE = 16


def data_version(zone_id: int | None = None) -> str:
    """Changes whenever an extract (of this zone, or of any zone) is stored or replaced."""
    uploads = select(func.count(Upload.id), func.max(Upload.id), func.max(Upload.created_at)
                     ).where(Upload.status == "stored")
    counts = select(func.count(CountRecord.id))
    if zone_id is not None:
        uploads = uploads.where(Upload.zone_id == zone_id)
        counts = counts.where(CountRecord.zone_id == zone_id)
    return "|".join(str(v) for v in (*db.session.execute(uploads).one(),
                                       db.session.scalar(counts)))


def release_key(year: int, zone: str) -> str:
    return f"funnel:{zone}:{year}"


def _policy_key(pol: Policy) -> str:
    return f"k={pol.k};den={pol.min_denominator};ext={pol.extreme_rate_min_base}"


def _memory(key: str) -> set:
    rows = db.session.scalars(
        select(SuppressionMemory.cell_key).where(SuppressionMemory.release_key == key)
    )
    return {cell_key_from_str(r) for r in rows}


def _remember(key: str, known: set, hidden: frozenset) -> None:
    """Store newly hidden cells so a corrected re-upload keeps earlier suppressions."""
    new = [k for k in hidden if k not in known]
    if not new:
        return
    try:
        db.session.add_all(
            SuppressionMemory(release_key=key, cell_key=cell_key_str(k)) for k in new
        )
        db.session.commit()
    except IntegrityError:  # a concurrent request stored them first
        db.session.rollback()


def _stored(key: str, version: str, pol: Policy) -> PublishedCells | None:
    row = db.session.scalar(select(ReleaseCache).where(
        ReleaseCache.release_key == key, ReleaseCache.data_version == version,
        ReleaseCache.policy == _policy_key(pol)))
    if row is None:
        return None
    return PublishedCells.from_payload(row.payload, pol, row.elapsed_ms)


def _store(key: str, version: str, pol: Policy, cells: PublishedCells) -> None:
    try:
        db.session.execute(delete(ReleaseCache).where(ReleaseCache.release_key == key))
        db.session.add(ReleaseCache(release_key=key, data_version=version,
                                    policy=_policy_key(pol), payload=cells.to_payload(),
                                    elapsed_ms=cells.elapsed_ms))
        db.session.commit()
    except IntegrityError:  # another worker stored the same release first
        db.session.rollback()


ZONE_LEVELS = tuple(level for level in LEVELS if "zone" in level)
POOL_LEVELS = tuple(level for level in LEVELS if "zone" not in level)


def _cached(key: tuple, build):
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = build()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _stage_order(inner: pd.DataFrame) -> list[str]:
    zones = sorted(inner["zone"].unique())
    stages = funnel_data.zone_stages(zones)
    return stages + sorted(set(inner["stage"]) - set(stages))


def get_zone_release(zone: Zone, year: int) -> Release:
    """The protected release of one zone and campaign year (process and database cache)."""
    pol = policy()
    version = data_version(zone.id)
    url = db.engine.url.render_as_string()

    def build() -> Release:
        inner = funnel_data.funnel_counts(year, zones=[zone])
        if inner.empty:
            raise NotFound(f"No funnel data for {zone.code} in {year}.")
        stages = _stage_order(inner)
        key = release_key(year, zone.code)
        cells = _stored(key, version, pol)
        if cells is None:
            known = _memory(key)
            relations = funnel_relations(inner, DIMS, stages=stages)
            protected = protect(inner, DIMS, ZONE_LEVELS, pol, force_hidden=known,
                                extra_equalities=relations)
            _remember(key, known, protected.hidden_keys())
            cells = PublishedCells.from_protected(protected)
            _store(key, version, pol, cells)
        return Release(year=year, inner=inner, protected=cells, stages=stages)

    return _cached((url, "zone", zone.code, year, version, pol), build)


def _pool_cells(zone_cells: list[PublishedCells], pol: Policy) -> pd.DataFrame:
    """Pooled cells: the sum where every zone cell behind it is published, else hidden."""
    frames = []
    for level in POOL_LEVELS:
        zone_level = ("zone", *level)
        parts = []
        for cells in zone_cells:
            c = cells.cells
            summed = [d for d in DIMS if d not in zone_level]
            mask = (c[summed] == TOTAL).all(axis=1) & (c[list(zone_level)] != TOTAL).all(axis=1)
            parts.append(c[mask])
        part = pd.concat(parts, ignore_index=True)
        if part.empty:
            continue
        hidden = part["published_value"].map(is_suppressed)
        value = part["published_value"].map(lambda v: 0 if is_suppressed(v) else int(v))
        grouped = pd.DataFrame({**{d: part[d] for d in level}, "hidden": hidden,
                                "value": value}).groupby(list(level), sort=False).agg(
            hidden=("hidden", "any"), value=("value", "sum")).reset_index()
        out = pd.DataFrame({d: (grouped[d] if d in level else TOTAL) for d in DIMS})
        out["status"] = grouped["hidden"].map(lambda h: "secondary" if h else "published")
        out["published_value"] = pd.Series(
            [SUPPRESSED if h else int(v) for h, v in zip(grouped["hidden"], grouped["value"],
                                                         strict=True)], dtype=object)
        frames.append(out)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=[*DIMS, "status", "published_value"])


def get_release(year: int) -> Release:
    """Every zone's release of a year plus the derived all-zone pool, as one release.

    Cached in the process per data version (of all zones) like the zone releases: the pool is
    a pure function of them, and rebuilding it took ~0.1 s per pooled request.
    """
    pol = policy()

    def build() -> Release:
        zones = funnel_data.zones_with_data(year)
        if not zones:
            raise NotFound(f"No funnel data for {year}.")
        releases = [get_zone_release(z, year) for z in zones]
        cells = pd.concat([r.protected.cells for r in releases]
                          + [_pool_cells([r.protected for r in releases], pol)],
                          ignore_index=True)
        inner = pd.concat([r.inner for r in releases], ignore_index=True)
        published = PublishedCells(
            DIMS, cells, pol, all(r.protected.audit_passed for r in releases),
            sum(r.protected.elapsed_ms for r in releases))
        return Release(year=year, inner=inner, protected=published, stages=_stage_order(inner))

    return _cached((db.engine.url.render_as_string(), "pool", year, data_version(), pol), build)


def warm_releases() -> list[tuple[str, int, float]]:
    """Compute every zone-year release now (after an import or the demo load)."""
    out = []
    for year in funnel_data.years_with_data():
        for zone in funnel_data.zones_with_data(year):
            release = get_zone_release(zone, year)
            out.append((zone.code, year, release.protected.elapsed_ms))
    return out


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
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
    family_size: int = 0
    synthetic: bool = False

    ROW_COLUMNS = ("stage", "group", "entered", "passed", "failed", "withdrew", "pending",
                   "pass_rate", "pass_rate_low", "pass_rate_high", "retention_rate",
                   "retention_rate_low", "retention_rate_high", "cumulative", "share")
    COMPARISON_COLUMNS = ("stage", "group", "reference", "view", "focal_rate", "reference_rate",
                          "impact_ratio", "ratio_low", "ratio_high", "difference_points",
                          "odds_ratio", "fail_rate_ratio", "test", "tails", "p_value",
                          "p_adjusted", "adjustment", "family_size", "shortfall",
                          "flip_robust", "tier", "reason_code", "reason")

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
            "quality": to_json(self.quality),
            "excluded_groups": self.excluded_groups,
            "family_size": self.family_size,
            "synthetic": self.synthetic,
            "suppression": {"symbol": "x", "k": self.k,
                            "rule": "counts 1..k-1 and rates on fewer than "
                                    f"{self.min_denominator} persons are hidden"},
        }

    def to_csv(self) -> str:
        stage_part = csv_text(self.rows, self.ROW_COLUMNS)
        comp_part = csv_text(self.comparisons, self.COMPARISON_COLUMNS)
        header = csv_comment(f"{self.zone_label} / {self.period_label}; reference group "
                             f"{self.reference}; x = hidden to protect privacy (k = {self.k})")
        return header + stage_part + "\n" + comp_part


def _select(release: Release, entry: funnel_data.CatalogueEntry):
    """Raw counts of one entry, the strata to pool over, and a published-value lookup."""
    inner = release.inner
    p = release.protected
    if entry.zone == ALL:
        counts = inner
        strata = ["zone", "campaign"]

        def pub(stage, group=None, outcome=None):
            if group is None:
                return p.value(("stage",), stage=stage)
            if outcome is None:
                return p.value(("stage", "group"), stage=stage, group=group)
            return p.value(("stage", "group", "outcome"), stage=stage, group=group,
                           outcome=outcome)
    elif entry.campaign is None:
        counts = inner[inner["zone"] == entry.zone]
        strata = ["campaign"]

        def pub(stage, group=None, outcome=None):
            if group is None:
                return p.value(("zone", "stage"), zone=entry.zone, stage=stage)
            if outcome is None:
                return p.value(("zone", "stage", "group"), zone=entry.zone, stage=stage,
                               group=group)
            return p.value(("zone", "stage", "group", "outcome"), zone=entry.zone,
                           stage=stage, group=group, outcome=outcome)
    else:
        counts = inner[(inner["zone"] == entry.zone) & (inner["campaign"] == entry.campaign)]
        strata = []

        def pub(stage, group=None, outcome=None):
            kw = {"zone": entry.zone, "campaign": entry.campaign, "stage": stage}
            if group is None:
                return p.value(("zone", "campaign", "stage"), **kw)
            if outcome is None:
                return p.value(("zone", "campaign", "stage", "group"), group=group, **kw)
            return p.value(("zone", "campaign", "stage", "group", "outcome"), group=group,
                           outcome=outcome, **kw)

    def safe(stage, group=None, outcome=None):
        try:
            return pub(stage, group, outcome)
        except KeyError:  # structural zero: the combination never occurs
            return 0

    return counts, strata, safe


def _source_hidden(counts: pd.DataFrame) -> bool:
    return "source_suppressed" in counts and bool(counts["source_suppressed"].fillna(False).any())


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
    release = get_release(entry.year) if zone_obj is None else get_zone_release(
        zone_obj, entry.year)
    counts, strata, pub = _select(release, entry)
    pol = release.protected.policy
    analysis_key = (entry.key, reference, test, pol.min_denominator)
    result = release.analyses.get(analysis_key)
    if result is None:
        analysis_counts = counts[~counts["source_suppressed"].fillna(False)] if _source_hidden(
            counts) else counts
        analysis_counts = analysis_counts.assign(n=analysis_counts["n"].astype(int))
        result = analyse_funnel(
            analysis_counts[[*strata, "stage", "group", "outcome", "n"]],
            stages=release.stages, reference=reference, strata=strata, test=test,
            min_denominator=pol.min_denominator,
        )
        release.analyses[analysis_key] = result
    rows = _published_rows(result, pub, pol)
    comparisons, family = _published_comparisons(result, pub, pol, view, reference)
    pooled = _published_pooled(result, view, release, entry, strata)
    unknown = [
        {"stage": u.stage, "unknown": pub(u.stage, "unknown"),
         "share": gate_rate(pub(u.stage, "unknown"), pub(u.stage), pol)}
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
        "source_suppressed": _source_hidden(counts),
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
        pass_rate = gate_rate(n["passed"], decisions, pol)
        retention = gate_rate(n["passed"], retention_base, pol)
        dec_ci = gate_interval(*(_ci(g.decision_ci)), is_suppressed(pass_rate) or g.decision_ci is None)
        ret_ci = gate_interval(*(_ci(g.retention_ci)), is_suppressed(retention) or g.retention_ci is None)
        rows.append({
            "stage": g.stage, "group": g.group, "entered": entered, **n,
            "pass_rate": _r(pass_rate), "pass_rate_low": _lo(dec_ci),
            "pass_rate_high": _hi(dec_ci),
            "retention_rate": _r(retention), "retention_rate_low": _lo(ret_ci),
            "retention_rate_high": _hi(ret_ci),
            "cumulative": _r(gate_rate(n["passed"], pub(first, g.group), pol)),
            "share": _r(gate_rate(entered, pub(g.stage), pol)),
        })
    return rows


def _ci(ci):
    return (ci.low, ci.high) if ci is not None else (0.0, 0.0)


def _r(value, digits: int = 4):
    if is_suppressed(value) or value is None:
        return value
    return round(float(value), digits)


def _lo(ci):
    return SUPPRESSED if is_suppressed(ci) else round(ci[0], 4)


def _hi(ci):
    return SUPPRESSED if is_suppressed(ci) else round(ci[1], 4)


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
        f_rate = gate_rate(f_pass, gate_sum(f_pass, f_not), pol)
        r_rate = gate_rate(r_pass, gate_sum(r_pass, r_not), pol)
        ratio = gate_ratio(f_rate, r_rate)
        ratio_ci = gate_interval(*(_ci(c.ratio_ci)), hidden or is_suppressed(ratio)
                                 or c.ratio_ci is None)
        diff = SUPPRESSED if any_hidden(f_rate, r_rate) else rounded(c.difference_pp, 1)
        p_raw = c.test.p_value
        p_adj = row.adjusted_p
        tier = row.tier
        out.append({
            "stage": row.stage, "group": row.focal, "reference": reference, "view": view,
            "focal_rate": _r(f_rate), "reference_rate": _r(r_rate),
            "impact_ratio": _r(ratio, 3), "ratio_low": _lo(ratio_ci), "ratio_high": _hi(ratio_ci),
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
            "tier": tier.tier.upper(), "reason_code": tier.reason_code,
            "reason_params": _reason_params(tier, hidden, pol),
            "reason": _reason_text(tier.reason_code, tier.tier, pol,
                                   p_adj if p_adj is not None else None),
        })
    return out, family


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
    return params


_REASONS = {
    "too_few_focal": "Too few to tell: fewer than {n} decisions in this group.",
    "too_few_reference": "Too few to tell: fewer than {n} decisions in the reference group.",
    "no_reference_passers": "Too few to tell: nobody in the reference group passed.",
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
        "green": "No evidence of disproportionate drop-out at this stage "
                 f"(adjusted p {band}); this is not proof that there is no gap.",
    }
    return texts.get(tier, code)


def _published_pooled(result, view, release, entry, strata) -> list[dict[str, Any]]:
    """Pooled statistics over strata (campaigns or zones); gated when a stratum cell is hidden.

    An exact statistic over strata can be inverted to a hidden stratum cell, so when any
    stratum count behind it is hidden only coarse results are shown (p band, direction,
    homogeneity verdict).
    """
    if not strata:
        return []
    cells = release.protected.cells
    # Inner cells: no dimension summed.
    part = cells[(cells[list(DIMS)] != TOTAL).all(axis=1)]
    if entry.zone != ALL:
        part = part[part["zone"] == entry.zone]
    hidden_stage_groups = {
        (s, g) for s, g, v in zip(part["stage"], part["group"], part["published_value"],
                                  strict=True) if is_suppressed(v)
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
            "recommendation": r.recommendation,
            "simpson": bool(r.simpson),
        })
    return out


def _add_representation(report: FunnelReport, zone_obj, pol, pub) -> None:
    """Group shares at each stage vs the zone's population benchmark, through the gate."""
    try:
        from hrpipeline.services.benchmarks import benchmark_for_zone
    except ImportError:  # benchmarks service not installed yet
        return
    if zone_obj is None:
        return
    bench = benchmark_for_zone(zone_obj.id)
    if bench is None:
        return
    from hrpipeline.analysis.representation import representation_against_benchmark

    populations = []
    for stage in report.stages:
        populations.append((stage, {g: pub(stage, g) for g in report.groups}))
    # A stage with any hidden group count publishes no shares (they would give it back).
    hidden_pops = {name for name, p in populations if any_hidden(*p.values())}
    clean = [(name, {g: (0 if is_suppressed(v) else int(v)) for g, v in p.items()})
             for name, p in populations]
    benchmark = bench.as_analysis()
    # Pure function of the published populations and the benchmark: computed once per
    # combination (its exact binomial intervals cost ~0.1 s per zone report).
    key = (repr(clean), repr(benchmark))
    with _cache_lock:
        result = _representation_cache.get(key)
    if result is None:
        result = representation_against_benchmark(clean, benchmark)
        with _cache_lock:
            _representation_cache[key] = result
            while len(_representation_cache) > 256:
                _representation_cache.popitem(last=False)
    report.benchmark_label = result.source_label
    for row in result.rows:
        hidden = row.population in hidden_pops
        share = gate_rate(row.observed, row.n, pol) if not hidden else SUPPRESSED
        report.representation.append({
            "stage": row.population, "group": row.group,
            "share": _r(share), "benchmark_share": round(row.benchmark_share, 4),
            "gap_points": rounded(row.gap_points, 1, is_suppressed(share)),
            "ratio": rounded(row.ratio, 3, is_suppressed(share)),
            "sd": rounded(row.sd, 1, is_suppressed(share)),
            "benchmark_label": row.source_label, "is_fallback": row.is_fallback,
        })
