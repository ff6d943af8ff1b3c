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
import scipy.sparse.linalg as spla

from crossbar.native import accuracy
from crossbar.native.newton import newton

__all__ = ["MNASystem"]


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
        self.lu = spla.splu(self.A) if asm.netlist.is_linear else None
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
        leave = np.zeros((S, nv))
        if self.lu is not None:
            x = self.lu.solve(rhs.T).T
            for step in range(self.options.refine_steps + 1):
                r = (self.A @ x.T).T - rhs
                err = self._error(x, r, leave)
                bad = accuracy.failing(err, x[:, nv:], self.options)
                if not bad.any():
                    break
                if step == self.options.refine_steps:
                    accuracy.check(err, x[:, nv:], self.options, step)
                x[bad] -= self.lu.solve(r[bad].T).T
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
            accuracy.check(err, x[:, nv:], self.options, 0)
        v = np.zeros((S, self.asm.n))
        v[:, 1:] = x[:, :nv]
        return self.asm.recover(v), x[:, nv:], iters, resid, err, x0

    def _error(self, x, r, leave):
        """Error estimate of the branch currents (see :mod:`crossbar.native.accuracy`)."""
        if self._abs is None:
            self._abs = abs(self.A_kcl)
        noise = (self._abs @ np.abs(x).T).T + np.abs(leave)
        return accuracy.branch_error(r[:, :self.nv], noise, noise[:, :0])

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
            return spla.splu(J).solve(-F)

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
