"""Crossbars with capacitances for the transient tests."""

import numpy as np
import pytest

from devices import LinearAccessTransistor, TransmissionGate, Wires
from devices.capacitance import CAPS_130NM
from netlists.builder import build_crossbar
from netlists.netlist import NetlistBuilder

R_LADDER, C_LADDER = 1e3, 1e-12
TAU = R_LADDER * C_LADDER
"""Time constant of one ladder section, second."""


def crossbar(n, k=2, seed=0, caps=CAPS_130NM, fold=False, access=True):
    """An n x n crossbar, K TG sets with every column assigned round-robin, and inputs."""
    rng = np.random.default_rng(seed)
    G = rng.uniform(1e-6, 100e-6, size=(n, n))
    A = np.zeros((k, n), bool)
    A[np.arange(n) % k, np.arange(n)] = True
    A[:, rng.choice(n, size=max(1, n // 8), replace=False)] = False  # some columns unassigned (floating)
    v = rng.uniform(0.0, 0.2, size=n)
    net = build_crossbar(G, A, v, wires=Wires(2.5, 2.5, 2.5), tg=TransmissionGate(r_on=100.0, r_off=1e9),
                         access=LinearAccessTransistor(1e3) if access else None, fold_cells=fold, capacitance=caps)
    return net, v, rng


def rc_ladder(n, r=R_LADDER, c=C_LADDER):
    """``v1`` drives ``in``; n sections ``r{k}`` (in/n{k-1} -> n{k}) and ``c{k}`` (n{k} -> 0)."""
    b = NetlistBuilder(f"rc ladder {n}")
    b.vsource("v1", "in", "0", 0.0)
    prev = "in"
    for k in range(n):
        b.resistor(f"r{k}", prev, f"n{k}", r)
        b.capacitor(f"c{k}", f"n{k}", "0", c)
        prev = f"n{k}"
    return b.build()


@pytest.fixture
def make_crossbar():
    return crossbar


@pytest.fixture
def make_ladder():
    return rc_ladder
