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


def test_new_user_form_defaults_to_the_least_privilege(client, make_user):
    """Issue 17 item 9: the form offered 'Administrator' first and preselected."""
    import re

    as_user(client, make_user("admin", all_zones=True))
    html = client.get("/admin/users").get_data(as_text=True)
    select = html.split('id="role"')[1].split("</select>")[0]
    options = re.findall(r'<option([^>]*) value="([^"]+)"|<option value="([^"]+)"([^>]*)>', select)
    values = [o[1] or o[2] for o in options]
    chosen = [o[1] or o[2] for o in options if "selected" in (o[0] + o[3])]
    assert chosen == ["diversity_officer"]
    assert values[-1] == "admin"


def test_admin_changes_role_and_zones_through_the_users_service(client, make_user):
    admin = make_user("admin", all_zones=True)
    user = make_user("hr_manager", ["ANT"], username="nora.peeters")
    as_user(client, admin)
    page = client.get(f"/admin/users/{user.id}")
    assert page.status_code == 200 and b'id="edit-user"' in page.data
    response = client.post(f"/admin/users/{user.id}", data={
        "edit-role": "leadership", "edit-zones": ["ANT", "GNT"], "edit-language": "fr"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == "leadership" and sorted(z.code for z in user.zones) == ["ANT", "GNT"]
    assert user.language == "fr" and user.session_version == 1  # the old rights end now
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user_updated"))
    assert entry.user_id == admin.id and entry.detail["changes"]["role"] == [
        "hr_manager", "leadership"]
    # No zone and not "every zone": refused, nothing changed.
    assert client.post(f"/admin/users/{user.id}", data={
        "edit-role": "hr_manager", "edit-language": ""}).status_code == 400
    db.session.refresh(user)
    assert user.role == "leadership"


def test_admin_cannot_change_own_role(client, make_user):
    admin = make_user("admin", all_zones=True)
    as_user(client, admin)
    response = client.post(f"/admin/users/{admin.id}", data={
        "edit-role": "leadership", "edit-all_zones": "y", "edit-language": ""})
    assert response.status_code == 400
    db.session.refresh(admin)
    assert admin.role == "admin"


@pytest.mark.parametrize("password", ["aaaaaaaaaaaaaa", "nora.peeters2026", "qwerty123456"])
def test_admin_password_reset_keeps_the_rule(client, make_user, password):
    as_user(client, make_user("admin", all_zones=True))
    user = make_user("hr_manager", ["ANT"], username="nora.peeters")
    response = client.post(f"/admin/users/{user.id}/password", data={"pw-new_password": password})
    assert response.status_code == 400 and b"field-error" in response.data
    db.session.refresh(user)
    assert user.check_password(PASSWORD) and user.session_version == 0


def test_admin_password_reset_sets_it_and_ends_sessions(client, make_user):
    admin = make_user("admin", all_zones=True)
    as_user(client, admin)
    user = make_user("hr_manager", ["ANT"], username="nora.peeters")
    response = client.post(f"/admin/users/{user.id}/password",
                           data={"pw-new_password": "een nieuwe lange zin"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("een nieuwe lange zin") and user.session_version == 1
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "password_reset"))
    assert entry.user_id == admin.id and "een nieuwe" not in str(entry.detail)
