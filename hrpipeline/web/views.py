"""Home page, the 413 page, and the registration of every page module on the ``web`` blueprint.

The factory registers ``views.bp`` only; importing the page modules here attaches their routes.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

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
    from flask_babel import get_locale

    from hrpipeline.services.home import start_summary
    from hrpipeline.web.blueprint import may_open

    summary = None
    if may_open("web.funnel"):
        summary = start_summary(current_user, str(get_locale() or "en"))
    return render_template("index.html", zones=visible_zones(current_user), summary=summary)


# Blueprint-level: uploads are web pages; the API keeps its problem+json answer for 413.
@bp.errorhandler(413)
def too_large(_err):
    from flask import current_app

    limit_mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return render_template("too_large.html", limit_mb=limit_mb), 413


#: The glossary's entries in page order: (anchor, title). Column headers link to the anchors.
HELP_TERMS = (
    ("pass-rate", _l("Pass rate")),
    ("impact-ratio", _l("Impact ratio")),
    ("four-fifths", _l("Four-fifths rule")),
    ("tiers", _l("Tiers")),
    ("p-value", _l("p-value")),
    ("holm", _l("Holm correction (adjusted p)")),
    ("wilson", _l("95% interval (Wilson)")),
    ("mantel-haenszel", _l("Pooled over campaigns or zones (Mantel-Haenszel)")),
    ("kaplan-meier", _l("Time in service (life table)")),
    ("rounding", _l("Rounded counts")),
    ("x", _l("Why x")),
)


@bp.get("/help")
@requires("home")
def help_page():
    terms = [(a, str(t)) for a, t in HELP_TERMS]
    return render_template("help.html", terms=terms, titles=dict(terms))


@bp.app_template_global("help_link")
def help_link(anchor: str) -> Markup:
    """A small "?" after a column header, linking to the glossary entry."""
    from flask import url_for

    return Markup('<a class="help-link" href="{}#{}" title="{}" aria-label="{}">?</a>').format(
        url_for("web.help_page"), anchor, _("What does this mean?"), _("What does this mean?"))
