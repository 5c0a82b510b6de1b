"""Population benchmarks per police zone: zone <-> municipality mapping, imports, fallbacks.

- A police zone is a set of municipalities (REFNIS codes): :func:`load_zone_mapping` loads the
  shipped ``hrpipeline/data/zone_municipalities.csv``; :func:`assign_municipality` edits it.
- :func:`import_statbel` stores zone shares aggregated from a Statbel-style origin table;
  :func:`import_zone_shares` stores shares entered by hand. Both validate the whole file first
  and store everything or nothing (one transaction); a re-import for the same zone, scope and
  reference date replaces the earlier figures.
- :func:`load_default_benchmarks` stores the published national / regional Statbel figures
  (``hrpipeline/data/statbel_regional_defaults.csv``) as *regional fallbacks*.
- :func:`benchmark_for_zone` returns the zone's own benchmark when there is one, otherwise the
  regional fallback, always labelled: for flows (applicants, hires; ``kind="flow"``) the
  *eligible pool*, Belgian nationals of the candidate age band (police candidates must be
  Belgian); for the corps (``kind="stock"``) a stock benchmark, Belgian nationals of working
  age. Non-Belgian residents are never part of either (scopes ending in ``:nat``).

Region of a zone (for the fallback): Flanders for Dutch-speaking zones, Wallonia for
French-speaking zones, Brussels for bilingual zones (all bilingual zones are Brussels zones).
See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from flask import has_request_context
from sqlalchemy import delete, select

from hrpipeline.analysis.representation import FLOW, FOREIGN_BACKGROUND, STOCK, BenchmarkShares
from hrpipeline.domain import BELGIAN_ORIGIN, KNOWN_BACKGROUNDS
from hrpipeline.errors import NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.ingest.problems import Problem
from hrpipeline.ingest.statbel import (
    DEFAULT_AGE_BAND,
    REFNIS_RE,
    aggregate_to_zones,
    is_nationals_scope,
    nationals_scope,
    parse_statbel,
    parse_zone_shares,
    raise_if_problems,
    scope_label,
)
from hrpipeline.models import Benchmark, Municipality, User, Zone

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
ZONE_MAPPING_CSV = DATA_DIR / "zone_municipalities.csv"
REGIONAL_DEFAULTS_CSV = DATA_DIR / "statbel_regional_defaults.csv"

REGION_OF_LANGUAGE = {"nl": "VL", "fr": "WA", "bilingual": "BR"}
REGION_NAMES = {"BE": "Belgium", "VL": "Flanders", "WA": "Wallonia", "BR": "Brussels"}
NATIONAL = "BE"

# Statbel's three published origin groups (labels as in the shared aggregates file).
STATBEL_BELGIAN_ORIGIN = "Belgian with Belgian background"
STATBEL_FOREIGN_BELGIAN = "Belgian with foreign background"
STATBEL_NON_BELGIAN = "Non-Belgian"


# --- result objects --------------------------------------------------------------------------
@dataclass(frozen=True)
class MappingLoad:
    inserted: int
    updated: int
    unchanged: int
    skipped_zones: list[str]  # zone codes in the CSV that are not in the database


@dataclass(frozen=True)
class BenchmarkSet:
    """The benchmark used for one zone, with the label every figure derived from it carries."""

    zone_id: int
    zone_code: str
    shares: dict[str, float]
    counts: dict[str, int | None]
    population_scope: str
    reference_date: dt.date | None
    source: str
    source_label: str
    is_fallback: bool
    region: str | None
    kind: str = FLOW  # "flow": the eligible pool (applicants, hires); "stock": the corps

    @property
    def nationals_only(self) -> bool:
        return is_nationals_scope(self.population_scope)

    def as_analysis(self) -> BenchmarkShares:
        """The pure-analysis view (``hrpipeline.analysis.representation``)."""
        return BenchmarkShares(self.shares, self.source_label, self.counts,
                               self.population_scope, self.is_fallback)


@dataclass
class ImportReport:
    filename: str
    population_scope: str
    reference_date: dt.date
    stored_rows: int
    replaced_rows: int
    zones: dict[str, dict[str, dict[str, float | int | None]]]  # zone -> group -> count/share
    source_labels: dict[str, str]  # zone -> label
    unmatched_municipalities: list[dict[str, str]] = field(default_factory=list)
    incomplete_zones: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The eligible pool (Belgian nationals of the same age band), when the file says who is
    # a Belgian national; ``zones`` / ``source_labels`` above describe all residents.
    eligible_scope: str | None = None
    eligible_zones: dict[str, dict[str, dict[str, float | int | None]]] = field(
        default_factory=dict)
    eligible_labels: dict[str, str] = field(default_factory=dict)


# --- zone mapping ----------------------------------------------------------------------------
def region_of_zone(zone: Zone) -> str:
    """VL / WA / BR from the zone's language (nl / fr / bilingual)."""
    return REGION_OF_LANGUAGE.get(zone.language, NATIONAL)


