"""Device parameters: frozen dataclasses in SI units, validated on construction.

``RRAMCell``                 multi-level conductance, write-verify programming, stuck cells,
                             drift, read noise
``Readout``                  TIA + ADC per summing-line output and its calibration rule
``LinearAccessTransistor``   access transistor as a linear on-resistance
``NMOSLevel1``               access transistor as a SPICE level-1 NMOS
``TransmissionGate``         TG switch: ``r_on`` / ``r_off``
``CMOSTransmissionGate``     TG as a level-1 NMOS + PMOS pair (nonlinear)
``Wires``                    resistance per segment of wordlines, bitlines, summing lines
``devices.presets``          named presets with sources
``devices.errors``           the project's exception hierarchy

Change a parameter with ``dataclasses.replace(obj, field=value)``.  Fields are checked by
``devices._check`` (the project's one validation helper): numbers only (strings and bools
raise ``ParameterError``), stored converted to ``float``/``int``, inside physical ranges
that keep ``1/R`` and the solver's products finite (see ``devices._check``).
"""

from devices.errors import ParameterError
from devices.readout import Readout
from devices.rram import RRAMCell
from devices.transistors import CMOSTransmissionGate, LinearAccessTransistor, NMOSLevel1, TransmissionGate
from devices.wires import Wires

__all__ = ["CMOSTransmissionGate", "RRAMCell", "Readout", "LinearAccessTransistor", "NMOSLevel1", "TransmissionGate", "Wires", "ParameterError"]
