"""Settling time and energy of a transient result (the TG step-timing study's library part).

``half_lsb(full_scale, bits)``                 half an LSB of a b-bit ADC, same unit as full_scale
``settling_time(ds, outputs, t_event, tol)``   time after ``t_event`` from which each output
                                               stays within ``tol`` of its final value, second
``source_energy(ds)``                          energy each voltage source delivers per step, joule
``energy_summary(ds, t0, t1)``                 energy between two times: per source, per resistor
                                               group, stored, numerical; and the balance

Conventions: a result from :func:`crossbar.transient` with ``power_groups`` (for the
energies) and its ``order`` variable; energies per step follow the integration rule
(trapezoidal: midpoint voltages, charge by the trapezoidal rule of the currents; backward
Euler: end-of-step values), so the balance *sources = dissipation + numerical loss +
stored change* holds to rounding (see :class:`crossbar.transient.native.PowerMeter`).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from devices.errors import ParameterError

__all__ = ["half_lsb", "settling_time", "source_energy", "energy_summary"]


def half_lsb(full_scale: float, bits: int) -> float:
    """Half an LSB of a ``bits``-bit converter over ``full_scale``: ``full_scale / 2**bits / 2``."""
    if not (isinstance(bits, (int, np.integer)) and 1 <= bits <= 32):
        raise ParameterError(f"bits must be an integer in [1, 32], got {bits!r}")
    if not (math.isfinite(full_scale) and full_scale > 0):
        raise ParameterError(f"full_scale must be finite and > 0, got {full_scale!r}")
    return float(full_scale) / 2.0 ** bits / 2.0


def settling_time(ds: xr.Dataset, outputs, t_event: float, tol, final=None) -> np.ndarray:
    """Settling time of each output after ``t_event``, second.

    The settling time is ``t_s - t_event`` for the earliest saved time ``t_s >= t_event``
    from which ``|i(t) - final| <= tol`` at every later saved time point.  ``final``
    defaults to the last saved value (the run must be long enough to have settled: an
    output still outside ``tol`` over the last 10 % of the window gives ``inf``, and an
    output inside the band from the first time point at or after ``t_event`` on gives 0,
    i.e. settled within one step).

    Parameters
    ----------
    ds : xarray.Dataset
        A transient result (``i``, ``time``).
    outputs : sequence of str
        Branch names (e.g. the crossbar's ``vout{k}``).
    t_event : float
        Time of the switch or input change, second.
    tol : float or array_like
        Tolerance per output, ampere (e.g. :func:`half_lsb` of the full scale).
    final : array_like, optional
        Final values, ampere (e.g. from a DC solve of the final circuit).
    """
    t = ds["time"].values
    y = ds["i"].sel(branch=list(outputs)).values  # (T, K)
    K = y.shape[1]
    tol = np.broadcast_to(np.asarray(tol, float), (K,))
    if np.any(~np.isfinite(tol)) or np.any(tol <= 0):
        raise ParameterError(f"tol must be finite and > 0 A, got {tol.tolist()}")
    fin = y[-1] if final is None else np.broadcast_to(np.asarray(final, float), (K,))
    after = t >= t_event - 1e-9 * (t[-1] - t[0])
    if not after.any():
        raise ParameterError(f"t_event = {t_event!r} s is after the last time point {t[-1]!r} s")
    out = np.empty(K)
    tail = t >= t[-1] - 0.1 * (t[-1] - t_event)
    for k in range(K):
        bad = np.abs(y[:, k] - fin[k]) > tol[k]
        if np.any(bad & tail):
            out[k] = np.inf
            continue
        bad_after = np.flatnonzero(bad & after)
        if bad_after.size == 0:
            out[k] = 0.0
        else:
            last = bad_after[-1]
            out[k] = t[last + 1] - t_event
    return out


def source_energy(ds: xr.Dataset) -> xr.DataArray:
    """Energy each voltage source delivers into the circuit in each step, joule (``time``, ``branch``).

    Trapezoidal step: ``(v^n + v^{n+1}) / 2 * h (s^n + s^{n+1}) / 2``; backward Euler:
    ``v^{n+1} h s^{n+1}``, with ``s = -i`` the current the source drives out of ``n+``.
    """
    t = ds["time"].values
    v = ds["v_src"].values
    s = -ds["i"].values
    order = ds["order"].values
    e = np.zeros_like(v)
    h = np.diff(t)[:, None]
    trap = (order[1:] == 2)[:, None]
    e_trap = 0.25 * (v[1:] + v[:-1]) * h * (s[1:] + s[:-1])
    e_be = v[1:] * h * s[1:]
    e[1:] = np.where(trap, e_trap, e_be)
    return xr.DataArray(e, dims=("time", "branch"), coords={"time": ds["time"], "branch": ds["branch"]},
                        name="source_energy", attrs={"units": "J", "long_name": "energy delivered in the step"})


def energy_summary(ds: xr.Dataset, t0: float | None = None, t1: float | None = None, inputs=None) -> dict:
    """Energies over the steps ending in ``(t0, t1]``, joule.

    Returns a dict: ``sources`` (all sources), ``drivers`` (the sources named in
    ``inputs``, default every source), per-group dissipation (``groups``: dict), ``numerical``
    (backward-Euler loss), ``stored_change``, and ``balance_error`` = sources - dissipation -
    numerical - stored change (rounding for a consistent result).
    """
    t = ds["time"].values
    t0 = t[0] if t0 is None else t0
    t1 = t[-1] if t1 is None else t1
    sel = (t > t0) & (t <= t1 + 1e-12 * max(abs(t1), 1e-30))
    es = source_energy(ds)
    drivers = list(ds["branch"].values) if inputs is None else list(inputs)
    out = {"sources": float(es.values[sel].sum()),
           "drivers": float(es.sel(branch=drivers).values[sel].sum())}
    groups = {str(g): float(ds["energy"].sel(group=g).values[sel].sum()) for g in ds["group"].values}
    out["groups"] = groups
    out["numerical"] = float(ds["numerical_energy"].values[sel].sum())
    k0 = int(np.flatnonzero(t <= t0 + 1e-12 * max(abs(t0), 1e-30))[-1])
    k1 = int(np.flatnonzero(sel)[-1]) if sel.any() else k0
    out["stored_change"] = float(ds["stored_energy"].values[k1] - ds["stored_energy"].values[k0])
    out["balance_error"] = out["sources"] - sum(groups.values()) - out["numerical"] - out["stored_change"]
    return out
