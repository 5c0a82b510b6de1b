"""Benchmark: how long the ingest takes to refuse (or read) small hostile extracts.

    .venv/bin/python bench/ingest_bombs.py [--timeout 120] [--only NAME ...] [--src DIR]

``--src DIR`` times the ``hrpipeline`` package found in DIR instead (e.g. an older commit
unpacked with ``git archive <commit> hrpipeline | tar -x -C DIR``), for before/after figures.

Builds each file of issue 20 (items 1 and 17) in a temporary directory and times
``hrpipeline.ingest.read.read_frame`` on it (the step that did all the work), each in its own
subprocess with a wall-clock cap, so a file that still runs away is reported as
``> cap (killed)`` instead of hanging the run. Prints one line per file: size, outcome (the
problem code, or the number of rows read), seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import io
import json
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADER = "Kandidaat;Wervingscampagne;Fase;Uitkomst;Datum;Herkomst;Geslacht"


def _xlsx(sheet_xml: str) -> bytes:
    """A minimal valid workbook with one sheet whose XML is given."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="rels" ContentType="application'
            '/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
            'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats'
            '.org/officeDocument/2006/relationships"><sheets><sheet name="Blad1" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _sheet(dimension: str | None, rows_xml: str) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
            f'openxmlformats.org/spreadsheetml/2006/main">{dim}<sheetData>{rows_xml}'
            "</sheetData></worksheet>")


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def xlsx_dimension_bomb(dimension: str = "A1:XFD1048576", last: str = "XFD1048576") -> bytes:
    """A few KB: a header row and one cell at the far corner of the declared range."""
    row_number = int("".join(c for c in last if c.isdigit()))
    header = "".join(_inline(f"{col}1", name) for col, name in
                     zip("ABCDEFG", HEADER.split(";"), strict=True))
    rows = f'<row r="1">{header}</row><row r="{row_number}">{_inline(last, "x")}</row>'
    return _xlsx(_sheet(dimension, rows))


def xlsx_wide(columns: int = 16_384) -> bytes:
    from openpyxl.utils import get_column_letter

    header = "".join(_inline(f"{get_column_letter(i)}1", f"c{i}") for i in range(1, columns + 1))
    data = "".join(_inline(f"{get_column_letter(i)}2", "1") for i in range(1, columns + 1))
    return _xlsx(_sheet(f"A1:{get_column_letter(columns)}2",
                        f'<row r="1">{header}</row><row r="2">{data}</row>'))


def csv_wide(columns: int) -> bytes:
    # Fixed-width distinct names ("k0000001"): a cut-off name never repeats another.
    header = ";".join(f"k{i:07d}" for i in range(columns))
    return (header + "\r\n" + ";".join("1" for _ in range(columns)) + "\r\n").encode()


def csv_rows(rows: int, quoted: bool = False) -> bytes:
    """Short rows, so that 2,000,001 of them stay under the 50 MB upload limit. With a quoted
    cell a line may be part of a record, so the reader must parse to count records."""
    q = '"' if quoted else ""
    body = "\r\n".join(f"{n};{q}C{q};S;p;B" for n in range(rows))
    return ("Kandidaat;Campagne;Fase;Uitkomst;Herkomst\r\n" + body + "\r\n").encode()


BUILDERS = {
    "xlsx_dimension_XFD1048576": lambda: xlsx_dimension_bomb(),
    "xlsx_dimension_GR1048576": lambda: xlsx_dimension_bomb("A1:GR1048576", "GR1048576"),
    "xlsx_16384_columns": lambda: xlsx_wide(16_384),
    "csv_1000000_columns": lambda: csv_wide(1_000_000),
    "csv_30000_columns": lambda: csv_wide(30_000),
    "csv_2000001_rows": lambda: csv_rows(2_000_001),
    "csv_2000001_rows_quoted": lambda: csv_rows(2_000_001, quoted=True),
}


def _child(path: str, src: str | None) -> None:
    import inspect

    if src:
        sys.path.insert(0, src)
    from hrpipeline.ingest.problems import ExtractInvalid
    from hrpipeline.ingest.read import read_frame

    data = pathlib.Path(path).read_bytes()
    kwargs = {"as_category": True}
    if "max_rows" in inspect.signature(read_frame).parameters:
        kwargs["max_rows"] = 2_000_000  # the default MAX_UPLOAD_ROWS
    start = time.perf_counter()
    try:
        frame = read_frame(data, pathlib.Path(path).name, **kwargs)
        outcome = f"read {len(frame)} rows x {len(frame.columns)} columns"
        if "max_rows" not in kwargs and len(frame) > 2_000_000:
            outcome += " (refused after reading: too_many_rows)"
    except ExtractInvalid as err:
        outcome = f"refused: {err.problems[0].code}: {err.problems[0].message[:110]}"
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"outcome": outcome, "seconds": seconds, "rss_mb": rss}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--src", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.src)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in BUILDERS.items():
            if args.only and name not in args.only:
                continue
            path = pathlib.Path(tmp) / (name + (".xlsx" if name.startswith("xlsx") else ".csv"))
            path.write_bytes(build())
            size = path.stat().st_size
            try:
                command = [sys.executable, __file__, "--child", str(path)]
                if args.src:
                    command += ["--src", args.src]
                done = subprocess.run(command, capture_output=True, text=True,
                                      timeout=args.timeout)
                if done.returncode:
                    print(f"{name:28} failed: {done.stderr.strip().splitlines()[-1]}")
                    continue
                result = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"{name:28} {size / 1024:10.1f} KB  {result['seconds']:7.1f} s  "
                      f"{result['rss_mb']:7.0f} MB  {result['outcome']}", flush=True)
            except subprocess.TimeoutExpired:
                print(f"{name:28} {size / 1024:10.1f} KB  > {args.timeout:.0f} s (killed)",
                      flush=True)


if __name__ == "__main__":
    main()
