"""Modified nodal analysis, for netlists with a floating voltage source::

    +-----------+-----+   +-----+     +-------+
    |  G        |  B  |   |  v  |     | i_inj |
    +-----------+-----+ * +-----+  =  +-------+        B[n+, s] = +1, B[n-, s] = -1
    |  B^T      |  0  |   | i_v |     |  v_dc |
    +-----------+-----+   +-----+     +-------+

(ground's row and column removed).  ``G`` is the conductance Laplacian of
:class:`~crossbar.native.assembly.Assembly`; ``i_v`` are the branch currents, SPICE's
sign.  Linear netlists are factorized once with SuperLU; nonlinear ones are solved by
:func:`~crossbar.native.newton.newton` with a direct LU of the Jacobian per step.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from crossbar.native import accuracy
from crossbar.native.factor import splu
from crossbar.native.newton import newton

__all__ = ["MNASystem"]


def _two_diff(a, b):
    """``a - b`` as ``s + e`` exactly (Knuth's TwoSum on ``a`` and ``-b``)."""
    s = a - b
    bb = s - a
    return s, (a - (s - bb)) + (-b - bb)


class MNASystem:
    """The MNA system of one :class:`~crossbar.native.assembly.Assembly`."""

    def __init__(self, asm, options):
        self.asm = asm
        self.options = options
        V = asm.netlist.vsources
        n, m = asm.n, len(V)
        self.nv = nv = n - 1
        rows = np.concatenate([V.npos, V.nneg]) - 1
        cols = np.concatenate([np.arange(m), np.arange(m)])
        vals = np.concatenate([np.ones(m), -np.ones(m)])
        ok = rows >= 0
        B = sp.csr_matrix((vals[ok], (rows[ok], cols[ok])), shape=(nv, m))
        self.A = sp.bmat([[asm.L[1:, 1:], B], [B.T, None]], format="csc")
        self.A_kcl = self.A[:nv].tocsr()
        self._abs = None
        self.lu = splu(self.A) if asm.netlist.is_linear else None
        self.factor = None
        self.perm = None

    def __repr__(self) -> str:
        return f"<MNASystem: {self.A.shape[0]} unknowns, {'SuperLU' if self.lu is not None else 'Newton'}>"

    def solve(self, vdc, inj, x0):
        """Same contract as :meth:`crossbar.native.reduced.ReducedSystem.solve`."""
        S = vdc.shape[0]
        nv = self.nv
        rhs = np.concatenate([inj[:, 1:], vdc], axis=1)
        iters, resid = 0, 0.0
        iscale = accuracy.injected_scale(inj, self.asm.netlist)
        leave = np.zeros((S, nv))
        if self.lu is not None:
            x = self.lu.solve(rhs.T).T
            opt = self.options
            for step in range(opt.refine_steps + 1):
                r = (self.A @ x.T).T - rhs
                err = self._error(x, r, leave)
                bad = accuracy.failing(err, x[:, nv:], opt, iscale)
                if not bad.any() or step == opt.refine_steps:
                    break
                x[bad] -= self.lu.solve(r[bad].T).T
            if bad.any() and opt.refine_steps:
                for s in np.flatnonzero(bad):
                    x[s], err[s], r[s] = self._refine_edgewise(x[s], vdc[s], inj[s],
                                                               None if iscale is None else iscale[s:s + 1])
            accuracy.check(err, x[:, nv:], opt, opt.refine_steps, iscale)
            resid = float(np.max(np.abs(r), initial=0.0))
        else:
            x = np.zeros_like(rhs)
            for s in range(S):
                x[s], it, res, leave[s] = self._newton(rhs[s], x0)
                x0 = x[s]
                iters, resid = max(iters, it), max(resid, res)
            r = (self.A @ x.T).T - rhs
            r[:, :nv] += leave
            err = self._error(x, r, leave)
            accuracy.check(err, x[:, nv:], self.options, 0, iscale)
        v = np.zeros((S, self.asm.n))
        v[:, 1:] = x[:, :nv]
        return self.asm.recover(v), x[:, nv:], iters, resid, err, x0

    def _error(self, x, r, leave):
        """Error estimate of the branch currents (see :mod:`crossbar.native.accuracy`)."""
        if self._abs is None:
            V = self.asm.netlist.vsources
            g_node = np.abs(self.asm.L.diagonal())
            # column sums of |A_kcl|; the conductance at each source's terminals (a voltage-row
            # residual of r volt moves the currents there by about r * g)
            self._abs = (np.asarray(abs(self.A_kcl).sum(axis=0)).ravel(), g_node[V.npos] + g_node[V.nneg])
        w, g_src = self._abs
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow makes the estimate inf/NaN: it fails
            noise = np.abs(x) @ w + np.abs(leave).sum(axis=1)
            l1 = np.abs(r[:, :self.nv]).sum(axis=1) + np.abs(r[:, self.nv:]) @ g_src
        return accuracy.branch_error(l1, noise, np.zeros((x.shape[0], 0)))

    def _refine_edgewise(self, x, vdc, inj, iscale=None):
        """Refinement of one sample with the unknowns split as ``c + d`` (see
        :meth:`crossbar.native.reduced.ReducedSystem._refine_edgewise`): edge currents from
        voltage differences, source equations ``(c_p - c_n - v_dc) + (d_p - d_n)`` with the
        first difference formed without rounding (TwoSum).  Returns ``(x, error, residual)``."""
        a, b, g = self.asm.edges
        V = self.asm.netlist.vsources
        p, q = np.asarray(V.npos), np.asarray(V.nneg)
        n, nv = self.asm.n, self.nv
        c = np.zeros(n)
        c[1:] = x[:nv]
        ci = x[nv:].copy()
        d, di = np.zeros(n), np.zeros_like(ci)
        g_src = np.abs(self.asm.L.diagonal())  # conductance at each node: voltage-row error -> current
        for _ in range(2 * self.options.refine_steps + 2):
            cur = g * ((c[a] - c[b]) + (d[a] - d[b]))
            i_v = ci + di
            leave = (np.bincount(a, cur, minlength=n) - np.bincount(b, cur, minlength=n)
                     + np.bincount(p, i_v, minlength=n) - np.bincount(q, i_v, minlength=n))
            size = (np.bincount(a, np.abs(cur), minlength=n) + np.bincount(b, np.abs(cur), minlength=n)
                    + np.bincount(p, np.abs(i_v), minlength=n) + np.bincount(q, np.abs(i_v), minlength=n))
            r_kcl = leave[1:] - inj[1:]
            s, e = _two_diff(c[p], c[q])
            r_v = ((s - vdc) + e) + (d[p] - d[q])
            err = accuracy.branch_error(np.atleast_1d(np.abs(r_kcl).sum() + np.abs(r_v) @ (g_src[p] + g_src[q])),
                                        np.atleast_1d(size[1:].sum()), np.zeros((1, 0)))
            if not accuracy.failing(err, i_v[None, :], self.options, iscale)[0]:
                break
            delta = self.lu.solve(np.concatenate([r_kcl, r_v]))
            d[1:] -= delta[:nv]
            di -= delta[nv:]
        return np.concatenate([c[1:] + d[1:], ci + di]), float(err[0]), np.concatenate([r_kcl, r_v])

    def _newton(self, rhs, x0):
        nv = self.nv
        N = self.A.shape[0]
        stamps = self.asm.stamps
        last = {}

        def residual(x):
            v = np.concatenate([[0.0], x[:nv]])
            leave, jac, _ = stamps.evaluate(v)
            last["leave"] = leave[1:]
            F = self.A @ x - rhs
            F[:nv] += leave[1:]
            return F, jac

        def direction(x, F, jac):
            r, c, val = jac[0] - 1, jac[1] - 1, jac[2]  # MNA unknowns skip ground
            ok = (r >= 0) & (c >= 0)
            J = (self.A + sp.csc_matrix((val[ok], (r[ok], c[ok])), shape=(N, N))).tocsc()
            return splu(J).solve(-F)

        rhs_max = float(np.max(np.abs(rhs), initial=0.0))

        def measure(x, F):
            i_scale = max(float(np.max(np.abs(self.A @ x), initial=0.0)), rhs_max)
            return (float(np.max(np.abs(F[:nv]), initial=0.0)), max(i_scale, 1e-30),
                    float(np.max(np.abs(x[:nv]), initial=0.0)))

        x = np.zeros(N) if x0 is None else x0.copy()
        x, it, res = newton(x, residual, direction, measure, self.options)
        return x, it, res, last["leave"]

    def transfer(self, qi, po):
        """``d i(po) / d v(qi)`` (siemens), one forward solve per input."""
        rhs = np.zeros((self.A.shape[0], len(qi)))
        rhs[self.nv + qi, np.arange(len(qi))] = 1.0
        x = self.lu.solve(rhs)
        return x[self.nv + po, :]
