"""Pure tests (no app): reading, column/value mapping, PII, counts, validation rules."""

from __future__ import annotations

import codecs
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrpipeline.domain import BACKGROUNDS, DEFAULT_STAGES, OUTCOMES
from hrpipeline.ingest.columns import canonical_value, match_columns, normalise
from hrpipeline.ingest.pii import (
    find_pii,
    header_kind,
    valid_iban,
    valid_national_register,
    value_kind,
)
from hrpipeline.ingest.problems import ExtractInvalid, Problem, problems_to_csv
from hrpipeline.ingest.read import read_table
from hrpipeline.ingest.validate import (
    FunnelRecordSchema,
    check_extract,
    parse_count,
    parse_dates,
)
from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl, xlsx

TODAY = dt.date(2025, 1, 1)


# --- read ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding,prefix", [("cp1252", b""), ("utf-8", b""),
                                              ("utf-8", codecs.BOM_UTF8)])
@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_read_table_sniffs_delimiter_and_encoding(encoding, prefix, sep):
    text = f"Étape{sep}Résultat{sep}Origine\r\n Épreuve physique {sep}réussi{sep}\r\n"
    frame = read_table(prefix + text.encode(encoding), "f.csv")
    assert list(frame.columns) == ["Étape", "Résultat", "Origine"]
    assert frame.loc[2].tolist() == ["Épreuve physique", "réussi", ""]
    assert frame.attrs["delimiter"] == sep


def test_read_table_keeps_excel_row_numbers_and_decimal_commas():
    data = b"a;b\r\n1,5;x\r\n\r\n;\r\n2;\"y;z\"\r\n"
    frame = read_table(data, "f.csv")
    assert frame.index.tolist() == [2, 5]  # blank lines dropped, numbering kept
    assert frame.loc[2, "a"] == "1,5" and frame.loc[5, "b"] == "y;z"


def test_read_xlsx_chosen_sheet_and_dates():
    data = xlsx([["x", "when"], ["a", dt.datetime(2024, 3, 1)], [None, None], ["b", 3.0]],
                sheet_title="Data")
    frame = read_table(data, "f.xlsx", sheet="Data")
    assert frame.to_dict("index") == {2: {"x": "a", "when": "2024-03-01"},
                                      4: {"x": "b", "when": "3"}}
    with pytest.raises(ExtractInvalid) as info:
        read_table(data, "f.xlsx", sheet="Nope")
    assert info.value.codes == {"sheet_not_found"} and "Data" in info.value.message


# --- columns and values -------------------------------------------------------------------
def test_normalise_is_case_accent_whitespace_insensitive():
    assert normalise("  Date d'Entrée ") == normalise("DATE D ENTREE") == "date d entree"


def test_headers_in_three_languages_map_to_the_same_fields():
    fields = ("candidate_ref", "campaign", "stage", "outcome", "migration_background")
    for headers in (["Kandidaat", "Wervingscampagne", "Fase", "Uitkomst", "Herkomst"],
                    ["Candidat", "Campagne", "Étape", "Résultat", "Origine"],
                    ["candidate_ref", "Campaign", "Stage", "Outcome", "Migration background"]):
        mapping, unmatched = match_columns(headers, fields)
        assert sorted(mapping.values()) == sorted(fields) and unmatched == []


@pytest.mark.parametrize("field,value,expected", [
    ("outcome", "Geslaagd", "passed"), ("outcome", "NIET GESLAAGD", "failed"),
    ("outcome", "réussi", "passed"), ("outcome", "échoué", "failed"),
    ("outcome", "Afgehaakt", "withdrew"), ("outcome", "désisté", "withdrew"),
    ("migration_background", "Belgische herkomst", "belgian_origin"),
    ("migration_background", "origine belge", "belgian_origin"),
    ("migration_background", "EU", "eu_background"), ("migration_background", "UE", "eu_background"),
    ("migration_background", "niet-EU", "non_eu_background"),
    ("migration_background", "hors UE", "non_eu_background"),
    ("migration_background", "Maghreb", "non_eu_background"),
    ("migration_background", "Turkije", "non_eu_background"),
    ("migration_background", "Turquie", "non_eu_background"),
    ("migration_background", "Sub-Sahara", "non_eu_background"),
    ("migration_background", "not stated", "unknown"),
    ("migration_background", "niet opgegeven", "unknown"),
    ("migration_background", "Non communiqué", "unknown"),
    ("migration_background", "", "unknown"),
    ("stage", "Fysieke proef", "physical_test"), ("stage", "épreuve physique", "physical_test"),
    ("stage", "Selectiecommissie", "interview"), ("stage", "Examen médical", "medical"),
    ("exit_type", "Démission", "voluntary"), ("exit_type", "pensioen", "retirement"),
    ("exit_reason", "werkdruk", "workload"), ("exit_reason", "Charge de travail", "workload"),
    ("rank", "Hoofdinspecteur", "chief_inspector"),
    ("rank", "commissaire divisionnaire", "chief_commissioner"),
])
def test_value_synonyms(field, value, expected):
    assert canonical_value(field, value) == expected


