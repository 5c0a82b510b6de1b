"""``wsgi.py`` builds the app from the environment, as gunicorn will."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wsgi_module_exposes_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'wsgi.sqlite'}")
    monkeypatch.setenv("HRPIPELINE_SECRET_KEY", "wsgi-test-secret")
    namespace = runpy.run_path(str(ROOT / "wsgi.py"))
    app = namespace["app"]
    assert app.name == "hrpipeline"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("wsgi.sqlite")
    assert app.config["SECRET_KEY"] == "wsgi-test-secret"
