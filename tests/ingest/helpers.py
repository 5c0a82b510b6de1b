"""Small builders for extract files used by the ingest tests."""

from __future__ import annotations

import io

import openpyxl

FUNNEL_HEADER_NL = "Kandidaat;Wervingscampagne;Fase;Uitkomst;Datum;Herkomst;Geslacht"


def funnel_nl(rows: list[str], header: str = FUNNEL_HEADER_NL, encoding: str = "cp1252") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


GOOD_FUNNEL_ROWS = [
    "K001;INP 2024-1;Sollicitatie;geslaagd;1/02/2024;Belgische herkomst;V",
    "K001;INP 2024-1;Cognitieve proef;niet geslaagd;1.3.2024;Belgische herkomst;V",
    "K002;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;Maghreb;M",
    "K002;INP 2024-1;Cognitieve proef;afgehaakt;2024-03-01;Maghreb;M",
    "K003;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;EU;M",
    "K003;INP 2024-1;Cognitieve proef;geslaagd;2024-03-01;EU;M",
    "K003;INP 2024-1;Persoonlijkheidstest;lopend;2024-03-15;EU;M",
    "K004;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;niet opgegeven;",
]


def xlsx(rows: list[list], sheet_title: str = "Blad1") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet_title
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
