"""Network shapes as data: every conv and FC layer as a weight matrix ``(n, t*w*h)``.

No deep-learning framework is needed to count crossbars or cycles: a layer is its
number of kernels ``n``, input channels ``t``, kernel size ``(h, w)`` and the number of
input vectors (output positions) it sees per inference. The builders below follow the
published architectures layer by layer, so the tables are generated, not typed.

``Layer``, ``Network``
    Frozen dataclasses (validated on construction).
``resnet34_cifar(num_classes=100)``
    ResNet34 [He et al., CVPR 2016] in the CIFAR form used by the common PyTorch CIFAR
    code bases (3x3 stem, no max-pool, 32x32 input, 1x1 projection shortcuts).
``densenet121(dataset)``
    DenseNet121 [Huang et al., CVPR 2017], growth 32, bottleneck 4*growth, compression
    0.5, blocks (6, 12, 24, 16). ``"imagenet"``: the torchvision form (7x7/2 stem,
    max-pool, 224x224 input, 1000 classes). ``"cifar100"``: the CIFAR form (3x3 stem of
    2*growth channels, no pooling in the stem, 32x32 input, 100 classes).
``digits_mlp()``, ``mnist1d_cnn()``
    The small models of the BasisN issue (shapes mirror ``basisn.models``; see their
    docstrings).
``get_network(name)``, ``NETWORK_NAMES``
    Look-up by name; an unknown name raises :class:`devices.errors.ParameterError`
    listing the allowed names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from devices.errors import ParameterError

__all__ = [
    "Layer",
    "Network",
    "resnet34_cifar",
    "densenet121",
    "digits_mlp",
    "mnist1d_cnn",
    "DIGITS_MLP_SIZES",
    "MNIST1D_LENGTH",
    "MNIST1D_CHANNELS",
    "get_network",
    "NETWORK_NAMES",
    "BIG_NETWORKS",
    "SMALL_NETWORKS",
]


def _pos_int(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


@dataclass(frozen=True)
class Layer:
    """One conv or FC layer, seen as the weight matrix ``(n, t*h*w)`` of paper Fig. 3(a).

    A fully connected layer is a 1x1 kernel applied at one position.
    """

    name: str
    """Layer name, unique within its network (e.g. ``"block3.layer7.conv2"``)."""
    n: int
    """Number of kernels (output channels, rows of the weight matrix), >= 1."""
    t: int
    """Kernel depth (input channels), >= 1."""
    kh: int = 1
    """Kernel height in taps, >= 1 (1 for FC)."""
    kw: int = 1
    """Kernel width in taps, >= 1 (1 for FC)."""
    positions: int = 1
    """Input vectors per inference: output height x width of a conv, 1 for FC."""
    kind: str = "conv"
    """``"conv"`` or ``"fc"``."""
    has_bias: bool = False
    """Whether the layer has a bias in the reference implementation (convs followed by
    batch norm have none; the classifier has one)."""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"layer name must be a non-empty string, got {self.name!r}")
        for fname in ("n", "t", "kh", "kw", "positions"):
            _pos_int(getattr(self, fname), f"layer {self.name!r}: {fname}")
        if self.kind not in ("conv", "fc"):
            raise ParameterError(f"layer {self.name!r}: kind = {self.kind!r}; allowed 'conv', 'fc'")

    @property
    def fan_in(self) -> int:
        """Kernel length ``t*h*w`` (columns of the weight matrix)."""
        return self.t * self.kh * self.kw

    @property
    def weights(self) -> int:
        """Number of weights ``n * t*h*w`` (biases excluded)."""
        return self.n * self.fan_in

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference: ``weights * positions``."""
        return self.weights * self.positions


@dataclass(frozen=True)
class Network:
    """An ordered tuple of layers with the data set it classifies."""

    name: str
    """Registry name, e.g. ``"densenet121-imagenet"``."""
    layers: tuple
    """The conv and FC layers in execution order (tuple of :class:`Layer`)."""
    input_shape: tuple = ()
    """Input (channels, height, width) or (features,); documentation only."""
    source: str = ""
    """Where the architecture comes from."""
    meta: tuple = field(default=(), compare=False)
    """Free-form extra information as ``(key, value)`` pairs (immutable, so cached
    networks can be shared), e.g. ``(("defined_in", "basisn.costmodel"),)``."""

    def __post_init__(self):
        if not self.layers:
            raise ParameterError(f"network {self.name!r} has no layers")
        object.__setattr__(self, "layers", tuple(self.layers))
        names = [lay.name for lay in self.layers]
        if len(set(names)) != len(names):
            raise ParameterError(f"network {self.name!r} has duplicate layer names")

    @property
    def n_weights(self) -> int:
        """Total weights (biases excluded)."""
        return sum(lay.weights for lay in self.layers)

    @property
    def n_macs(self) -> int:
        """Total multiply-accumulates per inference."""
        return sum(lay.macs for lay in self.layers)

    def __len__(self) -> int:
        return len(self.layers)


