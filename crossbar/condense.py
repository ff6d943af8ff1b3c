"""Nonlinear static condensation of 1T1R cells.

A node ``m`` that touches exactly one resistor (to ``a``) and the drain or source of one
MOSFET (whose other channel terminal is ``b``, gate ``g``, bulk ``k``), and nothing else,
is eliminated from the global Newton system: for given ``v_a, v_b, v_g, v_k`` its
voltage solves the scalar KCL

    f(v_m) = (v_a - v_m) / r  -  I_ch(v_m, v_g, v_b)  -  gmin (v_m - v_k)  = 0

where ``I_ch`` is the channel current from ``m`` to ``b``.  ``f`` is strictly decreasing
in ``v_m`` (channel and junction conductances are >= 0), so the root is unique and lies
between the smallest and the largest of ``v_a, v_b, v_k``; it is found for all cells at
once by Newton's method safeguarded by bisection.  The cell then acts as one element
with terminal currents (leaving the node)

    a: I_a = (v_a - v_m) / r,      b: -I_ch,      k: I_ch - I_a

whose derivatives follow by implicit differentiation, with
``D = 1/r + dI_ch/dv_m + gmin``:  ``dv_m/dv_a = (1/r)/D``,
``dv_m/dv_x = -(dI_ch/dv_x)/D`` for ``x`` in ``b, g`` and ``dv_m/dv_k = gmin/D``.

The global system then has the size of a crossbar with folded cells (two nodes per
cell instead of three), which is what makes MOS crossbars as cheap as linear ones.
"""

from __future__ import annotations

import numpy as np

from crossbar.mosfet import level1

__all__ = ["CondensedCells"]


