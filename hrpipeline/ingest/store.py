"""Store a validated extract: atomically (all rows or none) and idempotently (same file once).

One transaction holds the ``uploads`` row, every record, the replaced upload's deletion and
the audit entries; any failure rolls it all back. The overlap check ("this zone already has
that campaign / a workforce snapshot") and the insert are serialised per zone: the
transaction first locks the zone's row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite a
no-op write that takes the database's single write lock), so two near-identical files sent at
once cannot both pass the check (issue 20, item 2). Records are written in bulk: SQLAlchemy Core
the driver's executemany of tuples in chunks on SQLite, ``COPY … FROM STDIN`` through psycopg 3 on the
session's own connection on PostgreSQL (so the COPY is inside the same transaction). No
per-row ORM objects are created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import repeat

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import (
    Table,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from hrpipeline.audit import audit
from hrpipeline.domain import EXTRACT_KINDS
from hrpipeline.errors import Conflict, DomainError, ServiceUnavailable, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.ingest.problems import ExtractInvalid, fail
from hrpipeline.ingest.read import read_frame
from hrpipeline.ingest.stream import Spool, StreamNotPossible, stream_funnel
from hrpipeline.ingest.validate import Validated, check_extract
from hrpipeline.models import (
    ARCHIVES,
    CountRecord,
    FunnelRecord,
    Upload,
    User,
    WorkforceRecord,
    Zone,
    ZoneStage,
    utcnow,
)

#: Rows per executemany / COPY chunk: bounds memory whatever the file size.
CHUNK_ROWS = 50_000
#: Distinct campaigns a zone may hold (funnel records and aggregate funnel tables together);
#: a zone runs a few a year, and every one is an entry of the funnel pages' catalogue.
MAX_CAMPAIGNS_PER_ZONE = 200
#: Imports one user may run at once in this process (a parse holds a CPU for seconds).
MAX_IMPORTS_PER_USER = 1


class ImportInProgress(DomainError):
    """The user already has an import running (HTTP 429)."""

    status, code, title = 429, "import_in_progress", "An import is already running"


_running: dict[int, int] = {}
_running_lock = threading.Lock()


@contextmanager
def _import_slot(user: User | None):
    """At most :data:`MAX_IMPORTS_PER_USER` concurrent imports per user (per process: with
    several server processes a user can run one per process)."""
    user_id = getattr(user, "id", None)
    if user_id is None:
        yield
        return
    with _running_lock:
        if _running.get(user_id, 0) >= MAX_IMPORTS_PER_USER:
            raise ImportInProgress(
                "An import of yours is still running. Wait until it has finished, then "
                "upload again.", key="import_in_progress", limit=MAX_IMPORTS_PER_USER)
        _running[user_id] = _running.get(user_id, 0) + 1
    try:
        yield
    finally:
        with _running_lock:
            _running[user_id] -= 1
            if not _running[user_id]:
                del _running[user_id]

_COLUMNS = {
    "funnel": ("candidate_ref", "campaign", "campaign_year", "stage", "outcome", "stage_date",
               "migration_background", "gender", "age_band"),
    "workforce": ("officer_ref", "migration_background", "gender", "rank", "hire_date",
                  "exit_date", "exit_type", "exit_reason", "exit_comment"),
    "counts": ("table_kind", "campaign", "campaign_year", "stage", "outcome",
               "migration_background", "rank", "ref_date", "count", "source_suppressed"),
}
_TABLES: dict[str, Table] = {
    "funnel": FunnelRecord.__table__,
    "workforce": WorkforceRecord.__table__,
    "counts": CountRecord.__table__,
}
_DATE_COLUMNS = {"stage_date", "hire_date", "exit_date", "ref_date"}


def zone_stage_list(zone: Zone) -> list[str] | None:
    """The zone's configured stage order, or ``None`` for the default stages."""
    stages = db.session.scalars(
        select(ZoneStage.stage).where(ZoneStage.zone_id == zone.id).order_by(ZoneStage.position)
    ).all()
    return list(stages) or None


