"""The briefing's representation chart: share at application, appointment, in the corps and
in the population, per group (values are percentages, 0–100, already through the gate)."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hrpipeline.charts import style
from hrpipeline.disclosure.values import is_suppressed

#: Columns of ``RepresentationRow`` and their colours (one hue each, hatching as well so
#: colour is not the only carrier).
SERIES = (("application", "#0072B2", ""), ("appointment", "#E69F00", "//"),
          ("population", "#009E73", ".."))


def representation_figure(rows: list[Any], texts: dict[str, str], lang: str) -> Figure:
    """Grouped bars per group (gid ``<column>|<group label>``); a hidden share is the short
    neutral stub with ``x`` (gid ``hidden|<column>|<group label>``)."""
    fig, ax = style.figure(7.0, 3.4, dpi=150)
    width = 0.26
    for i, (attr, fill, hatch) in enumerate(SERIES):
        for j, row in enumerate(rows):
            value = getattr(row, attr)
            x = j + (i - 1) * width
            if is_suppressed(value):
                style.hidden_marker(ax, x, width * 0.9, 100, f"hidden|{attr}|{row.group_label}")
            elif value is not None:
                bars = ax.bar(x, float(value), width * 0.95, color=fill, hatch=hatch,
                              edgecolor="white")
                bars.patches[0].set_gid(f"{attr}|{row.group_label}")
    handles = [Patch(facecolor=fill, hatch=hatch, edgecolor="white", label=texts[attr])
               for attr, fill, hatch in SERIES]
    if any(is_suppressed(getattr(r, a)) for r in rows for a, _f, _h in SERIES):
        handles.append(style.hidden_handle(texts["legend"]))
    ax.set_ylim(0, 100)
    style.percent_axis(ax, lang, scale=100)
    ax.set_xticks(range(len(rows)), [style.wrap(r.group_label, 16) for r in rows], fontsize=8)
    ax.set_title(texts["representation"], fontsize=10)
    ax.tick_params(labelsize=8)
    ax.legend(handles=handles, fontsize=8, frameon=False)
    return fig


def representation_chart(rows: list[Any], texts: dict[str, str], lang: str) -> bytes:
    return style.render(representation_figure(rows, texts, lang), "png")
