import dataclasses
import math

import numpy as np
import pytest

from devices import CMOSTransmissionGate, LinearAccessTransistor, NMOSLevel1, RRAMCell, TransmissionGate, Wires
from devices import presets
from devices.errors import ParameterError


def test_levels_evenly_spaced_and_inclusive():
    cell = RRAMCell(g_min=1e-6, g_max=16e-6, bits=4)
    assert cell.n_levels == 16
    np.testing.assert_allclose(cell.levels, np.arange(1, 17) * 1e-6, rtol=0, atol=1e-18)


def test_quantize_nearest_level_and_clip():
    cell = RRAMCell(g_min=1e-6, g_max=4e-6, bits=2)  # levels 1,2,3,4 uS
    got = cell.quantize([0.0, 1.4e-6, 1.6e-6, 3.49e-6, 9e-6])
    np.testing.assert_array_equal(got, np.array([1, 1, 2, 3, 4]) * 1e-6)


def test_program_without_variation_is_quantize():
    cell = RRAMCell(bits=3)
    t = np.linspace(0, 2e-4, 50)
    np.testing.assert_array_equal(cell.program(t, seed=1), cell.quantize(t))


def test_program_variation_seeded_and_of_stated_size():
    cell = RRAMCell(g_min=10e-6, g_max=50e-6, bits=2, sigma=0.05)
    t = np.full(20000, 50e-6)
    a, b = cell.program(t, seed=7), cell.program(t, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, cell.program(t, seed=8))
    # relative spread is sigma to within sampling error (20000 draws: ~0.5% of sigma)
    assert abs(np.std(a / 50e-6) - 0.05) < 0.05 * 0.03
    assert abs(np.mean(a / 50e-6) - 1.0) < 0.002


@pytest.mark.parametrize("make, words", [
    (lambda: RRAMCell(bits=0), ["bits", "[1, 8]", "0"]),
    (lambda: RRAMCell(bits=9), ["bits", "9"]),
    (lambda: RRAMCell(bits=2.5), ["bits"]),
    (lambda: RRAMCell(g_min=-1e-6), ["g_min", "> 0"]),
    (lambda: RRAMCell(g_min=2e-6, g_max=1e-6), ["g_max", "g_min"]),
    (lambda: RRAMCell(sigma=1.5), ["sigma", "[0, 1)"]),
    (lambda: LinearAccessTransistor(r_on=0), ["r_on", "> 0"]),
    (lambda: NMOSLevel1(v_gate=0.3, vth=0.4), ["v_gate", "vth"]),
    (lambda: NMOSLevel1(kp=float("nan")), ["kp"]),
    (lambda: TransmissionGate(r_on=100, r_off=50), ["r_off", "r_on"]),
    (lambda: Wires(r_wordline=-2.5), ["r_wordline", ">= 0", "-2.5"]),
    (lambda: CMOSTransmissionGate(vth_p=0.4), ["vth_p", "< 0"]),
    (lambda: CMOSTransmissionGate(v_dd=0.3), ["v_dd", "thresholds"]),
    (lambda: CMOSTransmissionGate(w_n=0), ["w_n", "> 0"]),
])
def test_bad_parameters_named(make, words):
    with pytest.raises(ParameterError) as info:
        make()
    for w in words:
        assert w in str(info.value)
    assert isinstance(info.value, ValueError)


def test_frozen_and_replace():
    tg = TransmissionGate(r_on=10, r_off=math.inf)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tg.r_on = 5
    assert dataclasses.replace(tg, r_on=20).r_on == 20 and tg.off_is_open
    with pytest.raises(ParameterError):
        dataclasses.replace(tg, r_on=-1)


def test_nmos_small_signal_resistance():
    m = NMOSLevel1(kp=100e-6, w=2e-6, l=1e-6, vth=0.5, v_gate=1.5)
    assert m.beta == pytest.approx(200e-6, rel=1e-15)
    assert m.r_on_small_signal == pytest.approx(1 / (200e-6 * 1.0), rel=1e-15)


def test_presets_construct():
    for name in presets.__all__:
        assert getattr(presets, name) is not None


def test_cmos_tg_on_resistance_at_ground():
    tg = CMOSTransmissionGate(kp_n=100e-6, w_n=1e-6, l=0.5e-6, vth_n=0.5, v_dd=1.5)
    assert tg.r_on_at_ground == pytest.approx(1 / (100e-6 * 2 * 1.0), rel=1e-15)
