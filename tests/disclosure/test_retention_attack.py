"""The retention release against an integer-programming attacker (tests/disclosure/attacker.py).

The attacker knows more than any page shows: every rounded suffix sum of every cohort chain
(the pages publish sums of those), the method and its base, the order of the leaves, and the
structure of the data (which leaves can exist). Each chain's offset is an unknown in [0, 1).
Targets: every count a retention page could show, with a true value of 1..k−1 — a leaf, the
leavers of a year (by exit type too), a cohort's hires and first-year exits, a year-end
headcount, and the same pooled over zones. Issue 14's stock–flow attack (headcount + hires −
leavers) is inside this model: those identities are sums of the same leaves.

A control shows the attacker has teeth: the same tables rounded one by one (each count with its
own key, as a naive gate would) let it pin small counts through the stock–flow identity.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from hrpipeline.disclosure.retention import PRE_WINDOW, STAYING, protect_retention
from hrpipeline.disclosure.rounding import cell_key, feasible_range, rounded
from tests.disclosure.attacker import Attacker

K = 5
SECRET = b"retention-attack-key"
ZONES = ("Z1", "Z2")
GROUPS = ("belgian_origin", "non_eu_background")
FIRST, REF = 2021, 2024  # window start and the reference year
COHORTS = (PRE_WINDOW, *(str(y) for y in range(FIRST, REF + 1)))
TYPES = ("voluntary", "retirement")
REASONS = ("workload",)
RANKS = ("inspector", "chief_inspector")


def start(cohort: str) -> int:
    return FIRST - 1 if cohort == PRE_WINDOW else int(cohort)


def grid(cohort: str, ref: int = REF) -> list[tuple]:
    """Every leaf a chain can have, in chain order: (exit year, after anniversary, type,
    reason, rank)."""
    out = []
    for year in range(max(FIRST, start(cohort)), ref + 1):
        for after in (0, 1):
            if cohort == PRE_WINDOW and after == 0:
                continue  # the service puts every exit of the pre-window cohort after
            if cohort != PRE_WINDOW and year == start(cohort) and after == 0:
                continue  # nobody leaves before being hired
            for t, r in itertools.product(TYPES, REASONS):
                out.append((year, after, t, r, ""))
    out += [(STAYING, 0, "", "", rank) for rank in RANKS]
    return out


def random_officers(rng) -> pd.DataFrame:
    """Small cohorts full of 1s and 2s."""
    rows = []
    for zone, group, cohort in itertools.product(ZONES, GROUPS, COHORTS):
        n = int(rng.poisson(rng.choice([2, 4, 9] if cohort != PRE_WINDOW else [8, 20])))
        cells = grid(cohort)
        weights = np.array([6.0 if c[0] == STAYING else 1.0 for c in cells])
        for i in rng.choice(len(cells), size=n, p=weights / weights.sum()):
            year, after, t, r, rank = cells[i]
            rows.append((zone, group, cohort, year, after, t or None, r or None, rank or None))
    return pd.DataFrame(rows, columns=["zone", "group", "cohort", "exit_year",
                                       "after_anniversary", "exit_type", "reason", "rank"])


def chain_truth(officers: pd.DataFrame, ref: int = REF) -> dict[tuple, dict[tuple, int]]:
    """True count of every grid leaf, per chain (zone, group, cohort)."""
    out: dict[tuple, dict[tuple, int]] = {}
    for zone, group, cohort in itertools.product(ZONES, GROUPS, COHORTS):
        if start(cohort) <= ref:
            out[(zone, group, cohort)] = dict.fromkeys(grid(cohort, ref), 0)
    for r in officers.itertuples(index=False):
        leaf = ((r.exit_year, r.after_anniversary, r.exit_type, r.reason, "")
                if r.exit_year != STAYING else (STAYING, 0, "", "", r.rank))
        out[(r.zone, r.group, r.cohort)][leaf] += 1
    return out


def protect(officers: pd.DataFrame):
    return protect_retention(officers, K, SECRET, exit_types=TYPES, reasons=REASONS,
                             ranks=RANKS)


def know_chains(att: Attacker, truth: dict, published, prefix: tuple = ()) -> None:
    """Every suffix sum of every chain, rounded with the chain's offset (an unknown)."""
    by_chain = {}
    for leaf in published.leaves.itertuples(index=False):
        by_chain.setdefault((leaf.zone, leaf.group, leaf.cohort), []).append(leaf)
    for ident, leaves in truth.items():
        order = list(leaves)
        u = cell_key(SECRET, ("retention-run", *ident), 0)
        total = 0
        suffixes = []
        for leaf in reversed(order):
            total += leaves[leaf]
            suffixes.append((leaf, total))
        # The implementation publishes the same values (it skips zero leaves, whose suffix
        # equals the next one's): check, then give the attacker every position.
        pub = {(r.exit_year, r.after_anniversary, r.exit_type, r.reason, r.rank): r.published
               for r in by_chain.get(ident, [])}
        rounded_suffix = {leaf: K * math.floor(t / K + u) for leaf, t in suffixes}
        for i, leaf in enumerate(order):
            nxt = rounded_suffix[order[i + 1]] if i + 1 < len(order) else 0
            if leaf in pub:
                assert pub[leaf] == rounded_suffix[leaf] - nxt
            else:
                assert rounded_suffix[leaf] == nxt  # a zero leaf publishes 0
        for i, leaf in enumerate(order):
            coefs = {(*prefix, *ident, later): 1.0 for later in order[i:]}
            row = {att.var(key): c for key, c in coefs.items()}
            row[att.offset(ident)] = float(K)
            att.rows.append((row, float(rounded_suffix[leaf]),
                             float(rounded_suffix[leaf]) + K - 1e-5))


