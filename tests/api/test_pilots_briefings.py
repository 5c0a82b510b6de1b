"""Pilots, pilot evaluations and briefings through the API: the services' output, scoped."""

from __future__ import annotations

from hrpipeline.extensions import db
from hrpipeline.models import AuditLog
from tests.api.conftest import bearer
from tests.api.test_access import _refused


def test_pilot_list_and_evaluation_are_the_services(client, pilot, make_user, token_for):
    from hrpipeline.services.pilots import evaluate

    officer = make_user("diversity_officer", ["ANT", "GNT"])
    headers = bearer(token_for(officer))
    listed = client.get("/api/v1/pilots", headers=headers).get_json()["items"]
    assert [(p["id"], p["zones"], p["comparison_zones"]) for p in listed] == [
        (pilot.id, ["ANT"], ["GNT"])]
    response = client.get(f"/api/v1/pilots/{pilot.id}/evaluation?lang=nl", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == evaluate(officer, pilot.id, lang="nl").to_dict()
    csv = client.get(f"/api/v1/pilots/{pilot.id}/evaluation?format=csv", headers=headers)
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True) == evaluate(officer, pilot.id).to_csv()
    assert db.session.query(AuditLog).filter_by(action="export_pilot_evaluation").count() == 2


def test_pilot_of_other_zones_is_not_found(client, pilot, make_user, token_for):
    # A pilot pools its pilot and comparison zones: seeing only one of them is not enough.
    officer = make_user("diversity_officer", ["ANT"])
    headers = bearer(token_for(officer))
    assert client.get("/api/v1/pilots", headers=headers).get_json()["items"] == []
    _refused(client.get(f"/api/v1/pilots/{pilot.id}/evaluation", headers=headers), 404)
    _refused(client.get("/api/v1/pilots/999/evaluation", headers=headers), 404)


def test_briefing_pdf_and_html(client, funnel_data, make_user, token_for):
    lead = make_user("leadership", ["ANT"])
    headers = bearer(token_for(lead))
    pdf = client.get("/api/v1/briefings?zone=ANT&period=year:2024&lang=fr", headers=headers)
    assert pdf.status_code == 200, pdf.get_data(as_text=True)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    html = client.get("/api/v1/briefings?zone=ANT&period=year:2024&format=html&lang=nl",
                      headers=headers)
    assert html.mimetype == "text/html" and "<html" in html.get_data(as_text=True).lower()
    downloads = db.session.query(AuditLog).filter_by(action="briefing_download").all()
    assert sorted(d.detail["format"] for d in downloads) == ["html", "pdf"]
    _refused(client.get("/api/v1/briefings?zone=ANT&period=2024", headers=headers), 422)


def test_retention_is_the_services_report(client, zones, make_user, token_for):
    import datetime as dt

    from hrpipeline.models import Upload, WorkforceRecord
    from hrpipeline.services.retention import clear_cache, retention_report

    upload = Upload(zone_id=zones["ANT"].id, kind="workforce", filename="w.csv",
                    sha256="w" * 64, row_count=120)
    db.session.add(upload)
    db.session.flush()
    groups = ("belgian_origin", "non_eu_background", "eu_background")
    rows = []
    for i in range(120):
        exit_date = dt.date(2023, 1 + i % 12, 1) if i % 4 == 0 else None
        rows.append(dict(upload_id=upload.id, zone_id=zones["ANT"].id, officer_ref=f"O{i}",
                         migration_background=groups[i % 3], gender="female",
                         rank="inspector", hire_date=dt.date(2015 + i % 6, 9, 1),
                         exit_date=exit_date,
                         exit_type="voluntary" if exit_date else None,
                         exit_reason="workload" if exit_date else None))
    db.session.execute(db.insert(WorkforceRecord), rows)
    db.session.commit()
    clear_cache()
    officer = make_user("diversity_officer", ["ANT"])
    headers = bearer(token_for(officer))
    response = client.get("/api/v1/retention?zone=ANT", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    import json

    expected = json.loads(json.dumps(retention_report(officer, "ANT").to_dict(), default=str))
    assert response.get_json() == expected
    _refused(client.get("/api/v1/retention?zone=ALL", headers=headers), 403)
