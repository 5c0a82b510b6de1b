"""Login (throttling, safe redirect, same answer for unknown names), logout, password change,
language switch, CSRF; HTML pages are session-only. Sessions: tests/test_sessions.py."""

import datetime as dt

import pytest

from hrpipeline.extensions import db
from hrpipeline.models import AuditLog
from tests.conftest import PASSWORD


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_and_logout(client, auth, make_user):
    make_user("diversity_officer", ["ANT"], username="dora")
    response = auth.login("dora")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302
    actions = [a.action for a in db.session.scalars(db.select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["login", "logout"]


def test_wrong_password_is_refused_and_audited(client, auth, make_user):
    make_user("hr_manager", ["ANT"], username="hans")
    response = auth.login("hans", "wrong")
    assert response.status_code == 401
    assert b"wrong password" in response.data
    assert db.session.scalar(db.select(AuditLog.action)) == "login_failed"


@pytest.mark.app_config(LOGIN_DELAY_SECONDS=60)
def test_wait_after_repeated_failures(client, auth, make_user):
    make_user("hr_manager", ["ANT"], username="lena")
    for _ in range(5):
        auth.login("lena", "wrong")
    response = auth.login("lena")  # right password, but locked
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_open_redirect_refused(client, auth, make_user):
    make_user("leadership", ["ANT"], username="leo")
    response = client.post("/login?next=https://evil.example/",
                           data={"username": "leo", "password": "correct horse battery staple"})
    assert response.headers["Location"].endswith("/")
    assert "evil" not in response.headers["Location"]


def test_password_change(client, auth, make_user):
    user = make_user("project_staff", ["GNT"], username="pia")
    auth.login("pia")
    response = client.post("/password", data={"current": "correct horse battery staple",
                                              "new": "another long password",
                                              "confirm": "another long password"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("another long password")


def test_language_switch_sets_interface_language(client, auth, make_user):
    make_user("diversity_officer", ["ANT"], username="nina")
    auth.login("nina")
    client.post("/language/fr")
    assert b'lang="fr"' in client.get("/").data
    assert client.post("/language/xx").status_code == 404


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_login_form_requires_csrf_token(client, make_user):
    make_user("hr_manager", ["ANT"], username="cs")
    response = client.post("/login", data={"username": "cs",
                                           "password": "correct horse battery staple"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_session_cookie_is_hardened(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


# --- security issue 20 ---------------------------------------------------------------------
@pytest.mark.parametrize("nxt", [
    "/%09/evil.example/path", "/%0a/evil.example/", "/%0d/evil.example/", "//evil.example/",
    "/%5cevil.example/", "/%5c%5cevil.example/", "%5c%5cevil.example", "https://evil.example/",
    "http:/evil.example", "javascript:alert(1)", "/%09%09/evil.example", "%09/%2fevil.example",
    "///evil.example", "/%7f/evil.example",
])
def test_login_next_never_leaves_the_site(client, make_user, nxt):
    from urllib.parse import urlsplit

    make_user("leadership", ["ANT"], username="leo")
    response = client.post(f"/login?next={nxt}",
                           data={"username": "leo", "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil" not in location and "javascript" not in location
    assert urlsplit(location).netloc in ("", "localhost")


def test_login_next_keeps_a_local_path_and_query(client, make_user):
    make_user("leadership", ["ANT"], username="lea")
    response = client.post("/login?next=/funnel%3Fzone%3DANT",
                           data={"username": "lea", "password": PASSWORD})
    assert response.headers["Location"] in ("/funnel?zone=ANT",
                                            "http://localhost/funnel?zone=ANT")


def _count_hashes(monkeypatch) -> list[str]:
    from hrpipeline import models

    calls = []
    real = models.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counting)
    return calls


def test_unknown_user_costs_one_hash_check_like_a_known_user(client, auth, make_user,
                                                            monkeypatch):
    make_user("hr_manager", ["ANT"], username="hank")
    calls = _count_hashes(monkeypatch)
    known = auth.login("hank", "wrong password!")
    assert len(calls) == 1
    unknown = auth.login("nobody-here", "wrong password!")
    assert len(calls) == 2
    assert known.status_code == unknown.status_code == 401
    assert known.data.replace(b"hank", b"NAME") == unknown.data.replace(b"nobody-here", b"NAME")


@pytest.mark.app_config(LOGIN_DELAY_SECONDS=60)
def test_unknown_and_known_names_are_throttled_alike(client, auth, make_user):
    make_user("hr_manager", ["ANT"], username="kate")
    known = [auth.login("kate", "wrong").status_code for _ in range(7)]
    unknown = [auth.login("no-such-user", "wrong").status_code for _ in range(7)]
    assert known == unknown == [401] * 5 + [429] * 2
    assert auth.login("kate").status_code == 429  # right password, but too soon
    last_known = auth.login("kate", "wrong")
    last_unknown = auth.login("no-such-user", "wrong")
    assert last_known.data.replace(b"kate", b"NAME") == \
        last_unknown.data.replace(b"no-such-user", b"NAME")


@pytest.mark.app_config(LOGIN_DELAY_SECONDS=600, LOGIN_MAX_DELAY_SECONDS=6000)
def test_throttle_is_a_growing_delay_not_a_lock(client, auth, make_user, monkeypatch):
    from hrpipeline.services import throttle

    make_user("admin", all_zones=True, username="root")
    start = throttle.now()

    def at(seconds):  # a clock well past the few real seconds this test takes
        monkeypatch.setattr(throttle, "now", lambda: start + dt.timedelta(seconds=seconds))

    for _ in range(5):
        assert auth.login("root", "wrong").status_code == 401
    assert auth.login("root").status_code == 429
    # the 5th failure asked for a 600 s pause; after it one more guess is evaluated ...
    at(700)
    assert auth.login("root", "wrong").status_code == 401
    # ... and the next pause doubles (1200 s from 700): at 1800 still too soon, at 1901 fine.
    at(1800)
    assert auth.login("root").status_code == 429
    at(1901)
    assert auth.login("root").status_code == 302


@pytest.mark.app_config(LOGIN_DELAY_SECONDS=60, LOGIN_SOURCE_FREE_ATTEMPTS=8)
def test_one_source_guessing_many_names_is_throttled(client, auth, make_user):
    make_user("hr_manager", ["ANT"], username="sam")
    answers = [auth.login(f"user{i}", "wrong").status_code for i in range(10)]
    assert answers == [401] * 8 + [429] * 2
    # another source is not affected
    other = client.post("/login", data={"username": "sam", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 302


def test_html_pages_do_not_accept_bearer_tokens(client, make_user):
    from hrpipeline.models import ApiToken
    from hrpipeline.services.tokens import issue_token

    user = make_user("diversity_officer", ["ANT"], username="tok")
    _token, secret = issue_token(user, "script")
    response = client.get("/", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(ApiToken.last_used_at)) is None
