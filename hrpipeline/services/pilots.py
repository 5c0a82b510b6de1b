"""Pilots: register, list (in the user's scope) and evaluate through the suppression gate.

``evaluate(user, pilot_id)`` builds the counts frame with one GROUP BY in the database,
runs ``hrpipeline.analysis.pilot.evaluate_pilot`` (before/after + difference-in-differences
zone x period model with estimated extra variation, see ``docs/pilots-and-briefings.md``) and
publishes:

* the eight arm × phase × group cells (successes, failures, decisions) and the per-period
  counts behind the gap chart (dims ``arm, phase, period, group, outcome``): sums of the
  funnel's or the retention release's published cells;
* rates via ``gate_rate`` and gaps only when both rates are published;
* the DiD estimate, its CI, the percentage-point effect and the before/after gap changes,
  rounded (2 decimals on the log-odds scale, 1 decimal in points), only when no count behind
  them is hidden; otherwise only the verdict.

Differencing against the other pages (docs/disclosure-control.md): a decision pilot counts
funnel cells (zone, campaign, group, passed / failed at the target stage; withdrawals and
pending excluded on both sides), and ``decision_counts`` reads them from the zones' protected
funnel releases (rounded counts); a retention pilot counts the retention page's first-year
cohort cells (zone, hire year, group, stayed / left within 12 months), read from the retention
release (rounded counts). Every pilot cell is therefore a sum of numbers the funnel or
retention pages publish: it is published whole (``disclosure.tables.SummedTable``) and adds
nothing, and the verdict is computed from those published counts.

Periods: for decision pilots the campaign (ordered by the date of its first decision at the
targeted stage, not by label), "after" when that date falls on or after the start date; for
retention pilots the hire year, "after" from the first full hire year on or after the start
date, success = still in service 12 months after hire (any exit type; cohorts whose 12 months
are not over by the release's reference date are left out).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from hrpipeline.analysis import pilot as P
from hrpipeline.disclosure import SUPPRESSED, gate_p, gate_rate, is_suppressed
from hrpipeline.disclosure.tables import SummedTable
from hrpipeline.domain import BACKGROUNDS, DEFAULT_STAGES
from hrpipeline.errors import Forbidden, NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import (
    CountRecord,
    FunnelRecord,
    Pilot,
    Upload,
    User,
    Zone,
    pilot_zones,
)
from hrpipeline.services.publish import (
    any_hidden,
    csv_comment,
    csv_text,
    policy,
    rounded,
    to_json,
)
from hrpipeline.services.scope import ALL, zone_scope

RETENTION_TARGET = "retention"
from hrpipeline.access import roles_with  # noqa: E402

REGISTER_ROLES = roles_with("pilots_register")
DIMS = ("arm", "phase", "period", "group", "outcome")
LEVELS = (
    ("arm", "phase", "period", "group", "outcome"),
    ("arm", "phase", "period", "group"),
    ("arm", "phase", "group", "outcome"),
    ("arm", "phase", "group"),
)
#: Text key (not a verdict code: the verdict stays ``too_few``) for "too few zones to tell".
TOO_FEW_ZONES = "too_few_zones"

VERDICT_TEXTS: dict[str, dict[str, str]] = {
    "en": {**P.VERDICT_TEXTS, TOO_FEW_ZONES: P.TOO_FEW_ZONES_TEXT},
    "nl": {
        P.IMPROVED: "Verbeterd, op de log-oddsschaal: vergeleken met de vergelijkingszones "
        "bewoog de kloof in de proefzones in het voordeel van de focusgroep, meer dan de "
        "gewone variatie tussen zones en campagnes.",
        P.WORSENED: "Verslechterd, op de log-oddsschaal: vergeleken met de vergelijkingszones "
        "bewoog de kloof in de proefzones in het nadeel van de focusgroep, meer dan de gewone "
        "variatie tussen zones en campagnes.",
        P.NO_EVIDENCE: "Geen aanwijzing voor verandering: er zijn genoeg gegevens, maar op de "
        "log-oddsschaal is het geschatte effect verenigbaar met geen verandering, gezien hoeveel "
        "de kloof tussen zones en campagnes varieert.",
        P.TOO_FEW: "Te weinig gegevens: er zijn niet genoeg gegevens om dit proefproject te "
        "beoordelen.",
        TOO_FEW_ZONES: "Te weinig zones om iets te zeggen: met zo weinig proef- en "
        "vergelijkingszones en periodes is een effect van het proefproject niet te "
        "onderscheiden van de gewone verschillen tussen zones en campagnes.",
    },
    "fr": {
        P.IMPROVED: "Amélioration, sur l'échelle des log-odds : par rapport aux zones de "
        "comparaison, l'écart dans les zones pilotes a évolué en faveur du groupe focal, "
        "davantage que la variation habituelle entre zones et campagnes.",
        P.WORSENED: "Détérioration, sur l'échelle des log-odds : par rapport aux zones de "
        "comparaison, l'écart dans les zones pilotes a évolué en défaveur du groupe focal, "
        "davantage que la variation habituelle entre zones et campagnes.",
        P.NO_EVIDENCE: "Pas d'indice de changement : les données sont suffisantes, mais sur "
        "l'échelle des log-odds l'effet estimé est compatible avec une absence de changement, "
        "vu la variation de l'écart entre zones et campagnes.",
        P.TOO_FEW: "Trop peu de données : il n'y a pas assez de données pour évaluer ce projet "
        "pilote.",
        TOO_FEW_ZONES: "Trop peu de zones pour conclure : avec si peu de zones pilotes et de "
        "comparaison et de périodes, un effet du projet pilote ne se distingue pas des "
        "différences habituelles entre zones et campagnes.",
    },
}

#: Caveats next to a verdict (``analysis.pilot.CAVEAT_TEXTS``); no numbers, so nothing to gate.
CAVEAT_TEXTS: dict[str, dict[str, str]] = {
    "en": dict(P.CAVEAT_TEXTS),
    "nl": {
        P.PRE_TREND: "Let op: vóór de start bewoog de kloof in de proefzones al anders dan in de "
        "vergelijkingszones (placebotest met de start één periode vroeger). De "
        "vergelijkingszones tonen misschien niet wat er zonder proefproject gebeurd zou zijn.",
        P.NO_PRE_TREND_CHECK: "De trend vóór de start kon niet gecontroleerd worden: daarvoor "
        "zijn minstens twee periodes vóór de start in genoeg zones nodig.",
        P.SCALE_CONFLICT: "Op de schaal van procentpunten wijzen de ruwe kloven de andere kant "
        "op (zie de veranderingen voor/na): de conclusie hangt af van de schaal, lees ze dus "
        "voorzichtig.",
    },
    "fr": {
        P.PRE_TREND: "Attention : avant le début, l'écart évoluait déjà autrement dans les zones "
        "pilotes que dans les zones de comparaison (test placebo avec un début une période plus "
        "tôt). Les zones de comparaison ne montrent peut-être pas ce qui se serait passé sans "
        "le projet pilote.",
        P.NO_PRE_TREND_CHECK: "La tendance avant le début n'a pas pu être vérifiée : il faut au "
        "moins deux périodes avant le début dans assez de zones.",
        P.SCALE_CONFLICT: "En points de pourcentage, les écarts bruts vont dans l'autre sens "
        "(voir les évolutions avant/après) : la conclusion dépend de l'échelle, à lire avec "
        "prudence.",
    },
}

#: Why a pilot is "too few to tell", rebuilt from codes (the analysis' English reasons carry
#: raw counts, which may be hidden).
REASON_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "no_comparison": "There are no data for the comparison zones.",
        "few_decisions": "A group has fewer than {n} decisions in some arm and phase "
        "(pilot or comparison zones, before or after the start).",
        "separation": "In some arm and phase everybody or nobody of a group succeeded: the model "
        "cannot be fitted.",
        "no_fit": "The model could not be fitted.",
        "few_zones": "Too few zones: the evaluation needs at least one pilot zone and {zones} "
        "comparison zones with data before and after the start, and enough zone-period "
        "combinations to measure how much the gap varies between zones and campaigns.",
    },
    "nl": {
        "no_comparison": "Er zijn geen gegevens voor de vergelijkingszones.",
        "few_decisions": "Een groep heeft minder dan {n} beslissingen in een arm en fase "
        "(proef- of vergelijkingszones, voor of na de start).",
        "separation": "In een arm en fase slaagde iedereen of niemand van een groep: het model "
        "kan niet geschat worden.",
        "no_fit": "Het model kon niet geschat worden.",
        "few_zones": "Te weinig zones: de evaluatie heeft minstens één proefzone en {zones} "
        "vergelijkingszones met gegevens voor en na de start nodig, en genoeg combinaties van "
        "zone en periode om te meten hoeveel de kloof tussen zones en campagnes varieert.",
    },
    "fr": {
        "no_comparison": "Il n'y a pas de données pour les zones de comparaison.",
        "few_decisions": "Un groupe compte moins de {n} décisions dans un bras et une phase "
        "(zones pilotes ou de comparaison, avant ou après le début).",
        "separation": "Dans un bras et une phase, tout le monde ou personne d'un groupe a réussi : "
        "le modèle ne peut pas être estimé.",
        "no_fit": "Le modèle n'a pas pu être estimé.",
        "few_zones": "Trop peu de zones : l'évaluation demande au moins une zone pilote et "
        "{zones} zones de comparaison avec des données avant et après le début, et assez de "
        "combinaisons zone-période pour mesurer la variation de l'écart entre zones et "
        "campagnes.",
    },
}

CHART_LABELS: dict[str, dict[str, str]] = {
    "en": {},
    "nl": {"title": "Kloof in slaagkans (focusgroep min referentiegroep)",
           "ylabel": "Kloof in procentpunten", "xlabel": "Periode", "pilot": "Proefzones",
           "comparison": "Vergelijkingszones", "start": "Start proefproject",
           "suppressed": "verborgen"},
    "fr": {"title": "Écart de taux de réussite (groupe focal moins groupe de référence)",
           "ylabel": "Écart en points de pourcentage", "xlabel": "Période",
           "pilot": "Zones pilotes", "comparison": "Zones de comparaison",
           "start": "Début du projet pilote", "suppressed": "masqué"},
}
RETENTION_CHART_TITLE = {
    "en": "Gap in 12-month retention (focal minus reference group)",
    "nl": "Kloof in behoud na 12 maanden (focusgroep min referentiegroep)",
    "fr": "Écart de maintien à 12 mois (groupe focal moins groupe de référence)",
}


# --- pilots as the user sees them ------------------------------------------------------------


@dataclass
class PilotInfo:
    id: int
    name: str
    description: str
    target: str
    start_date: dt.date
    end_date: dt.date | None
    zones: list[str]
    comparison_zones: list[str]
    zone_ids: set[int] = field(default_factory=set, repr=False)

    @property
    def outcome(self) -> str:
        return P.RETENTION if self.target == RETENTION_TARGET else P.DECISION

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "target": self.target, "start_date": self.start_date.isoformat(),
                "end_date": self.end_date.isoformat() if self.end_date else None,
                "zones": self.zones, "comparison_zones": self.comparison_zones}


def _infos(pilot_ids: list[int] | None = None) -> list[PilotInfo]:
    query = select(Pilot).order_by(Pilot.start_date.desc(), Pilot.id)
    if pilot_ids is not None:
        query = query.where(Pilot.id.in_(pilot_ids or [-1]))
    pilots = list(db.session.scalars(query))
    if not pilots:
        return []
    links = db.session.execute(
        select(pilot_zones.c.pilot_id, pilot_zones.c.role, Zone.id, Zone.code)
        .join(Zone, Zone.id == pilot_zones.c.zone_id)
        .where(pilot_zones.c.pilot_id.in_([p.id for p in pilots]))
        .order_by(Zone.code)
    ).all()
    out = []
    for p in pilots:
        mine = [row for row in links if row[0] == p.id]
        out.append(PilotInfo(
            id=p.id, name=p.name, description=p.description or "", target=p.target,
            start_date=p.start_date, end_date=p.end_date,
            zones=[code for _pid, role, _zid, code in mine if role == "pilot"],
            comparison_zones=[code for _pid, role, _zid, code in mine if role == "comparison"],
            zone_ids={zid for _pid, _role, zid, _code in mine},
        ))
    return out


def _visible(user: User, info: PilotInfo) -> bool:
    """A pilot is visible only when every pilot and comparison zone is in the user's scope:
    its cells pool those zones, so a partial view would show another zone's data."""
    scope = zone_scope(user)
    return scope is None or info.zone_ids <= scope


