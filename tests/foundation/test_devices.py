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
    (lambda: RRAMCell(g_min=-1e-6), ["g_min", "[1e-18, 1e+12] S", "-1e-06"]),
    (lambda: RRAMCell(g_min=2e-6, g_max=1e-6), ["g_max", "g_min"]),
    (lambda: RRAMCell(sigma=1.5), ["sigma", "[0, 1)"]),
    (lambda: LinearAccessTransistor(r_on=0), ["r_on", "[1e-12, 1e+18] ohm", "got 0"]),
    (lambda: NMOSLevel1(v_gate=0.3, vth=0.4), ["v_gate", "vth"]),
    (lambda: NMOSLevel1(kp=float("nan")), ["kp"]),
    (lambda: TransmissionGate(r_on=100, r_off=50), ["r_off", "r_on"]),
    (lambda: Wires(r_wordline=-2.5), ["r_wordline", "0 or a resistance", "-2.5"]),
    (lambda: CMOSTransmissionGate(vth_p=0.4), ["vth_p", "< 0"]),
    (lambda: CMOSTransmissionGate(v_dd=0.3), ["v_dd", "thresholds"]),
    (lambda: CMOSTransmissionGate(w_n=0), ["w_n", "[1e-12, 1] m"]),
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


# issue 10 section 2 and 5, issue 11: one validation helper, converted values, finite ranges
@pytest.mark.parametrize("make, field, expected", [
    (lambda: Wires(2, 0, 1), "r_wordline", 2.0),
    (lambda: RRAMCell(g_min=np.float32(1e-6)), "g_min", float(np.float32(1e-6))),
    (lambda: RRAMCell(bits=np.int16(3)), "bits", 3),
    (lambda: RRAMCell(bits=4.0), "bits", 4),
    (lambda: LinearAccessTransistor(r_on=np.array(500)), "r_on", 500.0),
    (lambda: NMOSLevel1(w=np.float64(2e-6)), "w", 2e-6),
    (lambda: TransmissionGate(r_on=10, r_off=math.inf), "r_off", math.inf),
])
def test_fields_are_stored_converted(make, field, expected):
    obj = make()
    got = getattr(obj, field)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("make, words", [
    (lambda: Wires("2.5"), ["Wires.r_wordline", "'2.5' (str)"]),
    (lambda: RRAMCell(g_min="1e-6"), ["RRAMCell.g_min", "(str)"]),
    (lambda: RRAMCell(bits=True), ["RRAMCell.bits", "True (bool)", "integer"]),
    (lambda: TransmissionGate(r_on=False), ["r_on", "(bool)"]),
    (lambda: NMOSLevel1(vth=None), ["vth", "None (NoneType)"]),
    (lambda: LinearAccessTransistor(r_on=1e-320), ["r_on", "1e-320", "[1e-12, 1e+18] ohm"]),
    (lambda: Wires(r_bitline=1e-320), ["r_bitline", "1e-320", "0 or a resistance in [1e-12, 1e+18] ohm"]),
    (lambda: Wires(r_summing=math.inf), ["r_summing", "inf"]),
    (lambda: RRAMCell(g_min=1e-6, g_max=1e308), ["g_max", "1e+308", "[1e-18, 1e+12] S"]),
    (lambda: NMOSLevel1(w=float("1e600")), ["NMOSLevel1.w", "inf", "[1e-12, 1] m"]),
    (lambda: NMOSLevel1(l=1e-320), ["NMOSLevel1.l", "1e-320"]),
    (lambda: NMOSLevel1(v_gate=1e308), ["v_gate", "1e+308", "[-10000, 10000] V"]),
    (lambda: NMOSLevel1(kp=1e300), ["kp", "1e+300", "A/V^2"]),
    (lambda: CMOSTransmissionGate(w_p=1e600), ["w_p", "inf"]),
    (lambda: TransmissionGate(r_on=1.0, r_off=1e300), ["r_off", "or inf"]),
])
def test_non_numbers_and_overflowing_values_named(make, words):
    with pytest.raises(ParameterError) as info:
        make()
    for w in words:
        assert w in str(info.value), str(info.value)


def test_check_helpers_shared_api():
    from devices import _check

    assert _check.integer("", "seed", 2 ** 40, 0, 2 ** 63 - 1) == 2 ** 40
    with pytest.raises(ParameterError, match=r"seed must be an integer in \[0, 10\], got 4.0 \(float\)"):
        _check.integer("", "seed", 4.0, 0, 10, exact=True)
    assert _check.flag("Cfg", "quick", np.bool_(True)) is True
    with pytest.raises(ParameterError, match="Cfg.quick must be True or False, got 1 \\(int\\)"):
        _check.flag("Cfg", "quick", 1)
    with pytest.raises(ParameterError, match=r"must be one of \['a', 'b'\], got 'c'"):
        _check.choice("Cfg", "mode", "c", ["a", "b"])
    a = _check.array("", "G", [[1, 2], [3, 4]], ndim=2, lo=0)
    assert a.dtype == float and a.shape == (2, 2)
    with pytest.raises(ParameterError, match=r"G has 1 entry .* first at index \(1, 0\): nan"):
        _check.array("", "G", [[1, 2], [np.nan, 4]])
    with pytest.raises(ParameterError, match="numeric array, got dtype <U1"):
        _check.array("", "G", ["a"])
