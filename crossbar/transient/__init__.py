"""Transient analysis of linear netlists with capacitors: ``crossbar.transient``.

``transient(netlist, t_stop, t_step, sources=..., switches=..., method=, backend=)``
    Node voltages and source currents over time, as an ``xarray.Dataset`` with a
    ``time`` dim.
``PWL``, ``Step``, ``Switch``
    Waveforms of sources and switching times of resistors (:mod:`.waveforms`).
``tg_pattern_switch(netlist, assignment, at, r_on, r_off)``
    The :class:`Switch` events that change a crossbar's TG pattern at time ``at``.
``TransientSystem``
    The native integrator (:mod:`.native`): backward Euler or trapezoidal rule at a fixed
    step, one factorization per switch state and step size.

The package itself is callable: ``crossbar.transient(netlist, ...)`` is
:func:`transient`, and ``crossbar.transient.PWL`` etc. stay reachable.

Design of TG gate control: a TG is a resistor (``r_on`` closed, ``r_off`` open) and a
gate signal is a :class:`Switch` event on it: the resistance jumps at the switching
time.  The circuit stays linear, so the native solver refactorizes only at switch
events; the gate's own dynamics (charge injection, finite edge) are not modelled.
"""

from __future__ import annotations

import logging
import sys
import types

import numpy as np
import xarray as xr

from crossbar.topology import check_netlist
from crossbar.transient.native import TransientSystem
from crossbar.transient.plan import (CROSSBAR_GROUPS, MAX_TIME_POINTS, METHODS, check_times, power_labels,
                                     source_values, step_orders, switch_values, tg_pattern_switch, time_grid)
from crossbar.transient.waveforms import PWL, Step, Switch, as_waveform
from devices.errors import NetlistError, ParameterError
from netlists.netlist import Netlist

__all__ = ["transient", "PWL", "Step", "Switch", "TransientSystem", "tg_pattern_switch", "time_grid",
           "MAX_TIME_POINTS", "CROSSBAR_GROUPS"]

log = logging.getLogger(__name__)