def test_unknown_categories_are_not_guessed():
    assert canonical_value("migration_background", "Belgisch-ish") is None
    assert canonical_value("outcome", "misschien") is None


def test_every_canonical_value_maps_to_itself():
    for field, values in (("outcome", OUTCOMES), ("migration_background", BACKGROUNDS),
                          ("stage", DEFAULT_STAGES)):
        assert all(canonical_value(field, v) == v for v in values)


# --- PII ----------------------------------------------------------------------------------
@pytest.mark.parametrize("header,kind", [
    ("Naam", "name"), ("Voornaam", "name"), ("Nom", "name"), ("Prénom", "name"),
    ("Kandidaatnaam", "name"), ("E-mail", "email"), ("Courriel", "email"),
    ("Telefoon", "phone"), ("GSM", "phone"), ("Téléphone", "phone"),
    ("Rijksregisternummer", "national_register"), ("INSZ", "national_register"),
    ("NISS", "national_register"), ("Numéro de registre national", "national_register"),
    ("Adres", "address"), ("Adresse", "address"), ("Street", "address"),
    ("Kandidaat", None), ("Campagnenaam", None), ("Nom de la campagne", None),
    ("Datum", None), ("Herkomst", None),
])
def test_pii_headers(header, kind):
    assert header_kind(header) == kind


def test_national_register_checksum():
    # Check number = 97 - (first 9 digits mod 97) (FPS Home Affairs, structure of the
    # national register number): 850730033 mod 97 = 69, 97 - 69 = 28.
    assert valid_national_register("85073003328")
    assert not valid_national_register("85073003327")
    # Births from 2000: 2 is prefixed before the mod 97: 97 - (2010101001 mod 97) = 26.
    assert valid_national_register("01010100126")
    assert valid_national_register("01010100194")  # same digits, pre-2000 rule: 94
    assert not valid_national_register("01010100195")


@pytest.mark.parametrize("text,kind", [
    ("mail naar jan.peeters@example.be aub", "email"),
    ("85.07.30-033.28", "national_register"), ("85073003328", "national_register"),
    ("belt 0470 12 34 56", "phone"), ("tel 02/123.45.67", "phone"),
    ("+32 470 12 34 56", "phone"), ("+33 1 23 45 67 89", "phone"),
    ("0032470123456", "phone"),
    ("K-2024-00017", None), ("C000123", None), ("01/03/2024", None),
    ("85.07.30-033.27", None),  # wrong check digits: not a register number
    ("INP 2024-1", None), ("vertrokken op 1.3.2024 na 12 jaar", None),
])
def test_pii_values(text, kind):
    assert value_kind(text) == kind


def test_iban_checksum():
    # ISO 13616 / ISO 7064 MOD 97-10; BE68 5390 0754 7034 and NL91 ABNA 0417 1643 00 are the
    # examples of the SWIFT IBAN registry. One changed digit breaks the check.
    assert valid_iban("BE68 5390 0754 7034") and valid_iban("BE68539007547034")
    assert valid_iban("NL91ABNA0417164300")
    assert not valid_iban("BE68 5390 0754 7035") and not valid_iban("BE86 5390 0754 7034")
    assert not valid_iban("BE68 5390") and not valid_iban("1234 5390 0754 7034")


@pytest.mark.parametrize("text,kind", [
    ("BE68 5390 0754 7034", "iban"), ("BE68539007547034", "iban"),
    ("stort op rekening BE68 5390 0754 7034 aub", "iban"),
    ("NL91 ABNA 0417 1643 00", "iban"), ("FR14 2004 1010 0505 0001 3M02 606", "iban"),
    ("jan[at]politie[dot]be", "email"), ("jan (at) x dot be", "email"),
    ("mail jan.peeters [at] politie [punt] be", "email"), ("jan at politie punt be", "email"),
    ("Kerkstraat 12", "address"), ("woont nu Kerkstraat 12 bus 3, Gent", "address"),
    ("verhuisd naar de Sint-Pietersnieuwstraat 41", "address"),
    ("Grote Markt 1", "address"), ("Frankrijklei 115", "address"),
    ("rue de la Loi 16", "address"), ("Avenue Louise 54", "address"),
    ("habite chaussée de Waterloo 1250", "address"), ("boulevard Anspach 1", "address"),
])
def test_pii_values_iban_obfuscated_email_and_address(text, kind):
    assert value_kind(text) == kind


