"""Helpers that turn raw statistics into published values (int / float / str or SUPPRESSED).

Every service builds its output through these, so that the rules of
``hrpipeline.disclosure`` are applied the same way everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import current_app

from hrpipeline import csvsafe
from hrpipeline.disclosure import SUPPRESSED, SYMBOL, Policy, is_suppressed, json_value


def policy() -> Policy:
    """The deployment's disclosure-control policy (k and minimum denominator from config)."""
    return Policy(k=current_app.config["MIN_CELL"],
                  min_denominator=current_app.config["MIN_DENOMINATOR"],
                  extreme_rate_min_base=max(50, current_app.config["MIN_DENOMINATOR"]))


def any_hidden(*values: Any) -> bool:
    return any(is_suppressed(v) for v in values)


def rounded(value: float | None, digits: int, hidden: bool = False) -> Any:
    """A derived statistic: SUPPRESSED when an input is hidden, None when undefined."""
    if hidden:
        return SUPPRESSED
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def to_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers become ``{"value": v, "suppressed": false}``; hidden ones ``{"value": null,
    "suppressed": true}``; text, booleans and None pass through."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if is_suppressed(value) or (isinstance(value, int | float) and not isinstance(value, bool)):
            out[key] = json_value(value)
        elif isinstance(value, Mapping):
            out[key] = to_json(value)
        elif isinstance(value, list | tuple) and value and isinstance(value[0], Mapping):
            out[key] = [to_json(v) for v in value]
        else:
            out[key] = value
    return out


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV of published rows: hidden values as the one symbol, never 0 or blank; every cell
    neutralised and quoted by :mod:`hrpipeline.csvsafe` (opened in Excel)."""
    return csvsafe.rows([columns, *([SYMBOL if is_suppressed(row.get(c)) else row.get(c)
                                     for c in columns] for row in rows)])


def csv_comment(text: str) -> str:
    """A ``# ...`` line of a CSV export (free text with names from the data): one safe cell."""
    return csvsafe.comment(text)