def targets(truth: dict) -> dict[tuple, dict[tuple, int]]:
    """Counts a page could show, by name → {variable: true value}, kept when 1..k-1."""
    sums: dict[tuple, dict[tuple, int]] = {}

    def add(name, var, v):
        sums.setdefault(name, {})[var] = v

    for (zone, group, cohort), leaves in truth.items():
        s = start(cohort)
        for leaf, v in leaves.items():
            var = (zone, group, cohort, leaf)
            year, after, etype, _reason, rank = leaf
            add(("leaf", *var), var, v)
            if cohort != PRE_WINDOW:
                add(("hires", zone, group, cohort), var, v)
                add(("pool hires", group, cohort), var, v)
                if year == s or (year == s + 1 and after == 0):
                    add(("first-year exits", zone, group, cohort), var, v)
            if year != STAYING:
                add(("leavers", zone, group, year), var, v)
                add(("leavers by type", zone, group, year, etype), var, v)
                add(("pool leavers", group, year), var, v)
            else:
                add(("rank", zone, group, rank), var, v)
            for y in range(FIRST - 1, REF):
                if s <= y < year:
                    add(("headcount", zone, group, y), var, v)
    return {name: members for name, members in sums.items()
            if 1 <= sum(members.values()) < K}


def narrowest(att: Attacker, truth: dict):
    worst = None
    for name, members in targets(truth).items():
        lo, hi = att.range(dict.fromkeys(members, 1))
        true = sum(members.values())
        assert lo <= true <= hi
        if worst is None or hi - lo + 1 < worst[0]:
            worst = (hi - lo + 1, name, lo, hi, true)
    return worst


@pytest.mark.parametrize("seed", range(3))
def test_no_small_retention_count_narrowed_below_k(seed):
    rng = np.random.default_rng(100 + seed)
    officers = random_officers(rng)
    truth = chain_truth(officers)
    att = Attacker()
    know_chains(att, truth, protect(officers))
    worst = narrowest(att, truth)
    assert worst is not None, "the data must hold small counts to attack"
    assert worst[0] >= K, worst


def test_every_table_adds_up_and_each_leaf_is_within_one_base():
    rng = np.random.default_rng(7)
    officers = random_officers(rng)
    published = protect(officers).leaves
    assert (published["published"] % K == 0).all() and (published["published"] >= 0).all()
    assert ((published["published"] - published["n"]).abs() < K).all()
    # A cohort's hires (the whole chain) are one rounded suffix sum: within one base as well.
    hires = published.groupby(["zone", "group", "cohort"])[["n", "published"]].sum()
    assert ((hires["published"] - hires["n"]).abs() < K).all()


def test_rounding_is_unbiased_over_keys():
    """Over many deployment keys (offsets), a cohort's published first-year exits average
    their true value (systematic rounding is unbiased: Hundepool et al. 2012, §5.4)."""
    officers = pd.DataFrame(
        [("Z1", "g", "2022", 2022, 1, "voluntary", "workload", None)] * 3
        + [("Z1", "g", "2022", STAYING, 0, None, None, "inspector")] * 9,
        columns=["zone", "group", "cohort", "exit_year", "after_anniversary", "exit_type",
                 "reason", "rank"])
    values = []
    for i in range(2000):
        leaves = protect_retention(officers, K, f"key-{i}".encode(), exit_types=TYPES,
                                   reasons=REASONS, ranks=RANKS).leaves
        values.append(int(leaves.loc[leaves["exit_year"] == 2022, "published"].sum()))
    # 3 is published as 0 or 5; mean 3 within 4 Monte-Carlo standard errors.
    assert set(values) == {0, 5}
    assert abs(np.mean(values) - 3) < 4 * np.std(values) / np.sqrt(len(values))


