"""Zone scoping shared by every service: what a user may see, resolved from codes."""

from __future__ import annotations

from sqlalchemy import select

from hrpipeline.errors import Forbidden, NotFound
from hrpipeline.extensions import db
from hrpipeline.models import User, Zone

ALL = "ALL"  # the fixed pool of every zone


def zone_scope(user: User) -> set[int] | None:
    """Zone ids this user may see; ``None`` means every zone (admin, all-zones users)."""
    if user.role == "admin" or user.all_zones:
        return None
    return {z.id for z in user.zones}


def visible_zones(user: User) -> list[Zone]:
    query = select(Zone).order_by(Zone.code)
    scope = zone_scope(user)
    if scope is not None:
        query = query.where(Zone.id.in_(scope or {-1}))
    return list(db.session.scalars(query))


def may_see_pool(user: User) -> bool:
    """Pooled (all-zone) tables contain every zone's data: only for all-zones users."""
    return zone_scope(user) is None


def resolve_zone(user: User, code: str) -> Zone | None:
    """The zone with this code if the user may see it; ``None`` for the all-zone pool.

    Unknown codes and zones outside the user's scope both give 404, so that probing does not
    reveal which zones exist; a pool request from a scoped user is a 403.
    """
    if code == ALL:
        if not may_see_pool(user):
            raise Forbidden("Pooled figures over all zones are only for users who see every zone.",
                            key="pool_forbidden")
        return None
    zone = db.session.scalar(select(Zone).where(Zone.code == code))
    scope = zone_scope(user)
    if zone is None or (scope is not None and zone.id not in scope):
        raise NotFound(f"No zone {code!r} among the zones you can see.", key="zone_not_found",
                       params={"zone": code})
    return zone


class OperatorUser:
    """The person at the server's command line: sees every zone (like an admin).

    Only CLI commands use it; web and API requests always carry a real, scoped user.
    """

    id = None
    username = "cli"
    role = "admin"
    all_zones = True
    zones: list[Zone] = []
    is_authenticated = True
    is_active = True


OPERATOR = OperatorUser()
