"""The accuracy protocols behind ``studies/basisn_accuracy.py`` (paper figs. 5 and 6).

``Protocol``
    Everything that is specific to one data set: loader, float and BasisN builders,
    epochs and learning rates, and which ``(coeff_bits, d)`` points to run.
``StudyConfig``
    The sweep: coefficient bits, crossbar sizes, cell bits, regularizer weights, seeds,
    K TG sets, the reference point ``(ref_d, ref_bits)``.
``protocols(quick)``
    The digits-MLP and MNIST-1D-CNN protocols (``quick`` = shorter training, and for
    MNIST-1D only a cross through the grid).
``run_seed(proto, cfg, seed)``
    One data set and one seed, as an ``xarray.Dataset`` (see :func:`run_seed`).
``run_protocol(proto, cfg)``
    One data set, every seed (``xr.concat`` of :func:`run_seed` along ``seed``).
``run_study(cfg, quick, out, ...)``
    All data sets through the study engine (:mod:`basisn.accuracy_study`: one task per
    (data set, seed), serial, processes or Dask, combined with ``xr.concat``).
``network_parallelism(net, K)``
    Sum over layers of the scheduler's items and steps.

Per seed and data set the protocol is:

1. train the float network (baseline);
2. for every ``(coeff_bits, d)``: fine-tuning initialisation ``C = quantize(W_piece @
   inv(B))`` (accuracy recorded as ``init_accuracy``), Algorithm 1 fine-tuning, test
   accuracy through the ideal crossbar (bit-serial path), scheduler parallelism;
3. cell bits: the reference model (``ref_bits``, ``ref_d``) with its basis quantized to
   ``c`` bits per cell, evaluated at once (``cell_accuracy_direct``) and after one
   Algorithm 1 cycle with the quantized basis (``cell_accuracy``);
4. contest regularizer: the reference point fine-tuned with each ``beta``, once with each
   penalty of :data:`PENALTIES` (the paper's count of 1 bits, and the column-balanced
   penalty with ``cfg.contest_power`` and ``cfg.contest_density``);
5. the reference point trained from scratch.

Accuracies are fractions (0-1). Entries a protocol does not run are NaN and say so in
the variable's ``description`` attribute.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import xarray as xr

from devices.errors import ParameterError

from ._checks import check_bits, check_d, check_int, check_positive
from .data import Dataset, load_digits, load_mnist1d
from .layers import BasisConfig, basis_from_float
from .models import basis_cnn1d, basis_mlp, cnn1d, mlp
from .regularizer import check_power, count_ones
from .scheduler import schedule_layer
from .training import AlternatingConfig, TrainConfig, evaluate, train_alternating, train_float

__all__ = ["Protocol", "StudyConfig", "PENALTIES", "DATASETS", "protocols", "run_seed", "run_protocol", "run_study",
           "network_parallelism", "count_runs"]

DATASETS = ("digits", "mnist1d")
"""Data sets of the study, in archive order."""

SEED_MAX = 2**63 - 1 - 2000
"""Largest seed: seeds ``seed``, ``1000 + seed`` and ``2000 + seed`` are stored as int64."""

PENALTIES = ("ones", "balanced")
"""Regularizer variants of the study (coordinate ``penalty``): ``"ones"`` = the paper's
count of 1 bits (``power = 1``, ``density = 0``); ``"balanced"`` = power mean of the
column loads plus the pattern-density term (:func:`basisn.regularizer.contest_penalty`)."""


@dataclass(frozen=True)
class StudyConfig:
    """The sweep of the accuracy study."""

    coeff_bits: tuple = (1, 2, 3, 4, 5, 6)
    """Coefficient bit widths (each 1-16)."""
    d_values: tuple = (8, 16, 32, 64)
    """Crossbar sizes (each >= 1)."""
    cell_bits: tuple = (1, 2, 3, 4, 5, 6)
    """Bits per RRAM cell for the basis (each 1-16)."""
    betas: tuple = (0.0, 0.3, 1.0, 3.0, 10.0)
    """Contest regularizer weights (>= 0); 0 is the unregularized reference."""
    seeds: tuple = (0,)
    """Seeds (float model, basis, batch order)."""
    K: int = 4
    """TG sets per crossbar for the scheduler."""
    ref_d: int = 16
    """Crossbar size of the cell-bit, regularizer and from-scratch runs."""
    ref_bits: int = 4
    """Coefficient bits of those runs."""
    sigma: float = 0.5
    """Smoothing of the regularizer surrogate (codes)."""
    contest_power: float = 16.0
    """Column power-mean exponent of the ``"balanced"`` penalty (1-64)."""
    contest_density: float = 0.5
    """Pattern-density weight of the ``"balanced"`` penalty (>= 0)."""

    def __post_init__(self):
        for b in self.coeff_bits:
            check_bits(b, "coeff_bits")
        for b in self.cell_bits:
            check_bits(b, "cell_bits")
        for d in self.d_values:
            check_d(d)
        if not self.seeds:
            raise ParameterError("seeds must list at least one seed")
        for s in self.seeds:
            check_int(s, "seed", 0, SEED_MAX)
        if len(set(self.seeds)) != len(self.seeds):
            raise ParameterError(f"seeds = {self.seeds} lists a seed twice")
        for b in self.betas:
            check_positive(b, "beta", allow_zero=True)
        check_int(self.K, "K", 1, 1024)
        check_power(self.contest_power)
        check_positive(self.contest_density, "contest_density", allow_zero=True)
        if self.ref_d not in self.d_values or self.ref_bits not in self.coeff_bits:
            raise ParameterError(
                f"reference point (ref_bits={self.ref_bits}, ref_d={self.ref_d}) must be in the grid "
                f"coeff_bits={self.coeff_bits}, d_values={self.d_values}"
            )
        if 0.0 not in self.betas:
            raise ParameterError(f"betas = {self.betas} must include 0 (the unregularized reference)")


@dataclass(frozen=True)
class Protocol:
    """One data set's training recipe."""

    name: str
    """Data set name (coordinate value of ``dataset``)."""
    load: Callable[[], Dataset]
    """Returns the data set (fixed split)."""
    build_float: Callable
    """``rng -> Sequential`` float network."""
    build_basis: Callable
    """``(BasisConfig, rng) -> BasisNetwork`` for training from scratch."""
    model: str
    """Human-readable architecture."""
    float_cfg: TrainConfig
    """Float training."""
    finetune_cfg: AlternatingConfig
    """Algorithm 1 fine-tuning from the float model (beta is set per run)."""
    scratch_cfg: AlternatingConfig
    """Algorithm 1 from scratch."""
    cell_cfg: AlternatingConfig
    """Short Algorithm 1 run after quantizing the basis to cell levels."""
    grid: str = "full"
    """``"full"``: every (coeff_bits, d); ``"cross"``: coeff_bits at ref_d and d at ref_bits."""


