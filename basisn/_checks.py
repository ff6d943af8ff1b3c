"""Input checks of the ``basisn`` modules: thin wrappers over :mod:`devices._check`.

The project has one validation helper, :mod:`devices._check` (type checks, conversion,
ranges).  These wrappers only keep the ``basisn`` call signatures and the wording of
their range messages (``"d = 0 is outside the allowed range [1, inf]"``).  Every check
raises :class:`devices.errors.ParameterError`, so a caller can catch ``ValueError``.

Examples
--------
>>> check_bits(4)
4
>>> check_int(0, "d", 1)
Traceback (most recent call last):
...
devices.errors.ParameterError: d = 0 is outside the allowed range [1, inf]
"""

from __future__ import annotations

import numpy as np

from devices import _check
from devices.errors import ParameterError

__all__ = ["check_int", "check_d", "check_bits", "check_finite", "check_positive"]

#: Allowed range of coefficient and cell bit widths (inclusive).
BITS_RANGE = (1, 16)


def _range(low, high, closed_high: bool = True) -> str:
    return f"[{'-inf' if low is None else low}, {'inf' if high is None else high}{']' if closed_high else ')'}"


def check_int(value, name: str, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]``.

    Raises
    ------
    ParameterError
        If ``value`` is not an integer (bools, strings and floats are refused) or lies outside the range.
    """
    try:
        value = _check.integer("", name, value, exact=True)
    except ParameterError:
        _check.integer("", name, value, low, high, exact=True)  # the message with the allowed range
        raise
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(f"{name} = {value} is outside the allowed range {_range(low, high)}")
    return value


def check_d(d) -> int:
    """Check a crossbar size / piece length ``d`` (integer >= 1)."""
    return check_int(d, "d (crossbar size, piece length)", 1, None)


def check_bits(bits, name: str = "bits") -> int:
    """Check a bit width (integer in 1-16)."""
    return check_int(bits, name, *BITS_RANGE)


def check_positive(value, name: str, allow_zero: bool = False) -> float:
    """Check a finite real number > 0 (or >= 0 with ``allow_zero``)."""
    value = _check.finite("", name, value)
    if not (value >= 0 if allow_zero else value > 0):
        raise ParameterError(f"{name} = {value!r} is outside the allowed range {'[0' if allow_zero else '(0'}, inf)")
    return value


def check_finite(array, name: str) -> np.ndarray:
    """Return ``array`` as a float ndarray, refusing NaN or infinite entries.

    Raises
    ------
    ParameterError
        Naming the array, how many entries are bad and the index of the first one.
    """
    try:
        return _check.array("", name, array, allow_bool=True)
    except ParameterError:
        arr = np.asarray(array)
        if arr.dtype.kind not in "iufb":
            raise
        bad = ~np.isfinite(arr.astype(float))
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ParameterError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf), first at index "
            f"{first} = {arr[first]!r}; all entries must be finite") from None
