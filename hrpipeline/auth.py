"""The account views: log in, log out, change the password, choose the interface language.

What they rely on lives elsewhere: sessions and their limits in :mod:`hrpipeline.sessions`,
password rules, user creation and the login check in :mod:`hrpipeline.services.users`,
throttling in :mod:`hrpipeline.services.throttle`, roles in :mod:`hrpipeline.access`, the
audit log in :mod:`hrpipeline.audit`. Passwords are hashed by werkzeug (scrypt).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from hrpipeline import sessions
from hrpipeline.audit import audit
from hrpipeline.extensions import db
from hrpipeline.services.users import MAX_LENGTH, PasswordRejected, change_password, check_login
from hrpipeline.web.messages import password_messages

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password (at least 12 characters)"),
                        validators=[DataRequired(), Length(max=MAX_LENGTH)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The passwords do not match."))],
    )


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None`` (no open redirect).

    Judged on what a browser would make of it: control characters (which browsers drop, so
    ``/<TAB>/evil.example`` becomes ``//evil.example``) and backslashes (which browsers read
    as slashes) are refused outright; what is left must parse to a path with neither scheme
    nor host, starting with a single slash.
    """
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None  # "//host" and "///host" are other sites to a browser
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") \
            or parts.path.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    if form.validate_on_submit():
        result = check_login(form.username.data, form.password.data, request.remote_addr)
        if result.user is not None:
            sessions.start(result.user)
            return redirect(safe_next(request.args.get("next")) or url_for("web.index"))
        if result.throttled:
            flash(_("Too many failed attempts. Try again in a few minutes."), "error")
            return render_template("login.html", form=form), 429
        flash(_("Unknown user name or wrong password."), "error")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    user = current_user._get_current_object()
    audit("logout", user=user)
    sessions.end(user)
    db.session.commit()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not user.check_password(form.current.data):
            flash(_("The current password is wrong."), "error")
        else:
            try:
                change_password(user, form.new.data)
            except PasswordRejected as err:
                form.new.errors = [*form.new.errors, *password_messages(err.codes)]
                return render_template("password.html", form=form), 400
            sessions.keep_after_password_change(user)
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
    sessions.init_app(app)
    app.register_blueprint(bp)
