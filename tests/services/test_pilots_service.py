"""Pilot service: registration rules, scope, and evaluations on inserted records.

Reference values: with one pilot zone and comparison zones that all hold the same counts, the
zone x period model fits every cell exactly (Pearson X^2 = 0, so Williams' phi = 0): its
interaction equals the hand-computed difference of log-odds differences against any one
comparison zone (Ai & Norton 2003, Econ Lett 80:123; Puhani 2012, Econ Lett 115:85), with
variance sum(1/s + 1/f) over the pilot zone's four cells plus that sum over one comparison
zone's cells divided by their number (Woolf's variance of a log odds ratio, generalised), and
a Student t interval with the model's residual degrees of freedom (see
docs/pilots-and-briefings.md). With one pilot and one comparison zone the model has no degree
of freedom left: "too few zones to tell".
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from scipy import stats
from sqlalchemy import insert, select

from hrpipeline.disclosure import is_suppressed
from hrpipeline.errors import Forbidden, NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, FunnelRecord, Upload, WorkforceRecord
from hrpipeline.services import pilots as service
from tests.services.test_funnel_data import _insert_counted

FOCAL, REF = "non_eu_background", "belgian_origin"


def _insert_decisions(zone, campaign: str, when: dt.date, plan: dict[str, tuple[int, int]],
                      stage: str = "interview", withdrew: int = 5) -> None:
    """plan: {group: (passed, failed)} at ``stage`` for one zone and campaign, and ``withdrew``
    focal-group withdrawals (5 = k: the funnel release then hides nothing; with fewer it hides
    the withdrawals and, to protect them, a decision cell that the pilot must hide too)."""
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
    rows += [dict(upload_id=upload.id, zone_id=zone.id, candidate_ref=f"w{i}", campaign=campaign,
                  campaign_year=int(campaign[:4]), stage=stage, outcome="withdrew",
                  stage_date=when, migration_background=FOCAL) for i in range(withdrew)]
    db.session.execute(insert(FunnelRecord), rows)
    db.session.commit()


def _design(zones, cells: dict[tuple[str, str, str], tuple[int, int]],
            withdrew: dict[tuple[str, str], int] | None = None) -> None:
    """cells: {(zone, phase, group): (passed, failed)}; before = 2023-1, after = 2024-1;
    withdrew: {(zone, phase): focal withdrawals} (default 5)."""
    for code in sorted({z for z, _p, _g in cells}):
        for phase, campaign, when in (("before", "2023-1", dt.date(2023, 4, 1)),
                                      ("after", "2024-1", dt.date(2024, 4, 1))):
            plan = {g: cells[(code, phase, g)] for g in (FOCAL, REF)}
            _insert_decisions(zones[code], campaign, when, plan,
                              withdrew=(withdrew or {}).get((code, phase), 5))
    service.clear_cache()


@pytest.fixture
def staff(make_user):
    return make_user("project_staff", all_zones=True)


def _pilot(staff, **kw):
    args = dict(name="Interview grid", zones=["ANT"], comparison_zones=["GNT"],
                target="interview", start_date=dt.date(2024, 1, 1))
    args.update(kw)
    return service.create_pilot(staff, **args)


#: Enough comparison zones for a verdict (1 pilot + 3 comparison zones, 2 periods: 2 df).
COMPARISON = ("GNT", "CRL", "BXN")


def _cells(focal_after_pilot: tuple[int, int], comparison: tuple[str, ...] = ("GNT",)):
    codes = ("ANT", *comparison)
    base = {(z, p, REF): (120, 80) for z in codes for p in ("before", "after")}
    base.update({(z, p, FOCAL): (80, 120) for z in codes for p in ("before", "after")})
    base[("ANT", "after", FOCAL)] = focal_after_pilot
    return base


def test_planted_effect_is_improved_and_matches_hand_computed_did(zones, staff):
    cells = _cells((160, 40), COMPARISON)
    _design(zones, cells)
    info = _pilot(staff, comparison_zones=list(COMPARISON))
    ev = service.evaluate(staff, info.id)
    assert ev.verdict == "improved"
    assert ev.verdict_text.startswith("Improved, on the log-odds scale")
    assert not ev.estimates_hidden

    def lo(z, p, g):
        s, f = cells[(z, p, g)]
        return math.log(s / f)

    # Ai & Norton (2003): the triple difference of cell log-odds.
    hand = ((lo("ANT", "after", FOCAL) - lo("ANT", "after", REF))
            - (lo("ANT", "before", FOCAL) - lo("ANT", "before", REF))
            - (lo("GNT", "after", FOCAL) - lo("GNT", "after", REF))
            + (lo("GNT", "before", FOCAL) - lo("GNT", "before", REF)))

    def woolf(z):
        return sum(1 / s + 1 / f for (zone, _p, _g), (s, f) in cells.items() if zone == z)

    se = math.sqrt(woolf("ANT") + woolf("GNT") / len(COMPARISON))
    df = 4 * 2 * 2 - (4 * 2 + 1 + 3 + 1 + 1)  # rows - (zone x period, focal, focal x zone,
    assert ev.did["df"] == df == 2            # focal x period, b5)
    t = stats.t.ppf(0.975, df)
    assert ev.did["scale"] == "log-odds" and ev.did["overdispersion"] == 0.0
    assert ev.did["log_odds"] == round(hand, 2)
    assert ev.did["log_odds_low"] == round(hand - t * se, 2)
    assert ev.did["log_odds_high"] == round(hand + t * se, 2)
    assert ev.did["pp"] > 0 and ev.did["pp_low"] > 0
    # One period before the start: the pre-trend cannot be checked, and the page says so.
    assert ev.caveats == [service.CAVEAT_TEXTS["en"]["no_pre_trend_check"]]
    # Published cells are the inserted decisions (withdrawals excluded).
    cell = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                ("pilot", "after", FOCAL))
    assert (cell["successes"], cell["failures"], cell["n"], cell["rate"]) == (160, 40, 200, 0.8)
    assert ev.start_period == "2024-1"
    assert [s["period"] for s in ev.series] == ["2023-1", "2023-1", "2024-1", "2024-1"]
    gap = next(s for s in ev.series if s["arm"] == "pilot" and s["period"] == "2024-1")["gap"]
    assert gap == pytest.approx(0.80 - 0.60)
    png = service.gap_chart_png(ev)
    assert png.startswith(b"\x89PNG")


def test_no_effect_is_no_evidence(zones, staff):
    _design(zones, _cells((80, 120), COMPARISON))
    ev = service.evaluate(staff, _pilot(staff, comparison_zones=list(COMPARISON)).id, "fr")
    assert ev.verdict == "no_evidence"
    assert ev.did["log_odds"] == 0.0
    assert ev.did["log_odds_low"] < 0 < ev.did["log_odds_high"]
    assert ev.verdict_text.startswith("Pas d'indice")


def test_too_little_data_is_too_few_and_small_counts_rounded(zones, staff):
    cells = _cells((80, 120))
    cells.update({(z, p, FOCAL): (3, 9) for z in ("ANT", "GNT") for p in ("before", "after")})
    _design(zones, cells)
    ev = service.evaluate(staff, _pilot(staff).id, "nl")
    assert ev.verdict == "too_few"
    assert ev.did is None
    focal = [c for c in ev.cells if c["group"] == FOCAL]
    assert all(c["successes"] in (0, 5) for c in focal)  # 3 is published rounded, never as 3
    assert all(is_suppressed(c["rate"]) for c in focal)  # a rate on fewer than 20
    assert ev.estimates_hidden
    assert all(is_suppressed(ch["change"]) for ch in ev.changes)
    # Reasons are rebuilt from codes: no raw count (3, 9 or 12) appears in them.
    assert ev.reasons and all("3" not in r and "12" not in r for r in ev.reasons)
    assert any("20" in r for r in ev.reasons)
    # One comparison zone: too few zones as well, and the verdict says so first.
    assert ev.verdict_text.startswith("Te weinig zones")
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
    plan = {}
    for code in ("ANT", *COMPARISON):
        for year in (2022, 2023, 2024):
            for group in (FOCAL, REF):
                leave = 40 if group == FOCAL else 20
                if code == "ANT" and group == FOCAL and year == 2024:
                    leave = 15  # the planted mentoring effect
                plan[(code, year, group)] = (100, leave)
    # The last officer of each cohort leaves after 13 months: a stayer for this measure.
    _insert_workforce(zones, plan, late_leavers=1)
    info = _pilot(staff, name="Mentoring", target="retention", start_date=dt.date(2024, 1, 1),
                  comparison_zones=list(COMPARISON))
    ev = service.evaluate(staff, info.id)
    assert ev.outcome == "retention"
    assert ev.start_period == "2024"
    cell = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                ("pilot", "after", FOCAL))
    # Read from the retention release: hires and first-year leavers are multiples of 5 here,
    # which rounding never changes (every cohort block of its chain is exact).
    assert (cell["successes"], cell["failures"]) == (85, 15)
    before = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                  ("pilot", "before", FOCAL))
    assert (before["successes"], before["failures"]) == (120, 80)
    assert ev.verdict == "improved"


# --- differencing against the funnel and retention pages ---------------------------------------
#
# The funnel release of each zone and campaign year publishes the same decisions as a decision
# pilot (campaign cell at the target stage, "not_passed" = "failed"); the retention page
# publishes each zone's first-year cohort table. A pilot cell is a sum of those published
# counts, so reading both pages gives nothing more: these tests check the sums.


def _insert_workforce(zones, plan: dict[tuple[str, int, str], tuple[int, int]],
                      reference: dt.date = dt.date(2026, 6, 30), late_leavers: int = 0) -> None:
    """plan: {(zone, hire year, group): (hires, leavers within 200 days)}; the last
    ``late_leavers`` officers of each cohort leave after 400 days (stayers at 12 months)."""
    rows = []
    for code in sorted({z for z, _y, _g in plan}):
        zone = zones[code]
        upload = Upload(zone_id=zone.id, kind="workforce", filename=f"w{code}.csv",
                        sha256=f"w{code}".ljust(64, "0"), row_count=0, reference_date=reference)
        db.session.add(upload)
        db.session.flush()
        for (z, year, group), (hires, leavers) in plan.items():
            if z != code:
                continue
            hire = dt.date(year, 3, 1)
            for i in range(hires):
                exit_date = hire + dt.timedelta(days=200) if i < leavers else None
                if i >= hires - late_leavers:
                    exit_date = hire + dt.timedelta(days=400)
                rows.append(dict(upload_id=upload.id, zone_id=zone.id,
                                 officer_ref=f"{code}{year}{group}{i}",
                                 migration_background=group, hire_date=hire,
                                 exit_date=exit_date,
                                 exit_type="voluntary" if exit_date else None))
    db.session.execute(insert(WorkforceRecord), rows)
    db.session.commit()
    service.clear_cache()


def _retention_plan(small: int) -> dict[tuple[str, int, str], tuple[int, int]]:
    """2014 is before the retention window (a private cohort); ANT's focal 2022 cohort has
    ``small`` leavers, hidden on the retention page when below k."""
    plan = {}
    for code in ("ANT", "GNT"):
        for year in (2014, 2021, 2022, 2023, 2024):
            plan[(code, year, FOCAL)] = (100, 40 if code == "GNT" or year == 2024 else 30)
            plan[(code, year, REF)] = (100, 20)
    plan[("ANT", 2022, FOCAL)] = (100, small)
    plan[("ANT", 2014, FOCAL)] = (50, 2)  # a small private cell
    return plan


def test_retention_pilot_cells_are_sums_of_the_published_first_year_cells(zones, staff):
    """Issue 14: a retention pilot publishes nothing the retention page does not: every cell is
    a sum of that page's first-year cohort counts (rounded), and the verdict is computed from
    them. Cohorts hired before the retention window are in neither."""
    from hrpipeline.services.retention import first_year_cells

    _insert_workforce(zones, _retention_plan(3))
    info = _pilot(staff, name="Mentoring", target="retention", start_date=dt.date(2024, 1, 1))
    first = first_year_cells(["ANT", "GNT"])
    assert ("ANT", 2014, FOCAL) not in first  # hired before the window
    hires, left = first[("ANT", 2022, FOCAL)]
    assert hires == 100 and left in (0, 5)  # 3 leavers: rounded, never shown as 3
    protected = service._analyse(info)[3]
    for (zone, cohort, group), (h, lv) in first.items():
        arm = "pilot" if zone == "ANT" else "comparison"
        phase = "after" if cohort >= 2024 else "before"
        key = dict(arm=arm, phase=phase, period=str(cohort), group=group)
        assert protected.value(service.LEVELS[0], outcome="left", **key) == lv
        assert protected.value(service.LEVELS[0], outcome="stayed", **key) == h - lv
    ev = service.evaluate(staff, info.id)
    after = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                 ("pilot", "after", FOCAL))
    assert (after["successes"], after["failures"]) == (60, 40)
    assert all(c["successes"] % 5 == 0 and c["failures"] % 5 == 0 for c in ev.cells
               if not is_suppressed(c["successes"]))


def test_first_year_cells_are_what_the_retention_page_publishes(zones, staff):
    from hrpipeline.services.retention import first_year_cells, retention_report

    _insert_workforce(zones, _retention_plan(3))
    first = first_year_cells(["ANT"])
    report = retention_report(staff, "ANT")
    shown = {(r["cohort"], r["group"]): (r["hires"], r["exits_12m"]) for r in report.first_year
             if r["note"] != "not yet followed 12 months"}
    assert shown and {("ANT", c, g): v for (c, g), v in shown.items()} == first


def test_retention_pilot_counts_an_officer_in_two_extracts_once(zones, staff):
    """A zone that uploads a newer workforce extract with the same officers: as on the
    retention page, the newest upload wins per officer (counted once, with the newer exits)."""
    _insert_workforce(zones, {("ANT", 2023, FOCAL): (30, 10), ("GNT", 2023, FOCAL): (30, 10)})
    newer = Upload(zone_id=zones["ANT"].id, kind="workforce", filename="wANT2.csv",
                   sha256="wANT2".ljust(64, "0"), row_count=30,
                   reference_date=dt.date(2026, 9, 30))
    db.session.add(newer)
    db.session.flush()
    hire = dt.date(2023, 3, 1)
    db.session.execute(insert(WorkforceRecord), [
        dict(upload_id=newer.id, zone_id=zones["ANT"].id, officer_ref=f"ANT2023{FOCAL}{i}",
             migration_background=FOCAL, hire_date=hire,
             exit_date=hire + dt.timedelta(days=200) if i < 12 else None,
             exit_type="voluntary" if i < 12 else None)
        for i in range(30)])
    db.session.commit()
    service.clear_cache()
    info = _pilot(staff, name="Twice", target="retention", start_date=dt.date(2024, 1, 1))
    counts, _start = service.retention_counts(info)
    got = {(r.zone, r.period, r.group): (r.stayed, r.left) for r in counts.itertuples()}
    stayed, left = got[("ANT", 2023, FOCAL)]
    assert stayed + left == 30 and left in (10, 15)  # 30 officers, not 60; 12 newer exits
    assert got[("GNT", 2023, FOCAL)] == (20, 10)


def test_decision_pilot_counts_a_zone_that_uploads_counts(zones, staff):
    """The comparison zone sends aggregate counts instead of candidate rows: its decisions
    enter the pilot. A (campaign, group) with a cell hidden at source is left out whole."""
    cells = _cells((130, 70))
    for phase, campaign, when in (("before", "2023-1", dt.date(2023, 4, 1)),
                                  ("after", "2024-1", dt.date(2024, 4, 1))):
        _insert_decisions(zones["ANT"], campaign, when,
                          {g: cells[("ANT", phase, g)] for g in (FOCAL, REF)})
        counted = {(g, o): n for g in (FOCAL, REF)
                   for o, n in zip(("passed", "failed"), cells[("GNT", phase, g)], strict=True)}
        counted[("eu_background", "passed")] = None  # hidden at source: left out
        counted[("eu_background", "failed")] = 30
        counted[(FOCAL, "withdrew")] = 7  # not a decision
        _insert_counted(zones["GNT"], campaign, counted)
    service.clear_cache()
    info = _pilot(staff)
    counts, start = service.decision_counts(info)
    assert start == "2024-1"  # from ANT's stage dates; GNT's counts carry none
    got = {(r.zone, r.period, r.group): (r.passed, r.not_passed) for r in counts.itertuples()}
    assert got[("GNT", "2023-1", FOCAL)] == (80, 120)
    assert got[("GNT", "2024-1", REF)] == (120, 80)
    assert ("GNT", "2024-1", "eu_background") not in got
    ev = service.evaluate(staff, info.id)
    # One comparison zone: too few zones to tell (the counts above are the point here).
    assert ev.verdict == "too_few" and ev.verdict_text.startswith("Too few zones")
    _assert_sums_of_the_funnel_page(zones, info)


def _assert_sums_of_the_funnel_page(zones, info):
    """Every published cell of a decision pilot is the sum of the cells the zones' funnel pages
    publish (passed and failed at the target stage), so the pilot adds nothing to combine."""
    from hrpipeline.services import releases

    _definition, _result, counts, protected = service._analyse(info)
    checked = 0
    for arm, codes in (("pilot", info.zones), ("comparison", info.comparison_zones)):
        for row in protected.table(service.LEVELS[0]).itertuples():
            if row.arm != arm:
                continue
            year = int(str(row.period)[:4])
            outcome = "passed" if row.outcome == "passed" else "failed"
            total = 0
            for code in codes:
                release = releases.zone_release(zones[code], year)
                total += release.count(info.target, row.group, outcome, zone=code,
                                       campaign=str(row.period))
            assert row.value == total, row
            checked += 1
    assert checked >= 8


def test_decision_pilot_cells_are_sums_of_the_published_funnel_cells(zones, staff):
    """Several zones per arm and small cells: still only sums of numbers the funnel shows, and
    the verdict is computed from them."""
    cells = _cells((130, 70))
    cells.update({("GNT", p, FOCAL): (3, 2) for p in ("before", "after")})
    _design(zones, cells)
    info = _pilot(staff)
    _assert_sums_of_the_funnel_page(zones, info)
    ev = service.evaluate(staff, info.id)
    published = {(c["arm"], c["phase"], c["group"]): c for c in ev.cells}
    for cell in published.values():
        assert cell["successes"] % 5 == 0 and cell["failures"] % 5 == 0



def test_campaigns_are_ordered_by_their_dates_not_their_labels(zones, staff):
    """'2024 voorjaar' (spring) sorts after '2024 najaar' (autumn) as text; the pilot orders
    campaigns by their first decision date, so spring 2024 is before an autumn start."""
    plan = {FOCAL: (40, 60), REF: (60, 40)}
    for code in ("ANT", "GNT"):
        for campaign, when in (("2024 voorjaar", dt.date(2024, 4, 2)),
                               ("2024 najaar", dt.date(2024, 10, 7)),
                               ("2025 voorjaar", dt.date(2025, 4, 1))):
            _insert_decisions(zones[code], campaign, when, plan)
    service.clear_cache()
    info = _pilot(staff, start_date=dt.date(2024, 9, 1))
    ev = service.evaluate(staff, info.id)
    assert ev.start_period == "2024 najaar"
    assert [s["period"] for s in ev.series if s["arm"] == "pilot"] == [
        "2024 voorjaar", "2024 najaar", "2025 voorjaar"]
    assert [s["after"] for s in ev.series if s["arm"] == "pilot"] == [False, True, True]
    before = next(c for c in ev.cells if (c["arm"], c["phase"], c["group"]) ==
                  ("pilot", "before", FOCAL))
    assert before["n"] == 100  # spring 2024 only
    assert service.gap_chart_png(ev).startswith(b"\x89PNG")
