"""Bad-input corpus: every malformed file gets its own specific error code and the database
is left exactly as it was (row counts of every table before and after)."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from hrpipeline.errors import ValidationFailed
from hrpipeline.ingest.problems import ExtractInvalid
from hrpipeline.ingest.store import import_extract
from tests.ingest.make_corpus import build, zip_bomb_xlsx

CORPUS = pathlib.Path(__file__).parent / "corpus"
REFERENCE = dt.date(2025, 1, 1)

#: file → (kind, the specific code it must produce)
EXPECTED: dict[str, tuple[str, str]] = {
    "empty.csv": ("funnel", "empty_file"),
    "header_only.csv": ("funnel", "no_data_rows"),
    "blank_lines_only.csv": ("funnel", "empty_file"),
    "wrong_delimiter.csv": ("funnel", "delimiter_not_recognised"),
    "mixed_encoding.csv": ("funnel", "mixed_encoding"),
    "missing_column.csv": ("funnel", "missing_column"),
    "duplicate_header.csv": ("funnel", "duplicate_column"),
    "ambiguous_columns.csv": ("funnel", "ambiguous_column"),
    "ragged_row.csv": ("funnel", "malformed_csv"),
    "unknown_stage.csv": ("funnel", "unknown_stage"),
    "unknown_background.csv": ("funnel", "invalid_value"),
    "unknown_outcome.csv": ("funnel", "invalid_value"),
    "bad_date.csv": ("funnel", "invalid_date"),
    "future_date.csv": ("funnel", "future_date"),
    "duplicate_rows.csv": ("funnel", "duplicate_row"),
    "duplicate_stage.csv": ("funnel", "duplicate_stage"),
    "impossible_sequence.csv": ("funnel", "impossible_sequence"),
    "no_campaign_year.csv": ("funnel", "campaign_year_missing"),
    "pii_column_naam.csv": ("funnel", "pii_column"),
    "pii_column_nom.csv": ("funnel", "pii_column"),
    "pii_column_email.csv": ("funnel", "pii_column"),
    "pii_column_telefoon.csv": ("funnel", "pii_column"),
    "pii_column_rijksregister.csv": ("funnel", "pii_column"),
    "pii_email_in_ref.csv": ("funnel", "pii_value"),
    "pii_national_register_value.csv": ("funnel", "pii_value"),
    "pii_phone_in_comment.csv": ("workforce", "pii_value"),
    "formula_injection.csv": ("funnel", "formula_injection"),
    "formula_injection_minus.csv": ("funnel", "formula_injection"),
    "exit_before_hire.csv": ("workforce", "exit_before_hire"),
    "workforce_missing_hire.csv": ("workforce", "missing_value"),
    "workforce_bad_rank.csv": ("workforce", "invalid_value"),
    "workforce_exit_type_without_date.csv": ("workforce", "exit_without_date"),
    "counts_text_in_count.csv": ("counts", "invalid_count"),
    "counts_decimal_count.csv": ("counts", "invalid_count"),
    "legacy.xls": ("funnel", "unsupported_format"),
    "empty.xlsx": ("funnel", "empty_file"),
    "corrupt.xlsx": ("funnel", "corrupt_xlsx"),
    "not_a_workbook.xlsx": ("funnel", "corrupt_xlsx"),
    "xlsx_formula.xlsx": ("funnel", "formula_injection"),
}


def test_corpus_on_disk_matches_generator():
    built = build()
    assert set(built) == set(EXPECTED)
    assert len(EXPECTED) >= 30
    assert {p.name for p in CORPUS.iterdir()} == set(EXPECTED)


def _assert_refused(zone, kind, data, filename, code, db_counts):
    before = db_counts()
    with pytest.raises(ExtractInvalid) as info:
        import_extract(zone=zone, kind=kind, data=data, filename=filename,
                       reference_date=REFERENCE)
    assert code in info.value.codes, [p.as_dict() for p in info.value.problems]
    assert isinstance(info.value, ValidationFailed) and info.value.status == 422
    assert info.value.extra["problem_count"] >= 1
    assert db_counts() == before
    return info.value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_refused_with_specific_code(name, zones, db_counts):
    kind, code = EXPECTED[name]
    err = _assert_refused(zones["ANT"], kind, (CORPUS / name).read_bytes(), name, code,
                          db_counts)
    # Every problem says in plain English what was expected.
    assert all(p.message and p.code for p in err.problems)


def test_zip_bomb_refused_before_inflating(zones, db_counts):
    _assert_refused(zones["ANT"], "funnel", zip_bomb_xlsx(), "bomb.xlsx", "xlsx_too_large",
                    db_counts)


@pytest.mark.app_config(MAX_CONTENT_LENGTH=1000)
def test_file_over_size_limit_refused(zones, db_counts):
    data = (CORPUS / "header_only.csv").read_bytes() + b"x" * 2000
    _assert_refused(zones["ANT"], "funnel", data, "big.csv", "file_too_large", db_counts)


@pytest.mark.app_config(MAX_UPLOAD_ROWS=3)
def test_too_many_rows_refused(zones, db_counts):
    from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl

    _assert_refused(zones["ANT"], "funnel", funnel_nl(GOOD_FUNNEL_ROWS), "f.csv",
                    "too_many_rows", db_counts)
