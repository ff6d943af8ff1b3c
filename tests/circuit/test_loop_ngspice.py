"""Spot check of exact step currents against ngspice on the same netlist."""

import numpy as np
import pytest

from basisn.circuit import ChipSystem, map_basis
from basisn.circuit.loop import spot_check


@pytest.mark.ngspice
@pytest.mark.parametrize("encoding", ["differential", "reference"])
def test_native_steps_match_ngspice(basis8, realistic8, random_steps, encoding):
    """Linear deck: native fast path vs ngspice, rtol 1e-9 (FACTS.md: linear decks agree to ~1e-13)."""
    import dataclasses

    chip = ChipSystem(map_basis(basis8, dataclasses.replace(realistic8, encoding=encoding)))
    res = spot_check(chip, random_steps(np.random.default_rng(5), 2, 8, 3), n_inputs=2, seed=1)
    assert res["n"] == 2
    assert res["max_rel"] < 1e-9
