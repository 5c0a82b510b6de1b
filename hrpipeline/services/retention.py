"""Retention report for one zone (or the all-zone pool): load in scope → analyse → suppress.

Window: exits and flows from ``WINDOW_START`` (2015-01-01) to the extract's reference date
(``uploads.reference_date`` of the zone's latest stored workforce upload). Officers hired
before the window enter the survival analysis late (delayed entry).

Count tables are protected **jointly over every zone** (``suppression.protect``), like the
funnel release, so that the all-zone pool minus the other zones never gives back a zone's
hidden cell:

* ``flows``: leavers by zone × period × group × exit type, margins (zone, period, group),
  (zone, period) and the same pooled;
* ``stocks``: headcount at each year end by zone × year × group, margins (zone, year) and pooled;
* ``ranks``: headcount at the reference date by zone × rank × group with all margins (its
  (zone, group) margin is the closing headcount of the last, partial period);
* ``reasons``: exit reasons by zone × group × reason with all margins. It counts the same
  leavers as ``flows``, so a (zone, group) total is force-hidden wherever a flows
  whole-window (zone, group) margin is hidden (the total would give that margin back).

Every rate goes through ``gate_rate``, intervals through ``gate_interval``, p-values through
``gate_p`` (a band when a count behind them is hidden). Survival curves are published only
through ``survival.publishable_km``; figures derived from curves (median tenure, 1 − S(t),
cumulative incidence) are read from the published curve or withheld with it. No exit date,
officer reference or comment text leaves this module.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import click
import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hrpipeline.analysis import survival
from hrpipeline.analysis.retention import exit_reasons
from hrpipeline.analysis.themes import find_themes
from hrpipeline.disclosure.lp import (
    SUPPRESSED,
    TOTAL,
    DisclosureError,
    Policy,
    cell_key_from_str,
    cell_key_str,
    coarsen_p,
    display,
    gate_interval,
    gate_p,
    gate_rate,
    is_suppressed,
    protect,
)
from hrpipeline.domain import (
    BACKGROUNDS,
    BELGIAN_ORIGIN,
    DEFAULT_REFERENCE_GROUP,
    EXIT_REASONS,
    EXIT_TYPES,
    KNOWN_BACKGROUNDS,
    RANKS,
)
from hrpipeline.errors import DomainError, NotFound, ServiceUnavailable, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import ReleaseCache, SuppressionMemory, Upload, User, WorkforceRecord, Zone
from hrpipeline.services.publish import (
    any_hidden,
    csv_comment,
    csv_text,
    policy,
    rounded,
    to_json,
)
from hrpipeline.services.releases import (
    BuildOnce,
    PublishedCells,
    data_version,
    retention_family,
    retention_job,
)
from hrpipeline.services.scope import resolve_zone

WINDOW_START = dt.date(2015, 1, 1)
#: Months at which cumulative incidence is published.
CIF_MONTHS = (12, 24, 60)
#: Monte Carlo tables for the Fisher-Freeman-Halton test (p only shown to 4 decimals or as a band).
REASON_RESAMPLES = 5_000
#: The "first years" of the findings: 1 - S(24 months).
FIRST_YEARS_MONTHS = 24

FLOW_DIMS = ("zone", "period", "group", "exit_type")
#: Per zone and pooled, by period and over the whole window (period summed), each with group,
#: exit type and their margins: every leavers figure the page shows is one published cell.
FLOW_LEVELS = tuple(
    tuple(d for d in FLOW_DIMS if d in {*head, *tail})
    for head in (("zone", "period"), ("zone",), ("period",), ())
    for tail in (("group", "exit_type"), ("group",), ("exit_type",), ())
)
STOCK_DIMS = ("zone", "year", "group")
STOCK_LEVELS = (STOCK_DIMS, ("zone", "year"), ("year", "group"), ("year",))
RANK_DIMS = ("zone", "rank", "group")
RANK_LEVELS = (RANK_DIMS, ("zone", "rank"), ("zone", "group"), ("zone",),
               ("rank", "group"), ("rank",), ("group",), ())
REASON_DIMS = ("zone", "group", "reason")
REASON_LEVELS = (REASON_DIMS, ("zone", "group"), ("zone", "reason"), ("zone",),
                 ("group", "reason"), ("group",), ("reason",), ())

TURNOVER_DEFINITION = (
    "Turnover = leavers in the period / average headcount, average headcount = (headcount on the "
    "day before the period + headcount on its last day) / 2 (CIPD crude labour turnover rate); "
    "for a part year the rate is annualised (x 12 / months). Exit types are reported separately "
    "over the same average headcount: resignation (voluntary), dismissal or failed probation "
    "(involuntary), retirement, mobility (transfer to another zone) and other."
)
SURVIVAL_DEFINITION = (
    "Kaplan-Meier curves of time in service (months since hire), officers still in service are "
    "censored at the reference date and officers hired before 2015 enter late (delayed entry). "
    "A curve is shown only for groups with at least 20 officers and 10 exits, on a monthly grid, "
    "with a new step only after at least 10 officers left the risk set, and it stops before "
    "fewer than 10 officers are at risk. First-year attrition = 1 - S(12 months)."
)

GROUP_LABELS = {
    "en": {"belgian_origin": "Belgian origin", "eu_background": "an EU background",
           "non_eu_background": "a non-EU background", "unknown": "unknown background"},
    "nl": {"belgian_origin": "Belgische herkomst", "eu_background": "EU-herkomst",
           "non_eu_background": "niet-EU-herkomst", "unknown": "onbekende herkomst"},
    "fr": {"belgian_origin": "origine belge", "eu_background": "origine UE",
           "non_eu_background": "origine hors UE", "unknown": "origine inconnue"},
}
_FINDINGS = {
    "en": {
        "leave_more": "Officers with {g} leave in their first two years more often than officers "
                      "of {ref} (log-rank p {p}).",
        "leave_less": "Officers with {g} leave in their first two years less often than officers "
                      "of {ref} (log-rank p {p}).",
        "no_difference": "No clear difference in leaving during the first two years between "
                         "officers with {g} and officers of {ref} (log-rank p {p}); this is not "
                         "proof that there is no difference.",
        "too_few": "Too few officers with {g} to compare their first years in service with "
                   "officers of {ref}.",
        "below_benchmark": "Officers with {g} make up {share} of the corps, below their "
                           "{bench} share of the population ({label}).",
    },
    "nl": {
        "leave_more": "Agenten met {g} vertrekken in hun eerste twee jaar vaker dan agenten van "
                      "{ref} (log-rank p {p}).",
        "leave_less": "Agenten met {g} vertrekken in hun eerste twee jaar minder vaak dan agenten "
                      "van {ref} (log-rank p {p}).",
        "no_difference": "Geen duidelijk verschil in vertrek tijdens de eerste twee jaar tussen "
                         "agenten met {g} en agenten van {ref} (log-rank p {p}); dat bewijst "
                         "niet dat er geen verschil is.",
        "too_few": "Te weinig agenten met {g} om hun eerste dienstjaren te vergelijken met "
                   "agenten van {ref}.",
        "below_benchmark": "Agenten met {g} vormen {share} van het korps, minder dan hun aandeel "
                           "van {bench} in de bevolking ({label}).",
    },
    "fr": {
        "leave_more": "Les policiers d'{g} quittent plus souvent la zone dans leurs deux premières "
                      "années que les policiers d'{ref} (log-rank p {p}).",
        "leave_less": "Les policiers d'{g} quittent moins souvent la zone dans leurs deux "
                      "premières années que les policiers d'{ref} (log-rank p {p}).",
        "no_difference": "Pas de différence nette de départs dans les deux premières années "
                         "entre les policiers d'{g} et ceux d'{ref} (log-rank p {p}) ; ce n'est "
                         "pas la preuve qu'il n'y en a pas.",
        "too_few": "Trop peu de policiers d'{g} pour comparer leurs premières années de service "
                   "avec celles des policiers d'{ref}.",
        "below_benchmark": "Les policiers d'{g} représentent {share} du corps, moins que leur "
                           "part de {bench} dans la population ({label}).",
    },
}


# --- loading ---------------------------------------------------------------------------------


@dataclass
class WorkforceData:
    """Every zone's officers from stored workforce uploads (internal: never published)."""

    frame: pd.DataFrame  # zone, officer_ref, group columns as in the analysis modules
    reference_dates: dict[str, dt.date]  # zone code -> latest stored upload's reference date

    @property
    def release_date(self) -> dt.date:
        """One reference date for the joint tables: the earliest zone's (pool stays coherent)."""
        return min(self.reference_dates.values())


