"""WCAG 2.1 AA on the main pages, in Dutch and French, at 1366×768 (a common office screen):
axe-core (Deque, from the npm registry; ``make axe`` puts it in ``tests/web/.axe``) is injected
into headless Chromium and must report no violation of the rules tagged wcag2a, wcag2aa,
wcag21a and wcag21aa. Also: the skip link reaches the content, every report table has a
caption, the favicon is served."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.conftest import BROWSER_TIMEOUT_MS
from tests.web.test_browser import sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = ["/", "/funnel", "/representation", "/data-quality", "/help", "/pilots",
         "/briefings", "/admin/users"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: `make axe` installs axe-core from npm")
        pytest.skip("axe-core not installed (make axe)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def office(browser):
    # bypass_csp: the checker is injected as a script; the pages' own CSP stays as it is.
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-BE",
                                  bypass_csp=True)
    tab = context.new_page()
    tab.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield tab
    context.close()


def violations(page, source: str) -> list[str]:
    page.add_script_tag(content=source)
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3)"
        ".map(n => n.target.join(' ')).join(' | '))", WCAG_21_AA)
    return list(result)


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_main_pages_meet_wcag_21_aa(office, live_app, make_user, axe_source, lang):
    make_user("admin", all_zones=True, username=f"a11y.{lang}", language=lang)
    sign_in(office, live_app, f"a11y.{lang}")
    found = {}
    for path in PAGES:
        response = office.goto(live_app.url + path)
        assert response.status == 200, path
        assert office.evaluate("document.documentElement.lang") == lang
        problems = violations(office, axe_source)
        if problems:
            found[path] = problems
    assert found == {}


def test_skip_link_captions_and_favicon(office, live_app, make_user):
    make_user("diversity_officer", ["ANT"], username="a11y.officer", language="nl")
    sign_in(office, live_app, "a11y.officer")
    office.goto(live_app.url + "/funnel")
    office.keyboard.press("Tab")
    skip = office.locator("a.skip-link")
    assert skip.evaluate("e => e === document.activeElement")
    assert skip.bounding_box()["y"] >= 0  # visible once focused
    office.keyboard.press("Enter")
    assert office.evaluate("location.hash") == "#main"
    tables = office.locator("table.report")
    assert tables.count() >= 2
    assert tables.evaluate_all("ts => ts.every(t => t.caption && t.caption.textContent.trim())")
    icon = office.locator("link[rel=icon]").get_attribute("href")
    assert office.request.get(live_app.url + icon).status == 200
