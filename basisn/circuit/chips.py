"""Training chip, evaluation chips and the trained model: the honest evaluation protocol.

A result on hardware names the chip it was measured on. Feedback training measures one
*training chip*; accuracies are reported on separate *evaluation chips*, each a fresh
write of the trained network (own programming residuals, own stuck cells and drift
exponents, own read noise) through the same readout and the same calibration step.

``training_chip(preset, seed)`` / ``evaluation_chips(preset, seed, n)``
    The chip presets (different ``chip_seed``; evaluation seeds never collide with
    training seeds below :data:`EVAL_CHIP_OFFSET`).
``write_network(net, preset, write=0, t=None)``
    Write ``net``'s basis into a chip (write index ``write``), drifted to ``t`` seconds.
``chip_accuracy(net, chip, x, y, x_cal, readout, noise_seed)``
    Calibrate the readout on ``x_cal`` (the post-programming step), then evaluate.
``evaluate_fresh_chip(net, preset, chip_seed, x, y, x_cal, ...)``
    The public re-evaluation: a fresh chip, optionally read after drift with or without
    recalibration; returns accuracy and the calibration's read cycles.
``model_variables(net, name)`` / ``load_model(ds, dataset, seed, preset, stage)``
    The trained model (basis, coefficient codes, scales, biases) as archive variables,
    and a network rebuilt from them (:mod:`basisn.experiments` architecture).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from basisn.training import evaluate
from devices import Readout
from devices.errors import ArchiveError, ParameterError

from .crossbars import CircuitCrossbar
from .mapping import map_basis
from .measure import ChipSystem, chip_system
from .preset import HardwarePreset
from .readout import ChipReadout

__all__ = ["EVAL_CHIP_OFFSET", "training_chip", "evaluation_chips", "write_network", "chip_accuracy",
           "evaluate_fresh_chip", "model_variables", "load_model", "STAGES"]

EVAL_CHIP_OFFSET = 1_000_000
"""Evaluation chip seeds start here (training chips use ``chip_seed + seed``, far below)."""
STAGES = ("basisn", "feedback")
"""Archived models: after ideal-hardware BasisN training, and after feedback."""


def training_chip(preset: HardwarePreset, seed: int) -> HardwarePreset:
    """The chip feedback trains on for training seed ``seed``: ``chip_seed + seed``."""
    return dataclasses.replace(preset, chip_seed=preset.chip_seed + int(seed))


def evaluation_chips(preset: HardwarePreset, seed: int, n: int) -> list[HardwarePreset]:
    """``n`` evaluation chips for training seed ``seed`` (none is a training chip).

    Raises
    ------
    ParameterError
        ``n`` < 1 or > 1000, or a seed >= 1000.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 1000:
        raise ParameterError(f"the number of evaluation chips must be an integer in [1, 1000], got {n!r}")
    if not 0 <= seed < 1000:
        raise ParameterError(f"training seed must be in [0, 1000) for distinct evaluation chips, got {seed!r}")
    base = preset.chip_seed + EVAL_CHIP_OFFSET + 1000 * int(seed)
    return [dataclasses.replace(preset, chip_seed=base + e) for e in range(int(n))]


def write_network(net, preset: HardwarePreset, write: int = 0, t: float | None = None) -> ChipSystem:
    """Write ``net``'s (effective) basis into chip ``preset`` as write ``write``, read ``t`` s after programming."""
    m = map_basis(net.basis.effective(), preset, write=write)
    if t is not None:
        m = m.at_time(t)
    return chip_system(m)


def chip_accuracy(net, chip: ChipSystem, x, y, x_cal, readout: Readout, noise_seed, read_sigma=None,
                  keep_reference: bool = False):
    """Calibrate ``readout`` on ``x_cal`` and evaluate ``net`` on ``(x, y)`` through ``chip``.

    Returns
    -------
    acc : float
        Accuracy, 0-1.
    hook : ChipReadout
        The calibrated readout (full scales, ``calibration_reads``, ``reads``).
    """
    hook = ChipReadout(CircuitCrossbar(chip), chip.mapping, readout, noise_seed, read_sigma=read_sigma)
    hook.calibrate(net, x_cal, keep_reference=keep_reference)
    return evaluate(net, x, y, crossbar=hook), hook


def evaluate_fresh_chip(net, preset: HardwarePreset, chip_seed: int, x, y, x_cal, *, write: int = 0,
                        t: float | None = None, recalibrate: bool = False, readout: Readout | None = None,
                        noise: int = 0, read_noise: bool = True) -> dict:
    """Accuracy of ``net`` on a fresh chip (``preset`` with ``chip_seed``), as the study evaluates it.

    The basis is written (write ``write``), the readout calibrated on ``x_cal`` right after
    programming (at the cell's ``drift_t0``); with ``t`` the chip is read ``t`` seconds
    after programming, with the full scales of the first calibration or, with
    ``recalibrate``, re-calibrated (full scales and one digital gain per partition against
    the outputs recorded after programming). ``noise`` selects the read-noise draws;
    ``read_noise=False`` reads exactly.

    Returns
    -------
    dict
        ``accuracy`` (0-1), ``calibration_reads`` (crossbar steps x input rows spent on
        calibration), ``chip_seed``, ``t`` (s).

    Notes
    -----
    Typical use: ``net = load_model(ds, "digits", seed=0, preset="neurram")``, then
    ``evaluate_fresh_chip(net, get_preset("neurram"), 123, x_test, y_test, x_train[:64])``
    (tested in ``tests/chips/test_protocol.py``).
    """
    preset = dataclasses.replace(preset, chip_seed=int(chip_seed))
    readout = preset.readout if readout is None else readout
    chip = write_network(net, preset, write=write)
    seed = (int(chip_seed), int(write), int(noise))
    rs = None if read_noise else 0.0
    acc, hook = chip_accuracy(net, chip, x, y, x_cal, readout, seed, read_sigma=rs, keep_reference=t is not None)
    out = {"accuracy": acc, "calibration_reads": hook.calibration_reads, "chip_seed": int(chip_seed),
           "t": float(preset.cell.drift_t0)}
    if t is None:
        return out
    chip_t = chip_system(chip.mapping.at_time(t))
    hook_t = ChipReadout(CircuitCrossbar(chip_t), chip_t.mapping, readout, seed + (1,), read_sigma=rs)
    if recalibrate:
        hook_t.recalibrate(net, x_cal, hook.reference)
    else:
        hook_t.full_scale = dict(hook.full_scale)
    out.update(accuracy=evaluate(net, x, y, crossbar=hook_t), t=float(t),
               calibration_reads=hook.calibration_reads + hook_t.calibration_reads)
    return out


