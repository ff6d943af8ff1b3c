"""The shipped TG sweeps: default (about 40 s on 2 cores), quick (seconds) and full.

Examples
--------
>>> sorted(quick_config().groups)
['access', 'cell', 'density', 'r_off', 'size_k', 'summing', 'wire_tg']
"""

from __future__ import annotations

import copy
import dataclasses
import math

from crossbar.tgsum.config import StudyConfig

__all__ = ["CELLS", "BASELINE", "default_config", "quick_config", "full_config"]

CELLS = {
    "1-100uS/4b": {"g_min": 1e-6, "g_max": 100e-6, "bits": 4, "sigma": 0.0},   # devices.presets.FACTS_CELL
    "1-40uS/4b": {"g_min": 1e-6, "g_max": 40e-6, "bits": 4, "sigma": 0.03},    # devices.presets.NEURRAM_CELL
    "1-100uS/2b": {"g_min": 1e-6, "g_max": 100e-6, "bits": 2, "sigma": 0.0},
    "1-10uS/4b": {"g_min": 1e-6, "g_max": 10e-6, "bits": 4, "sigma": 0.0},
    "0.1-1uS/4b": {"g_min": 0.1e-6, "g_max": 1e-6, "bits": 4, "sigma": 0.0},
}

BASELINE = {"n": 128, "k": 4, "r_wire": 2.5, "r_on": 100.0, "r_off": 1e9, "r_summing": 0.0,
            "cell": "1-100uS/4b", "access": "linear", "density": 0.5}


def default_config() -> StudyConfig:
    """The no-argument sweep (about 3 minutes on 2 cores)."""
    return StudyConfig(
        baseline=dict(BASELINE),
        groups={
            "size_k": {"n": [32, 64, 128, 256], "k": [1, 2, 4, 8]},
            "wire_tg": {"r_wire": [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 2.5, 5.0],
                        "r_on": [1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 5000.0]},
            "wire_tg_low_g": {"cell": ["0.1-1uS/4b"], "r_wire": [0.0, 0.3, 1.0, 2.5, 5.0],
                              "r_on": [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 5000.0]},
            "r_off": {"r_off": [1e4, 1e5, 1e6, 1e9, math.inf], "r_on": [10.0, 100.0, 1000.0]},
            "summing": {"r_summing": [0.0, 0.01, 0.1, 0.5, 2.5, 5.0], "k": [1, 4]},
            "cell": {"cell": list(CELLS), "r_on": [10.0, 100.0]},
            "density": {"density": [0.125, 0.25, 0.5, 1.0], "k": [1, 4]},
            "access": {"n": [16, 32], "access": ["linear", "nmos"], "r_on": [10.0, 100.0]},
        },
        cells=copy.deepcopy(CELLS), samples=16, validate_max_n=32, validate_samples=2)


def quick_config() -> StudyConfig:
    """A small sweep (well under a minute): sizes 16-32, coarse grids, 4 inputs."""
    base = dict(BASELINE, n=32)
    return StudyConfig(
        baseline=base,
        groups={
            "size_k": {"n": [16, 32], "k": [1, 2, 4]},
            "wire_tg": {"r_wire": [0.0, 0.5, 2.5], "r_on": [1.0, 10.0, 100.0, 1000.0]},
            "r_off": {"r_off": [1e5, math.inf]},
            "summing": {"r_summing": [0.0, 0.5]},
            "cell": {"cell": ["1-100uS/4b", "1-40uS/4b"]},
            "density": {"density": [0.25, 1.0]},
            "access": {"n": [16], "access": ["linear", "nmos"]},
        },
        cells={k: CELLS[k] for k in ("1-100uS/4b", "1-40uS/4b")}, samples=4, validate_max_n=16, validate_samples=2)


def full_config() -> StudyConfig:
    """A larger sweep (about 7 minutes on 2 cores): finer grids and sizes x densities, ngspice up to N = 64."""
    c = default_config()
    groups = copy.deepcopy(c.groups)
    groups["size_k"] = {"n": [32, 64, 128, 256], "k": [1, 2, 4, 8], "density": [0.25, 0.5, 1.0]}
    groups["wire_tg"] = {"r_wire": [0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.5, 5.0],
                         "r_on": [0.3, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 200.0, 300.0, 500.0,
                                  1000.0, 2000.0, 3000.0, 5000.0]}
    groups["wire_tg_256"] = {"n": [256], "r_wire": [0.0, 0.5, 2.5], "r_on": [1.0, 10.0, 100.0, 1000.0]}
    groups["access"] = {"n": [16, 32, 64], "access": ["linear", "nmos"], "r_on": [10.0, 100.0]}
    return dataclasses.replace(c, groups=groups, samples=16, validate_max_n=64, validate_samples=1)

