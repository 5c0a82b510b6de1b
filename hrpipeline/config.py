"""Configuration: defaults, then ``instance/config.py``, then ``HRPIPELINE_*`` environment.

This module and :func:`hrpipeline.create_app` are the only places that read the environment
(DEVELOPERS.md). ``DATABASE_URL`` is honoured too because it is what hosting platforms set.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from hrpipeline.domain import DEFAULT_MIN_CELL, DEFAULT_MIN_DENOMINATOR, MIN_CELL_RANGE


class ConfigError(RuntimeError):
    """The deployment's configuration is unusable (raised at start-up, never at request time)."""


def defaults(instance_path: str) -> dict[str, Any]:
    db_file = Path(instance_path) / "hrpipeline.sqlite"
    return {
        "SECRET_KEY": None,  # generated into instance/ on first run when absent
        # Key of the cell-key rounding (docs/disclosure-control.md): generated into instance/
        # on first run; every server of one database must share it, and it must never change.
        "DISCLOSURE_KEY": None,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Disclosure control (docs/disclosure-control.md): k and the minimum denominator.
        "MIN_CELL": DEFAULT_MIN_CELL,
        "MIN_DENOMINATOR": DEFAULT_MIN_DENOMINATOR,
        # Uploads: a clear 413 message above this size.
        "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
        "MAX_UPLOAD_ROWS": 2_000_000,
        "BABEL_DEFAULT_LOCALE": "en",
        "LANGUAGES": ["nl", "fr", "en"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,  # set True behind HTTPS (see README, production)
        "TRUSTED_PROXIES": 0,  # reverse proxies to trust (ProxyFix; README, production)
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # Sessions (ASVS 3.3): ended after this long without a request, and this long after
        # the login whatever the activity; logout and password change end them at once.
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_MAX_HOURS": 12,
        # Login throttling (hrpipeline.services.throttle): free attempts per user name and
        # per source address, then a wait that doubles from LOGIN_DELAY_SECONDS up to
        # LOGIN_MAX_DELAY_SECONDS; counts are forgotten after LOGIN_THROTTLE_RESET_MINUTES.
        "LOGIN_FREE_ATTEMPTS": 5,
        "LOGIN_SOURCE_FREE_ATTEMPTS": 50,
        "LOGIN_DELAY_SECONDS": 2,
        "LOGIN_MAX_DELAY_SECONDS": 300,
        "LOGIN_THROTTLE_RESET_MINUTES": 60,
        # API tokens: last_used_at is written at most once per this many seconds per token.
        "TOKEN_LAST_USED_SECONDS": 300,
        "CHART_CACHE_SIZE": 256,
        # Background jobs (hrpipeline.services.jobs): "database" (the jobs table is the queue,
        # run by a worker thread in each web process and by `flask worker`), "eager" (run at
        # once, in the caller) or a Redis URL (RQ; run by `flask worker`).
        "JOB_QUEUE": "database",
        "JOB_QUEUE_NAME": "hrpipeline",
        "JOB_WORKER_THREAD": True,  # the embedded worker thread of each web process
        "JOB_DEFER": None,  # None: web requests hand protection runs to jobs (not when eager)
        "JOB_POLL_SECONDS": 2.0,
        "JOB_STALE_SECONDS": 900,  # a running job without a heartbeat this long is re-queued
        "JOB_MAX_ATTEMPTS": 3,
        "JOB_TIMEOUT_SECONDS": 3600,  # RQ's limit per job
        "JOB_WARM_BRIEFINGS": True,  # warming also computes the retention reports
    }


def load(app, test_config: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` in the documented order and validate it."""
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    app.config.from_prefixed_env(prefix="HRPIPELINE")
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    create_private_sqlite(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(app.instance_path)
    if not app.config.get("DISCLOSURE_KEY"):
        app.config["DISCLOSURE_KEY"] = instance_secret(app.instance_path, "disclosure_key")
    validate(app.config)
    # The cookie never outlives the absolute session limit (hrpipeline.sessions checks both).
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(
        hours=app.config["SESSION_MAX_HOURS"])


def normalise_db_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` as given by hosts; we drive psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_private_sqlite(url: str) -> None:
    """Create a SQLite database file that does not exist yet as an empty, owner-only (0600)
    file, before SQLite creates it with the process umask (0644: world-readable). SQLite gives
    its journal and WAL files the database file's permissions. An existing file is left as
    it is."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if parsed.database.startswith("file:") or parsed.query.get("mode") == "memory":
        return
    path = Path(parsed.database)
    if path.exists() or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # created meanwhile by another process
        pass


def instance_secret(instance_path: str, name: str = "secret_key") -> str:
    """Read ``instance/<name>``, creating it (mode 0600) on first run.

    The key never lives in the repository: ``instance/`` is git-ignored.
    """
    path = Path(instance_path) / name
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def validate(config) -> None:
    k = config["MIN_CELL"]
    lo, hi = MIN_CELL_RANGE
    if not isinstance(k, int) or not lo <= k <= hi:
        raise ConfigError(f"MIN_CELL must be a whole number from {lo} to {hi}, got {k!r}")
    if not isinstance(config["MIN_DENOMINATOR"], int) or config["MIN_DENOMINATOR"] < 1:
        raise ConfigError("MIN_DENOMINATOR must be a positive whole number")
    queue = str(config.get("JOB_QUEUE") or "")
    if queue not in ("database", "eager") and not queue.startswith(
            ("redis://", "rediss://", "unix://")):
        raise ConfigError("JOB_QUEUE must be 'database', 'eager' or a redis:// URL, "
                          f"got {queue!r}")
    proxies = config.get("TRUSTED_PROXIES", 0)
    if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be a whole number >= 0, got {proxies!r}")
    for name in ("SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS", "LOGIN_FREE_ATTEMPTS",
                 "LOGIN_SOURCE_FREE_ATTEMPTS", "LOGIN_THROTTLE_RESET_MINUTES"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
    for name in ("LOGIN_DELAY_SECONDS", "LOGIN_MAX_DELAY_SECONDS", "TOKEN_LAST_USED_SECONDS"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{name} must be a number of at least 0, got {value!r}")
