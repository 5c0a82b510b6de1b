"""Refuse direct identifiers: the service stores pseudonymous references only.

Two checks, both reported with the column and the rows so the user knows what to remove:

* headers that name a direct identifier (name, e-mail, phone, Belgian national register
  number — rijksregisternummer / numéro de registre national / INSZ / NISS — or an address),
  in Dutch, French or English;
* values in any text column (free-text exit comments included) that match an e-mail address,
  a phone number (Belgian or international) or a national register number **with a valid
  check digit**.

National register number (Rijksregisternummer / numéro de registre national): 11 digits
``YYMMDD SSS CC``; the check number CC = 97 − (first 9 digits mod 97), or for births from
2000 onwards 97 − ((2 followed by the first 9 digits) mod 97). Source: Belgian FPS Home
Affairs, "Structuur van het rijksregisternummer" (also ISO-style description on
https://nl.wikipedia.org/wiki/Rijksregisternummer). Example: ``85.07.30-033.28``:
97 − (850730033 mod 97) = 28, valid.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hrpipeline.ingest.columns import is_known_header, normalise
from hrpipeline.ingest.problems import Problem

#: Header words (normalised, whole words) that name a direct identifier.
_PII_WORDS = {
    "name": ("name", "names", "first name", "last name", "surname", "given name", "full name",
             "naam", "voornaam", "achternaam", "familienaam", "roepnaam", "volledige naam",
             "nom", "prenom", "nom de famille", "nom complet"),
    "email": ("email", "e mail", "mail", "mailadres", "emailadres", "e mailadres", "courriel",
              "adresse email", "adresse e mail", "adresse mail"),
    "phone": ("phone", "telephone", "phone number", "mobile", "cell", "tel", "telefoon",
              "telefoonnummer", "gsm", "gsm nummer", "mobiel", "numero de telephone",
              "portable"),
    "national_register": ("rijksregisternummer", "rijksregister", "rrn", "insz",
                          "insz nummer", "niss", "numero de registre national",
                          "registre national", "national register number",
                          "national number", "national id", "identiteitskaart",
                          "carte d identite", "eid", "ssn", "social security number"),
    "address": ("address", "street", "home address", "adres", "straat", "woonadres",
                "huisnummer", "adresse", "rue", "domicile", "numero de rue"),
}
_HEADER_INDEX = {normalise(w): kind for kind, words in _PII_WORDS.items() for w in words}
_MULTIWORD = sorted((w for w in _HEADER_INDEX if " " in w), key=len, reverse=True)

_LABELS = {
    "name": "a person's name",
    "email": "an e-mail address",
    "phone": "a phone number",
    "national_register": "a national register number (rijksregisternummer / NISS)",
    "address": "an address",
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# A run of digits with the separators people type in numbers; classified afterwards.
_NUMBER_RUN = re.compile(r"(?<![\w+])(\+|00)?\(?\d[\d .\-/()]{6,20}\d(?![\w])")
_DATE_LIKE = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{4}[./-]\d{1,2}[./-]\d{1,2}$")
# YY MM DD SSS CC, separators only where people write them (85.07.30-033.28).
_NRN_LAYOUT = re.compile(r"^\d{2}[.\s]?\d{2}[.\s]?\d{2}[.\s-]?\d{3}[.\s-]?\d{2}$")
_PREFILTER = r"@|\d[\d .\-/()]{6,}\d"


def header_kind(header: str) -> str | None:
    """The kind of direct identifier a header names (``None`` when it names none).

    >>> header_kind("Voornaam"), header_kind("Nom de la campagne"), header_kind("Kandidaat")
    ('name', None, None)
    """
    if is_known_header(header):
        return None
    norm = normalise(header)
    if norm in _HEADER_INDEX:
        return _HEADER_INDEX[norm]
    for phrase in _MULTIWORD:
        if f" {phrase} " in f" {norm} ":
            return _HEADER_INDEX[phrase]
    for word in norm.split():
        if word in _HEADER_INDEX:
            return _HEADER_INDEX[word]
    # Dutch compounds: "kandidaatnaam", "emailadres", "gsmnummer"
    for stem, kind in (("naam", "name"), ("email", "email"), ("telefoon", "phone"),
                       ("gsm", "phone"), ("rijksregister", "national_register"),
                       ("adres", "address")):
        if any(w.endswith(stem) or w.startswith(stem) for w in norm.split()):
            return kind
    return None


def valid_national_register(digits: str) -> bool:
    """True for 11 digits whose check number matches (pre-2000 or post-2000 births).

    >>> valid_national_register("85073003328"), valid_national_register("85073003329")
    (True, False)
    """
    if len(digits) != 11 or not digits.isdigit():
        return False
    base, check = int(digits[:9]), int(digits[9:])
    return check in (97 - base % 97, 97 - int("2" + digits[:9]) % 97)


def _plausible_birth(digits: str) -> bool:
    # Month 0 / day 0 mean "unknown"; bis numbers add 20 or 40 to the month.
    month, day = int(digits[2:4]) % 20, int(digits[4:6])
    return int(digits[2:4]) <= 52 and month <= 12 and day <= 31


def value_kind(text: str) -> str | None:
    """The kind of direct identifier found inside a cell's text, if any.

    >>> value_kind("belt me op 0470 12 34 56"), value_kind("K-2024-00017")
    ('phone', None)
    """
    if "@" in text and _EMAIL.search(text):
        return "email"
    for match in _NUMBER_RUN.finditer(text):
        raw = match.group(0).strip()
        if _DATE_LIKE.match(raw):
            continue
        digits = re.sub(r"\D", "", raw)
        if (len(digits) == 11 and _NRN_LAYOUT.match(raw) and _plausible_birth(digits)
                and valid_national_register(digits)):
            return "national_register"
        international = raw.startswith(("+", "00"))
        if international and 8 <= len(digits) <= 15:
            return "phone"
        # Belgian numbers: 0 + zone + subscriber = 9 digits (fixed) or 10 (mobile 04xx).
        if digits.startswith("0") and not digits.startswith("00") and len(digits) in (9, 10):
            if len(digits) == 10 and not digits.startswith("04"):
                continue
            return "phone"
    return None


def find_pii(frame: pd.DataFrame, skip_columns: set[str] | frozenset[str] = frozenset()
             ) -> list[Problem]:
    """Problems for identifying headers and identifying values (all rows, grouped by column).

    ``skip_columns`` are columns already known to hold dates or counts (never scanned for
    values: ``01/03/2024`` is a date, not a phone number).
    """
    problems: list[Problem] = []
    for column in frame.columns:
        kind = header_kind(str(column))
        if kind:
            problems.append(Problem(
                None, str(column), None, "pii_column",
                f"The column {column!r} looks like {_LABELS[kind]}. Remove this column: the "
                "service only accepts pseudonymous references (e.g. a candidate number), "
                "never names or contact details.", {"kind": kind}))
            continue
        if column in skip_columns:
            continue
        series = frame[column]
        codes, uniques = pd.factorize(series)
        values = pd.Series(np.asarray(uniques, dtype=object)).astype(str)
        suspects = values.str.contains(_PREFILTER, regex=True).to_numpy()
        flagged = np.zeros(len(values), dtype=bool)
        hits: dict[str, str] = {}
        for i in np.flatnonzero(suspects):
            kind = value_kind(values.iat[i])
            if kind:
                flagged[i], hits[values.iat[i]] = True, kind
        if not hits:
            continue
        rows = [int(r) for r in series.index[flagged[codes]]]
        kinds = sorted(set(hits.values()))
        label = " / ".join(_LABELS[k] for k in kinds)
        shown = ", ".join(map(str, rows[:20])) + (" …" if len(rows) > 20 else "")
        problems.append(Problem(
            rows[0], str(column), None, "pii_value",
            f"The column {column!r} contains {label} in rows {shown}. Remove it from these "
            "cells (write a pseudonymous reference or leave the cell empty).",
            {"kinds": kinds, "rows": rows[:200], "row_count": len(rows)}))
    return problems
