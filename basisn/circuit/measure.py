"""Measure a programmed chip: the exact transfer of every crossbar step, reusing one factorization.

``ChipSystem(mapping)``
    The chip of a :class:`~basisn.circuit.mapping.CrossbarMapping`, factorized once
    (its port model); ``step_transfer(patterns)`` gives the exact ``(K, d)`` transfer of a
    step with K logical TG patterns closed *together* (they interact through the shared
    wordlines), in units of the ideal product: the outputs for input ``x`` (activation
    units) are ``x @ T.T``. Results are cached per pattern set.
``direct_step_transfer(mapping, patterns)``
    The same from scratch: build the step's netlist with :func:`netlists.build_crossbar`,
    factorize, :func:`crossbar.transfer_matrix` (one adjoint solve per line). The check of
    the fast path.
``ngspice_step_currents(mapping, patterns, voltages)``
    Output line currents of one step from ngspice, ampere (spot checks).
``NonlinearChipSystem(mapping)`` / ``chip_system(mapping)``
    A chip with level-1 NMOS access or sinh cells: each 1T1R cell replaced by its chord
    conductance at the read operating point (``v_ref`` across it, bitline at 0 V), then
    measured as a linear chip. Not exact: ``exact_step_currents`` (a Newton solve per
    input) and ``linearized_step_transfer`` (linearised at a step's solved operating
    point) measure the difference.

How the fast path is exact
--------------------------
The array (wordlines, bitlines, cells) meets the periphery (TGs, summing lines) only at
the column bottoms. :class:`~basisn.circuit.ports.ArrayPorts` reduces the array once per
chip to its exact admittance at the column bottoms and drivers (the Schur complement,
from one sparse Cholesky factorization whose ordering and symbolic analysis are shared by
every chip of that shape); a step then solves only the periphery on top of it
(:func:`~basisn.circuit.ports.periphery_transfer`: one dense ``n_cols x n_cols``
Cholesky and one banded solve per summing line). No approximation: the step's transfer
equals a fresh factorization of its netlist up to rounding (tested to ~1e-10).

Partial activation
------------------
With ``preset.row_block`` set below ``d``, a step drives one block of ``row_block``
wordlines at a time (:func:`row_blocks`, ``ceil(d / row_block)`` sub-steps, results
added digitally). The rows outside the block (``preset.undriven_rows``):

``"float"``
    Their driver sources are absent, so a floating wordline sits at whatever potential
    its cells give it. Per block the port model eliminates the floating drivers
    (:meth:`~basisn.circuit.ports.ArrayPorts.driven`, a dense Schur complement).
``"off"``
    Their access transistors are off: their cells are disconnected. Per block the port
    model of the block's rows alone, with the bitline segments below the block in series
    at the column bottoms (:class:`~basisn.circuit.ports.BlockPorts`; together one
    factorization's worth of work).

Each block factorizes its own periphery, once per chip; column ``i`` of a step's
transfer comes from the block of row ``i``. (With the undriven drivers held at 0 V and
the cells connected, superposition makes the sum of the blocks equal the full-row
result exactly.) The references (:func:`direct_step_transfer`,
:func:`ngspice_step_currents`, :func:`exact_step_currents`) build one netlist per block
with the other rows' sources (``"float"``) or access transistors (``"off"``) removed.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

import crossbar
from crossbar.native.options import blas_threads as _blas
from devices.errors import ParameterError
from netlists import build_crossbar

from .mapping import CrossbarMapping
from .ports import ArrayPorts, BlockPorts, PeripheryModel
from .preset import access_r_on

__all__ = ["ChipSystem", "NonlinearChipSystem", "chip_system", "direct_step_transfer", "ngspice_step_currents", "row_blocks",
           "exact_step_currents", "linearized_step_transfer", "cell_chord_conductance", "build_step_netlist"]


def row_blocks(preset) -> list:
    """The wordline blocks a step drives one after another (partial activation).

    ``[arange(d)]`` (one block, every row driven) when ``preset.row_block`` is None or at
    least ``d``; else consecutive blocks of ``row_block`` rows (the last may be shorter),
    ``ceil(d / row_block)`` of them. The rows outside the driven block float or have
    their cells switched off (``preset.undriven_rows``).
    """
    d, rb = preset.d, preset.row_block
    if rb is None or rb >= d:
        return [np.arange(d)]
    return [np.arange(s, min(s + rb, d)) for s in range(0, d, rb)]


def build_step_netlist(mapping: CrossbarMapping, patterns, voltages=None, driven=None):
    """Netlist of one step (physical TG states from the logical ``patterns``).

    Linear chips: cells folded into one resistor. Nonlinear chips (NMOS access or sinh
    cells): every 1T1R cell as its devices (sinh cell ``b...``, NMOS ``m...``).
    ``driven`` (row indices, None: every row): only these rows are inputs (the layout's
    ``inputs`` name only their sources, and ``voltages`` holds their values,
    ``len(driven)``); the other rows as ``preset.undriven_rows`` says: ``"float"``
    removes their wordline sources, ``"off"`` removes their cells' access transistors
    (or the cells, when folded or without access) and keeps their sources at 0 V.
    """
    p = mapping.preset
    if voltages is not None and driven is not None:
        v_all = np.zeros(mapping.d)
        v_all[np.asarray(driven)] = np.asarray(voltages, float).reshape(-1)
    else:
        v_all = voltages
    if p.nonlinear:
        net = build_crossbar(mapping.g_rram, mapping.physical_assignment(patterns), v_all, wires=p.wires, tg=p.tg,
                             access=p.access, fold_cells=False, cell_v0=p.cell.v0)
    else:
        net = build_crossbar(mapping.g_rram, mapping.physical_assignment(patterns), v_all, wires=p.wires, tg=p.tg,
                             access=p.access, fold_cells=True)
    return net if driven is None else _restrict(net, driven, p.undriven_rows)


def _restrict(net, driven, undriven_rows: str):
    """``net`` (a crossbar netlist) with only the rows ``driven`` as inputs (see :func:`build_step_netlist`)."""
    lay = net.layout
    R, C = lay.rows, lay.cols
    rows = np.asarray(driven)
    if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer) or rows.size < 1 or rows.min() < 0 \
            or rows.max() >= R or np.unique(rows).size != rows.size:
        raise ParameterError(f"driven rows must be distinct integers in [0, {R}), got {driven!r}")
    undriven = [i for i in range(R) if i not in set(rows.tolist())]
    layout = dataclasses.replace(lay, inputs=tuple(lay.inputs[i] for i in rows))
    if undriven_rows == "float":
        return net.without_sources([lay.inputs[i] for i in undriven], layout=layout)
    names = set(net.resistors.names) | set(net.mosfets.names) | set(net.sinh_cells.names)
    prefix = next(pre for pre in ("m", "ra", "rc", "bc") if f"{pre}0_0" in names)  # access first, else the cell
    return net.without_elements([f"{prefix}{i}_{j}" for i in undriven for j in range(C)], layout=layout)


def exact_step_currents(mapping: CrossbarMapping, patterns, voltages, backend: str = "native") -> np.ndarray:
    """Physical line currents (S, n_lines), ampere, of one step: a full DC solve per input.

    The exact path for nonlinear chips (a Newton solve per input vector with the native
    backend, or ngspice). ``voltages``: (S, d) wordline voltages, volt. With partial
    activation (``preset.row_block``) one solve per row block (the other rows as
    ``preset.undriven_rows`` says), the blocks' currents added (the digital sum).
    """
    v = np.atleast_2d(np.asarray(voltages, float))
    if v.shape[1] != mapping.d:
        raise ParameterError(f"voltages must have shape (S, {mapping.d}), got {v.shape}")
    blocks = row_blocks(mapping.preset)
    total = 0.0
    for rows in blocks:
        net = build_step_netlist(mapping, patterns, driven=None if len(blocks) == 1 else rows)
        lay = net.layout
        ds = crossbar.solve(net, backend=backend, sources={name: v[:, i] for i, name in zip(rows, lay.inputs)},
                            keep_voltages=False)
        i = ds["i"].sel(branch=list(lay.outputs)).values
        total = total + np.asarray(i).reshape(v.shape[0], len(lay.outputs))
    return total


def _bisect(f, lo, hi, n: int = 60):
    """Root of the increasing ``f`` on ``[lo, hi]`` elementwise (f(lo) <= 0 <= f(hi))."""
    for _ in range(n):
        mid = 0.5 * (lo + hi)
        neg = f(mid) < 0
        lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
    return 0.5 * (lo + hi)


def cell_chord_conductance(preset, g_rram, v) -> np.ndarray:
    """Chord conductance ``I / V`` of each 1T1R cell, siemens, with ``V`` volt across it (bitline at 0 V).

    The RRAM (``I = g v0 sinh(V_r / v0)`` or linear) in series with the access transistor
    (linear ``r_on``; a level-1 NMOS with source on the bitline, gate at ``v_gate``); the
    inner node by bisection. ``V`` -> 0 gives the small-signal conductance.
    """
    from .preset import access_r_on  # noqa: PLC0415 - light import
    from devices import NMOSLevel1  # noqa: PLC0415

    g = np.asarray(g_rram, float)
    va = np.maximum(np.abs(np.broadcast_to(np.asarray(v, float), g.shape)), 1e-9)  # chords are even in V here
    cell = preset.cell
    acc = preset.access
    if acc is None:
        return cell.current(g, va) / va
    if isinstance(acc, NMOSLevel1):
        vov = acc.v_gate - acc.vth

        def i_acc(vds):
            tri = acc.beta * (vov * vds - 0.5 * vds ** 2)
            sat = 0.5 * acc.beta * vov ** 2
            return np.where(vds < vov, tri, sat) * (1.0 + acc.lambda_ * vds)
    else:
        r = access_r_on(acc)

        def i_acc(vds):
            return vds / r
    vds = _bisect(lambda x: i_acc(x) - cell.current(g, va - x), np.zeros_like(va), va.copy())
    return i_acc(vds) / va


def linearized_step_transfer(mapping: CrossbarMapping, patterns, v_op) -> tuple[np.ndarray, dict]:
    """(K, d) transfer of one step linearised at its operating point for wordline voltages ``v_op``.

    Solves the step's nonlinear netlist once at ``v_op`` (volt, shape ``(d,)``) with the
    native Newton solver, replaces every 1T1R cell by its chord conductance ``I / V`` at
    that operating point (small-signal where ``|V|`` < 1 uV), and returns the linear
    transfer of the result (ideal-product units, as :meth:`ChipSystem.step_transfer`) and
    the solve's info (``newton_iterations``, ``residual``: the largest over the blocks).
    With partial activation each row block has its own operating point (the other rows
    floating) and gives the columns of its rows.
    """
    v_op = np.asarray(v_op, float).reshape(-1)
    blocks = row_blocks(mapping.preset)
    T = np.zeros((mapping.n_lines, mapping.d))
    info = {"newton_iterations": 0, "residual": 0.0}
    for rows in blocks:
        Tb, ib = _linearized_block(mapping, patterns, v_op, None if len(blocks) == 1 else rows)
        T[:, rows] = Tb
        info = {"newton_iterations": max(info["newton_iterations"], ib["newton_iterations"]),
                "residual": max(info["residual"], ib["residual"])}
    return mapping.readout(patterns) @ T / mapping.gain, info


def _linearized_block(mapping: CrossbarMapping, patterns, v_op, rows):
    """Line currents per volt (n_lines, len(rows)), siemens, of one block linearised at ``v_op``."""
    p = mapping.preset
    net = build_step_netlist(mapping, patterns, v_op if rows is None else v_op[rows], driven=rows)
    ds = crossbar.solve(net)
    ix = np.asarray([net.node_index(n) for n in ds["node"].values])
    vn = np.zeros(int(ix.max()) + 1)  # ground (index 0) stays at 0 V
    vn[ix] = ds["v"].values
    R, C = mapping.g_rram.shape
    if p.nonlinear:
        B = net.sinh_cells if p.cell.nonlinear else net.resistors
        prefix = "bc" if p.cell.nonlinear else "rc"
        sel = np.char.startswith(np.asarray(B.names, str), prefix)  # the RRAMs, row-major as built
        n1, n2 = np.asarray(B.n1)[sel], np.asarray(B.n2)[sel]
        g = mapping.g_rram.ravel()
        i_cell = p.cell.current(g, vn[n1] - vn[n2])
        wl, bl = _wl_bl_nodes(net, R, C, p.wires)
        v_cell = vn[wl] - vn[bl]
        small = np.abs(v_cell) < 1e-6
        g_chord = np.where(small, 0.0, i_cell / np.where(small, 1.0, v_cell))
        if small.any():
            g_chord[small] = cell_chord_conductance(p, g[small], 0.0)
        g_chord = g_chord.reshape(R, C)
        if rows is not None and p.undriven_rows == "off":  # cells switched off carry nothing; removed below
            off = np.setdiff1d(np.arange(R), rows)
            g_chord[off] = mapping.g_cell[off]
    else:
        g_chord = mapping.g_cell
    lin = build_crossbar(g_chord, mapping.physical_assignment(patterns), wires=p.wires, tg=p.tg, access=None,
                         fold_cells=True)
    if rows is not None:
        lin = _restrict(lin, rows, p.undriven_rows)
    T = crossbar.transfer_matrix(lin).values
    info = {"newton_iterations": int(ds.attrs.get("newton_iterations", 0)), "residual": float(ds.attrs.get("residual", 0.0))}
    return T, info


def _wl_bl_nodes(net, R, C, wires):
    """Node indices of each cell's wordline and bitline end, row-major (R*C,)."""
    wl = [net.node_index(f"wl{i}_{j}" if wires.r_wordline > 0 else f"in{i}") for i in range(R) for j in range(C)]
    bl = [net.node_index(f"bl{i}_{j}" if wires.r_bitline > 0 else f"col{j}") for i in range(R) for j in range(C)]
    return np.asarray(wl), np.asarray(bl)


