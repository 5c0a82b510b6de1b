"""Audit-log queries for administrators (API ``GET /api/v1/audit`` and the admin pages).

Entries are written by :func:`hrpipeline.auth.audit` in the caller's transaction (logins and
failed logins, uploads and replacements, token creation and revocation, exports). Reading
them is admin-only: the log names users and zones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from hrpipeline.errors import Forbidden
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, User, Zone

MAX_PER_PAGE = 200


@dataclass
class AuditPage:
    items: list[dict[str, Any]]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return (self.total + self.per_page - 1) // self.per_page if self.total else 0

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "page": self.page, "per_page": self.per_page,
                "total": self.total, "pages": self.pages}


def query_audit(user: User, *, action: str | None = None, username: str | None = None,
                date_from: dt.date | None = None, date_to: dt.date | None = None,
                zone: str | None = None, page: int = 1, per_page: int = 50) -> AuditPage:
    """Newest first. ``date_to`` is inclusive (the whole day); filters combine with AND."""
    if user.role != "admin":
        raise Forbidden("Only administrators can read the audit log.")
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    conditions = []
    if action:
        conditions.append(AuditLog.action == action)
    if username:
        conditions.append(AuditLog.username == username)
    if date_from:
        conditions.append(AuditLog.at >= dt.datetime.combine(date_from, dt.time.min))
    if date_to and date_to < dt.date.max:  # the last day of the calendar has no day after
        conditions.append(AuditLog.at < dt.datetime.combine(date_to + dt.timedelta(days=1),
                                                            dt.time.min))
    if zone:
        conditions.append(AuditLog.zone_id.in_(select(Zone.id).where(Zone.code == zone)))
    total = db.session.scalar(select(func.count(AuditLog.id)).where(*conditions)) or 0
    rows = db.session.execute(
        select(AuditLog, Zone.code)
        .outerjoin(Zone, Zone.id == AuditLog.zone_id)
        .where(*conditions)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    items = [
        {"id": entry.id, "at": entry.at, "user_id": entry.user_id, "username": entry.username,
         "action": entry.action, "zone": code, "detail": entry.detail or {}, "ip": entry.ip}
        for entry, code in rows
    ]
    return AuditPage(items=items, page=page, per_page=per_page, total=total)


def actions() -> list[str]:
    """Distinct actions present in the log (for filter menus)."""
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))
