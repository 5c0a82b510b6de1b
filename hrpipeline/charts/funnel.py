"""Funnel charts drawn from a report's published series (``report.rows`` and
``report.representation``; a hidden value is ``SUPPRESSED``). Texts come from the
interface-language catalogue (flask_babel), numbers from :mod:`hrpipeline.formatting`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from hrpipeline.charts import style
from hrpipeline.disclosure import is_suppressed
from hrpipeline.i18n import label


def _cell(rows: list[dict[str, Any]], stage: str, group: str) -> dict[str, Any] | None:
    for row in rows:
        if row.get("stage") == stage and row.get("group") == group:
            return row
    return None


def _grouped_bars(ax, stages: list[str], groups: list[str], rows: list[dict[str, Any]],
                  field: str, *, interval: tuple[str, str] | None = None,
                  top: float = 1.0) -> float:
    """Bars per stage × group (gid ``field|stage|group``); a hidden value is a short neutral
    stub with an ``x`` (gid ``hidden|stage|group``). Returns the bar width."""
    n = max(1, len(groups))
    width = 0.8 / n
    for gi, group in enumerate(groups):
        fill = style.colour(group, groups)
        for si, stage in enumerate(stages):
            x = si - 0.4 + width * (gi + 0.5)
            row = _cell(rows, stage, group)
            value = None if row is None else row.get(field)
            if row is None or value is None:
                continue
            if is_suppressed(value):
                style.hidden_marker(ax, x, width * 0.92, top, f"hidden|{stage}|{group}")
                continue
            bars = ax.bar(x, float(value), width=width * 0.92, color=fill, edgecolor="white",
                          linewidth=0.5)
            bars.patches[0].set_gid(f"{field}|{stage}|{group}")
            if interval is not None:
                low, high = row.get(interval[0]), row.get(interval[1])
                if not (low is None or high is None or is_suppressed(low) or is_suppressed(high)):
                    ax.errorbar(x, float(value), yerr=[[float(value) - float(low)],
                                                      [float(high) - float(value)]],
                                fmt="none", ecolor=style.INK, elinewidth=1, capsize=2.5)
    style.category_axis(ax, [label(s) for s in stages], width=14, fontsize=9, room=150)
    ax.set_xlim(-0.6, len(stages) - 0.4)
    ax.set_ylim(0, top)
    return width


def _legend(ax, groups: list[str], extra: list[Any] | None = None) -> None:
    handles = [Patch(facecolor=style.colour(g, groups), label=label(g)) for g in groups]
    handles.append(style.hidden_handle(_("x = hidden to protect privacy")))
    handles.extend(extra or [])
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
              fontsize=8.5, frameon=False)


def funnel_chart(report, lang: str) -> Figure:
    """Cumulative conversion (share of applicants still in the funnel) per stage and group."""
    stages, groups = list(report.stages), list(report.groups)
    fig, ax = style.figure()
    style.percent_axis(ax, lang)
    _grouped_bars(ax, stages, groups, report.rows, "cumulative")
    ax.set_title(_("Share of applicants who passed each stage, by group"), fontsize=11)
    ax.set_ylabel(_("Cumulative conversion"))
    _legend(ax, groups)
    return fig


def pass_rate_chart(report, lang: str) -> Figure:
    """Stage pass rate per group with 95% Wilson intervals and the four-fifths line."""
    stages, groups = list(report.stages), list(report.groups)
    fig, ax = style.figure()
    style.percent_axis(ax, lang)
    _grouped_bars(ax, stages, groups, report.rows, "pass_rate",
                  interval=("pass_rate_low", "pass_rate_high"))
    for si, stage in enumerate(stages):
        ref = _cell(report.rows, stage, report.reference)
        rate = None if ref is None else ref.get("pass_rate")
        if rate is None or is_suppressed(rate):
            continue
        ax.hlines(0.8 * float(rate), si - 0.42, si + 0.42, colors="#000000",
                  linestyles="dashed", linewidth=1.2)
    ax.set_title(_("Pass rate per stage, by group (%(level)s interval)", level="95%"),
                 fontsize=11)
    ax.set_ylabel(_("Pass rate"))
    line = Line2D([], [], color="#000000", linestyle="dashed",
                  label=_("0.8 × reference group's rate (four-fifths rule)"))
    _legend(ax, groups, [line])
    return fig


def representation_chart(report, lang: str) -> Figure:
    """Share of each group per stage, with the group's population benchmark as a line."""
    rows = list(report.representation)
    stages = [s for s in report.stages if any(r.get("stage") == s for r in rows)]
    groups = [g for g in report.groups if any(r.get("group") == g for r in rows)]
    fig, ax = style.figure()
    style.percent_axis(ax, lang)
    _grouped_bars(ax, stages, groups, rows, "share")
    for group in groups:
        bench = next((r.get("benchmark_share") for r in rows if r.get("group") == group
                      and r.get("benchmark_share") is not None
                      and not is_suppressed(r.get("benchmark_share"))), None)
        if bench is not None:
            ax.axhline(float(bench), color=style.colour(group, groups), linestyle="dotted",
                       linewidth=1.6, gid=f"benchmark|{group}")
    ax.set_title(_("Share of each group per stage vs the population benchmark"), fontsize=11)
    ax.set_ylabel(_("Share"))
    line = Line2D([], [], color="#444444", linestyle="dotted",
                  label=_("population benchmark (dotted, group colour)"))
    _legend(ax, groups, [line])
    return fig


CHARTS: dict[str, Callable[[Any, str], Figure]] = {
    "funnel": funnel_chart,
    "pass_rate": pass_rate_chart,
    "representation": representation_chart,
}