def protocols(quick: bool) -> list[Protocol]:
    """The digits MLP and MNIST-1D CNN protocols."""
    f = 1 if quick else 2
    alt = dict(t_coeffs=4, t_basis=1, eta_coeffs=5e-4, eta_basis=5e-5, lr_decay=0.95)
    digits = Protocol(
        name="digits", load=load_digits,
        build_float=lambda rng: mlp((64, 128, 64, 10), rng),
        build_basis=lambda cfg, rng: basis_mlp((64, 128, 64, 10), cfg, rng),
        model="MLP 64-128-64-10",
        float_cfg=TrainConfig(epochs=40 * f, lr=3e-3, lr_decay=0.95 ** (1 / f)),
        finetune_cfg=AlternatingConfig(epochs=20 * f, **alt),
        scratch_cfg=AlternatingConfig(epochs=60 * f, t_coeffs=4, t_basis=1, eta_coeffs=3e-3, eta_basis=3e-4,
                                      lr_decay=0.96),
        cell_cfg=AlternatingConfig(epochs=5, **alt),
        grid="full",
    )
    m1d_alt = dict(alt, batch_size=64)
    mnist1d = Protocol(
        name="mnist1d", load=lambda: load_mnist1d().as_images(1, 40),
        build_float=lambda rng: cnn1d(rng, length=40, channels=(32, 32)),
        build_basis=lambda cfg, rng: basis_cnn1d(cfg, rng, length=40, channels=(32, 32)),
        model="CNN conv(1x5,32)-pool-conv(1x5,32)-pool-dense(320-10)",
        float_cfg=TrainConfig(epochs=30 * f, lr=3e-3, lr_decay=0.95 ** (1 / f), batch_size=64),
        finetune_cfg=AlternatingConfig(epochs=10 * f, **m1d_alt),
        scratch_cfg=AlternatingConfig(epochs=30 * f, t_coeffs=4, t_basis=1, eta_coeffs=3e-3, eta_basis=3e-4,
                                      lr_decay=0.95, batch_size=64),
        cell_cfg=AlternatingConfig(epochs=5, **m1d_alt),
        grid="cross" if quick else "full",
    )
    return [digits, mnist1d]


