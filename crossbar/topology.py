"""Checks made before any backend solves: an empty netlist, voltage-source loops and
floating nodes (both backends run them, so both raise the same named errors)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from devices.errors import FloatingNodeError, NetlistError, VoltageSourceLoopError
from netlists.netlist import Netlist

__all__ = ["check_not_empty", "check_source_loops", "check_floating", "check_topology"]


def check_not_empty(netlist: Netlist) -> None:
    """Raise :class:`NetlistError` for a netlist without elements (nothing to solve)."""
    if netlist.n_elements == 0:
        raise NetlistError(f"netlist {netlist.title!r} has no elements: nothing to solve")


def check_source_loops(netlist: Netlist) -> None:
    """Raise :class:`VoltageSourceLoopError` if voltage sources form a loop (a cycle in the
    graph whose edges are the sources, ground included), naming the sources in it."""
    V = netlist.vsources
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    adj = {}
    for row, (a, b) in enumerate(zip(V.npos.tolist(), V.nneg.tolist())):
        ra, rb = find(a), find(b)
        if ra == rb:
            path = _path(adj, a, b)  # sources already joining a and b
            names = [V.names[r] for r in path] + [V.names[row]]
            raise VoltageSourceLoopError(
                f"voltage sources form a loop (their currents are undetermined): {' -> '.join(names)}; "
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

    DC paths are resistors, voltage sources and MOSFET channels (drain-source, and the
    drain/source-to-bulk junction conductance); a MOSFET gate and a current source are
    not paths.
    """
    n = len(netlist.nodes)
    R, V, M = netlist.resistors, netlist.vsources, netlist.mosfets
    a = np.concatenate([R.n1, V.npos, M.d, M.d, M.s])
    b = np.concatenate([R.n2, V.nneg, M.s, M.b, M.b])
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
    """All checks: an empty netlist, then source loops, then floating nodes."""
    check_not_empty(netlist)
    check_source_loops(netlist)
    check_floating(netlist)


def check_native_support(netlist: Netlist) -> None:
    """Refuse element kinds the native DC solver does not handle yet (inductors, sinh
    cells) instead of solving a netlist with them left out; capacitors are open at DC."""
    unsupported = [f"{len(t)} {what} ({', '.join(t.names[:3])}{', ...' if len(t) > 3 else ''})"
                   for what, t in (("inductor(s)", netlist.inductors), ("sinh cell(s)", netlist.sinh_cells)) if len(t)]
    if unsupported:
        raise NetlistError(f"the native solver does not support {' and '.join(unsupported)} yet; "
                           "solve with backend='ngspice'")
