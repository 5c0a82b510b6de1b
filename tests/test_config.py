"""Configuration loading order: defaults → instance/config.py → env → test_config."""

import pytest

from hrpipeline import create_app
from hrpipeline.config import ConfigError, instance_secret, normalise_db_url


def test_defaults_are_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/hrpipeline.sqlite")
    assert app.config["MIN_CELL"] == 5
    assert not app.testing


def test_env_prefix_overrides_and_is_typed(monkeypatch):
    monkeypatch.setenv("HRPIPELINE_MIN_CELL", "7")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["MIN_CELL"] == 7


def test_database_url_env_selects_postgres_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_test_config_wins_over_env(monkeypatch):
    monkeypatch.setenv("HRPIPELINE_MIN_CELL", "7")
    app = create_app({"SECRET_KEY": "x", "MIN_CELL": 4})
    assert app.config["MIN_CELL"] == 4


@pytest.mark.parametrize("k", [2, 11, "5"])
def test_min_cell_outside_range_refused(k):
    with pytest.raises(ConfigError, match="MIN_CELL"):
        create_app({"SECRET_KEY": "x", "MIN_CELL": k})


def test_secret_key_generated_once_and_private(tmp_path):
    first = instance_secret(str(tmp_path))
    second = instance_secret(str(tmp_path))
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    import flask

    (tmp_path / "config.py").write_text("MIN_CELL = 8\n")
    original = flask.Flask.__init__

    def init(self, *a, **kw):
        kw["instance_path"] = str(tmp_path)
        original(self, *a, **kw)

    monkeypatch.setattr(flask.Flask, "__init__", init)
    app = create_app()
    assert app.config["MIN_CELL"] == 8
    assert (tmp_path / "secret_key").exists()


def test_normalise_db_url_keeps_sqlite():
    assert normalise_db_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(("name", "value"), [("SESSION_IDLE_MINUTES", 0),
                                             ("SESSION_MAX_HOURS", "12"),
                                             ("LOGIN_FREE_ATTEMPTS", True),
                                             ("LOGIN_DELAY_SECONDS", -1),
                                             ("TRUSTED_PROXIES", "yes")])
def test_session_throttle_and_proxy_settings_are_checked(name, value):
    with pytest.raises(ConfigError, match=name):
        create_app({"TESTING": True, "SECRET_KEY": "x", name: value})


def test_cookie_lifetime_follows_the_absolute_session_limit():
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SESSION_MAX_HOURS": 8})
    assert app.permanent_session_lifetime.total_seconds() == 8 * 3600


def test_proxy_fix_is_installed_only_when_configured():
    from werkzeug.middleware.proxy_fix import ProxyFix

    assert not isinstance(create_app({"TESTING": True, "SECRET_KEY": "x"}).wsgi_app, ProxyFix)
    behind = create_app({"TESTING": True, "SECRET_KEY": "x", "TRUSTED_PROXIES": 1})
    assert isinstance(behind.wsgi_app, ProxyFix) and behind.wsgi_app.x_for == 1


def test_a_new_sqlite_database_file_is_owner_only(tmp_path):
    # Issue 20, item 18: SQLite created the file with the umask (0644, world-readable).
    import stat

    from flask_migrate import upgrade

    from hrpipeline.extensions import db

    path = tmp_path / "new.sqlite"
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with app.app_context():
        upgrade()  # SQLite writes its schema into the existing (empty) file
        db.engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_size > 0


def test_an_existing_sqlite_file_and_other_databases_are_left_alone(tmp_path):
    import stat

    path = tmp_path / "old.sqlite"
    path.write_bytes(b"")
    path.chmod(0o640)
    create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "postgresql://u@h/db"})
    assert list(tmp_path.iterdir()) == [path]
