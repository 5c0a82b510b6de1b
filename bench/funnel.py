"""Benchmark: funnel analysis over 1,000,000 stored rows vs. a hand-written SQL GROUP BY.

    .venv/bin/python bench/funnel.py [--rows 1000000] [--repeat 5] [--pg-url URL] [--no-pg]
                                     [--no-sqlite] [--keep] [--json FILE]

Creates a fresh database per engine (a temporary SQLite file; PostgreSQL database
``hrp_bench_funnel``, created and dropped by the script), migrates it through the app, and
stores ``--rows`` seeded ``funnel_records`` rows: the 5 demo zones x 4 campaign years
(2022-2025) x 2 campaigns, one ``uploads`` row per zone and campaign, the default stage list,
4 migration-background groups, outcomes passed/failed/withdrew/pending. PostgreSQL is then
``VACUUM ANALYZE``d (what autovacuum does after a bulk load); SQLite is used as the app
leaves it (no ``ANALYZE``).

Then, each in its own subprocess (so that peak RSS is measured separately), a warm-up call
and the median of ``--repeat`` timed calls of

* ``baseline``: ``SELECT zone_id, campaign, stage, migration_background, outcome, count(*)
  FROM funnel_records [WHERE campaign_year = :y [AND zone_id = :z]] GROUP BY ...`` fetched
  into Python: the raw aggregate any service must at least compute;
* ``analysis``: the service's data path ``services.funnel_data.funnel_counts`` (one statement) + stage order
  + the pure ``analysis.funnel.analyse_funnel`` on the result, called as
  ``services.funnel.funnel_report`` calls them (without the disclosure-control release),
  timed as its data path (``funnel_counts`` + stage order) and ``analyse_funnel``. For all
  zones it reads the year with one ``funnel_counts(year)`` call (the report's all-zone pool
  reads it zone by zone, through the cached zone releases);

for one zone-year (``zone``: 50,084 rows at the default size), for all zones of one year
(``all``: 250,291 rows; the largest table the app publishes) and for every stored row
(``rows``: all zones and years, strata zone x campaign; the issue's "over 1,000,000 stored
rows" read literally; the app has no all-years page, so the data path reads the years one
``funnel_counts`` call each, as a service would), and

* ``paired``: baseline and analysis alternately in one process (3 x ``--repeat`` pairs), the
  median of the per-pair ratios: robust to the slow spells of a shared machine;
* ``report``: ``services.funnel.funnel_report`` (operator scope) for one zone-year, cold
  (process and database release caches and suppression memory emptied: the release is
  computed) and warm (cached release).

Target (funnel-analysis issue): analysis ≤ 1.5x the baseline on SQLite and PostgreSQL.
This is a hand-run benchmark, not a test; measured figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/hrp_bench_funnel"
YEARS = (2022, 2023, 2024, 2025)
CAMPAIGNS = tuple(f"{y}-{i}" for y in YEARS for i in (1, 2))
YEAR = 2024  # the year measured
ZONE = "ANT"  # the zone of the zone-year measurements
GROUP_SHARES = (0.62, 0.12, 0.18, 0.08)  # belgian_origin, eu, non_eu, unknown
#: Outcome at the last stage a candidate reaches (every earlier stage is passed).
LAST_OUTCOMES = (("failed", 0.55), ("withdrew", 0.25), ("pending", 0.08), ("passed", 0.12))

BASELINE_SQL = (
    "SELECT zone_id, campaign, stage, migration_background, outcome, count(*) "
    "FROM funnel_records {where} "
    "GROUP BY zone_id, campaign, stage, migration_background, outcome"
)
SCOPES = ("zone", "all", "rows")


# --- setup ------------------------------------------------------------------------------------


def generate(rows: int, seed: int = 20261124):
    """Seeded funnel rows ordered by (zone, campaign): ``(frame, [(zone, campaign, n)...])``."""
    import numpy as np
    import pandas as pd

    from hrpipeline.domain import AGE_BANDS, BACKGROUNDS, DEFAULT_STAGES, DEMO_ZONES

    rng = np.random.default_rng(seed)
    zones = [z[0] for z in DEMO_ZONES]
    n_stages = len(DEFAULT_STAGES)
    n_cand = rows // 2 + 1000
    reach = np.minimum(rng.geometric(0.3, n_cand), n_stages)
    n_cand = int(np.searchsorted(np.cumsum(reach), rows)) + 1
    reach = reach[:n_cand]
    reach[-1] -= int(reach.sum() - rows)
    # Candidates sorted by upload (zone x campaign), so that every upload is one slice.
    upload = np.sort(rng.integers(0, len(zones) * len(CAMPAIGNS), n_cand))
    cand = np.repeat(np.arange(n_cand), reach)
    stage = np.concatenate([np.arange(k) for k in reach])
    last = np.r_[cand[1:] != cand[:-1], True]
    names, probs = zip(*LAST_OUTCOMES, strict=True)
    outcome = np.where(last, rng.choice(names, len(cand), p=probs), "passed")
    up = upload[cand]
    zone_idx, camp_idx = up // len(CAMPAIGNS), up % len(CAMPAIGNS)
    campaign = np.array(CAMPAIGNS)[camp_idx]
    starts = np.array([np.datetime64(f"{c[:4]}-{'02' if c[-1] == '1' else '09'}-01")
                       for c in CAMPAIGNS])
    frame = pd.DataFrame({
        "zone": np.array(zones)[zone_idx],
        "candidate_ref": np.char.add("C", np.char.zfill(cand.astype(str), 8)),
        "campaign": campaign,
        "campaign_year": np.array([int(c[:4]) for c in CAMPAIGNS])[camp_idx],
        "stage": np.array(DEFAULT_STAGES)[stage],
        "outcome": outcome,
        "stage_date": starts[camp_idx] + (stage * 21).astype("timedelta64[D]"),
        "migration_background": rng.choice(BACKGROUNDS, n_cand, p=GROUP_SHARES)[cand],
        "gender": rng.choice(["female", "male"], n_cand, p=[0.35, 0.65])[cand],
        "age_band": rng.choice(AGE_BANDS[:4], n_cand)[cand],
    })
    bounds = np.flatnonzero(np.r_[True, up[1:] != up[:-1], True])
    slices = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return frame, slices


def _app(url: str):
    from hrpipeline import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})


def _pg_admin(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def drop_pg(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    engine = _pg_admin(url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def prepare(url: str, rows: int) -> dict:
    """Fresh database: migrate, add the demo zones, store ``rows`` funnel rows."""
    from flask_migrate import upgrade
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    if url.startswith("postgresql"):
        drop_pg(url)
        engine = _pg_admin(url)
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
        engine.dispose()
    t0 = time.perf_counter()
    frame, slices = generate(rows)
    generated = time.perf_counter() - t0
    app = _app(url)
    with app.app_context():
        from hrpipeline.domain import DEMO_ZONES
        from hrpipeline.extensions import db
        from hrpipeline.ingest.store import _COLUMNS, CHUNK_ROWS, write_chunk
        from hrpipeline.models import FunnelRecord, Upload, Zone

        upgrade()
        zones = {}
        for code, number, name_nl, name_fr, language in DEMO_ZONES:
            zones[code] = Zone(code=code, police_zone_number=number, name_nl=name_nl,
                               name_fr=name_fr, language=language)
            db.session.add(zones[code])
        db.session.flush()
        t0 = time.perf_counter()
        table = FunnelRecord.__table__
        columns = list(_COLUMNS["funnel"])
        connection = db.session.connection()
        for start, stop in slices:
            part = frame.iloc[start:stop]
            zone = zones[part["zone"].iat[0]]
            campaign = part["campaign"].iat[0]
            upload = Upload(zone_id=zone.id, kind="funnel", filename=f"bench_{campaign}.csv",
                            sha256=hashlib.sha256(f"{zone.code}/{campaign}".encode()).hexdigest(),
                            row_count=len(part), status="stored", campaign=campaign,
                            created_at=dt.datetime(2026, 11, 24))
            db.session.add(upload)
            db.session.flush()
            for at in range(0, len(part), CHUNK_ROWS):
                write_chunk(connection, table, part.iloc[at:at + CHUNK_ROWS][columns],
                            upload.id, zone.id)
        db.session.commit()
        stored = time.perf_counter() - t0
        count = db.session.scalar(text("SELECT count(*) FROM funnel_records"))
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()
    year = frame[frame["campaign_year"] == YEAR]
    return {"rows": int(count), "uploads": len(slices), "generate_s": round(generated, 1),
            "store_s": round(stored, 1), "year_rows": len(year),
            "zone_year_rows": int((year["zone"] == ZONE).sum())}


# --- measurements (child processes) -----------------------------------------------------------


def _baseline(scope: str):
    from sqlalchemy import select, text

    from hrpipeline.extensions import db
    from hrpipeline.models import Zone

    if scope == "zone":
        zone_id = db.session.scalar(select(Zone.id).where(Zone.code == ZONE))
        sql = text(BASELINE_SQL.format(where="WHERE campaign_year = :y AND zone_id = :z"))
        params = {"y": YEAR, "z": zone_id}
    elif scope == "all":
        sql, params = text(BASELINE_SQL.format(where="WHERE campaign_year = :y")), {"y": YEAR}
    else:
        sql, params = text(BASELINE_SQL.format(where="")), {}

    def run():
        return len(db.session.execute(sql, params).fetchall())

    return run, {}


def _analysis(scope: str):
    import pandas as pd

    from hrpipeline.analysis.funnel import analyse_funnel
    from hrpipeline.analysis.impact import clear_caches
    from hrpipeline.domain import DEFAULT_REFERENCE_GROUP
    from hrpipeline.services import funnel_data
    from hrpipeline.services.publish import policy
    from hrpipeline.services.releases import stage_order

    parts: dict[str, list[float]] = {"data_ms": [], "analyse_ms": []}
    # The service holds the zone (from the catalogue) when it reads its counts; loaded here
    # outside the timing, as the baseline resolves the zone id outside it.
    zones = None
    if scope == "zone":
        from sqlalchemy import select

        from hrpipeline.extensions import db
        from hrpipeline.models import Zone

        zones = [db.session.scalar(select(Zone).where(Zone.code == ZONE))]
        db.session.expunge(zones[0])
    strata = ["campaign"] if scope == "zone" else ["zone", "campaign"]
    # The years with data, like the zone, come from the (cached) catalogue in a service.
    years = funnel_data.years_with_data() if scope == "rows" else [YEAR]

    def run():
        # As funnel_report: the release's inner counts and stage order, the entry's rows
        # (hidden-at-source cells left out), analyse_funnel with the entry's strata.
        clear_caches()  # the memoised tests and intervals: time the computation, not a hit
        t0 = time.perf_counter()
        if scope == "rows":
            inner = pd.concat([funnel_data.funnel_counts(y, zones=zones) for y in years],
                              ignore_index=True)
        else:
            inner = funnel_data.funnel_counts(YEAR, zones=zones)
        stages = stage_order(sorted(inner["zone"].unique()), set(inner["stage"]))
        parts["data_ms"].append((time.perf_counter() - t0) * 1e3)
        counts = inner[inner["zone"] == ZONE] if scope == "zone" else inner
        if counts["source_suppressed"].fillna(False).any():
            counts = counts[~counts["source_suppressed"].fillna(False)]
        counts = counts.assign(n=counts["n"].astype(int))
        analyse_funnel(counts[[*strata, "stage", "group", "outcome", "n"]], stages=stages,
                       reference=DEFAULT_REFERENCE_GROUP, strata=strata, test="fisher",
                       min_denominator=policy().min_denominator)
        parts["analyse_ms"].append((time.perf_counter() - t0) * 1e3 - parts["data_ms"][-1])
        return len(inner)

    return run, parts


def _timed(run, repeat: int, before=None, parts=None) -> dict:
    from hrpipeline.extensions import db

    if before:
        before()
    size = run()  # warm-up: imports, statement caches, connection, OS page cache
    db.session.rollback()
    times = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
        db.session.rollback()
    out = {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3,
           "runs": len(times), "result_rows": size}
    for name, values in (parts or {}).items():  # medians of the timed runs' parts
        out[name] = statistics.median(values[1:])
    return out


def _report(repeat: int) -> dict:
    from sqlalchemy import delete

    from hrpipeline.extensions import db
    from hrpipeline.models import ReleaseCache
    from hrpipeline.services import funnel as service
    from hrpipeline.services.scope import OPERATOR

    key = service.release_key(YEAR, ZONE)

    def forget():
        service.clear_cache()
        db.session.execute(delete(ReleaseCache).where(ReleaseCache.release_key == key))
        db.session.commit()

    def run():
        return len(service.funnel_report(OPERATOR, ZONE, f"year:{YEAR}").rows)

    cold = _timed(run, repeat, before=forget)
    warm = _timed(run, repeat)
    return {"cold": cold, "warm": warm}


def _paired(scope: str, repeat: int) -> dict:
    """Baseline and analysis alternately in one process, ``repeat`` pairs after a warm-up of
    each: on a shared machine a slow spell then slows both sides of a pair, which the ratio
    of two medians taken minutes apart in different processes cannot undo."""
    from hrpipeline.extensions import db

    base, _ = _baseline(scope)
    ana, _ = _analysis(scope)
    for run in (base, ana):
        run()
        db.session.rollback()
    ratios, times = [], {"baseline": [], "analysis": []}
    for i in range(repeat):
        pair = {}
        for name, run in (("baseline", base), ("analysis", ana))[:: 1 if i % 2 else -1]:
            t0 = time.perf_counter()
            run()
            pair[name] = time.perf_counter() - t0
            db.session.rollback()
            times[name].append(pair[name] * 1e3)
        ratios.append(pair["analysis"] / pair["baseline"])
    return {"pairs": repeat, "ratio_median": statistics.median(ratios),
            "ratio_min_times": min(times["analysis"]) / min(times["baseline"]),
            "baseline_median_ms": statistics.median(times["baseline"]),
            "analysis_median_ms": statistics.median(times["analysis"])}


def child(mode: str, url: str, scope: str, repeat: int) -> dict:
    app = _app(url)
    with app.app_context():
        if mode == "report":
            result = _report(repeat)
        elif mode == "paired":
            result = _paired(scope, repeat)
        else:
            run, parts = (_baseline if mode == "baseline" else _analysis)(scope)
            result = _timed(run, repeat, parts=parts)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """This process's peak RSS. ``VmHWM`` restarts at ``exec``; ``ru_maxrss`` does not (it
    would report the parent's peak at fork time, i.e. the generated data set)."""
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, url: str, scope: str, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--url", url, "--scope", scope,
           "--repeat", str(repeat)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"{mode} ({scope}) on {url} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- driver -----------------------------------------------------------------------------------


