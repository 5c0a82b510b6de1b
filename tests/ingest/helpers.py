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


# --- hand-written workbooks (for sheets openpyxl would not write: declared ranges, gaps) ----
def _part(xml: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + xml


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def raw_xlsx(rows_xml: str, dimension: str | None = None) -> bytes:
    """A minimal workbook whose one sheet ("Blad1") has exactly this ``<sheetData>`` content
    and, if given, this declared ``<dimension ref=...>``."""
    import zipfile

    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    parts = {
        "[Content_Types].xml": _part(
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"'
            "/></Types>"),
        "_rels/.rels": _part(
            f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": _part(
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets><sheet name="Blad1" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": _part(
            f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": _part(
            f'<worksheet xmlns="{_MAIN}">{dim}<sheetData>{rows_xml}</sheetData></worksheet>'),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def cell(ref: str, text: str) -> str:
    """An inline-string cell."""
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_row(number: int, cells: list[str]) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


FUNNEL_HEADER_CELLS = [cell(f"{col}1", name) for col, name in
                       zip("ABCDEFG", FUNNEL_HEADER_NL.split(";"), strict=True)]


# --- concurrency ----------------------------------------------------------------------------
#: Seconds a thread waits at the barrier for the other one (given up under the zone lock).
BARRIER_WAIT = 1.0


def race(app, monkeypatch, jobs):
    """Run ``jobs`` (callables taking no argument) in parallel threads, each held right after
    its overlap check until all have reached it (or BARRIER_WAIT has passed)."""
    import threading

    from hrpipeline.extensions import db
    from hrpipeline.ingest import store

    barrier = threading.Barrier(len(jobs))
    real = store._overlapping

    def held(zone, v):
        found = real(zone, v)
        try:
            barrier.wait(timeout=BARRIER_WAIT)
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(store, "_overlapping", held)
    outcomes: list = [None] * len(jobs)

    def run(i, job):
        with app.app_context():
            try:
                outcomes[i] = job()
            except Exception as exc:  # collected and asserted on below
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()
    return outcomes
