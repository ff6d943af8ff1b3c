"""Assembly of the linear part of the nodal equations, with exact series reduction.

``Assembly(netlist)`` decides the formulation (reduced when every voltage source has
a terminal on ground, MNA otherwise), condenses 1T1R cells (reduced formulation with
MOSFETs), eliminates series nodes, and assembles the conductance Laplacian ``L`` over
all nodes (ground is index 0)::

    L = sum over resistors and junction conductances g between a and b of
        g (e_a - e_b)(e_a - e_b)^T

It also holds the :class:`~crossbar.native.stamps.Stamps` of the nonlinear elements
and recovers eliminated node voltages after a solve.
"""

from __future__ import annotations

import numpy as np

from crossbar.condense import CondensedCells
from crossbar.native.factor import laplacian
from crossbar.native.options import GMIN
from crossbar.native.stamps import Stamps, mos_params
from devices.errors import NetlistError

__all__ = ["Assembly", "series_reduce"]


def series_reduce(netlist, n1, n2, rv):
    """Eliminate nodes joined to exactly two resistors and nothing else.

    Such a node ``m`` between ``a`` (``r_a``) and ``b`` (``r_b``) is replaced by one
    resistor ``r_a + r_b`` from ``a`` to ``b`` (exact); its voltage is recovered after
    the solve as ``(v_a / r_a + v_b / r_b) / (1 / r_a + 1 / r_b)``.  A 1T1R cell with
    a linear access transistor loses its inner node this way.  Only nodes whose
    neighbours both stay are taken, so chains are shortened, never mis-joined.

    Returns
    -------
    (n1, n2, rv), (m, a, b, w_a)
        The reduced resistor list, and the eliminated nodes with their neighbours and
        the weight of ``v_a`` in their voltage (arrays, empty when nothing was taken).
    """
    n = len(netlist.nodes)
    V, I, M, B = netlist.vsources, netlist.isources, netlist.mosfets, netlist.sinh_cells
    none = (np.zeros(0, np.int64),) * 3 + (np.zeros(0),)
    if len(n1) < 2:
        return (n1, n2, rv), none
    deg = np.bincount(n1, minlength=n) + np.bincount(n2, minlength=n)
    touched = np.zeros(n, bool)
    touched[0] = True
    for arr in (V.npos, V.nneg, I.npos, I.nneg, M.d, M.g, M.s, M.b, B.n1, B.n2):
        touched[arr] = True
    cand = (deg == 2) & ~touched
    if not cand.any():
        return (n1, n2, rv), none
    # incidence list (node, resistor, other end) restricted to candidate nodes
    node = np.concatenate([n1, n2])
    res = np.concatenate([np.arange(len(n1)), np.arange(len(n1))])
    other = np.concatenate([n2, n1])
    keep = cand[node]
    node, res, other = node[keep], res[keep], other[keep]
    order = np.argsort(node, kind="stable")
    node, res, other = node[order].reshape(-1, 2), res[order].reshape(-1, 2), other[order].reshape(-1, 2)
    m = node[:, 0]
    a, b = other[:, 0], other[:, 1]
    ok = ~cand[a] & ~cand[b]
    m, a, b, ra_idx, rb_idx = m[ok], a[ok], b[ok], res[ok, 0], res[ok, 1]
    if m.size == 0:
        return (n1, n2, rv), none
    ra, rb = rv[ra_idx], rv[rb_idx]
    drop = np.zeros(len(n1), bool)
    drop[ra_idx] = True
    drop[rb_idx] = True
    join = a != b  # a == b: the node hangs off one node by two resistors, no current
    w_a = (1 / ra) / (1 / ra + 1 / rb)
    return ((np.concatenate([n1[~drop], a[join]]), np.concatenate([n2[~drop], b[join]]),
             np.concatenate([rv[~drop], (ra + rb)[join]])), (m, a, b, w_a))


