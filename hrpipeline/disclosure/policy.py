"""The disclosure-control settings of one deployment (k, minimum denominator)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrpipeline.domain import DEFAULT_MIN_CELL, DEFAULT_MIN_DENOMINATOR, MIN_CELL_RANGE


@dataclass(frozen=True)
class Policy:
    """Disclosure-control settings of one deployment.

    * ``k``: minimum published count (1..k-1 hidden), allowed ``MIN_CELL_RANGE`` (3..10).
    * ``min_denominator``: a rate on fewer persons is hidden (default 20).
    * ``extreme_rate_min_base``: 0 % or 100 % reveals every person's outcome, so it is shown
      only on a base of at least this many persons (default 50).
    """

    k: int = DEFAULT_MIN_CELL
    min_denominator: int = DEFAULT_MIN_DENOMINATOR
    extreme_rate_min_base: int = 50

    def __post_init__(self) -> None:
        lo, hi = MIN_CELL_RANGE
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer):
            raise ValueError(f"k must be an integer, got {self.k!r}")
        if not lo <= self.k <= hi:
            raise ValueError(f"k must lie in {lo}..{hi}, got {self.k}")
        if self.min_denominator < self.k:
            raise ValueError("min_denominator must be at least k")
        if self.extreme_rate_min_base < self.min_denominator:
            raise ValueError("extreme_rate_min_base must be at least min_denominator")

    def is_primary(self, n: int) -> bool:
        return 1 <= n < self.k


DEFAULT_POLICY = Policy()
