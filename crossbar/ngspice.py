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

from crossbar.native.accuracy import check_finite
from crossbar.native.dataset import to_dataset
from crossbar.native.sources import source_values
from crossbar.topology import check_topology
from devices.errors import BackendError, NetlistError
from netlists.netlist import Netlist
from netlists.spice import to_ngspice

__all__ = ["solve_ngspice", "find_library", "available", "loaded_circuits"]

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


def _unload(ng) -> None:
    """Drop every plot and the loaded circuit (called on every path, failures included)."""
    for command in (lambda: ng.destroy("all"), ng.remove_circuit):
        try:
            command()
        except Exception:  # nothing loaded (load failed) or already gone
            pass


def loaded_circuits(ng=None) -> int:
    """Number of circuits loaded in the shared ngspice instance (0 after every solve)."""
    ng = ng or _shared()
    with _lock:
        ng.clear_output()
        try:
            ng.exec_command("setcirc")
        except Exception:  # ngspice: "there aren't any circuits loaded"
            return 0
        return sum(1 for line in ng.stdout.splitlines() if line.strip() and line[:1] in "\tC" and "\t" in line)


def _run_deck(ng, deck: str) -> dict:
    ng.clear_output()
    try:
        try:
            ng.load_circuit(deck)
            ng.run()
        except Exception as exc:  # PySpice's NgSpiceCircuitError / NgSpiceCommandError
            raise BackendError(f"ngspice failed: {exc}" + _errors(ng)) from None
        plot = ng.last_plot
        if not plot or plot == "const" or not plot.startswith("op"):
            raise BackendError("ngspice did not produce an operating point" + _errors(ng))
        out = _vectors(ng, plot)
        err = _error_lines(ng)
        if err and any(("singular" in e.lower() or "error" in e.lower()) for e in err):
            raise BackendError("ngspice reported: " + " | ".join(err[-5:]))
        return out
    finally:
        _unload(ng)


def _error_lines(ng) -> list:
    return [line for line in ng.stderr.splitlines() if line.strip() and not line.startswith("Warning")
            and "Unsupported Ngspice version" not in line and "Note:" not in line]


def _errors(ng) -> str:
    err = _error_lines(ng)
    return ": " + " | ".join(err[-5:]) if err else ""


def _vectors(ng, plot) -> dict:
    from PySpice.Spice.NgSpice.Shared import ffi

    names = ng._ngspice_shared.ngSpice_AllVecs(plot.encode())
    out = {}
    k = 0
    while names[k] != ffi.NULL:
        name = ffi.string(names[k]).decode()
        info = ng._ngspice_shared.ngGet_Vec_Info(f"{plot}.{name}".encode())
        if info != ffi.NULL and info.v_realdata != ffi.NULL and info.v_length >= 1:
            out[name.lower()] = float(info.v_realdata[0])
        k += 1
    return out


def _lookup(res: dict, key: str, alt: str) -> float:
    try:
        return res[key]
    except KeyError:
        pass
    try:  # ngspice names the vector of a numeric node "v(1)"
        return res[alt]
    except KeyError:
        raise BackendError(f"ngspice result lacks vector {key!r}") from None


def solve_ngspice(netlist: Netlist, sources=None, *, keep_voltages: bool = True) -> xr.Dataset:
    """Operating point(s) of ``netlist`` computed by ngspice; same Dataset as the native solver.

    The netlist's topology and ``sources`` are checked by the same functions as for the
    native solver (:func:`crossbar.topology.check_topology`,
    :func:`crossbar.native.sources.source_values`), so both backends raise the same
    named errors.  Batched ``sources`` (1-D arrays) run one ``.op`` per sample; the
    circuit is unloaded after every run, failed or not.

    Raises
    ------
    NetlistError, FloatingNodeError, VoltageSourceLoopError
        As the native solver.
    BackendError
        ngspice is missing or failed.
    IllConditionedError
        ngspice returned a non-finite value.
    """
    if not isinstance(netlist, Netlist):
        raise NetlistError(f"solve_ngspice takes a netlists.Netlist, got {type(netlist).__name__}")
    check_topology(netlist)
    vdc, idc, batched = source_values(netlist, sources)
    S = vdc.shape[0]
    nodes = list(netlist.nodes[1:])
    branches = list(netlist.vsources.names)
    names = list(branches) + list(netlist.isources.names)
    v = np.empty((S, len(nodes)))
    i = np.empty((S, len(branches)))
    with _lock:
        ng = _shared()
        for s in range(S):
            net = netlist.with_sources(dict(zip(names, np.concatenate([vdc[s], idc[s]]).tolist()))) if sources else netlist
            res = _run_deck(ng, to_ngspice(net))
            v[s] = [_lookup(res, n, f"v({n})") for n in nodes]
            i[s] = [_lookup(res, f"{b}#branch", f"i({b})") for b in branches]
    check_finite(v, i)
    return to_dataset(netlist, v if keep_voltages else None, i, batched, {
        "backend": "ngspice", "method": "ngspice-shared", "newton_iterations": -1, "residual": float("nan")})
