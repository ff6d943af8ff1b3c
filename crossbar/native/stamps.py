"""Device stamps of the nonlinear elements: currents and Jacobian entries.

``mos_params(netlist)``   the level-1 model and instance parameters as arrays
``sinh_current(V, g, v0)`` a sinh cell's current ``g v0 sinh(V / v0)`` and
                          ``sinh_conductance`` its derivative ``g cosh(V / v0)``
``Stamps``                every nonlinear element of a netlist (plain MOSFETs, sinh
                          cells and the condensed 1T1R cells); ``evaluate(v)`` gives, at node voltages
                          ``v``, the current leaving every node through them, the
                          Jacobian ``d(leave) / dv`` as triplets in node indices, and
                          one symmetric conductance per element for the preconditioner

Sign convention: ``leave[k]`` is the current flowing out of node ``k`` into the
element (so KCL reads ``G v - i_inj + leave = 0``).
"""

from __future__ import annotations

import numpy as np

from crossbar.condense import CondensedCells
from crossbar.mosfet import level1
from crossbar.native.options import GMIN

__all__ = ["mos_params", "sinh_current", "sinh_conductance", "Stamps", "SINH_ARG_MAX"]

SINH_ARG_MAX = 700.0
"""``|V / v0|`` is clipped here so ``sinh`` and ``cosh`` stay finite (e^700 ~ 1e304);
a Newton iterate that far out is damped back, a solution never lies there."""


def sinh_current(V, g, v0):
    """Current of a sinh cell ``g * v0 * sinh(V / v0)``, ampere (``V`` volt, ``g`` S, ``v0`` V)."""
    return g * v0 * np.sinh(np.clip(V / v0, -SINH_ARG_MAX, SINH_ARG_MAX))


def sinh_conductance(V, g, v0):
    """``dI/dV = g * cosh(V / v0)`` of a sinh cell, siemens."""
    return g * np.cosh(np.clip(V / v0, -SINH_ARG_MAX, SINH_ARG_MAX))


def mos_params(netlist) -> dict:
    """Per-MOSFET arrays ``polarity`` (+1 nmos, -1 pmos), ``vto`` (V), ``kp`` (A/V^2),
    ``lam`` (1/V), ``w``, ``l`` (m)."""
    M = netlist.mosfets
    models = [netlist.models[m] for m in netlist.model_names]
    return dict(polarity=np.array([1.0 if models[k].polarity == "nmos" else -1.0 for k in M.model]),
                vto=np.array([models[k].vto for k in M.model]), kp=np.array([models[k].kp for k in M.model]),
                lam=np.array([models[k].lambda_ for k in M.model]), w=np.asarray(M.w), l=np.asarray(M.l))


class Stamps:
    """The nonlinear elements of one netlist (see the module docstring).

    Parameters
    ----------
    netlist : netlists.Netlist
    n : int
        Number of nodes, ground included.
    params : dict or None
        :func:`mos_params` of the netlist (None without MOSFETs).
    normal : numpy.ndarray of bool
        MOSFETs stamped one by one (the others live inside ``cells``).
    cells : crossbar.condense.CondensedCells or None
    """

    def __init__(self, netlist, n: int, params: dict | None, normal: np.ndarray, cells: CondensedCells | None):
        M = netlist.mosfets
        self.n = n
        self.cells = cells
        k = normal
        self.d, self.g, self.s = M.d[k], M.g[k], M.s[k]
        self.params = {key: val[k] for key, val in params.items()} if params is not None and k.any() else None
        B = netlist.sinh_cells
        self.b1, self.b2 = np.asarray(B.n1), np.asarray(B.n2)
        self.bg, self.bv0 = np.asarray(B.g, float), np.asarray(B.v0, float)

    def __repr__(self) -> str:
        n_mos = 0 if self.params is None else self.d.size
        return (f"<Stamps: {n_mos} MOSFET(s), {self.b1.size} sinh cell(s), "
                f"{0 if self.cells is None else len(self.cells)} condensed cell(s)>")

    @property
    def empty(self) -> bool:
        return self.params is None and self.cells is None and not self.b1.size

    def evaluate(self, v: np.ndarray):
        """Nonlinear elements at node voltages ``v`` (n,).

        Returns
        -------
        leave : numpy.ndarray (n,)
            Current leaving every node through them, ampere.
        jac : tuple (rows, cols, vals)
            ``d leave[rows] / d v[cols]``, siemens.
        edges : tuple (a, b, g)
            Symmetric preconditioner conductances between nodes ``a`` and ``b``, siemens.
        """
        leave = np.zeros(self.n)
        rows, cols, vals, ea, eb, gp = [], [], [], [], [], []
        if self.params is not None:
            d, g, s = self.d, self.g, self.s
            ids, a_d, a_g, a_s = level1(v[d], v[g], v[s], **self.params)
            np.add.at(leave, d, ids)
            np.subtract.at(leave, s, ids)
            for r_idx, sign in ((d, 1.0), (s, -1.0)):
                for c_idx, a in ((d, a_d), (g, a_g), (s, a_s)):
                    rows.append(r_idx)
                    cols.append(c_idx)
                    vals.append(sign * a)
            ea.append(d)
            eb.append(s)
            gp.append(np.maximum(0.5 * (np.abs(a_d) + np.abs(a_s)), GMIN))
        if self.b1.size:  # sinh cells: current n1 -> n2 and a symmetric 2x2 conductance stamp
            a, b = self.b1, self.b2
            V = v[a] - v[b]
            cur = sinh_current(V, self.bg, self.bv0)
            gc = sinh_conductance(V, self.bg, self.bv0)
            np.add.at(leave, a, cur)
            np.subtract.at(leave, b, cur)
            rows += [a, a, b, b]
            cols += [a, b, a, b]
            vals += [gc, -gc, -gc, gc]
            ea.append(a)
            eb.append(b)
            gp.append(gc)
        if self.cells is not None:
            nodes, cur, r, c, val, a, b, g = self.cells.stamp(v)
            np.add.at(leave, nodes, cur)
            rows.append(r)
            cols.append(c)
            vals.append(val)
            ea.append(a)
            eb.append(b)
            gp.append(g)
        if not rows:
            z = np.zeros(0, np.int64)
            return leave, (z, z, np.zeros(0)), (z, z, np.zeros(0))
        cat = np.concatenate
        return leave, (cat(rows), cat(cols), cat(vals)), (cat(ea), cat(eb), cat(gp))

    @property
    def inner_voltages(self):
        """(nodes, volt) of the condensed cells' inner nodes at the last evaluation."""
        if self.cells is None or self.cells.vm is None:
            return None
        return self.cells.m, self.cells.vm.copy()
