"""The gate's own integer-programming audit: how far can a reader pin a count?

``ranges(rows, targets, offsets)``: ``rows`` is a list of ``(coefficients, lo, hi)`` — a
linear combination of unknowns known to lie in ``[lo, hi]`` (``hi`` None: no upper limit);
unknowns are whole, non-negative counts, except the keys in ``offsets``, which are rounding
offsets in [0, 1). For each target combination, the smallest and largest value consistent
with everything known (``scipy.optimize.milp``, HiGHS): the integer version of tau-Argus's
linear-programming audit (Hundepool et al. 2012, §4.3).

Example: knowing ``a + b in [10, 10]`` and ``a in [0, 4]``, the range of ``b`` is (6, 10).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

Row = tuple[Mapping[Hashable, float], float, float | None]
_BIG = 1e5


class AuditFailed(RuntimeError):
    """The solver gave no answer: the release must not be published."""


def ranges(rows: Sequence[Row], targets: Sequence[Mapping[Hashable, float]],
           offsets: Collection[Hashable] = ()) -> list[tuple[int, int]]:
    index: dict[Hashable, int] = {}
    for coefs, *_ in rows:
        for key in coefs:
            index.setdefault(key, len(index))
    for coefs in targets:
        for key in coefs:
            index.setdefault(key, len(index))
    n = len(index)
    r, c, v, lo, hi = [], [], [], [], []
    for j, (coefs, a, b) in enumerate(rows):
        for key, coef in coefs.items():
            r.append(j)
            c.append(index[key])
            v.append(coef)
        lo.append(a)
        hi.append(np.inf if b is None else b)
    constraints = [LinearConstraint(coo_matrix((v, (r, c)), shape=(len(rows), n)).tocsr(),
                                    lo, hi)] if rows else []
    integrality = np.ones(n)
    upper = np.full(n, _BIG)
    for key in offsets:
        if key in index:
            integrality[index[key]] = 0
            upper[index[key]] = 1.0 - 1e-7
    bounds = Bounds(np.zeros(n), upper)
    out = []
    for coefs in targets:
        objective = np.zeros(n)
        for key, coef in coefs.items():
            objective[index[key]] += coef
        found = []
        for sign in (1.0, -1.0):
            res = milp(sign * objective, constraints=constraints, integrality=integrality,
                       bounds=bounds)
            if res.status != 0:
                raise AuditFailed(f"disclosure audit: {res.message}")
            found.append(int(round(sign * res.fun)))
        out.append((found[0], found[1]))
    return out
