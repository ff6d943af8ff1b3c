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
import math
import os
import threading
from contextlib import contextmanager

import numpy as np
import xarray as xr

from crossbar.mosfet import level1
from crossbar.native import accuracy
from crossbar.native.accuracy import check_finite
from crossbar.native.options import GMIN, SolverOptions, options_or_default
from crossbar.native.stamps import mos_params
from crossbar.native.dataset import branch_names, to_dataset
from crossbar.native.sources import source_values
from crossbar.topology import check_netlist, check_topology
from devices.errors import BackendError
from netlists.netlist import Netlist
from netlists.spice import to_ngspice

__all__ = ["solve_ngspice", "find_library", "available", "loaded_circuits", "rounding_floor", "kcl_residual"]

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
        # "List of circuits loaded:", then one line per circuit: "[Current]\t<k>\t<title>"
        return sum(1 for line in ng.stdout.splitlines() if "\t" in line and line.split("\t")[-2].strip().isdigit())


@contextmanager
def loaded_deck(ng, deck: str, analysis: str, what: str, fatal=("singular", "error")):
    """Load and run ``deck``; yield the name of the result plot (``analysis`` is its prefix,
    ``"op"`` or ``"tran"``) and unload the circuit afterwards, on every path.

    Raises :class:`BackendError` when ngspice fails, produces no ``what`` (e.g. "an
    operating point"), or prints an error line containing one of ``fatal``.
    """
    ng.clear_output()
    try:
        try:
            ng.load_circuit(deck)
            ng.run()
        except Exception as exc:  # PySpice's NgSpiceCircuitError / NgSpiceCommandError
            raise BackendError(f"ngspice failed: {exc}" + _errors(ng)) from None
        plot = ng.last_plot
        if not plot or not plot.startswith(analysis):
            raise BackendError(f"ngspice did not produce {what}" + _errors(ng))
        err = _error_lines(ng)
        if err and any(f in e.lower() for e in err for f in fatal):
            raise BackendError("ngspice reported: " + " | ".join(err[-5:]))
        yield plot
    finally:
        _unload(ng)


def _run_deck(ng, deck: str) -> dict:
    with loaded_deck(ng, deck, "op", "an operating point") as plot:
        return _vectors(ng, plot)


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


def rounding_floor(netlist: Netlist, v: np.ndarray) -> np.ndarray:
    """Per-sample error floor of branch currents computed from node voltages ``v``
    (S, n_nodes + 1, ground first), ampere.

    ngspice gets the current of a voltage source (or inductor) from the node equation
    at its terminal, a sum of terms ``g v`` whose *size*, not their sum, sets its
    rounding error: ``eps * sum_j |g_pj| (|v_p| + |v_j|)``.  When a large conductance
    joins two nodes near one large voltage, the current through it is lost, and ngspice
    (which does not refine) returns a number that looks fine, e.g. 0 A or -128 A for
    1 V through 1e-18 ohm and 1 kohm in series (exact: -1 mA).  The floor is the
    largest such term over the branches' terminals (small-signal conductances for
    sinh cells and MOSFETs, ``GMIN`` for MOSFET junctions); :func:`solve_ngspice`
    compares it with the currents (:mod:`crossbar.native.accuracy`).
    """
    S, n = v.shape
    av = np.abs(v)
    a_parts, b_parts, g_parts = [], [], []
    R = netlist.resistors
    if len(R):
        a_parts.append(np.broadcast_to(R.n1, (S, len(R))))
        b_parts.append(np.broadcast_to(R.n2, (S, len(R))))
        g_parts.append(np.broadcast_to(1.0 / np.asarray(R.value), (S, len(R))))
    B = netlist.sinh_cells
    if len(B):
        with np.errstate(over="ignore"):
            gb = np.asarray(B.g) * np.cosh(np.minimum(np.abs(v[:, B.n1] - v[:, B.n2]) / np.asarray(B.v0), 710.0))
        a_parts.append(np.broadcast_to(B.n1, (S, len(B))))
        b_parts.append(np.broadcast_to(B.n2, (S, len(B))))
        g_parts.append(gb)
    M = netlist.mosfets
    if len(M):
        p = mos_params(netlist)
        with np.errstate(over="ignore", invalid="ignore"):
            _, d_vd, d_vg, d_vs = level1(v[:, M.d], v[:, M.g], v[:, M.s], p["polarity"], p["vto"], p["kp"], p["lam"],
                                         p["w"], p["l"])
        gm = np.abs(d_vd) + np.abs(d_vg) + np.abs(d_vs)
        nm = len(M)
        a_parts += [np.broadcast_to(M.d, (S, nm)), np.broadcast_to(M.d, (S, nm)), np.broadcast_to(M.s, (S, nm))]
        b_parts += [np.broadcast_to(M.s, (S, nm)), np.broadcast_to(M.b, (S, nm)), np.broadcast_to(M.b, (S, nm))]
        g_parts += [gm, np.full((S, nm), GMIN), np.full((S, nm), GMIN)]
    V, L = netlist.vsources, netlist.inductors
    terminals = np.unique(np.concatenate([V.npos, V.nneg, L.n1, L.n2]).astype(np.int64))
    terminals = terminals[terminals != 0]
    if not a_parts or not terminals.size:
        return np.zeros(S)
    a = np.concatenate(a_parts, axis=1)
    b = np.concatenate(b_parts, axis=1)
    g = np.abs(np.concatenate(g_parts, axis=1))
    rows = np.arange(S)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        size = g * (av[rows, a] + av[rows, b])
        noise = np.zeros((S, n))
        np.add.at(noise, (np.broadcast_to(rows, a.shape), a), size)
        np.add.at(noise, (np.broadcast_to(rows, b.shape), b), size)
        return accuracy.EPS * noise[:, terminals].max(axis=1)


