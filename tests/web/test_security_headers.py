"""Security headers on the pages and downloads that carry Art. 9 statistics, and (in
Chromium) no Content-Security-Policy violation on the dashboard or the Swagger UI page."""

from __future__ import annotations

import pytest

from hrpipeline import security
from tests.web.conftest import as_user


@pytest.fixture(autouse=True)
def _blueprint(app):
    from hrpipeline.web.pilots import bp

    if "pilots" not in app.blueprints:
        app.register_blueprint(bp)


def test_statistics_downloads_are_never_cached_nor_framed(client, funnel_data, make_user):
    as_user(client, make_user("leadership", ["ANT"]))
    query = "zone=ANT&period=year:2024"
    for path, mimetype in [(f"/funnel?{query}", "text/html"),
                           (f"/funnel.csv?{query}", "text/csv"),
                           (f"/charts/funnel.png?{query}", "image/png"),
                           (f"/charts/funnel.svg?{query}", "image/svg+xml"),
                           (f"/briefings/download?{query}&format=pdf", "application/pdf"),
                           (f"/briefings/download?{query}&format=html", "text/html")]:
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == mimetype, path
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
    briefing = client.get(f"/briefings/download?{query}&format=html")
    assert briefing.headers["Content-Security-Policy"] == security.CSP_STANDALONE
    svg = client.get(f"/charts/funnel.svg?{query}")
    assert svg.headers["Content-Security-Policy"] == security.CSP_SVG
    pdf = client.get(f"/briefings/download?{query}&format=pdf")
    assert "Content-Security-Policy" not in pdf.headers


def _violations(page) -> list:
    return page.evaluate("window.__csp || []")


_LISTEN = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.mark.browser
def test_dashboard_and_swagger_ui_run_under_the_csp(page, live_app, make_user):
    from tests.web.test_browser import sign_in, wait_until

    make_user("diversity_officer", ["GNT"], username="div.csp", language="en")
    page.add_init_script(_LISTEN)
    sign_in(page, live_app, "div.csp")
    page.goto(live_app.url + "/funnel?zone=GNT&period=year:2024")
    page.wait_for_selector("#stage-table")
    assert _violations(page) == []
    page.goto(live_app.url + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")  # the operations are drawn: the bundle ran
    assert _violations(page) == []
    # Control: the listener does see a violation (an inline style attribute is refused).
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    wait_until(page, "window.__csp.length > 0")
    assert any(v.startswith("style-src") for v in _violations(page))
