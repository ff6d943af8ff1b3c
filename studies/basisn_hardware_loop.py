#!/usr/bin/env python
"""Closed loop on honest chips: BasisN basis in circuit-level crossbars, feedback training on
a training chip, accuracy on fresh evaluation chips (read noise, TIA + ADC, drift), per
hardware preset; digits MLP and MNIST-1D CNN.

    python studies/basisn_hardware_loop.py --quick                     # one seed, 5 evaluation chips
    python studies/basisn_hardware_loop.py --quick --seeds 0 1 2 --jobs 2
    python studies/basisn_hardware_loop.py --plot-only results/basisn_hardware_loop/basisn_hardware_loop.h5

The study is :class:`basisn.circuit.study.HardwareLoop` on the common engine
(:mod:`crossbar.study`: ``--jobs``, ``--resume``, ``--scheduler``, exit 2 with one line on
a bad argument or an unwritable ``--out`` before any work).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Small matrices: BLAS threads only fight over the two shared cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root


def main(argv=None) -> int:
    from basisn.circuit.study import HardwareLoop
    from crossbar.study import main as study_main

    return study_main(HardwareLoop(), argv, prog="basisn_hardware_loop",
                      quick_help="short training (quick protocols, 10 feedback epochs), seed 0")


if __name__ == "__main__":
    sys.exit(main())