def list_pilots(user: User) -> list[PilotInfo]:
    return [i for i in _infos() if _visible(user, i)]


def get_pilot(user: User, pilot_id: int) -> PilotInfo:
    found = _infos([pilot_id])
    if not found or not _visible(user, found[0]):
        # Same answer for "does not exist" and "not yours": probing reveals nothing.
        raise NotFound(f"No pilot {pilot_id} among the pilots you can see.")
    return found[0]


def pilots_covering(user: User, zone: str) -> list[PilotInfo]:
    """Visible pilots in which this zone is a pilot or comparison zone (every one for ALL)."""
    return [i for i in list_pilots(user)
            if zone == ALL or zone in i.zones or zone in i.comparison_zones]


def targets() -> list[str]:
    return [*DEFAULT_STAGES, RETENTION_TARGET]


def create_pilot(user: User, name: str, zones: list[str], comparison_zones: list[str],
                 target: str, start_date: dt.date, end_date: dt.date | None = None,
                 description: str = "") -> PilotInfo:
    """Register a pilot (project staff and admins; zones within the user's scope)."""
    if user.role not in REGISTER_ROLES:
        raise Forbidden("Only project staff and administrators register pilots.")
    problems: list[dict[str, Any]] = []
    name = (name or "").strip()
    if not name or len(name) > 160:
        problems.append({"column": "name", "message": "a name of 1 to 160 characters"})
    zones, comparison_zones = list(dict.fromkeys(zones)), list(dict.fromkeys(comparison_zones))
    if not zones:
        problems.append({"column": "zones", "message": "at least one pilot zone"})
    overlap = sorted(set(zones) & set(comparison_zones))
    if overlap:
        problems.append({"column": "comparison_zones", "value": ",".join(overlap),
                         "message": "a zone cannot be both pilot and comparison zone"})
    scope = zone_scope(user)
    known = {z.code: z for z in db.session.scalars(
        select(Zone).where(Zone.code.in_([*zones, *comparison_zones] or ["-"])))}
    for column, codes in (("zones", zones), ("comparison_zones", comparison_zones)):
        for code in codes:
            zone = known.get(code)
            # Unknown and out-of-scope zones get the same message (no probing).
            if zone is None or (scope is not None and zone.id not in scope):
                problems.append({"column": column, "value": code,
                                 "message": "not among the zones you can see"})
    if target not in targets():
        problems.append({"column": "target", "value": target,
                         "message": "a selection stage or 'retention'"})
    if not isinstance(start_date, dt.date):
        problems.append({"column": "start_date", "message": "a date"})
    elif end_date is not None and end_date < start_date:
        problems.append({"column": "end_date", "message": "on or after the start date"})
    if problems:
        raise ValidationFailed("The pilot has problems.", problems=problems)
    from hrpipeline.audit import audit

    pilot = Pilot(name=name, description=(description or "").strip(), target=target,
                  start_date=start_date, end_date=end_date, created_by=user.id)
    db.session.add(pilot)
    db.session.flush()
    for role, codes in (("pilot", zones), ("comparison", comparison_zones)):
        for code in codes:
            db.session.execute(pilot_zones.insert().values(
                pilot_id=pilot.id, zone_id=known[code].id, role=role))
    audit("pilot_created", user=user if user.id is not None else None, pilot_id=pilot.id,
          name=name)
    db.session.commit()
    return get_pilot(user, pilot.id)


