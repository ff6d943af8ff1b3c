"""Hardware presets of the closed loop: which chip the basis is written into.

``HardwarePreset``
    Frozen, validated description of one chip: crossbar size ``d``, TG sets ``K``, the
    RRAM cell (levels, variation), wires, TGs, access transistor, read voltage, signed
    encoding and the chip seed (programming variation is drawn once per chip).
``PRESETS``
    Named presets; each says where its numbers come from (``*assumption*`` where no
    source applies). Change a field with ``dataclasses.replace``.
``get_preset(name, **overrides)``
    A named preset with fields replaced (validated again).

Access is a linear on-resistance, a level-1 NMOS (:class:`devices.NMOSLevel1`) or none;
the cell may be nonlinear (``cell.v0``). A chip with an NMOS or nonlinear cells is
*nonlinear* (:attr:`HardwarePreset.nonlinear`): the loop measures it through a
linearisation at its read operating point (:class:`basisn.circuit.measure.NonlinearChipSystem`).
``access_r_on(access)`` is the small-signal on-resistance write-verify sees.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from devices import LinearAccessTransistor, NMOSLevel1, Readout, RRAMCell, TransmissionGate, Wires
from devices.errors import ParameterError
from devices.presets import ADC_8BIT, NEURRAM_CHIP_CELL

__all__ = ["access_r_on", "HardwarePreset", "PRESETS", "get_preset", "ENCODINGS", "WEIGHT_RANGES", "D_RANGE", "K_RANGE", "V_READ_RANGE",
           "UNDRIVEN_ROWS"]

WEIGHT_RANGES = ("max", "optimal")
"""How the basis range is mapped onto the conductance range: see ``HardwarePreset.weight_range``."""
ENCODINGS = ("differential", "reference")
"""Signed encodings: see :mod:`basisn.circuit.mapping`."""
D_RANGE = (2, 256)
"""Allowed crossbar sizes ``d`` (inclusive): below 2 there is no basis, above 256 one
base factorization with ``K * 2d`` Woodbury columns no longer fits the 2-core budget."""
K_RANGE = (1, 16)
"""Allowed TG sets per crossbar (inclusive), and ``K <= d``."""
UNDRIVEN_ROWS = ("float", "off")
"""What the rows outside the driven block do under partial activation: see ``HardwarePreset.undriven_rows``."""
V_READ_RANGE = (1e-3, 1.0)
"""Allowed full-scale read voltage, volt (a read above 1 V would disturb the cells)."""


def access_r_on(access) -> float:
    """Small-signal on-resistance of an access transistor, ohm (0 for none).

    A level-1 NMOS with its source on a bitline at 0 V conducts ``1 / (beta (v_gate - vth))``
    at ``V_ds -> 0``; write-verify (at a small verify voltage) sees this resistance.
    """
    if access is None:
        return 0.0
    if isinstance(access, NMOSLevel1):
        return 1.0 / (access.beta * (access.v_gate - access.vth))
    return float(access.r_on)


@dataclass(frozen=True)
class HardwarePreset:
    """One chip that holds the BasisN basis (all values SI)."""

    name: str = "custom"
    """Short label (archive coordinate)."""
    d: int = 32
    """Crossbar size = basis length = logical columns; rows = d wordlines."""
    K: int = 4
    """TG sets per crossbar (patterns evaluated in one step)."""
    cell: RRAMCell = RRAMCell(g_min=1e-6, g_max=40e-6, bits=4, sigma=0.0)
    """The RRAM cell: conductance levels (siemens) and programming variation (relative)."""
    wires: Wires = Wires(0.0, 0.0, 0.0)
    """Wire resistance per segment, ohm (wordline, bitline, summing line)."""
    tg: TransmissionGate = TransmissionGate(r_on=1e-6, r_off=float("inf"))
    """TG on/off resistance, ohm."""
    access: LinearAccessTransistor | NMOSLevel1 | None = None
    """Linear access transistor (on-resistance, ohm), a level-1 NMOS, or None. Write-verify
    calibrates the RRAM so the whole 1T1R cell conducts its target level at a small verify
    voltage (through :func:`access_r_on`)."""
    v_read: float = 0.2
    """Full-scale read voltage, volt: the largest layer input maps to ``v_read``."""
    encoding: str = "differential"
    """``"differential"`` (column pairs, two summing lines per TG set) or ``"reference"``."""
    weight_range: str = "max"
    """Which weight maps to the top conductance: ``"max"`` (``max|B|``, nothing clipped) or
    ``"optimal"`` (the range that minimises the squared quantization error of ``B`` on the
    cell's levels, larger entries clipped; matters for 1-2 bit cells)."""
    readout: Readout = Readout(adc_bits=None)
    """TIA + ADC per TG-set output (the two summing lines of a differential pair feed one
    differential TIA) and the full-scale calibration rule; ``adc_bits=None``: no ADC."""
    chip_seed: int = 0
    """Seed of the chip: its stuck cells and drift exponents; write ``w`` draws its
    programming residuals from ``(chip_seed, w)``."""
    repair_stuck: bool = False
    """Differential encoding only: write-verify finds the cells that do not move (stuck)
    and retargets the other cell of the pair so that the pair still holds its weight
    (``G- = G_stuck - gain * b`` for a stuck ``G+``, and the mirror case), as far as the
    partner's range allows (see :func:`~basisn.circuit.mapping.map_basis`)."""
    row_block: int | None = None
    """Partial activation: wordlines driven per sub-step (an integer in ``[1, d]``); a step
    becomes ``ceil(d / row_block)`` sub-steps whose outputs are added digitally, and the
    wordlines not driven float. None: every row driven at once (``row_block >= d`` is the same)."""
    undriven_rows: str = "float"
    """Partial activation, the rows outside the driven block: ``"float"`` (their wordline
    drivers are disconnected; the cells stay connected, so a floating wordline couples the
    bitlines it crosses) or ``"off"`` (their access transistors are switched off: the
    cells are disconnected; with ``access=None`` an ideal row selector is assumed)."""

    def __post_init__(self):
        n = type(self).__name__
        for f, lo, hi in (("d", *D_RANGE), ("K", *K_RANGE)):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ParameterError(f"{n}.{f} must be an integer in [{lo}, {hi}], got {v!r}")
        if self.K > self.d:
            raise ParameterError(f"{n}.K = {self.K} TG sets exceeds d = {self.d} columns (allowed K <= d)")
        if not isinstance(self.cell, RRAMCell):
            raise ParameterError(f"{n}.cell must be a devices.RRAMCell, got {type(self.cell).__name__}")
        if not isinstance(self.wires, Wires):
            raise ParameterError(f"{n}.wires must be a devices.Wires, got {type(self.wires).__name__}")
        if not isinstance(self.tg, TransmissionGate):
            raise ParameterError(f"{n}.tg must be a devices.TransmissionGate, got {type(self.tg).__name__}")
        if self.access is not None and not isinstance(self.access, (LinearAccessTransistor, NMOSLevel1)):
            raise ParameterError(f"{n}.access must be LinearAccessTransistor, NMOSLevel1 or None, "
                                 f"got {type(self.access).__name__}")
        if self.access is not None and self.cell.g_max * access_r_on(self.access) >= 1.0:
            raise ParameterError(f"{n}: g_max * r_on(access) = {self.cell.g_max * access_r_on(self.access):.3g} >= 1; "
                                 "write-verify cannot reach g_max through this access transistor")
        v = self.v_read
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not V_READ_RANGE[0] <= v <= V_READ_RANGE[1]:
            raise ParameterError(f"{n}.v_read must be in [{V_READ_RANGE[0]}, {V_READ_RANGE[1]}] V, got {v!r}")
        if self.weight_range not in WEIGHT_RANGES:
            raise ParameterError(f"{n}.weight_range = {self.weight_range!r}; allowed: {WEIGHT_RANGES}")
        if self.encoding not in ENCODINGS:
            raise ParameterError(f"{n}.encoding = {self.encoding!r}; allowed: {ENCODINGS}")
        if not isinstance(self.readout, Readout):
            raise ParameterError(f"{n}.readout must be a devices.Readout, got {type(self.readout).__name__}")
        if isinstance(self.chip_seed, bool) or not isinstance(self.chip_seed, int) or self.chip_seed < 0:
            raise ParameterError(f"{n}.chip_seed must be an integer >= 0, got {self.chip_seed!r}")
        if not isinstance(self.repair_stuck, bool):
            raise ParameterError(f"{n}.repair_stuck must be True or False, got {self.repair_stuck!r}")
        if self.repair_stuck and self.encoding != "differential":
            raise ParameterError(f"{n}.repair_stuck needs the differential encoding (a stuck cell is repaired by "
                                 f"the other cell of its pair); encoding is {self.encoding!r}")
        rb = self.row_block
        if rb is not None and (isinstance(rb, bool) or not isinstance(rb, int) or not 1 <= rb <= self.d):
            raise ParameterError(f"{n}.row_block = {rb!r} is out of range; allowed: an integer in [1, d = {self.d}] "
                                 "or None (every row driven)")
        if self.undriven_rows not in UNDRIVEN_ROWS:
            raise ParameterError(f"{n}.undriven_rows = {self.undriven_rows!r}; allowed: {UNDRIVEN_ROWS}")

    @property
    def n_row_blocks(self) -> int:
        """Sub-steps per step: ``ceil(d / row_block)`` (1 without partial activation)."""
        return 1 if self.row_block is None else -(-self.d // self.row_block)

    @property
    def nonlinear(self) -> bool:
        """True when a step is a nonlinear circuit (NMOS access or a nonlinear cell)."""
        return isinstance(self.access, NMOSLevel1) or self.cell.nonlinear

    def describe(self) -> str:
        """One line with the values that matter, display units."""
        acc = "none" if self.access is None else (f"NMOS level 1 ({access_r_on(self.access):.3g} ohm small-signal)"
                                                  if isinstance(self.access, NMOSLevel1) else f"{self.access.r_on:g} ohm")
        if self.cell.nonlinear:
            acc += f", sinh cells v0={self.cell.v0:g} V"
        return (f"{self.name}: d={self.d} K={self.K} cell {self.cell.g_min * 1e6:g}-{self.cell.g_max * 1e6:g} uS "
                f"{self.cell.bits} bit sigma={self.cell.sigma:g} verify {self.cell.verify_tolerance:g}, stuck "
                f"{self.cell.stuck_on:g}/{self.cell.stuck_off:g}, drift nu {self.cell.drift_nu:g}+-{self.cell.drift_nu_sigma:g}, "
                f"read noise {self.cell.read_sigma:g}, ADC {self.readout.adc_bits or 'none'} bit, wires {self.wires.r_wordline:g}/{self.wires.r_bitline:g}/"
                f"{self.wires.r_summing:g} ohm, TG r_on={self.tg.r_on:g} ohm, access {acc}, {self.encoding}"
                + ("" if self.row_block is None else f", row block {self.row_block} ({self.n_row_blocks} sub-steps, others {self.undriven_rows})"))


_NEURRAM = NEURRAM_CHIP_CELL
_WIRES = Wires(2.5, 2.5, 2.5)
_ACCESS = LinearAccessTransistor(1e3)
_ADC8 = ADC_8BIT


def _cheap(bits: int) -> RRAMCell:
    """Cells programmed with a looser verify (*assumption*): 8 % per pulse, +-8 % band (std ~4.3 %),
    otherwise as the NeuRRAM chip cell."""
    return dataclasses.replace(_NEURRAM, bits=bits, sigma=0.08, verify_tolerance=0.08)


PRESETS = {
    # An ideal chip: zero wires, ideal TGs, no access transistor, 8-bit cells, no variation, no noise, no drift.
    "ideal": HardwarePreset(name="ideal", cell=RRAMCell(g_min=1e-6, g_max=40e-6, bits=8, sigma=0.0), readout=_ADC8),
    # NeuRRAM cell (devices.presets.NEURRAM_CHIP_CELL: 1-40 uS, 4 bit as in the BasisN paper; write-verify,
    # stuck cells, drift and read noise *assumption*), FACTS.md wires (2.5 ohm per segment, *assumption*), 1 kohm TG
    # (devices.presets.TG_1K, *assumption*), 1 kohm linear access transistor (*assumption*), 8-bit ADC.
    "neurram": HardwarePreset(name="neurram", cell=_NEURRAM, wires=_WIRES,
                              tg=TransmissionGate(r_on=1e3, r_off=1e9), access=_ACCESS, readout=_ADC8),
    # Low-cost cells: 2 bits per cell (the BasisN paper, fig. 6, finds 2 bits enough after retraining),
    # a looser verify (*assumption*), a 2 kohm TG (*assumption*: a smaller TG to save the area of K sets).
    "lowbit": HardwarePreset(name="lowbit", cell=_cheap(2), wires=_WIRES, tg=TransmissionGate(r_on=2e3, r_off=1e9),
                             access=_ACCESS, readout=_ADC8),
    # Minimum-size TG (5 kohm *assumption*), 3-bit cells, looser verify (*assumption*).
    "weak_tg": HardwarePreset(name="weak_tg", cell=_cheap(3), wires=_WIRES, tg=TransmissionGate(r_on=5e3, r_off=1e9),
                              access=_ACCESS, readout=_ADC8),
    # Binary (1-bit, SLC) cells as most fabricated RRAM macros use, looser verify (*assumption*), 2 kohm TG; with
    # two levels per side the range is chosen to minimise the quantization error (weight_range="optimal").
    "binary": HardwarePreset(name="binary", cell=_cheap(1), wires=_WIRES, tg=TransmissionGate(r_on=2e3, r_off=1e9),
                             access=_ACCESS, weight_range="optimal", readout=_ADC8),
    # The paper-scale design point (issue 13), every value from a source or the TG study's design rule:
    # cells 0.1-1 uS (TG study: 0.1-1 uS cells sum within 1 % at r_on <= 144 ohm), TG 100 ohm on (the same rule),
    # wires of a 130 nm 1T1R array from NeuroSim V1.3 (neurosim/DNN_NeuroSim_V1.3, Param.cpp: Cu resistivity
    # 2.20e-8 ohm m, width 175 nm, aspect ratio 1.6 -> 0.449 ohm/um; 4F x 12F cell -> 0.94 ohm per segment along
    # the 12F wordline, 0.31 ohm along the 4F bitline; summing lines taken as the wordline metal). Programming
    # variation, stuck cells, drift and read noise stay the NeuRRAM chip cell's (*assumption*, see devices.presets);
    # 1 kohm linear access (*assumption*; 0.1 % of a 1 Mohm cell); 8-bit ADC; stuck cells repaired in their pair.
    "rule130": HardwarePreset(name="rule130", cell=dataclasses.replace(_NEURRAM, g_max=1e-6, g_min=1e-7),
                              wires=Wires(0.94, 0.31, 0.94), tg=TransmissionGate(r_on=100.0, r_off=1e9),
                              access=_ACCESS, readout=_ADC8, repair_stuck=True),
    # FACTS.md planning cell (1-100 uS, 4 bit) with the NeuRRAM chip effects, 2.5 ohm wires, 1 kohm TG.
    "facts": HardwarePreset(name="facts", cell=dataclasses.replace(_NEURRAM, g_max=100e-6), wires=_WIRES,
                            tg=TransmissionGate(r_on=1e3, r_off=1e9), access=_ACCESS, readout=_ADC8),
    # The neurram chip with nonlinear cells and level-1 NMOS access: I = g v0 sinh(V / v0) with v0 = 0.25 V
    # (*assumption*: of the order of HfOx/TaOx sinh fits, a chord gain of ~1.1 at 0.2 V), the devices.NMOSLevel1
    # defaults (kp 200 uA/V^2, W/L 1/0.1 um, vth 0.4 V, gate 1.8 V; *assumption*, ~360 ohm small-signal).
    "nonlinear": HardwarePreset(name="nonlinear", cell=dataclasses.replace(_NEURRAM, v0=0.25), wires=_WIRES,
                                tg=TransmissionGate(r_on=1e3, r_off=1e9), access=NMOSLevel1(), readout=_ADC8),
}


def get_preset(name: str, **overrides) -> HardwarePreset:
    """The named preset with ``overrides`` applied (validated).

    Raises
    ------
    ParameterError
        Unknown name (the message lists the known ones) or an override out of range.
    """
    if name not in PRESETS:
        raise ParameterError(f"unknown hardware preset {name!r}; known: {sorted(PRESETS)}")
    bad = set(overrides) - {f.name for f in dataclasses.fields(HardwarePreset)}
    if bad:
        allowed = [f.name for f in dataclasses.fields(HardwarePreset)]
        raise ParameterError(f"unknown preset field(s) {sorted(bad)}; allowed: {allowed}")
    return dataclasses.replace(PRESETS[name], **overrides)
