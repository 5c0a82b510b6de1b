"""The hidden value and how it is shown: importable from every layer.

``SUPPRESSED`` is a singleton distinct from 0, NaN and None: a number the gate withholds.
It formats as the one symbol ``SYMBOL = "x"`` (Statbel / ABS "confidential"), refuses to be
used as a truth value (so ``if value:`` on a hidden number fails loudly instead of reading it
as 0), and serialises to ``{"value": null, "suppressed": true}`` in JSON.

This module also holds the **one** parser of source-suppression markers (cells hidden in an
extract before it reached us: ``**``, ``<5``, ``x``, ``:c``, ``..``, ``conf``…), used by the
ingest layer and by the gate alike.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

#: The one display symbol for every hidden value, whatever the reason it is hidden.
SYMBOL = "x"

# --- the sentinel ---------------------------------------------------------------------------


class _Suppressed:
    """Type of the ``SUPPRESSED`` singleton (a hidden value)."""

    __slots__ = ()
    _instance: _Suppressed | None = None

    def __new__(cls) -> _Suppressed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "suppressed"

    def __str__(self) -> str:
        return SYMBOL

    def __format__(self, spec: str) -> str:
        # A template formatting "{:.1%}" must still show the symbol, never crash or a number.
        return SYMBOL

    def __bool__(self) -> bool:
        raise TypeError("a suppressed value has no truth value; test it with is_suppressed()")

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return hash("hrpipeline.SUPPRESSED")

    def __reduce__(self) -> str:
        return "SUPPRESSED"

    def __copy__(self) -> _Suppressed:
        return self

    def __deepcopy__(self, memo: dict) -> _Suppressed:
        return self


SUPPRESSED = _Suppressed()


def is_suppressed(x: object) -> bool:
    """True for the ``SUPPRESSED`` sentinel only (not for 0, NaN or None)."""
    return x is SUPPRESSED


def display(x: object) -> str:
    """Text for a table cell: ``SYMBOL`` for hidden values, ``str`` otherwise."""
    return SYMBOL if x is SUPPRESSED else str(x)


def json_value(x: object) -> dict[str, Any]:
    """``{"value": v, "suppressed": false}`` or ``{"value": null, "suppressed": true}``."""
    if x is SUPPRESSED:
        return {"value": None, "suppressed": True}
    if isinstance(x, np.integer):
        x = int(x)
    elif isinstance(x, np.floating):
        x = float(x)
    return {"value": x, "suppressed": False}


def json_default(x: object) -> Any:
    """``json.dumps(obj, default=json_default)``: a bare SUPPRESSED becomes the hidden form."""
    if x is SUPPRESSED:
        return {"value": None, "suppressed": True}
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


#: Source-suppression markers (Statbel, Eurostat, tau-Argus exports, zone HR systems): a run
#: of ``*``, ``<n``, ``x``, ``:c`` / ``c`` / ``:`` (Eurostat confidential), ``..`` (not
#: available for confidentiality), ``conf`` / ``confidential`` / ``confidentieel`` /
#: ``confidentiel``. Matched on the stripped text, case-insensitively.
SOURCE_MARKER = re.compile(
    r"^(?:\*+|<\s*\d+|x|:c|c|:|\.\.|conf|confidential|confidentieel|confidentiel)$",
    re.IGNORECASE)


def parse_source_count(raw: object) -> int | _Suppressed:
    """A count from an extract: an int, or ``SUPPRESSED`` for a source marker.

    Markers: ``**`` (any run of ``*``), ``<5`` (any ``<n``), ``x``, ``:c`` / ``c`` (Eurostat
    confidential), ``..``. An empty value is an error, never 0: a missing count is not a zero.
    """
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a count")
    if isinstance(raw, int | np.integer):
        if raw < 0:
            raise ValueError(f"negative count {raw}")
        return int(raw)
    text = str(raw).strip()
    if SOURCE_MARKER.match(text):
        return SUPPRESSED
    if re.fullmatch(r"\d+", text):
        return int(text)
    raise ValueError(f"not a count or a source-suppression marker: {raw!r}")