def test_the_attacker_has_teeth_against_tables_rounded_one_by_one():
    """Control: headcounts, hires and leavers (with their margins over groups and zones) each
    rounded on its own, a key per count, break the stock–flow identity and the margins; the
    same attacker then pins small counts (issue 14 attack 1)."""
    rng = np.random.default_rng(3)
    pinned = 0
    for _ in range(2):
        officers = random_officers(rng)
        truth = chain_truth(officers)
        att = Attacker()
        for (zone, group, cohort), leaves in truth.items():
            for leaf in leaves:
                att.var((zone, group, cohort, leaf))
        tables = _all_sums(truth)
        for name, members in tables.items():
            value = sum(members.values())
            lo, hi = feasible_range(rounded(SECRET, name, value, K), K)
            att.know(dict.fromkeys(members, 1), lo, hi)
        for members in tables.values():
            true = sum(members.values())
            if 1 <= true < K:
                lo, hi = att.range(dict.fromkeys(members, 1))
                pinned += hi - lo + 1 < K
    assert pinned >= 1


def _all_sums(truth: dict) -> dict[tuple, dict[tuple, int]]:
    out: dict[tuple, dict[tuple, int]] = {}
    for (zone, group, cohort), leaves in truth.items():
        s = start(cohort)
        for leaf, v in leaves.items():
            var = (zone, group, cohort, leaf)
            year = leaf[0]
            # Each table with its margins over groups and over zones (the pool).
            for z, g in ((zone, group), (zone, "all"), ("all", group), ("all", "all")):
                if cohort != PRE_WINDOW:
                    out.setdefault(("hires", z, g, s), {})[var] = v
                if year != STAYING:
                    out.setdefault(("leavers", z, g, year), {})[var] = v
                for y in range(FIRST - 1, REF):
                    if s <= y < year:
                        out.setdefault(("headcount", z, g, y), {})[var] = v
    return out


def _next_year(officers: pd.DataFrame, rng) -> pd.DataFrame:
    """The next year's extract: the same records up to the old year; some officers in service
    leave in the new year, some are promoted, and a new cohort is hired."""
    new = officers.copy()
    staying = new.index[new["exit_year"] == STAYING]
    for i in staying:
        u = rng.random()
        if u < 0.2:
            new.loc[i, ["exit_year", "after_anniversary", "exit_type", "reason", "rank"]] = [
                REF, int(rng.integers(0, 2)) if new.loc[i, "cohort"] != PRE_WINDOW else 1,
                str(rng.choice(TYPES)), REASONS[0], None]
        elif u < 0.35:
            new.loc[i, "rank"] = RANKS[1]
    hires = []
    for zone, group in itertools.product(ZONES, GROUPS):
        for _ in range(int(rng.poisson(3))):
            hires.append((zone, group, str(REF), STAYING, 0, None, None, RANKS[0]))
    hires = pd.DataFrame(hires, columns=new.columns)
    return pd.concat([new, hires], ignore_index=True)


@pytest.mark.parametrize("seed", range(2))
def test_a_later_year_refines_the_chains_and_narrows_nothing(seed):
    """Release history is attacker knowledge (issue 14 item 5). The retention release covers
    complete calendar years, so the next year's extract keeps every earlier leaf and adds the
    new year's exits between the earlier exits and those still in service (promotions change
    the rank split of the latter). With both versions' suffix sums, the same offsets, and the
    knowledge that the earlier leaves and cohort sizes did not change, no count of 1..k−1 of
    either version is narrowed below k values."""
    rng = np.random.default_rng(40 + seed)
    old = random_officers(rng)
    old = old[old["exit_year"].isin([*range(FIRST, REF), STAYING])
              & (old["cohort"] != str(REF))].reset_index(drop=True)
    new = _next_year(old, rng)
    truth_old, truth_new = chain_truth(old, REF - 1), chain_truth(new, REF)
    att = Attacker()
    know_chains(att, truth_old, protect(old), prefix=("v1",))
    know_chains(att, truth_new, protect(new), prefix=("v2",))
    for ident, leaves in truth_old.items():
        for leaf in leaves:
            if leaf[0] != STAYING:  # an earlier exit: the same record in both extracts
                att.know({("v1", *ident, leaf): 1, ("v2", *ident, leaf): -1}, 0, 0)
        att.know({**{("v1", *ident, leaf): 1 for leaf in leaves},
                  **{("v2", *ident, leaf): -1 for leaf in truth_new[ident]}}, 0, 0)
    worst = None
    for prefix, truth in (("v1", truth_old), ("v2", truth_new)):
        for name, members in targets(truth).items():
            lo, hi = att.range({(prefix, *var): 1 for var in members})
            true = sum(members.values())
            assert lo <= true <= hi
            if worst is None or hi - lo + 1 < worst[0]:
                worst = (hi - lo + 1, prefix, name, lo, hi, true)
    assert worst is not None
    assert worst[0] >= K, worst
