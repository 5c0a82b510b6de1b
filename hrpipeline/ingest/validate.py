"""Validate a read extract and turn it into canonical columns ready for storage.

The marshmallow schemas below declare each kind's fields (the API reuses them for single
records); the bulk checks are vectorised with pandas over the *distinct* values of each column,
so a 1,000,000-row file is checked in seconds (marshmallow is never run per row on a file).

Every problem is a :class:`~hrpipeline.ingest.problems.Problem` with the Excel row number,
a stable ``code`` and a plain-English message saying what was expected. All problems are
collected before anything is refused, so the user fixes the file in one go.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from marshmallow import Schema, fields
from marshmallow.validate import Length, OneOf, Range

from hrpipeline.disclosure.values import SOURCE_MARKER
from hrpipeline.domain import (
    AGE_BANDS,
    BACKGROUNDS,
    DEFAULT_STAGES,
    EXIT_REASONS,
    EXIT_TYPES,
    EXTRACT_KINDS,
    GENDERS,
    OUTCOMES,
    RANKS,
    UNKNOWN,
)
from hrpipeline.ingest.columns import (
    KIND_COLUMNS,
    VALUE_FIELDS,
    accepted_headers,
    canonical_value,
    match_columns,
    normalise,
)
from hrpipeline.ingest.pii import find_pii
from hrpipeline.ingest.problems import ExtractInvalid, Problem

#: Problems kept in memory for the CSV report; the total is always counted exactly.
MAX_KEPT = 10_000
MAX_TEXT = 64  # refs, campaign labels (the columns are String(64))
MAX_COMMENT = 4000  # free-text exit-interview comments (a Text column)
MIN_YEAR, MAX_YEAR = 1980, 2100
#: Counts above this are refused (the count columns are 32-bit integers; the whole Belgian
#: integrated police counts fewer than 50,000 staff, so a larger count is a typing error).
MAX_COUNT = 1_000_000
#: Earliest plausible dates: hires and exits (careers of serving and recently retired
#: officers), and selection stages (campaign years start at MIN_YEAR).
MIN_DATE = {"hire_date": dt.date(1950, 1, 1), "exit_date": dt.date(1950, 1, 1),
            "date": dt.date(1950, 1, 1), "stage_date": dt.date(MIN_YEAR, 1, 1)}
#: Campaigns in one upload: a zone runs a few campaigns a year; each stored campaign becomes
#: an entry of every funnel page's catalogue, so a file with thousands is refused.
MAX_CAMPAIGNS_PER_UPLOAD = 20


# --- schemas (field declarations shared with the API) --------------------------------------
def _cat(name: str, required: bool = False, **kw) -> fields.String:
    canonical = VALUE_FIELDS[name][0]
    return fields.String(required=required, allow_none=not required,
                         validate=OneOf(canonical), metadata={"category": name}, **kw)


def _ref(required: bool = True) -> fields.String:
    return fields.String(required=required, validate=Length(1, MAX_TEXT),
                         metadata={"text": True})


class FunnelRecordSchema(Schema):
    """One candidate at one stage of one campaign."""

    candidate_ref = _ref()
    campaign = _ref()
    campaign_year = fields.Integer(allow_none=True, validate=Range(MIN_YEAR, MAX_YEAR))
    # Stages are per zone (zone_stages or DEFAULT_STAGES): checked against the zone's list.
    stage = fields.String(required=True, metadata={"category": "stage"})
    outcome = _cat("outcome", required=True)
    stage_date = fields.Date(allow_none=True)
    migration_background = _cat("migration_background", required=True)
    gender = _cat("gender")
    age_band = _cat("age_band")


class WorkforceRecordSchema(Schema):
    """One officer: hire and, if any, exit with the exit interview's category and text."""

    officer_ref = _ref()
    migration_background = _cat("migration_background", required=True)
    gender = _cat("gender")
    rank = _cat("rank")
    hire_date = fields.Date(required=True)
    exit_date = fields.Date(allow_none=True)
    exit_type = _cat("exit_type")
    exit_reason = _cat("exit_reason")
    exit_comment = fields.String(allow_none=True)


class FunnelCountSchema(Schema):
    """One row of an aggregate funnel table: counts per outcome for a stage and group."""

    campaign = _ref()
    campaign_year = fields.Integer(allow_none=True, validate=Range(MIN_YEAR, MAX_YEAR))
    stage = fields.String(required=True, metadata={"category": "stage"})
    migration_background = _cat("migration_background", required=True)
    passed = fields.Integer(allow_none=True, validate=Range(0), metadata={"count": True})
    failed = fields.Integer(allow_none=True, validate=Range(0), metadata={"count": True})
    withdrew = fields.Integer(allow_none=True, validate=Range(0), metadata={"count": True})
    pending = fields.Integer(allow_none=True, validate=Range(0), metadata={"count": True})


