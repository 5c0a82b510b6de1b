"""The start page's figures: a few key numbers and what needs attention, for one user.

Everything comes from the protected funnel release, like the funnel page: the latest year
table the user may open (the same default as ``/funnel``), its applicants and appointments
(published counts of the first and last stage) and its RED / AMBER comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hrpipeline.errors import NotFound
from hrpipeline.models import User
from hrpipeline.services import releases
from hrpipeline.services.funnel_data import CatalogueEntry, catalogue
from hrpipeline.services.scope import ALL

#: At most this many comparisons are listed on the start page (the funnel page has them all).
MAX_ATTENTION = 5


@dataclass
class StartSummary:
    entry: CatalogueEntry
    zone_label: str
    applications: Any  # a published count, or SUPPRESSED
    appointments: Any
    red: int
    amber: int
    grey: int
    attention: list[dict[str, Any]] = field(default_factory=list)
    synthetic: bool = False


def default_entry(entries: list[CatalogueEntry]) -> CatalogueEntry | None:
    """The funnel page's default: the latest year table (one zone before the pool)."""
    years = [e for e in entries if e.period.startswith("year:")]
    if years:
        return max(years, key=lambda e: (e.year, e.zone != ALL))
    return entries[0] if entries else None


def start_summary(user: User, lang: str) -> StartSummary | None:
    """Key figures of the user's default funnel table, or None when there is none yet."""
    from hrpipeline.services.funnel import funnel_report

    entry = default_entry(catalogue(user))
    if entry is None:
        return None
    try:
        report = funnel_report(user, entry.zone, entry.period, lang=lang)
    except NotFound:
        return None
    release = releases.pool_release(entry.year)
    zone = None if entry.zone == ALL else entry.zone
    first, last = report.stages[0], report.stages[-1]
    tiers = [c["tier"] for c in report.comparisons]
    order = {"RED": 0, "AMBER": 1}
    attention = sorted((c for c in report.comparisons if c["tier"] in order),
                       key=lambda c: (order[c["tier"]], report.stages.index(c["stage"])
                                      if c["stage"] in report.stages else 99))
    return StartSummary(
        entry=entry, zone_label=report.zone_label,
        applications=release.count(first, zone=zone), appointments=release.count(last, zone=zone),
        red=tiers.count("RED"), amber=tiers.count("AMBER"), grey=tiers.count("GREY"),
        attention=attention[:MAX_ATTENTION], synthetic=report.synthetic)
