"""The disclosure-control gate: every published table passes here first.

Reference practice: the SDC Handbook (Hundepool et al., *Statistical Disclosure Control*,
Wiley 2012, ch. 4 "Frequency tables" and ch. 5), tau-Argus, R ``sdcTable`` and
``GaussSuppression`` (Langsrud 2024, "Secondary cell suppression by Gaussian elimination").
Plain-language rules for a data-protection officer: ``docs/disclosure-control.md``.

Data model
----------
A *release* is all the tables published together from one data set (one catalogue entry).

* The **inner frame** has one row per finest cell: the dimension columns ``dims`` (e.g.
  ``zone, campaign, stage, group, outcome``), an integer count column (``count``, default
  ``"n"``) and optionally a boolean ``source_suppressed`` column for cells that the zone's
  extract already hid (``**``, ``<5``, ``x``, ``:c``; their count is ignored and may be NA).
  Combinations that are absent from the frame are structural zeros (known to everybody).
* ``levels`` lists the published aggregation levels, each a tuple of the dimensions kept
  (the others are summed), e.g. ``("zone", "stage", "group")`` or ``()`` for the grand
  total. Every published cell is a 0/1 row of a model matrix ``M`` over the inner cells
  (the GaussSuppression formulation). A cell key is a tuple over all ``dims`` with
  ``TOTAL`` (``"__all__"``) in summed dimensions, so one key names level and cell at once.

Rules (``Policy``)
------------------
* Primary: a count of ``1..k-1`` is hidden; true zeros are published.
* Source: a cell that includes a source-suppressed inner cell cannot be computed: hidden.
* Secondary: extra cells are hidden (cheapest first: inner cells before totals, then the
  smallest count) until :func:`audit` passes.
* Memory: ``force_hidden`` keys (hidden in an earlier release of the same catalogue entry)
  stay hidden.

The audit (attacker model)
--------------------------
The attacker knows every published cell, that published zeros are true zeros (so every
hidden cell holding persons is ``>= 1``), that counts are ``>= 0``, and any extra linear
relations given in ``extra_equalities`` (e.g. the funnel identity
``passed(s, g) == sum_o n(s+1, g, o)``, see :func:`funnel_relations`). For each hidden cell
``h`` the audit bounds ``min / max h·x`` subject to all that (``scipy.optimize.linprog``,
HiGHS; SDC Handbook sec. 4.4.3 "audit"). The release passes when

1. no hidden cell's feasible interval is narrower than ``k`` (``max - min < k`` fails);
2. no published cell, minus its published (known) parts, reveals a sum of hidden inner
   cells in ``1..k-1``;
3. no cell of ``1..k-1`` and no cell built on a source-suppressed cell is published.

The LP is reduced: inner cells published at the inner level (and those inside a published
zero) are constants, so the variables are the remaining inner cells only; constraints are
split into connected components, and each hidden cell's objective is solved per component
(the feasible set is a product, so bounds add up). To avoid two LPs per hidden cell, the
audit keeps *witness points* (the true table, and every LP optimum): they are feasible, so
``max - min`` over them is a lower bound of the true interval width; a cell whose witness
width is already ``>= k`` is proven safe without its own LP. Its reported bounds are then an
inner approximation (``exact=False``); pass ``exact_bounds=True`` for exact bounds.

Example: the 2 × 2 table ``[[2, 7], [8, 9]]`` with row/column totals and ``k = 5``: ``2`` is
primary; its row total ``9`` minus ``7`` gives it back, so the audit fails until a full
rectangle (all four inner cells) is hidden; then each hidden cell lies in an interval of
width ``min(...)`` over the cycle ``>= 5``.

Hidden values
-------------
``SUPPRESSED`` is a singleton (not 0, NaN or None); ``repr`` is ``suppressed``, ``str`` and
``format`` give the one display symbol ``SYMBOL = "x"`` (Statbel / ABS "confidential"),
``bool()`` raises ``TypeError`` (so ``if count:`` cannot silently treat a hidden count as 0)
and arithmetic raises too. JSON form: ``{"value": null, "suppressed": true}``
(:func:`json_value`, :func:`json_default`). The ``status`` column (primary / secondary /
source) is for internal reporting only and must never be published: telling primary from
secondary cells points at the small ones.
"""


from __future__ import annotations

import json
import math
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from hrpipeline.disclosure.gates import (  # noqa: F401  (re-exported)
    P_BANDS,
    coarsen_p,
    gate_interval,
    gate_p,
    gate_rate,
    gate_ratio,
    gate_sum,
)
from hrpipeline.disclosure.policy import DEFAULT_POLICY, Policy  # noqa: F401
from hrpipeline.disclosure.values import (  # noqa: F401
    SUPPRESSED,
    SYMBOL,
    _Suppressed,
    display,
    is_suppressed,
    json_default,
    json_value,
    parse_source_count,
)
from hrpipeline.domain import DEFAULT_STAGES, OUTCOMES

__all__ = [
    "SUPPRESSED",
    "SYMBOL",
    "TOTAL",
    "STATUSES",
    "P_BANDS",
    "AuditReport",
    "CellBound",
    "DisclosureError",
    "Failure",
    "Policy",
    "ProtectedRelease",
    "Relation",
    "audit",
    "cell_key_from_str",
    "cell_key_str",
    "coarsen_p",
    "display",
    "funnel_relations",
    "gate_interval",
    "gate_p",
    "gate_ratio",
    "gate_rate",
    "gate_sum",
    "is_suppressed",
    "json_default",
    "json_value",
    "parse_source_count",
    "protect",
]


#: Marker in a cell key for a dimension that is summed over.
TOTAL = "__all__"
STATUSES = ("published", "primary", "secondary", "source")

_TOL = 1e-7



# --- keys and relations ---------------------------------------------------------------------


Key = tuple[Hashable, ...]


def cell_key_str(key: Key) -> str:
    """Stable text form of a cell key (for ``suppression_memory.cell_key``)."""
    return json.dumps([v.item() if isinstance(v, np.generic) else v for v in key], default=str)


