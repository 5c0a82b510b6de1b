"""How much the disclosure gate publishes, and how fast it protects (issue: "it must answer").

Run: ``.venv/bin/python bench/disclosure.py [--db sqlite:////path/demo.sqlite] [--repeat 5]``
(without ``--db`` a fresh SQLite database in a temporary folder gets the demo data: ~1 min).

Utility, on the demo data, as an all-zone reader sees it (the service's own reports):

* funnel: of the stage × group rows whose group *truly* entered the stage with ≥ 20 persons,
  the share that publishes a decision pass rate (ANT 2024, GNT 2024, the ALL 2024 pool);
  of the focal comparisons with ≥ 20 true decisions on both sides, the share that publishes
  an impact ratio and a tier (and the share whose tier is not GREY);
* retention: of the yearly turnover rates (zone × group × full year) on a true average
  headcount ≥ 20, the share published and their mean absolute error; the error of the 12- and
  24-month attrition of the published life tables;
* accuracy: mean absolute error of the published pass rates against the true ones.

Speed: protecting a zone-year release and the all-zone year release (median of --repeat),
and how protection time grows with the number of zones (synthetic funnels, 5 to 180 zones).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.briefing import timed  # noqa: E402  (median of repeated runs)
from hrpipeline.disclosure import is_suppressed  # noqa: E402
from hrpipeline.disclosure.funnel import protect_funnel  # noqa: E402
from hrpipeline.domain import BACKGROUNDS, DEFAULT_STAGES, KNOWN_BACKGROUNDS, OUTCOMES  # noqa: E402

MIN_N = 20
GROUP_SHARES = (0.70, 0.10, 0.15, 0.05)
#: P(passed), P(withdrew), P(pending) per stage; the rest fail.
STAGE_PROBS = {
    "application": (0.85, 0.05, 0.0),
    "cognitive_test": (0.35, 0.05, 0.0),
    "personality_test": (0.45, 0.04, 0.0),
    "physical_test": (0.75, 0.05, 0.0),
    "interview": (0.6, 0.05, 0.02),
    "medical": (0.9, 0.02, 0.03),
    "screening": (0.9, 0.02, 0.03),
    "academy": (0.85, 0.05, 0.05),
    "appointed": (1.0, 0.0, 0.0),
}
DIMS = ["zone", "campaign", "stage", "group", "outcome"]


def synthetic_funnel(zones: list[str], campaigns: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for zone in zones:
        for c in range(1, campaigns + 1):
            applicants = rng.integers(200, 450)
            entering = rng.multinomial(applicants, GROUP_SHARES)
            for stage in DEFAULT_STAGES:
                p_pass, p_wd, p_pend = STAGE_PROBS[stage]
                nxt = np.zeros(len(BACKGROUNDS), dtype=int)
                for gi, group in enumerate(BACKGROUNDS):
                    # Minority groups fail the written tests a little more often (a gap to find).
                    adj = 0.85 if gi in (1, 2) and stage in ("cognitive_test", "interview") else 1.0
                    pp = p_pass * adj
                    probs = [pp, max(0.0, 1 - pp - p_wd - p_pend), p_wd, p_pend]
                    counts = rng.multinomial(entering[gi], probs)
                    for outcome, n in zip(OUTCOMES, counts, strict=True):
                        rows.append((zone, f"{zone}-{c}", stage, group, outcome, int(n)))
                    nxt[gi] = counts[0]
                entering = nxt
    return pd.DataFrame(rows, columns=[*DIMS, "n"])




def _true_rows(counts):
    """(stage, group) -> (entered, passed, failed) from true counts."""
    out: dict[tuple[str, str], list[int]] = {}
    for stage, group, outcome, n in counts[["stage", "group", "outcome", "n"]].itertuples(
            index=False, name=None):
        row = out.setdefault((stage, group), [0, 0, 0])
        row[0] += int(n)
        if outcome == "passed":
            row[1] += int(n)
        elif outcome == "failed":
            row[2] += int(n)
    return out


def funnel_utility(zone: str, year: int) -> dict[str, float]:
    from hrpipeline.models import Zone
    from hrpipeline.services import funnel as service
    from hrpipeline.services import funnel_data
    from hrpipeline.services.scope import OPERATOR

    zones = None if zone == "ALL" else [Zone.query.filter_by(code=zone).one()]
    true = _true_rows(funnel_data.funnel_counts(year, zones=zones))
    report = service.funnel_report(OPERATOR, zone, f"year:{year}")
    eligible = published = 0
    errors = []
    for row in report.rows:
        entered, passed, failed = true.get((row["stage"], row["group"]), (0, 0, 0))
        if row["group"] not in KNOWN_BACKGROUNDS or entered < MIN_N:
            continue
        eligible += 1
        rate = row["pass_rate"]
        if rate is not None and not is_suppressed(rate):
            published += 1
            if passed + failed:
                errors.append(abs(rate - passed / (passed + failed)))
    comp_eligible = comp_published = comp_decided = 0
    ref = report.reference
    for c in report.comparisons:
        f = true.get((c["stage"], c["group"]), (0, 0, 0))
        r = true.get((c["stage"], ref), (0, 0, 0))
        if f[1] + f[2] < MIN_N or r[1] + r[2] < MIN_N:
            continue
        comp_eligible += 1
        ratio = c["impact_ratio"]
        if ratio is not None and not is_suppressed(ratio) and c["tier"]:
            comp_published += 1
            comp_decided += c["tier"] != "GREY"
    return {
        "rows": eligible, "rates_published": published / eligible if eligible else float("nan"),
        "rate_mae_points": 100 * statistics.mean(errors) if errors else float("nan"),
        "comparisons": comp_eligible,
        "ratios_published": comp_published / comp_eligible if comp_eligible else float("nan"),
        "tiers_not_grey": comp_decided / comp_eligible if comp_eligible else float("nan"),
    }


def retention_utility() -> dict[str, float]:
    """Yearly turnover rates (zone × group × full year) on a true average headcount >= 20:
    the share published and the mean absolute error of the published rates against the true
    CIPD rate; and the 12- and 24-month attrition of each zone × group life table against the
    same life table on the true counts."""
    from hrpipeline.services import retention as R
    from hrpipeline.services.scope import OPERATOR

    release = R.get_release()
    data = release.data
    frame = data.frame
    true_leaves = release.protected.leaves.copy()
    true_leaves["published"] = true_leaves["n"]
    true_leaves["start"] = true_leaves["cohort"].map(
        lambda c: 0 if c == R.PRE_WINDOW else int(c))
    eligible = published = 0
    errors, attrition_errors = [], []
    for zone in sorted(frame["zone"].unique()):
        report = R.retention_report(OPERATOR, zone)
        mine = frame[frame["zone"] == zone]
        for row in report.turnover:
            if row["group"] == "all" or "annual average" in str(row["period"]):
                continue
            p = next((p for p in R.periods(data.release_date) if p.label == row["period"]), None)
            if p is None or p.months != 12.0:
                continue
            g = mine[mine["migration_background"] == row["group"]]
            start = int(R._in_service(g, p.start - R.pd.Timedelta(days=1)).sum())
            end = int(R._in_service(g, p.end).sum())
            if (start + end) / 2 < MIN_N:
                continue
            eligible += 1
            shown = not is_suppressed(row["turnover"]) and row["turnover"] is not None
            published += shown
            if shown:
                left = int(g["exit_date"].between(p.start, p.end).sum())
                errors.append(abs(row["turnover"] - left / ((start + end) / 2)) * 100)
        truth = R._life_tables(_TrueRelease(release, true_leaves), zone, report.groups,
                               release.policy)
        for s in report.km_summary:
            rows = {int(r.end): r for r in truth.get(s["group"], [])}
            for months, key in ((12, "attrition_12m"), (24, "attrition_24m")):
                if s[key] is not None and months in rows:
                    attrition_errors.append(abs(s[key] - (1 - rows[months].survival)) * 100)
    return {"rates": eligible, "published": published / eligible if eligible else float("nan"),
            "mae_points": statistics.mean(errors) if errors else float("nan"),
            "attrition_mae_points": (statistics.mean(attrition_errors) if attrition_errors
                                     else float("nan")),
            "attrition_n": len(attrition_errors)}


class _TrueRelease:
    """The release with its true leaf counts in place of the published ones (bench only)."""

    def __init__(self, release, leaves):
        self.data, self.leaves = release.data, leaves

    def zone_leaves(self, zone):
        return self.leaves if zone is None else self.leaves[self.leaves["zone"] == zone]


def scaling(repeat: int) -> list[tuple[int, int, float]]:
    out = []
    for n_zones in (5, 20, 60, 180):
        zones = [f"Z{i:03d}" for i in range(n_zones)]
        frame = synthetic_funnel(zones, campaigns=3, seed=1)
        t, _ = timed(lambda f=frame: protect_funnel(f, DEFAULT_STAGES, 5, b"bench"), repeat)
        out.append((n_zones, len(frame), t))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="database URL with the demo data loaded")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--year", type=int, default=2024)
    args = parser.parse_args()
    from hrpipeline import create_app

    tmp = None
    url = args.db
    if url is None:
        tmp = tempfile.mkdtemp(prefix="hrp-bench-")
        url = f"sqlite:///{tmp}/demo.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if tmp is not None:
            from flask_migrate import upgrade

            from hrpipeline.services.demo import load_demo

            upgrade(directory=str(pathlib.Path(app.root_path) / "migrations"))
            t0 = time.perf_counter()
            load_demo()
            print(f"demo data loaded in {time.perf_counter() - t0:.1f} s")
        from hrpipeline.models import Zone
        from hrpipeline.services import releases

        print(f"== utility (groups of >= {MIN_N}), year {args.year} ==")
        for zone in ("ANT", "GNT", "ALL"):
            u = funnel_utility(zone, args.year)
            print(f"{zone:4s} pass rates published {u['rates_published']:6.1%} of {u['rows']:3d}"
                  f" rows (mean abs error {u['rate_mae_points']:.2f} points); impact ratio + tier"
                  f" {u['ratios_published']:6.1%} of {u['comparisons']:2d} comparisons"
                  f" (not GREY: {u['tiers_not_grey']:.1%})")
        r = retention_utility()
        print(f"retention: yearly turnover rates published {r['published']:6.1%} of "
              f"{r['rates']} (zone x group x year, average headcount >= {MIN_N}); mean abs "
              f"error {r['mae_points']:.2f} points; 12/24-month attrition of {r['attrition_n']}"
              f" life tables: mean abs error {r['attrition_mae_points']:.2f} points")

        print("== speed ==")
        ant = Zone.query.filter_by(code="ANT").one()

        def zone_year():
            releases.clear_cache()
            return releases.zone_release(ant, args.year)

        def all_zones():
            releases.clear_cache()
            return releases.pool_release(args.year)

        t, rel = timed(zone_year, args.repeat)
        print(f"zone-year release ANT {args.year} (read + protect): {t * 1000:8.1f} ms "
              f"(protect alone {rel.elapsed_ms:.1f} ms incl. read)")
        t, rel = timed(all_zones, args.repeat)
        print(f"all-zone release {args.year} ({len(rel.zones)} zones):      {t * 1000:8.1f} ms")
        from hrpipeline.services import retention as R

        def retention_release():
            R.clear_cache()
            return R.get_release()

        t, _ = timed(retention_release, args.repeat)
        print(f"retention release, all zones (read + protect): {t * 1000:8.1f} ms")
    print("== growth with the number of zones (synthetic, 3 campaigns x 9 stages x 4 groups) ==")
    for n_zones, cells, t in scaling(args.repeat):
        print(f"{n_zones:4d} zones, {cells:7d} cells: protect {t * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
