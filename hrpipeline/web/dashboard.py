"""Funnel dashboard, representation, data quality, CSV download and charts.

All five read ONE report object (``hrpipeline.services.funnel.funnel_report``), so a page, its
CSV and its charts always show the same, suppressed numbers. The selection is a catalogue
entry (``catalogue(current_user)``), never a free filter: differencing two overlapping
tables is how hidden cells leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from hrpipeline.access import requires
from hrpipeline.audit import audit
from hrpipeline.domain import DEFAULT_REFERENCE_GROUP, KNOWN_BACKGROUNDS
from hrpipeline.errors import DomainError, NotFound
from hrpipeline.extensions import db
from hrpipeline.i18n import label
from hrpipeline.services.funnel_data import CatalogueEntry, catalogue
from hrpipeline.services.scope import ALL, resolve_zone
from hrpipeline.web import export
from hrpipeline.web.blueprint import bp
from hrpipeline.web.export import Column, Sheet
from hrpipeline.web.messages import (
    TEST_LABELS,
    TIER_LABELS,
    VIEW_LABELS,
    advice_text,
    tier_reason,
)

VIEWS = tuple(VIEW_LABELS)


class BadSelection(DomainError):
    status, code, title = 400, "bad_selection", "Unknown choice"


@dataclass
class Selection:
    entries: list[CatalogueEntry]
    entry: CatalogueEntry | None
    reference: str
    view: str

    def args(self, **override: str) -> dict[str, str]:
        """Query-string arguments that reproduce this selection (for links and charts)."""
        assert self.entry is not None
        args = {"zone": self.entry.zone, "period": self.entry.period,
                "reference": self.reference, "view": self.view}
        args.update(override)
        return args


@bp.app_template_global("period_label")
def period_label(period: str) -> str:
    kind, _sep, value = period.partition(":")
    if kind == "campaign":
        return _("Campaign %(name)s", name=value)
    if kind == "year":
        return _("Year %(year)s (all campaigns)", year=value)
    return period


def entry_label(entry: CatalogueEntry, zone_names: dict[str, str]) -> str:
    zone = _("All zones (pooled)") if entry.zone == ALL else zone_names.get(entry.zone, entry.zone)
    return f"{zone} · {period_label(entry.period)}"


def _selection() -> Selection:
    entries = catalogue(current_user)
    reference = request.args.get("reference", DEFAULT_REFERENCE_GROUP)
    view = request.args.get("view", VIEWS[0])
    if reference not in KNOWN_BACKGROUNDS:
        raise BadSelection(_("Unknown reference group."))
    if view not in VIEWS:
        raise BadSelection(_("Unknown view."))
    zone, period = request.args.get("zone"), request.args.get("period")
    if request.args.get("table"):
        # An older combined value (bookmarked links) still works.
        zone, _sep, period = request.args["table"].partition("|")
    if zone is None and period is None:
        return Selection(entries, _default(entries) if entries else None, reference, view)
    mine = [e for e in entries if e.zone == zone]
    if mine and not period:
        # A new zone was chosen: open its most informative table (the latest year).
        return Selection(entries, _default(mine), reference, view)
    for entry in mine:
        if entry.period == period:
            return Selection(entries, entry, reference, view)
    # Same answer for "does not exist" and "not yours": probing reveals nothing.
    raise NotFound(_("This table is not among the tables you can open."))


def _default(entries: list[CatalogueEntry]) -> CatalogueEntry:
    """The latest year table (more people than any one campaign), else the first entry."""
    years = [e for e in entries if e.period.startswith("year:")]
    return max(years, key=lambda e: (e.year, e.zone != ALL)) if years else entries[0]


def _report(selection: Selection):
    from hrpipeline.services.funnel import funnel_report

    assert selection.entry is not None
    return funnel_report(current_user, selection.entry.zone, selection.entry.period,
                         reference=selection.reference, view=selection.view,
                         lang=str(get_locale()))


def _render(template: str, **context: Any):
    selection = _selection()
    zone_names = {z.code: z.name(str(get_locale())) for z in current_user_zones()}
    # Two short lists instead of one option per zone and campaign (a zone with hundreds of
    # campaigns made every page heavy for all-zone users): the zones, then the chosen zone's
    # tables.
    zones: dict[str, str] = {}
    for e in selection.entries:
        zones.setdefault(e.zone, _("All zones (pooled)") if e.zone == ALL
                         else zone_names.get(e.zone, e.zone))
    current = selection.entry.zone if selection.entry is not None else None
    choices = [(e.period, period_label(e.period)) for e in selection.entries
               if e.zone == current]
    report = _report(selection) if selection.entry is not None else None
    return render_template(template, report=report, selection=selection, choices=choices,
                           zone_choices=list(zones.items()),
                           view_labels=VIEW_LABELS, backgrounds=KNOWN_BACKGROUNDS, **context)


def current_user_zones():
    from hrpipeline.services.scope import visible_zones

    return visible_zones(current_user)


@bp.get("/funnel")
@requires("reports")
def funnel():
    return _render("funnel/dashboard.html")


@bp.get("/representation")
@requires("reports")
def representation():
    return _render("funnel/representation.html")


@bp.get("/data-quality")
@requires("reports")
def data_quality():
    return _render("funnel/quality.html")


def funnel_sheets(report) -> list[Sheet]:
    """The tables of the funnel, representation and data-quality pages, as downloads."""
    view = str(VIEW_LABELS.get(report.view, report.view))
    stage, group = Column("stage", _("Stage"), "label"), Column("group", _("Group"), "label")
    sheets = [
        Sheet(_("Stages by group"), [
            stage, group, Column("entered", _("Entered"), "count"),
            Column("passed", _("Passed"), "count"), Column("failed", _("Failed"), "count"),
            Column("withdrew", _("Withdrew"), "count"), Column("pending", _("Pending"), "count"),
            Column("pass_rate", _("Pass rate"), "rate"),
            Column("pass_rate_low", _("Pass rate: %(level)s interval from", level="95%"), "rate"),
            Column("pass_rate_high", _("Pass rate: %(level)s interval to", level="95%"), "rate"),
            Column("retention_rate", _("Still in selection"), "rate"),
            Column("cumulative", _("Cumulative"), "rate"), Column("share", _("Share"), "rate"),
        ], report.rows, [view, _("Counts are rounded to a multiple of %(k)s; rates are computed "
                                 "from the rounded counts.", k=report.k)]),
        Sheet(_("Adverse impact"), [
            stage, group, Column("tier", _("Tier"), "text"),
            Column("focal_rate", _("Pass rate of the group"), "rate"),
            Column("reference_rate", _("Pass rate of the reference group"), "rate"),
            Column("impact_ratio", _("Impact ratio"), "ratio"),
            Column("ratio_low", _("Impact ratio: %(level)s interval from", level="95%"), "ratio"),
            Column("ratio_high", _("Impact ratio: %(level)s interval to", level="95%"), "ratio"),
            Column("difference_points", _("Difference (points)"), "points"),
            Column("p_value", _("p"), "p"), Column("p_adjusted", _("Adjusted p"), "p"),
            Column("reason", _("Why"), "text"), Column("test", _("Test"), "text"),
        ], [{**c, "tier": tier_label(c.get("tier")), "reason": reason(c),
             "test": test_label(c.get("test"))} for c in report.comparisons],
            [_("Reference group: %(group)s", group=label(report.reference)), view]),
    ]
    if report.pooled:
        sheets.append(Sheet(_("Pooled over campaigns or zones"), [
            stage, group, Column("n_strata", _("Strata"), "count"),
            Column("standardized_ratio", _("Standardised ratio"), "ratio"),
            Column("mh_odds_ratio", _("Odds ratio (MH)"), "ratio"),
            Column("mh_ci_low", _("Odds ratio: %(level)s interval from", level="95%"), "ratio"),
            Column("mh_ci_high", _("Odds ratio: %(level)s interval to", level="95%"), "ratio"),
            Column("p_adjusted", _("Adjusted p"), "p"),
            Column("homogeneous", _("Same direction everywhere?"), "bool"),
        ], report.pooled))
    if report.representation:
        sheets.append(Sheet(_("Representation compared with the population"), [
            stage, group, Column("share", _("Share"), "rate"),
            Column("benchmark_share", _("Population"), "rate"),
            Column("gap_points", _("Gap (points)"), "points"),
            Column("ratio", _("Ratio"), "ratio"),
        ], report.representation, [report.benchmark_label or ""]))
    sheets.append(Sheet(_("Unknown (not disclosed) background per stage"), [
        stage, Column("unknown", _("Unknown background"), "count"),
        Column("share", _("Share of the stage"), "rate"),
    ], report.unknown))
    return sheets


@bp.get("/funnel.<fmt>")
@requires("reports")
def funnel_export(fmt: str):
    if fmt not in export.FORMATS:
        raise NotFound(_("No such format."))
    selection = _selection()
    if selection.entry is None:
        raise NotFound(_("There is no table to download yet."))
    report = _report(selection)
    name = report.key.replace("/", "_").replace(":", "-")
    zone = resolve_zone(current_user, selection.entry.zone)
    audit("export_funnel", zone_id=getattr(zone, "id", None), via="web", format=fmt,
          key=report.key, view=selection.view, reference=selection.reference)
    db.session.commit()
    heading = f"{report.zone_label} · {period_label(report.period)}"
    return export.download(fmt, f"funnel_{name}", funnel_sheets(report), heading)


@bp.get("/charts/<name>.<fmt>")
@requires("reports")
def chart(name: str, fmt: str):
    from hrpipeline.web import charts

    if name not in charts.CHARTS or fmt not in charts.FORMATS:
        raise NotFound(_("No such chart."))
    selection = _selection()
    if selection.entry is None:
        raise NotFound(_("There is no table to draw yet."))
    report = _report(selection)
    body = charts.render_cached(name, fmt, report, str(get_locale()))
    # Cache-Control: no-store (hrpipeline.security): the chart shows Art. 9 statistics.
    return Response(body, mimetype=charts.FORMATS[fmt])


# --- template helpers for the report pages ---------------------------------------------------


@bp.app_template_global("representation_verdict")
def representation_verdict(verdict: str | None) -> str:
    """What the test says about a share against the pool (docs/benchmarks.md)."""
    texts = {
        "below": _("below its share"),
        "above": _("above its share"),
        "consistent": _("consistent with its share"),
        "not_tested": _("not tested"),
    }
    return str(texts.get(verdict or "not_tested", verdict or ""))


@bp.app_template_global("tier_label")
def tier_label(tier: str | None) -> str:
    text = TIER_LABELS.get((tier or "").lower())
    return str(text) if text is not None else (tier or "")


@bp.app_template_global("test_label")
def test_label(test: str | None) -> str:
    text = TEST_LABELS.get(test or "")
    return str(text) if text is not None else (test or "–")


@bp.app_template_global("reason")
def reason(comparison: dict[str, Any]) -> str:
    """The comparison's plain-language reason, translated by ``reason_code``."""
    return tier_reason(comparison.get("reason_code"), comparison.get("reason_params"),
                       comparison.get("reason") or "")


@bp.app_template_global("excluded_reason")
def excluded_reason(entry: dict[str, Any]) -> str:
    code = entry.get("reason_code") or entry.get("reason")
    texts = {
        "unknown": _("reported, but not compared: the background is not known"),
        "unknown_not_compared": _("reported, but not compared: the background is not known"),
        "absent": _("nobody in this group in this table"),
        "reference_absent": _("the reference group has nobody in this table: no comparison "
                              "is possible"),
    }
    return texts.get(code or "", entry.get("reason") or code or "")


@bp.app_template_global("advice_text")
def _advice(code: str) -> str:
    return advice_text(code)