def import_extract(*, zone: Zone, kind: str, data: bytes, filename: str,
                   user: User | None = None, replace: bool = False, sheet: str | None = None,
                   reference_date: dt.date | None = None,
                   replaces: list[int] | None = None) -> Upload:
    """Parse, validate and store one extract file for ``zone``; return the new upload.

    Raises :class:`ExtractInvalid` (422, with every problem) for bad input and
    :class:`~hrpipeline.errors.Conflict` (409) for a file already uploaded for this zone, or
    a funnel extract for campaigns already stored (unless ``replace``). ``replaces`` (the
    upload ids a preview showed as removed) makes the import refuse (409) if the uploads it
    would replace are no longer exactly those. A refusal is written to the audit log
    (``upload_refused``) after the rollback.
    """
    try:
        return _import_extract(zone=zone, kind=kind, data=data, filename=filename, user=user,
                               replace=replace, sheet=sheet, reference_date=reference_date,
                               replaces=replaces)
    except (ValidationFailed, Conflict) as err:
        _refused(err, user, zone, kind, filename)
        raise


def _refused(err: ValidationFailed | Conflict, user: User | None, zone: Zone, kind: str,
             filename: str, preview: bool = False) -> None:
    db.session.rollback()
    problems = list(getattr(err, "problems", None) or [])
    _audit("upload_refused", user, zone, kind=kind, filename=(filename or "upload")[:255],
           status=err.status, reason=err.key or err.code,
           problems=getattr(err, "problem_count", None) or err.extra.get("problem_count"),
           first=problems[0].code if problems else None, preview=preview or None)
    db.session.commit()


def _read_and_check(*, zone: Zone, kind: str, data: bytes, filename: str,
                    sheet: str | None, reference_date: dt.date | None,
                    stream: bool = False) -> Validated:
    max_rows = current_app.config.get("MAX_UPLOAD_ROWS") or None
    if stream and kind == "funnel" and _streamable(data, filename):
        # A big funnel CSV is checked part by part and set aside on disk: memory is bounded
        # by the part, whatever the file size (issue 18 item 3).
        try:
            return stream_funnel(data, filename, stages=zone_stage_list(zone),
                                 reference_date=reference_date, max_rows=max_rows
                                 ).raise_if_invalid()
        except StreamNotPossible:
            pass
    # Rows and columns are bounded while the file is read (issue 20, items 1 and 17).
    frame = read_frame(data, filename, sheet=sheet, as_category=True, max_rows=max_rows)
    return check_extract(frame, kind, stages=zone_stage_list(zone),
                         reference_date=reference_date).raise_if_invalid()


def _check_size(data: bytes) -> None:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and len(data) > limit:
        raise fail("file_too_large",
                   f"The file is {len(data) / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB. "
                   "Split it (e.g. one file per campaign or year) or remove unused columns.",
                   size=len(data), limit=limit)


def preview_extract(*, zone: Zone, kind: str, data: bytes, filename: str,
                    user: User | None = None, sheet: str | None = None,
                    reference_date: dt.date | None = None) -> tuple[Validated, list[Upload]]:
    """Check a file as :func:`import_extract` would and store nothing: the checked extract
    and the stored uploads that storing it with ``replace`` would remove.

    Raises the same errors as :func:`import_extract` (a refusal is audited as
    ``upload_refused`` with ``preview``), except for an overlap, which is the answer.
    """
    try:
        _check_kind(kind)
        _check_size(data)
        with _import_slot(user):
            _refuse_same_file(zone, hashlib.sha256(data).hexdigest())
            validated = _read_and_check(zone=zone, kind=kind, data=data, filename=filename,
                                        sheet=sheet, reference_date=reference_date)
            older = _overlapping(zone, validated)
            _refuse_campaign_overflow(zone, validated, older)
            return validated, older
    except (ValidationFailed, Conflict) as err:
        _refused(err, user, zone, kind, filename, preview=True)
        raise


