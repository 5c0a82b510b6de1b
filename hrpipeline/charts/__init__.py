"""Every chart of the service, drawn one way (matplotlib, Agg; no pyplot state).

* :mod:`hrpipeline.charts.style` — one palette (Okabe & Ito 2008, "Color Universal Design":
  one distinct hue per background group and per pilot arm, never two blues in one legend), one
  way to draw a hidden value (a short neutral stub with an ``x`` above it, never a bar of any
  height that could be read as a number), percentage axes written like the pages
  (``40%`` / ``40 %``), category labels wrapped between words, never inside one.
* :mod:`hrpipeline.charts.funnel` — the funnel, pass-rate and representation charts.
* :mod:`hrpipeline.charts.pilot` — the pilot's gap over time.
* :mod:`hrpipeline.charts.briefing` — the briefing's representation chart.

Charts draw published values only (a report's rows, ``SUPPRESSED`` where hidden); they compute
nothing. Each drawn bar carries a ``gid`` ``"<series>|<category>|<group>"`` (hidden stubs
``"hidden|<category>|<group>"``), so tests can check that what is drawn equals the report's
published cells.
"""

from hrpipeline.charts.style import render

__all__ = ["render"]
