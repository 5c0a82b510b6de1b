"""Representation of migration-background groups against a population benchmark.

"Representation" only means something against a benchmark: if 40% of the young adults living
in a zone have a foreign background and 8% of the applicants do, the gap opens at attraction,
not at selection. This module compares each population of the funnel (applicants, every stage,
appointed, the corps) with the benchmark shares of the zone's residents.

For one population with ``n`` persons of known background, ``x`` of them in group ``g`` and a
benchmark share ``p`` for ``g``::

    share          = x / n
    gap (points)   = 100 * (share - p)
    ratio          = share / p
    expected       = n * p
    SD (z)         = (x - n p) / sqrt(n p (1 - p))
    p-value        = exact two-sided binomial test of x ~ Bin(n, p)   (scipy.stats.binomtest)

The "number of standard deviations" is the US utilisation-analysis practice (OFCCP,
41 CFR 60-2; Castaneda v. Partida, 430 U.S. 482 (1977), fn. 17; Hazelwood School District v.
United States, 433 U.S. 299 (1977), fn. 14/17): a gap of more than two or three standard
deviations is taken as significant. Example (Hazelwood): 15 Black teachers among 405 hired
against a 15.4% labour-market share gives expected 62.4, SD = sqrt(405 * .154 * .846) = 7.26 and
z = (15 - 62.4) / 7.26 = -6.5, "more than six standard deviations". The exact binomial p-value is
reported next to z because zone populations are often far too small for the normal
approximation.

``unknown`` background is never dropped, and it is treated the same way on every page: the
shares of the groups are shares of the persons of *known* background (``n`` excludes
``unknown``, as the funnel's pass rates and the Statbel benchmark, which classifies every
resident, do), and the number of persons of unknown background is reported next to ``n``.

**Which benchmark.** Police candidates must hold Belgian nationality (Jobpol admission
conditions), so the pool a zone recruits from is the *eligible pool*: Belgian nationals of the
candidate age band living in the zone's municipalities (Statbel's "Belgian of Belgian origin"
and "Belgian of foreign origin"; non-Belgian residents are left out). Applicants and hires are
*flows* of one campaign or year and are compared with that pool (:data:`FLOW`). The corps is a
*stock* accumulated over some forty years of hiring; it is compared only with a benchmark
stated as a stock benchmark (:data:`STOCK`: Belgian nationals of working age), never with
today's 18-34-year-olds.

**When a row says "below its share".** Only a stated test decides (:func:`holm_verdicts`): the
exact two-sided binomial test of each compared row, with Holm's (1979) step-down correction
over the whole family of rows compared (every tested population x every tested group), at
``alpha = 0.05``. A row is *below* when its share is under the benchmark and its Holm-adjusted
p is under alpha, *above* in the mirror case, and otherwise *consistent* with the benchmark
(not "equal": a small population cannot show a gap). The Belgian-origin row is not tested
(with two benchmark groups it is the mirror image of the other and would count the same
evidence twice), nor is ``foreign_background`` when it is only the sum of the EU and non-EU
rows that are tested.

Benchmarks may be coarser than our groups: Statbel's published regional figures only split
Belgian origin from foreign origin, so :data:`FOREIGN_BACKGROUND` stands for
``eu_background`` + ``non_eu_background`` together (:data:`BENCHMARK_GROUPS`).

All results are raw (unsuppressed): counts sit next to every derived number so the service
layer can pass them through the disclosure-control gate, and every row carries the benchmark's
source label.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import pandas as pd
from scipy.stats import binomtest

from hrpipeline.analysis.impact import holm_adjust
from hrpipeline.domain import (
    BACKGROUNDS,
    BELGIAN_ORIGIN,
    EU_BACKGROUND,
    KNOWN_BACKGROUNDS,
    NON_EU_BACKGROUND,
    UNKNOWN,
)

#: Benchmark-only group: EU and non-EU background together (Statbel "foreign origin"), for
#: benchmarks that cannot split the two (the published regional aggregates).
FOREIGN_BACKGROUND = "foreign_background"

#: Which of our background groups each benchmark group covers.
BENCHMARK_GROUPS: dict[str, tuple[str, ...]] = {
    BELGIAN_ORIGIN: (BELGIAN_ORIGIN,),
    EU_BACKGROUND: (EU_BACKGROUND,),
    NON_EU_BACKGROUND: (NON_EU_BACKGROUND,),
    FOREIGN_BACKGROUND: (EU_BACKGROUND, NON_EU_BACKGROUND),
}

#: Conventional thresholds of the standard-deviation rule (two to three SD).
SD_THRESHOLDS: tuple[float, float] = (2.0, 3.0)

#: Family-wise error rate of the representation verdicts (Holm over the family compared).
ALPHA = 0.05

#: Verdicts of :func:`holm_verdicts`.
BELOW = "below"
ABOVE = "above"
CONSISTENT = "consistent"
NOT_TESTED = "not_tested"
VERDICTS = (BELOW, ABOVE, CONSISTENT, NOT_TESTED)

#: What a benchmark describes: the eligible pool for flows (applicants, hires), a stock
#: benchmark for the corps.
FLOW = "flow"
STOCK = "stock"


@dataclass(frozen=True)
class BenchmarkShares:
    """Population shares per benchmark group, with the label every figure will carry.

    ``shares`` maps groups of :data:`BENCHMARK_GROUPS` to a share in [0, 1]; ``counts`` keeps
    the population counts behind them when known (``None`` for published percentages).
    """

    shares: Mapping[str, float]
    source_label: str
    counts: Mapping[str, int | None] = field(default_factory=dict)
    population_scope: str = "all"
    is_fallback: bool = False

    def __post_init__(self) -> None:
        for group, share in self.shares.items():
            if group not in BENCHMARK_GROUPS:
                raise ValueError(f"unknown benchmark group {group!r}")
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"benchmark share for {group!r} must be in [0, 1], got {share}")

    def with_combined(self) -> BenchmarkShares:
        """Add ``foreign_background`` = EU + non-EU when both parts are present."""
        shares = dict(self.shares)
        counts = dict(self.counts)
        if (FOREIGN_BACKGROUND not in shares and EU_BACKGROUND in shares
                and NON_EU_BACKGROUND in shares):
            shares[FOREIGN_BACKGROUND] = min(1.0, shares[EU_BACKGROUND] + shares[NON_EU_BACKGROUND])
            parts = [counts.get(EU_BACKGROUND), counts.get(NON_EU_BACKGROUND)]
            counts[FOREIGN_BACKGROUND] = None if None in parts else sum(parts)  # type: ignore[arg-type]
        return BenchmarkShares(shares, self.source_label, counts, self.population_scope,
                               self.is_fallback)


@dataclass(frozen=True)
class RepresentationRow:
    """One population x benchmark group compared with the benchmark share."""

    population: str
    group: str
    observed: int
    n: int  # persons of known background in the population
    unknown: int  # persons of unknown background, excluded from n, shown beside it
    share: float | None
    benchmark_share: float
    benchmark_count: int | None
    expected: float
    gap_points: float | None
    ratio: float | None
    sd: float | None  # z = (observed - expected) / sqrt(n p (1 - p)); None when undefined
    p_value: float | None  # exact two-sided binomial test
    ci_low: float | None  # Clopper-Pearson 95% interval of the observed share
    ci_high: float | None
    beyond_2sd: bool | None
    beyond_3sd: bool | None
    source_label: str
    is_fallback: bool
    population_scope: str
    p_adjusted: float | None = None  # Holm over the family of tested rows
    verdict: str = NOT_TESTED  # one of VERDICTS


@dataclass(frozen=True)
class RepresentationResult:
    rows: list[RepresentationRow]
    source_label: str
    is_fallback: bool
    population_scope: str
    family_size: int = 0
    alpha: float = ALPHA

    def row(self, population: str, group: str) -> RepresentationRow:
        for r in self.rows:
            if r.population == population and r.group == group:
                return r
        raise KeyError((population, group))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows])


def standard_deviations(observed: int, n: int, p: float) -> float | None:
    """Number of binomial standard deviations between observed and expected.

    z = (x - n p) / sqrt(n p (1 - p)) (Castaneda v. Partida (1977) fn. 17; Hazelwood (1977)).
    Undefined (``None``) when n = 0 or p is 0 or 1 (no variance).

    >>> round(standard_deviations(15, 405, 0.154), 2)
    -6.52
    """
    if n <= 0 or p <= 0.0 or p >= 1.0:
        return None
    return (observed - n * p) / math.sqrt(n * p * (1.0 - p))


def binomial_p_value(observed: int, n: int, p: float) -> float | None:
    """Exact two-sided binomial test (scipy ``binomtest``, "minlike" two-sided rule).

    >>> round(binomial_p_value(0, 10, 0.5), 6)  # 2 * 0.5**10
    0.001953
    """
    if n <= 0:
        return None
    return float(binomtest(observed, n, p, alternative="two-sided").pvalue)


def compare_to_benchmark(
    observed: int,
    n: int,
    benchmark_share: float,
    *,
    population: str,
    group: str,
    source_label: str,
    unknown: int = 0,
    benchmark_count: int | None = None,
    is_fallback: bool = False,
    population_scope: str = "all",
) -> RepresentationRow:
    """Compare ``observed`` of ``n`` with ``benchmark_share`` (see the module docstring).

    >>> r = compare_to_benchmark(8, 100, 0.40, population="applicants",
    ...                          group="foreign_background", source_label="example")
    >>> round(r.gap_points, 1), round(r.ratio, 2), round(r.sd, 2)
    (-32.0, 0.2, -6.53)
    """
    if observed < 0 or n < 0 or observed > n:
        raise ValueError(f"need 0 <= observed <= n, got observed={observed}, n={n}")
    if not 0.0 <= benchmark_share <= 1.0:
        raise ValueError(f"benchmark share must be in [0, 1], got {benchmark_share}")
    share = observed / n if n else None
    sd = standard_deviations(observed, n, benchmark_share)
    ci_low = ci_high = None
    p_value = None
    if n:
        test = binomtest(observed, n, benchmark_share, alternative="two-sided")
        p_value = float(test.pvalue)
        ci = test.proportion_ci(confidence_level=0.95, method="exact")
        ci_low, ci_high = float(ci.low), float(ci.high)
    return RepresentationRow(
        population=population,
        group=group,
        observed=observed,
        n=n,
        unknown=unknown,
        share=share,
        benchmark_share=benchmark_share,
        benchmark_count=benchmark_count,
        expected=n * benchmark_share,
        gap_points=None if share is None else 100.0 * (share - benchmark_share),
        ratio=None if share is None or benchmark_share == 0 else share / benchmark_share,
        sd=sd,
        p_value=p_value,
        ci_low=ci_low,
        ci_high=ci_high,
        beyond_2sd=None if sd is None else abs(sd) > SD_THRESHOLDS[0],
        beyond_3sd=None if sd is None else abs(sd) > SD_THRESHOLDS[1],
        source_label=source_label,
        is_fallback=is_fallback,
        population_scope=population_scope,
    )


def tested_groups(groups: Sequence[str]) -> list[str]:
    """The groups whose rows are tested (see the module docstring).

    Belgian origin is the reference population and is not tested; ``foreign_background`` is
    tested only when the EU and non-EU groups are not both there (it is then their sum).

    >>> tested_groups(["belgian_origin", "foreign_background"])
    ['foreign_background']
    >>> tested_groups(["belgian_origin", "eu_background", "non_eu_background",
    ...                "foreign_background"])
    ['eu_background', 'non_eu_background']
    """
    detailed = EU_BACKGROUND in groups and NON_EU_BACKGROUND in groups
    return [g for g in groups if g != BELGIAN_ORIGIN
            and not (g == FOREIGN_BACKGROUND and detailed)]


def holm_verdicts(rows: Sequence[RepresentationRow], tested: Iterable[bool],
                  alpha: float = ALPHA) -> list[RepresentationRow]:
    """Holm-adjust the binomial p-values of the tested rows and give every row its verdict.

    ``tested`` says, row by row, whether the row is in the family. The adjustment runs over
    the tested rows with a p-value (Holm 1979, the arithmetic of statsmodels
    ``multipletests(method="holm")``); a tested row is ``below`` / ``above`` when its adjusted
    p is under ``alpha`` and its share is under / over the benchmark, else ``consistent``.
    Untested rows (and rows without a p-value: nobody of known background) are
    ``not_tested``.
    """
    rows = list(rows)
    flags = list(tested)
    if len(flags) != len(rows):
        raise ValueError("one 'tested' flag per row expected")
    family = [i for i, (r, t) in enumerate(zip(rows, flags, strict=True))
              if t and r.p_value is not None]
    adjusted = dict(zip(family, holm_adjust([rows[i].p_value for i in family]), strict=True))
    out = []
    for i, r in enumerate(rows):
        if i not in adjusted:
            out.append(replace(r, p_adjusted=None, verdict=NOT_TESTED))
            continue
        p_adj = adjusted[i]
        if p_adj < alpha and r.share is not None and r.share < r.benchmark_share:
            verdict = BELOW
        elif p_adj < alpha and r.share is not None and r.share > r.benchmark_share:
            verdict = ABOVE
        else:
            verdict = CONSISTENT
        out.append(replace(r, p_adjusted=p_adj, verdict=verdict))
    return out


def populations_from_frame(
    frame: pd.DataFrame, *, population: str = "population", group: str = "group",
    count: str = "n",
) -> dict[str, dict[str, int]]:
    """``{population: {group: count}}`` from a long counts frame, keeping the row order."""
    result: dict[str, dict[str, int]] = {}
    for pop, grp, n in frame[[population, group, count]].itertuples(index=False):
        bucket = result.setdefault(str(pop), {})
        bucket[str(grp)] = bucket.get(str(grp), 0) + int(n)
    return result


def representation_against_benchmark(
    populations: Mapping[str, Mapping[str, int]] | Sequence[tuple[str, Mapping[str, int]]],
    benchmark: BenchmarkShares,
    *,
    groups: Iterable[str] | None = None,
    tested_populations: Iterable[str] | None = None,
    alpha: float = ALPHA,
) -> RepresentationResult:
    """Gap, ratio, binomial test, SD and verdict for each population x benchmark group.

    ``tested_populations`` names the populations whose rows enter the Holm family and get a
    verdict (default: every population); the others are shown descriptively (``not_tested``).
    The funnel tests the flows only (applicants and hires), see the module docstring.

    ``populations`` is an ordered mapping (or sequence of pairs) from a population name
    ("applicants", a stage, "appointed", "corps") to counts per background group of
    ``hrpipeline.domain.BACKGROUNDS``. Groups default to every group the benchmark has,
    including ``foreign_background`` (derived from EU + non-EU when both are given).

    Example: applicants {belgian_origin: 92, eu_background: 3, non_eu_background: 5,
    unknown: 4} against shares 60/10/30% gives for ``non_eu_background`` n = 100 (unknown 4
    shown apart), share 5%, gap -25 points, ratio 0.17.
    """
    bench = benchmark.with_combined()
    items = list(populations.items()) if isinstance(populations, Mapping) else list(populations)
    wanted = list(groups) if groups is not None else [
        g for g in BENCHMARK_GROUPS if g in bench.shares
    ]
    rows: list[RepresentationRow] = []
    for name, counts in items:
        bad = set(counts) - set(BACKGROUNDS)
        if bad:
            raise ValueError(f"unknown background group(s) {sorted(bad)} in population {name!r}")
        if any(int(v) < 0 for v in counts.values()):
            raise ValueError(f"negative count in population {name!r}")
        known = sum(int(counts.get(g, 0)) for g in KNOWN_BACKGROUNDS)
        unknown = int(counts.get(UNKNOWN, 0))
        for group in wanted:
            if group not in bench.shares:
                raise KeyError(f"benchmark has no share for {group!r}")
            observed = sum(int(counts.get(g, 0)) for g in BENCHMARK_GROUPS[group])
            rows.append(
                compare_to_benchmark(
                    observed, known, bench.shares[group], population=str(name), group=group,
                    source_label=bench.source_label, unknown=unknown,
                    benchmark_count=bench.counts.get(group), is_fallback=bench.is_fallback,
                    population_scope=bench.population_scope,
                )
            )
    tested_pops = ({str(name) for name, _ in items} if tested_populations is None
                   else {str(p) for p in tested_populations})
    focal = set(tested_groups(wanted))
    flags = [r.population in tested_pops and r.group in focal for r in rows]
    rows = holm_verdicts(rows, flags, alpha)
    family = sum(1 for r in rows if r.verdict != NOT_TESTED)
    return RepresentationResult(rows, bench.source_label, bench.is_fallback,
                                bench.population_scope, family, alpha)


__all__ = [
    "ABOVE",
    "ALPHA",
    "BELOW",
    "BENCHMARK_GROUPS",
    "CONSISTENT",
    "FLOW",
    "NOT_TESTED",
    "STOCK",
    "VERDICTS",
    "FOREIGN_BACKGROUND",
    "SD_THRESHOLDS",
    "BenchmarkShares",
    "RepresentationResult",
    "RepresentationRow",
    "binomial_p_value",
    "compare_to_benchmark",
    "holm_verdicts",
    "populations_from_frame",
    "representation_against_benchmark",
    "standard_deviations",
    "tested_groups",
]
