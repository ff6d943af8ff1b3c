"""Gradients through the realized transfer: finite differences on a layer whose hardware is known exactly."""

import numpy as np
import pytest

from basisn.circuit import ErrorModel, get_preset, map_basis, ChipSystem
from basisn.circuit.hwgrad import ModelTransfer, hardware_gradients
from basisn.layers import BasisDense, GlobalBasis
from devices.errors import ParameterError


class LinearHardware:
    """Hardware realizing ``R(B) = B * A + O`` (elementwise gains ``A``, offset ``O``)."""

    def __init__(self, A, O):
        self.A, self.O = A, O

    def realized(self, core):
        return core.basis.B.value * self.A + self.O

    def basis_vjp(self, core, grad):
        return grad * self.A


def _layer(bits, seed=0, d=4, n_in=10, n_out=3):
    rng = np.random.default_rng(seed)
    basis = GlobalBasis(d, rng)
    layer = BasisDense(n_in, n_out, basis, bits, rng)
    return layer, rng


def _with_hardware(layer, hw):
    core = layer.core

    def weight(padded=False):
        w = (core.quantized_coeffs() @ hw.realized(core)).reshape(core.n_out, core.parts * core.d)
        return w if padded else w[:, :core.fan_in]

    core.weight = weight
    core.backward_transfer = hw


def _loss(layer, x, r):
    return float(np.sum(layer.forward(x) * r) + 0.5 * np.sum(layer.forward(x) ** 2))


def _grads(layer, x, r):
    for p in layer.params():
        p.grad = np.zeros_like(p.value)
    y = layer.forward(x)
    layer.backward(r + y)
    return layer.core.basis.B.grad.copy(), layer.core.C.grad.copy()


def test_basis_gradient_matches_finite_differences():
    """Codes do not depend on B, so the loss is smooth in B: central differences, rtol 1e-6."""
    layer, rng = _layer(bits=4)
    A = rng.uniform(0.3, 0.9, (4, 4))
    O = 0.05 * rng.normal(size=(4, 4))
    _with_hardware(layer, LinearHardware(A, O))
    x, r = rng.normal(size=(7, 10)), rng.normal(size=(7, 3))
    gB, _ = _grads(layer, x, r)
    B = layer.core.basis.B
    h = 1e-6
    fd = np.zeros_like(gB)
    for idx in np.ndindex(*gB.shape):
        b0 = B.value.copy()
        B.value = b0.copy(); B.value[idx] += h
        lp = _loss(layer, x, r)
        B.value = b0.copy(); B.value[idx] -= h
        lm = _loss(layer, x, r)
        B.value = b0
        fd[idx] = (lp - lm) / (2 * h)
    np.testing.assert_allclose(gB, fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())
    # and it is not the ideal-basis gradient
    layer.core.backward_transfer = None
    gB_ideal, _ = _grads(layer, x, r)
    assert np.abs(gB_ideal - fd).max() > 0.05 * np.abs(fd).max()


def test_coefficient_gradient_matches_finite_differences():
    """16-bit codes: a difference step of 200 code steps sees at most 1/400 relative rounding; rtol 2e-2."""
    layer, rng = _layer(bits=16, seed=1)
    A = rng.uniform(0.3, 0.9, (4, 4))
    _with_hardware(layer, LinearHardware(A, np.zeros((4, 4))))
    x, r = rng.normal(size=(7, 10)), rng.normal(size=(7, 3))
    _, gC = _grads(layer, x, r)
    C = layer.core.C
    h = 200 * layer.core.scale
    fd = np.zeros_like(gC)
    for idx in np.ndindex(*gC.shape):
        c0 = C.value.copy()
        C.value = c0.copy(); C.value[idx] += h
        lp = _loss(layer, x, r)
        C.value = c0.copy(); C.value[idx] -= h
        lm = _loss(layer, x, r)
        C.value = c0
        fd[idx] = (lp - lm) / (2 * h)
    # entries whose difference step would cross the clipping edge of the code range are not smooth there
    u = np.abs(C.value / layer.core.scale)
    smooth = u < 2 ** 15 - 1 - 201
    assert smooth.sum() >= 30
    np.testing.assert_allclose(gC[smooth], fd[smooth], rtol=2e-2, atol=2e-2 * np.abs(fd).max())
    layer.core.backward_transfer = None
    _, gC_ideal = _grads(layer, x, r)
    assert np.abs(gC_ideal - fd)[smooth].max() > 0.1 * np.abs(fd).max()


def test_bad_transfer_is_refused():
    layer, rng = _layer(bits=4)

    class Bad:
        def realized(self, core):
            return np.zeros((3, 3))

        def basis_vjp(self, core, grad):
            return grad

    layer.core.backward_transfer = Bad()
    layer.forward(rng.normal(size=(2, 10)))
    with pytest.raises(ParameterError, match="finite"):
        layer.backward(np.ones((2, 3)))
    with pytest.raises(ParameterError, match="realized"):
        with hardware_gradients(type("N", (), {"cores": lambda self: []})(), object()):
            pass


