"""The project's one set of validation helpers (devices, netlists, solver, studies).

Every helper returns the value *converted* (``float``, ``int``, ``bool``, a float
``ndarray``) so that callers store what was checked, and raises
:class:`devices.errors.ParameterError` whose message names the parameter, the value it
got (with its type when the type is the problem) and the allowed range.

What counts as a number
-----------------------
A real number is an instance of :class:`numbers.Real` (``int``, ``float``, NumPy
integer and floating scalars, ``fractions.Fraction``, ...) or a 0-d numeric NumPy
array.  **Strings and booleans are not numbers**: ``Wires("2.5")`` and
``RRAMCell(bits=True)`` raise ``ParameterError`` instead of being converted, so a
value read from a file or a command line is parsed where it is read, once.  An
integer is a real number with an integral value (``4`` and ``4.0`` pass, ``2.5`` does
not); ``exact=True`` accepts ``numbers.Integral`` only.

Physical ranges
---------------
The ranges below keep ``1/R``, ``1/G`` and the products the solvers form (``G * V``,
``kp * W / L * V**2``) finite and far from overflow; they are wide enough for any
device this toolkit models (a 1e-9 ohm "ideal" switch, a 1e15 ohm open):

====================  =====================  ==========
quantity              allowed (inclusive)    unit
====================  =====================  ==========
``RESISTANCE``        [1e-12, 1e18]          ohm
``CONDUCTANCE``       [1e-18, 1e12]          S
``VOLTAGE``           [-1e4, 1e4]            V
``LENGTH``            [1e-12, 1]             m
``TRANSCONDUCTANCE``  [1e-12, 1e3]           A/V^2
``INV_VOLTAGE``       [0, 1e3]               1/V
====================  =====================  ==========

Helpers: :func:`number` (the general one: type, finiteness, range), :func:`finite`,
:func:`positive`, :func:`nonnegative`, :func:`resistance`, :func:`conductance`,
:func:`voltage`, :func:`integer`, :func:`flag`, :func:`choice`, :func:`array`.
``owner`` may be ``""`` (the message then names ``name`` alone).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from devices.errors import ParameterError

__all__ = ["number", "finite", "positive", "nonnegative", "resistance", "conductance", "voltage", "length",
           "integer", "flag", "choice", "array", "label",
           "RESISTANCE", "CONDUCTANCE", "VOLTAGE", "LENGTH", "TRANSCONDUCTANCE", "INV_VOLTAGE"]

RESISTANCE = (1e-12, 1e18)
"""Allowed resistances, ohm (an open may also be ``inf`` where a field says so)."""
CONDUCTANCE = (1e-18, 1e12)
"""Allowed conductances, siemens."""
VOLTAGE = (-1e4, 1e4)
"""Allowed voltages, volt."""
LENGTH = (1e-12, 1.0)
"""Allowed channel widths and lengths, metre."""
TRANSCONDUCTANCE = (1e-12, 1e3)
"""Allowed MOSFET transconductance parameters ``kp``, A/V^2."""
INV_VOLTAGE = (0.0, 1e3)
"""Allowed channel-length modulation ``lambda``, 1/V."""


def label(owner: str, name: str) -> str:
    """``"owner.name"`` (or ``name`` when ``owner`` is empty)."""
    return f"{owner}.{name}" if owner else str(name)


def _u(unit: str) -> str:
    return f" {unit}" if unit else ""


def _fmt(x) -> str:
    if isinstance(x, float) and (x == 0 or 1e-3 <= abs(x) < 1e6) and float(x).is_integer():
        return repr(int(x))
    return f"{x:g}" if isinstance(x, float) else repr(x)


def _interval(lo, hi, lo_open, hi_open) -> str:
    a = "-inf" if lo is None else _fmt(lo)
    b = "inf" if hi is None else _fmt(hi)
    return f"{'(' if lo_open or lo is None else '['}{a}, {b}{')' if hi_open or hi is None else ']'}"


def _is_real(value) -> bool:
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return False
    if isinstance(value, numbers.Real):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"


def _got(value) -> str:
    t = type(value).__name__
    return f"{value!r} ({t})" if not _is_real(value) else repr(value)


def number(owner: str, name: str, value, *, unit: str = "", lo=None, hi=None, lo_open: bool = False,
           hi_open: bool = False, allow_inf: bool = False, what: str = "a number") -> float:
    """``value`` as a ``float``, checked to be a real number inside ``[lo, hi]``.

    Parameters
    ----------
    owner, name : str
        Who owns the parameter (class name, config name) and the parameter's name.
    value : object
        What the caller gave.
    unit : str
        Unit shown in the message.
    lo, hi : float or None
        Bounds (None: unbounded); ``lo_open`` / ``hi_open`` exclude them.
    allow_inf : bool
        Accept ``+inf`` (e.g. an open switch's resistance) beyond ``hi``.
    what : str
        Noun for the message ("a resistance", ...).

    Raises
    ------
    ParameterError
        Not a real number (strings and bools included), NaN, infinite (unless
        ``allow_inf`` and ``+inf``), or outside the range.
    """
    def fail(got):
        rng = _interval(lo, hi, lo_open, hi_open) + (" or inf" if allow_inf else "")
        return ParameterError(f"{label(owner, name)} must be {what} in {rng}{_u(unit)}, got {got}")

    if not _is_real(value):
        raise fail(_got(value))
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise fail(_got(value)) from None
    if allow_inf and v == math.inf:
        return v
    ok = math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        raise fail(repr(value))
    return v


def finite(owner: str, name: str, value, *, unit: str = "") -> float:
    """Any finite real number."""
    return number(owner, name, value, unit=unit)


def positive(owner: str, name: str, value, *, unit: str = "", allow_inf: bool = False, hi=None) -> float:
    """A finite real number > 0 (``+inf`` too with ``allow_inf``), at most ``hi``."""
    return number(owner, name, value, unit=unit, lo=0.0, lo_open=True, hi=hi, allow_inf=allow_inf)


def nonnegative(owner: str, name: str, value, *, unit: str = "", hi=None, hi_open: bool = False) -> float:
    """A finite real number >= 0 (below ``hi``)."""
    return number(owner, name, value, unit=unit, lo=0.0, hi=hi, hi_open=hi_open)


def resistance(owner: str, name: str, value, *, allow_zero: bool = False, allow_inf: bool = False) -> float:
    """A resistance in :data:`RESISTANCE` ohm; ``allow_zero``: also exactly 0 (an ideal
    wire), ``allow_inf``: also ``inf`` (an open)."""
    if allow_zero and _is_real(value) and value == 0:  # no float(): 10**400 would overflow here
        return 0.0
    try:
        return number(owner, name, value, unit="ohm", lo=RESISTANCE[0], hi=RESISTANCE[1], allow_inf=allow_inf,
                      what="a resistance")
    except ParameterError as exc:
        if allow_zero:
            raise ParameterError(str(exc).replace(" must be a resistance in ", " must be 0 or a resistance in ")) from None
        raise


def conductance(owner: str, name: str, value) -> float:
    """A conductance in :data:`CONDUCTANCE` siemens."""
    return number(owner, name, value, unit="S", lo=CONDUCTANCE[0], hi=CONDUCTANCE[1], what="a conductance")


def voltage(owner: str, name: str, value) -> float:
    """A voltage in :data:`VOLTAGE` volt."""
    return number(owner, name, value, unit="V", lo=VOLTAGE[0], hi=VOLTAGE[1], what="a voltage")


def length(owner: str, name: str, value) -> float:
    """A channel width or length in :data:`LENGTH` metre."""
    return number(owner, name, value, unit="m", lo=LENGTH[0], hi=LENGTH[1], what="a length")


def integer(owner: str, name: str, value, lo: int | None = None, hi: int | None = None, *, exact: bool = False) -> int:
    """``value`` as an ``int`` in ``[lo, hi]``.

    Integral values of any real type pass (``4.0``), unless ``exact`` (then only
    ``numbers.Integral``); bools and strings never do.
    """
    rng = _interval(lo, hi, False, False)
    ok = _is_real(value)
    if ok and not isinstance(value, numbers.Integral):
        ok = not exact and math.isfinite(float(value)) and float(value).is_integer()
    if not ok:
        raise ParameterError(f"{label(owner, name)} must be an integer in {rng}, got {value!r} ({type(value).__name__})")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ParameterError(f"{label(owner, name)} must be an integer in {rng}, got {value!r}")
    return v


def flag(owner: str, name: str, value) -> bool:
    """``value`` as a ``bool``; only ``True``/``False`` (and NumPy bools) pass."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{label(owner, name)} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def choice(owner: str, name: str, value, allowed):
    """``value`` if it is one of ``allowed`` (message lists them)."""
    allowed = list(allowed)
    try:
        ok = value in allowed
    except TypeError:
        ok = False
    if not ok:
        raise ParameterError(f"{label(owner, name)} must be one of {allowed}, got {value!r}")
    return value


def array(owner: str, name: str, value, *, ndim: int | None = None, unit: str = "", lo=None, hi=None,
          lo_open: bool = False, hi_open: bool = False, allow_bool: bool = False) -> np.ndarray:
    """``value`` as a float ``ndarray``: numeric dtype, every entry finite and in range.

    Raises
    ------
    ParameterError
        Non-numeric dtype (strings, objects; bools unless ``allow_bool``), a wrong
        number of dimensions, NaN/inf entries or entries out of range (the message
        gives how many and the index and value of the first).
    """
    who = label(owner, name)
    arr = np.asarray(value)
    kinds = "iuf" + ("b" if allow_bool else "")
    if arr.dtype.kind not in kinds:
        raise ParameterError(f"{who} must be a numeric array, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ParameterError(f"{who} must be a {ndim}-D array, got shape {arr.shape}")
    arr = arr.astype(float, copy=False)
    bad = ~np.isfinite(arr)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        n_bad = int(bad.sum())
        rng = _interval(lo, hi, lo_open, hi_open)
        raise ParameterError(f"{who} has {n_bad} entr{'y that is not a' if n_bad == 1 else 'ies that are not'} finite "
                             f"number{'' if n_bad == 1 else 's'} in {rng}{_u(unit)}, first at index {first}: "
                             f"{float(arr[first])!r}")
    return arr