class HeadcountSchema(Schema):
    """One row of an aggregate headcount table."""

    date = fields.Date(required=True)
    migration_background = _cat("migration_background", required=True)
    rank = _cat("rank")
    headcount = fields.Integer(required=True, allow_none=True, validate=Range(0),
                               metadata={"count": True})


SCHEMAS: dict[str, type[Schema]] = {
    "funnel": FunnelRecordSchema,
    "workforce": WorkforceRecordSchema,
    "counts_funnel": FunnelCountSchema,
    "counts_headcount": HeadcountSchema,
}
assert set(OUTCOMES) and set(BACKGROUNDS) and set(GENDERS) and set(AGE_BANDS)  # vocabulary used
assert set(RANKS) and set(EXIT_TYPES) and set(EXIT_REASONS)


def required_fields(layout: str) -> list[str]:
    return [name for name, f in SCHEMAS[layout]().fields.items() if f.required]


# --- result -------------------------------------------------------------------------------
@dataclass
class Validated:
    """A checked extract: canonical columns (index = Excel row numbers) or its problems."""

    kind: str  # funnel / workforce / counts
    layout: str  # funnel / workforce / counts_funnel / counts_headcount
    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    campaigns: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def raise_if_invalid(self) -> Validated:
        if not self.ok:
            ordered = sorted(self.problems, key=lambda p: (p.row is not None, p.row or 0))
            raise ExtractInvalid(ordered, total=self.problem_count)
        return self


class _Sink:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.total = 0

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.problems) < MAX_KEPT:
            self.problems.append(problem)

    def rows(self, mask: np.ndarray, index: pd.Index, make: Callable[[int, int], Problem]
             ) -> None:
        """One problem per flagged row; ``make(row, position)`` builds it (only for kept ones)."""
        positions = np.flatnonzero(mask)
        self.total += len(positions)
        room = MAX_KEPT - len(self.problems)
        for pos in positions[: max(room, 0)]:
            self.problems.append(make(int(index[pos]), int(pos)))


# --- value helpers ------------------------------------------------------------------------
def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(series, sort=False)
    return codes, np.asarray(uniques, dtype=object)


#: Where control (Cc), format (Cf) and separator (Zl, Zp) characters live: the BMP, plane 1
#: and the tag block of plane 14 (scanning these, not all 1.1M code points, takes ~0.1 s).
_PLANES = (range(0x20000), range(0xE0000, 0xE1000))


def _char_class(categories: set[str], keep: str = "", extra: str = "") -> re.Pattern:
    chars = [chr(c) for plane in _PLANES for c in plane
             if unicodedata.category(chr(c)) in categories and chr(c) not in keep]
    return re.compile("[" + re.escape("".join(chars) + extra) + "]")


_LABEL_FORBIDDEN: re.Pattern | None = None
_COMMENT_FORBIDDEN: re.Pattern | None = None
#: Bidirectional embeddings, overrides and isolates (they reorder how text is displayed).
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def forbidden_characters(comment: bool = False) -> re.Pattern:
    """Characters refused in labels and references: control characters (C0, C1, DEL; line
    breaks and tabs included), invisible format characters (bidi controls, zero-width
    characters, soft hyphen, BOM) and line/paragraph separators. Free-text comments may hold
    tabs and line breaks but no other control character and no bidi control."""
    global _LABEL_FORBIDDEN, _COMMENT_FORBIDDEN
    if _LABEL_FORBIDDEN is None:
        _LABEL_FORBIDDEN = _char_class({"Cc", "Cf", "Zl", "Zp"})
        _COMMENT_FORBIDDEN = _char_class({"Cc"}, keep="\t\n\r", extra=_BIDI)
    return _COMMENT_FORBIDDEN if comment else _LABEL_FORBIDDEN


def visible(text: str, comment: bool = False) -> str:
    """``text`` with every forbidden character written as an escape (``\\u202e``), so an
    error page or report shows it instead of being reordered or cut by it."""
    return forbidden_characters(comment).sub(
        lambda m: "\\n" if m.group() == "\n" else f"\\u{ord(m.group()):04x}", text)


#: A spreadsheet formula: at the start (=, +, @, TAB, CR, or - before a letter or before a number
#: followed by an operator, as in -1+1+cmd|' /C calc'!A0), or = / @ after a separator inside
#: the cell (Excel may split the cell there). Ordinary minus signs ("- INP", "-1") pass.
_FORMULA = re.compile(r"^(?:[=+@\t\r]|-[A-Za-z(]|-[\d.,\s]*\d[\d.,\s]*[-+*/^&|!(])"
                      r"|[,;\t\r\n]\s*[=@]")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_THOUSANDS = re.compile(r"^[0-9]{1,3}(?:([.,' ])[0-9]{3})(?:\1[0-9]{3})*$")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() accepts '²', which int() refuses