def measure(label: str, url: str, args) -> dict:
    t0 = time.perf_counter()
    setup = prepare(url, args.rows)
    print(f"{label}: stored {setup['rows']} rows in {setup['uploads']} uploads "
          f"(generate {setup['generate_s']}s, store {setup['store_s']}s; "
          f"{YEAR}: {setup['year_rows']} rows, {ZONE} {YEAR}: {setup['zone_year_rows']})",
          flush=True)
    out = {"setup": setup, "scopes": {}}
    for scope in SCOPES:
        base = _child("baseline", url, scope, args.repeat)
        ana = _child("analysis", url, scope, args.repeat)
        paired = _child("paired", url, scope, 3 * args.repeat)
        ratio = ana["median_ms"] / base["median_ms"]
        out["scopes"][scope] = {"baseline": base, "analysis": ana, "ratio": ratio,
                                "paired": paired}
        print(f"{label:10s} {scope:4s} baseline {base['median_ms']:8.1f} ms "
              f"(RSS {base['peak_rss_mb']:.0f} MB, {base['result_rows']} groups) | analysis "
              f"{ana['median_ms']:8.1f} ms (data {ana['data_ms']:.1f} + analyse_funnel "
              f"{ana['analyse_ms']:.1f}; RSS {ana['peak_rss_mb']:.0f} MB) | ratio "
              f"{ratio:.2f}x, paired {paired['ratio_median']:.2f}x (target <= 1.5x)",
              flush=True)
    rep = _child("report", url, "zone", args.repeat)
    out["report"] = rep
    print(f"{label:10s} report {ZONE} {YEAR}: cold {rep['cold']['median_ms']:.0f} ms, warm "
          f"{rep['warm']['median_ms']:.0f} ms (RSS {rep['peak_rss_mb']:.0f} MB)", flush=True)
    out["total_s"] = time.perf_counter() - t0
    return out


