"""Time-dependent inputs of a transient analysis.

``PWL(times, values)``
    A piecewise-linear waveform (SPICE's ``PWL``): linear between the corners, held
    constant before the first and after the last.  Times in seconds, strictly
    increasing; values in volt (voltage source) or ampere (current source).
``Step(at, after, before=0.0, rise=...)``
    A ramp from ``before`` to ``after`` starting at ``at`` and lasting ``rise`` (> 0);
    a :class:`PWL` with two corners.
``Switch(times, values)``
    A resistor whose value changes at given times (a TG opening or closing): it keeps
    the netlist's value until ``times[0]``, then takes ``values[k]`` on
    ``[times[k], times[k+1])``.  Values in ohm, > 0, ``inf`` for an open switch.

Every type validates on construction and raises :class:`devices.errors.ParameterError`
naming the bad value.  ``corners`` gives the times where the waveform is not smooth;
the integrator puts a time point on each (a breakpoint, as SPICE does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devices.errors import ParameterError

__all__ = ["PWL", "Step", "Switch", "as_waveform"]


def _times(owner: str, times, *, strictly_positive: bool = False) -> tuple:
    try:
        t = np.asarray(times, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError(f"{owner}: times must be numbers (seconds), got {times!r}") from None
    if t.size == 0:
        raise ParameterError(f"{owner}: times must hold at least one time point")
    if not np.all(np.isfinite(t)):
        raise ParameterError(f"{owner}: times must be finite seconds, got {t.tolist()[:10]}")
    low = t <= 0 if strictly_positive else t < 0
    if low.any():
        need = "> 0" if strictly_positive else ">= 0"
        raise ParameterError(f"{owner}: times must be {need} s, got {t[low][0]!r}")
    d = np.diff(t)
    if np.any(d <= 0):
        k = int(np.flatnonzero(d <= 0)[0])
        raise ParameterError(f"{owner}: times must be strictly increasing; times[{k}] = {t[k]!r} s is followed by "
                             f"times[{k + 1}] = {t[k + 1]!r} s")
    return tuple(float(x) for x in t)


@dataclass(frozen=True)
class PWL:
    """A piecewise-linear waveform.  SPICE: ``PWL(t0 v0 t1 v1 ...)``.

    Examples
    --------
    >>> w = PWL([0.0, 1e-9], [0.0, 0.2])
    >>> float(w(0.5e-9))
    0.1
    """

    times: tuple
    """Corner times, second, finite, >= 0, strictly increasing."""
    values: tuple
    """Values at the corners (volt or ampere), finite; same length as ``times``."""

    def __post_init__(self):
        t = _times("PWL", self.times)
        try:
            v = np.asarray(self.values, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ParameterError(f"PWL: values must be numbers, got {self.values!r}") from None
        if v.size != len(t):
            raise ParameterError(f"PWL: {len(t)} times but {v.size} values; give one value per time")
        if not np.all(np.isfinite(v)):
            raise ParameterError(f"PWL: values must be finite, got {v.tolist()[:10]}")
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "values", tuple(float(x) for x in v))

    def __call__(self, t):
        """Value(s) at time(s) ``t``, second."""
        return np.interp(np.asarray(t, dtype=float), self.times, self.values)

    @property
    def corners(self) -> tuple:
        """Times where the slope changes, second."""
        return self.times

    def spice(self) -> str:
        """The SPICE transient function, ``PWL(t0 v0 t1 v1 ...)``."""
        pairs = " ".join(f"{t!r} {v!r}" for t, v in zip(self.times, self.values))
        return f"PWL({pairs})"


def Step(at: float, after: float, before: float = 0.0, rise: float | None = None) -> PWL:
    """A ramp from ``before`` to ``after`` over ``[at, at + rise]``, as a :class:`PWL`.

    Parameters
    ----------
    at : float
        Start of the ramp, second, >= 0.
    after, before : float
        Final and initial values (volt or ampere).
    rise : float
        Ramp duration, second, > 0 (an ideal jump is not representable at a fixed
        step; use ``rise = t_step`` for the steepest edge the grid resolves).
    """
    if rise is None:
        raise ParameterError("Step: give rise= (ramp duration in seconds, > 0); use the time step for the steepest edge")
    for name, x in (("at", at), ("rise", rise), ("after", after), ("before", before)):
        try:
            x = float(x)
        except (TypeError, ValueError):
            raise ParameterError(f"Step: {name} must be a number, got {x!r}") from None
        if not math.isfinite(x):
            raise ParameterError(f"Step: {name} must be finite, got {x!r}")
    if float(rise) <= 0:
        raise ParameterError(f"Step: rise must be > 0 s, got {rise!r}")
    if float(at) < 0:
        raise ParameterError(f"Step: at must be >= 0 s, got {at!r}")
    return PWL((float(at), float(at) + float(rise)), (float(before), float(after)))


@dataclass(frozen=True)
class Switch:
    """A resistor switched to new values at given times (TG gate control).

    The resistor keeps its netlist value until ``times[0]``; from ``times[k]`` on (the
    time point at ``times[k]`` included) it is ``values[k]``.  ``inf`` opens it.

    Examples
    --------
    >>> s = Switch([1e-9], [1e9])      # opens a 100-ohm TG at 1 ns
    >>> s.value_at(2e-9, 100.0)
    1000000000.0
    """

    times: tuple
    """Switching times, second, finite, > 0, strictly increasing."""
    values: tuple
    """Resistance from each switching time on, ohm, > 0 (``inf``: open)."""

    def __post_init__(self):
        t = _times("Switch", self.times, strictly_positive=True)
        try:
            v = np.asarray(self.values, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ParameterError(f"Switch: values must be resistances in ohm, got {self.values!r}") from None
        if v.size != len(t):
            raise ParameterError(f"Switch: {len(t)} times but {v.size} values; give one resistance per time")
        bad = np.isnan(v) | (v <= 0)
        if bad.any():
            raise ParameterError(f"Switch: resistances must be > 0 ohm (inf: open), got {v[bad][0]!r}")
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "values", tuple(float(x) for x in v))

    def value_at(self, t: float, initial: float) -> float:
        """Resistance at time ``t``, ohm (``initial`` before the first switching)."""
        k = int(np.searchsorted(self.times, t, side="right")) - 1
        return initial if k < 0 else self.values[k]

    @property
    def corners(self) -> tuple:
        return self.times


def as_waveform(name: str, value):
    """A source's waveform: a :class:`PWL` (a plain number is a constant)."""
    if isinstance(value, PWL):
        return value
    if isinstance(value, Switch):
        raise ParameterError(f"source {name!r}: a Switch changes a resistor; pass it in switches=, not sources=")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"source {name!r}: give a number, PWL or Step, got {type(value).__name__}") from None
    if not math.isfinite(x):
        raise ParameterError(f"source {name!r}: value must be finite, got {value!r}")
    return PWL((0.0,), (x,))
