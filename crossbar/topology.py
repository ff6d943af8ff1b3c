"""Checks made before any backend solves: the netlist argument, an empty netlist, voltage-source loops and
floating nodes (both backends run them, so both raise the same named errors)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from devices.errors import FloatingNodeError, NetlistError, VoltageSourceLoopError
from netlists.netlist import Netlist

__all__ = ["check_netlist", "check_not_empty", "check_conductances", "check_source_loops", "check_floating", "check_topology"]


def check_netlist(netlist, caller: str) -> None:
    """Raise :class:`NetlistError` when ``netlist`` (an argument of ``caller``, e.g.
    ``"solve()"``) is not a :class:`netlists.Netlist`."""
    if not isinstance(netlist, Netlist):
        raise NetlistError(f"{caller} takes a netlists.Netlist, got {type(netlist).__name__}")


def check_not_empty(netlist: Netlist) -> None:
    """Raise :class:`NetlistError` for a netlist without elements (nothing to solve)."""
    if netlist.n_elements == 0:
        raise NetlistError(f"netlist {netlist.title!r} has no elements: nothing to solve")


def check_conductances(netlist: Netlist) -> None:
    """Raise :class:`NetlistError` for a resistor whose conductance ``1/R`` overflows
    (R below ~1e-308 ohm): the native solver cannot stamp it and ngspice fails with
    "timestep too small"; both backends name the resistor instead."""
    R = netlist.resistors
    if not len(R):
        return
    rv = np.asarray(R.value)
    with np.errstate(divide="ignore", over="ignore"):
        bad = ~np.isfinite(1.0 / rv)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise NetlistError(f"resistor {R.names[k]!r}: {float(rv[k])!r} ohm has no finite conductance 1/R (it "
                           "overflows); use a resistance of at least 1e-300 ohm (devices allow >= 1e-12 ohm)")


def check_source_loops(netlist: Netlist) -> None:
    """Raise :class:`VoltageSourceLoopError` if voltage sources and inductors (shorts at
    DC) form a loop (a cycle in the graph whose edges they are, ground included), naming
    the elements in it: their currents would be undetermined."""
    V, L = netlist.vsources, netlist.inductors
    names_all = list(V.names) + list(L.names)
    pos_all = np.concatenate([V.npos, L.n1]).astype(np.int64)
    neg_all = np.concatenate([V.nneg, L.n2]).astype(np.int64)
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    adj = {}
    for row, (a, b) in enumerate(zip(pos_all.tolist(), neg_all.tolist())):
        ra, rb = find(a), find(b)
        if ra == rb:
            path = _path(adj, a, b)  # sources already joining a and b
            names = [names_all[r] for r in path] + [names_all[row]]
            what = "voltage sources" if row < len(V) and all(r < len(V) for r in path) else "voltage sources and inductors"
            raise VoltageSourceLoopError(
                f"{what} form a loop (their currents are undetermined): {' -> '.join(names)}; "
                f"nodes {netlist.nodes[a]!r} and {netlist.nodes[b]!r} are already fixed by other sources",
                sources=names)
        parent[ra] = rb
        adj.setdefault(a, []).append((b, row))
        adj.setdefault(b, []).append((a, row))


def _path(adj, start, goal):
    prev = {start: None}
    queue = [start]
    while queue:
        x = queue.pop(0)
        if x == goal:
            break
        for y, row in adj.get(x, ()):
            if y not in prev:
                prev[y] = (x, row)
                queue.append(y)
    rows, x = [], goal
    while prev.get(x):
        x, row = prev[x]
        rows.append(row)
    return rows[::-1]


def check_floating(netlist: Netlist) -> None:
    """Raise :class:`FloatingNodeError` naming every node without a DC path to ground.

    DC paths are resistors, voltage sources, inductors, sinh cells and MOSFET channels
    (drain-source, and the drain/source-to-bulk junction conductance); a MOSFET gate, a
    capacitor and a current source are not paths.
    """
    n = len(netlist.nodes)
    R, V, M = netlist.resistors, netlist.vsources, netlist.mosfets
    L, B = netlist.inductors, netlist.sinh_cells
    a = np.concatenate([R.n1, V.npos, M.d, M.d, M.s, L.n1, B.n1]).astype(np.int64)
    b = np.concatenate([R.n2, V.nneg, M.s, M.b, M.b, L.n2, B.n2]).astype(np.int64)
    graph = sp.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    floating = np.flatnonzero(labels != labels[0])
    if floating.size:
        names = [netlist.nodes[i] for i in floating[:20]]
        more = f" and {floating.size - 20} more" if floating.size > 20 else ""
        raise FloatingNodeError(
            f"{floating.size} node(s) have no DC path to ground (the matrix would be singular): "
            f"{', '.join(names)}{more}", nodes=[netlist.nodes[i] for i in floating])


def check_topology(netlist: Netlist) -> None:
    """All checks: an empty netlist, overflowing conductances, then source loops, then
    floating nodes."""
    check_not_empty(netlist)
    check_conductances(netlist)
    check_source_loops(netlist)
    check_floating(netlist)