class CondensedCells:
    """The condensable 1T1R cells of a netlist (see the module docstring)."""

    def __init__(self, mos, res, m, a, b, g, k, r, drain_side, params, gmin):
        self.mos, self.res = mos, res  # indices into the MOSFET and resistor tables
        self.m, self.a, self.b, self.g, self.k = m, a, b, g, k
        self.r = r
        self.drain_side = drain_side  # True: m is the drain
        self.params = {key: val[mos] for key, val in params.items()}
        self.gmin = gmin
        self.vm = None

    def __len__(self):
        return self.m.size

    @classmethod
    def find(cls, netlist, fixed: np.ndarray, params: dict, gmin: float):
        """Cells whose inner node is free (``fixed[m]`` False) and touches nothing else."""
        R, V, I, M, B = netlist.resistors, netlist.vsources, netlist.isources, netlist.mosfets, netlist.sinh_cells
        n = len(netlist.nodes)
        if not len(M):
            return None
        deg_r = np.bincount(R.n1, minlength=n) + np.bincount(R.n2, minlength=n)
        deg_ds = np.bincount(M.d, minlength=n) + np.bincount(M.s, minlength=n)
        other = np.zeros(n, np.int64)
        for arr in (M.g, M.b, V.npos, V.nneg, I.npos, I.nneg, B.n1, B.n2):
            other += np.bincount(arr, minlength=n)
        ok_node = (deg_r == 1) & (deg_ds == 1) & (other == 0) & ~fixed
        ok_node[0] = False
        res_of = np.full(n, -1, np.int64)
        rows = np.arange(len(R))
        res_of[R.n1[ok_node[R.n1]]] = rows[ok_node[R.n1]]
        res_of[R.n2[ok_node[R.n2]]] = rows[ok_node[R.n2]]
        use_d = ok_node[M.d]
        use_s = ok_node[M.s] & ~use_d
        pick = use_d | use_s
        if not pick.any():
            return None
        mos = np.flatnonzero(pick)
        drain_side = use_d[mos]
        m = np.where(drain_side, M.d[mos], M.s[mos])
        b = np.where(drain_side, M.s[mos], M.d[mos])
        res = res_of[m]
        a = np.where(R.n1[res] == m, R.n2[res], R.n1[res])
        return cls(mos, res, m, a, b, M.g[mos].copy(), M.b[mos].copy(), np.asarray(R.value)[res], drain_side,
                   params, gmin)

    def _channel(self, vm, vb, vg, idx=None):
        """I_ch (m -> b) and its partials with respect to v_m, v_b, v_g (cells ``idx``, default all)."""
        p = self.params if idx is None else {key: val[idx] for key, val in self.params.items()}
        ds = self.drain_side if idx is None else self.drain_side[idx]
        vd = np.where(ds, vm, vb)
        vs = np.where(ds, vb, vm)
        ids, d_vd, d_vg, d_vs = level1(vd, vg, vs, p["polarity"], p["vto"], p["kp"], p["lam"], p["w"], p["l"])
        i_ch = np.where(ds, ids, -ids)
        d_m = np.where(ds, d_vd, -d_vs)
        d_b = np.where(ds, d_vs, -d_vd)
        d_g = np.where(ds, d_vg, -d_vg)
        return i_ch, d_m, d_b, d_g

    def solve_inner(self, v: np.ndarray, max_iter: int = 200) -> np.ndarray:
        """Voltage of every inner node for node voltages ``v``.

        Newton's method on the monotone scalar KCL, kept inside a shrinking bracket
        (bisection when a step leaves it); only unconverged cells are iterated.  A cell
        stops when its step is below 8 ulp of its voltage (or 1e-18 V).
        """
        va, vb, vg, vk = v[self.a], v[self.b], v[self.g], v[self.k]
        lo = np.minimum(np.minimum(va, vb), vk)
        hi = np.maximum(np.maximum(va, vb), vk)
        x = np.clip(self.vm if self.vm is not None else 0.5 * (va + vb), lo, hi)
        gr_all = 1.0 / self.r
        act = np.arange(x.size)
        for _ in range(max_iter):
            xa, la, ha = x[act], lo[act], hi[act]
            gr = gr_all[act]
            i_ch, d_m, _, _ = self._channel(xa, vb[act], vg[act], act)
            f = gr * (va[act] - xa) - i_ch - self.gmin * (xa - vk[act])
            # f is decreasing: f > 0 means the root lies above xa
            la = np.where(f > 0, xa, la)
            ha = np.where(f < 0, xa, ha)
            x_new = xa + f / (gr + d_m + self.gmin)
            out = (x_new < la) | (x_new > ha)
            x_new = np.where(out, 0.5 * (la + ha), x_new)
            done = (np.abs(x_new - xa) <= 8 * np.spacing(np.abs(x_new)) + 1e-18) | (f == 0) | (ha - la <= 1e-18)
            x[act], lo[act], hi[act] = x_new, la, ha
            act = act[~done]
            if act.size == 0:
                break
        self.vm = x
        return x

    def stamp(self, v: np.ndarray):
        """Terminal currents and Jacobian entries at node voltages ``v``.

        Returns
        -------
        nodes, leave : arrays
            Current (A) leaving each listed node into the cells.
        rows, cols, vals : arrays
            Jacobian entries d(leave[row]) / d v[col] (S), in node indices.
        ea, eb, gp : arrays
            A symmetric conductance per cell between ``a`` and ``b`` for the preconditioner.
        """
        vm = self.solve_inner(v)
        va, vb, vg, vk = v[self.a], v[self.b], v[self.g], v[self.k]
        gr = 1.0 / self.r
        i_ch, d_m, d_b, d_g = self._channel(vm, vb, vg)
        i_a = gr * (va - vm)
        D = gr + d_m + self.gmin
        dm = {"a": gr / D, "b": -d_b / D, "g": -d_g / D, "k": self.gmin / D}
        # leaving currents: a: i_a, b: -i_ch, k: i_ch - i_a
        dia = {"a": gr * (1 - dm["a"]), "b": -gr * dm["b"], "g": -gr * dm["g"], "k": -gr * dm["k"]}
        dich = {x: d_m * dm[x] + (d_b if x == "b" else d_g if x == "g" else 0.0) for x in "abgk"}
        term = {"a": self.a, "b": self.b, "g": self.g, "k": self.k}
        rows, cols, vals = [], [], []
        for x in "abgk":
            rows += [self.a, self.b, self.k]
            cols += [term[x]] * 3
            vals += [dia[x], -dich[x], dich[x] - dia[x]]
        nodes = np.concatenate([self.a, self.b, self.k])
        leave = np.concatenate([i_a, -i_ch, i_ch - i_a])
        gp = np.maximum(0.5 * (np.abs(dia["a"]) + np.abs(dia["b"])), self.gmin)
        return (nodes, leave, np.concatenate(rows), np.concatenate(cols),
                np.concatenate([np.broadcast_to(x, self.a.shape) for x in vals]), self.a, self.b, gp)