@pytest.mark.parametrize("text", [
    "te hoge werkdruk in 2023", "3 jaar op de straat", "na 12 jaar in de ploeg",
    "in de straat 12 jaar gewoond", "loopbaan 2 keer onderbroken",
    "op de baan 5 dagen per week", "Kerkstraat 12 jaar geleden verlaten",
    "de weg naar het werk: 45 km", "Hof van Beroep 2024", "à la place 2 fois",
    "avenue professionnelle après 3 ans", "charge de travail trop élevée en 2023",
    "looked at the problem 3 times", "meeting at 5 pm", "BE68 5390 0754 7035",
    "BE2024ABC12345678", "ploeg at dot", "INP 2024-1", "K-2024-00017",
])
def test_ordinary_exit_comments_are_not_personal_data(text):
    assert value_kind(text) is None


def test_find_pii_reports_iban_and_address_in_exit_comments():
    frame = pd.DataFrame({"Commentaar": ["werkdruk", "woont Kerkstraat 12",
                                          "IBAN BE68 5390 0754 7034", "3 jaar op de straat",
                                          "jan[at]politie[dot]be"]},
                         index=[2, 3, 4, 5, 6])
    (problem,) = find_pii(frame)
    assert problem.code == "pii_value" and problem.params["rows"] == [3, 4, 6]
    assert problem.params["kinds"] == ["address", "email", "iban"]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 9_999_999))
def test_ordinary_candidate_refs_are_never_flagged(n):
    for ref in (f"K{n:07d}", f"C-{n}", f"2024-{n:05d}"):
        assert value_kind(ref) is None


# --- counts and dates ---------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("1234", (1234, False, True)), ("1.234", (1234, False, True)),
    ("1,234", (1234, False, True)), ("1 234", (1234, False, True)),
    ("1\u00a0234", (1234, False, True)), ("  12 ", (12, False, True)),
    ("-", (0, False, True)), ("**", (None, True, True)), ("<5", (None, True, True)),
    ("x", (None, True, True)), (":c", (None, True, True)),
    ("12,5", (None, False, False)), ("veel", (None, False, False)), ("-3", (None, False, False)),
])
def test_parse_count(text, expected):
    assert parse_count(text) == expected


def test_parse_dates_accepts_belgian_formats_and_excel_serials():
    out = parse_dates(np.array(["2024-03-01", "01/03/2024", "1.3.2024", "01-03-2024",
                                "45352", "31/02/2024", ""], dtype=object), allow_serial=True)
    # 45352 = 2024-03-01 in Excel's 1900 date system (days since 1899-12-30).
    assert [str(d)[:10] for d in out[:5]] == ["2024-03-01"] * 5
    assert np.isnat(out[5]) and np.isnat(out[6])
    assert np.isnat(parse_dates(np.array(["45352"], dtype=object), allow_serial=False)[0])


# --- validation ---------------------------------------------------------------------------
def _check(rows, **kw):
    return check_extract(read_table(funnel_nl(rows), "f.csv"), "funnel", today=TODAY, **kw)


def test_good_funnel_has_no_problems():
    v = _check(GOOD_FUNNEL_ROWS)
    assert v.ok and v.campaigns == ["INP 2024-1"] and v.years == [2024]


@pytest.mark.parametrize("campaign", [
    "-1+1+cmd|' /C calc'!A0",                    # a number, then an operator (DDE payload)
    '"INP 2024,=HYPERLINK(""http://evil"")"',    # a formula after a comma inside the cell
    '"INP 2024; @SUM(A1)"',
])
def test_formula_inside_or_after_a_number_is_refused(campaign):
    rows = [r.replace("INP 2024-1", campaign) if r.startswith("K002") else r
            for r in GOOD_FUNNEL_ROWS]
    v = _check(rows)
    assert {p.code for p in v.problems} == {"formula_injection"}
    assert {p.row for p in v.problems} == {4, 5}


@pytest.mark.parametrize("campaign", ["INP 2024-1, -2", "- INP 2024", "INP -5 2024", "-1"])
def test_ordinary_minus_signs_are_not_formulas(campaign):
    rows = [r.replace("INP 2024-1", campaign) if r.startswith("K002") else r
            for r in GOOD_FUNNEL_ROWS]
    assert "formula_injection" not in {p.code for p in _check(rows).problems}