def kcl_residual(netlist: Netlist, v: np.ndarray, i: np.ndarray, idc: np.ndarray) -> np.ndarray:
    """Per-sample ``sum |KCL residual|`` over the non-ground nodes, ampere, of node
    voltages ``v`` (S, n_nodes + 1, ground first), branch currents ``i`` (S, voltage
    sources then inductors; SPICE's sign) and current-source values ``idc`` (S, n_I).

    Bounds the error of the branch currents a solution implies (an injected current
    divides between the sources and ground, see :mod:`crossbar.native.accuracy`):
    ngspice's answer for a 1 V source through 1e-308 ohm satisfies its own clamped
    circuit, not this one, and leaves a 1 A residual here."""
    S, n = v.shape
    leave = np.zeros((S, n))
    rows = np.arange(S)[:, None]

    def flow(a, b, cur):  # current ``cur`` (S, k) from node a to node b
        np.add.at(leave, (np.broadcast_to(rows, cur.shape), np.broadcast_to(a, cur.shape)), cur)
        np.subtract.at(leave, (np.broadcast_to(rows, cur.shape), np.broadcast_to(b, cur.shape)), cur)

    with np.errstate(over="ignore", invalid="ignore"):
        R = netlist.resistors
        if len(R):
            flow(R.n1, R.n2, (v[:, R.n1] - v[:, R.n2]) / np.asarray(R.value))
        B = netlist.sinh_cells
        if len(B):
            g, v0 = np.asarray(B.g), np.asarray(B.v0)
            flow(B.n1, B.n2, g * v0 * np.sinh((v[:, B.n1] - v[:, B.n2]) / v0))
        M = netlist.mosfets
        if len(M):
            p = mos_params(netlist)
            ids = level1(v[:, M.d], v[:, M.g], v[:, M.s], p["polarity"], p["vto"], p["kp"], p["lam"], p["w"],
                         p["l"])[0]
            flow(M.d, M.s, ids)
            flow(M.d, M.b, GMIN * (v[:, M.d] - v[:, M.b]))
            flow(M.s, M.b, GMIN * (v[:, M.s] - v[:, M.b]))
        V, L, I = netlist.vsources, netlist.inductors, netlist.isources
        if len(V):
            flow(V.npos, V.nneg, i[:, :len(V)])
        if len(L):
            flow(L.n1, L.n2, i[:, len(V):])
        if len(I):
            flow(I.npos, I.nneg, idc)
        return np.abs(leave[:, 1:]).sum(axis=1)


def solve_ngspice(netlist: Netlist, sources=None, *, keep_voltages: bool = True,
                  options: SolverOptions | None = None) -> xr.Dataset:
    """Operating point(s) of ``netlist`` computed by ngspice; same Dataset as the native solver.

    The netlist's topology and ``sources`` are checked by the same functions as for the
    native solver (:func:`crossbar.topology.check_topology`,
    :func:`crossbar.native.sources.source_values`), so both backends raise the same
    named errors.  Batched ``sources`` (1-D arrays) run one ``.op`` per sample; the
    circuit is unloaded after every run, failed or not.  The branch currents are
    checked against their rounding floor (:func:`rounding_floor`) as the native
    solver's are: ``options.check_rtol``, ``abstol`` and ``ill_conditioned`` apply; the
    other options are the native solver's and are ignored here.

    Raises
    ------
    NetlistError, FloatingNodeError, VoltageSourceLoopError
        As the native solver.
    BackendError
        ngspice is missing or failed.
    IllConditionedError
        ngspice returned a non-finite value, or branch currents below their rounding
        floor (ngspice does not refine; use the native backend for such circuits).
    """
    check_netlist(netlist, "solve_ngspice")
    options = options_or_default(options)
    deck = to_ngspice(netlist)  # names and cards first: a netlist that cannot be written safely is refused as such
    check_topology(netlist)
    vdc, idc, batched = source_values(netlist, sources)
    S = vdc.shape[0]
    nodes = list(netlist.nodes[1:])
    branches = branch_names(netlist)  # voltage sources, then inductors
    names = list(netlist.vsources.names) + list(netlist.isources.names)
    v = np.empty((S, len(nodes)))
    i = np.empty((S, len(branches)))
    with _lock:
        ng = _shared()
        for s in range(S):
            if sources:  # this sample's source values: its own deck
                deck = to_ngspice(netlist.with_sources(dict(zip(names, np.concatenate([vdc[s], idc[s]]).tolist()))))
            res = _run_deck(ng, deck)
            v[s] = [_lookup(res, n, f"v({n})") for n in nodes]
            i[s] = [_lookup(res, f"{b}#branch", f"i({b})") for b in branches]
    check_finite(v, i)
    v_full = np.concatenate([np.zeros((S, 1)), v], axis=1)
    err = kcl_residual(netlist, v_full, i, idc) + rounding_floor(netlist, v_full)
    iscale = np.max(np.abs(idc), axis=1, initial=0.0) if idc.shape[1] else None
    accuracy.check(err, i, options, 0, iscale)
    e_max = float(np.max(err, initial=0.0))
    return to_dataset(netlist, v if keep_voltages else None, i, batched, {
        "backend": "ngspice", "method": "ngspice-shared", "newton_iterations": -1, "residual": float("nan"),
        "branch_current_error": math.inf if math.isnan(e_max) else e_max, "branch_current_error_units": "A"})
