"""Benchmark: import a 1,000,000-row funnel extract vs. pandas read_csv + to_sql.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--pg-url URL] [--no-pg]

Generates a seeded Dutch ``;``-separated cp1252 funnel CSV, then times, each in its own
subprocess (so peak RSS is measured separately):

* ``import``: ``hrpipeline.ingest.store.import_extract`` (read, validate, PII and formula
  checks, bulk insert, one transaction), and
* ``baseline``: ``pandas.read_csv`` + ``DataFrame.to_sql`` of the same file into the same
  database (no validation at all),

on SQLite (a temporary file database) and PostgreSQL. Targets: import ≤ 3× the baseline,
peak RSS < 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/hrp_bench"
STAGES_NL = ("Sollicitatie", "Cognitieve proef", "Persoonlijkheidstest", "Fysieke proef",
             "Selectiecommissie", "Medisch onderzoek", "Screening", "Politieschool", "Benoemd")
GROUPS_NL = ("Belgische herkomst", "EU", "Maghreb", "Turkije", "Sub-Sahara", "niet opgegeven")


def peak_rss_mb() -> float:
    """This process's peak RSS: ``VmHWM`` (Linux). ``ru_maxrss`` is not used: Linux carries it
    over from the parent through fork and exec, so every child reported at least the parent's
    peak (the parent had just generated the file: ~880 MB, whatever the child did)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: pathlib.Path, rows: int, seed: int = 20261124) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_cand = rows // 3 + 1000
    # How many stages each candidate reaches; the last one is failed/withdrew/pending/passed.
    reach = np.minimum(rng.geometric(0.3, n_cand), len(STAGES_NL))
    cum = np.cumsum(reach)
    n_cand = int(np.searchsorted(cum, rows)) + 1
    reach = reach[:n_cand]
    reach[-1] -= int(reach.sum() - rows)
    cand = np.repeat(np.arange(n_cand), reach)
    stage = np.concatenate([np.arange(k) for k in reach])
    last = np.r_[cand[1:] != cand[:-1], True]
    outcome = np.where(last, rng.choice(["niet geslaagd", "afgehaakt", "lopend", "geslaagd"],
                                        len(cand), p=[0.5, 0.3, 0.1, 0.1]), "geslaagd")
    campaign_idx = cand % 12
    campaign = np.array([f"INP {2019 + i // 2}-{i % 2 + 1}" for i in range(12)])[campaign_idx]
    group = rng.choice(GROUPS_NL, n_cand, p=[0.6, 0.12, 0.12, 0.06, 0.05, 0.05])[cand]
    gender = rng.choice(["V", "M"], n_cand)[cand]
    start = pd.Timestamp("2019-01-15") + pd.to_timedelta(campaign_idx * 180, "D")
    dates = (start + pd.to_timedelta(stage * 14, "D")).strftime("%d/%m/%Y")
    frame = pd.DataFrame({
        "Kandidaat": np.char.add("K", np.char.zfill(cand.astype(str), 7)),
        "Wervingscampagne": campaign,
        "Fase": np.array(STAGES_NL)[stage],
        "Uitkomst": outcome,
        "Datum": dates,
        "Herkomst": group,
        "Geslacht": gender,
    })
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")


def _app(url: str):
    from hrpipeline import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "MAX_CONTENT_LENGTH": 1024 ** 3, "MAX_UPLOAD_ROWS": 5_000_000})


def prepare(url: str) -> None:
    """Create/upgrade the schema, empty it, and add one zone."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url.startswith("postgresql"):
        admin = make_url(url).set(database="postgres")
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            name = make_url(url).database
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    app = _app(url)
    with app.app_context():
        from hrpipeline.extensions import db
        from hrpipeline.models import Zone

        upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS baseline_funnel"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.session.add(Zone(code="BEN", name_nl="Bench", name_fr="Bench", language="nl"))
        db.session.commit()


def run_import(url: str, path: pathlib.Path) -> dict:
    app = _app(url)
    with app.app_context():
        from sqlalchemy import select

        from hrpipeline.extensions import db
        from hrpipeline.ingest.store import import_extract
        from hrpipeline.models import Zone

        zone = db.session.scalar(select(Zone).where(Zone.code == "BEN"))
        data = path.read_bytes()
        t0 = time.perf_counter()
        upload = import_extract(zone=zone, kind="funnel", data=data, filename=path.name)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": upload.row_count}


def run_baseline(url: str, path: pathlib.Path) -> dict:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url)
    t0 = time.perf_counter()
    frame = pd.read_csv(path, sep=";", encoding="cp1252")
    frame.to_sql("baseline_funnel", engine, if_exists="replace", index=False)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "rows": len(frame)}


def _child(mode: str, url: str, path: pathlib.Path) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--url", url, "--file", str(path)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--child", choices=["import", "baseline"])
    parser.add_argument("--url")
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.child:
        fn = run_import if args.child == "import" else run_baseline
        result = fn(args.url, pathlib.Path(args.file))
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = pathlib.Path(tmp) / "funnel_1m.csv"
        t0 = time.perf_counter()
        generate(csv_path, args.rows)
        size = os.path.getsize(csv_path) / 1e6
        print(f"generated {args.rows} rows, {size:.1f} MB in {time.perf_counter() - t0:.1f}s")
        targets = [("sqlite", f"sqlite:///{pathlib.Path(tmp) / 'bench.sqlite'}")]
        if not args.no_pg:
            targets.append(("postgresql", args.pg_url))
        for label, url in targets:
            prepare(url)
            base = _child("baseline", url, csv_path)
            imp = _child("import", url, csv_path)
            ratio = imp["seconds"] / base["seconds"]
            print(f"{label:10s} baseline read_csv+to_sql {base['seconds']:6.1f}s "
                  f"(peak RSS {base['peak_rss_mb']:.0f} MB) | import_extract "
                  f"{imp['seconds']:6.1f}s (peak RSS {imp['peak_rss_mb']:.0f} MB) | ratio "
                  f"{ratio:.2f}× (target ≤ 3×, RSS < 1024 MB)")


if __name__ == "__main__":
    main()
