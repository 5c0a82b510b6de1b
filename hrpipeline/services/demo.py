"""Load the SYNTHETIC demo data set (``hrpipeline.demo``) through the normal ingest path.

The frames pass the same validation and bulk storage as a zone's real extract, so the demo also
exercises the ingest code. Demo users share one documented password: the data are synthetic and
the accounts are for trying the service, never for production.
"""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import delete, func, select

from hrpipeline.extensions import db
from hrpipeline.models import Benchmark, Pilot, User, Zone, pilot_zones

DEMO_PASSWORD = "demo-password"

#: username, role, zone codes (empty = all zones), interface language
DEMO_USERS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("admin", "admin", (), "en"),
    ("hr.antwerpen", "hr_manager", ("ANT",), "nl"),
    ("hr.charleroi", "hr_manager", ("CRL",), "fr"),
    ("diversity.gent", "diversity_officer", ("GNT",), "nl"),
    ("diversity.brussels", "diversity_officer", ("BXN", "BXI"), "fr"),
    ("diversity", "diversity_officer", (), "en"),
    ("project", "project_staff", (), "en"),
    ("leadership", "leadership", (), "nl"),
)


def _frame_sha(frame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return hashlib.sha256(buffer.getvalue().encode("utf-8")).hexdigest()


def reset_all() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


def load_demo(seed: int = 20261124, reset: bool = False, echo=None) -> list[str]:
    """Seed zones, users, extracts, benchmarks and a pilot; idempotent unless ``reset``.

    Returns the summary lines; with ``echo`` (the command line) the releases' preparation is
    printed step by step as it happens instead of collected.
    """
    from hrpipeline.demo import generate_demo
    from hrpipeline.ingest.store import store_frame

    if reset:
        reset_all()
    if db.session.scalar(select(func.count()).select_from(Zone)):
        return ["Demo data already loaded (use --reset to load it again)."]
    data = generate_demo(seed=seed)

    zones: dict[str, Zone] = {}
    for row in data.zones.itertuples(index=False):
        zone = Zone(code=row.code, police_zone_number=str(row.police_zone_number),
                    name_nl=row.name_nl, name_fr=row.name_fr, language=row.language)
        db.session.add(zone)
        zones[row.code] = zone
    db.session.flush()

    for username, role, codes, language in DEMO_USERS:
        user = User(username=username, role=role, all_zones=not codes, language=language,
                    zones=[zones[c] for c in codes])
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    db.session.commit()

    lines = [f"Zones: {', '.join(zones)}", f"Users: {len(DEMO_USERS)} (password {DEMO_PASSWORD!r})"]
    funnel_rows = workforce_rows = 0
    for code, zone in zones.items():
        funnel = data.funnel[data.funnel["zone"] == code].drop(columns=["zone"])
        upload = store_frame(zone=zone, kind="funnel", frame=funnel,
                             filename=f"demo_funnel_{code}.csv", sha256=_frame_sha(funnel))
        funnel_rows += upload.row_count
        workforce = data.workforce[data.workforce["zone"] == code].drop(columns=["zone"])
        upload = store_frame(zone=zone, kind="workforce", frame=workforce,
                             filename=f"demo_workforce_{code}.csv", sha256=_frame_sha(workforce),
                             reference_date=data.reference_date)
        workforce_rows += upload.row_count
    lines.append(f"Funnel rows: {funnel_rows}; officers: {workforce_rows} (synthetic)")

    from hrpipeline.services import benchmarks

    benchmarks.load_zone_mapping()
    benchmarks.load_default_benchmarks()
    for row in data.benchmarks.itertuples(index=False):
        db.session.add(Benchmark(
            zone_id=zones[row.zone].id, migration_background=row.migration_background,
            share=float(row.share), count=int(row.count), population_scope=row.population_scope,
            reference_date=row.reference_date, source=row.source, is_fallback=False))
    db.session.commit()
    n_bench = len(data.benchmarks)
    lines.append(f"Benchmarks: {n_bench} synthetic zone shares + regional Statbel fallbacks")

    for spec in data.pilots:
        pilot = Pilot(name=spec["name"], description=spec.get("description", ""),
                      target=spec["target"], start_date=spec["start_date"],
                      end_date=spec.get("end_date"))
        db.session.add(pilot)
        db.session.flush()
        for role, key in (("pilot", "zones"), ("comparison", "comparison_zones")):
            for code in spec.get(key, ()):
                db.session.execute(pilot_zones.insert().values(
                    pilot_id=pilot.id, zone_id=zones[code].id, role=role))
    db.session.commit()
    lines.append(f"Pilots: {len(data.pilots)}")

    # Protect every release now (funnel zone-years and pools, retention, the reports the
    # briefings read), printing each step, so the first page view does not wait for them.
    import time

    from hrpipeline.services import jobs

    started = time.perf_counter()
    if echo is not None:  # what is done so far first, then each step as it happens
        for line in lines:
            echo(line)
        lines = []
    say = echo or lines.append
    say("Preparing the protected releases (the retention release takes longest):")
    jobs.run_with_progress("warm", lambda step: say(f"  {step}"), reports=False)
    say(f"Releases prepared in {time.perf_counter() - started:.1f} s")
    return lines
