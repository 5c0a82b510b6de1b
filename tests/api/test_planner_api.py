"""``GET /api/v1/planner``: the service's answer as JSON, scoped like every zone endpoint."""

from __future__ import annotations

import json

from hrpipeline.services import planner as svc
from tests.api.conftest import bearer
from tests.services.test_planner_service import plant_planner_workforce


def test_planner_is_the_services_report(client, zones, make_user, token_for):
    plant_planner_workforce(zones, make_user)
    officer = make_user("diversity_officer", ["ANT"])
    headers = bearer(token_for(officer))
    response = client.get("/api/v1/planner?zone=ANT&target=25&years=8", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    expected = json.loads(json.dumps(
        svc.planner_report(officer, "ANT", target=0.25, years=8).to_dict()))
    assert body == expected
    assert body["horizon_years"] == 8 and len(body["projection"]) == 9
    assert client.get("/api/v1/planner?zone=GNT", headers=headers).status_code == 404
    assert client.get("/api/v1/planner?zone=ANT&target=0", headers=headers).status_code == 422
    assert client.get("/api/v1/planner?zone=ANT&years=50", headers=headers).status_code == 422
    leader = make_user("leadership", all_zones=True)
    pool = client.get("/api/v1/planner?zone=ALL", headers=bearer(token_for(leader)))
    assert pool.status_code == 422 and pool.mimetype == "application/problem+json"
