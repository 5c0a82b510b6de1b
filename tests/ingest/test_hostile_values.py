"""Hostile cell values (issue 20, items 9, 10 and 12): out-of-range counts and years, control,
line-break and bidi characters in labels and references, implausible dates, and thousands of
campaigns in one file are refused with row, column and the rule, and nothing is stored.

The ``import_extract`` tests run on SQLite and, with ``HRPIPELINE_TEST_DATABASE_URL``, on
PostgreSQL, where an out-of-range count used to reach the INTEGER column (a 500)."""

from __future__ import annotations

import datetime as dt

import pytest

from hrpipeline.ingest.problems import ExtractInvalid
from hrpipeline.ingest.read import read_table
from hrpipeline.ingest.store import import_extract
from hrpipeline.ingest.validate import (
    MAX_CAMPAIGNS_PER_UPLOAD,
    MAX_COUNT,
    check_extract,
    parse_count,
)
from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl, xlsx

TODAY = dt.date(2025, 1, 1)
COUNTS_HEADER = "Campagne;Fase;Herkomst;Geslaagd;Niet geslaagd"


def _counts(*cells: str) -> bytes:
    rows = [f"INP 2024-1;Sollicitatie;{g};{c};1" for g, c in
            zip(("Belgische herkomst", "EU", "Maghreb", "Turkije"), cells, strict=False)]
    return ("\r\n".join([COUNTS_HEADER, *rows]) + "\r\n").encode("utf-8")


def _problems(data: bytes, kind: str, filename: str = "f.csv"):
    v = check_extract(read_table(data, filename), kind, today=TODAY)
    return v.problems


# --- item 10: counts and years out of range ----------------------------------------------------
@pytest.mark.parametrize("text", ["99999999999999999999", "3000000000", "999.999.999.999",
                                  "1.000.001"])
def test_out_of_range_count_is_refused_with_row_column_and_range(text):
    found = _problems(_counts("12", text), "counts")
    assert [(p.row, p.column, p.value, p.code) for p in found] == [
        (3, "Geslaagd", text, "count_out_of_range")]
    assert found[0].params == {"field": "passed", "min": 0, "max": MAX_COUNT}
    assert "0 to 1,000,000" in found[0].message


def test_the_largest_allowed_count_is_accepted():
    assert _problems(_counts("1.000.000"), "counts") == []


@pytest.mark.parametrize("text", ["²", "٣", "1²3"])
def test_non_ascii_digits_are_not_counts(text):
    # str.isdigit() accepts '²', which int() refuses: that was a traceback.
    assert parse_count(text) == (None, False, False)
    assert [p.code for p in _problems(_counts(text), "counts")] == ["invalid_count"]


@pytest.mark.parametrize("year", ["99999999999999999999", "²", "20245"])
def test_out_of_range_or_odd_campaign_year_is_refused(year):
    rows = [r.replace("INP 2024-1", "INP-A") for r in GOOD_FUNNEL_ROWS[:2]]
    header = "Kandidaat;Wervingscampagne;Jaar;Fase;Uitkomst;Datum;Herkomst;Geslacht"
    rows = [";".join([r.split(";")[0], r.split(";")[1], year, *r.split(";")[2:]]) for r in rows]
    found = _problems(funnel_nl(rows, header=header, encoding="utf-8"), "funnel")
    assert {(p.row, p.code) for p in found} >= {(2, "invalid_year"), (3, "invalid_year")}


def test_out_of_range_counts_store_nothing_on_either_database(zones, db_counts):
    before = db_counts()
    with pytest.raises(ExtractInvalid) as info:
        import_extract(zone=zones["ANT"], kind="counts", data=_counts("3000000000", "1"),
                       filename="c.csv", reference_date=TODAY)
    assert info.value.codes == {"count_out_of_range"}
    assert db_counts() == before


# --- item 12: characters ---------------------------------------------------------------------
@pytest.mark.parametrize(("field", "bad", "char"), [
    ("campaign", "INP 2024\u202e-1", "U+202E"),     # right-to-left override
    ("campaign", "INP 2024\u2066-1", "U+2066"),     # left-to-right isolate
    ("campaign", "INP 2024\u200b-1", "U+200B"),     # zero-width space
    ("candidate_ref", "K0\x0701", "U+0007"),        # bell (C0)
    ("candidate_ref", "K0\x8501", "U+0085"),        # next line (C1)
    ("candidate_ref", "K0\u202801", "U+2028"),      # line separator
])
def test_control_and_bidi_characters_in_labels_and_refs_are_refused(field, bad, char):
    clean = "INP 2024-1" if field == "campaign" else "K001"
    rows = [r.replace(clean, bad, 1) if i == 1 else r for i, r in enumerate(GOOD_FUNNEL_ROWS)]
    found = _problems(funnel_nl(rows, encoding="utf-8"), "funnel")
    assert [(p.row, p.code) for p in found] == [(3, "forbidden_character")]
    assert found[0].params == {"field": field, "char": char}
    assert found[0].column == ("Wervingscampagne" if field == "campaign" else "Kandidaat")
    # The value is shown with the character escaped, never as the character itself.
    assert bad not in found[0].value and "\\u" in found[0].value


