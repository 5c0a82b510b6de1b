"""Access control for every route of the app (the URL map is walked, so a new route without a
role declaration or a login check fails here), and zone isolation on the funnel pages."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from hrpipeline.domain import ROLES
from tests.web.conftest import APPLICANTS, as_user, login

#: Routes that anyone may call (logging in, choosing the interface language, health checks).
PUBLIC = {"static", "auth.login", "auth.set_language", "health"}
#: Routes for any logged-in user whatever the role (own account).
ANY_ROLE = {"auth.logout", "auth.password"}
SAMPLE_ARGS = {"name": "funnel", "fmt": "png", "lang": "nl", "token": "abc"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.rule.startswith("/api/"):
            continue  # the API walks its own rules (tests/api)
        args = {a: SAMPLE_ARGS.get(a, 1 if isinstance(rule._converters.get(a), IntegerConverter)
                                   else "x")
                for a in rule.arguments}
        path = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def test_every_web_route_declares_its_roles(app):
    missing = [endpoint for endpoint, _m, _p in _routes(app)
               if endpoint not in ANY_ROLE
               and getattr(app.view_functions[endpoint], "allowed_roles", None) is None]
    assert missing == []


def test_anonymous_is_sent_to_login_everywhere(app, client):
    seen = 0
    for endpoint, method, path in _routes(app):
        response = client.open(path, method=method)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert "/login" in response.headers["Location"], endpoint
        seen += 1
    assert seen >= 15


def test_wrong_role_gets_403_everywhere(app, client, make_user):
    users = {role: make_user(role, ["ANT"]) for role in ROLES if role != "admin"}
    checked = 0
    for endpoint, method, path in _routes(app):
        allowed = getattr(app.view_functions[endpoint], "allowed_roles", None)
        if allowed is None:
            continue
        outsiders = [r for r in users if r not in allowed]
        for role in outsiders:
            as_user(client, users[role])
            response = client.open(path, method=method)
            assert response.status_code == 403, (endpoint, method, role, response.status_code)
            checked += 1
    assert checked >= 20  # admin pages × 4 roles, uploads × 3, reports × 0 ...


def test_admin_may_open_every_page(app, client, make_user, funnel_data):
    admin = make_user("admin", all_zones=True)
    login(client, admin)
    for path in ("/", "/funnel", "/representation", "/data-quality", "/funnel.csv",
                 "/uploads", "/uploads/new", "/admin/users", "/admin/zones"):
        assert client.get(path).status_code == 200, path


ANT_NUMBERS = [str(n) for n in APPLICANTS["ANT"].values() if n > 90]


@pytest.mark.parametrize("path", [
    "/funnel?zone=ANT&period=campaign:2024-1",
    "/funnel?zone=ANT&period=year:2024",
    "/funnel?table=ANT|year:2024",
    "/representation?zone=ANT&period=year:2024",
    "/data-quality?zone=ANT&period=year:2024",
    "/funnel.csv?zone=ANT&period=year:2024",
    "/charts/pass_rate.svg?zone=ANT&period=year:2024",
    "/funnel?zone=ALL&period=year:2024",
    "/funnel.csv?zone=ALL&period=year:2024",
])
def test_officer_of_one_zone_gets_nothing_of_another(client, make_user, funnel_data, path):
    officer = make_user("diversity_officer", ["GNT"])
    login(client, officer)
    response = client.get(path)
    assert response.status_code in (403, 404)
    body = response.get_data(as_text=True)
    assert "text/csv" not in response.content_type
    for number in ANT_NUMBERS:
        assert not re.search(rf"\b{number}\b", body), number
    assert "Antwerpen" not in body and "ANT" not in body.replace("ANT_", "")


def test_officer_sees_own_zone_only_in_choices_and_history(client, make_user, funnel_data):
    officer = make_user("diversity_officer", ["GNT"])
    login(client, officer)
    page = client.get("/funnel").get_data(as_text=True)
    assert '<option value="GNT" selected>' in page and 'value="campaign:2024-1"' in page
    assert 'value="ANT"' not in page and 'value="ALL"' not in page
    history = client.get("/uploads").get_data(as_text=True)
    assert "funnel_GNT_2024-1.csv" in history
    assert "funnel_ANT" not in history


def test_hr_manager_cannot_upload_into_another_zone(client, make_user, zones, db_counts):
    import io

    hr = make_user("hr_manager", ["ANT"])
    login(client, hr)
    form = client.get("/uploads/new").get_data(as_text=True)
    assert 'value="ANT"' in form and 'value="GNT"' not in form
    before = db_counts()
    response = client.post("/uploads/new", data={
        "zone": "GNT", "kind": "funnel", "file": (io.BytesIO(b"a;b\n1;2\n"), "x.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert db_counts() == before
