"""The reduced nodal system: every voltage source has one terminal on ground.

The nodes fixed by sources ("driven", d) leave the unknowns; the rest ("free", f)
satisfy KCL::

    +-----------+-----------+   +-----+     +---------------------+
    |  G_ff     |  G_fd     |   | v_f |     |  i_inj,f            |
    +-----------+-----------+ * +-----+  =  +---------------------+
    |  G_df     |  G_dd     |   | v_d |     |  i_inj,d + i_supply |
    +-----------+-----------+   +-----+     +---------------------+

``G`` is the conductance Laplacian of :class:`~crossbar.native.assembly.Assembly`.
For a linear netlist ``G_ff`` is symmetric positive definite: factorized once
(:class:`~crossbar.native.factor.Factor`) and reused for every right-hand side.  The
current a source supplies into its driven node ``p`` is ``(G v)_p - i_inj,p``; the
branch current reported is SPICE's: ``i = -sigma * supply``.

With nonlinear elements each sample is solved by :func:`~crossbar.native.newton.newton`;
the Jacobian ``G_ff + dI/dv`` is not symmetric, so each step is solved by GMRES
preconditioned with the Cholesky factor of a symmetric approximation (each element
replaced by one conductance), refactorized numerically when GMRES slows down.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from crossbar.native import accuracy
from crossbar.native.factor import Factor, laplacian
from crossbar.native.newton import newton
from crossbar.ordering import geometric_nested_dissection

__all__ = ["ReducedSystem"]


class ReducedSystem:
    """The reduced system of one :class:`~crossbar.native.assembly.Assembly`."""

    def __init__(self, asm, options):
        self.asm = asm
        self.options = options
        n = asm.n
        is_driven = np.zeros(n, bool)
        is_driven[0] = True
        is_driven[asm.driven] = True
        is_driven[asm.elim] = True  # eliminated series nodes are not unknowns either
        if asm.cells is not None:
            is_driven[asm.cells.m] = True  # nor the condensed inner nodes of 1T1R cells
        self.driven, self.sigma = asm.driven, asm.sigma
        self.free = np.flatnonzero(~is_driven)
        self.pos = np.full(n, -1, np.int64)
        self.pos[self.free] = np.arange(self.free.size)
        L = asm.L
        self.Lf = L[self.free]  # rows of free nodes, all columns (also the residual check)
        self.Gff = self.Lf[:, self.free].tocsc()
        self.Gfd = self.Lf[:, self.driven].tocsr()
        self.Ld = L[self.driven].tocsr()  # rows of driven nodes, all columns
        self._abs = None
        self.factor = None
        self.perm = self._ordering()
        if asm.netlist.is_linear:
            self.factor = Factor(self.Gff, options.factorization, self.perm)

    def __repr__(self) -> str:
        return (f"<ReducedSystem: {self.free.size} free node(s), {self.driven.size} driven, "
                f"{'factor ' + self.factor.method if self.factor is not None else 'Newton'}>")

    def _noise(self, v):
        """Rounding scale of the node equations: ``sum_f (|L_f| |v|)_f`` per sample (S,)
        and ``|L_d| |v|`` (S, nd)."""
        if self._abs is None:
            w = np.asarray(abs(self.Lf).sum(axis=0)).ravel()  # column sums of |L_f|
            cols = np.unique(self.Ld.indices)  # the few nodes the driven rows touch
            self._abs = (w, abs(self.Ld[:, cols]).tocsr(), cols)
        w, absLd, cols = self._abs
        noise_f = np.array([np.abs(row) @ w for row in v])  # row by row: stays in cache
        return noise_f, (absLd @ np.abs(v[:, cols]).T).T

    def _ordering(self):
        xy = getattr(self.asm.netlist.layout, "node_xy", None)
        if xy is None or len(xy) != self.asm.n or self.free.size < 4 * 256:
            return None
        return geometric_nested_dissection(np.asarray(xy)[self.free], self.Gff)

    # ------------------------------------------------------------------ solve
    def solve(self, vdc, inj, x0):
        """Samples ``vdc`` (S, nV) volt and injections ``inj`` (S, n) ampere.

        Returns ``(v (S, n), i (S, nV), newton iterations, residual, error estimate (S,),
        x0 for the next block)``.
        """
        S = vdc.shape[0]
        vd = vdc * self.sigma[None, :]  # (S, nd)
        rhs = inj[:, self.free] - (self.Gfd @ vd.T).T  # (S, nf)
        v = np.zeros((S, self.asm.n))
        v[:, self.driven] = vd
        iters, resid = 0, 0.0
        iscale = accuracy.injected_scale(inj, self.asm.netlist)
        if self.asm.netlist.is_linear:
            if self.free.size:
                v[:, self.free] = self.factor.solve(rhs.T).T
            supply, err, resid = self._refined(v, inj, iscale)
        else:
            leave = np.zeros((S, self.asm.n))
            for s in range(S):
                v[s], it, r, leave[s] = self._newton(v[s], rhs[s], x0)
                x0 = v[s, self.free]
                iters, resid = max(iters, it), max(resid, r)
            supply = (self.Ld @ v.T).T - inj[:, self.driven] + leave[:, self.driven]
            r_free = (self.Lf @ v.T).T - inj[:, self.free] + leave[:, self.free]
            noise_f, noise_d = self._noise(v)
            err = accuracy.branch_error(r_free, noise_f + np.abs(leave[:, self.free]).sum(axis=1),
                                        noise_d + np.abs(leave[:, self.driven]))
            accuracy.check(err, supply, self.options, 0, iscale)
        return self.asm.recover(v), -self.sigma[None, :] * supply, iters, resid, err, x0

    def _refined(self, v, inj, iscale=None):
        """Branch supplies of a linear solve, refined until the accuracy check passes:
        first with the assembled matrix, then (samples still failing) edge by edge."""
        opt = self.options
        has_inj = bool(len(self.asm.netlist.isources))  # crossbars: no current sources, skip the zeros
        for step in range(opt.refine_steps + 1):
            vt = np.ascontiguousarray(v.T)
            supply = (self.Ld @ vt).T
            if has_inj:
                supply -= inj[:, self.driven]
            if not self.free.size:
                return supply, np.zeros(v.shape[0]), 0.0
            r = (self.Lf @ vt).T
            if has_inj:
                r -= inj[:, self.free]
            ar = np.abs(r)
            err = accuracy.branch_error(ar.sum(axis=1), *self._noise(v))
            bad = accuracy.failing(err, supply, opt, iscale)
            if not bad.any() or step == opt.refine_steps:
                break
            rows = np.flatnonzero(bad)
            v[np.ix_(rows, self.free)] -= self.factor.solve(r[rows].T).T
        if bad.any() and opt.refine_steps:
            for s in np.flatnonzero(bad):
                v[s], supply[s], err[s], r_s = self._refine_edgewise(v[s], inj[s], None if iscale is None else iscale[s:s + 1])
                r[s] = r_s
            ar = np.abs(r)
        accuracy.check(err, supply, opt, opt.refine_steps, iscale)
        return supply, err, float(ar.max(initial=0.0))

    def _refine_edgewise(self, v, inj, iscale=None):
        """Iterative refinement of one sample with node voltages split as ``c + d``.

        When a large conductance joins two nodes near one large voltage, the assembled
        matrix and ``v`` itself cannot hold the small difference that carries the
        current.  Here every edge current is computed from differences,
        ``g ((c_a - c_b) + (d_a - d_b))`` (``c_a - c_b`` is exact for close voltages),
        the correction ``d`` is kept apart from ``c``, and the KCL residual and branch
        currents come from those edge currents; the rounding floor is then set by the
        currents themselves, not by ``g |v|``.  Returns ``(c + d, supply, error, residual)``.
        """
        a, b, g = self.asm.edges
        n = self.asm.n
        c, d = v.copy(), np.zeros_like(v)
        free, driven = self.free, self.driven
        for _ in range(2 * self.options.refine_steps + 2):
            cur = g * ((c[a] - c[b]) + (d[a] - d[b]))  # current from a to b through each edge
            leave = np.bincount(a, cur, minlength=n) - np.bincount(b, cur, minlength=n)
            size = np.bincount(a, np.abs(cur), minlength=n) + np.bincount(b, np.abs(cur), minlength=n)
            r = leave[free] - inj[free]
            supply = leave[driven] - inj[driven]
            err = accuracy.branch_error(r[None, :], size[None, free].sum(axis=1), size[None, driven])
            if not accuracy.failing(err, supply[None, :], self.options, iscale)[0]:
                break
            d[free] -= self.factor.solve(r)
        return c + d, supply, float(err[0]), r

    def _newton(self, v, rhs, x0):
        """Newton-Raphson for one sample; ``v`` holds the driven values on entry.

        Returns the solution (condensed inner nodes included), the iteration count, the
        last residual, and the current leaving every node through the nonlinear elements
        at the solution.
        """
        opt = self.options
        pos, free = self.pos, self.free
        nf = free.size
        stamps = self.asm.stamps
        last = {}

        def residual(vf):
            v[free] = vf
            leave, jac, edges = stamps.evaluate(v)
            last["leave"] = leave
            last["inner"] = stamps.inner_voltages
            return self.Gff @ vf - rhs + leave[free], (jac, edges)

        def jacobian(jac):
            r, c, val = pos[jac[0]], pos[jac[1]], jac[2]
            ok = (r >= 0) & (c >= 0)
            return (self.Gff + sp.csc_matrix((val[ok], (r[ok], c[ok])), shape=(nf, nf))).tocsc()

        def precond_matrix(edges):
            a, b, g = pos[edges[0]], pos[edges[1]], edges[2]
            both = (a >= 0) & (b >= 0)
            P = laplacian(nf, a[both], b[both], g[both])
            diag = np.zeros(nf)
            np.add.at(diag, a[(a >= 0) & ~both], g[(a >= 0) & ~both])
            np.add.at(diag, b[(b >= 0) & ~both], g[(b >= 0) & ~both])
            return (self.Gff + P + sp.diags(diag)).tocsc()

        _, (_, edges) = residual(np.zeros(nf))
        factor = Factor(precond_matrix(edges), opt.factorization, self.perm)
        if x0 is not None and x0.shape == (nf,):
            vf = x0.copy()
        else:  # initial guess: nonlinear elements as their conductance at v = 0
            vf = factor.solve(rhs)
        Mop = spla.LinearOperator((nf, nf), matvec=factor.solve, dtype=float)
        state = {"stale": False}

        def direction(vf, F, aux):
            jac, edges = aux
            J = jacobian(jac)
            if state["stale"]:  # the preconditioner lags the Jacobian: refresh it (symbolic analysis kept)
                factor.refactor(precond_matrix(edges))
                state["stale"] = False
            count = [0]

            def cb(_):
                count[0] += 1

            dv, info = spla.gmres(J, -F, M=Mop, rtol=1e-12, atol=0.0, restart=40, maxiter=2,
                                  callback=cb, callback_type="pr_norm")
            if info != 0:  # fall back to a direct LU of the Jacobian
                dv = spla.splu(J).solve(-F)
                state["stale"] = True
            elif count[0] > 12:
                state["stale"] = True
            return dv

        rhs_max = float(np.max(np.abs(rhs), initial=0.0))

        def measure(vf, F):
            i_scale = max(float(np.max(np.abs(self.Gff @ vf), initial=0.0)), rhs_max)
            return float(np.max(np.abs(F), initial=0.0)), max(i_scale, 1e-30), float(np.max(np.abs(vf), initial=0.0))

        vf, it, res = newton(vf, residual, direction, measure, opt)
        v[free] = vf
        if last["inner"] is not None:
            v[last["inner"][0]] = last["inner"][1]
        return v, it, res, last["leave"]

    # ------------------------------------------------------------------ transfer
    def transfer(self, qi, po):
        """``d i(po) / d v(qi)`` (siemens) from one adjoint solve per output."""
        L = self.asm.L
        P, Q = self.driven[po], self.driven[qi]
        LfP = self.Lf[:, P].toarray()
        LfQ = self.Lf[:, Q].tocsc()
        W = self.factor.solve(LfP) if self.free.size else np.zeros((0, len(P)))
        core = L[P][:, Q].toarray() - (LfQ.T @ W).T
        return -(self.sigma[po][:, None] * self.sigma[qi][None, :]) * core
