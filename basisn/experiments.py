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
``run_protocol(proto, cfg, progress)``
    Runs one data set, returns an ``xarray.Dataset`` (see :func:`run_protocol`).
``run_study(cfg, quick, progress)``
    All data sets concatenated along ``dataset``, with provenance attributes.
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

__all__ = ["Protocol", "StudyConfig", "PENALTIES", "protocols", "run_protocol", "run_study", "network_parallelism"]

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
        for s in self.seeds:
            check_int(s, "seed", 0)
        for b in self.betas:
            if not (np.isfinite(b) and b >= 0):
                raise ParameterError(f"beta = {b!r} is outside the allowed range [0, inf)")
        check_int(self.K, "K", 1)
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


def _store_reg(out, index, accuracy, par):
    out["reg_accuracy"][index] = accuracy
    for name in ("pieces_per_step", "steps_per_inference", "ones_per_coeff", "steps", "steps_lower_bound"):
        out[f"reg_{name}"][index] = par[name]


def _grid_points(proto: Protocol, cfg: StudyConfig):
    for b in cfg.coeff_bits:
        for d in cfg.d_values:
            if proto.grid == "full" or b == cfg.ref_bits or d == cfg.ref_d:
                yield b, d


def run_protocol(proto: Protocol, cfg: StudyConfig, progress: bool = False, bar=None) -> xr.Dataset:
    """Run one data set's protocol (see the module docstring).

    Returns
    -------
    xarray.Dataset
        Dims ``coeff_bits``, ``d``, ``cell_bits``, ``beta``, ``seed``; variables
        ``float_accuracy``, ``init_accuracy``, ``accuracy``, ``pieces_per_step``,
        ``steps_per_inference``, ``cell_accuracy_direct``, ``cell_accuracy``,
        ``reg_accuracy``, ``reg_pieces_per_step``, ``reg_steps_per_inference``,
        ``reg_ones_per_coeff``, ``reg_steps``, ``reg_steps_lower_bound``, ``scratch_accuracy``, each with ``units`` and
        ``description`` attributes.
    """
    data = proto.load()
    nb, nd, nc, nbeta, ns = len(cfg.coeff_bits), len(cfg.d_values), len(cfg.cell_bits), len(cfg.betas), len(cfg.seeds)
    npen = len(PENALTIES)
    nan = lambda *shape: np.full(shape, np.nan)  # noqa: E731
    out = {
        "float_accuracy": nan(ns), "init_accuracy": nan(nb, nd, ns), "accuracy": nan(nb, nd, ns),
        "pieces_per_step": nan(nb, nd, ns), "steps_per_inference": nan(nb, nd, ns),
        "cell_accuracy_direct": nan(nc, ns), "cell_accuracy": nan(nc, ns),
        "reg_accuracy": nan(npen, nbeta, ns), "reg_pieces_per_step": nan(npen, nbeta, ns),
        "reg_steps_per_inference": nan(npen, nbeta, ns), "reg_ones_per_coeff": nan(npen, nbeta, ns),
        "reg_steps": nan(npen, nbeta, ns), "reg_steps_lower_bound": nan(npen, nbeta, ns),
        "scratch_accuracy": nan(ns),
    }
    xt, yt = data.x_test, data.y_test

    def tick(msg):
        if bar is not None:
            bar.set_postfix_str(f"{proto.name} {msg}", refresh=False)
            bar.update(1)

    ib_ref, id_ref = cfg.coeff_bits.index(cfg.ref_bits), cfg.d_values.index(cfg.ref_d)
    for k, seed in enumerate(cfg.seeds):
        fnet = proto.build_float(np.random.default_rng(seed))
        train_float(fnet, data, replace(proto.float_cfg, seed=seed))
        out["float_accuracy"][k] = evaluate(fnet, xt, yt)
        tick("float")
        ref_net = None
        for b, d in _grid_points(proto, cfg):
            i, j = cfg.coeff_bits.index(b), cfg.d_values.index(d)
            net = basis_from_float(fnet, BasisConfig(d, b), np.random.default_rng(1000 + seed))
            out["init_accuracy"][i, j, k] = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
            train_alternating(net, data, replace(proto.finetune_cfg, seed=seed, beta=0.0))
            out["accuracy"][i, j, k] = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
            par = network_parallelism(net, cfg.K)
            out["pieces_per_step"][i, j, k] = par["pieces_per_step"]
            out["steps_per_inference"][i, j, k] = par["steps_per_inference"]
            if (i, j) == (ib_ref, id_ref):
                ref_net = net
                ib0 = cfg.betas.index(0.0)  # beta = 0: the same run for every penalty
                _store_reg(out, (slice(None), ib0, k), out["accuracy"][i, j, k], par)
            tick(f"b={b} d={d}")
        for c_i, c in enumerate(cfg.cell_bits):
            net = copy.deepcopy(ref_net)
            net.set_cell_bits(c)
            out["cell_accuracy_direct"][c_i, k] = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
            train_alternating(net, data, replace(proto.cell_cfg, seed=seed))
            out["cell_accuracy"][c_i, k] = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
            tick(f"cell={c}")
        for pi, pen in enumerate(PENALTIES):
            power, density = (1.0, 0.0) if pen == "ones" else (cfg.contest_power, cfg.contest_density)
            for bi, beta in enumerate(cfg.betas):
                if beta == 0.0:
                    continue
                net = basis_from_float(fnet, BasisConfig(cfg.ref_d, cfg.ref_bits), np.random.default_rng(1000 + seed))
                train_alternating(net, data, replace(proto.finetune_cfg, seed=seed, beta=beta, sigma=cfg.sigma,
                                                     contest_power=power, contest_density=density))
                acc = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
                _store_reg(out, (pi, bi, k), acc, network_parallelism(net, cfg.K))
                tick(f"{pen} beta={beta}")
        net = proto.build_basis(BasisConfig(cfg.ref_d, cfg.ref_bits), np.random.default_rng(2000 + seed))
        train_alternating(net, data, replace(proto.scratch_cfg, seed=seed))
        out["scratch_accuracy"][k] = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
        tick("scratch")

    dims = {
        "float_accuracy": ("seed",), "scratch_accuracy": ("seed",),
        "cell_accuracy_direct": ("cell_bits", "seed"), "cell_accuracy": ("cell_bits", "seed"),
    }
    for name in ("init_accuracy", "accuracy", "pieces_per_step", "steps_per_inference"):
        dims[name] = ("coeff_bits", "d", "seed")
    for name in ("reg_accuracy", "reg_pieces_per_step", "reg_steps_per_inference", "reg_ones_per_coeff",
                 "reg_steps", "reg_steps_lower_bound"):
        dims[name] = ("penalty", "beta", "seed")
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
        {name: (dims[name], out[name], {"units": meta[name][0], "description": meta[name][1]}) for name in out},
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
            "seed": ("seed", np.array(cfg.seeds), {"units": "1"}),
        },
    )
    ds.attrs.update({f"{proto.name}_model": proto.model, f"{proto.name}_grid": proto.grid,
                     f"{proto.name}_n_train": int(len(data.y_train)), f"{proto.name}_n_test": int(len(yt))})
    return ds


