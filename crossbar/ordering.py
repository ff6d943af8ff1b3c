"""Fill-reducing orderings for the nodal matrix.

``geometric_nested_dissection(xy, pattern)``
    When every node has integer grid coordinates and every matrix edge joins nodes at
    most one grid step apart in each direction (true for crossbars from
    :func:`netlists.build_crossbar` with non-zero wires: wordlines run along x,
    bitlines along y, a cell sits on one site), the nodes on a grid line separate the
    two sides.  Recursive bisection along the longer extent, separator ordered last,
    gives a nested-dissection ordering for the cost of a few sorts.

    Each line is then thinned to a *minimal* separator: only line nodes adjacent to
    both sides must stay; the others form groups (connected within the line) that
    join the side they touch, or the smaller side when they touch neither.  On a
    vertical cut of a crossbar that keeps the wordline and summing-line nodes and
    hands the bitline nodes to one side (and the other way round on a horizontal
    cut), halving every separator; the dense separator blocks dominate the
    factorization, so this pays several times over.

    Returns ``None`` when the coordinates do not make valid separators, so the caller
    falls back to AMD.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["geometric_nested_dissection"]

LEAF = 128
"""Blocks at most this large are not split further (kept in natural order)."""
THIN = 1024
"""Separators are thinned only for blocks at least this large.  Measured on the N=256 and
N=512 benchmark crossbars (factorization flops = sum of squared column counts of L):
thinning none 6.5e8 / 5.0e9, blocks >= 1024 4.3e8 / 3.0e9 (METIS: 3.8e8 / 3.2e9),
all 4.1e8 / 2.9e9, but thinning every small block costs more ordering time than the
last few percent save."""


def _thin(sep, left, right, csr, side):
    """Split line nodes ``sep`` into (to_left, to_right, stay); ``side`` is scratch (n,)."""
    indptr, indices = csr.indptr, csr.indices
    side[left] = -1
    side[right] = 1
    side[sep] = 2
    counts = indptr[sep + 1] - indptr[sep]
    owner = np.repeat(np.arange(sep.size), counts)
    starts = np.repeat(indptr[sep], counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    nbr = indices[starts + offs]
    s_n = side[nbr]
    adj_l = np.zeros(sep.size, bool)
    adj_r = np.zeros(sep.size, bool)
    adj_l[owner[s_n == -1]] = True
    adj_r[owner[s_n == 1]] = True
    must = adj_l & adj_r
    rest = ~must
    # fast path: give each remaining node the side it touches (the smaller side when it
    # touches neither); valid when no two line nodes joined by an edge got opposite sides
    small = -1 if left.size <= right.size else 1
    guess = np.where(adj_l, -1, np.where(adj_r, 1, small))
    side[sep[must]] = 0
    side[sep[rest]] = 3 + guess[rest]  # 2 = left, 4 = right (distinct from -1, 1 and 0)
    s_n = side[nbr]
    line_edge = rest[owner] & ((s_n == 2) | (s_n == 4))
    ok = not np.any(3 + guess[owner[line_edge]] != s_n[line_edge])
    if ok:
        side[left] = 0
        side[right] = 0
        side[sep] = 0
        return sep[rest & (guess == -1)], sep[rest & (guess == 1)], sep[must]
    side[sep] = 2
    s_n = side[nbr]
    # groups of the remaining line nodes, connected through the line itself
    local = np.full(side.size, -1, np.int64)
    local[sep[rest]] = np.arange(rest.sum())
    e = (s_n == 2) & rest[owner] & (local[nbr] >= 0)
    m = int(rest.sum())
    side[left] = 0
    side[right] = 0
    side[sep] = 0
    if m == 0:
        return sep[:0], sep[:0], sep
    a, b = local[sep[owner[e]]], local[nbr[e]]
    _, comp = connected_components(sp.coo_matrix((np.ones(a.size), (a, b)), shape=(m, m)), directed=False)
    nc = comp.max() + 1
    cl = np.zeros(nc, bool)
    cr = np.zeros(nc, bool)
    cl[comp[adj_l[rest]]] = True
    cr[comp[adj_r[rest]]] = True
    to_left_c = cl & ~cr
    to_right_c = cr & ~cl
    neither = ~cl & ~cr
    if left.size <= right.size:
        to_left_c |= neither
    else:
        to_right_c |= neither
    r_nodes = sep[rest]
    stay = np.concatenate([sep[must], r_nodes[(cl & cr)[comp]]])
    return r_nodes[to_left_c[comp]], r_nodes[to_right_c[comp]], stay


def geometric_nested_dissection(xy: np.ndarray, pattern: sp.spmatrix, leaf: int = LEAF):
    """Nested-dissection permutation from grid coordinates, or None if they do not fit.

    Parameters
    ----------
    xy : numpy.ndarray of int, shape (n, 2)
        Grid coordinates of the matrix rows.
    pattern : scipy.sparse matrix, shape (n, n)
        The matrix (only its pattern is used; it must be structurally symmetric).
    """
    n = pattern.shape[0]
    if xy is None or xy.shape != (n, 2) or n == 0:
        return None
    csr = sp.csr_matrix(pattern)
    coo = csr.tocoo()
    off = coo.row != coo.col
    if off.any():
        d = np.abs(xy[coo.row[off]] - xy[coo.col[off]])
        if d.max() > 1:
            return None
    x, y = xy[:, 0], xy[:, 1]
    side = np.zeros(n, np.int8)
    parts = []
    stack = [(np.arange(n), False)]
    # iterative post-order: for a split push (separator, True), right, left
    while stack:
        idx, is_sep = stack.pop()
        if is_sep or idx.size <= leaf:
            parts.append(idx)
            continue
        xs, ys = x[idx], y[idx]
        ex, ey = xs.max() - xs.min(), ys.max() - ys.min()
        if ex < 2 and ey < 2:
            parts.append(idx)
            continue
        c = xs if ex >= ey else ys
        lo, hi = c.min(), c.max()
        m = int(np.clip(np.rint(np.median(c)), lo + 1, hi - 1))
        sep, left, right = idx[c == m], idx[c < m], idx[c > m]
        to_l = to_r = sep[:0]
        if idx.size >= THIN:
            to_l, to_r, sep = _thin(sep, left, right, csr, side)
        stack.append((sep, True))
        stack.append((np.concatenate([right, to_r]), False))
        stack.append((np.concatenate([left, to_l]), False))
    return np.concatenate(parts)
