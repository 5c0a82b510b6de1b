"""Reporting: documents for leadership (briefing content model and its PDF/HTML renderers).

The renderers never compute or suppress anything: they print numbers that have already passed
the suppression gate, showing every hidden value as the one symbol ``x`` with a legend.
"""

from hrpipeline.reporting.briefing import (
    AttritionRow,
    Briefing,
    Flag,
    HeadlineFigure,
    PilotSummary,
    RepresentationRow,
    render_html,
    render_pdf,
)

__all__ = [
    "AttritionRow",
    "Briefing",
    "Flag",
    "HeadlineFigure",
    "PilotSummary",
    "RepresentationRow",
    "render_html",
    "render_pdf",
]
