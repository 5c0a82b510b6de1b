"""End-to-end in headless Debian Chromium (Playwright): log in, check and store a good
extract and see a bad one's problems (in Dutch and French too), replace with a confirmation,
withdraw and restore, open the funnel dashboard, change the selection, switch language, download the CSV,
and a diversity officer of one zone cannot reach another zone's table."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.web.conftest import (
    BROWSER_TIMEOUT_MS,
    CHROMIUM_ARGS,  # noqa: F401 (documents the launch flags)
)
from tests.web.test_uploads import CORPUS, good_file

pytestmark = pytest.mark.browser


@pytest.fixture
def users(make_user, funnel_data):
    return {
        # CRL keeps the default stage list (the example extracts use every stage).
        "hr": make_user("hr_manager", ["ANT", "CRL"], username="hr.ant", language="en"),
        "officer": make_user("diversity_officer", ["GNT"], username="div.gnt", language="en"),
    }


def wait_until(page, expression: str, attempts: int = 150) -> None:
    """``page.wait_for_function`` without it: Playwright evaluates that predicate with eval(),
    which the pages' Content-Security-Policy (no 'unsafe-eval') refuses; ``page.evaluate``
    goes through the DevTools protocol and is not subject to the page's CSP."""
    for _ in range(attempts):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {expression}")


def sign_in(page, server, username):
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(server.url + "/")


def test_upload_good_and_bad_extract(page, live_app, users, tmp_path):
    sign_in(page, live_app, "hr.ant")
    page.click("nav.main-nav >> text=Upload")
    data, name = good_file()
    good = tmp_path / name
    good.write_bytes(data)
    page.select_option("#zone", "CRL")
    page.select_option("#kind", "funnel")
    page.set_input_files("#file", str(good))
    page.click("button[type=submit].primary")
    page.wait_for_selector("#upload-preview")  # checked, not stored yet
    page.click("#store-button")
    page.wait_for_selector("#upload-stored")
    assert name in page.inner_text("#upload-stored")

    page.set_input_files("#file", str(CORPUS / "bad_date.csv"))
    page.click("button[type=submit].primary")
    page.wait_for_selector("#upload-problems")
    assert page.locator("table.problems tbody tr").count() >= 1
    with page.expect_download() as info:
        page.click("text=Download the error report (CSV)")
    report = info.value.path().read_text(encoding="utf-8-sig")
    assert "invalid_date" in report


def test_dashboard_selection_language_and_csv(page, live_app, users):
    sign_in(page, live_app, "div.gnt")
    page.click("nav.main-nav >> text=Funnel")
    page.wait_for_selector("#stage-table")
    assert "PZ Gent" in page.inner_text("h1")
    # Changing the period submits the form (JavaScript) and shows that table.
    with page.expect_navigation():
        page.select_option("#period-choice", "year:2024")
    assert "Year 2024" in page.inner_text("h1")
    assert "period=year%3A2024" in page.url or "period=year:2024" in page.url
    with page.expect_download() as info:
        page.click("#download-csv")
    csv_text = info.value.path().read_text(encoding="utf-8-sig")
    assert csv_text.startswith("# PZ Gent") and "Stage,Group,Entered" in csv_text
    # Language switch in the header: the page comes back in French, same table.
    page.click("button[data-lang=fr]")
    page.wait_for_selector("html[lang=fr]")
    assert "Taux de réussite" in page.inner_text("#stage-table")
    assert "Year 2024" not in page.inner_text("h1") and "2024" in page.inner_text("h1")
    # The chart images (lazy-loaded, server-side PNG) load once scrolled into view.
    for img in page.locator("figure.chart img").all():
        img.scroll_into_view_if_needed()
    wait_until(page, "Array.from(document.querySelectorAll('figure.chart img'))"
                     ".every(i => i.complete && i.naturalWidth > 0)")


def test_officer_cannot_reach_another_zone(page, live_app, users):
    sign_in(page, live_app, "div.gnt")
    page.goto(live_app.url + "/funnel")
    zones = page.locator("#zone-choice option").evaluate_all("os => os.map(o => o.value)")
    assert zones == ["GNT"]
    periods = page.locator("#period-choice option").evaluate_all("os => os.map(o => o.value)")
    assert periods and all(p.startswith(("year:", "campaign:")) for p in periods)
    response = page.goto(live_app.url + "/funnel?zone=ANT&period=campaign:2024-1")
    assert response.status in (403, 404)
    text = page.inner_text("main")
    assert "613" not in text and "Antwerpen" not in text


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield tab
    context.close()


