"""Load test: gunicorn on 127.0.0.1 with the demo data, N concurrent users for T seconds.

Run: ``.venv/bin/python bench/load.py [--users 50] [--seconds 60] [--pg-url URL]``

Set-up: a temporary instance directory with a SQLite database (or the PostgreSQL database
given by ``--pg-url``, which is emptied), migrated and loaded with the synthetic demo data;
one API token per demo user. Gunicorn is started with ``gunicorn.conf.py`` on a free port of
127.0.0.1 only. Each simulated user (a thread) is logged in to the web app with a session and
holds a token, then loops for the duration over a mix of dashboard pages and API calls
(funnel JSON and CSV, catalogue, zones, uploads, the funnel dashboard page, index). Reported:
throughput, p50/p95/p99 latency overall and per request kind, and errors (5xx, connection
errors, or any unexpected status). Targets: 0 errors, p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"


def bench_app():
    """The app as ``wsgi.py`` builds it (the factory registers the API too)."""
    from hrpipeline import create_app

    return create_app()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, load the demo data, issue one token per demo user; return {username: secret}."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from hrpipeline.extensions import db
    from hrpipeline.models import User
    from hrpipeline.services.demo import load_demo
    from hrpipeline.services.tokens import issue_token

    app = bench_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy import text

            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        started = time.perf_counter()
        for line in load_demo(reset=False):
            print("  demo:", line)
        print(f"  demo data loaded in {time.perf_counter() - started:.1f} s")
        tokens = {u.username: issue_token(u, "load test")[1]
                  for u in db.session.query(User).order_by(User.id)}
        db.session.remove()
        db.engine.dispose()
    return tokens


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if error:
                self.errors[f"{kind}: {error}"] += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{kind}: {error}")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _login(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/login").text
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    data = {"username": username, "password": password}
    if match:
        data["csrf_token"] = match.group(1)
    response = client.post("/login", data=data)
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")


def user_loop(index: int, base: str, username: str, secret: str, password: str,
              entries: list[dict], stop_at: float, stats: Stats, rng: random.Random,
              think: tuple[float, float] = (0.0, 0.0)) -> None:
    auth = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as web, \
            httpx.Client(base_url=base, timeout=30, headers=auth) as api:
        _login(web, username, password)
        mine = entries or [None]
        while time.monotonic() < stop_at:
            entry = rng.choice(mine)
            choice = rng.random()
            if entry is None or choice < 0.10:
                kind, client, url, ok = "api zones", api, "/api/v1/zones", {200}
            elif choice < 0.40:
                kind, client, ok = "api funnel json", api, {200}
                url = f"/api/v1/funnel?zone={entry['zone']}&period={entry['period']}"
            elif choice < 0.50:
                kind, client, ok = "api funnel csv", api, {200}
                url = f"/api/v1/funnel?zone={entry['zone']}&period={entry['period']}&format=csv"
            elif choice < 0.60:
                kind, client, url, ok = "api catalogue", api, "/api/v1/catalogue", {200}
            elif choice < 0.65:
                kind, client, url, ok = "api uploads", api, "/api/v1/uploads", {200, 403}
            elif choice < 0.90:
                kind, client, ok = "web funnel page", web, {200}
                url = f"/funnel?zone={entry['zone']}&period={entry['period']}"
            else:
                kind, client, url, ok = "web index", web, "/", {200}
            started = time.perf_counter()
            error = None
            try:
                response = client.get(url)
                response.read()
                if response.status_code not in ok:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            stats.record(kind, time.perf_counter() - started, error)
            if think[1] > 0:  # a person reads the page before the next click
                time.sleep(max(0.0, min(rng.uniform(*think), stop_at - time.monotonic())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pg-url", help="PostgreSQL URL (its public schema is recreated)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: config)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--think", default="0,0",
                        help="think time between a user's requests, 'min,max' seconds "
                             "(default 0,0: closed loop, every user requests back to back)")
    args = parser.parse_args()
    users = max(1, min(args.users, 500))  # bounded: a local bench, not a flood
    seconds = max(1.0, min(args.seconds, 600.0))

    from hrpipeline.services.demo import DEMO_PASSWORD, DEMO_USERS

    with tempfile.TemporaryDirectory(prefix="hrp-load-") as tmp:
        url = args.pg_url or f"sqlite:///{Path(tmp) / 'load.sqlite'}"
        # Every simulated user logs in from 127.0.0.1 at the same moment: lift the
        # per-address login throttle (hrpipeline.services.throttle) for the bench.
        env = {"DATABASE_URL": url, "HRPIPELINE_SECRET_KEY": "load-test-secret",
               "HRPIPELINE_LOGIN_SOURCE_FREE_ATTEMPTS": "100000"}
        print(f"Preparing {url.split('@')[-1]} ...")
        tokens = prepare(env)
        port = _free_port()
        base = f"http://{HOST}:{port}"
        command = [str(Path(sys.executable).with_name("gunicorn")), "-c",
                   str(ROOT / "gunicorn.conf.py"), "--bind", f"{HOST}:{port}",
                   "--access-logfile", os.devnull, "bench.load:bench_app()"]
        if args.workers:
            command += ["--workers", str(args.workers)]
        server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env,
                                                          "PYTHONPATH": str(ROOT)})
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start")
                time.sleep(0.3)
            admin = {"Authorization": f"Bearer {tokens['admin']}"}
            per_user: dict[str, list[dict]] = {}
            for username, _role, _zones, _lang in DEMO_USERS:
                reply = httpx.get(f"{base}/api/v1/catalogue", timeout=60,
                                  headers={"Authorization": f"Bearer {tokens[username]}"})
                per_user[username] = reply.json()["items"] if reply.status_code == 200 else []
            # Warm-up: each published table once (the first request builds the release).
            for entry in per_user["admin"]:
                httpx.get(f"{base}/api/v1/funnel", params={"zone": entry["zone"],
                                                           "period": entry["period"]},
                          headers=admin, timeout=120)
            stats = Stats()
            think = tuple(float(v) for v in args.think.split(","))
            rng = random.Random(args.seed)
            names = [u[0] for u in DEMO_USERS]
            stop_at = time.monotonic() + seconds
            threads = []
            started = time.perf_counter()
            for i in range(users):
                name = names[i % len(names)]
                thread = threading.Thread(
                    target=user_loop, daemon=True,
                    args=(i, base, name, tokens[name], DEMO_PASSWORD, per_user[name], stop_at,
                          stats, random.Random(rng.random()), think))
                threads.append(thread)
                thread.start()
            for thread in threads:
                thread.join(timeout=seconds + 60)
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    everything = [v for values in stats.latency.values() for v in values]
    errors = sum(stats.errors.values())
    print(f"\nthink time {args.think} s between a user's requests")
    print(f"{users} users x {seconds:.0f} s against gunicorn ({'PostgreSQL' if args.pg_url else 'SQLite'}),"
          f" {os.cpu_count()} CPUs")
    print(f"requests {len(everything)}  throughput {len(everything) / elapsed:.1f} req/s  "
          f"errors {errors}")
    print(f"latency p50 {_pct(everything, .5) * 1000:.0f} ms  p95 {_pct(everything, .95) * 1000:.0f}"
          f" ms  p99 {_pct(everything, .99) * 1000:.0f} ms  max {max(everything) * 1000:.0f} ms")
    print(f"{'kind':<18}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for kind, values in sorted(stats.latency.items()):
        print(f"{kind:<18}{len(values):>7}{_pct(values, .5) * 1000:>9.0f}"
              f"{_pct(values, .95) * 1000:>9.0f}{statistics.fmean(values) * 1000:>9.0f}")
    for line, count in sorted(stats.errors.items()):
        print(f"  error {line}: {count}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
