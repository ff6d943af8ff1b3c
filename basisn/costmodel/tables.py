"""The paper's numbers and ours, as ``xarray.Dataset``s with units in ``attrs``.

``PAPER_TABLE1``
    Table 1 of the paper, column by column (fractions, not percent).
``table1(...)``
    Our Table 1 beside the paper's (dim ``network``; ``<column>`` and ``<column>_paper``).
``convention_counts(d=256)``
    Crossbar counts of every mapping convention of :func:`convention_grid` (dims
    ``network``, ``convention``) with the paper's counts.
``cycle_sweep(...)``
    Cycles per inference vs number of crossbars (paper Figs. 7-9) for WS row/block
    reprogramming and BasisN, with the crossover (dims ``network``, ``d``, ``bits``,
    ``n_crossbars``, ``scheme``).
``slowdown_table(...)``
    Paper Fig. 2(a) (dims ``network``, ``scheme``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from devices.errors import ParameterError


from .cycles import (
    basisn_cycles,
    basisn_cycles_from_steps,
    basisn_pieces,
    check_bits,
    crossover,
    scheduled_basisn_steps,
    slowdown,
    ws_cycles,
    ws_ideal_cycles,
)
from .energy import basisn_energy, edp, tg_area_overhead, ws_energy
from .mapping import (
    PAPER_CROSSBARS_256,
    check_crossbar_size,
    check_crossbars,
    convention_grid,
    crossbar_count,
    get_convention,
)
from .networks import BIG_NETWORKS, SMALL_NETWORKS, get_network
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

__all__ = ["PAPER_TABLE1", "table1", "convention_counts", "cycle_sweep", "slowdown_table", "crossbar_grid",
           "schedule_rule_table"]

#: Table 1 of the paper (fractions; "0.113%" is 0.00113). ``ratio_available`` of
#: DenseNet-CIFAR100 is printed as 0.1403 in the paper, but 48/460 = 0.1043: a digit swap.
PAPER_TABLE1 = {
    "software_accuracy": {"densenet121-imagenet": 0.715, "densenet121-cifar100": 0.844, "resnet34-cifar100": 0.7234},
    "crossbars": dict(PAPER_CROSSBARS_256),
    "available": {k: 48 for k in PAPER_CROSSBARS_256},
    "ratio_available": {"densenet121-imagenet": 0.1, "densenet121-cifar100": 0.1403, "resnet34-cifar100": 0.1215},
    "basisn_accuracy": {"densenet121-imagenet": 0.7271, "densenet121-cifar100": 0.8446, "resnet34-cifar100": 0.7222},
    "cycle_ratio_row": {"densenet121-imagenet": 0.00113, "densenet121-cifar100": 0.00114, "resnet34-cifar100": 0.0026},
    "cycle_ratio_block": {"densenet121-imagenet": 0.00946, "densenet121-cifar100": 0.0096, "resnet34-cifar100": 0.022},
    "edp_ratio_row": {"densenet121-imagenet": 0.00075, "densenet121-cifar100": 0.00076, "resnet34-cifar100": 0.00434},
    "edp_ratio_block": {"densenet121-imagenet": 0.00063, "densenet121-cifar100": 0.0064, "resnet34-cifar100": 0.0367},
    "area_overhead": {k: 0.0617 for k in PAPER_CROSSBARS_256},
}

_FRACTION = "1 (fraction)"


def _var(values, dims, units, long_name, **extra):
    return xr.Variable(dims, np.asarray(values), attrs={"units": units, "long_name": long_name, **extra})


def table1(bits: int = 4, convention="bias-row", chip: ChipModel = NEURRAM_CHIP,
           energy: EnergyModel = DEFAULT_ENERGY, area: AreaModel = DEFAULT_AREA,
           row: ProgrammingScheme = ROW_BASED, block: ProgrammingScheme = BLOCK_BASED) -> xr.Dataset:
    """Our Table 1 beside the paper's, for the three benchmarks.

    Parameters
    ----------
    bits : int
        BasisN coefficient bits (the paper does not state them for Table 1; 4 is the
        setting of its Fig. 6 and the best-accuracy setting of the DenseNets).
    convention : str or MappingConvention
        Mapping convention of the WS crossbar count used for the cycle and energy
        columns (the table always shows the ``plain`` count as well).
    chip, energy, area : parameter dataclasses
        ``chip.d`` and ``chip.n_crossbars`` set the crossbar size and count (256, 48).
    row, block : ProgrammingScheme
        The row-based [13] and block-based [12] reprogramming baselines.

    Returns
    -------
    xarray.Dataset
        Dim ``network``; for each column ``c`` the variable ``c`` (ours) and
        ``c_paper``; accuracies only as ``*_paper`` (not computed by this model).
    """
    bits = check_bits(bits)
    conv = get_convention(convention)
    d, m = chip.d, chip.n_crossbars
    nets = list(BIG_NETWORKS)
    cols = {k: [] for k in ("crossbars_plain", "crossbars", "ratio_available", "cycle_ratio_row",
                            "cycle_ratio_block", "edp_ratio_row", "edp_ratio_block",
                            "edp_ratio_row_paper_accounting", "edp_ratio_block_paper_accounting",
                            "cycles_row", "cycles_block", "cycles_basisn",
                            "energy_ws", "energy_basisn", "energy_basisn_paper_accounting")}
    for net in nets:
        n_plain = crossbar_count(net, d, "plain")
        n_best = crossbar_count(net, d, conv)
        c_row = float(ws_cycles(net, d, m, row, conv, chip))
        c_block = float(ws_cycles(net, d, m, block, conv, chip))
        c_b = float(basisn_cycles(net, d, m, bits, chip))
        e_ws = ws_energy(net, d, m, conv, energy)["total"]
        e_b = basisn_energy(net, d, bits, chip, energy, "full")["total"]
        e_bp = basisn_energy(net, d, bits, chip, energy, "paper", conv)["total"]
        vals = {
            "crossbars_plain": n_plain, "crossbars": n_best, "ratio_available": m / n_best,
            "cycle_ratio_row": c_b / c_row, "cycle_ratio_block": c_b / c_block,
            "edp_ratio_row": float(edp(e_b, c_b, energy) / edp(e_ws, c_row, energy)),
            "edp_ratio_block": float(edp(e_b, c_b, energy) / edp(e_ws, c_block, energy)),
            "edp_ratio_row_paper_accounting": float(edp(e_bp, c_b, energy) / edp(e_ws, c_row, energy)),
            "edp_ratio_block_paper_accounting": float(edp(e_bp, c_b, energy) / edp(e_ws, c_block, energy)),
            "cycles_row": c_row, "cycles_block": c_block, "cycles_basisn": c_b,
            "energy_ws": e_ws, "energy_basisn": e_b, "energy_basisn_paper_accounting": e_bp,
        }
        for k, v in vals.items():
            cols[k].append(v)
    overhead = tg_area_overhead(d, chip.tg_sets, area)
    dv = {}
    meta = {
        "crossbars_plain": ("1", f"WS crossbars of {d}x{d}, plain convention"),
        "crossbars": ("1", f"WS crossbars of {d}x{d}, convention {conv.name!r}"),
        "ratio_available": (_FRACTION, "available / needed crossbars"),
        "cycle_ratio_row": (_FRACTION, "BasisN cycles / row-based [13] cycles"),
        "cycle_ratio_block": (_FRACTION, "BasisN cycles / block-based [12] cycles"),
        "edp_ratio_row": (_FRACTION, "BasisN EDP / row-based [13] EDP (full energy model)"),
        "edp_ratio_block": (_FRACTION, "BasisN EDP / block-based [12] EDP (full energy model)"),
        "edp_ratio_row_paper_accounting": (_FRACTION, "EDP ratio to [13], BasisN energy = WS compute + coefficients"),
        "edp_ratio_block_paper_accounting": (_FRACTION, "EDP ratio to [12], BasisN energy = WS compute + coefficients"),
        "cycles_row": ("cycles", "WS cycles per inference, row-based reprogramming"),
        "cycles_block": ("cycles", "WS cycles per inference, block-based reprogramming"),
        "cycles_basisn": ("cycles", "BasisN cycles per inference"),
        "energy_ws": ("J", "WS energy per inference (programming + compute)"),
        "energy_basisn": ("J", "BasisN energy per inference (full model)"),
        "energy_basisn_paper_accounting": ("J", "BasisN energy per inference (paper accounting)"),
    }
    for k, (units, name) in meta.items():
        dv[k] = _var(cols[k], ("network",), units, name)
    dv["available"] = _var([m] * len(nets), ("network",), "1", "crossbars on the chip [5]")
    dv["area_overhead"] = _var([overhead] * len(nets), ("network",), _FRACTION, "TG area / crossbar cell area")
    for k, per_net in PAPER_TABLE1.items():
        units = "1" if k in ("crossbars", "available") else _FRACTION
        dv[f"{k}_paper"] = _var([per_net[n] for n in nets], ("network",), units, f"paper Table 1: {k}")
    return xr.Dataset(dv, coords={"network": nets}, attrs={
        "table_d": d, "table_n_crossbars": m, "table_bits": bits, "table_tg_sets": chip.tg_sets,
        "table_pieces_per_step": chip.parallelism, "table_convention": conv.name,
    })


def convention_counts(d: int = 256) -> xr.Dataset:
    """Crossbar count of every discrete mapping convention, beside the paper's (d = 256).

    Returns
    -------
    xarray.Dataset
        ``crossbars_by_convention`` (dims ``network``, ``convention``), ``abs_error``
        summed over the networks (dim ``convention``), ``crossbars_paper``.
    """
    d = check_crossbar_size(d)
    grid = convention_grid()
    nets = list(BIG_NETWORKS)
    counts = np.array([[crossbar_count(n, d, c) for c in grid] for n in nets], dtype=np.int64)
    paper = np.array([PAPER_CROSSBARS_256[n] for n in nets])
    return xr.Dataset(
        {
            "crossbars_by_convention": (("network", "convention"), counts, {"units": "1", "long_name": f"WS crossbars of {d}x{d}"}),
            "abs_error": (("convention",), np.abs(counts - paper[:, None]).sum(axis=0),
                          {"units": "1", "long_name": "sum over networks of |ours - paper|"}),
            "crossbars_paper": (("network",), paper, {"units": "1", "long_name": "paper Table 1"}),
        },
        coords={"network": nets, "convention": [c.name for c in grid]},
    )


def crossbar_grid(max_crossbars: int, n_points: int = 160, extra=()) -> np.ndarray:
    """Integer crossbar counts 1..max_crossbars, log spaced, plus ``extra`` and ``extra-1``."""
    hi = check_crossbars(max_crossbars, "max_crossbars")
    base = np.unique(np.round(np.logspace(0, np.log10(hi), n_points)).astype(np.int64))
    ex = np.asarray([e for x in extra for e in (x - 1, x) if 1 <= e <= hi], dtype=np.int64)
    return np.unique(np.concatenate([base, ex]))


def sweep_grid(networks, ds, convention="bias-row", max_crossbars: int = 20000) -> np.ndarray:
    """The crossbar counts of :func:`cycle_sweep` for these networks and sizes: log spaced up to
    ``max(max_crossbars, 4 x the largest count needed)``, plus 48 and every count needed (and one less)."""
    conv = get_convention(convention)
    needed = np.array([[crossbar_count(get_network(n).name, check_crossbar_size(d), conv) for d in ds]
                       for n in networks], dtype=np.int64)
    return crossbar_grid(max(max_crossbars, int(needed.max()) * 4), extra=[48, *needed.ravel().tolist()])


def cycle_sweep(networks=BIG_NETWORKS + SMALL_NETWORKS, ds=(64, 128, 256, 512), bits=(1, 2, 3, 4),
                convention="bias-row", chip: ChipModel = NEURRAM_CHIP, max_crossbars: int = 20000,
                seed: int = 0, row: ProgrammingScheme = ROW_BASED,
                block: ProgrammingScheme = BLOCK_BASED, crossbars=None, rule: str = "one_bit") -> xr.Dataset:
    """Cycles per inference vs number of crossbars (paper Figs. 7-9) and the crossover.

    The large networks use the parallelism assumption of ``chip`` (p pieces per step);
    the small ones (:data:`SMALL_NETWORKS`) the BasisN scheduler on codes from
    :func:`scheduled_basisn_steps` (seeded, no contest regularization) with packing
    ``rule`` (``"one_bit"``: the paper's one bit significance per step; ``"mixed"``).

    Returns
    -------
    xarray.Dataset
        ``ws_cycles`` (network, d, scheme, n_crossbars), ``basisn_cycles`` (network, d,
        bits, n_crossbars), ``crossbars_needed`` (network, d), ``crossover`` (network, d,
        bits, scheme; -1 if WS never wins in the sweep), ``pieces_per_step`` (network, d,
        bits), ``ws_ideal_cycles`` (network, d).

    ``crossbars`` (optional) gives the crossbar counts of the sweep; by default
    :func:`sweep_grid` of ``networks``.  Giving the grid of a larger set of networks lets
    one network be computed alone with the numbers it has in the larger sweep.
    """
    nets = [get_network(n).name for n in networks]
    ds = [check_crossbar_size(d) for d in ds]
    bits = [check_bits(b) for b in bits]
    conv = get_convention(convention)
    needed = np.array([[crossbar_count(n, d, conv) for d in ds] for n in nets], dtype=np.int64)
    if crossbars is None:
        m = crossbar_grid(max(max_crossbars, int(needed.max()) * 4), extra=[48, *needed.ravel().tolist()])
    else:
        m = np.asarray(crossbars, dtype=np.int64)
        if m.ndim != 1 or m.size == 0 or (m < 1).any() or (np.diff(m) <= 0).any():
            raise ParameterError("crossbars must be increasing crossbar counts >= 1")
    schemes = [row, block]
    ws = np.zeros((len(nets), len(ds), 2, m.size))
    bn = np.zeros((len(nets), len(ds), len(bits), m.size))
    pps = np.zeros((len(nets), len(ds), len(bits)))
    cross = np.zeros((len(nets), len(ds), len(bits), 2), dtype=np.int64)
    ideal = np.zeros((len(nets), len(ds)), dtype=np.int64)
    for i, net in enumerate(nets):
        small = net in SMALL_NETWORKS
        for j, d in enumerate(ds):
            ideal[i, j] = ws_ideal_cycles(net, d, conv)
            mm = np.arange(1, int(m[-1]) + 1)  # every M up to the top of the grid
            ws_full = [ws_cycles(net, d, mm, s, conv, chip) for s in schemes]
            for s in range(2):
                ws[i, j, s] = ws_full[s][m - 1]
            for k, b in enumerate(bits):
                if small:
                    steps, per_layer_pps = scheduled_basisn_steps(net, d, b, chip.tg_sets, seed=seed, rule=rule)
                    bn_full = basisn_cycles_from_steps(steps, mm)
                    pieces = basisn_pieces(net, d) * b
                    pps[i, j, k] = pieces.sum() / steps.sum() if steps.sum() else 0.0
                else:
                    bn_full = basisn_cycles(net, d, mm, b, chip)
                    pps[i, j, k] = chip.parallelism
                bn[i, j, k] = bn_full[m - 1]
                for s in range(2):
                    cross[i, j, k, s] = crossover(ws_full[s], bn_full, mm)
    return xr.Dataset(
        {
            "ws_cycles": (("network", "d", "scheme", "n_crossbars"), ws,
                          {"units": "cycles", "long_name": "weight-stationary cycles per inference"}),
            "basisn_cycles": (("network", "d", "bits", "n_crossbars"), bn,
                              {"units": "cycles", "long_name": "BasisN cycles per inference"}),
            "crossbars_needed": (("network", "d"), needed,
                                 {"units": "1", "long_name": f"WS crossbars needed ({conv.name})"}),
            "ws_ideal_cycles": (("network", "d"), ideal,
                                {"units": "cycles", "long_name": "WS cycles with enough crossbars"}),
            "crossover": (("network", "d", "bits", "scheme"), cross,
                          {"units": "1", "long_name": "smallest M from which WS is at least as fast as BasisN",
                           "note": "-1: WS slower over the whole sweep"}),
            "pieces_per_step": (("network", "d", "bits"), pps,
                                {"units": "1", "long_name": "kernel pieces per crossbar step (BasisN)",
                                 "note": "big networks: assumption (chip); small: measured by basisn.scheduler"}),
        },
        coords={
            "network": nets, "d": ("d", np.asarray(ds), {"units": "1", "long_name": "crossbar size (rows = cols)"}),
            "bits": ("bits", np.asarray(bits), {"units": "bit", "long_name": "coefficient bits"}),
            "scheme": ["row-based [13]", "block-based [12]"],
            "n_crossbars": ("n_crossbars", m, {"units": "1", "long_name": "crossbars on the chip"}),
        },
        attrs={"sweep_convention": conv.name, "sweep_seed": seed, "sweep_rule": rule},
    )


def schedule_rule_table(networks=SMALL_NETWORKS, ds=(64, 128, 256), bits=(1, 2, 4), K: int | None = None,
                        seed: int = 0, chip: ChipModel = NEURRAM_CHIP) -> xr.Dataset:
    """Crossbar steps per inference and pieces per step under both packing rules.

    ``rule = "one_bit"`` is the paper's schedule (one bit significance per step),
    ``"mixed"`` lets significances share a step.  Codes as :func:`scheduled_basisn_steps`
    (seeded fine-tuning initialisation, no contest regularization); ``K`` defaults to
    ``chip.tg_sets``.

    Returns
    -------
    xarray.Dataset
        ``steps`` and ``pieces_per_step`` (network, d, bits, rule).
    """
    from basisn.scheduler import RULES

    nets = [get_network(n).name for n in networks]
    ds = [check_crossbar_size(d) for d in ds]
    bits = [check_bits(b) for b in bits]
    K = chip.tg_sets if K is None else K
    steps = np.zeros((len(nets), len(ds), len(bits), len(RULES)), dtype=np.int64)
    pps = np.zeros(steps.shape)
    for i, net in enumerate(nets):
        for j, d in enumerate(ds):
            pieces = basisn_pieces(net, d)
            for k, b in enumerate(bits):
                for r, rule in enumerate(RULES):
                    st, _ = scheduled_basisn_steps(net, d, b, K, seed=seed, rule=rule)
                    steps[i, j, k, r] = st.sum()
                    pps[i, j, k, r] = (pieces * b).sum() / st.sum() if st.sum() else 0.0
    return xr.Dataset(
        {"steps": (("network", "d", "bits", "rule"), steps,
                   {"units": "1", "long_name": "crossbar steps per inference (all layers, one crossbar)"}),
         "pieces_per_step": (("network", "d", "bits", "rule"), pps,
                             {"units": "1", "long_name": "kernel-piece bit planes per crossbar step"})},
        coords={"network": nets, "d": np.asarray(ds), "bits": np.asarray(bits), "rule": list(RULES)},
        attrs={"K": K, "seed": seed},
    )


def slowdown_table(networks=BIG_NETWORKS, d: int = 256, m: int = 48, convention="bias-row",
                   chip: ChipModel = NEURRAM_CHIP, row: ProgrammingScheme = ROW_BASED,
                   block: ProgrammingScheme = BLOCK_BASED) -> xr.Dataset:
    """Paper Fig. 2(a): WS cycles on ``m`` crossbars over WS with enough crossbars."""
    nets = [get_network(n).name for n in networks]
    m = check_crossbars(m)
    vals = np.array([[slowdown(n, d, m, s, convention, chip) for s in (row, block)] for n in nets])
    return xr.Dataset(
        {"slowdown": (("network", "scheme"), vals,
                      {"units": "1", "long_name": f"WS cycles on {m} crossbars / WS cycles without reprogramming"})},
        coords={"network": nets, "scheme": ["row-based [13]", "block-based [12]"]},
        attrs={"slowdown_d": d, "slowdown_m": m},
    )
