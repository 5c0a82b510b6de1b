"""Safe spreadsheet output: every CSV export and every download header goes through here.

CSV/formula injection (OWASP "CSV Injection"): a cell that starts with ``=``, ``+``, ``-``,
``@``, TAB, CR or LF is evaluated by Excel/LibreOffice as a formula (``=HYPERLINK(...)``,
``-1+1+cmd|' /C calc'!A0``). :func:`cell` prefixes such a text with ``'`` so it is shown as
text; plain numbers (``-0.25``) are left alone.

A formula can also hide *after* a separator: Belgian Excel opens a comma file with ``;`` as
list separator, so ``a;=1+1`` written by a comma writer is two cells there. Quoting alone does
not help: a quote only opens a quoted field at the start of a field, so a file read with the
other separator sees ``"x,y",=1+1`` ... as unquoted text. So :func:`cell` neutralises every
piece after ``,``, ``;``, TAB, CR or LF by the same rule (``a;'=1+1``), and the writer quotes
every text cell that contains one of them or a double quote, whatever the file's own delimiter
(RFC 4180 quoting; ``csv.reader`` reads it back). Python's ``csv`` module with
``QUOTE_MINIMAL`` does neither: it leaves the other separators and even a bare CR unquoted.

Free-text comment lines (``# zone / period; ...``) stay unquoted (readers look for the
leading ``#``), so :func:`comment` flattens control characters and double quotes and
neutralises every piece after a separator.

:func:`content_disposition` builds a ``Content-Disposition`` value from any text (a campaign
name may contain a line feed, quotes or non-ASCII): an ASCII ``filename="..."`` fallback plus
RFC 5987/6266 ``filename*=UTF-8''...`` when the name is not plain ASCII (as werkzeug's
``send_file`` does).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

#: Cell starts that spreadsheets evaluate (OWASP), after any leading blanks/controls.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
#: Characters that make a text cell quoted, whatever the file's delimiter.
_NEEDS_QUOTES = re.compile(r'[,;\t\r\n"]')
#: A number as written in any of our exports: -0.25, +3,2 (decimal comma), 12,3% (a rate).
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?")
_SEPARATOR = re.compile(r"([,;\t\r\n])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def cell(value: Any) -> str:
    """One cell's text: None → empty, numbers as written, formula-like text prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return "" if isinstance(value, float) and math.isnan(value) else str(value)
    text = str(value)
    stripped = text.lstrip(" \u00a0")
    if stripped.startswith(FORMULA_START) and not _NUMBER.fullmatch(stripped):
        text = "'" + text
    pieces = _SEPARATOR.split(text)
    # pieces[2], [4], ... follow a separator (pieces[1], [3], ...): the same rule there.
    for i in range(2, len(pieces), 2):
        core = pieces[i].lstrip(' "\u00a0')
        if core.startswith(FORMULA_START) and not _NUMBER.fullmatch(core):
            pieces[i] = pieces[i][:len(pieces[i]) - len(core)] + "'" + core
    return "".join(pieces)


def _field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if _NEEDS_QUOTES.search(text) else text


def row(values: Iterable[Any], delimiter: str = ",") -> str:
    """One CSV line (without line end): every value neutralised and quoted where needed."""
    return delimiter.join(_field(cell(v)) for v in values)


def rows(lines: Iterable[Iterable[Any]], delimiter: str = ",", lineterminator: str = "\n") -> str:
    """CSV text of many rows, each ended by ``lineterminator``."""
    return "".join(row(values, delimiter) + lineterminator for values in lines)


def comment(text: str, lineterminator: str = "\n") -> str:
    """A free-text ``# ...`` line, kept readable as the file's first line: control characters
    become spaces, double quotes single ones (no quoted field can open and swallow the rows
    below), and every piece after a separator is neutralised like a cell."""
    flat = _CONTROL.sub(" ", str(text)).replace('"', "'")
    return cell(flat if flat.startswith("#") else "# " + flat) + lineterminator


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A header value that is always valid, whatever the name (no CR/LF/quote survives)."""
    name = _CONTROL.sub(" ", str(filename)).replace("/", "_").replace("\\", "_").strip()
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = _UNSAFE_NAME.sub("_", ascii_name).strip("._") or "download"
    value = f'{disposition}; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def download_headers(filename: str, disposition: str = "attachment") -> dict[str, str]:
    """Headers of a file download: safe Content-Disposition (security headers come from
    :mod:`hrpipeline.security`)."""
    return {"Content-Disposition": content_disposition(filename, disposition)}
