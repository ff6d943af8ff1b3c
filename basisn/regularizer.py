"""Contest-aware regularization (paper 3.5), and a column-balanced variant.

The number of 1 bits in the coefficient codes of a bit significance is the number of
(kernel, column) uses of the basis at that significance; fewer 1 bits mean sparser TG
patterns and more patterns per crossbar step (:mod:`basisn.scheduler`).

``count_ones(net)``
    Exact number of 1 bits in all two's complement coefficient codes of the network.
``contest_penalty(net, beta, grad=True, sigma=0, power=1, density=0)``
    With the defaults: ``beta * (sum over layers, pieces, columns and bits of a
    differentiable surrogate of the 1 bits) / (number of coefficients)``, the paper's
    penalty; with ``grad``, adds its gradient to the coefficient gradients.
    ``power > 1`` replaces the sum over the columns of a partition by ``d`` times the
    power mean of the column loads (pushes on the most-used columns, which bound the
    steps); ``density > 0`` adds the squared 1 bits of every TG pattern (dense patterns
    do not pack). See :func:`contest_penalty`.
``ones_surrogate``, ``bit_surrogate``
    The surrogate of the bit count and of every single bit.

Why the paper's count is not enough
-----------------------------------
A partition's patterns need at least ``max_l L_l`` steps, ``L_l`` = patterns that close
column ``l``, and a step holds at most ``K`` patterns whose 1 bits add up to ``<= d``.
The count of 1 bits lowers the mean load but not the largest one, and it drives the
codes to 0 and +-4 (4 bits), whose bit-2 plane stays dense. On the digits MLP (b=4,
d=16, K=4) it stalls at x1.97 pieces per step within 1 point of accuracy; the balanced
variant (power 16, density 0.5) reaches x2.3 (README, accuracy study).

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

from devices.errors import ParameterError

from ._checks import check_bits, check_positive
from .quant import twos_complement_range

__all__ = ["count_ones", "contest_penalty", "ones_surrogate", "bit_surrogate", "check_power"]


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
    bits = check_bits(bits, "bits")
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    if sigma > 0:  # exact sum, never the table
        val, dval = _smoothed_bits(np.asarray(coeffs, dtype=float) / scale, bits, sigma)
        return val.sum(axis=-1), dval.sum(axis=-1) / scale
    val, dval = bit_surrogate(coeffs, scale, bits, 0.0)
    return val.sum(axis=-1), dval.sum(axis=-1)


_TABLE_STEPS = 128  # grid points per code of the cached surrogate tables
_tables: dict = {}


def _bit_table(bits):
    """``(codes, bits)`` 0/1 matrix: bit ``n`` of each two's complement code, and qmin, qmax."""
    qmin, qmax = twos_complement_range(bits)
    codes = np.arange(qmin, qmax + 1)
    return ((codes[:, None] >> np.arange(bits)) & 1).astype(float), qmin, qmax


def _smoothed_bits(u, bits, sigma):
    """Expected bits of ``round(u + e)``, ``e ~ N(0, sigma**2)``, clipped; and d/du. Shapes (..., bits)."""
    from scipy.special import ndtr

    table, qmin, qmax = _bit_table(bits)
    reach = int(np.ceil(6 * sigma)) + 1
    base = np.rint(np.clip(u, qmin, qmax)).astype(np.int64)
    value = np.zeros(u.shape + (bits,))
    dvalue = np.zeros(u.shape + (bits,))

    def dens(z):
        fin = np.isfinite(z)
        return np.where(fin, np.exp(-0.5 * np.square(np.where(fin, z, 0.0))), 0.0)

    for off in range(-reach, reach + 1):
        k = base + off
        valid = (k >= qmin) & (k <= qmax)
        kc = np.clip(k, qmin, qmax)
        # probability that round(u + e) lands on code k (the end codes absorb the tails)
        lo = np.where(k == qmin, -np.inf, (k - 0.5 - u) / sigma)
        hi = np.where(k == qmax, np.inf, (k + 0.5 - u) / sigma)
        prob = ndtr(hi) - ndtr(lo)
        dprob = (dens(lo) - dens(hi)) / (sigma * np.sqrt(2 * np.pi))
        pc = table[kc - qmin] * valid[..., None]
        value += pc * prob[..., None]
        dvalue += pc * dprob[..., None]
    return value, dvalue


