"""Pilot service: registration rules, scope, and evaluations on inserted records.

Reference values: with two zones and two periods the DiD GLM is the saturated 2x2x2 logit, whose
interaction equals the hand-computed difference of log-odds differences (Ai & Norton 2003,
Econ Lett 80:123; Puhani 2012, Econ Lett 115:85) with SE sqrt(sum(1/s + 1/f)) over the eight
cells (Woolf's variance of a log odds ratio, generalised; see docs/pilots-and-briefings.md).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import insert, select

from hrpipeline.analysis.suppression import is_suppressed
from hrpipeline.errors import Forbidden, NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, FunnelRecord, Upload, WorkforceRecord
from hrpipeline.services import pilots as service

FOCAL, REF = "non_eu_background", "belgian_origin"


def _insert_decisions(zone, campaign: str, when: dt.date, plan: dict[str, tuple[int, int]],
                      stage: str = "interview") -> None:
    """plan: {group: (passed, failed)} at ``stage`` for one zone and campaign."""
    upload = Upload(zone_id=zone.id, kind="funnel", filename=f"{zone.code}{campaign}.csv",
                    sha256=f"{zone.code}{campaign}{stage}".ljust(64, "0"), row_count=0)
    db.session.add(upload)
    db.session.flush()
    rows = []
    for group, (passed, failed) in plan.items():
        for outcome, n in (("passed", passed), ("failed", failed)):
            rows += [dict(upload_id=upload.id, zone_id=zone.id,
                          candidate_ref=f"{group}-{outcome}-{i}", campaign=campaign,
                          campaign_year=int(campaign[:4]), stage=stage, outcome=outcome,
                          stage_date=when, migration_background=group) for i in range(n)]
    # A withdrawal is not a decision: it must not enter the counts.
    rows.append(dict(upload_id=upload.id, zone_id=zone.id, candidate_ref="w", campaign=campaign,
                     campaign_year=int(campaign[:4]), stage=stage, outcome="withdrew",
                     stage_date=when, migration_background=FOCAL))
    db.session.execute(insert(FunnelRecord), rows)
    db.session.commit()


def _design(zones, cells: dict[tuple[str, str, str], tuple[int, int]]) -> None:
    """cells: {(zone, phase, group): (passed, failed)}; before = 2023-1, after = 2024-1."""
    for code in ("ANT", "GNT"):
        for phase, campaign, when in (("before", "2023-1", dt.date(2023, 4, 1)),
                                      ("after", "2024-1", dt.date(2024, 4, 1))):
            plan = {g: cells[(code, phase, g)] for g in (FOCAL, REF)}
            _insert_decisions(zones[code], campaign, when, plan)
    service.clear_cache()


@pytest.fixture
def staff(make_user):
    return make_user("project_staff", all_zones=True)


def _pilot(staff, **kw):
    args = dict(name="Interview grid", zones=["ANT"], comparison_zones=["GNT"],
                target="interview", start_date=dt.date(2024, 1, 1))
    args.update(kw)
    return service.create_pilot(staff, **args)


def _cells(focal_after_pilot: tuple[int, int]):
    base = {(z, p, REF): (120, 80) for z in ("ANT", "GNT") for p in ("before", "after")}
    base.update({(z, p, FOCAL): (80, 120) for z in ("ANT", "GNT") for p in ("before", "after")})
    base[("ANT", "after", FOCAL)] = focal_after_pilot
    return base


def test_planted_effect_is_improved_and_matches_hand_computed_did(zones, staff):
    cells = _cells((130, 70))
    _design(zones, cells)
    info = _pilot(staff)
    ev = service.evaluate(staff, info.id)
    assert ev.verdict == "improved"
    assert not ev.estimates_hidden

    def lo(z, p, g):
        s, f = cells[(z, p, g)]
        return math.log(s / f)

    # Ai & Norton (2003): the triple difference of cell log-odds.
    hand = ((lo("ANT", "after", FOCAL) - lo("ANT", "after", REF))
            - (lo("ANT", "before", FOCAL) - lo("ANT", "before", REF))
            - (lo("GNT", "after", FOCAL) - lo("GNT", "after", REF))
            + (lo("GNT", "before", FOCAL) - lo("GNT", "before", REF)))
    se = math.sqrt(sum(1 / s + 1 / f for s, f in cells.values()))
    assert ev.did["log_odds"] == round(hand, 2)
    assert ev.did["log_odds_low"] == round(hand - 1.959964 * se, 2)
    assert ev.did["log_odds_high"] == round(hand + 1.959964 * se, 2)
    assert ev.did["pp"] > 0 and ev.did["pp_low"] > 0
    # Published cells are the inserted decisions (withdrawals excluded).
    cell = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                ("pilot", "after", FOCAL))
    assert (cell["successes"], cell["failures"], cell["n"], cell["rate"]) == (130, 70, 200, 0.65)
    assert ev.start_period == "2024-1"
    assert [s["period"] for s in ev.series] == ["2023-1", "2023-1", "2024-1", "2024-1"]
    gap = next(s for s in ev.series if s["arm"] == "pilot" and s["period"] == "2024-1")["gap"]
    assert gap == pytest.approx(0.65 - 0.60)
    png = service.gap_chart_png(ev)
    assert png.startswith(b"\x89PNG")


def test_no_effect_is_no_evidence(zones, staff):
    _design(zones, _cells((80, 120)))
    ev = service.evaluate(staff, _pilot(staff).id, "fr")
    assert ev.verdict == "no_evidence"
    assert ev.did["log_odds"] == 0.0
    assert ev.did["log_odds_low"] < 0 < ev.did["log_odds_high"]
    assert ev.verdict_text.startswith("Pas d'indice")


def test_too_little_data_is_too_few_and_small_counts_hidden(zones, staff):
    cells = _cells((80, 120))
    cells.update({(z, p, FOCAL): (3, 9) for z in ("ANT", "GNT") for p in ("before", "after")})
    _design(zones, cells)
    ev = service.evaluate(staff, _pilot(staff).id, "nl")
    assert ev.verdict == "too_few"
    assert ev.did is None
    focal = [c for c in ev.cells if c["group"] == FOCAL]
    assert all(is_suppressed(c["successes"]) for c in focal)  # 3 < k = 5
    assert all(is_suppressed(c["rate"]) for c in focal)
    assert ev.estimates_hidden
    assert all(is_suppressed(ch["change"]) for ch in ev.changes)
    # Reasons are rebuilt from codes: no raw count (3, 9 or 12) appears in them.
    assert ev.reasons and all("3" not in r and "12" not in r for r in ev.reasons)
    assert "20" in ev.reasons[0]
    csv = ev.to_csv()
    assert ",x," in csv


def test_scope_pilot_touching_another_zone_is_invisible(zones, staff, make_user):
    _design(zones, _cells((130, 70)))
    info = _pilot(staff)
    ant_only = make_user("project_staff", ["ANT"])
    assert service.list_pilots(ant_only) == []
    with pytest.raises(NotFound):
        service.get_pilot(ant_only, info.id)
    with pytest.raises(NotFound):
        service.evaluate(ant_only, info.id)
    both = make_user("leadership", ["ANT", "GNT"])
    assert [p.id for p in service.list_pilots(both)] == [info.id]
    assert [p.id for p in service.pilots_covering(both, "GNT")] == [info.id]
    assert service.pilots_covering(both, "CRL") == []


def test_create_pilot_rules(zones, staff, make_user):
    officer = make_user("diversity_officer", all_zones=True)
    with pytest.raises(Forbidden):
        _pilot(officer)
    ant_staff = make_user("project_staff", ["ANT"])
    with pytest.raises(ValidationFailed) as err:
        _pilot(ant_staff)  # GNT is outside the scope
    assert err.value.extra["problems"][0]["value"] == "GNT"
    with pytest.raises(ValidationFailed):
        _pilot(staff, comparison_zones=["ANT"])  # both pilot and comparison
    with pytest.raises(ValidationFailed):
        _pilot(staff, target="nonsense")
    with pytest.raises(ValidationFailed):
        _pilot(staff, end_date=dt.date(2023, 1, 1))
    info = _pilot(staff, description="  grid  ")
    assert (info.zones, info.comparison_zones, info.description) == (["ANT"], ["GNT"], "grid")
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "pilot_created"))
    assert log is not None and log.detail["pilot_id"] == info.id


def test_retention_pilot_counts_stayers_and_leavers_within_a_year(zones, staff):
    """Mentoring pilot: focal recruits in the pilot zone leave less often after the start."""
    rows = []
    for code, zone in (("ANT", zones["ANT"]), ("GNT", zones["GNT"])):
        upload = Upload(zone_id=zone.id, kind="workforce", filename=f"w{code}.csv",
                        sha256=f"w{code}".ljust(64, "0"), row_count=0,
                        reference_date=dt.date(2026, 6, 30))
        db.session.add(upload)
        db.session.flush()
        for year in (2022, 2023, 2024):
            for group in (FOCAL, REF):
                leave = 40 if group == FOCAL else 20
                if code == "ANT" and group == FOCAL and year == 2024:
                    leave = 15  # the planted mentoring effect
                for i in range(100):
                    hire = dt.date(year, 3, 1)
                    exit_date = hire + dt.timedelta(days=200) if i < leave else None
                    if i == 99:  # leaves after 13 months: a stayer for this measure
                        exit_date = hire + dt.timedelta(days=400)
                    rows.append(dict(upload_id=upload.id, zone_id=zone.id,
                                     officer_ref=f"{code}{year}{group}{i}",
                                     migration_background=group, hire_date=hire,
                                     exit_date=exit_date,
                                     exit_type="voluntary" if exit_date else None))
    db.session.execute(insert(WorkforceRecord), rows)
    db.session.commit()
    service.clear_cache()
    info = _pilot(staff, name="Mentoring", target="retention", start_date=dt.date(2024, 1, 1))
    ev = service.evaluate(staff, info.id)
    assert ev.outcome == "retention"
    assert ev.start_period == "2024"
    cell = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                ("pilot", "after", FOCAL))
    assert (cell["successes"], cell["failures"]) == (85, 15)
    before = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                  ("pilot", "before", FOCAL))
    assert (before["successes"], before["failures"]) == (120, 80)
    assert ev.verdict == "improved"
