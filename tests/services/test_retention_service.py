"""Retention service: scope, disclosure control of every output, agreement with the analysis
modules, and the planted first-years resignation gap of the synthetic demo data.

Reference values: turnover is checked against ``hrpipeline.analysis.retention.flows`` (the CIPD
crude turnover rate, leavers / ((opening + closing) / 2)); the survival statistics themselves are
checked against R's ``survival`` package in ``tests/analysis`` — here we check that the service
publishes them only through the gate.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from hrpipeline.analysis.retention import flows as analysis_flows
from hrpipeline.domain import EU_BACKGROUND, NON_EU_BACKGROUND
from hrpipeline.errors import Forbidden, NotFound
from hrpipeline.extensions import db

REFERENCE_DATE = dt.date(2025, 6, 30)
#: A distinctive exit comment: it must never appear in any output.
SECRET_COMMENT = "Mijn chef Zebrafishkowalczyk noemde mij elke nachtdienst een quotum-agent"
SECRET_WORD = "zebrafishkowalczyk"
#: Count-valued fields of the report (everything else is a rate, p-value, month or label).
COUNT_KEYS = {"count", "total", "leavers", "headcount_start", "headcount_end", "hires", "at_risk",
              "exits",
              "exits_12m", *(f"leavers_{t}" for t in
                             ("voluntary", "involuntary", "retirement", "mobility", "other"))}

COMMENTS = (
    "De werkdruk was te hoog en de ploegen wisselden constant",
    "Te veel werkdruk, te weinig collega's in de ploeg",
    "La charge de travail et les horaires de nuit sont intenables",
    "Geen loopbaan perspectief, promotie duurt jaren",
    "Pas de perspective de carrière ni de promotion",
    "De sfeer in het team was slecht en vijandig",
    "Ambiance hostile dans l'équipe, collègues distants",
)


def _officers(rng: np.random.Generator, zone: str, group: str, n: int, hire_years: tuple[int, int],
              leave_share: float, first_years_share: float) -> list[dict]:
    """Officers hired on the 2nd of a month; exits on the 13th (never a year end or ref date)."""
    rows = []
    for i in range(n):
        year = int(rng.integers(hire_years[0], hire_years[1] + 1))
        hire = dt.date(year, int(rng.integers(1, 13)), 2)
        exit_date = exit_type = reason = comment = None
        if rng.random() < leave_share:
            early = rng.random() < first_years_share
            months = int(rng.integers(2, 24)) if early else int(rng.integers(24, 200))
            day = pd.Timestamp(hire) + pd.DateOffset(months=months)
            candidate = dt.date(day.year, day.month, 13)
            if dt.date(2015, 1, 1) <= candidate <= REFERENCE_DATE:
                exit_date = candidate
                exit_type = "voluntary" if early or rng.random() < 0.5 else str(
                    rng.choice(["involuntary", "retirement", "mobility"]))
                reason = str(rng.choice(["workload", "career", "team_climate", "family"]))
                comment = str(rng.choice(COMMENTS)) if rng.random() < 0.6 else None
        if exit_date is None and hire < dt.date(2014, 1, 1) and rng.random() < 0.2:
            continue  # a few early leavers outside the window are absent from an extract
        rows.append({"officer_ref": f"{zone}-{group}-{i:04d}", "migration_background": group,
                     "gender": str(rng.choice(["female", "male"])),
                     "rank": str(rng.choice(["inspector", "inspector", "chief_inspector"])),
                     "hire_date": hire, "exit_date": exit_date, "exit_type": exit_type,
                     "exit_reason": reason, "exit_comment": comment})
    return rows


def plant_workforce(zones, make_user) -> dict[str, list[dict]]:
    """ANT and GNT workforce extracts written straight into the tables.

    ANT has a small planted group: 3 officers with an EU background, who all leave (one with
    :data:`SECRET_COMMENT`). Returns the rows per zone.
    """
    from hrpipeline.models import Upload, WorkforceRecord

    rng = np.random.default_rng(7)
    uploader = make_user("hr_manager", ["ANT", "GNT"], username="seed.retention")
    data = {
        "ANT": (_officers(rng, "ANT", "belgian_origin", 260, (2000, 2024), 0.45, 0.3)
                + _officers(rng, "ANT", NON_EU_BACKGROUND, 90, (2014, 2024), 0.6, 0.7)
                + _officers(rng, "ANT", "unknown", 12, (2010, 2024), 0.0, 0.0)),
        "GNT": (_officers(rng, "GNT", "belgian_origin", 140, (2002, 2024), 0.4, 0.3)
                + _officers(rng, "GNT", NON_EU_BACKGROUND, 30, (2015, 2024), 0.5, 0.6)),
    }
    eu = [{"officer_ref": f"ANT-eu-{i}", "migration_background": EU_BACKGROUND,
           "gender": "female", "rank": "inspector", "hire_date": dt.date(2017, 3, 2),
           "exit_date": dt.date(2018 + i, 5, 13), "exit_type": "voluntary",
           "exit_reason": "discrimination", "exit_comment": SECRET_COMMENT if i == 0 else None}
          for i in range(3)]
    data["ANT"] += eu
    for code, rows in data.items():
        upload = Upload(zone_id=zones[code].id, user_id=uploader.id, kind="workforce",
                        filename=f"workforce_{code}.csv", sha256=code.ljust(64, "1"),
                        status="stored", reference_date=REFERENCE_DATE, row_count=len(rows))
        db.session.add(upload)
        db.session.flush()
        db.session.execute(insert(WorkforceRecord), [
            {**r, "upload_id": upload.id, "zone_id": zones[code].id} for r in rows])
    db.session.commit()
    from hrpipeline.services import retention

    retention.clear_cache()
    return data


@pytest.fixture
def workforce(app, zones, make_user):
    return plant_workforce(zones, make_user)


# --- helpers that look for leaks in every output ---------------------------------------------


def small_counts_in_dict(obj, k: int, key: str | None = None) -> list:
    """Published count values 1..k-1 anywhere in a to_dict() tree."""
    found = []
    if isinstance(obj, dict):
        if set(obj) == {"value", "suppressed"}:
            v = obj["value"]
            if key in COUNT_KEYS and not obj["suppressed"] and isinstance(v, int) and 1 <= v < k:
                found.append((key, v))
            return found
        for kk, v in obj.items():
            found += small_counts_in_dict(v, k, kk)
    elif isinstance(obj, list):
        for v in obj:
            found += small_counts_in_dict(v, k, key)
    return found


def small_counts_in_csv(text: str, k: int) -> list:
    found = []
    for section in text.split("\n# ")[1:]:
        lines = section.split("\n", 1)[1]
        for row in csv.DictReader(io.StringIO(lines)):
            for col, v in row.items():
                if col in COUNT_KEYS and v and re.fullmatch(r"\d+", v) and 1 <= int(v) < k:
                    found.append((col, v))
    return found


def exit_dates(data: dict[str, list[dict]]) -> set[str]:
    return {r["exit_date"].isoformat() for rows in data.values() for r in rows
            if r["exit_date"] is not None}


# --- tests -----------------------------------------------------------------------------------


def test_scope_other_zone_404_and_pool_403(workforce, make_user):
    from hrpipeline.services.retention import retention_report

    user = make_user("diversity_officer", ["ANT"])
    with pytest.raises(NotFound):
        retention_report(user, "GNT")
    with pytest.raises(NotFound):
        retention_report(user, "NOPE")
    with pytest.raises(Forbidden):
        retention_report(user, "ALL")
    report = retention_report(user, "ANT")
    assert report.zone == "ANT"
    pooled = retention_report(make_user("leadership", all_zones=True), "ALL")
    assert pooled.zone == "ALL"


def test_small_group_never_published_below_k(workforce, make_user):
    """The 3 EU-background leavers of ANT: no output shows a count of 1..k-1."""
    from hrpipeline.services.retention import retention_report

    user = make_user("hr_manager", ["ANT"])
    report = retention_report(user, "ANT")
    k = report.k
    as_dict = report.to_dict()
    assert small_counts_in_dict(as_dict, k) == []
    assert small_counts_in_csv(report.to_csv(), k) == []
    eu_counts = [r["leavers"] for r in report.turnover if r["group"] == EU_BACKGROUND]
    assert eu_counts and all(not isinstance(v, int) or v == 0 or v >= k for v in eu_counts)
    # Their survival curve is withheld (3 < 20 officers): no point of it is published.
    eu = next(s for s in report.km_summary if s["group"] == EU_BACKGROUND)
    assert eu["published"] is False
    assert not [p for p in report.km if p["group"] == EU_BACKGROUND]


def test_no_exit_date_or_comment_in_any_output(workforce, make_user):
    from hrpipeline.services.retention import retention_report

    user = make_user("leadership", all_zones=True)
    dates = exit_dates(workforce)
    assert dates
    for zone in ("ANT", "ALL"):
        report = retention_report(user, zone)
        outputs = [json.dumps(report.to_dict(), ensure_ascii=False), report.to_csv()]
        for text in outputs:
            assert SECRET_WORD not in text.lower()
            assert "quotum" not in text.lower()
            for comment in COMMENTS:
                assert comment not in text
            leaked = [d for d in dates if d in text]
            assert leaked == []
            assert "ANT-" not in text and "GNT-" not in text  # officer references


def _cohorts(rows: list[dict]) -> int:
    """Hire cohorts of a zone's officers in the window (one chain each, plus those hired before)."""
    return len({max(r["hire_date"].year, 2014) for r in rows})