# --- counts from the database ----------------------------------------------------------------


def _period_label(year: int, campaign: str) -> str:
    # Prefixing the year makes plain string order equal (year, label) order.
    return campaign if campaign.startswith(str(year)) else f"{year} {campaign}"


def decision_counts(info: PilotInfo) -> tuple[pd.DataFrame, Any]:
    """``zone, period, group, passed, not_passed, year, campaign`` at the targeted stage, and
    the start period, from candidate rows and from counts extracts (``_counted_decisions``).

    ``not_passed`` is ``failed`` only: withdrawals are not decisions (DOMAIN.md pass rate for
    the decision view); pending outcomes are excluded.
    """
    codes = [*info.zones, *info.comparison_zones]
    rows = db.session.execute(
        select(Zone.code, FunnelRecord.campaign_year, FunnelRecord.campaign,
               FunnelRecord.migration_background, FunnelRecord.outcome, func.count(),
               func.min(FunnelRecord.stage_date))
        .join(Zone, Zone.id == FunnelRecord.zone_id)
        .where(Zone.code.in_(codes), FunnelRecord.stage == info.target,
               FunnelRecord.outcome.in_(("passed", "failed")))
        .group_by(Zone.code, FunnelRecord.campaign_year, FunnelRecord.campaign,
                  FunnelRecord.migration_background, FunnelRecord.outcome)
    ).all()
    rows = [*rows, *_counted_decisions(codes, info.target)]
    frame = pd.DataFrame(rows, columns=["zone", "year", "campaign", "group", "outcome", "n",
                                        "first"])
    if frame.empty:
        return pd.DataFrame(columns=["zone", "period", "group", "passed", "not_passed"]), None
    frame["period"] = [_period_label(int(y), str(c))
                       for y, c in zip(frame["year"], frame["campaign"], strict=True)]
    frame["first"] = pd.to_datetime(frame["first"])  # None (counts extracts) -> NaT, skipped
    first = frame.groupby("period")[["first", "year"]].agg(
        {"first": "min", "year": "min"})
    starts = {}
    for period, row in first.iterrows():
        starts[period] = (row["first"].date() if pd.notna(row["first"])
                          else dt.date(int(row["year"]), 1, 1))
    # Campaigns in the order of their dates, not of their labels ("2024 voorjaar" sorts after
    # "2024 najaar" as text).
    after = sorted((p for p, when in starts.items() if when >= info.start_date),
                   key=lambda p: (starts[p], p))
    # ``year`` and ``campaign`` name the funnel cell behind each row (_FunnelKnowledge).
    wide = frame.pivot_table(index=["zone", "period", "year", "campaign", "group"],
                             columns="outcome", values="n", aggfunc="sum",
                             fill_value=0).reset_index()
    for col in ("passed", "failed"):
        if col not in wide:
            wide[col] = 0
    wide = wide.rename(columns={"failed": "not_passed"})
    wide = wide[["zone", "period", "group", "passed", "not_passed", "year", "campaign"]].astype(
        {"passed": int, "not_passed": int, "year": int})
    # The date the period's first decision fell on: orders the periods (``_analyse``).
    wide["period_start"] = wide["period"].map(starts)
    wide = _published_decisions(wide, info.target)
    return wide, (after[0] if after else _after_all(wide))


