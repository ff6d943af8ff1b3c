"""Builder for an R x C 1T1R crossbar with K transmission-gate (TG) sets.

Topology (all resistances per segment from :class:`devices.Wires`)::

    Vin_i -- in_i --Rw-- wl_i_0 --Rw-- wl_i_1 --Rw-- ... --Rw-- wl_i_{C-1}     (row i)
                           |             |                         |
                         cell          cell                      cell
                           |             |                         |
                         bl_i_0        bl_i_1                   bl_i_{C-1}
                           |Rb           |Rb                       |Rb   (bitlines run down)
                         col_0         col_1        ...         col_{C-1}
                      TG(k,0)|       TG(k,1)|                 TG(k,C-1)|
          sl_k_0 --Rs-- sl_k_1 --Rs-- ... -- sl_k_{C-1} --Rs-- out_k -- Vout_k (0 V)

* Wordline drivers sit at the left end; row ``i`` is driven by ``Vin<i>`` (``vin{i}``).
* A cell is the RRAM conductance ``G[i, j]`` (``rc{i}_{j}``, from ``wl`` to the inner
  node ``c{i}_{j}``) in series with its access transistor (``ra{i}_{j}``, a linear
  on-resistance, or ``m{i}_{j}``, a level-1 NMOS with drain at the inner node, source
  on the bitline, gate on node ``vg`` driven by ``Vg``); ``access=None`` connects the
  RRAM straight to the bitline, ``fold_cells=True`` writes a linear cell as one resistor
  ``1/G + r_on`` (same currents, one node fewer per cell).
* Bitline ``j`` runs from row 0 down to the TG row; ``Rb`` joins each cell tap to the next
  and the last one to ``col_{j}``.
* Under column ``j`` sits one TG per set: ``rtg{k}_{j}`` joins ``col_{j}`` to summing line
  ``k`` at tap ``sl{k}_{j}``: ``r_on`` when ``assignment[k, j]``, else ``r_off`` (left out
  when ``r_off`` is infinite).  Summing line ``k`` runs from column 0 to the right and
  ends in ``Vout<k>`` (``vout{k}``), a 0 V source: the virtual ground of a TIA.  Its
  current (SPICE's sign: into ``+``, which is ``out_k``) is output ``k``.
* A zero segment resistance merges the nodes it would join (no 0-ohm resistors).

A column switched on in two sets is a *basis contest* and raises
:class:`devices.errors.BasisContestError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from devices import CMOSTransmissionGate, LinearAccessTransistor, NMOSLevel1, TransmissionGate, Wires, _check
from devices.capacitance import Capacitances
from devices.errors import BasisContestError, ParameterError
from netlists.netlist import MOSModel, Netlist, NetlistBuilder

__all__ = ["CrossbarLayout", "build_crossbar", "check_contest", "place_capacitors", "place_wordlines", "place_cells"]

ACCESS_MODEL = "nacc"


@dataclass(frozen=True, eq=False)
class CrossbarLayout:
    """What :func:`build_crossbar` built, attached to the netlist as ``netlist.layout``."""

    rows: int
    cols: int
    k: int
    inputs: tuple
    """Names of the wordline driver sources, one per row (``vin{i}``)."""
    outputs: tuple
    """Names of the 0 V output sources, one per TG set (``vout{k}``)."""
    conductances: np.ndarray = field(repr=False)
    """RRAM conductances, siemens, shape ``(rows, cols)``."""
    assignment: np.ndarray = field(repr=False)
    """TG states, bool, shape ``(k, cols)``."""
    access: str = "linear"
    """``"none"``, ``"linear"`` or ``"nmos"``."""
    node_xy: np.ndarray = field(default=None, repr=False)
    """Integer grid coordinates (column, row) of every node, shape ``(n_nodes + 1, 2)``
    (ground first): cells at (j, i), drivers at (-1, i), column bottoms at (j, R),
    summing-line taps at (j, R + 1), outputs at (C, R + 1).  The native solver uses
    them for a nested-dissection ordering."""


def check_contest(assignment) -> np.ndarray:
    """Validate a TG assignment (K x C, bool) and return it as a read-only bool array.

    Raises
    ------
    BasisContestError
        When a column is switched on in more than one TG set; the message lists the
        columns and the sets that claim them.
    ParameterError
        When the array is not 2-D or not boolean (0/1).
    """
    a = np.asarray(assignment)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ParameterError(f"assignment must be a 2-D (K sets x C columns) array with K, C >= 1, got shape {a.shape}")
    if a.dtype != bool:
        if not np.isin(a, (0, 1)).all():
            raise ParameterError("assignment must hold booleans (or 0/1)")
        a = a.astype(bool)
    claims = a.sum(axis=0)
    bad = np.flatnonzero(claims > 1)
    if bad.size:
        sets = {int(j): [int(k) for k in np.flatnonzero(a[:, j])] for j in bad}
        shown = ", ".join(f"column {j} by sets {s}" for j, s in list(sets.items())[:8])
        more = f" (+{bad.size - 8} more)" if bad.size > 8 else ""
        raise BasisContestError(
            f"basis contest: {bad.size} column(s) switched on in more than one TG set: {shown}{more}; "
            "a column may feed at most one summing line per step", columns=bad.tolist(), sets=sets)
    a = a.copy()
    a.setflags(write=False)
    return a


def build_crossbar(conductances, assignment, inputs=None, *, wires: Wires = Wires(),
                   tg: TransmissionGate | CMOSTransmissionGate = TransmissionGate(),
                   access: LinearAccessTransistor | NMOSLevel1 | None = LinearAccessTransistor(),
                   fold_cells: bool = False, title: str | None = None,
                   capacitance: Capacitances | None = None, cell_v0: float | None = None) -> Netlist:
    """Build the netlist of a 1T1R crossbar with K TG sets (see the module docstring).

    Parameters
    ----------
    conductances : array_like, shape (R, C)
        Programmed RRAM conductances, siemens, numeric, in ``devices._check.CONDUCTANCE``
        ([1e-18, 1e12] S; e.g. from :meth:`devices.RRAMCell.program`).
    assignment : array_like of bool, shape (K, C)
        ``assignment[k, j]``: TG of set ``k`` under column ``j`` is on.
    inputs : array_like, shape (R,), optional
        Wordline driver voltages, volt, numeric, in [-1e4, 1e4] V (default 0; change later with
        ``Netlist.with_sources`` or ``solve(..., sources=...)``).
    wires : devices.Wires
        Segment resistances, ohm.
    tg : devices.TransmissionGate or devices.CMOSTransmissionGate
        TG on/off resistances, ohm, or a level-1 NMOS + PMOS pair per gate
        (``mn{k}_{j}``, ``mp{k}_{j}``; gates on nodes ``vdd`` and ``0``, driven by ``Vdd``).
    access : LinearAccessTransistor, NMOSLevel1 or None
        Access transistor model (``None``: RRAM only).
    fold_cells : bool
        Write a linear 1T1R cell as one resistor (no inner node).
    title : str, optional
    capacitance : devices.capacitance.Capacitances, optional
        Wire and device capacitances for transient analysis (see
        :func:`place_capacitors`); ``None`` writes no capacitor.

    Returns
    -------
    Netlist
        With ``netlist.layout`` a :class:`CrossbarLayout`.
    """
    G = np.asarray(conductances)
    if G.dtype.kind not in "iuf":  # strings, objects and bools are not conductances
        raise ParameterError(f"conductances must be a numeric array (siemens), got dtype {G.dtype}")
    G = G.astype(float)
    if G.ndim != 2 or G.size == 0:
        raise ParameterError(f"conductances must be a non-empty 2-D (rows x cols) array, got shape {G.shape}")
    lo, hi = _check.CONDUCTANCE
    if not np.all(np.isfinite(G) & (G > 0)):
        bad = np.argwhere(~(np.isfinite(G) & (G > 0)))[0]
        raise ParameterError(f"conductances must be finite and > 0 S; cell {tuple(int(x) for x in bad)} is {G[tuple(bad)]!r}")
    if not np.all((G >= lo) & (G <= hi)):  # keeps 1/G and the node sums finite and factorizable
        bad = np.argwhere(~((G >= lo) & (G <= hi)))[0]
        raise ParameterError(f"conductances must lie in [{lo:g}, {hi:g}] S (devices._check.CONDUCTANCE); "
                             f"cell {tuple(int(x) for x in bad)} is {G[tuple(bad)]!r}")
    R, C = G.shape
    A = check_contest(assignment)
    if A.shape[1] != C:
        raise ParameterError(f"assignment has {A.shape[1]} columns but the crossbar has {C} (conductances shape {G.shape})")
    K = A.shape[0]
    if inputs is None:
        v_in = np.zeros(R)
    else:
        v_in = np.asarray(inputs)
        if v_in.dtype.kind not in "iuf":
            raise ParameterError(f"inputs must be {R} numeric voltages (volt), got dtype {v_in.dtype}")
        v_in = v_in.astype(float).reshape(-1)
        lo, hi = _check.VOLTAGE
        if v_in.shape != (R,) or not np.all(np.isfinite(v_in) & (v_in >= lo) & (v_in <= hi)):
            raise ParameterError(f"inputs must be {R} finite voltages in [{lo:g}, {hi:g}] V (one per row), got "
                                 f"shape {np.shape(inputs)}" + (f", e.g. {v_in[~np.isfinite(v_in) | (v_in < lo) | (v_in > hi)][0]!r}"
                                                                if v_in.shape == (R,) else ""))
    if not isinstance(wires, Wires):
        raise ParameterError(f"wires must be a devices.Wires, got {type(wires).__name__} {wires!r}")
    if not isinstance(tg, (TransmissionGate, CMOSTransmissionGate)):
        raise ParameterError(f"tg must be TransmissionGate or CMOSTransmissionGate, got {type(tg).__name__}")
    if access is not None and not isinstance(access, (LinearAccessTransistor, NMOSLevel1)):
        raise ParameterError(f"access must be LinearAccessTransistor, NMOSLevel1 or None, got {type(access).__name__}")
    fold_cells = _check.flag("build_crossbar", "fold_cells", fold_cells)
    if fold_cells and isinstance(access, NMOSLevel1):
        raise ParameterError("fold_cells=True needs a linear access transistor (or none); an NMOS cell keeps its inner node")
    if cell_v0 is not None:
        cell_v0 = _check.positive("build_crossbar", "cell_v0", cell_v0, unit="V")
        if fold_cells:
            raise ParameterError("fold_cells=True folds linear cells; a nonlinear cell (cell_v0 set) needs fold_cells=False")
    kind = "none" if access is None else ("nmos" if isinstance(access, NMOSLevel1) else "linear")

    b = NetlistBuilder(title or f"crossbar {R}x{C} K={K} ({kind} access)")
    ii, jj = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    cell = [f"{i}_{j}" for i, j in zip(ii.tolist(), jj.tolist())]

    # wordlines: driver node, then one node per cell (merged when r_wordline == 0)
    n_in = b.nodes([f"in{i}" for i in range(R)])
    b.vsources([f"vin{i}" for i in range(R)], n_in, np.zeros(R, np.int64), v_in)
    n_wl = place_wordlines(b, n_in, cell, C, wires.r_wordline)
    # bitlines: one node per cell, then the column bottom (TG tap); the cells between them
    n_col = b.nodes([f"col{j}" for j in range(C)])
    n_bl, n_c = place_cells(b, G, n_wl, n_col, cell, wires.r_bitline, access, cell_v0=cell_v0, fold_cells=fold_cells)
    # TG sets and summing lines
    n_out = b.nodes([f"out{k}" for k in range(K)])
    b.vsources([f"vout{k}" for k in range(K)], n_out, np.zeros(K, np.int64), np.zeros(K))
    kk, cc = np.meshgrid(np.arange(K), np.arange(C), indexing="ij")
    kk, cc = kk.ravel(), cc.ravel()
    tap = [f"{k}_{j}" for k, j in zip(kk.tolist(), cc.tolist())]
    if wires.r_summing > 0:
        n_sl = b.nodes(["sl" + t for t in tap]).reshape(K, C)
        right = np.concatenate([n_sl[:, 1:], n_out[:, None]], axis=1)
        b.resistors(["rs" + t for t in tap], n_sl.ravel(), right.ravel(), np.full(K * C, wires.r_summing))
    else:
        n_sl = np.repeat(n_out[:, None], C, axis=1)
    on = A.ravel()
    n_tg_col = np.repeat(n_col[None, :], K, axis=0).ravel()
    if isinstance(tg, CMOSTransmissionGate):
        n_vdd = b.node("vdd")
        b.vsource("vdd", "vdd", "0", tg.v_dd)
        b.model(MOSModel("ntg", "nmos", vto=tg.vth_n, kp=tg.kp_n, lambda_=tg.lambda_))
        b.model(MOSModel("ptg", "pmos", vto=tg.vth_p, kp=tg.kp_p, lambda_=tg.lambda_))
        gate_n = np.where(on, n_vdd, 0)
        gate_p = np.where(on, 0, n_vdd)
        b.mosfets(["mn" + t for t in tap], n_tg_col, gate_n, n_sl.ravel(), np.zeros(K * C, np.int64), "ntg", tg.w_n, tg.l)
        b.mosfets(["mp" + t for t in tap], n_tg_col, gate_p, n_sl.ravel(), np.full(K * C, n_vdd), "ptg", tg.w_p, tg.l)
    elif isinstance(tg, TransmissionGate):
        keep = on | (not tg.off_is_open)
        r_tg = np.where(on, tg.r_on, tg.r_off)
        names = [("rtg" + t) for t, k_ in zip(tap, keep) if k_]
        b.resistors(names, n_tg_col[keep], n_sl.ravel()[keep], r_tg[keep])
    else:
        raise ParameterError(f"tg must be TransmissionGate or CMOSTransmissionGate, got {type(tg).__name__}")

    if capacitance is not None:
        place_capacitors(b, capacitance, n_in=n_in, n_wl=n_wl, n_bl=n_bl, n_col=n_col, n_sl=n_sl, n_out=n_out,
                         n_cell=n_c, access=access is not None)
    xy = np.full((len(b._nodes), 2), -1, dtype=np.int64)

    def place(idx, x, y):
        xy[np.asarray(idx).ravel(), 0] = np.asarray(x).ravel()
        xy[np.asarray(idx).ravel(), 1] = np.asarray(y).ravel()

    cx, cy = np.meshgrid(np.arange(C), np.arange(R))
    place(n_in, -1, np.arange(R))
    place(n_col, np.arange(C), R)
    if wires.r_wordline > 0:
        place(n_wl, cx, cy)
    if wires.r_bitline > 0:
        place(n_bl, cx, cy)
    if n_c is not None:
        place(n_c, cx, cy)
    if wires.r_summing > 0:
        place(n_sl, np.broadcast_to(np.arange(C), (K, C)), R + 1)
    place(n_out, C, R + 1)
    xy[0] = (-(10 ** 9), -(10 ** 9))
    xy.setflags(write=False)

    G_ro = G.copy()
    G_ro.setflags(write=False)
    b.layout = CrossbarLayout(rows=R, cols=C, k=K, inputs=tuple(f"vin{i}" for i in range(R)),
                              outputs=tuple(f"vout{k}" for k in range(K)), conductances=G_ro,
                              assignment=A, access=kind, node_xy=xy)
    return b.build()



def place_wordlines(b: NetlistBuilder, n_in, cell, C: int, r_wordline: float) -> np.ndarray:
    """Wordline nodes ``(R, C)`` from the driver nodes ``n_in`` (R,): one segment of
    ``r_wordline`` ohm per cell, or the driver node itself when ``r_wordline == 0``.
    ``cell`` holds the ``"{i}_{j}"`` suffixes of the cells, row-major."""
    R = len(n_in)
    if r_wordline > 0:
        n_wl = b.nodes(["wl" + c for c in cell]).reshape(R, C)
        left = np.concatenate([n_in[:, None], n_wl[:, :-1]], axis=1)
        b.resistors(["rw" + c for c in cell], left.ravel(), n_wl.ravel(), np.full(R * C, r_wordline))
        return n_wl
    return np.repeat(n_in[:, None], C, axis=1)


def place_cells(b: NetlistBuilder, G: np.ndarray, n_wl, n_col, cell, r_bitline: float, access, *,
                cell_v0: float | None = None, fold_cells: bool = False):
    """Bitlines down to the column bottoms ``n_col`` (C,) and the 1T1R cells between the
    wordline nodes ``n_wl`` and the bitline nodes.

    Returns ``(n_bl, n_c)``: bitline nodes ``(R, C)`` and the cells' inner nodes (RRAM to
    access device), or ``None`` when there is none (no access device, or folded cells).
    """
    R, C = G.shape
    if r_bitline > 0:
        n_bl = b.nodes(["bl" + c for c in cell]).reshape(R, C)
        below = np.concatenate([n_bl[1:, :], n_col[None, :]], axis=0)
        b.resistors(["rb" + c for c in cell], n_bl.ravel(), below.ravel(), np.full(R * C, r_bitline))
    else:
        n_bl = np.repeat(n_col[None, :], R, axis=0)
    g = G.ravel()
    n_c = None
    if cell_v0 is not None and access is None:
        b.sinh_cells(["bc" + c for c in cell], n_wl.ravel(), n_bl.ravel(), g, np.full(R * C, cell_v0))
    elif access is None or fold_cells:
        r_cell = 1.0 / g + (access.r_on if access is not None else 0.0)
        b.resistors(["rc" + c for c in cell], n_wl.ravel(), n_bl.ravel(), r_cell)
    else:
        n_c = b.nodes(["c" + c for c in cell])
        if cell_v0 is not None:
            b.sinh_cells(["bc" + c for c in cell], n_wl.ravel(), n_c, g, np.full(R * C, cell_v0))
        else:
            b.resistors(["rc" + c for c in cell], n_wl.ravel(), n_c, 1.0 / g)
        if isinstance(access, NMOSLevel1):
            n_g = b.node("vg")
            b.vsource("vg", "vg", "0", access.v_gate)
            b.model(MOSModel(ACCESS_MODEL, "nmos", vto=access.vth, kp=access.kp, lambda_=access.lambda_))
            b.mosfets(["m" + c for c in cell], n_c, np.full(R * C, n_g), n_bl.ravel(), np.zeros(R * C, np.int64),
                      ACCESS_MODEL, access.w, access.l)
        else:
            b.resistors(["ra" + c for c in cell], n_c, n_bl.ravel(), np.full(R * C, access.r_on))
    return n_bl, n_c

def place_capacitors(b: NetlistBuilder, caps: Capacitances, *, n_in, n_wl, n_bl, n_col, n_sl, n_out,
                     n_cell=None, access: bool = True) -> None:
    """Add a crossbar's capacitances to builder ``b`` (called by :func:`build_crossbar`).

    Node index arrays as :func:`build_crossbar` makes them: ``n_in`` (R,), ``n_wl`` and
    ``n_bl`` (R, C), ``n_col`` (C,), ``n_sl`` (K, C), ``n_out`` (K,), ``n_cell`` (R, C) or
    None.  Every capacitance goes to ground:

    * wordline segment ``rw{i}_{j}`` (``in_i``/``wl_i_{j-1}`` to ``wl_i_j``),
      bitline segment ``rb{i}_{j}`` (``bl_i_j`` to ``bl_{i+1}_j``/``col_j``) and summing-line
      segment ``rs{k}_{j}`` (``sl_k_j`` to ``sl_k_{j+1}``/``out_k``): half of ``c_wordline``,
      ``c_bitline``, ``c_summing`` on each end node (a merged node of an ideal wire
      collects both halves);
    * every TG: ``c_tg`` on ``col_j`` and on ``sl_k_j``;
    * every access transistor: ``c_access`` on ``bl_i_j``; every cell inner node
      ``c_i_j``: ``c_cell``;
    * the TIA inputs ``out_k`` are ideal virtual grounds (0 V sources): charge put on them
      flows into the source and shows in its current.

    The contributions on one node are summed into one capacitor ``c<node>`` (e.g.
    ``cwl0_3``, ``ccol5``); nodes with zero total get none.
    """
    if not isinstance(caps, Capacitances):
        raise ParameterError(f"capacitance must be devices.capacitance.Capacitances, got {type(caps).__name__}")
    total = np.zeros(len(b._nodes))
    R, C = np.shape(n_wl)
    K = len(n_out)

    def seg(a, z, c):
        np.add.at(total, np.asarray(a).ravel(), c / 2)
        np.add.at(total, np.asarray(z).ravel(), c / 2)

    left = np.concatenate([np.asarray(n_in)[:, None], n_wl[:, :-1]], axis=1)
    seg(left, n_wl, caps.c_wordline)
    below = np.concatenate([n_bl[1:, :], np.asarray(n_col)[None, :]], axis=0)
    seg(n_bl, below, caps.c_bitline)
    right = np.concatenate([n_sl[:, 1:], np.asarray(n_out)[:, None]], axis=1)
    seg(n_sl, right, caps.c_summing)
    np.add.at(total, np.repeat(np.asarray(n_col)[None, :], K, axis=0).ravel(), caps.c_tg)
    np.add.at(total, np.asarray(n_sl).ravel(), caps.c_tg)
    if access:
        np.add.at(total, np.asarray(n_bl).ravel(), caps.c_access)
    if n_cell is not None:
        np.add.at(total, np.asarray(n_cell).ravel(), caps.c_cell)
    total[0] = 0.0
    idx = np.flatnonzero(total > 0)
    if idx.size:
        b.capacitors([f"c{b._nodes[i]}" for i in idx], idx, np.zeros(idx.size, np.int64), total[idx])
