"""Browser sessions (flask-login on Flask's signed cookie), ended on the server's side
(ASVS 3.3.1–3.3.3).

A signed cookie cannot be recalled: a copy kept from before a logout would still carry a
valid signature. So every session also carries the user's ``session_version`` and is only
accepted while it matches the database's. Logging out or changing the password raises the
version, which ends every session of that user (the password-change page then re-issues its
own session with the new version, so only the other sessions end).

Each session also ends after ``SESSION_IDLE_MINUTES`` without a request and
``SESSION_MAX_HOURS`` after the login, whatever the activity. HTML pages accept only this
session; API tokens are for ``/api/v1`` (:mod:`hrpipeline.api.security`).
"""

from __future__ import annotations

import time

from flask import current_app, has_request_context, session
from flask_login import login_user, logout_user

from hrpipeline.extensions import db, login_manager
from hrpipeline.models import User

VERSION, LOGIN_AT, SEEN_AT = "_sv", "_login_at", "_seen_at"
#: The last-seen time is rewritten at most this often (fewer Set-Cookie headers).
SEEN_RESOLUTION_SECONDS = 60


def clock() -> float:
    return time.time()


def session_fields(user: User, login_at: float | None = None) -> dict:
    """What a session of ``user`` holds besides flask-login's keys (tests use it too)."""
    at = int(clock()) if login_at is None else int(login_at)
    return {"_user_id": str(user.id), "_fresh": True, VERSION: user.session_version or 0,
            LOGIN_AT: at, SEEN_AT: at}


def start(user: User) -> None:
    """Log ``user`` in on this browser (after the password was checked)."""
    lang = session.get("lang")
    session.clear()  # a fresh session: nothing from before the login survives
    if lang:
        session["lang"] = lang
    login_user(user)
    session.permanent = True  # cookie lifetime = PERMANENT_SESSION_LIFETIME (max hours)
    session.update(session_fields(user))


def end(user: User) -> None:
    """Log out: end every session of ``user``, this one included. The caller commits."""
    user.session_version = (user.session_version or 0) + 1
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def keep_after_password_change(user: User) -> None:
    """The user's version was raised (other sessions end); this session follows it."""
    session[VERSION] = user.session_version


def expired(now: float) -> bool:
    """Whether this request's session has passed its idle or absolute limit."""
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return True
    config = current_app.config
    return (now - login_at > config["SESSION_MAX_HOURS"] * 3600
            or now - seen_at > config["SESSION_IDLE_MINUTES"] * 60)


def _drop() -> None:
    for key in ("_user_id", "_fresh", "_id", VERSION, LOGIN_AT, SEEN_AT):
        session.pop(key, None)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, if the session is still valid (version, idle and absolute limits)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active:
        return None
    if not has_request_context():
        return user
    now = clock()
    if session.get(VERSION) != (user.session_version or 0) or expired(now):
        _drop()
        return None
    if now - session[SEEN_AT] >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT] = int(now)
    return user


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