def _published_decisions(wide: pd.DataFrame, stage: str) -> pd.DataFrame:
    """The same rows with the funnel release's published (rounded) counts instead of the true
    ones; a row with a cell hidden at source is left out whole (its rate cannot be computed)."""
    from hrpipeline.services import releases

    zones = {z.code: z for z in db.session.scalars(
        select(Zone).where(Zone.code.in_(set(wide["zone"]) or {"-"})))}
    keep, passed, failed = [], [], []
    for (code, year), part in wide.groupby(["zone", "year"], sort=False):
        try:
            release = releases.zone_release(zones[code], int(year))
        except (KeyError, NotFound):
            continue
        for idx, group, campaign in zip(part.index, part["group"], part["campaign"],
                                        strict=True):
            p = release.count(stage, group, "passed", zone=code, campaign=campaign)
            f = release.count(stage, group, "failed", zone=code, campaign=campaign)
            if is_suppressed(p) or is_suppressed(f):
                continue
            keep.append(idx)
            passed.append(int(p))
            failed.append(int(f))
    out = wide.loc[keep].copy()
    out["passed"] = passed
    out["not_passed"] = failed
    return out.reset_index(drop=True)


def _counted_decisions(codes: list[str], stage: str) -> list[tuple]:
    """Decision cells of counts ("aggregate") extracts at ``stage``, shaped like the record rows
    (``first`` is None: such extracts carry no stage dates; the period's start comes from the
    other zones' records of the same campaign, else 1 January of its year).

    A (zone, campaign, group) with a cell hidden at source is left out whole: its pass rate
    cannot be computed, and leaving out one outcome only would bias it. The funnel releases
    hide those cells too, so the pilot's audit against them stays exact.
    """
    cells = db.session.execute(
        select(Zone.code, CountRecord.campaign_year, CountRecord.campaign,
               CountRecord.migration_background, CountRecord.outcome, CountRecord.count,
               CountRecord.source_suppressed)
        .join(Zone, Zone.id == CountRecord.zone_id)
        .where(Zone.code.in_(codes), CountRecord.table_kind == "funnel",
               CountRecord.stage == stage, CountRecord.outcome.in_(("passed", "failed")))
    ).all()
    unknown = {(z, y, c, g) for z, y, c, g, _o, n, hidden in cells if hidden or n is None}
    return [(z, y, c, g, o, int(n), None) for z, y, c, g, o, n, _h in cells
            if (z, y, c, g) not in unknown and n and y is not None]


