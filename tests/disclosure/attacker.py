"""An integer-programming attacker (``scipy.optimize.milp``, HiGHS) for disclosure tests.

It knows what a reader of every output can know: each published number as a linear
constraint on the true counts (a rounded flow lies in its feasible range, a published exact
number is an equality), the structure of the data (counts are whole and non-negative; who
passed stage s is who entered stage s+1), and the method (Kerckhoffs: which flows were
rounded, and the rounding base). For a target count it computes the smallest and largest
value consistent with all of that; the gate must leave a count of 1..k-1 at least k values.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

BIG = 10**5


class Attacker:
    def __init__(self) -> None:
        self.index: dict[Hashable, int] = {}
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.offsets: set[int] = set()  # continuous variables in [0, 1): rounding offsets

    def var(self, key: Hashable) -> int:
        if key not in self.index:
            self.index[key] = len(self.index)
        return self.index[key]

    def offset(self, key: Hashable) -> int:
        i = self.var(("offset", key))
        self.offsets.add(i)
        return i

    def know(self, coefs: Mapping[Hashable, float], lo: float, hi: float) -> None:
        """``lo <= sum(c * x[key]) <= hi`` is known."""
        row: dict[int, float] = {}
        for key, c in coefs.items():
            i = self.var(key)
            row[i] = row.get(i, 0.0) + c
        self.rows.append((row, lo, hi))

    def know_segments(self, segments: Iterable, base: int, prefix: tuple = ()) -> None:
        """Every published quantity of ``hrpipeline.disclosure.funnel`` and how it was rounded.

        A suffix sum ``T`` of a systematic run with offset ``u`` (unknown, shared by the run,
        in every version: it is keyed on the run's identity) was published as ``R`` exactly
        when ``R <= T + b*u < R + b``; a cell rounded on its own lies in its feasible range.
        Hidden ones say nothing.
        """
        for s in segments:
            if s.feasible(base) is None:
                continue
            coefs = {(*prefix, s.zone, s.campaign, s.group, st, o): c for (st, o), c in s.terms}
            if s.run is None:
                self.know(coefs, *s.feasible(base))
                continue
            row: dict[int, float] = {}
            for key, c in coefs.items():
                row[self.var(key)] = row.get(self.var(key), 0.0) + c
            row[self.offset(s.run)] = float(base)
            self.rows.append((row, float(s.published), float(s.published) + base - 1e-5))

    def _problem(self):
        n = len(self.index)
        r, c, v, lo, hi = [], [], [], [], []
        for j, (row, a, b) in enumerate(self.rows):
            for i, coef in row.items():
                r.append(j)
                c.append(i)
                v.append(coef)
            lo.append(a)
            hi.append(b)
        a = coo_matrix((v, (r, c)), shape=(len(self.rows), n)).tocsr()
        return n, LinearConstraint(a, lo, hi)

    def range(self, coefs: Mapping[Hashable, float]) -> tuple[int, int]:
        """Smallest and largest value of ``sum(c * x[key])`` given everything known."""
        for key in coefs:
            self.var(key)
        n, cons = self._problem()
        obj = np.zeros(n)
        for key, c in coefs.items():
            obj[self.index[key]] += c
        out = []
        integrality = np.ones(n)
        upper = np.full(n, float(BIG))
        for i in self.offsets:
            integrality[i] = 0
            upper[i] = 1.0 - 1e-7
        for sign in (1, -1):
            res = milp(sign * obj, constraints=[cons], integrality=integrality,
                       bounds=Bounds(np.zeros(n), upper))
            assert res.status == 0, res.message
            out.append(round(sign * res.fun))
        return out[0], out[1]
