"""Benchmark: a SYNTHETIC national data set — 180 zones × 10 campaign years — imported, every
funnel release built, a zone page and the national pool opened; growth with the number of zones.

    .venv/bin/python bench/national.py [--scales 20,60,180] [--years 10] [--pg-url URL]
                                       [--retention] [--json out.json]

Zone sizes follow the public orders of magnitude (docs/domain-primer.md): about 13,000–17,600
candidates a year nationally, Antwerp about 3,000–3,600 registrations a year; about 34,000
officers in the local police. Sizes fall with the zone's rank as a power law (candidates
∝ rank^-1.0, officers ∝ rank^-0.75): zone 1 has 3,000 candidates a year and 2,800 officers,
the 180 zones together ≈ 17,000 candidates a year and ≈ 31,000 officers. Each candidate
reaches 1–9 stages (geometric), four background groups (62/12/18/8 %); zones above 600
candidates a year run two campaigns a year.

Every scale runs in its own process on a fresh database (SQLite temporary file, or the
PostgreSQL server of ``--pg-url``, database created and dropped), measuring:

* ``import``: every zone's funnel extract through the ingest store (``store_frame``:
  validation, bulk insert, one upload per zone), and with ``--retention`` the workforce too;
* ``zone releases``: every zone-year release protected (what the warming job does first);
* ``pool releases``: each year's all-zone pool (the sum of the zone releases, cached parts);
* ``pool cold``: the newest year's pool in a process that holds no release (a web process
  that did not run the job): read from ``release_cache``; ``pool rebuild``: the same with the
  stored pool removed (every zone-year release of that year protected again);
* ``zone page`` / ``pool page``: ``GET /funnel`` for the largest zone and for all zones,
  newest year, first (analysis not cached) and second time, through the test client;
* with ``--retention``: the joint retention release and ``GET /retention?zone=ALL``.

The growth exponent of each step is the least-squares slope of log(time) on log(zones), and on
log(funnel rows) (the power law puts most rows in the largest zones, so rows grow more slowly
than zones).
Nothing here is a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

GROUPS = ("belgian_origin", "eu_background", "non_eu_background", "unknown")
GROUP_P = (0.62, 0.12, 0.18, 0.08)
TOP_CANDIDATES = 3000
TOP_OFFICERS = 2800
FIRST_YEAR = 2016


def zone_sizes(n_zones: int) -> list[tuple[int, int]]:
    """(candidates a year, officers) of zone rank 1..n (the national ranks, whatever n)."""
    return [(max(15, round(TOP_CANDIDATES * r ** -1.0)), max(30, round(TOP_OFFICERS * r ** -0.75)))
            for r in range(1, n_zones + 1)]


def funnel_frame(rng, code: str, candidates: int, years: int):
    import numpy as np
    import pandas as pd

    from hrpipeline.domain import DEFAULT_STAGES

    frames = []
    for y in range(FIRST_YEAR, FIRST_YEAR + years):
        n_year = max(5, int(rng.poisson(candidates)))
        campaigns = [f"{y}-1", f"{y}-2"] if candidates > 600 else [f"{y}-1"]
        for ci, campaign in enumerate(campaigns):
            n = n_year // len(campaigns) + (n_year % len(campaigns) if ci == 0 else 0)
            reach = np.minimum(rng.geometric(0.33, n), len(DEFAULT_STAGES))
            cand = np.repeat(np.arange(n), reach)
            stage = np.concatenate([np.arange(k) for k in reach]) if n else np.array([], int)
            last = np.r_[cand[1:] != cand[:-1], True] if n else np.array([], bool)
            outcome = np.where(last, rng.choice(["failed", "withdrew", "passed", "pending"],
                                                len(cand), p=[0.6, 0.3, 0.07, 0.03]), "passed")
            group = rng.choice(GROUPS, n, p=GROUP_P)[cand]
            start = np.datetime64(f"{y}-0{1 + 6 * ci}-15")
            dates = start + (stage * 14).astype("timedelta64[D]")
            frames.append(pd.DataFrame({
                "candidate_ref": [f"C-{code}-{campaign}-{i:05d}" for i in cand],
                "campaign": campaign,
                "stage": np.array(DEFAULT_STAGES, dtype=object)[stage],
                "outcome": outcome,
                "stage_date": pd.to_datetime(dates).date,
                "migration_background": group,
            }))
    return pd.concat(frames, ignore_index=True)


def workforce_frame(rng, code: str, officers: int, years: int):
    import datetime as dt

    import numpy as np
    import pandas as pd

    ref = dt.date(FIRST_YEAR + years - 1, 12, 31)
    n = int(officers * 1.3)  # the current corps and those who left in the window
    hire_year = rng.integers(1990, ref.year + 1, n)
    hire = [dt.date(int(y), int(m), 2) for y, m in zip(hire_year, rng.integers(1, 13, n),
                                                        strict=True)]
    leave = rng.random(n) < 0.25
    exit_year = np.maximum(hire_year + 1, rng.integers(FIRST_YEAR, ref.year + 1, n))
    exits = [dt.date(int(e), int(m), 13) if lv and e <= ref.year else None
             for lv, e, m in zip(leave, exit_year, rng.integers(1, 13, n), strict=True)]
    return pd.DataFrame({
        "officer_ref": [f"O-{code}-{i:05d}" for i in range(n)],
        "migration_background": rng.choice(GROUPS, n, p=GROUP_P),
        "gender": rng.choice(["male", "female"], n, p=[0.7, 0.3]),
        "rank": rng.choice(["inspector", "chief_inspector", "commissioner"], n,
                           p=[0.7, 0.22, 0.08]),
        "hire_date": hire,
        "exit_date": exits,
        "exit_type": [rng.choice(["voluntary", "retirement", "other"]) if e else None
                      for e in exits],
    }), ref


def _rss_mb() -> float:
    from ingest import peak_rss_mb  # VmHWM: ru_maxrss carries the parent's peak over

    return peak_rss_mb()


def _timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def run_one(n_zones: int, years: int, url: str, retention: bool) -> dict:
    import hashlib

    import numpy as np
    from flask_migrate import upgrade

    from hrpipeline import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "DISCLOSURE_KEY": "bench-key", "JOB_WORKER_THREAD": False,
                      "JOB_DEFER": False, "WTF_CSRF_ENABLED": False,
                      "MAX_UPLOAD_ROWS": 5_000_000})
    out: dict = {"zones": n_zones, "years": years}
    with app.app_context():
        from hrpipeline.extensions import db
        from hrpipeline.ingest.store import store_frame
        from hrpipeline.models import User, Zone
        from hrpipeline.services import funnel, funnel_data, releases
        from hrpipeline.services import retention as retention_service

        upgrade()
        zones = []
        for i in range(n_zones):
            zone = Zone(code=f"Z{i + 1:03d}", police_zone_number=str(5000 + i),
                        name_nl=f"Zone {i + 1}", name_fr=f"Zone {i + 1}",
                        language="nl" if i % 2 else "fr")
            db.session.add(zone)
            zones.append(zone)
        user = User(username="bench", role="diversity_officer", all_zones=True, language="en")
        user.set_password("bench-password-123")
        db.session.add(user)
        db.session.commit()

        rng = np.random.default_rng(20261207)
        sizes = zone_sizes(n_zones)
        frames = [funnel_frame(rng, z.code, c, years) for z, (c, _o) in zip(zones, sizes,
                                                                                strict=True)]
        out["funnel_rows"] = int(sum(len(f) for f in frames))
        t0 = time.perf_counter()
        for zone, frame in zip(zones, frames, strict=True):
            store_frame(zone=zone, kind="funnel", frame=frame, filename=f"{zone.code}.csv",
                        sha256=hashlib.sha256(f"f{zone.code}".encode()).hexdigest())
        out["import_s"] = time.perf_counter() - t0
        del frames
        if retention:
            t0 = time.perf_counter()
            officers = 0
            for zone, (_c, o) in zip(zones, sizes, strict=True):
                frame, ref = workforce_frame(rng, zone.code, o, years)
                officers += len(frame)
                store_frame(zone=zone, kind="workforce", frame=frame,
                            filename=f"wf_{zone.code}.csv", reference_date=ref,
                            sha256=hashlib.sha256(f"w{zone.code}".encode()).hexdigest())
            out["workforce_rows"] = officers
            out["import_workforce_s"] = time.perf_counter() - t0

        year_list = funnel_data.years_with_data()
        newest = max(year_list)
        releases.clear_cache()
        t0 = time.perf_counter()
        per_zone = []
        for year in year_list:
            for zone in funnel_data.zones_with_data(year):
                _r, s = _timed(lambda z=zone, y=year: releases.zone_release(z, y))
                per_zone.append(s)
        out["zone_releases_s"] = time.perf_counter() - t0
        out["zone_release_count"] = len(per_zone)
        out["zone_release_median_ms"] = float(np.median(per_zone) * 1000)
        out["zone_release_max_ms"] = float(max(per_zone) * 1000)
        t0 = time.perf_counter()
        for year in year_list:
            releases.pool_release(year)
        out["pool_releases_s"] = time.perf_counter() - t0

        client = app.test_client()
        with client.session_transaction() as session:
            from hrpipeline.sessions import session_fields

            session.update(session_fields(user))

        def page(path: str) -> float:
            from flask import g

            g.pop("_login_user", None)
            t = time.perf_counter()
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return time.perf_counter() - t

        zone_path = f"/funnel?zone=Z001&period=year:{newest}"
        pool_path = f"/funnel?zone=ALL&period=year:{newest}"
        out["zone_page_first_s"] = page(zone_path)
        out["zone_page_again_s"] = page(zone_path)
        out["pool_page_first_s"] = page(pool_path)
        out["pool_page_again_s"] = page(pool_path)
        # A process that did not build them: every cache empty; the pool read from
        # release_cache (stored by the process that built it), then built from scratch.
        funnel.clear_cache()
        releases.clear_cache()
        _r, out["pool_cold_s"] = _timed(lambda: releases.pool_release(newest))
        from hrpipeline.models import ReleaseCache

        db.session.execute(ReleaseCache.__table__.delete().where(
            ReleaseCache.release_key.like("funnel-pool:%")))
        db.session.commit()
        funnel.clear_cache()
        releases.clear_cache()
        _r, out["pool_rebuild_s"] = _timed(lambda: releases.pool_release(newest))
        funnel.clear_cache()
        releases.clear_cache()
        out["zone_page_cold_s"] = page(zone_path)
        if retention:
            retention_service.clear_cache()
            _r, out["retention_release_s"] = _timed(retention_service.get_release)
            out["retention_page_first_s"] = page("/retention?zone=ALL")
            out["retention_page_again_s"] = page("/retention?zone=ALL")
        out["peak_rss_mb"] = _rss_mb()
        db.session.remove()
        db.engine.dispose()
    return out


def _database(pg_url: str | None, n: int) -> tuple[str, callable]:
    if not pg_url:
        path = pathlib.Path(tempfile.mkdtemp()) / f"national_{n}.sqlite"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(pg_url)
    name = f"hrp_bench_national_{n}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def slope(xs: list[float], ys: list[float]) -> float:
    lx = [math.log(x) for x in xs]
    ly = [math.log(max(y, 1e-6)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx)


STEPS = ("import_s", "zone_releases_s", "pool_releases_s", "pool_cold_s", "pool_rebuild_s", "zone_page_first_s",
         "zone_page_again_s", "zone_page_cold_s", "pool_page_first_s", "pool_page_again_s",
         "import_workforce_s", "retention_release_s", "retention_page_first_s",
         "retention_page_again_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="20,60,180")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--retention", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_one(args.child, args.years, args.url, args.retention)))
        return
    results = []
    for n in [int(s) for s in args.scales.split(",")]:
        url, drop = _database(args.pg_url, n)
        try:
            cmd = [sys.executable, __file__, "--child", str(n), "--years", str(args.years),
                   "--url", url] + (["--retention"] if args.retention else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-4000:])
                raise SystemExit(f"scale {n} failed")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            drop()
        results.append(result)
        print(json.dumps(result), flush=True)
    db_name = "postgresql" if args.pg_url else "sqlite"
    print(f"\n{db_name}: " + " | ".join(f"{r['zones']} zones: {r['funnel_rows']:,} rows"
                                        for r in results))
    print(f"{'step':<24}" + "".join(f"{str(r['zones']) + ' zones':>12}" for r in results)
          + f"{'exp/zones':>10}{'exp/rows':>10}")
    for step in STEPS:
        if not all(step in r for r in results):
            continue
        ys = [r[step] for r in results]
        many = len(results) > 1
        exp = slope([r["zones"] for r in results], ys) if many else float("nan")
        exp_rows = slope([r["funnel_rows"] for r in results], ys) if many else float("nan")
        print(f"{step:<24}" + "".join(f"{y:>12.3f}" for y in ys) + f"{exp:>10.2f}"
              + f"{exp_rows:>10.2f}")
    print(f"{'peak RSS (MB)':<24}" + "".join(f"{r['peak_rss_mb']:>12.0f}" for r in results))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
