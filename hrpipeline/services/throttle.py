"""Login throttling: a progressive delay per user name and per source address.

Each key (``user:<name>`` for the name typed, whether it exists or not; ``src:<address>``)
has a row in ``login_throttle``. An attempt is *reserved* before the password is checked:
the row's count goes up by one in a committed compare-and-set (``UPDATE … WHERE seq = ?``),
so parallel guesses cannot all be evaluated before the first is counted. After
``LOGIN_FREE_ATTEMPTS`` (per name) or ``LOGIN_SOURCE_FREE_ATTEMPTS`` (per source) counted
attempts, the next one waits ``LOGIN_DELAY_SECONDS``, doubling each time up to
``LOGIN_MAX_DELAY_SECONDS``: a delay, not a lock-out that anyone can trigger for any account
for a quarter of an hour. A successful login clears its name's row and gives back its
source's attempt (an office behind one address is not slowed down by its own logins). A row
is forgotten ``LOGIN_THROTTLE_RESET_MINUTES`` after its last counted attempt.

The counters live outside the ORM session (their own short transactions on the engine) so
that they are committed before the slow password hash, whatever the request does next.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import case, delete, select, update

from hrpipeline.extensions import db
from hrpipeline.models import LoginThrottle, utcnow

T = LoginThrottle.__table__
#: Compare-and-set retries (each failed one means another request counted an attempt).
MAX_RETRIES = 100


def now() -> dt.datetime:
    return utcnow()


def login_keys(username: str, source: str | None) -> list[str]:
    keys = ["user:" + (username or "").strip().lower()[:80]]
    if source:
        keys.append("src:" + source[:64])
    return keys


def _free_attempts(key: str) -> int:
    name = "LOGIN_SOURCE_FREE_ATTEMPTS" if key.startswith("src:") else "LOGIN_FREE_ATTEMPTS"
    return int(current_app.config[name])


def delay(key: str, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th counted attempt."""
    free = _free_attempts(key)
    if attempts < free:
        return dt.timedelta(0)
    base = float(current_app.config["LOGIN_DELAY_SECONDS"])
    most = float(current_app.config["LOGIN_MAX_DELAY_SECONDS"])
    return dt.timedelta(seconds=min(most, base * 2 ** min(attempts - free, 30)))


def _insert_ignore(conn, key: str, at: dt.datetime) -> int:
    values = {"key": key, "failures": 0, "seq": 0, "not_before": None, "updated_at": at}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return conn.execute(insert(T).values(**values)
                        .on_conflict_do_nothing(index_elements=["key"])).rowcount


def _forget_old(conn, at: dt.datetime) -> None:
    minutes = current_app.config["LOGIN_THROTTLE_RESET_MINUTES"]
    conn.execute(delete(T).where(T.c.updated_at < at - dt.timedelta(minutes=minutes),
                                 (T.c.not_before.is_(None)) | (T.c.not_before <= at)))


def reserve(key: str) -> bool:
    """Count one attempt for ``key`` if it is allowed now; ``False`` if it must wait."""
    at = now()
    reset_after = dt.timedelta(minutes=current_app.config["LOGIN_THROTTLE_RESET_MINUTES"])
    for _ in range(MAX_RETRIES):
        with db.engine.begin() as conn:
            if _insert_ignore(conn, key, at):
                _forget_old(conn, at)  # a new row: a good moment to drop stale ones
            row = conn.execute(select(T.c.failures, T.c.seq, T.c.not_before, T.c.updated_at)
                               .where(T.c.key == key)).one()
            if row.not_before is not None and row.not_before > at:
                return False
            failures = 0 if row.updated_at < at - reset_after else row.failures
            counted = failures + 1
            done = conn.execute(
                update(T).where(T.c.key == key, T.c.seq == row.seq)
                .values(failures=counted, seq=row.seq + 1, updated_at=at,
                        not_before=at + delay(key, counted))).rowcount
        if done == 1:
            return True
    return False


def reserve_all(keys: list[str]) -> bool:
    """Reserve every key, or none: an attempt refused for one key is given back to the
    others already reserved."""
    taken = []
    for key in keys:
        if not reserve(key):
            for earlier in taken:
                give_back(earlier)
            return False
        taken.append(key)
    return True


def give_back(key: str) -> None:
    """Undo one counted attempt (and its wait, when the count falls below the free ones)."""
    free = _free_attempts(key)
    with db.engine.begin() as conn:
        conn.execute(update(T).where(T.c.key == key, T.c.failures > 0).values(
            failures=T.c.failures - 1, seq=T.c.seq + 1,
            not_before=case((T.c.failures - 1 < free, None), else_=T.c.not_before)))


def succeeded(keys: list[str]) -> None:
    """After a successful login: clear the name's count, give back the source's attempt."""
    for key in keys:
        if key.startswith("user:"):
            with db.engine.begin() as conn:
                conn.execute(delete(T).where(T.c.key == key))
        else:
            give_back(key)


def failures(key: str) -> int:
    """Counted attempts for ``key`` (0 when none)."""
    with db.engine.connect() as conn:
        return conn.execute(select(T.c.failures).where(T.c.key == key)).scalar() or 0