def direct_step_transfer(mapping: CrossbarMapping, patterns) -> np.ndarray:
    """Exact (K, d) transfer of one step by a fresh factorization (ideal-product units).

    With partial activation (``preset.row_block``) one fresh netlist per row block with
    the other rows' sources removed (floating); column ``i`` comes from the block of row ``i``.
    """
    blocks = row_blocks(mapping.preset)
    if len(blocks) == 1:
        T = crossbar.transfer_matrix(build_step_netlist(mapping, patterns)).values  # (n_lines, d) siemens
    else:
        T = np.zeros((mapping.n_lines, mapping.d))
        for rows in blocks:
            T[:, rows] = crossbar.transfer_matrix(build_step_netlist(mapping, patterns, driven=rows)).values
    return mapping.readout(patterns) @ T / mapping.gain


def ngspice_step_currents(mapping: CrossbarMapping, patterns, voltages) -> np.ndarray:
    """Physical line currents (S, n_lines), ampere, of one step for wordline ``voltages`` (S, d) volt, by ngspice.

    With partial activation: one ngspice run per row block (the other rows as
    ``preset.undriven_rows`` says), summed.
    """
    v = np.atleast_2d(np.asarray(voltages, float))
    blocks = row_blocks(mapping.preset)
    total = 0.0
    for rows in blocks:
        net = build_step_netlist(mapping, patterns, driven=None if len(blocks) == 1 else rows)
        lay = net.layout
        ds = crossbar.solve(net, backend="ngspice", sources={name: v[:, i] for i, name in zip(rows, lay.inputs)},
                            keep_voltages=False)
        i = ds["i"].sel(branch=list(lay.outputs)).values
        total = total + np.asarray(i).reshape(v.shape[0], len(lay.outputs))
    return total