def test_pages_fit_a_phone_screen(phone, live_app, users, zones, make_user):
    """At 390 px nothing but a table's own scroll box is wider than the screen (a long word in
    a paragraph once pushed the retention page to 446 px)."""
    from tests.services.test_retention_service import plant_workforce

    plant_workforce(zones, make_user)
    sign_in(phone, live_app, "hr.ant")
    for path in ("/", "/funnel", "/representation", "/data-quality", "/retention",
                 "/uploads/new", "/uploads"):
        phone.goto(live_app.url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)


# --- issue 17: messages in the reader's language, preview, confirmation, withdraw and undo ----
@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "De verplichte kolom „uitkomst” ontbreekt."),
    ("fr", "La colonne obligatoire « résultat » manque."),
])
def test_a_missing_column_is_named_in_dutch_and_french(page, live_app, make_user, tmp_path,
                                                      language, expected):
    from tests.web.test_uploads import MISSING_OUTCOME

    make_user("hr_manager", ["CRL"], username=f"hr.{language}", language=language)
    sign_in(page, live_app, f"hr.{language}")
    page.goto(live_app.url + "/uploads/new")
    bad = tmp_path / "zonder_uitkomst.csv"
    bad.write_bytes(MISSING_OUTCOME)
    page.select_option("#kind", "funnel")
    page.set_input_files("#file", str(bad))
    page.click("button[type=submit].primary")
    page.wait_for_selector("#upload-problems")
    assert expected in page.inner_text("table.problems")


def _check_and_store(page, path, confirm: bool = False) -> str:
    page.select_option("#zone", "CRL")
    page.select_option("#kind", "funnel")
    page.set_input_files("#file", str(path))
    page.click("button[type=submit].primary")
    page.wait_for_selector("#upload-preview")
    preview = page.inner_text("#upload-preview")
    if confirm:
        page.check("#confirm_replace")
    page.click("#store-button")
    return preview


def test_replace_asks_for_a_confirmation_then_withdraw_and_undo(page, live_app, users,
                                                               tmp_path):
    from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl

    sign_in(page, live_app, "hr.ant")
    page.goto(live_app.url + "/uploads/new")
    first, second = tmp_path / "v1.csv", tmp_path / "v2.csv"
    first.write_bytes(funnel_nl(GOOD_FUNNEL_ROWS))
    second.write_bytes(funnel_nl(GOOD_FUNNEL_ROWS[:4]))
    preview = _check_and_store(page, first)
    assert "Nothing stored now is replaced or removed." in preview
    page.wait_for_selector("#upload-stored")

    # The corrected file: the preview names what disappears; storing needs the tick.
    page.goto(live_app.url + "/uploads/new")
    preview = _check_and_store(page, second)
    assert "v1.csv, 8 rows" in preview and "stop counting" in preview
    page.wait_for_selector("#confirm-missing")
    page.check("#confirm_replace")
    page.click("#store-button")
    page.wait_for_selector("#upload-stored")
    assert "was replaced" in page.inner_text("#upload-stored")

    # Withdraw the new upload (the replaced one counts again), then undo.
    page.goto(live_app.url + "/uploads")
    rows = page.locator("#upload-history tbody tr")
    assert "v2.csv" in rows.nth(0).inner_text() and "replaced" in rows.nth(1).inner_text()
    rows.nth(0).locator("text=Withdraw").click()
    assert "4 rows of zone CRL" in page.inner_text("#withdraw-what")
    page.fill("#reason", "v2 was cut short")
    page.click("#withdraw-button")
    page.wait_for_selector(".flash.success")
    assert "is withdrawn" in page.inner_text(".flash.success")
    rows = page.locator("#upload-history tbody tr")
    assert "withdrawn" in rows.nth(0).inner_text() and "v2 was cut short" in rows.nth(0).inner_text()
    assert "stored" in rows.nth(1).inner_text()
    # Undo: withdraw v1 again, restore v2.
    rows.nth(1).locator("text=Withdraw").click()
    page.fill("#reason", "v2 was right after all")
    page.click("#withdraw-button")
    page.wait_for_selector(".flash.success")
    page.locator("#upload-history tbody tr").nth(0).locator("button:has-text('Restore')").click()
    page.wait_for_selector(".flash.success")
    assert "is restored" in page.inner_text(".flash.success")
    assert "stored" in page.locator("#upload-history tbody tr").nth(0).inner_text()
