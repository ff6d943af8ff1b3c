"""Weight-stationary crossbar count: weight matrices cut into ``d x d`` blocks.

Paper section 3.1: a layer's weights ``(n, t*w*h)`` are cut into ``d x d`` sub-matrices,
one per crossbar; each crossbar column holds one partition of one kernel. The count for
one layer under a :class:`MappingConvention` is

    rows  = t*w*h (+1 if the layer gets a bias row)
    cols  = n     (x2 for differential pairs of signed weights)
    crossbars = ceil(rows / d) * ceil(cols / d)                  ("ceil" packing)

and the network count is the sum over the layers the convention includes. ``"dense"``
packing is the lower bound ``ceil(sum(rows*cols) / d**2)`` (blocks of different layers
share crossbars). Swapping rows and columns (a transposed mapping) gives the same count
on square crossbars, because the ceil product is symmetric.

``MappingConvention``
    Frozen dataclass of the choices; :data:`CONVENTIONS` holds the named ones
    (``"plain"`` = the paper's text taken literally, ``"bias-row"`` = best match).
``crossbars_per_layer(network, d, convention)``, ``crossbar_count(network, d, convention)``
``convention_grid()``
    Every combination of the discrete choices, for the search reported in the README.
:data:`PAPER_CROSSBARS_256`
    Table 1's "#Weight fixed crossbars" (d = 256).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from devices.errors import ParameterError

from .networks import get_network

__all__ = [
    "MappingConvention",
    "CONVENTIONS",
    "PAPER_CROSSBARS_256",
    "check_crossbar_size",
    "check_crossbars",
    "layer_matrix_shape",
    "crossbars_per_layer",
    "crossbar_count",
    "convention_grid",
    "get_convention",
]

#: Table 1 of the paper, column "#Weight fixed crossbars" (256x256 crossbars).
PAPER_CROSSBARS_256 = {
    "densenet121-imagenet": 480,
    "densenet121-cifar100": 460,
    "resnet34-cifar100": 395,
}

_BIAS = ("none", "reference", "all")
_PACKING = ("ceil", "dense")


def check_crossbar_size(d) -> int:
    """Return ``d`` as int if it is an integer >= 1, else raise ParameterError naming it."""
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ParameterError(f"crossbar size d = {d!r}; allowed: an integer >= 1 (the paper uses 64-512)")
    return int(d)


def check_crossbars(m, name: str = "number of crossbars M") -> int:
    """Return ``m`` as int if it is an integer >= 1, else raise ParameterError naming it."""
    if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ParameterError(f"{name} = {m!r}; allowed: an integer >= 1")
    return int(m)


@dataclass(frozen=True)
class MappingConvention:
    """How a weight matrix is laid onto crossbars (the choices the paper leaves open)."""

    name: str = "plain"
    """Label used in tables and archives."""
    bias_rows: str = "none"
    """Extra input row carrying a bias per kernel: ``"none"``; ``"reference"``: only
    layers that have a bias in the reference implementation (the classifier);
    ``"all"``: every layer (batch norm folded into a per-kernel bias, driven by a
    constant-input row)."""
    differential: bool = False
    """Signed weights as differential pairs ``G+ - G-``: two columns per kernel."""
    include_first: bool = True
    """Whether the first layer (the stem conv) is mapped to crossbars."""
    include_last: bool = True
    """Whether the last layer (the classifier) is mapped to crossbars."""
    packing: str = "ceil"
    """``"ceil"``: every layer's blocks on their own crossbars (ceil per dimension per
    layer); ``"dense"``: the lower bound ``ceil(total cells / d**2)``."""

    def __post_init__(self):
        if self.bias_rows not in _BIAS:
            raise ParameterError(f"bias_rows = {self.bias_rows!r}; allowed {_BIAS}")
        if self.packing not in _PACKING:
            raise ParameterError(f"packing = {self.packing!r}; allowed {_PACKING}")

    def describe(self) -> str:
        """One line for tables: the non-default choices."""
        parts = [f"bias rows: {self.bias_rows}"]
        if self.differential:
            parts.append("differential pairs")
        if not self.include_first:
            parts.append("stem excluded")
        if not self.include_last:
            parts.append("classifier excluded")
        parts.append(f"packing: {self.packing}")
        return ", ".join(parts)


#: Named conventions. ``plain`` is section 3.1 taken literally; ``bias-row`` is the
#: best match to Table 1 found by :func:`convention_grid` (see the README).
CONVENTIONS = {
    "plain": MappingConvention("plain"),
    "bias-row": MappingConvention("bias-row", bias_rows="all"),
    "reference-bias": MappingConvention("reference-bias", bias_rows="reference"),
    "differential": MappingConvention("differential", differential=True),
    "differential+bias-row": MappingConvention("differential+bias-row", bias_rows="all", differential=True),
    "dense-packing": MappingConvention("dense-packing", packing="dense"),
}


def get_convention(name) -> MappingConvention:
    """Return a named convention (or pass a :class:`MappingConvention` through)."""
    if isinstance(name, MappingConvention):
        return name
    try:
        return CONVENTIONS[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown mapping convention {name!r}; allowed: {', '.join(CONVENTIONS)}") from None


def layer_matrix_shape(layer, convention: MappingConvention, is_first: bool, is_last: bool) -> tuple[int, int]:
    """``(rows, cols)`` of the matrix one layer puts on crossbars; ``(0, 0)`` if excluded.

    Rows are crossbar wordlines (kernel length, plus a bias row), columns are bitlines
    (kernels, doubled for differential pairs).
    """
    if (is_first and not convention.include_first) or (is_last and not convention.include_last):
        return 0, 0
    rows = layer.fan_in
    if convention.bias_rows == "all" or (convention.bias_rows == "reference" and layer.has_bias):
        rows += 1
    cols = layer.n * (2 if convention.differential else 1)
    return rows, cols


def crossbars_per_layer(network, d, convention="plain") -> np.ndarray:
    """Crossbars each layer needs under ``ceil`` packing.

    Parameters
    ----------
    network : str or Network
    d : int
        Crossbar size (rows = columns = d), >= 1.
    convention : str or MappingConvention

    Returns
    -------
    ndarray of int, shape (layers,)
        ``ceil(rows/d) * ceil(cols/d)`` per layer (0 for excluded layers), whatever the
        convention's packing (use :func:`crossbar_count` for the network total).
    """
    net = get_network(network)
    d = check_crossbar_size(d)
    conv = get_convention(convention)
    last = len(net.layers) - 1
    out = np.zeros(len(net.layers), dtype=np.int64)
    for i, lay in enumerate(net.layers):
        rows, cols = layer_matrix_shape(lay, conv, i == 0, i == last)
        out[i] = math.ceil(rows / d) * math.ceil(cols / d)
    return out


def crossbar_count(network, d, convention="plain") -> int:
    """Crossbars of size ``d x d`` needed to hold the whole network (weight-stationary).

    Parameters
    ----------
    network : str or Network
        A name from :data:`basisn.costmodel.networks.NETWORK_NAMES` or a Network.
    d : int
        Crossbar size, >= 1.
    convention : str or MappingConvention
        See :class:`MappingConvention`.

    Returns
    -------
    int
        Number of crossbars.

    Raises
    ------
    ParameterError
        Unknown network or convention, or ``d`` not a positive integer.
    """
    net = get_network(network)
    d = check_crossbar_size(d)
    conv = get_convention(convention)
    if conv.packing == "ceil":
        return int(crossbars_per_layer(net, d, conv).sum())
    last = len(net.layers) - 1
    cells = 0
    for i, lay in enumerate(net.layers):
        rows, cols = layer_matrix_shape(lay, conv, i == 0, i == last)
        cells += rows * cols
    return int(math.ceil(cells / (d * d)))


def convention_grid():
    """Every combination of the discrete mapping choices (48 conventions).

    Returns
    -------
    list of MappingConvention
        Named by their choices; used to show that no combination reproduces all three
        Table 1 counts (nothing continuous is fitted).
    """
    out = []
    for bias, diff, first, last, pack in itertools.product(_BIAS, (False, True), (True, False), (True, False), _PACKING):
        c = MappingConvention("tmp", bias, diff, first, last, pack)
        out.append(MappingConvention(c.describe(), bias, diff, first, last, pack))
    return out
