"""hrpipeline.csvsafe: OWASP CSV-injection rules and safe Content-Disposition headers.

Reference: OWASP "CSV Injection" (cells starting with =, +, -, @, TAB, CR are prefixed with a
single quote; every cell quoted where a separator could split it) and RFC 6266 / RFC 5987
(``filename*=UTF-8''...``) for the download name.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from werkzeug.datastructures import Headers

from hrpipeline import csvsafe

PAYLOADS = [
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+1",
    "-1+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_cells_are_prefixed_with_a_quote(payload):
    out = csvsafe.cell(payload)
    assert out.startswith("'") and re.sub(r"(?<=[\t\r\n])'", "", out[1:]) == payload
    # Also after the TAB/CR/LF (a separator for some readers), nothing starts like a formula.
    assert not re.search(r"[\t\r\n][=+\-@]", out)


@pytest.mark.parametrize("text, safe", [
    ("BAD 2024,=HYPERLINK(\"http://evil\"),", "BAD 2024,'=HYPERLINK(\"http://evil\"),"),
    ("a; @SUM(A1)", "a; '@SUM(A1)"), ('x,"=1+1', "x,\"'=1+1"),
    ("rates: 0.5, -0.25; +3", "rates: 0.5, -0.25; +3"), ("Kerkstraat 12, Gent", None),
    ("2024-1", None), ("- te hoge werkdruk", "'- te hoge werkdruk")])
def test_formulas_after_a_separator_are_neutralised_too(text, safe):
    assert csvsafe.cell(text) == (text if safe is None else safe)


@pytest.mark.parametrize("value, text", [(-0.25, "-0.25"), ("-0.25", "-0.25"), (12, "12"),
                                         ("+3", "+3"), ("1e-05", "1e-05"), (None, ""),
                                         ("x", "x"), ("< 0.0001", "< 0.0001"),
                                         (float("nan"), ""), (True, "True")])
def test_numbers_and_plain_text_are_left_alone(value, text):
    assert csvsafe.cell(value) == text


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_every_separator_inside_a_cell_is_quoted_whatever_the_delimiter(delimiter):
    values = ["BAD 2024,=HYPERLINK(\"http://evil\"),", "a;=1+1", "tab\there", "cr\rhere",
              "lf\nhere", 'say "hi"', 7, -1.5]
    line = csvsafe.rows([values], delimiter=delimiter)
    # Read back with EITHER separator (Belgian Excel may use ';' on a ',' file): no cell
    # starts like a formula, and with the file's own separator the values come back intact.
    for sep in (",", ";"):
        for got in csv.reader(io.StringIO(line, newline=""), delimiter=sep):
            assert not any(c.lstrip().startswith(("=", "+", "@")) for c in got), (sep, got)
    back = next(csv.reader(io.StringIO(line, newline=""), delimiter=delimiter))
    assert back == [csvsafe.cell(v) for v in values]


def test_comment_line_has_no_line_break_quote_or_formula():
    line = csvsafe.comment('ANT / BAD 2024,=HYPERLINK("x"),; reference\ngroup;@SUM(A1)')
    assert line == "# ANT / BAD 2024,'=HYPERLINK('x'),; reference group;'@SUM(A1)\n"
    for sep in (",", ";"):
        cells = next(csv.reader(io.StringIO(line, newline=""), delimiter=sep))
        assert cells[0].startswith("# ANT")
        assert not any(c.lstrip().startswith(("=", "+", "-", "@")) for c in cells), cells
    assert csvsafe.comment("turnover") == "# turnover\n"
    assert csvsafe.comment("# Retention ANT, 2023") == "# Retention ANT, 2023\n"


@pytest.mark.parametrize("name", [
    "funnel_ANT_campaign-BAD\n2024.csv", 'a"b\r\nSet-Cookie: x=1.csv', "rétention_Liège.csv",
    "../../etc/passwd", "", "\x00\x7f"])
def test_content_disposition_is_always_a_valid_single_header(name):
    value = csvsafe.content_disposition(name)
    assert "\n" not in value and "\r" not in value and "\x00" not in value
    assert value.startswith('attachment; filename="') and value.count('"') == 2
    Headers().add("Content-Disposition", value)  # werkzeug refuses a newline: must not raise
    fallback = value.split('"')[1]
    assert fallback and "/" not in fallback and "\\" not in fallback


def test_content_disposition_keeps_non_ascii_in_filename_star():
    value = csvsafe.content_disposition("rétention_Liège.csv", "inline")
    assert value == ('inline; filename="retention_Liege.csv"; '
                     "filename*=UTF-8''r%C3%A9tention_Li%C3%A8ge.csv")
    assert csvsafe.content_disposition("funnel_ANT.csv") == 'attachment; filename="funnel_ANT.csv"'
