"""Refuse direct identifiers: the service stores pseudonymous references only.

Two checks, both reported with the column and the rows so the user knows what to remove:

* headers that name a direct identifier (name, e-mail, phone, Belgian national register
  number — rijksregisternummer / numéro de registre national / INSZ / NISS — or an address),
  in Dutch, French or English;
* values in any text column (free-text exit comments included) that match an e-mail address
  (also written ``jan[at]politie[dot]be`` or ``jan (at) x dot be``), a phone number (Belgian
  or international), a national register number **with a valid check digit**, a bank account
  number (IBAN, **with a valid ISO 13616 mod-97 check**: ``BE68 5390 0754 7034``) or a street
  address (a Dutch street word with a house number, ``Kerkstraat 12``; a French one before
  a name and a number, ``rue de la Loi 16``, ``Avenue Louise 54``).

The address and obfuscated e-mail patterns are deliberately narrow (a house number that is
followed by a unit such as ``jaar``/``keer``/``ans`` is not one; a bare `` at `` needs a
spelled-out ``dot``/``punt``/``point``) so that ordinary exit comments ("3 jaar op de
straat", "te hoge werkdruk in 2023") are not refused.

IBAN check (ISO 13616-1 / ISO 7064 MOD 97-10): move the first four characters to the end,
replace letters by 10..35, and the number mod 97 must be 1. Example from the European
Commission / ECBS IBAN registry: ``BE68 5390 0754 7034`` (valid).

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
    "iban": "a bank account number (IBAN)",
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# A run of digits with the separators people type in numbers; classified afterwards.
_NUMBER_RUN = re.compile(r"(?<![\w+])(\+|00)?\(?\d[\d .\-/()]{6,20}\d(?![\w])")
_DATE_LIKE = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{4}[./-]\d{1,2}[./-]\d{1,2}$")
# YY MM DD SSS CC, separators only where people write them (85.07.30-033.28).
_NRN_LAYOUT = re.compile(r"^\d{2}[.\s]?\d{2}[.\s]?\d{2}[.\s-]?\d{3}[.\s-]?\d{2}$")
# IBAN: country, check digits, 11..30 letters/digits, in groups of four or not.
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30})", re.I)
#: IBAN lengths (SWIFT IBAN registry) of Belgium, its neighbours, the EU/SEPA countries and
#: the most frequent countries of origin: a match is cut to its country's length before the
#: check, so a word that follows the number ("BE68 5390 0754 7034 aub") does not hide it.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
    "MA": 28, "TN": 24, "UA": 29, "AL": 28, "XK": 20, "RS": 22, "BA": 20, "MK": 19,
}
# Obfuscated e-mail: "jan[at]politie[dot]be", "jan (at) x dot be", "jan at x punt be".
_AT_BRACKETED = r"\s*[\[({<]\s*(?:at|@|apenstaartje|arobase)\s*[\])}>]\s*"
_AT_BARE = r"\s+(?:at|apenstaartje|arobase)\s+"
_DOT_WORD = r"(?:\s*[\[({<]\s*(?:dot|punt|point|\.)\s*[\])}>]\s*|\s+(?:dot|punt|point)\s+)"
_DOT = rf"(?:{_DOT_WORD}|\.)"
_LABEL = r"[a-z0-9][a-z0-9\-]*"
_OBFUSCATED_EMAIL = re.compile(
    rf"[a-z0-9._%+\-]+(?:{_AT_BRACKETED}{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}[a-z]{{2,24}}"
    rf"|{_AT_BARE}{_LABEL}(?:{_DOT}{_LABEL})*{_DOT_WORD}[a-z]{{2,24}})\b", re.I)
# Street addresses. A house number: 1..4 digits, a letter, an optional box ("bus 3", "bte 2"),
# and NOT followed by a unit ("3 jaar", "2 keer", "5 ans"): that is a duration, not a number.
_UNITS = (r"jaar|jaren|jr|maand|maanden|week|weken|dag|dagen|uur|uren|keer|maal|km|m|"
          r"procent|euro|eur|an|ans|année|années|mois|semaine|semaines|jour|jours|heure|"
          r"heures|fois|year|years|month|months|day|days|hour|hours|times|x|%|€|h")
_HOUSE_NUMBER = (rf"\d{{1,4}}(?!\d)(?:[a-z]\b)?(?!\s*(?:{_UNITS})(?![a-zà-ÿ]))(?![.,:/-]\d)"
                 r"(?:\s*(?:bus|bte|boîte|b)\.?\s*\d{1,4})?")
_NL_STREET = (r"straat|laan|steenweg|plein|lei|dreef|kaai|kade|markt|singel|dijk|vest|"
              r"gracht|weg|baan|pad|hof|wegel|berg|dries|vliet|meers")
_NL_STREET_CAPITALISED = "|".join(w.capitalize() for w in _NL_STREET.split("|"))
# A compound ("Kerkstraat", "Sint-Pietersplein") in any case, or a capitalised street word
# on its own ("Grote Markt 1").
_NL_ADDRESS = re.compile(
    rf"(?:\b[a-zà-ÿ'][a-zà-ÿ'\-]+(?:{_NL_STREET})|(?-i:\b(?:{_NL_STREET_CAPITALISED})))"
    rf"\s+{_HOUSE_NUMBER}", re.I)
_FR_STREET = (r"rue|avenue|av\.|boulevard|bd|chaussée|chaussee|place|chemin|quai|square|"
              r"allée|allee|impasse|drève|dreve|route|clos|parvis|galerie")
# "rue de la Loi 16", "Avenue Louise 54", "chaussée de Waterloo 1250": the name starts with a
# capital (after an optional de/du/des/de la/d'/l'), then up to three more words.
_FR_ADDRESS = re.compile(
    rf"\b(?:{_FR_STREET})\s+(?:(?:de\s+la|de\s+l'|du|des|de|d'|l')\s*)?"
    rf"(?-i:[A-ZÀ-Ý])[\w'\-]*(?:\s+[\w'\-]+){{0,3}}?,?\s+{_HOUSE_NUMBER}", re.I)
_ADDRESS_WORDS = rf"{_NL_STREET}|{_FR_STREET}"
_PREFILTER = (r"(?i)@|\d[\d .\-/()]{6,}\d|[\[(]\s*(?:at|@|apenstaartje|arobase)\s*[\])]"
              rf"|\s(?:at|apenstaartje|arobase)\s|(?:{_ADDRESS_WORDS})\b.*\d")


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


def valid_iban(text: str) -> bool:
    """ISO 13616 check: 15..34 letters/digits whose rearranged number mod 97 is 1.

    >>> valid_iban("BE68 5390 0754 7034"), valid_iban("BE68 5390 0754 7035")
    (True, False)
    """
    compact = re.sub(r"\s", "", text).upper()
    if not (15 <= len(compact) <= 34 and compact.isalnum() and compact[:2].isalpha()
            and compact[2:4].isdigit()):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


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
    if _OBFUSCATED_EMAIL.search(text):
        return "email"
    for match in _IBAN.finditer(text):
        compact = re.sub(r"\s", "", match.group(1)).upper()
        length = IBAN_LENGTHS.get(compact[:2])
        if length is not None and len(compact) < length:
            continue
        if valid_iban(compact[:length] if length else compact):
            return "iban"
    if _NL_ADDRESS.search(text) or _FR_ADDRESS.search(text):
        return "address"
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
