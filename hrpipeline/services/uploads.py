"""Uploads as HR staff handle them: check a file before storing it (preview), withdraw a stored
upload (with a reason) and undo that, and the list of refused attempts.

Shared by the web pages, the API and the command line. Storing itself is
:func:`hrpipeline.ingest.store.import_extract`. A withdrawn (or replaced) upload keeps its
rows in an archive table that no analysis reads, so that the withdrawal can be undone; its
status change moves the data version (``services.releases.data_version``), so every release
is rebuilt. Every withdrawal and restore is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select

from hrpipeline.access import can
from hrpipeline.audit import audit
from hrpipeline.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.ingest import store
from hrpipeline.ingest.validate import Validated
from hrpipeline.models import AuditLog, Upload, User, Zone, utcnow
from hrpipeline.services.scope import zone_scope

#: A withdrawal needs a reason of at least this many characters (it goes to the audit log).
MIN_REASON, MAX_REASON = 5, 500
#: Refused attempts listed in the history.
REFUSED_SHOWN = 20


@dataclass
class Preview:
    """What storing a file would do (nothing has been stored)."""

    zone: str
    kind: str
    layout: str
    filename: str
    rows: int
    campaigns: list[str]
    years: list[int]
    #: background group → rows of the file (exact: the uploader holds the file)
    groups: dict[str, int]
    #: headcount dates, or the first and last hire / stage date
    dates: list[str]
    #: officers with an exit date (workforce)
    exits: int | None
    #: stored uploads that storing this file would replace, with their row counts
    removes: list[Upload] = field(default_factory=list)

    @property
    def replace_required(self) -> bool:
        return bool(self.removes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone, "kind": self.kind, "layout": self.layout,
            "filename": self.filename, "rows": self.rows, "campaigns": self.campaigns,
            "years": self.years, "groups": self.groups, "dates": self.dates,
            "exits": self.exits, "replace_required": self.replace_required,
            "removes": [{"id": u.id, "filename": u.filename, "row_count": u.row_count,
                         "created_at": u.created_at.isoformat(timespec="seconds"),
                         "uploaded_by": u.user.username if u.user is not None else None}
                        for u in self.removes],
        }


def _dates(v: Validated) -> list[str]:
    column = {"counts_headcount": "ref_date", "workforce": "hire_date",
              "funnel": "stage_date"}.get(v.layout)
    if column is None or column not in v.frame:
        return []
    values = pd.to_datetime(v.frame[column]).dropna()
    if values.empty:
        return []
    if v.layout == "counts_headcount":
        return sorted({d.date().isoformat() for d in values})[:20]
    return [values.min().date().isoformat(), values.max().date().isoformat()]


def preview_upload(*, zone: Zone, kind: str, data: bytes, filename: str, user: User,
                   sheet: str | None = None, reference_date: dt.date | None = None) -> Preview:
    """Check ``data`` as an upload would, store nothing, and say what storing would do.

    Raises :class:`~hrpipeline.ingest.problems.ExtractInvalid` (every problem) or a
    :class:`~hrpipeline.errors.Conflict` for a file already stored (audited as refused).
    """
    v, older = store.preview_extract(zone=zone, kind=kind, data=data, filename=filename,
                                     user=user, sheet=sheet, reference_date=reference_date)
    rows = len(v.frame) if v.layout != "counts_funnel" else len(v.frame) // max(
        1, v.frame["outcome"].nunique())
    groups: Counter[str] = Counter()
    if "migration_background" in v.frame:
        frame = v.frame if v.layout != "counts_funnel" else v.frame.drop_duplicates(
            ["campaign", "stage", "migration_background"])
        groups.update({str(k): int(n) for k, n in
                       frame["migration_background"].value_counts().items()})
    exits = (int(v.frame["exit_date"].notna().sum()) if v.layout == "workforce" else None)
    return Preview(zone=zone.code, kind=v.kind, layout=v.layout, filename=filename,
                   rows=rows, campaigns=list(v.campaigns), years=list(v.years),
                   groups=dict(groups), dates=_dates(v), exits=exits, removes=older)


def _own_upload(user: User, upload_id: int) -> Upload:
    upload = db.session.get(Upload, upload_id)
    scope = zone_scope(user)
    if upload is None or (scope is not None and upload.zone_id not in scope):
        raise NotFound(f"No upload {upload_id} among the uploads of your zones.",
                       key="upload_not_found", params={"id": upload_id})
    if not can(user, "uploads_write"):
        raise Forbidden("Only HR managers and administrators withdraw or restore uploads.")
    return upload


def withdraw_upload(user: User, upload_id: int, reason: str,
                    restore_replaced: bool = True) -> Upload:
    """Withdraw a stored upload: its rows stop counting anywhere (they wait in the archive),
    the reason goes to the audit log. If it replaced an earlier upload and
    ``restore_replaced``, that one is stored again (the replacement is undone)."""
    reason = " ".join((reason or "").split())
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise ValidationFailed(
            f"Give the reason for the withdrawal ({MIN_REASON} to {MAX_REASON} characters).",
            key="withdraw_reason", params={"min": MIN_REASON, "max": MAX_REASON},
            problems=[{"row": None, "column": "reason", "value": reason[:100],
                       "code": "withdraw_reason", "params": {"min": MIN_REASON,
                                                             "max": MAX_REASON},
                       "message": "a reason of 5 to 500 characters"}])
    upload = _own_upload(user, upload_id)
    if upload.status != "stored":
        raise Conflict(f"Upload {upload.id} is not stored (it is {upload.status}).",
                       key="not_stored", params={"id": upload.id, "status": upload.status})
    zone = db.session.get(Zone, upload.zone_id)
    store.lock_zone(zone)
    table = store.record_table(upload.kind)
    store.archive_rows(table, upload.id)
    now = utcnow()
    upload.status, upload.status_changed_at, upload.status_reason = "withdrawn", now, reason
    audit("upload_withdrawn", user=user, zone_id=upload.zone_id, upload_id=upload.id,
          filename=upload.filename, rows=upload.row_count, reason=reason)
    restored = None
    if restore_replaced and upload.replaces_id is not None:
        older = db.session.get(Upload, upload.replaces_id)
        if older is not None and older.status == "replaced":
            _restore(user, older, now, because=f"upload {upload.id} withdrawn")
            restored = older.id
    db.session.commit()
    _data_changed()
    upload.restored_id = restored  # for the page's message (not a column)
    return upload


def restore_upload(user: User, upload_id: int) -> Upload:
    """Undo a withdrawal (or a replacement): the upload's rows count again.

    Refused (409) while another stored upload holds the same campaigns / workforce / dates:
    withdraw that one first.
    """
    upload = _own_upload(user, upload_id)
    if upload.status not in ("withdrawn", "replaced"):
        raise Conflict(f"Upload {upload.id} is {upload.status}; only a withdrawn or replaced "
                       "upload can be restored.", key="not_withdrawn",
                       params={"id": upload.id, "status": upload.status})
    zone = db.session.get(Zone, upload.zone_id)
    store.lock_zone(zone)
    if upload.row_count and not store.archived_rows(upload):
        db.session.rollback()
        raise Conflict(f"The rows of upload {upload.id} were not kept (it was replaced before "
                       "withdrawals could be undone): upload the file again instead.",
                       key="nothing_archived", params={"id": upload.id})
    blocking = store.overlapping_upload_ids(upload)
    if blocking:
        db.session.rollback()
        first = db.session.get(Upload, blocking[0])
        raise Conflict(
            f"Upload {first.id} ({first.filename!r}) now holds the same data for this zone: "
            "withdraw it first, then restore this one.", key="restore_blocked",
            params={"filename": first.filename, "id": first.id}, upload_id=first.id,
            upload_ids=blocking)
    _restore(user, upload, utcnow())
    db.session.commit()
    _data_changed()
    return upload


def _data_changed() -> None:
    """The data version moved: queue the warming of the releases, as after an import."""
    from hrpipeline.services import jobs

    jobs.after_data_change()


def _restore(user: User, upload: Upload, now: dt.datetime, because: str | None = None) -> None:
    store.unarchive_rows(store.record_table(upload.kind), upload.id)
    upload.status, upload.status_changed_at, upload.status_reason = "stored", now, None
    audit("upload_restored", user=user, zone_id=upload.zone_id, upload_id=upload.id,
          filename=upload.filename, rows=upload.row_count, because=because)


def refused_attempts(user: User, limit: int = REFUSED_SHOWN) -> list[dict[str, Any]]:
    """The latest refused uploads (and refused checks) of the user's zones, newest first."""
    query = (select(AuditLog, Zone.code).join(Zone, Zone.id == AuditLog.zone_id)
             .where(AuditLog.action == "upload_refused")
             .order_by(AuditLog.id.desc()).limit(limit))
    scope = zone_scope(user)
    if scope is not None:
        query = query.where(AuditLog.zone_id.in_(scope or {-1}))
    out = []
    for entry, code in db.session.execute(query).all():
        detail = entry.detail or {}
        out.append({"at": entry.at, "zone": code, "username": entry.username,
                    "kind": detail.get("kind"), "filename": detail.get("filename"),
                    "reason": detail.get("reason"), "first": detail.get("first"),
                    "problems": detail.get("problems")})
    return out
