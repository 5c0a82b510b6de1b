"""Login, lock-out, logout, password change, language switch, CSRF."""

import pytest

from hrpipeline.extensions import db
from hrpipeline.models import AuditLog


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
