"""Problems found in an extract: one record per (row, column, value), with a stable code.

``row`` is the row number as the user sees it in Excel (the header is row 1; ``None`` for a
whole-file or whole-column problem). ``code`` and ``params`` are for the web layer, which
translates by code into NL/FR/EN; ``message`` is plain English and says what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hrpipeline import csvsafe
from hrpipeline.errors import ValidationFailed

#: How many problems are listed in an error response (the total is always given).
MAX_LISTED = 200


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    value: str | None
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExtractInvalid(ValidationFailed):
    """The extract is refused; ``problems`` holds every problem found (not only the first)."""

    def __init__(self, problems: list[Problem], message: str | None = None,
                 total: int | None = None):
        self.problems = list(problems)
        total = len(self.problems) if total is None else total
        self.problem_count = total
        if message is None:
            first = self.problems[0].message if self.problems else "The file has problems."
            message = first if total == 1 else f"The file has {total} problems. First: {first}"
        super().__init__(
            message,
            problems=[p.as_dict() for p in self.problems[:MAX_LISTED]],
            problem_count=total,
        )

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}


def fail(code: str, message: str, *, row: int | None = None, column: str | None = None,
         value: str | None = None, **params: Any) -> ExtractInvalid:
    """A one-problem :class:`ExtractInvalid` (for whole-file problems)."""
    return ExtractInvalid([Problem(row, column, value, code, message, params)])


def problems_to_csv(problems: list[Problem], message: Callable[[Problem], str] | None = None,
                    header: Sequence[str] = ("row", "column", "value", "code", "message"),
                    filename: str | None = None, file_header: str = "file") -> bytes:
    """All problems as a CSV error report for Belgian Excel: ``;`` separated, UTF-8 with BOM
    (so accents show correctly), every cell neutralised by :mod:`hrpipeline.csvsafe`.

    ``message`` gives each problem's sentence (the web layer passes the reader's language;
    default the English message); ``header`` names the five columns; with ``filename`` a
    first column (``file_header``) names the file on every line.
    """
    lines = [list(header)]
    lines += [["" if p.row is None else p.row, p.column or "",
               "" if p.value is None else str(p.value), p.code,
               message(p) if message is not None else p.message] for p in problems]
    if filename is not None:
        lines = [[file_header, *lines[0]], *([filename, *line] for line in lines[1:])]
    return csvsafe.rows(lines, delimiter=";", lineterminator="\r\n").encode("utf-8-sig")