def _import_extract(*, zone: Zone, kind: str, data: bytes, filename: str, user: User | None,
                    replace: bool, sheet: str | None, reference_date: dt.date | None,
                    replaces: list[int] | None = None) -> Upload:
    _check_kind(kind)
    _check_size(data)
    with _import_slot(user):
        sha256 = hashlib.sha256(data).hexdigest()
        _refuse_same_file(zone, sha256)
        validated = _read_and_check(zone=zone, kind=kind, data=data, filename=filename,
                                    sheet=sheet, reference_date=reference_date, stream=True)
        try:
            return _store(zone, validated, filename, sha256, user, replace, reference_date,
                          replaces)
        finally:
            if isinstance(validated.frame, Spool):
                validated.frame.close()


def _streamable(data: bytes, filename: str) -> bool:
    """A CSV (not a workbook) large enough to be checked part by part."""
    from hrpipeline.ingest import stream

    name = (filename or "").lower()
    workbook = name.endswith((".xlsx", ".xlsm", ".xls", ".ods", ".numbers")) or data.startswith(
        (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))
    return not workbook and len(data) >= stream.STREAM_MIN_BYTES


def store_frame(*, zone: Zone, kind: str, frame: pd.DataFrame, filename: str, sha256: str,
                user: User | None = None, reference_date: dt.date | None = None,
                replace: bool = False) -> Upload:
    """Validate and store an already-canonical frame (e.g. the synthetic demo data)."""
    _check_kind(kind)
    _refuse_same_file(zone, sha256)
    text = pd.DataFrame(index=pd.RangeIndex(2, len(frame) + 2))
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d")
        text[str(column)] = [
            "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
            else (v.isoformat() if isinstance(v, dt.date) else str(v)).strip()
            for v in values.tolist()
        ]
    validated = check_extract(text, kind, stages=zone_stage_list(zone),
                              reference_date=reference_date).raise_if_invalid()
    return _store(zone, validated, filename, sha256, user, replace, reference_date)


def _check_kind(kind: str) -> None:
    if kind not in EXTRACT_KINDS:
        raise fail("unknown_kind", f"Unknown extract kind {kind!r}; expected one of "
                   f"{', '.join(EXTRACT_KINDS)}.", value=kind)


def _refuse_same_file(zone: Zone, sha256: str) -> None:
    first = db.session.scalar(
        select(Upload).where(Upload.zone_id == zone.id, Upload.sha256 == sha256))
    if first is not None:
        raise _duplicate_conflict(first)


def _duplicate_conflict(first: Upload) -> Conflict:
    """The same bytes again: "already stored" (or withdrawn / replaced), never "replace it"."""
    who = first.user.username if first.user is not None else None
    when = first.created_at.isoformat(timespec="seconds") if first.created_at else None
    by = f" by {who}" if who else ""
    state = {"stored": "and is stored", "withdrawn": "and was withdrawn since (restore it "
             "from the upload history instead)", "replaced": "and was replaced since by a "
             "newer extract (withdraw that one to go back to this one)"}.get(first.status, "")
    return Conflict(
        f"This file was already uploaded for this zone on {when}{by} (upload #{first.id}, "
        f"{first.filename!r}) {state}. Nothing was stored again.",
        key=f"already_{first.status}", upload_id=first.id, uploaded_at=when, uploaded_by=who,
        filename=first.filename)


def _overlapping(zone: Zone, v: Validated) -> list[Upload]:
    """Stored uploads that the new one would double-count."""
    if v.layout == "funnel":
        ids = select(FunnelRecord.upload_id).distinct().where(
            FunnelRecord.zone_id == zone.id, FunnelRecord.campaign_year.in_(v.years),
            FunnelRecord.campaign.in_(v.campaigns))
    elif v.layout == "counts_funnel":
        ids = select(CountRecord.upload_id).distinct().where(
            CountRecord.zone_id == zone.id, CountRecord.table_kind == "funnel",
            CountRecord.campaign.in_(v.campaigns))
    elif v.layout == "counts_headcount":
        dates = sorted({d.date() for d in pd.to_datetime(v.frame["ref_date"]).dropna()})
        ids = select(CountRecord.upload_id).distinct().where(
            CountRecord.zone_id == zone.id, CountRecord.table_kind == "headcount",
            CountRecord.ref_date.in_(dates))
    else:  # a workforce extract is a full snapshot of the zone's officers
        ids = select(Upload.id).where(Upload.zone_id == zone.id, Upload.kind == "workforce")
    return list(db.session.scalars(
        select(Upload).where(Upload.id.in_(ids), Upload.status == "stored").order_by(Upload.id)))


