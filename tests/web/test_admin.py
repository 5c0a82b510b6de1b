"""Administration pages: users are created by the one users service, under its password rule
(security issue 20, item 11: the web accepted ``aaaaaaaaaa``, ``1234567890``, the user's
own name)."""

from __future__ import annotations

import pytest

from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, User
from tests.conftest import PASSWORD
from tests.web.conftest import as_user


def _create(client, password, username="nora.peeters"):
    return client.post("/admin/users", data={"username": username, "password": password,
                                              "role": "hr_manager", "zones": ["ANT"],
                                              "language": ""})


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "1234567890", "aaaaaaaaaaaaaa",
                                      "nora.peeters", "nora.peeters2026", "qwerty123456"])
def test_admin_page_refuses_weak_passwords(client, make_user, password):
    as_user(client, make_user("admin", all_zones=True))
    response = _create(client, password)
    assert response.status_code == 400
    assert b"field-error" in response.data
    assert db.session.scalar(db.select(User).where(User.username == "nora.peeters")) is None


def test_admin_page_creates_a_user_with_a_good_password(client, make_user):
    admin = make_user("admin", all_zones=True)
    as_user(client, admin)
    response = _create(client, "lange zin als wachtwoord")
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).where(User.username == "nora.peeters"))
    assert [z.code for z in user.zones] == ["ANT"]
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user_created"))
    assert entry.user_id == admin.id


def test_admin_page_taken_name_is_a_conflict(client, make_user):
    as_user(client, make_user("admin", all_zones=True))
    make_user("hr_manager", ["ANT"], username="nora.peeters")
    assert _create(client, "lange zin als wachtwoord").status_code == 409


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "1234567890", "aaaaaaaaaaaaaa",
                                      "pieter.claes", "qwerty123456"])
def test_password_page_refuses_weak_passwords(client, make_user, password):
    user = make_user("leadership", ["ANT"], username="pieter.claes")
    as_user(client, user)
    response = client.post("/password", data={"current": PASSWORD, "new": password,
                                              "confirm": password})
    assert response.status_code in (200, 400)
    db.session.refresh(user)
    assert user.check_password(PASSWORD)
    assert user.session_version == 0
