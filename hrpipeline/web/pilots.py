"""Pilot pages (list, register, evaluation, gap chart) and leadership briefing downloads.

Blueprint ``pilots`` (registered by the app factory). Views are thin: parse the request, call
one service (``hrpipeline.services.pilots`` / ``hrpipeline.services.briefing``), render.
Domain errors (404 outside the scope, 403, 422) go to the shared handler.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from hrpipeline.access import can, requires
from hrpipeline.csvsafe import download_headers
from hrpipeline.errors import NotFound, ValidationFailed
from hrpipeline.security import standalone_html
from hrpipeline.services import briefing as briefing_service
from hrpipeline.services import pilots as pilot_service
from hrpipeline.services.funnel_data import catalogue
from hrpipeline.services.scope import ALL, may_see_pool, visible_zones
from hrpipeline.web import export
from hrpipeline.web.export import Column, Sheet

bp = Blueprint("pilots", __name__)



class PilotForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    zones = SelectMultipleField(_l("Pilot zones"), validators=[DataRequired()])
    comparison_zones = SelectMultipleField(_l("Comparison zones"), validators=[Optional()])
    target = SelectField(_l("Target (selection stage or retention)"),
                         validators=[DataRequired()])
    start_date = DateField(_l("Start date"), validators=[DataRequired()])
    end_date = DateField(_l("End date (optional)"), validators=[Optional()])


def _lang() -> str:
    return str(get_locale() or "en")


def _form() -> PilotForm:
    form = PilotForm()
    choices = [(z.code, z.name(_lang())) for z in visible_zones(current_user)]
    form.zones.choices = choices
    form.comparison_zones.choices = choices
    from hrpipeline.i18n import label

    form.target.choices = [(t, label(t) if t != pilot_service.RETENTION_TARGET
                            else _("Retention (12 months after hire)"))
                           for t in pilot_service.targets()]
    return form


@bp.route("/pilots", methods=["GET", "POST"])
@requires("pilots_read")
def pilot_list():
    may_register = can(current_user, "pilots_register")
    form = _form() if may_register else None
    problems = None
    if request.method == "POST":
        if not may_register:
            abort(403)
        assert form is not None
        if form.validate_on_submit():
            try:
                info = pilot_service.create_pilot(
                    current_user, form.name.data, form.zones.data, form.comparison_zones.data,
                    form.target.data, form.start_date.data, form.end_date.data,
                    form.description.data or "")
            except ValidationFailed as err:
                problems = err.extra.get("problems", [])
            else:
                return redirect(url_for("pilots.pilot_detail", pilot_id=info.id))
        status = 422
        return render_template("pilots/list.html",
                               pilots=pilot_service.pilots_involving(current_user),
                               form=form, problems=problems), status
    return render_template("pilots/list.html",
                           pilots=pilot_service.pilots_involving(current_user),
                           form=form, problems=problems)


@bp.get("/pilots/<int(max=2147483647):pilot_id>")
@requires("pilots_read")
def pilot_detail(pilot_id: int):
    evaluation = pilot_service.evaluate(current_user, pilot_id, _lang())
    return render_template("pilots/detail.html", ev=evaluation)


@bp.get("/pilots/<int(max=2147483647):pilot_id>/gap.png")
@requires("pilots_read")
def pilot_chart(pilot_id: int):
    evaluation = pilot_service.evaluate(current_user, pilot_id, _lang())
    # Cache-Control: no-store (hrpipeline.security): the chart shows Art. 9 statistics.
    return Response(pilot_service.gap_chart_png(evaluation), mimetype="image/png")


def pilot_sheets(evaluation) -> list[Sheet]:
    """The two tables of the pilot page, as downloads (the page's words, no raw keys)."""
    def arm(value: str) -> str:
        return _("Pilot zones") if value == "pilot" else _("Comparison zones")

    cells = [{**c, "arm": arm(c["arm"]),
              "phase": _("before") if c["phase"] == "before" else _("after")}
             for c in evaluation.cells]
    series = [{**s, "arm": arm(s["arm"])} for s in evaluation.series]
    return [
        Sheet(_("Decisions before and after the start"), [
            Column("arm", _("Zones")), Column("phase", _("Phase")),
            Column("group", _("Group"), "label"),
            Column("successes", _("Successes"), "count"),
            Column("failures", _("Other outcome"), "count"), Column("n", _("Total"), "count"),
            Column("rate", _("Rate"), "rate")], cells, [evaluation.verdict_text]),
        Sheet(_("Gap per period"), [
            Column("period", _("Period")), Column("arm", _("Zones")),
            Column("focal_n", _("Focal group: total"), "count"),
            Column("focal_rate", _("Focal group: rate"), "rate"),
            Column("reference_n", _("Reference group: total"), "count"),
            Column("reference_rate", _("Reference group: rate"), "rate"),
            Column("gap", _("Gap"), "rate")], series),
    ]


@bp.get("/pilots/<int(max=2147483647):pilot_id>.<fmt>")
@requires("pilots_read")
def pilot_export(pilot_id: int, fmt: str):
    if fmt not in export.FORMATS:
        raise NotFound(_("No such format."))
    evaluation = pilot_service.evaluate(current_user, pilot_id, _lang())
    return export.download(fmt, f"pilot_{pilot_id}", pilot_sheets(evaluation),
                           _("Pilot") + ": " + evaluation.pilot.name)


def _briefing_choices() -> tuple[list[tuple[str, str]], list[str]]:
    zones = [(z.code, z.name(_lang())) for z in visible_zones(current_user)]
    if may_see_pool(current_user):
        zones.insert(0, (ALL, _("All zones (pooled)")))
    years = sorted({e.year for e in catalogue(current_user)}, reverse=True)
    return zones, [f"year:{y}" for y in years]


@bp.get("/briefings")
@requires("briefings")
def briefings():
    zones, periods = _briefing_choices()
    return render_template("pilots/briefings.html", zones=zones, periods=periods,
                           languages=briefing_service.LANGUAGES, current_lang=_lang())


@bp.get("/briefings/download")
@requires("briefings")
def briefing_download():
    zone = request.args.get("zone", "")
    period = request.args.get("period", "")
    lang = request.args.get("lang", _lang())
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "html"):
        raise NotFound(_("No such format."))
    if fmt == "html":
        body = briefing_service.briefing_html(current_user, zone, period, lang)
        return standalone_html(Response(body, mimetype="text/html"))
    pdf = briefing_service.briefing_pdf(current_user, zone, period, lang)
    name = f"briefing_{zone}_{period.replace(':', '-')}_{lang}.pdf"
    return Response(pdf, mimetype="application/pdf", headers=download_headers(name))
