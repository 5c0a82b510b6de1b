"""Representation-target planner page and its chart (Blueprint ``planner``).

Thin: parse zone, target and horizon, call ``hrpipeline.services.planner.planner_report``,
render. The page and the chart read the same report. Same access as the retention page
(capability ``reports``); the service scopes the zone (404 outside the user's zones).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from flask import Blueprint, Response, render_template, request  # noqa: E402
from flask_babel import get_locale  # noqa: E402
from flask_babel import gettext as _  # noqa: E402
from flask_login import current_user  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from hrpipeline.access import requires  # noqa: E402
from hrpipeline.errors import NotFound, ValidationFailed  # noqa: E402
from hrpipeline.services.scope import visible_zones  # noqa: E402

bp = Blueprint("planner", __name__)

FOCAL_COLOUR = "#009E73"  # Okabe-Ito, as the non-EU group on the other charts
TARGET_COLOUR = "#D55E00"


def _lang() -> str:
    return str(get_locale() or "en")


def _args() -> tuple[str, float, int, list[tuple[str, str]]]:
    choices = [(z.code, z.name(_lang())) for z in visible_zones(current_user)]
    zone = request.args.get("zone") or (choices[0][0] if choices else None)
    if zone is None:
        raise NotFound(_("You have no zone to look at."))
    try:
        target = float(request.args.get("target", "20").replace(",", "."))
        years = int(request.args.get("years", "10"))
    except ValueError:
        raise ValidationFailed(_("The target must be a percentage and the horizon a number of "
                                 "years.")) from None
    return zone, target, years, choices


def _report(zone: str, target: float, years: int):
    from hrpipeline.services.planner import planner_report

    return planner_report(current_user, zone, target=target / 100, years=years, lang=_lang())


@bp.get("/planner")
@requires("reports")
def page():
    from hrpipeline.services.planner import PlannerUnavailable

    zone, target, years, choices = _args()
    try:
        report = _report(zone, target, years)
        unavailable = None
    except PlannerUnavailable as err:
        report, unavailable = None, err
    return render_template("planner/page.html", report=report, unavailable=unavailable,
                           choices=choices, zone=zone, target=target, years=years,
                           costliest=_costliest(report))


def _costliest(report) -> str | None:
    """The stage whose what-if adds most appointments (if any adds at least one tenth)."""
    if report is None or report.funnel is None:
        return None
    rows = [r for r in report.funnel.what_if if r["extra_appointments"] is not None]
    best = max(rows, key=lambda r: r["extra_appointments"], default=None)
    return best["stage"] if best is not None and best["extra_appointments"] > 0 else None


def _pct(value) -> str:
    from flask_babel import format_percent

    from hrpipeline.disclosure.values import is_suppressed

    if is_suppressed(value):
        return "x"
    if value is None:
        return "–"
    return format_percent(value, format="#,##0.0%")


def _num(value) -> str:
    from flask_babel import format_decimal

    from hrpipeline.disclosure.values import is_suppressed

    if is_suppressed(value):
        return "x"
    if value is None:
        return "–"
    return format_decimal(value, format="#,##0")


@bp.app_template_global("planner_note")
def planner_note(code: str) -> str:
    notes = {
        "pooled": _("The exits of officers with a migration background are hidden to protect "
                    "privacy in these years: both groups are given the exit rate of all groups "
                    "together. A difference in leaving between the groups, if there is one, is "
                    "therefore not in the projection."),
        "pooled_window": _("The exits of all groups together are hidden in some of these years: "
                           "their rate over the whole period since 2015 is used."),
        "pooled_headcount": _("A group's headcount is hidden in some year: officers with a "
                              "migration background are counted as all officers minus those of "
                              "Belgian origin and of unknown background."),
        "headcount_year_end": _("Today's headcount by group is hidden to protect privacy: the "
                                "headcount at the last year end is used."),
        "no_first_year": _("First-year exits are not published for every group: one exit rate "
                           "is used for every year of service."),
        "reference_pooled": _("The exits of officers of Belgian origin are hidden: “without "
                              "extra exits” uses the exit rate of everyone without a migration "
                              "background."),
    }
    return notes.get(code, code)


@bp.app_template_global("target_label")
def target_label(target: float) -> str:
    """A target share as the user typed it (20 %, 22.5 %), in the interface's number format."""
    from flask_babel import format_percent

    return format_percent(target, format="#,##0.#%")