def transient(netlist: Netlist, t_stop: float | None = None, t_step: float | None = None, *, sources=None,
              switches=None, method: str = "trap", backend: str = "native", times=None,
              euler_at_breaks: bool = True, keep_voltages=True, allow_long: bool = False,
              power_groups: dict | None = None, factorization: str = "auto", progress: bool = False) -> xr.Dataset:
    """Transient response of a linear netlist with capacitors.

    Parameters
    ----------
    netlist : netlists.Netlist
        Linear (resistors, capacitors, independent sources); every voltage source has
        one terminal on ground (native backend).
    t_stop, t_step : float
        End time and fixed step, second (``t_step > 0``, ``t_stop >= t_step``).  Every
        source corner and switching time is added as a time point (a breakpoint).
    sources : dict, optional
        Source name -> number, :class:`PWL` or :class:`Step` (volt for V, ampere for I
        sources).  Unlisted sources keep their DC value.
    switches : dict, optional
        Resistor name -> :class:`Switch` (TG gate control; see :func:`tg_pattern_switch`).
    method : {"trap", "be"}
        Trapezoidal rule (second order) or backward Euler (first order).
    backend : {"native", "ngspice"}
        ``"ngspice"`` runs ``.tran`` through PySpice and returns ngspice's own time points
        (ngspice cannot be held to a fixed step; see :mod:`.ngspice_tran`).
    times : array_like, optional
        Native backend: integrate on exactly these time points (second, from 0,
        increasing) instead of the fixed-step grid; used to compare with ngspice on its
        own grid.
    euler_at_breaks : bool
        With ``method="trap"``, take backward-Euler steps where ngspice 39 takes them: the
        first two steps, and the first step after every breakpoint (this damps the
        trapezoidal rule's ringing after a jump).
    keep_voltages : bool or sequence of str
        ``True``: every node voltage; ``False``: none; names: those nodes.
    allow_long : bool
        Allow more than :data:`MAX_TIME_POINTS` time points.
    power_groups : dict, optional
        Group name -> tuple of resistor-name prefixes (e.g. :data:`CROSSBAR_GROUPS`): adds
        ``energy`` (``time``, ``group``; joule dissipated in each group's resistors during
        the step ending at that time, the unmatched ones in ``"other"``),
        ``numerical_energy`` (backward-Euler damping loss) and ``stored_energy`` (``time``;
        joule in the capacitors); see :class:`.energy.PowerMeter`.  With
        ``backend="ngspice"`` every node voltage is read back for it.
    factorization : {"auto", "cholmod", "superlu"}
        Native sparse factorization.
    progress : bool
        Show a tqdm progress bar (native backend).

    Returns
    -------
    xarray.Dataset
        ``i`` (``time``, ``branch``; ampere, SPICE sign: into ``n+`` through the source),
        ``v`` (``time``, ``node``; volt), ``v_src`` (``time``, ``branch``; each voltage
        source's value ``v(n+) - v(n-)``, volt), coordinate ``time`` (second); attrs ``backend``,
        ``method``, ``t_step``, ``factorizations`` and ``residual`` (largest KCL residual,
        ampere) for the native backend.

    Raises
    ------
    ParameterError
        Bad times, steps, waveforms, methods (before anything is solved).
    NetlistError
        Unknown source or resistor names, non-positive capacitances, MOSFETs.

    Examples
    --------
    An RC (1 kohm, 1 pF) driven by a 0 -> 1 V ramp of 10 ps; after 5 tau = 5 ns the
    capacitor is within 1 % of the input:

    >>> from netlists.netlist import NetlistBuilder
    >>> b = NetlistBuilder("rc")
    >>> b.vsource("v1", "in", "0", 0.0); b.resistor("r1", "in", "out", 1e3)
    >>> b.capacitor("c1", "out", "0", 1e-12)
    >>> ds = transient(b.build(), 5e-9, 1e-11, sources={"v1": Step(0.0, 1.0, rise=1e-11)})
    >>> round(float(ds.v.sel(node="out")[-1]), 2), ds.attrs["factorizations"]
    (0.99, 3)
    """
    check_netlist(netlist, "transient()")
    if not netlist.is_linear:
        raise NetlistError(f"transient() handles linear netlists; this one has {len(netlist.mosfets)} MOSFET(s) and "
                           f"{len(getattr(netlist, 'sinh_cells', ()))} sinh cell(s) (model TG gates as Switch events)")
    if method not in METHODS:
        raise ParameterError(f"method must be one of {list(METHODS)}, got {method!r}")
    if backend not in ("native", "ngspice"):
        raise ParameterError(f"backend must be 'native' or 'ngspice', got {backend!r}")
    waveforms = {}
    for name, value in dict(sources or {}).items():
        key = str(name).lower()
        if key not in netlist.vsources.names and key not in netlist.isources.names:
            raise NetlistError(f"sources: no voltage or current source named {name!r} in netlist {netlist.title!r}")
        waveforms[key] = as_waveform(key, value)
    sw = {}
    rnames = set(netlist.resistors.names)
    for name, value in dict(switches or {}).items():
        key = str(name).lower()
        if not isinstance(value, Switch):
            raise ParameterError(f"switches[{name!r}] must be a Switch, got {type(value).__name__}")
        if key not in rnames:
            raise NetlistError(f"switches: no resistor named {name!r} in netlist {netlist.title!r}")
        sw[key] = value
    breaks = sorted({t for w in list(waveforms.values()) + list(sw.values()) for t in w.corners})
    if times is None:
        if t_stop is None or t_step is None:
            raise ParameterError("give t_stop and t_step (seconds), or times=")
        grid = time_grid(t_stop, t_step, breaks, allow_long=allow_long)
        t_step = float(t_step)
    else:
        if backend != "native":
            raise ParameterError("times= is for the native backend (ngspice chooses its own time points)")
        grid = check_times(times, allow_long)
        t_step = float(np.max(np.diff(grid)))
    t_stop = float(grid[-1])
    if keep_voltages is True:
        keep_names = list(netlist.nodes[1:])
    elif keep_voltages is False or keep_voltages is None:
        keep_names = []
    else:
        keep_names = [str(n).lower() for n in keep_voltages]
        for n in keep_names:
            netlist.node_index(n)
    groups = None
    if power_groups is not None:
        groups = power_labels(netlist, power_groups)
    if backend == "ngspice":
        return _run_ngspice(netlist, t_stop, t_step, method, waveforms, sw, keep_names, breaks, groups)
    return _run_native(netlist, grid, t_step, method, waveforms, sw, keep_names, breaks, euler_at_breaks,
                       factorization, progress, groups)


def _add_power(ds, names, energy, numerical, stored):
    ds["energy"] = (("time", "group"), energy, {
        "units": "J", "long_name": "energy dissipated in each resistor group during the step ending at this time"})
    ds = ds.assign_coords(group=("group", names))
    ds["numerical_energy"] = ("time", numerical, {
        "units": "J", "long_name": "energy lost to backward-Euler damping in the step ending at this time"})
    ds["stored_energy"] = ("time", stored, {"units": "J", "long_name": "energy stored in the capacitors"})
    return ds


