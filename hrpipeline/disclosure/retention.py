"""The protected retention release: every count a sum of one systematically rounded chain per
hire cohort.

The retention tables are tied by identities every reader knows: the headcount at the end of a
year is the headcount at its start plus the hires minus the leavers; the leavers of a year add
up over exit types and reasons; the first-year table's hires are the year's joiners; the
headcount on the reference date adds up over ranks. Protecting each table on its own (the
suppression engine this module replaces) let an attacker recover hidden leavers from the
stock–flow identity, and kept 132 of 133 yearly turnover rates of the demo data hidden.

So the release is built from one **chain per zone × group × hire cohort** (the officers of one
zone and migration-background group hired in one calendar year; everyone hired before the
retention window forms one cohort, ``PRE_WINDOW``). Its leaves are the cohort's officers split
by what happened to them, in this order::

    exits in the hire year, then the next year, …  (each year: before the hire anniversary,
                                                    then after it; within that by exit type
                                                    and exit reason)
    still in service on the reference date, by rank

Every count the retention page shows is a sum of leaves:

* a cohort's hires = the whole chain; its officers still in service at the end of year *Y* = the
  suffix from the exits of year *Y+1*; its exits within *m* years of hire = the prefix up to
  the year *c+m* before the anniversary (a year of service is one contiguous block);
* the headcount at the end of *Y* = the sum over cohorts of their suffixes; the leavers of *Y*
  by exit type = the sum over cohorts of their blocks; reasons and ranks likewise.

**Systematic rounding of the suffix sums** with one offset per chain (cumulative controlled
rounding, Cox 1987; Hundepool et al. 2012, §5.4), exactly as the funnel
(:mod:`hrpipeline.disclosure.funnel`): a suffix sum ``T`` is published as ``b·floor(T/b + u)``.
Over ``u`` this is unbiased random rounding of every suffix sum; every leaf is published as a
non-negative multiple of *b* within *b* of its true value, any contiguous block (a cohort's
hires, its first-year exits, one year of service) too, and because every table is a sum of the
same published leaves, **every identity holds exactly in the published numbers**: stock–flow,
exit types and reasons adding up to the leavers, ranks to the headcount, zones to the pool.

The offset is an HMAC of the chain's identity (zone, group, cohort) under the deployment's
secret (the ABS cell key), never of its counts: a cohort whose leaves did not change between
two extracts is published with the same values again.

What a reader can learn: each suffix sum lies in a window of *b* consecutive values shifted by
the chain's unknown ``u``; any leaf or sum of leaves keeps at least *b* possible values.
``tests/disclosure/test_retention_attack.py`` checks it with an integer program that knows
every suffix sum of every chain (more than any page shows).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from hrpipeline.disclosure.rounding import cell_key

#: The cohort of officers hired before the retention window (they enter it in service).
PRE_WINDOW = "pre"
#: Columns of the officer frame :func:`protect_retention` reads.
OFFICER_COLUMNS: tuple[str, ...] = ("zone", "group", "cohort", "exit_year", "after_anniversary",
                                    "exit_type", "reason", "rank")
#: Columns of a leaf: where in the chain, and what it counts.
LEAF_COLUMNS: tuple[str, ...] = ("zone", "group", "cohort", "exit_year", "after_anniversary",
                                 "exit_type", "reason", "rank")
#: ``exit_year`` of the officers still in service on the reference date.
STAYING = 9999


@dataclass(frozen=True)
class Suffix:
    """One published suffix sum of a chain: what a reader who knows the method knows.

    ``leaves``: the indices (into :attr:`PublishedRetention.leaves`) it adds up; ``run``: the
    chain identity whose offset rounded it.
    """

    leaves: tuple[int, ...]
    true: int
    published: int
    run: tuple[str, ...]


@dataclass
class PublishedRetention:
    """The published leaves of a retention release.

    ``leaves`` has :data:`LEAF_COLUMNS` plus ``n`` (the true count, internal) and ``published``
    (a multiple of ``base``); every table of the page is a sum of ``published`` over a subset.
    ``suffixes``: the rounded suffix sums behind them (for the audit and tests).
    """

    leaves: pd.DataFrame
    suffixes: list[Suffix]
    base: int

    def published_leaves(self) -> pd.DataFrame:
        """The leaves with their published counts only (what every table is summed from)."""
        return self.leaves.drop(columns=["n"])


def _leaf_order(exit_types: Sequence[str], reasons: Sequence[str], ranks: Sequence[str]):
    t_pos = {t: i for i, t in enumerate(exit_types)}
    r_pos = {r: i for i, r in enumerate(reasons)}
    k_pos = {r: i for i, r in enumerate(ranks)}

    def key(leaf: tuple) -> tuple:
        _z, _g, _c, year, after, etype, reason, rank = leaf
        if year == STAYING:
            return (STAYING, 0, 0, 0, k_pos.get(rank, len(k_pos)), str(rank))
        return (int(year), int(after), t_pos.get(etype, len(t_pos)), r_pos.get(reason, len(r_pos)),
                0, f"{etype}|{reason}")

    return key


def protect_retention(officers: pd.DataFrame, base: int, secret: bytes, *,
                      exit_types: Sequence[str], reasons: Sequence[str],
                      ranks: Sequence[str]) -> PublishedRetention:
    """Publish retention counts as leaves of systematically rounded cohort chains (module doc).

    ``officers``: one row per officer with :data:`OFFICER_COLUMNS` — ``cohort`` the hire year as
    text or :data:`PRE_WINDOW`; ``exit_year`` the exit's calendar year or :data:`STAYING`;
    ``after_anniversary`` whether the exit came on or after the hire anniversary of its year;
    ``exit_type`` and ``reason`` for leavers, ``rank`` for those still in service (other
    fields of a row are ignored by its leaf: pass None).

    Example (b = 5, u = 0.3), one cohort of 12: 2 left in the first year (voluntary), 10 stay.
    Suffix sums 12, 10 → 10, 10: published hires 10, first-year exits 0, still in service 10.
    """
    if base < 1:
        raise ValueError("base must be at least 1")
    frame = officers[list(OFFICER_COLUMNS)].copy()
    staying = frame["exit_year"] == STAYING
    frame.loc[staying, ["after_anniversary", "exit_type", "reason"]] = [0, "", ""]
    frame.loc[~staying, "rank"] = ""
    frame["after_anniversary"] = frame["after_anniversary"].fillna(0).astype(int)
    for col in ("zone", "group", "cohort", "exit_type", "reason", "rank"):
        frame[col] = frame[col].fillna("").astype(str)
    frame["exit_year"] = frame["exit_year"].astype(int)
    counts = frame.groupby(list(LEAF_COLUMNS), sort=False).size()
    chains: dict[tuple, list[tuple[tuple, int]]] = defaultdict(list)
    for leaf, n in counts.items():
        chains[leaf[:3]].append((leaf, int(n)))
    order = _leaf_order(exit_types, reasons, ranks)
    rows: list[tuple] = []
    suffixes: list[Suffix] = []
    for ident in sorted(chains):
        leaves = sorted(chains[ident], key=lambda item: order(item[0]))
        run = ("retention-run", *ident)
        # The offset depends on the chain's identity only, never on its counts (module doc).
        u = cell_key(secret, run, 0)
        start = len(rows)
        totals = [0] * (len(leaves) + 1)
        for j in range(len(leaves) - 1, -1, -1):
            totals[j] = totals[j + 1] + leaves[j][1]
        rounded = [base * math.floor(t / base + u) for t in totals[:-1]] + [0]
        for j, (leaf, n) in enumerate(leaves):
            rows.append((*leaf, n, rounded[j] - rounded[j + 1]))
            suffixes.append(Suffix(tuple(range(start + j, start + len(leaves))), totals[j],
                                   rounded[j], run))
    table = pd.DataFrame(rows, columns=[*LEAF_COLUMNS, "n", "published"])
    table["exit_year"] = table["exit_year"].astype(int)
    return PublishedRetention(leaves=table, suffixes=suffixes, base=base)