def _table_bits(coeffs, scale, bits, sigma):
    """:func:`bit_surrogate` through a cached uniform table (bits <= 8, sigma > 0).

    The grid spacing is 1/128 code with linear interpolation; summed over the bits, the
    error is below ``(1/128)**2 / 8 * max|f''|``, measured < 2e-4 bits (value) and < 2e-4
    relative (slope) for sigma >= 0.25 and bits 1-6.
    """
    key = (bits, float(sigma))
    if key not in _tables:
        qmin, qmax = twos_complement_range(bits)
        lo, hi = qmin - 8 * sigma - 1, qmax + 8 * sigma + 1
        n = int(np.ceil((hi - lo) * _TABLE_STEPS)) + 1
        grid = lo + np.arange(n) / _TABLE_STEPS
        val, dval = _smoothed_bits(grid, bits, sigma)
        _tables[key] = (lo, val, dval)
    lo, val, dval = _tables[key]
    t = (np.asarray(coeffs, dtype=float) / scale - lo) * _TABLE_STEPS
    t = np.clip(t, 0.0, val.shape[0] - 1.000001)
    i = t.astype(np.int64)
    f = (t - i)[..., None]
    return (val[i] * (1 - f) + val[i + 1] * f,
            (dval[i] * (1 - f) + dval[i + 1] * f) / scale)


def bit_surrogate(coeffs, scale: float, bits: int, sigma: float = 0.0):
    """Surrogate of every bit of each coefficient's code; :func:`ones_surrogate` per bit.

    Parameters
    ----------
    coeffs, scale, bits, sigma
        As in :func:`ones_surrogate`.

    Returns
    -------
    value : ndarray, shape ``coeffs.shape + (bits,)``
        Surrogate of bit ``n`` (0 = LSB) in [0, 1]; exact (0 or 1) at codes for ``sigma = 0``.
        Summed over the last axis it equals :func:`ones_surrogate`.
    dvalue : ndarray, same shape
        Derivative with respect to ``coeffs``.
    """
    bits = check_bits(bits, "bits")
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    u = np.asarray(coeffs, dtype=float) / scale
    if sigma > 0:
        if bits <= 8:
            return _table_bits(coeffs, scale, bits, sigma)
        val, dval = _smoothed_bits(u, bits, sigma)
        return val, dval / scale
    table, qmin, qmax = _bit_table(bits)
    uc = np.clip(u, qmin, qmax)
    k = np.clip(np.floor(uc), qmin, max(qmin, qmax - 1)).astype(np.int64)
    p0 = table[k - qmin]
    p1 = table[np.minimum(k + 1, qmax) - qmin]
    slope = p1 - p0
    inside = ((u >= qmin) & (u <= qmax))[..., None]
    return p0 + (uc - k)[..., None] * slope, slope * inside / scale


def _cores(net):
    return net.cores() if hasattr(net, "cores") else list(net)


def count_ones(net) -> int:
    """Exact number of 1 bits over all coefficient codes of a BasisNetwork (or list of cores)."""
    return int(sum(c.planes().sum() for c in _cores(net)))


