"""Native transient integration: backward Euler and trapezoidal rule on the reduced nodal system.

Every voltage source has one terminal on ground (wordline drivers, TIA virtual grounds),
so the nodes it fixes ("driven", d) leave the unknowns and the others ("free", f) obey
KCL with capacitor currents ``q`` (the current leaving each node through its
capacitors)::

    G_f. v(t) + q_f(t) = i_inj,f(t),          q = C dv/dt

``G`` is the conductance Laplacian, ``C`` the capacitance Laplacian (a capacitor to
ground adds to the diagonal only).  One step from ``t_n`` to ``t_{n+1} = t_n + h`` with
the capacitor companion model of SPICE::

    q^{n+1} = a C (v^{n+1} - v^n) - b q^n        backward Euler: a = 1/h, b = 0
                                                  trapezoidal:    a = 2/h, b = 1
    +------------------+   +----------+     +----------------------------------------------+
    | G_ff + a C_ff    | * | v_f^{n+1}|  =  | i_inj,f - G_fd v_d^{n+1} + a C_f.(v^n - w) + b q_f^n |
    +------------------+   +----------+     +----------------------------------------------+

with ``w`` the vector holding ``v_d^{n+1}`` on driven nodes and 0 elsewhere.  The matrix
is symmetric positive definite; it depends only on ``a`` and the switch state, so a
linear circuit on a uniform grid is factorized once per switch state and method (the
factors are cached by ``(state, a)``; the symbolic analysis is done once).  The state
at ``t_0`` is the DC operating point (capacitors open, ``q = 0``).  The current a source
supplies into its driven node is ``G_d. v + q_d - i_inj,d``; the reported branch current
is SPICE's (into ``n+``), ``-supply`` for a source whose ``n+`` is the driven node.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from crossbar.native.factor import HAVE_CHOLMOD
from crossbar.native.factor import laplacian as _laplacian
from crossbar.native.factor import resolve as _resolve
from crossbar.native.options import blas_threads
from crossbar.ordering import geometric_nested_dissection
from crossbar.topology import check_topology
from devices.errors import ConvergenceError, NetlistError
from netlists.netlist import Netlist

if HAVE_CHOLMOD:
    from sksparse.cholmod import analyze as _cholmod_analyze

__all__ = ["TransientSystem"]

log = logging.getLogger(__name__)


class _Factors:
    """Factorizations of SPD matrices sharing one sparsity pattern (one symbolic analysis)."""

    def __init__(self, pattern: sp.csc_matrix, method: str, perm: np.ndarray | None):
        self.method = _resolve(method)
        self.perm = perm
        self.n = pattern.shape[0]
        self._sym = None
        if self.method == "cholmod" and self.n:
            self._sym = _cholmod_analyze(self._permute(pattern), mode="supernodal",
                                         ordering_method="amd" if perm is None else "natural")
        self.count = 0

    def _permute(self, A):
        if self.perm is None:
            return A.tocsc()
        return A.tocsr()[self.perm][:, self.perm].tocsc()

    def factor(self, A: sp.spmatrix):
        """A solve function ``b -> A^{-1} b`` for ``A`` (pattern within the analysed one)."""
        self.count += 1
        if self.n == 0:
            return lambda b: np.zeros_like(b)
        Ap = self._permute(A)
        if self.method == "cholmod":
            f = self._sym.cholesky(Ap)
        else:
            lu = spla.splu(Ap, permc_spec="MMD_AT_PLUS_A" if self.perm is None else "NATURAL",
                           options={"SymmetricMode": True}, diag_pivot_thresh=0.0)
            f = lu.solve
        perm = self.perm
        if perm is None:
            return f
        inv = np.empty_like(perm)
        inv[perm] = np.arange(perm.size)

        def solve(b):
            return f(b[perm])[inv]

        return solve


def _capacitors(netlist: Netlist):
    """(n1, n2, value) arrays of the netlist's capacitors (farad), validated."""
    table = getattr(netlist, "capacitors", None)
    if table is None or len(table) == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    c = np.asarray(table.value, dtype=float)
    bad = ~(np.isfinite(c) & (c > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise NetlistError(f"capacitor {table.names[k]!r}: value must be finite and > 0 F, got {c[k]!r}")
    return np.asarray(table.n1, np.int64), np.asarray(table.n2, np.int64), c


class TransientSystem:
    """A linear netlist prepared for transient runs (see the module docstring).

    Parameters
    ----------
    netlist : netlists.Netlist
        Linear (no MOSFET), every voltage source with one terminal on ground.
    switched : sequence of str
        Names of resistors whose value changes during runs (see :class:`Switch`).
    factorization : {"auto", "cholmod", "superlu"}
    blas_threads : int or None
        BLAS threads while running (as :class:`crossbar.SolverOptions`).
    """

    def __init__(self, netlist: Netlist, switched=(), *, factorization: str = "auto", blas_threads: int | None = 1):
        if not isinstance(netlist, Netlist):
            raise NetlistError(f"transient() takes a netlists.Netlist, got {type(netlist).__name__}")
        if not netlist.is_linear:
            raise NetlistError(f"the native transient solver handles linear netlists; this one has "
                               f"{len(netlist.mosfets)} MOSFET(s) (model TG gates as Switch events on resistors)")
        for kind in ("inductors",):
            table = getattr(netlist, kind, None)
            if table is not None and len(table):
                raise NetlistError(f"the native transient solver does not handle {kind} yet ({len(table)} in the netlist)")
        check_topology(netlist)
        self.netlist = netlist
        self.factorization = factorization
        self.blas_threads = blas_threads
        V, I, R = netlist.vsources, netlist.isources, netlist.resistors
        if len(V) and not np.all((V.npos == 0) | (V.nneg == 0)):
            k = int(np.flatnonzero((V.npos != 0) & (V.nneg != 0))[0])
            raise NetlistError(f"the native transient solver needs every voltage source to have one terminal on "
                               f"ground; {V.names[k]!r} is floating")
        n = len(netlist.nodes)
        self.n = n
        self.sigma = np.where(V.nneg == 0, 1.0, -1.0)
        self.driven = np.asarray(np.where(V.nneg == 0, V.npos, V.nneg), np.int64)
        fixed = np.zeros(n, bool)
        fixed[0] = True
        fixed[self.driven] = True
        self.free = np.flatnonzero(~fixed)
        # resistors: static part and switched part
        rows = {name: k for k, name in enumerate(R.names)}
        sw = []
        for name in switched:
            key = str(name).lower()
            if key not in rows:
                raise NetlistError(f"switch {name!r}: no resistor of that name in netlist {netlist.title!r}")
            sw.append(rows[key])
        self.sw_rows = np.asarray(sw, np.int64)
        self.sw_initial = np.asarray(R.value, float)[self.sw_rows]
        static = np.ones(len(R), bool)
        static[self.sw_rows] = False
        self.L0 = _laplacian(n, R.n1[static], R.n2[static], 1.0 / R.value[static]).tocsr()
        self.sw_a, self.sw_b = np.asarray(R.n1)[self.sw_rows], np.asarray(R.n2)[self.sw_rows]
        c1, c2, cv = _capacitors(netlist)
        self.n_capacitors = cv.size
        cap = sp.csr_matrix((n, n))
        if cv.size:
            diag = np.zeros(n)
            grounded = (c1 == 0) | (c2 == 0)
            np.add.at(diag, np.where(c1 == 0, c2, c1)[grounded], cv[grounded])
            cap = _laplacian(n, c1[~grounded], c2[~grounded], cv[~grounded]) + sp.diags(diag)
            cap = sp.csr_matrix(cap)
        self.C = cap.tocsr()
        self.Cf = self.C[self.free]
        self.Cff = self.Cf[:, self.free].tocsc()
        self.Cd = self.C[self.driven]
        # pattern of every matrix the run may factorize: all resistors (switched ones
        # with unit weight) and all capacitors
        pattern = _laplacian(n, np.asarray(R.n1), np.asarray(R.n2), np.ones(len(R)))
        pattern = (abs(pattern) + abs(self.C)).tocsr()[self.free][:, self.free]
        pattern = (pattern + sp.eye(self.free.size)).tocsc()
        perm = None
        xy = getattr(netlist.layout, "node_xy", None)
        if xy is not None and len(xy) == n and self.free.size >= 4 * 256:
            perm = geometric_nested_dissection(np.asarray(xy)[self.free], pattern)
        with self._blas():
            self.factors = _Factors(pattern, factorization, perm)
        self._state = None

    def _blas(self):
        return blas_threads(self.blas_threads)

    def _set_state(self, values):
        """Assemble G for switched resistances ``values`` (ohm; inf: open)."""
        key = tuple(values.tolist())
        if self._state == key:
            return False
        g = np.where(np.isinf(values), 0.0, 1.0 / values)
        L = self.L0
        if self.sw_rows.size:
            L = (L + _laplacian(self.n, self.sw_a, self.sw_b, g)).tocsr()
        self.L = L
        self.Lf = L[self.free]
        self.Gff = self.Lf[:, self.free].tocsc()
        self.Gfd = self.Lf[:, self.driven].tocsr()
        self.Ld = L[self.driven].tocsr()
        self._state = key
        self._cache = {}
        return True

    def _solver(self, a):
        f = self._cache.get(a)
        if f is None:
            A = self.Gff if a == 0.0 else (self.Gff + a * self.Cff)
            f = self._cache[a] = self.factors.factor(A.tocsc())
        return f

    def run(self, times, orders, vsrc, isrc, sw_values, keep=None, progress=None):
        """Integrate on the grid ``times``.

        Parameters
        ----------
        times : ndarray (T,)
            Time points, second, strictly increasing; ``times[0]`` is the DC point.
        orders : ndarray (T-1,) of int
            1 (backward Euler) or 2 (trapezoidal) for the step ending at ``times[k+1]``.
        vsrc, isrc : ndarray (T, n_V), (T, n_I)
            Source values at every time point, volt and ampere.
        sw_values : ndarray (T, n_switched)
            Switched resistances at every time point, ohm.
        keep : ndarray of int, optional
            Node indices whose voltages are returned (None: none).
        progress : callable, optional
            Called with the step count done (for a progress bar).

        Returns
        -------
        v : ndarray (T, len(keep)) or None, volt
        i : ndarray (T, n_V), ampere (SPICE sign)
        info : dict
            ``residual`` (largest KCL residual, ampere), ``factorizations``.
        """
        with self._blas():
            return self._run(times, orders, vsrc, isrc, sw_values, keep, progress)

    def _run(self, times, orders, vsrc, isrc, sw_values, keep, progress):
        net = self.netlist
        T = times.size
        n, free, driven = self.n, self.free, self.driven
        I = net.isources
        inj_all = np.zeros((T, n))
        if len(I):
            np.add.at(inj_all.T, I.nneg, isrc.T)
            np.subtract.at(inj_all.T, I.npos, isrc.T)
        vd_all = vsrc * self.sigma[None, :]
        out_i = np.empty((T, len(net.vsources)))
        out_v = None if keep is None else np.empty((T, keep.size))
        v = np.zeros(n)
        q = np.zeros(n)
        resid = 0.0
        # DC operating point at times[0] (capacitors open)
        self._set_state(sw_values[0])
        v[driven] = vd_all[0]
        rhs = inj_all[0, free] - self.Gfd @ vd_all[0]
        v[free] = self._solver(0.0)(rhs)
        resid = max(resid, self._residual(v, q, inj_all[0]))
        out_i[0] = self._supply(v, q, inj_all[0])
        if out_v is not None:
            out_v[0] = v[keep]
        w = np.zeros(n)
        for k in range(T - 1):
            h = times[k + 1] - times[k]
            order = orders[k]
            # steps equal to 10 significant digits share one factorization (the step used
            # is then h (1 + O(1e-10)), far below the integration error)
            a = float(f"{(1.0 if order == 1 else 2.0) / h:.10e}")
            b = 0.0 if order == 1 else 1.0
            self._set_state(sw_values[k + 1])
            vd1 = vd_all[k + 1]
            w[driven] = vd1
            w[free] = 0.0
            rhs = inj_all[k + 1, free] - self.Gfd @ vd1 + a * (self.Cf @ (v - w))
            if b:
                rhs += q[free]
            w[free] = self._solver(a)(rhs)
            q = a * (self.C @ (w - v)) - b * q
            v, w = w, v
            if not np.all(np.isfinite(v)):
                raise ConvergenceError(f"non-finite node voltages at t = {times[k + 1]!r} s (step {k + 1})")
            resid = max(resid, self._residual(v, q, inj_all[k + 1]))
            out_i[k + 1] = self._supply(v, q, inj_all[k + 1])
            if out_v is not None:
                out_v[k + 1] = v[keep]
            if progress is not None and (k + 1) % 64 == 0:
                progress(64)
        return out_v, out_i, {"residual": resid, "factorizations": self.factors.count}

    def _residual(self, v, q, inj):
        if not self.free.size:
            return 0.0
        r = self.Lf @ v + q[self.free] - inj[self.free]
        return float(np.max(np.abs(r)))

    def _supply(self, v, q, inj):
        supply = self.Ld @ v + q[self.driven] - inj[self.driven]
        return -self.sigma * supply
