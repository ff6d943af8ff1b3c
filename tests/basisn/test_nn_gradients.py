"""Hand-written gradients against central finite differences.

Tolerance: central differences with h = 1e-6 on float64 have truncation error O(h^2 f''')
and rounding error O(eps f / h) ~ 1e-10 relative; we require a relative error below 1e-6
(max |analytic - numeric| / max(|numeric|, 1e-8)). Inputs are random (no ReLU kinks or
max-pool ties within h of a sample point, with probability ~1).
"""

import numpy as np
import pytest

from basisn.layers import BasisConv2D, BasisDense, BasisNetwork, GlobalBasis
from basisn.nn import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, softmax_cross_entropy

RTOL = 1e-6


def numeric_grad(f, arr, h=1e-6, max_entries=40, rng=None):
    rng = rng or np.random.default_rng(0)
    flat = arr.reshape(-1)
    idx = rng.choice(flat.size, size=min(max_entries, flat.size), replace=False)
    out = {}
    for i in idx:
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        out[int(i)] = (fp - fm) / (2 * h)
    return out


def check_net(net, x, y, extra_arrays=()):
    def loss():
        return softmax_cross_entropy(net.forward(x, train=True), y)[0]

    net.zero_grad()
    _, dl = softmax_cross_entropy(net.forward(x, train=True), y)
    dx = net.backward(dl)
    targets = [(p.value, p.grad.copy(), p.name) for p in net.params()] + [(x, dx, "input")]
    for value, grad, name in targets:
        num = numeric_grad(loss, value)
        g = grad.reshape(-1)
        ana = np.array([g[i] for i in num])
        ref = np.array(list(num.values()))
        err = np.max(np.abs(ana - ref)) / max(np.max(np.abs(ref)), 1e-8)
        assert err < RTOL, f"{name}: relative gradient error {err:.2e}"


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 4))
    y = rng.integers(0, 4, 5)
    _, d = softmax_cross_entropy(z, y)
    num = numeric_grad(lambda: softmax_cross_entropy(z, y)[0], z, max_entries=20)
    for i, v in num.items():
        assert abs(d.reshape(-1)[i] - v) < 1e-8


def test_mlp_gradients():
    rng = np.random.default_rng(2)
    net = Sequential(Dense(7, 6, rng), ReLU(), Dense(6, 3, rng))
    check_net(net, rng.normal(size=(5, 7)), rng.integers(0, 3, 5))


@pytest.mark.parametrize("pool", [MaxPool2D(2), AvgPool2D((1, 2))])
def test_cnn_gradients(pool):
    rng = np.random.default_rng(3)
    net = Sequential(Conv2D(2, 3, 3, rng, stride=1, padding=1), ReLU(), pool,
                     Conv2D(3, 2, (2, 1), rng, stride=2), Flatten())
    x = rng.normal(size=(2, 2, 6, 5))
    out = net.forward(x)
    net.layers.append(Dense(out.shape[1], 3, rng))
    check_net(net, x, rng.integers(0, 3, 2))


