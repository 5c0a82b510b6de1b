"""Property-based conformance of the API to its own OpenAPI document (Schemathesis 3.x).

Every operation of ``/api/v1/openapi.json`` is called through the WSGI app with generated
parameters and bodies (bounded: ``max_examples=25``, derandomised, so the run is repeatable),
authenticated with an admin token (the widest data access), on a database holding two zones'
funnels. Checks (Schemathesis' built-ins): no 5xx, status code documented, content type
documented, body valid against the documented schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hrpipeline.extensions import db
from hrpipeline.models import ApiToken

CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance)


@pytest.fixture
def api_schema(app, funnel_data):
    return schemathesis.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def admin_secret(make_user):
    from hrpipeline.services.tokens import issue_token

    admin = make_user("admin", all_zones=True)
    holder = {"user": admin, "secret": issue_token(admin, "schemathesis")[1]}

    def current() -> str:
        # A generated DELETE /tokens/{id} may revoke our own token: issue a fresh one then.
        token = db.session.query(ApiToken).filter_by(
            token_hash=ApiToken.hash(holder["secret"])).one()
        if token.revoked_at is not None:
            holder["secret"] = issue_token(holder["user"], "schemathesis")[1]
        return holder["secret"]

    return current


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
def test_api_conforms_to_its_openapi_document(case, admin_secret):
    response = case.call_wsgi(headers={"Authorization": f"Bearer {admin_secret()}"})
    case.validate_response(response, checks=CHECKS)
