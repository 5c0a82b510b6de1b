"""Big funnel CSVs checked part by part (``hrpipeline.ingest.stream``): the same problems with
the same row numbers as the whole-file check, the same stored rows, nothing stored on failure,
and never more than one part's rows in a frame (the memory bound, asserted by counting rows,
not by timing or measuring memory)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hrpipeline.extensions import db
from hrpipeline.ingest import store, stream
from hrpipeline.ingest.problems import ExtractInvalid
from hrpipeline.ingest.read import read_frame
from hrpipeline.ingest.validate import check_extract
from hrpipeline.models import FunnelRecord, Upload
from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl

STAGES_NL = ("Sollicitatie", "Cognitieve proef", "Persoonlijkheidstest", "Fysieke proef")
GROUPS_NL = ("Belgische herkomst", "Maghreb", "EU", "niet opgegeven")


def _rows(n_candidates: int, campaign: str = "INP 2024-1") -> list[str]:
    rows = []
    for c in range(n_candidates):
        reach = 1 + c % len(STAGES_NL)
        for s in range(reach):
            outcome = "geslaagd" if s < reach - 1 else ("niet geslaagd", "afgehaakt",
                                                         "geslaagd", "lopend")[c % 4]
            rows.append(f"K{c:05d};{campaign};{STAGES_NL[s]};{outcome};{1 + s}/03/2024;"
                        f"{GROUPS_NL[c % 4]};{'VM'[c % 2]}")
    return rows


def _problems(err: ExtractInvalid) -> list[tuple]:
    return [(p.row, p.column, p.code, p.value, p.message) for p in err.problems]


def test_streamed_check_reports_what_the_whole_file_check_reports():
    rows = _rows(40)
    # Planted across parts of 7 rows: an exact copy, the same candidate+stage with another
    # outcome, a stage after a failure, an unknown stage and a bad date.
    rows.append(rows[0])                                     # duplicate_row of row 2
    rows.append(rows[3].replace("niet geslaagd", "afgehaakt").replace(
        "geslaagd;", "afgehaakt;", 1))                       # duplicate_stage (or sequence)
    failed = next(r for r in rows if "niet geslaagd" in r and "Sollicitatie" in r)
    ref = failed.split(";")[0]
    rows.append(f"{ref};INP 2024-1;Fysieke proef;geslaagd;5/03/2024;EU;V")  # after a failure
    rows.append("K99999;INP 2024-1;Zwemmen;geslaagd;1/03/2024;EU;V")         # unknown stage
    rows.append("K99998;INP 2024-1;Sollicitatie;geslaagd;31/02/2024;EU;V")   # invalid date
    data = funnel_nl(rows)
    whole = check_extract(read_frame(data, "f.csv", as_category=True), "funnel",
                          stages=None)
    streamed = stream.stream_funnel(data, "f.csv", chunk_rows=7)
    assert not whole.ok and not streamed.ok
    with pytest.raises(ExtractInvalid) as a:
        whole.raise_if_invalid()
    with pytest.raises(ExtractInvalid) as b:
        streamed.raise_if_invalid()
    codes = {p.code for p in a.value.problems}
    assert {"duplicate_row", "impossible_sequence", "unknown_stage", "invalid_date"} <= codes
    assert sorted(_problems(b.value)) == sorted(_problems(a.value))
    assert streamed.problem_count == whole.problem_count


def test_streamed_import_stores_the_same_rows_and_parts_stay_small(zones, monkeypatch):
    data = funnel_nl(_rows(60))
    largest = {"rows": 0}
    original = stream.check_extract

    def counting(frame, *args, **kwargs):
        largest["rows"] = max(largest["rows"], len(frame))
        return original(frame, *args, **kwargs)

    monkeypatch.setattr(stream, "check_extract", counting)
    monkeypatch.setattr(stream, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 11)
    streamed = store.import_extract(zone=zones["ANT"], kind="funnel", data=data,
                                    filename="big.csv")
    assert 0 < largest["rows"] <= 11  # never more than one part in a frame
    monkeypatch.setattr(stream, "STREAM_MIN_BYTES", 10 ** 12)
    whole = store.import_extract(zone=zones["GNT"], kind="funnel", data=data,
                                 filename="small.csv")

    def stored(upload: Upload) -> list[tuple]:
        cols = (FunnelRecord.candidate_ref, FunnelRecord.campaign, FunnelRecord.campaign_year,
                FunnelRecord.stage, FunnelRecord.outcome, FunnelRecord.stage_date,
                FunnelRecord.migration_background, FunnelRecord.gender)
        return sorted(db.session.execute(select(*cols).where(
            FunnelRecord.upload_id == upload.id)).all())

    assert streamed.row_count == whole.row_count == len(stored(whole)) > 100
    assert stored(streamed) == stored(whole)


def test_a_failure_while_writing_a_streamed_file_stores_nothing(zones, db_counts, monkeypatch):
    before = db_counts()
    monkeypatch.setattr(stream, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 9)
    monkeypatch.setattr(store, "CHUNK_ROWS", 5)
    calls = {"n": 0}
    real = store.write_chunk

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full (planted)")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "write_chunk", failing)
    with pytest.raises(OSError):
        store.import_extract(zone=zones["ANT"], kind="funnel", data=funnel_nl(_rows(30)),
                             filename="big.csv")
    assert calls["n"] == 4
    assert db_counts() == before


def test_a_campaign_without_a_year_falls_back_to_the_whole_file_check(zones, monkeypatch):
    monkeypatch.setattr(stream, "STREAM_MIN_BYTES", 0)
    rows = [r.replace("INP 2024-1", "Voorjaar") for r in GOOD_FUNNEL_ROWS]
    with pytest.raises(stream.StreamNotPossible):
        stream.stream_funnel(funnel_nl(rows), "f.csv", chunk_rows=3)
    upload = store.import_extract(zone=zones["ANT"], kind="funnel", data=funnel_nl(rows),
                                  filename="f.csv")
    years = set(db.session.scalars(select(FunnelRecord.campaign_year).where(
        FunnelRecord.upload_id == upload.id)))
    assert years == {2024}  # from the earliest stage date, over the whole file


def test_a_header_problem_is_reported_once(monkeypatch):
    data = funnel_nl(_rows(20), header="Kandidaat;Wervingscampagne;Xyz;Uitkomst;Datum;Herkomst;Geslacht")
    result = stream.stream_funnel(data, "f.csv", chunk_rows=5)
    assert [p.code for p in result.problems] == ["missing_column"]
    assert result.problem_count == 1
