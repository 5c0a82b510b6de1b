"""Tables of sums of already-published counts (they need no protection of their own).

A number that is the sum of published numbers tells a reader nothing new: anyone can add the
published cells up. So a table built *only* from published cells (the decision pilot's arm ×
period cells, built from the funnel release's rounded counts) is published whole, with the
same interface as a protected release (``value``, ``table``, ``cells``). A sum that includes
a hidden cell is hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hrpipeline.disclosure.values import SUPPRESSED, _Suppressed

#: A summed dimension in a cell key (one key names level and cell at once).
TOTAL = "__all__"


@dataclass
class SummedTable:
    """Every level of ``inner`` (a frame of the dims and ``n``: published ints or SUPPRESSED)."""

    dims: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    cells: pd.DataFrame
    _idx: dict | None = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, inner: pd.DataFrame, dims: Sequence[str],
              levels: Sequence[Sequence[str]]) -> SummedTable:
        dims = tuple(dims)
        levels = tuple(tuple(d for d in dims if d in lev) for lev in levels)
        rows: dict[tuple, Any] = {}
        level_of: dict[tuple, tuple[str, ...]] = {}
        for rec in inner[[*dims, "n"]].itertuples(index=False, name=None):
            *key, n = rec
            for lev in levels:
                k = tuple(v if d in lev else TOTAL for d, v in zip(dims, key, strict=True))
                level_of[k] = lev
                prev = rows.get(k, 0)
                rows[k] = SUPPRESSED if (n is SUPPRESSED or prev is SUPPRESSED) else prev + int(n)
        frame = pd.DataFrame(list(rows), columns=list(dims)) if rows else pd.DataFrame(
            columns=list(dims))
        frame["level"] = [level_of[k] for k in rows]
        frame["published_value"] = pd.Series(list(rows.values()), dtype=object)
        frame["status"] = ["source" if v is SUPPRESSED else "published" for v in rows.values()]
        return cls(dims=dims, levels=levels, cells=frame)

    def _index(self) -> dict:
        if self._idx is None:
            keys = self.cells[list(self.dims)].itertuples(index=False, name=None)
            self._idx = dict(zip(keys, self.cells["published_value"], strict=True))
        return self._idx

    def value(self, level: Sequence[str], **key: Any) -> int | _Suppressed:
        lev = tuple(d for d in self.dims if d in tuple(level))
        k = tuple(key[d] if d in lev else TOTAL for d in self.dims)
        if k not in self._index():
            raise KeyError(f"no cell {k} in this table")
        return self._index()[k]

    def table(self, level: Sequence[str]) -> pd.DataFrame:
        lev = tuple(d for d in self.dims if d in tuple(level))
        part = self.cells[self.cells["level"].map(lambda x: x == lev)]
        out = part[list(lev)].copy()
        out["value"] = part["published_value"].to_numpy()
        return out.reset_index(drop=True)

    def hidden_keys(self) -> frozenset:
        hid = self.cells[self.cells["status"] != "published"]
        return frozenset(tuple(k) for k in hid[list(self.dims)].itertuples(index=False, name=None))

