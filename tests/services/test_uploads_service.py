"""Preview, withdraw and restore (services/uploads.py): a preview stores nothing; a withdrawn
upload's rows count in no analysis (funnel counts, the retention workforce), the data version
moves with every status change, the audit log has the reason; restoring brings the rows back;
withdrawing a replacement brings the replaced upload back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from hrpipeline.errors import Conflict, NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.ingest.store import import_extract
from hrpipeline.models import ARCHIVES, AuditLog, FunnelRecord, Upload, WorkforceRecord
from hrpipeline.services import uploads as service
from hrpipeline.services.funnel_data import funnel_counts
from hrpipeline.services.releases import data_version
from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl

REF = dt.date(2025, 1, 1)
WORKFORCE = ("Personeelsnummer;Herkomst;Geslacht;Graad;Datum in dienst;Datum uit dienst\r\n"
             "P001;Belgische herkomst;M;inspecteur;01/02/2015;\r\n"
             "P002;Maghreb;V;inspecteur;01/03/2016;30/06/2020\r\n"
             "P003;EU;M;hoofdinspecteur;01/09/2010;\r\n")


def _import(zone, data, kind="funnel", **kw):
    return import_extract(zone=zone, kind=kind, data=data, filename=f"x.{kind}.csv",
                          reference_date=REF, **kw)


def _records(model=FunnelRecord) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def hr(make_user):
    return make_user("hr_manager", ["ANT"], username="hr.ant")


def test_preview_stores_nothing_and_says_what_would_be_replaced(zones, hr, db_counts):
    before = db_counts()
    preview = service.preview_upload(zone=zones["ANT"], kind="funnel",
                                     data=funnel_nl(GOOD_FUNNEL_ROWS), filename="a.csv",
                                     user=hr, reference_date=REF)
    assert db_counts() == before
    assert (preview.rows, preview.campaigns, preview.years) == (8, ["INP 2024-1"], [2024])
    assert preview.groups == {"belgian_origin": 2, "non_eu_background": 2,
                              "eu_background": 3, "unknown": 1}
    assert preview.removes == [] and preview.dates == ["2024-02-01", "2024-03-15"]

    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=hr)
    newer = service.preview_upload(zone=zones["ANT"], kind="funnel",
                                   data=funnel_nl(GOOD_FUNNEL_ROWS[:4]), filename="b.csv",
                                   user=hr, reference_date=REF)
    assert [u.id for u in newer.removes] == [first.id]
    assert newer.as_dict()["removes"][0]["row_count"] == 8


def test_preview_of_the_same_file_says_already_stored(zones, hr):
    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=hr)
    with pytest.raises(Conflict) as info:
        service.preview_upload(zone=zones["ANT"], kind="funnel",
                               data=funnel_nl(GOOD_FUNNEL_ROWS), filename="a.csv", user=hr,
                               reference_date=REF)
    assert info.value.key == "already_stored" and info.value.extra["upload_id"] == first.id
    assert "replace" not in info.value.message
    refused = service.refused_attempts(hr)
    assert refused[0]["reason"] == "already_stored" and refused[0]["zone"] == "ANT"


def test_withdrawn_rows_count_nowhere_and_restore_brings_them_back(zones, hr):
    upload = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=hr)
    before_version = data_version(zones["ANT"].id)
    assert int(funnel_counts(2024, [zones["ANT"]])["n"].sum()) == 8

    service.withdraw_upload(hr, upload.id, "wrong campaign file")
    assert upload.status == "withdrawn" and upload.status_reason == "wrong campaign file"
    assert _records() == 0 and funnel_counts(2024, [zones["ANT"]]).empty
    archived = db.session.scalar(select(func.count()).select_from(ARCHIVES["funnel_records"]))
    assert archived == 8
    withdrawn_version = data_version(zones["ANT"].id)
    assert withdrawn_version != before_version
    entry = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "upload_withdrawn")).one()
    assert entry.detail["reason"] == "wrong campaign file" and entry.user_id == hr.id

    service.restore_upload(hr, upload.id)
    assert upload.status == "stored" and _records() == 8
    assert int(funnel_counts(2024, [zones["ANT"]])["n"].sum()) == 8
    assert data_version(zones["ANT"].id) not in (before_version, withdrawn_version)
    assert db.session.scalar(select(func.count()).select_from(ARCHIVES["funnel_records"])) == 0
    assert "upload_restored" in db.session.scalars(select(AuditLog.action)).all()


def test_a_withdrawn_workforce_is_not_loaded_by_retention(zones, hr):
    from hrpipeline.services.retention import load_workforce

    upload = _import(zones["ANT"], WORKFORCE.encode(), kind="workforce", user=hr)
    assert len(load_workforce().frame) == 3
    service.withdraw_upload(hr, upload.id, "test extract, not real")
    assert _records(WorkforceRecord) == 0
    with pytest.raises(NotFound):
        load_workforce()
    service.restore_upload(hr, upload.id)
    assert len(load_workforce().frame) == 3


def test_withdrawing_a_replacement_restores_the_replaced_upload(zones, hr):
    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=hr)
    second = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS[:4]), user=hr, replace=True)
    assert first.status == "replaced" and _records() == 4
    done = service.withdraw_upload(hr, second.id, "the older file was right")
    assert done.restored_id == first.id
    db.session.refresh(first)
    assert (first.status, second.status) == ("stored", "withdrawn")
    assert set(db.session.scalars(select(FunnelRecord.upload_id))) == {first.id}
    assert _records() == 8
    # The new one cannot come back while the old one holds the campaign.
    with pytest.raises(Conflict) as info:
        service.restore_upload(hr, second.id)
    assert info.value.key == "restore_blocked" and info.value.extra["upload_id"] == first.id
    assert _records() == 8


def test_withdraw_needs_a_reason_scope_and_a_stored_upload(zones, hr, make_user):
    upload = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=hr)
    with pytest.raises(ValidationFailed):
        service.withdraw_upload(hr, upload.id, "  ")
    other = make_user("hr_manager", ["GNT"])
    with pytest.raises(NotFound):
        service.withdraw_upload(other, upload.id, "not my zone")
    service.withdraw_upload(hr, upload.id, "a reason")
    with pytest.raises(Conflict) as info:
        service.withdraw_upload(hr, upload.id, "again")
    assert info.value.key == "not_stored"
    assert _records() == 0


def test_a_preview_is_refused_if_the_stored_uploads_changed(zones, hr):
    first = _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS), user=hr)
    # The preview showed nothing to replace, but meanwhile upload `first` holds the campaign.
    with pytest.raises(Conflict) as info:
        _import(zones["ANT"], funnel_nl(GOOD_FUNNEL_ROWS[:4]), user=hr, replace=True,
                replaces=[])
    assert info.value.key == "preview_outdated"
    db.session.refresh(first)
    assert first.status == "stored" and _records() == 8
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 1
