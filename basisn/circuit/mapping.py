"""Write a signed BasisN basis into a crossbar: encoding, cell levels, variation, TGs.

``map_basis(B, preset) -> CrossbarMapping``
    Conductances of every cell, the gain from weight units to siemens, and how a step's
    K logical TG patterns become physical TG states and output lines.

Layout: basis vector ``b_l`` (row ``l`` of ``B``) is stored down logical column ``l``;
wordline ``i`` carries input component ``x_i``, so cell ``(i, l)`` holds ``B[l, i]``.

Signed encodings
----------------
``"differential"`` (default)
    Logical column ``l`` is the physical pair ``(2l, 2l+1)``: ``G+ = g_min + gain *
    max(B, 0)``, ``G- = g_min + gain * max(-B, 0)`` with ``gain = (g_max - g_min) /
    max|B|`` (S per weight unit). Each TG set has two summing lines, ``+`` (lines
    ``2k``) and ``-`` (``2k+1``), and the periphery subtracts them: ``I_k = I_2k -
    I_2k+1 = gain * V . sum_{l in P_k} b_l``. Chosen because the ``g_min`` offset cancels
    in the analog domain for every column, a zero weight draws only ``g_min``
    (smallest currents, so the least IR drop in wires and TGs, the dominant error here),
    the two lines of a pair run side by side and see nearly the same wire drop
    (common-mode), and a c-bit cell gives ``2 * 2**c - 1`` signed levels. Cost: 2d
    columns and 2K summing lines (TIAs).
``"reference"``
    One column per basis vector around a mid level, ``G = g_mid + gain * B`` with
    ``gain = (g_max - g_min) / (2 max|B|)``, plus one reference column of ``g_mid``
    cells on its own summing line (line ``K``), switched on in every step; the periphery
    forms ``I_k - popcount(P_k) * I_ref``. Cost: d + 1 columns, K + 1 lines, but every
    cell carries the mid-level current (more IR drop), the reference error is multiplied
    by the popcount, and only ``2**c`` levels span the signed range.

Programming: targets are rounded to the cell's ``2**bits`` levels and written by
:meth:`devices.RRAMCell.write_verify`: write ``write`` of chip ``chip_seed`` draws its own
residuals from ``(chip_seed, write)``, so two writes of the same basis differ, while the
chip's stuck cells (:meth:`~devices.RRAMCell.stuck_mask`, from ``chip_seed`` alone) are
the same on every write. Write-verify reads the whole 1T1R cell: the RRAM is set so that
RRAM plus access transistor conduct the programmed level (``1/G_rram = 1/g - r_on``); a
stuck cell conducts ``g_max`` or ``g_min`` whatever the target. Drift
(:meth:`CrossbarMapping.at_time`) relaxes the RRAM conductances from the verify read at
``drift_t0`` with the chip's per-cell exponents.

Units: conductances siemens, ``gain`` S per weight unit. Inputs are read voltages
``V = x * v_scale`` (volt, ``v_scale = v_read / x_max`` per layer, see
:func:`input_scale`); an output current ``I`` is ``I / (v_scale * gain)`` in units of the
ideal product ``x . b``. The circuit is linear, so ``v_scale`` cancels exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from devices.errors import BasisContestError, ParameterError
from netlists import check_contest

from .preset import HardwarePreset, access_r_on

__all__ = ["CrossbarMapping", "map_basis", "input_scale"]


@dataclass(frozen=True, eq=False)
class CrossbarMapping:
    """A basis written into one chip (see the module docstring). Build with :func:`map_basis`."""

    preset: HardwarePreset
    """The chip."""
    basis: np.ndarray = field(repr=False)
    """Target basis ``B`` (d, d), weight units, rows = basis vectors."""
    b_max: float
    """Weight mapped to the top of the conductance range, weight units (``max|B|``, or the
    quantization-optimal range with ``weight_range="optimal"``)."""
    gain: float
    """Siemens per weight unit of the signed encoding."""
    g_cell: np.ndarray = field(repr=False)
    """Programmed 1T1R cell conductances (quantized, with variation), siemens, (d, n_cols)."""
    g_rram: np.ndarray = field(repr=False)
    """RRAM conductances after write-verify through the access transistor, siemens, (d, n_cols)."""
    g_nominal: np.ndarray = field(repr=False)
    """Quantized levels without variation, siemens, (d, n_cols)."""
    write: int = 0
    """Index of this write on the chip (selects the programming residuals)."""
    pulses: int = 0
    """Write-verify pulses this write took, summed over the cells."""
    stuck: np.ndarray | None = field(default=None, repr=False)
    """Stuck cells (d, n_cols) int8: +1 at g_max, -1 at g_min, 0 free; None: no stuck cells."""
    t: float = 1.0
    """Time after programming of the read, second (conductances drifted to it)."""
    g_rram_t0: np.ndarray | None = field(default=None, repr=False)
    """RRAM conductances at the verify read (before drift), siemens, (d, n_cols)."""
    g_target: np.ndarray | None = field(default=None, repr=False)
    """Levels the write aimed at, siemens, (d, n_cols): ``g_nominal`` with, under
    ``preset.repair_stuck``, the partners of stuck cells retargeted (None: ``g_nominal``)."""
    repaired: int = 0
    """Cells retargeted to repair a stuck partner (``preset.repair_stuck``)."""

    @property
    def g_written(self) -> np.ndarray:
        """The nominal chip of this write: the aimed-at levels with the stuck cells at their stuck
        conductance, no programming variation (siemens, (d, n_cols))."""
        g = self.g_nominal if self.g_target is None else self.g_target
        return g if self.stuck is None else self.preset.cell.apply_stuck(g, self.stuck)

    @property
    def d(self) -> int:
        return int(self.basis.shape[0])

    @property
    def K(self) -> int:
        return self.preset.K

    @property
    def n_cols(self) -> int:
        """Physical columns (2d differential, d + 1 reference)."""
        return int(self.g_cell.shape[1])

    @property
    def n_lines(self) -> int:
        """Physical summing lines (2K differential, K + 1 reference)."""
        return 2 * self.K if self.preset.encoding == "differential" else self.K + 1

    def switchable(self) -> np.ndarray:
        """Bool (n_lines, n_cols): the TGs a step may ever close (others stay open)."""
        a = np.zeros((self.n_lines, self.n_cols), bool)
        if self.preset.encoding == "differential":
            a[0::2, 0::2] = True
            a[1::2, 1::2] = True
        else:
            a[:self.K, :self.d] = True
            a[self.K, self.d] = True
        return a

    def at_time(self, t: float) -> "CrossbarMapping":
        """The same write read ``t`` seconds after programming (drifted conductances).

        Raises
        ------
        ParameterError
            ``t`` negative, not finite or before the cell's ``drift_t0``.
        """
        p = self.preset
        g0 = self.g_rram if self.g_rram_t0 is None else self.g_rram_t0
        g_rram = p.cell.drift(g0, t, p.chip_seed)
        g_cell = g_rram if p.access is None else 1.0 / (1.0 / g_rram + access_r_on(p.access))
        for a in (g_rram, g_cell):
            a.setflags(write=False)
        return dataclasses.replace(self, g_cell=g_cell, g_rram=g_rram, t=float(t), g_rram_t0=g0)

    def _stored(self, g) -> np.ndarray:
        if self.preset.encoding == "differential":
            return ((g[:, 0::2] - g[:, 1::2]) / self.gain).T
        return ((g[:, :self.d] - g[:, [self.d]]) / self.gain).T

    def programmed_basis(self) -> np.ndarray:
        """The signed basis the cells hold (quantized, with variation), weight units, (d, d).

        What an ideal circuit (no wires, ideal TGs) computes with this chip.
        """
        return self._stored(self.g_cell)

    def quantized_basis(self) -> np.ndarray:
        """The basis at the quantized levels without variation, weight units, (d, d)."""
        return self._stored(self.g_nominal)

    def check_patterns(self, patterns) -> np.ndarray:
        """Validate a step's logical TG patterns: bool (K', d) with K' <= K, no column in two sets.

        Raises
        ------
        BasisContestError
            A logical column closed by two TG sets in the same step.
        ParameterError
            Bad shape or dtype.
        """
        p = np.asarray(patterns)
        if p.ndim != 2 or p.shape[1] != self.d or not 1 <= p.shape[0] <= self.K:
            raise ParameterError(f"step patterns must have shape (K', {self.d}) with 1 <= K' <= K = {self.K}, got {p.shape}")
        if p.dtype != bool:
            if not np.issubdtype(p.dtype, np.number) or not np.isin(p, (0, 1)).all():
                raise ParameterError("step patterns must be bool (or 0/1) TG states")
            p = p.astype(bool)
        try:
            check_contest(p)
        except BasisContestError as exc:
            raise BasisContestError(f"step patterns: {exc}", columns=exc.columns, sets=exc.sets) from None
        if p.shape[0] < self.K:
            p = np.vstack([p, np.zeros((self.K - p.shape[0], self.d), bool)])
        return p

    def physical_assignment(self, patterns) -> np.ndarray:
        """Physical TG states (n_lines, n_cols) of a step with logical ``patterns`` (K, d)."""
        p = self.check_patterns(patterns)
        a = np.zeros((self.n_lines, self.n_cols), bool)
        if self.preset.encoding == "differential":
            a[0::2, 0::2] = p
            a[1::2, 1::2] = p
        else:
            a[:self.K, :self.d] = p
            a[self.K, self.d] = True
        return a

    def readout(self, patterns) -> np.ndarray:
        """(K, n_lines): logical output ``k`` (ideal units per volt per ``1/gain``) from line currents.

        ``T_logical = readout @ T_physical / gain``.
        """
        p = self.check_patterns(patterns)
        r = np.zeros((self.K, self.n_lines))
        k = np.arange(self.K)
        if self.preset.encoding == "differential":
            r[k, 2 * k] = 1.0
            r[k, 2 * k + 1] = -1.0
        else:
            r[k, k] = 1.0
            r[:, self.K] = -p.sum(axis=1)
        return r


def _calibrate(g_cell, access) -> np.ndarray:
    if access is None:
        return g_cell.copy()
    return 1.0 / (1.0 / g_cell - access_r_on(access))


def _optimal_range(B, preset: HardwarePreset, n_grid: int = 100) -> float:
    """Weight mapped to the top level that minimises the squared quantization error of ``B``.

    Grid over ``t * max|B|``, ``t`` in ``(0.05, 1]``; entries beyond the range are clipped.
    Differential: ``2**bits`` levels per side from 0; reference: ``2**bits`` levels over
    ``[-r, r]``.
    """
    B = np.abs(B) if preset.encoding == "differential" else np.asarray(B)
    top = float(np.max(np.abs(B)))
    n = preset.cell.n_levels - 1
    best, best_err = top, np.inf
    for t in np.linspace(0.05, 1.0, n_grid):
        r = t * top
        if preset.encoding == "differential":
            q = np.clip(np.rint(B / r * n), 0, n) * r / n
        else:
            q = (np.clip(np.rint((B / r + 1) / 2 * n), 0, n) / n * 2 - 1) * r
        err = float(np.sum((B - q) ** 2))
        if err < best_err:
            best, best_err = r, err
    return best


def map_basis(B, preset: HardwarePreset, write: int = 0) -> CrossbarMapping:
    """Write basis ``B`` (d, d) into the chip ``preset``: write number ``write`` (quantized,
    write-verify residuals of that write, the chip's stuck cells), read at ``drift_t0``.

    Raises
    ------
    ParameterError
        ``B`` not a finite square ``(d, d)`` matrix with ``d = preset.d`` (the basis does
        not fit the crossbar), or all zero.
    """
    if not isinstance(preset, HardwarePreset):
        raise ParameterError(f"preset must be a HardwarePreset, got {type(preset).__name__}")
    B = np.asarray(B, dtype=float)
    d = preset.d
    if B.ndim != 2 or B.shape != (d, d):
        raise ParameterError(f"basis of shape {B.shape} does not fit the {d}x{d} crossbar of preset "
                             f"{preset.name!r}; it must be ({d}, {d}) (basis length = rows, one vector per column)")
    if not np.all(np.isfinite(B)):
        raise ParameterError("basis contains NaN or inf; every entry must be finite")
    b_max = float(np.max(np.abs(B)))
    if b_max == 0.0:
        raise ParameterError("basis is all zero; nothing to write")
    if preset.weight_range == "optimal":
        b_max = _optimal_range(B, preset)
    cell = preset.cell
    span = cell.g_max - cell.g_min
    Bt = B.T  # cell (i, l) holds B[l, i]
    if preset.encoding == "differential":
        gain = span / b_max
        target = np.empty((d, 2 * d))
        target[:, 0::2] = cell.g_min + gain * np.maximum(Bt, 0.0)
        target[:, 1::2] = cell.g_min + gain * np.maximum(-Bt, 0.0)
    else:
        gain = span / (2.0 * b_max)
        g_mid = 0.5 * (cell.g_min + cell.g_max)
        target = np.empty((d, d + 1))
        target[:, :d] = g_mid + gain * Bt
        target[:, d] = g_mid
    g_nom = cell.quantize(target)
    if isinstance(write, bool) or not isinstance(write, (int, np.integer)) or write < 0:
        raise ParameterError(f"write must be an integer >= 0 (index of the write on the chip), got {write!r}")
    stuck = cell.stuck_mask(target.shape, preset.chip_seed)
    g_aim, n_repaired = g_nom, 0
    if preset.repair_stuck and stuck.any():
        g_aim, n_repaired = _repair_pairs(g_nom, stuck, cell)
    g_cell, pulses = cell.write_verify(g_aim, preset.chip_seed, int(write))
    if stuck.any():
        g_cell = cell.apply_stuck(g_cell, stuck)
    else:
        stuck = None
    g_rram = _calibrate(g_cell, preset.access)
    ro = []
    for a in (B, g_cell, g_rram, g_nom, g_aim):
        a = a.copy()
        a.setflags(write=False)
        ro.append(a)
    return CrossbarMapping(preset=preset, basis=ro[0], b_max=b_max, gain=float(gain), g_cell=ro[1], g_rram=ro[2],
                           g_nominal=ro[3], write=int(write), pulses=int(pulses.sum()), stuck=stuck,
                           t=float(cell.drift_t0), g_rram_t0=ro[2], g_target=ro[4] if n_repaired else None,
                           repaired=int(n_repaired))


def _repair_pairs(g_nom, stuck, cell):
    """Retarget the free partner of every stuck cell of a differential pair (columns ``2l``, ``2l+1``).

    A pair holds ``G+ - G- = D`` (the quantized levels). With ``G+`` stuck at ``s`` the
    partner is aimed at ``s - D``; with ``G-`` stuck, ``G+`` at ``s + D``; clipped to the
    cell's range (a stuck-at-``g_min`` cell whose weight needs ``G+ > G-`` cannot be fully
    repaired) and rounded to a level. Pairs with both cells stuck are left alone.

    Returns the aimed-at levels (siemens) and the number of retargeted cells.
    """
    g = np.array(g_nom, float)
    sp, sm = stuck[:, 0::2], stuck[:, 1::2]
    D = g_nom[:, 0::2] - g_nom[:, 1::2]
    s_val = np.where(stuck > 0, cell.g_max, cell.g_min)
    fix_m = (sp != 0) & (sm == 0)  # G+ stuck: retarget G-
    fix_p = (sm != 0) & (sp == 0)  # G- stuck: retarget G+
    gm, gp = g[:, 1::2], g[:, 0::2]
    gm[fix_m] = (s_val[:, 0::2] - D)[fix_m]
    gp[fix_p] = (s_val[:, 1::2] + D)[fix_p]
    g = cell.quantize(np.clip(g, cell.g_min, cell.g_max))
    return g, int(fix_m.sum() + fix_p.sum())


def input_scale(x_max: float, v_read: float) -> float:
    """Volt per activation unit: the largest input magnitude ``x_max`` maps to ``v_read``.

    Raises
    ------
    ParameterError
        ``x_max`` not finite and > 0.
    """
    x_max = float(x_max)
    if not np.isfinite(x_max) or x_max <= 0:
        raise ParameterError(f"x_max must be finite and > 0 (largest input magnitude of the layer), got {x_max!r}")
    return float(v_read) / x_max
