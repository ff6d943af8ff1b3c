"""Interconnect: resistance per wire segment between adjacent cells."""

from __future__ import annotations

from dataclasses import dataclass

from devices import _check

__all__ = ["Wires"]


@dataclass(frozen=True)
class Wires:
    """Resistance of one wire segment (the piece of line between two adjacent cells),
    separately for wordlines, bitlines and TG summing lines.  Zero means an ideal wire:
    the builder then merges the nodes instead of writing a 0-ohm resistor.  Non-zero values
    lie in ``devices._check.RESISTANCE`` ([1e-12, 1e18] ohm); numbers only (a string such
    as ``"2.5"`` raises :class:`devices.errors.ParameterError`); stored as ``float``."""

    r_wordline: float = 2.5
    """Wordline segment resistance, ohm, >= 0 (one segment also joins the driver to the first cell)."""
    r_bitline: float = 2.5
    """Bitline segment resistance, ohm, >= 0 (one segment also joins the last cell to the TG row)."""
    r_summing: float = 2.5
    """Summing-line segment resistance between adjacent TG taps, ohm, >= 0 (one segment
    also joins the last tap to the output virtual ground)."""

    def __post_init__(self):
        for f in ("r_wordline", "r_bitline", "r_summing"):
            value = _check.resistance(type(self).__name__, f, getattr(self, f), allow_zero=True)
            object.__setattr__(self, f, value)