def resnet34_cifar(num_classes: int = 100) -> Network:
    """ResNet34 for 32x32 CIFAR images.

    Stem: 3x3 conv, 64 kernels, stride 1, no max-pool. Four stages of BasicBlocks
    (3, 4, 6, 3) with 64, 128, 256, 512 channels at 32, 16, 8, 4 pixels; the first block
    of stages 2-4 has stride 2 and a 1x1 projection shortcut. Global average pool, FC.
    This is ResNet34 of He et al. (CVPR 2016, Table 1) with the CIFAR stem used by the
    widely used PyTorch CIFAR-100 code bases (e.g. weiaicunzai/pytorch-cifar100,
    kuangliu/pytorch-cifar); the paper does not say which variant it used.

    Parameters
    ----------
    num_classes : int
        Outputs of the classifier (100 for CIFAR-100).
    """
    _pos_int(num_classes, "num_classes")
    layers = [Layer("conv1", 64, 3, 3, 3, 32 * 32)]
    cin, size = 64, 32
    for stage, (planes, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], 1):
        for b in range(blocks):
            s = stride if b == 0 else 1
            size_out = size // s
            p = size_out * size_out
            pre = f"layer{stage}.{b}"
            layers.append(Layer(f"{pre}.conv1", planes, cin, 3, 3, p))
            layers.append(Layer(f"{pre}.conv2", planes, planes, 3, 3, p))
            if s != 1 or cin != planes:
                layers.append(Layer(f"{pre}.shortcut", planes, cin, 1, 1, p))
            cin, size = planes, size_out
    layers.append(Layer("fc", num_classes, cin, kind="fc", has_bias=True))
    return Network(
        f"resnet34-cifar{num_classes}", tuple(layers), (3, 32, 32),
        source="He et al. CVPR 2016 (ResNet34), CIFAR stem as in the common PyTorch CIFAR code bases",
    )


_DENSENET_DATASETS = ("imagenet", "cifar100")


