"""The capability table (hrpipeline/access.py) is the one source of roles for the web pages,
the API and the services."""

from __future__ import annotations

import pytest

from hrpipeline import access
from hrpipeline.domain import ROLES
from hrpipeline.services import briefing, pilots


class _Someone:
    def __init__(self, role):
        self.role = role


def test_admin_has_every_capability_and_others_only_theirs():
    for capability, roles in access.CAPABILITIES.items():
        assert access.can(_Someone("admin"), capability)
        for role in ROLES:
            assert access.can(_Someone(role), capability) == (role == "admin" or role in roles)
    assert not access.can(None, "home")


def test_unknown_capability_is_an_error_not_a_silent_refusal():
    with pytest.raises(KeyError):
        access.can(_Someone("admin"), "no_such_capability")


def test_every_view_declares_a_capability_from_the_table(app):
    """Web pages and API endpoints: the roles on the view are the table's for its capability."""
    declared = {}
    for endpoint, view in app.view_functions.items():
        capability = getattr(view, "capability", None)
        if capability is None:
            assert getattr(view, "allowed_roles", None) is None, endpoint
            continue
        assert view.allowed_roles == access.roles_for(capability), endpoint
        declared.setdefault(capability, set()).add(endpoint.split(".")[0])
    # pilots_register is checked inside the pilots page and service, not on a whole view
    assert set(declared) == set(access.CAPABILITIES) - {"pilots_register"}
    # the API and the web pages read the same entries for what both offer
    for capability in ("home", "reports", "uploads_read", "uploads_write", "pilots_read",
                       "briefings", "administer"):
        assert "api" in declared[capability], capability
        assert declared[capability] - {"api"}, capability


def test_services_read_the_same_table():
    assert set(pilots.REGISTER_ROLES) == {*access.roles_for("pilots_register"), "admin"}
    assert set(briefing.BRIEFING_ROLES) == {*access.roles_for("briefings"), "admin"}
