"""Who may do what: one capability → roles table, read by the web pages, the API and the
services.

Administrators may do everything; the table lists the other roles. Web views declare a
capability with :func:`requires` (anonymous → login page, other roles → 403); API endpoints
with ``hrpipeline.api.security.allow``; services call :func:`can`. Both decorators copy the
capability's roles onto the view as ``allowed_roles`` (the navigation and the access tests
read it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from hrpipeline.domain import ROLES

REPORT_ROLES = ("diversity_officer", "hr_manager", "project_staff", "leadership")

#: capability → roles allowed (administrators are always allowed as well).
CAPABILITIES: dict[str, tuple[str, ...]] = {
    # any logged-in user: the start page, the zone list, one's own API tokens
    "home": ROLES,
    "own_tokens": ROLES,
    # funnel, representation, data quality and retention pages, tables and their CSV
    "reports": REPORT_ROLES,
    "uploads_read": ("hr_manager", "diversity_officer"),
    "uploads_write": ("hr_manager",),
    "pilots_read": ("project_staff", "leadership", "diversity_officer"),
    "pilots_register": ("project_staff",),
    "briefings": ("leadership", "project_staff"),
    # users, zones, every user's tokens, the audit log
    "administer": ("admin",),
}


def roles_for(capability: str) -> tuple[str, ...]:
    """The roles the table lists for this capability (a KeyError for an unknown name)."""
    return CAPABILITIES[capability]


def roles_with(capability: str) -> tuple[str, ...]:
    """Every role that has the capability, administrators included."""
    roles = roles_for(capability)
    return roles if "admin" in roles else (*roles, "admin")


def can(user, capability: str) -> bool:
    """Whether this user (anything with a ``role``) has the capability."""
    roles = roles_for(capability)  # an unknown capability is a KeyError, even for admins
    role = getattr(user, "role", None)
    return role == "admin" or role in roles


def requires(capability: str) -> Callable:
    """Web view decorator: logged in, and a role with this capability (else 403)."""
    from flask import abort
    from flask_login import current_user, login_required

    roles = roles_for(capability)

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, capability):
                abort(403)
            return view(*args, **kwargs)

        wrapped.capability = capability
        wrapped.allowed_roles = roles
        return wrapped

    return decorator
