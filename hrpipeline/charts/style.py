"""The charts' shared look: palette, hidden-value marker, axes, label wrapping, rendering."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from hrpipeline import formatting  # noqa: E402

#: Okabe-Ito: one hue per group. Unknown is the palette's neutral grey.
GROUP_COLOURS = {
    "belgian_origin": "#0072B2",  # blue
    "eu_background": "#E69F00",  # orange
    "non_eu_background": "#009E73",  # bluish green
    "unknown": "#999999",  # grey
}
#: Further series (another group, the briefing's columns), never a second blue.
EXTRA_COLOURS = ("#CC79A7", "#D55E00", "#F0E442", "#000000")
#: Pilot arms: the pilot zones vermillion, the comparison zones blue.
ARM_COLOURS = {"pilot": "#D55E00", "comparison": "#0072B2"}
INK = "#222222"
GRID = "#dddddd"
#: A hidden value: a short neutral stub (3% of the axis) with an "x" above it.
HIDDEN_FACE = "#d9d9d9"
HIDDEN_EDGE = "#8c8c8c"
HIDDEN_HEIGHT = 0.03
SYMBOL = "x"


def colour(key: str, keys: list[str]) -> str:
    if key in GROUP_COLOURS:
        return GROUP_COLOURS[key]
    others = [k for k in keys if k not in GROUP_COLOURS]
    return EXTRA_COLOURS[others.index(key) % len(EXTRA_COLOURS)] if key in others else "#CC79A7"


def wrap(text: str, width: int = 14) -> str:
    """Break a category label between words (never "Politieschoo / l")."""
    lines = textwrap.wrap(str(text), width, break_long_words=False, break_on_hyphens=True)
    return "\n".join(lines) or str(text)


def category_axis(ax, labels: list[str], *, width: int = 14, fontsize: float = 9,
                  room: float = 100.0) -> None:
    """Category ticks wrapped between words; when a single word is still too long for its slot
    (Persoonlijkheidsproef, Moraliteitsonderzoek), every label is slanted instead of letting
    neighbours overlap. ``room``: the axis width in characters of this font size."""
    wrapped = [wrap(t, width) for t in labels]
    longest = max((len(line) for t in wrapped for line in t.split("\n")), default=0)
    slot = room / max(1, len(labels))
    ax.set_xticks(range(len(labels)), wrapped, fontsize=fontsize)
    if longest > slot:
        ax.set_xticks(range(len(labels)), [t.replace("\n", " ") for t in wrapped],
                      fontsize=fontsize, rotation=25, ha="right", rotation_mode="anchor")


def figure(width: float = 9.6, height: float = 5.0, dpi: int = 100) -> tuple[Figure, Any]:
    """A figure drawn at the size it is shown (labels stay readable, never downscaled)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def percent_axis(ax, lang: str, *, scale: float = 1.0) -> None:
    """Ticks as percentages written like the pages: 40% (nl, en) or 40 % (fr).

    ``scale``: 1 when the values are proportions (0–1), 100 when they are percentages."""
    ax.yaxis.set_major_formatter(FuncFormatter(
        lambda v, _pos: formatting.rate(v / scale, lang, 0)))


def points_axis(ax, lang: str) -> None:
    """Ticks in percentage points with the locale's decimal sign and a sign: +5, -10."""
    ax.yaxis.set_major_formatter(FuncFormatter(
        lambda v, _pos: formatting.decimal(v, lang, 0, signed=v != 0)))


def hidden_marker(ax, x: float, width: float, top: float, gid: str) -> None:
    """A hidden value: a short neutral stub at the base of the axis and an ``x`` above it."""
    stub = ax.bar(x, top * HIDDEN_HEIGHT, width=width, bottom=0, color=HIDDEN_FACE,
                  edgecolor=HIDDEN_EDGE, linewidth=0.6)
    stub.patches[0].set_gid(gid)
    ax.text(x, top * (HIDDEN_HEIGHT + 0.01), SYMBOL, ha="center", va="bottom", fontsize=9,
            color=INK, fontweight="bold")


def hidden_handle(text: str) -> Patch:
    return Patch(facecolor=HIDDEN_FACE, edgecolor=HIDDEN_EDGE, label=text)


def render(fig: Figure, fmt: str = "png") -> bytes:
    """PNG or SVG bytes; fixed metadata so the same chart gives the same SVG."""
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    with matplotlib.rc_context({"svg.hashsalt": "hrpipeline", "font.family": "DejaVu Sans"}):
        fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def drawn(fig: Figure) -> dict[str, float]:
    """What a chart drew, by ``gid``: bar heights (tests compare them with the report)."""
    out: dict[str, float] = {}
    for ax in fig.axes:
        for patch in ax.patches:
            gid = patch.get_gid()
            if gid:
                out[gid] = float(patch.get_height())
    return out


Drawer = Callable[..., Figure]