def parse_dates(values: np.ndarray, allow_serial: bool) -> np.ndarray:
    """Parse distinct date strings in the accepted formats → datetime64 (NaT when invalid).

    Accepted: ``2024-03-01``, ``01/03/2024``, ``1.3.2024``, ``01-03-2024``, and Excel serial
    day numbers (days since 1899-12-30, Excel's 1900 date system) in XLSX files.
    """
    texts = pd.Series(values, dtype=object).astype(str)
    out = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    for fmt in _DATE_FORMATS:
        todo = out.isna() & (texts != "")
        if not todo.any():
            break
        out[todo] = pd.to_datetime(texts[todo], format=fmt, errors="coerce")
    if allow_serial:
        todo = out.isna() & texts.str.fullmatch(r"\d{5}")
        if todo.any():
            days = texts[todo].astype(int)
            ok = days.between(20_000, 80_000)
            out[todo[todo].index[ok.to_numpy()]] = _EXCEL_EPOCH + pd.to_timedelta(days[ok], "D")
    return out.dt.normalize().to_numpy()


def parse_count(text: str) -> tuple[int | None, bool, bool]:
    """``(count, source_suppressed, valid)`` for one count cell.

    ``1.234``, ``1,234``, ``1 234`` → 1234; ``-`` → 0; ``**``, ``<5``, ``x``, ``:c`` →
    suppressed at source (count ``None``); anything else is invalid.

    >>> parse_count("1 234"), parse_count("<5"), parse_count("-"), parse_count("12a")
    ((1234, False, True), (None, True, True), (0, False, True), (None, False, False))
    """
    t = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if t in ("-", "–", "—"):
        return 0, False, True
    if SOURCE_MARKER.match(t):
        return None, True, True
    if _DIGITS.fullmatch(t):
        return int(t), False, True
    if _THOUSANDS.match(t):
        return int(re.sub(r"[^0-9]", "", t)), False, True
    return None, False, False


# --- the checks ---------------------------------------------------------------------------
def check_extract(frame: pd.DataFrame, kind: str, *, stages: Sequence[str] | None = None,
                  reference_date: dt.date | None = None, today: dt.date | None = None,
                  cross_rows: bool = True) -> Validated:
    """Check an extract read by :func:`~hrpipeline.ingest.read.read_table`; never raises.

    ``stages`` is the zone's ordered stage list (default :data:`DEFAULT_STAGES`); dates after
    ``reference_date`` (else ``today``) are refused as future dates. ``cross_rows=False``
    leaves out the funnel checks that compare rows with each other (duplicates, a stage after
    a failure, the campaign limit): ``hrpipeline.ingest.stream`` checks one part of a big file
    at a time and makes those checks over the whole file itself.
    """
    if kind not in EXTRACT_KINDS:
        raise ValueError(f"kind must be one of {EXTRACT_KINDS}")
    stages = tuple(stages or DEFAULT_STAGES)
    limit = pd.Timestamp(reference_date or today or dt.date.today())
    sink = _Sink()
    layout = _layout(frame, kind)
    mapping, _unmatched = match_columns(frame.columns, KIND_COLUMNS[layout])
    empty = Validated(kind, layout, pd.DataFrame(), sink.problems)

    by_field: dict[str, list[str]] = {}
    for header, canonical in mapping.items():
        by_field.setdefault(canonical, []).append(header)
    for canonical, headers in by_field.items():
        if len(headers) > 1:
            sink.add(Problem(1, headers[1], None, "ambiguous_column",
                             f"The columns {' and '.join(map(repr, headers))} both mean "
                             f"{canonical!r}. Keep one of them.", {"field": canonical}))
    missing = _missing(layout, set(by_field))
    if missing and len(frame.columns) == 1:
        sink.add(Problem(1, str(frame.columns[0]), None, "delimiter_not_recognised",
                         "The header row is a single column: the cells are not separated by "
                         "';', ',' or a tab. Export the file again as CSV (semicolon or comma "
                         "separated) or as .xlsx.", {}))
    elif missing and (other := looks_like(frame.columns, kind)) is not None:
        # The columns are those of another kind: one line saying so, not one per column.
        sink.add(Problem(1, None, None, "wrong_kind",
                         f"This file looks like a {other} extract, not a {kind} extract: its "
                         f"columns are those of a {other} extract. Choose the kind "
                         f"'{other}' and upload it again.", {"kind": kind, "looks_like": other}))
    else:
        for f in missing:
            sink.add(Problem(1, None, None, "missing_column",
                             f"The required column {f!r} is missing. Accepted headers: "
                             f"{', '.join(accepted_headers(f))}.",
                             {"field": f, "accepted": accepted_headers(f)}))

    date_like = {h for h, c in mapping.items()
                 if c in ("stage_date", "hire_date", "exit_date", "date")}
    count_like = {h for h, c in mapping.items()
                  if c in ("passed", "failed", "withdrew", "pending", "headcount")}
    for p in find_pii(frame, skip_columns=date_like | count_like):
        sink.add(p)
    _check_formulas(frame, sink)

    if len(frame) == 0:
        sink.add(Problem(None, None, None, "no_data_rows",
                         "The file has a header row but no data rows.", {}))
    if sink.total and (missing or len(frame) == 0 or any(len(h) > 1 for h in by_field.values())):
        empty.problem_count = sink.total
        return empty

    cols = {c: frame[hs[0]] for c, hs in by_field.items()}
    allow_serial = frame.attrs.get("source_format") == "xlsx"
    ctx = _Ctx(frame.index, cols, mapping, sink, allow_serial, limit, stages,
               cross_rows=cross_rows)
    for name in cols:
        if name in _TEXT_FIELDS:
            ctx.characters(name)
    out = pd.DataFrame(index=frame.index)
    if layout == "funnel":
        result = _funnel(ctx, out)
    elif layout == "workforce":
        result = _workforce(ctx, out)
    elif layout == "counts_funnel":
        result = _counts_funnel(ctx, out)
    else:
        result = _headcount(ctx, out)
    result.kind, result.layout = kind, layout
    result.problems, result.problem_count = sink.problems, sink.total
    return result


