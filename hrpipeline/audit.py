"""The audit log: its one writer (:func:`audit`, in a request or at the command line) and its
query for administrators (API ``GET /api/v1/audit``).

Entries are added in the caller's transaction and committed with it: logins and failed or
throttled logins, uploads, replacements and refused uploads, token creation and revocation,
exports (CSV, PDF, JSON), user and zone administration, and pages refused (403) or not found
(404) to a logged-in user. Reading them is admin-only: the log names users and zones.

The address recorded is ``request.remote_addr``: behind a reverse proxy set
``TRUSTED_PROXIES`` (README, settings) so that it is the client's, not the proxy's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import func, select

from hrpipeline.access import can
from hrpipeline.errors import Forbidden
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, User, Zone

MAX_PER_PAGE = 200
#: Responses recorded for logged-in users (anonymous 404s are scanners' noise).
REFUSED_STATUSES = {403: "refused_403", 404: "not_found_404"}


def _request_user():
    """The user of this request: a session user, or the API's token user."""
    from flask_login import current_user

    api_user = g.get("api_user")
    if api_user is not None:
        return api_user
    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def audit(action: str, *, user: User | None = None, zone_id: int | None = None,
          **detail) -> None:
    """Append to the audit log in the caller's transaction (committed with it).

    In a request the user defaults to the request's user and the address is recorded; at the
    command line (no request) an entry without a user is the operator's (``"cli"``).
    """
    if has_request_context():
        if user is None:
            user = _request_user()
        username = getattr(user, "username", None) or detail.pop("username", None)
        ip = request.remote_addr
    else:
        username = (getattr(user, "username", None) or detail.pop("username", None)
                    or "cli")
        ip = None
    db.session.add(AuditLog(user_id=getattr(user, "id", None), username=username,
                            action=action, zone_id=zone_id, detail=detail or None, ip=ip))


def record_refusals(app: Flask) -> None:
    """Log 403 and 404 answers given to logged-in users (a probe of other zones' pages or of
    ids shows up in the log). Written in its own short transaction after the view."""

    @app.before_request
    def _forget_api_user():
        # g outlives a request when an app context is already pushed (tests, CLI): the API's
        # user of an earlier request must not be taken for this request's.
        g.pop("api_user", None)
        g.pop("api_auth", None)

    @app.after_request
    def _log_refusal(response):
        action = REFUSED_STATUSES.get(response.status_code)
        if action is None or request.endpoint == "static":
            return response
        user = _request_user()
        if user is None:
            return response
        try:
            db.session.rollback()
            audit(action, user=user, method=request.method, path=request.path[:300])
            db.session.commit()
        except Exception:  # the answer matters more than its log line
            db.session.rollback()
            app.logger.exception("Could not write the audit entry for a %s",
                                 response.status_code)
        return response


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
    if not can(user, "administer"):
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
