"""The native nodal-analysis solver.

Two formulations, chosen per netlist:

**Reduced nodal analysis** (every voltage source has one terminal on ground, which is
the case for crossbars: wordline drivers and TIA virtual grounds).  The nodes fixed by
sources ("driven", d) leave the unknowns; the rest ("free", f) satisfy KCL::

    +-----------+-----------+   +-----+     +---------------------+
    |  G_ff     |  G_fd     |   | v_f |     |  i_inj,f            |
    +-----------+-----------+ * +-----+  =  +---------------------+
    |  G_df     |  G_dd     |   | v_d |     |  i_inj,d + i_supply |
    +-----------+-----------+   +-----+     +---------------------+

``G`` is the conductance Laplacian (resistors, plus ``gmin`` from MOSFET drain and
source to bulk), ``i_inj`` the currents injected by current sources.  For a linear
netlist ``G_ff`` is symmetric positive definite: it is factorized once by sparse
Cholesky (CHOLMOD, when scikit-sparse is installed; SciPy's SuperLU otherwise) and
reused for every right-hand side (batched inputs, adjoint transfer-matrix solves).
The current a source supplies into its driven node ``p`` is ``(G v)_p - i_inj,p``;
the branch current reported is SPICE's: positive from ``n+`` through the source to
``n-``, so ``i = -supply`` for a source whose ``n+`` is the driven node.

**Modified nodal analysis** (any floating voltage source)::

    +-----------+-----+   +-----+     +-------+
    |  G        |  B  |   |  v  |     | i_inj |
    +-----------+-----+ * +-----+  =  +-------+        B[n+, s] = +1, B[n-, s] = -1
    |  B^T      |  0  |   | i_v |     |  v_dc |
    +-----------+-----+   +-----+     +-------+

solved with SuperLU.

**MOSFETs** (level 1) make the system nonlinear: Newton-Raphson on the KCL residual
``F(v) = G v - i_inj + i_mos(v)`` with the Jacobian ``G + dI_mos/dv``.  The Jacobian
is not symmetric (transconductance), so in the reduced formulation each Newton step is
solved by GMRES preconditioned with the Cholesky factor of a symmetric conductance
approximation (each channel replaced by ``g_ds + g_m/2``), refactorized numerically
with the symbolic analysis kept.  Steps are limited to ``max_step`` volts and damped by
backtracking on the residual norm; non-convergence raises
:class:`devices.errors.ConvergenceError` with the iteration history.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr
from threadpoolctl import threadpool_limits

from crossbar.condense import CondensedCells
from crossbar.mosfet import level1
from crossbar.ordering import geometric_nested_dissection
from crossbar.topology import check_topology
from devices.errors import ConvergenceError, NetlistError
from netlists.netlist import Netlist

try:  # CHOLMOD through scikit-sparse (optional extra "cholmod")
    from sksparse.cholmod import analyze as _cholmod_analyze

    HAVE_CHOLMOD = True
except ImportError:  # pragma: no cover - exercised on machines without the extra
    HAVE_CHOLMOD = False

__all__ = ["NativeSystem", "SolverOptions", "prepare", "HAVE_CHOLMOD"]

GMIN = 1e-12
"""Conductance from MOSFET drain and source to bulk, siemens (SPICE's default gmin)."""

_warned_no_cholmod = False


@dataclass(frozen=True)
class SolverOptions:
    """Tolerances and limits of the native solver."""

    reltol: float = 1e-10
    """Relative tolerance on Newton steps and KCL residuals, dimensionless."""
    vntol: float = 1e-12
    """Absolute tolerance on Newton voltage steps, volt."""
    abstol: float = 1e-16
    """Absolute tolerance on KCL residuals, ampere."""
    max_iter: int = 100
    """Newton iterations before :class:`ConvergenceError`."""
    max_step: float = 0.5
    """Largest node-voltage change of one Newton step, volt."""
    factorization: str = "auto"
    """``"auto"`` (CHOLMOD when installed), ``"cholmod"`` or ``"superlu"``."""
    blas_threads: int | None = 1
    """Threads for the BLAS/OpenMP libraries while the solver runs.  NumPy, SciPy and
    CHOLMOD each load their own OpenBLAS; their idle threads spin and steal cores from
    each other, which made Newton-GMRES on 2 cores twice as slow.  ``None`` leaves the
    libraries' own settings."""


def _resolve(method: str) -> str:
    """The factorization actually used for ``SolverOptions.factorization``."""
    global _warned_no_cholmod
    if method == "auto":
        if not HAVE_CHOLMOD and not _warned_no_cholmod:
            warnings.warn("scikit-sparse (CHOLMOD) is not installed: the native solver uses SciPy's SuperLU, "
                          "which is several times slower on large crossbars (pip install '.[cholmod]')",
                          RuntimeWarning, stacklevel=5)
            _warned_no_cholmod = True
        return "cholmod" if HAVE_CHOLMOD else "superlu"
    if method == "cholmod" and not HAVE_CHOLMOD:
        raise NetlistError("factorization='cholmod' needs scikit-sparse (pip install '.[cholmod]')")
    if method not in ("cholmod", "superlu"):
        raise NetlistError(f"factorization must be 'auto', 'cholmod' or 'superlu', got {method!r}")
    return method


class _Factor:
    """A factorized SPD matrix with ``solve(b)`` and numeric ``refactor(A)``."""

    def __init__(self, A: sp.csc_matrix, method: str, perm: np.ndarray | None = None):
        self.perm = perm
        self.method = method = _resolve(method)
        self.n = A.shape[0]
        self.ordering = "amd" if perm is None else "nested-dissection"
        A = self._permute(A)
        if method == "cholmod":
            self._sym = _cholmod_analyze(A, mode="supernodal", ordering_method="amd" if perm is None else "natural")
            self._f = self._sym.cholesky(A)
        else:
            self._f = self._splu(A)

    def _permute(self, A):
        if self.perm is None:
            return A.tocsc()
        return A.tocsr()[self.perm][:, self.perm].tocsc()

    def _splu(self, A):
        spec = "MMD_AT_PLUS_A" if self.perm is None else "NATURAL"
        return spla.splu(A, permc_spec=spec, options={"SymmetricMode": True}, diag_pivot_thresh=0.0)

    def refactor(self, A: sp.csc_matrix) -> None:
        A = self._permute(A)
        if self.method == "cholmod":
            self._f.cholesky_inplace(A)
        else:
            self._f = self._splu(A)

    def solve(self, b: np.ndarray) -> np.ndarray:
        if self.n == 0:
            return np.zeros_like(b)
        if self.perm is not None:
            b = b[self.perm]
        x = self._f(b) if self.method == "cholmod" else self._f.solve(b)
        if self.perm is not None:
            out = np.empty_like(x)
            out[self.perm] = x
            return out
        return x


def _laplacian(n, a, b, g) -> sp.csr_matrix:
    i = np.concatenate([a, b, a, b])
    j = np.concatenate([a, b, b, a])
    v = np.concatenate([g, g, -g, -g])
    return sp.csr_matrix((v, (i, j)), shape=(n, n))


def prepare(netlist: Netlist, options: SolverOptions | None = None) -> "NativeSystem":
    """Check, assemble and (for a linear netlist) factorize ``netlist`` once.

    The returned :class:`NativeSystem` solves the netlist for any source values
    (``system.solve(sources)``) and gives transfer matrices, reusing the factorization.
    """
    return NativeSystem(netlist, options)


def _blas_limit(options):
    return threadpool_limits(limits=options.blas_threads) if options.blas_threads is not None else nullcontext()


class NativeSystem:
    """A netlist prepared for repeated native solves (see :func:`prepare`)."""

    def __init__(self, netlist: Netlist, options: SolverOptions | None = None):
        self.netlist = netlist
        self.options = options or SolverOptions()
        check_topology(netlist)
        with _blas_limit(self.options):
            self._setup()

    def _setup(self):
        netlist = self.netlist
        n = len(netlist.nodes)
        R, V, I, M = netlist.resistors, netlist.vsources, netlist.isources, netlist.mosfets
        self.n = n
        grounded = (V.nneg == 0) | (V.npos == 0)
        self.reduced = bool(np.all(grounded))
        # MOSFET parameters as arrays
        if len(M):
            models = [netlist.models[m] for m in netlist.model_names]
            self._mp = dict(
                polarity=np.array([1.0 if models[k].polarity == "nmos" else -1.0 for k in M.model]),
                vto=np.array([models[k].vto for k in M.model]),
                kp=np.array([models[k].kp for k in M.model]),
                lam=np.array([models[k].lambda_ for k in M.model]),
                w=np.asarray(M.w), l=np.asarray(M.l))
        n1, n2, rv = np.asarray(R.n1), np.asarray(R.n2), np.asarray(R.value)
        self.elim = np.zeros(0, np.int64)
        self.cells = None
        self.mos_normal = np.ones(len(M), bool)
        bulk_a, bulk_b = np.concatenate([M.d, M.s]), np.concatenate([M.b, M.b])
        if self.reduced:
            self.sigma = np.where(V.nneg == 0, 1.0, -1.0)  # v(driven) = sigma * dc
            self.driven = np.where(V.nneg == 0, V.npos, V.nneg)
            fixed = np.zeros(n, bool)
            fixed[0] = True
            fixed[self.driven] = True
            if len(M):  # 1T1R cells: inner node condensed out of the Newton system
                self.cells = CondensedCells.find(netlist, fixed, self._mp, GMIN)
            if self.cells is not None:
                keep_r = np.ones(len(R), bool)
                keep_r[self.cells.res] = False
                n1, n2, rv = n1[keep_r], n2[keep_r], rv[keep_r]
                self.mos_normal[self.cells.mos] = False
                # the inner node's junction to bulk is inside the cell model
                inner = np.zeros(n, bool)
                inner[self.cells.m] = True
                keep_j = ~inner[bulk_a]
                bulk_a, bulk_b = bulk_a[keep_j], bulk_b[keep_j]
            # series nodes (two resistors, nothing else) are eliminated exactly
            n1, n2, rv = self._series_reduce(n1, n2, rv)
        # linear conductance Laplacian over all nodes (ground included, index 0)
        ga = np.concatenate([n1, bulk_a])
        gb = np.concatenate([n2, bulk_b])
        gv = np.concatenate([1.0 / rv, np.full(bulk_a.size, GMIN)])
        keep = ga != gb  # drain/source tied to bulk: the junction is shorted
        self.L = _laplacian(n, ga[keep], gb[keep], gv[keep])
        if self.reduced:
            self._setup_reduced()
        else:
            self._setup_mna()

    # ------------------------------------------------------------------ set-up
    def _series_reduce(self, n1, n2, rv):
        """Eliminate nodes joined to exactly two resistors and nothing else.

        Such a node ``m`` between ``a`` (``r_a``) and ``b`` (``r_b``) is replaced by one
        resistor ``r_a + r_b`` from ``a`` to ``b`` (exact); its voltage is recovered after
        the solve as ``(v_a / r_a + v_b / r_b) / (1 / r_a + 1 / r_b)``.  A 1T1R cell with
        a linear access transistor loses its inner node this way.  Only nodes whose
        neighbours both stay are taken, so chains are shortened, never mis-joined.
        """
        net = self.netlist
        n = self.n
        V, I, M = net.vsources, net.isources, net.mosfets
        if len(n1) < 2:
            return n1, n2, rv
        deg = np.bincount(n1, minlength=n) + np.bincount(n2, minlength=n)
        touched = np.zeros(n, bool)
        touched[0] = True
        for arr in (V.npos, V.nneg, I.npos, I.nneg, M.d, M.g, M.s, M.b):
            touched[arr] = True
        cand = (deg == 2) & ~touched
        if not cand.any():
            return n1, n2, rv
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
            return n1, n2, rv
        ra, rb = rv[ra_idx], rv[rb_idx]
        drop = np.zeros(len(n1), bool)
        drop[ra_idx] = True
        drop[rb_idx] = True
        join = a != b  # a == b: the node hangs off one node by two resistors, no current
        self.elim, self.elim_a, self.elim_b = m, a, b
        self.elim_wa = (1 / ra) / (1 / ra + 1 / rb)
        return (np.concatenate([n1[~drop], a[join]]), np.concatenate([n2[~drop], b[join]]),
                np.concatenate([rv[~drop], (ra + rb)[join]]))

    def _recover(self, v):
        """Voltages of eliminated series nodes, in place on ``v`` (S, n).  (Condensed cells'
        inner nodes are set by :meth:`_newton_reduced`.)"""
        if self.elim.size:
            v[:, self.elim] = self.elim_wa * v[:, self.elim_a] + (1 - self.elim_wa) * v[:, self.elim_b]
        return v

    def _ordering(self, free):
        layout = self.netlist.layout
        xy = getattr(layout, "node_xy", None)
        if xy is None or len(xy) != self.n or free.size < 4 * 256:
            return None
        return geometric_nested_dissection(np.asarray(xy)[free], self.Gff)

    def _setup_reduced(self):
        n = self.n
        is_driven = np.zeros(n, bool)
        is_driven[0] = True
        is_driven[self.driven] = True
        is_driven[self.elim] = True  # eliminated series nodes are not unknowns either
        if self.cells is not None:
            is_driven[self.cells.m] = True  # nor the condensed inner nodes of 1T1R cells
        self.free = np.flatnonzero(~is_driven)
        self.pos = np.full(n, -1, np.int64)
        self.pos[self.free] = np.arange(self.free.size)
        self.Lf = self.L[self.free]  # rows of free nodes, all columns (also the residual check)
        self.Gff = self.Lf[:, self.free].tocsc()
        self.Gfd = self.Lf[:, self.driven].tocsr()
        self.Ld = self.L[self.driven].tocsr()  # rows of driven nodes, all columns
        self.factor = None
        self.perm = self._ordering(self.free)
        if self.netlist.is_linear:
            self.factor = _Factor(self.Gff, self.options.factorization, self.perm)

    def _setup_mna(self):
        V = self.netlist.vsources
        n, m = self.n, len(V)
        nv = n - 1
        rows = np.concatenate([V.npos, V.nneg]) - 1
        cols = np.concatenate([np.arange(m), np.arange(m)])
        vals = np.concatenate([np.ones(m), -np.ones(m)])
        ok = rows >= 0
        B = sp.csr_matrix((vals[ok], (rows[ok], cols[ok])), shape=(nv, m))
        self.mna_lin = sp.bmat([[self.L[1:, 1:], B], [B.T, None]], format="csc")
        self.factor = None
        if self.netlist.is_linear:
            self._lu = spla.splu(self.mna_lin)

    # ------------------------------------------------------------------ values
    def _source_values(self, sources):
        """(vdc, idc, batched): arrays of shape (S, nV), (S, nI)."""
        net = self.netlist
        V, I = net.vsources, net.isources
        values = dict(sources or {})
        lengths = {np.size(v) for v in values.values() if np.ndim(v) > 0}
        if len(lengths) > 1:
            raise NetlistError(f"batched source values must all have the same length, got lengths {sorted(lengths)}")
        batched = bool(lengths) or any(np.ndim(v) > 0 for v in values.values())
        S = lengths.pop() if lengths else 1
        vdc = np.repeat(np.asarray(V.dc, float)[None, :], S, axis=0)
        idc = np.repeat(np.asarray(I.dc, float)[None, :], S, axis=0)
        for name, value in values.items():
            kind, row = net._locate(name)
            arr = np.asarray(value, dtype=float)
            if arr.ndim > 1:
                raise NetlistError(f"source {name!r}: give a scalar or a 1-D array of sample values, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise NetlistError(f"source {name!r}: values must be finite")
            if kind == "v":
                vdc[:, row] = arr
            elif kind == "i":
                idc[:, row] = arr
            else:
                raise NetlistError(f"{name!r} is not an independent source; sources= takes V and I elements only")
        return vdc, idc, batched

    def _injection(self, idc):
        """Currents injected into every node by current sources, shape (S, n)."""
        I = self.netlist.isources
        inj = np.zeros((idc.shape[0], self.n))
        if len(I):
            np.add.at(inj.T, I.nneg, idc.T)
            np.subtract.at(inj.T, I.npos, idc.T)
        return inj

    # ------------------------------------------------------------------ solve
    def solve(self, sources=None, *, keep_voltages: bool = True, chunk: int = 256) -> xr.Dataset:
        """Operating point(s) for the given source values.

        Parameters
        ----------
        sources : dict, optional
            Source name -> value (V for voltage, A for current sources) or 1-D array of
            sample values (all arrays the same length S); arrays add a ``sample`` dim.
        keep_voltages : bool
            Return node voltages (``v``); ``False`` keeps only branch currents.
        chunk : int
            Most samples per block of right-hand sides; blocks are also kept to about
            64 MiB per dense (samples x nodes) array, so large crossbars stay in memory.

        Returns
        -------
        xarray.Dataset
            ``v`` (``node``; volt), ``i`` (``branch``; ampere, SPICE sign), with a
            leading ``sample`` dim for batched sources.
        """
        with _blas_limit(self.options):
            return self._solve(sources, keep_voltages, chunk)

    def _solve(self, sources, keep_voltages, chunk):
        vdc, idc, batched = self._source_values(sources)
        S = vdc.shape[0]
        # keep each block's dense (samples x nodes) arrays near 64 MiB (5 of them are alive)
        chunk = max(1, min(chunk, (1 << 23) // max(self.n, 1)))
        inj = self._injection(idc)
        v_all, i_all, iters, resid = [], [], [], []
        solver = self._solve_reduced if self.reduced else self._solve_mna
        x0 = None
        for start in range(0, S, chunk):
            sl = slice(start, min(S, start + chunk))
            v, i, it, res, x0 = solver(vdc[sl], inj[sl], x0)
            if keep_voltages:
                v_all.append(v[:, 1:])
            i_all.append(i)
            iters.append(it)
            resid.append(res)
        return self._dataset(np.concatenate(v_all) if keep_voltages else None, np.concatenate(i_all),
                             batched, int(max(iters)), float(max(resid)))

    def _dataset(self, v, i, batched, iters, resid):
        net = self.netlist
        dv = ("sample", "node") if batched else ("node",)
        di = ("sample", "branch") if batched else ("branch",)
        if not batched:
            v = None if v is None else v[0]
            i = i[0]
        data = {"i": (di, i, {"units": "A", "long_name": "voltage-source branch current (SPICE sign: into n+)"})}
        coords = {"branch": ("branch", list(net.vsources.names))}
        if v is not None:
            data["v"] = (dv, v, {"units": "V", "long_name": "node voltage"})
            coords["node"] = ("node", list(net.nodes[1:]))
        method = "mna-superlu" if not self.reduced else _resolve(self.options.factorization)
        return xr.Dataset(data, coords=coords, attrs={
            "backend": "native", "method": method, "newton_iterations": iters,
            "ordering": "nested-dissection" if getattr(self, "perm", None) is not None else "amd",
            "eliminated_series_nodes": int(self.elim.size),
            "residual": resid, "residual_units": "A", "title": net.title})

    # reduced formulation -----------------------------------------------------
    def _solve_reduced(self, vdc, inj, x0):
        S = vdc.shape[0]
        vd = vdc * self.sigma[None, :]  # (S, nd)
        rhs = inj[:, self.free] - (self.Gfd @ vd.T).T  # (S, nf)
        v = np.zeros((S, self.n))
        v[:, self.driven] = vd
        iters, resid = 0, 0.0
        if self.netlist.is_linear:
            v[:, self.free] = self.factor.solve(rhs.T).T if self.free.size else 0.0
            supply = (self.Ld @ v.T).T - inj[:, self.driven]
            resid = self._linear_residual(v, inj)
        else:
            leave_driven = np.zeros((S, self.driven.size))
            for s in range(S):
                v[s], it, r, leave = self._newton_reduced(v[s], rhs[s], x0)
                leave_driven[s] = leave[self.driven]
                x0 = v[s, self.free]
                iters, resid = max(iters, it), max(resid, r)
            supply = (self.Ld @ v.T).T - inj[:, self.driven] + leave_driven
        return self._recover(v), -self.sigma[None, :] * supply, iters, resid, x0

    def _linear_residual(self, v, inj):
        if not self.free.size:
            return 0.0
        r = (self.Lf @ v.T).T - inj[:, self.free]
        return float(np.max(np.abs(r)))

    def _stamps(self, v):
        """Nonlinear elements at node voltages ``v``.

        Returns the current leaving every node through them (n,), Jacobian triplets in
        node indices, and symmetric preconditioner edges (a, b, conductance).
        """
        M = self.netlist.mosfets
        leave = np.zeros(self.n)
        rows, cols, vals, ea, eb, gp = [], [], [], [], [], []
        k = self.mos_normal
        if k.any():
            d, g, s = M.d[k], M.g[k], M.s[k]
            mp = {key: val[k] for key, val in self._mp.items()}
            ids, a_d, a_g, a_s = level1(v[d], v[g], v[s], **mp)
            np.add.at(leave, d, ids)
            np.subtract.at(leave, s, ids)
            for r_idx, sign in ((d, 1.0), (s, -1.0)):
                for c_idx, a in ((d, a_d), (g, a_g), (s, a_s)):
                    rows.append(r_idx); cols.append(c_idx); vals.append(sign * a)
            ea.append(d); eb.append(s); gp.append(np.maximum(0.5 * (np.abs(a_d) + np.abs(a_s)), GMIN))
        if self.cells is not None:
            nodes, cur, r, c, val, a, b, g = self.cells.stamp(v)
            np.add.at(leave, nodes, cur)
            rows.append(r); cols.append(c); vals.append(val); ea.append(a); eb.append(b); gp.append(g)
        cat = np.concatenate
        return leave, (cat(rows), cat(cols), cat(vals)), (cat(ea), cat(eb), cat(gp))

    def _newton_reduced(self, v, rhs, x0):
        """Newton-Raphson for one sample; ``v`` holds the driven values on entry.

        Returns the solution (condensed inner nodes included), the iteration count, the
        last residual, and the current leaving every node through the nonlinear elements
        at the solution (the last residual evaluation is at the accepted point).
        """
        opt = self.options
        pos = self.pos
        nf = self.free.size
        last = {}

        def residual(vf):
            v[self.free] = vf
            leave, jac, edges = self._stamps(v)
            last["leave"] = leave
            if self.cells is not None:
                last["vm"] = self.cells.vm.copy()
            return self.Gff @ vf - rhs + leave[self.free], jac, edges

        def jacobian(jac):
            r, c, val = pos[jac[0]], pos[jac[1]], jac[2]
            ok = (r >= 0) & (c >= 0)
            return (self.Gff + sp.csc_matrix((val[ok], (r[ok], c[ok])), shape=(nf, nf))).tocsc()

        def precond_matrix(edges):
            a, b, g = pos[edges[0]], pos[edges[1]], edges[2]
            both = (a >= 0) & (b >= 0)
            P = _laplacian(nf, a[both], b[both], g[both])
            diag = np.zeros(nf)
            np.add.at(diag, a[(a >= 0) & ~both], g[(a >= 0) & ~both])
            np.add.at(diag, b[(b >= 0) & ~both], g[(b >= 0) & ~both])
            return (self.Gff + P + sp.diags(diag)).tocsc()

        vf = np.zeros(nf)
        F, jac, edges = residual(vf)
        factor = _Factor(precond_matrix(edges), opt.factorization, self.perm)
        if x0 is not None and x0.shape == (nf,):
            vf = x0.copy()
        else:  # initial guess: nonlinear elements as their conductance at v = 0
            vf = factor.solve(rhs)
        history = []
        Mop = spla.LinearOperator((nf, nf), matvec=factor.solve, dtype=float)
        stale = False
        for it in range(1, opt.max_iter + 1):
            F, jac, edges = residual(vf)
            J = jacobian(jac)
            if stale:  # the preconditioner lags the Jacobian: refresh it (symbolic analysis kept)
                factor.refactor(precond_matrix(edges))
                stale = False
            count = [0]

            def cb(_):
                count[0] += 1

            dv, info = spla.gmres(J, -F, M=Mop, rtol=1e-12, atol=0.0, restart=40, maxiter=2,
                                  callback=cb, callback_type="pr_norm")
            if info != 0:  # fall back to a direct LU of the Jacobian
                dv = spla.splu(J).solve(-F)
                stale = True
            elif count[0] > 12:
                stale = True
            vf, F_new, step, damping = self._damped_update(vf, dv, F, residual)
            i_scale = max(float(np.max(np.abs(self.Gff @ vf), initial=0.0)), float(np.max(np.abs(rhs), initial=0.0)))
            res = float(np.max(np.abs(F_new), initial=0.0))
            history.append({"iteration": it, "residual": res, "step": step, "damping": damping})
            vmax = float(np.max(np.abs(vf), initial=0.0))
            if step <= opt.vntol + opt.reltol * vmax and res <= opt.abstol + opt.reltol * max(i_scale, 1e-30):
                v[self.free] = vf
                if self.cells is not None:
                    v[self.cells.m] = last["vm"]
                return v, it, res, last["leave"]
        raise ConvergenceError(
            f"Newton-Raphson did not converge in {opt.max_iter} iterations (last residual {history[-1]['residual']:.3e} A, "
            f"last step {history[-1]['step']:.3e} V)", history=history)

    def _damped_update(self, x, dx, F, residual):
        opt = self.options
        big = float(np.max(np.abs(dx), initial=0.0))
        scale = min(1.0, opt.max_step / big) if big > 0 else 1.0
        f0 = float(np.linalg.norm(F))
        t = scale
        for _ in range(12):
            x_new = x + t * dx
            F_new = residual(x_new)[0]
            if np.linalg.norm(F_new) <= (1 - 1e-4 * t) * f0 or f0 == 0:
                break
            t *= 0.5
        return x_new, F_new, float(t * big), float(t)

    # MNA formulation -----------------------------------------------------------
    def _solve_mna(self, vdc, inj, x0):
        net = self.netlist
        S = vdc.shape[0]
        nv = self.n - 1
        rhs = np.concatenate([inj[:, 1:], vdc], axis=1)
        iters, resid = 0, 0.0
        if net.is_linear:
            x = self._lu.solve(rhs.T).T
            resid = float(np.max(np.abs((self.mna_lin @ x.T).T - rhs)))
        else:
            x = np.zeros_like(rhs)
            for s in range(S):
                x[s], it, r = self._newton_mna(rhs[s], x0)
                x0 = x[s]
                iters, resid = max(iters, it), max(resid, r)
        v = np.zeros((S, self.n))
        v[:, 1:] = x[:, :nv]
        return self._recover(v), x[:, nv:], iters, resid, x0

    def _newton_mna(self, rhs, x0):
        opt = self.options
        nv = self.n - 1
        N = self.mna_lin.shape[0]

        def residual(x):
            v = np.concatenate([[0.0], x[:nv]])
            leave, jac, _ = self._stamps(v)
            F = self.mna_lin @ x - rhs
            F[:nv] += leave[1:]
            return F, jac

        x = np.zeros(N) if x0 is None else x0.copy()
        history = []
        for it in range(1, opt.max_iter + 1):
            F, jac = residual(x)
            r, c, val = jac[0] - 1, jac[1] - 1, jac[2]  # MNA unknowns skip ground
            ok = (r >= 0) & (c >= 0)
            J = (self.mna_lin + sp.csc_matrix((val[ok], (r[ok], c[ok])), shape=(N, N))).tocsc()
            dx = spla.splu(J).solve(-F)
            x, F_new, step, damping = self._damped_update(x, dx, F, residual)
            res = float(np.max(np.abs(F_new[:nv]), initial=0.0))
            i_scale = max(float(np.max(np.abs(self.mna_lin @ x), initial=0.0)), float(np.max(np.abs(rhs), initial=0.0)))
            history.append({"iteration": it, "residual": res, "step": step, "damping": damping})
            if step <= opt.vntol + opt.reltol * float(np.max(np.abs(x[:nv]), initial=0.0)) and res <= opt.abstol + opt.reltol * i_scale:
                return x, it, res
        raise ConvergenceError(
            f"Newton-Raphson did not converge in {opt.max_iter} iterations (last residual {history[-1]['residual']:.3e} A)",
            history=history)

    # ------------------------------------------------------------------ transfer
    def transfer_matrix(self, inputs, outputs) -> xr.DataArray:
        """d(output source current) / d(input source voltage), siemens.

        For the reduced formulation this takes one adjoint solve per output (the
        Laplacian is symmetric); otherwise one forward solve per input.
        """
        with _blas_limit(self.options):
            return self._transfer_matrix(inputs, outputs)

    def _transfer_matrix(self, inputs, outputs) -> xr.DataArray:
        net = self.netlist
        if not net.is_linear:
            raise NetlistError(f"transfer_matrix needs a linear netlist; this one has {len(net.mosfets)} MOSFET(s) "
                               "(linearize them or solve operating points instead)")
        inputs = [str(x).lower() for x in inputs]
        outputs = [str(x).lower() for x in outputs]
        if not inputs or not outputs:
            raise NetlistError("transfer_matrix needs at least one input and one output voltage source")
        qi = np.array([net.source_index(x) for x in inputs])
        po = np.array([net.source_index(x) for x in outputs])
        if self.reduced:
            P, Q = self.driven[po], self.driven[qi]
            LfP = self.L[self.free][:, P].toarray()
            LfQ = self.L[self.free][:, Q].tocsc()
            W = self.factor.solve(LfP) if self.free.size else np.zeros((0, len(P)))
            core = self.L[P][:, Q].toarray() - (LfQ.T @ W).T
            T = -(self.sigma[po][:, None] * self.sigma[qi][None, :]) * core
        else:
            nv = self.n - 1
            rhs = np.zeros((self.mna_lin.shape[0], len(qi)))
            rhs[nv + qi, np.arange(len(qi))] = 1.0
            x = self._lu.solve(rhs)
            T = x[nv + po, :]
        return xr.DataArray(T, dims=("output", "input"), coords={"output": outputs, "input": inputs},
                            name="transfer", attrs={"units": "S", "long_name": "d i(output) / d v(input)"})
