"""BasisN in NumPy: global basis, bit-serial quantized coefficients, TG scheduling.

Public API (each module's docstring has the details):

* :mod:`basisn.nn` -- Dense, Conv2D (im2col), ReLU, pooling, softmax cross-entropy,
  SGD with momentum, Adam; hand-written gradients.
* :mod:`basisn.data` -- ``load_digits()``, ``load_mnist1d()`` (no download), ``Dataset``.
* :mod:`basisn.quant` -- two's complement codes, bit planes, cell levels.
* :mod:`basisn.layers` -- ``BasisConfig``, ``GlobalBasis``, ``BasisDense``,
  ``BasisConv2D``, ``BasisNetwork``, ``basis_from_float`` (fine-tuning init).
* :mod:`basisn.hardware` -- the hardware hook: ``IdealCrossbar(basis).combine(x_pieces,
  planes)``; any object with ``d`` and ``combine`` can replace it at inference
  (``net.forward(x, crossbar=model)``).
* :mod:`basisn.training` -- ``train_float``, ``train_alternating`` (Algorithm 1),
  ``evaluate``.
* :mod:`basisn.regularizer` -- contest-aware regularizer ``contest_penalty``.
* :mod:`basisn.scheduler` -- ``schedule_layer(planes, d, K)`` -> ``Schedule``.
* :mod:`basisn.models` -- MLP and 1-D CNN builders.
* :mod:`basisn.experiments` -- the protocols behind ``studies/basisn_accuracy.py``.
"""

from .data import Dataset, load_digits, load_mnist1d
from .hardware import CrossbarModel, IdealCrossbar
from .layers import BasisConfig, BasisConv2D, BasisDense, BasisNetwork, GlobalBasis, basis_from_float
from .quant import best_scale, bit_planes, cell_levels, plane_weights, popcount, quantize_int, twos_complement_range
from .regularizer import contest_penalty, count_ones
from .scheduler import Schedule, schedule_codes, schedule_layer
from .training import AlternatingConfig, TrainConfig, algorithm1_phases, evaluate, train_alternating, train_float

__all__ = [
    "Dataset", "load_digits", "load_mnist1d",
    "CrossbarModel", "IdealCrossbar",
    "BasisConfig", "BasisConv2D", "BasisDense", "BasisNetwork", "GlobalBasis", "basis_from_float",
    "best_scale", "bit_planes", "cell_levels", "plane_weights", "popcount", "quantize_int",
    "twos_complement_range",
    "contest_penalty", "count_ones",
    "Schedule", "schedule_codes", "schedule_layer",
    "AlternatingConfig", "TrainConfig", "algorithm1_phases", "evaluate", "train_alternating", "train_float",
]
