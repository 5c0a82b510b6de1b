"""Authentication (flask-login), roles and zone scoping.

Every view declares the roles it allows with :func:`roles_required`; every service call takes
the user and scopes its queries with :func:`zone_scope`. Passwords are hashed by werkzeug
(scrypt); API tokens are stored as SHA-256 digests only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from hrpipeline.extensions import db, login_manager
from hrpipeline.models import ApiToken, AuditLog, User, utcnow
from hrpipeline.services.scope import visible_zones, zone_scope  # noqa: F401 (re-exported)

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=256)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The passwords do not match."))],
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """``Authorization: Bearer hrp_...`` authenticates API calls (no session cookie)."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    secret = header[len("Bearer ") :].strip()
    if not secret:
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(secret))
    )
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    db.session.commit()
    return token.user


def audit(action: str, *, user: User | None = None, zone_id: int | None = None,
          **detail) -> None:
    """Append to the audit log in the caller's transaction (committed with it)."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    who = user
    db.session.add(
        AuditLog(
            user_id=getattr(who, "id", None),
            username=getattr(who, "username", None) or detail.pop("username", None),
            action=action,
            zone_id=zone_id,
            detail=detail or None,
            ip=request.remote_addr if has_request_context() else None,
        )
    )


def roles_required(*roles: str) -> Callable:
    """Allow only these roles (admins are allowed everywhere). Anonymous → login page."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)
        return wrapped

    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        now = utcnow()
        if user is not None and user.locked_until and user.locked_until > now:
            audit("login_locked", user=user)
            db.session.commit()
            flash(_("Too many failed attempts. Try again in a few minutes."), "error")
            return render_template("login.html", form=form), 429
        if user is not None and user.is_active and user.check_password(form.password.data):
            user.failed_logins = 0
            user.locked_until = None
            audit("login", user=user)
            db.session.commit()
            login_user(user)
            session.permanent = True
            nxt = request.args.get("next", "")
            # Only same-site relative paths: never an open redirect.
            if not nxt.startswith("/") or nxt.startswith("//"):
                nxt = url_for("web.index")
            return redirect(nxt)
        if user is not None:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= current_app.config["LOGIN_MAX_ATTEMPTS"]:
                minutes = current_app.config["LOGIN_LOCK_MINUTES"]
                user.locked_until = now + dt.timedelta(minutes=minutes)
                user.failed_logins = 0
        audit("login_failed", user=user, username=form.username.data[:80])
        db.session.commit()
        flash(_("Unknown user name or wrong password."), "error")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    audit("logout")
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            flash(_("The current password is wrong."), "error")
        else:
            current_user.set_password(form.new.data)
            audit("password_changed")
            db.session.commit()
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("web.index"))
    return render_template("password.html", form=form)


@bp.post("/language/<lang>")
def set_language(lang: str):
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.language = lang
        db.session.commit()
    target = request.referrer or url_for("web.index")
    if not target.startswith(request.host_url):
        target = url_for("web.index")
    return redirect(target)


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    app.register_blueprint(bp)
