"""Network builders used by the tests and the study.

``mlp(sizes, rng)`` / ``basis_mlp(sizes, cfg, rng)``
    Dense-ReLU stacks, e.g. ``sizes = (64, 128, 64, 10)``.
``cnn1d(rng, length=40, channels=(32, 32), n_classes=10)`` / ``basis_cnn1d(cfg, rng, ...)``
    A small 1-D CNN for MNIST-1D written with 2-D layers on ``(N, 1, 1, length)`` input:
    conv(1x5, pad 2)-ReLU-maxpool(1x2) per channel stage, then a dense classifier.
    Default shape: ``MNIST1D_LENGTH`` / ``MNIST1D_CHANNELS`` of :mod:`basisn.costmodel.networks`,
    the one definition the cost model uses too.
"""

from __future__ import annotations

import numpy as np

from devices.errors import ParameterError

from ._checks import check_int
from .costmodel.networks import DIGITS_MLP_SIZES, MNIST1D_CHANNELS, MNIST1D_LENGTH
from .layers import BasisConfig, BasisConv2D, BasisDense, BasisNetwork, GlobalBasis
from .nn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential

__all__ = ["mlp", "basis_mlp", "cnn1d", "basis_cnn1d", "DIGITS_MLP_SIZES", "MNIST1D_CHANNELS", "MNIST1D_LENGTH"]


def _sizes(sizes):
    sizes = tuple(check_int(s, "layer size", 1) for s in sizes)
    if len(sizes) < 2:
        raise ParameterError(f"sizes needs at least (n_in, n_out), got {sizes}")
    return sizes


def mlp(sizes, rng: np.random.Generator) -> Sequential:
    """Float MLP: Dense-ReLU-...-Dense (logits)."""
    sizes = _sizes(sizes)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(a, b, rng))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def basis_mlp(sizes, cfg: BasisConfig, rng: np.random.Generator) -> BasisNetwork:
    """BasisN MLP from scratch: random orthogonal basis, random coefficients."""
    sizes = _sizes(sizes)
    basis = GlobalBasis(cfg.d, rng, cfg.cell_bits)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(BasisDense(a, b, basis, cfg.coeff_bits, rng))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return BasisNetwork(basis, *layers)


def _cnn_shape(length, channels):
    length = check_int(length, "length", 4)
    channels = tuple(check_int(c, "channels", 1) for c in channels)
    out = length
    for _ in channels:
        out //= 2
    if out < 1:
        raise ParameterError(f"length {length} is too short for {len(channels)} pooling stages")
    return length, channels, out


def cnn1d(rng, length: int = MNIST1D_LENGTH, channels=MNIST1D_CHANNELS, n_classes: int = 10) -> Sequential:
    """Float 1-D CNN on ``(N, 1, 1, length)`` input."""
    length, channels, out = _cnn_shape(length, channels)
    layers, cin = [], 1
    for c in channels:
        layers += [Conv2D(cin, c, (1, 5), rng, padding=0), ReLU(), MaxPool2D((1, 2))]
        cin = c
    return Sequential(*_fix_padding(layers), Flatten(), Dense(cin * out, n_classes, rng))


def _fix_padding(layers):
    # 'same' padding along the signal only: pad the width by 2 through a wrapper layer
    out = []
    for layer in layers:
        if isinstance(layer, (Conv2D, BasisConv2D)):
            out.append(_PadW(2))
        out.append(layer)
    return out


class _PadW:
    """Zero-pad the last axis by ``p`` on both sides (keeps 1-D signals 'same' length)."""

    def __init__(self, p):
        self.p = p

    def forward(self, x, train=False):
        return np.pad(x, ((0, 0), (0, 0), (0, 0), (self.p, self.p)))

    def backward(self, dy):
        return dy[..., self.p:-self.p]

    def params(self):
        return []


def basis_cnn1d(cfg: BasisConfig, rng, length: int = MNIST1D_LENGTH, channels=MNIST1D_CHANNELS,
                n_classes: int = 10) -> BasisNetwork:
    """BasisN version of :func:`cnn1d` (from scratch)."""
    length, channels, out = _cnn_shape(length, channels)
    basis = GlobalBasis(cfg.d, rng, cfg.cell_bits)
    layers, cin = [], 1
    for c in channels:
        layers += [BasisConv2D(cin, c, (1, 5), basis, cfg.coeff_bits, rng), ReLU(), MaxPool2D((1, 2))]
        cin = c
    return BasisNetwork(basis, *_fix_padding(layers), Flatten(), BasisDense(cin * out, n_classes, basis, cfg.coeff_bits, rng))
