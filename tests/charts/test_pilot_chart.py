"""The pilot's gap chart: the drawn points are the gated series' gaps (in percentage points);
a hidden gap breaks the line and is a neutral marker with ``x`` on the zero line, never 0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrpipeline.analysis import pilot as P
from hrpipeline.charts.pilot import drawn_points, gap_chart, gap_figure
from hrpipeline.disclosure import SUPPRESSED
from tests.analysis.test_pilot import DEF, synthetic_counts


def test_drawn_points_are_the_series_gaps_and_hidden_ones_are_marked():
    series = P.gap_series(synthetic_counts(effect=0.9), DEF)
    frame = series.copy()
    frame["gap"] = frame["gap"].astype(object)
    frame["gap_suppressed"] = False
    hidden_sentinel = (frame["period"] == 2020) & (frame["arm"] == P.PILOT)
    hidden_flag = (frame["period"] == 2023) & (frame["arm"] == P.COMPARISON)
    frame.loc[hidden_sentinel, "gap"] = SUPPRESSED
    frame.loc[hidden_flag, "gap"] = np.nan
    frame.loc[hidden_flag, "gap_suppressed"] = True

    labels = {"suppressed": "x = verborgen", "pilot": "Proefzones"}
    fig = gap_figure(frame, 2022, labels, lang="nl")
    drawn = drawn_points(fig)
    for _, row in frame.iterrows():
        key = f"gap|{row['period']}|{row['arm']}"
        if row["gap"] is SUPPRESSED or row["gap_suppressed"]:
            assert key not in drawn and f"hidden|{row['period']}|{row['arm']}" in drawn
        else:
            assert drawn[key] == pytest.approx(float(row["gap"]) * 100)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert math.isnan(lines["Proefzones"].get_ydata()[1])  # a break in the line, not 0
    assert [t.get_text() for t in ax.texts].count("x") == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "x = verborgen" in legend and "Proefzones" in legend
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert not any("." in t for t in ticks)  # points, with the Dutch decimal sign if any

    png = gap_chart(frame, 2022, labels)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