def _missing(layout: str, fields: set[str]) -> list[str]:
    missing = [f for f in required_fields(layout) if f not in fields]
    if layout == "counts_funnel" and not {"passed", "failed", "withdrew", "pending"} & fields:
        missing.append("passed")
    return missing


def looks_like(headers, kind: str) -> str | None:
    """The other extract kind whose required columns ``headers`` all has, if any."""
    for layout in KIND_COLUMNS:
        other = "counts" if layout.startswith("counts") else layout
        if other == kind:
            continue
        mapping, _ = match_columns(headers, KIND_COLUMNS[layout])
        if not _missing(layout, set(mapping.values())):
            return other
    return None


def validate_extract(frame: pd.DataFrame, kind: str, **kw) -> Validated:
    """:func:`check_extract`, raising :class:`ExtractInvalid` with every problem."""
    return check_extract(frame, kind, **kw).raise_if_invalid()


def _layout(frame: pd.DataFrame, kind: str) -> str:
    if kind != "counts":
        return kind
    head, _ = match_columns(frame.columns, KIND_COLUMNS["counts_headcount"])
    return "counts_headcount" if "headcount" in head.values() else "counts_funnel"


def _check_formulas(frame: pd.DataFrame, sink: _Sink) -> None:
    for column in frame.columns:
        codes, uniques = _factorize(frame[column])
        bad = np.fromiter((bool(_FORMULA.search(u)) for u in uniques), bool, len(uniques))
        if bad.any():
            values = uniques
            sink.rows(bad[codes], frame.index, lambda row, pos, c=column, v=values, k=codes:
                      Problem(row, str(c), str(v[k[pos]])[:100], "formula_injection",
                              f"The cell in column {c!r} starts like a spreadsheet formula "
                              "(=, +, @ or - followed by a letter). Formulas are refused: type "
                              "the plain value, or put a space or quote before it.", {}))


