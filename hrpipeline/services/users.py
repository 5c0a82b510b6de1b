"""Accounts: the one place users are created, passwords judged and logins checked.

The command line (``flask create-user``), the admin page and the password-change page all go
through :func:`create_user` / :func:`check_new_password`, so one rule holds everywhere
(ASVS 2.1): at least :data:`MIN_LENGTH` characters, not one of the 20,000 most common
passwords (``hrpipeline/data/common_passwords.txt``, shipped, never fetched), not built on
the user name, and not one or a few characters repeated. There is no composition rule
(ASVS 2.1.9): a long phrase of lower-case words is fine.

:func:`check_login` answers a login attempt with the same work and the same answer whether
the user name exists or not (a hash check against a dummy hash for unknown names), after the
attempt was counted by :mod:`hrpipeline.services.throttle`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from hrpipeline import models
from hrpipeline.domain import ROLES
from hrpipeline.errors import Conflict, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import User, Zone
from hrpipeline.services import throttle

MIN_LENGTH = 12
MAX_LENGTH = 256
#: Fewer distinct characters than this is a repetition ("aaaaaaaaaaaa", "121212121212").
MIN_DISTINCT = 5
COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "data" / "common_passwords.txt"

#: English texts of the password problems; the web layer translates them by code.
PASSWORD_PROBLEMS = {
    "too_short": f"at least {MIN_LENGTH} characters",
    "too_long": f"at most {MAX_LENGTH} characters",
    "common": "one of the most common passwords (or one with a few digits or signs added)",
    "user_name": "contains the user name",
    "repetitive": "one or a few characters repeated, or a run such as 123456789012",
}


class PasswordRejected(ValidationFailed):
    """The new password breaks the rule; ``codes`` says how (keys of PASSWORD_PROBLEMS)."""

    def __init__(self, codes: list[str]):
        self.codes = codes
        super().__init__("The password is too weak: "
                         + "; ".join(PASSWORD_PROBLEMS[c] for c in codes) + ".",
                         problems=[{"column": "password", "code": c,
                                    "message": PASSWORD_PROBLEMS[c]} for c in codes])


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Codes of what is wrong with ``password`` for this user (empty when it is fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    folded = password.strip().lower()
    compact = re.sub(r"\s+", "", folded)
    base = re.sub(r"[\d\W_]+$", "", compact)  # "password2024!" → "password"
    base = re.sub(r"^[\d\W_]+", "", base)  # "123password" → "password"
    common = common_passwords()
    if folded in common or compact in common or (len(base) >= 4 and base in common):
        problems.append("common")
    name = (username or "").strip().lower()
    if len(name) >= 3 and (name in folded or name.replace(".", "") in compact):
        problems.append("user_name")
    if len(set(compact)) < MIN_DISTINCT or _mostly_a_run(compact):
        problems.append("repetitive")
    return problems


def _mostly_a_run(text: str) -> bool:
    """"123456789012", "abcdefghijkl", "987654321098": most steps go to a neighbour."""
    steps = [abs(ord(b) - ord(a)) for a, b in zip(text, text[1:], strict=False)]
    near = sum(1 for s in steps if s <= 1 or s == 9)  # 9: the digits' wrap, 9 → 0
    return bool(steps) and near >= 0.8 * len(steps)


def check_new_password(password: str, username: str | None = None) -> None:
    """Raise :class:`PasswordRejected` unless the password meets the rule."""
    codes = password_problems(password, username)
    if codes:
        raise PasswordRejected(codes)


def create_user(username: str, password: str, role: str, zone_codes: list[str] = (),
                *, all_zones: bool = False, language: str | None = None) -> User:
    """Create and commit a user (audited as ``user_created``)."""
    from hrpipeline.audit import audit

    username = (username or "").strip()
    if not username or len(username) > 80:
        raise ValidationFailed("A user name has 1 to 80 characters.",
                               problems=[{"column": "username", "code": "length"}])
    if role not in ROLES:
        raise ValidationFailed(f"The role must be one of {', '.join(ROLES)}.",
                               problems=[{"column": "role", "code": "unknown_role"}])
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"The user {username!r} already exists.")
    zones = _zones_by_code(zone_codes)
    all_zones = bool(all_zones) or role == "admin"
    if not zones and not all_zones:
        raise ValidationFailed("Choose at least one zone, or 'sees every zone'.",
                               problems=[{"column": "zones", "code": "no_zone"}])
    check_new_password(password, username)
    user = User(username=username, role=role, all_zones=all_zones, language=language,
                zones=zones)
    user.set_password(password)
    db.session.add(user)
    audit("user_created", target=username, role=role, zones=sorted(zone_codes or []))
    db.session.commit()
    return user


#: The role a new account starts with when none is chosen: the least privilege (reads the
#: reports of its own zones; no uploads, no pilots to register, no administration).
LEAST_PRIVILEGE_ROLE = "diversity_officer"


def _zones_by_code(zone_codes) -> list[Zone]:
    zones = []
    for code in zone_codes or []:
        zone = db.session.scalar(select(Zone).where(Zone.code == code))
        if zone is None:
            raise ValidationFailed(f"Unknown zone code {code!r}.",
                                   problems=[{"column": "zones", "code": "unknown_zone",
                                              "value": code}])
        zones.append(zone)
    return zones


def update_user(user: User, *, role: str, zone_codes: list[str] = (), all_zones: bool = False,
                language: str | None = None, by: User | None = None) -> User:
    """Change an account's role, zones and language (audited as ``user_updated`` with what
    changed). A change of role or zones ends the user's sessions: the next request logs in
    again with the new rights."""
    from hrpipeline.audit import audit

    if role not in ROLES:
        raise ValidationFailed(f"The role must be one of {', '.join(ROLES)}.",
                               problems=[{"column": "role", "code": "unknown_role"}])
    if by is not None and by.id == user.id and role != user.role:
        raise ValidationFailed("You cannot change your own role.",
                               problems=[{"column": "role", "code": "own_role"}])
    zones = _zones_by_code(zone_codes)
    all_zones = bool(all_zones) or role == "admin"
    if not zones and not all_zones:
        raise ValidationFailed("Choose at least one zone, or 'sees every zone'.",
                               problems=[{"column": "zones", "code": "no_zone"}])
    before = {"role": user.role, "zones": sorted(z.code for z in user.zones),
              "all_zones": bool(user.all_zones), "language": user.language}
    after = {"role": role, "zones": sorted(z.code for z in zones), "all_zones": all_zones,
             "language": language}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    user.role, user.zones, user.all_zones, user.language = role, zones, all_zones, language
    if {"role", "zones", "all_zones"} & set(changed):
        user.session_version = (user.session_version or 0) + 1
    audit("user_updated", target=user.username, changes=changed)
    db.session.commit()
    return user


def reset_password(user: User, new_password: str) -> None:
    """An administrator sets a new password for ``user`` (the same rule as everywhere); the
    user's sessions end. Audited as ``password_reset`` (never with the password)."""
    from hrpipeline.audit import audit

    check_new_password(new_password, user.username)
    user.set_password(new_password)
    user.session_version = (user.session_version or 0) + 1
    audit("password_reset", target=user.username)
    db.session.commit()