def network_parallelism(net, K: int) -> dict:
    """Schedule every BasisN layer of ``net`` and sum.

    Parameters
    ----------
    net : BasisNetwork
        After at least one forward pass (convolutions need their output size).
    K : int
        TG sets per crossbar.

    Returns
    -------
    dict
        ``items`` (nonzero patterns per input vector, summed over layers), ``steps``
        (crossbar steps per input vector, summed), ``pieces_per_step = items / steps``,
        ``steps_per_inference`` (sum of ``steps * positions``: one crossbar, one sample),
        ``steps_lower_bound`` (sum of the layers' :attr:`Schedule.lower_bound`, per input
        vector), ``ones_per_coeff`` (mean 1 bits per coefficient code).
    """
    items = steps = per_inf = lower = 0
    for layer in net.basis_layers():
        pos = getattr(layer, "positions", 1)
        if pos is None:
            raise ParameterError(f"{type(layer).__name__} has not seen an input yet; run net.forward once so its "
                                 "output size (input vectors per sample) is known")
        s = schedule_layer(layer.core.planes(), layer.core.d, K, positions=pos)
        items += s.n_items
        steps += s.n_steps
        per_inf += s.steps_per_inference
        lower += s.lower_bound
    n = sum(c.C.value.size for c in net.cores())
    return {"items": items, "steps": steps, "pieces_per_step": items / steps if steps else 0.0,
            "steps_per_inference": per_inf, "steps_lower_bound": lower, "ones_per_coeff": count_ones(net) / n}


def _grid_points(proto: Protocol, cfg: StudyConfig):
    for b in cfg.coeff_bits:
        for d in cfg.d_values:
            if proto.grid == "full" or b == cfg.ref_bits or d == cfg.ref_d:
                yield b, d


_PAR = ("pieces_per_step", "steps_per_inference", "ones_per_coeff", "steps", "steps_lower_bound")


