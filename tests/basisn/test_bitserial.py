"""The bit-serial crossbar forward pass equals the dense product with the quantized weights."""

import numpy as np
import pytest

from basisn.hardware import IdealCrossbar
from basisn.layers import BasisConfig, BasisConv2D, BasisDense, GlobalBasis
from basisn.models import basis_cnn1d, basis_mlp
from basisn.quant import bit_planes, plane_weights, quantize_int
from devices.errors import ParameterError

# Both paths are float64 sums of the same products in a different order:
# |difference| <= ~ n_terms * eps * sum|terms|; 1e-10 relative is a safe margin.
RTOL, ATOL = 1e-10, 1e-12


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 6, 8, 16])
def test_planes_shift_and_add_reconstruct_codes(bits):
    rng = np.random.default_rng(bits)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    q = rng.integers(lo, hi + 1, size=(5, 3, 7))
    q[0, 0, :2] = lo, hi
    planes = bit_planes(q, bits)
    assert planes.shape == (5, 3, bits, 7)
    np.testing.assert_array_equal(np.einsum("n,...nd->...d", plane_weights(bits), planes), q)


@pytest.mark.parametrize("bits, d, fan_in", [(1, 4, 10), (3, 8, 8), (4, 16, 37), (6, 5, 64), (4, 64, 20)])
def test_dense_crossbar_path_equals_quantized_weights(bits, d, fan_in):
    rng = np.random.default_rng(10 + bits)
    basis = GlobalBasis(d, rng, cell_bits=3 if bits == 6 else None)
    layer = BasisDense(fan_in, 7, basis, bits, rng)
    x = rng.normal(size=(9, fan_in))
    xbar = IdealCrossbar(basis.effective())
    y_xbar = layer.forward(x, crossbar=xbar)
    w_q = layer.core.weight()
    np.testing.assert_allclose(y_xbar, x @ w_q.T + layer.core.b.value, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(y_xbar, layer.forward(x), rtol=RTOL, atol=ATOL)
    # and W_q really is the quantized coefficients times the basis
    q = quantize_int(layer.core.C.value, layer.core.scale, bits)
    w_ref = (layer.core.scale * q @ basis.effective()).reshape(7, -1)[:, :fan_in]
    np.testing.assert_allclose(w_q, w_ref, rtol=1e-12, atol=1e-14)


def test_networks_through_ideal_crossbar():
    rng = np.random.default_rng(3)
    net = basis_mlp((20, 12, 5), BasisConfig(8, 4), rng)
    x = rng.random((6, 20))
    np.testing.assert_allclose(net.forward(x, crossbar=net.ideal_crossbar()), net.forward(x), rtol=RTOL, atol=ATOL)
    cnn = basis_cnn1d(BasisConfig(4, 3, cell_bits=2), rng, length=12, channels=(3, 4))
    x = rng.normal(size=(4, 1, 1, 12))
    np.testing.assert_allclose(cnn.forward(x, crossbar=cnn.ideal_crossbar()), cnn.forward(x), rtol=RTOL, atol=ATOL)


class CountingCrossbar:
    """A crossbar model that records its calls (checks the hook's contract)."""

    def __init__(self, basis):
        self.inner = IdealCrossbar(basis)
        self.d = self.inner.d
        self.calls = []

    def combine(self, x_pieces, planes):
        assert planes.dtype == bool and x_pieces.shape[1] == self.d == planes.shape[1]
        self.calls.append((x_pieces.shape, planes.shape))
        return self.inner.combine(x_pieces, planes)


def test_hook_sees_every_partition_with_all_kernel_bit_patterns():
    rng = np.random.default_rng(4)
    basis = GlobalBasis(4, rng)
    layer = BasisConv2D(2, 3, (1, 3), basis, 5, rng)  # fan_in 6 -> 2 partitions
    xbar = CountingCrossbar(basis.effective())
    layer.forward(rng.normal(size=(2, 2, 1, 7)), crossbar=xbar)
    assert xbar.calls == [((2 * 5, 4), (3 * 5, 4))] * 2


def test_pattern_dependent_hook_changes_the_result():
    # a non-ideal crossbar (output shrinks with the number of closed TGs) must be honoured
    rng = np.random.default_rng(5)
    basis = GlobalBasis(4, rng)
    layer = BasisDense(4, 2, basis, 3, rng)
    ideal = IdealCrossbar(basis.effective())

    class Droopy:
        d = 4

        def combine(self, x, planes):
            return ideal.combine(x, planes) / (1 + 0.1 * planes.sum(axis=1))

    x = rng.random((3, 4))
    assert not np.allclose(layer.forward(x, crossbar=Droopy()), layer.forward(x, crossbar=ideal))


def test_crossbar_size_mismatch_and_bad_output():
    rng = np.random.default_rng(6)
    basis = GlobalBasis(4, rng)
    layer = BasisDense(8, 2, basis, 3, rng)
    with pytest.raises(ParameterError, match="crossbar size d = 8 does not match .* d = 4"):
        layer.forward(np.zeros((1, 8)), crossbar=IdealCrossbar(np.eye(8)))

    class Wrong:
        d = 4

        def combine(self, x, planes):
            return np.zeros((1, 1))

    with pytest.raises(ParameterError, match="combine returned shape"):
        layer.forward(np.zeros((2, 8)), crossbar=Wrong())
    with pytest.raises(ParameterError, match="planes must be a bool"):
        IdealCrossbar(np.eye(4)).combine(np.zeros((1, 4)), np.zeros((2, 4)))
    with pytest.raises(ParameterError, match="square"):
        IdealCrossbar(np.zeros((3, 4)))


@pytest.mark.parametrize("bits, d, K", [(1, 4, 2), (4, 8, 4), (3, 16, 8)])
def test_scheduled_execution_equals_quantized_weights(bits, d, K):
    # every scheduled step goes through combine_step (which refuses a contest)
    rng = np.random.default_rng(20 + bits)
    basis = GlobalBasis(d, rng)
    layer = BasisDense(2 * d + 3, 6, basis, bits, rng)
    x = rng.random((5, 2 * d + 3))
    y, sch = layer.core.forward_scheduled(x, IdealCrossbar(basis.effective()), K)
    np.testing.assert_allclose(y, x @ layer.core.weight().T + layer.core.b.value, rtol=RTOL, atol=ATOL)
    assert sch.n_items == int(layer.core.planes().any(axis=-1).sum())


def test_combine_step_refuses_a_contest():
    from devices.errors import BasisContestError

    with pytest.raises(BasisContestError, match="columns \\[1\\]"):
        IdealCrossbar(np.eye(3)).combine_step(np.ones((1, 3)), np.array([[0, 1, 0], [1, 1, 0]], dtype=bool))
