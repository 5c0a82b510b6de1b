"""Server-side charts (matplotlib, Agg) drawn from a report's published series only.

Charts never see raw data: they read ``report.rows`` and ``report.representation``, where a
hidden value is ``SUPPRESSED``. A hidden value is drawn as a light hatched strip with the word
"suppressed", never as a bar of height 0 (a reader would take 0 for a true zero).

Colours: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable
with the common colour-vision deficiencies. Rendered images are kept in an LRU cache keyed by
chart, format, language and a digest of the report's published content (so a new upload, which
changes the report, never serves a stale chart).
"""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

from flask import current_app  # noqa: E402
from flask_babel import gettext as _  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from hrpipeline.disclosure import is_suppressed  # noqa: E402
from hrpipeline.i18n import label  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}

#: Okabe-Ito colours per group; unknown gets the palette's neutral.
GROUP_COLOURS = {
    "belgian_origin": "#0072B2",
    "eu_background": "#E69F00",
    "non_eu_background": "#009E73",
    "unknown": "#999999",
}
EXTRA_COLOURS = ("#CC79A7", "#D55E00", "#56B4E9", "#F0E442")
SUPPRESSED_FACE = "#f2f2f2"
SUPPRESSED_EDGE = "#7a7a7a"


def _colour(group: str, groups: list[str]) -> str:
    if group in GROUP_COLOURS:
        return GROUP_COLOURS[group]
    return EXTRA_COLOURS[groups.index(group) % len(EXTRA_COLOURS)]


def _wrap(text: str, width: int = 14) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _cell(rows: list[dict[str, Any]], stage: str, group: str) -> dict[str, Any] | None:
    for row in rows:
        if row.get("stage") == stage and row.get("group") == group:
            return row
    return None


