"""Briefing service on the SYNTHETIC demo data: gated numbers only, rendered PDF, scope, audit.

The expected headline numbers are read from the gated ``FunnelReport`` and the protected
release (the only sources the briefing may use), then looked up in the PDF text (pypdf).
A planted group of 3 applicants with an unknown background (k = 5) must never appear as a
standalone number anywhere in the text.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select

from hrpipeline.disclosure import is_suppressed
from hrpipeline.errors import Forbidden, NotFound, ValidationFailed
from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, Pilot, pilot_zones
from hrpipeline.reporting.briefing import format_value
from hrpipeline.services import briefing as service
from hrpipeline.services import funnel as funnel_service
from hrpipeline.services import pilots as pilot_service
from hrpipeline.services import releases

PLANTED = 3
#: Two demo zones keep the year's suppression audit (LP) small enough for a fast test; the
#: demo pilot is restricted to them (GNT pilot zone, ANT comparison zone).
DEMO_ZONES = ("ANT", "GNT")


@pytest.fixture
def demo(zones):
    """Demo funnel extracts (generate_demo -> store_frame) of four zones and the demo pilot;
    in ANT 2025 the unknown-background applicants are replaced by a planted group of 3."""
    import pandas as pd

    from hrpipeline.demo import generate_demo
    from hrpipeline.ingest.store import store_frame

    data = generate_demo()
    funnel = data.funnel
    ant25 = (funnel["zone"] == "ANT") & (funnel["campaign_year"] == 2025)
    funnel = funnel[~(ant25 & (funnel["migration_background"] == "unknown"))]
    template = funnel[(funnel["zone"] == "ANT") & (funnel["campaign_year"] == 2025)
                      & (funnel["stage"] == "application")].iloc[0]
    planted = pd.DataFrame([{**template.to_dict(), "candidate_ref": f"PLANTED-{i}",
                             "migration_background": "unknown", "outcome": "withdrew"}
                            for i in range(PLANTED)])
    funnel = pd.concat([funnel, planted], ignore_index=True)
    for code in DEMO_ZONES:
        frame = funnel[funnel["zone"] == code].drop(columns=["zone"])
        store_frame(zone=zones[code], kind="funnel", frame=frame,
                    filename=f"demo_funnel_{code}.csv",
                    sha256=hashlib.sha256(code.encode()).hexdigest())
    for spec in data.pilots:
        pilot = Pilot(name=spec["name"], target=spec["target"], start_date=spec["start_date"])
        db.session.add(pilot)
        db.session.flush()
        for role, key in (("pilot", "zones"), ("comparison", "comparison_zones")):
            for code in (c for c in spec[key] if c in DEMO_ZONES):
                db.session.execute(pilot_zones.insert().values(
                    pilot_id=pilot.id, zone_id=zones[code].id, role=role))
    db.session.commit()
    funnel_service.clear_cache()
    pilot_service.clear_cache()
    return data


def _text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


def test_briefing_pdf_from_demo_data(demo, make_user, tmp_path):
    boss = make_user("leadership", list(DEMO_ZONES))  # sees every zone of the demo pilot
    report = funnel_service.funnel_report(boss, "ANT", "year:2025", lang="nl")
    assert report.quality["unknown_at_first_stage"] in (0, 5)  # the planted 3 is rounded

    pdf = service.briefing_pdf(boss, "ANT", "year:2025", "nl")
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)

    # Headline numbers equal the gated sources, printed in Dutch conventions.
    release = releases.pool_release(2025)
    applications = release.value(("zone", "stage"), zone="ANT", stage=report.stages[0])
    assert not is_suppressed(applications)
    assert format_value(applications, "", "nl") in text
    # The briefing's representation table lists the known backgrounds.
    shares = {r["group"]: r["share"] for r in report.rows
              if r["stage"] == report.stages[0] and r["group"] != "unknown"}
    published = [v for v in shares.values() if not is_suppressed(v)]
    assert published, shares
    for value in published:
        assert format_value(round(value * 100, 1), "%", "nl").replace("\u00a0", " ") in text
    if any(is_suppressed(v) for v in shares.values()):
        assert re.search(r"(?<!\w)x(?!\w)", text)
    assert "Kerncijfers" in text and "SYNTHETISCHE" in text
    assert "x = verborgen om de privacy te beschermen" in text
    # The RED stage of the demo (planted cognitive-test gap) is flagged.
    flat = " ".join(text.split())
    assert "Cognitieve proef Niet-EU-herkomst ROOD" in flat
    # The demo pilot covers ANT (comparison zone): its verdict is listed, translated.
    assert "Anonymised first screening" in flat and "Te weinig gegevens" in flat

    # The planted count never appears as a standalone number (page numbers and the
    # generation date are fixed texts, removed first).
    body = re.sub(r"Pagina \d+ van \d+", "", text)
    body = re.sub(r"Aangemaakt op [^\n]*", "", body)
    assert not re.search(rf"(?<![\d.,]){PLANTED}(?![\d.,])", body), body

    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "briefing_download"))
    assert log.zone_id is not None and log.detail["format"] == "pdf"
    assert log.user_id == boss.id

    # Rasterise page 1 (pdftoppm): required in CI, skipped locally when absent.
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm is required in CI")
        pytest.skip("pdftoppm is absent")
    path = tmp_path / "briefing.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True, timeout=60)
    pngs = list(tmp_path.glob("page*.png"))
    assert pngs and pngs[0].read_bytes().startswith(b"\x89PNG")


def test_briefing_scope_roles_and_input(demo, make_user):
    boss = make_user("leadership", ["ANT"])
    with pytest.raises(NotFound):
        service.build_briefing(boss, "GNT", "year:2025", "nl")
    with pytest.raises(Forbidden):
        service.build_briefing(boss, "ALL", "year:2025", "nl")
    with pytest.raises(ValidationFailed):
        service.build_briefing(boss, "ANT", "2025", "nl")
    with pytest.raises(ValidationFailed):
        service.build_briefing(boss, "ANT", "year:2025", "de")
    officer = make_user("diversity_officer", ["ANT"])
    with pytest.raises(Forbidden):
        service.build_briefing(officer, "ANT", "year:2025", "en")
    # A pilot with a zone outside the reader's scope is not listed in the briefing.
    html = service.briefing_html(make_user("leadership", ["GNT"]), "GNT", "year:2025", "fr")
    assert "Anonymised first screening" not in html
    assert "Projets pilotes" not in html and "Aucun projet pilote" in html
    assert "Chiffres clés" in html


@pytest.mark.parametrize(("lang", "words"), [("en", "see each campaign/zone"),
                                             ("nl", "bekijk elke campagne/zone"),
                                             ("fr", "voir chaque campagne/zone")])
def test_flag_of_a_stratified_headline_says_strata_disagree(lang, words):
    """Issue 16 item 7: a comparison whose headline is the stratified one (``strata_disagree``)
    is flagged in the PDF with "strata disagree", not with the collapsed rates."""
    from types import SimpleNamespace

    comparison = {"stage": "interview", "group": "non_eu_background", "tier": "AMBER",
                  "reason_code": "strata_disagree", "reason_params": {"p_band": "< 0.01"},
                  "focal_rate": 0.4, "reference_rate": 0.6, "view": "decision"}
    report = SimpleNamespace(comparisons=[comparison], stages=["interview"])
    (flag,) = service._flags([report], lang)
    assert words in flag.reason and flag.tier == "amber"
    assert "40" not in flag.reason  # the collapsed rate is not the verdict


def test_a_year_briefing_shows_that_years_turnover_not_the_window_average():
    """Issue 16 item 10: a "Year 2025" briefing showed the 2015-2026 average turnover."""
    from types import SimpleNamespace

    turnover = [{"period": p, "group": "non_eu_background", "turnover": v}
                for p, v in (("2024", 0.08), ("2025", 0.12), ("2026 (to 2026-06-30)", 0.05),
                             ("2015–2026 (annual average)", 0.07))]
    report = SimpleNamespace(turnover=turnover, first_year=[], findings=[])
    rows, _ = service._attrition(report, "en", 2025)
    assert [r.turnover for r in rows] == [12.0]
    rows, _ = service._attrition(report, "en", 2019)  # a year without a row: nothing shown
    assert rows == []
