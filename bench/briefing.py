"""Timings of the pilot evaluation, the gap chart and the briefing renderers.

Run: ``.venv/bin/python bench/briefing.py [--repeat 5] [--db sqlite:////tmp/demo.sqlite]``

With ``--db`` (a database loaded by ``flask demo``) it also times a real zone-year briefing
(``services.briefing.build_briefing`` + PDF, as the CLI operator): the first call includes the
year's suppression audit (cold), later calls reuse the cached release (warm).

Workload: seeded synthetic pilot counts (5 zones x 6 periods x 3 groups, 60 decisions per
cell), the full evaluation (before/after + fixed-effects GLM + delta method), the gap chart PNG,
and a typical NL briefing (4 headline figures, 4 representation rows, 3 flags, 2 pilots, one
chart) rendered to PDF and to HTML.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
from datetime import date

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from hrpipeline.analysis import pilot as P  # noqa: E402
from hrpipeline.charts.pilot import gap_chart  # noqa: E402
from hrpipeline.disclosure import SUPPRESSED  # noqa: E402
from hrpipeline.reporting import briefing as B  # noqa: E402
from tests.analysis.test_pilot import DEF, synthetic_counts  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="database URL of a `flask demo` database")
    parser.add_argument("--zone", default="ANT")
    parser.add_argument("--period", default="year:2025")
    args = parser.parse_args()
    counts = synthetic_counts(effect=0.9)

    t_eval, result = timed(lambda: P.evaluate_pilot(counts, DEF), args.repeat)
    series = P.gap_series(counts, DEF)
    t_chart, png = timed(lambda: gap_chart(series, 2022), args.repeat)
    briefing = B.Briefing(
        title="Diversiteit in rekrutering", zone_label="PZ Gent", period_label="2022-2024",
        language="nl", generated_on=date(2025, 3, 14), data_note="synthetische demodata",
        headline=[B.HeadlineFigure("Kandidaturen", 1234), B.HeadlineFigure("Aanstellingen", 87),
                  B.HeadlineFigure("Niet-EU aangesteld", SUPPRESSED, "%"),
                  B.HeadlineFigure("Verloop", 6.4, "%")],
        representation=[B.RepresentationRow(g, 61.2, SUPPRESSED, 78.0, 65.3)
                        for g in ("Belgisch", "EU", "Niet-EU", "Onbekend")],
        attrition=[B.AttritionRow("Belgisch", 5.9, 7.2), B.AttritionRow("Niet-EU", 8.8, 9.1)],
        flagged_stages=[B.Flag("Fysieke proef", "Niet-EU", tier, "reden")
                        for tier in ("red", "amber", "grey")],
        pilots=[B.PilotSummary("Voorbereiding", result.verdict, result.verdict_text, "+12 pp"),
                B.PilotSummary("Mentoring", "too_few", "Te weinig gegevens.", "")],
        retention_findings=["Bevinding."], caveats=["Kanttekening."], charts=[png],
    )
    t_pdf, pdf = timed(lambda: B.render_pdf(briefing), args.repeat)
    t_html, html = timed(lambda: B.render_html(briefing), args.repeat)
    print(f"evaluate_pilot (FE GLM, {result.did.n_rows} rows): {t_eval * 1000:8.1f} ms")
    print(f"gap_chart PNG ({len(png) / 1024:.0f} KiB):           {t_chart * 1000:8.1f} ms")
    print(f"render_pdf ({len(pdf) / 1024:.0f} KiB):               {t_pdf * 1000:8.1f} ms")
    print(f"render_html ({len(html) / 1024:.0f} KiB):              {t_html * 1000:8.1f} ms")
    if args.db:
        demo_briefing(args.db, args.zone, args.period, args.repeat)


def demo_briefing(url: str, zone: str, period: str, repeat: int) -> None:
    """One zone-year briefing on the demo database: cold (first) and warm (median) timings."""
    from hrpipeline import create_app
    from hrpipeline.services import briefing as service
    from hrpipeline.services.scope import OPERATOR

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        def run() -> bytes:
            return B.render_pdf(service.build_briefing(OPERATOR, zone, period, "nl"))

        t0 = time.perf_counter()
        pdf = run()
        cold = time.perf_counter() - t0
        warm, _ = timed(run, repeat)
    print(f"demo briefing {zone} {period} PDF ({len(pdf) / 1024:.0f} KiB): cold "
          f"{cold * 1000:8.1f} ms, warm {warm * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
