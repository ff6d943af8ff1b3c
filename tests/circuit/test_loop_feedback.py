"""Feedback training end to end on a tiny network, deterministic; the weight shadowing is undone."""

import copy

import numpy as np
import pytest

from basisn.circuit import ChipSystem, CircuitCrossbar, ErrorModel, ModelCrossbar, circuit_aware, effective_weight
from basisn.circuit import feedback_train, get_preset, map_basis, network_steps
from basisn.circuit.feedback import calibrate_gains, reproject
from basisn.data import load_digits
from basisn.layers import BasisConfig, basis_from_float
from basisn.models import mlp
from basisn.training import AlternatingConfig, TrainConfig, evaluate, train_alternating, train_float


@pytest.fixture(scope="module")
def tiny():
    """Digits MLP 64-16-10 at d = 8, 3-bit coefficients, on the 'lowbit' chip (d = 8, K = 2)."""
    data = load_digits()
    fnet = mlp((64, 16, 10), np.random.default_rng(0))
    train_float(fnet, data, TrainConfig(epochs=8, lr=5e-3))
    net = basis_from_float(fnet, BasisConfig(8, 3), np.random.default_rng(1))
    train_alternating(net, data, AlternatingConfig(epochs=3, eta_coeffs=1e-3, eta_basis=1e-4))
    preset = get_preset("lowbit", d=8, K=2)
    chip = ChipSystem(map_basis(net.basis.effective(), preset))
    return data, net, preset, chip


def _run(data, net, preset, chip):
    fb = copy.deepcopy(net)
    model = ErrorModel.fit(chip, network_steps(net, preset.K)[::2])
    cfg = AlternatingConfig(epochs=3, t_coeffs=2, t_basis=1, eta_coeffs=1e-3, eta_basis=1e-4)
    feedback_train(fb, data, model, cfg)
    chip2 = ChipSystem(map_basis(fb.basis.effective(), preset))
    return fb, evaluate(fb, data.x_test, data.y_test, crossbar=CircuitCrossbar(chip2))


def test_feedback_end_to_end_deterministic_and_helps(tiny):
    data, net, preset, chip = tiny
    before = evaluate(net, data.x_test, data.y_test, crossbar=CircuitCrossbar(chip))
    fb1, after1 = _run(data, net, preset, chip)
    fb2, after2 = _run(data, net, preset, chip)
    assert after1 == after2
    np.testing.assert_array_equal(fb1.basis.B.value, fb2.basis.B.value)
    assert after1 >= before  # observed: clearly better (the chip loses points, feedback recovers them)
    assert "weight" not in vars(fb1.cores()[0])  # shadowing removed after training


def test_circuit_aware_uses_realized_weights(tiny):
    data, net, preset, chip = tiny
    xb = CircuitCrossbar(chip)
    x = data.x_test[:20]
    want = net.forward(x, crossbar=xb)
    with circuit_aware(net, xb):
        got = net.forward(x)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(net.forward(x), net.forward(x, crossbar=net.ideal_crossbar()), rtol=1e-9, atol=1e-9)


def test_calibration_keeps_codes_and_reprojection_helps(tiny):
    data, net, preset, chip = tiny
    model = ErrorModel.fit(chip, [])
    n1 = copy.deepcopy(net)
    gains = calibrate_gains(n1, ModelCrossbar(model))
    for c0, c1 in zip(net.cores(), n1.cores()):
        np.testing.assert_array_equal(c0.codes(), c1.codes())
    assert all(g > 1 for g in gains)  # the chip attenuates: the digital gain goes up
    n2 = copy.deepcopy(net)
    reproject(n2, model)
    w_ideal = net.cores()[0].weight(padded=True)
    err0 = np.linalg.norm(effective_weight(net.cores()[0], ModelCrossbar(model)) - w_ideal)
    err1 = np.linalg.norm(effective_weight(n2.cores()[0], ModelCrossbar(model)) - w_ideal)
    assert err1 < err0


def test_exact_correction_matches_circuit_when_measured(tiny):
    """Right after a measurement, model + correction equals the circuit's weights on that round's
    fresh write of the training chip; in between it is held."""
    from basisn.circuit import ChipSystem, map_basis
    from basisn.circuit.feedback import ExactCorrection

    data, net, preset, chip = tiny
    model = ErrorModel.fit(chip, [])
    core = net.cores()[0]
    corr = ExactCorrection(preset, every=3, first_write=1)
    w_model = effective_weight(core, ModelCrossbar(model))
    w = w_model + corr.delta(core, w_model)
    write1 = CircuitCrossbar(ChipSystem(map_basis(net.basis.effective(), preset, write=1)))
    np.testing.assert_allclose(w, effective_weight(core, write1), rtol=1e-10, atol=1e-12)
    if preset.cell.sigma > 0:  # a fresh write, not the chip the model was fitted on
        assert not np.allclose(w, effective_weight(core, CircuitCrossbar(chip)), rtol=1e-6)
    corr.delta(core, w_model)
    corr.delta(core, w_model)
    assert corr.n_measured == 1
    corr.delta(core, w_model)
    assert corr.n_measured == 2
    with pytest.raises(ValueError):
        ExactCorrection(preset, every=0)
