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


def ones_surrogate(coeffs, scale: float, bits: int):
    """Surrogate bit count of each coefficient and its derivative.

    Parameters
    ----------
    coeffs : ndarray
        Latent coefficients (weight units).
    scale : float
        Code step ``s`` (weight units).
    bits : int
        Code bits (1-16).

    Returns
    -------
    value : ndarray
        Surrogate number of 1 bits, same shape as ``coeffs`` (exact at codes).
    dvalue : ndarray
        Derivative with respect to ``coeffs`` (1 / weight units); 0 where clipped.
    """
    qmin, qmax = twos_complement_range(bits)
    u = np.asarray(coeffs, dtype=float) / scale
    uc = np.clip(u, qmin, qmax)
    if qmax == qmin:  # cannot happen for bits >= 1, kept for clarity
        return np.zeros_like(u), np.zeros_like(u)
    k = np.clip(np.floor(uc), qmin, qmax - 1).astype(np.int64)
    p0 = popcount(k[..., None], bits)[..., 0]
    p1 = popcount((k + 1)[..., None], bits)[..., 0]
    slope = (p1 - p0).astype(float)
    value = p0 + (uc - k) * slope
    inside = (u >= qmin) & (u <= qmax)
    return value, slope * inside / scale


def _cores(net):
    return net.cores() if hasattr(net, "cores") else list(net)


def count_ones(net) -> int:
    """Exact number of 1 bits over all coefficient codes of a BasisNetwork (or list of cores)."""
    return int(sum(c.planes().sum() for c in _cores(net)))


def contest_penalty(net, beta: float, grad: bool = True) -> float:
    """Regularization term ``beta * mean surrogate 1 bits per coefficient``.

    Parameters
    ----------
    net : BasisNetwork or iterable of BasisCore
    beta : float
        Weight (>= 0; dimensionless, in loss units per 1 bit per coefficient).
    grad : bool
        Add the gradient to each core's ``C.grad``.

    Returns
    -------
    float
        The term's value (loss units).
    """
    beta = check_positive(beta, "beta", allow_zero=True)
    cores = _cores(net)
    n = sum(c.C.value.size for c in cores)
    if beta == 0.0 or n == 0:
        return 0.0
    total = 0.0
    for c in cores:
        val, dval = ones_surrogate(c.C.value, c.scale, c.bits)
        total += float(val.sum())
        if grad:
            c.C.grad += beta / n * dval
    return beta * total / n
