"""Tests for hrpipeline.ingest.statbel: Statbel-style tables and hand-entered zone shares.

Reference values are hand-computed from the small tables below (sums of the counts divided by
the zone totals); the Statbel origin labels follow Statbel's origin classification
("Belg van Belgische herkomst" / "Belge d'origine belge", ... with EU / non-EU detail).
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND
from hrpipeline.errors import ValidationFailed
from hrpipeline.ingest.statbel import (
    aggregate_to_zones,
    is_national,
    map_origin,
    parse_age_band,
    parse_statbel,
    parse_zone_shares,
    scope_label,
)

HEADER = "CD_REFNIS|TX_DESCR_NL|TX_DESCR_FR|CD_SEX|CD_AGE|TX_ORIGIN_NL|MS_POPULATION"
# Gent (age 25): Belgian 600; EU 100 + 50; non-EU 150 + 100  -> 1000 = .60 / .15 / .25
# Schaarbeek: 200 / 100 / 300; Sint-Joost: 50 / 50 / 300  -> BXN 250 / 150 / 600 of 1000
# Leuven 24062 is in no demo zone. Age 50 and 17 rows must drop out of the 18-34 band.
ROWS_NL = """\
44021|Gent|Gand|M|25|Belg van Belgische herkomst|350
44021|Gent|Gand|F|25|Belg van Belgische herkomst|250
44021|Gent|Gand|F|25|Niet-Belg - EU|100
44021|Gent|Gand|M|25|Belg van niet-Belgische herkomst - EU|50
44021|Gent|Gand|F|25|Niet-Belg - niet-EU|150
44021|Gent|Gand|M|25|Belg van niet-Belgische herkomst - niet-EU|100
44021|Gent|Gand|M|50|Belg van Belgische herkomst|5000
44021|Gent|Gand|M|17|Niet-Belg - niet-EU|777
21015|Schaarbeek|Schaerbeek|M|30|Belg van Belgische herkomst|200
21015|Schaarbeek|Schaerbeek|M|30|Niet-Belg - EU|100
21015|Schaarbeek|Schaerbeek|F|34|Niet-Belg - niet-EU|300
21014|Sint-Joost-ten-Node|Saint-Josse-ten-Noode|F|18|Belg van Belgische herkomst|50
21014|Sint-Joost-ten-Node|Saint-Josse-ten-Noode|F|18|Belg van niet-Belgische herkomst - EU|50
21014|Sint-Joost-ten-Node|Saint-Josse-ten-Noode|M|20|Niet-Belg - niet-EU|300
24062|Leuven|Louvain|M|25|Belg van Belgische herkomst|900
24062|Leuven|Louvain|M|25|Niet-Belg - EU|50
24062|Leuven|Louvain|M|25|Niet-Belg - niet-EU|50
"""
MAPPING = {"44021": "GNT", "21015": "BXN", "21006": "BXN", "21014": "BXN", "11002": "ANT"}

FR_LABELS = {
    "Belg van Belgische herkomst": "Belge d'origine belge",
    "Belg van niet-Belgische herkomst - EU": "Belge d'origine étrangère (UE)",
    "Belg van niet-Belgische herkomst - niet-EU": "Belge d’origine étrangère – hors UE",
    "Niet-Belg - EU": "Non-Belge UE",
    "Niet-Belg - niet-EU": "Non-Belge - hors UE",
}


def statbel_bytes(rows: str = ROWS_NL, header: str = HEADER) -> bytes:
    return (header + "\n" + rows).encode("utf-8")


def shares(agg, zone: str) -> dict[str, float]:
    frame = agg.zone_counts[agg.zone_counts["zone_code"] == zone]
    return dict(zip(frame["group"], frame["share"], strict=True))


def problems_of(excinfo) -> list[dict]:
    return excinfo.value.extra["problems"]


def test_pipe_file_aggregates_to_zones_with_hand_computed_shares():
    table = parse_statbel(statbel_bytes(), "TF_SOC_POP_ORIGIN.txt", age_band="18-34")
    assert table.population_scope == "18-34"
    assert table.columns == {"refnis": "CD_REFNIS", "count": "MS_POPULATION",
                             "origin": "TX_ORIGIN_NL", "age": "CD_AGE"}
    agg = aggregate_to_zones(table, MAPPING)
    assert shares(agg, "GNT") == pytest.approx(
        {BELGIAN_ORIGIN: 0.60, EU_BACKGROUND: 0.15, NON_EU_BACKGROUND: 0.25})
    assert shares(agg, "BXN") == pytest.approx(
        {BELGIAN_ORIGIN: 0.25, EU_BACKGROUND: 0.15, NON_EU_BACKGROUND: 0.60})
    bxn = agg.zone_counts[agg.zone_counts["zone_code"] == "BXN"]
    assert int(bxn["count"].sum()) == 1000
    assert agg.unmatched == [{"refnis": "24062", "name_nl": "Leuven", "name_fr": "Louvain"}]
    assert agg.missing == {"BXN": ["21006"]}  # Evere mapped but absent from the file
    assert agg.municipalities["BXN"] == ["21014", "21015"]
    assert "ANT" not in set(agg.zone_counts["zone_code"])


def test_all_ages_keeps_every_row():
    table = parse_statbel(statbel_bytes(), "t.txt", age_band=None)
    assert table.population_scope == "all"
    agg = aggregate_to_zones(table, MAPPING)
    gnt = agg.zone_counts[agg.zone_counts["zone_code"] == "GNT"].set_index("group")["count"]
    # Hand: Belgian 600 + 5000; EU 150; non-EU 250 + 777
    assert gnt.to_dict() == {BELGIAN_ORIGIN: 5600, EU_BACKGROUND: 150, NON_EU_BACKGROUND: 1027}


def test_age_classes_and_open_class():
    header = "CD_REFNIS|CD_AGE|TX_ORIGIN_NL|MS_POPULATION"
    rows = ("44021|18-24|Belg van Belgische herkomst|10\n"
            "44021|25-34|Niet-Belg - EU|30\n"
            "44021|100+|Niet-Belg - EU|5\n"
            "44021|0-17|Niet-Belg - EU|99\n")
    table = parse_statbel(statbel_bytes(rows, header), "t.txt", age_band="18-34")
    assert dict(zip(table.counts["group"], table.counts["count"], strict=True)) == {
        BELGIAN_ORIGIN: 10, EU_BACKGROUND: 30}
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statbel(statbel_bytes("44021|30-39|Niet-Belg - EU|3\n", header), "t.txt")
    assert problems_of(excinfo)[0]["code"] == "age_class_straddles_band"
    assert parse_age_band("65+")[0] == 65


def test_no_age_column_means_all_ages_with_a_note():
    header = "CD_REFNIS|TX_ORIGIN_NL|MS_POPULATION"
    table = parse_statbel(statbel_bytes("44021|Niet-Belg - EU|3\n", header), "t.txt")
    assert table.population_scope == "all"
    assert table.notes and "18-34" in table.notes[0]


def test_french_labels_semicolon_csv_match_dutch():
    rows = ROWS_NL
    for nl, fr in FR_LABELS.items():
        rows = rows.replace(f"|{nl}|", f"|{fr}|")
    header = HEADER.replace("TX_ORIGIN_NL", "TX_ORIGIN_FR")
    text = (header + "\n" + rows).replace("|", ";")
    table = parse_statbel(text.encode("cp1252"), "origine.csv")
    agg = aggregate_to_zones(table, MAPPING)
    assert shares(agg, "GNT") == pytest.approx(
        {BELGIAN_ORIGIN: 0.60, EU_BACKGROUND: 0.15, NON_EU_BACKGROUND: 0.25})


def test_xlsx_with_numeric_codes():
    lines = [line.split("|") for line in ROWS_NL.strip().splitlines()]
    frame = pd.DataFrame(lines, columns=HEADER.split("|"))
    for col in ("CD_REFNIS", "CD_AGE", "MS_POPULATION"):
        frame[col] = frame[col].astype(int)
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    table = parse_statbel(buffer.getvalue(), "population.xlsx")
    agg = aggregate_to_zones(table, MAPPING)
    assert shares(agg, "BXN")[NON_EU_BACKGROUND] == pytest.approx(0.60)


def test_origin_label_variants():
    assert map_origin("Belg van Belgische herkomst") == BELGIAN_ORIGIN
    assert map_origin("BELGE D'ORIGINE BELGE") == BELGIAN_ORIGIN
    assert map_origin("Niet-Belg (EU)") == EU_BACKGROUND
    assert map_origin("Belge d'origine étrangère - hors UE") == NON_EU_BACKGROUND
    assert map_origin("Non-Belgian, non-EU") == NON_EU_BACKGROUND
    assert map_origin("Totaal") is None
    assert map_origin("Belg van niet-Belgische herkomst") is None


def test_bad_statbel_file_reports_every_problem_with_excel_rows():
    rows = ("44021|Gent|Gand|M|25|Belg van Belgische herkomst|12\n"
            "44021|Gent|Gand|M|25|Martiaan|5\n"            # row 3 unknown origin
            "44021|Gent|Gand|M|25|Niet-Belg - EU|twelve\n"  # row 4 not a count
            "4402|Gent|Gand|M|25|Niet-Belg - EU|3\n"        # row 5 bad REFNIS
            "44021|Gent|Gand|M|25|Niet-Belg - EU|-4\n"      # row 6 negative
            "ABCDE|Gent|Gand|M|abc|Belg van niet-Belgische herkomst|1\n")  # row 7: 3 problems
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statbel(statbel_bytes(rows), "bad.txt")
    got = {(p["row"], p["column"], p["code"]) for p in problems_of(excinfo)}
    assert got == {
        (3, "TX_ORIGIN_NL", "unknown_origin"),
        (4, "MS_POPULATION", "not_a_count"),
        (5, "CD_REFNIS", "bad_refnis"),
        (6, "MS_POPULATION", "negative_count"),
        (7, "CD_REFNIS", "bad_refnis"),
        (7, "CD_AGE", "bad_age"),
        (7, "TX_ORIGIN_NL", "origin_not_split"),
    }
    assert excinfo.value.extra["problem_count"] == 7
    bad = next(p for p in problems_of(excinfo) if p["code"] == "unknown_origin")
    assert bad["value"] == "Martiaan" and "Belg van Belgische herkomst" in bad["message"]


def test_missing_columns_reported_together():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statbel(b"TX_DESCR_NL|CD_AGE\nGent|20\n", "t.txt")
    problems = problems_of(excinfo)
    assert [p["code"] for p in problems] == ["missing_column"] * 3
    assert all(p["row"] == 1 for p in problems)


def test_ambiguous_count_columns():
    header = "CD_REFNIS|TX_ORIGIN_NL|MS_MALE|MS_FEMALE"
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statbel(statbel_bytes("44021|Niet-Belg - EU|1|2\n", header), "t.txt")
    assert problems_of(excinfo)[0]["code"] == "ambiguous_column"


# --- hand-entered shares ---------------------------------------------------------------------
LOOKUP = {"GNT": "GNT", "5415": "GNT", "BXN": "BXN", "5344": "BXN"}


def test_hand_shares_percent_comma_and_counts():
    text = ("zone;group;share;count;source;reference_date;scope\n"
            "GNT;belgian_origin;60%;;Stad Gent 2024;01/01/2024;18-34\n"
            "5415;eu_background;0,15;;Stad Gent 2024;01/01/2024;18-34\n"
            "GNT;non_eu_background;0.25;;Stad Gent 2024;01/01/2024;18-34\n"
            "BXN;belgian_origin;;300;IBSA;2024-01-01;\n"
            "BXN;foreign_background;;700;IBSA;2024-01-01;\n")
    entries = parse_zone_shares(text.encode(), "shares.csv", zone_lookup=LOOKUP)
    got = {(e.zone_code, e.group): e.share for e in entries}
    assert got == pytest.approx({("GNT", BELGIAN_ORIGIN): 0.60, ("GNT", EU_BACKGROUND): 0.15,
                                 ("GNT", NON_EU_BACKGROUND): 0.25,
                                 ("BXN", BELGIAN_ORIGIN): 0.30,
                                 ("BXN", "foreign_background"): 0.70})
    assert {e.population_scope for e in entries if e.zone_code == "BXN"} == {"all"}
    assert {e.reference_date for e in entries} == {dt.date(2024, 1, 1)}


def test_bad_hand_shares_get_specific_errors():
    text = ("zone,group,share,source,reference_date\n"
            "GNT,belgian_origin,0.5,S,2024-01-01\n"        # GNT sums to 0.7
            "GNT,non_eu_background,0.2,S,2024-01-01\n"
            "XXX,belgian_origin,0.5,S,2024-01-01\n"        # row 4 unknown zone
            "BXN,martians,0.5,S,2024-01-01\n"              # row 5 unknown group
            "BXN,eu_background,1.5,S,2024-13-01\n"         # row 6 out of range + bad date
            "BXN,eu_background,abc,,2024-01-01\n")         # row 7 not a share + no source
    with pytest.raises(ValidationFailed) as excinfo:
        parse_zone_shares(text.encode(), "s.csv", zone_lookup=LOOKUP)
    got = {(p["row"], p["code"]) for p in problems_of(excinfo)}
    assert got == {(2, "shares_do_not_sum_to_one"),
                   (4, "unknown_zone"), (5, "unknown_group"), (6, "share_out_of_range"),
                   (6, "bad_date"), (7, "not_a_share"), (7, "missing_source")}
    text = ("zone,group,share,source,reference_date\n"
            "GNT,belgian_origin,0.5,S,2024-01-01\n"
            "GNT,non_eu_background,0.2,S,2024-01-01\n"
            "BXN,foreign_background,0.5,S,2024-01-01\n"
            "BXN,eu_background,0.2,S,2024-01-01\n"
            "BXN,belgian_origin,0.3,S,2024-01-01\n"
            "BXN,belgian_origin,0.3,S,2024-01-01\n")
    with pytest.raises(ValidationFailed) as excinfo:
        parse_zone_shares(text.encode(), "s.csv", zone_lookup=LOOKUP)
    codes = {(p["row"], p["code"]) for p in problems_of(excinfo)}
    assert (2, "shares_do_not_sum_to_one") in codes
    assert (4, "overlapping_groups") in codes
    assert (7, "duplicate_group") in codes


def test_hand_shares_missing_columns():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_zone_shares(b"zone;value\nGNT;1\n", "s.csv", zone_lookup=LOOKUP)
    assert {p["code"] for p in problems_of(excinfo)} == {"missing_column"}
    assert excinfo.value.extra["problem_count"] == 4  # group, share/count, source, date


# --- the eligible pool: Belgian nationals ---------------------------------------------------


def test_eligible_pool_leaves_non_belgians_out_hand_computed():
    table = parse_statbel(statbel_bytes(), "TF_SOC_POP_ORIGIN.txt", age_band="18-34")
    assert table.has_nationality
    agg = aggregate_to_zones(table, MAPPING, nationals_only=True)
    # Hand: Gent Belgians 600, Belgians of EU origin 50, of non-EU origin 100 (the 100 EU and
    # 150 non-EU non-Belgians are not eligible) -> 600 / 50 / 100 of 750.
    assert shares(agg, "GNT") == pytest.approx(
        {BELGIAN_ORIGIN: 600 / 750, EU_BACKGROUND: 50 / 750, NON_EU_BACKGROUND: 100 / 750})
    # Brussel-Noord: 200 + 50 Belgian origin, 50 EU-origin Belgians, no non-EU Belgian.
    assert shares(agg, "BXN") == pytest.approx(
        {BELGIAN_ORIGIN: 250 / 300, EU_BACKGROUND: 50 / 300, NON_EU_BACKGROUND: 0.0})


def test_nationality_from_french_labels_and_from_a_nationality_column():
    assert is_national("Belge d'origine belge") is True
    assert is_national("Belge d’origine étrangère – hors UE") is True
    assert is_national("Non-Belge - hors UE") is False
    assert is_national("non eu background") is None
    header = "CD_REFNIS|CD_AGE|CD_NATLTY|TX_ORIGIN_NL|MS_POPULATION"
    rows = ("44021|25|BEL|belgian origin|600\n"
            "44021|25|BEL|eu background|50\n"
            "44021|25|ETR|eu background|100\n"
            "44021|25|BEL|non eu background|100\n"
            "44021|25|ETR|non eu background|150\n")
    table = parse_statbel(statbel_bytes(rows, header), "natlty.txt")
    assert table.columns["nationality"] == "CD_NATLTY" and table.has_nationality
    agg = aggregate_to_zones(table, MAPPING, nationals_only=True)
    assert shares(agg, "GNT")[EU_BACKGROUND] == pytest.approx(50 / 750)
    bad = rows + "44021|25|???|eu background|1\n"
    with pytest.raises(ValidationFailed) as excinfo:
        parse_statbel(statbel_bytes(bad, header), "natlty.txt")
    assert [(p["row"], p["code"]) for p in problems_of(excinfo)] == [(7, "bad_nationality")]


def test_without_nationality_no_eligible_pool_and_a_note():
    rows = "44021|Gent|Gand|M|25|belgian origin|600\n44021|Gent|Gand|M|25|eu background|60\n"
    table = parse_statbel(statbel_bytes(rows), "t.txt")
    assert not table.has_nationality
    assert any("eligible-pool" in note for note in table.notes)
    with pytest.raises(ValueError):
        aggregate_to_zones(table, MAPPING, nationals_only=True)


def test_hand_entered_scope_of_belgian_nationals():
    lookup = {"GNT": "GNT"}
    for scope, expected in (("18-34:nat", "18-34:nat"), ("18-34 Belgen", "18-34:nat"),
                            ("all, Belgian nationals", "all:nat"), ("18-34", "18-34"),
                            ("", "all")):
        text = ("zone;group;share;source;reference_date;scope\n"
                f"GNT;belgian_origin;80%;S;2024-01-01;{scope}\n"
                f"GNT;foreign_background;20%;S;2024-01-01;{scope}\n")
        entries = parse_zone_shares(text.encode(), "s.csv", zone_lookup=lookup)
        assert {e.population_scope for e in entries} == {expected}, scope
    assert scope_label("18-34:nat") == "18–34, Belgian nationals"
    assert scope_label("all") == "all ages, all residents"
