"""Funnel counts from the database and the fixed catalogue of publishable funnel tables.

The GROUP BY runs in the database (PostgreSQL or SQLite): the analysis only ever sees the
small frame ``zone × campaign × stage × group × outcome → n``. Aggregate ("counts") extracts
are merged in, with cells hidden at source kept as hidden (``source_suppressed``), never 0.

Differencing protection (docs/disclosure-control.md): only the tables of this catalogue are
published — per zone and campaign, per zone and year, and the all-zone pool per year — never
arbitrary unions of zones or overlapping periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Boolean, bindparam, func, literal, select, union_all

from hrpipeline.domain import DEFAULT_STAGES
from hrpipeline.extensions import db
from hrpipeline.models import CountRecord, FunnelRecord, User, Zone, ZoneStage
from hrpipeline.services.scope import ALL, may_see_pool, visible_zones

COLUMNS = ["zone", "campaign", "stage", "group", "outcome", "n", "source_suppressed"]


_KEYS = (
    FunnelRecord.zone_id,
    FunnelRecord.campaign,
    FunnelRecord.stage,
    FunnelRecord.migration_background,
    FunnelRecord.outcome,
)
_CELLS = (
    CountRecord.zone_id,
    CountRecord.campaign,
    CountRecord.stage,
    CountRecord.migration_background,
    CountRecord.outcome,
    CountRecord.count,
    CountRecord.source_suppressed,
)


def _records_query(zone_filter: bool):
    records = (
        select(*_KEYS, func.count().label("n"), literal(False, Boolean).label("hidden"))
        .where(FunnelRecord.campaign_year == bindparam("year"))
        .group_by(*_KEYS)
    )
    cells = select(*_CELLS).where(
        CountRecord.table_kind == "funnel", CountRecord.campaign_year == bindparam("year")
    )
    if zone_filter:
        ids = bindparam("zone_ids", expanding=True)
        return union_all(records.where(FunnelRecord.zone_id.in_(ids)),
                         cells.where(CountRecord.zone_id.in_(ids)))
    both = union_all(records, cells).subquery()
    return select(Zone.code, *list(both.c)[1:]).join(Zone, Zone.id == both.c.zone_id)


# Built once: constructing the statement cost about as much as building the result frame.
_BY_ZONES = _records_query(zone_filter=True)
_ALL_ZONES = _records_query(zone_filter=False)


def funnel_counts(year: int, zones: Sequence[Zone] | None = None) -> pd.DataFrame:
    """Funnel counts of one campaign year (all zones, or these), from rows and counts.

    One statement, one round trip: the GROUP BY on ``funnel_records`` alone (by ``zone_id``, in
    the column order of the covering index ``ix_funnel_agg``) UNION ALL the stored cells of
    counts extracts. Zone codes come from the ``Zone`` objects the caller already holds; for all
    zones they are joined on after the aggregation. Joining ``zones`` before grouping made
    PostgreSQL hash-aggregate every joined row, and filtering by a sub-select on ``zones``
    (instead of the ids) also lost the index-ordered aggregate; each separate query for zone
    ids or counts cells cost a round trip (``bench/funnel.py``, docs/performance.md).
    """
    if zones is None:
        rows = db.session.execute(_ALL_ZONES, {"year": year}).all()
    else:
        code_of = {z.id: z.code for z in zones}
        rows = db.session.execute(
            _BY_ZONES, {"year": year, "zone_ids": list(code_of)}
        ).all() if code_of else []
        rows = [(code_of[r[0]], *r[1:]) for r in rows]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["zone"] = frame["zone"].astype(object)
    frame["n"] = frame["n"].astype("Int64")
    frame["source_suppressed"] = frame["source_suppressed"].astype(bool)
    return frame


def zone_stages(zone_codes: list[str]) -> list[str]:
    """The stage order for these zones: their own configuration, else the default.

    Zones pooled together share one order; a stage configured by any zone keeps its position.
    """
    rows = db.session.execute(
        select(Zone.code, ZoneStage.position, ZoneStage.stage)
        .join(Zone, Zone.id == ZoneStage.zone_id)
        .where(Zone.code.in_(zone_codes))
        .order_by(ZoneStage.position)
    ).all()
    if not rows:
        return list(DEFAULT_STAGES)
    order: list[str] = []
    for _code, _pos, stage in rows:
        if stage not in order:
            order.append(stage)
    return order


@dataclass(frozen=True)
class CatalogueEntry:
    """One publishable funnel table: a zone (or the all-zone pool) and a campaign or a year."""

    zone: str  # zone code or ALL
    period: str  # "campaign:2024-1" or "year:2024"
    year: int

    @property
    def key(self) -> str:
        return f"{self.zone}/{self.period}"

    @property
    def campaign(self) -> str | None:
        return self.period.split(":", 1)[1] if self.period.startswith("campaign:") else None


def catalogue(user: User) -> list[CatalogueEntry]:
    """Every funnel table this user may open, newest year first."""
    zones = visible_zones(user)
    code_of = {z.id: z.code for z in zones}
    if not code_of:
        return []
    # No join: the DISTINCT reads the leading columns of ix_funnel_agg only (bench/funnel.py).
    rows = db.session.execute(
        select(FunnelRecord.zone_id, FunnelRecord.campaign_year, FunnelRecord.campaign)
        .where(FunnelRecord.zone_id.in_(list(code_of)))
        .distinct()
    ).all()
    rows += db.session.execute(
        select(CountRecord.zone_id, CountRecord.campaign_year, CountRecord.campaign)
        .where(CountRecord.zone_id.in_(list(code_of)), CountRecord.table_kind == "funnel")
        .distinct()
    ).all()
    entries: set[CatalogueEntry] = set()
    years: set[int] = set()
    for zone_id, year, campaign in rows:
        if year is None:
            continue
        code = code_of[zone_id]
        years.add(year)
        entries.add(CatalogueEntry(code, f"year:{year}", year))
        if campaign:
            entries.add(CatalogueEntry(code, f"campaign:{campaign}", year))
    if may_see_pool(user):
        entries.update(CatalogueEntry(ALL, f"year:{y}", y) for y in years)
    return sorted(entries, key=lambda e: (-e.year, e.zone != ALL, e.zone, e.period))


def find_entry(user: User, zone: str, period: str) -> CatalogueEntry | None:
    for entry in catalogue(user):
        if entry.zone == zone and entry.period == period:
            return entry
    return None


def years_with_data() -> list[int]:
    years = set(db.session.scalars(select(FunnelRecord.campaign_year).distinct()))
    years |= set(db.session.scalars(select(CountRecord.campaign_year).where(
        CountRecord.table_kind == "funnel").distinct()))
    return sorted(int(y) for y in years if y is not None)


def zones_with_data(year: int) -> list[Zone]:
    ids = set(db.session.scalars(
        select(FunnelRecord.zone_id).where(FunnelRecord.campaign_year == year).distinct()))
    ids |= set(db.session.scalars(select(CountRecord.zone_id).where(
        CountRecord.table_kind == "funnel", CountRecord.campaign_year == year).distinct()))
    if not ids:
        return []
    return list(db.session.scalars(select(Zone).where(Zone.id.in_(ids)).order_by(Zone.code)))