def _dataset(netlist, time, i, v, keep_names, attrs, vsrc):
    data = {"i": (("time", "branch"), i, {"units": "A",
                                          "long_name": "voltage-source branch current (SPICE sign: into n+)"}),
            "v_src": (("time", "branch"), vsrc, {"units": "V", "long_name": "voltage-source value v(n+) - v(n-)"})}
    coords = {"time": ("time", time, {"units": "s", "long_name": "time"}),
              "branch": ("branch", list(netlist.vsources.names))}
    if v is not None and keep_names:
        data["v"] = (("time", "node"), v, {"units": "V", "long_name": "node voltage"})
        coords["node"] = ("node", keep_names)
    attrs = dict(attrs, title=netlist.title)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _run_native(netlist, grid, t_step, method, waveforms, sw, keep_names, breaks, euler_at_breaks,
                factorization, progress, groups):
    orders = step_orders(grid, method, breaks, euler_at_breaks)
    vs, cs = source_values(netlist, grid, waveforms)
    sw_names, sw_vals = switch_values(netlist, grid, sw, 1e-6 * float(np.min(np.diff(grid))))
    system = TransientSystem(netlist, sw_names, factorization=factorization)
    keep = np.array([netlist.node_index(n) for n in keep_names], np.int64) if keep_names else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=grid.size - 1, desc="transient", unit="step")
    try:
        v, i, info = system.run(grid, orders, vs, cs, sw_vals, keep, progress=bar.update if bar else None,
                                power_labels=None if groups is None else groups[1])
    finally:
        if bar is not None:
            bar.close()
    ds = _dataset(netlist, grid, i, v, keep_names, {
        "backend": "native", "method": method, "t_step": t_step, "euler_at_breaks": int(euler_at_breaks),
        "time_grid": "fixed step with breakpoints", "factorizations": info["factorizations"],
        "residual": info["residual"], "residual_units": "A", "capacitors": system.n_capacitors,
        "ordering": system.ordering}, vs)
    if groups is not None:
        ds = _add_power(ds, groups[0], info["energy"], info["numerical"], info["stored"])
    ds["order"] = ("time", np.concatenate([[0], orders]).astype(np.int8),
                   {"long_name": "integration order of the step ending at this time (0: DC point)", "units": "1"})
    return ds


def _run_ngspice(netlist, t_stop, t_step, method, waveforms, sw, keep_names, breaks, groups):
    from crossbar.transient.energy import PowerMeter
    from crossbar.transient.ngspice_tran import run_tran, tran_deck

    read = list(netlist.nodes[1:]) if groups is not None else keep_names
    deck = tran_deck(netlist, t_stop, t_step, method, waveforms, sw, save_nodes=read, tol=1e-9 * t_step)
    t, i, v_read = run_tran(deck, list(netlist.vsources.names), read)
    vs, _ = source_values(netlist, t, waveforms)
    v = None
    if keep_names:
        col = {n: k for k, n in enumerate(read)}
        v = v_read[:, [col[n] for n in keep_names]]
    ds = _dataset(netlist, t, i, v, keep_names, {
        "backend": "ngspice", "method": method, "t_step": t_step, "time_grid": "ngspice",
        "residual": float("nan"), "residual_units": "A"}, vs)
    orders = np.concatenate([[0], step_orders(t, method, breaks, True)])  # the orders ngspice 39 takes
    if groups is not None:
        sw_names, sw_vals = switch_values(netlist, t, sw, 1e-9 * t_step)
        rows = {n: k for k, n in enumerate(netlist.resistors.names)}
        meter = PowerMeter(netlist, [rows[n] for n in sw_names], groups[1], t.size)
        vfull = np.zeros(len(netlist.nodes))
        for k in range(t.size):
            vfull[1:] = v_read[k]
            meter.record(k, vfull, sw_vals[k], t[k] - t[k - 1] if k else 0.0, int(orders[k]))
        ds = _add_power(ds, groups[0], meter.energy, meter.numerical, meter.stored)
    ds["order"] = ("time", orders.astype(np.int8),
                   {"long_name": "integration order of the step ending at this time as ngspice 39 takes it "
                                 "(two Euler steps at the start, one after each breakpoint; 0: DC point)", "units": "1"})
    return ds


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`transient` (so ``crossbar.transient(...)`` runs an
    analysis while ``crossbar.transient.PWL`` and the submodules stay importable)."""

    def __call__(self, *args, **kwargs):
        return transient(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