class ChipSystem:
    """A programmed chip, factorized once; exact step transfers from its port model.

    Parameters
    ----------
    mapping : CrossbarMapping
        The basis as written into the chip.
    blas_threads : int or None
        BLAS threads while factorizing and solving steps (the dense step solves are
        small: one thread avoids oversubscription on a shared machine); the caller's
        setting is restored afterwards. None: leave BLAS alone.

    Attributes
    ----------
    n_solved : int
        Steps computed (cache misses).
    n_cached : int
        Steps served from the cache.
    setup_time, solve_time : float
        Seconds spent on the port model (one factorization) and on steps.
    blocks : list of ndarray
        The wordline blocks driven one after another (:func:`row_blocks`; one block of
        every row unless the preset sets ``row_block``).
    """

    cache_size = 8192
    """Step transfers kept (oldest dropped first)."""

    def __init__(self, mapping: CrossbarMapping, blas_threads: int | None = 1):
        if not isinstance(mapping, CrossbarMapping):
            raise ParameterError(f"ChipSystem needs a CrossbarMapping, got {type(mapping).__name__}")
        self.mapping = mapping
        self.blas_threads = blas_threads
        p = mapping.preset
        t0 = time.perf_counter()
        g_array, r_acc = self._array_conductances()
        self.blocks = row_blocks(p)
        with _blas(blas_threads):
            self.ports = None if len(self.blocks) > 1 and p.undriven_rows == "off" else ArrayPorts(g_array, p.wires, r_acc)
            if len(self.blocks) == 1:
                self.periphery = PeripheryModel(self.ports, p.tg, p.wires.r_summing, mapping.n_lines)
                self.block_peripheries = [self.periphery]
            else:  # partial activation: a port model and a periphery factorization per block
                self.periphery = None
                if p.undriven_rows == "float":  # the other drivers eliminated from the whole array's ports
                    views = [self.ports.driven(rows) for rows in self.blocks]
                else:  # the other rows' cells off: the block's own array, bitlines extended to the column bottoms
                    views = [BlockPorts(g_array, p.wires, r_acc, int(rows[0]), int(rows[-1]) + 1) for rows in self.blocks]
                self.block_peripheries = [PeripheryModel(v, p.tg, p.wires.r_summing, mapping.n_lines) for v in views]
        self._switchable = mapping.switchable()
        self.setup_time = time.perf_counter() - t0
        self.solve_time = 0.0
        self.n_solved = 0
        self.n_cached = 0
        self._cache: dict = {}

    def _array_conductances(self):
        """RRAM conductances (siemens) and series access resistance (ohm) of the port model."""
        if self.mapping.preset.nonlinear:
            raise ParameterError(f"preset {self.mapping.preset.name!r} is nonlinear (NMOS access or sinh cells); "
                                 "use NonlinearChipSystem (or chip_system(mapping))")
        return self.mapping.g_rram, access_r_on(self.mapping.preset.access)

    @property
    def d(self) -> int:
        return self.mapping.d

    @property
    def K(self) -> int:
        return self.mapping.K

    def physical_transfer(self, assignment) -> np.ndarray:
        """(n_lines, d) line currents per wordline volt, siemens, for physical TG states ``assignment``."""
        a = np.asarray(assignment, bool)
        if a.shape != self._switchable.shape:
            raise ParameterError(f"assignment must have shape {self._switchable.shape} (lines, columns), got {a.shape}")
        if np.any(a & ~self._switchable):
            raise ParameterError("assignment closes a TG that the encoding never switches")
        if not a.any():
            return np.zeros((self.mapping.n_lines, self.d))
        with _blas(self.blas_threads):
            if self.periphery is not None:
                return self.periphery.transfer(a)
            T = np.empty((self.mapping.n_lines, self.d))
            for rows, per in zip(self.blocks, self.block_peripheries):
                T[:, rows] = per.transfer(a)
            return T

    def step_transfer(self, patterns) -> np.ndarray:
        """Exact (K, d) transfer of a step whose K logical patterns are closed together.

        Row ``k`` maps the layer input slice ``x`` (activation units) to the output of TG
        set ``k`` in units of the ideal product (``x @ T[k]`` equals ``x . sum_{l in P_k}
        b_l`` on an ideal chip). Read-only, cached.
        """
        p = self.mapping.check_patterns(patterns)
        key = np.packbits(p).tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            self.n_cached += 1
            return hit
        t0 = time.perf_counter()
        T = self.mapping.readout(p) @ self.physical_transfer(self.mapping.physical_assignment(p)) / self.mapping.gain
        T.setflags(write=False)
        if len(self._cache) >= self.cache_size:  # oldest first: training visits ever new patterns
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = T
        self.solve_time += time.perf_counter() - t0
        self.n_solved += 1
        return T

    def single_column_transfers(self) -> np.ndarray:
        """(d, d): row ``l`` is the exact transfer of logical column ``l`` closed alone (set 0)."""
        out = np.empty((self.d, self.d))
        for l in range(self.d):
            p = np.zeros((self.K, self.d), bool)
            p[0, l] = True
            out[l] = self.step_transfer(p)[0]
        return out