@bp.app_template_global("target_sentence")
def target_sentence(share: float, low: float, high: float, now: float, target: float,
                    years: int, share_now: float = 0.0) -> str:
    if share_now >= target and 0 < share <= 1:
        return _("The corps is already at %(target)s or more; with exits as they are it is still "
                 "there in %(years)s years as long as at least %(share)s of hires have a "
                 "migration background (between %(low)s and %(high)s, allowing for chance), "
                 "against %(now)s today.", target=target_label(target), years=years,
                 share=_pct(share), low=_pct(max(0.0, low)), high=_pct(min(1.0, high)),
                 now=_pct(now))
    if share > 1:
        return _("Even if every hire had a migration background, %(target)s would not be reached "
                 "within %(years)s years with exits as they are: it takes longer, or fewer exits.",
                 target=target_label(target), years=years)
    if share <= 0:
        return _("%(target)s is reached within %(years)s years whatever the hires, with exits as "
                 "they are.", target=target_label(target), years=years)
    return _("With exits as they are, about %(share)s of all hires would need to have a migration "
             "background (between %(low)s and %(high)s, allowing for chance), against %(now)s "
             "today.", share=_pct(share), low=_pct(max(0.0, low)), high=_pct(min(1.0, high)),
             now=_pct(now))


@bp.app_template_global("equal_exits_sentence")
def equal_exits_sentence(share: float, years: int) -> str:
    if share > 1:
        return _("Even if officers with a migration background left no more often than officers "
                 "of Belgian origin, hiring alone would not reach the target within %(years)s "
                 "years.", years=years)
    if share <= 0:
        return _("If officers with a migration background left no more often than officers of "
                 "Belgian origin, the target would be reached whatever the hires.")
    return _("If officers with a migration background left no more often than officers of "
             "Belgian origin, %(share)s of hires would do.", share=_pct(share))


@bp.app_template_global("applicants_sentence")
def applicants_sentence(needed, needed_equal, rate, ref_rate, now, years: list[int]) -> str:
    from hrpipeline.disclosure.values import is_suppressed

    if needed is None or is_suppressed(needed):
        return _("The funnel's published figures do not allow the number of applicants needed to "
                 "be worked out (too few, or hidden to protect privacy).")
    return _("Of every 100 applicants with a migration background, about %(rate)s are appointed "
             "(Belgian origin: %(ref)s; campaign years %(years)s). At that rate the target needs "
             "about %(needed)s applicants with a migration background a year (%(equal)s without "
             "the extra exits); today there are about %(now)s a year.",
             rate=_num_dec(rate), ref=_num_dec(ref_rate), years=", ".join(map(str, years)),
             needed=_num(needed), equal=_num(needed_equal), now=_num(now))


def _num_dec(rate) -> str:
    from flask_babel import format_decimal

    from hrpipeline.disclosure.values import is_suppressed

    if is_suppressed(rate):
        return "x"
    if rate is None:
        return "–"
    return format_decimal(100 * rate, format="#,##0.0")


@bp.get("/planner/chart.png")
@requires("reports")
def chart():
    from hrpipeline.web import charts

    zone, target, years, _choices = _args()
    report = _report(zone, target, years)
    key = ("planner", _lang(), zone, target, years, charts.report_digest(report))
    body = charts.cache().get_or_render(key, lambda: render_chart(report))
    return Response(body, mimetype="image/png")


def render_chart(report) -> bytes:
    """The projected share with its interval, today's share and the target (published inputs
    only: the report's rounded projection)."""
    d = report.to_dict()
    rows = d["projection"]
    fig = Figure(figsize=(9.6, 4.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    x = [r["year"] for r in rows]
    ax.fill_between(x, [r["low"] for r in rows], [r["high"] for r in rows], color=FOCAL_COLOUR,
                    alpha=0.18, linewidth=0,
                    label=_("range chance alone could give (90 of 100 simulations)"))
    ax.plot(x, [r["share"] for r in rows], color=FOCAL_COLOUR, linewidth=2.2, marker="o",
            markersize=3.5, label=_("if hiring and leaving stay as they are"))
    target_text = f"{report.target:.0%}"
    ax.axhline(report.target, color=TARGET_COLOUR, linestyle="--", linewidth=1.4,
               label=_("target: %(target)s", target=target_text))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    top = max(report.target, *(r["high"] for r in rows)) * 1.15
    ax.set_ylim(0, top)
    ax.set_xticks(x)
    ax.set_xlabel(_("years from now"))
    ax.set_ylabel(_("officers with a migration background"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8.5,
              frameon=False)
    buffer = io.BytesIO()
    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
