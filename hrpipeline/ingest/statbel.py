"""Reading population benchmarks: Statbel-style origin tables and hand-entered zone shares.

Two inputs (both validated completely before anything is stored; the service layer stores
the result in one transaction):

1. A Statbel-style table, pipe- or semicolon-separated text (Statbel open-data ``.txt``) or
   XLSX, one row per municipality x origin (x age x sex ...) with

   - a municipality code column (``CD_REFNIS``, ``CD_MUNTY_REFNIS``, ...: five digits),
   - municipality labels ``TX_DESCR_NL`` / ``TX_DESCR_FR`` (optional, used in reports),
   - one count column ``MS_...`` (e.g. ``MS_POPULATION``),
   - an origin column (``TX_ORIGIN_NL`` / ``TX_ORIGIN_FR`` / ``CD_ORIGIN``...) with Statbel's
     origin categories in Dutch, French or English, mapped by :func:`map_origin` onto
     ``belgian_origin`` / ``eu_background`` / ``non_eu_background``,
   - optionally an age column (``CD_AGE``: single years, ``100+`` or classes such as
     ``18-24``), aggregated to an age band (default 18-34, the recruitment age) that becomes
     the benchmark's ``population_scope``; other columns (sex, nationality) are summed over.

   Mapping of Statbel's origin classification (derived from the nationality history of the
   person and the parents) onto our groups:

   ==========================================================  =====================
   Belg van Belgische herkomst / Belge d'origine belge          belgian_origin
   Belg van niet-Belgische herkomst, EU / ... d'origine UE      eu_background
   Belg van niet-Belgische herkomst, niet-EU / ... hors UE      non_eu_background
   Niet-Belg, EU / Non-Belge, UE                                eu_background
   Niet-Belg, niet-EU / Non-Belge, hors UE                      non_eu_background
   ==========================================================  =====================

   The same labels say who is a Belgian national ("Belg van ..." / "Belge d'origine ..." vs
   "Niet-Belg" / "Non-Belge"), or a nationality column (``CD_NATLTY``, ``TX_NATLTY_NL`` ...)
   does; each row keeps that flag, so that the *eligible pool* (Belgian nationals: police
   candidates must be Belgian) can be summed next to all residents
   (:func:`aggregate_to_zones` with ``nationals_only``; scope suffix :data:`NATIONALS`).

   Categories without the EU / non-EU detail (``Belg van niet-Belgische herkomst`` alone),
   totals and anything else are errors: a benchmark silently missing a group would be wrong.

2. A zone-level share table entered by hand (CSV/XLSX): ``zone`` (code or police-zone
   number), ``group``, ``share`` (0..1, ``25%`` or ``0,25``) or ``count``, ``source``,
   ``reference_date`` and optional ``scope`` (``all``, ``18-34``, ``65+``). Shares of one zone,
   scope and date must add up to 1 (within :data:`SHARE_SUM_TOLERANCE`).

Every problem is reported at once as (row as seen in Excel - the header is row 1 -, column,
value, code, what was expected) through
:class:`hrpipeline.ingest.problems.ExtractInvalid` (a ``ValidationFailed``).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from hrpipeline.analysis.representation import BENCHMARK_GROUPS, FOREIGN_BACKGROUND
from hrpipeline.domain import BELGIAN_ORIGIN, EU_BACKGROUND, KNOWN_BACKGROUNDS, NON_EU_BACKGROUND
from hrpipeline.ingest.problems import ExtractInvalid, Problem, fail
from hrpipeline.ingest.read import read_table

DEFAULT_AGE_BAND = "18-34"
#: Published shares are rounded to 0.1 point, so three groups may miss 100% by a little.
SHARE_SUM_TOLERANCE = 0.02
OPEN_AGE = 200  # upper end of an open class such as "100+"

REFNIS_RE = re.compile(r"^\d{5}$")
_EXCEL_INT_RE = re.compile(r"^(\d+)\.0+$")


def raise_if_problems(problems: list[Problem], filename: str) -> None:
    """Refuse the file with every problem found (the extract ingest's error type)."""
    if problems:
        raise ExtractInvalid(
            problems,
            message=f"{filename}: {len(problems)} problem(s); nothing was stored. "
                    f"First: {problems[0].message}",
        )


# --- reading ---------------------------------------------------------------------------------
def _is_pipe_separated(data: bytes, filename: str) -> bool:
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        return False
    first = data.split(b"\n", 1)[0]
    # Statbel's open-data text files are pipe-separated; the shared reader sniffs ; , and tab.
    return first.count(b"|") > max(first.count(b";"), first.count(b","), first.count(b"\t"))


def _read_pipe(data: bytes) -> pd.DataFrame:
    text = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise fail("unreadable", "The file is neither UTF-8 nor Windows-1252 text.")
    try:
        frame = pd.read_csv(io.StringIO(text), sep="|", dtype=str, keep_default_na=False,
                            skip_blank_lines=False)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a problem of the file
        raise fail("malformed_csv", f"The pipe-separated file could not be read: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = range(2, len(frame) + 2)  # Excel row numbers: the header is row 1
    for col in frame.columns:
        frame[col] = frame[col].fillna("").astype(str).str.strip()
    blank = (frame == "").all(axis=1)
    return frame.loc[~blank]


def read_rows(data: bytes, filename: str) -> pd.DataFrame:
    """Cells as stripped strings, indexed by the row number seen in Excel (header = 1).

    Uses the shared :func:`hrpipeline.ingest.read.read_table` (CSV ; , tab and XLSX) and reads
    Statbel's pipe-separated text itself.
    """
    if _is_pipe_separated(data, filename):
        return _read_pipe(data)
    return read_table(data, filename)


# --- origin labels ---------------------------------------------------------------------------
def _norm(label: str) -> str:
    text = unicodedata.normalize("NFKD", label)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[\-\u2010-\u2015_/:;,.()\[\]'\u2018\u2019`]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _origin_vocabulary() -> dict[str, str]:
    vocab: dict[str, str] = {}
    for label in ("belg van belgische herkomst", "belgische herkomst", "belge d origine belge",
                  "origine belge", "belgian with belgian background", "belgian of belgian origin",
                  "belgian origin", BELGIAN_ORIGIN.replace("_", " ")):
        vocab[label] = BELGIAN_ORIGIN
    foreign_belgian = ("belg van niet belgische herkomst", "belg van vreemde herkomst",
                       "belg met buitenlandse herkomst", "belge d origine etrangere",
                       "belge d origine non belge", "belgian with foreign background",
                       "belgian of foreign origin")
    non_belgian = ("niet belg", "niet belgen", "vreemdeling", "non belge", "non belges",
                   "etranger", "etrangers", "non belgian", "foreigner")
    eu_detail = ("eu", "uit de eu", "eu herkomst", "ue", "de l ue", "origine ue", "union europeenne",
                 "europese unie")
    non_eu_detail = ("niet eu", "buiten de eu", "niet eu herkomst", "hors ue", "non ue",
                     "extra ue", "non eu", "outside the eu", "outside eu", "buiten eu")
    for prefix in foreign_belgian + non_belgian:
        for detail in eu_detail:
            vocab[f"{prefix} {detail}"] = EU_BACKGROUND
        for detail in non_eu_detail:
            vocab[f"{prefix} {detail}"] = NON_EU_BACKGROUND
    for label in ("belg van eu herkomst", "belge d origine ue", "eu background",
                  EU_BACKGROUND.replace("_", " ")):
        vocab[label] = EU_BACKGROUND
    for label in ("belg van niet eu herkomst", "belge d origine hors ue", "belge d origine non ue",
                  "belge d origine extra ue", "non eu background",
                  NON_EU_BACKGROUND.replace("_", " ")):
        vocab[label] = NON_EU_BACKGROUND
    return vocab


ORIGIN_VOCABULARY = _origin_vocabulary()


def _nationality_vocabulary() -> dict[str, bool]:
    """Statbel origin label -> Belgian national? (labels that say it; see :func:`is_national`)."""
    vocab: dict[str, bool] = {}
    non_belgian = ("niet belg", "niet belgen", "vreemdeling", "non belge", "non belges",
                   "etranger", "etrangers", "non belgian", "foreigner")
    for label in ORIGIN_VOCABULARY:
        if label.startswith(non_belgian):
            vocab[label] = False
        elif label.startswith(("belg", "belge", "belgian")):
            vocab[label] = True
    return vocab


NATIONALITY_VOCABULARY = _nationality_vocabulary()
#: Values of a nationality column (Statbel ``CD_NATLTY`` / ``TX_NATLTY_*``).
_NATIONAL_VALUES = {"bel", "be", "belg", "belgen", "belge", "belges", "belgian", "belgians",
                    "belgisch", "belgische", "belgische nationaliteit", "nationalite belge"}
_FOREIGN_VALUES = {"etr", "niet belg", "niet belgen", "non belge", "non belges", "non belgian",
                   "non belgians", "vreemdeling", "vreemdelingen", "etranger", "etrangers",
                   "foreigner", "foreigners", "andere nationaliteit", "autre nationalite"}
_UNSPLIT = {_norm(x) for x in ("Belg van niet-Belgische herkomst", "Belge d'origine étrangère",
                               "Belge d'origine non belge", "Niet-Belg", "Non-Belge",
                               "Belgian with foreign background", "Non-Belgian")}
ORIGIN_EXPECTED = ("a Statbel origin category with EU / non-EU detail, e.g. 'Belg van Belgische "
                   "herkomst', 'Belg van niet-Belgische herkomst - EU', 'Niet-Belg - niet-EU', "
                   "'Belge d'origine belge', 'Non-Belge - hors UE'")


def map_origin(label: str) -> str | None:
    """Our background group for a Statbel origin label (NL, FR or EN), or ``None``.

    >>> map_origin("Belge d'origine belge"), map_origin("Niet-Belg (niet-EU)")
    ('belgian_origin', 'non_eu_background')
    """
    return ORIGIN_VOCABULARY.get(_norm(label))


def is_national(label: str) -> bool | None:
    """Does a Statbel origin label describe Belgian nationals? ``None`` when it does not say.

    "Belg van Belgische herkomst" and "Belg van niet-Belgische herkomst ..." are Belgian
    nationals; "Niet-Belg ..." / "Non-Belge ..." are not; our own group names ("eu background")
    say nothing about nationality.

    >>> is_national("Belge d'origine étrangère - hors UE"), is_national("Niet-Belg, EU")
    (True, False)
    """
    return NATIONALITY_VOCABULARY.get(_norm(label))


def _parse_nationality_cell(value: str) -> bool | None:
    text = _norm(value)
    if text in _NATIONAL_VALUES:
        return True
    if text in _FOREIGN_VALUES:
        return False
    return None


# --- ages ------------------------------------------------------------------------------------
def parse_age_band(band: str) -> tuple[int, int]:
    """``"18-34"`` -> (18, 34); ``"65+"`` -> (65, OPEN_AGE). Raises ValueError otherwise."""
    text = band.strip().replace("\u2013", "-")
    if m := re.fullmatch(r"(\d{1,3})\s*-\s*(\d{1,3})", text):
        low, high = int(m[1]), int(m[2])
        if low <= high:
            return low, high
    if m := re.fullmatch(r"(\d{1,3})\s*\+", text):
        return int(m[1]), OPEN_AGE
    raise ValueError(f"not an age band: {band!r} (expected e.g. '18-34' or '65+')")


def _parse_age_cell(value: str) -> tuple[int, int] | None:
    text = value.strip()
    if m := _EXCEL_INT_RE.fullmatch(text):
        text = m[1]
    if text.isdigit():
        return int(text), int(text)
    try:
        return parse_age_band(text)
    except ValueError:
        return None


#: Suffix of a population scope restricted to Belgian nationals (the eligible pool): police
#: candidates must hold Belgian nationality (Jobpol admission conditions). ``"18-34:nat"`` =
#: Belgian nationals aged 18-34; ``"18-34"`` = every resident aged 18-34.
NATIONALS = ":nat"


def nationals_scope(scope: str) -> str:
    """``"18-34"`` -> ``"18-34:nat"`` (idempotent)."""
    return scope if scope.endswith(NATIONALS) else scope + NATIONALS


def is_nationals_scope(scope: str) -> bool:
    return scope.endswith(NATIONALS)


def scope_label(scope: str) -> str:
    """Reader-facing scope: ``"18-34"`` -> ``"18–34, all residents"``, ``"all:nat"`` ->
    ``"all ages, Belgian nationals"``."""
    nationals = is_nationals_scope(scope)
    ages = scope[: -len(NATIONALS)] if nationals else scope
    text = "all ages" if ages == "all" else ages.replace("-", "\u2013")
    return f"{text}, {'Belgian nationals' if nationals else 'all residents'}"


# --- Statbel tables --------------------------------------------------------------------------
@dataclass
class StatbelTable:
    """Counts per municipality x group inside the population scope."""

    counts: pd.DataFrame  # refnis, name_nl, name_fr, group, national, count
    population_scope: str  # the age band of every resident ("18-34" or "all")
    rows_read: int
    rows_in_scope: int
    columns: dict[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def has_nationality(self) -> bool:
        """Every row says whether it counts Belgian nationals (origin label or column)."""
        return bool(len(self.counts)) and bool(self.counts["national"].notna().all())


_REFNIS_COLUMNS = ("CD_REFNIS", "CD_MUNTY_REFNIS", "REFNIS", "CD_MUNTY", "NIS", "NIS_CODE",
                   "NISCODE", "CD_REFNIS_MUNTY")


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    upper = {c.upper(): c for c in columns}
    for name in names:
        if name in upper:
            return upper[name]
    return None


def _label_column(columns: list[str], words: tuple[str, ...]) -> str | None:
    """Prefer TX_*_NL, then TX_*_FR, then any TX_/CD_ column naming one of ``words``."""
    hits = [c for c in columns if any(w in c.upper() for w in words)]
    for suffix in ("_NL", "_FR"):
        for c in hits:
            if c.upper().startswith("TX_") and c.upper().endswith(suffix):
                return c
    return hits[0] if hits else None


def _municipality_name_columns(columns: list[str]) -> tuple[str | None, str | None]:
    def pick(lang: str) -> str | None:
        exact = _find_column(columns, (f"TX_DESCR_{lang}", f"TX_MUNTY_DESCR_{lang}"))
        return exact

    return pick("NL"), pick("FR")


def _parse_count(value: str) -> int | None:
    text = value.replace("\u00a0", "").replace(" ", "")
    if m := _EXCEL_INT_RE.fullmatch(text):
        text = m[1]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return None


def _parse_refnis(value: str) -> str | None:
    text = value.strip()
    if m := _EXCEL_INT_RE.fullmatch(text):
        text = m[1]
    return text if REFNIS_RE.fullmatch(text) else None


def parse_statbel(data: bytes, filename: str, *,
                  age_band: str | None = DEFAULT_AGE_BAND) -> StatbelTable:
    """Validate a Statbel-style origin table and sum it per municipality x group.

    ``age_band`` (e.g. ``"18-34"``) keeps only those ages when the file has an age column; with
    ``None``, or without an age column, the scope is ``"all"``. Raises ValidationFailed with
    every problem found.
    """
    frame = read_rows(data, filename)
    columns = list(frame.columns)
    problems: list[Problem] = []
    band = parse_age_band(age_band) if age_band else None

    refnis_col = _find_column(columns, _REFNIS_COLUMNS)
    if refnis_col is None:
        problems.append(Problem(1, None, None, "missing_column",
                                "expected a municipality code column (CD_REFNIS or "
                                "CD_MUNTY_REFNIS) with five-digit REFNIS codes"))
    ms_cols = [c for c in columns if c.upper().startswith("MS_")]
    count_col: str | None = None
    if len(ms_cols) == 1:
        count_col = ms_cols[0]
    elif ms_cols:
        count_col = _find_column(ms_cols, ("MS_POPULATION", "MS_POP", "MS_POPULATION_TOTAL"))
        if count_col is None:
            problems.append(Problem(1, ", ".join(ms_cols), None, "ambiguous_column",
                                    "expected one count column MS_... (e.g. MS_POPULATION)"))
    else:
        problems.append(Problem(1, None, None, "missing_column",
                                "expected a count column MS_... (e.g. MS_POPULATION)"))
    origin_col = _label_column(columns, ("ORIGIN", "HERKOMST"))
    if origin_col is None:
        problems.append(Problem(1, None, None, "missing_column",
                                "expected an origin column (e.g. TX_ORIGIN_NL, TX_ORIGIN_FR)"))
    age_col = next((c for c in columns
                    if re.search(r"(^|_)(AGE|LEEFTIJD|AGE_CLASS|AGE_GROUP)(_|$)", c.upper())
                    and not c.upper().startswith("TX_")), None)
    age_col = age_col or next((c for c in columns
                               if re.search(r"(^|_)(AGE|LEEFTIJD)(_|$)", c.upper())), None)
    name_nl_col, name_fr_col = _municipality_name_columns(columns)
    nationality_col = next((c for c in columns if c != origin_col and re.search(
        r"NATLTY|NATIONALIT", c.upper())), None)
    if problems:
        raise_if_problems(problems, filename)
    if frame.empty:
        raise_if_problems([Problem(None, None, None, "empty", "the file has no data rows")],
                          filename)
    assert refnis_col and count_col and origin_col

    # Cells repeat massively (a national file has ~600k rows but ~600 codes, 5 origins, ~100
    # ages), so each distinct value is validated once and mapped back.
    def per_value(column: str, parse) -> pd.Series:
        distinct = frame[column].unique()
        return frame[column].map(dict(zip(distinct, (parse(v) for v in distinct), strict=True)))

    refnis = per_value(refnis_col, _parse_refnis)
    count = per_value(count_col, _parse_count)
    group = per_value(origin_col, map_origin)
    unsplit = per_value(origin_col, lambda v: _norm(v) in _UNSPLIT)
    ages = per_value(age_col, _parse_age_cell) if age_col else None
    if nationality_col:
        national = per_value(nationality_col, _parse_nationality_cell)
        bad_nationality = national.isna()
    else:
        national = per_value(origin_col, is_national)
        bad_nationality = pd.Series(False, index=frame.index)
    in_scope = pd.Series(True, index=frame.index)
    straddles = pd.Series(False, index=frame.index)
    if ages is not None and band is not None:
        lows = ages.map(lambda a: a[0] if a else -1)
        highs = ages.map(lambda a: a[1] if a else -1)
        in_scope = (lows >= band[0]) & (highs <= band[1]) & ages.notna()
        outside = (highs < band[0]) | (lows > band[1])
        straddles = ages.notna() & ~in_scope & ~outside

    checks = [
        (refnis.isna(), refnis_col, "bad_refnis",
         "expected a five-digit REFNIS municipality code, e.g. 44021"),
        (count.isna(), count_col, "not_a_count", "expected a whole number of persons"),
        (count.notna() & (count.fillna(0) < 0), count_col, "negative_count",
         "expected a count of 0 or more"),
        (group.isna() & unsplit, origin_col, "origin_not_split",
         "expected the EU / non-EU detail of this origin category (our groups split EU and "
         "non-EU background)"),
        (group.isna() & ~unsplit, origin_col, "unknown_origin", f"expected {ORIGIN_EXPECTED}"),
    ]
    if nationality_col:
        checks.append((bad_nationality, nationality_col, "bad_nationality",
                       "expected Belgian or non-Belgian (e.g. BEL / ETR, Belgen / niet-Belgen, "
                       "Belges / non-Belges)"))
    if age_col and ages is not None:
        checks += [
            (ages.isna(), age_col, "bad_age",
             "expected an age in years (e.g. 27), '100+' or a class such as '18-24'"),
            (straddles, age_col, "age_class_straddles_band",
             f"expected age classes inside or outside the band {age_band}, not across its edge"),
        ]
    found: list[tuple[int, int, Problem]] = []
    for order, (mask, column, code, message) in enumerate(checks):
        for excel_row, value in frame.loc[mask.astype(bool), column].items():
            found.append((int(excel_row), order, Problem(int(excel_row), column, value, code,
                                                         message)))
    problems += [p for _, _, p in sorted(found, key=lambda t: (t[0], t[1]))]
    raise_if_problems(problems, filename)
    keep = in_scope.astype(bool)
    counts = pd.DataFrame({
        "refnis": refnis[keep],
        "name_nl": frame.loc[keep, name_nl_col] if name_nl_col else "",
        "name_fr": frame.loc[keep, name_fr_col] if name_fr_col else "",
        "group": group[keep],
        "national": national[keep].astype(object),
        "count": count[keep].astype("int64"),
    })
    rows_in_scope = int(keep.sum())
    raise_if_problems(problems, filename)

    scope = "all"
    notes: list[str] = []
    if age_col is not None and band is not None:
        scope = age_band.replace("\u2013", "-").replace(" ", "")  # type: ignore[union-attr]
    elif age_band and age_col is None:
        notes.append(f"no age column: the benchmark covers all ages, not {age_band}")
    if counts["national"].isna().any():
        notes.append("the origin categories do not say who is a Belgian national: no "
                     "eligible-pool benchmark (Belgian nationals) can be formed from this file")
    names = counts.groupby("refnis")[["name_nl", "name_fr"]].first()
    counts["national"] = counts["national"].map({True: "yes", False: "no"}).fillna("unknown")
    summed = counts.groupby(["refnis", "group", "national"], as_index=False)["count"].sum()
    summed["national"] = summed["national"].map({"yes": True, "no": False}).astype(object)
    summed = summed.join(names, on="refnis")[["refnis", "name_nl", "name_fr", "group",
                                              "national", "count"]]
    used = {"refnis": refnis_col, "count": count_col, "origin": origin_col}
    if age_col:
        used["age"] = age_col
    if nationality_col:
        used["nationality"] = nationality_col
    return StatbelTable(summed, scope, len(frame), rows_in_scope, used, notes)


@dataclass
class ZoneAggregation:
    """Statbel counts summed into police zones through the municipality mapping."""

    zone_counts: pd.DataFrame  # zone_code, group, count, share
    municipalities: dict[str, list[str]]  # zone_code -> REFNIS codes found in the file
    missing: dict[str, list[str]]  # zone_code -> mapped REFNIS codes absent from the file
    unmatched: list[dict[str, str]]  # municipalities of the file in no zone


def aggregate_to_zones(table: StatbelTable, mapping: Mapping[str, str], *,
                       nationals_only: bool = False) -> ZoneAggregation:
    """Sum municipality counts per zone; share = group count / zone total (three groups).

    ``mapping`` is REFNIS -> zone code. Example: Schaarbeek 100 + Evere 50 non-EU of 400 + 200
    residents gives PZ Brussel-Noord a non-EU share of 150 / 600 = 0.25. With
    ``nationals_only`` only Belgian nationals are counted (the eligible pool; the table must
    say who is one, :attr:`StatbelTable.has_nationality`).
    """
    counts = table.counts
    if nationals_only:
        if not table.has_nationality:
            raise ValueError("the table does not say who is a Belgian national")
        counts = counts[counts["national"].astype(bool)]
    counts = counts.groupby(["refnis", "name_nl", "name_fr", "group"], as_index=False)[
        "count"].sum()
    matched = counts[counts["refnis"].isin(mapping.keys())].copy()
    matched["zone_code"] = matched["refnis"].map(mapping)
    zone_counts = matched.groupby(["zone_code", "group"], as_index=False)["count"].sum()
    # Every zone gets all three groups, a group absent from the file counting as 0 residents.
    full = pd.MultiIndex.from_product([sorted(zone_counts["zone_code"].unique()),
                                       list(KNOWN_BACKGROUNDS)], names=["zone_code", "group"])
    zone_counts = (zone_counts.set_index(["zone_code", "group"]).reindex(full, fill_value=0)
                   .reset_index())
    totals = zone_counts.groupby("zone_code")["count"].transform("sum")
    zone_counts["share"] = zone_counts["count"] / totals.where(totals > 0)
    found = {z: sorted(g["refnis"].unique()) for z, g in matched.groupby("zone_code")}
    missing: dict[str, list[str]] = {}
    for refnis, zone in mapping.items():
        if zone in found and refnis not in found[zone]:
            missing.setdefault(zone, []).append(refnis)
    unmatched_rows = counts[~counts["refnis"].isin(mapping.keys())]
    unmatched = [
        {"refnis": r, "name_nl": n_nl, "name_fr": n_fr}
        for r, n_nl, n_fr in unmatched_rows[["refnis", "name_nl", "name_fr"]]
        .drop_duplicates("refnis").itertuples(index=False)
    ]
    return ZoneAggregation(zone_counts, found, missing, unmatched)


# --- hand-entered zone shares ----------------------------------------------------------------
@dataclass(frozen=True)
class ZoneShareEntry:
    zone_code: str
    group: str
    share: float
    count: int | None
    source: str
    reference_date: dt.date
    population_scope: str
    row: int


_HAND_COLUMNS = {
    "zone": ("zone", "zone_code", "police_zone", "zone_number"),
    "group": ("group", "migration_background", "background"),
    "share": ("share", "aandeel", "part"),
    "count": ("count", "aantal", "nombre", "persons"),
    "source": ("source", "bron"),
    "reference_date": ("reference_date", "date", "ref_date", "referentiedatum"),
    "scope": ("scope", "population_scope", "age_band"),
}


def parse_date(value: str) -> dt.date | None:
    """ISO ``2024-01-01`` (also with a time, as Excel gives) or Belgian ``01/01/2024``."""
    text = value.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?", text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    try:
        return dt.date(y, mo, d)
    except ValueError:
        return None


def _parse_share(value: str) -> float | None:
    text = value.replace(" ", "").replace(",", ".")
    percent = text.endswith("%")
    text = text.rstrip("%")
    try:
        number = float(text)
    except ValueError:
        return None
    if math.isnan(number):
        return None
    return number / 100.0 if percent else number


_NATIONALS_WORDS = re.compile(
    r"\s*(?:,|;)?\s*(?::nat|belgian nationals?|nationals?|belgen|belges|belgische "
    r"nationaliteit|nationalite belge)\s*$")


def _canonical_scope(value: str) -> str | None:
    """``"18-34"``, ``"all"``; with a nationals suffix (``"18-34:nat"``, ``"18-34 Belgen"``,
    ``"all, Belgian nationals"``) the scope of Belgian nationals only."""
    text = _norm(value.replace(":nat", " nationals")) if value.strip() else ""
    text = text.replace(" ", "-") if re.fullmatch(r"\d{1,3} \d{1,3}", text) else text
    nationals = bool(text) and bool(_NATIONALS_WORDS.search(text))
    if nationals:
        text = _NATIONALS_WORDS.sub("", text).strip()
    if text in ("", "all", "alle", "tous", "all ages", "toutes", "alle leeftijden"):
        base = "all"
    else:
        try:
            low, high = parse_age_band(text.replace(" - ", "-").replace(" ", "-"))
        except ValueError:
            return None
        base = f"{low}+" if high == OPEN_AGE else f"{low}-{high}"
    return nationals_scope(base) if nationals else base


def parse_zone_shares(
    data: bytes,
    filename: str,
    *,
    zone_lookup: Mapping[str, str],
    default_source: str | None = None,
    default_reference_date: dt.date | None = None,
) -> list[ZoneShareEntry]:
    """Validate a hand-entered zone share table; raise ValidationFailed with every problem.

    ``zone_lookup`` maps accepted zone identifiers (upper-cased code, police-zone number) to
    zone codes. Within one zone x scope x date either every row has a count (shares are then
    count / total) or every row has a share, which must add up to 1 +- SHARE_SUM_TOLERANCE.
    ``foreign_background`` (EU + non-EU together) may replace the two detailed groups.
    """
    frame = read_rows(data, filename)
    lower = {c.lower(): c for c in frame.columns}
    col: dict[str, str | None] = {
        key: next((lower[a] for a in aliases if a in lower), None)
        for key, aliases in _HAND_COLUMNS.items()
    }
    problems: list[Problem] = []
    for key in ("zone", "group"):
        if col[key] is None:
            problems.append(Problem(1, None, None, "missing_column",
                                    f"expected a column '{key}'"))
    if col["share"] is None and col["count"] is None:
        problems.append(Problem(1, None, None, "missing_column",
                                "expected a column 'share' or 'count'"))
    if col["source"] is None and not default_source:
        problems.append(Problem(1, None, None, "missing_column",
                                "expected a column 'source' (or give the source on import)"))
    if col["reference_date"] is None and default_reference_date is None:
        problems.append(Problem(1, None, None, "missing_column",
                                "expected a column 'reference_date' (or give it on import)"))
    raise_if_problems(problems, filename)
    if frame.empty:
        raise_if_problems([Problem(None, None, None, "empty", "the file has no data rows")],
                          filename)
    groups_allowed = tuple(BENCHMARK_GROUPS)

    parsed: list[dict] = []
    for excel_row, row in zip(frame.index, frame.to_dict("records"), strict=True):
        excel_row = int(excel_row)
        if not any(str(v) for v in row.values()):
            continue
        entry: dict = {"row": excel_row}
        before = len(problems)
        zone_raw = row[col["zone"]]
        entry["zone_code"] = zone_lookup.get(zone_raw.upper())
        if entry["zone_code"] is None:
            problems.append(Problem(excel_row, col["zone"], zone_raw, "unknown_zone",
                                    "expected a zone code or police-zone number, one of "
                                    + ", ".join(sorted(set(zone_lookup.values())))))
        group_raw = row[col["group"]]
        group = group_raw.strip().lower()
        if group not in groups_allowed:
            group = map_origin(group_raw) or group
        entry["group"] = group
        if group not in groups_allowed:
            problems.append(Problem(excel_row, col["group"], group_raw, "unknown_group",
                                    "expected one of " + ", ".join(groups_allowed)))
        share_raw = row[col["share"]] if col["share"] else ""
        count_raw = row[col["count"]] if col["count"] else ""
        entry["share"] = entry["count"] = None
        if share_raw:
            share = _parse_share(share_raw)
            if share is None:
                problems.append(Problem(excel_row, col["share"], share_raw, "not_a_share",
                                        "expected a share such as 0.25, 0,25 or 25%"))
            elif not 0.0 <= share <= 1.0:
                problems.append(Problem(excel_row, col["share"], share_raw, "share_out_of_range",
                                        "expected a share between 0 and 1 (or 0% to 100%)"))
            else:
                entry["share"] = share
        if count_raw:
            count = _parse_count(count_raw)
            if count is None:
                problems.append(Problem(excel_row, col["count"], count_raw, "not_a_count",
                                        "expected a whole number of persons"))
            elif count < 0:
                problems.append(Problem(excel_row, col["count"], count_raw, "negative_count",
                                        "expected a count of 0 or more"))
            else:
                entry["count"] = count
        if not share_raw and not count_raw:
            problems.append(Problem(excel_row, col["share"] or col["count"], "", "missing_value",
                                    "expected a share or a count"))
        source = (row[col["source"]] if col["source"] else "") or (default_source or "")
        if not source:
            problems.append(Problem(excel_row, col["source"], "", "missing_source",
                                    "expected the source of the figure (publication, URL)"))
        entry["source"] = source
        date_raw = row[col["reference_date"]] if col["reference_date"] else ""
        ref = parse_date(date_raw) if date_raw else default_reference_date
        if ref is None:
            problems.append(Problem(excel_row, col["reference_date"], date_raw, "bad_date",
                                    "expected a reference date such as 2024-01-01 or 01/01/2024"))
        entry["reference_date"] = ref
        scope_raw = row[col["scope"]] if col["scope"] else ""
        scope = _canonical_scope(scope_raw)
        if scope is None:
            problems.append(Problem(excel_row, col["scope"], scope_raw, "bad_scope",
                                    "expected 'all' or an age band such as 18-34 or 65+, "
                                    "optionally followed by ':nat' (Belgian nationals only)"))
        entry["scope"] = scope
        entry["ok"] = len(problems) == before
        parsed.append(entry)

    # Set-level checks run over the valid rows too, so that one upload reports everything.
    entries: list[ZoneShareEntry] = []
    sets: dict[tuple, list[dict]] = {}
    for e in parsed:
        if e["ok"]:
            sets.setdefault((e["zone_code"], e["scope"], e["reference_date"]), []).append(e)
    for (zone, scope, ref), rows in sets.items():
        first = rows[0]["row"]
        where = f"zone {zone}, scope {scope}, {ref.isoformat()}"
        seen: dict[str, int] = {}
        for e in rows:
            if e["group"] in seen:
                problems.append(Problem(e["row"], col["group"], e["group"], "duplicate_group",
                                        f"group already given on row {seen[e['group']]} for "
                                        f"{where}"))
            seen.setdefault(e["group"], e["row"])
        if FOREIGN_BACKGROUND in seen and (EU_BACKGROUND in seen or NON_EU_BACKGROUND in seen):
            problems.append(Problem(seen[FOREIGN_BACKGROUND], col["group"], FOREIGN_BACKGROUND,
                                    "overlapping_groups",
                                    f"{FOREIGN_BACKGROUND} is EU + non-EU together: give either "
                                    f"it or the two detailed groups for {where}"))
        with_count = [e for e in rows if e["count"] is not None]
        if len(with_count) == len(rows):
            total = sum(e["count"] for e in rows)
            if total == 0:
                problems.append(Problem(first, col["count"], "0", "zero_total",
                                        f"expected a population above 0 for {where}"))
                continue
            for e in rows:
                computed = e["count"] / total
                if e["share"] is not None and abs(e["share"] - computed) > SHARE_SUM_TOLERANCE:
                    problems.append(Problem(e["row"], col["share"], str(e["share"]),
                                            "share_count_mismatch",
                                            f"share disagrees with count / total = "
                                            f"{computed:.3f} for {where}"))
                e["share"] = computed
        elif with_count and any(e["share"] is None for e in rows):
            problems.append(Problem(first, col["count"], None, "mixed_share_count",
                                    f"expected either a count on every row or a share on every "
                                    f"row for {where}"))
            continue
        else:
            total_share = sum(e["share"] for e in rows)
            if abs(total_share - 1.0) > SHARE_SUM_TOLERANCE:
                problems.append(Problem(first, col["share"], f"{total_share:.3f}",
                                        "shares_do_not_sum_to_one",
                                        f"expected the shares of {where} to add up to 1 "
                                        f"(100%), they add up to {total_share:.3f}"))
        for e in rows:
            entries.append(ZoneShareEntry(zone, e["group"], float(e["share"]), e["count"],
                                          e["source"], ref, scope, e["row"]))
    raise_if_problems(problems, filename)
    return entries


__all__ = [
    "DEFAULT_AGE_BAND",
    "ORIGIN_VOCABULARY",
    "Problem",
    "StatbelTable",
    "ZoneAggregation",
    "ZoneShareEntry",
    "NATIONALS",
    "aggregate_to_zones",
    "is_national",
    "is_nationals_scope",
    "map_origin",
    "nationals_scope",
    "parse_age_band",
    "parse_date",
    "parse_statbel",
    "parse_zone_shares",
    "raise_if_problems",
    "read_rows",
    "scope_label",
]
