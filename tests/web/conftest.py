"""Web-test fixtures: funnel data written straight into the tables, and (for browser tests) a
live server on 127.0.0.1 with headless Debian Chromium driven by Playwright.

Browser tests are skipped when ``/usr/bin/chromium`` is absent, unless ``CI`` is set (CI
installs Chromium, so a missing browser there is a failure, not a skip).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import insert

from hrpipeline.extensions import db

#: Playwright's wait for a page or element. Generous on purpose: these tests check what a
#: page shows, not how fast it comes (speed lives in bench/), and CI machines are loaded.
BROWSER_TIMEOUT_MS = 180_000

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: Applicants per group at the first stage, per zone. ANT's numbers are distinctive so that a
#: test can assert that none of them leaks into another zone's pages.
APPLICANTS = {
    "ANT": {"belgian_origin": 613, "eu_background": 97, "non_eu_background": 271, "unknown": 41},
    "GNT": {"belgian_origin": 352, "eu_background": 58, "non_eu_background": 149, "unknown": 23},
}
#: The zones' own short stage list (keeps the release's suppression audit small and fast), the
#: pass rate per stage, and the non-EU group's lower rate at the cognitive test (a planted gap
#: the dashboard must show).
STAGES = ("application", "cognitive_test", "interview", "appointed")
PASS = {"application": 0.9, "cognitive_test": 0.6, "interview": 0.7, "appointed": 1.0}
NON_EU_COGNITIVE = 0.35


def _candidate_rows(upload_id: int, zone_id: int, code: str, campaign: str) -> list[dict]:
    rows = []
    year = int(campaign.split("-")[0])
    for group, n in APPLICANTS[code].items():
        # Second campaign: about half the first, so the year table pools two unequal strata.
        n = n if campaign.endswith("-1") else n // 2
        alive = [f"{code}-{campaign}-{group}-{i}" for i in range(n)]
        for stage in STAGES:
            rate = NON_EU_COGNITIVE if (group == "non_eu_background"
                                        and stage == "cognitive_test") else PASS[stage]
            passed = round(len(alive) * rate)
            withdrew = (len(alive) - passed) // 4
            for i, ref in enumerate(alive):
                outcome = ("passed" if i < passed else
                           "withdrew" if i < passed + withdrew else "failed")
                rows.append({
                    "upload_id": upload_id, "zone_id": zone_id, "candidate_ref": ref,
                    "campaign": campaign, "campaign_year": year, "stage": stage,
                    "outcome": outcome, "migration_background": group,
                    "stage_date": dt.date(year, 3, 1),
                })
            alive = alive[:passed]
    return rows


@pytest.fixture
def funnel_data(app, zones, make_user):
    """Two zones (ANT, GNT) × two campaigns of 2024, written as uploads + funnel rows."""
    from hrpipeline.models import FunnelRecord, Upload, ZoneStage

    uploader = make_user("hr_manager", ["ANT", "GNT"], username="seed.hr")
    for code in APPLICANTS:
        db.session.add_all(ZoneStage(zone_id=zones[code].id, position=i, stage=s)
                           for i, s in enumerate(STAGES))
        for campaign in ("2024-1", "2024-2"):
            upload = Upload(zone_id=zones[code].id, user_id=uploader.id, kind="funnel",
                            filename=f"funnel_{code}_{campaign}.csv",
                            sha256=f"{code}{campaign}".ljust(64, "0"), status="stored",
                            campaign=campaign,
                            # Fixed timestamps: identical data gives the same data version,
                            # so the service's release cache is reused across tests.
                            created_at=dt.datetime(2024, 5, 1, 9, 0))
            db.session.add(upload)
            db.session.flush()
            db.session.execute(insert(FunnelRecord),
                               _candidate_rows(upload.id, zones[code].id, code, campaign))
    db.session.commit()
    return APPLICANTS


def login(client, user, password=None):
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"username": user.username,
                                            "password": password or PASSWORD})
    assert response.status_code == 302, response.data[:500]
    return response


def as_user(client, user) -> None:
    """Log in by session (no password hashing): for tests that switch users many times."""
    from flask import g

    # The app fixture keeps one app context open, so flask-login's per-request user cache
    # (g._login_user) would survive into the next request: drop it.
    g.pop("_login_user", None)
    from hrpipeline.sessions import session_fields

    with client.session_transaction() as session:
        session.clear()
        session.update(session_fields(user))


# --- browser tests ---------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM) or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is absent (CI installs it; set CI to fail)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The app served by werkzeug in a thread on a free 127.0.0.1 port."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_app(database_url, funnel_data, make_user):
    """A second app on the same database (no SERVER_NAME, so any host:port works)."""
    from hrpipeline import create_app
    from tests.conftest import app_test_config

    config = app_test_config(database_url, WTF_CSRF_ENABLED=True)
    config.pop("SERVER_NAME")
    application = create_app(config)
    server = LiveServer(application).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is required for browser tests in CI")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                                  accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield tab
    context.close()
