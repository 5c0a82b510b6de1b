"""Funnel service: scope, catalogue, every number from the rounded release, stable across versions."""

import datetime as dt
import json

import pytest

from hrpipeline.disclosure import SUPPRESSED, is_suppressed
from hrpipeline.errors import Forbidden, NotFound
from hrpipeline.extensions import db
from hrpipeline.models import FunnelRecord, Upload
from hrpipeline.services import funnel as funnel_service
from hrpipeline.services.funnel_data import catalogue

STAGES = ["application", "cognitive_test", "interview"]


def _insert(zone, campaign, plan, sha):
    """plan: {(stage, group, outcome): n}; candidates continue to the next stage when passed."""
    upload = Upload(zone_id=zone.id, kind="funnel", filename=f"{sha}.csv", sha256=sha * 64,
                    row_count=0)
    db.session.add(upload)
    db.session.flush()
    rows = []
    for (stage, group, outcome), n in plan.items():
        for i in range(n):
            rows.append(dict(upload_id=upload.id, zone_id=zone.id,
                             candidate_ref=f"{stage}-{group}-{outcome}-{i}", campaign=campaign,
                             campaign_year=int(campaign[:4]), stage=stage, outcome=outcome,
                             stage_date=dt.date(int(campaign[:4]), 3, 1),
                             migration_background=group))
    db.session.execute(db.insert(FunnelRecord), rows)
    upload.row_count = len(rows)
    db.session.commit()
    funnel_service.clear_cache()
    return upload


def _plan(eu_passed_interview=3):
    """A consistent funnel: passed at stage s == entered at s+1, per group."""
    plan = {}
    groups = {"belgian_origin": (300, 150, 90), "non_eu_background": (120, 40, 24),
              "eu_background": (40, 20, 12)}
    for group, (apps, cog, inter) in groups.items():
        plan[("application", group, "passed")] = apps
        plan[("cognitive_test", group, "passed")] = cog
        plan[("cognitive_test", group, "failed")] = apps - cog
        passed = eu_passed_interview if group == "eu_background" else inter
        plan[("interview", group, "passed")] = passed
        plan[("interview", group, "failed")] = cog - passed
    plan[("application", "unknown", "passed")] = 2
    plan[("cognitive_test", "unknown", "passed")] = 1
    plan[("cognitive_test", "unknown", "failed")] = 1
    plan[("interview", "unknown", "withdrew")] = 1
    return plan


@pytest.fixture
def data(zones):
    _insert(zones["ANT"], "2024-1", _plan(), "a")
    _insert(zones["GNT"], "2024-1", _plan(eu_passed_interview=10), "b")
    return zones


def test_catalogue_is_scoped_and_fixed(data, make_user):
    ant = make_user("diversity_officer", ["ANT"])
    keys = {e.key for e in catalogue(ant)}
    assert keys == {"ANT/campaign:2024-1", "ANT/year:2024"}
    everyone = make_user("diversity_officer", all_zones=True)
    assert "ALL/year:2024" in {e.key for e in catalogue(everyone)}


def test_other_zone_and_pool_refused(data, make_user):
    ant = make_user("diversity_officer", ["ANT"])
    with pytest.raises(NotFound):
        funnel_service.funnel_report(ant, "GNT", "campaign:2024-1")
    with pytest.raises(Forbidden):
        funnel_service.funnel_report(ant, "ALL", "year:2024")
    with pytest.raises(NotFound):
        funnel_service.funnel_report(ant, "ANT", "campaign:1999-1")


def _row(report, stage, group):
    return next(r for r in report.rows if r["stage"] == stage and r["group"] == group)