@dataclass
class _Ctx:
    index: pd.Index
    cols: dict[str, pd.Series]
    mapping: dict[str, str]
    sink: _Sink
    allow_serial: bool
    limit: pd.Timestamp
    stages: tuple[str, ...]
    #: field → distinct values already refused for a forbidden character (not re-reported
    #: as unknown categories)
    flagged: dict[str, set[str]] = field(default_factory=dict)
    #: compare rows with each other (off for one part of a streamed file)
    cross_rows: bool = True

    def header(self, canonical: str) -> str:
        return next((h for h, c in self.mapping.items() if c == canonical), canonical)

    def text(self, name: str, *, required: bool = True,
             max_length: int = MAX_TEXT) -> pd.Series | None:
        """A free-text / reference column: non-empty when required, at most ``max_length``."""
        if name not in self.cols:
            return None
        s = self.cols[name]
        codes, uniques = _factorize(s)
        lengths = np.fromiter((len(u) for u in uniques), int, len(uniques))
        col = self.header(name)
        if required:
            self.sink.rows((lengths == 0)[codes], self.index, lambda row, pos: Problem(
                row, col, "", "missing_value", f"The column {col!r} is empty in this row; a "
                "value is required.", {"field": name}))
        self.sink.rows((lengths > max_length)[codes], self.index, lambda row, pos: Problem(
            row, col, str(uniques[codes[pos]])[:100], "value_too_long",
            f"The value in column {col!r} is longer than {max_length} characters.",
            {"field": name, "max": max_length}))
        return s

    def characters(self, name: str) -> None:
        """Refuse control, line-break and bidi characters in a text or category column."""
        if name not in self.cols:
            return
        comment = name == "exit_comment"
        pattern = forbidden_characters(comment)
        column = self.cols[name]
        # One C-level scan of all distinct values first (the usual case: nothing found); a
        # categorical column (the upload path) has them without a pass over the rows.
        distinct = (column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype)
                    else column.unique())
        if " ".join(map(str, distinct)).isprintable():  # no Cc/Cf/Zl/Zp (nor other) in any
            return
        codes, uniques = _factorize(column)
        hits = [pattern.search(u) for u in uniques]
        bad = np.fromiter((h is not None for h in hits), bool, len(uniques))
        if not bad.any():
            return
        self.flagged[name] = {u for u, b in zip(uniques, bad, strict=True) if b}
        col = self.header(name)

        def make(row: int, pos: int) -> Problem:
            char = hits[codes[pos]].group()
            code_point = f"U+{ord(char):04X}"
            label = unicodedata.name(char, "control character")
            return Problem(row, col, visible(str(uniques[codes[pos]])[:100], comment),
                           "forbidden_character",
                           f"The value in column {col!r} contains the invisible character "
                           f"{code_point} ({label}). Line breaks, tabs, control characters and "
                           "text-direction marks are not accepted here: retype the value.",
                           {"field": name, "char": code_point})

        self.sink.rows(bad[codes], self.index, make)

    def category(self, name: str, *, empty_is_none: bool = False,
                 resolve: Callable[[str], str | None] | None = None) -> pd.Series | None:
        """Map a category column to canonical values; unknown values are problems."""
        if name not in self.cols:
            return None
        codes, uniques = _factorize(self.cols[name])
        resolve = resolve or (lambda v: canonical_value(name, v))
        mapped = np.array([None if (empty_is_none and u == "") else resolve(u) for u in uniques],
                          dtype=object)
        flagged = self.flagged.get(name, set())
        unknown = np.array([m is None and not (empty_is_none and u == "") and u not in flagged
                            for m, u in zip(mapped, uniques, strict=True)], dtype=bool)
        col = self.header(name)
        accepted = list(VALUE_FIELDS[name][0]) if name != "stage" else list(self.stages)
        code = "unknown_stage" if name == "stage" else "invalid_value"

        def make(row: int, pos: int) -> Problem:
            value = str(uniques[codes[pos]])
            if value == "":
                return Problem(row, col, "", "missing_value",
                               f"The column {col!r} is empty in this row. Expected one of: "
                               f"{', '.join(accepted)}.", {"field": name, "accepted": accepted})
            return Problem(row, col, value[:100], code,
                           f"{value!r} is not a known value for {col!r}. Expected one of: "
                           f"{', '.join(accepted)} (or their Dutch/French names, see the "
                           "extract formats guide).", {"field": name, "accepted": accepted})

        self.sink.rows(unknown[codes], self.index, make)
        return pd.Series(mapped[codes], index=self.index, dtype=object)

    def date(self, name: str, *, required: bool) -> pd.Series | None:
        if name not in self.cols:
            return None
        codes, uniques = _factorize(self.cols[name])
        parsed = parse_dates(uniques, self.allow_serial)
        blank = np.array([u == "" for u in uniques], dtype=bool)
        invalid = np.isnat(parsed) & ~blank
        future = ~np.isnat(parsed) & (parsed > self.limit.to_datetime64())
        earliest = MIN_DATE[name]
        early = ~np.isnat(parsed) & (parsed < np.datetime64(earliest))
        col = self.header(name)
        if required:
            self.sink.rows(blank[codes], self.index, lambda row, pos: Problem(
                row, col, "", "missing_value",
                f"The column {col!r} is empty in this row; a date is required.",
                {"field": name}))
        self.sink.rows(invalid[codes], self.index, lambda row, pos: Problem(
            row, col, str(uniques[codes[pos]])[:100], "invalid_date",
            f"{uniques[codes[pos]]!r} in column {col!r} is not a valid date. Write dates as "
            "2024-03-01, 01/03/2024 or 1.3.2024 (day before month).", {"field": name}))
        limit = self.limit.date().isoformat()
        self.sink.rows(future[codes], self.index, lambda row, pos: Problem(
            row, col, str(uniques[codes[pos]]), "future_date",
            f"The date {uniques[codes[pos]]!r} in column {col!r} is in the future (after "
            f"{limit}). Check the date.", {"field": name, "limit": limit}))
        self.sink.rows(early[codes], self.index, lambda row, pos: Problem(
            row, col, str(uniques[codes[pos]]), "date_too_early",
            f"The date {uniques[codes[pos]]!r} in column {col!r} is before "
            f"{earliest.isoformat()}, the earliest accepted. Check the date.",
            {"field": name, "min": earliest.isoformat()}))
        return pd.Series(parsed[codes], index=self.index)

    def counts(self, name: str) -> tuple[pd.Series, pd.Series] | None:
        if name not in self.cols:
            return None
        codes, uniques = _factorize(self.cols[name])
        parsed = [parse_count(u) for u in uniques]
        values = np.array([p[0] for p in parsed], dtype=object)
        suppressed = np.array([p[1] for p in parsed], dtype=bool)
        invalid = np.array([not p[2] for p in parsed], dtype=bool)
        too_big = np.array([p[0] is not None and p[0] > MAX_COUNT for p in parsed], dtype=bool)
        values[too_big] = None
        col = self.header(name)
        self.sink.rows(too_big[codes], self.index, lambda row, pos: Problem(
            row, col, str(uniques[codes[pos]])[:100], "count_out_of_range",
            f"{uniques[codes[pos]]!r} in column {col!r} is outside the allowed range: a count "
            f"from 0 to {MAX_COUNT:,}.", {"field": name, "min": 0, "max": MAX_COUNT}))
        self.sink.rows(invalid[codes], self.index, lambda row, pos: Problem(
            row, col, str(uniques[codes[pos]])[:100], "invalid_count",
            f"{uniques[codes[pos]]!r} in column {col!r} is not a count. Expected a whole "
            "number (1234, 1.234 or 1 234), '-' for zero, or a suppression mark (**, <5, x, "
            ":c) if the value was hidden at source.", {"field": name}))
        return (pd.Series(values[codes], index=self.index, dtype=object),
                pd.Series(suppressed[codes], index=self.index))

    def stage_resolver(self) -> Callable[[str], str | None]:
        own = {normalise(s): s for s in self.stages}

        def resolve(value: str) -> str | None:
            canonical = canonical_value("stage", value)
            if canonical is None:
                canonical = own.get(normalise(value))
            return canonical if canonical in self.stages else None

        return resolve

    def year(self, campaign: pd.Series, earliest: pd.Series | None) -> pd.Series:
        """campaign_year: year column, else the 4-digit year in the label, else the year of
        the campaign's earliest stage date, else a problem."""
        n = len(self.index)
        years = np.full(n, -1, dtype=np.int64)
        if "campaign_year" in self.cols:
            codes, uniques = _factorize(self.cols["campaign_year"])
            vals = np.array([int(u) if len(u) <= 6 and _DIGITS.fullmatch(u) else
                             (-2 if u else -1) for u in uniques], dtype=np.int64)
            bad = (vals == -2) | ((vals >= 0) & ((vals < MIN_YEAR) | (vals > MAX_YEAR)))
            col = self.header("campaign_year")
            self.sink.rows(bad[codes], self.index, lambda row, pos: Problem(
                row, col, str(uniques[codes[pos]])[:100], "invalid_year",
                f"{uniques[codes[pos]]!r} in column {col!r} is not a year (expected e.g. 2024).",
                {"field": "campaign_year"}))
            years = np.where(bad[codes], -1, vals[codes])
        ccodes, camps = _factorize(campaign)
        label_year = np.array([_label_year(str(c)) for c in camps], dtype=np.int64)
        years = np.where(years < 0, label_year[ccodes], years)
        if earliest is not None and (years < 0).any():
            first = pd.Series(earliest.to_numpy()).groupby(ccodes).min()
            by_code = np.full(len(camps), -1, dtype=np.int64)
            for code, value in first.items():
                if not pd.isna(value):
                    by_code[code] = pd.Timestamp(value).year
            years = np.where(years < 0, by_code[ccodes], years)
        missing = years < 0
        if missing.any():
            for code in np.unique(ccodes[missing]):
                rows = self.index[missing & (ccodes == code)]
                self.sink.add(Problem(
                    int(rows[0]), self.header("campaign"), str(camps[code])[:100],
                    "campaign_year_missing",
                    f"The year of campaign {camps[code]!r} is unknown: add a 'year' column, put "
                    "the year in the campaign name (e.g. 'INP 2024-1') or fill in the stage "
                    "dates.", {"campaign": str(camps[code]), "rows": len(rows)}))
        return pd.Series(years, index=self.index)