# ---------------------------------------------------------------------- model archive
def model_variables(nets: dict, name: str) -> dict:
    """Archive variables of trained models: ``nets[(seed, preset, stage)] -> BasisNetwork``.

    For data set ``name``: ``model_<name>_basis`` (seed, preset, stage, basis_row,
    basis_col) and per BasisN layer ``c``: ``model_<name>_L<c>_codes`` (..., out, part,
    basis_col; int), ``_scale`` (seed, preset, stage) and ``_bias`` (..., out). Missing
    entries are NaN (codes: 0 with ``_scale`` NaN).
    """
    seeds = sorted({k[0] for k in nets})
    presets = list(dict.fromkeys(k[1] for k in nets))
    stages = list(STAGES)
    any_net = next(iter(nets.values()))
    cores = any_net.cores()
    d = any_net.d
    sh = (len(seeds), len(presets), len(stages))
    out = {}
    B = np.full(sh + (d, d), np.nan)
    codes = [np.zeros(sh + (c.n_out, c.parts, d), np.int16) for c in cores]
    scale = [np.full(sh, np.nan) for _ in cores]
    bias = [np.full(sh + (c.n_out,), np.nan) for c in cores]
    for (s, p, st), net in nets.items():
        ix = (seeds.index(s), presets.index(p), stages.index(st))
        B[ix] = net.basis.B.value
        for c, core in enumerate(net.cores()):
            codes[c][ix] = core.codes()
            scale[c][ix] = core.scale
            bias[c][ix] = core.b.value
    lead = ("seed", "preset", "stage")
    out[f"model_{name}_basis"] = xr.DataArray(B, dims=lead + ("basis_row", "basis_col"), attrs={
        "units": "1", "description": f"{name}: trained basis B (rows = basis vectors), weight units"})
    for c, core in enumerate(cores):
        dims = lead + (f"{name}_L{c}_out", f"{name}_L{c}_part", "basis_col")
        out[f"model_{name}_L{c}_codes"] = xr.DataArray(codes[c], dims=dims, attrs={
            "units": "1", "description": f"{name} BasisN layer {c}: coefficient codes (two's complement)"})
        out[f"model_{name}_L{c}_scale"] = xr.DataArray(scale[c], dims=lead, attrs={
            "units": "1", "description": f"{name} BasisN layer {c}: coefficient step s (weight units per code)"})
        out[f"model_{name}_L{c}_bias"] = xr.DataArray(bias[c], dims=lead + (f"{name}_L{c}_out",), attrs={
            "units": "1", "description": f"{name} BasisN layer {c}: bias (activation units)"})
    return out


def load_model(ds: xr.Dataset, dataset: str, seed: int, preset: str, stage: str = "feedback"):
    """Rebuild a trained BasisN network from a study archive (see :func:`model_variables`).

    Raises
    ------
    ArchiveError
        The archive holds no model for these coordinates.
    """
    from basisn.experiments import protocols
    from basisn.layers import BasisConfig

    key = f"model_{dataset}_basis"
    if key not in ds:
        raise ArchiveError(f"archive holds no trained model for data set {dataset!r} (no variable {key})")
    if stage not in STAGES:
        raise ParameterError(f"stage = {stage!r}; allowed: {STAGES}")
    try:
        sel = dict(seed=seed, preset=preset, stage=stage)
        B = ds[key].sel(sel).values
    except KeyError as exc:
        raise ArchiveError(f"archive has no model for seed={seed!r}, preset={preset!r}, stage={stage!r}: {exc}") from None
    if not np.all(np.isfinite(B)):
        raise ArchiveError(f"archive model for seed={seed!r}, preset={preset!r}, stage={stage!r} is empty")
    proto = {p.name: p for p in protocols(bool(ds.attrs.get("quick", 1)))}[dataset]
    net = proto.build_basis(BasisConfig(int(ds.attrs["d"]), int(ds.attrs["coeff_bits"])), np.random.default_rng(0))
    net.basis.B.value = np.array(B, float)
    for c, core in enumerate(net.cores()):
        codes = ds[f"model_{dataset}_L{c}_codes"].sel(sel).values.astype(np.int64)
        s = float(ds[f"model_{dataset}_L{c}_scale"].sel(sel))
        core.scale = s
        core.C.value = codes * s
        core.b.value = np.array(ds[f"model_{dataset}_L{c}_bias"].sel(sel).values, float)
    return net
