"""Mitigations a chip designer can choose, as validated parameters applied to a hardware preset.

``Mitigation``
    Frozen, validated: cell conductance range (low-conductance cells), TG on-resistance,
    wire segment resistance, read voltage, signed encoding, partial activation (rows
    driven per sub-step). ``None`` keeps the preset's
    value. :meth:`Mitigation.apply` returns the preset with the choices made
    (``dataclasses.replace``; the preset module is not changed).
``RANGES``
    The allowed values of every field (the error messages list them).

In the exact linear model the read voltage scales every current alike and cancels in
the ideal-product units (it matters through read noise relative to the signal and the
ADC full scale, which the readout calibrates), so it is a parameter here for the design
record, not an accuracy lever.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from devices import TransmissionGate, Wires
from devices.errors import ParameterError

from .preset import D_RANGE, ENCODINGS, UNDRIVEN_ROWS, V_READ_RANGE, HardwarePreset

__all__ = ["Mitigation", "RANGES", "NONE"]

RANGES = {
    "g_max": (1e-8, 1e-3),
    "g_ratio": (2.0, 1e4),
    "tg_r_on": (1e-3, 1e5),
    "r_wire": (0.0, 100.0),
    "r_bitline": (0.0, 100.0),
    "v_read": V_READ_RANGE,
    "encoding": ENCODINGS,
    "repair_stuck": (True, False),
    "row_block": (1, D_RANGE[1]),
    "undriven_rows": UNDRIVEN_ROWS,
}
"""Allowed values: ``g_max`` siemens, ``g_ratio`` = g_max / g_min (dimensionless), ``tg_r_on``
ohm, ``r_wire`` ohm per segment (wordline, bitline and summing line alike unless ``r_bitline``
is given), ``r_bitline`` ohm per bitline segment, ``v_read`` volt, ``encoding`` one of the
names, ``repair_stuck`` a bool, ``row_block`` an integer (wordlines driven per sub-step; at
most the preset's ``d``, checked by :meth:`Mitigation.apply`), ``undriven_rows`` one of the names."""


def _num(name, v):
    lo, hi = RANGES[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= float(v) <= hi):
        raise ParameterError(f"Mitigation.{name} = {v!r} is out of range; allowed: a number in [{lo:g}, {hi:g}] "
                             "or None (keep the preset's value)")
    return float(v)


@dataclass(frozen=True)
class Mitigation:
    """Design choices applied on top of a preset (all optional; SI units)."""

    g_max: float | None = None
    """Highest cell conductance, siemens (low-conductance cells: 1e-6 or less)."""
    g_ratio: float | None = None
    """``g_max / g_min`` of the cell (dimensionless); None keeps the preset's ratio."""
    tg_r_on: float | None = None
    """TG on-resistance, ohm (a wider TG: lower)."""
    r_wire: float | None = None
    """Wire resistance per segment, ohm, for wordlines, bitlines and summing lines."""
    r_bitline: float | None = None
    """Bitline resistance per segment, ohm, when it differs from ``r_wire`` (a 1T1R cell is
    longer in one direction: NeuroSim's 4F x 12F cell gives 0.31 / 0.94 ohm at 130 nm)."""
    v_read: float | None = None
    """Full-scale read voltage, volt."""
    encoding: str | None = None
    """Signed encoding: "differential" or "reference"."""
    repair_stuck: bool | None = None
    """Write-verify repairs stuck cells through the other cell of their differential pair."""
    row_block: int | None = None
    """Partial activation: wordlines driven per sub-step (the others float), an integer in
    ``[1, d]``; None keeps the preset's choice (by default every row at once)."""
    undriven_rows: str | None = None
    """Partial activation, rows outside the block: "float" (drivers disconnected) or "off"
    (access transistors off, cells disconnected); None keeps the preset's."""

    def __post_init__(self):
        for f in ("g_max", "g_ratio", "tg_r_on", "r_wire", "r_bitline", "v_read"):
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, _num(f, v))
        if self.tg_r_on is not None and self.tg_r_on <= 0:
            raise ParameterError(f"Mitigation.tg_r_on must be > 0 ohm, got {self.tg_r_on!r}")
        if self.encoding is not None and self.encoding not in ENCODINGS:
            raise ParameterError(f"Mitigation.encoding = {self.encoding!r}; allowed: {ENCODINGS} or None")
        if self.repair_stuck is not None and not isinstance(self.repair_stuck, bool):
            raise ParameterError(f"Mitigation.repair_stuck = {self.repair_stuck!r}; allowed: True, False or None")
        rb, (lo, hi) = self.row_block, RANGES["row_block"]
        if rb is not None and (isinstance(rb, bool) or not isinstance(rb, int) or not lo <= rb <= hi):
            raise ParameterError(f"Mitigation.row_block = {rb!r} is out of range; allowed: an integer in [{lo}, {hi}] "
                                 "(at most the preset's d) or None (keep the preset's value)")
        if self.undriven_rows is not None and self.undriven_rows not in UNDRIVEN_ROWS:
            raise ParameterError(f"Mitigation.undriven_rows = {self.undriven_rows!r}; allowed: {UNDRIVEN_ROWS} or None")

    def label(self) -> str:
        """Short text naming the choices made (``"none"`` if none)."""
        parts = []
        if self.g_max is not None:
            parts.append(f"g_max={self.g_max * 1e6:g}uS")
        if self.g_ratio is not None:
            parts.append(f"ratio={self.g_ratio:g}")
        if self.tg_r_on is not None:
            parts.append(f"r_on={self.tg_r_on:g}ohm")
        if self.r_wire is not None:
            parts.append(f"r_wire={self.r_wire:g}ohm")
        if self.r_bitline is not None:
            parts.append(f"r_bitline={self.r_bitline:g}ohm")
        if self.v_read is not None:
            parts.append(f"v_read={self.v_read:g}V")
        if self.encoding is not None:
            parts.append(self.encoding)
        if self.repair_stuck is not None:
            parts.append("repair" if self.repair_stuck else "no-repair")
        if self.row_block is not None:
            parts.append(f"rows/{self.row_block}")
        if self.undriven_rows is not None:
            parts.append(f"undriven {self.undriven_rows}")
        return ",".join(parts) or "none"

    def apply(self, preset: HardwarePreset) -> HardwarePreset:
        """``preset`` with these choices (validated again by the preset and its devices).

        Raises
        ------
        ParameterError
            A combination the devices refuse (e.g. ``tg_r_on`` not below the TG's
            ``r_off``, or ``g_max`` the access transistor cannot reach).
        """
        if not isinstance(preset, HardwarePreset):
            raise ParameterError(f"apply needs a HardwarePreset, got {type(preset).__name__}")
        changes = {}
        cell = preset.cell
        if self.g_max is not None or self.g_ratio is not None:
            ratio = self.g_ratio if self.g_ratio is not None else cell.g_max / cell.g_min
            g_max = self.g_max if self.g_max is not None else cell.g_max
            changes["cell"] = dataclasses.replace(cell, g_max=g_max, g_min=g_max / ratio)
        if self.tg_r_on is not None:
            changes["tg"] = TransmissionGate(r_on=self.tg_r_on, r_off=preset.tg.r_off)
        if self.r_wire is not None or self.r_bitline is not None:
            w = preset.wires
            r = self.r_wire
            changes["wires"] = Wires(w.r_wordline if r is None else r,
                                     self.r_bitline if self.r_bitline is not None else (w.r_bitline if r is None else r),
                                     w.r_summing if r is None else r)
        if self.v_read is not None:
            changes["v_read"] = self.v_read
        if self.encoding is not None:
            changes["encoding"] = self.encoding
        if self.repair_stuck is not None:
            changes["repair_stuck"] = self.repair_stuck
        if self.row_block is not None:
            if self.row_block > preset.d:
                raise ParameterError(f"Mitigation.row_block = {self.row_block} is out of range for preset "
                                     f"{preset.name!r}; allowed: an integer in [1, d = {preset.d}]")
            changes["row_block"] = self.row_block
        if self.undriven_rows is not None:
            changes["undriven_rows"] = self.undriven_rows
        return dataclasses.replace(preset, **changes)


NONE = Mitigation()
"""No mitigation."""
