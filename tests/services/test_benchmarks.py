"""Tests for hrpipeline.services.benchmarks (database: fixtures ``app``, ``zones``, ``db_counts``).

Reference values: hand-computed shares of the small Statbel-shaped table in
``tests/ingest/test_statbel.py``; Statbel's published 2023 origin figures as copied into
``hrpipeline/data/statbel_regional_defaults.csv`` from
``tests/data/statbel_population_by_origin_published_aggregates.csv`` (Belgium: 7,665,100
Belgians of Belgian origin, 2,459,184 Belgians of foreign origin, 1,573,273 non-Belgians;
Flemish Region: 15.8% Belgians of foreign origin, ~11% non-Belgians).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hrpipeline.analysis.representation import (
    FOREIGN_BACKGROUND,
    representation_against_benchmark,
)
from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND
from hrpipeline.errors import NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, Benchmark, Municipality
from hrpipeline.services.benchmarks import (
    assign_municipality,
    benchmark_for_zone,
    import_statbel,
    import_zone_shares,
    load_default_benchmarks,
    load_zone_mapping,
    regional_defaults,
)
from tests.ingest.test_statbel import statbel_bytes

REF = dt.date(2024, 1, 1)


@pytest.fixture
def mapped(zones):
    load_zone_mapping()
    return zones


def test_zone_mapping_loads_idempotently_and_keeps_admin_edits(mapped, make_user):
    munis = {m.refnis: m for m in db.session.scalars(select(Municipality))}
    assert len(munis) == 9
    assert munis["21014"].name_fr == "Saint-Josse-ten-Noode"
    assert munis["21014"].zone_id == mapped["BXN"].id
    assert munis["11007"].zone_id == mapped["ANT"].id  # Borsbeek, merged into Antwerpen 2025
    assert {m.refnis for m in munis.values() if m.zone_id == mapped["BXI"].id} == {"21004",
                                                                                 "21009"}
    admin = make_user("admin", all_zones=True)
    assign_municipality("11007", None, user=admin)
    again = load_zone_mapping()
    assert (again.inserted, again.updated) == (0, 0)
    assert db.session.get(Municipality, "11007").zone_id is None  # reassignment kept
    load_zone_mapping(overwrite=True)
    assert db.session.get(Municipality, "11007").zone_id == mapped["ANT"].id
    log = db.session.scalars(select(AuditLog)).all()
    assert [entry.action for entry in log] == ["municipality_assigned"]


def test_assign_municipality_adds_and_validates(mapped):
    muni = assign_municipality("24062", "GNT", name_nl="Leuven", name_fr="Louvain")
    assert muni.zone_id == mapped["GNT"].id
    with pytest.raises(NotFound):
        assign_municipality("44021", "NOPE")
    with pytest.raises(NotFound):
        assign_municipality("12345", "GNT")
    with pytest.raises(ValidationFailed):
        assign_municipality("4402", "GNT")


def test_import_statbel_stores_zone_shares(mapped):
    report = import_statbel(statbel_bytes(), "TF_SOC_POP_ORIGIN.txt", source="Statbel",
                            reference_date=REF)
    assert report.population_scope == "18-34" and report.eligible_scope == "18-34:nat"
    # Five zones x three groups would be 15; two zones in the file, three groups, two
    # populations (all residents, Belgian nationals).
    assert report.stored_rows == 12 and report.replaced_rows == 0
    assert report.zones["GNT"][EU_BACKGROUND] == {"count": 150, "share": pytest.approx(0.15)}
    assert report.zones["BXN"][NON_EU_BACKGROUND]["share"] == pytest.approx(0.60)
    assert [m["refnis"] for m in report.unmatched_municipalities] == ["24062"]
    assert report.incomplete_zones == {"BXN": ["21006"]}
    assert report.source_labels["GNT"] == (
        "Statbel 2024, 18–34, all residents, municipalities of PZ Gent")
    assert report.source_labels["BXN"] == (
        "Statbel 2024, 18–34, all residents, 2 of 3 municipalities of PZ Brussel-Noord")
    # The eligible pool leaves the non-Belgians out. Hand: Gent 600 / 50 / 100 of 750;
    # Brussel-Noord 250 / 50 / 0 of 300 (every non-EU resident there is a non-Belgian).
    assert report.eligible_zones["BXN"][NON_EU_BACKGROUND] == {"count": 0, "share": 0.0}
    assert report.eligible_zones["BXN"][BELGIAN_ORIGIN]["share"] == pytest.approx(250 / 300)
    bench = benchmark_for_zone(mapped["GNT"].id)
    assert bench is not None and not bench.is_fallback and bench.nationals_only
    assert bench.source_label == (
        "Statbel 2024, 18–34, Belgian nationals, municipalities of PZ Gent")
    assert bench.shares == pytest.approx(
        {BELGIAN_ORIGIN: 600 / 750, EU_BACKGROUND: 50 / 750, NON_EU_BACKGROUND: 100 / 750})
    assert bench.counts == {BELGIAN_ORIGIN: 600, EU_BACKGROUND: 50, NON_EU_BACKGROUND: 100}
    residents = benchmark_for_zone(mapped["GNT"].id, ("18-34",))
    assert residents.shares[EU_BACKGROUND] == pytest.approx(0.15)
    # Same zone, scope and date again: replaced, not duplicated.
    again = import_statbel(statbel_bytes(), "t.txt", source="Statbel 2024", reference_date=REF)
    assert again.replaced_rows == 12
    assert db.session.query(Benchmark).count() == 12


def test_import_statbel_without_nationality_stores_no_eligible_pool(mapped):
    # Our own group names say nothing about nationality: residents only, and the report says
    # why there is no eligible pool; the flow benchmark then is not this file.
    rows = ("44021|Gent|Gand|M|25|belgian origin|600\n"
            "44021|Gent|Gand|M|25|eu background|150\n"
            "44021|Gent|Gand|M|25|non eu background|250\n")
    report = import_statbel(statbel_bytes(rows), "t.txt", source="Statbel", reference_date=REF)
    assert report.eligible_scope is None and report.eligible_zones == {}
    assert any("eligible-pool" in note for note in report.notes)
    assert benchmark_for_zone(mapped["GNT"].id) is None  # no nationals figure, no fallback


def test_stock_benchmark_is_working_age_nationals(mapped):
    load_default_benchmarks()
    import_statbel(statbel_bytes(), "t.txt", source="Statbel", reference_date=REF)
    # No 18-64 table imported: the stock benchmark is the regional all-ages nationals figure,
    # never the 18-34 flow benchmark.
    stock = benchmark_for_zone(mapped["GNT"].id, kind="stock")
    assert stock.kind == "stock" and stock.is_fallback
    assert stock.population_scope == "all:nat"
    import_statbel(statbel_bytes(), "t.txt", source="Statbel", reference_date=REF,
                   age_band="18-64")
    stock = benchmark_for_zone(mapped["GNT"].id, kind="stock")
    assert not stock.is_fallback and stock.population_scope == "18-64:nat"
    # Hand: ages 25 and 50 in the band: Belgian 600 + 5000 of 5750 nationals.
    assert stock.shares[BELGIAN_ORIGIN] == pytest.approx(5600 / 5750)
    with pytest.raises(ValueError):
        benchmark_for_zone(mapped["GNT"].id, kind="corps")


def test_bad_statbel_file_stores_nothing(mapped, db_counts):
    before = db_counts()
    rows = ("44021|Gent|Gand|M|25|Belg van Belgische herkomst|12\n"
            "44021|Gent|Gand|M|25|Martiaan|5\n"
            "44021|Gent|Gand|M|25|Niet-Belg - EU|-4\n")
    with pytest.raises(ValidationFailed) as excinfo:
        import_statbel(statbel_bytes(rows), "bad.txt", source="Statbel", reference_date=REF)
    assert {p["code"] for p in excinfo.value.extra["problems"]} == {"unknown_origin",
                                                                    "negative_count"}
    assert db_counts() == before


def test_no_municipality_in_a_zone_is_an_error(mapped, db_counts):
    before = db_counts()
    rows = "24062|Leuven|Louvain|M|25|Niet-Belg - EU|5\n"
    with pytest.raises(ValidationFailed) as excinfo:
        import_statbel(statbel_bytes(rows), "leuven.txt", source="Statbel", reference_date=REF)
    assert excinfo.value.extra["problems"][0]["code"] == "no_zone_matched"
    assert db_counts() == before


def test_failure_while_storing_rolls_back(mapped, db_counts, monkeypatch):
    import hrpipeline.services.benchmarks as service

    before = db_counts()
    calls = {"n": 0}

    def boom(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # after the first zone's rows were added
            raise RuntimeError("disk full")
        return 0

    monkeypatch.setattr(service, "_replace", boom)
    with pytest.raises(RuntimeError):
        import_statbel(statbel_bytes(), "t.txt", source="Statbel", reference_date=REF)
    assert db_counts() == before


def test_hand_shares_import_and_bad_file(mapped, db_counts):
    text = ("zone;group;share;source;reference_date;scope\n"
            "5415;belgian_origin;55%;Stad Gent, Omgevingsanalyse;2023-01-01;all\n"
            "5415;foreign_background;45%;Stad Gent, Omgevingsanalyse;2023-01-01;all\n")
    report = import_zone_shares(text.encode(), "gent.csv")
    assert report.stored_rows == 2
    assert benchmark_for_zone(mapped["GNT"].id) is None  # residents are not the eligible pool
    bench = benchmark_for_zone(mapped["GNT"].id, ("all",))
    assert bench.source_label == (
        "Stad Gent, Omgevingsanalyse 2023, all ages, all residents, PZ Gent (entered by hand)")
    assert bench.shares == pytest.approx({BELGIAN_ORIGIN: 0.55, FOREIGN_BACKGROUND: 0.45})
    before = db_counts()
    bad = text.replace("45%", "35%")
    with pytest.raises(ValidationFailed) as excinfo:
        import_zone_shares(bad.encode(), "gent.csv")
    assert excinfo.value.extra["problems"][0]["code"] == "shares_do_not_sum_to_one"
    assert db_counts() == before


def test_regional_defaults_mapping_and_idempotent_load(app):
    figures = {(f.region, f.reference_date.year, f.group, f.population_scope): f
               for f in regional_defaults()}
    be = figures[("BE", 2023, BELGIAN_ORIGIN, "all")]
    # Hand: 7665100 / (7665100 + 2459184 + 1573273) = 0.65528
    assert be.share == pytest.approx(7665100 / 11697557)
    assert be.count == 7665100
    assert figures[("BE", 2023, FOREIGN_BACKGROUND, "all")].count == 2459184 + 1573273
    vl = figures[("VL", 2023, FOREIGN_BACKGROUND, "all")]
    assert vl.share == pytest.approx(0.158 + 0.11) and vl.count is None
    assert figures[("VL", 2023, BELGIAN_ORIGIN, "all")].share == pytest.approx(1 - 0.158 - 0.11)
    assert "derived" in vl.source and "brusselstimes.com" in vl.source
    assert figures[("BR", 2022, FOREIGN_BACKGROUND, "all")].share == pytest.approx(0.398 + 0.359)
    assert ("BR", 2020, BELGIAN_ORIGIN, "all") not in figures  # 2020: Belgium only
    # Belgian nationals only (the eligible pool): foreign-origin Belgians over all Belgians.
    # Hand, 2023: Brussels 39.7 / (100 - 36.9) = 62.9 % (76.6 % with the non-Belgians);
    # Flanders 15.8 / 89 = 17.8 % (26.8 %); Wallonia 24.4 / 89 = 27.4 % (35.4 %);
    # Belgium 2459184 / (7665100 + 2459184) = 24.3 %.
    nat = {region: figures[(region, 2023, FOREIGN_BACKGROUND, "all:nat")].share
           for region in ("BR", "VL", "WA", "BE")}
    assert nat["BR"] == pytest.approx(0.397 / 0.631)
    assert round(100 * nat["BR"], 1) == 62.9
    assert round(100 * nat["VL"], 1) == 17.8
    assert round(100 * nat["WA"], 1) == 27.4
    assert nat["BE"] == pytest.approx(2459184 / (7665100 + 2459184))
    assert figures[("BE", 2023, FOREIGN_BACKGROUND, "all:nat")].count == 2459184
    first = load_default_benchmarks()
    assert first == len(figures)
    assert load_default_benchmarks() == 0
    assert db.session.query(Benchmark).count() == first
    assert all(b.is_fallback and b.zone_id is None
               for b in db.session.scalars(select(Benchmark)))


def test_fallback_is_labelled_and_regional(mapped):
    assert benchmark_for_zone(mapped["GNT"].id) is None  # nothing loaded yet
    load_default_benchmarks()
    gnt = benchmark_for_zone(mapped["GNT"].id)
    assert gnt.is_fallback and gnt.region == "VL" and gnt.nationals_only
    assert gnt.source_label == (
        "Regional fallback: Statbel 2023, Flanders, all ages, Belgian nationals")
    assert gnt.shares[FOREIGN_BACKGROUND] == pytest.approx(0.158 / 0.89)
    crl = benchmark_for_zone(mapped["CRL"].id)
    assert crl.source_label == (
        "Regional fallback: Statbel 2023, Wallonia, all ages, Belgian nationals")
    assert crl.shares[FOREIGN_BACKGROUND] == pytest.approx(0.244 / 0.89)
    bxi = benchmark_for_zone(mapped["BXI"].id)
    assert bxi.source_label == (
        "Regional fallback: Statbel 2023, Brussels, all ages, Belgian nationals")
    # All residents only on request (context, not a benchmark for candidates).
    assert benchmark_for_zone(mapped["BXI"].id, ("all",)).shares[FOREIGN_BACKGROUND] == (
        pytest.approx(0.397 + 0.369))
    # Own 18-34 nationals benchmark wins; asking for "all" only still gets the fallback.
    import_statbel(statbel_bytes(), "t.txt", source="Statbel", reference_date=REF)
    assert not benchmark_for_zone(mapped["GNT"].id).is_fallback
    assert benchmark_for_zone(mapped["GNT"].id, ("all",)).is_fallback
    with pytest.raises(NotFound):
        benchmark_for_zone(999_999)


def test_representation_end_to_end_with_fallback_label(mapped):
    load_default_benchmarks()
    bench = benchmark_for_zone(mapped["CRL"].id)
    result = representation_against_benchmark(
        {"applicants": {BELGIAN_ORIGIN: 80, EU_BACKGROUND: 10, NON_EU_BACKGROUND: 10}},
        bench.as_analysis())
    row = result.row("applicants", FOREIGN_BACKGROUND)
    assert row.observed == 20 and row.n == 100
    assert row.is_fallback and row.source_label.startswith("Regional fallback:")
    # Hand: p = .244 / .89 = .27416; z = (20 - 27.416) / sqrt(100 * .27416 * .72584)
    # = -7.416 / 4.4609 = -1.662 (against all residents, .354, it was -3.22).
    assert row.sd == pytest.approx(-1.662, abs=1e-3)
    assert row.verdict == "consistent"
