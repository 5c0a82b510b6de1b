"""Funnel dashboard, representation, data quality, CSV and charts: all from ONE report object,
hidden values always the one symbol x (never 0 or blank), NL/FR/EN."""

from __future__ import annotations

import re

import pytest

from hrpipeline.disclosure import SUPPRESSED
from tests.web.conftest import login

ANT_CAMPAIGN = "zone=ANT&period=campaign:2024-1"


@pytest.fixture
def officer(client, make_user, funnel_data):
    user = make_user("diversity_officer", ["ANT"], language="en")
    login(client, user)
    return user


def _cells(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'id="{table_id}"')[1].split("</table>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r,
                                                                    flags=re.S)] for r in rows]


def test_dashboard_shows_the_report_and_the_planted_gap(client, officer):
    from hrpipeline.services.funnel import funnel_report

    html = client.get(f"/funnel?{ANT_CAMPAIGN}").get_data(as_text=True)
    report = funnel_report(officer, "ANT", "campaign:2024-1")
    rows = [r for r in _cells(html, "stage-table") if r]
    assert len(rows) == len(report.rows)
    # Belgian origin applicants (613) is large enough to be published exactly.
    first = next(r for r in report.rows if r["stage"] == "application"
                 and r["group"] == "belgian_origin")
    assert rows[0][2] == f"{first['entered']:,}"
    # The non-EU group's lower pass rate at the cognitive test is flagged RED with its reason.
    assert 'class="tier red"' in html
    assert "Disproportionate drop-out: the pass rate is below four-fifths" in html
    assert f"Holm's method for {report.family_size} comparisons" in html
    assert 'id="unknown-count"' in html and "Unknown (not disclosed)" in html


def test_hidden_values_are_x_never_zero_or_blank(client, officer):
    from hrpipeline.services.funnel import funnel_report

    report = funnel_report(officer, "ANT", "campaign:2024-1")
    html = client.get(f"/funnel?{ANT_CAMPAIGN}").get_data(as_text=True)
    rows = [r for r in _cells(html, "stage-table") if r]
    columns = ["entered", "passed", "failed", "withdrew", "pending", "pass_rate"]
    hidden = 0
    for published, shown in zip(report.rows, rows, strict=True):
        for i, column in enumerate(columns, start=2):
            if published[column] is SUPPRESSED:
                assert shown[i] == "x", (published["stage"], published["group"], column)
                hidden += 1
            else:
                assert shown[i] not in ("x", ""), (published["stage"], column)
    assert hidden > 0  # the test data include small cells (unknown, EU at later stages)
    assert "x = hidden to protect privacy" in html or "= hidden to protect privacy" in html


def _csv_tables(body: bytes, delimiter: str) -> list[list[list[str]]]:
    """The tables of a people's CSV export: blocks under their ``#`` title lines."""
    import csv
    import io

    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # a byte order mark: Excel reads é and ë
    tables: list[list[list[str]]] = []
    for line in csv.reader(io.StringIO(text[1:], newline=""), delimiter=delimiter):
        if not line:
            continue
        if line[0].startswith("#"):
            tables.append([])
        elif tables:
            tables[-1].append(line)
    return [t for t in tables if t]


