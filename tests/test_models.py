"""Models: constraints the rest of the service relies on."""

import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from hrpipeline.extensions import db
from hrpipeline.models import ApiToken, FunnelRecord, Upload, User, Zone


def test_zone_names_by_language(zones):
    ant, crl = zones["ANT"], zones["CRL"]
    assert ant.name("nl") == "PZ Antwerpen" and ant.name("fr") == "ZP Anvers"
    assert crl.name("en") == "ZP Charleroi"


def test_password_is_hashed(make_user):
    user = make_user("hr_manager", ["ANT"])
    assert "correct horse" not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert user.check_password("correct horse battery staple")
    assert not user.check_password("wrong")


def test_user_scope(make_user, zones):
    scoped = make_user("diversity_officer", ["ANT", "GNT"])
    assert scoped.zone_ids() == {zones["ANT"].id, zones["GNT"].id}
    everyone = make_user("diversity_officer", all_zones=True)
    assert everyone.zone_ids() is None


def test_api_token_stored_as_hash_only(make_user):
    user = make_user("hr_manager", ["ANT"])
    token, secret = ApiToken.issue(user, "HR system")
    db.session.add(token)
    db.session.commit()
    assert secret.startswith("hrp_") and secret not in token.token_hash
    assert token.token_hash == ApiToken.hash(secret) and len(token.token_hash) == 64


def test_same_file_twice_per_zone_is_refused_by_the_database(zones):
    for _ in range(2):
        db.session.add(Upload(zone_id=zones["ANT"].id, kind="funnel", filename="a.csv",
                              sha256="ab" * 32, row_count=0))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_deleting_an_upload_cascades_to_its_records(zones):
    upload = Upload(zone_id=zones["GNT"].id, kind="funnel", filename="f.csv", sha256="cd" * 32)
    db.session.add(upload)
    db.session.flush()
    db.session.add(FunnelRecord(upload_id=upload.id, zone_id=zones["GNT"].id, candidate_ref="C1",
                                campaign="2025-1", campaign_year=2025, stage="application",
                                outcome="passed", stage_date=dt.date(2025, 1, 5),
                                migration_background="unknown"))
    db.session.commit()
    db.session.execute(db.delete(Upload).where(Upload.id == upload.id))
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(FunnelRecord)) == 0


def test_zone_code_unique(zones):
    db.session.add(Zone(code="ANT", name_nl="x", name_fr="x", language="nl"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_user_loader_ignores_garbage(app):
    from hrpipeline.sessions import load_user

    assert load_user("not-a-number") is None
    assert load_user("999999") is None
    assert isinstance(User.query.all(), list)
