"""Upload an extract (``/uploads/new``), the upload history (``/uploads``), withdrawing and
restoring uploads, the column guide and the templates.

Uploading is two steps. The form's file is first *checked* (``services.uploads.preview_upload``:
nothing is stored) and the page shows what storing it would do: rows, campaigns or dates,
groups, and which stored upload it would replace, with a confirmation that names what
disappears. The file waits on the server (owner-only, for an hour) until the user stores it.
A rejected file comes back as ``ValidationFailed``: its problems are shown inline, in the
reader's language, with a downloadable error report in the same language. Every other domain
error goes to the shared handler.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from hrpipeline.access import requires
from hrpipeline.domain import EXTRACT_KINDS
from hrpipeline.errors import Conflict, DomainError, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import Upload, Zone
from hrpipeline.services.scope import resolve_zone, visible_zones, zone_scope
from hrpipeline.web.blueprint import bp
from hrpipeline.web.messages import (
    KIND_LABELS,
    error_text,
    problem_message,
    problem_rows,
)

PAGE_SIZE = 25
MAX_PAGE = 1_000_000  # as hrpipeline.api.schemas.PageArgs
#: Error reports are kept this many at most per user (older ones are removed on each upload).
KEEP_REPORTS = 5
#: Checked files waiting to be stored: at most this many per user, for at most this long.
KEEP_PENDING, PENDING_SECONDS = 3, 3600



class UploadForm(FlaskForm):
    zone = SelectField(_l("Zone"), validators=[DataRequired()])
    kind = SelectField(_l("Kind of extract"), validators=[DataRequired()])
    file = FileField(_l("File (CSV or Excel)"), validators=[FileRequired(_l("Choose a file."))])
    sheet = StringField(_l("Sheet (Excel only, optional)"),
                        validators=[Optional(), Length(max=100)])
    reference_date = DateField(_l("Reference date (workforce and counts, optional)"),
                               validators=[Optional()])


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    confirm_replace = BooleanField(_l("Yes, replace it: I understand that the rows listed "
                                      "above stop counting."))


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Reason for the withdrawal (kept in the audit log)"),
                         validators=[DataRequired(), Length(min=5, max=500)])
    restore_replaced = BooleanField(_l("Restore the upload it replaced"), default=True)


class RestoreForm(FlaskForm):
    pass


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale())


def _private_dir(name: str) -> Path:
    path = Path(current_app.instance_path) / name
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _reports_dir() -> Path:
    return _private_dir("problem_reports")


def _write_private(path: Path, data: bytes) -> None:
    # Owner-only (0600) from the moment it exists: these files quote the uploaded values.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _save_problem_report(csv_bytes: bytes) -> str:
    """Keep the CSV error report on the server for its owner; return its token."""
    directory = _reports_dir()
    mine = sorted(directory.glob(f"{current_user.id}-*.csv"), key=lambda p: p.stat().st_mtime)
    for old in mine[: max(0, len(mine) - KEEP_REPORTS + 1)]:
        old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(16)
    _write_private(directory / f"{current_user.id}-{token}.csv", csv_bytes)
    return token


def problem_report(problems: list[Any], filename: str) -> bytes:
    """The error report in the reader's language: ``;``-separated, UTF-8 with BOM, the file
    named on every line."""
    from hrpipeline.ingest.problems import problems_to_csv

    return problems_to_csv(
        problems, message=lambda p: problem_message(p.as_dict()),
        header=(_("Row (as in Excel)"), _("Column"), _("Value"), _("Code"), _("Problem")),
        filename=filename, file_header=_("File"))


# --- checked files waiting to be stored ---------------------------------------------------
def _pending_dir() -> Path:
    return _private_dir("pending_uploads")


def _valid_token(token: str) -> bool:
    return bool(token) and len(token) < 64 and token.replace("-", "").replace("_", "").isalnum()


def _save_pending(data: bytes, meta: dict[str, Any]) -> str:
    directory = _pending_dir()
    now = time.time()
    mine = sorted(directory.glob(f"{current_user.id}-*.bin"), key=lambda p: p.stat().st_mtime)
    for old in [p for p in mine if now - p.stat().st_mtime > PENDING_SECONDS] + mine[
            : max(0, len(mine) - KEEP_PENDING + 1)]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    token = secrets.token_urlsafe(16)
    _write_private(directory / f"{current_user.id}-{token}.json", json.dumps(meta).encode())
    _write_private(directory / f"{current_user.id}-{token}.bin", data)
    return token


def _load_pending(token: str) -> tuple[bytes, dict[str, Any]] | None:
    if not _valid_token(token):
        return None
    base = _pending_dir() / f"{current_user.id}-{token}"
    data, meta = base.with_suffix(".bin"), base.with_suffix(".json")
    if not data.is_file() or not meta.is_file():
        return None
    if time.time() - data.stat().st_mtime > PENDING_SECONDS:
        _drop_pending(token)
        return None
    return data.read_bytes(), json.loads(meta.read_text())


def _drop_pending(token: str) -> None:
    if _valid_token(token):
        base = _pending_dir() / f"{current_user.id}-{token}"
        base.with_suffix(".bin").unlink(missing_ok=True)
        base.with_suffix(".json").unlink(missing_ok=True)


# --- pages ---------------------------------------------------------------------------------
def _upload_form(formdata: Any = ...) -> UploadForm:
    form = UploadForm() if formdata is ... else UploadForm(formdata=formdata)
    form.zone.choices = [(z.code, f"{z.code} · {z.name(_lang())}") for z in
                         visible_zones(current_user)]
    form.kind.choices = [(k, str(KIND_LABELS[k])) for k in EXTRACT_KINDS]
    return form


def _refusal_context(err: DomainError, filename: str) -> tuple[dict[str, Any], int]:
    """The page's context for a refused file (problems, or a conflict) and its status."""
    if isinstance(err, ValidationFailed):
        # ExtractInvalid carries every problem; the listed ones are capped for the page.
        listed = list(err.extra.get("problems", []))
        every = getattr(err, "problems", None)
        total = err.extra.get("problem_count", len(every or listed))
        report = problem_report(every, filename) if every is not None else b""
        return {"problems": problem_rows(listed), "problem_total": total,
                "problem_file": filename,
                "report_url": url_for("web.upload_problems",
                                      token=_save_problem_report(report))}, 422
    if isinstance(err, Conflict):
        return {"conflict": error_text(err), "conflict_key": err.key,
                "conflict_upload": err.extra.get("upload_id")}, 409
    raise err


