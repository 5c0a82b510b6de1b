"""The example extracts in ``examples/`` are valid, contain no PII, and import cleanly."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
from sqlalchemy import func, select

from hrpipeline.extensions import db
from hrpipeline.ingest.read import read_table
from hrpipeline.ingest.store import import_extract
from hrpipeline.models import CountRecord

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
CASES = [("funnel_nl.csv", "funnel", "ANT"), ("funnel_fr.csv", "funnel", "CRL"),
         ("funnel_en.xlsx", "funnel", "BXN"), ("workforce_nl.csv", "workforce", "GNT"),
         ("workforce_fr.xlsx", "workforce", "CRL"), ("counts_nl.csv", "counts", "ANT")]


@pytest.mark.parametrize("name,kind,zone", CASES)
def test_example_imports(name, kind, zone, zones):
    data = (EXAMPLES / name).read_bytes()
    upload = import_extract(zone=zones[zone], kind=kind, data=data, filename=name,
                            reference_date=dt.date(2025, 1, 1))
    assert upload.row_count >= 20


def test_funnel_nl_is_cp1252_semicolon():
    frame = read_table((EXAMPLES / "funnel_nl.csv").read_bytes(), "funnel_nl.csv")
    assert frame.attrs["encoding"] == "cp1252" and frame.attrs["delimiter"] == ";"


def test_counts_example_has_a_source_suppressed_cell(zones):
    import_extract(zone=zones["ANT"], kind="counts", filename="counts_nl.csv",
                   data=(EXAMPLES / "counts_nl.csv").read_bytes())
    hidden = db.session.scalar(select(func.count()).where(CountRecord.source_suppressed,
                                                          CountRecord.count.is_(None)))
    assert hidden >= 1
