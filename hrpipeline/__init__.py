"""hrpipeline: recruitment-funnel and retention statistics by migration background for
Belgian local police zones, behind minimum-cell suppression."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory (Flask tutorial style).

    Configuration order: defaults → ``instance/config.py`` → ``DATABASE_URL`` and
    ``HRPIPELINE_*`` environment variables → ``test_config``.
    """
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)

    from hrpipeline import config

    config.load(app, test_config)

    from hrpipeline.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    login_manager.init_app(app)

    from hrpipeline import i18n

    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)

    from hrpipeline import audit, auth, cli, errors, security
    from hrpipeline.services import jobs

    errors.register_error_handlers(app)
    # ProxyFix (TRUSTED_PROXIES): the client's address for the audit log and login throttle.
    security.init_app(app)
    audit.record_refusals(app)
    auth.init_app(app)
    cli.init_app(app)
    jobs.init_app(app)

    from hrpipeline.web import init_app as init_web

    init_web(app)

    from hrpipeline.api import init_app as init_api

    init_api(app)

    @app.get("/health")
    def health():
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        try:
            db.session.execute(text("SELECT 1"))
        except DBAPIError:  # database down or unreachable: a 503 a monitor can read
            db.session.rollback()
            return {"status": "degraded", "version": __version__, "database": "unavailable"}, 503
        return {"status": "ok", "version": __version__, "database": "ok"}

    return app
