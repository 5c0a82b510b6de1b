"""Size limits of the reader (issue 20, items 1 and 17): columns and rows are bounded before or
while a file is parsed, never after, and every refusal names the file, the limit and what was
found.

The work is measured by counting calls, not by timing: ``_cell_text`` runs once per XLSX cell
the reader looks at, and ``pandas.read_csv`` is spied on. A reader that walks a declared range
cell by cell (1.7e10 cells for ``A1:XFD1048576``, ~29 min) trips the counter at
``CELL_BUDGET`` and fails at once instead of hanging the suite.
"""

from __future__ import annotations

import pandas as pd
import pytest

from hrpipeline.ingest import read
from hrpipeline.ingest.problems import ExtractInvalid
from hrpipeline.ingest.read import MAX_COLUMNS, read_frame, read_table
from tests.ingest.helpers import (
    FUNNEL_HEADER_CELLS,
    FUNNEL_HEADER_NL,
    GOOD_FUNNEL_ROWS,
    cell,
    funnel_nl,
    raw_xlsx,
    sheet_row,
)

CELL_BUDGET = 100_000


class TooMuchWork(AssertionError):
    pass


@pytest.fixture
def cells_seen(monkeypatch):
    """How many XLSX cells the reader converted; fails past ``CELL_BUDGET``."""
    seen = {"n": 0}
    real = read._cell_text

    def counting(value):
        seen["n"] += 1
        if seen["n"] > CELL_BUDGET:
            raise TooMuchWork(f"the reader looked at more than {CELL_BUDGET} cells")
        return real(value)

    monkeypatch.setattr(read, "_cell_text", counting)
    return seen


@pytest.fixture
def read_csv_calls(monkeypatch):
    """The keyword arguments of every ``pandas.read_csv`` call made by the reader."""
    calls = []
    real = pd.read_csv

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(read.pd, "read_csv", spy)
    return calls


def _refused(data: bytes, filename: str, **kw) -> dict:
    with pytest.raises(ExtractInvalid) as info:
        read_frame(data, filename, **kw)
    assert len(info.value.problems) == 1
    return info.value.problems[0].as_dict()


# --- XLSX ------------------------------------------------------------------------------------
def test_declared_range_bomb_is_refused_before_any_cell_is_read(cells_seen):
    # The file of the review: a few KB, <dimension ref="A1:XFD1048576"/>, one cell in the
    # last row. It used to walk ~1.7e10 empty cells (about 29 minutes of CPU).
    data = raw_xlsx(sheet_row(1, FUNNEL_HEADER_CELLS)
                    + sheet_row(1048576, [cell("XFD1048576", "x")]),
                    dimension="A1:XFD1048576")
    assert len(data) < 5_000
    problem = _refused(data, "bom.xlsx")
    assert problem["code"] == "too_many_columns"
    assert problem["params"] == {"file": "bom.xlsx", "found": 16384, "limit": MAX_COLUMNS}
    assert "A1:XFD1048576" in problem["message"] and "bom.xlsx" in problem["message"]
    assert cells_seen["n"] == 0


def test_sparse_sheet_within_the_column_cap_is_read_from_its_stored_cells_only(cells_seen):
    # Declared A1:GR1048576 (200 columns) with one row at the bottom: openpyxl pads a million
    # missing rows to 200 cells each (2e8 cells, 22 s) unless the declared range is ignored.
    rows = (sheet_row(1, FUNNEL_HEADER_CELLS)
            + sheet_row(1048576, [cell("A1048576", "K001"), cell("GR1048576", "x")]))
    frame = read_table(raw_xlsx(rows, dimension="A1:GR1048576"), "sparse.xlsx")
    assert list(frame.index) == [1048576]
    assert frame.loc[1048576, "Kandidaat"] == "K001"
    assert frame.loc[1048576, "(column 200)"] == "x"
    assert cells_seen["n"] <= 2 * 200


def test_a_stored_row_wider_than_the_cap_is_refused_on_that_row(cells_seen):
    # No declared range at all: the width is checked on each stored row as it comes.
    rows = (sheet_row(1, FUNNEL_HEADER_CELLS)
            + sheet_row(2, [cell("A2", "K001"), cell("XFD2", "x")]))
    problem = _refused(raw_xlsx(rows), "wide.xlsx")
    assert problem["code"] == "too_many_columns"
    assert problem["params"]["found"] == 16384
    assert "row 2" in problem["message"] and "XFD" in problem["message"]
    assert cells_seen["n"] <= len(FUNNEL_HEADER_CELLS)


def test_a_header_of_16384_columns_is_refused():
    from openpyxl.utils import get_column_letter

    header = [cell(f"{get_column_letter(i)}1", f"c{i}") for i in range(1, 16385)]
    problem = _refused(raw_xlsx(sheet_row(1, header), dimension="A1:XFD1"), "wide.xlsx")
    assert (problem["code"], problem["params"]["found"]) == ("too_many_columns", 16384)


def test_exactly_the_column_cap_is_accepted():
    from openpyxl.utils import get_column_letter

    header = [cell(f"{get_column_letter(i)}1", f"c{i}") for i in range(1, MAX_COLUMNS + 1)]
    frame = read_table(raw_xlsx(sheet_row(1, header) + sheet_row(2, [cell("A2", "1")]),
                                dimension=f"A1:{get_column_letter(MAX_COLUMNS)}2"), "ok.xlsx")
    assert frame.shape == (1, MAX_COLUMNS)


