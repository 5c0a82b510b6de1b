"""How numbers and dates are written, in one place for the pages, the exports, the charts and
the PDF/HTML briefing (Babel, CLDR conventions of Belgium: ``nl_BE``, ``fr_BE``; English as
written in the UK).

Pure: no Flask. Callers pass the language (``"nl"``, ``"fr"`` or ``"en"``); the web layer passes
the request's locale. Every function takes a *published* value: a hidden one
(:data:`hrpipeline.disclosure.SUPPRESSED`) is always the one symbol ``x``, ``None`` (not
applicable) an en dash, never 0 or blank.

Examples (no-break spaces shown as ``\\u202f`` / ``\\xa0``)::

    >>> rate(0.1234, "nl"), rate(0.1234, "fr"), rate(0.1234, "en")
    ('12,3%', '12,3\\xa0%', '12.3%')
    >>> count(12345, "nl"), count(12345, "fr")
    ('12.345', '12\\u202f345')
    >>> p_value("0.0123", "nl"), p_value("< 0.0001", "fr")
    ('0,0123', '<\\xa00,0001')
    >>> date_short(dt.date(2024, 12, 31), "fr"), date_long(dt.date(2024, 12, 31), "nl")
    ('31/12/2024', '31 december 2024')
"""

from __future__ import annotations

import datetime as dt
import math
import re
from numbers import Integral, Real
from typing import Any

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.numbers import format_decimal, format_percent

from hrpipeline.disclosure.values import SYMBOL, is_suppressed

#: Interface language → the CLDR locale whose conventions we write in.
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_GB"}
NOT_APPLICABLE = "\u2013"  # en dash
KINDS = ("count", "rate", "ratio", "average", "points", "decimal", "p")


def locale_of(lang: str | None) -> str:
    """``"nl"`` → ``"nl_BE"``; an unknown language writes as English."""
    base = str(lang or "en").split("_")[0].split("-")[0].lower()
    return LOCALES.get(base, LOCALES["en"])


def _pct_pattern(locale: str, decimals: int) -> str:
    pattern = Locale.parse(locale).percent_formats[None].pattern.split(";")[0]
    if not decimals:
        return pattern
    # "#,##0%" → "#,##0.0%": decimals go after the last integer digit.
    last = pattern.rfind("0")
    return pattern[:last + 1] + "." + "0" * decimals + pattern[last + 1:]


def _special(value: Any) -> str | None:
    if is_suppressed(value) or (isinstance(value, str) and value == SYMBOL):
        return SYMBOL
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_APPLICABLE
    return None


def count(value: Any, lang: str) -> str:
    """A whole number with the locale's grouping: 12.345 / 12 345 / 12,345."""
    special = _special(value)
    if special is not None:
        return special
    return format_decimal(value, format="#,##0", locale=locale_of(lang))


def decimal(value: Any, lang: str, decimals: int = 1, *, signed: bool = False) -> str:
    """A number with a fixed number of decimals (decimal comma in NL/FR)."""
    special = _special(value)
    if special is not None:
        return special
    body = "#,##0" + ("." + "0" * decimals if decimals else "")
    pattern = f"+{body};-{body}" if signed else body
    return format_decimal(value, format=pattern, locale=locale_of(lang))


def rate(value: Any, lang: str, decimals: int = 1) -> str:
    """A proportion (0–1) as a percentage with one decimal: 12,3% / 12,3 % / 12.3%."""
    special = _special(value)
    if special is not None:
        return special
    locale = locale_of(lang)
    return format_percent(value, format=_pct_pattern(locale, decimals), locale=locale)


def percent_number(value: Any, lang: str, decimals: int = 1) -> str:
    """A number that already is a percentage (0–100), written like :func:`rate`."""
    special = _special(value)
    if special is not None:
        return special
    return rate(float(value) / 100, lang, decimals)


def ratio(value: Any, lang: str) -> str:
    return decimal(value, lang, 2)


def points(value: Any, lang: str) -> str:
    """Percentage points, signed: +3,2 / -1,0."""
    return decimal(value, lang, 1, signed=True)


_P_TEXT = re.compile(r"^\s*([<>≤≥]=?)?\s*([0-9]*\.?[0-9]+)\s*$")


def p_value(value: Any, lang: str) -> str:
    """A published p-value (a float, or the service's text "0.0123" / "< 0.0001") with the
    locale's decimal sign: 0,0123 / < 0,0001."""
    special = _special(value)
    if special is not None:
        return special
    if isinstance(value, Real) and not isinstance(value, bool):
        if value < 0.0001:
            return "<\u00a0" + decimal(0.0001, lang, 4)
        return decimal(value, lang, 4)
    match = _P_TEXT.match(str(value))
    if match is None:
        return str(value)
    sign, number = match.groups()
    digits = len(number.split(".")[1]) if "." in number else 0
    text = decimal(float(number), lang, digits)
    return f"{sign}\u00a0{text}" if sign else text


def number(value: Any, kind: str, lang: str) -> str:
    """One published value of a given kind (see :data:`KINDS`); ``auto`` is count for an
    int and rate for a float."""
    special = _special(value)
    if special is not None:
        return special
    if isinstance(value, bool) or (not isinstance(value, Real) and kind != "p"):
        return str(value)
    if kind == "auto":
        kind = "count" if isinstance(value, Integral) else "rate"
    if kind == "count":
        return count(value, lang)
    if kind == "rate":
        return rate(value, lang)
    if kind == "ratio":
        return ratio(value, lang)
    if kind == "average":
        return decimal(value, lang, 1)
    if kind == "points":
        return points(value, lang)
    if kind == "p":
        return p_value(value, lang)
    return format_decimal(value, locale=locale_of(lang))


def date_short(day: dt.date | dt.datetime | None, lang: str) -> str:
    """31/12/2024 in every language (the Belgian way; never the ISO 2024-12-31 on a page)."""
    if day is None:
        return NOT_APPLICABLE
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def date_long(day: dt.date | dt.datetime | None, lang: str) -> str:
    """31 december 2024 / 31 décembre 2024 / 31 December 2024."""
    if day is None:
        return NOT_APPLICABLE
    if isinstance(day, dt.datetime):
        day = day.date()
    return _babel_date(day, format="long", locale=locale_of(lang))


def datetime_short(moment: dt.datetime | None, lang: str) -> str:
    """31/12/2024 14:05."""
    if moment is None:
        return NOT_APPLICABLE
    return f"{date_short(moment, lang)} {moment.hour:02d}:{moment.minute:02d}"


def decimal_sign(lang: str) -> str:
    """"," in NL/FR, "." in English."""
    return format_decimal(0.5, format="0.0", locale=locale_of(lang))[1]
