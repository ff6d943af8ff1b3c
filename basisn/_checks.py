"""Input checks shared by the ``basisn`` modules.

Every check raises :class:`devices.errors.ParameterError` with a message that names the
parameter, the value it got and the allowed range, so a caller can catch ``ValueError``.
"""

from __future__ import annotations

import numbers

import numpy as np

from devices.errors import ParameterError

__all__ = ["check_int", "check_d", "check_bits", "check_finite", "check_positive"]

#: Allowed range of coefficient and cell bit widths (inclusive).
BITS_RANGE = (1, 16)


def check_int(value, name: str, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]``.

    Raises
    ------
    ParameterError
        If ``value`` is not an integer (bools are refused) or lies outside the range.
    """
    rng = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer in {rng}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(f"{name} = {value} is outside the allowed range {rng}")
    return value


def check_d(d) -> int:
    """Check a crossbar size / piece length ``d`` (integer >= 1)."""
    return check_int(d, "d (crossbar size, piece length)", 1, None)


def check_bits(bits, name: str = "bits") -> int:
    """Check a bit width (integer in 1-16)."""
    return check_int(bits, name, *BITS_RANGE)


def check_positive(value, name: str, allow_zero: bool = False) -> float:
    """Check a finite real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        rng = "[0, inf)" if allow_zero else "(0, inf)"
        raise ParameterError(f"{name} = {value!r} is outside the allowed range {rng}")
    return value


def check_finite(array, name: str) -> np.ndarray:
    """Return ``array`` as a float ndarray, refusing NaN or infinite entries.

    Raises
    ------
    ParameterError
        Naming the array, how many entries are bad and the index of the first one.
    """
    arr = np.asarray(array)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ParameterError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(float, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ParameterError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf), first at index "
            f"{first} = {arr[first]!r}; all entries must be finite"
        )
    return arr
