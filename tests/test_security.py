"""hrpipeline.security: security headers on every response (OWASP Secure Headers: CSP,
frame-ancestors / X-Frame-Options, nosniff, Referrer-Policy) and Cache-Control: no-store on
everything that can carry Art. 9 statistics; ProxyFix only when TRUSTED_PROXIES is set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hrpipeline import security
from hrpipeline.config import ConfigError
from tests.conftest import app_test_config

TEMPLATES = Path(security.__file__).parent / "templates"


def _assert_common(response, path):
    h = response.headers
    assert h["X-Frame-Options"] == "DENY", path
    assert h["X-Content-Type-Options"] == "nosniff", path
    assert h["Referrer-Policy"] == "same-origin", path
    assert h["Cache-Control"] == "no-store", path
    assert "Strict-Transport-Security" not in h, path  # plain HTTP here


def test_html_pages_get_a_strict_csp(client):
    for path in ("/login", "/this-page-does-not-exist"):
        response = client.get(path)
        assert response.mimetype == "text/html"
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "object-src 'none'" in csp
        _assert_common(response, path)


def test_anonymous_health_and_api_answers_get_the_headers(client):
    for path in ("/health", "/api/v1/openapi.json", "/api/v1/funnel"):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == security.CSP_OTHER, path
        _assert_common(response, path)


def test_static_files_may_be_cached_but_are_not_sniffed(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_swagger_ui_page_loads_only_same_origin_files(client):
    """The docs page works under the page CSP: no inline script, its init code is a file."""
    response = client.get("/api/v1/docs")
    html = response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == security.CSP_PAGES
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all(body.strip() == "" and 'src="/' in attrs for attrs, body in scripts)
    assert "style=" not in html and "<style" not in html
    init = client.get(re.findall(r'src="([^"]+)"', html)[-1])
    assert init.status_code == 200 and init.mimetype == "application/javascript"


def _inline_code(text: str) -> list[str]:
    found = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text, flags=re.I)
    found += re.findall(r"<style\b", text, flags=re.I)
    found += re.findall(r"\son[a-z]+\s*=", text, flags=re.I)
    found += re.findall(r"\sstyle\s*=", text, flags=re.I)
    found += re.findall(r"javascript:", text, flags=re.I)
    return found


def test_templates_have_no_inline_script_or_style_except_the_standalone_briefing():
    offenders = {str(p.relative_to(TEMPLATES)): _inline_code(p.read_text(encoding="utf-8"))
                 for p in sorted(TEMPLATES.rglob("*.html")) if p.name != "briefing.html"}
    assert {k: v for k, v in offenders.items() if v} == {}
    # The briefing has inline styles (a self-contained file), and never a script.
    briefing = (TEMPLATES / "briefing.html").read_text(encoding="utf-8")
    assert "<script" not in briefing.lower() and "<style" in briefing


def test_csp_by_content_type():
    assert security._csp("text/html") == security.CSP_PAGES
    assert security._csp("image/svg+xml") == security.CSP_SVG
    assert security._csp("text/csv") == security.CSP_OTHER
    assert security._csp("application/pdf") is None


@pytest.mark.app_config(TRUSTED_PROXIES=1)
def test_behind_a_trusted_tls_proxy_requests_are_https(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https",
                                             "X-Forwarded-For": "203.0.113.7"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_forwarded_headers_are_ignored_without_trusted_proxies(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("value", [-1, "1", True])
def test_trusted_proxies_must_be_a_whole_number(database_url, value):
    from hrpipeline import create_app

    with pytest.raises(ConfigError):
        create_app(app_test_config(database_url, TRUSTED_PROXIES=value))