def _after_all(frame: pd.DataFrame) -> str:
    """A start beyond every period: all data are "before" (the pilot has no after data)."""
    return "\uffff"


def retention_counts(info: PilotInfo) -> tuple[pd.DataFrame, Any]:
    """``zone, period (hire year), group, stayed, left`` within 12 months of hire, as the
    retention page's first-year cohort table publishes them.

    Read from the retention release (``services.retention.first_year_cells``): every cell is a
    sum of published (rounded) leaves, so the pilot adds nothing to what that page shows, and
    its verdict is computed from published counts. Cohorts hired before the retention window
    and cohorts not yet followed 12 months are not in that table and not in the pilot.
    """
    from hrpipeline.services.retention import first_year_cells

    codes = [*info.zones, *info.comparison_zones]
    start = info.start_date.year + (0 if (info.start_date.month, info.start_date.day) == (1, 1)
                                    else 1)
    rows = [(zone, cohort, group, hires - left, left)
            for (zone, cohort, group), (hires, left) in first_year_cells(codes).items()]
    frame = pd.DataFrame(rows, columns=["zone", "period", "group", "stayed", "left"])
    return frame.astype({"period": int, "stayed": int, "left": int}), start


# --- the evaluation --------------------------------------------------------------------------


@dataclass
class PilotEvaluation:
    """What a pilot evaluation publishes. Every number is a value or ``SUPPRESSED``."""

    pilot: PilotInfo
    outcome: str  # decision / retention
    focal_group: str
    reference_group: str
    start_period: str
    k: int
    min_denominator: int
    cells: list[dict[str, Any]]
    series: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    did: dict[str, Any] | None
    estimates_hidden: bool
    verdict: str
    verdict_text: str
    reasons: list[str]
    language: str = "en"
    synthetic: bool = False
    caveats: list[str] = field(default_factory=list)  # translated caveat sentences

    CELL_COLUMNS = ("arm", "phase", "group", "successes", "failures", "n", "rate")
    SERIES_COLUMNS = ("period", "arm", "after", "focal_n", "focal_rate", "reference_n",
                      "reference_rate", "gap")

    def to_dict(self) -> dict[str, Any]:
        return {
            "pilot": self.pilot.to_dict(), "outcome": self.outcome,
            "focal_group": self.focal_group, "reference_group": self.reference_group,
            "start_period": self.start_period, "k": self.k,
            "min_denominator": self.min_denominator,
            "cells": [to_json(c) for c in self.cells],
            "series": [to_json(s) for s in self.series],
            "changes": [to_json(c) for c in self.changes],
            "did": None if self.did is None else to_json(self.did),
            "estimates_hidden": self.estimates_hidden,
            "verdict": self.verdict, "verdict_text": self.verdict_text,
            "reasons": self.reasons, "language": self.language, "synthetic": self.synthetic,
            "caveats": self.caveats,
            "suppression": {"symbol": "x", "k": self.k},
        }

    def to_csv(self) -> str:
        header = csv_comment(f"pilot {self.pilot.name}; verdict {self.verdict}; "
                             f"x = hidden to protect privacy (k = {self.k})")
        return (header + csv_text(self.cells, self.CELL_COLUMNS) + "\n"
                + csv_text(self.series, self.SERIES_COLUMNS))

    @property
    def effect_points(self) -> Any:
        """The DiD effect in percentage points (published or SUPPRESSED; None: no model)."""
        return None if self.did is None else self.did.get("pp")


