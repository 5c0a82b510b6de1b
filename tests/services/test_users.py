"""The one users service: the password rule (ASVS 2.1), user creation, the login check."""

from __future__ import annotations

import pytest

from hrpipeline.errors import Conflict, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, User
from hrpipeline.services import users


@pytest.mark.parametrize(("password", "codes"), [
    ("x", {"too_short"}),
    ("aaaaaaaaaa", {"too_short"}),
    ("1234567890", {"too_short", "common"}),
    ("aaaaaaaaaaaaaaaa", {"repetitive"}),
    ("123456789012", {"repetitive"}),
    ("qwerty123456", {"common"}),
    ("Password2024!", {"common"}),
    ("iloveyou12345", {"common"}),
    ("x" * 257 + "abcdefg", {"too_long"}),
    ("maria.janssens", {"user_name"}),
    ("MariaJanssens1!", {"user_name"}),
])
def test_weak_passwords_are_refused(password, codes):
    assert codes <= set(users.password_problems(password, "maria.janssens"))


@pytest.mark.parametrize("password", ["correct horse battery staple", "a long enough password",
                                      "Kortrijk-in-de-regen-2026", "zeven vette muizen"])
def test_long_uncommon_phrases_pass_without_composition_rules(password):
    assert users.password_problems(password, "maria.janssens") == []


def test_common_password_list_is_shipped_and_large():
    common = users.common_passwords()
    assert len(common) > 10_000
    assert {"123456", "password", "qwerty123456"} <= common


def test_create_user_applies_the_rule_and_audits(app, zones):
    with pytest.raises(users.PasswordRejected) as err:
        users.create_user("ann", "annannannann", "hr_manager", ["ANT"])
    assert "repetitive" in err.value.codes
    assert db.session.scalar(db.select(User)) is None
    user = users.create_user("ann", "correct horse battery staple", "hr_manager", ["ANT"])
    assert [z.code for z in user.zones] == ["ANT"]
    entry = db.session.scalar(db.select(AuditLog))
    assert (entry.action, entry.username, entry.detail["target"]) == ("user_created", "cli",
                                                                       "ann")
    with pytest.raises(Conflict):
        users.create_user("ann", "correct horse battery staple", "hr_manager", ["ANT"])


def test_create_user_needs_a_zone_unless_it_sees_all(app, zones):
    with pytest.raises(ValidationFailed):
        users.create_user("zed", "correct horse battery staple", "hr_manager", [])
    with pytest.raises(ValidationFailed):
        users.create_user("zed", "correct horse battery staple", "hr_manager", ["NOPE"])
    admin = users.create_user("zed", "correct horse battery staple", "admin", [])
    assert admin.all_zones


def test_change_password_applies_the_rule_and_raises_the_session_version(make_user):
    user = make_user("leadership", ["ANT"])
    with pytest.raises(users.PasswordRejected):
        users.change_password(user, "1234567890")
    assert user.session_version == 0
    users.change_password(user, "a brand new passphrase")
    assert user.session_version == 1
    assert user.check_password("a brand new passphrase")


def test_inactive_user_with_the_right_password_is_refused_after_a_hash_check(make_user,
                                                                            monkeypatch):
    from hrpipeline import models

    user = make_user("leadership", ["ANT"], username="gone")
    user.active = False
    db.session.commit()
    calls = []
    real = models.check_password_hash
    monkeypatch.setattr(models, "check_password_hash",
                        lambda h, p: calls.append(h) or real(h, p))
    from tests.conftest import PASSWORD

    result = users.check_login("gone", PASSWORD, "192.0.2.1")
    assert result.user is None and not result.throttled
    assert len(calls) == 1
