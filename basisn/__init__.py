"""BasisN in NumPy: global basis, bit-serial quantized coefficients, TG scheduling.

Public API (see each module's docstring):

* :mod:`basisn.quant` -- two's complement codes, bit planes, cell levels.
* :mod:`basisn.scheduler` -- ``schedule_layer(planes, d, K)`` -> :class:`Schedule`.
"""

from .quant import bit_planes, plane_weights, popcount, quantize_int, twos_complement_range, cell_levels, best_scale
from .scheduler import Schedule, schedule_codes, schedule_layer

__all__ = [
    "bit_planes", "plane_weights", "popcount", "quantize_int", "twos_complement_range",
    "cell_levels", "best_scale",
    "Schedule", "schedule_codes", "schedule_layer",
]
