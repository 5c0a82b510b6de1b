"""Requests that used to end in a 500 but are the client's mistake (4xx) or a passing outage
(503): deeply nested JSON, ids beyond PostgreSQL's integer, dates at the end of the calendar,
and /health without a database. Run on PostgreSQL too (HRPIPELINE_TEST_DATABASE_URL)."""

from __future__ import annotations

import pytest

from hrpipeline import create_app
from tests.conftest import app_test_config
from tests.web.conftest import as_user

NESTED = "[" * 5000 + "]" * 5000


@pytest.fixture
def api_app(app):
    if "api" not in app.blueprints:
        from hrpipeline.api import init_app

        init_app(app)
    return app


@pytest.mark.parametrize("method, path", [
    ("GET", "/health"), ("POST", "/login"), ("GET", "/api/v1/health"),
    ("POST", "/api/v1/tokens"), ("GET", "/api/v1/zones")])
def test_deeply_nested_json_is_a_400_not_a_500(client, api_app, method, path):
    response = client.open(path, method=method, data=NESTED, content_type="application/json")
    assert response.status_code == 400, response.data[:300]
    if path.startswith("/api/"):
        assert response.mimetype == "application/problem+json"
        assert "nested" in response.get_json()["detail"]


def test_moderately_nested_json_is_still_read(client, api_app):
    body = "[" * 50 + "]" * 50
    response = client.get("/health", data=body, content_type="application/json")
    assert response.status_code == 200


def test_ids_beyond_the_database_integer_are_404(client, api_app, zones, make_user):
    admin = make_user("admin", all_zones=True)
    staff = make_user("project_staff", all_zones=True)
    big = 2**31
    as_user(client, staff)
    for path in (f"/pilots/{big}", f"/pilots/{big}/gap.png", f"/pilots/{big}.csv",
                 f"/pilots/{2**63}", f"/pilots/{2**31 - 1}"):
        assert client.get(path).status_code == 404, path
    as_user(client, admin)
    assert client.post(f"/admin/users/{big}/deactivate").status_code == 404
    assert client.post(f"/admin/users/{2**31 - 1}/deactivate").status_code in (302, 404)


def test_a_page_number_beyond_the_database_integer_is_not_a_500(client, zones, make_user):
    as_user(client, make_user("hr_manager", ["ANT"]))
    for page in (2**31, 2**63, 10**30):
        response = client.get(f"/uploads?page={page}")
        assert response.status_code in (200, 404), (page, response.status_code)


@pytest.mark.parametrize("url", ["sqlite:////nonexistent-dir/hrpipeline.sqlite",
                                 "postgresql+psycopg://postgres@127.0.0.1:9/gone"])
def test_health_without_a_database_is_a_503_with_a_json_body(url):
    application = create_app(app_test_config(url, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_pre_ping": True, **({"connect_args": {"connect_timeout": 2}}
                                  if url.startswith("postgresql") else {})}))
    client = application.test_client()
    for path in ("/health", "/api/v1/health"):
        response = client.get(path)
        assert response.status_code == 503, (path, response.data[:300])
        body = response.get_json()
        assert body["database"] == "unavailable" and body["status"] == "degraded", path
        assert response.headers["Cache-Control"] == "no-store"


def test_health_with_a_database_is_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"
