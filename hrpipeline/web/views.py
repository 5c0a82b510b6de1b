"""Home page, the 413 page, and the registration of every page module on the ``web`` blueprint.

The factory registers ``views.bp`` only; importing the page modules here attaches their routes.
"""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from hrpipeline.access import requires
from hrpipeline.services.scope import visible_zones
from hrpipeline.web import admin, dashboard, uploads  # noqa: F401 (routes register on import)
from hrpipeline.web import pilots as pilots_pages
from hrpipeline.web import planner as planner_pages
from hrpipeline.web import retention as retention_pages
from hrpipeline.web.blueprint import bp

__all__ = ["bp"]

# The pilots / briefings and retention pages keep their own blueprints (``pilots.*``,
# ``retention.*``); registering them
# alongside ``web`` keeps the factory's single ``register_blueprint(views.bp)``.
bp.record_once(lambda state: state.app.register_blueprint(pilots_pages.bp))
bp.record_once(lambda state: state.app.register_blueprint(retention_pages.bp))
bp.record_once(lambda state: state.app.register_blueprint(planner_pages.bp))


@bp.get("/")
@requires("home")
def index():
    return render_template("index.html", zones=visible_zones(current_user))


# Blueprint-level: uploads are web pages; the API keeps its problem+json answer for 413.
@bp.errorhandler(413)
def too_large(_err):
    from flask import current_app

    limit_mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return render_template("too_large.html", limit_mb=limit_mb), 413