_cache: OrderedDict[tuple, tuple] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 32


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _data_version() -> tuple:
    from hrpipeline.services.releases import data_version

    return data_version()


def _analyse(info: PilotInfo) -> tuple[Any, Any, pd.DataFrame, Any]:
    """(definition, result, counts, protected release), cached per data version and policy."""
    pol = policy()
    key = (db.engine.url.render_as_string(), info.id, info.target, info.start_date,
           tuple(info.zones), tuple(info.comparison_zones), _data_version(), pol)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if info.outcome == P.RETENTION:
        counts, start = retention_counts(info)
    else:
        counts, start = decision_counts(info)
    periods: tuple = ()
    if "period_start" in counts and not counts.empty:
        starts = counts.drop_duplicates("period").set_index("period")["period_start"]
        periods = tuple(sorted(starts.index, key=lambda p: (starts[p], p)))
    definition = P.PilotDefinition(pilot_zones=tuple(info.zones),
                                   comparison_zones=tuple(info.comparison_zones),
                                   start=start, name=info.name, periods=periods)
    counts = counts[counts["group"].isin(BACKGROUNDS)]
    result = P.evaluate_pilot(counts, definition)
    protected = _protect(counts, definition, info.outcome, pol, info.target)
    out = (definition, result, counts, protected)
    with _cache_lock:
        _cache[key] = out
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return out


def _outcome_names(outcome: str) -> tuple[str, str]:
    return ("passed", "not_passed") if outcome == P.DECISION else ("stayed", "left")


