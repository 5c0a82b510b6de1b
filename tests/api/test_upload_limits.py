"""The API upload path under issue 20: a bomb file, an out-of-range count (a 500 on
PostgreSQL before), a second import while one runs, and two near-identical files sent at the
same moment are answered with problem+json, never a 500, and never stored twice."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from hrpipeline.extensions import db
from hrpipeline.ingest import store
from hrpipeline.models import Upload
from tests.api.conftest import bearer, funnel_csv
from tests.ingest.helpers import race


def _post(client, headers, data: bytes, filename="extract.csv", kind="funnel"):
    return client.post("/api/v1/uploads", headers=headers,
                       data={"zone": "CRL", "kind": kind, "file": (io.BytesIO(data), filename)})


def test_wide_file_is_a_422_naming_file_limit_and_finding(client, zones, make_user, token_for,
                                                          db_counts):
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    before = db_counts()
    wide = (";".join(f"k{i:07d}" for i in range(30_000)) + "\n" + "1;" * 29_999 + "1\n")
    response = _post(client, headers, wide.encode(), "breed.csv")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()["problems"][0]
    assert problem["code"] == "too_many_columns"
    assert problem["params"] == {"file": "breed.csv", "found": 30_000, "limit": 200}
    assert db_counts() == before


def test_out_of_range_count_is_a_422_not_a_500(client, zones, make_user, token_for, db_counts):
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    before = db_counts()
    data = (b"campaign;stage;migration_background;passed;failed\n"
            b"INP 2024-1;application;belgian_origin;99999999999999999999;3000000000\n"
            b"INP 2024-1;application;eu_background;999.999.999.999;1\n")
    response = _post(client, headers, data, kind="counts")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    found = {(p["row"], p["column"], p["code"]) for p in response.get_json()["problems"]}
    assert found == {(2, "passed", "count_out_of_range"), (2, "failed", "count_out_of_range"),
                     (3, "passed", "count_out_of_range")}
    assert db_counts() == before


def test_a_second_import_while_one_runs_is_a_429(client, zones, make_user, token_for):
    user = make_user("hr_manager", ["CRL"])
    headers = bearer(token_for(user))
    with store._import_slot(user):
        response = _post(client, headers, funnel_csv(3))
    assert response.status_code == 429
    assert response.get_json()["type"].endswith("import_in_progress")
    assert _post(client, headers, funnel_csv(3)).status_code == 201


def test_two_near_identical_files_posted_at_once_store_one(app, zones, make_user, token_for,
                                                           monkeypatch):
    # Two HR managers of the zone (one user cannot run two imports at once: a 429).
    tokens = [bearer(token_for(make_user("hr_manager", ["CRL"]))) for _ in range(2)]
    files = [funnel_csv(20), funnel_csv(21)]  # same campaign, different bytes

    def job(headers, data):
        return lambda: _post(app.test_client(), headers, data).status_code

    statuses = race(app, monkeypatch, [job(tokens[0], files[0]), job(tokens[1], files[1])])
    assert sorted(statuses) == [201, 409], statuses
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 1