def densenet121(dataset: str = "imagenet") -> Network:
    """DenseNet121 (growth 32, blocks 6-12-24-16, bottleneck 128, compression 0.5).

    Each dense layer is a 1x1 conv (128 kernels on the concatenated input) and a 3x3
    conv (32 kernels on 128 channels); each transition is a 1x1 conv halving the channels
    followed by 2x2 average pooling; the classifier sees 1024 features.

    Parameters
    ----------
    dataset : {"imagenet", "cifar100"}
        ``"imagenet"``: torchvision's DenseNet121 (7x7/2 stem with 64 kernels, 3x3/2
        max-pool, 224x224 input so blocks run at 56, 28, 14, 7 pixels, 1000 classes).
        ``"cifar100"``: the CIFAR form (3x3/1 stem with 64 = 2*growth kernels, no
        pooling, 32x32 input, blocks at 32, 16, 8, 4 pixels, 100 classes).

    Raises
    ------
    ParameterError
        If ``dataset`` is not one of the two.
    """
    if dataset not in _DENSENET_DATASETS:
        raise ParameterError(f"densenet121 dataset = {dataset!r}; allowed {_DENSENET_DATASETS}")
    growth, bottleneck, blocks = 32, 4 * 32, (6, 12, 24, 16)
    if dataset == "imagenet":
        layers = [Layer("conv0", 64, 3, 7, 7, 112 * 112)]
        size, classes, inp = 56, 1000, (3, 224, 224)
    else:
        layers = [Layer("conv0", 64, 3, 3, 3, 32 * 32)]
        size, classes, inp = 32, 100, (3, 32, 32)
    c = 64
    for bi, n_layers in enumerate(blocks, 1):
        p = size * size
        for i in range(n_layers):
            pre = f"denseblock{bi}.layer{i + 1}"
            layers.append(Layer(f"{pre}.conv1", bottleneck, c, 1, 1, p))
            layers.append(Layer(f"{pre}.conv2", growth, bottleneck, 3, 3, p))
            c += growth
        if bi < len(blocks):
            layers.append(Layer(f"transition{bi}.conv", c // 2, c, 1, 1, p))
            c //= 2
            size //= 2
    layers.append(Layer("classifier", classes, c, kind="fc", has_bias=True))
    return Network(
        f"densenet121-{dataset}", tuple(layers), inp,
        source="Huang et al. CVPR 2017 (DenseNet-BC 121); ImageNet form as torchvision, CIFAR stem 3x3",
    )


DIGITS_MLP_SIZES = (64, 128, 64, 10)
"""Layer sizes of the digits MLP: the one definition, used by this cost model, by
``basisn.models.mlp`` callers and by the trained model of ``basisn.experiments``."""
MNIST1D_LENGTH = 40
"""Features of an MNIST-1D sample (Greydanus 2020)."""
MNIST1D_CHANNELS = (32, 32)
"""Channels of the two conv stages of the MNIST-1D CNN: the one definition, used by this
cost model and by ``basisn.models.cnn1d`` / ``basis_cnn1d`` (and so by the trained model
of ``basisn.experiments``)."""


def digits_mlp(hidden: tuple = DIGITS_MLP_SIZES[1:-1]) -> Network:
    """MLP for scikit-learn's 8x8 digits: 64 inputs, ReLU hidden layers, 10 classes
    (default sizes :data:`DIGITS_MLP_SIZES`, the trained model's)."""
    return _mlp("digits-mlp", DIGITS_MLP_SIZES[0], hidden, DIGITS_MLP_SIZES[-1],
                "scikit-learn digits 8x8; sizes DIGITS_MLP_SIZES (the trained model's)")


def mnist1d_cnn(length: int = MNIST1D_LENGTH, channels: tuple = MNIST1D_CHANNELS, n_classes: int = 10) -> Network:
    """1-D CNN for MNIST-1D: per stage a 1x5 conv ('same' padding) and a /2 max-pool,
    then a dense classifier on ``channels[-1] * length / 2**stages`` features.

    Defaults :data:`MNIST1D_LENGTH` and :data:`MNIST1D_CHANNELS` are the trained model's
    (``basisn.models.cnn1d`` takes its defaults from them).  MNIST-1D: Greydanus (2020),
    40 features, 10 classes.
    """
    _pos_int(length, "length")
    layers, cin, size = [], 1, length
    for i, c in enumerate(channels, 1):
        layers.append(Layer(f"conv{i}", _pos_int(c, "channels"), cin, 1, 5, size, has_bias=True))
        cin, size = c, size // 2
    if size < 1:
        raise ParameterError(f"length {length} is too short for {len(channels)} pooling stages")
    layers.append(Layer("fc", _pos_int(n_classes, "n_classes"), cin * size, kind="fc", has_bias=True))
    return Network("mnist1d-cnn", tuple(layers), (1, length),
                   source="MNIST-1D 1-D CNN, channels MNIST1D_CHANNELS (the trained model's)",
                   meta=(("defined_in", "basisn.costmodel"),))


def _mlp(name: str, n_in: int, hidden, n_out: int, source: str) -> Network:
    sizes = [n_in, *[_pos_int(h, "hidden size") for h in hidden], n_out]
    layers = tuple(
        Layer(f"fc{i + 1}", sizes[i + 1], sizes[i], kind="fc", has_bias=True) for i in range(len(sizes) - 1)
    )
    return Network(name, layers, (n_in,), source=source, meta=(("defined_in", "basisn.costmodel"),))


_REGISTRY = {
    "densenet121-imagenet": lambda: densenet121("imagenet"),
    "densenet121-cifar100": lambda: densenet121("cifar100"),
    "resnet34-cifar100": lambda: resnet34_cifar(100),
    "digits-mlp": digits_mlp,
    "mnist1d-cnn": mnist1d_cnn,
}

#: Every name :func:`get_network` accepts.
NETWORK_NAMES = tuple(_REGISTRY)
#: The three benchmarks of the paper's Table 1, in the paper's row order.
BIG_NETWORKS = ("densenet121-imagenet", "densenet121-cifar100", "resnet34-cifar100")
#: The small models of the BasisN issue.
SMALL_NETWORKS = ("digits-mlp", "mnist1d-cnn")


def get_network(name) -> Network:
    """Return the network registered under ``name``.

    Raises
    ------
    ParameterError
        If ``name`` is unknown (the message lists :data:`NETWORK_NAMES`).
    """
    if isinstance(name, Network):
        return name
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ParameterError(f"unknown network {name!r}; allowed: {', '.join(NETWORK_NAMES)}")
    return _build(name)


@functools.lru_cache(maxsize=None)
def _build(name: str) -> Network:
    """Build a registered network once (networks are frozen, so sharing them is safe)."""
    return _REGISTRY[name]()