def _zone_rows(counts: pd.DataFrame, definition: P.PilotDefinition, outcome: str) -> pd.DataFrame:
    """The pilot table before summing zones: one row per zone, period, group and outcome."""
    s_col, f_col = _outcome_names(outcome)
    groups = (definition.focal_group, definition.reference_group)
    zones = set(definition.pilot_zones) | set(definition.comparison_zones)
    part = counts[counts["group"].isin(groups) & counts["zone"].isin(zones)].copy()
    if part.empty:
        return part
    part["arm"] = part["zone"].map(
        lambda z: P.PILOT if z in definition.pilot_zones else P.COMPARISON)
    part["phase"] = [P.AFTER if definition.is_after(p) else P.BEFORE for p in part["period"]]
    part["period"] = part["period"].astype(str)
    keep = ["zone", *(c for c in ("year", "campaign") if c in part), "arm", "phase", "period",
            "group"]
    long = part.melt(id_vars=keep, value_vars=[s_col, f_col], var_name="outcome",
                     value_name="n")
    long["n"] = long["n"].astype(int)
    return long


def _sum_cells(rows: pd.DataFrame) -> pd.DataFrame:
    inner = rows.groupby(list(DIMS), as_index=False)["n"].sum()
    inner["n"] = inner["n"].astype(int)
    return inner


def _protect(counts: pd.DataFrame, definition: P.PilotDefinition, outcome: str, pol,
             target: str | None = None):
    """The pilot table as published.

    Decision pilots count funnel cells at the target stage, and ``decision_counts`` reads them
    from the funnel's protected release (rounded counts): every pilot cell is a sum of numbers
    the funnel page publishes, so it is published whole (``SummedTable``) and adds nothing.
    Retention pilots read the retention release's first-year cohort counts the same way.
    """
    rows = _zone_rows(counts, definition, outcome)
    if rows.empty:
        return None
    return SummedTable.build(_sum_cells(rows), DIMS, LEVELS)


def _n_published(protected) -> int:
    return sum(not is_suppressed(v) for v in protected.cells["published_value"])


def _value(protected, level: tuple[str, ...], **key: Any) -> Any:
    if protected is None:
        return 0
    try:
        return protected.value(level, **key)
    except KeyError:  # structural zero: the combination never occurs
        return 0


def _too_few_codes(result) -> list[str]:
    codes = []
    for reason in result.reasons:
        if reason.startswith("no comparison"):
            code = "no_comparison"
        elif re.search(r"fewer than \d+\)$", reason):
            code = "few_decisions"
        elif "separation" in reason and reason.startswith("a cell"):
            code = "separation"
        elif reason.startswith("too few zones"):
            code = "few_zones"
        else:
            code = "no_fit"
        if code not in codes:
            codes.append(code)
    return codes


def _is_demo() -> bool:
    return bool(db.session.scalar(
        select(func.count(Upload.id)).where(Upload.filename.like("demo_%"))))


