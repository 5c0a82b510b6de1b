"""The planner page and chart: access by role and zone like the retention page, the texts
shown, and nothing but the user's own zones."""

from __future__ import annotations

import pytest

from hrpipeline.access import REPORT_ROLES
from tests.services.test_planner_service import plant_planner_workforce
from tests.web.conftest import as_user

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def workforce(app, zones, make_user):
    plant_planner_workforce(zones, make_user)


@pytest.mark.parametrize("role", REPORT_ROLES)
def test_every_report_role_sees_only_its_zones(client, workforce, make_user, role):
    as_user(client, make_user(role, ["ANT"]))
    response = client.get("/planner?zone=ANT")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="ANT"' in html and 'value="GNT"' not in html
    assert 'id="planner-assumptions"' in html
    assert client.get("/planner?zone=GNT").status_code == 404
    assert client.get("/planner/chart.png?zone=GNT").status_code == 404
    assert client.get("/planner?zone=ALL").status_code in (403, 422)
    assert 'href="/planner"' in client.get("/").get_data(as_text=True)


def test_page_explains_the_numbers(client, workforce, make_user):
    as_user(client, make_user("leadership", all_zones=True))
    html = client.get("/planner?zone=ANT&target=25&years=8").get_data(as_text=True)
    assert 'id="projection-sentence"' in html and 'id="target-sentence"' in html
    assert "never forecasts about a person" in html
    assert 'value="GNT"' in html  # all zones for an all-zones user
    chart = client.get("/planner/chart.png?zone=ANT&target=25&years=8")
    assert chart.status_code == 200 and chart.data.startswith(PNG)


def test_page_in_dutch_and_french(client, workforce, make_user):
    from flask_babel import refresh

    from hrpipeline.extensions import db

    for lang, word in (("nl", "Veronderstellingen"), ("fr", "Hypothèses")):
        user = make_user("diversity_officer", ["ANT"])
        user.language = lang
        db.session.commit()
        as_user(client, user)
        refresh()  # the app fixture keeps one app context: drop Flask-Babel's cached locale
        html = client.get("/planner?zone=ANT").get_data(as_text=True)
        assert word in html and f'lang="{lang}"' in html


def test_bad_numbers_are_not_a_500(client, workforce, make_user):
    as_user(client, make_user("diversity_officer", ["ANT"]))
    assert client.get("/planner?zone=ANT&target=abc").status_code == 422
    assert client.get("/planner?zone=ANT&target=150").status_code == 422
    assert client.get("/planner?zone=ANT&years=99").status_code == 422


def test_admin_sees_the_page(client, workforce, make_user):
    as_user(client, make_user("admin"))
    assert client.get("/planner?zone=ANT").status_code == 200
