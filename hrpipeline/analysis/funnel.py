"""Recruitment-funnel statistics by migration background, with adverse-impact flags.

Input is an aggregated counts frame (the database does the GROUP BY) with columns ``stage``,
``group`` (``hrpipeline.domain.BACKGROUNDS``), ``outcome`` (``hrpipeline.domain.OUTCOMES``), ``n``
and optionally strata columns (``zone``, ``campaign``, ``year``). All results are *raw*
(unsuppressed): every derived number sits next to the counts behind it so that the service
layer can pass it through the suppression gate.

Per stage and group (definitions in ``docs/statistics-funnel.md``)::

    entered             = passed + failed + withdrew + pending
    decision pass rate  = passed / (passed + failed)            (employment-law adverse-impact view)
    funnel retention    = passed / (passed + failed + withdrew)  (left for any reason)
    cumulative conv.    = passed at stage s / entered at the first stage (application)
    representation      = group entered / all entered (incl. unknown) at the stage

with Wilson 95% intervals (Wilson 1927; Newcombe 1998). Example: 80 passed, 40 failed,
10 withdrew -> decision rate 80/120 = 0.667, retention 80/130 = 0.615.

Adverse impact per stage x focal group vs the reference group (both views) uses
``hrpipeline.analysis.impact``; Holm's correction runs over the family of assessed
stage x focal-group comparisons of one view in one report. Pooling over strata uses
``hrpipeline.analysis.pooling``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pandas as pd

from hrpipeline.analysis.impact import (
    ADJUSTMENT,
    TESTS,
    Comparison,
    FlipCheck,
    Interval,
    Table2x2,
    Tier,
    Verdict,
    below_four_fifths,
    compare,
    flip_check,
    holm_adjust,
    impact_verdict,
    tier_from_verdict,
    wilson_interval,
)
from hrpipeline.analysis.pooling import (
    PooledResult,
    pool_strata,
    pooled_verdict,
    strata_disagreement,
)
from hrpipeline.domain import (
    BACKGROUNDS,
    DEFAULT_MIN_DENOMINATOR,
    DEFAULT_REFERENCE_GROUP,
    DEFAULT_STAGES,
    KNOWN_BACKGROUNDS,
    OUTCOMES,
    UNKNOWN,
)

VIEWS: tuple[str, ...] = ("decision", "retention")
REQUIRED_COLUMNS: tuple[str, ...] = ("stage", "group", "outcome", "n")
ALLOWED_STRATA: tuple[str, ...] = ("zone", "campaign", "year")


@dataclass
class StageGroupStats:
    """Counts and rates of one group at one stage."""

    stage: str
    group: str
    entered: int
    passed: int
    failed: int
    withdrew: int
    pending: int
    decision_rate: float | None  # passed / (passed + failed)
    decision_ci: Interval | None
    retention_rate: float | None  # passed / (passed + failed + withdrew)
    retention_ci: Interval | None
    first_stage_entered: int  # denominator of the cumulative conversion
    cumulative_conversion: float | None
    stage_entered_total: int  # all groups incl. unknown: denominator of the share
    share_entered: float | None
    last_stage_passed_total: int | None  # set at the last stage only
    share_passed: float | None  # share among passers at the last stage only

    @property
    def decisions(self) -> int:
        return self.passed + self.failed

    @property
    def retention_denominator(self) -> int:
        return self.passed + self.failed + self.withdrew

    def to_record(self) -> dict[str, Any]:
        return {
            "stage": self.stage, "group": self.group, "entered": self.entered,
            "passed": self.passed, "failed": self.failed, "withdrew": self.withdrew,
            "pending": self.pending, "decisions": self.decisions,
            "decision_rate": self.decision_rate,
            "decision_ci_low": _lo(self.decision_ci), "decision_ci_high": _hi(self.decision_ci),
            "retention_denominator": self.retention_denominator,
            "retention_rate": self.retention_rate,
            "retention_ci_low": _lo(self.retention_ci),
            "retention_ci_high": _hi(self.retention_ci),
            "first_stage_entered": self.first_stage_entered,
            "cumulative_conversion": self.cumulative_conversion,
            "stage_entered_total": self.stage_entered_total,
            "share_entered": self.share_entered,
            "last_stage_passed_total": self.last_stage_passed_total,
            "share_passed": self.share_passed,
        }


@dataclass
class UnknownBackground:
    """How many candidates at a stage have no known background (reported, never dropped)."""

    stage: str
    unknown_entered: int
    stage_entered_total: int
    share: float | None


@dataclass
class ImpactRow:
    """One focal-vs-reference comparison at one stage in one view, with its verdict."""

    stage: str
    view: str  # "decision" or "retention"
    focal: str
    reference: str
    comparison: Comparison
    adjusted_p: float | None  # None for GREY rows (not assessed, outside the family)
    adjustment: str
    family_size: int
    flip: FlipCheck | None
    tier: Tier  # the headline verdict (the stratified one when ``headline == "stratified"``)
    verdict: Verdict | None = None  # codes and numbers of the headline verdict
    #: ``crude`` (this table's own comparison) or ``stratified`` (strata disagree: the pooled
    #: comparison over campaigns/zones is the headline, code ``strata_disagree``).
    headline: str = "crude"
    crude_tier: Tier | None = None  # the collapsed table's verdict, kept but not the headline
    breslow_day_p: float | None = None  # of the matching pooled comparison, when there is one

    def to_record(self) -> dict[str, Any]:
        c, t = self.comparison, self.comparison.table
        v = self.verdict.numbers if self.verdict is not None else {}
        crude = self.crude_tier if self.crude_tier is not None else self.tier
        return {
            "stage": self.stage, "view": self.view, "focal": self.focal,
            "reference": self.reference,
            "focal_pass": t.focal_pass, "focal_not_pass": t.focal_fail, "focal_n": t.focal_n,
            "ref_pass": t.ref_pass, "ref_not_pass": t.ref_fail, "ref_n": t.ref_n,
            "focal_rate": c.focal_rate, "ref_rate": c.ref_rate,
            "impact_ratio": None if c.ratio is None else float(c.ratio),
            "impact_ratio_exact": None if c.ratio is None else str(c.ratio),
            "below_four_fifths": below_four_fifths(c.ratio),
            "ratio_ci_low": _lo(c.ratio_ci), "ratio_ci_high": _hi(c.ratio_ci),
            "ratio_ci_haldane": c.ratio_ci_corrected,
            "difference_pp": c.difference_pp,
            "odds_ratio": None if c.odds is None else c.odds.estimate,
            "odds_ratio_ci_low": None if c.odds is None else c.odds.ci.low,
            "odds_ratio_ci_high": None if c.odds is None else c.odds.ci.high,
            "odds_ratio_haldane": None if c.odds is None else c.odds.haldane_corrected,
            "fail_rate_ratio": c.fail_rate_ratio,
            "shortfall": None if c.shortfall is None else float(c.shortfall),
            "test": c.test.test, "test_name": c.test.name, "tails": c.test.tails,
            "p_value": c.test.p_value, "adjusted_p": self.adjusted_p,
            "adjustment": self.adjustment, "family_size": self.family_size,
            "flip_robust": None if self.flip is None else self.flip.robust,
            "significance_fragile": None if self.flip is None
            else self.flip.significance_fragile,
            "persons_to_four_fifths": crude.params.get("persons_to_four_fifths"),
            "power_at_four_fifths": crude.params.get("power_at_four_fifths"),
            "more_campaigns_for_power": crude.params.get("more_campaigns_for_power"),
            "power_at_half": crude.params.get("power_at_half"),
            "more_campaigns_for_power_half": crude.params.get("more_campaigns_for_power_half"),
            "tier": self.tier.tier, "tier_label": self.tier.label,
            "reason_code": self.tier.reason_code, "reason_params": self.tier.params,
            "reason": self.tier.reason,
            "headline": self.headline,
            "strata_disagree": self.headline == "stratified",
            "disagreement": list(v.get("disagreement", [])),
            "breslow_day_p_value": self.breslow_day_p,
            "crude_tier": crude.tier, "crude_reason_code": crude.reason_code,
        }


@dataclass
class PooledRow:
    stage: str
    view: str
    focal: str
    reference: str
    strata: list[str]
    result: PooledResult
    adjusted_p: float | None = None  # Holm over the pooled family of this view
    family_size: int = 0

    def to_record(self) -> dict[str, Any]:
        r = self.result
        return {
            "stage": self.stage, "view": self.view, "focal": self.focal,
            "reference": self.reference, "strata": ",".join(self.strata),
            "n_strata": len(r.strata), "excluded_strata": r.excluded_strata,
            "observed_focal_pass": r.observed_focal_pass,
            "expected_focal_pass": _fl(r.expected_focal_pass),
            "standardized_ratio": _fl(r.standardized_ratio),
            "standardized_below_four_fifths": r.standardized_below_four_fifths,
            "mh_odds_ratio": r.mh_odds_ratio,
            "mh_ci_low": None if r.mh_odds_ratio_ci is None else r.mh_odds_ratio_ci[0],
            "mh_ci_high": None if r.mh_odds_ratio_ci is None else r.mh_odds_ratio_ci[1],
            "test": r.test_used, "p_value": r.p_value, "cmh_p_value": r.cmh_p_value,
            "exact_p_value": None if r.exact is None else r.exact.p_value,
            "adjusted_p": self.adjusted_p, "adjustment": ADJUSTMENT,
            "family_size": self.family_size,
            "breslow_day_p_value": r.breslow_day_p_value, "homogeneous": r.homogeneous,
            "recommendation": r.recommendation, "simpson": r.simpson,
            "disagreement": strata_disagreement(r),
            "messages": list(r.messages),
        }


@dataclass
class FunnelResult:
    """Everything ``analyse_funnel`` computes (raw; gate before publishing)."""

    stages: list[str]
    reference: str
    test: str
    alpha: float
    min_denominator: int
    strata: list[str]
    groups: list[StageGroupStats]
    unknown: list[UnknownBackground]
    impact: list[ImpactRow]
    pooled: list[PooledRow]
    excluded_groups: dict[str, str] = field(default_factory=dict)  # group -> reason code

    def to_records(self, table: str = "stages") -> list[dict[str, Any]]:
        """Flat records of one table: ``stages``, ``unknown``, ``impact`` or ``pooled``."""
        if table == "stages":
            return [g.to_record() for g in self.groups]
        if table == "unknown":
            return [
                {"stage": u.stage, "unknown_entered": u.unknown_entered,
                 "stage_entered_total": u.stage_entered_total, "share": u.share}
                for u in self.unknown
            ]
        if table == "impact":
            return [r.to_record() for r in self.impact]
        if table == "pooled":
            return [r.to_record() for r in self.pooled]
        raise ValueError(f"unknown table {table!r}")

    def to_frame(self, table: str = "stages") -> pd.DataFrame:
        return pd.DataFrame.from_records(self.to_records(table))

    def tiers(self, view: str = "decision") -> dict[tuple[str, str], str]:
        """``{(stage, focal): tier}`` for one view: a compact summary."""
        return {(r.stage, r.focal): r.tier.tier for r in self.impact if r.view == view}


def _lo(ci: Interval | None) -> float | None:
    return None if ci is None else ci.low


def _hi(ci: Interval | None) -> float | None:
    return None if ci is None else ci.high


def _fl(x: Fraction | None) -> float | None:
    return None if x is None else float(x)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _validate(
    counts: pd.DataFrame, stages: Sequence[str], reference: str, strata: Sequence[str], test: str
) -> dict[str, list]:
    """The checked input as plain column lists (``stage``, ``group``, ``outcome``, ``n`` and the
    strata): the frame is small and everything after this is Python loops over it, so lists
    cost less than a copy of the frame and a pandas operation per check."""
    missing = [c for c in (*REQUIRED_COLUMNS, *strata) if c not in counts.columns]
    if missing:
        raise ValueError(f"counts frame lacks columns {missing}")
    if reference not in KNOWN_BACKGROUNDS:
        raise ValueError(f"reference must be one of {KNOWN_BACKGROUNDS}, got {reference!r}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    cols = {c: counts[c].tolist() for c in ("stage", "group", "outcome", *strata)}
    for name, allowed, what in (("stage", stages, f"the stage order {list(stages)}"),
                                ("group", BACKGROUNDS, f"{BACKGROUNDS}"),
                                ("outcome", OUTCOMES, f"{OUTCOMES}")):
        bad = sorted(map(str, set(cols[name]) - set(allowed)))
        if bad:
            raise ValueError(f"{name}s {bad} are not in {what}")
    n = counts["n"]
    if not pd.api.types.is_integer_dtype(n.dtype) or n.hasnans:
        n = pd.to_numeric(n, errors="raise")
        if n.isna().any() or (n != n.round()).any():
            raise ValueError("n must be non-negative integers")
        n = n.astype("int64")
    values = n.tolist()
    if values and min(values) < 0:
        raise ValueError("n must be non-negative integers")
    cols["n"] = values
    return cols


def _cubes(cols: dict[str, list], strata: list[str]) -> tuple[dict, dict]:
    """``{(stage, group): {outcome: n}}`` and ``{(stage, group, *strata): {outcome: n}}``, every
    outcome present (0 when absent), in one pass over the (small, aggregated) frame."""
    cube: dict[tuple, dict[str, int]] = {}
    strata_cube: dict[tuple, dict[str, int]] = {}
    columns = [cols[c] for c in ("stage", "group", *strata, "outcome", "n")]
    for stage, group, *rest in zip(*columns, strict=True):
        *key, outcome, n = rest
        cell = cube.get((stage, group))
        if cell is None:
            cell = cube[(stage, group)] = dict.fromkeys(OUTCOMES, 0)
        cell[outcome] += n
        if strata:
            full = (stage, group, *key)
            cell = strata_cube.get(full)
            if cell is None:
                cell = strata_cube[full] = dict.fromkeys(OUTCOMES, 0)
            cell[outcome] += n
    return cube, strata_cube


def _table(focal: dict[str, int], ref: dict[str, int], view: str) -> Table2x2:
    if view == "decision":
        return Table2x2(focal["passed"], focal["failed"], ref["passed"], ref["failed"])
    return Table2x2(
        focal["passed"], focal["failed"] + focal["withdrew"],
        ref["passed"], ref["failed"] + ref["withdrew"],
    )


def _stage_stats(
    cube: dict[tuple, dict[str, int]], present: list[str], groups: list[str]
) -> tuple[list[StageGroupStats], list[UnknownBackground]]:
    empty = dict.fromkeys(OUTCOMES, 0)
    first, last = present[0], present[-1]
    rows: list[StageGroupStats] = []
    unknown: list[UnknownBackground] = []
    last_passed_total = sum(cube.get((last, g), empty)["passed"] for g in groups)
    for stage in present:
        total = sum(sum(cube.get((stage, g), empty).values()) for g in groups)
        unk = sum(cube.get((stage, UNKNOWN), empty).values())
        unknown.append(UnknownBackground(stage, unk, total, _rate(unk, total)))
        for g in groups:
            c = cube.get((stage, g), empty)
            entered = sum(c.values())
            dec = c["passed"] + c["failed"]
            ret = dec + c["withdrew"]
            first_entered = sum(cube.get((first, g), empty).values())
            is_last = stage == last
            rows.append(StageGroupStats(
                stage=stage, group=g, entered=entered, passed=c["passed"], failed=c["failed"],
                withdrew=c["withdrew"], pending=c["pending"],
                decision_rate=_rate(c["passed"], dec),
                decision_ci=wilson_interval(c["passed"], dec),
                retention_rate=_rate(c["passed"], ret),
                retention_ci=wilson_interval(c["passed"], ret),
                first_stage_entered=first_entered,
                cumulative_conversion=_rate(c["passed"], first_entered),
                stage_entered_total=total,
                share_entered=_rate(entered, total),
                last_stage_passed_total=last_passed_total if is_last else None,
                share_passed=_rate(c["passed"], last_passed_total) if is_last else None,
            ))
    return rows, unknown


def _assess_family(
    items: list[tuple[str, str, str, Comparison]],
    test: str,
    alpha: float,
    min_denominator: int,
    reference: str,
) -> list[ImpactRow]:
    """Holm over the assessable comparisons of one view, then flip check and tier."""
    def assessable(c: Comparison) -> bool:
        t = c.table
        return min(t.focal_n, t.ref_n) >= min_denominator and t.ref_pass > 0

    family = [i for i, item in enumerate(items) if assessable(item[3])]
    raw = [items[i][3].test.p_value for i in family]
    adjusted = dict(zip(family, holm_adjust(raw), strict=True))
    rows: list[ImpactRow] = []
    for i, (stage, view, focal, comp) in enumerate(items):
        adj = adjusted.get(i)
        flip = None
        # The flip: of the ratio (below 4/5) for the tier, of the significance for the record.
        if adj is not None and (below_four_fifths(comp.ratio) or adj < alpha):
            flip = flip_check(comp.table, raw, family.index(i), test, alpha)
        t = comp.table
        verdict = impact_verdict(
            t.focal_pass, t.focal_fail, t.ref_pass, t.ref_fail, adjusted_p=adj,
            flipped_adjusted_p=None if flip is None else flip.flipped_adjusted_p,
            alpha=alpha, min_denominator=min_denominator,
        )
        rows.append(ImpactRow(
            stage, view, focal, reference, comp, adj,
            ADJUSTMENT if adj is not None else "none (not assessed)",
            len(family), flip, tier_from_verdict(verdict), verdict,
        ))
    return rows


def _stratified_headlines(impact: list[ImpactRow], pooled: list[PooledRow]) -> None:
    """Simpson's paradox guard: where the strata disagree (Breslow-Day p < alpha, or the
    stratified result contradicts the collapsed one), the stratified verdict becomes the
    headline of the comparison and the crude verdict is kept apart (``crude_tier``).

    Only comparisons that were assessed are switched: a group too small for a verdict on the
    collapsed table is no larger when split into strata.
    """
    by_key = {(r.stage, r.view, r.focal): r for r in pooled}
    for row in impact:
        match = by_key.get((row.stage, row.view, row.focal))
        if match is None:
            continue
        row.breslow_day_p = match.result.breslow_day_p_value
        if row.adjusted_p is None:
            continue
        verdict = pooled_verdict(match.result, match.adjusted_p)
        if verdict is None:
            continue
        numbers = {**verdict.numbers, "crude_tier": row.tier.tier,
                   "crude_reason_code": row.tier.reason_code}
        row.crude_tier = row.tier
        row.verdict = Verdict(verdict.tier, verdict.reason_code, numbers)
        row.tier = tier_from_verdict(row.verdict)
        row.headline = "stratified"


def analyse_funnel(
    counts: pd.DataFrame,
    stages: Sequence[str] = DEFAULT_STAGES,
    reference: str = DEFAULT_REFERENCE_GROUP,
    strata: Sequence[str] = (),
    test: str = "fisher",
    alpha: float = 0.05,
    min_denominator: int = DEFAULT_MIN_DENOMINATOR,
) -> FunnelResult:
    """Funnel statistics, adverse-impact tiers and (with ``strata``) pooled comparisons.

    Example::

        >>> df = pd.DataFrame({"stage": ["interview"] * 4,
        ...     "group": ["belgian_origin"] * 2 + ["non_eu_background"] * 2,
        ...     "outcome": ["passed", "failed"] * 2, "n": [80, 40, 12, 36]})
        >>> r = analyse_funnel(df)
        >>> r.tiers()[("interview", "non_eu_background")]
        'red'
    """
    strata = list(strata)
    cols = _validate(counts, stages, reference, strata, test)
    stages_seen = set(cols["stage"])
    present = [s for s in stages if s in stages_seen]
    excluded: dict[str, str] = {UNKNOWN: "unknown_not_compared"}
    result = FunnelResult(
        stages=present, reference=reference, test=test, alpha=alpha,
        min_denominator=min_denominator, strata=strata, groups=[], unknown=[], impact=[],
        pooled=[], excluded_groups=excluded,
    )
    if not present:
        return result
    seen = set(cols["group"])
    groups = [g for g in BACKGROUNDS if g in seen]
    cube, strata_cube = _cubes(cols, strata)
    result.groups, result.unknown = _stage_stats(cube, present, groups)

    focal_groups = [g for g in KNOWN_BACKGROUNDS if g != reference and g in seen]
    for g in KNOWN_BACKGROUNDS:
        if g != reference and g not in seen:
            excluded[g] = "absent"
    if reference not in seen:
        excluded[reference] = "reference_absent"
    empty = dict.fromkeys(OUTCOMES, 0)
    for view in VIEWS:
        items = [
            (stage, view, focal, compare(
                _table(cube.get((stage, focal), empty), cube.get((stage, reference), empty), view),
                test, alpha,
            ))
            for stage in present
            for focal in focal_groups
        ]
        result.impact.extend(_assess_family(items, test, alpha, min_denominator, reference))

    if strata:
        result.pooled = _pooled(strata_cube, present, focal_groups, reference, strata, alpha, test)
        _stratified_headlines(result.impact, result.pooled)
    return result


def _pooled(
    cube: dict[tuple, dict[str, int]],
    present: list[str],
    focal_groups: list[str],
    reference: str,
    strata: list[str],
    alpha: float,
    test: str,
) -> list[PooledRow]:
    stratum_keys = sorted({k[2:] for k in cube}, key=lambda k: tuple(map(str, k)))
    empty = dict.fromkeys(OUTCOMES, 0)
    rows: list[PooledRow] = []
    for view in VIEWS:
        view_rows: list[PooledRow] = []
        for stage in present:
            for focal in focal_groups:
                tables, labels = [], []
                for key in stratum_keys:
                    f = cube.get((stage, focal, *key), empty)
                    r = cube.get((stage, reference, *key), empty)
                    if sum(f.values()) + sum(r.values()) == 0:
                        continue
                    tables.append(_table(f, r, view))
                    labels.append("/".join(map(str, key)))
                if not tables:
                    continue
                pooled = pool_strata(tables, labels, alpha=alpha, crude_test=test)
                view_rows.append(PooledRow(stage, view, focal, reference, strata, pooled))
        tested = [i for i, r in enumerate(view_rows) if r.result.p_value is not None]
        adj = holm_adjust([view_rows[i].result.p_value for i in tested])  # type: ignore[misc]
        for i, p in zip(tested, adj, strict=True):
            view_rows[i].adjusted_p = p
        for r in view_rows:
            r.family_size = len(tested)
        rows.extend(view_rows)
    return rows
