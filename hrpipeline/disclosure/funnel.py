"""The protected funnel release: every count a segment of one systematically rounded chain.

The funnel's counts are tied by identities every reader knows: ``entered = passed + failed +
withdrew + pending``; the candidates who passed stage *s* are the ones who entered *s+1*; a year
is the sum of its campaigns, the all-zone pool the sum of the zones. Rounding each published
cell on its own breaks those identities, and intersecting them pins small counts at the edges
(``tests/disclosure/test_funnel_attack.py`` shows it). So the release is built as follows.

1. **One chain per zone × campaign × group.** Its true counts are laid out as a sequence of
   non-negative *leaves*, stage by stage::

       pending(s), withdrew(s), failed(s), passed(s) − entered(s+1), …, passed(last)

   Every number the funnel shows is then a **suffix sum** of the chain:
   ``entered(s)`` from pending(s); ``passed + failed + withdrew`` (the retention base) from
   withdrew(s); ``passed + failed`` (decisions) from failed(s); ``passed(s)`` from
   ``passed(s) − entered(s+1)``. (Where a counts extract has more candidates at *s+1* than
   passed *s*, or a cell hidden at source, the chain is cut there into runs.)
2. **Systematic rounding of the suffix sums** (cumulative controlled rounding, Cox 1987;
   Hundepool et al. 2012, §5.4): with one offset ``u`` per run, each suffix sum ``T`` is
   published as ``b·floor(T/b + u)``, *b* = k. Over ``u`` uniform this is unbiased random
   rounding of every suffix sum at once; because it is monotone, every leaf (a difference of
   neighbouring suffix sums) is published as a non-negative multiple of *b* within *b* of its
   true value, and the table is additive: ``entered`` is the sum of the published outcomes, and
   ``passed(s)`` equals ``entered(s+1)`` plus its rest. A rate's numerator and denominator are
   each one rounded suffix sum, so a rate on ≥ 20 true people keeps a published base ≥ 20.
3. **The offset is a cell key** of the run's identity (HMAC under the deployment's secret, not
   of its values): a count that does not change between versions of a release — a second
   campaign, a replacement after later stages or decisions came in — is published with the
   same value again, so versions cannot be intersected.
4. **Everything else is a sum.** Year and pool tables add the published chain cells; the
   analysis (rates, intervals, tests, tiers, pooled results) runs on the published counts.

What a reader can learn: for a run with unknown ``u``, each suffix sum lies in a window of *b*
consecutive values shifted by ``u``, and any leaf or sum of leaves keeps at least *b*
possible values: a published 0 means 0..b−1. Cells hidden at source stay ``SUPPRESSED``, with
every sum that includes one; the other cells of that stage are rounded one by one, each with
a key of its identity and value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from hrpipeline.disclosure.rounding import cell_key, feasible_range, round_count
from hrpipeline.disclosure.values import SUPPRESSED, _Suppressed

OUTCOMES: tuple[str, ...] = ("passed", "failed", "withdrew", "pending")
KEY_COLUMNS: tuple[str, ...] = ("zone", "campaign", "stage", "group", "outcome")
#: Leaf order within a stage: every rate base is then a suffix sum (see the module docstring).
LEAF_ORDER: tuple[str, ...] = ("pending", "withdrew", "failed")

Terms = tuple[tuple[tuple[str, str], int], ...]


@dataclass(frozen=True)
class Segment:
    """One published quantity and how it was rounded (what a reader who knows the method knows).

    ``terms``: its definition in true cells ``((stage, outcome), coefficient)`` of one zone,
    campaign and group. ``run``: the identity of the systematic run whose offset rounded it
    (a suffix sum), or None for a cell rounded on its own with a key of its value.
    """

    zone: str
    campaign: str
    group: str
    terms: Terms
    true: int | None
    published: int | _Suppressed
    run: tuple[str, ...] | None

    def feasible(self, base: int) -> tuple[int, int] | None:
        """The values the true count can take given only this published value."""
        if self.published is SUPPRESSED:
            return None
        return feasible_range(int(self.published), base)


@dataclass(frozen=True)
class ChainMemory:
    """What one version of a release published about one chain, for later versions' audits.

    ``digests``: a keyed hash of every cell's true value (to tell which counts a later version
    leaves unchanged, without storing counts); ``segments``: the published, rounded quantities
    (terms, value, run) — what that version's readers know.
    """

    zone: str
    campaign: str
    group: str
    digests: tuple[tuple[tuple[str, str], float], ...]
    segments: tuple[tuple[Terms, int, tuple[str, ...] | None], ...]

    def to_json(self) -> list:
        return [self.zone, self.campaign, self.group,
                [[list(c), d] for c, d in self.digests],
                [[[[list(cell), k] for cell, k in terms], pub, list(run) if run else None]
                 for terms, pub, run in self.segments]]

    @classmethod
    def from_json(cls, data: list) -> ChainMemory:
        zone, campaign, group, digests, segments = data
        return cls(zone, campaign, group,
                   tuple((tuple(c), float(d)) for c, d in digests),
                   tuple((tuple((tuple(cell), int(k)) for cell, k in terms), int(pub),
                          tuple(run) if run else None) for terms, pub, run in segments))


@dataclass
class PublishedFunnel:
    """The published counts of one funnel release and the rounded quantities behind them.

    ``cells`` has the columns ``zone, campaign, stage, group, outcome, n`` where ``n`` is a
    published count (a multiple of ``base``) or ``SUPPRESSED``; ``stages`` is the stage order.
    """

    cells: pd.DataFrame
    segments: list[Segment]
    base: int
    stages: list[str]
    #: per chain, what this version publishes (store it: later versions are audited with it)
    memory: list[ChainMemory] = field(default_factory=list)
    #: chains whose changed stages are withheld: with an earlier version they would have let a
    #: reader narrow a small count (``_version_safe``)
    withheld: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)

    def table(self) -> dict[tuple[str, ...], int | _Suppressed]:
        """``{(zone, campaign, stage, group, outcome): published n}``."""
        keys = self.cells[list(KEY_COLUMNS)].itertuples(index=False, name=None)
        return dict(zip(keys, self.cells["n"], strict=True))


def _ordered(stages_present: set[str], stage_order: Sequence[str]) -> list[str]:
    known = [s for s in stage_order if s in stages_present]
    return known + sorted(stages_present - set(known))


def systematic(total: int, base: int, u: float) -> int:
    """``base·floor(total/base + u)``: unbiased over ``u``; monotone in ``total``.

    >>> systematic(12, 5, 0.5), systematic(12, 5, 0.7), systematic(20, 5, 0.99)
    (10, 15, 20)
    """
    return base * math.floor(total / base + u)


def protect_funnel(counts: pd.DataFrame, stage_order: Sequence[str], base: int,
                   secret: bytes, history: Sequence[Sequence[ChainMemory]] = ()
                   ) -> PublishedFunnel:
    """Publish funnel counts as segments of systematically rounded chains (module docstring).

    ``counts``: columns ``zone, campaign, stage, group, outcome, n`` and optionally
    ``source_suppressed``; several rows of one cell are summed. ``stage_order``: the zones'
    stage order (stages not in it go last, alphabetically).

    Example (b = 5, u = 0.3), one group: stage A 18 passed, 2 failed; stage B (the 18) 15
    passed, 3 failed. Leaves: failed(A)=2, passed(A)−entered(B)=0, failed(B)=3, passed(B)=15;
    suffix sums 20, 18, 18, 15 → 20, 20, 20, 15: B publishes 15 passed, 5 failed (20 entered),
    A 20 passed, 0 failed (20 entered).

    ``history``: the ``memory`` of every earlier version of this release (release history is
    attacker knowledge). A chain whose counts changed since an earlier version is audited with
    what that version published, the unchanged counts tied together and the offsets shared
    (:func:`_version_safe`); where the audit finds a small count narrowed below *b* values,
    the chain's changed stages are withheld (``SUPPRESSED``), the last first, until it passes.
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

    earlier: dict[tuple[str, str, str], list[ChainMemory]] = defaultdict(list)
    for version in history:
        for mem in version:
            earlier[(mem.zone, mem.campaign, mem.group)].append(mem)
    segments: list[Segment] = []
    memory: list[ChainMemory] = []
    withheld_chains: list[tuple[str, str, str, tuple[str, ...]]] = []
    out_rows: list[tuple] = []
    all_stages: set[str] = set()
    for (zone, campaign), present in sorted(stages_of.items()):
        chain = _ordered(present, stage_order)
        all_stages.update(chain)
        for group in sorted(groups_of[(zone, campaign)]):
            old = earlier.get((zone, campaign, group), [])
            withheld: list[str] = []
            while True:
                mine: list[Segment] = []
                c = _Chain(zone, campaign, group, chain, true, hidden, base, secret, mine,
                           set(withheld))
                published = c.publish()
                if not old or _version_safe(c, mine, old):
                    break
                changed = [st for st in reversed(chain) if st not in withheld
                           and c.changed_since(st, old)]
                if not changed:  # nothing left to withhold that changed: withhold the rest
                    changed = [st for st in reversed(chain) if st not in withheld]
                if not changed:
                    break
                withheld.append(changed[0])
            if withheld:
                withheld_chains.append((zone, campaign, group, tuple(withheld)))
            segments.extend(mine)
            memory.append(c.memory(mine))
            for (stage, outcome), value in published.items():
                out_rows.append((zone, campaign, stage, group, outcome, value))
    cells = pd.DataFrame(out_rows, columns=[*KEY_COLUMNS, "n"])
    cells["n"] = cells["n"].astype(object)
    return PublishedFunnel(cells=cells, segments=segments, base=base,
                           stages=_ordered(all_stages, stage_order), memory=memory,
                           withheld=withheld_chains)


