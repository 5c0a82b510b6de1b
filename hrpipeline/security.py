"""HTTP security headers for every response, and the optional proxy fix for a TLS proxy.

Registered once by the app factory (``security.init_app(app)``). Every response gets:

* ``Content-Security-Policy``: pages may load scripts, styles, fonts and images from this site
  only (no inline script or style: the templates use ``static/`` files; the Swagger UI page
  loads its init code from ``/api/v1/docs/init.js``); ``frame-ancestors 'none'`` everywhere.
  The standalone briefing HTML has its styles inline and its charts as ``data:`` images, and
  no script at all: it gets :data:`CSP_STANDALONE` (see :func:`standalone_html`). SVG charts
  may use their inline ``<style>``; other non-HTML answers get ``default-src 'none'``. PDFs
  get no CSP (a browser's PDF viewer must be able to show them) but the other headers.
* ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy: same-origin``.
* ``Cache-Control: no-store`` on everything but ``/static/``: pages, CSVs, charts, briefings
  and API answers carry statistics on migration background (GDPR Art. 9) and must not stay in
  a shared or browser cache.
* ``Strict-Transport-Security`` when the request came over HTTPS (directly, or through a proxy
  trusted with ``TRUSTED_PROXIES``).

``TRUSTED_PROXIES`` (default 0): the number of reverse proxies in front of the app. When set,
werkzeug's ``ProxyFix`` trusts that many ``X-Forwarded-For/-Proto/-Host/-Prefix`` hops, so
``request.is_secure``, redirects and ``url_for(..., _external=True)`` see the client's HTTPS
URL. Never set it when clients can reach the app without the proxy.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP_PAGES = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
             "form-action 'self'; frame-ancestors 'none'")
#: Standalone briefing: inline styles and data: images, nothing else (no script, no fetch).
CSP_STANDALONE = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
CSP_SVG = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
CSP_OTHER = "default-src 'none'; frame-ancestors 'none'"

STATIC_PREFIX = "/static/"


def standalone_html(response: Response) -> Response:
    """Mark a self-contained HTML document (inline styles, no script) for its own CSP."""
    response.headers["Content-Security-Policy"] = CSP_STANDALONE
    return response


def _csp(mimetype: str | None) -> str | None:
    if mimetype == "text/html":
        return CSP_PAGES
    if mimetype == "image/svg+xml":
        return CSP_SVG
    if mimetype == "application/pdf":
        return None
    return CSP_OTHER


def add_headers(response: Response) -> Response:
    headers = response.headers
    csp = _csp(response.mimetype)
    if csp:
        headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not request.path.startswith(STATIC_PREFIX):
        headers["Cache-Control"] = "no-store"
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies,  # type: ignore[method-assign]
                                x_proto=proxies, x_host=proxies, x_prefix=proxies)
    app.after_request(add_headers)
