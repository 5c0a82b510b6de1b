"""The retention page, its CSV and charts: zone scope, the definitions shown to the user, and
attempts to find what the gate must keep in (small counts, exit dates, verbatim comments)."""

from __future__ import annotations

import pytest

from tests.services.test_retention_service import (
    SECRET_WORD,
    exit_dates,
    plant_workforce,
)
from tests.web.conftest import as_user

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def workforce(app, zones, make_user):
    return plant_workforce(zones, make_user)


def test_page_shows_definitions_and_no_secret(client, workforce, make_user):
    as_user(client, make_user("diversity_officer", ["ANT"]))
    response = client.get("/retention?zone=ANT")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="turnover-definition"' in html and "CIPD" in html
    assert "Life table" in html and 'id="survival-table"' in html
    assert SECRET_WORD not in html.lower()
    leaked = [d for d in exit_dates(workforce) if d in html]
    assert leaked == []
    assert 'class="suppressed"' in html  # the planted EU group of 3 is hidden, visibly


def test_other_zone_is_404_and_pool_is_403_for_a_zone_user(client, workforce, make_user):
    as_user(client, make_user("diversity_officer", ["ANT"]))
    assert client.get("/retention?zone=GNT").status_code == 404
    assert client.get("/retention.csv?zone=GNT").status_code == 404
    assert client.get("/retention/charts/km.png?zone=GNT").status_code == 404
    assert client.get("/retention?zone=ALL").status_code == 403
    # The zone list offers only the user's own zone.
    html = client.get("/retention").get_data(as_text=True)
    assert 'value="ANT"' in html and 'value="GNT"' not in html


def test_leadership_sees_the_pool(client, workforce, make_user):
    as_user(client, make_user("leadership", all_zones=True))
    response = client.get("/retention?zone=ALL")
    assert response.status_code == 200
    assert SECRET_WORD not in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
def test_csv_for_belgian_excel_has_no_small_count_and_no_comment(client, workforce, make_user,
                                                                  lang):
    """Issue 17 item 5: ';' and decimal comma in NL/FR, the page's labels, UTF-8 with BOM; every
    count a multiple of k; no exit date, comment or officer reference."""
    import csv as csv_module
    import io

    as_user(client, make_user("hr_manager", ["ANT"], language=lang))
    response = client.get("/retention.csv?zone=ANT")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    sep = "," if lang == "en" else ";"
    rows = [r for r in csv_module.reader(io.StringIO(text), delimiter=sep) if r and
            not r[0].startswith("#")]
    assert len(rows) > 40
    assert "belgian_origin" not in text and "non_eu_background" not in text
    counts = [c for r in rows for c in r if c.isdigit()]
    assert counts and all(int(c) % 5 == 0 or 1900 < int(c) < 2100 or int(c) in (12, 24, 36, 48,
                                                                                60)
                          for c in counts)
    assert SECRET_WORD not in text.lower()
    assert [d for d in exit_dates(workforce) if d in text] == []
    assert "ANT-" not in text
    xlsx = client.get("/retention.xlsx?zone=ANT")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")


@pytest.mark.parametrize("name", ["km", "turnover", "exits"])
def test_charts_are_pngs(client, workforce, make_user, name):
    as_user(client, make_user("diversity_officer", ["ANT"]))
    response = client.get(f"/retention/charts/{name}.png?zone=ANT")
    assert response.status_code == 200 and response.data.startswith(PNG)


def test_unknown_chart_is_404(client, workforce, make_user):
    as_user(client, make_user("diversity_officer", ["ANT"]))
    assert client.get("/retention/charts/nope.png?zone=ANT").status_code == 404


def test_nav_offers_retention(client, workforce, make_user):
    as_user(client, make_user("diversity_officer", ["ANT"]))
    assert 'href="/retention"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "window"), [
    ("en", "2015–2024 (annual average)"),
    ("nl", "2015–2024 (jaarlijks gemiddelde)"),
    ("fr", "2015–2024 (moyenne annuelle)"),
])
def test_period_labels_in_the_interface_language(client, workforce, make_user, lang, window):
    """The page shows complete calendar years only: the extracts' 2025 (to 30 June) waits
    until the year is complete, so no part-year row and no 2025 in the window label."""
    as_user(client, make_user("diversity_officer", ["ANT"], language=lang))
    html = client.get("/retention?zone=ANT").get_data(as_text=True)
    assert window in html and "2025-06-30" not in html and "2015–2025" not in html


def test_exits_chart_draws_exactly_the_published_window_cells(app, workforce, make_user):
    """The bars are the report's published cells (leavers since the window start per exit
    type and group): hidden ones as hatched strips, published ones at their value."""
    from matplotlib.patches import Rectangle

    from hrpipeline.disclosure import is_suppressed
    from hrpipeline.domain import EXIT_TYPES
    from hrpipeline.services.retention import retention_report
    from hrpipeline.web.retention import exits_chart, window_exits

    user = make_user("diversity_officer", ["ANT"])
    with app.test_request_context():
        report = retention_report(user, "ANT")
        cells = window_exits(report)
        fig = exits_chart(report)
    bars = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    solid = sorted(round(b.get_height(), 6) for b in bars if not b.get_hatch())
    hatched = [b for b in bars if b.get_hatch()]
    published = sorted(float(v) for v in cells.values()
                       if v is not None and not is_suppressed(v))
    assert solid == published
    assert len(hatched) == sum(1 for v in cells.values() if is_suppressed(v))
    # Each published cell is the window row's own number (not a sum of yearly rows).
    periods = set(report.periods)
    for g in report.groups:
        row = next(r for r in report.turnover if r["group"] == g and r["period"] not in periods)
        for t in EXIT_TYPES:
            assert cells[(t, g)] is row[f"leavers_{t}"] or cells[(t, g)] == row[f"leavers_{t}"]


def test_csv_download_is_audited(client, workforce, make_user, zones):
    """Issue 15: web CSV exports are in the audit log, as the API's are."""
    from hrpipeline.extensions import db
    from hrpipeline.models import AuditLog

    user = make_user("hr_manager", ["ANT"])
    as_user(client, user)
    assert client.get("/retention.csv?zone=ANT").status_code == 200
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "export_retention"))
    assert (entry.user_id, entry.zone_id, entry.detail["via"]) == (user.id, zones["ANT"].id,
                                                                    "web")


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_no_raw_category_keys_in_the_page_text(client, workforce, make_user, lang):
    """Issue 17 item 3: exit reasons, the other-exit cause, ranks, Cox factors and gender levels
    are shown with their names in the user's language, never as keys."""
    import re

    as_user(client, make_user("hr_manager", ["ANT"], language=lang))
    html = client.get(f"/retention?zone=ANT&lang={lang}").get_data(as_text=True)
    # The exit-comment themes list the words the topic model found (issue 16 item 8, open).
    html = re.sub(r'<table[^>]*id="themes-table".*?</table>', "", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html.split("<main", 1)[-1])
    for key in ("work_life_balance", "team_climate", "other_exit", "chief_inspector",
                "non_eu_background", "belgian_origin"):
        assert key not in text, key
