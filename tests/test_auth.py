"""Login, lock-out, logout, password change, language switch, CSRF."""

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


def test_lockout_after_repeated_failures(client, auth, make_user):
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
def _forget_request_user() -> None:
    """The app fixture keeps one app context open across requests, so flask-login's cached
    user (g._login_user) would answer the next request: drop it, as a new request would."""
    from flask import g

    g.pop("_login_user", None)


def test_session_cookie_replayed_after_logout_is_refused(client, auth, make_user):
    make_user("diversity_officer", ["ANT"], username="rita")
    auth.login("rita")
    stolen = client.get_cookie("session").value
    auth.logout()
    client.set_cookie("session", stolen)
    _forget_request_user()
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_password_change_ends_the_other_sessions_and_keeps_this_one(app, make_user):
    make_user("project_staff", ["GNT"], username="otto")
    laptop, phone = app.test_client(), app.test_client()
    for c in (laptop, phone):
        assert c.post("/login", data={"username": "otto",
                                      "password": PASSWORD}).status_code == 302
    _forget_request_user()
    response = laptop.post("/password", data={"current": PASSWORD,
                                              "new": "a brand new passphrase",
                                              "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    _forget_request_user()
    assert phone.get("/").status_code == 302
    _forget_request_user()
    assert laptop.get("/").status_code == 200


@pytest.mark.app_config(SESSION_IDLE_MINUTES=30, SESSION_MAX_HOURS=12)
def test_idle_session_expires(client, auth, make_user, monkeypatch):
    from hrpipeline import sessions

    make_user("leadership", ["ANT"], username="ida")
    start = sessions.clock()
    auth.login("ida")
    monkeypatch.setattr(sessions, "clock", lambda: start + 29 * 60)
    _forget_request_user()
    assert client.get("/").status_code == 200  # activity renews the idle timer
    monkeypatch.setattr(sessions, "clock", lambda: start + 58 * 60)
    _forget_request_user()
    assert client.get("/").status_code == 200
    monkeypatch.setattr(sessions, "clock", lambda: start + 89 * 60)
    _forget_request_user()
    assert client.get("/").status_code == 302


@pytest.mark.app_config(SESSION_IDLE_MINUTES=30, SESSION_MAX_HOURS=12)
def test_absolute_session_timeout_despite_activity(client, auth, make_user, monkeypatch):
    from hrpipeline import sessions

    make_user("leadership", ["ANT"], username="abe")
    start = sessions.clock()
    auth.login("abe")
    for minutes in range(20, 12 * 60, 20):  # active every 20 minutes for 12 hours
        monkeypatch.setattr(sessions, "clock", lambda m=minutes: start + m * 60)
        _forget_request_user()
        assert client.get("/").status_code == 200, minutes
    monkeypatch.setattr(sessions, "clock", lambda: start + 12 * 3600 + 1)
    _forget_request_user()
    assert client.get("/").status_code == 302


def test_session_lifetime_defaults_are_bounded(app):
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    assert app.config["SESSION_MAX_HOURS"] == 12
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600


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


def test_a_successful_login_does_not_use_up_the_source_allowance(client, auth, make_user):
    from hrpipeline.services import throttle

    make_user("hr_manager", ["ANT"], username="nat")
    for _ in range(30):  # one office behind one address, many logins
        assert auth.login("nat").status_code == 302
        auth.logout()
    assert throttle.failures("src:127.0.0.1") == 0


def test_attempt_is_counted_before_the_password_is_checked(client, auth, make_user,
                                                          monkeypatch):
    """Parallel guesses must not all pass the check before the first one is counted."""
    from hrpipeline import models
    from hrpipeline.services import throttle

    make_user("hr_manager", ["ANT"], username="pat")
    seen = []
    real = models.check_password_hash

    def spy(pwhash, password):
        seen.append((throttle.failures("user:pat"), throttle.failures("src:127.0.0.1")))
        return real(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", spy)
    auth.login("pat", "wrong")
    auth.login("pat", "wrong")
    assert seen == [(1, 1), (2, 2)]


@pytest.mark.app_config(LOGIN_DELAY_SECONDS=60)
def test_parallel_guesses_get_no_more_than_the_free_attempts(app):
    """40 concurrent reservations for one name (as 40 parallel login requests would make):
    only the free attempts are granted."""
    import threading

    from hrpipeline.services import throttle

    granted, barrier = [], threading.Barrier(8)

    def guess():
        with app.app_context():
            barrier.wait()
            for _ in range(5):
                granted.append(throttle.reserve("user:victim"))
            db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 40
    assert sum(granted) == 5
    assert throttle.failures("user:victim") == 5


def test_html_pages_do_not_accept_bearer_tokens(client, make_user):
    from hrpipeline.models import ApiToken
    from hrpipeline.services.tokens import issue_token

    user = make_user("diversity_officer", ["ANT"], username="tok")
    _token, secret = issue_token(user, "script")
    response = client.get("/", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(ApiToken.last_used_at)) is None