def cell_key_from_str(text: str) -> Key:
    return tuple(json.loads(text))


@dataclass(frozen=True)
class Relation:
    """A linear relation between inner cells that an attacker knows: ``Σ coef·n(key) == rhs``.

    Keys are inner keys (tuples in ``dims`` order, or mappings dim -> value). A key absent
    from the inner frame is a structural zero.
    """

    terms: tuple[tuple[Any, float], ...]
    rhs: float = 0.0

    @classmethod
    def equal(cls, lhs: Iterable[Any], rhs: Iterable[Any]) -> Relation:
        """``Σ n(lhs) == Σ n(rhs)``."""
        return cls(tuple((k, 1.0) for k in lhs) + tuple((k, -1.0) for k in rhs))


def funnel_relations(
    inner: pd.DataFrame,
    dims: Sequence[str],
    *,
    stage: str = "stage",
    outcome: str = "outcome",
    stages: Sequence[str] = DEFAULT_STAGES,
    passed: str = OUTCOMES[0],
    count: str = "n",
) -> list[Relation]:
    """The funnel identity ``passed(s, ...) == Σ_o n(s+1, ..., o)`` per group of other dims.

    Everyone who passed stage ``s`` entered ``s+1``, so an attacker knows it. Only pairs of
    consecutive stages both present in the frame are related, and only where the data
    satisfy the identity (rows with source-suppressed cells are kept: the attacker may know
    it holds even though we cannot check it).
    """
    dims = list(dims)
    others = [d for d in dims if d not in (stage, outcome)]
    frame = inner.copy()
    src = (
        frame["source_suppressed"].fillna(False).astype(bool)
        if "source_suppressed" in frame
        else pd.Series(False, index=frame.index)
    )
    order = {s: i for i, s in enumerate(stages)}
    out: list[Relation] = []
    grouped = frame.groupby(others, sort=False, dropna=False) if others else [((), frame)]
    for _, part in grouped:
        present = sorted({s for s in part[stage] if s in order}, key=order.__getitem__)
        for s, nxt in zip(present, present[1:], strict=False):
            if order[nxt] != order[s] + 1:
                continue
            lhs = part[(part[stage] == s) & (part[outcome] == passed)]
            rhs = part[part[stage] == nxt]

            def keys(rows: pd.DataFrame) -> list[Key]:
                return [tuple(r) for r in rows[dims].itertuples(index=False, name=None)]

            if not src[lhs.index].any() and not src[rhs.index].any():
                if int(lhs[count].sum()) != int(rhs[count].sum()):
                    continue
            out.append(Relation.equal(keys(lhs), keys(rhs)))
    return out


# --- results --------------------------------------------------------------------------------


@dataclass
class CellBound:
    """Feasible interval of one hidden cell as the attacker can compute it."""

    key: Key
    lower: float
    upper: float
    exact: bool  # False: witnessed inner approximation (true interval is at least this wide)
    ok: bool


@dataclass
class Failure:
    """One reason the audit fails."""

    kind: str  # "narrow_interval" | "margin_reveals_sum" | "primary_published" | "source_published"
    key: Key
    detail: str
    row: int = -1
    candidates: tuple[int, ...] = ()


@dataclass
class AuditReport:
    n_cells: int
    n_published: int
    n_primary: int
    n_secondary: int
    n_source: int
    passed: bool
    bounds: list[CellBound]
    failures: list[Failure]
    n_lp: int
    elapsed_ms: float

    def bounds_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(b.key, b.lower, b.upper, b.exact, b.ok) for b in self.bounds],
            columns=["key", "lower", "upper", "exact", "ok"],
        )


class DisclosureError(RuntimeError):
    """The gate cannot make the release safe (should not happen; never publish then)."""


# --- the model matrix -----------------------------------------------------------------------


@dataclass
class _Model:
    dims: list[str]
    levels: list[tuple[str, ...]]
    inner_keys: list[Key]
    v: np.ndarray  # inner true counts (float; 0 for source cells)
    src: np.ndarray  # inner source-suppressed mask
    M: sparse.csr_matrix  # rows = published cells, cols = inner cells
    row_keys: list[Key]
    row_level: np.ndarray  # index into levels
    row_value: np.ndarray  # true value (float; nan when it includes a source cell)
    row_src: np.ndarray
    row_summed: np.ndarray  # number of summed dims (0 = inner level)
    inner_row: np.ndarray  # inner cell -> its row at the inner level, -1 if not published
    E: sparse.csr_matrix  # extra relations over inner cells
    e: np.ndarray
    key_to_row: dict[Key, int] = field(default_factory=dict)
    dup_groups: list[np.ndarray] = field(default_factory=list)


