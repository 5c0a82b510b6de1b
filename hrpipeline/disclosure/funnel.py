"""The protected funnel release: independent flows, each rounded, every count a sum of them.

Why not round each published cell on its own? The funnel's counts are tied by identities the
reader knows (``entered = passed + failed + withdrew + pending``; the candidates who passed
stage *s* are the ones who entered stage *s+1*; a year is the sum of its campaigns; the
all-zone pool the sum of the zones). Independently rounded cells that are tied by such an
identity can be intersected, and at the edges the intersection pins a small count. So the
release is built the other way round:

1. **Flows.** Per zone, campaign and group, the counts are re-parametrised as *independent*
   non-negative numbers — for every stage ``s`` in order: ``failed(s)``, ``withdrew(s)``,
   ``pending(s)`` and ``passed(s) − entered(s+1)`` (passed but not, or not yet, at the next
   stage), and ``passed`` at the last stage. Every cell of the table is a sum of flows
   (``passed(s) = entered(s+1) + (passed(s) − entered(s+1))``), and no identity links two
   flows. (If a counts extract has more candidates at ``s+1`` than passed ``s``, the link is
   not a fact of the data: ``passed(s)`` is then a flow of its own.)
2. **Rounding.** Each flow is rounded to base *b* = k with its cell key
   (:mod:`hrpipeline.disclosure.rounding`), identity ``(zone, campaign, group, stage, kind)``.
3. **Publication.** Every published count — each outcome cell, every ``entered``, every year
   and pool total — is the *exact sum* of the rounded flows behind it. The tables are additive
   and consistent with each other, and statistics are computed from these published counts
   only (so a rate, interval, test, tier or verdict tells nothing the counts do not).

What a reader can learn: each flow lies in its feasible range (≥ k values; see ``rounding``),
independently of the others, and every count is a sum of flows with coefficients 0 or 1, so
its feasible set is the sum of those ranges: again at least *k* consecutive values. This holds
across every table, channel and role (they all show sums of the same rounded flows) and
across versions (an unchanged flow keeps its value and key, so a re-upload or a second
campaign republishes the same number). ``tests/disclosure/test_funnel_attack.py`` checks it
with an integer-programming attacker.

Cells hidden at source (``**``, ``<5`` in a counts extract) stay hidden: their flows are
``SUPPRESSED`` and so is every sum that includes one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from hrpipeline.disclosure.rounding import cell_key, feasible_range, round_count
from hrpipeline.disclosure.values import SUPPRESSED, _Suppressed

OUTCOMES: tuple[str, ...] = ("passed", "failed", "withdrew", "pending")
#: Flow kinds: the three non-passing outcomes, "passed, not at the next stage", and "passed"
#: (last stage, or a stage whose link to the next one does not hold in the data).
FLOW_KINDS: tuple[str, ...] = ("failed", "withdrew", "pending", "passed_not_next", "passed")
KEY_COLUMNS: tuple[str, ...] = ("zone", "campaign", "stage", "group", "outcome")


@dataclass(frozen=True)
class Flow:
    """One independent published quantity.

    ``terms`` is its definition in true cells: ``((stage, outcome), coefficient)`` pairs of the
    same zone, campaign and group (the attacker test rebuilds the identities from them).
    """

    zone: str
    campaign: str
    group: str
    stage: str
    kind: str
    true: int | None  # None when hidden at source
    published: int | _Suppressed
    terms: tuple[tuple[tuple[str, str], int], ...]

    @property
    def identity(self) -> tuple[str, ...]:
        return ("funnel", self.zone, self.campaign, self.group, self.stage, self.kind)

    def feasible(self, base: int) -> tuple[int, int] | None:
        """What a reader can infer about ``true`` from ``published`` alone."""
        if self.published is SUPPRESSED:
            return None
        return feasible_range(int(self.published), base)


@dataclass
class PublishedFunnel:
    """The published counts of one funnel release and the flows they are sums of.

    ``cells`` has the columns ``zone, campaign, stage, group, outcome, n`` where ``n`` is a
    published count (a multiple of ``base``) or ``SUPPRESSED``; ``stages`` is the stage order.
    """

    cells: pd.DataFrame
    flows: list[Flow]
    base: int
    stages: list[str]

    def table(self) -> dict[tuple[str, ...], int | _Suppressed]:
        """``{(zone, campaign, stage, group, outcome): published n}``."""
        keys = self.cells[list(KEY_COLUMNS)].itertuples(index=False, name=None)
        return dict(zip(keys, self.cells["n"], strict=True))


def _ordered(stages_present: set[str], stage_order: Sequence[str]) -> list[str]:
    known = [s for s in stage_order if s in stages_present]
    return known + sorted(stages_present - set(known))


def protect_funnel(counts: pd.DataFrame, stage_order: Sequence[str], base: int,
                   secret: bytes) -> PublishedFunnel:
    """Publish funnel counts as sums of independently rounded flows (module docstring).

    ``counts``: columns ``zone, campaign, stage, group, outcome, n`` and optionally
    ``source_suppressed``; one row per cell or several (they are summed). ``stage_order``: the
    zones' stage order (stages not in it go last, alphabetically).

    Example (b = 5), one group at two stages: stage A 18 passed, 2 failed; stage B (the 18) 15
    passed, 3 failed. Flows: failed(A)=2, passed(A)−entered(B)=0, failed(B)=3, passed(B)=15;
    rounded e.g. 0, 0, 5, 15, so the table publishes B: 15 passed, 5 failed, 20 entered, and
    A: 20 passed (= entered B + 0), 0 failed, 20 entered.
    """
    if base < 1:
        raise ValueError("base must be at least 1")
    frame = counts.copy()
    if "source_suppressed" not in frame:
        frame["source_suppressed"] = False
    frame["source_suppressed"] = frame["source_suppressed"].fillna(False).astype(bool)
    frame["n"] = frame["n"].fillna(0).astype("int64")
    true: dict[tuple, int] = defaultdict(int)
    hidden: set[tuple] = set()
    for zone, campaign, stage, group, outcome, n, src in frame[
            [*KEY_COLUMNS, "n", "source_suppressed"]].itertuples(index=False, name=None):
        key = (str(zone), str(campaign), str(stage), str(group), str(outcome))
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        if src:
            hidden.add(key)
        else:
            true[key] += int(n)

    stages_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    groups_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for zone, campaign, stage, group, _ in (*true.keys(), *hidden):
        stages_of[(zone, campaign)].add(stage)
        groups_of[(zone, campaign)].add(group)

    flows: list[Flow] = []
    out_rows: list[tuple] = []
    all_stages: set[str] = set()
    for (zone, campaign), present in sorted(stages_of.items()):
        chain = _ordered(present, stage_order)
        all_stages.update(chain)
        for group in sorted(groups_of[(zone, campaign)]):
            published, chain_flows = _protect_chain(zone, campaign, group, chain, true, hidden,
                                                    base, secret)
            flows.extend(chain_flows)
            for (stage, outcome), value in published.items():
                out_rows.append((zone, campaign, stage, group, outcome, value))
    cells = pd.DataFrame(out_rows, columns=[*KEY_COLUMNS, "n"])
    cells["n"] = cells["n"].astype(object)
    return PublishedFunnel(cells=cells, flows=flows, base=base,
                           stages=_ordered(all_stages, stage_order))


def _protect_chain(zone: str, campaign: str, group: str, chain: list[str],
                   true: dict[tuple, int], hidden: set[tuple], base: int, secret: bytes
                   ) -> tuple[dict[tuple[str, str], int | _Suppressed], list[Flow]]:
    """Flows of one zone × campaign × group, rounded, and the published cells they sum to."""

    def cell(stage: str, outcome: str) -> int | None:
        key = (zone, campaign, stage, group, outcome)
        return None if key in hidden else true.get(key, 0)

    flows: list[Flow] = []

    def flow(stage: str, kind: str, value: int | None,
             terms: tuple[tuple[tuple[str, str], int], ...]) -> int | _Suppressed:
        if value is None:
            pub: int | _Suppressed = SUPPRESSED
        else:
            identity = ("funnel", zone, campaign, group, stage, kind)
            pub = round_count(value, base, cell_key(secret, identity, value))
        flows.append(Flow(zone, campaign, group, stage, kind, value, pub, terms))
        return pub

    published: dict[tuple[str, str], int | _Suppressed] = {}
    entered_next: int | _Suppressed | None = None  # published entered of the next stage
    next_true: int | None = None  # true entered of the next stage (None: unknown)
    next_stage: str | None = None
    for stage in reversed(chain):
        for outcome in ("failed", "withdrew", "pending"):
            published[(stage, outcome)] = flow(stage, outcome, cell(stage, outcome),
                                               (((stage, outcome), 1),))
        passed = cell(stage, "passed")
        linked = (next_stage is not None and passed is not None and next_true is not None
                  and passed >= next_true)
        if linked:
            terms = (((stage, "passed"), 1),
                     *(((next_stage, o), -1) for o in OUTCOMES))
            rest = flow(stage, "passed_not_next", passed - next_true, terms)
            published[(stage, "passed")] = _add(entered_next, rest)
        else:
            published[(stage, "passed")] = flow(stage, "passed", passed,
                                                (((stage, "passed"), 1),))
        values = [cell(stage, o) for o in OUTCOMES]
        next_true = None if any(v is None for v in values) else sum(values)
        entered_next = _add(*(published[(stage, o)] for o in OUTCOMES))
        next_stage = stage
    return published, flows


def _add(*values: int | _Suppressed | None) -> int | _Suppressed:
    if any(v is SUPPRESSED or v is None for v in values):
        return SUPPRESSED
    return int(sum(int(v) for v in values))  # type: ignore[arg-type]
