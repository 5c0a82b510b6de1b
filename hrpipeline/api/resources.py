"""``/api/v1`` endpoints: thin (parse, call one service with the authenticated user, serialise).

Scoping is the services' job (``resolve_zone``: another zone → 404, the all-zone pool for a
scoped user → 403); errors are domain exceptions mapped once by ``hrpipeline.errors``.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, jsonify, request, url_for
from flask_smorest import Blueprint
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from hrpipeline.api import schemas as s
from hrpipeline.api.security import allow, current_api_user
from hrpipeline.audit import audit
from hrpipeline.csvsafe import download_headers
from hrpipeline.errors import ValidationFailed, _problem
from hrpipeline.extensions import db
from hrpipeline.models import ApiToken, Upload, Zone
from hrpipeline.security import standalone_html
from hrpipeline.services.scope import resolve_zone, zone_scope

blp = Blueprint("api", __name__, url_prefix="/api/v1",
                description="Recruitment-funnel statistics behind minimum-cell suppression.")

PROBLEM = "application/problem+json"


@blp.errorhandler(422)
def _unprocessable(err):
    """webargs / flask-smorest argument errors: the same problem+json, with field messages."""
    messages = (getattr(err, "data", None) or {}).get("messages") or {}
    flat: dict[str, Any] = {}
    for location, fields_ in messages.items():  # {"query": {"zone": [...]}}
        flat.update(fields_ if isinstance(fields_, dict) else {location: fields_})
    return _problem(422, "validation_failed", "The input has problems",
                    "Some parameters are missing or invalid.", errors=flat,
                    problems=[{"column": k, "message": "; ".join(map(str, v))
                               if isinstance(v, list) else str(v)} for k, v in flat.items()])


@blp.errorhandler(OperationalError)
def _database_unavailable(err: OperationalError):
    """Lost connection / locked database: 503 and retry later; the transaction was undone."""
    db.session.rollback()
    current_app.logger.warning("Database unavailable during %s %s: %s", request.method,
                               request.path, err.orig)
    response = _problem(503, "database_unavailable", "Service temporarily unavailable",
                        "The database could not complete the request. Nothing was stored; "
                        "try again in a minute.")
    response.headers["Retry-After"] = "60"
    return response


@blp.after_request
def _headers(response: Response) -> Response:
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hrpipeline"'
    # API answers carry personal statistics: never stored by shared caches.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


# --- health ---------------------------------------------------------------------------------
@blp.route("/health")
@blp.doc(security=[], summary="Liveness and database check (no authentication)")
@blp.response(200, s.HealthSchema)
@blp.alt_response(503, schema=s.HealthSchema, description="Database unavailable")
def health():
    from hrpipeline import __version__

    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except OperationalError:
        db.session.rollback()
        database = "unavailable"
    body = {"status": "ok" if database == "ok" else "degraded", "version": __version__,
            "database": database}
    return body, (200 if database == "ok" else 503)


# --- zones and catalogue ----------------------------------------------------------------------
def _zone_dict(zone: Zone) -> dict[str, Any]:
    return {"code": zone.code, "police_zone_number": zone.police_zone_number,
            "name_nl": zone.name_nl, "name_fr": zone.name_fr, "language": zone.language}


@blp.route("/zones")
@allow("home")
@blp.doc(summary="The zones you can see")
@blp.response(200, s.ZoneListSchema)
def zones():
    from hrpipeline.services.scope import visible_zones

    return {"items": [_zone_dict(z) for z in visible_zones(current_api_user())]}


@blp.route("/catalogue")
@allow("reports")
@blp.doc(summary="The publishable funnel tables you can open (zone × campaign or year)")
@blp.response(200, s.CatalogueSchema)
def catalogue():
    from hrpipeline.services.funnel_data import catalogue as entries

    return {"items": [{"key": e.key, "zone": e.zone, "period": e.period, "year": e.year}
                      for e in entries(current_api_user())]}


# --- funnel ---------------------------------------------------------------------------------
@blp.route("/funnel")
@allow("reports")
@blp.arguments(s.FunnelQuerySchema, location="query", as_kwargs=True)
@blp.doc(summary="One published funnel table (the same numbers as the dashboard)",
         responses={"200": {"description": "The report (JSON), or its CSV with format=csv",
                            "content": {"application/json": {"schema": "FunnelReport"},
                                        "text/csv": {"schema": {"type": "string"}}}}})
@blp.response(200, s.FunnelReportSchema)
def funnel(zone: str, period: str, reference: str, view: str, test: str, format: str):
    from hrpipeline.services.funnel import funnel_report

    user = current_api_user()
    report = funnel_report(user, zone, period, reference=reference, view=view, test=test)
    zone_obj = resolve_zone(user, zone)
    audit("export_funnel", user=user, zone_id=getattr(zone_obj, "id", None), via="api",
          format=format, key=report.key, view=view, reference=reference)
    db.session.commit()
    if format == "csv":
        name = f"funnel-{report.key.replace('/', '-').replace(':', '-')}.csv"
        return Response(report.to_csv(), mimetype="text/csv", headers=download_headers(name))
    # Exactly the service's dict (the dashboard's numbers): not re-serialised by the schema,
    # which documents it.
    return jsonify(report.to_dict())


# --- uploads --------------------------------------------------------------------------------
def _upload_dict(upload: Upload, user=None) -> dict[str, Any]:
    from hrpipeline.services.releases import upload_rows

    rows = upload.row_count if user is None else upload_rows(upload, user)
    return {"id": upload.id, "zone": upload.zone.code, "kind": upload.kind,
            "filename": upload.filename, "sha256": upload.sha256, "row_count": rows,
            "status": upload.status, "campaign": upload.campaign,
            "reference_date": upload.reference_date, "replaces_id": upload.replaces_id,
            "uploaded_by": upload.user.username if upload.user is not None else None,
            "created_at": upload.created_at}


def _form_problems(messages: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"row": None, "column": field, "value": None, "code": "invalid_field",
             "message": "; ".join(map(str, msg)) if isinstance(msg, list) else str(msg)}
            for field, msg in messages.items()]


_UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": "UploadForm"}},
}


def _upload_form() -> tuple[Any, dict[str, Any]]:
    """The multipart upload form of ``POST /uploads`` and ``/uploads/preview``: zone, args."""
    user = current_api_user()
    data: dict[str, Any] = {k: v for k, v in request.form.items()}
    if "file" in request.files:
        data["file"] = request.files["file"]
    try:
        args = s.UploadFormSchema().load(data)
    except ma.ValidationError as err:
        problems = _form_problems(err.messages if isinstance(err.messages, dict) else {})
        raise ValidationFailed("The upload form has problems.", problems=problems,
                               problem_count=len(problems)) from None
    zone = resolve_zone(user, args["zone"])
    if zone is None:
        raise ValidationFailed("An extract belongs to one zone, not to the all-zone pool.",
                               problems=_form_problems({"zone": "one zone code"}))
    if not hasattr(args["file"], "read"):
        raise ValidationFailed("Send the extract as a file part named 'file'.",
                               problems=_form_problems({"file": "a file"}))
    return zone, args


@blp.route("/uploads", methods=["POST"])
@allow("uploads_write")
@blp.doc(summary="Upload an extract (CSV or XLSX) for one of your zones",
         requestBody=_UPLOAD_BODY)
@blp.response(201, s.UploadSchema)
def create_upload():
    from hrpipeline.ingest.store import import_extract

    zone, args = _upload_form()
    upload_file = args["file"]
    upload = import_extract(zone=zone, kind=args["kind"], data=upload_file.read(),
                            filename=upload_file.filename or "upload",
                            user=current_api_user(), replace=args["replace"],
                            sheet=args["sheet"] or None, reference_date=args["reference_date"])
    return _upload_dict(upload), 201, {"Location": url_for("api.list_uploads",
                                                           _external=False) + f"#{upload.id}"}


@blp.route("/uploads/preview", methods=["POST"])
@allow("uploads_write")
@blp.doc(summary="Check an extract without storing it: what storing it would do",
         requestBody=_UPLOAD_BODY)
@blp.response(200, s.UploadPreviewSchema)
def preview_upload():
    from hrpipeline.services.uploads import preview_upload as preview

    zone, args = _upload_form()
    upload_file = args["file"]
    return preview(zone=zone, kind=args["kind"], data=upload_file.read(),
                   filename=upload_file.filename or "upload", user=current_api_user(),
                   sheet=args["sheet"] or None,
                   reference_date=args["reference_date"]).as_dict()


@blp.route("/uploads/<int(max=2147483647):upload_id>/withdraw", methods=["POST"])
@allow("uploads_write")
@blp.arguments(s.WithdrawSchema)
@blp.doc(summary="Withdraw a stored upload (its rows stop counting; can be undone)")
@blp.response(200, s.UploadSchema)
def withdraw_upload(args: dict[str, Any], upload_id: int):
    from hrpipeline.services.uploads import withdraw_upload as withdraw

    user = current_api_user()
    upload = withdraw(user, upload_id, args["reason"],
                      restore_replaced=args["restore_replaced"])
    return _upload_dict(upload, user)


@blp.route("/uploads/<int(max=2147483647):upload_id>/restore", methods=["POST"])
@allow("uploads_write")
@blp.doc(summary="Restore a withdrawn or replaced upload (its rows count again)")
@blp.response(200, s.UploadSchema)
def restore_upload(upload_id: int):
    from hrpipeline.services.uploads import restore_upload as restore

    user = current_api_user()
    return _upload_dict(restore(user, upload_id), user)


@blp.route("/uploads", methods=["GET"])
@allow("uploads_read")
@blp.arguments(s.UploadQuerySchema, location="query", as_kwargs=True)
@blp.doc(summary="Uploads of your zones, newest first (paginated)")
@blp.response(200, s.UploadPageSchema)
def list_uploads(page: int, per_page: int, zone: str | None = None):
    user = current_api_user()
    query = select(Upload).order_by(Upload.created_at.desc(), Upload.id.desc())
    scope = zone_scope(user)
    if scope is not None:
        query = query.where(Upload.zone_id.in_(scope or {-1}))
    if zone:
        zone_obj = resolve_zone(user, zone)
        if zone_obj is not None:
            query = query.where(Upload.zone_id == zone_obj.id)
    result = db.paginate(query, page=page, per_page=per_page, error_out=False,
                         count=True)
    return {"items": [_upload_dict(u, user) for u in result.items], "page": page,
            "per_page": per_page, "total": result.total or 0, "pages": result.pages}


# --- tokens ---------------------------------------------------------------------------------
def _token_dict(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "prefix": token.prefix,
            "user": token.user.username, "created_at": token.created_at,
            "last_used_at": token.last_used_at, "revoked_at": token.revoked_at}


@blp.route("/tokens", methods=["POST"])
@allow("own_tokens", session_writes=True, token_writes=False)
@blp.arguments(s.TokenCreateSchema)
@blp.doc(summary="Create a personal token (browser session + X-CSRFToken header). "
                 "The secret is returned once.")
@blp.response(201, s.TokenCreatedSchema)
def create_token(body: dict[str, Any]):
    from hrpipeline.services.tokens import issue_token

    token, secret = issue_token(current_api_user(), body["name"])
    return {**_token_dict(token), "secret": secret}, 201


@blp.route("/tokens", methods=["GET"])
@allow("own_tokens")
@blp.arguments(s.TokenListArgs, location="query", as_kwargs=True)
@blp.doc(summary="Your tokens (never their secrets)")
@blp.response(200, s.TokenListSchema)
def list_tokens(all: bool = False):  # noqa: A002 (the query parameter's name)
    from hrpipeline.services.tokens import list_tokens as tokens_of

    return {"items": [_token_dict(t) for t in tokens_of(current_api_user(), everyone=all)]}


@blp.route("/tokens/<int(max=2147483647):token_id>", methods=["DELETE"])
@allow("own_tokens", session_writes=True)
@blp.doc(summary="Revoke a token (yours; admins: anyone's)")
@blp.response(204)
def revoke_token(token_id: int):
    from hrpipeline.services.tokens import revoke_token as revoke

    revoke(current_api_user(), token_id)
    return None


# --- retention ------------------------------------------------------------------------------
@blp.route("/retention")
@allow("reports")
@blp.arguments(s.RetentionQuerySchema, location="query", as_kwargs=True)
@blp.doc(summary="The published retention report of a zone (or ALL)",
         responses={"200": {"description": "The report (JSON), or its CSV with format=csv",
                            "content": {"application/json": {"schema": "RetentionReport"},
                                        "text/csv": {"schema": {"type": "string"}}}}})
@blp.response(200, s.RetentionReportSchema)
def retention(zone: str, reference: str, lang: str, format: str):
    from hrpipeline.services.retention import retention_report

    user = current_api_user()
    report = retention_report(user, zone, lang=lang, reference=reference)
    zone_obj = resolve_zone(user, zone)
    audit("export_retention", user=user, zone_id=getattr(zone_obj, "id", None), via="api",
          format=format, zone=zone, reference=reference)
    db.session.commit()
    if format == "csv":
        return Response(report.to_csv(), mimetype="text/csv",
                        headers=download_headers(f"retention-{zone}.csv"))
    return jsonify(report.to_dict())


# --- planner ----------------------------------------------------------------------------------
@blp.route("/planner")
@allow("reports")
@blp.arguments(s.PlannerQuerySchema, location="query", as_kwargs=True)
@blp.doc(summary="Representation-target planner of a zone: projection, hires and applicants "
                 "needed for a target, what-if per selection stage (published inputs only)")
@blp.response(200, s.PlannerReportSchema)
def planner(zone: str, target: float, years: int):
    from hrpipeline.services.planner import planner_report

    report = planner_report(current_api_user(), zone, target=target / 100, years=years)
    return jsonify(report.to_dict())


# --- pilots and briefings ---------------------------------------------------------------------

@blp.route("/pilots")
@allow("pilots_read")
@blp.doc(summary="Pilots whose every pilot and comparison zone you can see")
@blp.response(200, s.PilotListSchema)
def pilots():
    from hrpipeline.services.pilots import list_pilots

    return {"items": [p.to_dict() for p in list_pilots(current_api_user())]}


@blp.route("/pilots/<int(max=2147483647):pilot_id>/evaluation")
@allow("pilots_read")
@blp.arguments(s.PilotEvaluationQuerySchema, location="query", as_kwargs=True)
@blp.doc(summary="A pilot's published evaluation (before/after, difference-in-differences, "
                 "verdict)",
         responses={"200": {"description": "The evaluation (JSON), or its CSV with format=csv",
                            "content": {"application/json": {"schema": "PilotEvaluation"},
                                        "text/csv": {"schema": {"type": "string"}}}}})
@blp.response(200, s.PilotEvaluationSchema)
def pilot_evaluation(pilot_id: int, lang: str, format: str):
    from hrpipeline.services.pilots import evaluate

    user = current_api_user()
    evaluation = evaluate(user, pilot_id, lang=lang)
    audit("export_pilot_evaluation", user=user, via="api", pilot_id=pilot_id, format=format,
          verdict=evaluation.verdict)
    db.session.commit()
    if format == "csv":
        return Response(evaluation.to_csv(), mimetype="text/csv",
                        headers=download_headers(f"pilot-{pilot_id}-evaluation.csv"))
    return jsonify(evaluation.to_dict())


@blp.route("/briefings")
@allow("briefings")
@blp.arguments(s.BriefingQuerySchema, location="query", as_kwargs=True)
@blp.doc(summary="The leadership briefing of a zone and year, as PDF or standalone HTML",
         responses={"200": {"description": "The briefing",
                            "content": {"application/pdf": {"schema": {"type": "string",
                                                                       "format": "binary"}},
                                        "text/html": {"schema": {"type": "string"}}}}})
@blp.response(200)
def briefings(zone: str, period: str, lang: str, format: str):
    from hrpipeline.services import briefing as service

    user = current_api_user()
    # The service logs the download (briefing_download) itself.
    name = f"briefing-{zone}-{period.replace(':', '-')}-{lang}.{format}"
    if format == "html":
        body = service.briefing_html(user, zone, period, lang)
        return standalone_html(Response(body, mimetype="text/html",
                                        headers=download_headers(name, "inline")))
    body = service.briefing_pdf(user, zone, period, lang)
    return Response(body, mimetype="application/pdf", headers=download_headers(name))


# --- audit ----------------------------------------------------------------------------------
@blp.route("/audit")
@allow("administer")
@blp.arguments(s.AuditQuerySchema, location="query", as_kwargs=True)
@blp.doc(summary="The audit log (administrators), newest first, paginated")
@blp.response(200, s.AuditPageSchema)
def audit_log(page: int, per_page: int, **filters):
    from hrpipeline.audit import query_audit

    filters["username"] = filters.pop("user", None)
    return query_audit(current_api_user(), page=page, per_page=per_page, **filters).to_dict()


# --- docs page (Swagger UI from hrpipeline/static, no CDN) -------------------------------------
_DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hrpipeline API v1</title>
<link rel="stylesheet" href="{css}"></head>
<body><noscript><p>The interactive documentation needs JavaScript; the specification is at
<a href="{spec}">{spec}</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="{bundle}"></script><script src="{init}"></script></body></html>
"""

_DOCS_JS = """window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({url: %s, dom_id: '#swagger-ui', deepLinking: true,
    validatorUrl: null, supportedSubmitMethods: ['get', 'post', 'delete']});
});
"""


def docs():
    html = _DOCS_HTML.format(
        css=url_for("static", filename="swagger-ui/swagger-ui.css"),
        bundle=url_for("static", filename="swagger-ui/swagger-ui-bundle.js"),
        init=url_for("api.docs_init"), spec=url_for("api-docs.openapi_json"))
    return Response(html, mimetype="text/html")


def docs_init():
    import json

    # A separate script file, so a strict Content-Security-Policy (no inline script) still works.
    return Response(_DOCS_JS % json.dumps(url_for("api-docs.openapi_json")),
                    mimetype="application/javascript")



# Plain Flask rules: the docs page is not an API operation, so it stays out of the spec.
FlaskBlueprint.add_url_rule(blp, "/docs", "docs", docs)
FlaskBlueprint.add_url_rule(blp, "/docs/init.js", "docs_init", docs_init)