#: Fields checked for forbidden characters: references, labels, categories, comments (dates,
#: years and counts are refused by their own format checks).
_TEXT_FIELDS = {"candidate_ref", "officer_ref", "campaign", "stage", "outcome",
                "migration_background", "gender", "age_band", "rank", "exit_type",
                "exit_reason", "exit_comment"}


def _campaign_limit(ctx: _Ctx, campaigns: list[str]) -> None:
    if len(campaigns) > MAX_CAMPAIGNS_PER_UPLOAD:
        shown = ", ".join(repr(c) for c in campaigns[:5])
        ctx.sink.add(Problem(
            None, ctx.header("campaign"), None, "too_many_campaigns",
            f"The file holds {len(campaigns):,} campaigns ({shown}, ...); at most "
            f"{MAX_CAMPAIGNS_PER_UPLOAD} are accepted in one upload. Upload one file per "
            "campaign or per year, and check the campaign column.",
            {"found": len(campaigns), "limit": MAX_CAMPAIGNS_PER_UPLOAD}))


def _label_year(label: str) -> int:
    found = re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", label)
    return int(found[0]) if found else -1


def _duplicates(ctx: _Ctx, frame: pd.DataFrame, key: list[str], code: str, what: str) -> None:
    """Whole-row duplicates (``duplicate_row``) and same-key conflicts (``code``)."""
    full_codes = np.column_stack([pd.factorize(frame[c])[0] for c in frame.columns])
    full = pd.DataFrame(full_codes).duplicated().to_numpy()
    keyed = pd.DataFrame(full_codes[:, [list(frame.columns).index(k) for k in key]])
    same_key = keyed.duplicated().to_numpy() & ~full
    # A row whose key is already reported as invalid (e.g. unknown stage) is not a duplicate.
    unknown_key = frame[key].isna().any(axis=1).to_numpy()
    full &= ~unknown_key
    same_key &= ~unknown_key
    if full.any() or same_key.any():
        first_row = pd.Series(ctx.index.to_numpy()).groupby(
            [keyed[i] for i in keyed.columns]).transform("first").to_numpy()
        ctx.sink.rows(full, ctx.index, lambda row, pos: Problem(
            row, None, None, "duplicate_row",
            f"This row repeats row {first_row[pos]} exactly. Remove the copy.",
            {"first_row": int(first_row[pos])}))
        ctx.sink.rows(same_key, ctx.index, lambda row, pos: Problem(
            row, None, None, code,
            f"This row is for the same {what} as row {first_row[pos]} but with different "
            "values. Keep one row per " + what + ".", {"first_row": int(first_row[pos])}))


