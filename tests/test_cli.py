"""CLI: init-db, create-user."""

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
    args = ["create-user", "carl", "--role", "leadership", "--all-zones", "--password", "pw"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already exists" in again.output


def test_funnel_command_prints_tiers_and_hides_small_cells(runner, zones):
    from tests.services.test_funnel_service import _insert, _plan

    _insert(zones["ANT"], "2024-1", _plan(), "e")
    result = runner.invoke(args=["funnel", "--zone", "ANT", "--campaign", "2024-1"])
    assert result.exit_code == 0, result.output
    assert "Adverse impact vs belgian_origin" in result.output
    line = next(li for li in result.output.splitlines()
                if li.startswith("interview") and "eu_background" in li and "non_eu" not in li)
    assert " x " in line or line.rstrip().endswith("x")
    as_json = runner.invoke(args=["funnel", "--zone", "ANT", "--year", "2024", "--json"])
    assert as_json.exit_code == 0 and '"suppressed": true' in as_json.output


def test_funnel_command_unknown_zone_is_clear(runner, zones):
    result = runner.invoke(args=["funnel", "--zone", "NOPE"])
    assert result.exit_code != 0
    assert "No funnel data for zone NOPE" in result.output
