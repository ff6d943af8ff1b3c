"""Netlists: the one ``Netlist`` type, the crossbar builder, and SPICE text in and out.

``Netlist``, ``NetlistBuilder``               immutable circuit, and how to make one
``Resistor``, ``VoltageSource``, ``CurrentSource``, ``Mosfet``, ``MOSModel``,
``Capacitor``, ``Inductor``, ``SinhCell``      elements
``build_crossbar(G, assignment, inputs, ...)``  1T1R crossbar with K TG sets
``check_contest(assignment)``                  refuse a column claimed by two TG sets
``to_ngspice(netlist)``, ``read_spice(text)``, ``read_spice(Path(file))``
                                               writer and reader of the SPICE subset (docs/netlists.md)
"""

from netlists.builder import CrossbarLayout, build_crossbar, check_contest
from netlists.netlist import (GROUND, Capacitor, CurrentSource, ElementTable, Inductor, MOSModel, Mosfet, Netlist,
                              NetlistBuilder, Resistor, SinhCell, VoltageSource)

__all__ = ["Netlist", "NetlistBuilder", "Resistor", "VoltageSource", "CurrentSource", "Mosfet", "MOSModel",
           "Capacitor", "Inductor", "SinhCell", "ElementTable", "GROUND", "build_crossbar", "check_contest", "CrossbarLayout"]

try:  # the SPICE module is added alongside; keep the package importable while it is absent
    from netlists.spice import read_spice, to_ngspice  # noqa: F401

    __all__ += ["read_spice", "to_ngspice"]
except ImportError:  # pragma: no cover
    pass