def test_line_breaks_and_tabs_in_a_quoted_reference_are_refused():
    rows = list(GOOD_FUNNEL_ROWS)
    rows[0] = rows[0].replace("K001", '"K00\r\n1"', 1)
    rows[2] = rows[2].replace("K002", '"K0\t02"', 1)
    found = _problems(funnel_nl(rows, encoding="utf-8"), "funnel")
    assert {(p.row, p.code, p.params["char"]) for p in found} >= {
        (2, "forbidden_character", "U+000D"), (4, "forbidden_character", "U+0009")}
    assert found[0].value == "K00\\u000d\\n1"


def test_a_bidi_control_in_a_stage_is_reported_once_not_also_as_unknown():
    rows = [r.replace("Cognitieve proef", "Cognitieve\u202e proef") for r in GOOD_FUNNEL_ROWS]
    found = _problems(funnel_nl(rows, encoding="utf-8"), "funnel")
    assert {p.code for p in found} == {"forbidden_character"}
    assert [p.row for p in found] == [3, 5, 7]


def test_comments_keep_line_breaks_but_not_bidi_or_other_controls():
    def workforce(comment):
        return ("officer;origin;hire date;exit date;exit type;comment\r\n"
                f'P1;belgian;2015-01-01;2020-01-01;voluntary;"{comment}"\r\n').encode()

    ok = check_extract(read_table(workforce("Te veel\nnachtdiensten\tstop"), "w.csv"),
                       "workforce", today=TODAY)
    assert ok.ok and ok.frame["exit_comment"].iloc[0] == "Te veel\nnachtdiensten\tstop"
    for bad, char in (("Te veel \u202enachten", "U+202E"), ("Te veel\x1bnachten", "U+001B")):
        v = check_extract(read_table(workforce(bad), "w.csv"), "workforce", today=TODAY)
        assert [(p.row, p.code, p.params["char"]) for p in v.problems] == [
            (2, "forbidden_character", char)]


# --- item 12: dates ----------------------------------------------------------------------------
def test_implausibly_early_hire_date_is_refused():
    data = xlsx([["officer", "origin", "hire date", "exit date"],
                 ["P1", "belgian", "1800-01-01", ""],
                 ["P2", "belgian", "1950-01-01", "1949-12-31"],
                 ["P3", "belgian", "1990-05-01", ""]])
    v = check_extract(read_table(data, "w.xlsx"), "workforce", today=TODAY)
    early = [(p.row, p.column, p.params) for p in v.problems if p.code == "date_too_early"]
    assert early == [(2, "hire date", {"field": "hire_date", "min": "1950-01-01"}),
                     (3, "exit date", {"field": "exit_date", "min": "1950-01-01"})]


def test_stage_dates_before_1980_are_refused_and_future_ones_still_are():
    rows = list(GOOD_FUNNEL_ROWS)
    rows[0] = rows[0].replace("1/02/2024", "1/02/1975")
    rows[2] = rows[2].replace("2024-02-01", "2026-02-01")
    found = {(p.row, p.code) for p in _problems(funnel_nl(rows), "funnel")}
    assert found == {(2, "date_too_early"), (4, "future_date")}


# --- item 9: campaigns per upload ----------------------------------------------------------
def _one_row_campaigns(n: int) -> bytes:
    rows = [f"K{i:05d};INP 2024-{i};Sollicitatie;geslaagd;2024-02-01;EU;M" for i in range(n)]
    return funnel_nl(rows, encoding="utf-8")


def test_thousands_of_one_row_campaigns_are_refused_in_one_problem():
    found = _problems(_one_row_campaigns(3000), "funnel")
    assert [(p.code, p.column, p.params) for p in found] == [
        ("too_many_campaigns", "Wervingscampagne",
         {"found": 3000, "limit": MAX_CAMPAIGNS_PER_UPLOAD})]
    assert "3,000 campaigns" in found[0].message


def test_the_campaign_limit_itself_is_accepted_for_funnels_and_counts():
    assert _problems(_one_row_campaigns(MAX_CAMPAIGNS_PER_UPLOAD), "funnel") == []
    rows = [f"INP 2024-{i};Sollicitatie;EU;5;1" for i in range(MAX_CAMPAIGNS_PER_UPLOAD + 1)]
    data = ("\r\n".join([COUNTS_HEADER, *rows]) + "\r\n").encode()
    assert [p.code for p in _problems(data, "counts")] == ["too_many_campaigns"]
    assert _problems(("\r\n".join([COUNTS_HEADER, *rows[:-1]]) + "\r\n").encode(),
                     "counts") == []


def test_the_forbidden_character_class_covers_every_code_point_of_its_categories():
    # The class is built from three ranges, not all of Unicode: check nothing is left out
    # (a later Unicode version could add format characters elsewhere).
    import sys
    import unicodedata

    from hrpipeline.ingest.validate import forbidden_characters

    wanted = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in {"Cc", "Cf", "Zl", "Zp"}]
    pattern = forbidden_characters()
    assert len(wanted) > 200 and all(pattern.fullmatch(c) for c in wanted)
    # The shortcut before the per-value search: none of them is printable.
    assert not any(c.isprintable() for c in wanted)
    assert not any(pattern.search(c) for c in "aZ09 -_.'éßحא中\u00a0")