def overlapping_upload_ids(upload: Upload) -> list[int]:
    """Stored uploads holding data that the archived ``upload`` would double-count if
    restored (the same rule as :func:`_overlapping`, read from its archived rows)."""
    others = (Upload.zone_id == upload.zone_id, Upload.status == "stored",
              Upload.id != upload.id)
    if upload.kind == "workforce":
        ids = select(Upload.id).where(Upload.kind == "workforce", *others)
    elif upload.kind == "funnel":
        archive = ARCHIVES[FunnelRecord.__tablename__]
        mine = select(archive.c.campaign_year, archive.c.campaign).distinct().where(
            archive.c.upload_id == upload.id)
        pairs = [tuple(r) for r in db.session.execute(mine).all()]
        if not pairs:
            return []
        ids = select(FunnelRecord.upload_id).distinct().where(
            FunnelRecord.zone_id == upload.zone_id,
            tuple_(FunnelRecord.campaign_year, FunnelRecord.campaign).in_(pairs))
    else:
        archive = ARCHIVES[CountRecord.__tablename__]
        rows = db.session.execute(select(archive.c.table_kind, archive.c.campaign,
                                         archive.c.ref_date).distinct().where(
            archive.c.upload_id == upload.id)).all()
        campaigns = sorted({r.campaign for r in rows if r.table_kind == "funnel"})
        dates = sorted({r.ref_date for r in rows if r.table_kind == "headcount"})
        ids = select(CountRecord.upload_id).distinct().where(
            CountRecord.zone_id == upload.zone_id,
            ((CountRecord.table_kind == "funnel") & CountRecord.campaign.in_(campaigns))
            | ((CountRecord.table_kind == "headcount") & CountRecord.ref_date.in_(dates)))
    return list(db.session.scalars(
        select(Upload.id).where(Upload.id.in_(ids), *others).order_by(Upload.id)))


def lock_zone(zone: Zone) -> None:
    """Serialise changes of one zone's uploads until commit (see :func:`_lock_zone`)."""
    _lock_zone(zone)