def test_turnover_is_the_analysis_module_within_the_rounding_bound(workforce, make_user):
    """Published headcounts and leavers are sums of rounded cohort chains: each cohort adds an
    error under k, so a published count is within (k − 1) × cohorts of the CIPD figure from
    ``analysis.retention.flows``; the published turnover is the rate of the published counts."""
    from hrpipeline.services.retention import retention_report

    report = retention_report(make_user("hr_manager", ["ANT"]), "ANT")
    frame = pd.DataFrame(workforce["ANT"])
    reference = analysis_flows(frame, "2016-01-01", "2024-12-31", group_col="migration_background")
    expected = {(r.period, r.group): r for r in reference.rows}
    bound = (report.k - 1) * _cohorts(workforce["ANT"])
    errors, checked = [], 0
    for row in report.turnover:
        ref = expected.get((row["period"], row["group"]))
        if ref is None:
            continue
        for key in ("headcount_start", "headcount_end", "leavers"):
            assert row[key] % report.k == 0
            assert abs(row[key] - getattr(ref, key)) <= bound, (row, key)
            errors.append(row[key] - getattr(ref, key))
        average = (row["headcount_start"] + row["headcount_end"]) / 2
        if average >= report.min_denominator:
            assert row["turnover"] == pytest.approx(row["leavers"] / average, abs=1e-9)
        checked += 1
    assert checked >= 30
    assert abs(np.mean(errors)) < report.k  # unbiased rounding: no drift


