"""Time grids, step orders, source and switch tables of a transient run (used by
:func:`crossbar.transient.transient`).

``time_grid(t_stop, t_step, breaks)``       fixed-step points plus breakpoints
``tg_pattern_switch(netlist, assignment, at)``  Switch events for a new TG pattern
``CROSSBAR_GROUPS``                         resistor groups of a crossbar, by name prefix
"""

from __future__ import annotations

import math

import numpy as np

from crossbar.transient.waveforms import Switch
from devices.errors import NetlistError, ParameterError
from netlists.netlist import Netlist

__all__ = ["MAX_TIME_POINTS", "METHODS", "time_grid", "check_times", "tg_pattern_switch", "CROSSBAR_GROUPS",
           "power_labels", "step_orders", "source_values", "switch_values", "capacitor_table"]

MAX_TIME_POINTS = 10_000_000
"""Most time points a run takes without ``allow_long=True``."""

METHODS = ("be", "trap")


def _positive_time(name, x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number of seconds, got {x!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise ParameterError(f"{name} must be finite and > 0 s, got {x!r}")
    return x


def time_grid(t_stop: float, t_step: float, breaks=(), *, allow_long: bool = False) -> np.ndarray:
    """Time points ``0, t_step, 2 t_step, ..., t_stop`` plus every breakpoint in ``(0, t_stop)``.

    A breakpoint within ``1e-9 t_step`` of a grid point is that grid point.  The last
    step is shorter when ``t_stop`` is not a multiple of ``t_step``.

    Raises
    ------
    ParameterError
        ``t_step <= 0``, ``t_stop < t_step``, non-finite values, or more than
        :data:`MAX_TIME_POINTS` points without ``allow_long=True``.
    """
    t_step = _positive_time("t_step", t_step)
    t_stop = _positive_time("t_stop", t_stop)
    if t_stop < t_step:
        raise ParameterError(f"t_stop must be >= t_step = {t_step!r} s, got {t_stop!r}")
    n = int(math.ceil(t_stop / t_step - 1e-9))
    if n + 1 > MAX_TIME_POINTS and not allow_long:
        raise ParameterError(f"{n + 1} time points (t_stop / t_step = {t_stop / t_step:.3g}) exceed the limit of "
                             f"{MAX_TIME_POINTS}; pass allow_long=True if this is intended")
    t = np.minimum(np.arange(n + 1) * t_step, t_stop)
    t[-1] = t_stop
    tol = 1e-9 * t_step
    extra = []
    for b in breaks:
        if 0 < b < t_stop - tol:
            k = int(round(b / t_step))
            if abs(k * t_step - b) > tol:
                extra.append(b)
    if extra:
        t = np.union1d(t, np.asarray(extra))
    return t


def check_times(times, allow_long):
    try:
        t = np.asarray(times, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError(f"times must be numbers (seconds), got {times!r}") from None
    if t.size < 2 or not np.all(np.isfinite(t)) or t[0] != 0.0:
        raise ParameterError("times must be >= 2 finite time points starting at 0 s")
    d = np.diff(t)
    if np.any(d <= 0):
        k = int(np.flatnonzero(d <= 0)[0])
        raise ParameterError(f"times must be strictly increasing; times[{k}] = {t[k]!r} s, times[{k + 1}] = {t[k + 1]!r} s")
    if t.size > MAX_TIME_POINTS and not allow_long:
        raise ParameterError(f"{t.size} time points exceed the limit of {MAX_TIME_POINTS}; pass allow_long=True")
    return t


def tg_pattern_switch(netlist: Netlist, assignment, at: float) -> dict:
    """Switch events that change a crossbar's TG pattern to ``assignment`` at time ``at``.

    The netlist must come from :func:`netlists.build_crossbar` with a linear
    :class:`devices.TransmissionGate` whose ``r_off`` is finite (every TG is a resistor
    ``rtg{k}_{j}``).  Gates whose state changes get a :class:`Switch` to the ``r_on`` or
    ``r_off`` value found in the netlist.

    Returns
    -------
    dict
        Resistor name -> :class:`Switch`, ready for ``transient(..., switches=)``.
    """
    from netlists.builder import check_contest

    layout = netlist.layout
    if layout is None or not hasattr(layout, "assignment"):
        raise NetlistError("tg_pattern_switch needs a crossbar netlist from netlists.build_crossbar")
    new = check_contest(assignment)
    old = np.asarray(layout.assignment)
    if new.shape != old.shape:
        raise ParameterError(f"assignment must have shape {old.shape} (K sets x C columns), got {new.shape}")
    R = netlist.resistors
    rows = {n: k for k, n in enumerate(R.names)}
    K, C = old.shape
    names = [f"rtg{k}_{j}" for k in range(K) for j in range(C)]
    if any(n not in rows for n in names):
        raise NetlistError("tg_pattern_switch needs every TG as a resistor: build the crossbar with a finite "
                           "TransmissionGate.r_off (open TGs are left out when r_off is inf)")
    vals = np.array([R.value[rows[n]] for n in names]).reshape(K, C)
    r_on = vals[old].min() if old.any() else None
    r_off = vals[~old].max() if (~old).any() else None
    out = {}
    for k in range(K):
        for j in range(C):
            if new[k, j] != old[k, j]:
                target = r_on if new[k, j] else r_off
                if target is None:
                    raise NetlistError("cannot infer the TG on/off resistance: the netlist has no TG in that state")
                out[f"rtg{k}_{j}"] = Switch((float(at),), (float(target),))
    return out


CROSSBAR_GROUPS = {"wordlines": ("rw",), "bitlines": ("rb",), "summing_lines": ("rs",), "tgs": ("rtg",),
                   "cells": ("rc", "ra")}
"""Resistor groups of a crossbar from :func:`netlists.build_crossbar`, by name prefix:
wire segments of wordlines, bitlines and summing lines, TGs, cells (RRAM and access)."""


def power_labels(netlist, groups):
    """(group names, label per resistor) for ``power_groups``."""
    if not isinstance(groups, dict) or not groups:
        raise ParameterError(f"power_groups must be a non-empty dict of group -> name prefixes, got {groups!r}")
    names = list(groups)
    prefixes = []
    for gi, (gname, pre) in enumerate(groups.items()):
        pre = (pre,) if isinstance(pre, str) else tuple(pre)
        if not pre or not all(isinstance(p, str) and p for p in pre):
            raise ParameterError(f"power_groups[{gname!r}] must be non-empty name prefixes, got {groups[gname]!r}")
        prefixes += [(p.lower(), gi) for p in pre]
    prefixes.sort(key=lambda x: -len(x[0]))  # longest prefix first ("rtg" before "rt")
    other = len(names)
    labels = np.full(len(netlist.resistors), other, np.int64)
    for k, rname in enumerate(netlist.resistors.names):
        for p, gi in prefixes:
            if rname.startswith(p):
                labels[k] = gi
                break
    if np.any(labels == other):
        names.append("other")
    return names, labels


def step_orders(grid, method, breaks, euler_at_breaks):
    orders = np.full(grid.size - 1, 1 if method == "be" else 2, dtype=np.int8)
    if method == "trap" and euler_at_breaks:
        tol = 1e-6 * float(np.min(np.diff(grid)))
        orders[:2] = 1  # ngspice 39 keeps order 1 for the first two steps (no order check after the first)
        if breaks:
            b = np.asarray(breaks)
            k = np.searchsorted(grid, b - tol)
            ok = (k < grid.size - 1) & (np.abs(grid[np.minimum(k, grid.size - 1)] - b) <= tol)
            orders[k[ok]] = 1
    return orders


def source_values(netlist, grid, waveforms):
    V, I = netlist.vsources, netlist.isources
    vs = np.tile(np.asarray(V.dc, float), (grid.size, 1))
    cs = np.tile(np.asarray(I.dc, float), (grid.size, 1))
    for name, wf in waveforms.items():
        if name in V.names:
            vs[:, V.names.index(name)] = wf(grid)
        else:
            cs[:, I.names.index(name)] = wf(grid)
    return vs, cs


def switch_values(netlist, grid, sw, tol):
    R = netlist.resistors
    names = list(sw)
    row = {n: k for k, n in enumerate(R.names)} if names else {}
    out = np.empty((grid.size, len(names)))
    for c, name in enumerate(names):
        s = sw[name]
        r0 = float(R.value[row[name]])
        k = np.searchsorted(np.asarray(s.times), grid + tol, side="right") - 1
        vals = np.concatenate([[r0], s.values])
        out[:, c] = vals[k + 1]
    return names, out


def capacitor_table(netlist: Netlist):
    """(n1, n2, value) arrays of the netlist's capacitors (farad), validated."""
    table = getattr(netlist, "capacitors", None)
    if table is None or len(table) == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    c = np.asarray(table.value, dtype=float)
    bad = ~(np.isfinite(c) & (c > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise NetlistError(f"capacitor {table.names[k]!r}: value must be finite and > 0 F, got {c[k]!r}")
    return np.asarray(table.n1, np.int64), np.asarray(table.n2, np.int64), c
