"""Browser sessions end on the server's side: at logout, at a password change (the other
sessions), after the idle and the absolute limit (security issue 20, item 4; ASVS 3.3.1-3.3.3).
Before: a cookie replayed after logout still gave 200, and sessions lasted 31 days."""

import pytest

from tests.conftest import PASSWORD


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
        _forget_request_user()
        assert c.post("/login", data={"username": "otto",
                                      "password": PASSWORD}).status_code == 302
        _forget_request_user()
        assert c.get("/").status_code == 200  # both logged in
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
