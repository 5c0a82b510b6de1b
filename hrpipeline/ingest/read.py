"""Read an extract (CSV or XLSX bytes) into a frame of stripped strings.

Zone HR managers export from whatever HR system they have: CSV with ``,`` ``;`` or tab
(Belgian Excel writes ``;`` with a decimal comma), in UTF-8, UTF-8 with BOM or Windows-1252,
or an Excel workbook. Nothing is interpreted here except the layout: every cell comes back as a
stripped string (``""`` for an empty cell) and the header row as given, so the same reader
serves every extract kind and the Statbel population tables.

The frame's index is the row number the user sees in Excel (header = row 1), so problems can
point at the exact row. ``frame.attrs`` records ``source_format`` (``csv``/``xlsx``),
``encoding`` and ``delimiter``.

The work is bounded before anything is parsed (issue 20, item 1): a file with more than
:data:`MAX_COLUMNS` columns (an XLSX sheet that *declares* more, or whose rows reach further),
or more than ``max_rows`` data rows, is refused while it is read, not after; an XLSX sheet is
walked cell by cell as stored, never padded out to its declared range.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile

import numpy as np
import pandas as pd

from hrpipeline.ingest.problems import fail

#: Zip-bomb guard for XLSX, checked on the archive directory before anything is inflated.
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_MEMBERS = 2_000
#: Real workbooks compress sheet XML 5-50×; a bomb reaches hundreds or thousands.
MAX_XLSX_RATIO = 150
_RATIO_MIN_SIZE = 1024 * 1024
#: No extract kind has more than ~20 columns; a few spare ones (notes, internal codes) are
#: normal. Wider files are refused before parsing: wide frames make every column-by-column
#: check slow (a 30,000-column CSV took a minute, a 16,384-column sheet 20-40 s).
MAX_COLUMNS = 200
#: Excel's own sheet limits: a sheet that claims more is not an Excel sheet.
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384
#: Bytes decoded to find the header row and the delimiter.
_HEAD_BYTES = 256 * 1024

_XLSX_EXT = (".xlsx", ".xlsm")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
_ZIP_MAGIC = b"PK\x03\x04"
# A genuine UTF-8 multi-byte sequence; in a file that is not valid UTF-8 it means two encodings
# were mixed (e.g. a UTF-8 export appended to by a cp1252 editor).
_UTF8_SEQ = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")


def read_table(data: bytes, filename: str, *, sheet: str | None = None,
               max_rows: int | None = None) -> pd.DataFrame:
    """Parse CSV or XLSX bytes into a frame of stripped strings, header row as given.

    Raises :class:`~hrpipeline.ingest.problems.ExtractInvalid` with one problem (codes
    ``empty_file``, ``unsupported_format``, ``corrupt_xlsx``, ``xlsx_too_large``,
    ``sheet_not_found``, ``mixed_encoding``, ``malformed_csv``, ``duplicate_column``,
    ``no_header``, ``too_many_columns``, ``too_many_rows``, ``nul_character``) when the file
    cannot be read at all or is larger than the limits.

    >>> read_table(b"a;b\\n 1 ;x\\n", "t.csv").loc[2, "a"]
    '1'
    """
    return read_frame(data, filename, sheet=sheet, as_category=False, max_rows=max_rows)


def read_frame(data: bytes, filename: str, *, sheet: str | None = None,
               as_category: bool = False, max_rows: int | None = None,
               max_columns: int = MAX_COLUMNS) -> pd.DataFrame:
    """:func:`read_table`, optionally with categorical columns (low memory on big files).

    ``max_rows`` (data rows, header excluded) and ``max_columns`` are checked while reading.
    """
    if not data:
        raise fail("empty_file", f"The file {filename!r} is empty (0 bytes). Export it again.")
    name = (filename or "").lower()
    if data.startswith(_OLE2_MAGIC) or name.endswith((".xls", ".ods", ".numbers")):
        raise fail("unsupported_format",
                   "This file type is not supported. In Excel choose 'Save as' and pick "
                   "'Excel Workbook (.xlsx)' or 'CSV (semicolon or comma separated)'.",
                   value=filename)
    limits = _Limits(filename or "upload", max_rows, max_columns)
    if name.endswith(_XLSX_EXT) or data.startswith(_ZIP_MAGIC):
        frame = _read_xlsx(data, sheet, limits)
    else:
        frame = _read_csv(data, as_category, limits)
    return frame


class _Limits:
    """The size limits of one read, and the refusals that name the file, limit and finding."""

    def __init__(self, filename: str, max_rows: int | None, max_columns: int):
        self.filename = filename
        self.max_rows = max_rows
        self.max_columns = max_columns

    def too_many_columns(self, found: int, where: str = "") -> Exception:
        return fail("too_many_columns",
                    f"{self.filename}: {where or 'the header row has'} {found:,} columns; at "
                    f"most {self.max_columns} are accepted. Remove the columns the extract does "
                    "not need (and any empty columns right of the data), or copy the data into "
                    "a new sheet, and upload again.",
                    file=self.filename, found=found, limit=self.max_columns)

    def too_many_rows(self) -> Exception:
        return fail("too_many_rows",
                    f"{self.filename}: more than {self.max_rows:,} data rows; the limit is "
                    f"{self.max_rows:,}. Split the file (e.g. one file per campaign or year).",
                    file=self.filename, found=self.max_rows + 1, limit=self.max_rows)

    def nul(self, row: int) -> Exception:
        return fail("nul_character",
                    f"{self.filename}: row {row} contains a NUL character (a zero byte), which "
                    "would silently cut the cell short. Export the file again from the HR "
                    "system, or remove the character.", row=row, file=self.filename)


# --- CSV ----------------------------------------------------------------------------------
def _detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _mixed(exc) from None
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in data[:4096]:
        raise fail("unsupported_format",
                   "This does not look like a CSV or Excel file (binary content). Export the "
                   "data as .xlsx or .csv.")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if _UTF8_SEQ.search(data):
            raise _mixed(exc) from None
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _mixed(exc: UnicodeDecodeError):
    return fail("mixed_encoding",
                "The file mixes two text encodings (UTF-8 and Windows-1252), so accented "
                "letters would be garbled. Open it in Excel and save it again as 'CSV UTF-8'.",
                params_position=exc.start)


def _sniff_delimiter(first_line: str) -> str:
    counts = {}
    for sep in (";", ",", "\t"):
        try:
            counts[sep] = len(next(csv.reader([first_line], delimiter=sep)))
        except (csv.Error, StopIteration):
            counts[sep] = 1
    best = max(counts, key=lambda s: (counts[s], s == ";"))
    return best


def _refuse_nul(data: bytes, encoding: str, limits: _Limits) -> None:
    """A NUL anywhere is refused: the CSV parser would end the cell there, silently."""
    if encoding == "utf-16":
        text = data.decode("utf-16", errors="replace")
        at = text.find("\x00")
        if at >= 0:
            raise limits.nul(text.count("\n", 0, at) + 1)
        return
    at = data.find(b"\x00")
    if at >= 0:
        raise limits.nul(data.count(b"\n", 0, at) + 1)


def _line_count(data: bytes, encoding: str) -> tuple[int, bool]:
    """``(lines, exact)``: the physical lines (``\\r\\n``, ``\\n`` or a lone ``\\r`` ends
    one), and whether that is exactly the number of records (no quote: no cell can hold a
    line break). Otherwise it is an upper bound."""
    if encoding == "utf-16":
        text = data.decode("utf-16", errors="replace")
        ends = text.count("\n") + text.count("\r") - text.count("\r\n")
        return ends + (not text.endswith(("\n", "\r"))), False
    ends = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return ends + (not data.endswith((b"\n", b"\r"))), b'"' not in data


def iter_csv_frames(data: bytes, filename: str, *, chunk_rows: int,
                    max_rows: int | None = None, max_columns: int = MAX_COLUMNS):
    """A CSV extract as :func:`read_frame` reads it (categorical columns, index = Excel row
    numbers, blank lines and empty unnamed columns dropped), in frames of at most
    ``chunk_rows`` rows: memory bounded by the chunk, whatever the file size. A header-only
    file gives one empty frame. The same refusals as :func:`read_frame`, raised before the
    first frame (file, header, size) or when the faulty row is reached (malformed rows)."""
    if not data:
        raise fail("empty_file", f"The file {filename!r} is empty (0 bytes). Export it again.")
    limits = _Limits(filename or "upload", max_rows, max_columns)
    setup = _csv_setup(data, limits)
    encoding, delimiter, header, names, skip, nrows = setup
    try:
        reader = pd.read_csv(
            io.BytesIO(data), sep=delimiter, encoding=encoding, header=None, names=names,
            skiprows=skip + 1, dtype="category", keep_default_na=False, na_filter=False,
            skip_blank_lines=False, quotechar='"', engine="c", index_col=False, nrows=nrows,
            chunksize=chunk_rows)
        start, seen = skip + 2, 0
        for frame in reader:
            seen += len(frame)
            if nrows is not None and seen >= nrows:
                raise limits.too_many_rows()
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            frame = _tidy(frame, header)
            frame.attrs.update(source_format="csv", encoding=encoding, delimiter=delimiter)
            yield frame
        if seen == 0:
            empty = pd.DataFrame({n: pd.Series([], dtype=str) for n in names})
            empty = _tidy(empty, header)
            empty.attrs.update(source_format="csv", encoding=encoding, delimiter=delimiter)
            yield empty
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, skip, delimiter) from None
    except UnicodeDecodeError as exc:
        raise _mixed(exc) from None


def _parser_error(exc: Exception, skip: int, delimiter: str):
    line = re.search(r"line (\d+)", str(exc))
    row = int(line.group(1)) + skip + 1 if line else None
    return fail("malformed_csv",
                f"Row {row} has more cells than the header row. Check for a stray "
                f"'{delimiter}' or an unclosed quote." if row else
                f"The CSV file cannot be read ({exc}).", row=row)


def _read_csv(data: bytes, as_category: bool, limits: _Limits) -> pd.DataFrame:
    encoding, delimiter, header, names, skip, nrows = _csv_setup(data, limits)
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=delimiter, encoding=encoding, header=None, names=names,
            skiprows=skip + 1, dtype="category" if as_category else str,
            keep_default_na=False, na_filter=False, skip_blank_lines=False,
            quotechar='"', engine="c", index_col=False, nrows=nrows,
        )
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, skip, delimiter) from None
    except UnicodeDecodeError as exc:
        raise _mixed(exc) from None
    if nrows is not None and len(frame) >= nrows:
        raise limits.too_many_rows()
    frame.index = pd.RangeIndex(skip + 2, skip + 2 + len(frame))
    frame = _tidy(frame, header)
    frame.attrs.update(source_format="csv", encoding=encoding, delimiter=delimiter)
    return frame


def _csv_setup(data: bytes, limits: _Limits):
    """Encoding, delimiter, header and the row bound of a CSV, refused early when too big."""
    encoding = _detect_encoding(data)
    _refuse_nul(data, encoding, limits)
    head = data[:_HEAD_BYTES].decode(encoding, errors="replace")
    head = head.lstrip("\ufeff")
    lines = head.splitlines()
    first = next((ln for ln in lines if ln.strip(" ;,\t")), None)
    if first is None:
        raise fail("empty_file", "The file contains no header row and no data.")
    skip = lines.index(first)
    delimiter = _sniff_delimiter(first)
    if first is lines[-1] and len(data) > _HEAD_BYTES and not head.endswith(("\n", "\r")):
        # The header row does not even end within the first 256 KB: count its delimiters
        # (quotes ignored: an upper bound) without parsing it.
        end = data.find(b"\n") if encoding != "utf-16" else -1
        line = data[:end] if end >= 0 else data
        width = line.count(delimiter.encode("ascii")) + 1
        if width > limits.max_columns:
            raise limits.too_many_columns(width)
        raise fail("malformed_csv", f"{limits.filename}: the header row is longer than 256 KB. "
                   "Check that the file is a CSV export with one header row.",
                   file=limits.filename)
    if first.count(delimiter) + 1 > limits.max_columns:
        width = len(next(csv.reader([first], delimiter=delimiter)))
        if width > limits.max_columns:
            raise limits.too_many_columns(width)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
    names = _unique_header(header)
    # Rows are bounded while parsing: at most max_rows + 1 records are read, so a file over
    # the limit is refused after reading just past the limit, not after reading all of it.
    nrows = None
    if limits.max_rows is not None:
        lines, exact = _line_count(data, encoding)
        if lines - skip - 1 > limits.max_rows:
            if exact:  # no quotes: every line is a record, nothing to parse to be sure
                raise limits.too_many_rows()
            nrows = limits.max_rows + 1
    return encoding, delimiter, header, names, skip, nrows


def _unique_header(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for h in header:
        if h:
            seen[h] = seen.get(h, 0) + 1
    dupes = [h for h, n in seen.items() if n > 1]
    if dupes:
        raise fail("duplicate_column",
                   f"The column {dupes[0]!r} appears more than once in the header row. Keep one.",
                   column=dupes[0], row=1)
    return [h if h else f"__blank_{i}" for i, h in enumerate(header)]


def _strip(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = pd.Index(series.cat.categories.astype(str)).str.strip()
        uniq, inverse = np.unique(np.asarray(cats, dtype=object), return_inverse=True)
        codes = series.cat.codes.to_numpy()
        new_codes = np.where(codes < 0, -1, inverse[codes] if len(inverse) else codes)
        out = pd.Series(pd.Categorical.from_codes(new_codes, categories=uniq), index=series.index)
        return out.cat.add_categories([""]).fillna("") if codes.min(initial=0) < 0 else out
    return series.fillna("").astype(str).str.strip()


def _tidy(frame: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    for col in frame.columns:
        frame[col] = _strip(frame[col])
    # Excel leaves trailing empty columns (";;;") and empty lines: drop those only.
    blank_cols = [c for c in frame.columns if c.startswith("__blank_")]
    for col in blank_cols:
        if (frame[col] == "").all():
            frame = frame.drop(columns=col)
        else:
            frame = frame.rename(columns={col: f"(column {int(col[8:]) + 1})"})
    if len(frame.columns) and len(frame):
        empty = np.ones(len(frame), dtype=bool)
        for col in frame.columns:
            empty &= (frame[col] == "").to_numpy()
        if empty.any():
            frame = frame.loc[~empty]
    return frame


# --- XLSX ---------------------------------------------------------------------------------
def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise fail("corrupt_xlsx",
                   "The Excel file is damaged and cannot be opened. Open it in Excel, save it "
                   "again as .xlsx, and upload that copy.") from None
    too_big = fail("xlsx_too_large",
                   "The Excel file expands to far more data than it holds (a 'zip bomb' or a "
                   "workbook with huge empty ranges). Copy the data into a new workbook or "
                   "export as CSV.")
    if len(members) > MAX_XLSX_MEMBERS:
        raise too_big
    total = 0
    for info in members:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_XLSX_UNCOMPRESSED or (info.file_size > _RATIO_MIN_SIZE
                                             and ratio > MAX_XLSX_RATIO):
            raise too_big
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise fail("corrupt_xlsx",
                   "This is a zip archive but not an Excel workbook (.xlsx). Upload the .xlsx "
                   "or .csv export itself.")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(data: bytes, sheet: str | None, limits: _Limits) -> pd.DataFrame:
    import openpyxl  # defusedxml is installed, so openpyxl parses the XML with it
    from openpyxl.utils import get_column_letter

    _check_zip(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many types for a damaged workbook
        raise fail("corrupt_xlsx",
                   "The Excel file is damaged and cannot be opened. Open it in Excel, save it "
                   "again as .xlsx, and upload that copy.") from None
    try:
        if sheet is not None:
            if sheet not in book.sheetnames:
                raise fail("sheet_not_found",
                           f"The workbook has no sheet named {sheet!r}. Sheets: "
                           f"{', '.join(book.sheetnames)}.", value=sheet,
                           sheets=list(book.sheetnames))
            ws = book[sheet]
        else:
            ws = book.worksheets[0]
        # The declared range (<dimension ref="A1:XFD1048576"/>) is checked before any cell is
        # read, then ignored: openpyxl would pad every row, stored or not, out to it.
        declared = ws.max_column
        if declared is not None and declared > limits.max_columns:
            ref = (f"{get_column_letter(ws.min_column or 1)}{ws.min_row or 1}:"
                   f"{get_column_letter(min(declared, EXCEL_MAX_COLUMNS))}{ws.max_row or ''}")
            raise limits.too_many_columns(
                declared, f"the sheet {ws.title!r} declares the range {ref}, that is")
        ws.reset_dimensions()
        header, header_row, rows, numbers, width = _xlsx_rows(ws, limits)
    except (ValueError, KeyError, TypeError, OverflowError):
        # A sheet openpyxl cannot walk (bad cell references, row numbers): damaged.
        raise fail("corrupt_xlsx",
                   "The Excel file is damaged and cannot be opened. Open it in Excel, save it "
                   "again as .xlsx, and upload that copy.") from None
    finally:
        book.close()
    if header is None:
        raise fail("empty_file", "The workbook's sheet is empty: no header row and no data.")
    header = (header + [""] * width)[:width]
    rows = [(r + [""] * width)[:width] for r in rows]
    names = _unique_header(header)
    frame = pd.DataFrame(rows, columns=names, index=pd.Index(numbers, dtype="int64"), dtype=str)
    frame = _tidy(frame, header)
    frame.attrs.update(source_format="xlsx", encoding=None, delimiter=None,
                       header_row=header_row)
    return frame


def _last_filled(cells: list[str]) -> int:
    """1 + the position of the last non-empty cell (0 for an empty row)."""
    for i in range(len(cells) - 1, -1, -1):
        if cells[i]:
            return i + 1
    return 0


def _xlsx_rows(ws, limits: _Limits):
    """Walk the stored rows of a sheet whose dimensions were reset.

    Rows missing from the XML come back empty (no cells), so their cost is one loop step; a
    stored row is at most ``max_columns`` wide or the sheet is refused on that row; the data
    rows are counted as they come and refused one past ``max_rows``.
    """
    from openpyxl.utils import get_column_letter

    header: list[str] | None = None
    header_row = 0
    rows: list[list[str]] = []
    numbers: list[int] = []
    width = 0
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        if number > EXCEL_MAX_ROWS:
            raise fail("corrupt_xlsx",
                       f"{limits.filename}: the sheet has rows beyond Excel's last row "
                       f"({EXCEL_MAX_ROWS:,}), so it was not written by Excel. Open it in "
                       "Excel, save it again as .xlsx, and upload that copy.",
                       file=limits.filename)
        if not values:
            continue
        if len(values) > limits.max_columns:
            raise limits.too_many_columns(
                len(values), f"row {number} of the sheet {ws.title!r} reaches column "
                f"{get_column_letter(min(len(values), EXCEL_MAX_COLUMNS))}, that is")
        if values.count(None) == len(values):
            continue
        cells = [_cell_text(v) for v in values]  # (XML cannot carry a NUL: no check here)
        filled = _last_filled(cells)
        if not filled:
            continue
        if header is None:
            header, header_row, width = cells, number, filled
            continue
        if limits.max_rows is not None and len(rows) >= limits.max_rows:
            raise limits.too_many_rows()
        rows.append(cells)
        numbers.append(number)
        width = max(width, filled)
    return header, header_row, rows, numbers, width
