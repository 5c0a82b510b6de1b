"""The one token authenticator and its write policy (security issue 20, item 16)."""

from __future__ import annotations

import datetime as dt

import pytest

from hrpipeline.extensions import db
from hrpipeline.models import ApiToken
from hrpipeline.services import tokens


@pytest.mark.app_config(TOKEN_LAST_USED_SECONDS=300)
def test_last_use_is_written_at_most_once_per_interval(make_user, monkeypatch):
    user = make_user("diversity_officer", ["ANT"])
    _token, secret = tokens.issue_token(user, "script")
    t0 = dt.datetime(2026, 12, 7, 12, 0, 0)
    monkeypatch.setattr(tokens, "utcnow", lambda: t0)
    writes = []
    real_touch = tokens.touch
    monkeypatch.setattr(tokens, "touch", lambda token: writes.append(real_touch(token)))
    for _ in range(20):
        assert tokens.authenticate(secret) == user
    monkeypatch.setattr(tokens, "utcnow", lambda: t0 + dt.timedelta(seconds=299))
    assert tokens.authenticate(secret) == user
    assert writes.count(True) == 1
    assert db.session.scalar(db.select(ApiToken.last_used_at)) == t0
    monkeypatch.setattr(tokens, "utcnow", lambda: t0 + dt.timedelta(seconds=301))
    assert tokens.authenticate(secret) == user
    assert writes.count(True) == 2
    assert db.session.scalar(db.select(ApiToken.last_used_at)) == t0 + dt.timedelta(seconds=301)


def test_the_api_authenticates_tokens_through_the_service(client, make_user, monkeypatch):
    user = make_user("diversity_officer", ["ANT"])
    _token, secret = tokens.issue_token(user, "script")
    seen = []
    real = tokens.authenticate
    monkeypatch.setattr(tokens, "authenticate", lambda s: seen.append(s) or real(s))
    response = client.get("/api/v1/zones", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert seen == [secret]