def contest_penalty(net, beta: float, grad: bool = True, sigma: float = 0.0, power: float = 1.0,
                    density: float = 0.0) -> float:
    """Regularization term, ``beta / n_coeffs`` times the sum over layers of ``P_col + density * P_pat``.

    With ``v_ijln`` the surrogate of bit ``n`` of coefficient ``l`` of piece ``(i, j)``
    (kernel ``i``, input partition ``j``, basis column ``l``):

    * ``L_jl = sum_{i,n} v_ijln`` is the number of TG patterns of partition ``j`` that
      close column ``l``. No contest-free schedule of the partition has fewer steps than
      ``max_l L_jl`` (:func:`basisn.scheduler.schedule_layer`).
      ``P_col = d * sum_j M_p(L_j)``, with ``M_p(L_j) = (mean_l L_jl**p)**(1/p)`` the
      power mean over the ``d`` columns. ``power = 1``: ``P_col`` is the number of 1 bits,
      the paper's penalty (section 3.5). ``power > 1`` weighs each column's 1 bits by
      ``(L_jl / M_p)**(p - 1)``: it thins the most-used columns, so the loads even out and
      the step bound ``max_l L_jl`` drops for the same number of 1 bits (``M_p`` tends to
      the max load as ``p`` grows; with equal loads every ``p`` gives the same value).
    * ``o_ijn = sum_l v_ijln`` is the number of columns the TG pattern of bit ``n`` of
      piece ``(i, j)`` closes. ``P_pat = sum_{i,j,n} o_ijn**2 / d`` charges each 1 bit the
      fraction of the crossbar its pattern blocks: K patterns fit in one step only if
      their 1 bits add up to at most ``d``, so for the same number of 1 bits, patterns
      spread evenly over kernels and bit planes pack better than a few dense ones.

    Parameters
    ----------
    net : BasisNetwork or iterable of BasisCore
    beta : float
        Weight (>= 0; dimensionless, in loss units per 1 bit per coefficient).
    grad : bool
        Add the gradient to each core's ``C.grad``.
    sigma : float
        Smoothing of the surrogate in codes (>= 0), see :func:`ones_surrogate`.
    power : float
        Power-mean exponent ``p`` over the columns of a partition, in [1, 64].
    density : float
        Weight of the pattern-density term ``P_pat`` (>= 0).

    Returns
    -------
    float
        The term's value (loss units). With ``power = 1`` and ``density = 0``:
        ``beta`` times the mean surrogate number of 1 bits per coefficient.
    """
    beta = check_positive(beta, "beta", allow_zero=True)
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    power = check_power(power)
    density = check_positive(density, "density", allow_zero=True)
    cores = _cores(net)
    n = sum(c.C.value.size for c in cores)
    if beta == 0.0 or n == 0:
        return 0.0
    total = 0.0
    for c in cores:
        v, dv = bit_surrogate(c.C.value, c.scale, c.bits, sigma)  # (kernels, parts, d, bits)
        load = v.sum(axis=(0, 3))  # (parts, d)
        peak = load.max(axis=1, keepdims=True)
        safe = np.where(peak > 0, peak, 1.0)  # scale by the peak so that load**p cannot overflow
        pmean = safe * np.mean((load / safe) ** power, axis=1, keepdims=True) ** (1.0 / power)
        total += float(c.d * pmean.sum())  # power 1: the sum of all 1 bits
        # d(d * M_p)/dL_jl = (L_jl / M_p)**(p - 1); 1 for power 1 and for all-zero partitions
        weight = np.where(peak > 0, (load / np.where(pmean > 0, pmean, 1.0)) ** (power - 1.0), 1.0)
        g = dv.sum(axis=3) * weight[None]
        if density > 0:
            ones = v.sum(axis=2)  # (kernels, parts, bits): columns per TG pattern
            total += density * float(np.square(ones).sum()) / c.d
            g += density * 2.0 / c.d * np.einsum("ijln,ijn->ijl", dv, ones)
        if grad:
            c.C.grad += beta / n * g
    return beta * total / n


def check_power(power) -> float:
    """Validate the power-mean exponent of :func:`contest_penalty` (1 to 64)."""
    power = check_positive(power, "power")
    if not 1.0 <= power <= 64.0:
        raise ParameterError(f"power = {power!r} is outside the allowed range [1, 64] (1 = count of 1 bits)")
    return power