def test_every_identity_holds_exactly_in_the_published_numbers(workforce, make_user):
    """Issue 14 attack 1 (stock–flow across tables): headcount at the end = start + hires −
    leavers, exit types add up to leavers, groups to all, reasons to the window's leavers, the
    first-year table's hires are the year's hires, and zones add up to the pool — exactly, in
    what is published, so combining tables gives nothing back."""
    from hrpipeline.domain import EXIT_TYPES
    from hrpipeline.services.retention import retention_report

    user = make_user("leadership", all_zones=True)
    reports = {z: retention_report(user, z) for z in ("ANT", "GNT", "ALL")}
    for zone, report in reports.items():
        rows = {(r["period"], r["group"]): r for r in report.turnover}
        for (period, group), r in rows.items():
            if r["hires"] is None:  # the window row
                continue
            assert r["headcount_end"] == r["headcount_start"] + r["hires"] - r["leavers"]
            assert r["leavers"] == sum(r[f"leavers_{t}"] for t in EXIT_TYPES)
            if group != "all":
                continue
            for key in ("headcount_start", "headcount_end", "hires", "leavers"):
                assert r[key] == sum(rows[(period, g)][key] for g in report.groups), (zone, key)
        for f in report.first_year:
            t = rows.get((str(f["cohort"]), f["group"]))
            if t is not None:
                assert f["hires"] == t["hires"]
        reasons: dict[str, int] = {}
        for r in report.reasons:
            reasons[r["group"]] = reasons.get(r["group"], 0) + r["count"]
        for r in report.turnover:
            if "average" in r["period"] and r["group"] != "all":
                assert reasons[r["group"]] == r["leavers"]
    pool = reports["ALL"]
    for name in ("turnover", "first_year"):
        keyed = {z: {(r.get("period", r.get("cohort")), r["group"]): r
                     for r in getattr(reports[z], name)} for z in ("ANT", "GNT")}
        for r in getattr(pool, name):
            key = (r.get("period", r.get("cohort")), r["group"])
            for col in ("leavers", "headcount_end", "hires", "exits_12m"):
                if r.get(col) is not None:
                    parts = [keyed[z][key][col] for z in keyed if key in keyed[z]]
                    assert r[col] == sum(parts), (name, key, col)


