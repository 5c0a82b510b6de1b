"""Storage: atomic (all rows or none), idempotent (same file once), replace with audit.
Runs on SQLite by default and on PostgreSQL with HRPIPELINE_TEST_DATABASE_URL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from hrpipeline.errors import Conflict
from hrpipeline.extensions import db
from hrpipeline.ingest import store
from hrpipeline.ingest.cli import import_command
from hrpipeline.ingest.problems import ExtractInvalid
from hrpipeline.ingest.store import import_extract, store_frame
from hrpipeline.models import (
    AuditLog,
    CountRecord,
    FunnelRecord,
    Upload,
    WorkforceRecord,
    ZoneStage,
)
from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl, xlsx

REF = dt.date(2025, 1, 1)


def _import(zone, data, kind="funnel", **kw):
    return import_extract(zone=zone, kind=kind, data=data, filename=f"x.{kind}.csv",
                          reference_date=REF, **kw)


def test_funnel_stored_with_canonical_values(zones, make_user):
    user = make_user("hr_manager", ["ANT"])
    upload = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=user)
    assert (upload.row_count, upload.status, upload.campaign) == (8, "stored", "INP 2024-1")
    rows = db.session.execute(
        select(FunnelRecord.candidate_ref, FunnelRecord.stage, FunnelRecord.outcome,
               FunnelRecord.stage_date, FunnelRecord.migration_background,
               FunnelRecord.campaign_year, FunnelRecord.gender)
        .order_by(FunnelRecord.id)).all()
    assert rows[1] == ("K001", "cognitive_test", "failed", dt.date(2024, 3, 1),
                       "belgian_origin", 2024, "female")
    assert rows[3][2] == "withdrew" and rows[2][4] == "non_eu_background"
    assert rows[7][4] == "unknown" and rows[7][6] == "unknown"
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "upload")).one()
    assert log.user_id == user.id and log.detail["rows"] == 8


def test_same_file_twice_refused_with_pointer(zones, db_counts, make_user):
    user = make_user("hr_manager", ["ANT"], username="hr.ant")
    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=user)
    before = db_counts()
    with pytest.raises(Conflict) as info:
        _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS))
    assert info.value.extra["upload_id"] == first.id
    assert info.value.extra["uploaded_by"] == "hr.ant"
    assert f"#{first.id}" in info.value.message
    assert db_counts() == before
    # Another zone may upload the same bytes.
    assert _import(zones["GNT"], funnel_nl(GOOD_FUNNEL_ROWS)).row_count == 8


def test_unique_constraint_is_final_arbiter(zones, db_counts, monkeypatch):
    _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS))
    # Simulate a race: both requests passed the pre-check before either committed.
    monkeypatch.setattr(store, "_refuse_same_file", lambda zone, sha: None)
    monkeypatch.setattr(store, "_overlapping", lambda zone, v: [])
    before = db_counts()
    with pytest.raises(Conflict) as info:
        _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS))
    assert info.value.extra["upload_id"] is not None
    assert db_counts() == before


def test_newer_extract_same_campaign_needs_replace(zones, db_counts):
    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS))
    newer = funnel_nl(GOOD_FUNNEL_ROWS[:4])
    before = db_counts()
    with pytest.raises(Conflict) as info:
        _import(zones["ANT"], newer)
    assert info.value.extra["replace_required"] and info.value.extra["upload_id"] == first.id
    assert db_counts() == before

    second = _import(zones["ANT"], newer, replace=True)
    db.session.refresh(first)
    assert first.status == "replaced" and second.replaces_id == first.id
    stored = db.session.scalars(select(FunnelRecord.upload_id)).all()
    assert stored == [second.id] * 4
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    # the refusal without 'replace' is logged too (issue 15)
    assert actions == ["upload", "upload_refused", "upload_replaced", "upload"]


def test_failure_midway_through_bulk_insert_leaves_nothing(zones, db_counts, monkeypatch):
    calls = {"n": 0}
    real = store.write_chunk

    def failing(connection, table, chunk, upload_id, zone_id):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full (injected)")
        real(connection, table, chunk, upload_id, zone_id)

    monkeypatch.setattr(store, "CHUNK_ROWS", 3)
    monkeypatch.setattr(store, "write_chunk", failing)
    before = db_counts()
    with pytest.raises(RuntimeError):
        _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS))
    assert calls["n"] == 2
    assert db_counts() == before
    # The zone can upload the same file afterwards (no half-stored upload blocks it).
    monkeypatch.setattr(store, "write_chunk", real)
    assert _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS)).row_count == 8


def test_failed_replace_keeps_the_old_upload(zones, db_counts, monkeypatch):
    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS))
    before = db_counts()
    monkeypatch.setattr(store, "write_chunk", lambda *a: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS[:4]), replace=True)
    assert db_counts() == before
    assert db.session.get(Upload, first.id).status == "stored"


def test_counts_funnel_table_long_with_source_suppression(zones):
    data = ("Campagne;Fase;Herkomst;Geslaagd;Niet geslaagd;Afgehaakt;Lopend\r\n"
            "INP 2024-1;Sollicitatie;Belgische herkomst;1.234;30;-;0\r\n"
            "INP 2024-1;Sollicitatie;Maghreb;1 020;**;<5;x\r\n"
            "INP 2024-1;Fysieke proef;EU;12;:c;3;0\r\n").encode("cp1252")
    upload = _import(zones["ANT"], data, kind="counts")
    assert upload.row_count == 12
    rows = {(r.stage, r.migration_background, r.outcome): (r.count, r.source_suppressed)
            for r in db.session.scalars(select(CountRecord))}
    assert rows[("application", "belgian_origin", "passed")] == (1234, False)
    assert rows[("application", "belgian_origin", "withdrew")] == (0, False)
    assert rows[("application", "non_eu_background", "passed")] == (1020, False)
    assert rows[("application", "non_eu_background", "failed")] == (None, True)
    assert rows[("application", "non_eu_background", "withdrew")] == (None, True)
    assert rows[("physical_test", "eu_background", "failed")] == (None, True)
    assert {r.campaign_year for r in db.session.scalars(select(CountRecord))} == {2024}


def test_headcount_table(zones):
    data = ("Peildatum;Herkomst;Graad;Aantal\r\n"
            "31/12/2023;Belgische herkomst;inspecteur;1.204\r\n"
            "31/12/2023;niet-EU;inspecteur;<5\r\n").encode("cp1252")
    _import(zones["ANT"], data, kind="counts")
    rows = db.session.execute(select(CountRecord.table_kind, CountRecord.ref_date,
                                     CountRecord.rank, CountRecord.count,
                                     CountRecord.source_suppressed)
                              .order_by(CountRecord.id)).all()
    assert rows == [("headcount", dt.date(2023, 12, 31), "inspector", 1204, False),
                    ("headcount", dt.date(2023, 12, 31), "inspector", None, True)]


def test_workforce_xlsx_french_with_excel_dates(zones):
    data = xlsx([
        ["Matricule", "Origine", "Sexe", "Grade", "Date d'entrée", "Date de sortie",
         "Type de départ", "Motif de départ", "Commentaire"],
        ["M001", "origine belge", "F", "inspecteur principal", dt.datetime(2012, 9, 1), None,
         None, None, None],
        ["M002", "Turquie", "H", "Inspecteur", 42248, dt.datetime(2021, 6, 30), "démission",
         "charge de travail", "Trop de nuits"],
    ])
    upload = import_extract(zone=zones["CRL"], kind="workforce", data=data,
                            filename="wf.xlsx", reference_date=REF)
    assert upload.row_count == 2
    rows = db.session.execute(select(
        WorkforceRecord.officer_ref, WorkforceRecord.migration_background,
        WorkforceRecord.rank, WorkforceRecord.hire_date, WorkforceRecord.exit_date,
        WorkforceRecord.exit_type, WorkforceRecord.exit_reason, WorkforceRecord.exit_comment)
        .order_by(WorkforceRecord.officer_ref)).all()
    assert rows[0] == ("M001", "belgian_origin", "chief_inspector", dt.date(2012, 9, 1), None,
                       None, None, None)
    # 42248 is Excel's serial day number for 2015-09-01 (1900 date system).
    assert rows[1] == ("M002", "non_eu_background", "inspector", dt.date(2015, 9, 1),
                       dt.date(2021, 6, 30), "voluntary", "workload", "Trop de nuits")


def test_second_workforce_snapshot_needs_replace(zones):
    first = xlsx([["officer", "origin", "hire date"], ["P1", "belgian", "2015-01-01"]])
    second = xlsx([["officer", "origin", "hire date"], ["P1", "belgian", "2015-01-01"],
                   ["P2", "EU", "2016-01-01"]])
    import_extract(zone=zones["ANT"], kind="workforce", data=first, filename="a.xlsx")
    with pytest.raises(Conflict):
        import_extract(zone=zones["ANT"], kind="workforce", data=second, filename="b.xlsx")
    up = import_extract(zone=zones["ANT"], kind="workforce", data=second, filename="b.xlsx",
                        replace=True)
    assert db.session.scalars(select(WorkforceRecord.upload_id)).all() == [up.id, up.id]


def test_zone_stage_configuration_is_used(zones, db_counts):
    zone = zones["BXI"]
    for i, stage in enumerate(("application", "interview", "appointed")):
        db.session.add(ZoneStage(zone_id=zone.id, position=i, stage=stage))
    db.session.commit()
    before = db_counts()
    with pytest.raises(ExtractInvalid) as info:
        _import(zone, funnel_nl(GOOD_FUNNEL_ROWS))  # uses cognitive_test, not configured
    assert info.value.codes == {"unknown_stage"}
    assert "application, interview, appointed" in info.value.problems[0].message
    assert db_counts() == before


def test_store_frame_validates_canonical_frames(zones, db_counts):
    frame = pd.DataFrame({
        "candidate_ref": ["C1", "C1", "C2"], "campaign": ["INP 2023-2"] * 3,
        "stage": ["application", "cognitive_test", "application"],
        "outcome": ["passed", "passed", "withdrew"],
        "stage_date": pd.to_datetime(["2023-09-01", "2023-10-01", "2023-09-01"]),
        "migration_background": ["belgian_origin", "belgian_origin", "eu_background"],
    })
    upload = store_frame(zone=zones["GNT"], kind="funnel", frame=frame, filename="demo.csv",
                         sha256="a" * 64)
    assert upload.row_count == 3
    assert db.session.scalars(select(AuditLog.action)).all() == ["upload"]
    bad = frame.assign(outcome=["passed", "maybe", "passed"])
    before = db_counts()
    with pytest.raises(ExtractInvalid) as info:
        store_frame(zone=zones["ANT"], kind="funnel", frame=bad, filename="d.csv",
                    sha256="b" * 64)
    assert info.value.codes == {"invalid_value"} and info.value.problems[0].row == 3
    assert db_counts() == before


def test_cli_import_success_and_failure(app, zones, tmp_path, db_counts):
    runner = app.test_cli_runner()
    good = tmp_path / "funnel.csv"
    good.write_bytes(funnel_nl(GOOD_FUNNEL_ROWS))
    result = runner.invoke(import_command, [str(good), "--zone", "ANT", "--kind", "funnel",
                                            "--reference-date", "2025-01-01"])
    assert result.exit_code == 0, result.output
    assert "Stored upload #" in result.output and "8 funnel rows" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(funnel_nl(GOOD_FUNNEL_ROWS + [
        "K009;INP 2025-1;Kookproef;geslaagd;2024-02-01;EU;M"]))
    errors = tmp_path / "errors.csv"
    before = db_counts()
    result = runner.invoke(import_command, [str(bad), "--zone", "ANT", "--kind", "funnel",
                                            "--errors-csv", str(errors)])
    assert result.exit_code == 2
    assert "unknown_stage" in result.output and "Nothing was stored" in result.output
    assert errors.read_bytes().startswith(b"\xef\xbb\xbfrow;column")
    assert db_counts() == before
    again = runner.invoke(import_command, [str(good), "--zone", "ANT", "--kind", "funnel"])
    assert again.exit_code == 3 and "already uploaded" in again.output


def test_refused_upload_is_audited_after_the_rollback(zones, make_user):
    user = make_user("hr_manager", ["ANT"], username="hr.ant")
    with pytest.raises(ExtractInvalid):
        _import(zones["ANT"], b"not,a,funnel\n1,2,3\n", user=user)
    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=user)
    with pytest.raises(Conflict):
        _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=user)
    refused = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "upload_refused")
                                      .order_by(AuditLog.id)))
    assert [(e.username, e.zone_id, e.detail["status"]) for e in refused] == [
        ("hr.ant", zones["ANT"].id, 422), ("hr.ant", zones["ANT"].id, 409)]
    assert refused[0].detail["problems"] >= 1
    assert db.session.scalar(select(Upload.id)) == first.id
