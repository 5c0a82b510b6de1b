"""Upload an extract (``/uploads/new``) and the upload history (``/uploads``).

The form hands the file to ``hrpipeline.ingest.store.import_extract`` (one service call). A
rejected file comes back as ``ValidationFailed``: its problems are shown inline, in the form's
page, with a downloadable error report, because the person who uploads must fix the file and
needs to see every problem at once. Every other domain error goes to the shared handler.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import abort, current_app, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from hrpipeline.access import requires
from hrpipeline.domain import EXTRACT_KINDS
from hrpipeline.errors import Conflict, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import Upload, Zone
from hrpipeline.services.scope import resolve_zone, visible_zones, zone_scope
from hrpipeline.web.blueprint import bp
from hrpipeline.web.messages import KIND_LABELS, problem_message

PAGE_SIZE = 25
MAX_PAGE = 1_000_000  # as hrpipeline.api.schemas.PageArgs
#: Error reports are kept this many at most per user (older ones are removed on each upload).
KEEP_REPORTS = 5


class UploadForm(FlaskForm):
    zone = SelectField(_l("Zone"), validators=[DataRequired()])
    kind = SelectField(_l("Kind of extract"), validators=[DataRequired()])
    file = FileField(_l("File (CSV or Excel)"), validators=[FileRequired(_l("Choose a file."))])
    sheet = StringField(_l("Sheet (Excel only, optional)"),
                        validators=[Optional(), Length(max=100)])
    reference_date = DateField(_l("Reference date (workforce and counts, optional)"),
                               validators=[Optional()])
    replace = BooleanField(_l("This file replaces an earlier extract of the same zone and kind"))


def _reports_dir() -> Path:
    path = Path(current_app.instance_path) / "problem_reports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _save_problem_report(csv_bytes: bytes) -> str:
    """Keep the CSV error report on the server for its owner; return its token."""
    directory = _reports_dir()
    mine = sorted(directory.glob(f"{current_user.id}-*.csv"), key=lambda p: p.stat().st_mtime)
    for old in mine[: max(0, len(mine) - KEEP_REPORTS + 1)]:
        old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(16)
    # Owner-only (0600) from the moment it exists: reports quote the uploaded values.
    fd = os.open(directory / f"{current_user.id}-{token}.csv",
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(csv_bytes)
    return token


def _field(problem: Any, name: str) -> Any:
    if isinstance(problem, dict):
        return problem.get(name)
    return getattr(problem, name, None)


def problem_rows(problems: list[Any]) -> list[dict[str, Any]]:
    """The problems as table rows, each message translated by its ``code`` where known."""
    rows = []
    for p in problems:
        row = {k: _field(p, k)
               for k in ("row", "column", "value", "expected", "code", "message", "params")}
        row["text"] = problem_message(row)
        rows.append(row)
    return rows


@bp.route("/uploads/new", methods=["GET", "POST"])
@requires("uploads_write")
def upload_new():
    form = UploadForm()
    form.zone.choices = [(z.code, f"{z.code} · {z.name(_lang())}") for z in
                         visible_zones(current_user)]
    form.kind.choices = [(k, str(KIND_LABELS[k])) for k in EXTRACT_KINDS]
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.validate_on_submit():
        from hrpipeline.ingest.problems import problems_to_csv
        from hrpipeline.ingest.store import ImportInProgress, import_extract

        zone = resolve_zone(current_user, form.zone.data)
        upload_file = form.file.data
        try:
            upload = import_extract(
                zone=zone,
                kind=form.kind.data,
                data=upload_file.read(),
                filename=upload_file.filename or "upload",
                user=current_user,
                replace=form.replace.data,
                sheet=form.sheet.data or None,
                reference_date=form.reference_date.data,
            )
        except ValidationFailed as err:
            # ExtractInvalid carries every problem; the listed ones are capped for the page.
            listed = list(err.extra.get("problems", []))
            every = getattr(err, "problems", None)
            total = err.extra.get("problem_count", len(every or listed))
            report = problems_to_csv(every) if every is not None else b""
            context.update(problems=problem_rows(listed), problem_total=total,
                           problem_message=err.message,
                           report_url=url_for("web.upload_problems",
                                              token=_save_problem_report(report)))
            status = 422
        except Conflict as err:
            context.update(conflict=err.message, conflict_extra=err.extra)
            status = 409
        except ImportInProgress:
            context.update(busy=True)
            status = 429
        else:
            context.update(stored=upload)
            form = UploadForm(formdata=None)
            form.zone.choices = context["form"].zone.choices
            form.kind.choices = context["form"].kind.choices
            context["form"] = form
    elif request.method == "POST":
        status = 400
    return render_template("uploads/new.html", **context), status


@bp.get("/uploads/problems/<token>.csv")
@requires("uploads_write")
def upload_problems(token: str):
    # The token is random and the file name carries the owner: nobody else's report is served.
    if not token.replace("-", "").replace("_", "").isalnum():
        abort(404)
    path = _reports_dir() / f"{current_user.id}-{token}.csv"
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name="error-report.csv")


@bp.get("/uploads")
@requires("uploads_read")
def upload_history():
    query = select(Upload).join(Zone, Zone.id == Upload.zone_id).order_by(
        Upload.created_at.desc(), Upload.id.desc())
    scope = zone_scope(current_user)
    if scope is not None:
        query = query.where(Upload.zone_id.in_(scope or {-1}))
    # Capped like the API's page numbers: a huge one overflowed the database's OFFSET (a 500).
    number = min(request.args.get("page", 1, type=int), MAX_PAGE)
    page = db.paginate(query, page=number, per_page=PAGE_SIZE, error_out=False)
    from hrpipeline.services.releases import upload_rows

    return render_template("uploads/history.html", page=page,
                           rows_of=lambda u: upload_rows(u, current_user),
                           rows_rounded=current_user.role not in ("hr_manager", "admin"))


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale())
