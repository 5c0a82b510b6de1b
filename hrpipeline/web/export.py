"""Table downloads for people: CSV that Belgian Excel opens, and XLSX, from the same sheets.

A page describes each of its tables once as a :class:`Sheet` (translated column headers, a
kind per column) and hands them to :func:`download`; the CSV and the XLSX then carry the
same numbers as the page:

* CSV in Dutch and French: ``;`` between cells and a decimal comma (what Excel expects with
  Belgian regional settings); in English ``,`` and a decimal point. UTF-8 with a byte order
  mark, so Excel reads é and ë. Every cell goes through :mod:`hrpipeline.csvsafe`.
* XLSX (openpyxl): one worksheet per table, numbers stored as numbers with a display format
  (rates as percentages), so Excel shows them in the reader's own settings.
* Headers and category values are the page's words (``Cognitieve proef``), never machine keys;
  a hidden value is ``x`` and "not applicable" ``–``, with that legend in the file.

The machine-readable CSV of the API (English keys, decimal points) is unchanged: it is the
report's ``to_csv``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from flask import Response
from flask_babel import get_locale
from flask_babel import gettext as _

from hrpipeline import csvsafe, formatting
from hrpipeline.disclosure import is_suppressed
from hrpipeline.disclosure.values import SYMBOL
from hrpipeline.i18n import label

FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Column kinds: how a value is written (see :func:`_csv_value` / :func:`_xlsx_value`).
KINDS = ("text", "label", "count", "rate", "ratio", "points", "average", "p", "bool",
         "decimal")
_XLSX_FORMATS = {"count": "0", "rate": "0.0%", "ratio": "0.00", "points": "+0.0;-0.0;0.0",
                 "average": "0.0", "p": "0.0000", "decimal": "0.000"}
_P_NUMBER = re.compile(r"^\s*[0-9]*\.?[0-9]+\s*$")


@dataclass
class Column:
    key: str
    header: Any  # a (lazy) translated text
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    notes: Sequence[str] = field(default_factory=tuple)


def language() -> str:
    return str(get_locale() or "en")


def delimiter(lang: str) -> str:
    """``;`` where the decimal sign is a comma (Excel's list separator there), else ``,``."""
    return ";" if formatting.decimal_sign(lang) == "," else ","


def _plain(value: float, lang: str, decimals: int, signed: bool = False) -> str:
    """A number without thousands separators (Excel would read a French one as text)."""
    text = f"{float(value):+.{decimals}f}" if signed else f"{float(value):.{decimals}f}"
    return text.replace(".", formatting.decimal_sign(lang))


def _csv_value(value: Any, kind: str, lang: str) -> Any:
    if is_suppressed(value) or (isinstance(value, str) and value == SYMBOL):
        return SYMBOL
    if value is None:
        return formatting.NOT_APPLICABLE
    if kind == "label":
        return label(str(value))
    if kind == "bool":
        return _("yes") if value else _("no")
    if kind == "p":
        return formatting.p_value(value, lang).replace("\u00a0", " ")
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    if kind == "count":
        return str(int(value))
    if kind == "rate":
        return _plain(float(value) * 100, lang, 1) + "%"
    if kind == "ratio":
        return _plain(value, lang, 2)
    if kind == "points":
        return _plain(value, lang, 1, signed=True)
    if kind == "average":
        return _plain(value, lang, 1)
    if kind == "decimal":
        return _plain(value, lang, 3)
    return str(value)


def legend_lines() -> list[str]:
    return [_("x = hidden to protect privacy; – = not applicable")]


def csv_bytes(sheets: Sequence[Sheet], heading: str, lang: str) -> bytes:
    """All sheets one after the other (a ``#`` title line above each), UTF-8 with BOM."""
    sep = delimiter(lang)
    out = [csvsafe.comment(heading)]
    for line in legend_lines():
        out.append(csvsafe.comment(line))
    for sheet in sheets:
        out.append("\n")
        out.append(csvsafe.comment(sheet.title))
        for note in sheet.notes:
            out.append(csvsafe.comment(note))
        out.append(csvsafe.row([str(c.header) for c in sheet.columns], sep) + "\n")
        for row in sheet.rows:
            out.append(csvsafe.row([_csv_value(row.get(c.key), c.kind, lang)
                                    for c in sheet.columns], sep) + "\n")
    return ("\ufeff" + "".join(out)).encode("utf-8")


def _xlsx_value(value: Any, kind: str, lang: str) -> tuple[Any, str | None]:
    """(cell value, number format); text is kept text (never a formula)."""
    if is_suppressed(value) or (isinstance(value, str) and value == SYMBOL):
        return SYMBOL, None
    if value is None:
        return formatting.NOT_APPLICABLE, None
    if kind == "label":
        return label(str(value)), None
    if kind == "bool":
        return (_("yes") if value else _("no")), None
    if kind == "p":
        if isinstance(value, Real) and not isinstance(value, bool):
            return float(value), _XLSX_FORMATS["p"]
        if _P_NUMBER.match(str(value)):
            return float(value), _XLSX_FORMATS["p"]
        return formatting.p_value(value, lang).replace("\u00a0", " "), None
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value), None
    if kind == "count":
        return int(value), _XLSX_FORMATS["count"]
    if kind in _XLSX_FORMATS:
        return float(value), _XLSX_FORMATS[kind]
    return value, None


_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _SHEET_NAME.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def xlsx_bytes(sheets: Sequence[Sheet], heading: str, lang: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    bold, italic = Font(bold=True), Font(italic=True)

    def text_cell(ws, row: int, col: int, text: str, font=None) -> None:
        cell = ws.cell(row=row, column=col)
        cell.value = text
        cell.data_type = "s"  # never a formula, even when the text starts with "="
        if font is not None:
            cell.font = font

    for sheet in sheets:
        ws = book.create_sheet(_sheet_name(sheet.title, taken))
        r = 1
        for line in [heading, sheet.title, *sheet.notes, *legend_lines()]:
            text_cell(ws, r, 1, csvsafe.cell(line), bold if r <= 2 else italic)
            r += 1
        r += 1
        header_row = r
        for c, column in enumerate(sheet.columns, start=1):
            text_cell(ws, r, c, str(column.header), bold)
        for row in sheet.rows:
            r += 1
            for c, column in enumerate(sheet.columns, start=1):
                value, number_format = _xlsx_value(row.get(column.key), column.kind, lang)
                if isinstance(value, str):
                    text_cell(ws, r, c, value)
                else:
                    cell = ws.cell(row=r, column=c, value=value)
                    if number_format:
                        cell.number_format = number_format
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        for c, column in enumerate(sheet.columns, start=1):
            width = max([len(str(column.header))] + [
                len(str(_csv_value(row.get(column.key), column.kind, lang)))
                for row in sheet.rows[:200]])
            ws.column_dimensions[get_column_letter(c)].width = min(60, max(8, width + 2))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download(fmt: str, stem: str, sheets: Sequence[Sheet], heading: str) -> Response:
    """The response for ``stem.csv`` or ``stem.xlsx`` in the request's language."""
    from hrpipeline.csvsafe import download_headers

    lang = language()
    if fmt == "xlsx":
        body = xlsx_bytes(sheets, heading, lang)
    else:
        body = csv_bytes(sheets, heading, lang)
    mimetype = FORMATS[fmt] + ("; charset=utf-8" if fmt == "csv" else "")
    return Response(body, mimetype=mimetype,
                    headers=download_headers(f"{stem}_{lang}.{fmt}"))
