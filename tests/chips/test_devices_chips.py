"""Issue 12 device effects: write-verify residuals per write, stuck cells, drift, the readout (TIA + ADC)."""

import dataclasses

import numpy as np
import pytest

from devices import Readout, RRAMCell
from devices.errors import ParameterError
from devices.presets import ADC_8BIT, NEURRAM_CHIP_CELL


@pytest.mark.parametrize("field", ["sigma", "verify_tolerance", "stuck_on", "stuck_off", "drift_nu", "drift_nu_sigma",
                                   "read_sigma"])
@pytest.mark.parametrize("value", [-0.01, 1.0, 1.5, float("nan")])
def test_fractions_outside_unit_interval(field, value):
    with pytest.raises(ParameterError, match=field):
        RRAMCell(**{field: value})


def test_other_cell_parameters():
    with pytest.raises(ParameterError, match="stuck_on \\+ stuck_off"):
        RRAMCell(stuck_on=0.6, stuck_off=0.5)
    with pytest.raises(ParameterError, match="max_pulses"):
        RRAMCell(max_pulses=0)
    with pytest.raises(ParameterError, match="drift_t0"):
        RRAMCell(drift_t0=0.0)


def test_write_verify_band_and_writes_differ():
    cell = dataclasses.replace(NEURRAM_CHIP_CELL, stuck_on=0.0, stuck_off=0.0)
    t = np.full((40, 40), 20e-6)
    level = cell.quantize(t)
    g0, p0 = cell.write_verify(t, 5, write=0)
    g0b, _ = cell.write_verify(t, 5, write=0)
    g1, _ = cell.write_verify(t, 5, write=1)
    np.testing.assert_array_equal(g0, g0b)
    assert not np.allclose(g0, g1)
    rel = g0 / level - 1
    assert np.abs(rel).max() <= cell.verify_tolerance  # sigma = tolerance: ~32 % re-pulsed, all converge in 20
    assert p0.min() == 1 and p0.max() > 1 and p0.max() <= cell.max_pulses
    # truncated normal at +-1 sigma: std = 0.54 sigma
    assert np.std(rel) == pytest.approx(0.54 * cell.sigma, rel=0.1)
    # no verify: a single pulse, the plain Gaussian
    g, p = dataclasses.replace(cell, verify_tolerance=0.0).write_verify(t, 5, 0)
    assert (p == 1).all() and np.std(g / level - 1) == pytest.approx(cell.sigma, rel=0.1)


def test_write_verify_budget_ends():
    cell = RRAMCell(sigma=0.5, verify_tolerance=0.01, max_pulses=3)
    g, p = cell.write_verify(np.full(1000, 50e-6), 0)
    assert p.max() == 3
    assert np.abs(g / cell.quantize(np.full(1000, 50e-6)) - 1).max() > 0.01  # some cells left outside the band


def test_stuck_cells_fixed_per_chip():
    cell = RRAMCell(stuck_on=0.05, stuck_off=0.1)
    m = cell.stuck_mask((200, 200), 3)
    np.testing.assert_array_equal(m, cell.stuck_mask((200, 200), 3))
    assert not np.array_equal(m, cell.stuck_mask((200, 200), 4))
    assert np.mean(m == 1) == pytest.approx(0.05, abs=0.005) and np.mean(m == -1) == pytest.approx(0.1, abs=0.006)
    g = cell.apply_stuck(np.full((200, 200), 30e-6), m)
    assert (g[m == 1] == cell.g_max).all() and (g[m == -1] == cell.g_min).all() and (g[m == 0] == 30e-6).all()


def test_drift_power_law():
    cell = RRAMCell(drift_nu=0.02, drift_t0=1.0)
    g = np.full((5, 5), 10e-6)
    np.testing.assert_allclose(cell.drift(g, 86400.0, 0), g * 86400.0 ** -0.02, rtol=1e-14)
    np.testing.assert_array_equal(cell.drift(g, 1.0, 0), g)
    spread = dataclasses.replace(cell, drift_nu_sigma=0.01)
    a = spread.drift(np.full(10000, 1.0), 1e6, 0)
    assert np.std(a) > 0.05 and np.all(a <= 1.0)  # nu >= 0: conductances only relax downwards
    np.testing.assert_array_equal(a, spread.drift(np.full(10000, 1.0), 1e6, 0))  # fixed per chip
    for t in (-1.0, 0.5, float("nan")):
        with pytest.raises(ParameterError, match="t"):
            cell.drift(g, t, 0)


@pytest.mark.parametrize("bits", [0, 17, 2.5, True])
def test_adc_bits_out_of_range(bits):
    with pytest.raises(ParameterError, match="adc_bits"):
        Readout(adc_bits=bits)


@pytest.mark.parametrize("fs", [0.0, -1e-6, float("inf")])
def test_full_scale_must_be_positive(fs):
    with pytest.raises(ParameterError, match="full_scale"):
        Readout(full_scale=fs)
    with pytest.raises(ParameterError, match="full_scale"):
        ADC_8BIT.codes([1.0], fs)


def test_adc_codes_clip_and_resolution():
    ro = Readout(adc_bits=4)
    assert ro.max_code == 7
    v = np.linspace(-2, 2, 401)
    c = ro.codes(v, 1.0)
    assert c.min() == -7 and c.max() == 7 and c.dtype == np.int64
    inside = np.abs(v) <= 1
    assert np.abs(ro.values(c, 1.0) - v)[inside].max() <= 0.5 / 7 + 1e-12
    np.testing.assert_array_equal(Readout(adc_bits=None).convert(v, 1.0), v)
    np.testing.assert_array_equal(Readout(adc_bits=1).codes([-0.3, 0.0, 0.2], 1.0), [-1, 0, 1])


def test_calibration_rule():
    ro = Readout(adc_bits=8, fs_percentile=90.0)
    y = np.arange(1, 101, dtype=float)
    assert ro.calibrate(-y) == pytest.approx(np.percentile(y, 90))
    assert Readout(full_scale=2.0).calibrate(y) == 2.0
    with pytest.raises(ParameterError, match="every calibration output is 0"):
        ro.calibrate(np.zeros(5))
    with pytest.raises(ParameterError, match="fs_percentile"):
        Readout(fs_percentile=40)
    with pytest.raises(ParameterError, match="n_calibration"):
        Readout(n_calibration=0)
