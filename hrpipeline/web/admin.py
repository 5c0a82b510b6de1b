"""Administration: users (list, create with role and zones, deactivate) and zones."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from hrpipeline.access import requires
from hrpipeline.audit import audit
from hrpipeline.domain import ROLES, UI_LANGUAGES, ZONE_LANGUAGES
from hrpipeline.errors import Conflict, NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.i18n import label
from hrpipeline.models import User, Zone
from hrpipeline.services.users import (
    LEAST_PRIVILEGE_ROLE,
    PasswordRejected,
    create_user,
    reset_password,
    update_user,
)
from hrpipeline.web.blueprint import bp
from hrpipeline.web.messages import password_messages

ZONE_LANGUAGE_LABELS = {"nl": _l("Dutch"), "fr": _l("French"), "bilingual": _l("Bilingual")}


@bp.app_template_global("zone_language")
def zone_language(code: str) -> str:
    text = ZONE_LANGUAGE_LABELS.get(code)
    return str(text) if text is not None else code


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("First password (at least 12 characters)"),
                             validators=[DataRequired(), Length(max=256)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    zones = SelectMultipleField(_l("Zones"), validators=[Optional()])
    all_zones = BooleanField(_l("Sees every zone"))
    language = SelectField(_l("Interface language"), validators=[Optional()])


class EditUserForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    zones = SelectMultipleField(_l("Zones"), validators=[Optional()])
    all_zones = BooleanField(_l("Sees every zone"))
    language = SelectField(_l("Interface language"), validators=[Optional()])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password (at least 12 characters)"),
                                 validators=[DataRequired(), Length(max=256)])


#: Roles in the order offered: the least privilege first (and the default), admin last.
ROLE_ORDER = (LEAST_PRIVILEGE_ROLE, "leadership", "hr_manager", "project_staff", "admin")


def _role_choices() -> list[tuple[str, str]]:
    ordered = [r for r in ROLE_ORDER if r in ROLES] + [r for r in ROLES if r not in ROLE_ORDER]
    return [(r, label(r)) for r in ordered]


def _zone_choices(zones: list[Zone]) -> list[tuple[str, str]]:
    lang = str(get_locale())
    return [(z.code, f"{z.code} · {z.name(lang)}") for z in zones]


def _language_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(lang, lang.upper()) for lang in UI_LANGUAGES]


class ZoneForm(FlaskForm):
    code = StringField(_l("Code (e.g. ANT)"),
                       validators=[DataRequired(), Regexp(r"^[A-Z0-9]{2,16}$")])
    police_zone_number = StringField(_l("Police zone number (e.g. 5345)"),
                                     validators=[Optional(), Regexp(r"^\d{4}$")])
    name_nl = StringField(_l("Name in Dutch"), validators=[DataRequired(), Length(max=120)])
    name_fr = StringField(_l("Name in French"), validators=[DataRequired(), Length(max=120)])
    language = SelectField(_l("Language of the zone"), validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """CSRF token only (deactivate buttons)."""


def _all_zones() -> list[Zone]:
    return list(db.session.scalars(select(Zone).order_by(Zone.code)))


@bp.route("/admin/users", methods=["GET", "POST"])
@requires("administer")
def admin_users():
    form = UserForm()
    zones = _all_zones()
    form.role.choices = _role_choices()
    if not form.is_submitted():
        form.role.data = LEAST_PRIVILEGE_ROLE  # least privilege unless the admin chooses more
    form.zones.choices = _zone_choices(zones)
    form.language.choices = _language_choices()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        try:
            create_user(username, form.password.data, form.role.data, form.zones.data or [],
                        all_zones=bool(form.all_zones.data),
                        language=form.language.data or None)
        except Conflict:
            form.username.errors.append(_("This user name is taken."))
            status = 409
        except PasswordRejected as err:
            form.password.errors.extend(password_messages(err.codes))
            status = 400
        except ValidationFailed:
            form.zones.errors.append(_("Choose at least one zone, or 'sees every zone'."))
            status = 400
        else:
            flash(_("User %(name)s created.", name=username), "success")
            return redirect(url_for("web.admin_users"))
    elif form.is_submitted():
        status = 400
    users = list(db.session.scalars(select(User).order_by(User.username)))
    return render_template("admin/users.html", form=form, users=users,
                           action_form=EmptyForm()), status


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def _edit_page(user: User, form: EditUserForm, password_form: ResetPasswordForm,
               status: int = 200):
    return render_template("admin/user_edit.html", user=user, form=form,
                           password_form=password_form), status


def _edit_form(user: User, *, fresh: bool = False) -> EditUserForm:
    """The edit form: from the request when it was submitted, else from the user."""
    form = EditUserForm(prefix="edit", formdata=None) if fresh else EditUserForm(prefix="edit")
    form.role.choices = _role_choices()
    form.zones.choices = _zone_choices(_all_zones())
    form.language.choices = _language_choices()
    if fresh or not form.is_submitted():
        form.role.data = user.role
        form.zones.data = [z.code for z in user.zones]
        form.all_zones.data = bool(user.all_zones)
        form.language.data = user.language or ""
    return form


@bp.route("/admin/users/<int(max=2147483647):user_id>", methods=["GET", "POST"])
@requires("administer")
def admin_user_edit(user_id: int):
    """Change a user's role, zones and language (services.users.update_user, audited)."""
    user = _user_or_404(user_id)
    form = _edit_form(user)
    password_form = ResetPasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            update_user(user, role=form.role.data, zone_codes=form.zones.data or [],
                        all_zones=bool(form.all_zones.data),
                        language=form.language.data or None, by=current_user)
        except ValidationFailed as err:
            codes = {p.get("code") for p in err.extra.get("problems", [])}
            if "own_role" in codes:
                form.role.errors.append(_("You cannot change your own role."))
            else:
                form.zones.errors.append(_("Choose at least one zone, or 'sees every zone'."))
            return _edit_page(user, form, password_form, 400)
        flash(_("User %(name)s changed.", name=user.username), "success")
        return redirect(url_for("web.admin_users"))
    if form.is_submitted():
        return _edit_page(user, form, password_form, 400)
    return _edit_page(user, form, password_form)


