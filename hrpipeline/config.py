"""Configuration: defaults, then ``instance/config.py``, then ``HRPIPELINE_*`` environment.

This module and :func:`hrpipeline.create_app` are the only places that read the environment
(DEVELOPERS.md). ``DATABASE_URL`` is honoured too because it is what hosting platforms set.
"""

from __future__ import annotations

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
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_MAX_ATTEMPTS": 5,
        "LOGIN_LOCK_MINUTES": 15,
        "CHART_CACHE_SIZE": 256,
        "REFERENCE_GROUP": "belgian_origin",
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
    validate(app.config)


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


def instance_secret(instance_path: str) -> str:
    """Read ``instance/secret_key``, creating it (mode 0600) on first run.

    The key never lives in the repository: ``instance/`` is git-ignored.
    """
    path = Path(instance_path) / "secret_key"
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
