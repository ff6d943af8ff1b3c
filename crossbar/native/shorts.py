"""Inductors at DC: ideal shorts, merged into one node, their currents recovered.

``merge_shorts(netlist)`` returns a :class:`Shorts`: the netlist the solver assembles
(every group of nodes joined by inductors merged into its lowest-numbered node, the
inductors and the capacitors (open at DC) left out, and elements whose terminals all
fall into one group dropped: at zero voltage they carry no current, except current
sources, which are kept in the current balance below) and the map back.

After a solve, :meth:`Shorts.inductor_currents` finds each inductor's current from KCL
at the original nodes: with ``B`` the node-inductor incidence (``+1`` at ``n1``,
``-1`` at ``n2``) and ``out`` the current leaving every node through all other
elements, ``B i_L = -out``; the inductors form a forest (a loop of inductors and
voltage sources is refused by :func:`crossbar.topology.check_source_loops`), so
``(B^T B) i_L = -B^T out`` has one solution.  Sign as ngspice's ``l#branch``: positive
from ``n1`` through the inductor to ``n2``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from crossbar.mosfet import level1
from crossbar.native.stamps import mos_params, sinh_current
from netlists.netlist import ElementTable, Netlist, _frozen

__all__ = ["Shorts", "merge_shorts"]


class Shorts:
    """A netlist with its inductors merged (see the module docstring)."""

    def __init__(self, original: Netlist, solved: Netlist, index: np.ndarray | None):
        self.original = original
        self.netlist = solved
        self.index = index  # original node -> node of ``solved`` (None: identity)

    def __repr__(self) -> str:
        return f"<Shorts: {len(self.original.inductors)} inductor(s) merged, {len(self.original.capacitors)} capacitor(s) open>"

    def expand(self, v: np.ndarray) -> np.ndarray:
        """Voltages (S, n_solved) of the solved netlist on the original nodes (S, n)."""
        return v if self.index is None else v[:, self.index]

    def inductor_currents(self, v: np.ndarray, i_v: np.ndarray) -> np.ndarray:
        """Inductor currents (S, n_inductors), ampere, from original-node voltages ``v``
        (S, n, ground included) and voltage-source branch currents ``i_v`` (S, nV)."""
        net = self.original
        Lt = net.inductors
        S = v.shape[0]
        if not len(Lt):
            return np.zeros((S, 0))
        n = len(net.nodes)
        out = np.zeros((S, n))
        R, V, I, M, B = net.resistors, net.vsources, net.isources, net.mosfets, net.sinh_cells
        if len(R):
            ir = (v[:, R.n1] - v[:, R.n2]) / np.asarray(R.value)[None, :]
            _scatter(out, R.n1, ir)
            _scatter(out, R.n2, -ir)
        if len(V):
            _scatter(out, V.npos, i_v)
            _scatter(out, V.nneg, -i_v)
        if len(I):
            dc = np.broadcast_to(np.asarray(I.dc, float), (S, len(I)))
            _scatter(out, I.npos, dc)
            _scatter(out, I.nneg, -dc)
        if len(M):
            p = mos_params(net)
            ids = level1(v[:, M.d], v[:, M.g], v[:, M.s], **{k: x[None, :] for k, x in p.items()})[0]
            _scatter(out, M.d, ids)
            _scatter(out, M.s, -ids)
        if len(B):
            ib = sinh_current(v[:, B.n1] - v[:, B.n2], np.asarray(B.g)[None, :], np.asarray(B.v0)[None, :])
            _scatter(out, B.n1, ib)
            _scatter(out, B.n2, -ib)
        k = np.arange(len(Lt))
        inc = sp.csr_matrix((np.concatenate([np.ones(k.size), -np.ones(k.size)]),
                             (np.concatenate([Lt.n1, Lt.n2]), np.concatenate([k, k]))), shape=(n, len(Lt)))
        inc = inc[1:]  # ground's equation is implied by the others
        lu = spla.splu((inc.T @ inc).tocsc())
        return lu.solve(-(inc.T @ out[:, 1:].T)).T


def _scatter(out, nodes, values):
    for s in range(out.shape[0]):
        out[s] += np.bincount(nodes, weights=values[s], minlength=out.shape[1])


def merge_shorts(netlist: Netlist) -> Shorts:
    """Merge inductor-joined nodes and leave out capacitors (module docstring)."""
    L = netlist.inductors
    if not len(L) and not len(netlist.capacitors):
        return Shorts(netlist, netlist, None)
    n = len(netlist.nodes)
    if len(L):
        graph = sp.coo_matrix((np.ones(len(L)), (L.n1, L.n2)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        lowest = np.full(label.max() + 1, n, np.int64)
        np.minimum.at(lowest, label, np.arange(n))
        rep = lowest[label]
    else:
        rep = np.arange(n)
    keep = np.unique(rep)  # sorted, starts with ground (0)
    new = np.full(n, -1, np.int64)
    new[keep] = np.arange(keep.size)
    index = new[rep]
    nodes = [netlist.nodes[k] for k in keep]

    def remap(table, node_cols, drop_shorted):
        cols = {key: np.asarray(val) for key, val in table.columns.items()}
        for c in node_cols:
            cols[c] = index[cols[c]]
        rows = np.ones(len(table), bool)
        if drop_shorted and len(table):
            rows = cols[node_cols[0]] != cols[node_cols[1]]
        out = {key: _frozen(val[rows], val.dtype) for key, val in cols.items()}
        names = tuple(nm for nm, k in zip(table.names, rows) if k)
        return ElementTable(names, out)

    solved = Netlist(netlist.title, nodes,
                     remap(netlist.resistors, ("n1", "n2"), True),
                     remap(netlist.vsources, ("npos", "nneg"), False),
                     remap(netlist.isources, ("npos", "nneg"), True),
                     remap(netlist.mosfets, ("d", "g", "s", "b"), False),
                     netlist.models, None if len(L) else netlist.layout,
                     sinh_cells=remap(netlist.sinh_cells, ("n1", "n2"), True))
    return Shorts(netlist, solved, index if len(L) else None)
