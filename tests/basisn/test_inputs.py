"""Bad input gets a clear error (names the value and the allowed range); data loaders."""

import numpy as np
import pytest

from basisn.data import Dataset, load_digits, load_mnist1d
from basisn.layers import BasisConfig, BasisDense, GlobalBasis
from basisn.quant import bit_planes, cell_levels, quantize_int
from basisn.training import evaluate
from basisn.models import basis_mlp
from devices.errors import ParameterError


@pytest.mark.parametrize("d", [0, -3])
def test_d_below_one(d):
    with pytest.raises(ParameterError, match=f"d \\(crossbar size, piece length\\) = {d} is outside the allowed range \\[1, inf\\]"):
        BasisConfig(d, 4)


@pytest.mark.parametrize("bits", [0, 17, 2.5, True])
def test_bits_outside_1_16(bits):
    with pytest.raises(ParameterError, match="coeff_bits.*\\[1, 16\\]"):
        BasisConfig(8, bits)
    with pytest.raises(ParameterError, match="cell_bits.*\\[1, 16\\]"):
        BasisConfig(8, 4, cell_bits=bits)


def test_codes_out_of_range_for_planes():
    with pytest.raises(ParameterError, match="codes span \\[-9, 0\\], outside the 4-bit two's complement range \\[-8, 7\\]"):
        bit_planes(np.array([[-9, 0]]), 4)


def test_mismatched_shapes():
    rng = np.random.default_rng(0)
    layer = BasisDense(10, 3, GlobalBasis(4, rng), 4, rng)
    with pytest.raises(ParameterError, match="shape \\(rows, 10\\), got \\(2, 9\\)"):
        layer.forward(np.zeros((2, 9)))
    with pytest.raises(ParameterError, match="coeffs must have shape \\(3, 3, 4\\)"):
        BasisDense(10, 3, GlobalBasis(4, rng), 4, rng, coeffs=np.zeros((3, 2, 4)))
    with pytest.raises(ParameterError, match="y_train has shape"):
        Dataset("x", np.zeros((4, 2)), np.zeros(3, int), np.zeros((2, 2)), np.zeros(2, int), 2)
    with pytest.raises(ParameterError, match="features"):
        Dataset("x", np.zeros((4, 2)), np.zeros(4, int), np.zeros((2, 3)), np.zeros(2, int), 2)
    net = basis_mlp((4, 2), BasisConfig(4, 2), rng)
    with pytest.raises(ParameterError, match="labels of shape \\(3,\\) do not match 2 inputs"):
        evaluate(net, np.zeros((2, 4)), np.zeros(3, int))


def test_nan_in_data():
    x = np.zeros((4, 2))
    x[2, 1] = np.nan
    with pytest.raises(ParameterError, match="x_train contains 1 non-finite value.*first at index \\(2, 1\\)"):
        Dataset("x", x, np.zeros(4, int), np.zeros((2, 2)), np.zeros(2, int), 2)
    net = basis_mlp((2, 2), BasisConfig(2, 2), np.random.default_rng(0))
    with pytest.raises(ParameterError, match="non-finite"):
        evaluate(net, x, np.zeros(4, int))
    with pytest.raises(ParameterError, match="non-finite"):
        quantize_int([1.0, np.inf], 0.1, 4)
    with pytest.raises(ParameterError, match="y_train spans \\[0, 5\\]; allowed \\[0, 2\\]"):
        Dataset("x", np.zeros((4, 2)), np.array([0, 1, 2, 5]), np.zeros((2, 2)), np.zeros(2, int), 3)


def test_cell_levels():
    v = np.linspace(-1, 1, 101)
    for c in (1, 2, 4):
        q = cell_levels(v, c)
        assert len(np.unique(q)) == 2**c
        assert np.max(np.abs(q - v)) <= 1.0 / (2**c - 1) + 1e-12  # half a step of 2/(2**c - 1)


def test_digits_split_is_fixed():
    a, b = load_digits(), load_digits()
    assert a.x_train.shape == (1347, 64) and a.x_test.shape == (450, 64)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    assert set(np.bincount(a.y_test)) <= {43, 44, 45, 46}  # stratified: 174-183 per class / 4


@pytest.mark.slow
def test_mnist1d_is_generated_locally_and_fixed():
    a = load_mnist1d(num_samples=500)
    b = load_mnist1d(num_samples=500)
    assert a.x_train.shape == (400, 40) and a.x_test.shape == (100, 40)
    np.testing.assert_array_equal(a.x_train, b.x_train)
