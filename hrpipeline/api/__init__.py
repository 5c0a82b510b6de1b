"""REST API ``/api/v1`` (flask-smorest): OpenAPI 3 at ``/api/v1/openapi.json``, Swagger UI at
``/api/v1/docs`` (served from ``hrpipeline/static/swagger-ui``, no CDN).

Register once in the app factory: ``from hrpipeline.api import init_app as init_api;
init_api(app)``. Errors stay with ``hrpipeline.errors`` (problem+json for ``/api/`` paths):
flask-smorest's own HTTP error handler is not installed.
"""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

PROBLEM_JSON = "application/problem+json"


class _Api(Api):
    """flask-smorest Api whose documented errors are RFC 7807 problem+json."""

    def __init__(self, *args, **kwargs):
        from hrpipeline.api.schemas import ProblemSchema

        self.ERROR_SCHEMA = ProblemSchema
        super().__init__(*args, **kwargs)

    def _register_error_handlers(self) -> None:
        # hrpipeline.errors maps every error once; flask-smorest's handler would replace it
        # app-wide (HTML pages included).
        return None

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 7807 problem details)",
                    "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def init_app(app: Flask) -> Api:
    """Register the ``api`` blueprint, its OpenAPI document and the docs page."""
    from hrpipeline import __version__
    from hrpipeline.api import schemas
    from hrpipeline.api.resources import blp
    from hrpipeline.extensions import csrf, login_manager

    app.config.setdefault("API_TITLE", "hrpipeline API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = _Api(app, spec_kwargs={
        "info": {"description": "Recruitment-funnel statistics by migration background for "
                                "Belgian local police zones, behind minimum-cell suppression. "
                                f"Service version {__version__}. See docs/api.md."},
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "hrp_<secret>"})
    api.spec.components.schema("UploadForm", schema=schemas.UploadFormSchema)
    api.register_blueprint(blp)
    # Token-authenticated: Flask-WTF's form CSRF check does not apply; the API's own policy
    # (hrpipeline.api.security) refuses cookie sessions for writes instead.
    csrf.exempt(blp)
    # Anonymous API calls get a 401 problem, not a redirect to the login page.
    login_manager.blueprint_login_views[blp.name] = None
    app.extensions["hrpipeline-api"] = api
    return api


__all__ = ["init_app"]