@bp.route("/uploads/new", methods=["GET", "POST"])
@requires("uploads_write")
def upload_new():
    from hrpipeline.ingest.store import ImportInProgress
    from hrpipeline.services.uploads import preview_upload

    form = _upload_form()
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.validate_on_submit():
        zone = resolve_zone(current_user, form.zone.data)
        upload_file = form.file.data
        data = upload_file.read()
        filename = upload_file.filename or "upload"
        try:
            preview = preview_upload(zone=zone, kind=form.kind.data, data=data,
                                     filename=filename, user=current_user,
                                     sheet=form.sheet.data or None,
                                     reference_date=form.reference_date.data)
        except (ValidationFailed, Conflict) as err:
            extra, status = _refusal_context(err, filename)
            context.update(extra)
        except ImportInProgress:
            context.update(busy=True)
            status = 429
        else:
            token = _save_pending(data, {
                "zone": zone.code, "kind": form.kind.data, "filename": filename,
                "sheet": form.sheet.data or None,
                "reference_date": (form.reference_date.data.isoformat()
                                   if form.reference_date.data else None),
                "replaces": [u.id for u in preview.removes]})
            confirm = ConfirmForm(formdata=None, token=token)
            context.update(preview=preview, confirm=confirm)
    elif request.method == "POST":
        status = 400
    return render_template("uploads/new.html", **context), status


