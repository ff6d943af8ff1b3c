"""Device presets.  Each overrides only what differs from the dataclass defaults and says
where its numbers come from; values not taken from a source are marked *assumption*.

=====================  ==================================================================
preset                 source
=====================  ==================================================================
``NEURRAM_CELL``       Wan et al., "A compute-in-memory chip based on resistive
                       random-access memory", Nature 608, 504-512 (2022): the 48-core
                       chip of 256x256 1T1R arrays that the BasisN paper (ref. [5])
                       takes as hardware.  Conductance window 1-40 uS as programmed for
                       inference there; 4 bits per cell as in the BasisN paper
                       (section 4: "quantization bits ... was set to 4").  sigma = 0.03:
                       *assumption* (relative error after write-verify, order of the
                       few-percent spreads reported for iterative programming).
``NEURRAM_CHIP_CELL``  ``NEURRAM_CELL`` with the effects of issue 12, all *assumption*:
                       one pulse lands with a 5 % relative residual, write-verify re-pulses
                       until within a +-5 % band (20 pulses at most; residual std ~2.7 %);
                       0.1 % of cells stuck at g_max and 0.1 % at g_min; relaxation as a
                       power law, nu = 0.01 +- 0.005 per cell from the verify read at
                       t0 = 1 s (about -14 % in a month, +-7 % spread); read noise 1 %
                       per read.
``ADC_8BIT``           8-bit ADC per summing-line output, full scale per layer partition
                       at the 99.9th percentile of 64 calibration inputs: *assumption*
                       (NeuRRAM digitizes with a 1-8 bit neuron; 8 bit as its top setting).
``FACTS_CELL``         The cell used for the project's planning measurements
                       (shared/FACTS.md): 16 levels between 1 uS and 100 uS.
``WIRES_2P5``          2.5 ohm per segment on every line (shared/FACTS.md planning value;
                       *assumption*, of the order of a 1-2 um pitch in a lower metal of a
                       sub-100 nm process).
``ACCESS_LINEAR_1K``   1 kohm linear on-resistance: *assumption*.
``ACCESS_NMOS``        Level-1 NMOS with kp = 200 uA/V^2, W/L = 10, vth = 0.4 V, gate at
                       1.8 V (r_on ~ 357 ohm at v_ds = 0): *assumption*, generic 130 nm
                       values (the NeuRRAM chip is a 130 nm process).
``TG_1K``              1 kohm on, 1 Gohm off: *assumption* (minimum-size CMOS TG).
=====================  ==================================================================
"""

from __future__ import annotations

from devices.readout import Readout
from devices.rram import RRAMCell
from devices.transistors import LinearAccessTransistor, NMOSLevel1, TransmissionGate
from devices.wires import Wires

__all__ = [
    "NEURRAM_CELL",
    "NEURRAM_CHIP_CELL",
    "ADC_8BIT",
    "FACTS_CELL",
    "WIRES_2P5",
    "ACCESS_LINEAR_1K",
    "ACCESS_NMOS",
    "TG_1K",
]

NEURRAM_CELL = RRAMCell(g_min=1e-6, g_max=40e-6, bits=4, sigma=0.03)
NEURRAM_CHIP_CELL = RRAMCell(g_min=1e-6, g_max=40e-6, bits=4, sigma=0.05, verify_tolerance=0.05, max_pulses=20,
                             stuck_on=1e-3, stuck_off=1e-3, drift_nu=0.01, drift_nu_sigma=0.005, drift_t0=1.0,
                             read_sigma=0.01)
ADC_8BIT = Readout(adc_bits=8, fs_percentile=99.9, n_calibration=64)
FACTS_CELL = RRAMCell(g_min=1e-6, g_max=100e-6, bits=4)
WIRES_2P5 = Wires(r_wordline=2.5, r_bitline=2.5, r_summing=2.5)
ACCESS_LINEAR_1K = LinearAccessTransistor(r_on=1e3)
ACCESS_NMOS = NMOSLevel1(kp=200e-6, w=1e-6, l=0.1e-6, vth=0.4, lambda_=0.0, v_gate=1.8)
TG_1K = TransmissionGate(r_on=1e3, r_off=1e9)