def test_small_cell_is_rounded_and_every_number_follows_from_the_published_counts(data,
                                                                                   make_user):
    user = make_user("diversity_officer", ["ANT"])
    report = funnel_service.funnel_report(user, "ANT", "campaign:2024-1")
    k = report.k
    row = _row(report, "interview", "eu_background")  # true: 3 passed, 17 failed
    assert row["passed"] in (0, 5) and row["passed"] % k == 0
    for r in report.rows:
        counts = [r[c] for c in ("entered", "passed", "failed", "withdrew", "pending")]
        assert not any(is_suppressed(v) for v in counts)
        assert all(v % k == 0 for v in counts), r
        # Additive: entered is the sum of the published outcomes.
        assert r["entered"] == r["passed"] + r["failed"] + r["withdrew"] + r["pending"]
        decisions = r["passed"] + r["failed"]
        if decisions >= report.min_denominator:
            assert r["pass_rate"] == pytest.approx(r["passed"] / decisions, abs=1e-4)
        else:
            assert r["pass_rate"] is SUPPRESSED
    # Passed at a stage is entered at the next (the funnel identity holds in the published table).
    for group in ("belgian_origin", "eu_background", "non_eu_background"):
        assert _row(report, "application", group)["passed"] == _row(
            report, "cognitive_test", group)["entered"]
    # The p-value is Fisher's exact test on the published counts (scipy.stats.fisher_exact).
    from scipy.stats import fisher_exact

    comp = next(c for c in report.comparisons if c["stage"] == "cognitive_test"
                and c["group"] == "non_eu_background")
    f = _row(report, "cognitive_test", "non_eu_background")
    b = _row(report, "cognitive_test", "belgian_origin")
    p = fisher_exact([[f["passed"], f["failed"]], [b["passed"], b["failed"]]])[1]
    assert comp["p_value"] == ("< 0.0001" if p < 0.0001 else f"{p:.4f}")
    assert comp["impact_ratio"] == pytest.approx(
        (f["passed"] / (f["passed"] + f["failed"])) / (b["passed"] / (b["passed"] + b["failed"])),
        abs=1e-3)
    payload = report.to_dict()
    assert payload["rounding"]["base"] == k
    # Unknown background: 2 applicants published as 0 or 5, never as 2.
    unknown = next(u for u in report.unknown if u["stage"] == "application")
    assert unknown["unknown"] in (0, 5)


def test_every_table_is_a_sum_of_the_same_rounded_flows(data, make_user):
    user = make_user("diversity_officer", all_zones=True)
    reports = {(zone, period): funnel_service.funnel_report(user, zone, period)
               for zone, period in [("ANT", "campaign:2024-1"), ("ANT", "year:2024"),
                                    ("GNT", "campaign:2024-1"), ("GNT", "year:2024"),
                                    ("ALL", "year:2024")]}
    for (zone, period), report in reports.items():
        for row in report.rows:
            for c in ("entered", "passed", "failed", "withdrew", "pending"):
                assert row[c] % report.k == 0, (zone, period, row)
    # One campaign a year: the year table is the campaign table; the pool is the zones' sum.
    for zone in ("ANT", "GNT"):
        assert reports[(zone, "year:2024")].rows == reports[(zone, "campaign:2024-1")].rows
    for row in reports[("ALL", "year:2024")].rows:
        parts = [_row(reports[(z, "year:2024")], row["stage"], row["group"])
                 for z in ("ANT", "GNT")]
        for c in ("entered", "passed", "failed", "withdrew", "pending"):
            assert row[c] == sum(p[c] for p in parts)


def test_csv_says_counts_are_rounded(data, make_user):
    user = make_user("diversity_officer", ["ANT"])
    text = funnel_service.funnel_report(user, "ANT", "campaign:2024-1").to_csv()
    assert "rounded" in text.splitlines()[0]
    line = next(li for li in text.splitlines() if li.startswith("interview,eu_background,"))
    assert ",x," not in line


def test_a_new_version_republishes_unchanged_numbers(data, make_user):
    """Release history is attacker knowledge: an unchanged count keeps its published value."""
    user = make_user("diversity_officer", ["ANT"])
    first = funnel_service.funnel_report(user, "ANT", "campaign:2024-1")
    # A second campaign of the same year: the first campaign's table does not move.
    plan = _plan()
    _insert(data["ANT"], "2024-2", plan, "e")
    again = funnel_service.funnel_report(user, "ANT", "campaign:2024-1")
    assert again.rows == first.rows
    year = funnel_service.funnel_report(user, "ANT", "year:2024")
    second = funnel_service.funnel_report(user, "ANT", "campaign:2024-2")
    for row in year.rows:
        parts = [_row(r, row["stage"], row["group"]) for r in (first, second)]
        assert row["passed"] == sum(p["passed"] for p in parts)
    # A corrected re-upload that changes one count: cells of other groups do not move.
    db.session.execute(db.delete(Upload).where(Upload.sha256 == "a" * 64))
    db.session.commit()
    _insert(data["ANT"], "2024-1", _plan(eu_passed_interview=10), "c")
    fixed = funnel_service.funnel_report(user, "ANT", "campaign:2024-1")
    for group in ("belgian_origin", "non_eu_background"):
        for stage in STAGES:
            assert _row(fixed, stage, group) == _row(first, stage, group)
    # Each version that published something new is recorded for the next version's audit.
    from hrpipeline.models import ReleaseCache

    recorded = db.session.query(ReleaseCache).filter(
        ReleaseCache.release_key == "funnel-memory:ANT:2024").count()
    assert recorded == 3