@bp.post("/uploads/confirm")
@requires("uploads_write")
def upload_confirm():
    from hrpipeline.ingest.store import ImportInProgress, import_extract
    from hrpipeline.services.uploads import preview_upload

    confirm = ConfirmForm()
    form = _upload_form(formdata=None)
    context: dict[str, Any] = {"form": form}
    if not confirm.validate_on_submit():
        abort(400)
    pending = _load_pending(confirm.token.data)
    if pending is None:
        context.update(expired=True)
        return render_template("uploads/new.html", **context), 410
    data, meta = pending
    zone = resolve_zone(current_user, meta["zone"])
    reference_date = (dt.date.fromisoformat(meta["reference_date"])
                      if meta.get("reference_date") else None)
    replaces = list(meta.get("replaces") or [])
    if replaces and not confirm.confirm_replace.data:
        # Replacing needs the explicit confirmation: show the preview again, with the reason.
        preview = preview_upload(zone=zone, kind=meta["kind"], data=data,
                                 filename=meta["filename"], user=current_user,
                                 sheet=meta.get("sheet"), reference_date=reference_date)
        context.update(preview=preview, confirm=confirm, confirm_missing=True)
        return render_template("uploads/new.html", **context), 422
    try:
        upload = import_extract(zone=zone, kind=meta["kind"], data=data,
                                filename=meta["filename"], user=current_user,
                                replace=bool(replaces), sheet=meta.get("sheet"),
                                reference_date=reference_date, replaces=replaces)
    except (ValidationFailed, Conflict) as err:
        extra, status = _refusal_context(err, meta["filename"])
        context.update(extra)
        return render_template("uploads/new.html", **context), status
    except ImportInProgress:
        context.update(busy=True)
        return render_template("uploads/new.html", **context), 429
    _drop_pending(confirm.token.data)
    context.update(stored=upload, replaced_ids=replaces)
    return render_template("uploads/new.html", **context), 200


@bp.get("/uploads/problems/<token>.csv")
@requires("uploads_write")
def upload_problems(token: str):
    # The token is random and the file name carries the owner: nobody else's report is served.
    if not _valid_token(token):
        abort(404)
    path = _reports_dir() / f"{current_user.id}-{token}.csv"
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=_("error-report") + ".csv")


@bp.get("/uploads")
@requires("uploads_read")
def upload_history():
    from hrpipeline.access import can
    from hrpipeline.services.releases import upload_rows
    from hrpipeline.services.uploads import refused_attempts

    query = select(Upload).join(Zone, Zone.id == Upload.zone_id).order_by(
        Upload.created_at.desc(), Upload.id.desc())
    scope = zone_scope(current_user)
    if scope is not None:
        query = query.where(Upload.zone_id.in_(scope or {-1}))
    # Capped like the API's page numbers: a huge one overflowed the database's OFFSET (a 500).
    number = min(request.args.get("page", 1, type=int), MAX_PAGE)
    page = db.paginate(query, page=number, per_page=PAGE_SIZE, error_out=False)
    may_write = can(current_user, "uploads_write")
    return render_template("uploads/history.html", page=page,
                           rows_of=lambda u: upload_rows(u, current_user),
                           rows_rounded=current_user.role not in ("hr_manager", "admin"),
                           may_write=may_write, restore_form=RestoreForm(),
                           refused=refused_attempts(current_user) if may_write else [],
                           problem_label=_refusal_reason)


def _refusal_reason(entry: dict[str, Any]) -> str:
    first = entry.get("first")
    reason = entry.get("reason") or ""
    if first:
        from hrpipeline.web.messages import PROBLEM_TEXTS

        text = PROBLEM_TEXTS.get(first)
        if text is not None and "%(" not in str(text):
            return str(text)
    labels = {
        "already_stored": _l("The same file was already stored."),
        "already_withdrawn": _l("The same file was stored and withdrawn before."),
        "already_replaced": _l("The same file was stored and replaced before."),
        "overlap_campaigns": _l("An earlier upload holds the same campaigns."),
        "overlap_workforce": _l("An earlier upload holds the zone's workforce."),
        "overlap_counts_headcount": _l("An earlier upload holds the same dates."),
        "preview_outdated": _l("The stored extracts changed after the check."),
        "validation_failed": _l("The file has problems."),
    }
    label = labels.get(reason)
    if label is None and first:
        label = _l("The file has problems.")
    return str(label) if label is not None else reason


def _upload_or_404(upload_id: int) -> Upload:
    upload = db.session.get(Upload, upload_id)
    scope = zone_scope(current_user)
    if upload is None or (scope is not None and upload.zone_id not in scope):
        abort(404)
    return upload


@bp.route("/uploads/<int(max=2147483647):upload_id>/withdraw", methods=["GET", "POST"])
@requires("uploads_write")
def upload_withdraw(upload_id: int):
    from hrpipeline.services.uploads import withdraw_upload

    upload = _upload_or_404(upload_id)
    form = WithdrawForm()
    replaced = db.session.get(Upload, upload.replaces_id) if upload.replaces_id else None
    status = 200
    if form.validate_on_submit():
        done = withdraw_upload(current_user, upload.id, form.reason.data,
                               restore_replaced=bool(form.restore_replaced.data))
        message = _("Upload %(id)s (%(file)s) is withdrawn: its rows no longer count.",
                    id=done.id, file=done.filename)
        if getattr(done, "restored_id", None):
            message += " " + _("Upload %(id)s, which it had replaced, counts again.",
                               id=done.restored_id)
        flash(message, "success")
        return redirect(url_for("web.upload_history"))
    if request.method == "POST":
        status = 422
    return render_template("uploads/withdraw.html", upload=upload, form=form,
                           replaced=replaced), status


