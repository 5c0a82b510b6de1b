"""The one audit-log writer (request or command line), the client address behind a proxy,
and refusals (403 / 404) logged for logged-in users. The query is tested through the API
(tests/api)."""

from __future__ import annotations

import pytest

from hrpipeline.audit import audit
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog
from tests.conftest import PASSWORD


def _entries(action=None):
    query = db.select(AuditLog).order_by(AuditLog.id)
    if action:
        query = query.where(AuditLog.action == action)
    return list(db.session.scalars(query))


def test_command_line_entries_without_a_user_are_the_operators(app, make_user):
    user = make_user("hr_manager", ["ANT"], username="hugo")
    audit("upload", user=user, upload_id=3)
    audit("briefing_download", format="pdf")
    db.session.commit()
    first, second = _entries()
    assert (first.user_id, first.username, first.ip) == (user.id, "hugo", None)
    assert (second.user_id, second.username, second.detail) == (None, "cli", {"format": "pdf"})


def test_request_entries_name_the_user_and_address(client, auth, make_user):
    user = make_user("hr_manager", ["ANT"], username="hilde")
    client.post("/login", data={"username": "hilde", "password": PASSWORD},
                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    entry = _entries("login")[0]
    assert (entry.user_id, entry.username, entry.ip) == (user.id, "hilde", "192.0.2.7")


def test_forwarded_address_is_ignored_without_a_configured_proxy(client, make_user):
    make_user("hr_manager", ["ANT"], username="fred")
    client.post("/login", data={"username": "fred", "password": "wrong"},
                headers={"X-Forwarded-For": "203.0.113.9"},
                environ_base={"REMOTE_ADDR": "192.0.2.8"})
    assert _entries("login_failed")[0].ip == "192.0.2.8"


@pytest.mark.app_config(TRUSTED_PROXIES=1)
def test_forwarded_address_is_used_behind_a_configured_proxy(client, make_user):
    from hrpipeline.services import throttle

    make_user("hr_manager", ["ANT"], username="fran")
    client.post("/login", data={"username": "fran", "password": "wrong"},
                headers={"X-Forwarded-For": "203.0.113.9"},
                environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert _entries("login_failed")[0].ip == "203.0.113.9"
    assert throttle.failures("src:203.0.113.9") == 1  # the throttle sees the client too
    assert throttle.failures("src:10.0.0.1") == 0


def test_refusals_of_a_logged_in_user_are_logged(client, auth, make_user):
    make_user("leadership", ["ANT"], username="lou")
    auth.login("lou")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/no-such-page").status_code == 404
    refused, missing = _entries("refused_403"), _entries("not_found_404")
    assert [(e.username, e.detail["path"]) for e in refused] == [("lou", "/admin/users")]
    assert [(e.username, e.detail["path"]) for e in missing] == [("lou", "/no-such-page")]


def test_anonymous_not_found_is_not_logged(client):
    assert client.get("/wp-admin").status_code == 404
    assert _entries() == []
