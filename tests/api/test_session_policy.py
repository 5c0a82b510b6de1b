"""API policy beyond the role matrix: zone-scoped lists, other users' tokens, cookie sessions
(reads only; writes need a token; token management needs the CSRF header), and tokens that
cannot mint tokens. See hrpipeline/api/security.py and docs/api.md."""

from __future__ import annotations

import re

import pytest

from hrpipeline.extensions import db
from hrpipeline.models import ApiToken
from tests.api.conftest import bearer
from tests.api.test_access import CASES, _call, _refused
from tests.conftest import PASSWORD


def test_scoped_lists_show_own_zones_only(client, funnel_data, make_user, token_for):
    officer = make_user("diversity_officer", ["GNT"])
    headers = bearer(token_for(officer))
    zones = client.get("/api/v1/zones", headers=headers).get_json()["items"]
    assert [z["code"] for z in zones] == ["GNT"]
    entries = client.get("/api/v1/catalogue", headers=headers).get_json()["items"]
    assert entries and {e["zone"] for e in entries} == {"GNT"}
    uploads = client.get("/api/v1/uploads", headers=headers).get_json()
    assert uploads["total"] == 1 and uploads["items"][0]["zone"] == "GNT"


def test_tokens_of_other_users_are_invisible_and_not_revocable(client, make_user, token_for):
    alice = make_user("diversity_officer", ["ANT"])
    bob = make_user("diversity_officer", ["ANT"])
    alice_secret = token_for(alice, "alice")
    bob_secret = token_for(bob, "bob")
    alice_id = db.session.query(ApiToken).filter_by(name="alice").one().id
    listed = client.get("/api/v1/tokens?all=true", headers=bearer(bob_secret)).get_json()
    assert [t["name"] for t in listed["items"]] == ["bob"]
    _refused(client.delete(f"/api/v1/tokens/{alice_id}", headers=bearer(bob_secret)), 404)
    assert client.get("/api/v1/zones", headers=bearer(alice_secret)).status_code == 200


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.write
                                            and e not in ("api.create_token",
                                                          "api.revoke_token")))
def test_cookie_session_cannot_write(client, auth, funnel_data, make_user, endpoint):
    user = make_user("hr_manager", ["ANT"])
    assert auth.login(user.username).status_code == 302
    _refused(_call(client, CASES[endpoint]), 403)


def test_cookie_session_reads_but_token_header_wins(client, auth, funnel_data, make_user):
    user = make_user("diversity_officer", ["ANT"])
    auth.login(user.username)
    assert client.get("/api/v1/zones").status_code == 200
    # A bad token is refused even though the browser also holds a valid session.
    _refused(client.get("/api/v1/zones", headers=bearer("hrp_nope")), 401)


def test_token_cannot_mint_tokens(client, make_user, token_for):
    user = make_user("leadership", ["ANT"])
    _refused(client.post("/api/v1/tokens", json={"name": "more"},
                         headers=bearer(token_for(user))), 403)
    assert db.session.query(ApiToken).count() == 1


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_session_token_creation_needs_the_csrf_header(client, make_user):
    user = make_user("leadership", ["ANT"])
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf})
    assert response.status_code == 302
    # The login starts a fresh session (ASVS 3.2.1), so the form token of the login page is
    # void: take the one of the page the browser lands on.
    stale = csrf
    from flask import g

    g.pop("csrf_token", None)  # Flask-WTF caches it in g, which the test app context keeps
    page = client.get("/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    _refused(client.post("/api/v1/tokens", json={"name": "laptop"},
                         headers={"X-CSRFToken": stale}), 403)
    _refused(client.post("/api/v1/tokens", json={"name": "laptop"}), 403)
    _refused(client.post("/api/v1/tokens", json={"name": "laptop"},
                         headers={"X-CSRFToken": "forged"}), 403)
    assert db.session.query(ApiToken).count() == 0
    created = client.post("/api/v1/tokens", json={"name": "laptop"},
                          headers={"X-CSRFToken": csrf})
    assert created.status_code == 201, created.get_data(as_text=True)
    secret = created.get_json()["secret"]
    assert secret.startswith("hrp_")
    token = db.session.query(ApiToken).one()
    assert token.token_hash == ApiToken.hash(secret) and secret not in token.token_hash
    # The secret is shown once: listing never returns it.
    listed = client.get("/api/v1/tokens").get_data(as_text=True)
    assert secret not in listed and token.prefix in listed
