"""Every CSV download (API and web) is safe to open in Excel and never a 500, whatever a
stored campaign or pilot name contains (formula, separators, line feed)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from hrpipeline.extensions import db
from tests.api.conftest import bearer, insert_funnel, plan
from tests.web.conftest import as_user

FORMULA_CAMPAIGN = '2024 BAD,=HYPERLINK("http://evil.example","x"),'
DDE = "-1+1+cmd|' /C calc'!A0"
LF_CAMPAIGN = "2024 BAD\nSet-Cookie: x=1"


def _cells(text: str, delimiter: str) -> list[str]:
    return [c for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for c in r]


def assert_excel_safe(text: str) -> None:
    """Read as ',' (the file's separator) and as ';' (Belgian Excel's list separator): no cell
    starts like a formula."""
    for delimiter in (",", ";"):
        bad = [c for c in _cells(text, delimiter)
               if c.lstrip(' "').startswith(("=", "+", "@", "-")) and not _number(c)]
        assert bad == [], (delimiter, bad)


def _number(text: str) -> bool:
    """A number as our exports write it: -0.25, -1,5 (decimal comma) or -16.7% (a rate)."""
    try:
        float(text.removesuffix("%").replace(",", "."))
    except ValueError:
        return False
    return True


@pytest.fixture
def odd_campaigns(zones):
    insert_funnel(zones["ANT"], FORMULA_CAMPAIGN, plan(), "f")
    insert_funnel(zones["ANT"], LF_CAMPAIGN, plan(), "l")
    return zones


def test_api_funnel_csv_with_a_formula_campaign_is_neutralised(client, odd_campaigns,
                                                               make_user, token_for):
    user = make_user("diversity_officer", ["ANT"])
    response = client.get("/api/v1/funnel", query_string={
        "zone": "ANT", "period": f"campaign:{FORMULA_CAMPAIGN}", "format": "csv"},
        headers=bearer(token_for(user)))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "HYPERLINK" in text  # the campaign is in the header line, as text
    assert_excel_safe(text)


def test_api_funnel_csv_of_a_campaign_with_a_line_feed_is_not_a_500(client, odd_campaigns,
                                                                     make_user, token_for):
    user = make_user("diversity_officer", ["ANT"])
    response = client.get("/api/v1/funnel", query_string={
        "zone": "ANT", "period": f"campaign:{LF_CAMPAIGN}", "format": "csv"},
        headers=bearer(token_for(user)))
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "\n" not in disposition and "Set-Cookie" not in response.headers
    assert disposition.startswith('attachment; filename="funnel-ANT-campaign-2024')
    assert_excel_safe(response.get_data(as_text=True))


def test_web_funnel_csv_of_odd_campaigns(client, odd_campaigns, make_user):
    as_user(client, make_user("diversity_officer", ["ANT"]))
    for campaign in (FORMULA_CAMPAIGN, LF_CAMPAIGN):
        response = client.get("/funnel.csv", query_string={
            "zone": "ANT", "period": f"campaign:{campaign}"})
        assert response.status_code == 200, campaign
        assert "\n" not in response.headers["Content-Disposition"]
        assert_excel_safe(response.get_data(as_text=True))




@pytest.mark.parametrize("name", [DDE, '=HYPERLINK("http://evil.example")',
                                  "Mentoring; =1+1", "Mentoring\n=1+1"])
def test_pilot_csv_with_a_formula_name_is_neutralised(client, funnel_data, make_user,
                                                      token_for, name):
    from hrpipeline.models import Pilot
    from hrpipeline.services.pilots import create_pilot

    staff = make_user("project_staff", all_zones=True)
    info = create_pilot(staff, "Mentoring", ["ANT"], ["GNT"], "cognitive_test",
                        dt.date(2024, 1, 1))
    # The form trims and checks names; a name stored by another route (or an older version)
    # must still come out safe.
    db.session.get(Pilot, info.id).name = name
    db.session.commit()
    api = client.get(f"/api/v1/pilots/{info.id}/evaluation?format=csv",
                     headers=bearer(token_for(staff)))
    assert api.status_code == 200
    assert_excel_safe(api.get_data(as_text=True))
    as_user(client, staff)
    web = client.get(f"/pilots/{info.id}.csv")
    assert web.status_code == 200
    assert_excel_safe(web.get_data(as_text=True))
    # The Excel download: the name is text in a cell, never a formula.
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(client.get(f"/pilots/{info.id}.xlsx").get_data()))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if c.value is not None]
    assert cells and all(c.data_type != "f" for c in cells)
    from hrpipeline.csvsafe import cell as safe

    assert safe(f"Pilot: {name}") in [c.value for c in cells]