def change_password(user: User, new_password: str) -> None:
    """Set a new password (checked against the rule) and end the user's other sessions."""
    from hrpipeline.audit import audit

    check_new_password(new_password, user.username)
    user.set_password(new_password)
    user.session_version = (user.session_version or 0) + 1
    audit("password_changed", user=user)
    db.session.commit()


# --- logging in -----------------------------------------------------------------------------
@functools.cache
def _dummy_hash() -> str:
    # Same method and cost as real hashes, so an unknown name costs the same time.
    return models.generate_password_hash("no user has this password")


def verify_password(user: User | None, password: str) -> bool:
    """One hash check whoever asks: a dummy one for an unknown user."""
    if user is None:
        models.check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


@dataclass(frozen=True)
class LoginResult:
    user: User | None  # set only when the login succeeded
    throttled: bool = False


def check_login(username: str, password: str, source: str | None) -> LoginResult:
    """Judge one login attempt from ``source`` (the client's address).

    Too many recent failures for this name, or from this source, → ``throttled`` (no hash
    check, same answer for every name). Otherwise the attempt is counted first, then the
    password checked; success clears the name's count and gives back the source's attempt.
    """
    from hrpipeline.audit import audit

    name = (username or "").strip()[:80]
    keys = throttle.login_keys(name, source)
    if not throttle.reserve_all(keys):
        audit("login_throttled", username=name)
        db.session.commit()
        return LoginResult(None, throttled=True)
    user = db.session.scalar(select(User).where(User.username == name))
    ok = verify_password(user, password)
    if ok and user is not None and user.is_active:
        throttle.succeeded(keys)
        audit("login", user=user)
        db.session.commit()
        return LoginResult(user)
    audit("login_failed", user=user, username=name)
    db.session.commit()
    return LoginResult(None)
