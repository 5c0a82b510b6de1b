"""Funnel counts from the database and the fixed catalogue of publishable funnel tables.

The GROUP BY runs in the database (PostgreSQL or SQLite): the analysis only ever sees the
small frame ``zone × campaign × stage × group × outcome → n``. Aggregate ("counts") extracts
are merged in, with cells hidden at source kept as hidden (``source_suppressed``), never 0.

Differencing protection (docs/disclosure-control.md): only the tables of this catalogue are
published — per zone and campaign, per zone and year, and the all-zone pool per year — never
arbitrary unions of zones or overlapping periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select

from hrpipeline.domain import DEFAULT_STAGES
from hrpipeline.extensions import db
from hrpipeline.models import CountRecord, FunnelRecord, User, Zone, ZoneStage
from hrpipeline.services.scope import ALL, may_see_pool, visible_zones

COLUMNS = ["zone", "campaign", "stage", "group", "outcome", "n", "source_suppressed"]


def funnel_counts(year: int, zone_codes: list[str] | None = None) -> pd.DataFrame:
    """Funnel counts of one campaign year (all zones, or these), from rows and counts.

    The GROUP BY runs on ``funnel_records`` alone, by ``zone_id`` in the column order of the
    covering index ``ix_funnel_agg``, and zone codes are mapped onto the few result rows
    afterwards: joining ``zones`` first and grouping by the code made PostgreSQL hash-aggregate
    every joined row (about 2x slower than the plain GROUP BY; ``bench/funnel.py``).
    """
    zones = select(Zone.id, Zone.code)
    if zone_codes is not None:
        zones = zones.where(Zone.code.in_(zone_codes))
    code_of = dict(db.session.execute(zones).all())
    keys = (
        FunnelRecord.zone_id,
        FunnelRecord.campaign,
        FunnelRecord.stage,
        FunnelRecord.migration_background,
        FunnelRecord.outcome,
    )
    query = select(*keys, func.count()).where(FunnelRecord.campaign_year == year).group_by(*keys)
    count_query = select(
        CountRecord.zone_id,
        CountRecord.campaign,
        CountRecord.stage,
        CountRecord.migration_background,
        CountRecord.outcome,
        CountRecord.count,
        CountRecord.source_suppressed,
    ).where(CountRecord.table_kind == "funnel", CountRecord.campaign_year == year)
    if zone_codes is not None:
        query = query.where(FunnelRecord.zone_id.in_(list(code_of)))
        count_query = count_query.where(CountRecord.zone_id.in_(list(code_of)))
    rows = db.session.execute(query).all() if code_of else []
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    frame["source_suppressed"] = False
    counted = db.session.execute(count_query).all() if code_of else []
    if counted:
        extra = pd.DataFrame(counted, columns=COLUMNS)
        frame = pd.concat([frame, extra], ignore_index=True)
    frame["zone"] = frame["zone"].map(code_of).astype(object)
    frame["n"] = frame["n"].astype("Int64")
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