def test_rows_past_excels_last_row_are_refused_without_walking_the_gap(cells_seen):
    rows = sheet_row(1, FUNNEL_HEADER_CELLS) + sheet_row(2_000_000_000, [cell("A1", "x")])
    problem = _refused(raw_xlsx(rows), "far.xlsx")
    assert problem["code"] == "corrupt_xlsx" and "1,048,576" in problem["message"]


def test_xlsx_rows_are_counted_while_streaming(cells_seen):
    rows = sheet_row(1, FUNNEL_HEADER_CELLS) + "".join(
        sheet_row(n, [cell(f"A{n}", f"K{n}")]) for n in range(2, 1002))
    problem = _refused(raw_xlsx(rows), "long.xlsx", max_rows=10)
    assert problem["code"] == "too_many_rows"
    assert problem["params"] == {"file": "long.xlsx", "found": 11, "limit": 10}
    # header + 10 rows kept + the 11th that trips the limit; nothing after it
    assert cells_seen["n"] == 7 + 11
    assert len(read_table(raw_xlsx(rows), "long.xlsx", max_rows=1000)) == 1000


# --- CSV -------------------------------------------------------------------------------------
def test_a_million_column_csv_header_is_refused_before_pandas_parses(read_csv_calls):
    header = ";".join(f"k{i:07d}" for i in range(1_000_000))
    data = (header + "\r\n" + ";".join("1" * 1_000_000) + "\r\n").encode()
    problem = _refused(data, "breed.csv")
    assert problem["code"] == "too_many_columns"
    assert problem["params"] == {"file": "breed.csv", "found": 1_000_000, "limit": MAX_COLUMNS}
    assert "1,000,000" in problem["message"]
    assert read_csv_calls == []


def test_csv_over_the_column_cap_is_refused_and_the_cap_itself_accepted(read_csv_calls):
    def wide(n):
        return (";".join(f"c{i}" for i in range(n)) + "\n" + ";".join("1" * n) + "\n").encode()

    problem = _refused(wide(30_000), "breed.csv")
    assert problem["params"]["found"] == 30_000 and read_csv_calls == []
    assert _refused(wide(MAX_COLUMNS + 1), "breed.csv")["params"]["found"] == MAX_COLUMNS + 1
    assert read_table(wide(MAX_COLUMNS), "ok.csv").shape == (1, MAX_COLUMNS)


def test_csv_delimiters_inside_quotes_do_not_count_as_columns():
    header = '"a;b;' + ";" * 300 + '";x\n'
    frame = read_table((header + "1;2\n").encode(), "q.csv")
    assert frame.shape == (1, 2)


def test_csv_rows_over_the_limit_are_refused_from_the_line_count(read_csv_calls):
    # Without a quote no cell can hold a line break: the lines are the records, no parse.
    # (A 2,000,001-row file used to be refused after parsing all of it: 42.7 s, 765 MB.)
    data = funnel_nl([GOOD_FUNNEL_ROWS[0].replace("K001", f"K{n:04d}") for n in range(50)])
    problem = _refused(data, "lang.csv", max_rows=10)
    assert problem["code"] == "too_many_rows"
    assert problem["params"] == {"file": "lang.csv", "found": 11, "limit": 10}
    assert read_csv_calls == []
    assert len(read_table(data, "lang.csv", max_rows=50)) == 50
    # Old Mac line ends (a lone CR) are line ends too.
    assert _refused(data.replace(b"\r\n", b"\r"), "cr.csv", max_rows=10)["code"] == (
        "too_many_rows")


def test_csv_rows_with_quotes_are_bounded_while_parsing(read_csv_calls):
    data = funnel_nl([GOOD_FUNNEL_ROWS[0].replace("K001", f'"K{n:04d}"') for n in range(50)])
    problem = _refused(data, "lang.csv", max_rows=10)
    assert problem["params"] == {"file": "lang.csv", "found": 11, "limit": 10}
    assert read_csv_calls[-1]["nrows"] == 11  # pandas stops one row past the limit


def test_line_breaks_inside_quoted_cells_do_not_count_as_rows():
    rows = [f'K{n};"INP 2024-1";Sollicitatie;"geslaagd\nnota";2024-02-01;EU;M'
            for n in range(5)]
    frame = read_table(funnel_nl(rows, encoding="utf-8"), "q.csv", max_rows=5)
    assert len(frame) == 5 and frame.iloc[0]["Uitkomst"] == "geslaagd\nnota"


def test_nul_after_the_first_4_kib_is_refused_with_its_row():
    # It used to cut the cell short silently: only the first 4 KiB were looked at.
    rows = GOOD_FUNNEL_ROWS * 60
    rows[100] = rows[100].replace("INP 2024-1", "INP 2024\x00-1")
    data = funnel_nl(rows, encoding="utf-8")
    assert data.index(b"\x00") > 4096
    problem = _refused(data, "nul.csv")
    assert problem["code"] == "nul_character"
    assert problem["row"] == 102 and problem["params"] == {"file": "nul.csv"}


def test_nul_in_a_utf16_file_is_refused():
    data = ("\ufeff" + FUNNEL_HEADER_NL + "\r\n" + GOOD_FUNNEL_ROWS[0].replace("V", "\x00")
            + "\r\n").encode("utf-16")
    assert _refused(data, "nul.csv")["code"] == "nul_character"
