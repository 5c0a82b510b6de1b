"""Domain exceptions raised by services, and their one mapping to HTTP.

Services raise these; views never build error responses by hand. API requests (paths under
``/api/``) get RFC 7807 ``application/problem+json``; browser requests get an HTML page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, message: str = "", **extra: Any):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.extra = extra


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class ValidationFailed(DomainError):
    """Bad input from a user: carries the list of problems (file, row, column, expected)."""

    status, code, title = 422, "validation_failed", "The input has problems"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "unavailable", "Service temporarily unavailable"


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _problem(status: int, code: str, title: str, detail: str, **extra: Any):
    body = {"type": f"about:blank#{code}", "title": title, "status": status, "detail": detail}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _has_nul(values) -> bool:
    return any("\x00" in v for v in values)


def _json_has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_has_nul(k) or _json_has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(v) for v in value)
    return False


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_bytes():
        # No legitimate input contains NUL; PostgreSQL refuses it in text columns (a 500 there),
        # SQLite would store it. Refuse it once, here, for every route: path, query and form.
        if "\x00" in request.path or _has_nul(request.args.keys()) or _has_nul(
            request.args.values()
        ) or (request.form and (_has_nul(request.form.keys()) or _has_nul(request.form.values()))
        ) or (request.is_json and _json_has_nul(request.get_json(silent=True))) or any(
            "\x00" in (f.filename or "") for f in request.files.values()
        ):
            raise DomainError("The request contains a NUL character, which no field accepts.")

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        if _wants_json():
            return _problem(err.status, err.code, err.title, err.message, **err.extra)
        return (
            render_template("error.html", status=err.status, title=err.title, message=err.message,
                            extra=err.extra),
            err.status,
        )

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        if _wants_json():
            return _problem(status, (err.name or "error").lower().replace(" ", "_"),
                            err.name or "Error", err.description or "")
        return (
            render_template("error.html", status=status, title=err.name, message=err.description,
                            extra={}),
            status,
        )

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # pragma: no cover - last resort, logged
        app.logger.exception("Unhandled error")
        if _wants_json():
            return _problem(500, "internal_error", "Internal error", "Something went wrong.")
        return (
            render_template("error.html", status=500, title="Internal error",
                            message="Something went wrong.", extra={}),
            500,
        )
