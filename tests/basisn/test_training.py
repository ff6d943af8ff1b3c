"""Algorithm 1 phases, fine-tuning initialisation, determinism and a small learning check."""

import numpy as np
import pytest

from basisn.data import Dataset, load_digits
from basisn.layers import BasisConfig, basis_from_float
from basisn.models import basis_mlp, mlp
from basisn.training import AlternatingConfig, TrainConfig, algorithm1_phases, train_alternating, train_float
from devices.errors import ParameterError


def literal_algorithm1(epochs, t_coeffs, t_basis):
    """The pseudocode of the paper, line by line (state machine on t % cycle)."""
    cycle, state, out = t_coeffs + t_basis, None, []
    for t in range(1, epochs + 1):
        if t % cycle == t_coeffs + 1:
            state = "basis"
        elif t % cycle == 1 % cycle:
            state = "coeffs"
        out.append(state)
    return out


@pytest.mark.parametrize("tc, tb", [(1, 2), (3, 2), (4, 3), (5, 5)])
def test_phases_match_the_literal_pseudocode(tc, tb):
    assert algorithm1_phases(40, tc, tb) == literal_algorithm1(40, tc, tb)


def test_phases_with_one_basis_epoch():
    assert algorithm1_phases(10, 3, 1) == ["coeffs"] * 3 + ["basis"] + ["coeffs"] * 3 + ["basis"] + ["coeffs"] * 2
    assert algorithm1_phases(4, 2, 0) == ["coeffs"] * 4


def small_digits(n_train=300):
    d = load_digits()
    return Dataset("digits-small", d.x_train[:n_train], d.y_train[:n_train], d.x_test, d.y_test, 10)


def test_alternating_training_freezes_the_right_parameters():
    data = small_digits(64)
    net = basis_mlp((64, 16, 10), BasisConfig(16, 4), np.random.default_rng(0))
    b0 = net.basis.B.value.copy()
    c0 = [c.C.value.copy() for c in net.cores()]
    train_alternating(net, data, AlternatingConfig(epochs=1, t_coeffs=1, t_basis=1, eta_basis=1e-4))
    np.testing.assert_array_equal(net.basis.B.value, b0)  # epoch 1 is a coefficient epoch
    assert any(not np.array_equal(c.C.value, c1) for c, c1 in zip(net.cores(), c0))
    c1 = [c.C.value.copy() for c in net.cores()]
    train_alternating(net, data, AlternatingConfig(epochs=2, t_coeffs=1, t_basis=1, eta_basis=1e-4, seed=1))
    assert not np.array_equal(net.basis.B.value, b0)


def test_finetune_init_reproduces_float_weights_when_bits_are_plenty():
    rng = np.random.default_rng(1)
    fnet = mlp((20, 9, 4), rng)
    bnet = basis_from_float(fnet, BasisConfig(8, 16), rng)
    for f, b in zip([fnet.layers[0], fnet.layers[2]], bnet.cores()):
        # 16-bit codes, error per weight <= s/2 * sqrt(d) (orthonormal basis), s ~ max|C| / 2**15
        tol = b.scale * np.sqrt(8)
        np.testing.assert_allclose(b.weight(), f.W.value, atol=tol)
        np.testing.assert_array_equal(b.b.value, f.b.value)


def test_training_is_deterministic_and_learns():
    data = small_digits(300)
    accs = []
    for _ in range(2):
        net = basis_mlp((64, 32, 10), BasisConfig(16, 4), np.random.default_rng(3))
        h = train_alternating(net, data, AlternatingConfig(epochs=15, t_coeffs=4, t_basis=1, eta_basis=1e-4))
        accs.append(h.test_accuracy)
    np.testing.assert_array_equal(accs[0], accs[1])
    assert accs[0][-1] > 0.8  # 300 training images, 15 epochs: a broken gradient stays near 0.1


def test_float_training_learns():
    net = mlp((64, 32, 10), np.random.default_rng(0))
    h = train_float(net, small_digits(300), TrainConfig(epochs=15))
    assert h.test_accuracy[-1] > 0.85


@pytest.mark.parametrize("kwargs, match", [
    (dict(eta_coeffs=1e-3, eta_basis=1e-2), "eta_basis = 0.01 must not exceed eta_coeffs"),
    (dict(t_coeffs=0), "t_coeffs = 0 is outside"),
    (dict(beta=-0.1), "beta"),
    (dict(optimizer="rmsprop"), "allowed: 'adam', 'sgd'"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        AlternatingConfig(**kwargs)