def _figure(n_stages: int) -> tuple[Figure, Any]:
    # Drawn at the size it is shown (960 x 500 px) so labels stay readable, never downscaled.
    fig = Figure(figsize=(9.6, 5.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _grouped_bars(ax, stages: list[str], groups: list[str], rows: list[dict[str, Any]],
                  field: str, *, interval: tuple[str, str] | None = None,
                  top: float = 1.0) -> tuple[float, list[tuple[str, float, float]]]:
    """Bars per stage × group; hidden values become hatched strips labelled "suppressed".

    Returns the bar width and, per drawn bar, (group, x, value) for overlays.
    """
    n = max(1, len(groups))
    width = 0.8 / n
    drawn: list[tuple[str, float, float]] = []
    word = _("suppressed")
    for gi, group in enumerate(groups):
        colour = _colour(group, groups)
        for si, stage in enumerate(stages):
            x = si - 0.4 + width * (gi + 0.5)
            row = _cell(rows, stage, group)
            value = None if row is None else row.get(field)
            if row is None or value is None:
                continue
            if is_suppressed(value):
                ax.bar(x, top, width=width * 0.92, bottom=0, color=SUPPRESSED_FACE,
                       edgecolor=SUPPRESSED_EDGE, hatch="///", linewidth=0.6)
                ax.text(x, top * 0.5, word, rotation=90, ha="center", va="center",
                        fontsize=8, color="#222222",
                        bbox={"facecolor": SUPPRESSED_FACE, "edgecolor": "none", "pad": 1})
                continue
            ax.bar(x, float(value), width=width * 0.92, color=colour, edgecolor="white",
                   linewidth=0.5)
            drawn.append((group, x, float(value)))
            if interval is not None:
                low, high = row.get(interval[0]), row.get(interval[1])
                if not (low is None or high is None or is_suppressed(low) or is_suppressed(high)):
                    ax.errorbar(x, float(value), yerr=[[float(value) - float(low)],
                                                      [float(high) - float(value)]],
                                fmt="none", ecolor="#222222", elinewidth=1, capsize=2.5)
    ax.set_xticks(range(len(stages)), [_wrap(label(s), 12) for s in stages], fontsize=9)
    ax.set_xlim(-0.6, len(stages) - 0.4)
    ax.set_ylim(0, top)
    return width, drawn


def _legend(ax, groups: list[str], extra: list[Any] | None = None) -> None:
    handles = [Patch(facecolor=_colour(g, groups), label=label(g)) for g in groups]
    handles.append(Patch(facecolor=SUPPRESSED_FACE, edgecolor=SUPPRESSED_EDGE, hatch="///",
                         label=_("suppressed (hidden to protect privacy)")))
    handles.extend(extra or [])
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3,
              fontsize=8.5, frameon=False)


def funnel_chart(report) -> Figure:
    """Cumulative conversion (share of applicants still in the funnel) per stage and group."""
    stages, groups = list(report.stages), list(report.groups)
    fig, ax = _figure(len(stages))
    _grouped_bars(ax, stages, groups, report.rows, "cumulative")
    ax.set_title(_("Share of applicants who passed each stage, by group"), fontsize=11)
    ax.set_ylabel(_("Cumulative conversion"))
    _legend(ax, groups)
    return fig


def pass_rate_chart(report) -> Figure:
    """Stage pass rate per group with 95% Wilson intervals and the four-fifths line."""
    stages, groups = list(report.stages), list(report.groups)
    fig, ax = _figure(len(stages))
    width, _drawn = _grouped_bars(ax, stages, groups, report.rows, "pass_rate",
                                  interval=("pass_rate_low", "pass_rate_high"))
    for si, stage in enumerate(stages):
        ref = _cell(report.rows, stage, report.reference)
        rate = None if ref is None else ref.get("pass_rate")
        if rate is None or is_suppressed(rate):
            continue
        ax.hlines(0.8 * float(rate), si - 0.42, si + 0.42, colors="#000000",
                  linestyles="dashed", linewidth=1.2)
    ax.set_title(_("Pass rate per stage, by group (%(level)s interval)", level="95%"), fontsize=11)
    ax.set_ylabel(_("Pass rate"))
    line = matplotlib.lines.Line2D([], [], color="#000000", linestyle="dashed",
                                   label=_("0.8 × reference group's rate (four-fifths rule)"))
    _legend(ax, groups, [line])
    return fig


def representation_chart(report) -> Figure:
    """Share of each group per stage, with the group's population benchmark as a line."""
    rows = list(report.representation)
    stages = [s for s in report.stages if any(r.get("stage") == s for r in rows)]
    groups = [g for g in report.groups if any(r.get("group") == g for r in rows)]
    top = 1.0
    fig, ax = _figure(len(stages))
    _grouped_bars(ax, stages, groups, rows, "share", top=top)
    for group in groups:
        bench = next((r.get("benchmark_share") for r in rows if r.get("group") == group
                      and r.get("benchmark_share") is not None
                      and not is_suppressed(r.get("benchmark_share"))), None)
        if bench is not None:
            ax.axhline(float(bench), color=_colour(group, groups), linestyle="dotted",
                       linewidth=1.6)
    ax.set_title(_("Share of each group per stage vs the population benchmark"), fontsize=11)
    ax.set_ylabel(_("Share"))
    line = matplotlib.lines.Line2D([], [], color="#444444", linestyle="dotted",
                                   label=_("population benchmark (dotted, group colour)"))
    _legend(ax, groups, [line])
    return fig


CHARTS: dict[str, Callable[[Any], Figure]] = {
    "funnel": funnel_chart,
    "pass_rate": pass_rate_chart,
    "representation": representation_chart,
}


def render(name: str, fmt: str, report) -> bytes:
    fig = CHARTS[name](report)
    buffer = io.BytesIO()
    # Fixed metadata so the same report gives byte-identical SVGs (cacheable, diffable).
    metadata = {"Date": None} if fmt == "svg" else {}
    with matplotlib.rc_context({"svg.hashsalt": "hrpipeline", "font.family": "DejaVu Sans"}):
        fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


class ChartCache:
    """A small thread-safe LRU of rendered charts."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_render(self, key: tuple, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        body = make()
        with self._lock:
            self._items[key] = body
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return body


def report_digest(report) -> str:
    """A digest of everything the report publishes: its "data version" for the cache key."""
    payload = json.dumps(report.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cache() -> ChartCache:
    ext = current_app.extensions
    if "hrpipeline_charts" not in ext:
        ext["hrpipeline_charts"] = ChartCache(current_app.config.get("CHART_CACHE_SIZE", 256))
    return ext["hrpipeline_charts"]


def render_cached(name: str, fmt: str, report, language: str) -> bytes:
    key = (name, fmt, language, report.key, report_digest(report))
    return cache().get_or_render(key, lambda: render(name, fmt, report))
