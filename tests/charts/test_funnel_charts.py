"""Funnel charts draw exactly the report's published cells: every bar's height is the
published value of its stage and group, every hidden value is the short neutral stub with an
``x`` (never a bar that could be read as a number, never 0), and labels wrap between words."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from hrpipeline.charts import style
from hrpipeline.charts.funnel import CHARTS, funnel_chart, pass_rate_chart
from hrpipeline.disclosure import SUPPRESSED, is_suppressed


def _report(rows, stages=("application",), groups=("belgian_origin", "eu_background")):
    from hrpipeline.services.funnel import FunnelReport

    return FunnelReport(
        key="T/year:2024", zone="T", period="year:2024", zone_label="T", period_label="2024",
        reference="belgian_origin", view="decision", test="fisher", k=5, min_denominator=20,
        stages=list(stages), groups=list(groups), rows=rows, comparisons=[], pooled=[],
        unknown=[], quality={}, excluded_groups=[])


def test_a_hidden_value_is_a_short_neutral_stub_not_a_bar(app):
    rows = [
        {"stage": "application", "group": "belgian_origin", "cumulative": 1.0,
         "pass_rate": 0.9, "pass_rate_low": 0.85, "pass_rate_high": 0.94},
        {"stage": "application", "group": "eu_background", "cumulative": SUPPRESSED,
         "pass_rate": SUPPRESSED, "pass_rate_low": SUPPRESSED, "pass_rate_high": SUPPRESSED},
    ]
    with app.test_request_context(), force_locale("en"):
        fig = pass_rate_chart(_report(rows), "en")
    drawn = style.drawn(fig)
    assert drawn["pass_rate|application|belgian_origin"] == pytest.approx(0.9)
    # The stub is 3% of the axis: it cannot dominate the chart, and it is not at 0.
    assert drawn["hidden|application|eu_background"] == pytest.approx(style.HIDDEN_HEIGHT)
    ax = fig.axes[0]
    assert not any(p.get_hatch() for p in ax.patches)
    assert [t.get_text() for t in ax.texts].count("x") == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "x = hidden to protect privacy" in legend


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_drawn_values_equal_the_reports_published_cells(app, make_user, funnel_data, lang):
    from hrpipeline.services.funnel import funnel_report

    user = make_user("diversity_officer", ["ANT"])
    report = funnel_report(user, "ANT", "campaign:2024-1", lang=lang)
    hidden = shown = 0
    for name, field in (("funnel", "cumulative"), ("pass_rate", "pass_rate")):
        with app.test_request_context(), force_locale(lang):
            drawn = style.drawn(CHARTS[name](report, lang))
        for row in report.rows:
            value = row[field]
            if value is None:
                assert not any(k.endswith(f"|{row['stage']}|{row['group']}") for k in drawn)
            elif is_suppressed(value):
                assert f"{field}|{row['stage']}|{row['group']}" not in drawn
                assert drawn[f"hidden|{row['stage']}|{row['group']}"] == pytest.approx(
                    style.HIDDEN_HEIGHT)
                hidden += 1
            else:
                assert drawn[f"{field}|{row['stage']}|{row['group']}"] == pytest.approx(value)
                shown += 1
        assert len(drawn) == sum(1 for r in report.rows if r[field] is not None)
    assert shown and hidden  # the test data have both


def test_axes_are_percentages_in_the_page_locale(app):
    rows = [{"stage": "application", "group": "belgian_origin", "cumulative": 0.5}]
    with app.test_request_context(), force_locale("fr"):
        fig = funnel_chart(_report(rows, groups=("belgian_origin",)), "fr")
        fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "40\u00a0%" in ticks and not any("0." in t for t in ticks)


def test_labels_wrap_between_words_never_inside_one():
    assert style.wrap("Politieschool", 12) == "Politieschool"
    assert style.wrap("Épreuve de personnalité", 14) == "Épreuve de\npersonnalité"
    assert all(len(w) > 1 for w in style.wrap("Commission de sélection", 10).split("\n"))


def test_one_palette_without_two_blues():
    """Okabe-Ito: the groups and the pilot arms use distinct hues (issue 17 item 7: two
    near-identical blues in one legend)."""
    def hue(colour):
        import colorsys

        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        return colorsys.rgb_to_hsv(r, g, b)

    coloured = [c for c in style.GROUP_COLOURS.values() if hue(c)[1] > 0.2]
    hues = sorted(hue(c)[0] for c in coloured)
    assert all(b - a > 0.05 for a, b in zip(hues, hues[1:], strict=False))
    assert len(set(style.ARM_COLOURS.values())) == 2