def count_runs(proto: Protocol, cfg: StudyConfig) -> int:
    """Number of progress ticks :func:`run_protocol` makes."""
    per_seed = 1 + len(list(_grid_points(proto, cfg))) + len(cfg.cell_bits) + len(PENALTIES) * (len(cfg.betas) - 1) + 1
    return per_seed * len(cfg.seeds)


def run_study(cfg: StudyConfig, quick: bool, progress: bool = True, only=None) -> xr.Dataset:
    """Run every protocol and concatenate along ``dataset``.

    Parameters
    ----------
    cfg : StudyConfig
    quick : bool
        Short protocols (see :func:`protocols`).
    progress : bool
        tqdm bar over all runs.
    only : sequence of str, optional
        Data set names to run (default: all).
    """
    protos = [p for p in protocols(quick) if only is None or p.name in only]
    if not protos:
        raise ParameterError(f"only = {only!r} selects no data set; allowed: 'digits', 'mnist1d'")
    total = sum(count_runs(p, cfg) for p in protos)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="BasisN accuracy study", unit="run")
    try:
        parts = [run_protocol(p, cfg, bar=bar) for p in protos]
    finally:
        if bar is not None:
            bar.close()
    attrs = {}
    for p in parts:
        attrs.update(p.attrs)
    ds = xr.concat(parts, dim="dataset", combine_attrs="override")  # variable attrs are equal
    ds = ds.assign_coords(dataset=("dataset", [p.name for p in protos], {"units": ""}))
    ds.attrs = attrs
    ds.attrs.update({
        "K": cfg.K, "ref_d": cfg.ref_d, "ref_bits": cfg.ref_bits, "sigma": cfg.sigma, "quick": int(quick),
        "contest_power": cfg.contest_power, "contest_density": cfg.contest_density,
        "accuracy_units_note": "accuracies are fractions 0-1 of the fixed test split",
    })
    return ds
