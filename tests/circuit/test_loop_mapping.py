"""Mapping of a signed basis into a chip: round trip on an ideal circuit, encodings, variation."""

import dataclasses

import numpy as np
import pytest

from basisn.circuit import ChipSystem, CircuitCrossbar, map_basis
from basisn.hardware import IdealCrossbar


@pytest.mark.parametrize("encoding", ["differential", "reference"])
def test_round_trip_ideal_circuit(basis8, ideal8, encoding):
    """Zero wires, ideal TGs: the circuit computes the ideal product with the programmed basis.

    Tolerance rtol 1e-6: the only circuit error left is the 1e-6 ohm TG in series with
    columns of < 1 mS (relative 1e-9), plus rounding.
    """
    preset = dataclasses.replace(ideal8, encoding=encoding)
    m = map_basis(basis8, preset)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 8))
    planes = rng.random((12, 8)) < 0.4
    for mode in ("scheduled", "alone"):
        got = CircuitCrossbar(ChipSystem(m), mode=mode).combine(x, planes)
        want = IdealCrossbar(m.programmed_basis()).combine(x, planes)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9 * np.abs(want).max())


@pytest.mark.parametrize("encoding", ["differential", "reference"])
def test_programmed_basis_within_half_a_level(basis8, ideal8, encoding):
    """Without variation each entry is within half a conductance step of the target (weight units)."""
    preset = dataclasses.replace(ideal8, encoding=encoding)
    m = map_basis(basis8, preset)
    step = (preset.cell.g_max - preset.cell.g_min) / (preset.cell.n_levels - 1) / m.gain
    # differential: one side quantized (the other sits at g_min); reference: both the cell and the reference
    tol = step * (0.5 if encoding == "differential" else 1.0) + 1e-12
    assert np.abs(m.programmed_basis() - basis8).max() <= tol
    np.testing.assert_array_equal(m.programmed_basis(), m.quantized_basis())  # sigma = 0


def test_differential_layout(basis8, ideal8):
    m = map_basis(basis8, ideal8)
    assert (m.n_cols, m.n_lines) == (16, 6)
    # column pair (2l, 2l+1) holds b_l: the positive part on 2l, the negative on 2l+1
    g = m.g_nominal
    assert np.all((g[:, 0::2] > ideal8.cell.g_min) <= (basis8.T > 0))
    pats = np.zeros((3, 8), bool)
    pats[0, [1, 4]] = True
    pats[2, 7] = True
    a = m.physical_assignment(pats)
    assert a[0, [2, 8]].all() and a[1, [3, 9]].all() and a[4, 14] and a[5, 15] and a.sum() == 6
    r = m.readout(pats)
    np.testing.assert_array_equal(r[1], 0 * r[1] + np.array([0, 0, 1, -1, 0, 0]))


def test_reference_readout_subtracts_popcount(basis8, ideal8):
    m = map_basis(basis8, dataclasses.replace(ideal8, encoding="reference"))
    pats = np.zeros((3, 8), bool)
    pats[0, :3] = True
    pats[1, 5] = True
    a = m.physical_assignment(pats)
    assert a[3, 8] and a[:3, 8].sum() == 0  # reference column on its own line, always on
    np.testing.assert_array_equal(m.readout(pats)[:, 3], [-3, -1, 0])


def test_every_write_draws_its_own_residuals(basis8, realistic8):
    """Issue 12: the same write of the same chip repeats; another write index or chip differs; the
    residual stays inside the write-verify band (the old model reused one draw per chip)."""
    m1, m1b = map_basis(basis8, realistic8), map_basis(basis8, realistic8, write=0)
    np.testing.assert_array_equal(m1.g_cell, m1b.g_cell)
    m2 = map_basis(basis8, realistic8, write=1)
    free = m1.stuck == 0 if m1.stuck is not None else np.ones(m1.g_cell.shape, bool)
    assert not np.allclose(m2.g_cell[free], m1.g_cell[free])
    m3 = map_basis(basis8, dataclasses.replace(realistic8, chip_seed=1))
    assert not np.allclose(m3.g_cell, m1.g_cell)
    r = (m1.g_cell / m1.g_nominal)[free] - 1
    assert np.abs(r).max() <= realistic8.cell.verify_tolerance + 1e-12
    assert 0 < np.std(r) < realistic8.cell.verify_tolerance


def test_access_calibration(basis8, realistic8):
    """Write-verify through the access transistor: RRAM in series with r_on conducts the level."""
    m = map_basis(basis8, realistic8)
    r_on = realistic8.access.r_on
    np.testing.assert_allclose(1.0 / (1.0 / m.g_rram + r_on), m.g_cell, rtol=1e-12)


def test_optimal_weight_range_lowers_quantization_error(basis8, ideal8):
    """1-bit cells: mapping max|B| to g_max zeroes most entries; the optimal range clips a few instead."""
    from devices import RRAMCell

    one_bit = dataclasses.replace(ideal8, cell=RRAMCell(1e-6, 40e-6, 1, 0.0))
    err = {}
    for rng_ in ("max", "optimal"):
        m = map_basis(basis8, dataclasses.replace(one_bit, weight_range=rng_))
        err[rng_] = np.linalg.norm(m.programmed_basis() - basis8)
    assert err["optimal"] < 0.9 * err["max"]
