"""Store a validated extract: atomically (all rows or none) and idempotently (same file once).

One transaction holds the ``uploads`` row, every record, the replaced upload's deletion and
the audit entries; any failure rolls it all back. Records are written in bulk: SQLAlchemy Core
``insert()`` executemany in chunks on SQLite, ``COPY … FROM STDIN`` through psycopg 3 on the
session's own connection on PostgreSQL (so the COPY is inside the same transaction). No
per-row ORM objects are created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import Column, Date, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from hrpipeline.audit import audit
from hrpipeline.domain import EXTRACT_KINDS
from hrpipeline.errors import Conflict, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.ingest.problems import ExtractInvalid, fail
from hrpipeline.ingest.read import read_frame
from hrpipeline.ingest.validate import Validated, check_extract
from hrpipeline.models import (
    CountRecord,
    FunnelRecord,
    Upload,
    User,
    WorkforceRecord,
    Zone,
    ZoneStage,
)

#: Rows per executemany / COPY chunk: bounds memory whatever the file size.
CHUNK_ROWS = 50_000

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
                   reference_date: dt.date | None = None) -> Upload:
    """Parse, validate and store one extract file for ``zone``; return the new upload.

    Raises :class:`ExtractInvalid` (422, with every problem) for bad input and
    :class:`~hrpipeline.errors.Conflict` (409) for a file already uploaded for this zone, or
    a funnel extract for campaigns already stored (unless ``replace``). A refusal is
    written to the audit log (``upload_refused``) after the rollback.
    """
    try:
        return _import_extract(zone=zone, kind=kind, data=data, filename=filename, user=user,
                               replace=replace, sheet=sheet, reference_date=reference_date)
    except (ValidationFailed, Conflict) as err:
        db.session.rollback()
        _audit("upload_refused", user, zone, kind=kind, filename=(filename or "upload")[:255],
               status=err.status, reason=err.code,
               problems=getattr(err, "problem_count", None) or err.extra.get("problem_count"))
        db.session.commit()
        raise


def _import_extract(*, zone: Zone, kind: str, data: bytes, filename: str, user: User | None,
                    replace: bool, sheet: str | None, reference_date: dt.date | None) -> Upload:
    _check_kind(kind)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and len(data) > limit:
        raise fail("file_too_large",
                   f"The file is {len(data) / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB. "
                   "Split it (e.g. one file per campaign or year) or remove unused columns.",
                   size=len(data), limit=limit)
    sha256 = hashlib.sha256(data).hexdigest()
    _refuse_same_file(zone, sha256)
    frame = read_frame(data, filename, sheet=sheet, as_category=True)
    max_rows = current_app.config.get("MAX_UPLOAD_ROWS")
    if max_rows and len(frame) > max_rows:
        raise fail("too_many_rows", f"The file has {len(frame)} rows; the limit is {max_rows}.",
                   rows=len(frame), limit=max_rows)
    validated = check_extract(frame, kind, stages=zone_stage_list(zone),
                              reference_date=reference_date).raise_if_invalid()
    del frame
    return _store(zone, validated, filename, sha256, user, replace, reference_date)


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
    who = first.user.username if first.user is not None else None
    when = first.created_at.isoformat(timespec="seconds") if first.created_at else None
    by = f" by {who}" if who else ""
    return Conflict(
        f"This file was already uploaded for this zone on {when}{by} (upload #{first.id}, "
        f"{first.filename!r}). Nothing was stored again.",
        upload_id=first.id, uploaded_at=when, uploaded_by=who, filename=first.filename)


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


def _audit(action: str, user: User | None, zone: Zone, **detail) -> None:
    # At the command line (import, demo loader) the entry is the operator's ("cli").
    audit(action, user=user, zone_id=zone.id, **detail)


def _store(zone: Zone, v: Validated, filename: str, sha256: str, user: User | None,
           replace: bool, reference_date: dt.date | None) -> Upload:
    try:
        older = _overlapping(zone, v)
        if older and not replace:
            what = (f"campaign(s) {', '.join(v.campaigns)}" if v.campaigns
                    else "these dates" if v.layout == "counts_headcount"
                    else "the zone's workforce")
            raise Conflict(
                f"Upload #{older[0].id} ({older[0].filename!r}, "
                f"{older[0].created_at:%Y-%m-%d}) already holds {what} for this zone. Upload "
                "again with 'replace' to replace it.",
                upload_id=older[0].id, replace_required=True,
                upload_ids=[u.id for u in older])
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
            db.session.execute(delete(table).where(table.c.upload_id == old.id))
            old.status = "replaced"
            _audit("upload_replaced", user, zone, upload_id=old.id, replaced_by=upload.id,
                   filename=old.filename, rows=old.row_count)
        _bulk_insert(table, v.frame, _COLUMNS[v.kind], upload.id, zone.id)
        _audit("upload", user, zone, upload_id=upload.id, kind=v.kind, filename=upload.filename,
               rows=len(v.frame), sha256=sha256, campaigns=list(v.campaigns)[:50],
               replaced=[u.id for u in older])
        db.session.commit()
        return upload
    except IntegrityError:
        db.session.rollback()
        first = db.session.scalar(
            select(Upload).where(Upload.zone_id == zone.id, Upload.sha256 == sha256))
        if first is not None:  # another upload of the same file won the race
            raise _duplicate_conflict(first) from None
        raise
    except BaseException:
        db.session.rollback()
        raise


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
    keys = ["upload_id", "zone_id", *columns]
    records = [dict(zip(keys, (upload_id, zone_id, *row), strict=True))
               for row in zip(*lists, strict=True)]
    connection.execute(insert(_text_dates(table)), records)


_TEXT_DATE_TABLES: dict[str, Table] = {}


def _text_dates(table: Table) -> Table:
    """``table`` with its DATE columns typed as text, for SQLite executemany.

    SQLite has no date type: SQLAlchemy stores ``Date`` as ``YYYY-MM-DD`` text after a
    per-value Python conversion; passing the ISO text directly stores the same bytes without
    that per-row cost.
    """
    if table.name not in _TEXT_DATE_TABLES:
        columns = [Column(c.name, String if isinstance(c.type, Date) else c.type)
                   for c in table.columns if c.name != "id"]
        _TEXT_DATE_TABLES[table.name] = Table(table.name, MetaData(), *columns)
    return _TEXT_DATE_TABLES[table.name]


def _bulk_insert(table: Table, frame: pd.DataFrame, columns: tuple[str, ...], upload_id: int,
                 zone_id: int) -> None:
    connection = db.session.connection()
    for chunk in _chunks(frame, columns):
        write_chunk(connection, table, chunk, upload_id, zone_id)


__all__ = ["ExtractInvalid", "import_extract", "store_frame", "zone_stage_list"]
