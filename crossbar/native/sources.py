"""Source values for a solve, validated once for every backend.

``source_values(netlist, sources)`` turns the ``sources=`` argument of
:func:`crossbar.solve` (a mapping of source name to a value or a 1-D array of sample
values) into dense arrays of every independent source's value per sample; the native
solver and the ngspice backend both call it, so both accept and refuse the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from devices import _check
from devices.errors import NetlistError
from netlists.netlist import Netlist

__all__ = ["source_values", "CURRENT"]

CURRENT = (-1e4, 1e4)
"""Allowed current-source values, ampere."""


def source_values(netlist: Netlist, sources) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(vdc, idc, batched)``: voltage- and current-source values per sample.

    Parameters
    ----------
    netlist : netlists.Netlist
    sources : mapping or None
        Source name -> value (volt for V, ampere for I sources) or a non-empty 1-D
        array of sample values; every array the same length ``S``.  Sources not named
        keep their netlist value.

    Returns
    -------
    vdc : numpy.ndarray, shape (S, n_vsources), volt
    idc : numpy.ndarray, shape (S, n_isources), ampere
    batched : bool
        True when some value was an array (the result gets a ``sample`` dim).

    Raises
    ------
    NetlistError
        ``sources`` not a mapping; an unknown name or one that is not a V or I source;
        a value that is not numeric, has more than one dimension, is an empty array,
        is not finite or lies outside [-1e4, 1e4] V (A); arrays of different lengths.
    """
    if sources is None:
        sources = {}
    if not isinstance(sources, Mapping):
        raise NetlistError(f"sources= must be a dict of source name -> value or 1-D array, got {type(sources).__name__}")
    V, I = netlist.vsources, netlist.isources
    arrays = {}
    given = {}
    for name, value in sources.items():
        kind, row = netlist._locate(name)
        if kind not in ("v", "i"):
            raise NetlistError(f"{name!r} is not an independent source; sources= takes V and I elements only")
        if (kind, row) in given:  # names are case-insensitive: "v1" and "V1" are one source
            raise NetlistError(f"source {name!r} given twice in sources= (also as {given[kind, row]!r}; names are "
                               "case-insensitive)")
        given[kind, row] = name
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            raise NetlistError(f"source {name!r}: values must be numbers (volt or ampere), got {value!r} "
                               f"(dtype {arr.dtype})")
        if arr.ndim > 1:
            raise NetlistError(f"source {name!r}: give a scalar or a 1-D array of sample values, got shape {arr.shape}")
        if arr.ndim == 1 and arr.size == 0:
            raise NetlistError(f"source {name!r}: an empty array has no samples; give at least one value")
        arr = arr.astype(float)
        lo, hi = _check.VOLTAGE if kind == "v" else CURRENT
        bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
        if bad.any():
            first = float(arr.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
            unit = "V" if kind == "v" else "A"
            raise NetlistError(f"source {name!r}: values must be finite and in [{lo:g}, {hi:g}] {unit}, got {first!r}")
        arrays[name] = (kind, row, arr)
    lengths = {a.size for _, _, a in arrays.values() if a.ndim == 1}
    if len(lengths) > 1:
        raise NetlistError(f"batched source values must all have the same length, got lengths {sorted(lengths)}")
    batched = bool(lengths)
    S = lengths.pop() if lengths else 1
    vdc = np.repeat(np.asarray(V.dc, float)[None, :], S, axis=0)
    idc = np.repeat(np.asarray(I.dc, float)[None, :], S, axis=0)
    for name, (kind, row, arr) in arrays.items():
        (vdc if kind == "v" else idc)[:, row] = arr
    for table, values, (lo, hi), unit in ((V, vdc, _check.VOLTAGE, "V"), (I, idc, CURRENT, "A")):
        bad = ~np.isfinite(values[0]) | (values[0] < lo) | (values[0] > hi)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise NetlistError(f"source {table.names[k]!r}: value {values[0, k]!r} {unit} is outside [{lo:g}, {hi:g}] {unit}")
    return vdc, idc, batched