def run_seed(proto: Protocol, cfg: StudyConfig, seed: int, data: Dataset | None = None) -> xr.Dataset:
    """Run one data set's protocol (see the module docstring) for one seed.

    Parameters
    ----------
    proto : Protocol
    cfg : StudyConfig
    seed : int
        Seed of the float model, the basis and the batch order.
    data : basisn.data.Dataset, optional
        The loaded data set (default: ``proto.load()``).

    Returns
    -------
    xarray.Dataset
        Dims ``coeff_bits``, ``d``, ``cell_bits``, ``penalty``, ``beta``, ``seed`` (length 1);
        variables ``float_accuracy``, ``init_accuracy``, ``accuracy``, ``pieces_per_step``,
        ``steps_per_inference``, ``cell_accuracy_direct``, ``cell_accuracy``,
        ``reg_accuracy``, ``reg_pieces_per_step``, ``reg_steps_per_inference``,
        ``reg_ones_per_coeff``, ``reg_steps``, ``reg_steps_lower_bound``, ``scratch_accuracy``,
        each with ``units`` and ``description`` attributes.
    """
    data = proto.load() if data is None else data
    xt, yt = data.x_test, data.y_test
    fnet = proto.build_float(np.random.default_rng(seed))
    train_float(fnet, data, replace(proto.float_cfg, seed=seed))
    float_accuracy = evaluate(fnet, xt, yt)
    grid, reg = {}, {}  # (coeff_bits, d) -> results; (penalty, beta) -> results
    ref_net = None
    for b, d in _grid_points(proto, cfg):
        net = basis_from_float(fnet, BasisConfig(d, b), np.random.default_rng(1000 + seed))
        init = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
        train_alternating(net, data, replace(proto.finetune_cfg, seed=seed, beta=0.0))
        par = network_parallelism(net, cfg.K)
        grid[(b, d)] = dict(par, init_accuracy=init, accuracy=evaluate(net, xt, yt, crossbar=net.ideal_crossbar()))
        if (b, d) == (cfg.ref_bits, cfg.ref_d):
            ref_net = net
            for pen in PENALTIES:  # beta = 0: the same run for every penalty
                reg[(pen, 0.0)] = dict(par, accuracy=grid[(b, d)]["accuracy"])
    cells = []
    for c in cfg.cell_bits:
        net = copy.deepcopy(ref_net)
        net.set_cell_bits(c)
        direct = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
        train_alternating(net, data, replace(proto.cell_cfg, seed=seed))
        cells.append((direct, evaluate(net, xt, yt, crossbar=net.ideal_crossbar())))
    for pen in PENALTIES:
        power, density = (1.0, 0.0) if pen == "ones" else (cfg.contest_power, cfg.contest_density)
        for beta in cfg.betas:
            if beta == 0.0:
                continue
            net = basis_from_float(fnet, BasisConfig(cfg.ref_d, cfg.ref_bits), np.random.default_rng(1000 + seed))
            train_alternating(net, data, replace(proto.finetune_cfg, seed=seed, beta=beta, sigma=cfg.sigma,
                                                 contest_power=power, contest_density=density))
            acc = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
            reg[(pen, float(beta))] = dict(network_parallelism(net, cfg.K), accuracy=acc)
    net = proto.build_basis(BasisConfig(cfg.ref_d, cfg.ref_bits), np.random.default_rng(2000 + seed))
    train_alternating(net, data, replace(proto.scratch_cfg, seed=seed))
    scratch = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
    return _seed_dataset(proto, cfg, seed, data, float_accuracy, grid, cells, reg, scratch)


