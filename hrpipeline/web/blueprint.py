"""The ``web`` blueprint, its template filters and the role-based navigation.

Every page module registers its routes on :data:`bp`; ``hrpipeline.web.views`` imports them
all so that the factory's single ``register_blueprint(views.bp)`` brings in every page.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from hrpipeline import formatting

bp = Blueprint("web", __name__)

#: Navigation: (endpoint, label). Visibility follows each view's ``allowed_roles`` (set by
#: ``hrpipeline.access.requires``), so the menu can never offer a page the role would get a 403 on.
NAV: tuple[tuple[str, Any], ...] = (
    ("web.index", _l("Start")),
    ("web.funnel", _l("Funnel")),
    ("web.representation", _l("Representation")),
    ("web.data_quality", _l("Data quality")),
    ("retention.page", _l("Retention")),
    ("planner.page", _l("Planner")),
    ("pilots.pilot_list", _l("Pilots")),
    ("pilots.briefings", _l("Briefings")),
    ("web.upload_new", _l("Upload")),
    ("web.upload_history", _l("Upload history")),
    ("web.admin_users", _l("Users")),
    ("web.admin_zones", _l("Zones")),
)


def may_open(endpoint: str) -> bool:
    """Whether the current user's role may open this endpoint (admins may open everything)."""
    if not current_user.is_authenticated:
        return False
    view = current_app.view_functions.get(endpoint)
    roles = getattr(view, "allowed_roles", None)
    if roles is None:
        return False
    return current_user.role == "admin" or current_user.role in roles


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    def nav_items() -> list[tuple[str, str, bool]]:
        return [
            (endpoint, str(label), request.endpoint == endpoint)
            for endpoint, label in NAV
            if may_open(endpoint)
        ]

    return {"nav_items": nav_items, "may_open": may_open}


def _suppressed_span() -> Markup:
    return Markup('<span class="suppressed" title="{}">x</span>').format(
        _("x = hidden to protect privacy")
    )


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


@bp.app_template_filter("pub")
def pub(value: Any, kind: str = "auto") -> Markup:
    """Render one published value (numbers written by :mod:`hrpipeline.formatting`).

    ``kind``: ``count`` (thousands separator per locale), ``rate`` (percent, one decimal),
    ``ratio`` (two decimals), ``average`` (one decimal), ``points`` (percentage points, signed,
    one decimal), ``p`` (a p-value, text or number, with the locale's decimal sign) or ``auto``
    (int → count, float → rate). A suppressed value is always the one symbol ``x``; ``None``
    (not applicable, e.g. no ratio without reference passers) is a dash, never 0.
    """
    from hrpipeline.disclosure import is_suppressed

    if is_suppressed(value):
        return _suppressed_span()
    if value is None:
        return Markup('<span class="na" title="{}">–</span>').format(_("not applicable"))
    if kind == "p":
        return escape(formatting.p_value(value, _lang()))
    if isinstance(value, bool) or not isinstance(value, Real):
        return escape(value)
    return escape(formatting.number(value, kind, _lang()))


@bp.app_template_filter("num")
def num(value: int) -> str:
    """A plain count that is not a published statistic (e.g. rows in an uploaded file)."""
    return formatting.count(value, _lang())


@bp.app_template_filter("date_short")
def date_short(value: Any) -> str:
    """31/12/2024 (a date or datetime; an ISO text is parsed first, other text is kept)."""
    day = _as_date(value)
    return formatting.date_short(day, _lang()) if day is not None or value is None else str(value)


@bp.app_template_filter("date_long")
def date_long(value: Any) -> str:
    """31 december 2024 / 31 décembre 2024."""
    day = _as_date(value)
    return formatting.date_long(day, _lang()) if day is not None or value is None else str(value)


@bp.app_template_filter("datetime_short")
def datetime_short(value: Any) -> str:
    """31/12/2024 14:05 (a datetime; other values as text)."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return formatting.datetime_short(value, _lang())
    return date_short(value)


def _as_date(value: Any):
    import datetime as dt

    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@bp.app_template_global("kind_label")
def kind_label(kind: str) -> str:
    from hrpipeline.web.messages import KIND_LABELS

    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_global("status_label")
def status_label(status: str) -> str:
    from hrpipeline.web.messages import STATUS_LABELS

    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("zone_name")
def zone_name(zone: Any) -> str:
    from flask_babel import get_locale

    return zone.name(str(get_locale()))
