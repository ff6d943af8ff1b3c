"""The circuit of :func:`crossbar.mvm` as a netlist, and IR-drop maps on the array grid.

``mvm_netlist(G, wires=..., access=..., tg=None)``
    The crossbar of :func:`crossbar.mvm` as a :class:`netlists.Netlist` (inputs
    ``vin{i}``, one 0 V output ``vout{j}`` per column) for :func:`crossbar.solve`,
    ngspice, or an IR-drop map; built with :class:`netlists.NetlistBuilder` here, so the
    netlist builder needs no per-column-sense option.
``grid_voltages(ds, netlist)``
    Node voltages of a solved crossbar on the array grid: dims (``sample``,) ``line``
    (``wordline``, ``cell``, ``bitline``), ``row``, ``column``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from devices import _check
from devices.errors import ParameterError
from devices.transistors import CMOSTransmissionGate, LinearAccessTransistor, NMOSLevel1, TransmissionGate
from devices.wires import Wires
from netlists.builder import CrossbarLayout, place_cells, place_wordlines
from netlists.netlist import MOSModel, Netlist, NetlistBuilder

__all__ = ["mvm_netlist", "grid_voltages", "LINES"]

LINES = ("wordline", "cell", "bitline")
"""The three nodes of a cell on the grid: wordline tap, inner node, bitline tap."""


def _conductances(G):
    G = _check.array("mvm", "G", G, ndim=2, unit="S", lo=_check.CONDUCTANCE[0], hi=_check.CONDUCTANCE[1])
    if G.size == 0:
        raise ParameterError(f"mvm.G must be a non-empty (rows x columns) array, got shape {G.shape}")
    return G


def _devices(wires, access, tg):
    wires = Wires() if wires is None else wires
    if not isinstance(wires, Wires):
        raise ParameterError(f"mvm wires must be devices.Wires, got {type(wires).__name__}")
    if access is not None and not isinstance(access, (LinearAccessTransistor, NMOSLevel1)):
        raise ParameterError(f"mvm access must be None, LinearAccessTransistor or NMOSLevel1, got {type(access).__name__}")
    if tg is not None and not isinstance(tg, (TransmissionGate, CMOSTransmissionGate)):
        raise ParameterError(f"mvm tg must be None, TransmissionGate or CMOSTransmissionGate, got {type(tg).__name__}")
    return wires


def mvm_netlist(G, *, wires: Wires | None = None, access=None, tg=None, title: str | None = None) -> Netlist:
    """The circuit of :func:`mvm` as a netlist (module docstring), inputs at 0 V.

    Parameters
    ----------
    G : array_like (R, C)
        Cell conductances, siemens.
    wires : devices.Wires, optional
        Segment resistances, ohm (default ``Wires()``); ``r_summing`` is not used.
    access : None, devices.LinearAccessTransistor or devices.NMOSLevel1
    tg : None, devices.TransmissionGate or devices.CMOSTransmissionGate
        Between each column bottom and its 0 V source (on); None: no gate.

    Returns
    -------
    netlists.Netlist
        Sources ``vin{i}`` (inputs, volt) and ``vout{j}`` (0 V; SPICE's branch
        current is the column current), ``layout`` a :class:`netlists.CrossbarLayout`
        with ``k = C`` (one output per column).
    """
    G = _conductances(G)
    wires = _devices(wires, access, tg)
    R, C = G.shape
    kind = "none" if access is None else ("nmos" if isinstance(access, NMOSLevel1) else "linear")
    b = NetlistBuilder(title or f"mvm {R}x{C} ({kind} access, {'no TG' if tg is None else 'TG'})")
    ii, jj = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    cell = [f"{i}_{j}" for i, j in zip(ii.ravel().tolist(), jj.ravel().tolist())]
    n_in = b.nodes([f"in{i}" for i in range(R)])
    b.vsources([f"vin{i}" for i in range(R)], n_in, np.zeros(R, np.int64), np.zeros(R))
    n_out = b.nodes([f"out{j}" for j in range(C)])
    b.vsources([f"vout{j}" for j in range(C)], n_out, np.zeros(C, np.int64), np.zeros(C))
    n_col = n_out if tg is None else b.nodes([f"col{j}" for j in range(C)])
    n_wl = place_wordlines(b, n_in, cell, C, wires.r_wordline)
    n_bl, n_c = place_cells(b, G, n_wl, n_col, cell, wires.r_bitline, access)
    if isinstance(tg, TransmissionGate):
        b.resistors([f"rtg{j}" for j in range(C)], n_col, n_out, np.full(C, tg.r_on))
    elif isinstance(tg, CMOSTransmissionGate):
        n_vdd = b.node("vdd")
        b.vsource("vdd", "vdd", "0", tg.v_dd)
        b.model(MOSModel("ntg", "nmos", vto=tg.vth_n, kp=tg.kp_n, lambda_=tg.lambda_))
        b.model(MOSModel("ptg", "pmos", vto=tg.vth_p, kp=tg.kp_p, lambda_=tg.lambda_))
        b.mosfets([f"mn{j}" for j in range(C)], n_col, np.full(C, n_vdd), n_out, np.zeros(C, np.int64), "ntg", tg.w_n, tg.l)
        b.mosfets([f"mp{j}" for j in range(C)], n_col, np.zeros(C, np.int64), n_out, np.full(C, n_vdd), "ptg", tg.w_p, tg.l)
    xy = np.full((len(b._nodes), 2), -1, dtype=np.int64)
    cx, cy = np.meshgrid(np.arange(C), np.arange(R))
    for idx, x, y in ((n_in, -1, np.arange(R)), (n_out, np.arange(C), R + 1), (n_col, np.arange(C), R)):
        xy[idx, 0], xy[idx, 1] = x, y
    for idx, present in ((n_wl, wires.r_wordline > 0), (n_bl, wires.r_bitline > 0)):
        if present:
            xy[idx.ravel(), 0], xy[idx.ravel(), 1] = cx.ravel(), cy.ravel()
    if n_c is not None:
        xy[n_c, 0], xy[n_c, 1] = cx.ravel(), cy.ravel()
    xy[0] = (-(10 ** 9), -(10 ** 9))
    xy.setflags(write=False)
    G_ro = G.copy()
    G_ro.setflags(write=False)
    b.layout = CrossbarLayout(rows=R, cols=C, k=C, inputs=tuple(f"vin{i}" for i in range(R)),
                              outputs=tuple(f"vout{j}" for j in range(C)), conductances=G_ro,
                              assignment=np.eye(C, dtype=bool), access=kind, node_xy=xy)
    return b.build()


def grid_voltages(ds: xr.Dataset, netlist: Netlist) -> xr.DataArray:
    """Node voltages of a solved crossbar on its array grid, for IR-drop maps.

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`crossbar.solve` result with voltages (``keep_voltages=True``).
    netlist : netlists.Netlist
        Built by :func:`mvm_netlist` or :func:`netlists.build_crossbar` (node names
        ``wl{i}_{j}``, ``c{i}_{j}``, ``bl{i}_{j}``; merged nodes of zero wires are
        read from the node they merged into).

    Returns
    -------
    xarray.DataArray
        Dims (``sample``,) ``line`` (``wordline``: the cell's wordline tap, ``cell``: the
        inner node between RRAM and access device, NaN without one, ``bitline``: the
        cell's bitline tap), ``row``, ``column``; units V.
    """
    lay = netlist.layout
    if lay is None or not hasattr(lay, "rows"):
        raise ParameterError("grid_voltages needs a crossbar netlist (from mvm_netlist or build_crossbar)")
    if "v" not in ds:
        raise ParameterError("grid_voltages needs node voltages: solve with keep_voltages=True")
    R, C = lay.rows, lay.cols
    names = set(netlist.nodes)
    col_node = [f"col{j}" if f"col{j}" in names else f"out{j}" for j in range(C)]

    def node(line, i, j):
        if line == "wordline":
            return f"wl{i}_{j}" if f"wl{i}_{j}" in names else f"in{i}"
        if line == "bitline":
            return f"bl{i}_{j}" if f"bl{i}_{j}" in names else col_node[j]
        return f"c{i}_{j}" if f"c{i}_{j}" in names else None

    v = ds["v"]
    batched = "sample" in v.dims
    S = v.sizes["sample"] if batched else 1
    vals = v.values.reshape(S, -1)
    index = {n: k for k, n in enumerate(v.node.values.tolist())}
    out = np.full((S, len(LINES), R, C), np.nan)
    for li, line in enumerate(LINES):
        for i in range(R):
            for j in range(C):
                name = node(line, i, j)
                if name is not None:
                    out[:, li, i, j] = vals[:, index[name]] if name in index else 0.0  # absent: ground
    da = xr.DataArray(out, dims=("sample", "line", "row", "column"),
                      coords={"line": list(LINES), "row": np.arange(R), "column": np.arange(C)},
                      name="v_grid", attrs={"units": "V", "long_name": "node voltage on the array grid"})
    return da if batched else da.isel(sample=0, drop=True)
