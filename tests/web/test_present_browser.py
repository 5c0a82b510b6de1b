"""Issue 17 (items 5, 7, 8, 9, help) in headless Chromium at 1366×768, in Dutch and French:
the start page's key figures and what needs attention, the CSV and Excel downloads for Belgian
Excel, a chart's PNG download, printing the funnel page without cutting its table, the glossary
reached from a column header, and an administrator changing a user."""

from __future__ import annotations

import io

import pytest

from tests.web.conftest import BROWSER_TIMEOUT_MS
from tests.web.test_browser import sign_in

pytestmark = pytest.mark.browser

TEXTS = {
    "nl": {"attention": "Vraagt aandacht", "stage": "Cognitieve proef", "header": "Fase;Groep",
           "applications": "Kandidaturen", "glossary": "Impactratio"},
    "fr": {"attention": "Demande de l’attention", "stage": "Épreuve cognitive",
           "header": "Étape;Groupe", "applications": "Candidatures",
           "glossary": "Ratio d’impact"},
}


@pytest.fixture
def office(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-BE",
                                  accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield tab
    context.close()


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_start_page_key_figures_and_attention(office, live_app, make_user, lang):
    make_user("diversity_officer", ["GNT"], username=f"start.{lang}", language=lang)
    sign_in(office, live_app, f"start.{lang}")
    t = TEXTS[lang]
    assert t["applications"] in office.inner_text("#key-figures")
    applications = office.inner_text("#kpi-applications")
    assert applications.replace(".", "").replace("\u202f", "").isdigit()
    assert t["attention"] in office.inner_text("#needs-attention")
    link = office.locator("#needs-attention a", has_text=t["stage"]).first
    office.screenshot(path=f"/tmp/present_start_{lang}.png", full_page=True)
    link.click()
    office.wait_for_selector("#stage-table")
    assert "#cmp-cognitive_test-non_eu_background" in office.url
    assert office.locator("#cmp-cognitive_test-non_eu_background").is_visible()


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_downloads_for_belgian_excel(office, live_app, make_user, lang):
    from openpyxl import load_workbook

    make_user("diversity_officer", ["GNT"], username=f"dl.{lang}", language=lang)
    sign_in(office, live_app, f"dl.{lang}")
    office.goto(live_app.url + "/funnel")
    with office.expect_download() as info:
        office.click("#download-csv")
    raw = info.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    text = raw.decode("utf-8-sig")
    assert TEXTS[lang]["header"] in text and TEXTS[lang]["stage"] in text
    assert "cognitive_test" not in text and "non_eu_background" not in text
    assert ",0%" in text  # rates with a decimal comma, as Excel reads them in Belgium
    with office.expect_download() as info:
        office.click("#download-xlsx")
    book = load_workbook(io.BytesIO(info.value.path().read_bytes()))
    assert len(book.sheetnames) >= 3
    # The chart's PNG download.
    link = office.locator("figure.chart figcaption a[download$='.png']").first
    with office.expect_download() as info:
        link.click()
    assert info.value.path().read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_printing_the_funnel_keeps_the_whole_table(office, live_app, make_user, lang):
    """Printing /funnel cut the table after its first columns ("Niet gesla…")."""
    make_user("diversity_officer", ["GNT"], username=f"print.{lang}", language=lang)
    sign_in(office, live_app, f"print.{lang}")
    office.goto(live_app.url + "/funnel")
    office.emulate_media(media="print")
    office.set_viewport_size({"width": 1050, "height": 740})  # A4 landscape at 96 dpi
    assert not office.locator("nav.main-nav").is_visible()
    assert not office.locator("#selection").is_visible()
    wrap = office.locator("#stage-table").locator("xpath=..")
    fits = wrap.evaluate("w => w.scrollWidth <= w.clientWidth + 1")
    table_right = office.locator("#stage-table").evaluate(
        "t => t.getBoundingClientRect().right")
    assert fits and table_right <= 1050
    office.screenshot(path=f"/tmp/present_print_{lang}.png", full_page=False)
    pdf = office.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF")


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_column_header_leads_to_the_glossary(office, live_app, make_user, lang):
    make_user("diversity_officer", ["GNT"], username=f"help.{lang}", language=lang)
    sign_in(office, live_app, f"help.{lang}")
    office.goto(live_app.url + "/funnel")
    office.click("#impact-table thead a.help-link[href$='#impact-ratio']")
    office.wait_for_selector("#impact-ratio")
    assert office.url.endswith("/help#impact-ratio")
    assert TEXTS[lang]["glossary"] in office.inner_text("#impact-ratio")
    office.screenshot(path=f"/tmp/present_help_{lang}.png")


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_admin_changes_a_user_and_resets_a_password(office, live_app, make_user, lang):
    from hrpipeline.extensions import db
    from hrpipeline.models import User

    make_user("admin", all_zones=True, username=f"boss.{lang}", language=lang)
    target = make_user("hr_manager", ["ANT"], username=f"nora.{lang}")
    sign_in(office, live_app, f"boss.{lang}")
    office.goto(live_app.url + "/admin/users")
    assert office.locator("#role").input_value() == "diversity_officer"
    office.click(f"#edit-nora\\.{lang}")
    office.select_option("#edit-role", "leadership")
    office.select_option("#edit-zones", ["ANT", "GNT"])
    office.click("#edit-user button[type=submit]")
    office.wait_for_selector(".flash.success")
    office.click(f"#edit-nora\\.{lang}")
    office.fill("#pw-new_password", "aaaaaaaaaaaaaa")
    office.click("#reset-password button[type=submit]")
    office.wait_for_selector("#reset-password .field-error")
    office.screenshot(path=f"/tmp/present_admin_{lang}.png", full_page=True)
    office.fill("#pw-new_password", "een heel nieuwe lange zin")
    office.click("#reset-password button[type=submit]")
    office.wait_for_selector(".flash.success")
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.role == "leadership" and sorted(z.code for z in user.zones) == ["ANT", "GNT"]
    assert user.check_password("een heel nieuwe lange zin")
