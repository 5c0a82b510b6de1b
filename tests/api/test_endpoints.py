"""What the API endpoints return: the same report as the dashboard, uploads, tokens, audit,
health, the OpenAPI document and the docs page."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy.exc import OperationalError

from hrpipeline.extensions import db
from hrpipeline.models import ApiToken, AuditLog, FunnelRecord
from tests.api.conftest import bearer, funnel_csv


def _actions() -> list[str]:
    return [a.action for a in db.session.query(AuditLog).order_by(AuditLog.id)]


# --- funnel -----------------------------------------------------------------------------------
def test_funnel_json_is_the_services_report_and_audited(client, funnel_data, make_user,
                                                        token_for):
    from hrpipeline.services.funnel import funnel_report

    user = make_user("diversity_officer", ["ANT"])
    response = client.get("/api/v1/funnel?zone=ANT&period=campaign:2024-1&view=retention"
                          "&test=midp", headers=bearer(token_for(user)))
    assert response.status_code == 200
    body = response.get_json()
    expected = funnel_report(user, "ANT", "campaign:2024-1", view="retention", test="midp")
    assert body == _json_roundtrip(expected.to_dict())
    # Counts are rounded to a multiple of k: the 2 'unknown' applicants show as 0 or 5.
    unknown = [r for r in body["rows"] if r["group"] == "unknown" and r["stage"] == "application"]
    assert unknown and unknown[0]["entered"]["value"] in (0, 5)
    assert body["rounding"]["base"] == 5
    entry = db.session.query(AuditLog).filter_by(action="export_funnel").one()
    assert entry.detail["key"] == "ANT/campaign:2024-1" and entry.username == user.username


def _json_roundtrip(value):
    import json

    return json.loads(json.dumps(value, default=str))


def test_funnel_csv_is_the_services_csv(client, funnel_data, make_user, token_for):
    from hrpipeline.services.funnel import funnel_report

    user = make_user("leadership", ["GNT"])
    response = client.get("/api/v1/funnel?zone=GNT&period=year:2024&format=csv",
                          headers=bearer(token_for(user)))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True) == funnel_report(user, "GNT", "year:2024").to_csv()
    assert "attachment" in response.headers["Content-Disposition"]
    assert db.session.query(AuditLog).filter_by(action="export_funnel").one().detail[
        "format"] == "csv"


def test_funnel_bad_parameters_are_422_problems(client, funnel_data, make_user, token_for):
    headers = bearer(token_for(make_user("admin", all_zones=True)))
    response = client.get("/api/v1/funnel?zone=ANT&period=year:2024&reference=martian",
                          headers=headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "reference" in response.get_json()["errors"]
    missing = client.get("/api/v1/funnel?zone=ANT", headers=headers).get_json()
    assert missing["errors"] == {"period": ["Missing data for required field."]}
    # A period outside the fixed catalogue (differencing protection) is not served.
    assert client.get("/api/v1/funnel?zone=ANT&period=year:1999",
                      headers=headers).status_code == 404


# --- uploads ----------------------------------------------------------------------------------
def _upload(client, headers, data: bytes, zone="CRL", **form):
    return client.post("/api/v1/uploads", headers=headers,
                       data={"zone": zone, "kind": "funnel",
                             "file": (io.BytesIO(data), "extract.csv"), **form})


def test_upload_created_listed_and_audited(client, zones, make_user, token_for):
    user = make_user("hr_manager", ["CRL"])
    headers = bearer(token_for(user))
    response = _upload(client, headers, funnel_csv(30))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["zone"] == "CRL" and body["row_count"] == 60 and body["status"] == "stored"
    assert body["uploaded_by"] == user.username and body["campaign"] == "2024-1"
    assert db.session.query(FunnelRecord).count() == 60
    assert "upload" in _actions()
    listed = client.get("/api/v1/uploads", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]


def test_upload_bad_file_is_422_with_every_problem(client, zones, make_user, token_for,
                                                   db_counts):
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    before = db_counts()
    bad = funnel_csv(3).replace(b"2024-03-01", b"31/31/2024").replace(b"female", b"?")
    response = _upload(client, headers, bad)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["problem_count"] >= 3 and len(body["problems"]) == body["problem_count"]
    assert {"row", "column", "value", "code", "message"} <= set(body["problems"][0])
    after = db_counts()
    assert (after["uploads"], after["funnel_records"]) == (before["uploads"],
                                                             before["funnel_records"])


def test_upload_form_errors_are_422(client, zones, make_user, token_for):
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    response = client.post("/api/v1/uploads", headers=headers, data={"zone": "CRL"})
    assert response.status_code == 422
    columns = {p["column"] for p in response.get_json()["problems"]}
    assert columns == {"kind", "file"}
    response = _upload(client, headers, funnel_csv(3), kind="payroll")
    assert response.status_code == 422


def test_duplicate_upload_is_409_and_replace_needs_the_flag(client, zones, make_user,
                                                            token_for):
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    first = _upload(client, headers, funnel_csv(10))
    assert first.status_code == 201
    again = _upload(client, headers, funnel_csv(10))
    assert again.status_code == 409 and again.get_json()["upload_id"] == first.get_json()["id"]
    corrected = _upload(client, headers, funnel_csv(12))  # same campaign, other file
    assert corrected.status_code == 409 and corrected.get_json()["replace_required"] is True
    replaced = _upload(client, headers, funnel_csv(12), replace="true")
    assert replaced.status_code == 201
    assert replaced.get_json()["replaces_id"] == first.get_json()["id"]
    assert db.session.query(FunnelRecord).count() == 24


def test_preview_withdraw_and_restore(client, zones, make_user, token_for, db_counts):
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    first = _upload(client, headers, funnel_csv(10)).get_json()
    before = db_counts()
    form = {"zone": "CRL", "kind": "funnel", "file": (io.BytesIO(funnel_csv(12)), "f.csv")}
    preview = client.post("/api/v1/uploads/preview", headers=headers, data=form,
                          content_type="multipart/form-data")
    assert preview.status_code == 200 and db_counts() == before
    body = preview.get_json()
    assert body["rows"] == 24 and body["campaigns"] == ["2024-1"]
    assert body["replace_required"] is True and body["removes"][0]["id"] == first["id"]

    short = client.post(f"/api/v1/uploads/{first['id']}/withdraw", headers=headers,
                        json={"reason": "x"})
    assert short.status_code == 422
    withdrawn = client.post(f"/api/v1/uploads/{first['id']}/withdraw", headers=headers,
                            json={"reason": "wrong campaign"})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert db.session.query(FunnelRecord).count() == 0
    again = client.post(f"/api/v1/uploads/{first['id']}/withdraw", headers=headers,
                        json={"reason": "wrong campaign"})
    assert again.status_code == 409
    restored = client.post(f"/api/v1/uploads/{first['id']}/restore", headers=headers)
    assert restored.status_code == 200 and restored.get_json()["status"] == "stored"
    assert db.session.query(FunnelRecord).count() == 20
    assert {"upload_withdrawn", "upload_restored"} <= set(_actions())
    other = bearer(token_for(make_user("hr_manager", ["GNT"])))
    assert client.post(f"/api/v1/uploads/{first['id']}/restore",
                       headers=other).status_code == 404


def test_upload_list_is_paginated(client, zones, make_user, token_for):
    user = make_user("hr_manager", ["CRL", "ANT"])
    headers = bearer(token_for(user))
    for i, zone in enumerate(["CRL", "ANT", "CRL"]):
        campaign = f"202{i}-1"
        assert _upload(client, headers, funnel_csv(5, campaign=campaign, seed=i),
                       zone=zone).status_code == 201
    page1 = client.get("/api/v1/uploads?per_page=2", headers=headers).get_json()
    page2 = client.get("/api/v1/uploads?per_page=2&page=2", headers=headers).get_json()
    assert (page1["total"], page1["pages"], len(page1["items"]), len(page2["items"])) == (3, 2,
                                                                                         2, 1)
    ids = [u["id"] for u in page1["items"] + page2["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    crl = client.get("/api/v1/uploads?zone=CRL", headers=headers).get_json()
    assert crl["total"] == 2
    assert client.get("/api/v1/uploads?per_page=500", headers=headers).status_code == 422


# --- tokens -----------------------------------------------------------------------------------
def test_revoked_token_stops_working_and_is_audited(client, make_user, token_for):
    user = make_user("project_staff", ["ANT"])
    secret = token_for(user, "script")
    other = token_for(user, "spare")
    token_id = db.session.query(ApiToken).filter_by(name="script").one().id
    assert client.get("/api/v1/tokens", headers=bearer(secret)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(other)).status_code == 204
    assert client.get("/api/v1/tokens", headers=bearer(secret)).status_code == 401
    listed = client.get("/api/v1/tokens", headers=bearer(other)).get_json()["items"]
    assert {t["name"]: t["revoked_at"] is not None for t in listed} == {"script": True,
                                                                       "spare": False}
    assert _actions().count("token_created") == 2 and "token_revoked" in _actions()
    # Revoking twice is harmless; an unknown id is 404.
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(other)).status_code == 204
    assert client.delete("/api/v1/tokens/99999", headers=bearer(other)).status_code == 404


def test_token_cli_create_prints_secret_once_and_revoke(app, runner, make_user):
    from hrpipeline.services.tokens import token_commands

    for command in token_commands:
        if command.name not in app.cli.commands:
            app.cli.add_command(command)
    user = make_user("diversity_officer", ["ANT"], username="dora")
    result = runner.invoke(args=["token-create", "dora", "nightly export"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"hrp_[\w-]+", result.output).group(0)
    token = db.session.query(ApiToken).one()
    assert token.user_id == user.id and token.token_hash == ApiToken.hash(secret)
    client = app.test_client()
    assert client.get("/api/v1/zones", headers=bearer(secret)).status_code == 200
    assert runner.invoke(args=["token-revoke", str(token.id)]).exit_code == 0
    assert client.get("/api/v1/zones", headers=bearer(secret)).status_code == 401
    assert runner.invoke(args=["token-create", "nobody", "x"]).exit_code != 0
    assert {"token_created", "token_revoked"} <= set(_actions())


# --- audit ------------------------------------------------------------------------------------
def test_audit_filters_and_pagination(client, zones, make_user, token_for, auth):
    admin = make_user("admin", all_zones=True, username="root")
    headers = bearer(token_for(admin))
    officer = make_user("diversity_officer", ["ANT"], username="olga")
    auth.login("olga")
    auth.logout()
    auth.login("olga", password="wrong")
    old = AuditLog(action="login", username="olga", user_id=officer.id,
                   at=dt.datetime(2020, 1, 5, 10, 0))
    db.session.add(old)
    db.session.commit()
    everything = client.get("/api/v1/audit", headers=headers).get_json()
    # token_created, login, logout, login_failed, the 2020 login
    assert everything["total"] == 5
    logins = client.get("/api/v1/audit?action=login&user=olga", headers=headers).get_json()
    assert [e["at"][:4] for e in logins["items"]] == [str(dt.date.today().year), "2020"]
    window = client.get("/api/v1/audit?date_from=2020-01-05&date_to=2020-01-05",
                        headers=headers).get_json()
    assert [e["id"] for e in window["items"]] == [old.id]
    failed = client.get("/api/v1/audit?action=login_failed", headers=headers).get_json()
    assert failed["total"] == 1 and failed["items"][0]["username"] == "olga"
    page = client.get("/api/v1/audit?per_page=3&page=2", headers=headers).get_json()
    assert (page["pages"], len(page["items"])) == (2, 2)


def test_audit_dates_at_the_end_of_the_calendar(client, zones, make_user, token_for):
    """9999-12-31 + 1 day overflowed date (a 500): the filters stay within the calendar."""
    headers = bearer(token_for(make_user("admin", all_zones=True)))
    for query in ("date_to=9999-12-31", "date_from=9999-12-31", "date_from=0001-01-01",
                  "date_from=0001-01-01&date_to=9999-12-31"):
        response = client.get(f"/api/v1/audit?{query}", headers=headers)
        assert response.status_code == 200, (query, response.data[:300])
    assert client.get("/api/v1/audit?date_to=10000-01-01",
                      headers=headers).status_code == 422


# --- health, OpenAPI, docs --------------------------------------------------------------------
def test_health_reports_database_state(client, monkeypatch):
    ok = client.get("/api/v1/health")
    assert ok.status_code == 200
    assert ok.get_json() == {"status": "ok", "version": "0.1.0", "database": "ok"}

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", down)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_openapi_document_declares_auth_errors_and_every_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    assert set(spec["paths"]) == {
        "/api/v1/health", "/api/v1/zones", "/api/v1/catalogue", "/api/v1/funnel",
        "/api/v1/uploads", "/api/v1/uploads/preview", "/api/v1/uploads/{upload_id}/withdraw",
        "/api/v1/uploads/{upload_id}/restore", "/api/v1/tokens", "/api/v1/tokens/{token_id}",
        "/api/v1/audit",
        "/api/v1/pilots", "/api/v1/pilots/{pilot_id}/evaluation", "/api/v1/briefings",
        "/api/v1/retention", "/api/v1/planner"}
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == ["application/problem+json"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert "default" in operation["responses"], (path, method)
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    upload = spec["paths"]["/api/v1/uploads"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_docs_page_uses_only_local_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and "<script>" not in html
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert len(asset.data) < 2_000_000


@pytest.mark.app_config(MAX_CONTENT_LENGTH=10_000)
def test_too_large_upload_is_413_problem(client, zones, make_user, token_for, db_counts):
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    response = _upload(client, headers, funnel_csv(500))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert db_counts()["uploads"] == 0
