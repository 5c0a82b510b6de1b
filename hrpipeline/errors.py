"""Domain exceptions raised by services, and their one mapping to HTTP.

Services raise these; views never build error responses by hand. API requests (paths under
``/api/``) get RFC 7807 ``application/problem+json``; browser requests get an HTML page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from hrpipeline.extensions import db

#: Seconds after which a "being prepared" page asks again (``Retry-After`` and ``Refresh``).
PREPARING_RETRY_SECONDS = 10


class DomainError(Exception):
    """``message`` is plain English (the API's ``detail``); ``key`` and ``params`` let the web
    layer say the same in the reader's language (``hrpipeline.web.messages.error_text``)."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, message: str = "", *, key: str | None = None,
                 params: dict[str, Any] | None = None, **extra: Any):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.extra = extra
        self.key = key
        self.params = {**extra, **(params or {})}


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


#: Deeper JSON is refused (400): no request of this service nests more than a few levels, and
#: 5,000 levels made the JSON decoder raise RecursionError (a 500, even on GET /health).
MAX_JSON_DEPTH = 64


def _too_deep() -> DomainError:
    from flask_babel import gettext as _

    return DomainError(_("The JSON body is nested too deeply."))


def _json_strings(value: Any):
    """Every string of a parsed JSON value, walked without recursion, depth-limited."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            children = [c for kv in item.items() for c in kv] if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in reversed(children))


def _request_strings():
    """Every user-supplied string of the request: path, query, form, JSON body, file names."""
    yield request.path
    for fields in (request.args, request.form):
        for key, value in fields.items(multi=True):
            yield key
            yield value
    for upload in request.files.values():
        yield upload.filename or ""
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # not a ValueError, so silent=True does not catch it
            raise _too_deep() from None
        yield from _json_strings(body)


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_bytes():
        # No legitimate input contains NUL; PostgreSQL refuses it in text columns (a 500 there),
        # SQLite would store it. Refuse it once, here, for every route and every input.
        if any("\x00" in text for text in _request_strings()):
            raise DomainError("The request contains a NUL character, which no field accepts.")

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        preparing = err.code == "being_prepared"
        if _wants_json():
            response = _problem(err.status, err.code, err.title, err.message, **err.extra)
        elif preparing:
            response = make_response(render_template(
                "jobs/preparing.html", job=getattr(err, "job", None)), err.status)
        else:
            from hrpipeline.web.messages import error_text, problem_rows

            extra = dict(err.extra)
            if extra.get("problems"):
                extra["problems"] = problem_rows(extra["problems"])
            response = make_response(render_template(
                "error.html", status=err.status, title=err.title, message=error_text(err),
                extra=extra), err.status)
        if err.status == 503:  # try again later: soon when a job prepares the answer
            response.headers["Retry-After"] = str(PREPARING_RETRY_SECONDS if preparing else 60)
        if preparing and not _wants_json():
            response.headers["Refresh"] = str(PREPARING_RETRY_SECONDS)  # the browser reloads
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(err: DBAPIError):
        """The database is down, unreachable or its connection was lost: a 503 in the user's
        language with ``Retry-After``, never a 500 (the transaction is undone)."""
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone altogether
            pass
        app.logger.warning("Database unavailable during %s %s: %s", request.method,
                           request.path, getattr(err, "orig", err))
        if _wants_json():
            response = _problem(503, "database_unavailable", "Service temporarily unavailable",
                                "The database could not complete the request. Nothing was "
                                "stored; try again in a minute.")
        else:
            response = make_response(render_template("db_unavailable.html"), 503)
        response.headers["Retry-After"] = "60"
        return response

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
