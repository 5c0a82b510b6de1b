"""Shared fixtures: an app on a migrated database (SQLite by default, PostgreSQL when
``HRPIPELINE_TEST_DATABASE_URL`` is set), a client, login helpers and data makers.

The schema is created once per test session by the Alembic migrations (never ``create_all``);
every test then starts from empty tables.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hrpipeline import create_app
from hrpipeline.domain import DEMO_ZONES
from hrpipeline.extensions import db

PASSWORD = "correct horse battery staple"


def _pg_admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def create_pg_database(url: str) -> str:
    """(Re)create the PostgreSQL database named in ``url``; return the normalised URL."""
    from hrpipeline.config import normalise_db_url

    url = normalise_db_url(url)
    name = make_url(url).database
    engine = create_engine(_pg_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(_pg_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def fresh_database_url(tmp_path, label: str) -> str:
    """A new, empty database of the kind this run tests (SQLite file or PostgreSQL)."""
    base = os.environ.get("HRPIPELINE_TEST_DATABASE_URL")
    if base:
        name = f"{make_url(base).database}_{label}_{uuid.uuid4().hex[:8]}"
        return create_pg_database(make_url(base).set(database=name).render_as_string(False))
    return f"sqlite:///{tmp_path / (label + '.sqlite')}"


def app_test_config(url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-not-for-production",
        "DISCLOSURE_KEY": "test-disclosure-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "localhost",
        # No worker thread, and requests build releases themselves, unless a test asks for
        # jobs (JOB_DEFER=True) and runs the queue with services.jobs.work().
        "JOB_WORKER_THREAD": False,
        "JOB_DEFER": False,
    }
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, request):
    """One migrated database per test session (per xdist worker)."""
    from flask_migrate import upgrade

    worker_id = getattr(request.config, "workerinput", {}).get("workerid", "main")
    base = os.environ.get("HRPIPELINE_TEST_DATABASE_URL")
    if base:
        name = f"{make_url(base).database}_{worker_id}"
        url = create_pg_database(make_url(base).set(database=name).render_as_string(False))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    app = create_app(app_test_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    if base:
        drop_pg_database(url)


def _clean(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                quoted = ", ".join(f'"{t}"' for t in tables)
                conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(text(f'DELETE FROM "{table}"'))
        db.engine.dispose()


@pytest.fixture
def app(database_url, request):
    """The app on the session's migrated database, with empty tables.

    Extra configuration: ``@pytest.mark.app_config(KEY=value, ...)``.
    """
    marker = request.node.get_closest_marker("app_config")
    extra = marker.kwargs if marker else {}
    application = create_app(app_test_config(database_url, **extra))
    _clean(application)
    with application.app_context():
        yield application
        db.session.remove()
    _clean(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def zones(app):
    """The five demo zones, by code."""
    from hrpipeline.models import Zone

    made = {}
    for code, number, name_nl, name_fr, language in DEMO_ZONES:
        zone = Zone(code=code, police_zone_number=number, name_nl=name_nl, name_fr=name_fr,
                    language=language)
        db.session.add(zone)
        made[code] = zone
    db.session.commit()
    return made


@pytest.fixture
def make_user(app, zones):
    """``make_user("diversity_officer", ["ANT"])`` → a committed user (password PASSWORD)."""
    from hrpipeline.models import User

    counter = {"n": 0}

    def make(role: str, zone_codes=(), *, all_zones: bool = False, username: str | None = None,
             language: str | None = None, password: str = PASSWORD):
        counter["n"] += 1
        user = User(
            username=username or f"{role}{counter['n']}",
            role=role,
            all_zones=all_zones,
            language=language,
            zones=[zones[c] for c in zone_codes],
        )
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = PASSWORD, follow_redirects: bool = False):
        return self._client.post(
            "/login", data={"username": username, "password": password},
            follow_redirects=follow_redirects,
        )

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def db_counts(app):
    """A function returning ``{table: row count}`` for every table (to assert nothing changed).

    The audit log and the login throttle are left out: a refusal (a refused upload, a 403) is
    written to the audit log on purpose, and is tested where it is written."""

    def counts() -> dict[str, int]:
        db.session.rollback()
        with db.engine.connect() as conn:
            return {
                t.name: conn.execute(text(f'SELECT COUNT(*) FROM "{t.name}"')).scalar_one()
                for t in db.metadata.sorted_tables
                if t.name not in ("audit_log", "login_throttle")
            }

    return counts