def _zone_label(zone: Zone) -> str:
    return zone.name_fr if zone.language == "fr" else zone.name_nl


def _audit(action: str, user: User | None, **detail) -> None:
    # Loads from the command line without a user are not audited (as before).
    if user is None and not has_request_context():
        return
    from hrpipeline.audit import audit

    audit(action, user=user, **detail)


def load_zone_mapping(path: Path | None = None, *, overwrite: bool = False) -> MappingLoad:
    """Load the shipped municipality -> zone mapping (idempotent).

    Municipalities already present keep their zone (an admin's reassignment, including taking
    one out of every zone, wins) unless ``overwrite``; names are refreshed. Zones absent from the database are reported in ``skipped_zones``.
    """
    zones = {z.code: z for z in db.session.scalars(select(Zone))}
    existing = {m.refnis: m for m in db.session.scalars(select(Municipality))}
    inserted = updated = unchanged = 0
    skipped: set[str] = set()
    with open(path or ZONE_MAPPING_CSV, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            zone = zones.get(row["zone_code"])
            if zone is None:
                skipped.add(row["zone_code"])
            zone_id = zone.id if zone else None
            muni = existing.get(row["refnis"])
            if muni is None:
                db.session.add(Municipality(refnis=row["refnis"], name_nl=row["name_nl"],
                                            name_fr=row["name_fr"], zone_id=zone_id))
                inserted += 1
                continue
            changed = (muni.name_nl, muni.name_fr) != (row["name_nl"], row["name_fr"])
            muni.name_nl, muni.name_fr = row["name_nl"], row["name_fr"]
            if zone_id is not None and overwrite and muni.zone_id != zone_id:
                muni.zone_id = zone_id
                changed = True
            updated += changed
            unchanged += not changed
    db.session.commit()
    return MappingLoad(inserted, updated, unchanged, sorted(skipped))


def assign_municipality(refnis: str, zone_code: str | None, *, name_nl: str | None = None,
                        name_fr: str | None = None, user: User | None = None) -> Municipality:
    """Put a municipality in a zone (``zone_code=None`` takes it out of every zone).

    A municipality not yet known is created when its names are given.
    """
    refnis = refnis.strip()
    if not REFNIS_RE.fullmatch(refnis):
        raise ValidationFailed(f"{refnis!r} is not a REFNIS code (five digits, e.g. 44021).",
                               problems=[Problem(None, "refnis", refnis, "bad_refnis",
                                                 "expected five digits").as_dict()],
                               problem_count=1)
    zone = None
    if zone_code is not None:
        zone = db.session.scalar(select(Zone).where(Zone.code == zone_code))
        if zone is None:
            raise NotFound(f"No zone {zone_code!r}.")
    muni = db.session.get(Municipality, refnis)
    if muni is None:
        if not (name_nl or name_fr):
            raise NotFound(f"No municipality {refnis}; give its names to add it.")
        muni = Municipality(refnis=refnis, name_nl=name_nl or name_fr, name_fr=name_fr or name_nl)
        db.session.add(muni)
    else:
        muni.name_nl = name_nl or muni.name_nl
        muni.name_fr = name_fr or muni.name_fr
    old = muni.zone_id
    muni.zone_id = zone.id if zone else None
    _audit("municipality_assigned", user, zone_id=zone.id if zone else old, refnis=refnis,
           from_zone_id=old, to_zone=zone_code)
    db.session.commit()
    return muni


def zone_municipalities(zone_id: int) -> list[Municipality]:
    return list(db.session.scalars(
        select(Municipality).where(Municipality.zone_id == zone_id).order_by(Municipality.refnis)))


# --- imports ---------------------------------------------------------------------------------
def _source_with_year(source: str, reference_date: dt.date) -> str:
    source = source.strip()
    return source if str(reference_date.year) in source else f"{source} {reference_date.year}"


def _replace(zone_id: int, scope: str, reference_date: dt.date) -> int:
    result = db.session.execute(
        delete(Benchmark).where(Benchmark.zone_id == zone_id, Benchmark.is_fallback.is_(False),
                                Benchmark.population_scope == scope,
                                Benchmark.reference_date == reference_date))
    return result.rowcount or 0


def import_statbel(data: bytes, filename: str, *, source: str, reference_date: dt.date,
                   user: User | None = None,
                   age_band: str | None = DEFAULT_AGE_BAND) -> ImportReport:
    """Validate a Statbel-style origin table, aggregate it into zones and store the shares.

    Municipalities in no zone are listed in the report (an error only when none matches).
    Raises ``ValidationFailed`` (``ExtractInvalid``) with every problem; stores nothing then.
    """
    problems: list[Problem] = []
    if not source or not source.strip():
        problems.append(Problem(None, "source", source, "missing_source",
                                "expected the source of the table (e.g. 'Statbel 2024')"))
    if not isinstance(reference_date, dt.date):
        problems.append(Problem(None, "reference_date", str(reference_date), "bad_date",
                                "expected the reference date of the population figures"))
    raise_if_problems(problems, filename)
    table = parse_statbel(data, filename, age_band=age_band)
    mapping = {
        refnis: code for refnis, code in db.session.execute(
            select(Municipality.refnis, Zone.code).join(Zone, Municipality.zone_id == Zone.id))
    }
    agg = aggregate_to_zones(table, mapping)
    if agg.zone_counts.empty:
        raise_if_problems([Problem(None, table.columns["refnis"], None, "no_zone_matched",
                                   "expected at least one municipality of a police zone; none of "
                                   f"the {len(agg.unmatched)} municipalities in the file belongs "
                                   "to a zone")], filename)
    zones = {z.code: z for z in db.session.scalars(select(Zone))}
    for code, frame in agg.zone_counts.groupby("zone_code"):
        if int(frame["count"].sum()) == 0:
            problems.append(Problem(None, table.columns["count"], "0", "zero_total",
                                    f"expected residents in the scope for zone {code}"))
    raise_if_problems(problems, filename)

    label_source = _source_with_year(source, reference_date)
    report = ImportReport(filename, table.population_scope, reference_date, 0, 0, {}, {},
                          agg.unmatched, agg.missing, list(table.notes))
    # The eligible pool (Belgian nationals) is stored next to all residents when the file
    # says who is a Belgian national; the residents' figures are kept for context only.
    populations = [(table.population_scope, agg, report.zones, report.source_labels)]
    if table.has_nationality:
        report.eligible_scope = nationals_scope(table.population_scope)
        populations.append((report.eligible_scope,
                            aggregate_to_zones(table, mapping, nationals_only=True),
                            report.eligible_zones, report.eligible_labels))
    try:
        for scope, aggregation, zone_out, label_out in populations:
            for code, frame in aggregation.zone_counts.groupby("zone_code"):
                zone = zones[code]
                found, missing = agg.municipalities[code], agg.missing.get(code, [])
                where = (f"municipalities of {_zone_label(zone)}" if not missing else
                         f"{len(found)} of {len(found) + len(missing)} municipalities of "
                         f"{_zone_label(zone)}")
                label = f"{label_source}, {scope_label(scope)}, {where}"
                report.replaced_rows += _replace(zone.id, scope, reference_date)
                total = int(frame["count"].sum())
                if total == 0:  # no Belgian national in the band: no eligible-pool figure
                    continue
                zone_out[code] = {}
                for group, count in frame[["group", "count"]].itertuples(index=False):
                    share = count / total if total else 0.0
                    db.session.add(Benchmark(
                        zone_id=zone.id, region=None, migration_background=group,
                        share=float(share), count=int(count), population_scope=scope,
                        reference_date=reference_date, source=label, is_fallback=False))
                    zone_out[code][group] = {"count": int(count), "share": float(share)}
                    report.stored_rows += 1
                label_out[code] = label
                _audit("benchmark_imported", user, zone_id=zone.id, filename=filename,
                       scope=scope, reference_date=reference_date.isoformat())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def import_zone_shares(data: bytes, filename: str, *, source: str | None = None,
                       reference_date: dt.date | None = None,
                       user: User | None = None) -> ImportReport:
    """Store zone shares entered by hand (see ``parse_zone_shares`` for the layout).

    ``source`` / ``reference_date`` fill rows (or a whole file) that leave them empty.
    """
    zones = list(db.session.scalars(select(Zone)))
    lookup: dict[str, str] = {}
    for z in zones:
        lookup[z.code.upper()] = z.code
        if z.police_zone_number:
            lookup[z.police_zone_number.upper()] = z.code
    entries = parse_zone_shares(data, filename, zone_lookup=lookup, default_source=source,
                                default_reference_date=reference_date)
    by_code = {z.code: z for z in zones}
    scopes = {e.population_scope for e in entries}
    dates = sorted({e.reference_date for e in entries})
    report = ImportReport(filename, ", ".join(sorted(scopes)), dates[-1], 0, 0, {}, {})
    try:
        done: set[tuple] = set()
        for e in entries:
            zone = by_code[e.zone_code]
            key = (zone.id, e.population_scope, e.reference_date)
            if key not in done:
                report.replaced_rows += _replace(*key)
                done.add(key)
            label = (f"{_source_with_year(e.source, e.reference_date)}, "
                     f"{scope_label(e.population_scope)}, {_zone_label(zone)} (entered by hand)")
            db.session.add(Benchmark(
                zone_id=zone.id, region=None, migration_background=e.group, share=e.share,
                count=e.count, population_scope=e.population_scope,
                reference_date=e.reference_date, source=label, is_fallback=False))
            report.zones.setdefault(e.zone_code, {})[e.group] = {"count": e.count,
                                                                  "share": e.share}
            report.source_labels[e.zone_code] = label
            report.stored_rows += 1
        for zone_id, scope, ref in done:
            _audit("benchmark_entered", user, zone_id=zone_id, filename=filename, scope=scope,
                   reference_date=ref.isoformat())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


# --- regional defaults -----------------------------------------------------------------------
@dataclass(frozen=True)
class RegionalFigure:
    region: str
    reference_date: dt.date
    group: str  # belgian_origin or foreign_background
    share: float
    count: int | None
    source: str
    population_scope: str = "all"  # "all" = every resident, "all:nat" = Belgian nationals


def regional_defaults(path: Path | None = None) -> list[RegionalFigure]:
    """Map the published Statbel figures onto our groups (see docs/benchmarks.md).

    ``belgian_origin`` = "Belgian with Belgian background"; ``foreign_background`` =
    "Belgian with foreign background" + "Non-Belgian" (published figures do not split EU and
    non-EU). With persons for all three groups the shares come from the counts; otherwise from
    the published percentages, the Belgian-origin share derived as 100 - the other two when it
    is not published.
    """
    cells: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    with open(path or REGIONAL_DEFAULTS_CSV, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            cells.setdefault((row["region"], row["reference_date"]), {})[row["statbel_group"]] = row
    figures: list[RegionalFigure] = []
    for (region, date_text), groups in sorted(cells.items()):
        fb, nb = groups.get(STATBEL_FOREIGN_BELGIAN), groups.get(STATBEL_NON_BELGIAN)
        bb = groups.get(STATBEL_BELGIAN_ORIGIN)
        if fb is None or nb is None:
            continue  # the foreign-origin share cannot be formed
        urls = sorted({g["source"] for g in groups.values()})
        notes = sorted({f"{g['statbel_group']} {g['value_status']}" for g in groups.values()
                        if g["value_status"] != "published"})
        source = "Statbel origin statistics as published: " + " ; ".join(urls)
        ref = dt.date.fromisoformat(date_text)
        nat = nationals_scope("all")
        if bb and all(g["persons"] for g in (bb, fb, nb)):
            b, f_bel = int(bb["persons"]), int(fb["persons"])
            f = f_bel + int(nb["persons"])
            figures += [
                RegionalFigure(region, ref, BELGIAN_ORIGIN, b / (b + f), b, source),
                RegionalFigure(region, ref, FOREIGN_BACKGROUND, f / (b + f), f, source),
                RegionalFigure(region, ref, BELGIAN_ORIGIN, b / (b + f_bel), b, source, nat),
                RegionalFigure(region, ref, FOREIGN_BACKGROUND, f_bel / (b + f_bel), f_bel,
                               source, nat),
            ]
            continue
        foreign = (float(fb["share_pct"]) + float(nb["share_pct"])) / 100.0
        if bb is None:
            notes.append("Belgian-origin share derived as 100% minus the other two groups")
        if notes:
            source += " (" + "; ".join(notes) + ")"
        belgian = float(bb["share_pct"]) / 100.0 if bb else 1.0 - foreign
        # Belgian nationals only: the foreign-origin Belgians over all Belgians.
        nationals = belgian + float(fb["share_pct"]) / 100.0
        foreign_nat = float(fb["share_pct"]) / 100.0 / nationals
        figures += [RegionalFigure(region, ref, BELGIAN_ORIGIN, belgian, None, source),
                    RegionalFigure(region, ref, FOREIGN_BACKGROUND, foreign, None, source),
                    RegionalFigure(region, ref, BELGIAN_ORIGIN, 1.0 - foreign_nat, None, source,
                                   nat),
                    RegionalFigure(region, ref, FOREIGN_BACKGROUND, foreign_nat, None, source,
                                   nat)]
    return figures


def load_default_benchmarks(path: Path | None = None) -> int:
    """Store the regional fallbacks (idempotent: upsert). Returns the number of new rows."""
    existing = {
        (b.region, b.migration_background, b.reference_date, b.population_scope): b
        for b in db.session.scalars(select(Benchmark).where(Benchmark.is_fallback.is_(True),
                                                            Benchmark.zone_id.is_(None)))
    }
    inserted = 0
    for fig in regional_defaults(path):
        row = existing.get((fig.region, fig.group, fig.reference_date, fig.population_scope))
        if row is None:
            db.session.add(Benchmark(zone_id=None, region=fig.region,
                                     migration_background=fig.group, share=fig.share,
                                     count=fig.count, population_scope=fig.population_scope,
                                     reference_date=fig.reference_date, source=fig.source,
                                     is_fallback=True))
            inserted += 1
        else:
            row.share, row.count, row.source = fig.share, fig.count, fig.source
    db.session.commit()
    return inserted


# --- choosing a benchmark --------------------------------------------------------------------
def _latest(rows: list[Benchmark]) -> list[Benchmark]:
    if not rows:
        return []
    dates = [r.reference_date for r in rows if r.reference_date is not None]
    newest = max(dates) if dates else None
    return [r for r in rows if r.reference_date == newest]


#: The eligible pool for flows (applicants, hires): Belgian nationals of the candidate age
#: band in the zone's municipalities, else (labelled) Belgian nationals of all ages.
FLOW_SCOPES: tuple[str, ...] = (nationals_scope(DEFAULT_AGE_BAND), nationals_scope("all"))
#: The age band of the stock benchmark: officers serve from 18 to the pension age.
STOCK_AGE_BAND = "18-64"
#: The stock benchmark for the corps: Belgian nationals of working age, else of all ages.
STOCK_SCOPES: tuple[str, ...] = (nationals_scope(STOCK_AGE_BAND), nationals_scope("all"))
SCOPES_OF_KIND = {FLOW: FLOW_SCOPES, STOCK: STOCK_SCOPES}


def benchmark_for_zone(zone_id: int, scope_preference: tuple[str, ...] | None = None, *,
                       kind: str = FLOW) -> BenchmarkSet | None:
    """The zone's own benchmark (first scope of ``scope_preference`` it has, latest date),
    else the regional fallback (the zone's region, else Belgium), else ``None``.

    ``kind`` picks the scopes when ``scope_preference`` is not given: ``"flow"`` (the default,
    for applicants and hires) the eligible pool :data:`FLOW_SCOPES`, ``"stock"`` (the corps)
    :data:`STOCK_SCOPES`. Both are Belgian nationals only: a benchmark of all residents counts
    people who may not apply (docs/benchmarks.md).

    Labels: own "Statbel 2024, 18–34, Belgian nationals, municipalities of PZ Gent"; fallback
    "Regional fallback: Statbel 2023, Flanders, all ages, Belgian nationals".
    """
    if kind not in SCOPES_OF_KIND:
        raise ValueError(f"kind must be 'flow' or 'stock', got {kind!r}")
    scopes = scope_preference or SCOPES_OF_KIND[kind]
    zone = db.session.get(Zone, zone_id)
    if zone is None:
        raise NotFound(f"No zone {zone_id}.")
    own = list(db.session.scalars(select(Benchmark).where(Benchmark.zone_id == zone_id,
                                                          Benchmark.is_fallback.is_(False))))
    for scope in scopes:
        rows = _latest([r for r in own if r.population_scope == scope])
        if rows:
            return _make_set(zone, rows, rows[0].source, False, None, kind)
    fallback = list(db.session.scalars(select(Benchmark).where(
        Benchmark.is_fallback.is_(True), Benchmark.zone_id.is_(None))))
    for region in (region_of_zone(zone), NATIONAL):
        for scope in scopes:
            rows = _latest([r for r in fallback
                            if r.region == region and r.population_scope == scope])
            if rows:
                year = rows[0].reference_date.year if rows[0].reference_date else "undated"
                label = (f"Regional fallback: Statbel {year}, {REGION_NAMES.get(region, region)},"
                         f" {scope_label(scope)}")
                return _make_set(zone, rows, label, True, region, kind)
    return None


def _make_set(zone: Zone, rows: list[Benchmark], label: str, fallback: bool,
              region: str | None, kind: str = FLOW) -> BenchmarkSet:
    order = {g: i for i, g in enumerate((*KNOWN_BACKGROUNDS, FOREIGN_BACKGROUND))}
    rows = sorted(rows, key=lambda r: order.get(r.migration_background, 99))
    return BenchmarkSet(
        zone_id=zone.id, zone_code=zone.code,
        shares={r.migration_background: r.share for r in rows},
        counts={r.migration_background: r.count for r in rows},
        population_scope=rows[0].population_scope, reference_date=rows[0].reference_date,
        source=rows[0].source, source_label=label, is_fallback=fallback, region=region,
        kind=kind)


__all__ = [
    "FLOW_SCOPES",
    "STOCK_AGE_BAND",
    "STOCK_SCOPES",
    "BenchmarkSet",
    "ImportReport",
    "MappingLoad",
    "RegionalFigure",
    "assign_municipality",
    "benchmark_for_zone",
    "import_statbel",
    "import_zone_shares",
    "load_default_benchmarks",
    "load_zone_mapping",
    "region_of_zone",
    "regional_defaults",
    "zone_municipalities",
]