def test_conv_matches_direct_correlation():
    rng = np.random.default_rng(4)
    conv = Conv2D(2, 3, (3, 2), rng, stride=2, padding=1)
    x = rng.normal(size=(2, 2, 7, 6))
    y = conv.forward(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros_like(y)
    for n in range(2):
        for o in range(3):
            for i in range(y.shape[2]):
                for j in range(y.shape[3]):
                    ref[n, o, i, j] = np.sum(xp[n, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2] * conv.W.value[o]) + conv.b.value[o]
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_basis_layer_gradients_with_float_coefficients():
    # with 16 bits and a tiny step the quantizer is still a step function; the STE
    # gradient of the *quantized* network equals the exact gradient of W_q with respect
    # to the basis and the bias, so check those exactly; the coefficient gradient is the
    # STE by design (checked against the dense-weight gradient below).
    rng = np.random.default_rng(5)
    basis = GlobalBasis(4, rng)
    net = BasisNetwork(basis, BasisConv2D(1, 2, (1, 3), basis, 6, rng), ReLU(), Flatten())
    x = rng.normal(size=(3, 1, 1, 6))
    out = net.forward(x)
    net.layers.append(BasisDense(out.shape[1], 3, basis, 6, rng))
    net.basis_layers  # noqa: B018
    y = rng.integers(0, 3, 3)

    def loss():
        return softmax_cross_entropy(net.forward(x, train=True), y)[0]

    net.zero_grad()
    _, dl = softmax_cross_entropy(net.forward(x, train=True), y)
    dx = net.backward(dl)
    for value, grad, name in [(basis.B.value, basis.B.grad, "basis"), (x, dx, "input")] + \
            [(c.b.value, c.b.grad, "bias") for c in net.cores()]:
        num = numeric_grad(loss, value, h=1e-7)
        ana = np.array([grad.reshape(-1)[i] for i in num])
        ref = np.array(list(num.values()))
        err = np.max(np.abs(ana - ref)) / max(np.max(np.abs(ref)), 1e-8)
        assert err < RTOL, f"{name}: relative gradient error {err:.2e}"


def test_ste_coefficient_gradient_is_chain_rule_through_quantized_weights():
    # dL/dC (STE) must equal dL/dW_q reshaped into pieces times B^T, zeroed where clipped
    rng = np.random.default_rng(6)
    basis = GlobalBasis(4, rng)
    layer = BasisDense(10, 3, basis, 3, rng)
    s = layer.core.scale  # codes -4..3: put every latent value inside the STE window ...
    layer.core.C.value[...] = s * rng.uniform(-4.4, 3.4, size=layer.core.C.value.shape)
    layer.core.C.value[0, 0, 0] = 100.0  # ... but this one, which is clipped: no gradient
    x = rng.normal(size=(5, 10))
    dy = rng.normal(size=(5, 3))
    layer.forward(x, train=True)
    for p in layer.params():
        p.zero_grad()
    layer.backward(dy)
    dw = np.pad(dy.T @ x, ((0, 0), (0, 2))).reshape(3, 3, 4)
    expect = dw @ basis.B.value.T
    expect[0, 0, 0] = 0.0
    np.testing.assert_allclose(layer.core.C.grad, expect, rtol=1e-12, atol=1e-12)


def test_sgd_momentum_and_adam_updates_by_hand():
    from basisn.nn import SGD, Adam, Param

    p = Param(np.array([1.0, -2.0]), "p")
    opt = SGD(lr=0.1, momentum=0.5)
    p.grad[...] = [1.0, 2.0]
    opt.step([p])  # v = g; p -= 0.1 g
    np.testing.assert_allclose(p.value, [0.9, -2.2], rtol=0, atol=1e-15)
    opt.step([p])  # v = 0.5 g + g = 1.5 g
    np.testing.assert_allclose(p.value, [0.75, -2.5], rtol=0, atol=1e-15)
    q = Param(np.array([3.0]), "q")
    adam = Adam(lr=0.01)
    q.grad[...] = [5.0]
    adam.step([q])  # first step of Adam moves by lr * sign(g) (bias-corrected m / sqrt(v))
    np.testing.assert_allclose(q.value, [2.99], rtol=0, atol=1e-9)
    q.trainable = False
    adam.step([q])
    np.testing.assert_allclose(q.value, [2.99], rtol=0, atol=1e-9)


def test_adam_minimises_a_quadratic():
    from basisn.nn import Adam, Param

    p = Param(np.array([5.0, -3.0]), "p")
    opt = Adam(lr=0.1)
    for _ in range(500):
        p.grad[...] = 2 * (p.value - np.array([1.0, 2.0]))
        opt.step([p])
    np.testing.assert_allclose(p.value, [1.0, 2.0], atol=1e-3)