class _Chain:
    """One zone × campaign × group: cut into runs, each rounded systematically."""

    def __init__(self, zone, campaign, group, chain, true, hidden, base, secret, segments,
                 withheld: set[str] = frozenset()):
        self.zone, self.campaign, self.group = zone, campaign, group
        self.chain, self.true, self.hidden = chain, true, hidden
        self.base, self.secret, self.segments = base, secret, segments
        self.withheld = withheld

    def digest(self, stage: str, outcome: str) -> float:
        value = self.cell(stage, outcome)
        return cell_key(self.secret, ("cell", self.zone, self.campaign, stage, self.group,
                                      outcome), -1 if value is None else value)

    def memory(self, segments: list[Segment]) -> ChainMemory:
        digests = tuple(((st, o), self.digest(st, o)) for st in self.chain for o in OUTCOMES)
        published = tuple((sg.terms, int(sg.published), sg.run) for sg in segments
                          if sg.published is not SUPPRESSED)
        return ChainMemory(self.zone, self.campaign, self.group, digests, published)

    def changed_since(self, stage: str, old: list[ChainMemory]) -> bool:
        for mem in old:
            digests = dict(mem.digests)
            if any(digests.get((stage, o)) != self.digest(stage, o) for o in OUTCOMES):
                return True
        return False

    def cell(self, stage: str, outcome: str) -> int | None:
        key = (self.zone, self.campaign, stage, self.group, outcome)
        return None if key in self.hidden else self.true.get(key, 0)

    def entered(self, stage: str) -> int | None:
        values = [self.cell(stage, o) for o in OUTCOMES]
        return None if any(v is None for v in values) else sum(values)

    def runs(self) -> list[list[str]]:
        """Consecutive stages without hidden cells, cut where passed(s) < entered(s+1)."""
        runs: list[list[str]] = []
        current: list[str] = []
        for stage in self.chain:
            if self.entered(stage) is None:
                if current:
                    runs.append(current)
                runs.append([stage])  # a stage with a hidden cell: cells one by one
                current = []
                continue
            if current and self.cell(current[-1], "passed") < self.entered(stage):
                runs.append(current)
                current = []
            current.append(stage)
        if current:
            runs.append(current)
        return runs

    def publish(self) -> dict[tuple[str, str], int | _Suppressed]:
        out: dict[tuple[str, str], int | _Suppressed] = {}
        for run in self.runs():
            if self.entered(run[0]) is None:
                out.update(self._one_by_one(run[0]))
            else:
                out.update(self._systematic(run))
        for (stage, outcome) in list(out):
            if stage in self.withheld:
                out[(stage, outcome)] = SUPPRESSED
        return out

    def _segment(self, terms: Terms, value: int | None, published, run) -> None:
        self.segments.append(Segment(self.zone, self.campaign, self.group, terms, value,
                                     published, run))

    def _one_by_one(self, stage: str) -> dict[tuple[str, str], int | _Suppressed]:
        out: dict[tuple[str, str], int | _Suppressed] = {}
        for outcome in OUTCOMES:
            value = self.cell(stage, outcome)
            if value is None or stage in self.withheld:
                pub: int | _Suppressed = SUPPRESSED
            else:
                identity = ("funnel", self.zone, self.campaign, self.group, stage, outcome)
                pub = round_count(value, self.base, cell_key(self.secret, identity, value))
            self._segment((((stage, outcome), 1),), value, pub, None)
            out[(stage, outcome)] = pub
        return out

    def _systematic(self, run: list[str]) -> dict[tuple[str, str], int | _Suppressed]:
        run_id = ("funnel-run", self.zone, self.campaign, self.group, run[0])
        # The offset depends on the run's identity only, never on its counts (module doc, 3).
        u = cell_key(self.secret, run_id, 0)
        # Leaves in chain order, each as (terms, true value, the cell it is a suffix start of).
        leaves: list[tuple[Terms, int, tuple[str, str]]] = []
        for i, stage in enumerate(run):
            for outcome in LEAF_ORDER:
                leaves.append(((((stage, outcome), 1),), self.cell(stage, outcome),
                               (stage, outcome)))
            passed = self.cell(stage, "passed")
            if i + 1 < len(run):
                nxt = run[i + 1]
                terms = (((stage, "passed"), 1), *(((nxt, o), -1) for o in OUTCOMES))
                leaves.append((terms, passed - self.entered(nxt), (stage, "passed")))
            else:
                leaves.append(((((stage, "passed"), 1),), passed, (stage, "passed")))
        # Suffix sums, from the end of the run.
        suffix_true: list[int] = [0] * (len(leaves) + 1)
        suffix_terms: list[dict] = [{} for _ in range(len(leaves) + 1)]
        for j in range(len(leaves) - 1, -1, -1):
            terms, value, _ = leaves[j]
            suffix_true[j] = suffix_true[j + 1] + value
            merged = dict(suffix_terms[j + 1])
            for cell, coef in terms:
                merged[cell] = merged.get(cell, 0) + coef
            suffix_terms[j] = {c: k for c, k in merged.items() if k}
        rounded = [systematic(t, self.base, u) for t in suffix_true[:-1]] + [0]
        for j in range(len(leaves)):
            stage = leaves[j][2][0]
            self._segment(tuple(sorted(suffix_terms[j].items())), suffix_true[j],
                          SUPPRESSED if stage in self.withheld else rounded[j], run_id)
        out: dict[tuple[str, str], int | _Suppressed] = {}
        for j, (_terms, _value, (stage, outcome)) in enumerate(leaves):
            if outcome == "passed":
                out[(stage, outcome)] = rounded[j]  # passed(s): the suffix from its rest
            else:
                out[(stage, outcome)] = rounded[j] - rounded[j + 1]
        return out


