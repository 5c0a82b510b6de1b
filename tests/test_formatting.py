"""hrpipeline.formatting: one way to write numbers and dates for pages, exports, charts and the
briefing. Expected strings follow CLDR (Unicode Common Locale Data Repository) for nl_BE, fr_BE
and en_GB, as shipped with Babel."""

from __future__ import annotations

import datetime as dt

import pytest

from hrpipeline import formatting as f
from hrpipeline.disclosure import SUPPRESSED


@pytest.mark.parametrize(("lang", "expected"), [("nl", "12,3%"), ("fr", "12,3\u00a0%"),
                                                ("en", "12.3%")])
def test_rate_one_decimal_in_the_locale(lang, expected):
    assert f.rate(0.1234, lang) == expected


def test_counts_group_thousands_per_locale():
    assert f.count(12345, "nl") == "12.345"
    assert f.count(12345, "fr") == "12\u202f345"
    assert f.count(12345, "en") == "12,345"


@pytest.mark.parametrize(("value", "lang", "expected"), [
    ("0.0123", "nl", "0,0123"), ("< 0.0001", "fr", "<\u00a00,0001"), ("≥ 0.05", "nl", "≥\u00a00,05"),
    (0.5, "fr", "0,5000"), (0.00001, "nl", "<\u00a00,0001"), ("0.0123", "en", "0.0123")])
def test_p_values_use_the_decimal_sign_of_the_page(value, lang, expected):
    assert f.p_value(value, lang) == expected


def test_hidden_and_not_applicable_are_never_numbers():
    for kind in ("count", "rate", "ratio", "points", "p"):
        assert f.number(SUPPRESSED, kind, "nl") == "x"
        assert f.number(None, kind, "fr") == "\u2013"


def test_points_are_signed_and_ratios_have_two_decimals():
    assert f.points(3.25, "nl") == "+3,2" or f.points(3.25, "nl") == "+3,3"
    assert f.points(-1.0, "fr") == "-1,0"
    assert f.ratio(0.756, "nl") == "0,76"


def test_dates_are_never_iso_on_a_page():
    day = dt.date(2024, 12, 31)
    assert f.date_short(day, "nl") == f.date_short(day, "fr") == "31/12/2024"
    assert f.date_long(day, "nl") == "31 december 2024"
    assert f.date_long(day, "fr") == "31 décembre 2024"
    assert f.date_long(day, "en") == "31 December 2024"
    assert f.datetime_short(dt.datetime(2024, 3, 5, 9, 7), "nl") == "05/03/2024 09:07"


def test_decimal_sign():
    assert f.decimal_sign("nl") == f.decimal_sign("fr") == ","
    assert f.decimal_sign("en") == "."


def test_percentages_of_the_briefing_read_like_rates():
    assert f.percent_number(12.5, "fr") == f.rate(0.125, "fr") == "12,5\u00a0%"


def test_problem_parameters_are_written_like_the_page(app):
    """An ingest problem's limits in the reader's format (30.000, 01/01/2015, never ISO)."""
    from flask_babel import force_locale

    from hrpipeline.web.messages import problem_message

    problem = {"code": "date_too_early", "params": {"min": "2015-01-01"},
               "message": "before 2015-01-01"}
    with app.test_request_context(), force_locale("nl"):
        assert "01/01/2015" in problem_message(problem)
        assert "2015-01-01" not in problem_message(problem)
