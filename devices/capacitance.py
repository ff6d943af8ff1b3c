"""Capacitances of a crossbar for transient analysis, and their presets.

``Capacitances``   per-segment wire capacitances and per-device capacitances, farad
``CAPS_130NM``     a 130 nm-class set (the NeuRRAM chip's node); sources below

Every capacitance is to ground (a wire over the substrate, a junction to the well).  A
wire segment's capacitance is split half to each of its two end nodes (a pi model per
segment).  The TIA input is an ideal virtual ground: a 0 V source at the end of each
summing line, so its input capacitance carries no current and is not modelled.

=================  ================================================================
preset             source
=================  ================================================================
``CAPS_130NM``     Wires: 0.2 fF/um, the per-length capacitance of on-chip wires that
                   stays roughly constant across process generations (R. Ho, K. W.
                   Mai, M. A. Horowitz, "The future of wires", Proc. IEEE 89(4),
                   490-504, 2001), times a 1 um cell pitch (*assumption*: 130 nm 1T1R
                   cells are of that order; the NeuRRAM paper does not state its
                   pitch).  Device junctions: TG 1 fF per terminal, access transistor
                   0.5 fF at its bitline terminal, 0.5 fF on the cell's inner node:
                   *assumption*, the order of the drain junction capacitance of a
                   minimum-size 130 nm transistor.
=================  ================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from devices import _check

__all__ = ["Capacitances", "CAPS_130NM"]


@dataclass(frozen=True)
class Capacitances:
    """Capacitances placed by :func:`netlists.build_crossbar` (``capacitance=``).

    Zero means "not modelled" (no capacitor is written); a capacitor in the netlist is
    always > 0.  SPICE card of each placed capacitor: ``C<node> <node> 0 <value>``, one per
    node holding the sum of everything on it.
    """

    c_wordline: float = 0.0
    """Capacitance of one wordline segment to ground, farad, >= 0 (half at each end)."""
    c_bitline: float = 0.0
    """Capacitance of one bitline segment to ground, farad, >= 0 (half at each end)."""
    c_summing: float = 0.0
    """Capacitance of one summing-line segment to ground, farad, >= 0 (half at each end)."""
    c_tg: float = 0.0
    """Capacitance of one TG at each of its terminals (column bottom and summing-line
    tap), farad, >= 0; the same whether the gate is open or closed."""
    c_access: float = 0.0
    """Junction capacitance of an access transistor at its bitline terminal, farad, >= 0."""
    c_cell: float = 0.0
    """Capacitance of a cell's inner node (RRAM / access transistor), farad, >= 0; only
    placed when the cell has an inner node (not with ``fold_cells`` or ``access=None``)."""

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _check.nonnegative(type(self).__name__, f.name, getattr(self, f.name),
                                                                unit="F"))

    @property
    def any(self) -> bool:
        """True when at least one capacitance is non-zero."""
        return any(getattr(self, f.name) > 0 for f in fields(self))


CAPS_130NM = Capacitances(c_wordline=0.2e-15, c_bitline=0.2e-15, c_summing=0.2e-15, c_tg=1e-15,
                          c_access=0.5e-15, c_cell=0.5e-15)