def test_planted_gap_is_red_with_reason(zones, make_user):
    plan = {}
    for group, apps, cog in (("belgian_origin", 400, 240), ("non_eu_background", 300, 90)):
        plan[("application", group, "passed")] = apps
        plan[("cognitive_test", group, "passed")] = cog
        plan[("cognitive_test", group, "failed")] = apps - cog
    _insert(zones["CRL"], "2025-1", plan, "d")
    user = make_user("diversity_officer", ["CRL"])
    report = funnel_service.funnel_report(user, "CRL", "campaign:2025-1")
    comp = next(c for c in report.comparisons if c["stage"] == "cognitive_test")
    assert comp["tier"] == "RED"
    assert comp["impact_ratio"] == pytest.approx(0.5, abs=0.001)
    assert "four-fifths" in comp["reason"]
    assert report.family_size >= 1


def test_release_is_built_once_per_data_version(data, make_user, monkeypatch):
    from hrpipeline.services import releases

    calls = []
    real = releases.protect_funnel

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(releases, "protect_funnel", counting)
    funnel_service.clear_cache()
    user = make_user("diversity_officer", ["ANT"])
    first = funnel_service.funnel_report(user, "ANT", "campaign:2024-1").to_dict()
    again = funnel_service.funnel_report(user, "ANT", "year:2024").to_dict()
    assert len(calls) == 1
    funnel_service.clear_cache()  # another worker: the same key gives the same numbers
    assert funnel_service.funnel_report(user, "ANT", "campaign:2024-1").to_dict() == first
    assert again["rows"]


def test_representation_against_the_zone_benchmark_names_its_source(data, make_user):
    from hrpipeline.models import Benchmark

    # The eligible pool (Belgian nationals 18-34) is the benchmark; the residents' figures of
    # the same band (non-Belgians included) are not used.
    for scope, shares in (("18-34:nat", (0.4, 0.1, 0.5)), ("18-34", (0.3, 0.2, 0.5))):
        for group, share in zip(("belgian_origin", "eu_background", "non_eu_background"),
                                shares, strict=True):
            db.session.add(Benchmark(zone_id=data["ANT"].id, migration_background=group,
                                     share=share, population_scope=scope,
                                     source=f"Statbel 2024 test figures {scope}",
                                     is_fallback=False))
    db.session.commit()
    user = make_user("diversity_officer", ["ANT"])
    report = funnel_service.funnel_report(user, "ANT", "year:2024")
    assert report.representation
    assert report.benchmark_label == "Statbel 2024 test figures 18-34:nat"
    assert report.benchmark_scope == "18-34:nat"
    row = next(r for r in report.representation if r["stage"] == "application"
               and r["group"] == "non_eu_background")
    assert row["benchmark_share"] == 0.5 and row["flow"] == "applicants"
    # ~120 of ~460 applicants (26 %) against 50 %: below, after Holm over the tested rows
    # (applicants and hires x EU, non-EU: 4).
    assert row["verdict"] == "below" and report.representation_family == 4
    assert row["p_adjusted"] == "< 0.0001"
    # Shares are of the known backgrounds; unknown is counted beside them (published count).
    first = {r["group"]: r for r in report.rows if r["stage"] == "application"}
    assert row["unknown"] == first["unknown"]["entered"]
    assert row["known"] == sum(first[g]["entered"] for g in ("belgian_origin",
                                                             "eu_background",
                                                             "non_eu_background"))
    assert row["share"] == pytest.approx(first["non_eu_background"]["entered"] / row["known"])
    middle = [r for r in report.representation if r["stage"] == "cognitive_test"]
    assert middle and all(r["verdict"] == "not_tested" and r["p_adjusted"] is None
                          for r in middle)
    hires = [r for r in report.representation if r["stage"] == "interview"]
    assert {r["flow"] for r in hires} == {"hires"}
    assert all(r["verdict"] == "not_tested" for r in report.representation
               if r["group"] == "belgian_origin")
    assert all(r["benchmark_label"] for r in report.representation)
    as_json = report.to_dict()
    assert as_json["representation_test"]["adjustment"] == "holm"


