"""Cost model for the BasisN paper figures (Table 1, Figs. 2 and 7-9).

* :mod:`.networks` -- layer shapes as data (ResNet34, DenseNet121, small MLPs);
  ``get_network(name)``.
* :mod:`.mapping` -- weight-stationary crossbar counts under a :class:`MappingConvention`;
  ``crossbar_count(network, d, convention)``.
* :mod:`.parameters` -- sourced constants: programming schemes, chip, energies, areas.
* :mod:`.cycles` -- cycles per inference (WS with reprogramming, BasisN), crossover,
  Fig. 2(a) slowdown; the small models go through :mod:`basisn.scheduler`.
* :mod:`.energy` -- energy per inference, EDP, TG area overhead.
* :mod:`.tables` -- ``table1``, ``convention_counts``, ``cycle_sweep``,
  ``slowdown_table`` as ``xarray.Dataset``s beside the paper's numbers.

Bad input raises :class:`devices.errors.ParameterError` naming the value and the
allowed set.
"""

from .cycles import (
    basisn_cycles,
    basisn_pieces,
    crossover,
    scheduled_basisn_steps,
    slowdown,
    ws_cycles,
    ws_ideal_cycles,
)
from .energy import basisn_energy, edp, tg_area_overhead, ws_energy
from .mapping import CONVENTIONS, PAPER_CROSSBARS_256, MappingConvention, crossbar_count, crossbars_per_layer
from .networks import BIG_NETWORKS, NETWORK_NAMES, SMALL_NETWORKS, Layer, Network, get_network
from .parameters import (
    BLOCK_BASED,
    DEFAULT_AREA,
    DEFAULT_ENERGY,
    NEURRAM_CHIP,
    ROW_BASED,
    AreaModel,
    ChipModel,
    EnergyModel,
    ProgrammingScheme,
)
from .tables import PAPER_TABLE1, circuit_table, convention_counts, cycle_sweep, slowdown_table, table1

__all__ = [
    "Layer", "Network", "get_network", "NETWORK_NAMES", "BIG_NETWORKS", "SMALL_NETWORKS",
    "MappingConvention", "CONVENTIONS", "PAPER_CROSSBARS_256", "crossbar_count", "crossbars_per_layer",
    "ProgrammingScheme", "ROW_BASED", "BLOCK_BASED", "ChipModel", "NEURRAM_CHIP",
    "EnergyModel", "DEFAULT_ENERGY", "AreaModel", "DEFAULT_AREA",
    "ws_cycles", "ws_ideal_cycles", "basisn_cycles", "basisn_pieces", "scheduled_basisn_steps",
    "crossover", "slowdown", "ws_energy", "basisn_energy", "edp", "tg_area_overhead",
    "PAPER_TABLE1", "table1", "circuit_table", "convention_counts", "cycle_sweep", "slowdown_table",
]