def test_model_transfer_follows_the_error_model():
    """ModelTransfer: R = g * t_col with the layer gain from the realized weights; restored on exit."""
    from basisn.circuit import ModelCrossbar
    from basisn.circuit.feedback import circuit_aware
    from basisn.nn import ReLU
    from basisn.layers import BasisNetwork

    d = 8
    p = get_preset("neurram", d=d, K=2)
    rng = np.random.default_rng(0)
    basis = GlobalBasis(d, rng)
    net = BasisNetwork(basis, BasisDense(12, 6, basis, 4, rng), ReLU(), BasisDense(6, 3, basis, 4, rng))
    model = ErrorModel.fit(ChipSystem(map_basis(basis.effective(), p)))
    tr = ModelTransfer(model)
    x = rng.normal(size=(5, 12))
    with circuit_aware(net, ModelCrossbar(model)), hardware_gradients(net, tr):
        for q in net.params():
            q.grad = np.zeros_like(q.value)
        y = net.forward(x, train=True)
        net.backward(np.ones_like(y))
        core = net.cores()[0]
        R = tr.realized(core)
        w_pred = (core.quantized_coeffs() @ R).reshape(core._wp.shape)
        rel = np.linalg.norm(w_pred - core._wp) / np.linalg.norm(core._wp)
        assert rel < 0.2, rel  # first-order description of the realized weights
    assert all(c.backward_transfer is None for c in net.cores())
    assert np.all(np.isfinite(basis.B.grad))


def test_physical_gains_follow_column_conductance():
    """Doubling a column's conductance lowers its modelled gain the way 1 / (1 + r G) does."""
    d = 8
    p = get_preset("neurram", d=d, K=2)
    B = np.random.default_rng(1).normal(size=(d, d))
    model = ErrorModel.fit(ChipSystem(map_basis(B, p)))
    assert np.all(model.r_eff > 0)
    m2 = map_basis(B * np.where(np.arange(d) < 4, 1.0, 0.3)[:, None], p)
    a_phys = model.gains_for(m2)
    model.physical = False
    assert np.array_equal(model.gains_for(m2), model.gains)
    # rows l >= 4 hold smaller weights: their columns conduct less, so their gains rise
    assert np.all(a_phys[8:] > model.gains[8:] - 1e-12)


def _tiny_net(d=8, seed=0):
    from basisn.layers import BasisNetwork
    from basisn.nn import ReLU

    rng = np.random.default_rng(seed)
    basis = GlobalBasis(d, rng)
    return BasisNetwork(basis, BasisDense(12, 8, basis, 4, rng), ReLU(), BasisDense(8, 3, basis, 4, rng))


def _tiny_data(seed=0):
    from basisn.data import Dataset

    rng = np.random.default_rng(seed)
    w = rng.normal(size=(12, 3))
    x = rng.normal(size=(96, 12))
    y = np.argmax(x @ w, axis=1)
    return Dataset(name="tiny", x_train=x[:64], y_train=y[:64], x_test=x[64:], y_test=y[64:], n_classes=3)


@pytest.mark.parametrize("use_twin", [False, True])
def test_feedback_with_hardware_gradients_and_refit(use_twin, caplog):
    """A basis epoch with a large basis step: the fitted model is refitted on the training chip
    (ErrorModel) or the twin rebuilt (TwinModel); gradients stay finite and the hooks are removed."""
    import logging

    from basisn.circuit.errormodel import TwinModel
    from basisn.circuit.hwgrad import feedback_train_hw
    from basisn.training import AlternatingConfig

    d = 8
    p = get_preset("neurram", d=d, K=2)
    net = _tiny_net(d)
    B = net.basis.effective()
    cfg = AlternatingConfig(epochs=2, t_coeffs=1, t_basis=1, eta_coeffs=5e-2, eta_basis=5e-2, batch_size=16)
    if use_twin:
        model = TwinModel(p, B, refit_tol=0.01)
        hist = feedback_train_hw(net, _tiny_data(), model, cfg, init="none")
        assert model.rebuilds >= 2
    else:
        model = ErrorModel.fit(ChipSystem(map_basis(B, p)))
        with caplog.at_level(logging.INFO, logger="basisn.circuit.hwgrad"):
            hist = feedback_train_hw(net, _tiny_data(), model, cfg, init="none", refit_tol=0.01,
                                     refit_chip=lambda Bn: ChipSystem(map_basis(Bn, p, write=1)), refit_steps=4)
        assert "refitted" in caplog.text
        assert "set_basis" not in vars(model)
    assert np.all(np.isfinite(net.basis.B.value))
    assert all(c.backward_transfer is None for c in net.cores())
    assert len(hist.test_accuracy) == 2
