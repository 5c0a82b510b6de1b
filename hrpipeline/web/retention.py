"""Retention page, its CSV and its charts (Blueprint ``retention``).

All three read ONE report object (``hrpipeline.services.retention.retention_report``), so the
page, the CSV and the charts always show the same, gated numbers. Views are thin: parse the
zone, call the service, render; domain errors (404 outside the scope, 403 for the pool) go to
the shared handler.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")

from flask import Blueprint, Response, render_template, request  # noqa: E402
from flask_babel import get_locale  # noqa: E402
from flask_babel import gettext as _  # noqa: E402
from flask_login import current_user  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from hrpipeline.access import requires  # noqa: E402
from hrpipeline.audit import audit  # noqa: E402
from hrpipeline.charts import style  # noqa: E402
from hrpipeline.disclosure import is_suppressed  # noqa: E402
from hrpipeline.domain import EXIT_TYPES  # noqa: E402
from hrpipeline.errors import NotFound  # noqa: E402
from hrpipeline.extensions import db  # noqa: E402
from hrpipeline.services.scope import (  # noqa: E402
    ALL,
    may_see_pool,
    resolve_zone,
    visible_zones,
)

bp = Blueprint("retention", __name__)

CHART_NAMES = ("km", "turnover", "exits")
#: Okabe-Ito (Okabe & Ito 2008), the same colours per group as the funnel charts.
GROUP_COLOURS = {"belgian_origin": "#0072B2", "eu_background": "#E69F00",
                 "non_eu_background": "#009E73", "unknown": "#999999", "all": "#000000"}


def _lang() -> str:
    return str(get_locale() or "en")


def _zone_choices() -> list[tuple[str, str]]:
    choices = [(z.code, z.name(_lang())) for z in visible_zones(current_user)]
    if may_see_pool(current_user):
        choices.append((ALL, _("All zones (pooled)")))
    return choices


def _report():
    from hrpipeline.services.retention import retention_report

    choices = _zone_choices()
    zone = request.args.get("zone") or (choices[0][0] if choices else None)
    if zone is None:
        raise NotFound(_("You have no zone to look at."))
    return retention_report(current_user, zone, lang=_lang()), choices


@bp.get("/retention")
@requires("reports")
def page():
    report, choices = _report()
    return render_template("retention/page.html", report=report, choices=choices,
                           exit_types=EXIT_TYPES, charts=CHART_NAMES)


def retention_sheets(report) -> list:
    """The tables of the retention page as downloads (``web.export``: ``;`` and decimal comma
    in NL/FR, the page's headers and labels, XLSX with number formats)."""
    from hrpipeline.web.export import Column, Sheet

    group = Column("group", _("Group"), "label")
    rounded = _("Counts are rounded to a multiple of %(k)s; rates are computed from the rounded "
                "counts.", k=report.k)
    turnover = [{**r, "period": period_label(r["period"]),
                 "group": _label(r["group"])} for r in report.turnover]
    return [
        Sheet(_("Turnover by year and group"), [
            Column("period", _("Period"), "text"), Column("group", _("Group"), "text"),
            Column("average_headcount", _("Average headcount"), "average"),
            Column("hires", _("Hires"), "count"), Column("leavers", _("Leavers"), "count"),
            *(Column(f"leavers_{t}", _label(t), "count") for t in EXIT_TYPES),
            Column("turnover", _("Turnover"), "rate"),
            Column("turnover_lower", _("Turnover: %(level)s interval from", level="95%"), "rate"),
            Column("turnover_upper", _("Turnover: %(level)s interval to", level="95%"), "rate"),
            Column("rate_ratio", _("Exit rate compared with Belgian origin"), "ratio"),
        ], turnover, [rounded]),
        Sheet(_("Representation in the corps"), [
            Column("date", _("Date"), "text"), Column("rank", _("Rank"), "label"), group,
            Column("count", _("Officers"), "count"), Column("unknown", _("Unknown background"),
                                                            "count"),
            Column("share", _("Share of known background"), "rate"),
            Column("benchmark_share", _("Benchmark"), "rate"),
            Column("gap_points", _("Gap (points)"), "points"),
            Column("p_adjusted", _("Adjusted p"), "p"),
        ], [*report.representation, *report.representation_by_rank],
            [report.benchmark_label or "", rounded]),
        Sheet(_("Time in service (life table)"), [
            group, Column("month", _("Months"), "count"),
            Column("survival", _("Still in service"), "rate"),
            Column("lower", _("%(level)s interval from", level="95%"), "rate"),
            Column("upper", _("%(level)s interval to", level="95%"), "rate"),
            Column("at_risk", _("At risk"), "count"), Column("exits", _("Leavers"), "count"),
        ], report.km, [rounded]),
        Sheet(_("First-year attrition per hire cohort"), [
            Column("cohort", _("Hired in"), "text"), group,
            Column("hires", _("Hires"), "count"),
            Column("exits_12m", _("Left within 12 months"), "count"),
            Column("attrition", _("First-year attrition"), "rate"),
            Column("lower", _("%(level)s interval from", level="95%"), "rate"),
            Column("upper", _("%(level)s interval to", level="95%"), "rate"),
        ], [{**r, "cohort": str(r["cohort"])} for r in report.first_year], [rounded]),
        Sheet(_("Exit reasons"), [
            group, Column("reason", _("Reason"), "label"), Column("count", _("Leavers"), "count"),
            Column("share", _("Share"), "rate"),
        ], report.reasons, [rounded]),
    ]


@bp.get("/retention.<fmt>")
@requires("reports")
def export_tables(fmt: str):
    """The retention tables for Belgian Excel (CSV with ``;`` and decimal comma in NL/FR, or
    XLSX); the API keeps the machine CSV."""
    from hrpipeline.web import export

    if fmt not in ("csv", "xlsx"):
        raise NotFound(_("No such download."))
    report, _choices = _report()
    zone = resolve_zone(current_user, report.zone)
    audit("export_retention", zone_id=getattr(zone, "id", None), via="web", format=fmt,
          zone=report.zone)
    db.session.commit()
    return export.download(fmt, f"retention_{report.zone}", retention_sheets(report),
                           f"{_('Retention')}: {report.zone_label}")


@bp.get("/retention/charts/<name>.png")
@requires("reports")
def chart(name: str):
    from hrpipeline.web import charts

    if name not in CHART_NAMES:
        raise NotFound(_("No such chart."))
    report, _choices = _report()
    key = ("retention", name, _lang(), report.zone, charts.report_digest(report))
    body = charts.cache().get_or_render(key, lambda: render_chart(name, report))
    # Cache-Control: no-store (hrpipeline.security): the chart shows Art. 9 statistics.
    return Response(body, mimetype="image/png")


# --- charts: drawn from the report's published values only -----------------------------------


_PART_YEAR = re.compile(r"^(\d{4}) \(to (\d{4}-\d{2}-\d{2})\)$")
_WINDOW = re.compile(r"^(\d{4}–\d{4}) \(annual average\)$")


@bp.app_template_filter("period_label")
def period_label(value: str) -> str:
    """The service's period labels (``2026 (to 2026-06-30)``, ``2015–2026 (annual average)``)
    in the interface language; a plain year stays as it is."""
    if match := _PART_YEAR.match(value):
        return _("%(year)s (to %(date)s)", year=match.group(1), date=match.group(2))
    if match := _WINDOW.match(value):
        return _("%(years)s (annual average)", years=match.group(1))
    return value


def _label(value: str) -> str:
    from hrpipeline.i18n import label

    return _("All groups") if value == "all" else label(value)


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=(9.6, 5.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _suppressed_bar(ax, x: float, width: float, top: float) -> None:
    """A value not shown: the one short neutral marker of every chart (``charts.style``)."""
    style.hidden_marker(ax, x, width, top, gid="hidden")


def _legend(ax, groups: list[str], extra: list[Any] | None = None) -> None:
    handles = [Patch(facecolor=GROUP_COLOURS.get(g, "#CC79A7"), label=_label(g)) for g in groups]
    handles.append(style.hidden_handle(_("x = not shown (too few people)")))
    handles.extend(extra or [])
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3,
              fontsize=8.5, frameon=False)


def km_chart(report) -> Figure:
    """The published life tables (steps at each year of service) with their 95% intervals;
    withheld groups listed."""
    fig, ax = _figure()
    style.percent_axis(ax, _lang())
    shown = []
    for g in report.groups:
        pts = [r for r in report.km if r["group"] == g]
        if not pts:
            continue
        shown.append(g)
        colour = GROUP_COLOURS.get(g, "#CC79A7")
        t = [p["month"] for p in pts]
        ax.step(t, [p["survival"] for p in pts], where="post", color=colour, linewidth=1.8)
        ax.fill_between(t, [p["lower"] for p in pts], [p["upper"] for p in pts], step="post",
                        color=colour, alpha=0.15, linewidth=0)
    withheld = [s["group"] for s in report.km_summary if not s["published"]]
    if withheld:
        ax.text(0.99, 0.02, _("Not shown (too few officers or exits): %(groups)s",
                              groups=", ".join(_label(g) for g in withheld)),
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#222222")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(_("Months since hire"))
    ax.set_ylabel(_("Still in service (life table)"))
    ax.set_title(_("Time in service by group, with %(level)s bands", level="95%"), fontsize=11)
    handles = [Line2D([], [], color=GROUP_COLOURS.get(g, "#CC79A7"), label=_label(g))
               for g in shown]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4,
              fontsize=8.5, frameon=False)
    return fig


def _grouped(ax, categories: list[str], groups: list[str], value) -> None:
    values = [value(c, g) for c in categories for g in groups]
    numbers = [float(v) for v in values if v is not None and not is_suppressed(v)]
    top = max(numbers, default=0.0) * 1.1 or 0.1
    width = 0.8 / max(1, len(groups))
    for gi, g in enumerate(groups):
        for ci, c in enumerate(categories):
            x = ci - 0.4 + width * (gi + 0.5)
            v = value(c, g)
            if v is None:
                continue
            if is_suppressed(v):
                _suppressed_bar(ax, x, width * 0.92, top)
                continue
            ax.bar(x, float(v), width=width * 0.92, color=GROUP_COLOURS.get(g, "#CC79A7"),
                   edgecolor="white", linewidth=0.5)
    ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.set_ylim(0, top)


def turnover_chart(report) -> Figure:
    """Annualised turnover per period and group; hidden rates drawn as "suppressed" strips."""
    fig, ax = _figure()
    style.percent_axis(ax, _lang())
    index = {(r["period"], r["group"]): r for r in report.turnover}
    _grouped(ax, report.periods, report.groups,
             lambda p, g: index.get((p, g), {}).get("turnover"))
    ax.set_xticks(range(len(report.periods)), [p.split(" ")[0] for p in report.periods],
                  fontsize=8)
    ax.set_ylabel(_("Turnover (annualised)"))
    ax.set_title(_("Turnover per year, by group"), fontsize=11)
    _legend(ax, report.groups)
    return fig


def window_exits(report) -> dict[tuple[str, str], Any]:
    """(exit type, group) -> leavers over the whole window, as the report publishes them.

    Read from each group's window row (the "annual average" row: leavers since the window
    start), never added up from the yearly rows: the view only formats published cells (adding
    the yearly rows counted the window row twice, and hid a published total whenever one year
    was hidden).
    """
    periods = set(report.periods)
    window = {r["group"]: r for r in report.turnover if r["period"] not in periods}
    return {(t, g): window[g].get(f"leavers_{t}") if g in window else None
            for t in EXIT_TYPES for g in report.groups}


def exits_chart(report) -> Figure:
    """Leavers over the whole window by exit type and group (the window row's cells)."""
    fig, ax = _figure()
    totals = window_exits(report)
    _grouped(ax, list(EXIT_TYPES), report.groups, lambda t, g: totals[(t, g)])
    style.category_axis(ax, [_label(t) for t in EXIT_TYPES], width=16, fontsize=8.5)
    ax.set_ylabel(_("Leavers since %(date)s", date=report.window_start))
    ax.set_title(_("Exits by type and group"), fontsize=11)
    _legend(ax, report.groups)
    return fig


CHARTS = {"km": km_chart, "turnover": turnover_chart, "exits": exits_chart}


def render_chart(name: str, report) -> bytes:
    fig = CHARTS[name](report)
    buffer = io.BytesIO()
    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