def markdown(results: dict) -> str:
    lines = [
        "| database | scope | rows aggregated | groups | baseline SQL (ms) | analysis (ms) "
        "| ratio | paired ratio | of which data path (ms) | data path / baseline "
        "| of which analyse_funnel (ms) | peak RSS baseline / analysis (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, res in results.items():
        setup = res["setup"]
        for scope, s in res["scopes"].items():
            what = {"zone": f"{ZONE} {YEAR}", "all": f"all zones {YEAR}",
                    "rows": "all stored rows"}[scope]
            rows = {"zone": setup["zone_year_rows"], "all": setup["year_rows"],
                    "rows": setup["rows"]}[scope]
            base, ana = s["baseline"], s["analysis"]
            lines.append(
                f"| {label} | {what} | {rows:,} | {base['result_rows']:,} "
                f"| {base['median_ms']:.1f} | {ana['median_ms']:.1f} | {s['ratio']:.2f}x "
                f"| {s['paired']['ratio_median']:.2f}x "
                f"| {ana['data_ms']:.1f} | {ana['data_ms'] / base['median_ms']:.2f}x "
                f"| {ana['analyse_ms']:.1f} "
                f"| {base['peak_rss_mb']:.0f} / {ana['peak_rss_mb']:.0f} |")
    lines += ["", "| database | full report | cold (ms) | warm (ms) | peak RSS (MB) |",
              "|---|---|---:|---:|---:|"]
    for label, res in results.items():
        rep = res["report"]
        lines.append(f"| {label} | {ZONE} year:{YEAR} | {rep['cold']['median_ms']:.0f} "
                     f"| {rep['warm']['median_ms']:.0f} | {rep['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", choices=["baseline", "analysis", "paired", "report"])
    parser.add_argument("--url")
    parser.add_argument("--scope", choices=SCOPES, default="zone")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.scope, args.repeat)))
        return

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        targets = [] if args.no_sqlite else [
            ("sqlite", f"sqlite:///{pathlib.Path(tmp) / 'bench_funnel.sqlite'}")]
        if not args.no_pg:
            targets.append(("postgresql", args.pg_url))
        for label, url in targets:
            try:
                results[label] = measure(label, url, args)
            finally:
                if label == "postgresql" and not args.keep:
                    drop_pg(url)
    summary = {"rows": args.rows, "repeat": args.repeat, "year": YEAR, "zone": ZONE,
               "results": results}
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(summary, indent=2))
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()
