"""Sparse factorization of the symmetric positive definite nodal matrix.

``Factor(A, method, perm)``   Cholesky (CHOLMOD, scikit-sparse) or SuperLU in symmetric
                              mode; ``solve(b)`` for one or many right-hand sides,
                              ``refactor(A)`` reuses the symbolic analysis
``resolve(method)``           the factorization ``"auto"`` stands for on this machine
``splu(A)``                   SciPy's ``splu``, a singular matrix raising ``IllConditionedError``
``laplacian(n, a, b, g)``     conductance Laplacian of edges ``a - b`` with conductances ``g``
``HAVE_CHOLMOD``              scikit-sparse is installed
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from devices.errors import IllConditionedError, NetlistError

try:  # CHOLMOD through scikit-sparse (optional extra "cholmod")
    from sksparse.cholmod import CholmodError as _CholmodError
    from sksparse.cholmod import analyze as _cholmod_analyze

    HAVE_CHOLMOD = True
except ImportError:  # pragma: no cover - exercised on machines without the extra
    HAVE_CHOLMOD = False

    class _CholmodError(Exception):
        """Stand-in: never raised without scikit-sparse."""

__all__ = ["Factor", "resolve", "laplacian", "splu", "HAVE_CHOLMOD"]

_FACTOR_ERRORS = (RuntimeError, _CholmodError)  # SuperLU: "Factor is exactly singular"


def _singular(exc, A) -> IllConditionedError:
    """The named error for a matrix that rounding made singular or indefinite."""
    d = np.abs(A.diagonal())
    d = d[d > 0]
    span = f" (node conductance sums from {d.min():.3g} to {d.max():.3g} S)" if d.size else ""
    return IllConditionedError(
        f"the nodal matrix is singular or not positive definite in floating point ({exc}){span}: the netlist "
        "mixes conductances so different (e.g. a near-zero resistance beside ohm-range ones) that rounding "
        "loses the smaller ones; merge near-shorts into one node or rescale the circuit")


def splu(A, **kw):
    """``scipy.sparse.linalg.splu(A, **kw)``, a singular matrix raising :class:`IllConditionedError`."""
    try:
        return spla.splu(A, **kw)
    except _FACTOR_ERRORS as exc:
        raise _singular(exc, A) from None

_warned_no_cholmod = False


def resolve(method: str) -> str:
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


class Factor:
    """A factorized SPD matrix with ``solve(b)`` and numeric ``refactor(A)``.

    Parameters
    ----------
    A : scipy.sparse matrix (n, n)
        Symmetric positive definite.
    method : {"auto", "cholmod", "superlu"}
    perm : numpy.ndarray or None
        A fill-reducing permutation computed by the caller (nested dissection); None
        lets the library order by AMD / MMD.
    """

    def __init__(self, A: sp.csc_matrix, method: str, perm: np.ndarray | None = None):
        self.perm = perm
        self.method = method = resolve(method)
        self.n = A.shape[0]
        self.ordering = "amd" if perm is None else "nested-dissection"
        A = self._permute(A)
        try:
            if method == "cholmod":
                self._sym = _cholmod_analyze(A, mode="supernodal", ordering_method="amd" if perm is None else "natural")
                self._f = self._sym.cholesky(A)
            else:
                self._f = self._splu(A)
        except _FACTOR_ERRORS as exc:
            raise _singular(exc, A) from None

    def __repr__(self) -> str:
        return f"<Factor {self.method} n={self.n} ordering={self.ordering}>"

    def _permute(self, A):
        if self.perm is None:
            return A.tocsc()
        return A.tocsr()[self.perm][:, self.perm].tocsc()

    def _splu(self, A):
        spec = "MMD_AT_PLUS_A" if self.perm is None else "NATURAL"
        return spla.splu(A, permc_spec=spec, options={"SymmetricMode": True}, diag_pivot_thresh=0.0)

    def refactor(self, A: sp.csc_matrix) -> None:
        """New numeric values, same pattern (the symbolic analysis is kept)."""
        A = self._permute(A)
        try:
            if self.method == "cholmod":
                self._f.cholesky_inplace(A)
            else:
                self._f = self._splu(A)
        except _FACTOR_ERRORS as exc:
            raise _singular(exc, A) from None

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``A^-1 b`` for ``b`` of shape (n,) or (n, k)."""
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


def laplacian(n, a, b, g) -> sp.csr_matrix:
    """The (n, n) conductance Laplacian of edges ``a[k] - b[k]`` with conductance ``g[k]`` (S)."""
    i = np.concatenate([a, b, a, b])
    j = np.concatenate([a, b, b, a])
    v = np.concatenate([g, g, -g, -g])
    return sp.csr_matrix((v, (i, j)), shape=(n, n))
