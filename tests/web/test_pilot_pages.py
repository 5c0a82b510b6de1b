"""Pilot and briefing pages: roles, scope, CSRF form, downloads and the CLI commands."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from hrpipeline.extensions import db
from hrpipeline.models import AuditLog, Pilot
from hrpipeline.services import pilots as pilot_service
from tests.web.conftest import as_user


@pytest.fixture(autouse=True)
def _blueprint(app):
    """Until the factory registers the blueprint (before any request of the test)."""
    from hrpipeline.web.pilots import bp

    if "pilots" not in app.blueprints:
        app.register_blueprint(bp)
    pilot_service.clear_cache()


def _form(**kw):
    data = {"name": "Preparation sessions", "target": "cognitive_test", "zones": ["ANT"],
            "comparison_zones": ["GNT"], "start_date": "2024-06-01", "description": "test"}
    data.update(kw)
    return data


def test_anonymous_goes_to_login(client):
    for path in ("/pilots", "/pilots/1", "/briefings", "/briefings/download?zone=ANT"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_leadership_downloads_a_briefing(client, funnel_data, make_user, app):
    boss = make_user("leadership", ["ANT"])
    as_user(client, boss)
    page = client.get("/briefings")
    assert page.status_code == 200 and b"year:2024" in page.data
    pdf = client.get("/briefings/download?zone=ANT&period=year:2024&lang=fr&format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    html = client.get("/briefings/download?zone=ANT&period=year:2024&lang=nl&format=html")
    assert html.status_code == 200 and "Kerncijfers" in html.get_data(as_text=True)
    n = db.session.scalar(select(func.count(AuditLog.id))
                          .where(AuditLog.action == "briefing_download"))
    assert n == 2
    # Another zone's briefing: 404 (same answer as a zone that does not exist).
    other = client.get("/briefings/download?zone=GNT&period=year:2024&lang=nl&format=pdf")
    assert other.status_code == 404
    assert client.get("/briefings/download?zone=ANT&period=year:2024&format=doc").status_code \
        == 404


def test_diversity_officer_cannot_register_pilots_or_download_briefings(client, zones,
                                                                         make_user):
    officer = make_user("diversity_officer", all_zones=True)
    as_user(client, officer)
    assert client.post("/pilots", data=_form()).status_code == 403
    assert db.session.scalar(select(func.count(Pilot.id))) == 0
    assert client.get("/briefings").status_code == 403
    page = client.get("/pilots")
    assert page.status_code == 200 and b"Register a pilot" not in page.data


def test_project_staff_registers_and_evaluates_a_pilot(client, funnel_data, make_user):
    staff = make_user("project_staff", all_zones=True)
    as_user(client, staff)
    assert b"Register a pilot" in client.get("/pilots").data
    response = client.post("/pilots", data=_form())
    assert response.status_code == 302
    pilot_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    detail = client.get(f"/pilots/{pilot_id}")
    assert detail.status_code == 200
    # 2024-1 and 2024-2 both start on 1 March 2024, before the start: no after data.
    assert b'data-verdict="too_few"' in detail.data
    chart = client.get(f"/pilots/{pilot_id}/gap.png")
    assert chart.status_code == 200 and chart.data.startswith(b"\x89PNG")
    assert client.get(f"/pilots/{pilot_id}.csv").status_code == 200
    # Bad input is shown inline (422), nothing stored.
    bad = client.post("/pilots", data=_form(comparison_zones=["ANT"]))
    assert bad.status_code == 422 and b"pilot-problems" in bad.data
    assert db.session.scalar(select(func.count(Pilot.id))) == 1
    # A scoped user sees that a pilot involves their zone, but not its evaluation, which
    # pools another zone.
    ant = make_user("project_staff", ["ANT"])
    as_user(client, ant)
    assert client.get(f"/pilots/{pilot_id}").status_code == 404
    listed = client.get("/pilots").data
    assert b"Preparation sessions" in listed and f"/pilots/{pilot_id}".encode() not in listed


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_register_form_requires_csrf_token(client, zones, make_user):
    as_user(client, make_user("project_staff", all_zones=True))
    response = client.post("/pilots", data=_form())
    assert response.status_code in (400, 422)
    assert db.session.scalar(select(func.count(Pilot.id))) == 0


def test_cli_briefing_and_pilot_evaluate(runner, funnel_data, zones, tmp_path):
    from hrpipeline.briefing_cli import briefing_command, pilot_evaluate_command

    out = tmp_path / "b.pdf"
    result = runner.invoke(briefing_command, ["--zone", "ANT", "--period", "year:2024",
                                              "--lang", "nl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    html = tmp_path / "b.html"
    result = runner.invoke(briefing_command, ["--zone", "ALL", "--period", "year:2024",
                                              "--format", "html", "-o", str(html)])
    assert result.exit_code == 0, result.output
    assert "All zones" in html.read_text(encoding="utf-8")
    missing = runner.invoke(briefing_command, ["--zone", "XXX", "--period", "year:2024",
                                               "-o", str(out)])
    assert missing.exit_code != 0 and "XXX" in missing.output

    pilot = Pilot(name="P", target="cognitive_test", start_date=dt.date(2024, 1, 1))
    db.session.add(pilot)
    db.session.commit()
    from hrpipeline.models import pilot_zones

    db.session.execute(pilot_zones.insert().values(pilot_id=pilot.id, zone_id=zones["ANT"].id,
                                                   role="pilot"))
    db.session.commit()
    result = runner.invoke(pilot_evaluate_command, [str(pilot.id)])
    assert result.exit_code == 0, result.output
    assert "Verdict: too_few" in result.output
    assert runner.invoke(pilot_evaluate_command, ["999"]).exit_code != 0