def test_reasons_test_and_themes_are_gated(workforce, make_user):
    from hrpipeline.disclosure import is_suppressed
    from hrpipeline.services.retention import retention_report

    report = retention_report(make_user("diversity_officer", ["ANT"]), "ANT")
    eu = [r for r in report.reasons if r["group"] == EU_BACKGROUND]
    assert all(is_suppressed(r["count"]) or r["count"] == 0 or r["count"] >= report.k
               for r in eu)
    # The test runs on the published (rounded) counts, like every verdict (issue 14 item 4).
    assert report.reasons_test["counts"] == "published (rounded)"
    assert report.reasons_test["n_tested"] % report.k == 0
    for row in report.themes["rows"]:
        assert row["top_terms"] == "" or SECRET_WORD not in row["top_terms"]
        c = row["count"]
        assert is_suppressed(c) or c == 0 or c >= report.k


def test_cli_prints_gated_tables(workforce, runner):
    from hrpipeline.services.retention import retention_command

    result = runner.invoke(retention_command, ["--zone", "ANT"])
    assert result.exit_code == 0, result.output
    assert "Turnover" in result.output and re.search(r" x$", result.output, re.M)
    as_json = runner.invoke(retention_command, ["--zone", "ANT", "--json"])
    data = json.loads(as_json.output)
    assert small_counts_in_dict(data, data["k"]) == []
    assert SECRET_WORD not in as_json.output.lower()
    missing = runner.invoke(retention_command, ["--zone", "NOPE"])
    assert missing.exit_code != 0


# --- the synthetic demo data: the planted first-years resignation gap ------------------------


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    """BXN and GNT workforce of the synthetic demo (``generate_demo``), pooled over both zones.

    Both carry the planted 3x first-years hazard.
    """
    from flask_migrate import upgrade

    from hrpipeline import create_app
    from hrpipeline.demo import generate_demo
    from hrpipeline.ingest.store import store_frame
    from hrpipeline.models import Zone
    from hrpipeline.services import retention
    from hrpipeline.services.scope import OPERATOR
    from tests.conftest import app_test_config, drop_pg_database, fresh_database_url

    url = fresh_database_url(tmp_path_factory.mktemp("retention_demo"), "retention_demo")
    app = create_app(app_test_config(url))
    with app.app_context():
        upgrade()
        data = generate_demo()
        for row in data.zones.itertuples(index=False):
            if row.code not in ("BXN", "GNT"):
                continue
            zone = Zone(code=row.code, police_zone_number=str(row.police_zone_number),
                        name_nl=row.name_nl, name_fr=row.name_fr, language=row.language)
            db.session.add(zone)
            db.session.commit()
            frame = data.workforce[data.workforce["zone"] == row.code].drop(columns=["zone"])
            store_frame(zone=zone, kind="workforce", frame=frame,
                        filename=f"demo_workforce_{row.code}.csv", sha256=row.code.ljust(64, "d"),
                        reference_date=data.reference_date)
        retention.clear_cache()
        report = retention.retention_report(OPERATOR, "ALL")
        retention.clear_cache()
        db.session.remove()
        db.engine.dispose()
    yield report
    if url.startswith("postgresql"):
        drop_pg_database(url)


def test_demo_planted_gap_found_for_non_eu_only(demo_report):
    """Planted in ``hrpipeline.demo``: non-EU voluntary-exit hazard x3 in the first 2 years."""
    pair = {p["group"]: p for p in demo_report.pairwise_early}
    summary = {s["group"]: s for s in demo_report.km_summary}
    assert pair[NON_EU_BACKGROUND]["p_band"] in ("< 0.001", "< 0.01", "< 0.05")
    assert pair[NON_EU_BACKGROUND]["direction"] == "more"
    # The published life table (rounded counts, interval widened for the rounding) shows the
    # gap by 24 months; its interval covers what the rounding may have moved.
    non_eu, belgian = summary[NON_EU_BACKGROUND], summary["belgian_origin"]
    assert non_eu["attrition_24m"] > belgian["attrition_24m"]
    assert non_eu["attrition_24m_lower"] < non_eu["attrition_24m"] < non_eu["attrition_24m_upper"]
    assert pair[EU_BACKGROUND]["p_band"] == "≥ 0.05"
    assert any("non-EU background leave in their first two years more often" in f
               for f in demo_report.findings)
    assert not any("an EU background leave" in f for f in demo_report.findings)