def _funnel(ctx: _Ctx, out: pd.DataFrame) -> Validated:
    out["candidate_ref"] = ctx.text("candidate_ref")
    out["campaign"] = ctx.text("campaign")
    out["stage"] = ctx.category("stage", resolve=ctx.stage_resolver())
    out["outcome"] = ctx.category("outcome")
    stage_date = ctx.date("stage_date", required=False)
    out["stage_date"] = stage_date if stage_date is not None else pd.NaT
    out["migration_background"] = ctx.category("migration_background")
    out["gender"] = ctx.category("gender")
    out["age_band"] = ctx.category("age_band")
    out["campaign_year"] = ctx.year(out["campaign"], stage_date)
    campaigns = sorted(out["campaign"].dropna().unique())
    ok_years = out["campaign_year"][out["campaign_year"] >= 0]
    years = sorted({int(y) for y in ok_years.unique()})
    if not ctx.cross_rows:
        return Validated("funnel", "funnel", out, campaigns=campaigns, years=years)

    position = {s: i for i, s in enumerate(ctx.stages)}
    pos = out["stage"].map(position).fillna(-1).to_numpy(dtype=np.int64)
    terminal = out["outcome"].isin(("failed", "withdrew")).to_numpy() & (pos >= 0)
    cand = pd.factorize(out["candidate_ref"])[0].astype(np.int64)
    camp = pd.factorize(out["campaign"])[0].astype(np.int64)
    key = cand * (camp.max(initial=0) + 1) + camp
    big = len(ctx.stages) + 1
    term_pos = pd.Series(np.where(terminal, pos, big)).groupby(key).transform("min").to_numpy()
    after = (pos > term_pos) & (pos >= 0)
    if after.any():
        index_arr = ctx.index.to_numpy()
        tmask = terminal & (pos == term_pos)
        first = pd.Series(np.where(tmask, index_arr, np.iinfo(np.int64).max)).groupby(
            key).transform("min").to_numpy()
        stages, outcomes = out["stage"].to_numpy(), out["outcome"].to_numpy()
        row_of = dict(zip(index_arr, range(len(index_arr)), strict=True))
        ctx.sink.rows(after, ctx.index, lambda row, p: Problem(
            row, ctx.header("stage"), str(stages[p]), "impossible_sequence",
            f"Candidate {out['candidate_ref'].iat[p]!r} has a row at stage {stages[p]!r} after "
            f"'{outcomes[row_of[first[p]]]}' at stage {stages[row_of[first[p]]]!r} (row "
            f"{first[p]}). A candidate who failed or withdrew cannot reach a later stage.",
            {"first_row": int(first[p])}))
    _duplicates(ctx, out.drop(columns=["campaign_year"]), ["candidate_ref", "campaign", "stage"],
                "duplicate_stage", "candidate, campaign and stage")
    _campaign_limit(ctx, campaigns)
    return Validated("funnel", "funnel", out, campaigns=campaigns, years=years)