class Assembly:
    """The linear part of one netlist's equations (see the module docstring).

    Attributes
    ----------
    n : int
        Nodes, ground included.
    reduced : bool
        Every voltage source has a terminal on ground (reduced formulation).
    driven, sigma : numpy.ndarray
        Reduced formulation: the node each source drives and ``v(driven) = sigma * dc``.
    L : scipy.sparse.csr_matrix (n, n)
        Conductance Laplacian (resistors after series reduction, MOSFET junction gmin).
    edges : tuple (a, b, g)
        The edges ``L`` is made of (node indices, siemens).
    elim, elim_a, elim_b, elim_wa : numpy.ndarray
        Eliminated series nodes (see :func:`series_reduce`).
    stamps : crossbar.native.stamps.Stamps
    g_small : float
        The smallest conductance of the netlist's resistors, siemens (0 without any).
    """

    def __init__(self, netlist):
        self.netlist = netlist
        n = len(netlist.nodes)
        R, V, M = netlist.resistors, netlist.vsources, netlist.mosfets
        self.n = n
        self.reduced = bool(np.all((V.nneg == 0) | (V.npos == 0)))
        params = mos_params(netlist) if len(M) else None
        n1, n2, rv = np.asarray(R.n1), np.asarray(R.n2), np.asarray(R.value)
        with np.errstate(divide="ignore", over="ignore"):
            g_res = 1.0 / rv
        if g_res.size and not np.all(np.isfinite(g_res) & (g_res > 0)):
            k = int(np.flatnonzero(~(np.isfinite(g_res) & (g_res > 0)))[0])
            raise NetlistError(f"resistor {R.names[k]!r}: {rv[k]!r} ohm has no finite conductance 1/R "
                               "(it overflows); use a resistance of at least 1e-300 ohm (devices allow >= 1e-12 ohm)")
        self.g_small = float(g_res.min()) if g_res.size else 0.0
        self.elim = self.elim_a = self.elim_b = np.zeros(0, np.int64)
        self.elim_wa = np.zeros(0)
        cells = None
        normal = np.ones(len(M), bool)
        bulk_a, bulk_b = np.concatenate([M.d, M.s]), np.concatenate([M.b, M.b])
        if self.reduced:
            self.sigma = np.where(V.nneg == 0, 1.0, -1.0)  # v(driven) = sigma * dc
            self.driven = np.where(V.nneg == 0, V.npos, V.nneg)
            fixed = np.zeros(n, bool)
            fixed[0] = True
            fixed[self.driven] = True
            if len(M):  # 1T1R cells (resistor + MOSFET): inner node condensed out of the Newton system
                cells = CondensedCells.find(netlist, fixed, params, GMIN)
            if cells is not None:
                keep_r = np.ones(len(R), bool)
                keep_r[cells.res] = False
                n1, n2, rv = n1[keep_r], n2[keep_r], rv[keep_r]
                normal[cells.mos] = False
                # the inner node's junction to bulk is inside the cell model
                inner = np.zeros(n, bool)
                inner[cells.m] = True
                keep_j = ~inner[bulk_a]
                bulk_a, bulk_b = bulk_a[keep_j], bulk_b[keep_j]
            # series nodes (two resistors, nothing else) are eliminated exactly
            (n1, n2, rv), (self.elim, self.elim_a, self.elim_b, self.elim_wa) = series_reduce(netlist, n1, n2, rv)
        ga = np.concatenate([n1, bulk_a])
        gb = np.concatenate([n2, bulk_b])
        gv = np.concatenate([1.0 / rv, np.full(bulk_a.size, GMIN)])
        keep = ga != gb  # drain/source tied to bulk: the junction is shorted
        self.edges = (ga[keep], gb[keep], gv[keep])  # the conductances of L, for edgewise refinement
        self.L = laplacian(n, *self.edges)
        self.stamps = Stamps(netlist, n, params, normal, cells)
        self.cells = cells

    def __repr__(self) -> str:
        return (f"<Assembly {'reduced' if self.reduced else 'MNA'}: {self.n - 1} nodes, "
                f"{self.elim.size} series node(s) eliminated, {self.stamps!r}>")

    def recover(self, v: np.ndarray) -> np.ndarray:
        """Voltages of eliminated series nodes, in place on ``v`` (S, n)."""
        if self.elim.size:
            v[:, self.elim] = self.elim_wa * v[:, self.elim_a] + (1 - self.elim_wa) * v[:, self.elim_b]
        return v

    def injection(self, idc: np.ndarray) -> np.ndarray:
        """Currents injected into every node by current sources, shape (S, n), ampere."""
        I = self.netlist.isources
        inj = np.zeros((idc.shape[0], self.n))
        if len(I):
            np.add.at(inj.T, I.nneg, idc.T)
            np.subtract.at(inj.T, I.npos, idc.T)
        return inj