def _normalise_levels(dims: list[str], levels: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for lev in levels:
        lev = (lev,) if isinstance(lev, str) else tuple(lev)
        unknown = set(lev) - set(dims)
        if unknown:
            raise ValueError(f"level {lev} names unknown dimensions {sorted(unknown)}")
        if len(set(lev)) != len(lev):
            raise ValueError(f"level {lev} repeats a dimension")
        norm = tuple(d for d in dims if d in lev)
        if norm not in out:
            out.append(norm)
    if not out:
        raise ValueError("at least one published level is needed")
    return out


def _build(
    inner: pd.DataFrame,
    dims: Sequence[str],
    levels: Sequence[Sequence[str]],
    count: str,
    extra_equalities: Sequence[Relation],
) -> _Model:
    dims = list(dims)
    if not dims or len(set(dims)) != len(dims):
        raise ValueError("dims must be a non-empty list of distinct column names")
    missing = [c for c in [*dims, count] if c not in inner.columns]
    if missing:
        raise ValueError(f"inner frame lacks columns {missing}")
    levs = _normalise_levels(dims, levels)
    frame = inner.reset_index(drop=True)
    if frame.duplicated(dims).any():
        raise ValueError("inner frame has duplicate cells (aggregate first)")
    for d in dims:
        if (frame[d].astype(str) == TOTAL).any():
            raise ValueError(f"dimension {d!r} uses the reserved value {TOTAL!r}")
    src = (
        frame["source_suppressed"].fillna(False).astype(bool).to_numpy()
        if "source_suppressed" in frame
        else np.zeros(len(frame), bool)
    )
    raw = pd.to_numeric(frame[count], errors="coerce")
    src = src | raw.isna().to_numpy()
    vals = raw.fillna(0).to_numpy(dtype=float)
    if (vals[~src] < 0).any() or (np.abs(vals[~src] - np.round(vals[~src])) > 0).any():
        raise ValueError("counts must be non-negative integers")
    vals = np.where(src, 0.0, vals)
    n = len(frame)
    inner_keys = [tuple(r) for r in frame[dims].itertuples(index=False, name=None)]

    rows_i: list[np.ndarray] = []
    rows_j: list[np.ndarray] = []
    row_keys: list[Key] = []
    row_level: list[int] = []
    offset = 0
    inner_row = np.full(n, -1, dtype=np.int64)
    for li, lev in enumerate(levs):
        if lev:
            codes = frame.groupby(list(lev), sort=False, dropna=False).ngroup().to_numpy()
            firsts = pd.Series(np.arange(n)).groupby(codes).first().to_numpy()
        else:
            codes = np.zeros(n, dtype=np.int64)
            firsts = np.array([0]) if n else np.array([], dtype=np.int64)
        n_groups = len(firsts)
        for g in range(n_groups):
            base = inner_keys[firsts[g]]
            row_keys.append(tuple(base[i] if d in lev else TOTAL for i, d in enumerate(dims)))
        rows_i.append(codes + offset)
        rows_j.append(np.arange(n))
        row_level.extend([li] * n_groups)
        if len(lev) == len(dims):
            inner_row = codes + offset
        offset += n_groups
    R = offset
    ii = np.concatenate(rows_i) if rows_i else np.array([], dtype=np.int64)
    jj = np.concatenate(rows_j) if rows_j else np.array([], dtype=np.int64)
    M = sparse.csr_matrix((np.ones(len(ii)), (ii, jj)), shape=(R, n))
    row_value = M @ vals
    row_src = (M @ src.astype(float)) > 0
    row_value = np.where(row_src, np.nan, row_value)
    row_summed = np.array([len(dims) - len(levs[li]) for li in row_level], dtype=np.int64)

    # Extra relations.
    key_index = {k: j for j, k in enumerate(inner_keys)}
    e_rows, e_cols, e_data, e_rhs = [], [], [], []
    for rel in extra_equalities:
        r = len(e_rhs)
        for key, coef in rel.terms:
            if isinstance(key, Mapping):
                key = tuple(key[d] for d in dims)
            key = tuple(key)
            if len(key) != len(dims):
                raise ValueError(f"relation key {key} does not match dims {dims}")
            j = key_index.get(key)
            if j is None:
                continue  # structural zero
            e_rows.append(r)
            e_cols.append(j)
            e_data.append(float(coef))
        e_rhs.append(float(rel.rhs))
    E = sparse.csr_matrix((e_data, (e_rows, e_cols)), shape=(len(e_rhs), n))
    e = np.asarray(e_rhs, dtype=float)
    if len(e):
        touches_src = (abs(E) @ src.astype(float)) > 0
        resid = E @ vals - e
        bad = (~touches_src) & (np.abs(resid) > 1e-6)
        if bad.any():
            raise ValueError(
                f"{int(bad.sum())} extra equalities do not hold on the data (first: row "
                f"{int(np.flatnonzero(bad)[0])}); the attacker model would be inconsistent"
            )

    model = _Model(
        dims=dims,
        levels=levs,
        inner_keys=inner_keys,
        v=vals,
        src=src,
        M=M,
        row_keys=row_keys,
        row_level=np.asarray(row_level, dtype=np.int64),
        row_value=row_value,
        row_src=row_src,
        row_summed=row_summed,
        inner_row=inner_row,
        E=E,
        e=e,
    )
    model.key_to_row = {k: i for i, k in enumerate(row_keys)}
    # Cells of different levels with the same inner support are the same number: they must
    # share a fate (a zone-level table of a one-zone release equals the pooled table).
    sig: dict[tuple[int, ...], list[int]] = {}
    for r in range(R):
        sig.setdefault(tuple(M.indices[M.indptr[r] : M.indptr[r + 1]]), []).append(r)
    model.dup_groups = [np.asarray(g) for g in sig.values() if len(g) > 1]
    return model


def _propagate_duplicates(model: _Model, hidden: np.ndarray) -> None:
    for g in model.dup_groups:
        if hidden[g].any():
            hidden[g] = True


# --- the audit ------------------------------------------------------------------------------


# --- LP backend -----------------------------------------------------------------------------

try:  # the HiGHS bindings vendored by SciPy >= 1.15 (a private module: guarded, see below)
    from scipy.optimize._highspy import _core as _hc
    from scipy.optimize._highspy._core import _Highs as _HighsSolver
except ImportError:  # pragma: no cover - depends on the SciPy version
    try:  # the public bindings (same API), if installed
        from highspy import Highs as _HighsSolver  # type: ignore[import-not-found]
        from highspy import _core as _hc  # type: ignore[import-not-found]
    except ImportError:
        _hc = None
        _HighsSolver = None


class _ComponentLP:
    """``min/max c·x`` s.t. ``lo <= A x <= hi``, ``x >= lb``, solved again and again.

    With the HiGHS object only the objective changes between solves, so each solve starts
    from the previous optimal basis (a warm start: ~0.3 ms instead of ~15 ms through
    ``scipy.optimize.linprog``, which rebuilds and re-validates the model every call).
    Without the bindings it falls back on ``linprog(method="highs")`` (same solver).
    """

    def __init__(self, A: sparse.csr_matrix, lo: np.ndarray, hi: np.ndarray, lb: np.ndarray):
        self.A, self.lo, self.hi, self.lb = A, lo, hi, lb
        self.n = A.shape[1]
        self.h = None
        if _HighsSolver is not None:
            try:
                self.h = self._make_highs()
            except Exception:  # pragma: no cover - binding drift: use linprog
                self.h = None

    def _make_highs(self) -> Any:
        lp = _hc.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = self.A.shape[0]
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = self.lb.astype(float)
        lp.col_upper_ = np.full(self.n, np.inf)
        lp.row_lower_ = self.lo.astype(float)
        lp.row_upper_ = self.hi.astype(float)
        lp.a_matrix_.format_ = _hc.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = self.A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = self.A.indices.astype(np.int32)
        lp.a_matrix_.value_ = self.A.data.astype(float)
        lp.a_matrix_.num_row_ = self.A.shape[0]
        lp.a_matrix_.num_col_ = self.n
        h = _HighsSolver()
        h.setOptionValue("output_flag", False)
        if h.passModel(lp) != _hc.HighsStatus.kOk:
            raise RuntimeError("HiGHS rejected the model")
        self._idx = np.arange(self.n, dtype=np.int32)
        return h

    def solve(self, c: np.ndarray, maximize: bool) -> tuple[float, np.ndarray | None, np.ndarray]:
        """(optimum, optimal x or None when unbounded, row duals)."""
        if self.h is not None:
            h = self.h
            h.changeColsCost(self.n, self._idx, c.astype(float))
            h.changeObjectiveSense(_hc.ObjSense.kMaximize if maximize else _hc.ObjSense.kMinimize)
            h.run()
            st = h.getModelStatus()
            if st not in (_hc.HighsModelStatus.kOptimal, _hc.HighsModelStatus.kUnbounded,
                          _hc.HighsModelStatus.kUnboundedOrInfeasible):
                # Warm-started from the previous basis, HiGHS can end an unbounded problem in
                # "unknown" (seen on components with an unconstrained hidden cell): solve cold.
                h.clearSolver()
                h.run()
                st = h.getModelStatus()
            if st in (_hc.HighsModelStatus.kUnbounded, _hc.HighsModelStatus.kUnboundedOrInfeasible):
                # The true table is feasible, so "unbounded or infeasible" is unbounded.
                return (math.inf if maximize else -math.inf), None, np.zeros(self.A.shape[0])
            if st != _hc.HighsModelStatus.kOptimal:
                raise DisclosureError(f"audit LP failed ({st}); data inconsistent?")
            sol = h.getSolution()
            return (
                float(h.getInfo().objective_function_value),
                np.asarray(sol.col_value),
                np.asarray(sol.row_dual),
            )
        eq = self.lo == self.hi
        sign = -1.0 if maximize else 1.0
        res = linprog(
            sign * c,
            A_ub=-self.A[~eq] if (~eq).any() else None,
            b_ub=-self.lo[~eq] if (~eq).any() else None,
            A_eq=self.A[eq] if eq.any() else None,
            b_eq=self.lo[eq] if eq.any() else None,
            bounds=np.column_stack([self.lb, np.full(self.n, np.inf)]),
            method="highs",
        )
        if res.status == 3:
            return (math.inf if maximize else -math.inf), None, np.zeros(self.A.shape[0])
        if res.status != 0:
            raise DisclosureError(f"audit LP failed ({res.message}); data inconsistent?")
        dual = np.zeros(self.A.shape[0])
        if eq.any():
            dual[np.flatnonzero(eq)] = res.eqlin.marginals
        if (~eq).any():
            dual[np.flatnonzero(~eq)] = res.ineqlin.marginals
        return sign * float(res.fun), np.asarray(res.x), dual


class _Auditor:
    """One audit of ``model`` with the hidden-row mask ``hidden``.

    ``points`` (full inner-cell vectors, feasible for the attacker's constraints) may be
    shared between audits of successively larger hidden sets: hiding more only relaxes the
    constraints, so old witnesses stay feasible.
    """

    def __init__(
        self,
        model: _Model,
        hidden: np.ndarray,
        policy: Policy,
        points: list[np.ndarray],
    ) -> None:
        self.m = model
        self.hidden = hidden
        self.k = policy.k
        self.points = points
        self.n_lp = 0
        m = model
        n = len(m.v)
        pub = ~hidden
        known = np.zeros(n, bool)
        has_inner = m.inner_row >= 0
        known[has_inner] = pub[m.inner_row[has_inner]]
        zero_rows = np.flatnonzero(pub & (np.nan_to_num(m.row_value, nan=-1) == 0))
        if len(zero_rows):
            known[m.M[zero_rows].indices] = True
        known &= ~m.src
        self.known = known
        self.unknown_idx = np.flatnonzero(~known)
        self.var_of = np.full(n, -1, dtype=np.int64)
        self.var_of[self.unknown_idx] = np.arange(len(self.unknown_idx))
        kv = np.where(known, m.v, 0.0)
        self.row_const = m.M @ kv
        Mc = m.M.tocsc()
        self.Mu = Mc[:, self.unknown_idx].tocsr()
        nnz_u = np.diff(self.Mu.indptr)
        # Equalities: published cells with unknown parts (inner-level ones are constants).
        self.eq_rows = np.flatnonzero(pub & (nnz_u > 0) & ~m.row_src)
        # Inequalities: hidden non-zero cells hold >= 1 person (zeros are published).
        val = np.nan_to_num(m.row_value, nan=0.0)
        lb = np.zeros(len(self.unknown_idx))
        hid_inner = has_inner & ~known & ~m.src & (m.v >= 1)
        hid_inner &= hidden[np.where(has_inner, m.inner_row, 0)]
        lb[self.var_of[np.flatnonzero(hid_inner)]] = 1.0
        self.lb = lb
        ge1 = hidden & (val >= 1) & ~m.row_src & (m.row_summed > 0) & (nnz_u > 0)
        ge1 &= (1.0 - self.row_const) > _TOL
        self.ge_rows = np.flatnonzero(ge1)
        Ec = m.E.tocsc()
        Eu = Ec[:, self.unknown_idx].tocsr()
        e_res = m.e - m.E @ kv
        e_keep = np.flatnonzero(np.diff(Eu.indptr) > 0)
        self.Eu = Eu[e_keep]
        self.e_res = e_res[e_keep]
        self.e_ids = e_keep
        # Constraint matrix in variable space: [eq; extra; ge] with right-hand sides.
        A_eq = sparse.vstack([self.Mu[self.eq_rows], self.Eu]).tocsr()
        b_eq = np.concatenate([val[self.eq_rows] - self.row_const[self.eq_rows], self.e_res])
        A_ge = self.Mu[self.ge_rows]
        b_ge = 1.0 - self.row_const[self.ge_rows]
        self.A_eq, self.b_eq, self.A_ge, self.b_ge = A_eq, b_eq, A_ge, b_ge
        nv = len(self.unknown_idx)
        A_all = sparse.vstack([A_eq, A_ge]).tocsr()
        A_bin = A_all.copy()
        A_bin.data = np.ones_like(A_bin.data)
        adj = (A_bin.T @ A_bin).tocsr() if nv else sparse.csr_matrix((0, 0))
        self.n_comp, self.comp = (
            connected_components(adj, directed=False) if nv else (0, np.zeros(0, np.int64))
        )
        # Component of each constraint row (all its variables share one).
        first_var = lambda A: np.array(  # noqa: E731
            [A.indices[A.indptr[i]] for i in range(A.shape[0])], dtype=np.int64
        )
        self.eq_comp = self.comp[first_var(A_eq)] if A_eq.shape[0] else np.zeros(0, np.int64)
        self.ge_comp = self.comp[first_var(A_ge)] if A_ge.shape[0] else np.zeros(0, np.int64)
        self.comp_has_rows = np.zeros(self.n_comp, bool)
        self.comp_has_rows[self.eq_comp] = True
        self.comp_has_rows[self.ge_comp] = True
        self._lp_cache: dict[tuple[int, tuple[int, ...]], tuple] = {}
        self._comp_cache: dict[int, tuple] = {}
        self.H: sparse.csr_matrix | None = None
        self.complete = True

    # -- LP on one component
    def _component(self, c: int) -> tuple[np.ndarray, np.ndarray, _ComponentLP]:
        got = self._comp_cache.get(c)
        if got is None:
            vars_ = np.flatnonzero(self.comp == c)
            eq = np.flatnonzero(self.eq_comp == c)
            ge = np.flatnonzero(self.ge_comp == c)
            A = sparse.vstack([self.A_eq[eq], self.A_ge[ge]]).tocsc()[:, vars_].tocsr()
            lo = np.concatenate([self.b_eq[eq], self.b_ge[ge]])
            hi = np.concatenate([self.b_eq[eq], np.full(len(ge), np.inf)])
            got = (vars_, eq, _ComponentLP(A, lo, hi, self.lb[vars_]))
            self._comp_cache[c] = got
        return got

    def _solve(self, c: int, obj_vars: tuple[int, ...]) -> tuple[float, float, set[int], set[int]]:
        """Exact min and max of Σ x[obj_vars] on component ``c``.

        Returns (min, max, binding published rows, binding extra-relation ids).
        """
        hit = self._lp_cache.get((c, obj_vars))
        if hit is not None:
            return hit
        vars_, eq, lp = self._component(c)
        pos = np.searchsorted(vars_, np.asarray(obj_vars))
        cvec = np.zeros(len(vars_))
        cvec[pos] = 1.0
        out = []
        bind_rows: set[int] = set()
        bind_extra: set[int] = set()
        n_pub_eq = len(self.eq_rows)
        for maximize in (False, True):
            value, x, dual = lp.solve(cvec, maximize)
            self.n_lp += 1
            out.append(value)
            if x is None:  # unbounded
                continue
            self._add_point(vars_, x)
            for i in np.flatnonzero(np.abs(dual[: len(eq)]) > 1e-9):
                g = eq[i]
                if g < n_pub_eq:
                    bind_rows.add(int(self.eq_rows[g]))
                else:
                    bind_extra.add(int(self.e_ids[g - n_pub_eq]))
        result = (out[0], out[1], bind_rows, bind_extra)
        self._lp_cache[(c, obj_vars)] = result
        return result

    def _base_point(self) -> np.ndarray:
        return self.points[0].copy()

    def _add_point(self, vars_: np.ndarray, x: np.ndarray) -> None:
        """Record an LP optimum (on one component; the rest at the base) as a witness."""
        point = self._base_point()
        point[self.unknown_idx[vars_]] = x
        self.points.append(point)
        if self.H is not None and self.H.shape[0]:
            w = self.H @ point[self.unknown_idx]
            np.minimum(self.wmin, w, out=self.wmin)
            np.maximum(self.wmax, w, out=self.wmax)

    def _probe(self, n_probe: int = 6) -> None:
        """Random-direction LPs per large component: each optimum is a witness that moves
        many hidden cells at once, so most cells are proven safe without their own LP."""
        if not self.H.shape[0]:
            return
        rng = np.random.default_rng(0)
        narrow = (self.wmax - self.wmin) < self.k - _TOL
        if not narrow.any():
            return
        touched = np.unique(self.comp[self.H[np.flatnonzero(narrow)].indices])
        for c in touched:
            if not self.comp_has_rows[c]:
                continue
            vars_, _eq, lp = self._component(int(c))
            if len(vars_) < 8:
                continue
            for _ in range(n_probe):
                value, x, _dual = lp.solve(rng.standard_normal(len(vars_)), maximize=True)
                self.n_lp += 1
                if x is not None:
                    self._add_point(vars_, x)

    def _row_parts(self, r: int) -> dict[int, tuple[int, ...]]:
        vs = self.Mu.indices[self.Mu.indptr[r] : self.Mu.indptr[r + 1]]
        parts: dict[int, list[int]] = {}
        for v in vs:
            parts.setdefault(int(self.comp[v]), []).append(int(v))
        return {c: tuple(sorted(p)) for c, p in parts.items()}

    # -- candidates for secondary suppression
    def _candidates(self, r: int, bind_rows: set[int], bind_extra: set[int]) -> tuple[int, ...]:
        m = self.m
        pub = ~self.hidden
        val = np.nan_to_num(m.row_value, nan=0.0)
        cands: set[int] = {b for b in bind_rows if pub[b] and val[b] > 0}
        support: set[int] = set(m.M.indices[m.M.indptr[r] : m.M.indptr[r + 1]])
        for b in bind_rows:
            support.update(m.M.indices[m.M.indptr[b] : m.M.indptr[b + 1]])
        for x in bind_extra:
            support.update(m.E.indices[m.E.indptr[x] : m.E.indptr[x + 1]])
        for j in support:
            ir = m.inner_row[j]
            if ir >= 0 and pub[ir] and m.v[j] > 0 and not m.src[j]:
                cands.add(int(ir))
        if not cands:
            # Fall back on every published non-zero cell that shares an inner cell with r.
            col = m.M.tocsc()
            for j in support:
                for rr in col.indices[col.indptr[j] : col.indptr[j + 1]]:
                    if pub[rr] and val[rr] > 0:
                        cands.add(int(rr))
        return tuple(sorted(cands))

    def run(
        self,
        exact_bounds: bool = False,
        with_candidates: bool = False,
        max_failures: int | None = None,
    ) -> tuple:
        m, k = self.m, self.k
        hidden = self.hidden
        val = np.nan_to_num(m.row_value, nan=0.0)
        failures: list[Failure] = []
        bounds: list[CellBound] = []
        # 3. Nothing small or incomputable is published.
        for r in np.flatnonzero(~hidden & m.row_src):
            failures.append(
                Failure(
                    "source_published", m.row_keys[r], "includes a source-suppressed cell", int(r)
                )
            )
        for r in np.flatnonzero(~hidden & ~m.row_src & (val >= 1) & (val < k)):
            failures.append(
                Failure("primary_published", m.row_keys[r], f"count {int(val[r])} < k", int(r))
            )
        # 2. A published cell minus its known parts must not reveal a small hidden sum.
        for r in self.eq_rows:
            resid = val[r] - self.row_const[r]
            if 0.5 <= resid < k - 0.5:
                cands = ()
                if with_candidates:
                    cands = self._candidates(int(r), {int(r)}, set())
                failures.append(
                    Failure(
                        "margin_reveals_sum",
                        m.row_keys[r],
                        f"published cell minus published parts = {resid:g}",
                        int(r),
                        cands,
                    )
                )
        # 1. Every hidden cell's feasible interval is at least k wide.
        hid_rows = np.flatnonzero(hidden)
        self.H = self.Mu[hid_rows]
        P = np.column_stack([p[self.unknown_idx] for p in self.points])
        W = self.H @ P
        self.wmin = W.min(axis=1) if len(hid_rows) else np.zeros(0)
        self.wmax = W.max(axis=1) if len(hid_rows) else np.zeros(0)
        if not exact_bounds:
            self._probe()
        wmin, wmax = self.wmin, self.wmax
        self.complete = True
        for t, r in enumerate(hid_rows):
            if max_failures is not None and len(failures) >= max_failures:
                self.complete = False  # enough to act on; the rest is checked next round
                break
            const = self.row_const[r]
            parts = self._row_parts(int(r))
            if not parts:
                ok = False
                lo = hi = const
                exact = True
                bind_rows, bind_extra = set(), set()
            else:
                lo_w, hi_w = float(wmin[t]), float(wmax[t])
                free = any(not self.comp_has_rows[c] for c in parts)
                if free and not exact_bounds:
                    lo, hi, exact, ok = const + lo_w, math.inf, False, True
                    bind_rows, bind_extra = set(), set()
                elif hi_w - lo_w >= k - _TOL and not exact_bounds:
                    lo, hi, exact, ok = const + lo_w, const + hi_w, False, True
                    bind_rows, bind_extra = set(), set()
                else:
                    lo = hi = const
                    bind_rows, bind_extra = set(), set()
                    for c, vs in parts.items():
                        if not self.comp_has_rows[c]:
                            lo += float(self.lb[list(vs)].sum())
                            hi = math.inf
                            continue
                        a, b, br, be = self._solve(c, vs)
                        lo += a
                        hi += b
                        bind_rows |= br
                        bind_extra |= be
                    exact = True
                    ok = (hi - lo) >= k - _TOL
            bounds.append(CellBound(m.row_keys[r], float(lo), float(hi), exact, bool(ok)))
            if not ok:
                cands = ()
                if with_candidates:
                    cands = self._candidates(int(r), bind_rows, bind_extra)
                failures.append(
                    Failure(
                        "narrow_interval",
                        m.row_keys[r],
                        f"feasible interval [{lo:g}, {hi:g}] narrower than {k}",
                        int(r),
                        cands,
                    )
                )
        return bounds, failures


def _statuses(model: _Model, hidden: np.ndarray, policy: Policy) -> np.ndarray:
    val = np.nan_to_num(model.row_value, nan=0.0)
    status = np.full(len(hidden), "published", dtype=object)
    status[hidden] = "secondary"
    status[hidden & (val >= 1) & (val < policy.k)] = "primary"
    status[model.row_src] = "source"
    return status


def _base_points(model: _Model) -> list[np.ndarray]:
    """The true table as the first witness (source cells set feasibly)."""
    base = model.v.copy()
    if model.src.any() and model.E.shape[0]:
        Ec = model.E.tocsc()
        sj = np.flatnonzero(model.src)
        Es = Ec[:, sj].tocsr()
        rows = np.flatnonzero(np.diff(Es.indptr) > 0)
        if len(rows):
            cols = np.unique(Es[rows].indices)
            res = linprog(
                np.zeros(len(cols)),
                A_eq=Es[rows][:, cols],
                b_eq=(model.e - model.E @ np.where(model.src, 0.0, model.v))[rows],
                bounds=(0, None),
                method="highs",
            )
            if res.status != 0:
                raise ValueError("extra equalities cannot hold with the source-suppressed cells")
            base[sj[cols]] = res.x
    return [base]


def _run_audit(
    model: _Model,
    hidden: np.ndarray,
    policy: Policy,
    points: list[np.ndarray],
    *,
    exact_bounds: bool = False,
    with_candidates: bool = False,
    max_failures: int | None = None,
) -> AuditReport:
    t0 = time.perf_counter()
    aud = _Auditor(model, hidden, policy, points)
    bounds, failures = aud.run(
        exact_bounds=exact_bounds, with_candidates=with_candidates, max_failures=max_failures
    )
    status = _statuses(model, hidden, policy)
    return AuditReport(
        n_cells=len(hidden),
        n_published=int((status == "published").sum()),
        n_primary=int((status == "primary").sum()),
        n_secondary=int((status == "secondary").sum()),
        n_source=int((status == "source").sum()),
        passed=not failures and aud.complete,
        bounds=bounds,
        failures=failures,
        n_lp=aud.n_lp,
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
    )


def _resolve_keys(model: _Model, keys: Iterable[Any]) -> tuple[list[int], list[Key]]:
    rows, unknown = [], []
    for key in keys:
        if isinstance(key, str):
            key = cell_key_from_str(key)
        elif isinstance(key, Mapping):
            key = tuple(key.get(d, TOTAL) for d in model.dims)
        key = tuple(key)
        r = model.key_to_row.get(key)
        if r is None:
            unknown.append(key)
        else:
            rows.append(r)
    return rows, unknown


def audit(
    inner: pd.DataFrame,
    dims: Sequence[str],
    levels: Sequence[Sequence[str]],
    hidden: Iterable[Any],
    policy: Policy = DEFAULT_POLICY,
    *,
    count: str = "n",
    extra_equalities: Sequence[Relation] = (),
    exact_bounds: bool = False,
) -> AuditReport:
    """Audit any proposed release: ``hidden`` lists the cell keys not published.

    Keys are full tuples over ``dims`` with ``TOTAL`` for summed dimensions (or mappings
    ``{dim: value}``, missing dims meaning ``TOTAL``, or :func:`cell_key_str` strings).
    Nothing is hidden implicitly: a cell of 1..k-1 or one built on a source-suppressed inner
    cell that is not listed is reported (``primary_published`` / ``source_published``), so a
    naive release can be checked honestly.
    """
    model = _build(inner, dims, levels, count, extra_equalities)
    mask = np.zeros(len(model.row_keys), bool)
    rows, unknown = _resolve_keys(model, hidden)
    if unknown:
        raise KeyError(f"hidden keys not in the release: {unknown[:3]}")
    mask[rows] = True
    return _run_audit(model, mask, policy, _base_points(model), exact_bounds=exact_bounds)


# --- protection -----------------------------------------------------------------------------


@dataclass
class ProtectedRelease:
    """A release after the gate. ``cells`` is internal (its ``status`` must not be published).

    ``cells`` columns: the dims (``TOTAL`` where summed), ``level`` (tuple of kept dims),
    ``value`` (true count, <NA> when it includes a source-suppressed cell), ``status``
    (published / primary / secondary / source), ``forced`` (hidden by memory) and
    ``published_value`` (int or ``SUPPRESSED``).
    """

    dims: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    cells: pd.DataFrame
    audit: AuditReport
    policy: Policy
    iterations: int
    elapsed_ms: float
    ignored_force_hidden: tuple[Key, ...] = ()
    _idx: dict[Key, int] | None = field(default=None, init=False, repr=False)

    def _level(self, level: Sequence[str]) -> tuple[str, ...]:
        level = (level,) if isinstance(level, str) else tuple(level)
        if set(level) - set(self.dims):
            raise KeyError(f"unknown dimensions {sorted(set(level) - set(self.dims))}")
        return tuple(d for d in self.dims if d in level)

    def _key(self, level: Sequence[str], key: Mapping[str, Any]) -> Key:
        lev = self._level(level)
        if set(key) != set(lev):
            raise KeyError(f"level {lev} needs exactly the keys {lev}, got {sorted(key)}")
        return tuple(key[d] if d in lev else TOTAL for d in self.dims)

    def value(self, level: Sequence[str], **key: Any) -> int | _Suppressed:
        """The published value of one cell: an int or ``SUPPRESSED``."""
        k = self._key(level, key)
        idx = self._index().get(k)
        if idx is None:
            raise KeyError(f"no cell {k} in this release")
        return self.cells.at[idx, "published_value"]

    def _index(self) -> dict[Key, int]:
        if self._idx is None:
            keys = self.cells[list(self.dims)].itertuples(index=False, name=None)
            self._idx = {tuple(k): i for i, k in enumerate(keys)}
        return self._idx

    def table(self, level: Sequence[str]) -> pd.DataFrame:
        """One published table: its kept dims and ``value`` (int or ``SUPPRESSED``)."""
        lev = self._level(level)
        if lev not in self.levels:
            raise KeyError(f"level {lev} is not published in this release")
        part = self.cells[self.cells["level"].map(lambda x: x == lev)]
        out = part[list(lev)].copy()
        out["value"] = part["published_value"].to_numpy()
        return out.reset_index(drop=True)

    def hidden_keys(self) -> frozenset[Key]:
        """Keys of every hidden cell (store them as suppression memory)."""
        hid = self.cells[self.cells["status"] != "published"]
        return frozenset(tuple(k) for k in hid[list(self.dims)].itertuples(index=False, name=None))


def _open_margins(model: _Model, hidden: np.ndarray) -> np.ndarray:
    """Per inner-level row: published margins through it that hold no hidden part yet.

    Hiding a cell whose every margin already holds a hidden part closes a cycle of hidden
    cells (the rectangle of a two-way table), which is what opens the attacker's interval;
    a cell with an "open" margin is pinned by it at once and drags in more cells.
    """
    has_inner = model.inner_row >= 0
    hid_inner = model.src.copy()
    hid_inner[has_inner] |= hidden[model.inner_row[has_inner]]
    margin = (model.row_summed > 0) & ~hidden
    covered = margin & (model.M @ hid_inner.astype(float) > 0)
    n_margin = model.M.T @ margin.astype(float)
    n_covered = model.M.T @ covered.astype(float)
    out = np.zeros(len(hidden))
    out[model.inner_row[has_inner]] = (n_margin - n_covered)[has_inner]
    return out


def _prepass(model: _Model, hidden: np.ndarray, policy: Policy) -> None:
    """Cheap secondary suppression before the LP loop (the "two per line" rule, in place).

    A published margin (or a known relation) with exactly one hidden inner cell gives that
    cell back by subtraction, and one whose hidden inner cells sum to under ``k`` reveals a
    small sum: hide one more inner cell there (fewest open margins, then smallest count).
    This settles most cases without an LP; the audit loop then handles what is left
    (the SDC Handbook's "hidden cells need a partner in every line" is necessary, not
    sufficient, which is why the LP audit follows).
    """
    has_inner = model.inner_row >= 0
    if not has_inner.all():
        return
    k = policy.k
    M, E, v = model.M, model.E, model.v
    agg = model.row_summed > 0
    for _ in range(len(hidden)):
        unk = model.src | hidden[model.inner_row]
        n_unk = M @ unk.astype(float)
        resid = M @ np.where(unk, v, 0.0)
        bad = ~hidden & agg & ((n_unk == 1) | ((n_unk >= 1) & (resid < k)))
        lines = [M.indices[M.indptr[r] : M.indptr[r + 1]] for r in np.flatnonzero(bad)]
        bad_rows = list(np.flatnonzero(bad))
        if E.shape[0]:
            e_unk = abs(E) @ unk.astype(float)
            for x in np.flatnonzero(e_unk == 1):
                lines.append(E.indices[E.indptr[x] : E.indptr[x + 1]])
                bad_rows.append(-1)
        if not lines:
            return
        open_ = _open_margins(model, hidden)
        changed = False
        # Narrowest lines first: fixing them often fixes the wider ones that share cells.
        order = np.argsort([len(js) for js in lines], kind="stable")
        for i in order:
            r, js = bad_rows[i], lines[i]
            u = unk[js]
            if r >= 0:
                if hidden[r] or not (u.sum() == 1 or (u.sum() >= 1 and v[js][u].sum() < k)):
                    continue
            elif u.sum() != 1:
                continue
            cands = js[~u & (v[js] > 0)]
            if len(cands) == 0:
                if r >= 0:
                    hidden[r] = True
                    changed = True
                continue
            j = min(cands, key=lambda j: (open_[model.inner_row[j]], v[j], j))
            hidden[model.inner_row[j]] = True
            unk[j] = True
            changed = True
        _propagate_duplicates(model, hidden)
        if not changed:
            return


def protect(
    inner: pd.DataFrame,
    dims: Sequence[str],
    levels: Sequence[Sequence[str]],
    policy: Policy = DEFAULT_POLICY,
    *,
    count: str = "n",
    force_hidden: Iterable[Any] = (),
    extra_equalities: Sequence[Relation] = (),
    max_iterations: int | None = None,
) -> ProtectedRelease:
    """Apply primary, source and memory suppression, then secondary until the audit passes.

    Secondary choice (a greedy heuristic, not tau-Argus's optimal model): for each failing
    hidden cell the LP's binding constraints (non-zero duals) name the published cells that
    pin it; among those and the published inner cells inside them, the cheapest is hidden
    (inner cells before totals, then the smallest count). Repeat until the audit passes.
    True zeros are never chosen (hiding them protects nothing: the attacker's ``>= 1``).
    """
    t0 = time.perf_counter()
    model = _build(inner, dims, levels, count, extra_equalities)
    R = len(model.row_keys)
    val = np.nan_to_num(model.row_value, nan=0.0)
    hidden = model.row_src | ((val >= 1) & (val < policy.k))
    rows, ignored = _resolve_keys(model, force_hidden)
    forced = np.zeros(R, bool)
    forced[rows] = True
    hidden |= forced
    _propagate_duplicates(model, hidden)
    _prepass(model, hidden, policy)
    points = _base_points(model)
    cost = np.column_stack([model.row_summed, val])
    limit = max_iterations if max_iterations is not None else R + 1
    iterations = 0
    while True:
        iterations += 1
        report = _run_audit(model, hidden, policy, points, with_candidates=True, max_failures=64)
        if report.passed:
            break
        if iterations > limit:
            raise DisclosureError("secondary suppression did not converge")
        bad_publish = [f for f in report.failures if f.kind.endswith("_published")]
        if bad_publish:  # cannot happen for rows this function hides; guard anyway
            raise DisclosureError(f"gate would publish {bad_publish[0].key}")
        open_ = _open_margins(model, hidden)
        chosen: set[int] = set()
        # A small margin residual is usually the same leak as a narrow hidden cell inside it:
        # fix the cells first and look at residuals again only once no cell is narrow.
        order = [f for f in report.failures if f.kind == "narrow_interval"] or report.failures
        for f in order:
            cands = [c for c in f.candidates if not hidden[c]]
            if not cands:
                raise DisclosureError(f"no cell left to hide that protects {f.key}")
            if chosen.intersection(cands):
                continue
            chosen.add(min(cands, key=lambda c: (cost[c, 0], open_[c], cost[c, 1], c)))
        hidden[list(chosen)] = True
        _propagate_duplicates(model, hidden)

    status = _statuses(model, hidden, policy)
    cells = pd.DataFrame(model.row_keys, columns=model.dims)
    cells["level"] = [model.levels[i] for i in model.row_level]
    cells["value"] = pd.array(
        [None if s else int(v) for v, s in zip(val, model.row_src, strict=True)], dtype="Int64"
    )
    cells["status"] = status
    cells["forced"] = forced
    cells["published_value"] = pd.Series(
        [SUPPRESSED if h else int(v) for h, v in zip(hidden, val, strict=True)], dtype=object
    )
    return ProtectedRelease(
        dims=tuple(model.dims),
        levels=tuple(model.levels),
        cells=cells,
        audit=report,
        policy=policy,
        iterations=iterations,
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        ignored_force_hidden=tuple(ignored),
    )