def _workforce(ctx: _Ctx, out: pd.DataFrame) -> Validated:
    out["officer_ref"] = ctx.text("officer_ref")
    out["migration_background"] = ctx.category("migration_background")
    out["gender"] = ctx.category("gender")
    out["rank"] = ctx.category("rank", empty_is_none=True)
    out["hire_date"] = ctx.date("hire_date", required=True)
    exit_date = ctx.date("exit_date", required=False)
    out["exit_date"] = exit_date if exit_date is not None else pd.NaT
    out["exit_type"] = ctx.category("exit_type", empty_is_none=True)
    out["exit_reason"] = ctx.category("exit_reason", empty_is_none=True)
    comment = ctx.text("exit_comment", required=False, max_length=MAX_COMMENT)
    if comment is not None:
        comment = comment.astype(object)
        out["exit_comment"] = comment.where(comment != "", None)
    else:
        out["exit_comment"] = None
    for c in ("gender", "rank", "exit_type", "exit_reason"):
        if out[c].isna().all():
            out[c] = None
    hire, leave = out["hire_date"].to_numpy(), out["exit_date"].to_numpy()
    before = ~np.isnat(hire) & ~np.isnat(leave) & (leave < hire)
    ctx.sink.rows(before, ctx.index, lambda row, p: Problem(
        row, ctx.header("exit_date"), str(ctx.cols["exit_date"].iat[p]), "exit_before_hire",
        f"The exit date {ctx.cols['exit_date'].iat[p]!r} is before the hire date "
        f"{ctx.cols['hire_date'].iat[p]!r}. Exit must be on or after hire.", {}))
    details = (out["exit_type"].notna() | out["exit_reason"].notna()).to_numpy()
    orphan = details & np.isnat(leave) & (
        ctx.cols["exit_date"] == "" if "exit_date" in ctx.cols else True)
    ctx.sink.rows(np.asarray(orphan, dtype=bool), ctx.index, lambda row, p: Problem(
        row, ctx.header("exit_date"), "", "exit_without_date",
        "This row has an exit type or reason but no exit date. Add the exit date, or clear "
        "the exit type and reason for an officer still in service.", {}))
    unknown_reason = out["exit_reason"] == UNKNOWN
    out.loc[unknown_reason & np.isnat(leave), "exit_reason"] = None
    _duplicates(ctx, out, ["officer_ref", "hire_date"], "duplicate_officer",
                "officer and hire date")
    return Validated("workforce", "workforce", out)


def _counts_funnel(ctx: _Ctx, out: pd.DataFrame) -> Validated:
    out["campaign"] = ctx.text("campaign")
    out["stage"] = ctx.category("stage", resolve=ctx.stage_resolver())
    out["migration_background"] = ctx.category("migration_background")
    out["campaign_year"] = ctx.year(out["campaign"], None)
    _duplicates(ctx, out[["campaign", "stage", "migration_background"]],
                ["campaign", "stage", "migration_background"], "duplicate_cell",
                "campaign, stage and group")
    parts = []
    for outcome in ("passed", "failed", "withdrew", "pending"):
        parsed = ctx.counts(outcome)
        if parsed is None:
            continue
        part = out[["campaign", "campaign_year", "stage", "migration_background"]].copy()
        part["outcome"] = outcome
        part["count"], part["source_suppressed"] = parsed
        parts.append(part)
    long = pd.concat(parts)
    long["table_kind"] = "funnel"
    long["rank"] = None
    long["ref_date"] = pd.NaT
    ok_years = long["campaign_year"][long["campaign_year"] >= 0]
    campaigns = sorted(out["campaign"].dropna().unique())
    _campaign_limit(ctx, campaigns)
    return Validated("counts", "counts_funnel", long,
                     campaigns=campaigns,
                     years=sorted({int(y) for y in ok_years.unique()}))


def _headcount(ctx: _Ctx, out: pd.DataFrame) -> Validated:
    out["ref_date"] = ctx.date("date", required=True)
    out["migration_background"] = ctx.category("migration_background")
    out["rank"] = ctx.category("rank", empty_is_none=True)
    _duplicates(ctx, out, ["ref_date", "migration_background", "rank"], "duplicate_cell",
                "date, group and rank")
    out["count"], out["source_suppressed"] = ctx.counts("headcount")
    out["table_kind"] = "headcount"
    out["campaign"] = None
    out["campaign_year"] = None
    out["stage"] = None
    out["outcome"] = None
    return Validated("counts", "counts_headcount", out)
