"""Planner service: the inputs come from the retention report's *published* values only
(hidden values are never reconstructed: pooled rates or no answer), the zone scope, the CLI.

The projection itself is checked in ``tests/analysis/test_planner.py``.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from hrpipeline.disclosure.values import SUPPRESSED
from hrpipeline.errors import NotFound, ValidationFailed
from hrpipeline.services import planner as svc
from tests.services.test_retention_service import REFERENCE_DATE, _officers

YEARS = ["2021", "2022", "2023", "2024", "2025"]


def plant_planner_workforce(zones, make_user) -> None:
    """ANT and GNT workforce extracts large enough for yearly figures per group (straight into
    the tables, as ``tests.services.test_retention_service.plant_workforce``)."""
    import numpy as np
    from sqlalchemy import insert

    from hrpipeline.extensions import db
    from hrpipeline.models import Upload, WorkforceRecord
    from hrpipeline.services import retention

    rng = np.random.default_rng(11)
    uploader = make_user("hr_manager", ["ANT", "GNT"], username="seed.planner")
    for code, scale in (("ANT", 1.0), ("GNT", 0.7)):
        rows = []
        for group, n, share in (("belgian_origin", 900, 0.35), ("non_eu_background", 260, 0.45),
                                ("eu_background", 140, 0.35), ("unknown", 60, 0.3)):
            rows += _officers(rng, code, group, int(n * scale), (1995, 2025), share, 0.4)
        upload = Upload(zone_id=zones[code].id, user_id=uploader.id, kind="workforce",
                        filename=f"planner_{code}.csv", sha256=code.ljust(64, "p"),
                        status="stored", reference_date=REFERENCE_DATE, row_count=len(rows))
        db.session.add(upload)
        db.session.flush()
        db.session.execute(insert(WorkforceRecord), [
            {**r, "upload_id": upload.id, "zone_id": zones[code].id} for r in rows])
    db.session.commit()
    retention.clear_cache()
    svc.clear_cache()


def _row(period, group, start, end, leavers, months=12.0):
    return {"period": period, "group": group, "months": months, "headcount_start": start,
            "headcount_end": end, "leavers": leavers, "average_headcount": None}


def fake_report(hide_focal_leavers=False, hide_headcount=False, km=True):
    """Published values of a zone: per year, Belgian origin 200 → 205, EU 10 → 11,
    non-EU 40 → 44, unknown 5 → 5; leavers 8, 1, 3, 0."""
    rows = []
    for i, y in enumerate(YEARS):
        b0, e0, n0, u0 = 200 + 5 * i, 10 + i, 40 + 4 * i, 5
        parts = {"belgian_origin": (b0, b0 + 5, 8), "eu_background": (e0, e0 + 1, 1),
                 "non_eu_background": (n0, n0 + 4, 3), "unknown": (u0, u0, 0)}
        for g, (s, e, n) in parts.items():
            hidden_n = hide_focal_leavers and g in ("eu_background", "unknown")
            hidden_h = hide_headcount and g in ("eu_background", "unknown")
            rows.append(_row(y, g, SUPPRESSED if hidden_h else s,
                             SUPPRESSED if hidden_h else e, SUPPRESSED if hidden_n else n))
        rows.append(_row(y, "all", sum(p[0] for p in parts.values()),
                         sum(p[1] for p in parts.values()), 12))
    # The part year to the reference date: today's headcount.
    for g, v in {"belgian_origin": 226, "eu_background": 15, "non_eu_background": 60,
                 "unknown": 5, "all": 306}.items():
        rows.append(_row("2026 (to 2026-06-30)", g, 0, v, 0, months=6.0))
    summary = [{"group": g, "attrition_12m": a if km else None}
               for g, a in (("belgian_origin", 0.05), ("eu_background", 0.10),
                            ("non_eu_background", 0.10), ("unknown", 0.05))]
    return SimpleNamespace(turnover=rows, groups=["belgian_origin", "eu_background",
                                                  "non_eu_background", "unknown"],
                           periods=[*YEARS, "2026 (to 2026-06-30)"], km_summary=summary,
                           reference_date="2026-06-30")


@pytest.fixture
def use_report(monkeypatch):
    def use(report):
        monkeypatch.setattr("hrpipeline.services.retention.retention_report",
                            lambda user, zone, lang="en": report)
    return use


def test_inputs_are_the_published_values(app, use_report):
    use_report(fake_report(km=False))
    fig = svc.retention_inputs(None, "ANT")
    inp = fig.inputs
    assert fig.years == YEARS and fig.notes == ["no_first_year"]
    assert inp.focal.headcount == 75 and inp.other.headcount == 231  # today's, published
    # Hires = end − start + leavers, over five years: focal (1 + 4 + 4) x 5, other (5 + 8) x 5.
    assert inp.focal.hires == 45 and inp.other.hires == 65
    assert inp.focal.hires_per_year == 9 and inp.other.hires_per_year == 13
    assert inp.focal.leavers == 20 and inp.other.leavers == 40
    # Person-years: sum of (start + end) / 2.
    py_focal = sum((10 + i + 40 + 4 * i + 10 + i + 1 + 40 + 4 * i + 4) / 2 for i in range(5))
    assert inp.focal.person_years == pytest.approx(py_focal)
    assert inp.focal.first_year_attrition is None
    assert inp.reference.exit_rate == pytest.approx(1 - math.exp(-40 / sum(
        (200 + 5 * i + 205 + 5 * i) / 2 for i in range(5))))


def test_first_year_attrition_from_the_published_curves(app, use_report):
    use_report(fake_report())
    inp = svc.retention_inputs(None, "ANT").inputs
    assert inp.focal.first_year_attrition == pytest.approx(0.10)
    # Established: (L − q H) / (PY − H (1 − q/2)).
    py = sum((10 + i + 40 + 4 * i + 10 + i + 1 + 40 + 4 * i + 4) / 2 for i in range(5))
    assert inp.focal.leavers == pytest.approx(20 - 0.1 * 45)
    assert inp.focal.person_years == pytest.approx(py - 45 * 0.95)


def test_hidden_leavers_are_not_reconstructed(app, use_report):
    """EU and unknown leavers hidden: neither the sum nor all − Belgian − unknown is
    available, so both compartments get the exit rate of all groups together."""
    use_report(fake_report(hide_focal_leavers=True, km=False))
    fig = svc.retention_inputs(None, "ANT")
    assert "pooled" in fig.notes
    inp = fig.inputs
    assert inp.focal.exit_rate == pytest.approx(inp.other.exit_rate)
    pooled = 60 / (inp.focal.person_years + inp.other.person_years)
    assert inp.focal.leavers == pytest.approx(pooled * inp.focal.person_years)


def test_hidden_headcounts_mean_no_answer(app, use_report):
    use_report(fake_report(hide_headcount=True))
    with pytest.raises(svc.PlannerUnavailable):
        svc.retention_inputs(None, "ANT")


def test_bad_arguments_are_user_errors(app, make_user):
    user = make_user("leadership", all_zones=True)
    with pytest.raises(ValidationFailed):
        svc.planner_report(user, "ANT", target=1.5)
    with pytest.raises(ValidationFailed):
        svc.planner_report(user, "ANT", years=0)
    with pytest.raises(ValidationFailed):
        svc.planner_report(user, "ALL")


def test_scope_and_answer_on_a_planted_workforce(app, zones, make_user):
    plant_planner_workforce(zones, make_user)
    with pytest.raises(NotFound):
        svc.planner_report(make_user("diversity_officer", ["ANT"]), "GNT")
    report = svc.planner_report(make_user("diversity_officer", ["ANT"]), "ANT")
    d = report.to_dict()
    assert d["zone"] == "ANT" and len(d["projection"]) == 11
    assert all(0 <= r["share"] <= 1 for r in d["projection"])
    assert d["projection"][0]["low"] == d["projection"][0]["share"] == d["inputs"]["share_now"]
    assert all(r["low"] <= r["share"] <= r["high"] for r in d["projection"][1:])
    assert d["inputs"]["headcount"] == round(report.answer.headcount)


def test_cli(app, zones, make_user, runner):
    plant_planner_workforce(zones, make_user)
    result = runner.invoke(args=["planner", "--zone", "ANT", "--target", "25", "--years", "8"])
    assert result.exit_code == 0, result.output
    assert "(b) Share of hires needed for 25 % in 8 years" in result.output
    result = runner.invoke(args=["planner", "--zone", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output


def test_briefing_lines(app, zones, make_user):
    plant_planner_workforce(zones, make_user)
    user = make_user("leadership", all_zones=True)
    report = svc.planner_report(user, "ANT", lang="nl")
    lines = svc.briefing_lines(user, "ANT", "nl")
    assert lines and lines[0].startswith("Planner: als instroom")
    share = f"{100 * report.answer.projection[-1]['share']:.1f} %".replace(".", ",")
    assert share in lines[0]
    assert svc.briefing_lines(user, "ALL", "nl") == []
