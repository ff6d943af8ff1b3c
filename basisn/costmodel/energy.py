"""Energy per inference, energy-delay product and TG area overhead.

Weight-stationary (WS), network of ``N`` crossbars on ``M``, layer ``l`` with ``N_l``
blocks and ``P_l`` positions; ``MVM = sum_l P_l N_l`` crossbar reads per inference:

* programming: ``N * d**2 * e_program_cell`` if ``N > M`` (every cell of every block is
  rewritten once per inference), else 0 (written once, amortized);
* reads: ``MVM * d**2 * e_cell_read`` (all cells of a block conduct);
* conversions: ``MVM * d * e_conversion`` (one per column).

BasisN, ``S = sum_l W_l * bits / p`` crossbar steps per inference (``W_l`` pieces, see
:mod:`basisn.costmodel.cycles`):

* reads: ``S * d * (activity * d) * e_cell_read`` (only columns with a closed TG conduct);
* conversions: ``S * p * e_conversion`` (one per used TG set output);
* coefficient loading: ``S * K * d * e_coeff_bit`` (all TG control bits of the K sets).

``accounting="paper"`` follows the paper's description instead ("BasisN needs no
reprogramming ..., only the loading of the control coefficient bits causes a small
amount of energy dissipation"): BasisN energy = WS compute energy + coefficient loading,
WS energy = WS compute energy + programming.

EDP = energy * cycles * ``t_cycle`` (J s). TG overhead = ``K * d * a_tg / (d**2 *
a_cell)`` = ``K * a_tg / (d * a_cell)``.

``ws_energy``, ``basisn_energy`` (dicts of components, J), ``edp``, ``tg_area_overhead``.
"""

from __future__ import annotations

import numpy as np

from devices.errors import ParameterError

from .cycles import basisn_pieces, check_bits
from .mapping import check_crossbar_size, check_crossbars, crossbar_count, crossbars_per_layer
from .networks import get_network
from .parameters import DEFAULT_AREA, DEFAULT_ENERGY, NEURRAM_CHIP, AreaModel, ChipModel, EnergyModel

__all__ = ["ws_energy", "basisn_energy", "edp", "tg_area_overhead", "ACCOUNTINGS"]

#: Allowed values of ``accounting``.
ACCOUNTINGS = ("full", "paper")


def _check_accounting(accounting: str) -> str:
    if accounting not in ACCOUNTINGS:
        raise ParameterError(f"energy accounting = {accounting!r}; allowed {ACCOUNTINGS}")
    return accounting


def ws_mvms(network, d, convention="plain") -> int:
    """Crossbar reads (MVMs) per inference, weight-stationary: ``sum_l P_l N_l``."""
    net = get_network(network)
    n_l = crossbars_per_layer(net, d, convention)
    return int(sum(lay.positions * int(k) for lay, k in zip(net.layers, n_l)))


def ws_energy(network, d, m, convention="plain", energy: EnergyModel = DEFAULT_ENERGY) -> dict:
    """Weight-stationary energy per inference by component (J).

    Returns
    -------
    dict
        ``programming``, ``read``, ``conversion``, ``total`` (J).
    """
    d = check_crossbar_size(d)
    m = check_crossbars(m)
    n = crossbar_count(network, d, convention)
    mvm = ws_mvms(network, d, convention)
    out = {
        "programming": (n * d * d * energy.e_program_cell) if n > m else 0.0,
        "read": mvm * d * d * energy.e_cell_read,
        "conversion": mvm * d * energy.e_conversion,
    }
    out["total"] = out["programming"] + out["read"] + out["conversion"]
    return out


def basisn_energy(network, d, bits, chip: ChipModel = NEURRAM_CHIP, energy: EnergyModel = DEFAULT_ENERGY,
                  accounting: str = "full", convention="plain") -> dict:
    """BasisN energy per inference by component (J).

    Parameters
    ----------
    network : str or Network
    d : int
        Crossbar size.
    bits : int
        Coefficient bits.
    chip : ChipModel
        ``tg_sets`` K and the parallelism p.
    energy : EnergyModel
    accounting : {"full", "paper"}
        See the module docstring.
    convention : str or MappingConvention
        Only for ``accounting="paper"`` (the WS compute energy it reuses).

    Returns
    -------
    dict
        ``read``, ``conversion``, ``coefficients``, ``total`` (J).
    """
    _check_accounting(accounting)
    d = check_crossbar_size(d)
    bits = check_bits(bits)
    pieces = float(basisn_pieces(network, d).sum())
    steps = pieces * bits / chip.parallelism
    coeff = steps * chip.tg_sets * d * energy.e_coeff_bit
    if accounting == "paper":
        ws = ws_energy(network, d, 10**12, convention, energy)
        out = {"read": ws["read"], "conversion": ws["conversion"], "coefficients": coeff}
    else:
        out = {
            "read": steps * d * (energy.basisn_column_activity * d) * energy.e_cell_read,
            "conversion": pieces * bits * energy.e_conversion,
            "coefficients": coeff,
        }
    out["total"] = out["read"] + out["conversion"] + out["coefficients"]
    return out


def edp(energy_j, cycles, energy: EnergyModel = DEFAULT_ENERGY):
    """Energy-delay product ``energy * cycles * t_cycle`` (J s)."""
    return np.asarray(energy_j) * np.asarray(cycles) * energy.t_cycle


def tg_area_overhead(d, tg_sets, area: AreaModel = DEFAULT_AREA) -> float:
    """TG area over crossbar (cell array) area: ``K * a_tg / (d * a_cell)`` (fraction).

    Parameters
    ----------
    d : int
        Crossbar size (d x d cells, d TGs per set).
    tg_sets : int
        K, TG sets per crossbar (>= 1).
    area : AreaModel
    """
    d = check_crossbar_size(d)
    k = check_crossbars(tg_sets, "TG sets K")
    return k * d * area.a_tg / (d * d * area.a_cell)
