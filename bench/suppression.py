"""Timings of the disclosure-control gate on synthetic, funnel-shaped releases.

Run: ``.venv/bin/python bench/suppression.py [--seed 1] [--repeat 5]``

Synthetic counts (seeded): a few hundred applicants per zone and campaign, groups about
70 / 10 / 15 / 5 % (belgian_origin, eu, non_eu, unknown), most failing the cognitive and
personality tests; everyone who passes a stage enters the next one, so the funnel identity
holds and is given to the audit as extra attacker knowledge.

Releases:
* zone-year: one zone, 3 campaigns x 9 stages x 4 groups x 4 outcomes inner cells, with
  margins per campaign (stage x group, stage x outcome), pooled over campaigns
  (stage x group x outcome, stage x group) and per stage.
* pooled: 5 zones x 3 campaigns with the zone tables above plus all-zone tables.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from hrpipeline.disclosure.lp import Policy, audit, funnel_relations, protect  # noqa: E402
from hrpipeline.domain import BACKGROUNDS, DEFAULT_STAGES, DEMO_ZONES, OUTCOMES  # noqa: E402

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


ZONE_LEVELS = [
    ("zone", "campaign", "stage", "group", "outcome"),
    ("zone", "campaign", "stage", "group"),
    ("zone", "campaign", "stage", "outcome"),
    ("zone", "stage", "group", "outcome"),
    ("zone", "stage", "group"),
    ("zone", "stage"),
]
POOLED_LEVELS = ZONE_LEVELS + [("stage", "group", "outcome"), ("stage", "group"), ("stage",)]


def bench(name: str, inner: pd.DataFrame, levels, repeat: int, policy: Policy) -> None:
    rel_eq = funnel_relations(inner, DIMS)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        rel = protect(inner, DIMS, levels, policy, extra_equalities=rel_eq)
        times.append((time.perf_counter() - t0) * 1000)
    a = rel.audit
    t_audit = []
    for _ in range(repeat):
        rep = audit(inner, DIMS, levels, rel.hidden_keys(), policy, extra_equalities=rel_eq)
        t_audit.append(rep.elapsed_ms)
        assert rep.passed
    t_exact = audit(
        inner, DIMS, levels, rel.hidden_keys(), policy, extra_equalities=rel_eq, exact_bounds=True
    )
    print(
        f"{name}: inner={len(inner)} cells={a.n_cells} relations={len(rel_eq)} "
        f"primary={a.n_primary} secondary={a.n_secondary} published={a.n_published} "
        f"iterations={rel.iterations}\n"
        f"  protect median {statistics.median(times):.0f} ms (min {min(times):.0f})\n"
        f"  audit (standalone, witnessed) median {statistics.median(t_audit):.0f} ms, "
        f"LPs={rep.n_lp}\n"
        f"  audit exact bounds {t_exact.elapsed_ms:.0f} ms, LPs={t_exact.n_lp}, "
        f"passed={t_exact.passed}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    policy = Policy()
    zones = [z[0] for z in DEMO_ZONES]
    for campaigns in (1, 3):
        inner = synthetic_funnel(zones[:1], campaigns, args.seed)
        bench(f"zone-year ({campaigns} campaign(s))", inner, ZONE_LEVELS, args.repeat, policy)
    inner = synthetic_funnel(zones, 3, args.seed)
    bench("pooled (5 zones x 3 campaigns)", inner, POOLED_LEVELS, 1, policy)


if __name__ == "__main__":
    main()