def load_workforce() -> WorkforceData:
    uploads = db.session.execute(
        select(Upload.id, Zone.code, Upload.reference_date, Upload.created_at)
        .join(Zone, Zone.id == Upload.zone_id)
        .where(Upload.kind == "workforce", Upload.status == "stored")
    ).all()
    if not uploads:
        raise NotFound("No workforce extract has been stored yet.")
    ref_dates: dict[str, dt.date] = {}
    latest: dict[str, tuple] = {}
    for uid, code, ref, created in uploads:
        ref = ref or created.date()
        if code not in latest or (ref, uid) > latest[code]:
            latest[code] = (ref, uid)
            ref_dates[code] = ref
    rows = db.session.execute(
        select(Zone.code, WorkforceRecord.upload_id, WorkforceRecord.officer_ref,
               WorkforceRecord.migration_background, WorkforceRecord.gender,
               WorkforceRecord.rank, WorkforceRecord.hire_date, WorkforceRecord.exit_date,
               WorkforceRecord.exit_type, WorkforceRecord.exit_reason,
               WorkforceRecord.exit_comment)
        .join(Zone, Zone.id == WorkforceRecord.zone_id)
        .where(WorkforceRecord.upload_id.in_([u[0] for u in uploads]))
    ).all()
    frame = pd.DataFrame(rows, columns=["zone", "upload_id", "officer_ref",
                                        "migration_background", "gender", "rank", "hire_date",
                                        "exit_date", "exit_type", "exit_reason", "exit_comment"])
    # Several stored extracts of one zone may overlap: the newest upload wins per officer.
    frame = frame.sort_values("upload_id").drop_duplicates(["zone", "officer_ref"], keep="last")
    frame["hire_date"] = pd.to_datetime(frame["hire_date"])
    frame["exit_date"] = pd.to_datetime(frame["exit_date"])
    frame["exit_type"] = frame["exit_type"].where(frame["exit_date"].notna(), None)
    frame.loc[frame["exit_date"].notna() & frame["exit_type"].isna(), "exit_type"] = "other"
    frame = frame[frame["exit_date"].isna() | (frame["exit_date"] >= pd.Timestamp(WINDOW_START))]
    return WorkforceData(frame.drop(columns="upload_id").reset_index(drop=True), ref_dates)


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    months: float  # for annualisation


def periods(release_date: dt.date) -> list[Period]:
    """Calendar years from the window start; the last one ends at the reference date."""
    ref = pd.Timestamp(release_date)
    out = []
    for year in range(WINDOW_START.year, ref.year + 1):
        start = pd.Timestamp(year=year, month=1, day=1)
        end = min(pd.Timestamp(year=year, month=12, day=31), ref)
        # Both ends are in the period (1 January to the reference date inclusive): days + 1.
        months = ((end - start).days + 1) / (365.25 / 12) if end.month != 12 or end.day != 31 \
            else 12.0
        label = str(year) if months == 12.0 else f"{year} (to {end.date().isoformat()})"
        if months > 0:
            out.append(Period(label, start, end, min(12.0, months)))
    return out


