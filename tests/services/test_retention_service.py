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
COUNT_KEYS = {"count", "total", "leavers", "headcount_start", "headcount_end", "hires",
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


def test_turnover_matches_the_analysis_module(workforce, make_user):
    """Published turnover = CIPD crude rate from ``analysis.retention.flows``, wherever the gate
    publishes it (headcounts, leavers and rates, every group and year).

    The fixture zone has about 8 leavers a year split over groups of 5 and 3, so most yearly
    leaver counts are hidden: a published total of 6 with a hidden group of 5 would pin the
    small group to an interval narrower than k (see docs/disclosure-control.md). The window row
    (all years) is published and checked against the raw records.
    """
    from hrpipeline.disclosure import is_suppressed
    from hrpipeline.services.retention import WINDOW_START, retention_report

    report = retention_report(make_user("hr_manager", ["ANT"]), "ANT")
    frame = pd.DataFrame(workforce["ANT"])
    reference = analysis_flows(frame, "2016-01-01", "2024-12-31", group_col="migration_background")
    expected = {(r.period, r.group): r for r in reference.rows}
    checked = {"headcount": 0, "leavers": 0}
    for row in report.turnover:
        ref = expected.get((row["period"], row["group"]))
        if ref is None:
            continue
        for key in ("headcount_start", "headcount_end"):
            if not is_suppressed(row[key]):
                assert row[key] == getattr(ref, key)
                checked["headcount"] += 1
        if not is_suppressed(row["leavers"]):
            assert row["leavers"] == ref.leavers
            checked["leavers"] += 1
        if isinstance(row["turnover"], float):
            assert row["turnover"] == pytest.approx(ref.turnover_annualised, abs=1e-4)
    assert checked["headcount"] >= 18 and checked["leavers"] >= 3
    window = next(r for r in report.turnover if r["group"] == "all" and "average" in r["period"])
    exits = frame["exit_date"].dropna()
    in_window = int(((exits >= WINDOW_START) & (exits <= REFERENCE_DATE)).sum())
    assert window["leavers"] == in_window


def test_pool_minus_other_zone_never_gives_back_a_hidden_cell(workforce, make_user):
    """Joint protection: ALL − GNT = ANT, so a hidden ANT cell needs a hidden partner."""
    from hrpipeline.disclosure.lp import TOTAL, is_suppressed
    from hrpipeline.services.retention import get_release

    release = get_release()
    for name, table in release.tables.items():
        cells = table.cells
        index = {tuple(k): v for k, v in zip(cells[list(table.dims)].itertuples(
            index=False, name=None), cells["published_value"], strict=True)}
        for key, value in index.items():
            if key[0] != "ANT" or not is_suppressed(value):
                continue
            pool = index.get((TOTAL, *key[1:]))
            other = index.get(("GNT", *key[1:]), 0)
            assert pool is None or is_suppressed(pool) or is_suppressed(other), (name, key)


def test_reasons_test_and_themes_are_gated(workforce, make_user):
    from hrpipeline.disclosure import is_suppressed
    from hrpipeline.services.retention import retention_report

    report = retention_report(make_user("diversity_officer", ["ANT"]), "ANT")
    eu = [r for r in report.reasons if r["group"] == EU_BACKGROUND]
    assert all(is_suppressed(r["count"]) or r["count"] == 0 or r["count"] >= report.k
               for r in eu)
    # A hidden cell among the tested ones: the p-value is published only as a band.
    p = report.reasons_test["p_value"]
    assert p is None or p.startswith(("<", "≥"))
    for row in report.themes["rows"]:
        assert row["top_terms"] == "" or SECRET_WORD not in row["top_terms"]
        c = row["count"]
        assert is_suppressed(c) or c == 0 or c >= report.k


def test_cli_prints_gated_tables(workforce, runner):
    from hrpipeline.services.retention import retention_command

    result = runner.invoke(retention_command, ["--zone", "ANT"])
    assert result.exit_code == 0, result.output
    assert "Turnover" in result.output and " x " in result.output
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

    Two zones keep the joint LP audit fast; both carry the planted 3x first-years hazard.
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
    assert summary[NON_EU_BACKGROUND]["attrition_24m"] > summary["belgian_origin"]["attrition_24m"]
    assert summary[NON_EU_BACKGROUND]["attrition_12m"] > summary["belgian_origin"]["attrition_12m"]
    assert pair[EU_BACKGROUND]["p_band"] == "≥ 0.05"
    assert any("non-EU background leave in their first two years more often" in f
               for f in demo_report.findings)
    assert not any("an EU background leave" in f for f in demo_report.findings)


def test_demo_report_outputs_are_gated(demo_report):
    assert small_counts_in_dict(demo_report.to_dict(), demo_report.k) == []
    assert small_counts_in_csv(demo_report.to_csv(), demo_report.k) == []
    # Curves: monthly grid, never fewer than 10 at risk (survival.publishable_km rules).
    assert all(float(p["month"]).is_integer() and p["at_risk"] >= 10 for p in demo_report.km)


def test_first_year_hires_never_give_back_hidden_leavers(workforce, make_user):
    """Joiners = headcount end − headcount start + leavers. An attacker with the first-year
    table's hires and the published headcounts would compute any hidden yearly leaver count:
    so every published hire count must be the one the published stocks and leavers already
    give, and a cohort's hires are hidden wherever that year's leavers are."""
    from hrpipeline.disclosure import is_suppressed
    from hrpipeline.services.retention import retention_report

    for user, zone in ((make_user("hr_manager", ["ANT"]), "ANT"),
                       (make_user("leadership", all_zones=True), "ALL")):
        report = retention_report(user, zone)
        turnover = {(r["period"], r["group"]): r for r in report.turnover}
        attacked = 0
        for row in report.first_year:
            t = turnover.get((str(row["cohort"]), row["group"]))
            if t is None:
                continue
            if is_suppressed(t["leavers"]):
                assert is_suppressed(row["hires"]), (zone, row)
                attacked += 1
            elif not is_suppressed(row["hires"]):
                assert row["hires"] == t["headcount_end"] - t["headcount_start"] + t["leavers"]
            if is_suppressed(row["hires"]) or is_suppressed(row["exits_12m"]):
                assert is_suppressed(row["attrition"]) or row["attrition"] is None
        assert attacked >= 3, zone


def test_pool_first_year_exits_hidden_when_a_zone_is_small(workforce, make_user):
    """Pool − other zones = one zone: a pooled count of exits within 12 months is published only
    if no zone's count behind it is 1..k-1."""
    from hrpipeline.disclosure import is_suppressed
    from hrpipeline.services.retention import _zone_exits_12m, get_release, retention_report

    report = retention_report(make_user("leadership", all_zones=True), "ALL")
    per_zone = _zone_exits_12m(get_release())
    checked = 0
    for row in report.first_year:
        parts = [n for (z, c, g), n in per_zone.items()
                 if c == int(row["cohort"]) and g == row["group"]]
        if any(1 <= n < report.k for n in parts):
            assert is_suppressed(row["exits_12m"]), row
            checked += 1
    assert checked >= 1


def test_a_release_that_cannot_be_protected_publishes_nothing_and_says_why(
        app, zones, make_user, monkeypatch, client):
    """Issue 20 item 3 / issue 14: a protection failure is a 503 with a reason on the page and
    in the API, never a 500 or a partial table; the briefing goes on without retention."""
    from hrpipeline.disclosure.lp import DisclosureError
    from hrpipeline.errors import ServiceUnavailable
    from hrpipeline.services import retention as service
    from tests.web.conftest import as_user

    plant_workforce(zones, make_user)
    service.clear_cache()

    def fail(*args, **kwargs):
        raise DisclosureError("no cell left to hide")

    monkeypatch.setattr(service, "_protected", fail)
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

    assert _median_text({"median_months": None, "truncated_at": 96.0}) == \
        "beyond 96 months (curve stops there)"
    assert _median_text({"median_months": None, "truncated_at": None}) == "not reached"
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
