"""Reliability of the pages (issue 18 item 4): a database that cannot be reached answers a
503 page in the user's language with ``Retry-After``, never a 500; a zone whose release fails
leaves every other zone's pages and the warming of their releases untouched."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from hrpipeline import create_app
from hrpipeline.services import jobs
from tests.conftest import app_test_config
from tests.web.conftest import as_user

DEAD_URLS = {
    "sqlite": "sqlite:////nonexistent-directory/hrpipeline.sqlite",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2",
}


@pytest.mark.parametrize("kind", sorted(DEAD_URLS))
@pytest.mark.parametrize(("lang", "words"), [
    ("fr", "La base de données est momentanément injoignable"),
    ("nl", "De databank is op dit moment niet bereikbaar"),
    ("en", "The database cannot be reached right now"),
])
def test_a_dead_database_is_a_503_page_in_the_users_language(kind, lang, words):
    app = create_app(app_test_config(DEAD_URLS[kind]))
    client = app.test_client()
    response = client.post("/login", data={"username": "someone", "password": "x" * 12},
                           headers={"Accept-Language": lang})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert words in response.get_data(as_text=True)
    api = client.get("/api/v1/zones", headers={"Authorization": "Bearer hrp_nothing"})
    assert api.status_code == 503 and api.mimetype == "application/problem+json"


def test_a_connection_lost_during_a_page_is_a_503(client, zones, make_user, monkeypatch):
    from hrpipeline.services import retention

    def lost(*_args, **_kwargs):
        raise OperationalError("SELECT …", {}, Exception("server closed the connection"))

    monkeypatch.setattr(retention, "retention_report", lost)
    as_user(client, make_user("diversity_officer", ["ANT"], language="nl"))
    response = client.get("/retention?zone=ANT")
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert "De databank is op dit moment niet bereikbaar" in response.get_data(as_text=True)


def test_one_zones_failed_release_leaves_the_other_zones_alone(client, funnel_data, make_user,
                                                               monkeypatch):
    from hrpipeline.services import releases

    releases.clear_cache()
    original = releases.protect_funnel

    def failing_for_ant(inner, *args, **kwargs):
        if set(inner["zone"]) == {"ANT"}:
            raise RuntimeError("planted failure in ANT")
        return original(inner, *args, **kwargs)

    monkeypatch.setattr(releases, "protect_funnel", failing_for_ant)
    warm = jobs.after_data_change()
    assert jobs.work() == 1
    assert jobs.get(warm.id).status == jobs.DONE  # the warming went on past ANT
    as_user(client, make_user("diversity_officer", all_zones=True))
    gnt = client.get("/funnel?zone=GNT&period=year:2024")
    assert gnt.status_code == 200
    ant = client.get("/funnel?zone=ANT&period=year:2024")
    assert ant.status_code == 503  # a clear reason, never a 500
    assert "could not be protected" in ant.get_data(as_text=True)
    releases.clear_cache()