def test_demo_report_outputs_are_gated(demo_report):
    assert small_counts_in_dict(demo_report.to_dict(), demo_report.k) == []
    assert small_counts_in_csv(demo_report.to_csv(), demo_report.k) == []
    # Survival at whole years of service, each on a published risk set of at least 20.
    assert demo_report.km
    assert all(p["month"] % 12 == 0 and p["at_risk"] >= 20 for p in demo_report.km)


def test_a_release_that_cannot_be_protected_publishes_nothing_and_says_why(
        app, zones, make_user, monkeypatch, client):
    """Issue 20 item 3 / issue 14: a protection failure is a 503 with a reason on the page and
    in the API, never a 500 or a partial table; the briefing goes on without retention."""
    from hrpipeline.errors import ServiceUnavailable
    from hrpipeline.services import retention as service
    from tests.web.conftest import as_user

    plant_workforce(zones, make_user)
    service.clear_cache()

    def fail(*args, **kwargs):
        raise ValueError("a count cannot be negative")

    monkeypatch.setattr(service, "protect_retention", fail)
    user = make_user("diversity_officer", ["ANT"])
    with pytest.raises(ServiceUnavailable):
        service.retention_report(user, "ANT")
    as_user(client, user)
    page = client.get("/retention?zone=ANT")
    assert page.status_code == 503
    assert "could not be protected" in page.get_data(as_text=True)


def test_concurrent_first_requests_build_the_release_once(app, zones, make_user, monkeypatch):
    """Issue 18: after an upload, several threads asking for the retention page built the same
    release at once. Now one builds and the others wait for it."""
    import threading

    from hrpipeline.services import retention as service

    plant_workforce(zones, make_user)
    service.clear_cache()
    calls = []
    real = service._build_release
    started = threading.Event()

    def counting(*args, **kwargs):
        calls.append(1)
        started.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "_build_release", counting)
    results, errors = [], []

    def ask():
        try:
            with app.app_context():
                results.append(service.get_release())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert errors == [] and len(results) == 4
    assert len(calls) == 1
    assert all(r is results[0] for r in results)


def test_a_median_beyond_a_cut_curve_is_not_called_not_reached():
    """Issue 16 item 10: 'not reached' was printed when the median lay beyond a curve cut short
    for too few at risk."""
    from hrpipeline.services.retention import _median_text

    assert _median_text({"median_months": None, "truncated_at": 36.0}) == \
        "beyond 36 months (the table stops there)"
    assert _median_text({"median_months": None, "truncated_at": 60.0}) == \
        "beyond 60 months (the table stops there)"
    assert _median_text({"median_months": 41.0, "truncated_at": 96.0}) == "41.0"


def test_part_year_annualisation_counts_both_ends():
    """Issue 16 item 10: 1 January to 30 June 2026 is 181 days (both ends in the period), not
    180: annualised over 181 / (365.25 / 12) months."""
    import datetime as dt

    from hrpipeline.services.retention import periods

    last = periods(dt.date(2026, 6, 30))[-1]
    assert last.months == pytest.approx(181 / (365.25 / 12))
    assert periods(dt.date(2026, 12, 31))[-1].months == 12.0


def test_demo_cox_uses_covariates_known_at_hire_and_no_ratio_on_few_exits(demo_report):
    """Issue 16 item 4: rank (recorded at exit or at the extract date) made promoted
    long-servers look protected; a level with two officers gave HR 7.4. The model now uses
    background and gender only, and shows no hazard ratio for a level with < 10 exits."""
    from hrpipeline.services.retention import COX_MIN_EVENTS_PER_LEVEL

    cox = demo_report.cox
    assert cox["fitted"], cox
    assert {t["covariate"] for t in cox["terms"]} <= {"group", "gender"}
    assert any(t["covariate"] == "group" and t["hazard_ratio"] is not None for t in cox["terms"])
    for t in cox["terms"]:
        if t["note"] == "too_few_exits":
            assert t["hazard_ratio"] is None and t["p_value"] is None
    assert COX_MIN_EVENTS_PER_LEVEL == 10