class NonlinearChipSystem(ChipSystem):
    """A nonlinear chip (NMOS access, sinh cells) linearised at its read operating point.

    Every 1T1R cell is replaced by its chord conductance ``I / V`` at ``V = v_ref`` across
    it with the bitline at its virtual ground (:func:`cell_chord_conductance`); the
    result is a linear chip measured exactly as :class:`ChipSystem` (same speed per step).
    The approximation: real inputs put other voltages than ``v_ref`` across the cells
    and wire drops move the bitlines off 0 V. Spot checks against the exact Newton solve
    (:func:`exact_step_currents`) report the difference (:meth:`linearization_error`).

    Parameters
    ----------
    mapping : CrossbarMapping
    v_ref : float, optional
        Reference cell voltage, volt, in (0, v_read]; default ``v_read / 2`` (mid-range input).
    blas_threads : int or None
    """

    def __init__(self, mapping: CrossbarMapping, v_ref: float | None = None, blas_threads: int | None = 1):
        if not isinstance(mapping, CrossbarMapping):
            raise ParameterError(f"NonlinearChipSystem needs a CrossbarMapping, got {type(mapping).__name__}")
        vr = mapping.preset.v_read
        v_ref = 0.5 * vr if v_ref is None else v_ref
        if isinstance(v_ref, bool) or not isinstance(v_ref, (int, float)) or not 0 < v_ref <= vr:
            raise ParameterError(f"v_ref must be in (0, v_read = {vr!r}] V, got {v_ref!r}")
        self.v_ref = float(v_ref)
        super().__init__(mapping, blas_threads)

    def _array_conductances(self):
        p = self.mapping.preset
        return cell_chord_conductance(p, self.mapping.g_rram, self.v_ref), 0.0

    def linearization_error(self, patterns, voltages, backend: str = "native") -> dict:
        """Linearised vs exact line currents of one step for wordline ``voltages`` (S, d), volt.

        Returns ``max_rel`` (max |I_lin - I_exact| / max |I_exact|), ``rms_rel`` (rms
        difference / rms exact) and the arrays ``linear``, ``exact`` (ampere).
        """
        v = np.atleast_2d(np.asarray(voltages, float))
        lin = v @ self.physical_transfer(self.mapping.physical_assignment(patterns)).T
        ex = exact_step_currents(self.mapping, patterns, v, backend=backend)
        err = lin - ex
        return {"max_rel": float(np.abs(err).max() / np.abs(ex).max()),
                "rms_rel": float(np.sqrt(np.mean(err ** 2) / np.mean(ex ** 2))), "linear": lin, "exact": ex}


def chip_system(mapping: CrossbarMapping, blas_threads: int | None = 1) -> ChipSystem:
    """The chip system of ``mapping``: :class:`NonlinearChipSystem` for a nonlinear preset, else :class:`ChipSystem`."""
    if mapping.preset.nonlinear:
        return NonlinearChipSystem(mapping, blas_threads=blas_threads)
    return ChipSystem(mapping, blas_threads)
