"""Contest-aware regularization (paper 3.5).

The number of 1 bits in the coefficient codes of a bit significance is the number of
(kernel, column) uses of the basis at that significance; fewer 1 bits mean sparser TG
patterns and more patterns per crossbar step (:mod:`basisn.scheduler`).

``count_ones(net)``
    Exact number of 1 bits in all two's complement coefficient codes of the network.
``contest_penalty(net, beta, grad=True)``
    ``beta * (sum over layers, pieces, columns and bits of a differentiable surrogate of
    the 1 bits) / (number of coefficients)``, and, with ``grad``, adds its gradient to the
    coefficient gradients.

The surrogate
-------------
Each latent coefficient ``C`` has the real code position ``u = C / s`` (clipped to the
code range ``[qmin, qmax]``). The surrogate is the piecewise-linear interpolation of the
bit count between neighbouring codes::

    k = floor(u),  f(u) = popcount(k) + (u - k) * (popcount(k + 1) - popcount(k))

It equals the exact count at every integer code, is continuous, and its slope
``(popcount(k+1) - popcount(k)) / s`` pushes a coefficient toward the neighbouring code
with fewer 1 bits (e.g. -1 = 11..1 toward 0, 3 = 011 toward 4 = 100). The paper's sum is
divided by the number of coefficients so that ``beta`` does not depend on the size of
the network (``beta`` here = paper's beta times the number of coefficients).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_positive
from .quant import popcount, twos_complement_range

__all__ = ["count_ones", "contest_penalty", "ones_surrogate"]


def _popcount_table(bits):
    qmin, qmax = twos_complement_range(bits)
    codes = np.arange(qmin, qmax + 1)
    return popcount(codes[:, None], bits)[:, 0].astype(float), qmin, qmax


def ones_surrogate(coeffs, scale: float, bits: int, sigma: float = 0.0):
    """Surrogate bit count of each coefficient and its derivative.

    Parameters
    ----------
    coeffs : ndarray
        Latent coefficients (weight units).
    scale : float
        Code step ``s`` (weight units).
    bits : int
        Code bits (1-16).
    sigma : float
        0 (default): piecewise-linear interpolation of the bit count between codes
        (exact at codes, flat between codes with equal counts, e.g. 1 and 2).
        > 0: expected bit count of ``round(u + e)`` with ``e ~ N(0, sigma**2)`` (in
        codes), clipped to the code range -- smooth, and its slope also sees codes
        beyond a plateau. Terms within ``ceil(6 sigma) + 1`` codes of ``u`` are summed
        (the neglected tail is below 1e-9).

    Returns
    -------
    value : ndarray
        Surrogate number of 1 bits, same shape as ``coeffs``.
    dvalue : ndarray
        Derivative with respect to ``coeffs`` (1 / weight units); for ``sigma = 0``,
        0 where ``C / s`` is outside the code range.
    """
    table, qmin, qmax = _popcount_table(bits)
    u = np.asarray(coeffs, dtype=float) / scale
    if sigma <= 0.0:
        uc = np.clip(u, qmin, qmax)
        k = np.clip(np.floor(uc), qmin, qmax - 1).astype(np.int64) if qmax > qmin else np.full(u.shape, qmin)
        p0 = table[k - qmin]
        p1 = table[np.minimum(k + 1, qmax) - qmin]
        slope = p1 - p0
        inside = (u >= qmin) & (u <= qmax)
        return p0 + (uc - k) * slope, slope * inside / scale
    from scipy.special import ndtr

    reach = int(np.ceil(6 * sigma)) + 1
    base = np.rint(np.clip(u, qmin, qmax)).astype(np.int64)
    value = np.zeros_like(u)
    dvalue = np.zeros_like(u)
    for off in range(-reach, reach + 1):
        k = base + off
        valid = (k >= qmin) & (k <= qmax)
        kc = np.clip(k, qmin, qmax)
        # probability that round(u + e) lands on code k (the end codes absorb the tails)
        lo = np.where(k == qmin, -np.inf, (k - 0.5 - u) / sigma)
        hi = np.where(k == qmax, np.inf, (k + 0.5 - u) / sigma)
        prob = ndtr(hi) - ndtr(lo)
        dens = lambda z: np.where(np.isfinite(z), np.exp(-0.5 * np.square(np.where(np.isfinite(z), z, 0.0))), 0.0)  # noqa: E731
        dprob = (dens(lo) - dens(hi)) / (sigma * np.sqrt(2 * np.pi))
        pc = table[kc - qmin] * valid
        value += pc * prob
        dvalue += pc * dprob
    return value, dvalue / scale


_TABLE_STEPS = 128  # grid points per code of the cached surrogate tables
_tables: dict = {}


def _table_surrogate(coeffs, scale, bits, sigma):
    """``ones_surrogate`` through a cached table (bits <= 8, sigma > 0), linear interpolation.

    The grid spacing is 1/128 code; the interpolation error of the value is below
    ``(1/128)**2 / 8 * max|f''|``, measured < 2e-4 bits (value) and < 2e-4 relative
    (slope) for sigma >= 0.25 and bits 1-6.
    """
    key = (bits, float(sigma))
    if key not in _tables:
        qmin, qmax = twos_complement_range(bits)
        grid = np.linspace(qmin - 8 * sigma - 1, qmax + 8 * sigma + 1,
                           int((qmax - qmin + 16 * sigma + 2) * _TABLE_STEPS) + 1)
        val, dval = ones_surrogate(grid, 1.0, bits, sigma)
        _tables[key] = (grid, val, dval)
    grid, val, dval = _tables[key]
    u = np.asarray(coeffs, dtype=float) / scale
    return np.interp(u, grid, val), np.interp(u, grid, dval) / scale


def _cores(net):
    return net.cores() if hasattr(net, "cores") else list(net)


def count_ones(net) -> int:
    """Exact number of 1 bits over all coefficient codes of a BasisNetwork (or list of cores)."""
    return int(sum(c.planes().sum() for c in _cores(net)))


def contest_penalty(net, beta: float, grad: bool = True, sigma: float = 0.0) -> float:
    """Regularization term ``beta * mean surrogate 1 bits per coefficient``.

    Parameters
    ----------
    net : BasisNetwork or iterable of BasisCore
    beta : float
        Weight (>= 0; dimensionless, in loss units per 1 bit per coefficient).
    grad : bool
        Add the gradient to each core's ``C.grad``.
    sigma : float
        Smoothing of the surrogate in codes (>= 0), see :func:`ones_surrogate`.

    Returns
    -------
    float
        The term's value (loss units).
    """
    beta = check_positive(beta, "beta", allow_zero=True)
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    cores = _cores(net)
    n = sum(c.C.value.size for c in cores)
    if beta == 0.0 or n == 0:
        return 0.0
    total = 0.0
    for c in cores:
        if sigma > 0 and c.bits <= 8:
            val, dval = _table_surrogate(c.C.value, c.scale, c.bits, sigma)
        else:
            val, dval = ones_surrogate(c.C.value, c.scale, c.bits, sigma)
        total += float(val.sum())
        if grad:
            c.C.grad += beta / n * dval
    return beta * total / n
