"""Small chips and networks shared by the circuit-loop tests (seeded, built in milliseconds)."""

import numpy as np
import pytest

from basisn.layers import orthogonal
from basisn.circuit import get_preset


@pytest.fixture(scope="session")
def basis8():
    """A random orthogonal 8x8 basis (weight units)."""
    return orthogonal(8, np.random.default_rng(3))


@pytest.fixture(scope="session")
def realistic8():
    """The 'neurram' chip at d = 8, K = 3 (2.5 ohm wires, 1 kohm TG and access, 4-bit cells, 3 % variation)."""
    return get_preset("neurram", d=8, K=3)


@pytest.fixture(scope="session")
def ideal8():
    """An ideal chip at d = 8, K = 3: zero wires, 1e-6 ohm TGs, open off-TGs, no access, no variation."""
    return get_preset("ideal", d=8, K=3)


@pytest.fixture(scope="session")
def random_steps():
    """``random_steps(rng, n, d, K, density=0.4)``: ``n`` contest-free steps (K, d)."""
    return _random_steps


def _random_steps(rng, n, d, K, density=0.4):
    """``n`` contest-free steps (K, d): each column goes to at most one set."""
    out = []
    for _ in range(n):
        owner = rng.integers(0, K, size=d)
        owner[rng.random(d) > density] = -1  # -1: column off
        pats = np.zeros((K, d), bool)
        for k in range(K):
            pats[k] = owner == k
        if not pats.any():
            pats[0, 0] = True
        out.append(pats)
    return out