def _lock_zone(zone: Zone) -> None:
    """Serialise the overlap check and the insert of uploads for one zone until commit."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Zone.id).where(Zone.id == zone.id).with_for_update())
    else:
        # SQLite has one writer at a time: a (no-op) write takes the database's write lock
        # now, before the check, instead of at the first insert after it.
        db.session.execute(update(Zone).where(Zone.id == zone.id)
                           .values(language=Zone.language)
                           .execution_options(synchronize_session=False))


def _refuse_campaign_overflow(zone: Zone, v: Validated, older: list[Upload]) -> None:
    """A zone holds at most :data:`MAX_CAMPAIGNS_PER_ZONE` distinct campaigns."""
    if not v.campaigns:
        return
    replaced = [u.id for u in older]
    stored: set[str] = set()
    for model, extra in ((FunnelRecord, ()), (CountRecord, (CountRecord.table_kind == "funnel",))):
        query = select(model.campaign).distinct().join(Upload, Upload.id == model.upload_id).where(
            model.zone_id == zone.id, Upload.status == "stored", *extra)
        if replaced:
            query = query.where(model.upload_id.not_in(replaced))
        stored.update(c for c in db.session.scalars(query) if c)
    total = len(stored | set(v.campaigns))
    if total > MAX_CAMPAIGNS_PER_ZONE:
        new = len(set(v.campaigns) - stored)
        raise fail("too_many_campaigns_zone",
                   f"The zone {zone.code} already holds {len(stored):,} campaigns; this file "
                   f"adds {new:,} more, and a zone may hold at most {MAX_CAMPAIGNS_PER_ZONE}. "
                   "Check the campaign column, or replace earlier uploads of the same "
                   "campaigns.", zone=zone.code, found=total, limit=MAX_CAMPAIGNS_PER_ZONE,
                   stored=len(stored), new=new)


def _audit(action: str, user: User | None, zone: Zone, **detail) -> None:
    # At the command line (import, demo loader) the entry is the operator's ("cli").
    audit(action, user=user, zone_id=zone.id, **detail)


def overlap_conflict(v: Validated, older: list[Upload]) -> Conflict:
    what = (f"campaign(s) {', '.join(v.campaigns)}" if v.campaigns
            else "these dates" if v.layout == "counts_headcount"
            else "the zone's workforce")
    return Conflict(
        f"Upload #{older[0].id} ({older[0].filename!r}, "
        f"{older[0].created_at:%Y-%m-%d}) already holds {what} for this zone. Upload "
        "again with 'replace' to replace it.",
        key=f"overlap_{'campaigns' if v.campaigns else v.layout}",
        params={"filename": older[0].filename, "date": f"{older[0].created_at:%Y-%m-%d}",
                "campaigns": ", ".join(v.campaigns), "rows": older[0].row_count},
        upload_id=older[0].id, replace_required=True, upload_ids=[u.id for u in older])


def _store(zone: Zone, v: Validated, filename: str, sha256: str, user: User | None,
           replace: bool, reference_date: dt.date | None,
           replaces: list[int] | None = None) -> Upload:
    try:
        _lock_zone(zone)
        older = _overlapping(zone, v)
        if replaces is not None and sorted(replaces) != [u.id for u in older]:
            raise Conflict(
                "The stored extracts changed since the preview (another upload, withdrawal or "
                "restore): check the file again before storing it.", key="preview_outdated",
                upload_ids=[u.id for u in older])
        if older and not replace:
            raise overlap_conflict(v, older)
        _refuse_campaign_overflow(zone, v, older)
        upload = Upload(
            zone_id=zone.id, user_id=getattr(user, "id", None), kind=v.kind,
            filename=(filename or "upload")[:255], sha256=sha256, row_count=len(v.frame),
            status="stored", reference_date=reference_date,
            campaign=v.campaigns[0][:64] if len(v.campaigns) == 1 else None,
            replaces_id=older[0].id if older else None,
        )
        db.session.add(upload)
        db.session.flush()
        table = _TABLES[v.kind]
        for old in older:
            # Kept in the archive (not deleted): withdrawing the new upload can restore it.
            archive_rows(table, old.id)
            old.status, old.status_changed_at = "replaced", utcnow()
            _audit("upload_replaced", user, zone, upload_id=old.id, replaced_by=upload.id,
                   filename=old.filename, rows=old.row_count)
        _bulk_insert(table, v.frame, _COLUMNS[v.kind], upload.id, zone.id)
        _audit("upload", user, zone, upload_id=upload.id, kind=v.kind, filename=upload.filename,
               rows=len(v.frame), sha256=sha256, campaigns=list(v.campaigns)[:50],
               replaced=[u.id for u in older])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        first = db.session.scalar(
            select(Upload).where(Upload.zone_id == zone.id, Upload.sha256 == sha256))
        if first is not None:  # another upload of the same file won the race
            raise _duplicate_conflict(first) from None
        raise
    except OperationalError as exc:
        db.session.rollback()
        if "database is locked" in str(exc):  # SQLite: another upload held the write lock
            raise ServiceUnavailable(
                "Another upload is being stored right now. Upload the file again in a "
                "minute.", key="zone_busy") from None
        raise
    except BaseException:
        db.session.rollback()
        raise
    # Stored: the protected releases of the new data version are prepared by a job, off the
    # request path (the upload answers at once; pages say "being prepared" meanwhile).
    from hrpipeline.services import jobs

    jobs.after_data_change()
    return upload


def archive_rows(table: Table, upload_id: int) -> None:
    """Move an upload's records into the archive table (no analysis reads it)."""
    _move_rows(table, ARCHIVES[table.name], upload_id)