def _in_service(frame: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    return (frame["hire_date"] <= day) & (frame["exit_date"].isna() | (frame["exit_date"] > day))


def _year_ends(release_date: dt.date) -> list[pd.Timestamp]:
    """Year ends from the day before the window to the last one before the reference date."""
    ref = pd.Timestamp(release_date)
    return [pd.Timestamp(year=y, month=12, day=31) for y in range(WINDOW_START.year - 1,
                                                                  ref.year)
            if pd.Timestamp(year=y, month=12, day=31) < ref]


# --- the joint releases ----------------------------------------------------------------------


def _grid(values: dict[str, list[str]]) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(list(values.values()), names=list(values))
    return index.to_frame(index=False)


def count_tables(data: WorkforceData) -> dict[str, pd.DataFrame]:
    """The inner count tables of every release (raw; internal)."""
    wf = data.frame
    zones = sorted(data.reference_dates)
    ref = pd.Timestamp(data.release_date)
    groups = list(BACKGROUNDS)
    pers = periods(data.release_date)
    exit_type = wf["exit_type"].where(wf["exit_type"].isin(EXIT_TYPES), "other")
    rows = []
    for p in pers:
        left = wf[wf["exit_date"].between(p.start, p.end)]
        counts = left.assign(exit_type=exit_type[left.index]).groupby(
            ["zone", "migration_background", "exit_type"]).size()
        for (z, g, t), n in counts.items():
            rows.append((z, p.label, g, t, int(n)))
    flows = _grid({"zone": zones, "period": [p.label for p in pers], "group": groups,
                   "exit_type": list(EXIT_TYPES)})
    found = pd.DataFrame(rows, columns=[*FLOW_DIMS, "n"])
    flows = flows.merge(found, how="left", on=list(FLOW_DIMS)).fillna({"n": 0})

    stock_rows = []
    for day in _year_ends(data.release_date):
        counts = wf[_in_service(wf, day)].groupby(["zone", "migration_background"]).size()
        for (z, g), n in counts.items():
            stock_rows.append((z, str(day.year), g, int(n)))
    stocks = _grid({"zone": zones, "year": [str(d.year) for d in _year_ends(data.release_date)],
                    "group": groups})
    stocks = stocks.merge(pd.DataFrame(stock_rows, columns=[*STOCK_DIMS, "n"]), how="left",
                          on=list(STOCK_DIMS)).fillna({"n": 0})

    present = wf[_in_service(wf, ref)].assign(rank=lambda f: f["rank"].fillna("unknown"))
    rank_levels = list(RANKS) + sorted(set(present["rank"]) - set(RANKS))
    counts = present.groupby(["zone", "rank", "migration_background"]).size()
    ranks = _grid({"zone": zones, "rank": rank_levels, "group": groups})
    ranks = ranks.merge(pd.DataFrame([(*k, int(n)) for k, n in counts.items()],
                                     columns=[*RANK_DIMS, "n"]),
                        how="left", on=list(RANK_DIMS)).fillna({"n": 0})

    left = wf[wf["exit_date"].between(pd.Timestamp(WINDOW_START), ref)]
    reason = left["exit_reason"].fillna("unknown").where(
        left["exit_reason"].fillna("unknown").isin(EXIT_REASONS), "other")
    counts = left.assign(reason=reason).groupby(["zone", "migration_background", "reason"]).size()
    reasons = _grid({"zone": zones, "group": groups, "reason": list(EXIT_REASONS)})
    reasons = reasons.merge(pd.DataFrame([(*k, int(n)) for k, n in counts.items()],
                                         columns=[*REASON_DIMS, "n"]),
                            how="left", on=list(REASON_DIMS)).fillna({"n": 0})
    out = {"flows": flows, "stocks": stocks, "ranks": ranks, "reasons": reasons}
    for frame in out.values():
        frame["n"] = frame["n"].astype(int)
    return out


def hires_by_period(data: WorkforceData) -> pd.DataFrame:
    """Joiners per (zone, period label, group): officers whose hire date falls in the period."""
    wf = data.frame
    rows = []
    for p in periods(data.release_date):
        joined = wf[wf["hire_date"].between(p.start, p.end)]
        for (z, g), n in joined.groupby(["zone", "migration_background"]).size().items():
            rows.append((z, p.label, g, int(n)))
    return pd.DataFrame(rows, columns=["zone", "period", "group", "n"])


def _small_hire_leavers(data: WorkforceData, flows: pd.DataFrame,
                        pol: Policy) -> set[tuple[str, str, str, str]]:
    """Leaver margins to hide because the joiners behind them are 1..k-1.

    Joiners = headcount at the end − headcount at the start + leavers, and the stocks table
    publishes the headcounts: with the leavers published, a small number of joiners (e.g. 3
    officers of one group hired in a year) could be computed. Hiding those leaver margins (zone
    and pool, each group and all groups) lets the audit protect them like any hidden cell.

    Not where the margin is 0: a true zero is published (its inner cells are published zeros),
    so there the joiners equal the published change in headcount whatever this table does — a
    residual of publishing yearly headcounts, documented in docs/disclosure-control.md.
    """
    hires = hires_by_period(data)
    out: set[tuple[str, str, str, str]] = set()
    if hires.empty:
        return out
    levels = (["zone", "period", "group"], ["zone", "period"], ["period", "group"], ["period"])
    for lev in levels:
        left = flows.groupby(lev)["n"].sum()
        for key, n in hires.groupby(lev)["n"].sum().items():
            if 1 <= int(n) < pol.k and int(left.get(key, 0)) > 0:
                key = key if isinstance(key, tuple) else (key,)
                named = dict(zip(lev, key, strict=True))
                out.add((named.get("zone", TOTAL), named["period"], named.get("group", TOTAL),
                         TOTAL))
    return out


def _reason_totals_to_hide(flows: PublishedCells) -> set[tuple[str, str, str]]:
    """Reasons-table totals the attacker must not learn.

    The reasons table counts the same leavers as the flows table, so its (zone, group) total
    is the flows' whole-window (zone, group) margin (likewise its zone, group and grand totals). Where the flows release hides that margin,
    publishing it in the reasons table would give it back: hide it there too.
    """
    cells = flows.cells
    margins = cells[(cells["exit_type"] == TOTAL) & (cells["period"] == TOTAL)]
    hidden = margins[margins["published_value"].map(is_suppressed)]
    return {(z, g, TOTAL) for z, g in zip(hidden["zone"], hidden["group"], strict=True)}


@dataclass
class RetentionRelease:
    version: str
    data: WorkforceData
    tables: dict[str, PublishedCells]


#: The Cox model uses covariates known at hire (not rank: recorded at exit or extract date).
COX_COVARIATES: tuple[str, ...] = ("group", "gender")
#: No hazard ratio for a level with fewer exits than this (Peduzzi et al. 1995's 10 events).
COX_MIN_EVENTS_PER_LEVEL = 10
#: Exit types whose reasons are compared between groups (one type: no mixing of exit types).
REASON_TEST_EXIT_TYPES: tuple[str, ...] = ("voluntary",)
_cache_lock = threading.Lock()  # the report cache below
#: The joint release per data version, built by one thread at a time (the protection takes
#: seconds; several threads of a worker used to build it at once after an upload, issue 18).
_releases = BuildOnce(4, job=retention_job, family=retention_family)


def _policy_key(pol: Policy) -> str:
    return f"k={pol.k};den={pol.min_denominator};ext={pol.extreme_rate_min_base}"


def _memory(key: str) -> set:
    rows = db.session.scalars(
        select(SuppressionMemory.cell_key).where(SuppressionMemory.release_key == key))
    return {cell_key_from_str(r) for r in rows}


def _remember(key: str, known: set, hidden: frozenset) -> None:
    new = [k for k in hidden if k not in known]
    if not new:
        return
    try:
        db.session.add_all(SuppressionMemory(release_key=key, cell_key=cell_key_str(k))
                           for k in new)
        db.session.commit()
    except IntegrityError:  # a concurrent request stored them first
        db.session.rollback()


def _protected(name: str, inner: pd.DataFrame, dims, levels, pol: Policy, version: str,
               force: set | None = None) -> PublishedCells:
    key = f"retention:{name}"
    row = db.session.scalar(select(ReleaseCache).where(
        ReleaseCache.release_key == key, ReleaseCache.data_version == version,
        ReleaseCache.policy == _policy_key(pol)))
    if row is not None:
        return PublishedCells.from_payload(row.payload, pol, row.elapsed_ms)
    known = _memory(key)
    result = protect(inner, dims, levels, pol, force_hidden=known | (force or set()))
    _remember(key, known, result.hidden_keys())
    cells = PublishedCells.from_protected(result)
    try:
        db.session.execute(delete(ReleaseCache).where(ReleaseCache.release_key == key))
        db.session.add(ReleaseCache(release_key=key, data_version=version,
                                    policy=_policy_key(pol), payload=cells.to_payload(),
                                    elapsed_ms=cells.elapsed_ms))
        db.session.commit()
    except IntegrityError:  # another worker stored it first
        db.session.rollback()
    return cells


def get_release() -> RetentionRelease:
    """Every retention count table, protected jointly over all zones.

    Cached in the process and in ``release_cache`` per data version and policy: the LP audit
    runs once per change of the data.
    """
    pol = policy()
    version = data_version()
    return _releases.get((db.engine.url.render_as_string(), version, pol),
                         lambda: _build_release(version, pol))


def _build_release(version: str, pol: Policy) -> RetentionRelease:
    data = load_workforce()
    inner = count_tables(data)
    try:
        flows = _protected("flows", inner["flows"], FLOW_DIMS, FLOW_LEVELS, pol, version,
                           force=_small_hire_leavers(data, inner["flows"], pol))
        tables = {
            "flows": flows,
            "stocks": _protected("stocks", inner["stocks"], STOCK_DIMS, STOCK_LEVELS, pol,
                                 version),
            "ranks": _protected("ranks", inner["ranks"], RANK_DIMS, RANK_LEVELS, pol, version),
            "reasons": _protected("reasons", inner["reasons"], REASON_DIMS, REASON_LEVELS, pol,
                                  version, force=_reason_totals_to_hide(flows)),
        }
    except DisclosureError as exc:
        # A release that cannot be protected publishes nothing and says why (never a 500,
        # never a partial table); the cause is logged for the administrators.
        current_app.logger.error("retention release %s could not be protected: %s", version, exc)
        raise ServiceUnavailable(
            "The retention tables could not be protected for publication after the latest "
            "upload, so nothing is shown. An administrator can find the cause in the log."
        ) from exc
    return RetentionRelease(version, data, tables)


def clear_cache() -> None:
    _releases.clear()
    with _cache_lock:
        _reports.clear()


def _reader(cells: PublishedCells, zone: str | None):
    """``pub(level, **key)`` for one zone (its own cells) or the pool (``zone=None``)."""

    def pub(level: tuple[str, ...], **key: Any):
        if zone is not None:
            level = ("zone", *level)
            key = {"zone": zone, **key}
        try:
            return cells.value(level, **key)
        except KeyError:  # a structural zero (e.g. a rank nobody holds)
            return 0

    return pub


# --- the report ------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    """What the retention page publishes. Every number is a value, ``None`` or ``SUPPRESSED``."""

    zone: str
    zone_label: str
    lang: str
    reference: str
    window_start: str
    reference_date: str
    k: int
    min_denominator: int
    groups: list[str]
    periods: list[str]
    turnover: list[dict[str, Any]]
    headcount: list[dict[str, Any]]
    representation: list[dict[str, Any]]
    representation_by_rank: list[dict[str, Any]]
    benchmark_label: str | None
    km: list[dict[str, Any]]
    km_summary: list[dict[str, Any]]
    logrank: dict[str, Any]
    pairwise: list[dict[str, Any]]
    logrank_early: dict[str, Any]
    pairwise_early: list[dict[str, Any]]
    first_year: list[dict[str, Any]]
    incidence: list[dict[str, Any]]
    cox: dict[str, Any]
    reasons: list[dict[str, Any]]
    reasons_test: dict[str, Any]
    themes: dict[str, Any]
    findings: list[str]
    definitions: dict[str, str] = field(default_factory=dict)

    TURNOVER_COLUMNS = ("period", "group", "headcount_start", "headcount_end",
                        "average_headcount", "leavers", *(f"leavers_{t}" for t in EXIT_TYPES),
                        "turnover", *(f"turnover_{t}" for t in EXIT_TYPES))
    REPRESENTATION_COLUMNS = ("date", "rank", "group", "count", "total", "share",
                              "benchmark_share", "gap_points", "benchmark_label")
    KM_SUMMARY_COLUMNS = ("group", "published", "reason", "median_months",
                          "attrition_12m", "attrition_24m", "truncated_at")
    KM_COLUMNS = ("group", "month", "survival", "lower", "upper", "at_risk")
    LOGRANK_COLUMNS = ("horizon", "group", "reference", "p_value", "p_holm")
    FIRST_YEAR_COLUMNS = ("cohort", "group", "hires", "exits_12m", "attrition", "lower",
                          "upper", "note")
    INCIDENCE_COLUMNS = ("group", "cause", "month", "cif")
    COX_COLUMNS = ("covariate", "level", "reference", "hazard_ratio", "lower", "upper",
                   "p_value")
    REASON_COLUMNS = ("group", "reason", "count", "share")
    THEME_COLUMNS = ("theme", "top_terms", "group", "count")

    def to_dict(self) -> dict[str, Any]:
        rows = lambda items: [to_json(r) for r in items]  # noqa: E731
        return {
            "zone": self.zone, "zone_label": self.zone_label, "reference": self.reference,
            "window_start": self.window_start, "reference_date": self.reference_date,
            "k": self.k, "min_denominator": self.min_denominator, "groups": self.groups,
            "periods": self.periods,
            "turnover": rows(self.turnover), "headcount": rows(self.headcount),
            "representation": rows(self.representation),
            "representation_by_rank": rows(self.representation_by_rank),
            "benchmark_label": self.benchmark_label,
            "km": rows(self.km), "km_summary": rows(self.km_summary),
            "logrank": to_json(self.logrank), "pairwise": rows(self.pairwise),
            "logrank_early": to_json(self.logrank_early),
            "pairwise_early": rows(self.pairwise_early),
            "first_year": rows(self.first_year), "incidence": rows(self.incidence),
            "cox": {**to_json({k: v for k, v in self.cox.items() if k != "terms"}),
                    "terms": rows(self.cox.get("terms", []))},
            "reasons": rows(self.reasons), "reasons_test": to_json(self.reasons_test),
            "themes": {**{k: v for k, v in self.themes.items() if k != "rows"},
                       "rows": rows(self.themes.get("rows", []))},
            "findings": self.findings, "definitions": self.definitions,
            "suppression": {"symbol": "x", "k": self.k,
                            "rule": "counts 1..k-1 and rates on fewer than "
                                    f"{self.min_denominator} persons are hidden"},
        }

    def to_csv(self) -> str:
        header = csv_comment(f"Retention {self.zone_label}, {self.window_start} to "
                             f"{self.reference_date}; x = hidden to protect privacy (k = {self.k})")
        parts = [
            ("turnover", csv_text(self.turnover, self.TURNOVER_COLUMNS)),
            ("representation", csv_text(self.representation + self.representation_by_rank,
                                        self.REPRESENTATION_COLUMNS)),
            ("survival_summary", csv_text(self.km_summary, self.KM_SUMMARY_COLUMNS)),
            ("survival_curves", csv_text(self.km, self.KM_COLUMNS)),
            ("log_rank", csv_text([{**self.logrank, "group": "all groups"},
                                   {**self.logrank_early, "group": "all groups"},
                                   *self.pairwise, *self.pairwise_early],
                                  self.LOGRANK_COLUMNS)),
            ("first_year_attrition", csv_text(self.first_year, self.FIRST_YEAR_COLUMNS)),
            ("cumulative_incidence", csv_text(self.incidence, self.INCIDENCE_COLUMNS)),
            ("cox", csv_text(self.cox.get("terms", []), self.COX_COLUMNS)),
            ("exit_reasons", csv_text(self.reasons, self.REASON_COLUMNS)),
            ("exit_comment_themes", csv_text(self.themes.get("rows", []), self.THEME_COLUMNS)),
        ]
        return header + "\n".join(f"# {name}\n{text}" for name, text in parts)


def _r(value: Any, digits: int | None = None) -> Any:
    """A published statistic as a float; rounded only where a number of digits is given (rates
    are left whole: the page rounds once, so 20/37 shows as 54.1 %, not 54.0 %)."""
    if value is None or is_suppressed(value):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    return float(value) if digits is None else round(float(value), digits)


def _primary(n: int, pol: Policy) -> bool:
    return 1 <= int(n) < pol.k


def _count(n: int, pol: Policy) -> Any:
    """A count published on its own (no margins): only the primary rule applies."""
    return SUPPRESSED if _primary(n, pol) else int(n)


def _p_text(p: Any) -> Any:
    if p is None or is_suppressed(p) or isinstance(p, str):
        return p
    if isinstance(p, float) and math.isnan(p):
        return None
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def _turnover_rate(leavers: Any, start: Any, end: Any, months: float, pol: Policy) -> Any:
    """Leavers / average headcount, annualised; gated like a proportion on the average base."""
    if any_hidden(leavers, start, end):
        return SUPPRESSED
    average = (int(start) + int(end)) / 2
    base = int(math.floor(average))
    if int(leavers) > base:  # more leavers than the average stock: not a proportion
        return SUPPRESSED if base < pol.min_denominator else int(leavers) / average * 12 / months
    if is_suppressed(gate_rate(int(leavers), base, pol)):
        return SUPPRESSED
    return int(leavers) / average * 12 / months if average > 0 else None


def _turnover(release: RetentionRelease, zone: str | None, groups: list[str], pol: Policy):
    """Rows per period and group (and all groups), then one row over the whole window.

    The window row is the annual average: leavers / person-years, person-years = sum over
    periods of average headcount x months / 12 (hidden when any headcount behind it is).
    """
    flows = _reader(release.tables["flows"], zone)
    stock = _stock_reader(release, zone)
    pers = periods(release.data.release_date)

    def leavers(period: str | None, group: str | None, exit_type: str | None = None):
        key = {"period": period, "group": group, "exit_type": exit_type}
        key = {k: v for k, v in key.items() if v is not None}
        return flows(tuple(d for d in FLOW_DIMS if d in key), **key)

    out = []
    exposure: dict[str, list] = {g or "all": [] for g in [*groups, None]}
    for p in pers:
        for g in [*groups, None]:
            start = stock(p.start - pd.Timedelta(days=1), g)
            end = stock(p.end, g)
            total = leavers(p.label, g)
            average = SUPPRESSED if any_hidden(start, end) else (int(start) + int(end)) / 2
            exposure[g or "all"].append(SUPPRESSED if is_suppressed(average)
                                        else average * p.months / 12)
            row = {"period": p.label, "months": round(p.months, 2), "group": g or "all",
                   "headcount_start": start, "headcount_end": end, "average_headcount": average,
                   "leavers": total,
                   "turnover": _r(_turnover_rate(total, start, end, p.months, pol))}
            for t in EXIT_TYPES:
                n = leavers(p.label, g, t)
                row[f"leavers_{t}"] = n
                row[f"turnover_{t}"] = _r(_turnover_rate(n, start, end, p.months, pol))
            out.append(row)
    label = f"{WINDOW_START.year}–{pers[-1].end.year} (annual average)" if pers else ""
    months = sum(p.months for p in pers)
    for g in [*groups, None]:
        ex = exposure[g or "all"]
        person_years = SUPPRESSED if any_hidden(*ex) else sum(ex)
        total = leavers(None, g)
        row = {"period": label, "months": round(months, 2), "group": g or "all",
               "headcount_start": None, "headcount_end": None,
               "average_headcount": _r(person_years if is_suppressed(person_years)
                                       else person_years * 12 / months, 1),
               "leavers": total, "turnover": _r(_person_year_rate(total, person_years, pol))}
        for t in EXIT_TYPES:
            n = leavers(None, g, t)
            row[f"leavers_{t}"] = n
            row[f"turnover_{t}"] = _r(_person_year_rate(n, person_years, pol))
        out.append(row)
    return out


def _person_year_rate(count: Any, person_years: Any, pol: Policy) -> Any:
    """Leavers per person-year (an annual rate), gated like a proportion of the person-years."""
    if any_hidden(count, person_years) or person_years <= 0:
        return SUPPRESSED if any_hidden(count, person_years) else None
    base = int(math.floor(person_years))
    if int(count) > base or is_suppressed(gate_rate(int(count), base, pol)):
        return SUPPRESSED
    return int(count) / person_years


def _benchmark(zone_obj: Zone | None):
    if zone_obj is None:
        return None
    from hrpipeline.services.benchmarks import benchmark_for_zone

    return benchmark_for_zone(zone_obj.id)


def _representation(release, zone, groups, pol, bench):
    stocks = _reader(release.tables["stocks"], zone)
    ranks = _reader(release.tables["ranks"], zone)
    ref = release.data.release_date
    over_time, by_rank = [], []
    dates = [(str(d.year), d.date().isoformat()) for d in _year_ends(ref)]

    def row(date: str, rank: str, g: str, count: Any, total: Any) -> dict[str, Any]:
        share = gate_rate(count, total, pol)
        b = bench.shares.get(g) if bench is not None else None
        return {"date": date, "rank": rank, "group": g, "count": count, "total": total,
                "share": _r(share), "benchmark_share": _r(b),
                "gap_points": rounded(None if b is None or is_suppressed(share)
                                      else (float(share) - b) * 100, 1, is_suppressed(share)),
                "benchmark_label": bench.source_label if bench is not None and b is not None
                else None}

    for year, iso in dates:
        total = stocks(("year",), year=year)
        for g in groups:
            over_time.append(row(iso, "all", g, stocks(("year", "group"), year=year, group=g),
                                 total))
    total = ranks(())
    for g in groups:
        over_time.append(row(ref.isoformat(), "all", g, ranks(("group",), group=g), total))
    rank_levels = list(dict.fromkeys(release.tables["ranks"].cells["rank"]))
    for rank in [r for r in rank_levels if r != TOTAL]:
        total = ranks(("rank",), rank=rank)
        if not is_suppressed(total) and int(total) == 0:
            continue
        for g in groups:
            by_rank.append(row(ref.isoformat(), rank, g,
                               ranks(("rank", "group"), rank=rank, group=g), total))
    return over_time, by_rank


def _curve_at(curve: survival.PublishableKM, month: float) -> float | None:
    """S(month) read from the published curve; None beyond its end."""
    if not curve.published or not curve.time or month > curve.time[-1]:
        return None
    idx = int(np.searchsorted(np.asarray(curve.time), month, side="right")) - 1
    return curve.survival[idx]


def _median_text(summary: dict[str, Any]) -> str:
    """"not reached" only when the curve covers the follow-up; a curve cut short (too few at
    risk) says where it stops (issue 16 item 10)."""
    if summary["median_months"]:
        return display(summary["median_months"])
    if summary.get("truncated_at"):
        return f"beyond {int(summary['truncated_at'])} months (curve stops there)"
    return "not reached"


def _median_from_curve(curve: survival.PublishableKM) -> float | None:
    for t, s in zip(curve.time, curve.survival, strict=True):
        if s <= 0.5:
            return float(t)
    return None


def _survival_part(wf: pd.DataFrame, ref_date: dt.date, groups: list[str], pol: Policy,
                   reference: str) -> dict[str, Any]:
    data = survival.prepare_survival_data(wf, reference_date=ref_date,
                                          window_start=WINDOW_START)
    curves = {g: survival.publishable_km(data, g) for g in groups
              if g in set(data[survival.GROUP])}
    km, summary = [], []
    for g, c in curves.items():
        if c.published:
            for t, s, lo, hi, n in zip(c.time, c.survival, c.lower, c.upper, c.at_risk,
                                       strict=True):
                km.append({"group": g, "month": int(t), "survival": _r(s), "lower": _r(lo),
                           "upper": _r(hi), "at_risk": int(n)})
        s12, s24 = _curve_at(c, 12), _curve_at(c, FIRST_YEARS_MONTHS)
        summary.append({"group": g, "published": c.published, "reason": c.reason,
                        "median_months": _median_from_curve(c) if c.published else None,
                        "attrition_12m": None if s12 is None else _r(1 - s12),
                        "attrition_24m": None if s24 is None else _r(1 - s24),
                        "truncated_at": c.truncated_at})

    logrank, pairwise = _logrank(data, reference, pol, "whole tenure")
    early = _first_months(data, FIRST_YEARS_MONTHS)
    logrank_early, pairwise_early = _logrank(early, reference, pol, "first two years")

    first_year = []
    hires = data[data["entry"] == 0]  # cohorts hired inside the window are followed from hire
    for r in survival.first_year_attrition(hires).rows:
        if r.group not in groups:
            continue
        n, ex = _count(r.n, pol), _count(r.exits_within_12m, pol)
        gate = gate_rate(r.exits_within_12m, r.n, pol)
        shown = r.attrition is not None and not is_suppressed(gate)
        first_year.append({
            "cohort": r.cohort, "group": r.group, "hires": n, "exits_12m": ex,
            "attrition": _r(r.attrition) if shown else (
                SUPPRESSED if r.attrition is not None else None),
            "lower": _r(r.lower) if shown else (SUPPRESSED if r.attrition is not None else None),
            "upper": _r(r.upper) if shown else (SUPPRESSED if r.attrition is not None else None),
            "note": r.note if r.attrition is None or shown else "hidden: too few officers",
        })

    incidence = []
    for g, c in curves.items():
        if not c.published:
            continue
        # Only t <= 60 months is published; censoring there leaves CIF(t <= 60) unchanged and
        # keeps the Aalen-Johansen fit small.
        sub = _first_months(data[data[survival.GROUP] == g], max(CIF_MONTHS))
        res = survival.cumulative_incidence(sub, grid=list(CIF_MONTHS))
        for cause, ci in res.causes.items():
            for i, month in enumerate(CIF_MONTHS):
                if c.truncated_at is not None and month >= c.truncated_at:
                    value: Any = None
                else:
                    events = int((sub["event"] & (sub["duration"] <= month)
                                  & (_cause(sub["exit_type"]) == cause)).sum())
                    value = SUPPRESSED if _primary(events, pol) else _r(ci.cif[i])
                incidence.append({"group": g, "cause": cause, "month": month, "cif": value})

    cox_data = data[data[survival.GROUP].isin(KNOWN_BACKGROUNDS)]
    # Covariates known at hire only: rank is recorded at exit or at the extract date, so
    # promoted long-servers looked "protected" by their rank (issue 16 item 4).
    cox_res = survival.cox_model(cox_data, covariates=COX_COVARIATES,
                                 references={survival.GROUP: reference})
    terms = []
    for t in cox_res.terms:
        h = _primary(t.n, pol) or _primary(t.events, pol)
        if t.events < COX_MIN_EVENTS_PER_LEVEL:
            # Too few exits in this level for a hazard ratio worth reading (two officers of
            # unknown gender gave HR 7.4): none is published.
            terms.append({"covariate": t.covariate, "level": t.level, "reference": t.reference,
                          "hazard_ratio": None, "lower": None, "upper": None, "p_value": None,
                          "note": "too_few_exits"})
            continue
        ci = gate_interval(t.lower, t.upper, h)
        terms.append({"covariate": t.covariate, "level": t.level, "reference": t.reference,
                      "hazard_ratio": rounded(t.hazard_ratio, 3, h),
                      "lower": SUPPRESSED if is_suppressed(ci) else round(ci[0], 3),
                      "upper": SUPPRESSED if is_suppressed(ci) else round(ci[1], 3),
                      "p_value": _p_text(gate_p(t.p_value, h)), "note": None})
    cox = {"fitted": cox_res.fitted, "reason": cox_res.reason, "ties": cox_res.ties,
           "terms": terms, "periods": _cox_periods(cox_data, reference, pol)}
    return {"km": km, "summary": summary, "logrank": logrank, "pairwise": pairwise,
            "logrank_early": logrank_early, "pairwise_early": pairwise_early,
            "first_year": first_year, "incidence": incidence, "cox": cox}


def _stock_reader(release: RetentionRelease, zone: str | None):
    """``stock(day, group | None)``: the published headcount on a year end or the reference date."""
    stocks = _reader(release.tables["stocks"], zone)
    ranks = _reader(release.tables["ranks"], zone)

    def stock(day: pd.Timestamp, group: str | None):
        if day == pd.Timestamp(release.data.release_date):
            return ranks(("group",), group=group) if group else ranks(())
        year = str(day.year)
        return stocks(("year", "group"), year=year, group=group) if group else stocks(
            ("year",), year=year)

    return stock


def _zone_exits_12m(release: RetentionRelease) -> dict[tuple[str, int, str], int]:
    """Exits within 12 months per (zone, hire cohort, group), for the pool's differencing check."""
    out = {}
    for code, ref in release.data.reference_dates.items():
        wf = release.data.frame[release.data.frame["zone"] == code]
        data = survival.prepare_survival_data(wf, reference_date=ref, window_start=WINDOW_START)
        for r in survival.first_year_attrition(data[data["entry"] == 0]).rows:
            out[(code, int(r.cohort), r.group)] = int(r.exits_within_12m)
    return out


def _gate_first_year(release: RetentionRelease, zone: str | None, rows: list[dict],
                     pol: Policy) -> None:
    """Second gate of the first-year table, against the other tables of the release.

    * Hires of a cohort are the joiners of its calendar year = headcount at the end − headcount
      at the start + leavers, all three published elsewhere. Hires are shown only when those
      published values give exactly this number (so they add nothing); otherwise hidden, since
      with two of them published they would give the third back. (``get_release`` hides the
      leavers where joiners are 1..k-1, so a small number of hires is never derivable.)
    * Exits within 12 months are counted nowhere else; in the pool they are hidden when any
      zone's count is 1..k-1 (pool − other zones would give it back).
    * Rate and interval only with both counts published (the rate and the hires give the exits;
      the interval's width gives the hires).
    """
    flows = _reader(release.tables["flows"], zone)
    stock = _stock_reader(release, zone)
    by_year = {p.start.year: p for p in periods(release.data.release_date)}
    zone_exits = _zone_exits_12m(release) if zone is None else {}
    for row in rows:
        cohort = int(row["cohort"])
        p = by_year.get(cohort)
        derived = None
        if p is not None and not is_suppressed(row["hires"]):
            start = stock(p.start - pd.Timedelta(days=1), row["group"])
            end = stock(p.end, row["group"])
            left = flows(("period", "group"), period=p.label, group=row["group"])
            if not any_hidden(start, end, left):
                derived = int(end) - int(start) + int(left)
        if derived is None or derived != row["hires"]:
            row["hires"] = SUPPRESSED
        if zone is None and not is_suppressed(row["exits_12m"]) and any(
                _primary(n, pol) for (z, c, g), n in zone_exits.items()
                if c == cohort and g == row["group"]):
            row["exits_12m"] = SUPPRESSED
        if any_hidden(row["hires"], row["exits_12m"]) and row["attrition"] is not None:
            for key in ("attrition", "lower", "upper"):
                row[key] = SUPPRESSED
            row["note"] = "hidden: too few officers"


def _after_months(data: pd.DataFrame, months: float) -> pd.DataFrame:
    """Follow-up from ``months`` of service on (delayed entry at ``months``)."""
    late = data[data["duration"] > months].copy()
    late["entry"] = late["entry"].clip(lower=months)
    return late


def _cox_periods(data: pd.DataFrame, reference: str, pol: Policy) -> list[dict[str, Any]]:
    """A proportional-hazards check: the background hazard ratios in the first
    ``FIRST_YEARS_MONTHS`` of service and after (a time-split Cox model, one fit per period).
    One ratio over the whole tenure averages an early difference away when it fades later (the
    demo plants HR 2.6 in the first 24 months and 1.0 after; one HR of 1.40 was published)."""
    out = []
    for label, part in (("first_years", _first_months(data, FIRST_YEARS_MONTHS)),
                        ("later_years", _after_months(data, FIRST_YEARS_MONTHS))):
        res = survival.cox_model(part, covariates=(survival.GROUP,),
                                 references={survival.GROUP: reference})
        for t in res.terms:
            few = t.events < COX_MIN_EVENTS_PER_LEVEL
            h = _primary(t.n, pol) or _primary(t.events, pol)
            ci = gate_interval(t.lower, t.upper, h or few)
            out.append({"period": label, "months": FIRST_YEARS_MONTHS, "level": t.level,
                        "reference": t.reference,
                        "hazard_ratio": None if few else rounded(t.hazard_ratio, 3, h),
                        "lower": None if few or is_suppressed(ci) else round(ci[0], 3),
                        "upper": None if few or is_suppressed(ci) else round(ci[1], 3),
                        "p_value": None if few else _p_text(gate_p(t.p_value, h))})
        if not res.fitted:
            out.append({"period": label, "months": FIRST_YEARS_MONTHS, "level": None,
                        "reference": reference, "hazard_ratio": None, "lower": None,
                        "upper": None, "p_value": None, "reason": res.reason})
    return out


def _first_months(data: pd.DataFrame, months: float) -> pd.DataFrame:
    """Follow-up restricted to the first ``months`` of service (administrative censoring).

    The log-rank test on [0, months] compares exit hazards in the early years only, where the
    whole-tenure test dilutes an early difference with decades of later service.
    """
    early = data[data["entry"] < months].copy()
    early["event"] = early["event"] & (early["duration"] <= months)
    early["duration"] = early["duration"].clip(upper=months)
    return early


def _logrank(data: pd.DataFrame, reference: str, pol: Policy, horizon: str):
    """Overall and pairwise (Holm) log-rank p, as a band when a count behind it is hidden."""
    sizes = data.groupby(survival.GROUP)["event"].agg(["size", "sum"])

    def hidden(*gs: str) -> bool:
        # Counts behind the test: officers and exits per compared group.
        return any(_primary(sizes.loc[g, "size"], pol) or _primary(sizes.loc[g, "sum"], pol)
                   for g in gs if g in sizes.index)

    lr = survival.logrank_by_group(data, reference=reference)
    overall = {"horizon": horizon, "test": lr.method, "groups": ",".join(lr.groups),
               "df": lr.df,
               "p_value": None if math.isnan(lr.p_value) else _p_text(
                   gate_p(lr.p_value, hidden(*lr.groups)))}
    pairwise = []
    for pw in lr.pairwise:
        h = hidden(pw.group, pw.reference)
        pairwise.append({"horizon": horizon, "group": pw.group, "reference": pw.reference,
                         "p_value": _p_text(gate_p(pw.p_value, h)),
                         "p_holm": _p_text(gate_p(pw.p_holm, h)),
                         "p_band": coarsen_p(pw.p_holm)})
    return overall, pairwise


def _cause(exit_type: pd.Series) -> pd.Series:
    return exit_type.where(exit_type.isin(survival.DEFAULT_CAUSES), survival.OTHER_EXIT)


def _reasons(release, zone, wf, ref_date, groups, pol):
    pub = _reader(release.tables["reasons"], zone)
    rows = []
    for g in groups:
        total = pub(("group",), group=g)
        for reason in EXIT_REASONS:
            c = pub(("group", "reason"), group=g, reason=reason)
            rows.append({"group": g, "reason": reason, "count": c,
                         "share": _r(gate_rate(c, total, pol))})
    # The test compares reasons within one exit type: across all exits, a group with more
    # retirements "differs" in its reasons for that alone (issue 16 item 9). Exit interviews are
    # about voluntary exits, so those are tested.
    res = exit_reasons(wf, WINDOW_START, ref_date, n_resamples=REASON_RESAMPLES,
                       exit_types=REASON_TEST_EXIT_TYPES)
    tested_hidden = any(is_suppressed(r["count"]) for r in rows
                        if r["group"] in res.tested_groups and r["reason"] in res.tested_reasons)
    test = {"test": res.test,
            "p_value": None if res.p_value is None else _p_text(gate_p(res.p_value,
                                                                       tested_hidden)),
            "groups": ",".join(res.tested_groups),
            "exit_types": ",".join(REASON_TEST_EXIT_TYPES), "n_tested": res.n_tested}
    return rows, test


def _themes(wf: pd.DataFrame, ref_date: dt.date, pol: Policy) -> dict[str, Any]:
    left = wf[wf["exit_date"].between(pd.Timestamp(WINDOW_START), pd.Timestamp(ref_date))]
    left = left[left["exit_comment"].fillna("").str.strip().str.len() > 0]
    res = find_themes(left["exit_comment"], left["migration_background"], k=pol.k)
    if res.status != "ok" or not res.themes:
        return {"status": res.status, "message": res.message, "rows": []}
    inner = pd.DataFrame([(str(t.theme_id), g, c) for t in res.themes
                          for g, c in t.by_group.items()], columns=["theme", "group", "n"])
    protected = protect(inner, ("theme", "group"), (("theme", "group"), ("theme",)), pol)
    rows = []
    for t in res.themes:
        for g in t.by_group:
            rows.append({"theme": t.theme_id,
                         "top_terms": "" if t.suppressed else ", ".join(t.top_terms),
                         "group": g,
                         "count": protected.value(("theme", "group"), theme=str(t.theme_id),
                                                  group=g)})
        rows.append({"theme": t.theme_id,
                     "top_terms": "" if t.suppressed else ", ".join(t.top_terms),
                     "group": "all", "count": protected.value(("theme",),
                                                              theme=str(t.theme_id))})
    return {"status": res.status, "message": "", "rows": rows}


def _findings(lang: str, reference: str, summary, pairwise, representation, bench) -> list[str]:
    texts = _FINDINGS.get(lang, _FINDINGS["en"])
    names = GROUP_LABELS.get(lang, GROUP_LABELS["en"])
    by_group = {s["group"]: s for s in summary}
    out = []
    ref = by_group.get(reference)
    for pw in pairwise:
        g = pw["group"]
        fmt = {"g": names.get(g, g), "ref": names.get(reference, reference)}
        mine = by_group.get(g)
        a_g = None if mine is None else mine["attrition_24m"]
        a_r = None if ref is None else ref["attrition_24m"]
        band = pw["p_band"]
        if a_g is None or a_r is None or is_suppressed(pw["p_holm"]):
            out.append(texts["too_few"].format(**fmt))
        elif band != "≥ 0.05" and a_g > a_r:
            out.append(texts["leave_more"].format(p=band, **fmt))
        elif band != "≥ 0.05" and a_g < a_r:
            out.append(texts["leave_less"].format(p=band, **fmt))
        else:
            out.append(texts["no_difference"].format(p=band, **fmt))
    if bench is not None and representation:
        last = representation[-1]["date"]
        for r in representation:
            if r["date"] != last or r["group"] == BELGIAN_ORIGIN:
                continue
            if is_suppressed(r["share"]) or r["share"] is None or r["benchmark_share"] is None:
                continue
            if r["share"] < r["benchmark_share"]:
                out.append(texts["below_benchmark"].format(
                    g=names.get(r["group"], r["group"]), share=f"{r['share']:.1%}",
                    bench=f"{r['benchmark_share']:.1%}", label=r["benchmark_label"]))
    return out


_reports: OrderedDict[tuple, RetentionReport] = OrderedDict()
_REPORT_CACHE_SIZE = 32


def retention_report(user: User, zone: str, *, lang: str = "en",
                     reference: str = DEFAULT_REFERENCE_GROUP) -> RetentionReport:
    """The published retention report of one zone (or ``ALL``), as this user may see it.

    The scope check runs on every call; the (slow: Aalen-Johansen, Cox, NMF) report itself
    is cached per data version, policy, zone, language and reference group.
    """
    if reference not in KNOWN_BACKGROUNDS:
        raise ValidationFailed(f"Unknown reference group {reference!r}.")
    zone_obj = resolve_zone(user, zone)  # 404 / 403 outside the user's scope
    release = get_release()
    key = (db.engine.url.render_as_string(), release.version, release.tables["flows"].policy,
           zone, lang, reference)
    with _cache_lock:
        if key in _reports:
            _reports.move_to_end(key)
            return _reports[key]
    with warnings.catch_warnings():
        # lifelines warns that tied exit times are jittered (seeded): expected, not actionable.
        warnings.simplefilter("ignore")
        report = _build_report(release, zone, zone_obj, lang, reference)
    with _cache_lock:
        _reports[key] = report
        while len(_reports) > _REPORT_CACHE_SIZE:
            _reports.popitem(last=False)
    return report


def _build_report(release: RetentionRelease, zone: str, zone_obj: Zone | None, lang: str,
                  reference: str) -> RetentionReport:
    data = release.data
    code = zone_obj.code if zone_obj is not None else None
    if code is not None and code not in data.reference_dates:
        raise NotFound(f"No workforce extract stored for {zone}.")
    pol = release.tables["flows"].policy
    wf = data.frame if code is None else data.frame[data.frame["zone"] == code]
    ref_date = data.release_date if code is None else data.reference_dates[code]
    groups = [g for g in BACKGROUNDS if g in set(wf["migration_background"])]
    bench = _benchmark(zone_obj)
    turnover = _turnover(release, code, groups, pol)
    over_time, by_rank = _representation(release, code, groups, pol, bench)
    surv = _survival_part(wf, ref_date, groups, pol, reference)
    _gate_first_year(release, code, surv["first_year"], pol)
    reasons, reasons_test = _reasons(release, code, wf, data.release_date, groups, pol)
    themes = _themes(wf, data.release_date, pol)
    headcount = [{"date": r["date"], "group": r["group"], "count": r["count"]}
                 for r in over_time]
    findings = _findings(lang, reference, surv["summary"], surv["pairwise_early"], over_time,
                         bench)
    label = (zone_obj.name(lang) if zone_obj is not None
             else {"nl": "Alle zones", "fr": "Toutes les zones"}.get(lang, "All zones"))
    return RetentionReport(
        zone=zone, zone_label=label, lang=lang, reference=reference,
        window_start=WINDOW_START.isoformat(), reference_date=ref_date.isoformat(),
        k=pol.k, min_denominator=pol.min_denominator, groups=groups,
        periods=[p.label for p in periods(data.release_date)],
        turnover=turnover, headcount=headcount, representation=over_time,
        representation_by_rank=by_rank,
        benchmark_label=bench.source_label if bench is not None else None,
        km=surv["km"], km_summary=surv["summary"], logrank=surv["logrank"],
        pairwise=surv["pairwise"], logrank_early=surv["logrank_early"],
        pairwise_early=surv["pairwise_early"], first_year=surv["first_year"],
        incidence=surv["incidence"], cox=surv["cox"], reasons=reasons,
        reasons_test=reasons_test, themes=themes, findings=findings,
        definitions={"turnover": TURNOVER_DEFINITION, "survival": SURVIVAL_DEFINITION},
    )


# --- CLI -------------------------------------------------------------------------------------


@click.command("retention")
@click.option("--zone", required=True, help="Zone code, or ALL for the all-zone pool.")
@click.option("--lang", type=click.Choice(["nl", "fr", "en"]), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def retention_command(zone: str, lang: str, as_json: bool) -> None:
    """Print the gated retention tables of one zone (x = hidden to protect privacy)."""
    from hrpipeline.services.scope import OPERATOR

    try:
        report = retention_report(OPERATOR, zone, lang=lang)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    echo = click.echo
    echo(f"Retention {report.zone_label}: {report.window_start} to {report.reference_date} "
         f"(x = hidden, k = {report.k})")
    echo("\nTurnover (annualised) by period and group:")
    echo(f"  {'period':<22}{'group':<19}{'avg hc':>8}{'leavers':>8}{'resign':>7}{'dismiss':>8}"
         f"{'retire':>7}{'mobil':>6}{'turnover':>9}")
    for r in report.turnover:
        echo(f"  {r['period']:<22}{r['group']:<19}{display(r['average_headcount']):>8}"
             f"{display(r['leavers']):>8}{display(r['leavers_voluntary']):>7}"
             f"{display(r['leavers_involuntary']):>8}{display(r['leavers_retirement']):>7}"
             f"{display(r['leavers_mobility']):>6}{_pct(r['turnover']):>9}")
    echo("\nSurvival (Kaplan-Meier, published curves only):")
    for s in report.km_summary:
        echo(f"  {s['group']:<19} {'published' if s['published'] else s['reason']:<28} "
             f"median {_median_text(s)}"
             f"  1-S(12) {_pct(s['attrition_12m'])}  1-S(24) {_pct(s['attrition_24m'])}")
    echo(f"  log-rank p {display(report.logrank.get('p_value'))}")
    for p in report.pairwise:
        echo(f"  {p['group']} vs {p['reference']}: Holm p {display(p['p_holm'])}")
    echo("\nExit reasons by group:")
    for r in report.reasons:
        if is_suppressed(r["count"]) or r["count"]:
            echo(f"  {r['group']:<19}{r['reason']:<19}{display(r['count']):>6}")
    echo(f"  test: {report.reasons_test['test']}, p {display(report.reasons_test['p_value'])}")
    echo("\nFindings:")
    for f in report.findings:
        echo(f"  - {f}")


def _pct(value: Any) -> str:
    if value is None:
        return "-"
    if is_suppressed(value):
        return display(value)
    return f"{float(value):.1%}"
