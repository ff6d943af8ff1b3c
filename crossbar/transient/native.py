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
from crossbar.transient.energy import PowerMeter
from crossbar.transient.plan import capacitor_table
from crossbar.topology import check_netlist, check_topology
from devices.errors import ConvergenceError, NetlistError
from netlists.netlist import Netlist

if HAVE_CHOLMOD:
    from sksparse.cholmod import analyze as _cholmod_analyze

__all__ = ["TransientSystem", "NESDIS_MIN"]

log = logging.getLogger(__name__)

NESDIS_MIN = 20_000
"""Unknowns from which ``ordering="auto"`` uses CHOLMOD's nested dissection.  Measured on
the N = 256 benchmark crossbar (198k unknowns, simplicial LDL'): entries of L and time of
one solve: geometric 4.46M / 21 ms, AMD 5.32M / 25 ms, METIS 3.37M / 16 ms,
nesdis 3.24M / 13.5 ms."""

RESIDUAL_EVERY = 16
"""The KCL residual is evaluated every this many steps (and at the last one)."""


class _Factors:
    """Factorizations of SPD matrices sharing one sparsity pattern (one symbolic analysis)."""

    def __init__(self, pattern: sp.csc_matrix, method: str, perm: np.ndarray | None, ordering: str = "given"):
        self.method = _resolve(method)
        self.perm = perm
        self.n = pattern.shape[0]
        self._sym = None
        if self.method == "cholmod" and self.n:
            # simplicial LDL': one right-hand side at a time is 4x faster than the
            # supernodal factor's solve here (measured N=128: 2.2 ms vs 9.6 ms)
            om = ordering if perm is None else "natural"
            self._sym = _cholmod_analyze(self._permute(pattern), mode="simplicial", ordering_method=om)
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
    ordering : {"auto", "geometric", "nesdis", "metis", "amd"}
        Fill-reducing ordering.  ``"auto"``: CHOLMOD's nested dissection (``nesdis``) from
        :data:`NESDIS_MIN` unknowns on (its analysis costs ~2 s at N = 256 but the factor
        has ~30 % fewer entries than the geometric ordering made for the DC solver,
        and the per-step solve is what a long run pays for), else the geometric one.
    """

    def __init__(self, netlist: Netlist, switched=(), *, factorization: str = "auto", blas_threads: int | None = 1,
                 ordering: str = "auto"):
        check_netlist(netlist, "transient()")
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
        c1, c2, cv = capacitor_table(netlist)
        self.n_capacitors = cv.size
        cap = sp.csr_matrix((n, n))
        if cv.size:
            diag = np.zeros(n)
            grounded = (c1 == 0) | (c2 == 0)
            np.add.at(diag, np.where(c1 == 0, c2, c1)[grounded], cv[grounded])
            cap = _laplacian(n, c1[~grounded], c2[~grounded], cv[~grounded]) + sp.diags(diag)
            cap = sp.csr_matrix(cap)
        self.C = cap.tocsr()
        self.Cff = self.C[self.free][:, self.free].tocsc()
        # pattern of every matrix the run may factorize: all resistors (switched ones
        # with unit weight) and all capacitors
        pattern = _laplacian(n, np.asarray(R.n1), np.asarray(R.n2), np.ones(len(R)))
        pattern = (abs(pattern) + abs(self.C)).tocsr()[self.free][:, self.free]
        pattern = (pattern + sp.eye(self.free.size)).tocsc()
        perm, order = None, "amd"
        if ordering == "auto":
            ordering = "nesdis" if self.free.size >= NESDIS_MIN else "geometric"
        if ordering == "geometric":
            xy = getattr(netlist.layout, "node_xy", None)
            if xy is not None and len(xy) == n and self.free.size >= 4 * 256:
                perm = geometric_nested_dissection(np.asarray(xy)[self.free], pattern)
        elif ordering in ("nesdis", "metis", "amd"):
            order = ordering
        else:
            raise NetlistError(f"ordering must be 'auto', 'geometric', 'nesdis', 'metis' or 'amd', got {ordering!r}")
        with self._blas():
            try:
                self.factors = _Factors(pattern, factorization, perm, order)
            except Exception as exc:  # CHOLMOD built without METIS: no nesdis / metis
                if order in ("amd",) or perm is not None:
                    raise
                log.warning("ordering %r unavailable (%s); using AMD", order, exc)
                self.factors = _Factors(pattern, factorization, None, "amd")
        self.ordering = order if perm is None else "geometric"
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
        Lf = L[self.free]
        self.Gff = Lf[:, self.free].tocsc()
        self.Gfd = Lf[:, self.driven].tocsr()
        Ld = L[self.driven]
        self.Ldf = Ld[:, self.free].tocsr()
        self.Ldd = Ld[:, self.driven].tocsr()
        self._state = key
        self._cache = {}
        return True

    def _solver(self, a):
        f = self._cache.get(a)
        if f is None:
            A = self.Gff if a == 0.0 else (self.Gff + a * self.Cff)
            f = self._cache[a] = self.factors.factor(A.tocsc())
        return f

    def run(self, times, orders, vsrc, isrc, sw_values, keep=None, progress=None, power_labels=None):
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
        power_labels : ndarray of int, optional
            A group number (0..G-1) per resistor of the netlist: the energy dissipated in
            each group during each step is returned (``info["energy"]``, (T, G), joule; see
            :class:`PowerMeter`), with the numerical loss of backward-Euler steps
            (``info["numerical"]``) and the energy stored in the capacitors
            (``info["stored"]``, (T,), joule).

        Returns
        -------
        v : ndarray (T, len(keep)) or None, volt
        i : ndarray (T, n_V), ampere (SPICE sign)
        info : dict
            ``residual`` (largest KCL residual, ampere), ``factorizations``.
        """
        with self._blas():
            return self._run(times, orders, vsrc, isrc, sw_values, keep, progress, power_labels)

    def _run(self, times, orders, vsrc, isrc, sw_values, keep, progress, power_labels):
        net = self.netlist
        T = times.size
        n, free, driven = self.n, self.free, self.driven
        I = net.isources
        nf = free.size

        def injection(k):
            """Current-source currents injected into (free, driven) nodes at time point k, A."""
            if not len(I):
                return None, None
            inj = np.zeros(n)
            np.add.at(inj, I.nneg, isrc[k])
            np.subtract.at(inj, I.npos, isrc[k])
            return inj[free], inj[driven]

        # block form: f = free nodes, d = driven nodes (ground carries no unknown)
        Cff, Cfd, Cdf, Cdd = self.Cff, self.C[free][:, driven].tocsr(), self.C[driven][:, free].tocsr(), \
            self.C[driven][:, driven].tocsr()
        cff = Cff.diagonal() if (Cff - sp.diags(Cff.diagonal())).nnz == 0 else None  # C_ff diagonal (crossbars)
        has_cfd = Cfd.nnz > 0
        vd_all = vsrc * self.sigma[None, :]
        out_i = np.empty((T, len(net.vsources)))
        out_v = None if keep is None else np.empty((T, keep.size))
        vfull = np.zeros(n)
        resid = 0.0
        meter = None if power_labels is None else PowerMeter(self.netlist, self.sw_rows, power_labels, T)
        # DC operating point at times[0] (capacitors open, no capacitor current)
        self._set_state(sw_values[0])
        vd = vd_all[0].copy()
        inj_f, inj_d = injection(0)
        rhs = -(self.Gfd @ vd)
        if inj_f is not None:
            rhs += inj_f
        vf = self._solver(0.0)(rhs) if nf else np.zeros(0)
        qf, qd = np.zeros(nf), np.zeros(driven.size)
        resid = max(resid, self._residual(vf, vd, qf, inj_f))
        out_i[0] = self._supply(vf, vd, qd, inj_d)
        if out_v is not None or meter is not None:
            vfull[free], vfull[driven] = vf, vd
        if out_v is not None:
            out_v[0] = vfull[keep]
        if meter is not None:
            meter.record(0, vfull, sw_values[0])
        for k in range(T - 1):
            h = times[k + 1] - times[k]
            order = orders[k]
            # steps equal to 10 significant digits share one factorization (the step used
            # is then h (1 + O(1e-10)), far below the integration error)
            a = float(f"{(1.0 if order == 1 else 2.0) / h:.10e}")
            b = 0.0 if order == 1 else 1.0
            self._set_state(sw_values[k + 1])
            vd1 = vd_all[k + 1]
            dvd = vd1 - vd
            inj_f, inj_d = injection(k + 1)
            # G_ff + a C_ff) vf1 = inj - G_fd vd1 + a (C_ff vf - C_fd (vd1 - vd)) + b qf
            rhs = a * (cff * vf) if cff is not None else a * (Cff @ vf)
            rhs -= self.Gfd @ vd1
            if has_cfd:
                rhs -= a * (Cfd @ dvd)
            if b:
                rhs += qf
            if inj_f is not None:
                rhs += inj_f
            vf1 = self._solver(a)(rhs)
            dvf = vf1 - vf
            # capacitor currents: q = a C (v1 - v) - b q
            qf_new = a * (cff * dvf) if cff is not None else a * (Cff @ dvf)
            if has_cfd:
                qf_new += a * (Cfd @ dvd)
            if b:
                qf_new -= qf
            qd = a * (Cdf @ dvf + Cdd @ dvd) - b * qd
            vf, vd, qf = vf1, vd1, qf_new
            if (k + 1) % RESIDUAL_EVERY == 0 or k == T - 2:
                if not np.all(np.isfinite(vf)):
                    raise ConvergenceError(f"non-finite node voltages at t = {times[k + 1]!r} s (step {k + 1})")
                resid = max(resid, self._residual(vf, vd, qf, inj_f))
            out_i[k + 1] = self._supply(vf, vd, qd, inj_d)
            if out_v is not None or meter is not None:
                vfull[free], vfull[driven] = vf, vd
            if out_v is not None:
                out_v[k + 1] = vfull[keep]
            if meter is not None:
                meter.record(k + 1, vfull, sw_values[k + 1], h, order)
            if progress is not None and (k + 1) % 64 == 0:
                progress(64)
        if not np.all(np.isfinite(out_i)):
            raise ConvergenceError("non-finite source currents in the transient result")
        info = {"residual": resid, "factorizations": self.factors.count}
        if meter is not None:
            info["energy"], info["numerical"], info["stored"] = meter.energy, meter.numerical, meter.stored
        return out_v, out_i, info

    def _residual(self, vf, vd, qf, inj_f):
        """Largest KCL residual at the free nodes, ampere."""
        if not self.free.size:
            return 0.0
        r = self.Gff @ vf + self.Gfd @ vd + qf
        if inj_f is not None:
            r -= inj_f
        return float(np.max(np.abs(r)))

    def _supply(self, vf, vd, qd, inj_d):
        """SPICE branch currents of the voltage sources, ampere."""
        supply = self.Ldf @ vf + self.Ldd @ vd + qd
        if inj_d is not None:
            supply -= inj_d
        return -self.sigma * supply
