"""Regenerate the golden ngspice deck used by tests/foundation/test_spice.py.

    python tests/foundation/data/make_golden.py

Writes crossbar_2x3_k2_nmos.cir beside this file.  Only regenerate on purpose, after
checking the difference by eye: the test exists to notice when the writer changes.
"""

from pathlib import Path

import numpy as np

from devices import NMOSLevel1, TransmissionGate, Wires
from netlists import build_crossbar, to_ngspice


def golden_netlist():
    G = np.array([[10e-6, 20e-6, 40e-6], [5e-6, 80e-6, 1e-6]])
    A = np.array([[1, 0, 0], [0, 0, 1]], bool)
    return build_crossbar(G, A, [0.1, 0.2], wires=Wires(2.5, 1.5, 0.5), tg=TransmissionGate(100.0, 1e9),
                          access=NMOSLevel1(kp=200e-6, w=1e-6, l=0.1e-6, vth=0.4, lambda_=0.02, v_gate=1.8))


if __name__ == "__main__":
    out = Path(__file__).with_name("crossbar_2x3_k2_nmos.cir")
    out.write_text(to_ngspice(golden_netlist()))
    print(f"wrote {out}")
