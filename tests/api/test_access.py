"""Access control for every ``/api/v1`` endpoint: anonymous, bad or revoked token, wrong role,
wrong zone, cookie session on writes → refused with a problem and no data.

``test_every_endpoint_has_an_access_case`` walks the registered rules, so a new endpoint
without an entry in ``CASES`` fails the suite.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from hrpipeline.domain import ROLES
from hrpipeline.extensions import db
from hrpipeline.models import ApiToken, utcnow
from tests.api.conftest import bearer, funnel_csv

REPORT = ("diversity_officer", "hr_manager", "project_staff", "leadership")
ANY = tuple(ROLES)
PILOT = ("project_staff", "leadership", "diversity_officer")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # {zone} is replaced; None when the endpoint takes no zone
    roles: tuple[str, ...]
    zoned: bool = False
    write: bool = False


CASES: dict[str, Case] = {
    "api.zones": Case("GET", "/api/v1/zones", ANY),
    "api.catalogue": Case("GET", "/api/v1/catalogue", REPORT),
    "api.funnel": Case("GET", "/api/v1/funnel?zone={zone}&period=year:2024", REPORT, zoned=True),
    "api.create_upload": Case("POST", "/api/v1/uploads", ("hr_manager",), zoned=True,
                              write=True),
    "api.preview_upload": Case("POST", "/api/v1/uploads/preview", ("hr_manager",),
                               zoned=True, write=True),
    # Zone scoping of withdraw / restore is by the upload's id (tests/api/test_endpoints.py).
    "api.withdraw_upload": Case("POST", "/api/v1/uploads/{upload_id}/withdraw",
                                ("hr_manager",), write=True),
    "api.restore_upload": Case("POST", "/api/v1/uploads/{upload_id}/restore", ("hr_manager",),
                               write=True),
    "api.list_uploads": Case("GET", "/api/v1/uploads?zone={zone}", ("hr_manager",
                                                                   "diversity_officer"),
                             zoned=True),
    "api.create_token": Case("POST", "/api/v1/tokens", ANY, write=True),
    "api.list_tokens": Case("GET", "/api/v1/tokens", ANY),
    "api.revoke_token": Case("DELETE", "/api/v1/tokens/{token_id}", ANY, write=True),
    "api.audit_log": Case("GET", "/api/v1/audit", ("admin",)),
    "api.retention": Case("GET", "/api/v1/retention?zone={zone}", REPORT, zoned=True),
    "api.planner": Case("GET", "/api/v1/planner?zone={zone}", REPORT, zoned=True),
    "api.pilots": Case("GET", "/api/v1/pilots", PILOT),
    # Zone scoping of a pilot is by its id: see test_pilot_of_other_zones_is_not_found.
    "api.pilot_evaluation": Case("GET", "/api/v1/pilots/{pilot_id}/evaluation", PILOT),
    "api.briefings": Case("GET", "/api/v1/briefings?zone={zone}&period=year:2024",
                          ("leadership", "project_staff"), zoned=True),
}
PUBLIC = {"api.health", "api.docs", "api.docs_init"}


def _call(client, case: Case, headers=None, zone: str = "ANT", token_id: int = 1,
          pilot_id: int = 1, upload_id: int = 1):
    path = case.path.format(zone=zone, token_id=token_id, pilot_id=pilot_id,
                            upload_id=upload_id)
    kwargs = {"headers": headers or {}}
    if case.method == "POST" and "uploads" in path:
        kwargs["data"] = {"zone": zone, "kind": "funnel",
                          "file": (io.BytesIO(funnel_csv(20, seed=len(zone))), "f.csv")}
    elif case.method == "POST":
        kwargs["json"] = {"name": "x"}
    return client.open(path, method=case.method, **kwargs)


def _refused(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert not {"items", "rows", "secret", "comparisons"} & set(body)


def test_every_endpoint_has_an_access_case(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("api.")}
    assert registered == set(CASES) | PUBLIC, "add the new endpoint to CASES"
    for endpoint, case in CASES.items():
        view = app.view_functions[endpoint]
        assert view.allowed_roles == case.roles, endpoint


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_anonymous_is_refused(client, funnel_data, endpoint):
    _refused(_call(client, CASES[endpoint]), 401)


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_revoked_unknown_and_malformed_tokens_are_refused(client, funnel_data, make_user,
                                                          token_for, endpoint):
    admin = make_user("admin", all_zones=True)
    secret = token_for(admin)
    token = db.session.query(ApiToken).one()
    token.revoked_at = utcnow()
    db.session.commit()
    case = CASES[endpoint]
    _refused(_call(client, case, bearer(secret)), 401)
    _refused(_call(client, case, bearer("hrp_" + "A" * 43)), 401)
    _refused(_call(client, case, {"Authorization": "Basic YWRtaW46YWRtaW4="}), 401)


def test_deactivated_users_token_is_refused(client, funnel_data, make_user, token_for):
    user = make_user("diversity_officer", ["ANT"])
    secret = token_for(user)
    assert client.get("/api/v1/zones", headers=bearer(secret)).status_code == 200
    user.active = False
    db.session.commit()
    _refused(client.get("/api/v1/zones", headers=bearer(secret)), 401)


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.roles != ANY))
def test_wrong_role_is_refused(client, funnel_data, make_user, token_for, endpoint):
    case = CASES[endpoint]
    wrong = [r for r in ROLES if r != "admin" and r not in case.roles]
    for role in wrong:
        user = make_user(role, ["ANT"])
        _refused(_call(client, case, bearer(token_for(user))), 403)


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.zoned))
def test_other_zone_is_not_found_and_pool_forbidden(client, funnel_data, make_user, token_for,
                                                    db_counts, endpoint):
    case = CASES[endpoint]
    user = make_user(case.roles[0], ["GNT"])
    headers = bearer(token_for(user))
    before = db_counts()
    _refused(_call(client, case, headers, zone="ANT"), 404)
    _refused(_call(client, case, headers, zone="NOPE"), 404)  # same answer as a hidden zone
    _refused(_call(client, case, headers, zone="ALL"), 403)  # the all-zone pool
    after = db_counts()
    assert before["uploads"] == after["uploads"]
    assert before["funnel_records"] == after["funnel_records"]
