"""The ngspice backend: the same netlist through ngspice's shared library (PySpice).

The deck comes from :func:`netlists.to_ngspice` (never from user text), is loaded with
``NgSpiceShared.load_circuit`` and run (``.op``); node voltages and branch currents are
read back as doubles through the shared-library API, so no printing precision is lost.

Locating the library: PySpice looks for ``libngspice.so``, Debian ships
``libngspice.so.0``.  :func:`find_library` tries ``$NGSPICE_LIBRARY_PATH``, the
dynamic loader's search (``ctypes.util.find_library``) and the usual library folders,
and sets PySpice's path before the first instance is made.
"""

from __future__ import annotations

import ctypes.util
import glob
import logging
import os
import threading

import numpy as np
import xarray as xr

from devices.errors import BackendError, NetlistError
from netlists.netlist import Netlist
from netlists.spice import to_ngspice

__all__ = ["solve_ngspice", "find_library", "available"]

_lock = threading.Lock()
_instance = None


def find_library() -> str | None:
    """Path of ngspice's shared library, or None when it is not installed."""
    env = os.environ.get("NGSPICE_LIBRARY_PATH")
    if env and os.path.exists(env):
        return env
    found = ctypes.util.find_library("ngspice")
    candidates = []
    if found:
        candidates += [found] if os.path.isabs(found) else [f"/usr/lib/x86_64-linux-gnu/{found}", f"/usr/lib/{found}"]
    for folder in ("/usr/lib/*-linux-gnu", "/usr/lib", "/usr/local/lib", "/usr/lib64", "/opt/homebrew/lib"):
        candidates += sorted(glob.glob(os.path.join(folder, "libngspice.so*")))
        candidates += sorted(glob.glob(os.path.join(folder, "libngspice*.dylib")))
    for c in candidates:
        if os.path.exists(c):
            return c
    return None


def available() -> bool:
    """True when PySpice imports and ngspice's shared library is found."""
    try:
        import PySpice  # noqa: F401
    except ImportError:
        return False
    return find_library() is not None


def _shared():
    global _instance
    if _instance is not None:
        return _instance
    lib = find_library()
    if lib is None:
        raise BackendError("ngspice's shared library was not found: install it (Debian/Ubuntu: "
                           "apt-get install ngspice libngspice0) or set NGSPICE_LIBRARY_PATH to libngspice.so")
    try:
        logging.getLogger("PySpice").setLevel(logging.CRITICAL)
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    except ImportError as exc:
        raise BackendError(f"PySpice is not installed ({exc}); pip install PySpice") from exc
    NgSpiceShared.LIBRARY_PATH = lib.replace("{", "{{").replace("}", "}}")
    try:
        _instance = NgSpiceShared.new_instance()
    except Exception as exc:
        raise BackendError(f"could not load ngspice from {lib!r}: {exc}") from exc
    return _instance


def _run_deck(ng, deck: str) -> dict:
    ng.clear_output()
    ng.load_circuit(deck)
    ng.run()
    err = [line for line in ng.stderr.splitlines() if line.strip() and not line.startswith("Warning")
           and "Unsupported Ngspice version" not in line and "Note:" not in line]
    plot = ng.last_plot
    if not plot or plot == "const" or not plot.startswith("op"):
        ng.remove_circuit()
        raise BackendError("ngspice did not produce an operating point" + (": " + " | ".join(err[-5:]) if err else ""))
    names = ng._ngspice_shared.ngSpice_AllVecs(plot.encode())
    out = {}
    from PySpice.Spice.NgSpice.Shared import ffi

    k = 0
    while names[k] != ffi.NULL:
        name = ffi.string(names[k]).decode()
        info = ng._ngspice_shared.ngGet_Vec_Info(f"{plot}.{name}".encode())
        if info != ffi.NULL and info.v_realdata != ffi.NULL and info.v_length >= 1:
            out[name.lower()] = float(info.v_realdata[0])
        k += 1
    ng.destroy("all")
    ng.remove_circuit()
    if err and any(("singular" in e.lower() or "error" in e.lower()) for e in err):
        raise BackendError("ngspice reported: " + " | ".join(err[-5:]))
    return out


def solve_ngspice(netlist: Netlist, sources=None, *, keep_voltages: bool = True) -> xr.Dataset:
    """Operating point(s) of ``netlist`` computed by ngspice; same Dataset as the native solver.

    Batched ``sources`` (1-D arrays) run one ``.op`` per sample.
    """
    if not isinstance(netlist, Netlist):
        raise NetlistError(f"solve_ngspice takes a netlists.Netlist, got {type(netlist).__name__}")
    values = dict(sources or {})
    lengths = {np.size(v) for v in values.values() if np.ndim(v) > 0}
    if len(lengths) > 1:
        raise NetlistError(f"batched source values must all have the same length, got lengths {sorted(lengths)}")
    batched = bool(lengths)
    S = lengths.pop() if lengths else 1
    nodes = list(netlist.nodes[1:])
    branches = list(netlist.vsources.names)
    v = np.empty((S, len(nodes)))
    i = np.empty((S, len(branches)))
    with _lock:
        ng = _shared()
        for s in range(S):
            net = netlist.with_sources({k: (np.asarray(x).reshape(-1)[s] if np.ndim(x) else x) for k, x in values.items()})
            res = _run_deck(ng, to_ngspice(net))
            try:
                v[s] = [res[n] for n in nodes]
                i[s] = [res[f"{b}#branch"] for b in branches]
            except KeyError as exc:
                raise BackendError(f"ngspice result lacks vector {exc.args[0]!r}") from exc
    if not batched:
        v, i = v[0], i[0]
    dv = ("sample", "node") if batched else ("node",)
    di = ("sample", "branch") if batched else ("branch",)
    data = {"i": (di, i, {"units": "A", "long_name": "voltage-source branch current (SPICE sign: into n+)"})}
    coords = {"branch": ("branch", branches)}
    if keep_voltages:
        data["v"] = (dv, v, {"units": "V", "long_name": "node voltage"})
        coords["node"] = ("node", nodes)
    return xr.Dataset(data, coords=coords, attrs={"backend": "ngspice", "method": "ngspice-shared",
                                                  "newton_iterations": -1, "residual": float("nan"),
                                                  "residual_units": "A", "title": netlist.title})
