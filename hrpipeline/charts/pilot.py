"""The pilot's gap over time: pilot zones against comparison zones, with the start marked.

Moved here from the analysis layer (which computes, never draws). ``frame`` has ``period``,
``arm`` and ``gap`` (proportion scale), as from ``analysis.pilot.gap_series`` after the
suppression gate. A hidden gap is ``SUPPRESSED`` (or NaN with a true ``gap_suppressed``
column): the line breaks there and a short neutral marker with ``x`` stands on the zero line,
never a point at 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hrpipeline.analysis.pilot import ARMS, COMPARISON, PILOT
from hrpipeline.charts import style
from hrpipeline.disclosure.values import is_suppressed

START_COLOUR = "#555555"
DEFAULT_LABELS: dict[str, str] = {
    "title": "Pass-rate gap (focal minus reference group)",
    "ylabel": "Gap in percentage points",
    "xlabel": "Period",
    "pilot": "Pilot zones",
    "comparison": "Comparison zones",
    "start": "Pilot start",
    "suppressed": "x = hidden to protect privacy",
}


def gap_figure(frame: pd.DataFrame, start_period: Any, labels: Mapping[str, str] | None = None,
               order: Sequence[Any] | None = None, lang: str = "en") -> Figure:
    """The gap chart. Each drawn point carries the gid ``gap|<period>|<arm>`` (its value in
    percentage points) and each hidden one ``hidden|<period>|<arm>``."""
    text = {**DEFAULT_LABELS, **(labels or {})}
    present = list(frame["period"].unique())
    if order is not None:
        listed = list(dict.fromkeys(p for p in order if p in set(present)))
        periods = listed + sorted((p for p in present if p not in set(listed)),
                                  key=lambda p: (str(type(p)), p))
    else:
        periods = sorted(present, key=lambda p: (str(type(p)), p))
    pos = {p: i for i, p in enumerate(periods)}

    fig, ax = style.figure(10.5, 5.4)
    ax.axhline(0, color="#BBBBBB", linewidth=0.8)
    styles = {
        PILOT: {"color": style.ARM_COLOURS["pilot"], "linestyle": "-", "marker": "o"},
        COMPARISON: {"color": style.ARM_COLOURS["comparison"], "linestyle": "--",
                     "marker": "s"},
    }
    hidden_points: list[tuple[int, str, Any]] = []
    for arm in ARMS:
        sub = frame[frame["arm"] == arm]
        if sub.empty:
            continue
        xs, ys = [], []
        for _, row in sub.iterrows():
            value = row["gap"]
            hidden = bool(row.get("gap_suppressed", False)) or is_suppressed(value)
            x = pos[row["period"]]
            xs.append(x)
            if hidden:
                ys.append(np.nan)  # break the line; never plot a hidden value as a number
                hidden_points.append((x, arm, row["period"]))
            else:
                ys.append(float(value) * 100 if value is not None else np.nan)
        ordering = np.argsort(xs)
        line, = ax.plot(np.array(xs)[ordering], np.array(ys)[ordering], label=text[arm],
                        linewidth=2, markersize=6, **styles[arm])
        line.set_gid(f"line|{arm}")
    if start_period in pos:
        ax.axvline(pos[start_period] - 0.5, color=START_COLOUR, linestyle=":", linewidth=1.5)
        ax.annotate(text["start"], xy=(pos[start_period] - 0.5, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(4, -12),
                    textcoords="offset points", fontsize=9, color=START_COLOUR)
    for x, arm, period in hidden_points:
        offset = -0.1 if arm == PILOT else 0.1
        marker, = ax.plot([x + offset], [0], linestyle="none", marker="s", markersize=7,
                          markerfacecolor=style.HIDDEN_FACE, markeredgecolor=style.HIDDEN_EDGE)
        marker.set_gid(f"hidden|{period}|{arm}")
        ax.annotate(style.SYMBOL, xy=(x + offset, 0), xytext=(0, 6),
                    textcoords="offset points", ha="center", fontsize=9, fontweight="bold",
                    color=style.INK)
    ax.set_xticks(range(len(periods)), [style.wrap(str(p), 16) for p in periods])
    ax.set_xlim(-0.5, len(periods) - 0.5)
    style.points_axis(ax, lang)
    ax.set_title(text["title"], fontsize=11)
    ax.set_ylabel(text["ylabel"], fontsize=10)
    ax.set_xlabel(text["xlabel"], fontsize=10)
    ax.tick_params(labelsize=9)
    handles = [Line2D([], [], label=text[arm], linewidth=2, **styles[arm]) for arm in ARMS]
    if hidden_points:
        handles.append(Line2D([], [], linestyle="none", marker="s", markersize=7,
                              markerfacecolor=style.HIDDEN_FACE,
                              markeredgecolor=style.HIDDEN_EDGE, label=text["suppressed"]))
    ax.legend(handles=handles, fontsize=9, frameon=False, loc="best")
    return fig


def gap_chart(frame: pd.DataFrame, start_period: Any, labels: Mapping[str, str] | None = None,
              order: Sequence[Any] | None = None, lang: str = "en") -> bytes:
    """PNG of :func:`gap_figure`."""
    return style.render(gap_figure(frame, start_period, labels, order, lang), "png")


def drawn_points(fig: Figure) -> dict[str, float]:
    """The drawn gaps by ``gap|<period>|<arm>`` (percentage points), for tests."""
    out: dict[str, float] = {}
    ax = fig.axes[0]
    for line in ax.get_lines():
        gid = line.get_gid() or ""
        if gid.startswith("line|"):
            arm = gid.split("|", 1)[1]
            labels = [t.get_text() for t in ax.get_xticklabels()]
            for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
                if not np.isnan(y):
                    out[f"gap|{labels[int(x)].replace(chr(10), ' ')}|{arm}"] = float(y)
        elif gid.startswith("hidden|"):
            out[gid] = float("nan")
    return out