def _seed_dataset(proto, cfg, seed, data, float_accuracy, grid, cells, reg, scratch) -> xr.Dataset:
    """The results of :func:`run_seed` as a Dataset (NaN for grid points the protocol skips)."""
    nan = float("nan")

    def on_grid(field):
        return [[[grid.get((b, d), {}).get(field, nan)] for d in cfg.d_values] for b in cfg.coeff_bits]

    def on_reg(field):
        return [[[reg[(pen, float(beta))][field]] for beta in cfg.betas] for pen in PENALTIES]

    values = {
        "float_accuracy": ("seed", [float_accuracy]),
        "init_accuracy": (("coeff_bits", "d", "seed"), on_grid("init_accuracy")),
        "accuracy": (("coeff_bits", "d", "seed"), on_grid("accuracy")),
        "pieces_per_step": (("coeff_bits", "d", "seed"), on_grid("pieces_per_step")),
        "steps_per_inference": (("coeff_bits", "d", "seed"), on_grid("steps_per_inference")),
        "cell_accuracy_direct": (("cell_bits", "seed"), [[c[0]] for c in cells]),
        "cell_accuracy": (("cell_bits", "seed"), [[c[1]] for c in cells]),
        "reg_accuracy": (("penalty", "beta", "seed"), on_reg("accuracy")),
        **{f"reg_{p}": (("penalty", "beta", "seed"), on_reg(p)) for p in _PAR},
        "scratch_accuracy": ("seed", [scratch]),
    }
    ref = f"coeff_bits={cfg.ref_bits}, d={cfg.ref_d}"
    missing = " NaN where the protocol did not run the point." if proto.grid != "full" else ""
    meta = {
        "float_accuracy": ("1", "test accuracy of the float network"),
        "init_accuracy": ("1", "BasisN accuracy right after C = quantize(W_piece @ inv(B)), before fine-tuning" + missing),
        "accuracy": ("1", "BasisN accuracy after Algorithm 1 fine-tuning, through the ideal crossbar (bit-serial)" + missing),
        "pieces_per_step": ("1", f"scheduled TG patterns per crossbar step (K={cfg.K}), all layers" + missing),
        "steps_per_inference": ("1", f"crossbar steps per sample on one crossbar (K={cfg.K}), all layers" + missing),
        "cell_accuracy_direct": ("1", f"reference model ({ref}) with the basis quantized to cell_bits, no retraining"),
        "cell_accuracy": ("1", f"reference model ({ref}) with the basis quantized to cell_bits, after one Algorithm 1 cycle"),
        "reg_accuracy": ("1", f"fine-tuned at {ref} with the contest regularizer (penalty, weight beta)"),
        "reg_pieces_per_step": ("1", f"scheduled TG patterns per crossbar step (K={cfg.K}) with regularizer beta"),
        "reg_steps_per_inference": ("1", f"crossbar steps per sample (K={cfg.K}) with regularizer beta"),
        "reg_ones_per_coeff": ("1", "mean number of 1 bits per coefficient code"),
        "reg_steps": ("1", f"crossbar steps per input vector summed over layers (K={cfg.K}) with regularizer beta"),
        "reg_steps_lower_bound": ("1", "sum over layers of the scheduler's lower bound on reg_steps"),
        "scratch_accuracy": ("1", f"BasisN trained from scratch with Algorithm 1 at {ref}"),
    }
    ds = xr.Dataset(
        {name: (dims, np.asarray(v, dtype=float), {"units": meta[name][0], "description": meta[name][1]})
         for name, (dims, v) in values.items()},
        coords={
            "coeff_bits": ("coeff_bits", np.array(cfg.coeff_bits), {"units": "bit"}),
            "d": ("d", np.array(cfg.d_values), {"units": "1", "description": "crossbar size (rows = columns)"}),
            "cell_bits": ("cell_bits", np.array(cfg.cell_bits), {"units": "bit"}),
            "beta": ("beta", np.array(cfg.betas, dtype=float), {"units": "1", "description": "regularizer weight"}),
            "penalty": ("penalty", list(PENALTIES), {
                "units": "",
                "description": "regularizer variant: 'ones' = count of 1 bits (paper 3.5); 'balanced' = "
                               f"column-load power mean (power={cfg.contest_power:g}) + pattern density "
                               f"(density={cfg.contest_density:g}); beta=0 is the same run for both"}),
            "seed": ("seed", np.array([seed]), {"units": "1"}),
        },
    )
    ds.attrs.update({f"{proto.name}_model": proto.model, f"{proto.name}_grid": proto.grid,
                     f"{proto.name}_n_train": int(len(data.y_train)), f"{proto.name}_n_test": int(len(data.y_test))})
    return ds


def run_protocol(proto: Protocol, cfg: StudyConfig) -> xr.Dataset:
    """One data set, every seed of ``cfg``: :func:`run_seed` concatenated along ``seed``."""
    data = proto.load()
    return xr.concat([run_seed(proto, cfg, s, data) for s in cfg.seeds], dim="seed", combine_attrs="override")


def count_runs(proto: Protocol, cfg: StudyConfig) -> int:
    """Number of training runs of one seed of :func:`run_seed` (float, grid, cell bits, regularizer, scratch)."""
    return 1 + len(list(_grid_points(proto, cfg))) + len(cfg.cell_bits) + len(PENALTIES) * (len(cfg.betas) - 1) + 1


def run_study(cfg: StudyConfig, quick: bool, out, **kwargs) -> xr.Dataset:
    """Run every protocol through the study engine and write the archive ``out``
    (see :func:`basisn.accuracy_study.run_study`)."""
    from basisn.accuracy_study import run_study as run

    return run(cfg, quick, out, **kwargs)