@bp.post("/uploads/<int(max=2147483647):upload_id>/restore")
@requires("uploads_write")
def upload_restore(upload_id: int):
    from hrpipeline.services.uploads import restore_upload

    upload = _upload_or_404(upload_id)
    if not RestoreForm().validate_on_submit():
        abort(400)
    done = restore_upload(current_user, upload.id)
    flash(_("Upload %(id)s (%(file)s) is restored: its rows count again.", id=done.id,
            file=done.filename), "success")
    return redirect(url_for("web.upload_history"))


# --- column guide and templates ------------------------------------------------------------
#: What each column holds, for the guide and the templates' header comments.
COLUMN_NOTES = {
    "candidate_ref": _l("Pseudonymous candidate number (no name, no national number)."),
    "campaign": _l("Name of the recruitment campaign, e.g. INP 2024-1."),
    "campaign_year": _l("Year of the campaign (else read from the campaign name or dates)."),
    "stage": _l("Selection stage of this row."),
    "outcome": _l("Outcome of the candidate at this stage."),
    "stage_date": _l("Date of the stage (day/month/year)."),
    "migration_background": _l("Migration background (voluntary; unknown if not given)."),
    "gender": _l("Gender."),
    "age_band": _l("Age group."),
    "officer_ref": _l("Pseudonymous personnel number (no name, no national number)."),
    "rank": _l("Rank."),
    "hire_date": _l("Date of entry into service (day/month/year)."),
    "exit_date": _l("Date of leaving the zone; empty for an officer still in service."),
    "exit_type": _l("Type of exit."),
    "exit_reason": _l("Main reason for leaving (exit interview)."),
    "exit_comment": _l("Free text of the exit interview (no names)."),
    "passed": _l("Number of candidates who passed."),
    "failed": _l("Number of candidates who failed."),
    "withdrew": _l("Number of candidates who withdrew."),
    "pending": _l("Number of candidates without a result yet."),
    "date": _l("Reference date of the headcount."),
    "headcount": _l("Number of officers (** or <5 if hidden at source)."),
}

LAYOUT_LABELS = {
    "funnel": _l("Recruitment funnel (one row per candidate and stage)"),
    "workforce": _l("Workforce and exits (one row per officer)"),
    "counts_funnel": _l("Aggregate counts table: funnel counts per campaign, stage and group"),
    "counts_headcount": _l("Aggregate counts table: headcount per date, group and rank"),
}


@bp.get("/uploads/guide")
@requires("uploads_write")
def upload_guide():
    from hrpipeline.ingest.columns import VALUE_FIELDS, written_header, written_values
    from hrpipeline.ingest.template import template_columns
    from hrpipeline.ingest.validate import required_fields

    lang = _lang()
    layouts = []
    for layout, label in LAYOUT_LABELS.items():
        required = set(required_fields(layout))
        columns = []
        for field in template_columns(layout):
            columns.append({
                "header": written_header(field, lang), "field": field,
                "required": field in required, "note": str(COLUMN_NOTES.get(field, "")),
                "accepted": written_values(field, lang) if field in VALUE_FIELDS else None})
        layouts.append({"layout": layout, "label": str(label), "columns": columns})
    return render_template("uploads/guide.html", layouts=layouts, lang=lang)


@bp.get("/uploads/template/<layout>.xlsx")
@requires("uploads_write")
def upload_template(layout: str):
    import io

    from hrpipeline.ingest.template import template_xlsx

    if layout not in LAYOUT_LABELS:
        abort(404)
    lang = request.args.get("lang") or _lang()
    if lang not in ("nl", "fr", "en"):
        abort(404)
    from flask_babel import force_locale

    with force_locale(lang):  # the template's language, whatever the page's
        sheets = (_("data"), _("lists"))
        notes = {k: str(v) for k, v in COLUMN_NOTES.items()}
    data = template_xlsx(layout, lang, sheet_names=sheets, notes=notes)
    return send_file(io.BytesIO(data), as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument."
                              "spreadsheetml.sheet",
                     download_name=f"template_{layout}_{lang}.xlsx")
