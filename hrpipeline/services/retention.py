"""Retention report for one zone (or the all-zone pool): load in scope → analyse → protect.

Window: exits and flows from ``WINDOW_START`` (2015-01-01) to the release's reference date:
31 December of the last calendar year that every zone's latest workforce extract covers (one
date, so that zones add up to the pool; complete years, so that versions nest). Officers hired
before the window enter it in service.

**Every count is a sum of one protected release** (:mod:`hrpipeline.disclosure.retention`):
per zone × group × hire cohort, the officers are laid out as one chain (exits by year, before
or after the hire anniversary, exit type and reason; then those still in service by rank) and
its suffix sums are rounded systematically to base k. Headcounts, hires, leavers by type and
reason, ranks, the first-year table and the life table are all sums of those published
leaves, so every identity a reader knows (stock–flow, types adding up to leavers, zones to the
pool) holds exactly in the published numbers and gives nothing back.

Rates and shares are computed from the published counts and shown on a published base of at
least ``min_denominator``. Survival and cumulative incidence are a life table at 12, 24, …, 60
months of service from the published cohort counts (shown while at least ``min_denominator``
officers are at risk); the exit-reason test runs on the published counts. Log-rank tests and
the exploratory Cox model are fitted on the officers' records and published only as
"safe statistics" (model outputs of groups with at least k officers and exits each; a hazard
ratio only for a level with at least 10 exits). No exit date, officer reference or comment
text leaves this module.
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
import pandas as pd
from flask import current_app
from scipy import stats
from sqlalchemy import select

from hrpipeline import formatting
from hrpipeline.analysis import survival
from hrpipeline.analysis.impact import wilson_interval
from hrpipeline.analysis.retention import exit_reason_test
from hrpipeline.analysis.themes import find_themes
from hrpipeline.disclosure import (
    SUPPRESSED,
    Policy,
    coarsen_p,
    display,
    gate_interval,
    gate_p,
    is_suppressed,
)
from hrpipeline.disclosure.gates import published_rate
from hrpipeline.disclosure.retention import (
    PRE_WINDOW,
    STAYING,
    PublishedRetention,
    protect_retention,
)
from hrpipeline.disclosure.rounding import cell_key, round_count
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
from hrpipeline.models import Upload, User, WorkforceRecord, Zone
from hrpipeline.services.publish import (
    csv_comment,
    csv_text,
    policy,
    rounded,
    to_json,
)
from hrpipeline.services.releases import (
    BuildOnce,
    data_version,
    disclosure_key,
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

TURNOVER_DEFINITION = (
    "Turnover = leavers in the period / average headcount, average headcount = (headcount on the "
    "day before the period + headcount on its last day) / 2 (CIPD crude labour turnover rate); "
    "for a part year the rate is annualised (x 12 / months). Exit types are reported separately "
    "over the same average headcount: resignation (voluntary), dismissal or failed probation "
    "(involuntary), retirement, mobility (transfer to another zone) and other."
)
SURVIVAL_DEFINITION = (
    "Life table of time in service: for each year of service, the officers hired since 2015 "
    "whose cohort has been followed through that year, and how many of them left during it; "
    "survival at 12, 24, 36, 48 and 60 months is the product of the yearly stay rates "
    "(Kaplan-Meier read at the ends of the years), with a 95% interval (Greenwood, log-log). "
    "It is shown while at least 20 officers are at risk. First-year attrition = 1 - S(12 "
    "months). The counts are rounded to multiples of 5 like every count of this page."
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
                           "{bench} share of the population ({label}; exact binomial test, "
                           "Holm-adjusted p {p}).",
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
        "below_benchmark": "Personeelsleden met {g} vormen {share} van het korps, minder dan "
                           "hun aandeel van {bench} in de bevolking ({label}; exacte binomiale "
                           "toets, p na Holm-correctie {p}).",
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
        "below_benchmark": "Les membres du personnel d'{g} représentent {share} du corps, moins "
                           "que leur part de {bench} dans la population ({label} ; test "
                           "binomial exact, p ajustée par Holm {p}).",
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
        """The release's reference date: 31 December of the last calendar year complete in
        every zone's latest extract (the earliest zone's reference date, or the year before).

        One date for every zone keeps the pool coherent. Complete years keep versions nested:
        a later extract of the same year changes nothing, and a later year only adds exits to
        the end of each cohort chain (docs/disclosure-control.md, "Versions").
        """
        earliest = min(self.reference_dates.values())
        year = earliest.year if (earliest.month, earliest.day) == (12, 31) else earliest.year - 1
        return dt.date(year, 12, 31)


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


# --- the release: rounded cohort chains -------------------------------------------------------


def officer_frame(data: WorkforceData) -> pd.DataFrame:
    """One row per officer in the window, as the cohort chains read it (internal).

    Every zone is cut at the release's reference date (the earliest zone's): the pool then
    adds up, and a zone's later exits and hires wait for the other zones' extracts.
    """
    wf = data.frame
    ref = pd.Timestamp(data.release_date)
    wf = wf[wf["hire_date"] <= ref]
    left = wf["exit_date"].notna() & (wf["exit_date"] <= ref)
    hire_year = wf["hire_date"].dt.year
    exit_year = wf["exit_date"].dt.year.where(left, STAYING).astype(int)
    # The hire anniversary in the exit year: before it, the officer served fewer whole years
    # (a 29 February hire has its anniversary on 28 February in other years).
    exit_md = wf["exit_date"].dt.month * 100 + wf["exit_date"].dt.day
    hire_md = wf["hire_date"].dt.month * 100 + wf["hire_date"].dt.day
    leap = (exit_year % 4 == 0) & ((exit_year % 100 != 0) | (exit_year % 400 == 0))
    anniversary_md = hire_md.where((hire_md != 229) | leap, 228)
    on_or_after = (exit_year > hire_year) & (exit_md >= anniversary_md) | (exit_year == hire_year)
    reason = wf["exit_reason"].fillna("unknown")
    out = pd.DataFrame({
        "zone": wf["zone"],
        "group": wf["migration_background"],
        "cohort": hire_year.where(wf["hire_date"] >= pd.Timestamp(WINDOW_START)).map(
            lambda y: PRE_WINDOW if pd.isna(y) else str(int(y))),
        "exit_year": exit_year,
        "after_anniversary": (left & ((hire_year < WINDOW_START.year) | on_or_after)
                              ).astype(int),
        "exit_type": wf["exit_type"].where(wf["exit_type"].isin(EXIT_TYPES), "other"),
        "reason": reason.where(reason.isin(EXIT_REASONS), "other"),
        "rank": wf["rank"].fillna("unknown"),
    })
    return out.reset_index(drop=True)


@dataclass
class RetentionRelease:
    """The published leaves of every zone's cohort chains, and the data they came from.

    ``leaves``: columns of :data:`hrpipeline.disclosure.retention.LEAF_COLUMNS`, ``published``
    (a multiple of the base) and ``start`` (the cohort's hire year; 0 before the window). Every
    count the report shows is a sum of ``published`` over some of them: tables add up and
    stock–flow identities hold exactly in what is published.
    """

    version: str
    data: WorkforceData
    protected: PublishedRetention
    policy: Policy
    leaves: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        leaves = self.protected.published_leaves()
        leaves["start"] = leaves["cohort"].map(lambda c: 0 if c == PRE_WINDOW else int(c))
        self.leaves = leaves

    def zone_leaves(self, zone: str | None) -> pd.DataFrame:
        return self.leaves if zone is None else self.leaves[self.leaves["zone"] == zone]


#: The Cox model uses covariates known at hire (not rank: recorded at exit or extract date).
COX_COVARIATES: tuple[str, ...] = ("group", "gender")
#: No hazard ratio for a level with fewer exits than this (Peduzzi et al. 1995's 10 events).
COX_MIN_EVENTS_PER_LEVEL = 10
#: Exit types whose reasons are compared between groups (one type: no mixing of exit types).
REASON_TEST_EXIT_TYPES: tuple[str, ...] = ("voluntary",)
#: Years of service of the published life table (survival at 12, 24, ... months).
LIFE_TABLE_YEARS = 5
_cache_lock = threading.Lock()  # the report cache below
#: The release per data version, built by one thread at a time (issue 18); asked for
#: inside a web request, by a background job (services.jobs).
_releases = BuildOnce(4, job=retention_job, family=retention_family)


def get_release() -> RetentionRelease:
    """Every zone's retention counts as rounded cohort chains (one release per data version).

    Building it takes milliseconds (one rounding pass over the officers); it is cached per
    data version and policy in the process.
    """
    pol = policy()
    version = data_version()
    return _releases.get((db.engine.url.render_as_string(), version, pol),
                         lambda: _build_release(version, pol))


def _build_release(version: str, pol: Policy) -> RetentionRelease:
    data = load_workforce()
    try:
        protected = protect_retention(officer_frame(data), pol.k, disclosure_key(),
                                      exit_types=EXIT_TYPES, reasons=EXIT_REASONS,
                                      ranks=(*RANKS, "unknown"))
    except ValueError as exc:
        # A release that cannot be protected publishes nothing and says why (never a 500,
        # never a partial table); the cause is logged for the administrators.
        current_app.logger.error("retention release %s could not be protected: %s", version, exc)
        raise ServiceUnavailable(
            "The retention tables could not be protected for publication after the latest "
            "upload, so nothing is shown. An administrator can find the cause in the log."
        ) from exc
    return RetentionRelease(version, data, protected, pol)


def clear_cache() -> None:
    _releases.clear()
    with _cache_lock:
        _reports.clear()


def _sum(frame: pd.DataFrame) -> int:
    return int(frame["published"].sum())


def _stock(leaves: pd.DataFrame, year: int) -> pd.DataFrame:
    """Leaves of the officers in service at the end of ``year`` (hired by then, left after)."""
    return leaves[(leaves["start"] <= year) & (leaves["exit_year"] > year)]


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
                        "average_headcount", "hires", "leavers", "turnover_lower",
                        "turnover_upper", "rate_ratio", "rate_ratio_lower", "rate_ratio_upper", *(f"leavers_{t}" for t in EXIT_TYPES),
                        "turnover", *(f"turnover_{t}" for t in EXIT_TYPES))
    REPRESENTATION_COLUMNS = ("date", "rank", "group", "count", "total", "unknown", "share",
                              "benchmark_share", "gap_points", "p_adjusted", "verdict",
                              "benchmark_label")
    KM_SUMMARY_COLUMNS = ("group", "published", "reason", "median_months",
                          "attrition_12m", "attrition_12m_lower", "attrition_12m_upper",
                          "attrition_24m", "attrition_24m_lower", "attrition_24m_upper",
                          "truncated_at")
    KM_COLUMNS = ("group", "month", "survival", "lower", "upper", "at_risk", "exits")
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
            "themes": {**to_json({k: v for k, v in self.themes.items() if k != "rows"}),
                       "rows": rows(self.themes.get("rows", []))},
            "findings": self.findings, "definitions": self.definitions,
            "suppression": {"symbol": "x", "k": self.k,
                            "rule": f"rates on fewer than {self.min_denominator} persons are "
                                    "hidden"},
            "rounding": {"base": self.k, "method": "controlled random rounding of cohort "
                         "chains (docs/disclosure-control.md)",
                         "note": f"every count is rounded to a multiple of {self.k}; rates "
                                 "are computed from the rounded counts"},
        }

    def to_csv(self) -> str:
        header = csv_comment(f"Retention {self.zone_label}, {self.window_start} to "
                             f"{self.reference_date}; counts rounded to multiples of {self.k}, "
                             f"rates from rounded counts; x = rate on fewer than "
                             f"{self.min_denominator} persons")
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


def _turnover_rate(leavers: int, start: int, end: int, months: float, pol: Policy) -> Any:
    """Leavers / average headcount, annualised, from published (rounded) counts.

    Shown when the published average headcount is at least ``min_denominator``: the counts
    are public, so the rate tells nothing more (as ``published_rate``); it can exceed 100 %
    when a small corps turns over more than once a year.
    """
    average = (int(start) + int(end)) / 2
    if average < pol.min_denominator:
        return SUPPRESSED
    return int(leavers) / average * 12 / months


def _turnover(release: RetentionRelease, zone: str | None, groups: list[str], pol: Policy,
              reference: str = DEFAULT_REFERENCE_GROUP):
    """Rows per period and group (and all groups), then one row over the whole window.

    Every count is a sum of published leaves: ``headcount_end = headcount_start + hires −
    leavers`` holds exactly in the published numbers. The window row is the annual average:
    leavers / person-years, person-years = sum over periods of average headcount x months / 12.
    """
    leaves = release.zone_leaves(zone)
    pers = periods(release.data.release_date)
    exits = leaves[leaves["exit_year"] != STAYING]

    def leavers(year: int | None, group: str | None, exit_type: str | None = None) -> int:
        part = exits
        if year is not None:
            part = part[part["exit_year"] == year]
        if group is not None:
            part = part[part["group"] == group]
        if exit_type is not None:
            part = part[part["exit_type"] == exit_type]
        return _sum(part)

    def stock(year: int, group: str | None) -> int:
        part = _stock(leaves, year)
        return _sum(part if group is None else part[part["group"] == group])

    out = []
    exposure: dict[str, list[float]] = {g or "all": [] for g in [*groups, None]}
    for p in pers:
        year = p.start.year
        for g in [*groups, None]:
            start = stock(year - 1, g)
            end = stock(year, g)  # in the last, partial year: those still in service
            average = (start + end) / 2
            exposure[g or "all"].append(average * p.months / 12)
            row = {"period": p.label, "months": round(p.months, 2), "group": g or "all",
                   "headcount_start": start, "headcount_end": end, "average_headcount": average,
                   "hires": _sum(leaves[(leaves["start"] == year)
                                        & ((leaves["group"] == g) if g else True)]),
                   "leavers": leavers(year, g),
                   "turnover": _r(_turnover_rate(leavers(year, g), start, end, p.months, pol))}
            for t in EXIT_TYPES:
                n = leavers(year, g, t)
                row[f"leavers_{t}"] = n
                row[f"turnover_{t}"] = _r(_turnover_rate(n, start, end, p.months, pol))
            out.append(row)
    label = f"{WINDOW_START.year}–{pers[-1].end.year} (annual average)" if pers else ""
    months = sum(p.months for p in pers)
    chains = leaves.groupby("group")["cohort"].nunique()
    window: dict[str, tuple[int, float, int]] = {}
    for g in [*groups, None]:
        person_years = sum(exposure[g or "all"])
        total = leavers(None, g)
        cohorts = int(chains.sum() if g is None else chains.get(g, 0))
        window[g or "all"] = (total, person_years, cohorts)
        rate = _person_year_rate(total, person_years, pol)
        low, high = (SUPPRESSED, SUPPRESSED) if is_suppressed(rate) else _rate_interval(
            total, person_years, cohorts, pol.k)
        row = {"period": label, "months": round(months, 2), "group": g or "all",
               "headcount_start": None, "headcount_end": None,
               "average_headcount": _r(person_years * 12 / months, 1) if months else None,
               "hires": None, "leavers": total, "turnover": _r(rate),
               "turnover_lower": _r(low), "turnover_upper": _r(high)}
        for t in EXIT_TYPES:
            n = leavers(None, g, t)
            row[f"leavers_{t}"] = n
            row[f"turnover_{t}"] = _r(_person_year_rate(n, person_years, pol))
        out.append(row)
    ref = window.get(reference)
    for row in out[-(len(groups) + 1):]:
        g = row["group"]
        ratio = (None, None, None)
        if ref is not None and g not in ("all", reference) and g in window and not is_suppressed(
                row["turnover"]) and row["turnover"] is not None:
            ratio = _rate_ratio(window[g], ref, pol)
        row["rate_ratio"], row["rate_ratio_lower"], row["rate_ratio_upper"] = (
            _r(v) for v in ratio)
    return out


def _rounding_variance(cohorts: int, base: int) -> float:
    """Upper bound of the variance a sum of ``cohorts`` rounded chain blocks adds to a count:
    each block's error is unbiased with variance at most base²/4 (Hundepool et al. 2012,
    §5.4), and blocks of different chains are independent."""
    return cohorts * base ** 2 / 4


def _rate_interval(count: int, person_years: float, cohorts: int, base: int,
                   alpha: float = 0.05) -> tuple[float, float]:
    """95 % interval of an annual exit rate from a published (rounded) count of leavers.

    log-normal on the count with Poisson and rounding variance, Var = x + cohorts·k²/4
    (for x ≥ 1); for a published 0 (true 0..k−1) the exact Poisson upper bound of k − 1
    events (Garwood 1936). Example: 40 leavers over 500 person-years, 10 cohorts, k = 5 →
    8.0 % (4.9 % to 13.1 %; 5.7 % to 11.2 % without the rounding).
    """
    z = float(stats.norm.ppf(1 - alpha / 2))
    if count <= 0:
        return 0.0, float(stats.chi2.ppf(1 - alpha / 2, 2 * base) / 2) / person_years
    sd = math.sqrt(count + _rounding_variance(cohorts, base)) / count
    rate = count / person_years
    return rate * math.exp(-z * sd), rate * math.exp(z * sd)


def _rate_ratio(group: tuple[int, float, int], reference: tuple[int, float, int], pol: Policy,
                alpha: float = 0.05) -> tuple[Any, Any, Any]:
    """Exit-rate ratio of a group to the reference over the window, with a 95 % interval
    (log method, Var log RR = Var(x₁)/x₁² + Var(x₂)/x₂², Poisson plus rounding; Rothman,
    Modern Epidemiology, 3rd ed., ch. 14). None when either published count is 0."""
    (x1, py1, c1), (x2, py2, c2) = group, reference
    if x1 <= 0 or x2 <= 0 or py1 < pol.min_denominator or py2 < pol.min_denominator:
        return None, None, None
    ratio = (x1 / py1) / (x2 / py2)
    var = ((x1 + _rounding_variance(c1, pol.k)) / x1 ** 2
           + (x2 + _rounding_variance(c2, pol.k)) / x2 ** 2)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return ratio, ratio * math.exp(-z * math.sqrt(var)), ratio * math.exp(z * math.sqrt(var))


def _person_year_rate(count: int, person_years: float, pol: Policy) -> Any:
    """Leavers per person-year (an annual rate) of published counts; shown on at least
    ``min_denominator`` person-years."""
    if person_years < pol.min_denominator:
        return SUPPRESSED
    return int(count) / person_years


def _benchmark(zone_obj: Zone | None):
    if zone_obj is None:
        return None
    from hrpipeline.services.benchmarks import benchmark_for_zone

    return benchmark_for_zone(zone_obj.id, kind="stock")  # the corps: a stock benchmark


def _representation(release, zone, groups, pol, bench):
    """Headcount shares by group at each year end and on the reference date (by rank too),
    all sums of published leaves.

    Shares are of the officers of **known** background (the ``unknown`` count is shown beside
    them, as on the funnel and representation pages) and are shown on a published known total
    of at least ``min_denominator``. On the reference date the corps is compared with the
    stock benchmark by the exact binomial test, Holm over the groups compared
    (``analysis.representation.representation_against_benchmark``): ``verdict`` is "below" /
    "above" only when that test says so at 5 %.
    """
    leaves = release.zone_leaves(zone)
    ref = release.data.release_date
    over_time, by_rank = [], []

    def rows_for(date: str, rank: str, part: pd.DataFrame) -> list[dict[str, Any]]:
        counts = {g: _sum(part[part["group"] == g]) for g in groups}
        known = sum(v for g, v in counts.items() if g in KNOWN_BACKGROUNDS)
        unknown = counts.get("unknown", 0)
        out = []
        for g in groups:
            share = (published_rate(counts[g], known, pol) if g in KNOWN_BACKGROUNDS
                     else None)
            b = bench.shares.get(g) if bench is not None else None
            out.append({
                "date": date, "rank": rank, "group": g, "count": counts[g], "total": known,
                "unknown": unknown, "share": _r(share), "benchmark_share": _r(b),
                "gap_points": rounded(None if b is None or share is None or is_suppressed(share)
                                      else (float(share) - b) * 100, 1,
                                      share is not None and is_suppressed(share)),
                "benchmark_label": bench.source_label if bench is not None and b is not None
                else None, "p_adjusted": None, "verdict": None})
        return out

    for day in _year_ends(ref):
        over_time += rows_for(day.date().isoformat(), "all", _stock(leaves, day.year))
    present = leaves[leaves["exit_year"] == STAYING]
    latest = rows_for(ref.isoformat(), "all", present)
    if bench is not None:
        _test_against_benchmark(latest, bench, pol)
    over_time += latest
    for rank in [*RANKS, "unknown"]:
        part = present[present["rank"] == rank]
        if _sum(part) == 0:
            continue
        by_rank += rows_for(ref.isoformat(), rank, part)
    return over_time, by_rank


def _test_against_benchmark(rows: list[dict[str, Any]], bench, pol: Policy) -> None:
    """The corps on the reference date against the stock benchmark: exact binomial test per
    group with Holm over the groups compared (issue 16 item 3: "below its share" only when a
    stated test says so). Run on the published counts, only with a published known total of
    at least ``min_denominator``."""
    from hrpipeline.analysis.representation import representation_against_benchmark

    known = rows[0]["total"] if rows else 0
    if known < pol.min_denominator:
        return
    counts = {r["group"]: int(r["count"]) for r in rows}
    try:
        result = representation_against_benchmark([("corps", counts)], bench.as_analysis())
    except (KeyError, ValueError):
        return
    by_group = {r.group: r for r in result.rows}
    for row in rows:
        tested = by_group.get(row["group"])
        if tested is not None and tested.verdict in ("below", "above", "consistent"):
            row["p_adjusted"] = _r(tested.p_adjusted)
            row["verdict"] = tested.verdict


def first_year_cells(codes: list[str]) -> dict[tuple[str, int, str], tuple[int, int]]:
    """The first-year cohort table as the retention page publishes it, per zone.

    ``{(zone, hire year, group): (hires, left within 12 months)}`` for the cohorts followed
    12 months by the release's reference date: sums of published (rounded) leaves, the same
    numbers as the page's table (for retention pilots: they add nothing to it).
    """
    try:
        release = get_release()
    except NotFound:
        return {}
    ref_year = release.data.release_date.year
    leaves = release.leaves[release.leaves["zone"].isin(codes)
                            & (release.leaves["start"] >= WINDOW_START.year)
                            & (release.leaves["start"] + 1 <= ref_year)]
    out = {}
    for (zone, cohort, group), part in leaves.groupby(["zone", "start", "group"]):
        out[(str(zone), int(cohort), str(group))] = (_sum(part), _sum(_first_year_exits(part)))
    return out


def _first_year_exits(leaves: pd.DataFrame) -> pd.DataFrame:
    """Leaves of one cohort's officers who left within 12 months of hire (a prefix of its
    chain: the hire year, then the next year before the anniversary)."""
    start = leaves["start"]
    return leaves[(leaves["exit_year"] == start)
                  | ((leaves["exit_year"] == start + 1) & (leaves["after_anniversary"] == 0))]


def _median_text(summary: dict[str, Any]) -> str:
    """"not reached" only when the table covers the follow-up; a table cut short (too few at
    risk) says where it stops (issue 16 item 10)."""
    if summary["median_months"]:
        return display(summary["median_months"])
    if summary.get("truncated_at"):
        return f"beyond {int(summary['truncated_at'])} months (the table stops there)"
    return "not shown"


def _service_year_counts(leaves: pd.DataFrame, year: int, ref_year: int):
    """At risk at the start of year of service ``year`` and exits during it, by exit type,
    summed over the cohorts followed through it (hired by 31 December of ``ref_year − year``;
    ``ref_year`` the release's last complete year): sums of published leaves, each cohort's a
    contiguous block of its chain."""
    hired = leaves[(leaves["start"] >= WINDOW_START.year)
                   & (leaves["start"] + year <= ref_year)]
    first = hired["start"] + year - 1  # the calendar year of the (year − 1)th anniversary
    at_risk = hired[(hired["exit_year"] > first)
                    | ((hired["exit_year"] == first) & (hired["after_anniversary"] == 1))]
    left = hired[((hired["exit_year"] == first) & (hired["after_anniversary"] == 1))
                 | ((hired["exit_year"] == first + 1) & (hired["after_anniversary"] == 0))]
    causes = _cause(left["exit_type"])
    return (_sum(at_risk), {str(c): int(v) for c, v in
                            left.groupby(causes)["published"].sum().items() if v},
            hired["start"].nunique())


def _life_tables(release: RetentionRelease, zone: str | None, groups: list[str], pol: Policy):
    """Survival at 12, 24, ... months of service per group, from the published cohort counts.

    An interval is published while its published risk set is at least ``min_denominator``
    (issue 14: survival at fixed horizons where the risk set is at least 20).
    """
    leaves = release.zone_leaves(zone)
    ref_year = release.data.release_date.year
    out = {}
    for g in groups:
        part = leaves[leaves["group"] == g]
        counts = [_service_year_counts(part, j, ref_year) for j in range(1, LIFE_TABLE_YEARS + 1)]
        shown = []
        for n, d, cohorts in counts:
            if n < pol.min_denominator:
                break
            shown.append((n, d, cohorts))
        # Rounding is part of the uncertainty: each cohort's exits in the year are one rounded
        # block, unbiased with a variance of at most k²/4 (Hundepool et al. 2012, §5.4), so
        # q = d / n gets up to cohorts × k² / (4 n²) more variance than sampling alone.
        extra = [c * pol.k ** 2 / (4 * n ** 2) for n, _d, c in shown]
        out[g] = survival.life_table([n for n, _d, _c in shown], [d for _n, d, _c in shown],
                                     extra_variance=extra)
    return out


def _median_from_table(rows: list[survival.LifeTableRow]) -> float | None:
    """The month where the survival crosses 50 % (linear within the year: the actuarial
    median), or None when it stays above."""
    previous = 1.0
    for r in rows:
        if r.survival <= 0.5:
            return r.start + (r.end - r.start) * (previous - 0.5) / (previous - r.survival)
        previous = r.survival
    return None


def _survival_part(release: RetentionRelease, zone: str | None, wf: pd.DataFrame,
                   ref_date: dt.date, groups: list[str], pol: Policy,
                   reference: str) -> dict[str, Any]:
    tables = _life_tables(release, zone, groups, pol)
    km, summary = [], []
    for g, rows in tables.items():
        if rows:
            km.append({"group": g, "month": 0, "survival": 1.0, "lower": 1.0, "upper": 1.0,
                       "at_risk": rows[0].at_risk})
        for r in rows:
            km.append({"group": g, "month": int(r.end), "survival": _r(r.survival),
                       "lower": _r(r.lower), "upper": _r(r.upper), "at_risk": r.at_risk,
                       "exits": r.exits})
        at = {int(r.end): r for r in rows}
        summary.append({
            "group": g, "published": bool(rows),
            "reason": None if rows else "too few officers followed for a year",
            "median_months": _r(_median_from_table(rows), 1),
            "attrition_12m": _r(1 - at[12].survival) if 12 in at else None,
            "attrition_12m_lower": _r(1 - at[12].upper) if 12 in at else None,
            "attrition_12m_upper": _r(1 - at[12].lower) if 12 in at else None,
            "attrition_24m": _r(1 - at[24].survival) if 24 in at else None,
            "attrition_24m_lower": _r(1 - at[24].upper) if 24 in at else None,
            "attrition_24m_upper": _r(1 - at[24].lower) if 24 in at else None,
            # Where the table stops (60 months, or earlier with fewer than 20 at risk): a
            # median beyond it is "beyond N months", never "not reached" (issue 16 item 10).
            "truncated_at": int(rows[-1].end) if rows else None,
        })

    data = survival.prepare_survival_data(wf, reference_date=ref_date,
                                          window_start=WINDOW_START)
    logrank, pairwise = _logrank(data, reference, pol, "whole tenure")
    early = _first_months(data, FIRST_YEARS_MONTHS)
    logrank_early, pairwise_early = _logrank(early, reference, pol, "first two years")

    leaves = release.zone_leaves(zone)
    ref_year = release.data.release_date.year
    first_year = []
    for (cohort, g), part in leaves[leaves["start"] >= WINDOW_START.year].groupby(
            ["start", "group"]):
        if g not in groups:
            continue
        cohort = int(cohort)
        hires = _sum(part)
        exits = _sum(_first_year_exits(part))
        complete = cohort + 1 <= ref_year
        rate = published_rate(exits, hires, pol) if complete else None
        ci = (wilson_interval(exits, hires) if rate is not None and not is_suppressed(rate)
              else None)
        first_year.append({
            "cohort": cohort, "group": g, "hires": hires, "exits_12m": exits,
            "attrition": _r(rate),
            "lower": SUPPRESSED if is_suppressed(rate) else (_r(ci.low) if ci else None),
            "upper": SUPPRESSED if is_suppressed(rate) else (_r(ci.high) if ci else None),
            "note": ("not yet followed 12 months" if not complete
                     else "too few hires for a rate" if is_suppressed(rate) else "complete"),
        })

    incidence = []
    for g, rows in tables.items():
        for month in CIF_MONTHS:
            row = next((r for r in rows if int(r.end) == month), None)
            if row is None:
                continue
            for cause in (*survival.DEFAULT_CAUSES, survival.OTHER_EXIT):
                incidence.append({"group": g, "cause": cause, "month": month,
                                  "cif": _r(row.cif.get(cause, 0.0))})

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
        # The direction of a difference is the test's own (more exits observed than expected
        # under no difference, or fewer), never read off a rounded display figure (issue 16
        # item 1: a headline read off a display curve reversed a finding).
        o, e = lr.observed.get(pw.group), lr.expected.get(pw.group)
        pairwise.append({"horizon": horizon, "group": pw.group, "reference": pw.reference,
                         "p_value": _p_text(gate_p(pw.p_value, h)),
                         "p_holm": _p_text(gate_p(pw.p_holm, h)),
                         "p_band": coarsen_p(pw.p_holm),
                         "direction": None if o is None or e is None or o == e
                         else ("more" if o > e else "less")})
    return overall, pairwise


def _cause(exit_type: pd.Series) -> pd.Series:
    return exit_type.where(exit_type.isin(survival.DEFAULT_CAUSES), survival.OTHER_EXIT)


def _reasons(release, zone, wf, ref_date, groups, pol):
    leaves = release.zone_leaves(zone)
    exits = leaves[leaves["exit_year"] != STAYING]
    rows = []
    for g in groups:
        mine = exits[exits["group"] == g]
        total = _sum(mine)
        for reason in EXIT_REASONS:
            c = _sum(mine[mine["reason"] == reason])
            rows.append({"group": g, "reason": reason, "count": c,
                         "share": _r(published_rate(c, total, pol))})
    # The test compares reasons within one exit type: across all exits, a group with more
    # retirements "differs" in its reasons for that alone (issue 16 item 9). Exit interviews are
    # about voluntary exits, so those are tested — on the published (rounded) counts, like every
    # verdict of the service (issue 14 item 4), never on the true ones.
    tested = exits[exits["exit_type"].isin(REASON_TEST_EXIT_TYPES)
                   & exits["group"].isin(KNOWN_BACKGROUNDS) & (exits["reason"] != "unknown")]
    table = tested.pivot_table(index="group", columns="reason", values="published",
                               aggfunc="sum", fill_value=0)
    name, _stat, p, _dof, _min, _note = exit_reason_test(table, REASON_RESAMPLES, 0)
    kept = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    test = {"test": name, "p_value": None if p is None else _p_text(p),
            "groups": ",".join(kept.index), "exit_types": ",".join(REASON_TEST_EXIT_TYPES),
            "n_tested": int(kept.to_numpy().sum()), "counts": "published (rounded)"}
    return rows, test


def _themes(wf: pd.DataFrame, ref_date: dt.date, pol: Policy,
            published_leavers: int) -> dict[str, Any]:
    leavers = wf[wf["exit_date"].between(pd.Timestamp(WINDOW_START), pd.Timestamp(ref_date))]
    left = leavers[leavers["exit_comment"].fillna("").str.strip().str.len() > 0]
    res = find_themes(left["exit_comment"], left["migration_background"], k=pol.k,
                      reasons=left["exit_reason"])
    # Themes only when stable and language-independent (analysis.themes); the checks and the
    # response rate: leavers with a comment (rounded by cell key) / the published leavers of
    # the window (a sum of the release's leaves), whole percent.
    secret = disclosure_key()
    comments = round_count(len(left), pol.k, cell_key(
        secret, ("comments", ",".join(sorted(set(wf["zone"]))), ref_date), len(left)))
    rate = (published_rate(min(comments, published_leavers), published_leavers, pol)
            if published_leavers else None)
    checks = {**res.checks(), "response_rate": _r(rate, 2)}
    if res.status != "ok" or not res.themes:
        return {**checks, "message": res.message, "rows": []}
    # Each theme × group count is rounded to base k with a key of its identity and value (the
    # theme table is linked to no other table); a theme's total is the sum of its published
    # cells, so the table adds up and no total is rounded twice.
    rows = []
    for t in res.themes:
        terms = "" if t.suppressed else ", ".join(t.top_terms)
        cells = {g: round_count(int(c), pol.k, cell_key(secret, ("theme", t.theme_id, g), int(c)))
                 for g, c in t.by_group.items()}
        for g, c in cells.items():
            rows.append({"theme": t.theme_id, "top_terms": terms, "group": g, "count": c})
        rows.append({"theme": t.theme_id, "top_terms": terms, "group": "all",
                     "count": sum(cells.values())})
    return {**checks, "message": "", "rows": rows}


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
        band = pw["p_band"]
        if mine is None or ref is None or not mine["published"] or not ref["published"] \
                or is_suppressed(pw["p_holm"]):
            out.append(texts["too_few"].format(**fmt))
        elif band != "≥ 0.05" and pw.get("direction") == "more":
            out.append(texts["leave_more"].format(p=formatting.p_value(band, lang), **fmt))
        elif band != "≥ 0.05" and pw.get("direction") == "less":
            out.append(texts["leave_less"].format(p=formatting.p_value(band, lang), **fmt))
        else:
            out.append(texts["no_difference"].format(p=formatting.p_value(band, lang), **fmt))
    if bench is not None and representation:
        last = representation[-1]["date"]
        for r in representation:
            if r["date"] != last or r["group"] == BELGIAN_ORIGIN or r.get("verdict") != "below":
                continue
            out.append(texts["below_benchmark"].format(
                g=names.get(r["group"], r["group"]), share=formatting.rate(r["share"], lang),
                bench=formatting.rate(r["benchmark_share"], lang), label=r["benchmark_label"],
                p=formatting.p_value(r["p_adjusted"], lang)))
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
    key = (db.engine.url.render_as_string(), release.version, release.policy,
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
    pol = release.policy
    wf = data.frame if code is None else data.frame[data.frame["zone"] == code]
    # One reference date for every table of the release (the zones add up to the pool).
    ref_date = data.release_date
    groups = [g for g in BACKGROUNDS if g in set(wf["migration_background"])]
    bench = _benchmark(zone_obj)
    turnover = _turnover(release, code, groups, pol, reference)
    over_time, by_rank = _representation(release, code, groups, pol, bench)
    surv = _survival_part(release, code, wf, ref_date, groups, pol, reference)
    reasons, reasons_test = _reasons(release, code, wf, data.release_date, groups, pol)
    exits = release.zone_leaves(code)
    themes = _themes(wf, data.release_date, pol,
                     _sum(exits[exits["exit_year"] != STAYING]))
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
    """Print the protected retention tables of one zone (counts rounded; x = too few)."""
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
         f"(counts rounded to multiples of {report.k}; x = rate on fewer than "
         f"{report.min_denominator})")
    echo("\nTurnover (annualised) by period and group:")
    echo(f"  {'period':<22}{'group':<19}{'avg hc':>8}{'leavers':>8}{'resign':>7}{'dismiss':>8}"
         f"{'retire':>7}{'mobil':>6}{'turnover':>9}")
    for r in report.turnover:
        echo(f"  {r['period']:<22}{r['group']:<19}{display(r['average_headcount']):>8}"
             f"{display(r['leavers']):>8}{display(r['leavers_voluntary']):>7}"
             f"{display(r['leavers_involuntary']):>8}{display(r['leavers_retirement']):>7}"
             f"{display(r['leavers_mobility']):>6}{_pct(r['turnover']):>9}")
    echo("\nSurvival (life table from the rounded counts):")
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
