"""Quantizers: b-bit two's complement coefficients, bit planes, c-bit cell levels.

``twos_complement_range(bits)``
    The integer range ``[-2**(bits-1), 2**(bits-1) - 1]``.
``quantize_int(values, scale, bits)``
    ``clip(round(values / scale))`` as integers (the integer coefficient codes ``q``).
``best_scale(values, bits)``
    The per-tensor step that minimises the squared quantization error (grid search).
``bit_planes(q, bits)``
    Two's complement bits of integer codes, bit axis inserted before the last axis:
    ``q`` of shape ``(..., d)`` gives bool planes ``(..., bits, d)``, LSB first.
``plane_weights(bits)``
    The shift-and-add weights ``[1, 2, ..., 2**(bits-2), -2**(bits-1)]`` (MSB negative),
    so ``q == sum_n plane_weights[n] * planes[..., n, :]``.
``popcount(q, bits)``
    Number of 1 bits of each code's two's complement representation.
``cell_levels(values, cell_bits)``
    Quantize to ``2**cell_bits`` equally spaced levels spanning ``[min, max]`` of
    ``values`` (the conductance levels of a c-bit RRAM cell mapped linearly onto weights).

The coefficient scale is in units of the weights (the coefficients are dimensionless
multipliers of basis vectors, the basis carries the weight units); integer codes are
dimensionless.
"""

from __future__ import annotations

import numpy as np

from devices.errors import ParameterError

from ._checks import check_bits, check_finite, check_positive

__all__ = [
    "twos_complement_range",
    "quantize_int",
    "best_scale",
    "bit_planes",
    "plane_weights",
    "popcount",
    "cell_levels",
]


def twos_complement_range(bits: int) -> tuple[int, int]:
    """Return ``(qmin, qmax) = (-2**(bits-1), 2**(bits-1) - 1)``.

    For ``bits = 1`` this is ``(-1, 0)``: the single bit is the MSB, whose plane is
    subtracted, exactly as in the multi-bit shift-and-add.
    """
    bits = check_bits(bits)
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def quantize_int(values, scale: float, bits: int) -> np.ndarray:
    """Integer codes ``clip(round(values / scale), qmin, qmax)``.

    Parameters
    ----------
    values : array_like
        Real coefficients (weight units).
    scale : float
        Quantization step (weight units per code), > 0.
    bits : int
        Bit width, 1-16.

    Returns
    -------
    ndarray of int64
        Same shape as ``values``.
    """
    values = check_finite(values, "values")
    scale = check_positive(scale, "scale")
    qmin, qmax = twos_complement_range(bits)
    return np.clip(np.rint(values / scale), qmin, qmax).astype(np.int64)


def best_scale(values, bits: int, n_grid: int = 200) -> float:
    """Quantization step that minimises ``sum((values - scale * q)**2)``.

    A grid search over ``scale = t * max|values| / 2**(bits-1)`` for ``t`` in
    ``(0.02, 1.0]`` (clipping large values is allowed; it often wins at low bit width).

    Returns
    -------
    float
        The step (weight units); 1.0 if every value is zero.
    """
    values = check_finite(values, "values").ravel()
    bits = check_bits(bits)
    vmax = float(np.max(np.abs(values))) if values.size else 0.0
    if vmax == 0.0:
        return 1.0
    qmin, qmax = twos_complement_range(bits)
    if values.size > 20000:  # a deterministic subsample is enough to place the step
        values = values[:: values.size // 20000 + 1]
    best, best_err = None, np.inf
    for t in np.linspace(0.02, 1.0, n_grid):
        s = t * vmax / 2 ** (bits - 1)
        err = np.sum((values - s * np.clip(np.rint(values / s), qmin, qmax)) ** 2)
        if err < best_err:
            best, best_err = s, err
    return float(best)


def bit_planes(q, bits: int) -> np.ndarray:
    """Two's complement bit planes of integer codes.

    Parameters
    ----------
    q : array_like of int, shape (..., d)
        Codes in ``[-2**(bits-1), 2**(bits-1) - 1]``.
    bits : int
        Bit width, 1-16.

    Returns
    -------
    ndarray of bool, shape (..., bits, d)
        ``planes[..., n, l]`` is bit ``n`` (LSB = 0, MSB = ``bits - 1``) of ``q[..., l]``,
        i.e. whether TG ``l`` is closed in the time step of bit ``n``.

    Raises
    ------
    ParameterError
        If a code is out of range or ``q`` is not integer.
    """
    bits = check_bits(bits)
    q = np.asarray(q)
    if q.ndim < 1:
        raise ParameterError(f"q must have at least one axis (..., d), got shape {q.shape}")
    if not np.issubdtype(q.dtype, np.integer):
        raise ParameterError(f"q must be integer codes, got dtype {q.dtype}")
    qmin, qmax = twos_complement_range(bits)
    if q.size and (q.min() < qmin or q.max() > qmax):
        raise ParameterError(
            f"codes span [{int(q.min())}, {int(q.max())}], outside the {bits}-bit two's complement "
            f"range [{qmin}, {qmax}]"
        )
    unsigned = np.mod(q.astype(np.int64), 2**bits)
    shifts = np.arange(bits, dtype=np.int64)
    planes = (unsigned[..., None, :] >> shifts[:, None]) & 1
    return planes.astype(bool)


def plane_weights(bits: int) -> np.ndarray:
    """Shift-and-add weights of the bit planes, LSB first, MSB negative.

    Returns
    -------
    ndarray of float, shape (bits,)
        ``[1, 2, 4, ..., 2**(bits-2), -2**(bits-1)]``.
    """
    bits = check_bits(bits)
    w = 2.0 ** np.arange(bits)
    w[-1] = -w[-1]
    return w


def popcount(q, bits: int) -> np.ndarray:
    """Number of 1 bits in each code's ``bits``-bit two's complement representation."""
    return bit_planes(q, bits).sum(axis=-2)


def cell_levels(values, cell_bits: int) -> np.ndarray:
    """Quantize to ``2**cell_bits`` equally spaced levels spanning ``[min, max]``.

    Models a crossbar column whose weights are stored as RRAM conductances with
    ``2**cell_bits`` programmable levels between ``G_off`` and ``G_on``, mapped linearly
    (offset and gain are removed in the periphery).

    Parameters
    ----------
    values : array_like
        The basis entries (weight units).
    cell_bits : int
        Bits per cell, 1-16 (1 gives the two levels ``min`` and ``max``).

    Returns
    -------
    ndarray
        Same shape as ``values``.
    """
    values = check_finite(values, "values")
    cell_bits = check_bits(cell_bits, "cell_bits")
    lo, hi = float(values.min()), float(values.max())
    if hi == lo:
        return values.copy()
    step = (hi - lo) / (2**cell_bits - 1)
    return lo + np.rint((values - lo) / step) * step