def evaluate(user: User, pilot_id: int, lang: str = "en") -> PilotEvaluation:
    """The published evaluation of one pilot the user may see."""
    info = get_pilot(user, pilot_id)
    lang = lang if lang in VERDICT_TEXTS else "en"
    definition, result, counts, protected = _analyse(info)
    pol = policy()
    s_col, f_col = _outcome_names(info.outcome)
    focal, ref = definition.focal_group, definition.reference_group

    cells = []
    for arm in P.ARMS:
        for phase in P.PHASES:
            for group in (focal, ref):
                s = _value(protected, LEVELS[2], arm=arm, phase=phase, group=group, outcome=s_col)
                f = _value(protected, LEVELS[2], arm=arm, phase=phase, group=group, outcome=f_col)
                n = _value(protected, LEVELS[3], arm=arm, phase=phase, group=group)
                cells.append({"arm": arm, "phase": phase, "group": group, "successes": s,
                              "failures": f, "n": n, "rate": _rate(s, n, pol)})

    series = []
    periods = definition.sort_periods(list(set(counts["period"]))) if not counts.empty else []
    arm_periods = set()
    if protected is not None:
        table = protected.table(LEVELS[1])
        arm_periods = set(zip(table["arm"], table["period"], strict=True))
    for value in periods:
        period = str(value)
        phase = P.AFTER if definition.is_after(value) else P.BEFORE
        for arm in P.ARMS:
            if (arm, period) not in arm_periods:
                continue
            row: dict[str, Any] = {"period": period, "arm": arm, "after": phase == P.AFTER}
            for label, group in (("focal", focal), ("reference", ref)):
                s = _value(protected, LEVELS[0], arm=arm, phase=phase, period=period, group=group,
                           outcome=s_col)
                n = _value(protected, LEVELS[1], arm=arm, phase=phase, period=period, group=group)
                row[f"{label}_n"] = n
                row[f"{label}_rate"] = _rate(s, n, pol)
            row["gap"] = _gap(row["focal_rate"], row["reference_rate"])
            series.append(row)

    # A rate hidden for its small base hides every estimate built on it, like a hidden count.
    hidden = (protected is not None and any_hidden(*protected.cells["published_value"])) or \
        any_hidden(*(c["rate"] for c in cells))
    changes = []
    for change in (result.pilot_change, result.comparison_change):
        if change is None:
            continue
        rates = {ph: [c["rate"] for c in cells if c["arm"] == change.arm and c["phase"] == ph]
                 for ph in P.PHASES}
        before_hidden, after_hidden = any_hidden(*rates[P.BEFORE]), any_hidden(*rates[P.AFTER])
        both = hidden or before_hidden or after_hidden
        changes.append({
            "arm": change.arm,
            "gap_before": _points(change.gap_before, before_hidden),
            "gap_after": _points(change.gap_after, after_hidden),
            "change": _points(change.change, both),
            "change_low": _points(change.change_ci[0], both),
            "change_high": _points(change.change_ci[1], both),
        })
    did = None
    if result.did is not None:
        d = result.did
        did = {
            "log_odds": rounded(d.log_odds, 2, hidden),
            "log_odds_low": rounded(d.log_odds_ci[0], 2, hidden),
            "log_odds_high": rounded(d.log_odds_ci[1], 2, hidden),
            "odds_ratio": rounded(d.odds_ratio, 2, hidden),
            "pp": _points(d.pp, hidden),
            "pp_low": _points(d.pp_ci[0], hidden),
            "pp_high": _points(d.pp_ci[1], hidden),
            "p_value": _p_text(gate_p(d.p_value, hidden)),
            "fixed_effects": d.fixed_effects,
            # Decided on this scale; t reference with df degrees of freedom (design numbers).
            "scale": d.scale,
            "df": d.df,
            "overdispersion": rounded(d.overdispersion, 4, hidden),
        }
    reasons = [REASON_TEXTS[lang][c].format(n=P.MIN_DECISIONS, zones=P.MIN_COMPARISON_ZONES)
               for c in _too_few_codes(result)] if result.verdict == P.TOO_FEW else []
    return PilotEvaluation(
        pilot=info, outcome=info.outcome, focal_group=focal, reference_group=ref,
        start_period=str(definition.start), k=pol.k, min_denominator=pol.min_denominator,
        cells=cells, series=series, changes=changes, did=did, estimates_hidden=hidden,
        verdict=result.verdict,
        verdict_text=VERDICT_TEXTS[lang][TOO_FEW_ZONES if result.too_few_zones
                                         else result.verdict],
        reasons=reasons, language=lang, synthetic=_is_demo(),
        caveats=[CAVEAT_TEXTS[lang][c] for c in result.caveats],
    )


def _after(period: str, start: Any) -> bool:
    return str(period) >= str(start) if not isinstance(start, int) else int(period) >= start


def _rate(s: Any, n: Any, pol) -> Any:
    if any_hidden(s, n):
        return SUPPRESSED
    if n == 0:
        return None
    # Unrounded: the page rounds once (a rate rounded here and again there can be off by 0.1).
    return gate_rate(s, n, pol)


def _gap(a: Any, b: Any) -> Any:
    if any_hidden(a, b):
        return SUPPRESSED
    if a is None or b is None:
        return None
    return round(float(a) - float(b), 4)


def _points(value: float, hidden: bool) -> Any:
    return rounded(value * 100 if value is not None else None, 1, hidden)


def _p_text(p: Any) -> Any:
    if is_suppressed(p) or p is None or isinstance(p, str):
        return p
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def gap_chart_png(evaluation: PilotEvaluation) -> bytes:
    """The gap chart drawn from the GATED series (hidden gaps are labelled, never 0)."""
    lang = evaluation.language
    labels = dict(CHART_LABELS.get(lang, {}))
    if evaluation.outcome == P.RETENTION:
        labels["title"] = RETENTION_CHART_TITLE[lang]
    frame = pd.DataFrame(
        [{"period": s["period"], "arm": s["arm"],
          "gap": s["gap"] if s["gap"] is not None else float("nan")} for s in evaluation.series],
        columns=["period", "arm", "gap"])
    if frame.empty:
        frame = pd.DataFrame({"period": [evaluation.start_period], "arm": [P.PILOT],
                              "gap": [float("nan")]})
    order = list(dict.fromkeys(s["period"] for s in evaluation.series))  # chronological
    return P.gap_chart(frame, evaluation.start_period, labels, order)
