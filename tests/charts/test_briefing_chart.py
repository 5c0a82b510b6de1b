"""The briefing's representation chart draws the briefing's own (gated) shares."""

from __future__ import annotations

import pytest

from hrpipeline.charts import style
from hrpipeline.charts.briefing import representation_figure
from hrpipeline.disclosure import SUPPRESSED
from hrpipeline.reporting import briefing as B


def test_bars_are_the_briefing_shares_and_hidden_ones_are_stubs():
    rows = [B.RepresentationRow("Belgische herkomst", 61.2, 70.1, 78.0, 65.3),
            B.RepresentationRow("Niet-EU-herkomst", 26.0, SUPPRESSED, 12.4, 21.5)]
    fig = representation_figure(rows, B.TEXTS["nl"], "nl")
    drawn = style.drawn(fig)
    assert drawn["application|Belgische herkomst"] == pytest.approx(61.2)
    assert drawn["population|Niet-EU-herkomst"] == pytest.approx(21.5)
    assert "appointment|Niet-EU-herkomst" not in drawn
    assert drawn["hidden|appointment|Niet-EU-herkomst"] == pytest.approx(
        100 * style.HIDDEN_HEIGHT)
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "40%" in ticks  # a percentage axis, written like the pages