def unarchive_rows(table: Table, upload_id: int) -> None:
    """Move an upload's archived records back where the analyses read them."""
    _move_rows(ARCHIVES[table.name], table, upload_id)


def _move_rows(source: Table, target: Table, upload_id: int) -> None:
    names = [c.name for c in target.columns if c.name != "id"]
    db.session.execute(insert(target).from_select(
        names, select(*(source.c[n] for n in names)).where(source.c.upload_id == upload_id)))
    db.session.execute(delete(source).where(source.c.upload_id == upload_id))


def archived_rows(upload: Upload) -> int:
    archive = ARCHIVES[_TABLES[upload.kind].name]
    return db.session.scalar(select(func.count()).select_from(archive).where(
        archive.c.upload_id == upload.id)) or 0


def record_table(kind: str) -> Table:
    return _TABLES[kind]


# --- bulk writing -------------------------------------------------------------------------
def _chunks(frame: pd.DataFrame, columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame.iloc[start:start + CHUNK_ROWS][list(columns)]


def _python_values(chunk: pd.DataFrame, column: str) -> list:
    values = chunk[column]
    if column in _DATE_COLUMNS:
        # ISO text is exactly what SQLAlchemy's SQLite DATE type stores.
        days = pd.to_datetime(values).to_numpy(dtype="datetime64[D]")
        text = np.datetime_as_string(days, unit="D").astype(object)
        text[np.isnat(days)] = None
        return text.tolist()
    if column in ("campaign_year", "count"):
        if values.dtype.kind in "iu":
            return values.tolist()
        return [None if v is None or pd.isna(v) else int(v) for v in values.tolist()]
    if column == "source_suppressed":
        return [bool(v) for v in values.tolist()]
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v
            for v in values.tolist()]


def write_chunk(connection, table: Table, chunk: pd.DataFrame, upload_id: int,
                zone_id: int) -> None:
    """Write one chunk of records (monkeypatched in tests to inject a failure midway)."""
    columns = list(chunk.columns)
    if connection.dialect.name == "postgresql":
        buffer = io.StringIO()
        out = chunk.copy()
        for column in columns:
            if column in _DATE_COLUMNS:
                out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
            elif column in ("campaign_year", "count"):
                out[column] = pd.array(out[column].tolist(), dtype="Int64")
        out.insert(0, "zone_id", zone_id)
        out.insert(0, "upload_id", upload_id)
        out.to_csv(buffer, header=False, index=False)
        names = ", ".join(f'"{c}"' for c in out.columns)
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)') as copy:
                copy.write(buffer.getvalue())
        return
    lists = [_python_values(chunk, c) for c in columns]
    names = ", ".join(f'"{c}"' for c in ("upload_id", "zone_id", *columns))
    marks = ", ".join("?" * (len(columns) + 2))
    # Tuples straight to sqlite3's executemany (a dict per row through SQLAlchemy's insert
    # cost about as much again as the validation); dates are ISO text, as SQLAlchemy stores
    # them in SQLite.
    rows = list(zip(repeat(upload_id), repeat(zone_id), *lists))
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)


def _bulk_insert(table: Table, frame: pd.DataFrame | Spool, columns: tuple[str, ...],
                 upload_id: int, zone_id: int) -> None:
    connection = db.session.connection()
    parts = frame.chunks() if isinstance(frame, Spool) else (frame,)
    for part in parts:
        for chunk in _chunks(part, columns):
            write_chunk(connection, table, chunk, upload_id, zone_id)


__all__ = ["ExtractInvalid", "ImportInProgress", "import_extract", "preview_extract",
           "store_frame", "zone_stage_list"]