def test_csv_download_carries_the_reports_numbers(client, officer):
    from hrpipeline.services.funnel import funnel_report

    response = client.get(f"/funnel.csv?{ANT_CAMPAIGN}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    report = funnel_report(officer, "ANT", "campaign:2024-1")
    stages = _csv_tables(response.get_data(), ",")[0]
    assert stages[0][:4] == ["Stage", "Group", "Entered", "Passed"]
    assert len(stages) - 1 == len(report.rows)
    for line, row in zip(stages[1:], report.rows, strict=True):
        assert line[2:7] == ["x" if c is SUPPRESSED else str(c) for c in
                             (row["entered"], row["passed"], row["failed"], row["withdrew"],
                              row["pending"])]


@pytest.mark.parametrize(("lang", "delimiter", "header", "stage"), [
    ("nl", ";", ["Fase", "Groep", "Gestart"], "Cognitieve proef"),
    ("fr", ";", ["Étape", "Groupe", "Entrés"], "Épreuve cognitive"),
])
def test_csv_for_belgian_excel(client, make_user, funnel_data, lang, delimiter, header, stage):
    """Issue 17 item 5: ';' and a decimal comma in NL/FR, headers and labels in the reader's
    language, no machine key anywhere."""
    from hrpipeline.services.funnel import funnel_report

    user = make_user("diversity_officer", ["ANT"], language=lang)
    login(client, user)
    body = client.get(f"/funnel.csv?{ANT_CAMPAIGN}").get_data()
    tables = _csv_tables(body, delimiter)
    stages = tables[0]
    assert stages[0][:3] == header
    assert stage in [r[0] for r in stages[1:]]
    text = body.decode("utf-8")
    for key in ("cognitive_test", "non_eu_background", "belgian_origin", "pass_rate"):
        assert key not in text
    report = funnel_report(user, "ANT", "campaign:2024-1")
    first = report.rows[0]
    expected = f"{first['pass_rate'] * 100:.1f}".replace(".", ",") + "%"
    assert stages[1][7] == expected  # 0.9 -> "90,0%": Excel reads a percentage
    impact = tables[1]
    assert all("." not in r[9] for r in impact[1:])  # p-values with a decimal comma


def test_xlsx_download_has_numbers_not_text(client, officer):
    import io

    from openpyxl import load_workbook

    from hrpipeline.services.funnel import funnel_report

    response = client.get(f"/funnel.xlsx?{ANT_CAMPAIGN}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book[book.sheetnames[0]]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r[0] == "Stage")
    report = funnel_report(officer, "ANT", "campaign:2024-1")
    for line, row in zip(rows[header + 1:], report.rows, strict=True):
        assert line[2] == ("x" if row["entered"] is SUPPRESSED else row["entered"])
        rate = row["pass_rate"]
        assert line[7] == ("x" if rate is SUPPRESSED else "\u2013" if rate is None
                           else pytest.approx(rate))
    assert sheet.cell(row=header + 2, column=8).number_format == "0.0%"
    assert len(book.sheetnames) >= 3  # stages, adverse impact, unknown background, ...


def test_selection_changes_the_table_and_rejects_free_filters(client, officer):
    year = client.get("/funnel?table=ANT|year:2024&reference=belgian_origin&view=retention")
    assert year.status_code == 200
    text = year.get_data(as_text=True)
    assert "Year 2024 (all campaigns)" in text and 'value="retention" selected' in text
    assert client.get("/funnel?zone=ANT&period=campaign:2023-9").status_code == 404
    assert client.get("/funnel?zone=ANT&period=campaign:2024-1&view=free").status_code == 400
    assert client.get("/funnel?zone=ANT&period=campaign:2024-1&reference=unknown"
                      ).status_code == 400


def test_representation_and_quality_pages(client, officer):
    rep = client.get(f"/representation?{ANT_CAMPAIGN}").get_data(as_text=True)
    assert 'id="rep-table"' in rep or "No population benchmark" in rep
    quality = client.get(f"/data-quality?{ANT_CAMPAIGN}").get_data(as_text=True)
    assert 'id="quality-facts"' in quality and 'id="unknown-table"' in quality
    assert "Why pooling helps" in quality


@pytest.mark.parametrize("lang, words", [
    ("nl", ["Slaagpercentage", "Belgische herkomst", "Kandidatuur", "verborgen"]),
    ("fr", ["Taux de réussite", "Origine belge", "Candidature", "masqué"]),
])
def test_dashboard_in_dutch_and_french(client, make_user, funnel_data, lang, words):
    login(client, make_user("diversity_officer", ["ANT"], language=lang))
    html = client.get(f"/funnel?{ANT_CAMPAIGN}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html, word


def test_language_switch_and_accept_language(client, make_user, zones):
    from flask_babel import refresh

    user = make_user("diversity_officer", ["ANT"])  # no stored preference
    login(client, user)
    refresh()  # the app fixture keeps one app context: drop Flask-Babel's cached locale
    assert "Welkom" in client.get("/", headers={"Accept-Language": "nl-BE"}).get_data(True)
    refresh()
    client.post("/language/fr")
    refresh()
    assert "Bienvenue" in client.get("/", headers={"Accept-Language": "nl-BE"}).get_data(True)
    assert user.language == "fr"  # the choice is kept as the user's preference


def test_numbers_follow_the_locale(app, client, make_user, zones):
    from flask_babel import force_locale

    from hrpipeline.web.blueprint import pub

    with app.test_request_context():
        with force_locale("nl"):
            assert str(pub(12345)) == "12.345" and str(pub(0.1234)) == "12,3%"
        with force_locale("en"):
            assert str(pub(12345)) == "12,345" and str(pub(0.1234)) == "12.3%"
            assert str(pub(0.8, "ratio")) == "0.80" and str(pub(-3.25, "points")) == "-3.2"
            assert str(pub(0)) == "0"  # a true zero is published as 0
            hidden = str(pub(SUPPRESSED))
            assert ">x</span>" in hidden and 'class="suppressed"' in hidden
            assert "0" not in re.sub(r"<[^>]+>", "", hidden)


def test_charts_png_svg_cached_and_hidden_values_in_the_legend(app, client, officer):
    from hrpipeline.web import charts

    png = client.get(f"/charts/pass_rate.png?{ANT_CAMPAIGN}")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/charts/funnel.svg?{ANT_CAMPAIGN}")
    assert svg.mimetype == "image/svg+xml"
    # Hidden cells are explained in the legend, in the interface language.
    assert "hidden to protect privacy" in svg.get_data(as_text=True)
    cache = charts.cache()
    hits = cache.hits
    again = client.get(f"/charts/funnel.svg?{ANT_CAMPAIGN}")
    assert again.data == svg.data and cache.hits == hits + 1
    assert client.get(f"/charts/nope.png?{ANT_CAMPAIGN}").status_code == 404
    assert client.get(f"/charts/funnel.gif?{ANT_CAMPAIGN}").status_code == 404


@pytest.mark.parametrize(("lang", "strata", "power", "green"), [
    ("en", "see each campaign/zone", "detected only 5 times in 100; 20 more campaigns",
     "No disproportionate drop-out"),
    ("nl", "bekijk elke campagne/zone", "maar 5 keer op 100 opgemerkt worden; er zijn nog 20",
     "Geen onevenredige uitval"),
    ("fr", "voir chaque campagne/zone", "que 5 fois sur 100 ; il faudrait 20 campagnes",
     "Pas d’écart disproportionné"),
])
def test_new_verdict_reasons_are_translated(app, lang, strata, power, green):
    """Issue 16: the reason codes ``strata_disagree`` and ``interval_reaches_below_four_fifths``
    (GREY with the power to detect 0.8 and the campaigns needed) in NL/FR/EN."""
    from flask_babel import force_locale

    from hrpipeline.web.messages import TIER_LABELS, tier_reason

    with app.test_request_context(), force_locale(lang):
        assert strata in tier_reason("strata_disagree", {"p_band": "< 0.01"})
        grey = tier_reason("interval_reaches_below_four_fifths",
                           {"power": 5, "more_campaigns_for_power": 20})
        assert power in grey
        assert str(TIER_LABELS["green"]) == green
        assert "0,8" in tier_reason("no_evidence", {}) or "0.8" in tier_reason("no_evidence", {})


def test_csv_download_is_audited(client, officer, zones):
    """Issue 15: web CSV exports are in the audit log, as the API's are."""
    from hrpipeline.extensions import db
    from hrpipeline.models import AuditLog

    assert client.get(f"/funnel.csv?{ANT_CAMPAIGN}").status_code == 200
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "export_funnel"))
    assert (entry.user_id, entry.zone_id) == (officer.id, zones["ANT"].id)
    assert entry.detail["via"] == "web" and entry.detail["format"] == "csv"


def test_selection_lists_zones_then_the_chosen_zones_tables(client, make_user, zones):
    """Issue 20 item 9: one option per zone and campaign made every all-zone page heavy (3,000
    one-row campaigns, 6,000 options, 5 s). Now the page lists the zones, then only the chosen
    zone's tables; choosing a zone without a period opens its latest year."""
    from tests.services.test_funnel_service import _insert, _plan

    for i in range(12):
        _insert(zones["ANT"], f"2024-{i + 1}", _plan(), f"{i:x}")
    _insert(zones["GNT"], "2024-1", _plan(), "g")
    user = make_user("diversity_officer", all_zones=True)
    client.post("/login", data={"username": user.username,
                                "password": "correct horse battery staple"})
    page = client.get("/funnel?zone=GNT").get_data(as_text=True)
    assert page.count('value="campaign:') == 1  # GNT's only campaign, not ANT's twelve
    assert 'value="ANT"' in page and 'value="ALL"' in page
    assert '<option value="year:2024" selected>' in page
    assert client.get("/funnel?zone=GNT&period=campaign:2024-7").status_code == 404


def test_page_csv_and_api_show_the_same_rounded_counts(client, officer):
    """One door: the page, its CSV download and the API answer carry the same published
    numbers, every count a multiple of k."""
    columns = ["entered", "passed", "failed", "withdrew", "pending"]
    html = client.get(f"/funnel?{ANT_CAMPAIGN}").get_data(as_text=True)
    page = [[int(c.replace(",", "")) for c in r[2:7]] for r in _cells(html, "stage-table") if r]
    stages = _csv_tables(client.get(f"/funnel.csv?{ANT_CAMPAIGN}").get_data(), ",")[0]
    from_csv = [[int(c) for c in r[2:7]] for r in stages[1:]]
    assert page == from_csv and page
    assert all(v % 5 == 0 for row in page for v in row)
    # The API answer for the same table (a token of the same user).
    from hrpipeline.services.tokens import issue_token

    secret = issue_token(officer, "check")[1]
    answer = client.get(f"/api/v1/funnel?{ANT_CAMPAIGN}",
                        headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    api = [[r[c]["value"] for c in columns] for r in answer.get_json()["rows"]]
    assert api == page


@pytest.mark.parametrize(("lang", "heading"), [("en", "What needs attention"),
                                               ("nl", "Wat aandacht vraagt"),
                                               ("fr", "Ce qui demande de l’attention")])
def test_what_needs_attention_comes_first_and_links_to_its_row(client, make_user, funnel_data,
                                                               lang, heading):
    """Issue 17 item 1: the problem stage is found without scrolling: a box above the tables
    names the RED/AMBER stage and group, both pass rates and the reason, linking to the row."""
    import html as html_lib

    user = make_user("diversity_officer", ["ANT"], language=lang)
    login(client, user)
    page = html_lib.unescape(client.get(f"/funnel?{ANT_CAMPAIGN}").get_data(as_text=True))
    assert page.index('id="attention"') < page.index('id="stage-table"')
    box = page.split('id="attention"')[1].split("</section>")[0]
    assert heading.replace("’", "'") in page.replace("’", "'")
    links = re.findall(r'href="#(cmp-[^"]+)"', box)
    assert "cmp-cognitive_test-non_eu_background" in links
    for anchor in links:
        assert f'id="{anchor}"' in page


@pytest.mark.parametrize(("lang", "half", "more"), [
    ("en", "A ratio of 0.5 would be detected 40 times in 100; 2 more campaigns",
     "3 more campaigns"),
    ("nl", "Een ratio van 0,5 zou 40 keer op 100 opgemerkt worden; met nog 2 campagnes",
     "nog 3 campagnes"),
    ("fr", "Un ratio de 0,5 serait détecté 40 fois sur 100 ; 2 campagnes de plus",
     "3 campagnes de plus"),
])
def test_amber_reason_carries_the_power_at_both_ratios(app, lang, half, more):
    """Issue 19 item 2: AMBER "could be chance" says how often 0.8 and 0.5 would be detected
    and how many more campaigns would tell; a power already reached needs no campaign."""
    from flask_babel import force_locale

    from hrpipeline.web.messages import tier_reason

    with app.test_request_context(), force_locale(lang):
        text = tier_reason("below_four_fifths_not_significant",
                           {"power": 12, "more_campaigns_for_power": 3, "power_half": 40,
                            "more_campaigns_for_power_half": 2})
        assert half in text and more in text
        done = tier_reason("below_four_fifths_not_significant",
                           {"power": 85, "more_campaigns_for_power": 0, "power_half": 99,
                            "more_campaigns_for_power_half": 0})
        assert "85" in done and "99" in done and " 0 " not in done


@pytest.mark.parametrize(("lang", "title"), [("nl", "Methode en woordenlijst"),
                                             ("fr", "Méthode et glossaire")])
def test_glossary_has_every_term_the_pages_link_to(client, make_user, funnel_data, lang, title):
    """Every ``?`` after a column header opens an entry of the glossary, in the reader's
    language."""
    import html as html_lib

    user = make_user("diversity_officer", ["ANT"], language=lang)
    login(client, user)
    glossary = html_lib.unescape(client.get("/help").get_data(as_text=True))
    assert title in glossary
    anchors = set()
    for path in ("/funnel", "/representation", "/data-quality"):
        page = client.get(f"{path}?{ANT_CAMPAIGN}").get_data(as_text=True)
        anchors |= set(re.findall(r'class="help-link" href="/help#([a-z-]+)"', page))
    assert {"impact-ratio", "holm", "wilson", "rounding", "x", "tiers"} <= anchors
    for anchor in anchors:
        assert f'id="{anchor}"' in glossary
    assert "%(" not in glossary and "%%" not in glossary


@pytest.mark.parametrize("role", ["leadership", "project_staff"])
def test_start_page_has_cards_for_briefings_and_pilots(client, make_user, funnel_data, role):
    login(client, make_user(role, all_zones=True))
    page = client.get("/").get_data(as_text=True)
    for tile in ("tile-briefings", "tile-pilots", "tile-retention", "tile-help"):
        assert f'id="{tile}"' in page
    assert 'id="key-figures"' in page and 'id="needs-attention"' in page