def test_application_to_appointment_ratio_from_published_counts(data, make_user):
    # Reference: Wilson interval (statsmodels proportion_confint method="wilson") of the
    # published (rounded) counts; ratio = rate / Belgian-origin rate.
    from statsmodels.stats.proportion import proportion_confint

    user = make_user("diversity_officer", ["ANT"])
    report = funnel_service.funnel_report(user, "ANT", "year:2024")
    rows = {r["stage"] + "/" + r["group"]: r for r in report.rows}
    conv = {c["group"]: c for c in report.conversion}
    assert set(conv) == {"belgian_origin", "eu_background", "non_eu_background"}
    for g, c in conv.items():
        assert c["applicants"] == rows[f"application/{g}"]["entered"]
        assert c["hires"] == rows[f"interview/{g}"]["passed"]
    ref, non_eu = conv["belgian_origin"], conv["non_eu_background"]
    assert ref["ratio"] is None
    assert non_eu["rate"] == pytest.approx(non_eu["hires"] / non_eu["applicants"])
    lo, hi = proportion_confint(non_eu["hires"], non_eu["applicants"], method="wilson")
    assert (non_eu["rate_low"], non_eu["rate_high"]) == pytest.approx((lo, hi))
    assert non_eu["ratio"] == pytest.approx(
        (non_eu["hires"] / non_eu["applicants"]) / (ref["hires"] / ref["applicants"]), abs=1e-3)
    assert non_eu["ratio_low"] < non_eu["ratio"] < non_eu["ratio_high"]


def _two_stage_plan(campaign_cells):
    """{group: (passed, failed)} at the cognitive test; everyone entered passed application."""
    plan = {}
    for group, (passed, failed) in campaign_cells.items():
        plan[("application", group, "passed")] = passed + failed
        plan[("cognitive_test", group, "passed")] = passed
        plan[("cognitive_test", group, "failed")] = failed
    return plan


def test_rates_are_published_unrounded_so_display_rounds_once(zones, make_user, app):
    """Issue 16 item 10: 20/37 = 0.54054 was published as 0.5405 and shown as 54.0 %
    (0.5405 -> 54.05 -> 54.0); published unrounded it shows as 54.1 %."""
    from flask_babel import force_locale

    from hrpipeline.web.blueprint import pub

    _insert(zones["CRL"], "2025-1", _two_stage_plan(
        {"belgian_origin": (60, 40), "non_eu_background": (20, 17)}), "e")
    user = make_user("diversity_officer", ["CRL"])
    report = funnel_service.funnel_report(user, "CRL", "campaign:2025-1")
    row = next(r for r in report.rows
               if (r["stage"], r["group"]) == ("cognitive_test", "non_eu_background"))
    # The published counts are rounded; the rate is their exact, unrounded ratio.
    assert row["pass_rate"] == row["passed"] / (row["passed"] + row["failed"])
    comp = next(c for c in report.comparisons if c["stage"] == "cognitive_test")
    assert comp["focal_rate"] == row["pass_rate"]
    with app.test_request_context(), force_locale("en"):
        assert str(pub(20 / 37, "rate")) == "54.1%"
        assert str(pub(round(20 / 37, 4), "rate")) == "54.0%"  # the old, twice-rounded value


def test_year_table_with_disagreeing_campaigns_headlines_the_stratified_comparison(
        zones, make_user):
    """Issue 16 item 7: within each campaign the non-EU group passes *more* often (30/200 vs
    10/100; 90/100 vs 160/200), but in the year total it passes less often (120/300 vs
    170/300, ratio 0.71, significant: the collapsed verdict is RED). The year table's headline
    is the stratified comparison, code ``strata_disagree``; the crude RED is kept apart; the
    Breslow-Day p is in the comparisons, the pooled rows, the CSV and the JSON."""
    _insert(zones["CRL"], "2025-1", _two_stage_plan(
        {"belgian_origin": (10, 90), "non_eu_background": (30, 170)}), "f")
    _insert(zones["CRL"], "2025-2", _two_stage_plan(
        {"belgian_origin": (160, 40), "non_eu_background": (90, 10)}), "g")
    user = make_user("diversity_officer", ["CRL"])
    report = funnel_service.funnel_report(user, "CRL", "year:2025")
    comp = next(c for c in report.comparisons if c["stage"] == "cognitive_test")
    assert comp["impact_ratio"] == pytest.approx(120 / 170)
    assert comp["crude_tier"] == "RED"
    assert comp["tier"] == "AMBER" and comp["reason_code"] == "strata_disagree"
    assert comp["headline"] == "stratified" and comp["strata_disagree"] is True
    assert "see each campaign/zone" in comp["reason"]
    assert comp["breslow_day_p"] is not None
    pooled = next(p for p in report.pooled if p["stage"] == "cognitive_test")
    assert pooled["strata_disagree"] is True and pooled["breslow_day_p"] is not None
    assert "strata_disagree" in report.to_csv() and "breslow_day_p" in report.to_csv()
    as_json = json.loads(json.dumps(report.to_dict()))
    assert any(c["headline"] == "stratified" and c["breslow_day_p"] is not None
               for c in as_json["comparisons"])
    assert all("breslow_day_p" in p for p in as_json["pooled"])
