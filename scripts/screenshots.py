"""Screenshots of every page at desktop (1280 px) and mobile (390 px) width.

Starts the app on a temporary SQLite database with the SYNTHETIC demo data, logs in with the
demo users in headless Debian Chromium (Playwright) and writes PNGs into ``screenshots/``
(git-ignored)::

    python scripts/screenshots.py [--out screenshots] [--only funnel]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = {"desktop": (1280, 900), "mobile": (390, 844)}

#: (file name, demo user, language, path); uploads are handled separately.
PAGES = [
    ("01_login", None, "en", "/login"),
    ("02_home_hr", "hr.antwerpen", "nl", "/"),
    ("03_funnel_en", "diversity", "en", "/funnel"),
    ("04_funnel_campaign_nl", "diversity.gent", "nl", "/funnel"),
    ("05_funnel_fr", "diversity.brussels", "fr", "/funnel"),
    ("06_representation", "diversity", "en", "/representation"),
    ("06_representation_zone_nl", "diversity.gent", "nl", "/representation"),
    ("06_representation_zone_fr", "diversity.brussels", "fr", "/representation"),
    ("07_data_quality", "diversity", "en", "/data-quality"),
    ("08_upload_form", "hr.antwerpen", "nl", "/uploads/new"),
    ("10_upload_history", "hr.antwerpen", "nl", "/uploads"),
    ("11_admin_users", "admin", "en", "/admin/users"),
    ("12_admin_zones", "admin", "en", "/admin/zones"),
    ("13_forbidden", "leadership", "nl", "/uploads/new"),
    ("14_retention_en", "diversity", "en", "/retention"),
    ("15_retention_nl", "hr.antwerpen", "nl", "/retention"),
    ("16_pilots", "project", "en", "/pilots"),
    ("17_briefings_fr", "leadership", "fr", "/briefings"),
    ("18_upload_guide_fr", "hr.antwerpen", "fr", "/uploads/guide"),
    ("19_planner_nl", "hr.antwerpen", "nl", "/planner?zone=ANT"),
    ("20_planner_fr", "diversity.brussels", "fr", "/planner?zone=BXN"),
]


def make_app(instance: Path):
    from flask_migrate import upgrade

    from hrpipeline import create_app
    from hrpipeline.services.demo import load_demo

    app = create_app({"SECRET_KEY": "screenshots-only",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'demo.sqlite'}"})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        for line in load_demo():
            print("  demo:", line)
        print(f"  demo data loaded in {time.perf_counter() - started:.1f} s")
    return app


#: Upload pages in Dutch and French at a laptop's 1366 x 768: problems in the reader's
#: language, and the check before storing (the example workforce file would replace the
#: zone's stored workforce: the page must say so before anything is stored).
UPLOAD_SHOTS = [
    ("20_upload_missing_column", "funnel", "missing_column.csv"),
    ("21_upload_wrong_values", "funnel", "wrong_values.csv"),
    ("22_upload_wrong_kind", "funnel", "workforce_nl.csv"),
    ("23_upload_preview_replace", "workforce", "workforce_nl.csv"),
]


def _upload_files(directory: Path) -> dict[str, Path]:
    files = {
        "missing_column.csv": "Kandidaat;Wervingscampagne;Fase;Datum;Herkomst\r\n"
                              "K001;INP 2024-1;Sollicitatie;1/02/2024;Belgische herkomst\r\n",
        "wrong_values.csv": "Kandidaat;Wervingscampagne;Fase;Uitkomst;Datum;Herkomst\r\n"
                            "K001;INP 2024-1;Sollicitatie;voorlopig;1/02/2024;Belgische herkomst\r\n"
                            "K002;INP 2024-1;Sollicitatie;geslaagd;31/02/2024;allochtoon\r\n"
                            "K003;INP 2024-1;Sporttest;geslaagd;1/03/2024;Belgisch\r\n",
    }
    paths = {name: directory / name for name in files}
    for name, text in files.items():
        paths[name].write_text(text, encoding="utf-8")
    paths["workforce_nl.csv"] = ROOT / "examples" / "workforce_nl.csv"
    return paths


def upload_shots(browser, url: str, out: Path, only: str) -> None:
    from hrpipeline.services.demo import DEMO_PASSWORD

    with tempfile.TemporaryDirectory() as tmp:
        files = _upload_files(Path(tmp))
        for lang in ("nl", "fr"):
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale=lang)
            page = context.new_page()
            page.set_default_timeout(300_000)
            page.goto(url + "/login")
            page.fill("#username", "hr.antwerpen")
            page.fill("#password", DEMO_PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_load_state()
            page.click(f"form[action$='/language/{lang}'] button")
            page.wait_for_load_state()
            for name, kind, file in UPLOAD_SHOTS:
                if only not in name:
                    continue
                page.goto(url + "/uploads/new")
                page.select_option("#zone", "ANT")
                page.select_option("#kind", kind)
                page.set_input_files("#file", str(files[file]))
                page.click("button[type=submit].primary")
                page.wait_for_selector("#upload-problems, #upload-preview, #upload-conflict")
                target = out / f"{name}_{lang}_1366.png"
                page.screenshot(path=str(target), full_page=True)
                print(target.name)
            context.close()


def serve(app):
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--only", default="", help="only pages whose name contains this")
    options = parser.parse_args()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    from hrpipeline.services.demo import DEMO_PASSWORD

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        server, url = serve(app)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for kind, (width, height) in WIDTHS.items():
                    for name, user, lang, path in PAGES:
                        if options.only not in name:
                            continue
                        context = browser.new_context(viewport={"width": width,
                                                                "height": height},
                                                      locale=lang)
                        page = context.new_page()
                        page.set_default_timeout(300_000)
                        if user:
                            page.goto(url + "/login")
                            page.fill("#username", user)
                            page.fill("#password", DEMO_PASSWORD)
                            page.click("button[type=submit].primary")
                            page.wait_for_load_state()
                            # The user's saved language wins over the browser's: switch it.
                            page.click(f"form[action$='/language/{lang}'] button")
                            page.wait_for_load_state()
                        started = time.perf_counter()
                        page.goto(url + path)
                        for img in page.locator("img").all():
                            img.scroll_into_view_if_needed()
                        page.wait_for_load_state("networkidle")
                        page.evaluate("window.scrollTo(0, 0)")
                        target = out / f"{name}_{kind}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(f"{target.name}  ({time.perf_counter() - started:.1f} s)")
                        if name == "08_upload_form":
                            bad = ROOT / "tests" / "ingest" / "corpus" / "bad_date.csv"
                            page.set_input_files("#file", str(bad))
                            page.click("button[type=submit].primary")
                            page.wait_for_selector("#upload-problems")
                            target = out / f"09_upload_problems_{kind}.png"
                            page.screenshot(path=str(target), full_page=True)
                            print(target.name)
                        context.close()
                upload_shots(browser, url, out, options.only)
                browser.close()
        finally:
            server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
