"""Shared fixtures of the TG-study tests.

Tests marked ``pytest.mark.ngspice`` are handled by tests/conftest.py: they run wherever
ngspice is installed and always in CI (``CI`` set), where a missing ngspice fails them.
"""

import json
from pathlib import Path

import pytest


HERE = Path(__file__).resolve().parent


TINY = {
    "baseline": {"n": 8, "k": 2, "r_wire": 1.0, "r_on": 100.0, "r_off": 1e9, "r_summing": 0.0,
                 "cell": "1-100uS/4b", "access": "linear", "density": 0.5},
    "groups": {
        "size_k": {"n": [4, 8], "k": [1, 2]},
        "wire_tg": {"r_wire": [0.0, 1.0], "r_on": [1.0, 10.0, 100.0]},
        "access": {"n": [4], "access": ["linear", "nmos"]},
    },
    "cells": {"1-100uS/4b": {"g_min": 1e-6, "g_max": 100e-6, "bits": 4, "sigma": 0.0}},
    "samples": 3,
    "validate_max_n": 4,
    "validate_samples": 1,
}


@pytest.fixture
def tiny_dict():
    """A sweep small enough to run end to end in a few seconds (JSON-able dict)."""
    return json.loads(json.dumps(TINY))