def test_all_problems_reported_at_once_with_excel_rows():
    rows = GOOD_FUNNEL_ROWS + [
        "K005;INP 2024-1;Kookproef;geslaagd;2024-02-01;EU;M",          # row 10
        "K006;INP 2024-1;Sollicitatie;geslaagd;2024-02-30;EU;M",       # row 11
        "K007;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;Marsbewoner;M",  # row 12
    ]
    v = _check(rows)
    found = {(p.row, p.code) for p in v.problems}
    assert found == {(10, "unknown_stage"), (11, "invalid_date"), (12, "invalid_value")}
    assert v.problem_count == 3


def test_missing_column_lists_accepted_synonyms():
    frame = read_table(b"Kandidaat;Fase;Uitkomst;Herkomst\r\nK1;Sollicitatie;ok;EU\r\n", "f.csv")
    v = check_extract(frame, "funnel", today=TODAY)
    (p,) = v.problems
    assert p.code == "missing_column" and p.params["field"] == "campaign"
    assert "wervingscampagne" in p.message and "campagne" in p.message


def test_campaign_year_from_column_label_or_earliest_date():
    header = "Kandidaat;Campagne;Jaar;Fase;Uitkomst;Datum;Herkomst"
    rows = ["K1;Voorjaar;2022;Sollicitatie;ok;;EU",
            "K2;INP 2023-2;;Sollicitatie;ok;;EU",
            "K3;Najaar;;Sollicitatie;ok;15/12/2021;EU",
            "K4;Najaar;;Cognitieve test;ok;10/01/2022;EU"]
    v = check_extract(read_table(funnel_nl(rows, header), "f.csv"), "funnel", today=TODAY)
    assert v.ok, v.problems
    assert v.frame["campaign_year"].tolist() == [2022, 2023, 2021, 2021]


def test_impossible_sequence_points_to_the_failed_row():
    v = _check(GOOD_FUNNEL_ROWS + [
        "K002;INP 2024-1;Fysieke proef;geslaagd;2024-04-01;Maghreb;M"])
    (p,) = v.problems
    assert p.code == "impossible_sequence" and p.row == 10 and p.params["first_row"] == 5


def test_marshmallow_schema_declares_the_same_fields():
    schema = FunnelRecordSchema()
    record = schema.load({"candidate_ref": "K1", "campaign": "INP 2024-1",
                          "stage": "application", "outcome": "passed",
                          "migration_background": "unknown", "stage_date": "2024-03-01"})
    assert record["stage_date"] == dt.date(2024, 3, 1)
    errors = schema.validate({"candidate_ref": "K1", "campaign": "c", "stage": "application",
                              "outcome": "maybe", "migration_background": "x"})
    assert set(errors) == {"outcome", "migration_background"}


def test_problems_csv_report_is_excel_safe():
    data = problems_to_csv([Problem(3, "Campagne", '=HYPERLINK("x")', "formula_injection",
                                    "No formulas.")])
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "row;column;value;code;message"
    assert "'=HYPERLINK" in text  # neutralised for Excel


def test_large_frame_problem_list_is_capped_but_counted():
    n = 30_000
    rows = [f"K{i};INP 2024-1;Sollicitatie;misschien;;EU;M" for i in range(n)]
    v = _check(rows)
    assert v.problem_count == n and len(v.problems) <= 10_000
    with pytest.raises(ExtractInvalid) as info:
        v.raise_if_invalid()
    assert info.value.extra["problem_count"] == n and len(info.value.extra["problems"]) == 200


def test_a_file_of_another_kind_is_one_wrong_kind_problem_not_one_per_column():
    from hrpipeline.ingest.validate import check_extract, looks_like

    workforce = pd.DataFrame({"Personeelsnummer": ["P1"], "Herkomst": ["EU"],
                              "Datum in dienst": ["01/02/2020"]}, index=[2])
    assert looks_like(workforce.columns, "funnel") == "workforce"
    assert looks_like(workforce.columns, "workforce") is None
    result = check_extract(workforce, "funnel")
    assert [(p.code, p.params) for p in result.problems] == [
        ("wrong_kind", {"kind": "funnel", "looks_like": "workforce"})]
    counts = pd.DataFrame({"Campagne": ["INP 2024-1"], "Fase": ["sollicitatie"],
                           "Herkomst": ["EU"], "Geslaagd": ["3"]}, index=[2])
    assert looks_like(counts.columns, "funnel") == "counts"
    # A funnel file with one column missing is not another kind: the column is named.
    partial = pd.DataFrame({"Kandidaat": ["K1"], "Campagne": ["INP 2024-1"],
                            "Fase": ["sollicitatie"], "Herkomst": ["EU"]}, index=[2])
    assert [p.params["field"] for p in check_extract(partial, "funnel").problems] == [
        "outcome"]
