"""Validation helpers for the parameter dataclasses (messages name value and allowed range)."""

from __future__ import annotations

import math

import numpy as np

from devices.errors import ParameterError


def finite(owner: str, name: str, value, *, unit: str = "") -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{owner}.{name} must be a number{_u(unit)}, got {value!r}") from None
    if not math.isfinite(value):
        raise ParameterError(f"{owner}.{name} must be finite{_u(unit)}, got {value!r}")
    return value


def positive(owner: str, name: str, value, *, unit: str = "", allow_inf: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{owner}.{name} must be a number > 0{_u(unit)}, got {value!r}") from None
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        allowed = "> 0 (inf allowed)" if allow_inf else "> 0 and finite"
        raise ParameterError(f"{owner}.{name} must be {allowed}{_u(unit)}, got {value!r}")
    return v


def nonnegative(owner: str, name: str, value, *, unit: str = "") -> float:
    v = finite(owner, name, value, unit=unit)
    if v < 0:
        raise ParameterError(f"{owner}.{name} must be >= 0{_u(unit)}, got {value!r}")
    return v


def integer(owner: str, name: str, value, lo: int, hi: int) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok and isinstance(value, (float, np.floating)) and float(value).is_integer():
        ok = True
    if not ok or not lo <= int(value) <= hi:
        raise ParameterError(f"{owner}.{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _u(unit: str) -> str:
    return f" (in {unit})" if unit else ""
