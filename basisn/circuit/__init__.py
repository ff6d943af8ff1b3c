"""Close the loop: a BasisN basis written into circuit-level crossbars, measured, fed back.

* :mod:`~basisn.circuit.preset` -- ``HardwarePreset`` (d, K, cell, wires, TG, access,
  read voltage, encoding, chip seed), ``PRESETS``, ``get_preset``.
* :mod:`~basisn.circuit.mapping` -- ``map_basis(B, preset)`` -> ``CrossbarMapping``:
  signed encoding (differential pairs by default, reference column possible), cell
  levels, programming variation drawn once per chip, TG states and read-out of a step.
* :mod:`~basisn.circuit.measure` -- ``ChipSystem``: one factorization per chip, exact
  step transfers by Woodbury updates (cached); ``direct_step_transfer`` (fresh
  factorization) and ``ngspice_step_currents`` to check it.
* :mod:`~basisn.circuit.crossbars` -- hook objects for ``net.forward(x, crossbar=...)``:
  ``CircuitCrossbar`` (exact, scheduled K-set steps) and ``ModelCrossbar`` (error
  model); ``effective_weight``.
* :mod:`~basisn.circuit.errormodel` -- ``ErrorModel.fit`` (single-column transfers,
  column gains, pattern loading) and ``residual``.
* :mod:`~basisn.circuit.feedback` -- ``circuit_aware``, ``feedback_train``
  (Algorithm 1 under the model), ``network_steps``.
* :mod:`~basisn.circuit.readout` -- ``ChipReadout``: read noise per read, TIA + ADC per
  TG-set output, the calibration step (full scale per layer partition, gain recalibration).
* :mod:`~basisn.circuit.chips` -- training and evaluation chips, ``evaluate_fresh_chip``
  (public re-evaluation of a trained network on a fresh chip), ``load_model`` (a network
  from a study archive).
* :mod:`~basisn.circuit.loop` -- the study: float, ideal BasisN, circuit-exact before
  and after feedback, per preset and data set, as an ``xarray.Dataset``.
"""

from .chips import (evaluate_fresh_chip, evaluation_chips, load_model, model_variables, training_chip,
                    write_network)
from .crossbars import CircuitCrossbar, ModelCrossbar, effective_weight, pattern_steps
from .errormodel import ErrorModel, ResidualReport, residual
from .feedback import circuit_aware, feedback_train, network_steps
from .mapping import CrossbarMapping, input_scale, map_basis
from .measure import ChipSystem, direct_step_transfer, ngspice_step_currents
from .preset import PRESETS, HardwarePreset, get_preset
from .readout import ChipReadout, noise_rows

__all__ = [
    "HardwarePreset", "PRESETS", "get_preset",
    "CrossbarMapping", "map_basis", "input_scale",
    "ChipSystem", "direct_step_transfer", "ngspice_step_currents",
    "CircuitCrossbar", "ModelCrossbar", "effective_weight", "pattern_steps",
    "ErrorModel", "ResidualReport", "residual",
    "circuit_aware", "feedback_train", "network_steps",
    "ChipReadout", "noise_rows",
    "training_chip", "evaluation_chips", "write_network", "evaluate_fresh_chip", "load_model", "model_variables",
]
