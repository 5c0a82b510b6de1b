"""CLI: init-db, create-user."""

import pytest

from hrpipeline.extensions import db
from hrpipeline.models import User


def test_init_db_is_idempotent(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_create_user(runner, zones):
    result = runner.invoke(
        args=["create-user", "anna", "--role", "diversity_officer", "--zone", "ANT",
              "--zone", "GNT", "--password", "a long enough password"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.username == "anna"))
    assert user.role == "diversity_officer"
    assert sorted(z.code for z in user.zones) == ["ANT", "GNT"]
    assert user.check_password("a long enough password")


def test_create_user_unknown_zone_is_a_clear_error(runner, zones):
    result = runner.invoke(
        args=["create-user", "bob", "--role", "hr_manager", "--zone", "NOPE", "--password", "pw"]
    )
    assert result.exit_code != 0
    assert "unknown zone code 'NOPE'" in result.output


def test_create_user_twice_refused(runner, zones):
    args = ["create-user", "carl", "--role", "leadership", "--all-zones", "--password",
            "a long enough password"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already exists" in again.output


def test_funnel_command_prints_tiers_and_rounded_counts(runner, zones):
    from tests.services.test_funnel_service import _insert, _plan

    _insert(zones["ANT"], "2024-1", _plan(), "e")
    result = runner.invoke(args=["funnel", "--zone", "ANT", "--campaign", "2024-1"])
    assert result.exit_code == 0, result.output
    assert "Adverse impact vs belgian_origin" in result.output
    line = next(li for li in result.output.splitlines()
                if li.startswith("interview") and "eu_background" in li and "non_eu" not in li)
    counts = [int(t) for t in line.split()[2:7]]
    assert all(c % 5 == 0 for c in counts)  # rounded to a multiple of k, the 3 passers too
    as_json = runner.invoke(args=["funnel", "--zone", "ANT", "--year", "2024", "--json"])
    assert as_json.exit_code == 0 and '"rounding"' in as_json.output


def test_funnel_command_unknown_zone_is_clear(runner, zones):
    result = runner.invoke(args=["funnel", "--zone", "NOPE"])
    assert result.exit_code != 0
    assert "No funnel data for zone NOPE" in result.output


def test_retention_command_prints_gated_tables(runner, zones, make_user):
    from tests.services.test_retention_service import plant_workforce

    plant_workforce(zones, make_user)
    result = runner.invoke(args=["retention", "--zone", "ANT"])
    assert result.exit_code == 0, result.output
    assert "Turnover (annualised)" in result.output and "log-rank" in result.output
    as_json = runner.invoke(args=["retention", "--zone", "ANT", "--json"])
    assert as_json.exit_code == 0 and '"zone": "ANT"' in as_json.output
    missing = runner.invoke(args=["retention", "--zone", "NOPE"])
    assert missing.exit_code != 0 and "NOPE" in missing.output


def test_token_create_and_revoke(runner, zones, make_user):
    from hrpipeline.models import ApiToken

    user = make_user("hr_manager", ["ANT"], username="tokenuser")
    created = runner.invoke(args=["token-create", "tokenuser", "laptop"])
    assert created.exit_code == 0, created.output
    lines = created.output.splitlines()
    secret = lines[next(i for i, li in enumerate(lines) if li.startswith("Token ")) + 1].strip()
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_hash == ApiToken.hash(secret) and secret not in token.token_hash
    revoked = runner.invoke(args=["token-revoke", str(token.id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    db.session.refresh(token)
    assert token.revoked_at is not None
    assert runner.invoke(args=["token-create", "nobody", "x"]).exit_code != 0


@pytest.mark.parametrize("password", ["x", "aaaaaaaaaaaa", "123456789012", "dora.the.explorer",
                                      "qwerty123456", "Password2024!"])
def test_create_user_refuses_weak_passwords(runner, zones, password):
    """Security issue 20, item 11: the CLI accepted ``x``."""
    result = runner.invoke(args=["create-user", "dora.the.explorer", "--role", "hr_manager",
                                 "--zone", "ANT", "--password", password])
    assert result.exit_code != 0
    assert "password" in result.output.lower()
    assert db.session.scalar(db.select(User).where(User.username == "dora.the.explorer")) is None
