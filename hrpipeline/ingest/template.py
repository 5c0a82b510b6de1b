"""Empty extract templates (.xlsx) in Dutch, French or English, with drop-down lists.

The header row uses the language's column names (:data:`~hrpipeline.ingest.columns.HEADERS`);
every category column gets a drop-down list (openpyxl ``DataValidation``) of its accepted
values as that language writes them, kept on a second sheet. A file filled in from a template
passes the column and value checks of :mod:`hrpipeline.ingest.validate` as it is.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from hrpipeline.domain import DEFAULT_STAGES
from hrpipeline.ingest.columns import KIND_COLUMNS, VALUE_FIELDS, written_header, written_values

#: Rows of the data sheet that carry the drop-down lists.
TEMPLATE_ROWS = 5000
LAYOUTS = tuple(KIND_COLUMNS)


def template_columns(layout: str) -> list[str]:
    """The template's columns: every column of the layout (required ones first)."""
    from hrpipeline.ingest.validate import required_fields

    required = required_fields(layout)
    if layout == "counts_funnel":
        required = [*required, "passed", "failed", "withdrew", "pending"]
    rest = [f for f in KIND_COLUMNS[layout] if f not in required]
    return [*required, *rest]


def template_xlsx(layout: str, lang: str, *, sheet_names: tuple[str, str] = ("data", "lists"),
                  notes: Mapping[str, str] | None = None,
                  stages: list[str] | None = None) -> bytes:
    """An empty template for ``layout`` in ``lang`` (``nl``/``fr``/``en``) as .xlsx bytes.

    ``notes`` (column → a short explanation) become the header cells' comments; ``stages``
    is the zone's stage list (default :data:`DEFAULT_STAGES`).
    """
    from openpyxl.comments import Comment

    from hrpipeline.ingest.validate import required_fields

    if layout not in KIND_COLUMNS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    book = Workbook()
    data = book.active
    data.title = sheet_names[0]
    lists = book.create_sheet(sheet_names[1])
    required = set(required_fields(layout))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    list_column = 0
    for position, field in enumerate(template_columns(layout), start=1):
        cell = data.cell(row=1, column=position, value=written_header(field, lang))
        cell.font = bold
        if field in required:
            cell.fill = fill
        if notes and notes.get(field):
            cell.comment = Comment(notes[field], "hrpipeline")
        letter = get_column_letter(position)
        data.column_dimensions[letter].width = max(14, len(str(cell.value)) + 4)
        if field not in VALUE_FIELDS:
            continue
        canonical = (stages or list(DEFAULT_STAGES)) if field == "stage" else None
        values = written_values(field, lang, canonical)
        list_column += 1
        list_letter = get_column_letter(list_column)
        lists.cell(row=1, column=list_column, value=written_header(field, lang)).font = bold
        for row, value in enumerate(values, start=2):
            lists.cell(row=row, column=list_column, value=value)
        check = DataValidation(
            type="list", allow_blank=field not in required,
            formula1=f"'{lists.title}'!${list_letter}$2:${list_letter}${len(values) + 1}")
        check.error = ", ".join(values)
        check.showErrorMessage = True
        data.add_data_validation(check)
        check.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
    data.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
