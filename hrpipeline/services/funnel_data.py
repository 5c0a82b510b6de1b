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
    """Funnel counts of one campaign year (all zones, or these), from rows and counts."""
    query = (
        select(
            Zone.code,
            FunnelRecord.campaign,
            FunnelRecord.stage,
            FunnelRecord.migration_background,
            FunnelRecord.outcome,
            func.count(),
        )
        .join(Zone, Zone.id == FunnelRecord.zone_id)
        .where(FunnelRecord.campaign_year == year)
        .group_by(
            Zone.code,
            FunnelRecord.campaign,
            FunnelRecord.stage,
            FunnelRecord.migration_background,
            FunnelRecord.outcome,
        )
    )
    if zone_codes is not None:
        query = query.where(Zone.code.in_(zone_codes))
    rows = db.session.execute(query).all()
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    frame["source_suppressed"] = False
    count_query = (
        select(
            Zone.code,
            CountRecord.campaign,
            CountRecord.stage,
            CountRecord.migration_background,
            CountRecord.outcome,
            CountRecord.count,
            CountRecord.source_suppressed,
        )
        .join(Zone, Zone.id == CountRecord.zone_id)
        .where(CountRecord.table_kind == "funnel", CountRecord.campaign_year == year)
    )
    if zone_codes is not None:
        count_query = count_query.where(Zone.code.in_(zone_codes))
    counted = db.session.execute(count_query).all()
    if counted:
        extra = pd.DataFrame(counted, columns=COLUMNS)
        frame = pd.concat([frame, extra], ignore_index=True)
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
    ids = [z.id for z in zones]
    if not ids:
        return []
    rows = db.session.execute(
        select(Zone.code, FunnelRecord.campaign_year, FunnelRecord.campaign)
        .join(Zone, Zone.id == FunnelRecord.zone_id)
        .where(FunnelRecord.zone_id.in_(ids))
        .distinct()
    ).all()
    rows += db.session.execute(
        select(Zone.code, CountRecord.campaign_year, CountRecord.campaign)
        .join(Zone, Zone.id == CountRecord.zone_id)
        .where(CountRecord.zone_id.in_(ids), CountRecord.table_kind == "funnel")
        .distinct()
    ).all()
    entries: set[CatalogueEntry] = set()
    years: set[int] = set()
    for code, year, campaign in rows:
        if year is None:
            continue
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