def _version_safe(chain: _Chain, segments: list[Segment], old: list[ChainMemory]) -> bool:
    """True when this chain, read together with what earlier versions published about it,
    leaves each of its small counts (cells and ``entered`` of 1..b−1) at least *b* values.

    The reader's model (:mod:`hrpipeline.disclosure.audit`): each version's counts are
    unknowns, equal where a count did not change (its digest is the same); every published
    quantity is a constraint (a systematic suffix sum with its run's offset, shared by every
    version because it is keyed on the run's identity; a cell rounded alone in its range);
    ``passed(s) >= entered(s+1)`` in every version. Earlier versions identical to this one add
    nothing and are not audited.
    """
    from hrpipeline.disclosure.audit import ranges

    base = chain.base
    current = {(sg.terms, sg.published, sg.run) for sg in segments
               if sg.published is not SUPPRESSED}
    relevant = [m for m in old if not set(m.segments) <= current]
    if not relevant:
        return True
    rows: list = []
    offsets: set = set()

    def add(prefix, terms, published, run) -> None:
        coefs: dict = {}
        for cell, k in terms:
            coefs[(prefix, *cell)] = coefs.get((prefix, *cell), 0) + k
        if run is None:
            rows.append((coefs, *feasible_range(int(published), base)))
            return
        offsets.add(("offset", run))
        coefs[("offset", run)] = float(base)
        rows.append((coefs, float(published), float(published) + base - 1e-5))

    def structure(prefix, stages) -> None:
        for a, b in zip(stages, stages[1:], strict=False):
            coefs = {(prefix, a, "passed"): 1}
            for o in OUTCOMES:
                coefs[(prefix, b, o)] = coefs.get((prefix, b, o), 0) - 1
            rows.append((coefs, 0, None))

    for sg in segments:
        if sg.published is not SUPPRESSED:
            add("now", sg.terms, sg.published, sg.run)
    structure("now", chain.chain)
    for i, mem in enumerate(relevant):
        prefix = f"v{i}"
        for terms, published, run in mem.segments:
            add(prefix, terms, published, run)
        stages = list(dict.fromkeys(st for (st, _o), _d in mem.digests))
        structure(prefix, stages)
        for (st, o), d in mem.digests:
            if st in chain.chain and d == chain.digest(st, o):
                rows.append(({(prefix, st, o): 1, ("now", st, o): -1}, 0, 0))
    targets = []
    for st in chain.chain:
        values = [chain.cell(st, o) for o in OUTCOMES]
        for o, v in zip(OUTCOMES, values, strict=True):
            if v is not None and 1 <= v < base:
                targets.append({("now", st, o): 1})
        if all(v is not None for v in values) and 1 <= sum(values) < base:
            targets.append({("now", st, o): 1 for o in OUTCOMES})
    if not targets:
        return True
    return all(hi - lo + 1 >= base for lo, hi in ranges(rows, targets, offsets))
