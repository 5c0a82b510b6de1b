"""Interface language: the user's preference, then the session choice, then Accept-Language.

Catalogues live in ``hrpipeline/translations/<lang>/LC_MESSAGES/messages.po``; the compiled
``.mo`` files are build artefacts (git-ignored) and are compiled at start-up when missing or
older than their ``.po`` source, so a fresh clone works without a separate build step.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request, session
from flask_babel import get_locale, gettext, lazy_gettext
from flask_login import current_user

TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    try:
        pref = getattr(current_user, "language", None) if current_user.is_authenticated else None
    except Exception:  # outside a request with a user loader (CLI rendering)
        pref = None
    if pref in languages:
        return pref
    chosen = session.get("lang") if request else None
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or stale; return the compiled paths."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po in directory.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        with mo.open("wb") as fh:
            write_mo(fh, catalog)
        compiled.append(mo)
    return compiled


def init_app(app: Flask) -> None:
    if TRANSLATIONS.exists():
        compile_catalogues()
    app.jinja_env.globals.update(_label=label, get_locale=get_locale)


# Labels of categories and stages, translated through the catalogue (one place for all views).
_LABELS = {
    "application": lazy_gettext("Application"),
    "cognitive_test": lazy_gettext("Cognitive test"),
    "personality_test": lazy_gettext("Personality test"),
    "physical_test": lazy_gettext("Physical test"),
    "interview": lazy_gettext("Interview (selection committee)"),
    "medical": lazy_gettext("Medical examination"),
    "screening": lazy_gettext("Background screening"),
    "academy": lazy_gettext("Police academy"),
    "appointed": lazy_gettext("Appointed"),
    "belgian_origin": lazy_gettext("Belgian origin"),
    "eu_background": lazy_gettext("EU background"),
    "non_eu_background": lazy_gettext("Non-EU background"),
    "foreign_background": lazy_gettext("Foreign background (EU + non-EU)"),
    "unknown": lazy_gettext("Unknown (not disclosed)"),
    "passed": lazy_gettext("passed"),
    "failed": lazy_gettext("failed"),
    "withdrew": lazy_gettext("withdrew"),
    "pending": lazy_gettext("pending"),
    "admin": lazy_gettext("Administrator"),
    "hr_manager": lazy_gettext("HR manager"),
    "diversity_officer": lazy_gettext("Diversity officer"),
    "project_staff": lazy_gettext("Project staff"),
    "leadership": lazy_gettext("Leadership"),
    "voluntary": lazy_gettext("Resignation"),
    "involuntary": lazy_gettext("Dismissal / failed probation"),
    "retirement": lazy_gettext("Retirement"),
    "mobility": lazy_gettext("Transfer to another zone"),
    "other": lazy_gettext("Other"),
    # Gender, Cox factors, exit reasons and ranks: never a raw key on a page (issue 17).
    "group": lazy_gettext("Background"),
    "gender": lazy_gettext("Gender"),
    "female": lazy_gettext("Woman"),
    "male": lazy_gettext("Man"),
    "x": lazy_gettext("Gender X (non-binary)"),
    "other_exit": lazy_gettext("Any other exit"),
    "workload": lazy_gettext("Workload"),
    "career": lazy_gettext("Career prospects"),
    "pay": lazy_gettext("Pay"),
    "work_life_balance": lazy_gettext("Work-life balance"),
    "team_climate": lazy_gettext("Team climate"),
    "discrimination": lazy_gettext("Discrimination"),
    "commute": lazy_gettext("Commute"),
    "family": lazy_gettext("Family reasons"),
    "health": lazy_gettext("Health"),
    "agent": lazy_gettext("Constable (agent)"),
    "inspector": lazy_gettext("Inspector"),
    "chief_inspector": lazy_gettext("Chief inspector"),
    "commissioner": lazy_gettext("Commissioner"),
    "chief_commissioner": lazy_gettext("Chief commissioner"),
}


def label(value: str | None) -> str:
    """Translated label for a canonical category value (falls back to the value itself)."""
    if value is None:
        return ""
    lazy = _LABELS.get(value)
    return str(lazy) if lazy is not None else gettext(value)