@bp.post("/admin/users/<int(max=2147483647):user_id>/password")
@requires("administer")
def admin_user_password(user_id: int):
    """Set a new password for a user (the password rule of services.users; audited)."""
    user = _user_or_404(user_id)
    form = _edit_form(user, fresh=True)
    password_form = ResetPasswordForm(prefix="pw")
    if not password_form.validate_on_submit():
        return _edit_page(user, form, password_form, 400)
    try:
        reset_password(user, password_form.new_password.data)
    except PasswordRejected as err:
        password_form.new_password.errors.extend(password_messages(err.codes))
        return _edit_page(user, form, password_form, 400)
    flash(_("New password set for %(name)s; give it to them in person or by phone, and "
            "ask them to change it.", name=user.username), "success")
    return redirect(url_for("web.admin_users"))


@bp.post("/admin/users/<int(max=2147483647):user_id>/deactivate")
@requires("administer")
def admin_user_deactivate(user_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("web.admin_users"))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("web.admin_users"))
    user.active = False
    audit("user_deactivated", target=user.username)
    db.session.commit()
    flash(_("User %(name)s deactivated.", name=user.username), "success")
    return redirect(url_for("web.admin_users"))


@bp.route("/admin/zones", methods=["GET", "POST"])
@requires("administer")
def admin_zones():
    form = ZoneForm()
    form.language.choices = [(c, str(ZONE_LANGUAGE_LABELS[c])) for c in ZONE_LANGUAGES]
    status = 200
    if form.validate_on_submit():
        if db.session.scalar(select(Zone).where(Zone.code == form.code.data)) is not None:
            form.code.errors.append(_("This zone code exists already."))
            status = 409
        else:
            zone = Zone(code=form.code.data, police_zone_number=form.police_zone_number.data
                        or None, name_nl=form.name_nl.data.strip(),
                        name_fr=form.name_fr.data.strip(), language=form.language.data)
            db.session.add(zone)
            audit("zone_created", target=zone.code)
            db.session.commit()
            flash(_("Zone %(code)s created.", code=zone.code), "success")
            return redirect(url_for("web.admin_zones"))
    elif form.is_submitted():
        status = 400
    return render_template("admin/zones.html", form=form, zones=_all_zones()), status