def test_demo_time_split_hazard_ratio_shows_the_early_gap_fading(demo_report):
    """Issue 16 item 4, proportional hazards: the demo plants a non-EU hazard x2.6 in the first
    24 months and x1.0 after; the time-split model finds the first clearly above the second."""
    periods = {(p["period"], p["level"]): p for p in demo_report.cox["periods"]}
    early = periods[("first_years", NON_EU_BACKGROUND)]
    late = periods[("later_years", NON_EU_BACKGROUND)]
    assert early["hazard_ratio"] is not None and early["hazard_ratio"] > 1.5
    assert late["hazard_ratio"] is None or late["hazard_ratio"] < early["hazard_ratio"]


def test_hire_anniversary_splits_exits_as_dateoffset_does():
    """An exit on or after the hire anniversary of its year starts the next year of service;
    a 29 February hire has its anniversary on 28 February in other years (pandas DateOffset)."""
    from hrpipeline.services.retention import WorkforceData, officer_frame

    rows = [("2020-02-29", "2021-02-28"), ("2020-02-29", "2021-02-27"), ("2019-06-15", "2020-06-14"),
            ("2019-06-15", "2020-06-15"), ("2019-06-15", "2019-12-01"), ("2010-01-01", "2016-01-01")]
    frame = pd.DataFrame({
        "zone": "Z", "officer_ref": [f"o{i}" for i in range(len(rows))],
        "migration_background": "belgian_origin", "gender": "female", "rank": "inspector",
        "hire_date": pd.to_datetime([h for h, _ in rows]),
        "exit_date": pd.to_datetime([e for _, e in rows]), "exit_type": "voluntary",
        "exit_reason": "workload", "exit_comment": None})
    out = officer_frame(WorkforceData(frame, {"Z": dt.date(2024, 12, 31)}))
    expected = [int(pd.Timestamp(e) >= pd.Timestamp(h) + pd.DateOffset(
        years=pd.Timestamp(e).year - pd.Timestamp(h).year)) for h, e in rows]
    expected[-1] = 1  # hired before the window: one cohort, no anniversary split
    assert out["after_anniversary"].tolist() == expected == [1, 0, 0, 1, 1, 1]
    assert out["cohort"].tolist() == ["2020", "2020", "2019", "2019", "2019", "pre"]


def test_turnover_interval_and_rate_ratio_from_published_counts():
    """Issue 16 ("intervals for turnover rates and rate ratios between groups"): reference
    values by hand — log-normal with Poisson plus rounding variance (k²/4 per cohort chain);
    a published 0 gets the exact Poisson upper bound of k − 1 events (Garwood 1936, checked
    against scipy's chi-square quantile)."""
    import math

    from scipy import stats

    from hrpipeline.disclosure import Policy
    from hrpipeline.services.retention import _rate_interval, _rate_ratio

    low, high = _rate_interval(40, 500.0, 10, 5)
    sd = math.sqrt(40 + 10 * 25 / 4) / 40
    assert (low, high) == pytest.approx((0.08 * math.exp(-1.959964 * sd),
                                         0.08 * math.exp(1.959964 * sd)), rel=1e-6)
    assert _rate_interval(0, 100.0, 3, 5) == (0.0, pytest.approx(
        stats.chi2.ppf(0.975, 10) / 2 / 100))
    ratio, lo, hi = _rate_ratio((30, 300.0, 8), (60, 1200.0, 12), Policy(k=5))
    assert ratio == pytest.approx(2.0)
    var = (30 + 8 * 6.25) / 900 + (60 + 12 * 6.25) / 3600
    assert (lo, hi) == pytest.approx((2 * math.exp(-1.959964 * math.sqrt(var)),
                                      2 * math.exp(1.959964 * math.sqrt(var))), rel=1e-6)
    assert _rate_ratio((0, 300.0, 8), (60, 1200.0, 12), Policy(k=5)) == (None, None, None)


def test_window_rows_carry_the_interval_and_the_ratio_to_the_reference(workforce, make_user):
    from hrpipeline.services.retention import retention_report

    report = retention_report(make_user("hr_manager", ["ANT"]), "ANT")
    window = {r["group"]: r for r in report.turnover if "average" in r["period"]}
    ref = window["belgian_origin"]
    assert ref["turnover_lower"] < ref["turnover"] < ref["turnover_upper"]
    assert ref["rate_ratio"] is None
    non_eu = window[NON_EU_BACKGROUND]
    assert non_eu["rate_ratio"] == pytest.approx(non_eu["turnover"] / ref["turnover"])
    assert non_eu["rate_ratio_lower"] < non_eu["rate_ratio"] < non_eu["rate_ratio_upper"]
