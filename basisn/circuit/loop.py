"""The closed-loop study behind ``studies/basisn_hardware_loop.py``: honest chips (issue 12).

Per seed and data set (digits MLP 64-128-64-10, MNIST-1D CNN; the protocols of
:mod:`basisn.experiments`), with a validation split carved from the training data
(``val_fraction``; training and every choice see only the training and validation
splits, the test split only reports):

(a) train the float network;
(b) BasisN fine-tuning (Algorithm 1) at ``d``, ``coeff_bits``; accuracy through the ideal
    crossbar (bit-serial, float basis): *ideal-hardware BasisN*;

then per hardware preset, with a **training chip** (``chip_seed + seed``) and
``n_eval_chips`` **evaluation chips** (:func:`~basisn.circuit.chips.evaluation_chips`):

(c) the ideal-trained basis written into every evaluation chip (write 0: own residuals,
    stuck cells, read noise), the readout calibrated on ``n_calibration`` training inputs
    (:class:`~basisn.circuit.readout.ChipReadout`: full scale per layer partition), every
    crossbar product solved by the circuit: *naive mapping*; per ADC resolution
    (``adc_axis``);
(c') coefficients re-projected onto the *training chip's* measured basis (no training),
     on the evaluation chips;
(d) Algorithm 1 under the error model fitted on the training chip, corrected once per
    epoch by an exact measurement of a fresh write of the training chip
    (:func:`feedback_train`); then the trained basis written into every evaluation chip
    (write 1), calibrated, evaluated: *after feedback*; per ADC resolution; and read
    ``drift_times`` after programming with and without the recalibration step. Feedback
    never sees an evaluation chip. The same network on a fresh write of the training
    chip is reported as well (``acc_train_chip``).

The ADC's full-scale percentile is the one hyperparameter the loop chooses: among
``fs_percentiles``, the best validation accuracy on a fresh write of the training chip
(per preset and network). Plus a spot check of ``n_spot`` steps of an evaluation chip
against ngspice, and timings. Accuracies are fractions of the fixed test split (digits:
30 % test split = 540 samples, so that >= 500 are solved exactly).

``LoopConfig``, ``run_loop(cfg, progress)`` -> ``xarray.Dataset`` (dims ``seed``,
``dataset``, ``preset``, ``chip``, ``adc``, ``time``, ``recal``, plus the archived models),
``summary_table(ds)`` (markdown, mean and 95 % t-interval over chips x seeds),
``make_figures(ds, folder, stem)``.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np
import xarray as xr

from basisn._checks import check_bits
from basisn.data import Dataset, load_digits
from basisn.experiments import protocols
from basisn.layers import BasisConfig, basis_from_float
from basisn.training import AlternatingConfig, evaluate, train_alternating, train_float
from devices import Readout
from devices.errors import ParameterError

from .readout import ChipReadout
from .chips import (STAGES, chip_accuracy, evaluation_chips, model_variables, training_chip,
                    write_network)
from .crossbars import CircuitCrossbar
from .errormodel import ErrorModel, residual
from .feedback import feedback_train, network_steps, reproject
from .mapping import map_basis
from .measure import ChipSystem, chip_system, ngspice_step_currents
from .preset import PRESETS, HardwarePreset, access_r_on

__all__ = ["LoopConfig", "run_loop", "v_read_presets", "summary_table", "make_figures", "layer_input_max", "spot_check",
           "split_validation", "calibration_inputs", "t_interval", "tasks", "run_task", "task_dataset",
           "DRIFT_TIMES", "ADC_AXIS"]

log_ = logging.getLogger(__name__)

DATASETS = ("digits", "mnist1d")
DRIFT_TIMES = (1.0, 3600.0, 86400.0, 30 * 86400.0)
"""Read times after programming, second: 1 s, 1 h, 1 day, 1 month (30 days)."""
ADC_AXIS = (4, 5, 6, 8, 0)
"""ADC resolutions of the study axis, bit; 0 = no ADC."""


@dataclass(frozen=True)
class LoopConfig:
    """Settings of the closed-loop study."""

    datasets: tuple = DATASETS
    """Data sets to run ("digits", "mnist1d")."""
    presets: tuple = ("ideal", "neurram", "lowbit", "weak_tg", "binary")
    """Preset names (:data:`basisn.circuit.preset.PRESETS`) or :class:`HardwarePreset` objects."""
    d: int = 32
    """Crossbar size (overrides every preset's ``d``)."""
    K: int = 4
    """TG sets (overrides every preset's ``K``)."""
    coeff_bits: int = 4
    """Coefficient bits of the BasisN network."""
    seeds: tuple = (0,)
    """Seeds of training; seed ``s`` trains on chip ``preset.chip_seed + s``."""
    quick: bool = True
    """Short training (basisn.experiments quick protocols, fewer feedback epochs)."""
    feedback_epochs: int | None = None
    """Epochs of feedback training (default 10 quick, 20 full)."""
    n_eval_chips: int = 5
    """Evaluation chips per seed and preset (>= 1)."""
    adc_axis: tuple = ADC_AXIS
    """ADC resolutions evaluated on every evaluation chip, bit (1-16; 0 = no ADC)."""
    drift_times: tuple = DRIFT_TIMES
    """Read times after programming for the drift axis, second (>= the cell's drift_t0); empty: none."""
    fs_percentiles: tuple = (99.0, 99.9, 100.0)
    """Candidate ADC full-scale percentiles, chosen on the validation split (training chip)."""
    val_fraction: float = 0.15
    """Fraction of the training split held out for validation, (0, 0.5]."""
    read_noise: bool = True
    """Read noise on (the cell's ``read_sigma``); off: exact reads."""
    n_spot: int = 3
    """Steps of an evaluation chip spot-checked against ngspice (0: none)."""
    spot_inputs: int = 2
    """Random read-voltage vectors per spot-checked step."""
    exact_refresh: bool = True
    """During feedback, measure every layer exactly once per epoch (a fresh write of the
    training chip) and correct the model by the measured difference."""
    model_only: bool = False
    """Also run feedback on the error model alone (``acc_after_model_only``)."""
    overrides: dict = field(default_factory=dict)
    """Preset field overrides applied to every preset (e.g. ``{"encoding": "reference"}``)."""

    def __post_init__(self):
        for name in self.datasets:
            if name not in DATASETS:
                raise ParameterError(f"unknown data set {name!r}; allowed: {DATASETS}")
        if not self.datasets or not self.presets:
            raise ParameterError("LoopConfig needs at least one data set and one preset")
        hw = self.hardware()  # validates presets, d, K, overrides
        check_bits(self.coeff_bits, "coeff_bits")
        if self.feedback_epochs is not None and (not isinstance(self.feedback_epochs, int) or self.feedback_epochs < 1):
            raise ParameterError(f"feedback_epochs must be an integer >= 1, got {self.feedback_epochs!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < 1000 for x in self.seeds):
            raise ParameterError(f"seeds must be distinct integers in [0, 1000), got {self.seeds!r}")
        for f in ("n_spot", "spot_inputs"):
            v = getattr(self, f)
            if not isinstance(v, int) or v < 0:
                raise ParameterError(f"{f} must be an integer >= 0, got {v!r}")
        n = self.n_eval_chips
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1000:
            raise ParameterError(f"n_eval_chips must be an integer in [1, 1000] (at least one evaluation chip), got {n!r}")
        if not self.adc_axis or len(set(self.adc_axis)) != len(self.adc_axis):
            raise ParameterError(f"adc_axis must hold distinct resolutions, got {self.adc_axis!r}")
        for b in self.adc_axis:
            if b != 0:
                Readout(adc_bits=b)  # ParameterError for bits outside 1-16
        for t in self.drift_times:
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t) or t < 0:
                raise ParameterError(f"drift_times must hold finite times >= 0 s after programming, got {t!r}")
            for p in hw:
                if t < p.cell.drift_t0:
                    raise ParameterError(f"drift_times: {t!r} s is before preset {p.name!r}'s verify read at "
                                         f"drift_t0 = {p.cell.drift_t0!r} s; allowed t >= drift_t0")
        if not self.fs_percentiles:
            raise ParameterError("fs_percentiles needs at least one candidate")
        for q in self.fs_percentiles:
            Readout(fs_percentile=q)
        v = self.val_fraction
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 0.5:
            raise ParameterError(f"val_fraction must be in (0, 0.5], got {v!r}")

    def hardware(self) -> list[HardwarePreset]:
        """The presets with ``d``, ``K`` and ``overrides`` applied (validated)."""
        out = []
        for p in self.presets:
            if isinstance(p, str):
                if p not in PRESETS:
                    raise ParameterError(f"unknown hardware preset {p!r}; known: {sorted(PRESETS)}")
                p = PRESETS[p]
            elif not isinstance(p, HardwarePreset):
                raise ParameterError(f"presets must hold names or HardwarePreset objects, got {type(p).__name__}")
            try:
                out.append(replace(p, d=self.d, K=self.K, **self.overrides))
            except TypeError as exc:
                raise ParameterError(f"bad preset override {self.overrides!r}: {exc}") from None
        names = [p.name for p in out]
        if len(set(names)) != len(names):
            raise ParameterError(f"preset names must be unique, got {names}")
        return out


def v_read_presets(presets, v_reads) -> tuple:
    """Every preset at every read voltage: the ``v_read`` axis of the study.

    Parameters
    ----------
    presets : iterable of str or HardwarePreset
    v_reads : iterable of float
        Full-scale read voltages, volt (each in ``V_READ_RANGE``; distinct).

    Returns
    -------
    tuple of HardwarePreset
        Named ``"<preset>@<v_read>V"``. With linear chips the read voltage cancels (the
        outputs scale with it); with nonlinear cells or NMOS access it does not.
    """
    v_reads = tuple(v_reads)
    if not v_reads or len(set(v_reads)) != len(v_reads):
        raise ParameterError(f"v_read axis needs distinct read voltages, got {v_reads!r}")
    out = []
    for p in presets:
        if isinstance(p, str):
            if p not in PRESETS:
                raise ParameterError(f"unknown hardware preset {p!r}; known: {sorted(PRESETS)}")
            p = PRESETS[p]
        for v in v_reads:
            out.append(replace(p, name=f"{p.name}@{v:g}V", v_read=v))
    return tuple(out)


def split_validation(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """Hold out ``fraction`` of the training split: returns (fit data whose *test* split is the
    validation split, x_val, y_val). The real test split is not in the result."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 99]))
    n = len(data.y_train)
    perm = rng.permutation(n)
    n_val = max(1, int(round(fraction * n)))
    val, fit = perm[:n_val], perm[n_val:]
    fit_data = Dataset(name=data.name, x_train=data.x_train[fit], y_train=data.y_train[fit], x_test=data.x_train[val],
                       y_test=data.y_train[val], n_classes=data.n_classes)
    return fit_data, data.x_train[val], data.y_train[val]


def calibration_inputs(fit: Dataset, n: int, seed: int) -> np.ndarray:
    """The ``n`` training inputs the readout calibration runs (the same for every chip of a seed)."""
    perm = np.random.default_rng(np.random.SeedSequence([int(seed), 77])).permutation(len(fit.y_train))
    return fit.x_train[perm[:n]]


def t_interval(values, level: float = 0.95) -> tuple[float, float, int]:
    """Mean and half width of the two-sided Student-t interval of ``values`` (NaNs dropped).

    Returns ``(mean, half_width, n)``; the half width is NaN for fewer than two values.
    """
    from scipy import stats

    v = np.asarray(values, float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    if v.size < 2:
        return float(v.mean()), float("nan"), 1
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return float(v.mean()), half, int(v.size)


def _protocol(name: str, quick: bool):
    proto = {p.name: p for p in protocols(quick)}[name]
    if name == "digits":  # 540 test samples: the exact evaluation must cover >= 500
        proto = replace(proto, load=lambda: load_digits(test_fraction=0.3))
    return proto


def _feedback_cfg(proto, cfg: LoopConfig, seed: int) -> AlternatingConfig:
    epochs = cfg.feedback_epochs or (10 if cfg.quick else 20)
    return replace(proto.finetune_cfg, epochs=epochs, seed=seed, beta=0.0)


def layer_input_max(net, x) -> list[float]:
    """Largest input magnitude of every BasisN layer on inputs ``x`` (activation units)."""
    out = []
    for layer in net.layers:
        if hasattr(layer, "core"):
            out.append(float(np.max(np.abs(x))))
        x = layer.forward(x)
    return out


def spot_check(chip: ChipSystem, steps, n_inputs: int, seed: int = 0) -> dict:
    """Compare ``len(steps)`` steps of ``chip`` with ngspice on random read voltages.

    Returns
    -------
    dict
        ``max_rel`` (largest |I_native - I_ngspice| / max|I_ngspice| per step, dimensionless),
        ``max_abs`` (ampere), ``n`` (steps), ``seconds``.
    """
    rng = np.random.default_rng(seed)
    m = chip.mapping
    t0 = time.perf_counter()
    worst_rel, worst_abs = 0.0, 0.0
    for pats in steps:
        v = rng.uniform(0.0, m.preset.v_read, size=(n_inputs, m.d))
        native = v @ chip.physical_transfer(m.physical_assignment(pats)).T  # (S, lines) ampere
        ref = ngspice_step_currents(m, pats, v)
        err = np.abs(native - ref)
        worst_abs = max(worst_abs, float(err.max()))
        worst_rel = max(worst_rel, float(err.max() / np.abs(ref).max()))
    return {"max_rel": worst_rel, "max_abs": worst_abs, "n": len(steps), "seconds": time.perf_counter() - t0}


def tasks(cfg: LoopConfig) -> list[tuple[int, str]]:
    """The independent units of work: one ``(seed, data set)`` each (all presets inside)."""
    return [(seed, name) for seed in cfg.seeds for name in cfg.datasets]


def run_loop(cfg: LoopConfig, progress: bool = True, log=None) -> xr.Dataset:
    """Run the study serially in this process (see the module docstring); returns the archive's Dataset.

    Parallel runs, ``--resume`` and archives go through the study engine:
    :class:`basisn.circuit.study.HardwareLoop` with :func:`crossbar.study.run`.
    """
    from tqdm.auto import tqdm

    log = log or log_.info
    results = {}
    for seed, name in tqdm(tasks(cfg), desc="hardware loop", unit="task", disable=not progress):
        results[(seed, name)] = run_task(cfg, seed, name, log=log)
    return _assemble(cfg, results)


def _selected_readout(net, preset, x_val, y_val, x_cal, cfg, write: int) -> tuple[Readout, float]:
    """The full-scale percentile with the best validation accuracy on a fresh write of the training chip."""
    chip = write_network(net, preset, write=write)
    best = None
    for k, q in enumerate(cfg.fs_percentiles):
        ro = replace(preset.readout, fs_percentile=q)
        acc, _ = chip_accuracy(net, chip, x_val, y_val, x_cal, ro, (preset.chip_seed, write, 50 + k),
                               read_sigma=None if cfg.read_noise else 0.0)
        if best is None or acc > best[1]:
            best = (ro, acc)
    return best


def _eval_chip(net, chip, xt, yt, x_cal, readout, cfg, tag, adc_axis=True, keep_reference=False):
    """Main readout accuracy and the ADC axis on one written chip."""
    rs = None if cfg.read_noise else 0.0
    m = chip.mapping
    seed = (m.preset.chip_seed, m.write, tag)
    acc, hook = chip_accuracy(net, chip, xt, yt, x_cal, readout, seed, read_sigma=rs, keep_reference=keep_reference)
    axis = []
    if adc_axis:
        for k, b in enumerate(cfg.adc_axis):
            ro = replace(readout, adc_bits=b or None)
            if ro == readout:
                axis.append(acc)
            else:
                axis.append(chip_accuracy(net, chip, xt, yt, x_cal, ro, seed + (k + 1,), read_sigma=rs)[0])
    return acc, axis, hook


_BASE_CACHE: dict = {}
"""Trained (a)/(b) networks per process, keyed by everything they depend on: tasks of the
same (seed, data set) that land in one worker train once (training is deterministic, so
a cache miss recomputes the same networks)."""


def _base(cfg: LoopConfig, seed: int, name: str, log) -> dict:
    key = (name, seed, cfg.quick, cfg.d, cfg.coeff_bits, cfg.val_fraction)
    hit = _BASE_CACHE.get(key)
    if hit is not None:
        return hit
    proto = _protocol(name, cfg.quick)
    data = proto.load()
    fit, x_val, y_val = split_validation(data, cfg.val_fraction, seed)
    t0 = time.perf_counter()
    fnet = proto.build_float(np.random.default_rng(seed))
    train_float(fnet, fit, replace(proto.float_cfg, seed=seed))
    net = basis_from_float(fnet, BasisConfig(cfg.d, cfg.coeff_bits), np.random.default_rng(1000 + seed))
    train_alternating(net, fit, replace(proto.finetune_cfg, seed=seed, beta=0.0))
    out = {"proto": proto, "data": data, "fit": fit, "x_val": x_val, "y_val": y_val, "net": net,
           "acc_float": evaluate(fnet, data.x_test, data.y_test),
           "acc_ideal": evaluate(net, data.x_test, data.y_test, crossbar=net.ideal_crossbar()),
           "acc_ideal_val": evaluate(net, x_val, y_val, crossbar=net.ideal_crossbar()),
           "t_train": time.perf_counter() - t0, "xmax": layer_input_max(net, fit.x_train)}
    log(f"[seed {seed} {name}] (a) float {100 * out['acc_float']:.1f} %  (b) ideal-hardware BasisN "
        f"{100 * out['acc_ideal']:.1f} %")
    _BASE_CACHE.clear()  # keep one (seed, data set) per process
    _BASE_CACHE[key] = out
    return out


def run_task(cfg: LoopConfig, seed: int, name: str, presets=None, log=None) -> dict:
    """One seed and data set: (a), (b), then (c)-(d) for every preset (or the named ``presets``);
    returns plain arrays for :func:`_assemble`."""
    log = log or log_.info
    hw = [p for p in cfg.hardware() if presets is None or p.name in presets]
    b = _base(cfg, seed, name, log)
    data, fit, net = b["data"], b["fit"], b["net"]
    out = {k: b[k] for k in ("acc_float", "acc_ideal", "acc_ideal_val", "t_train")}
    out.update(n_test=len(data.y_test), n_val=len(b["y_val"]), presets={}, models={})
    for preset in hw:
        x_cal = calibration_inputs(fit, preset.readout.n_calibration, seed)
        r = _one_preset(cfg, seed, name, preset, net, b["proto"], fit, b["x_val"], b["y_val"], data.x_test,
                        data.y_test, x_cal, log)
        r["v_scale_first"] = preset.v_read / b["xmax"][0]
        out["models"][(seed, preset.name, "basisn")] = net
        out["models"][(seed, preset.name, "feedback")] = r.pop("net_feedback")
        out["presets"][preset.name] = r
    return out


def task_dataset(cfg: LoopConfig, seed: int, name: str, preset: str | None = None) -> xr.Dataset:
    """The archive Dataset of one ``(seed, data set)`` task with every preset, or of one
    ``(seed, data set, preset)`` task (dims of length 1 there)."""
    presets = cfg.presets if preset is None else tuple(
        p for p in cfg.presets if (p if isinstance(p, str) else p.name) == preset)
    sub = replace(cfg, seeds=(seed,), datasets=(name,), presets=presets)
    if not sub.presets:
        raise ParameterError(f"preset {preset!r} is not in the config's presets")
    return _assemble(sub, {(seed, name): run_task(sub, seed, name)})


def _one_preset(cfg, seed, name, preset, net, proto, fit, x_val, y_val, xt, yt, x_cal, log) -> dict:
    r = {}
    train = training_chip(preset, seed)
    evals = evaluation_chips(preset, seed, cfg.n_eval_chips)
    nd = len(cfg.drift_times)
    # training chip, write 0: measure, fit the error model
    t0 = time.perf_counter()
    chip0 = write_network(net, train, write=0)
    r["t_setup"] = chip0.setup_time
    steps = network_steps(net, preset.K)
    n_items = sum(int(c.planes().any(axis=-1).sum()) for c in net.cores())
    r["steps_before"], r["pieces_per_step"] = len(steps), n_items / max(len(steps), 1)
    model = ErrorModel.fit(chip0, steps[0::2])
    rep = residual(model, chip0, steps[1::2] or steps)
    r["t_fit"] = time.perf_counter() - t0
    r.update(res_model=rep.model, res_superposition=rep.superposition, res_naive=rep.naive,
             alpha=float(np.mean(model.alpha)), beta=float(np.mean(model.beta)),
             pulses_per_cell=chip0.mapping.pulses / chip0.mapping.g_cell.size)
    ro_naive, r["acc_val_naive_train_chip"] = _selected_readout(net, train, x_val, y_val, x_cal, cfg, write=1)
    # (c) and (c') on the evaluation chips
    rp = copy.deepcopy(net)
    reproject(rp, model)
    r["acc_before"], r["acc_before_adc"], r["acc_reproject"], r["t_exact_before"] = [], [], [], []
    for ev in evals:
        t1 = time.perf_counter()
        chip = write_network(net, ev, write=0)
        acc, axis, hook = _eval_chip(net, chip, xt, yt, x_cal, ro_naive, cfg, 1)
        r["t_exact_before"].append(time.perf_counter() - t1)
        r["acc_before"].append(acc)
        r["acc_before_adc"].append(axis)
        r["acc_reproject"].append(_eval_chip(rp, chip, xt, yt, x_cal, ro_naive, cfg, 2, adc_axis=False)[0])
    # (d) feedback on the training chip
    t1 = time.perf_counter()
    fb_cfg = _feedback_cfg(proto, cfg, seed)
    every = -(-len(fit.y_train) // fb_cfg.batch_size) if cfg.exact_refresh else None
    fb = copy.deepcopy(net)
    hist = feedback_train(fb, fit, model, fb_cfg, exact_every=every, first_write=2)
    r["acc_val_model_after"] = float(hist.test_accuracy[-1])
    r["t_feedback"] = time.perf_counter() - t1
    r["net_feedback"] = fb
    if cfg.model_only:
        fb_m = copy.deepcopy(net)
        feedback_train(fb_m, fit, model, fb_cfg)
        chip_m = write_network(fb_m, evals[0], write=1)
        r["acc_after_model_only"] = _eval_chip(fb_m, chip_m, xt, yt, x_cal, preset.readout, cfg, 3, adc_axis=False)[0]
    write_fb = 1000  # the training chip's writes during feedback are 2, 3, ...
    ro_fb, r["acc_val_after_train_chip"] = _selected_readout(fb, train, x_val, y_val, x_cal, cfg, write=write_fb)
    r["fs_percentile"] = ro_fb.fs_percentile
    chip_tr = write_network(fb, train, write=write_fb + 1)
    r["acc_train_chip"] = _eval_chip(fb, chip_tr, xt, yt, x_cal, ro_fb, cfg, 4, adc_axis=False)[0]
    # (d) on the evaluation chips: ADC axis and drift
    r["acc_after"], r["acc_after_adc"], r["t_exact_after"], r["calibration_reads"], r["reads"] = [], [], [], [], []
    r["acc_drift"] = []
    steps2 = network_steps(fb, preset.K)
    r["steps_after"] = len(steps2)
    model.set_basis(fb.basis.effective())
    res_after = []
    for e, ev in enumerate(evals):
        t1 = time.perf_counter()
        chip = write_network(fb, ev, write=1)
        acc, axis, hook = _eval_chip(fb, chip, xt, yt, x_cal, ro_fb, cfg, 5, keep_reference=nd > 0)
        r["t_exact_after"].append(time.perf_counter() - t1)
        r["acc_after"].append(acc)
        r["acc_after_adc"].append(axis)
        r["calibration_reads"].append(hook.calibration_reads)
        r["reads"].append(hook.reads)
        if e == 0:
            res_after.append(residual(model, chip, steps2))
            if cfg.n_spot:
                pick = np.linspace(0, len(steps2) - 1, min(cfg.n_spot, len(steps2))).astype(int)
                sc = spot_check(chip, [steps2[k] for k in pick], cfg.spot_inputs, seed=seed)
                r.update(spot_max_rel=sc["max_rel"], spot_max_abs=sc["max_abs"], spot_n=sc["n"])
        drift = np.full((nd, 2), np.nan)
        for k, t in enumerate(cfg.drift_times):
            chip_t = chip_system(chip.mapping.at_time(t))
            rs = None if cfg.read_noise else 0.0
            base = (ev.chip_seed, 1, 6, k)
            h0 = ChipReadout(CircuitCrossbar(chip_t), chip_t.mapping, ro_fb, base + (0,), read_sigma=rs)
            h0.full_scale = dict(hook.full_scale)
            drift[k, 0] = evaluate(fb, xt, yt, crossbar=h0)
            h1 = ChipReadout(CircuitCrossbar(chip_t), chip_t.mapping, ro_fb, base + (1,), read_sigma=rs)
            h1.recalibrate(fb, x_cal, hook.reference)
            drift[k, 1] = evaluate(fb, xt, yt, crossbar=h1)
        r["acc_drift"].append(drift)
    r["res_model_after"], r["res_naive_after"] = res_after[0].model, res_after[0].naive
    model.set_basis(net.basis.effective())
    log(f"[seed {seed} {name}] {preset.name}: (c) naive {100 * np.mean(r['acc_before']):.1f} %  (c') re-projected "
        f"{100 * np.mean(r['acc_reproject']):.1f} %  (d) after feedback {100 * np.mean(r['acc_after']):.1f} % "
        f"(training chip {100 * r['acc_train_chip']:.1f} %), {len(evals)} evaluation chips, model residual "
        f"{100 * rep.model:.2f} %")
    return r


_META = {
    "acc_before": ("1", "(c) naive mapping: the ideal-trained network written into each evaluation chip, readout "
                        "calibrated, every product solved by the circuit, read noise, ADC (main readout)"),
    "acc_reproject": ("1", "(c') coefficients re-projected onto the training chip's measured basis, on the "
                           "evaluation chips"),
    "acc_after": ("1", "(d) after feedback (trained on the training chip), a fresh write into each evaluation chip"),
    "acc_before_adc": ("1", "(c) per ADC resolution (adc = 0: no ADC)"),
    "acc_after_adc": ("1", "(d) per ADC resolution (adc = 0: no ADC)"),
    "acc_drift": ("1", "(d) read at time t after programming, without (recal = 0) or with (recal = 1) the "
                       "recalibration step"),
    "acc_train_chip": ("1", "(d) on a fresh write of the training chip (not an evaluation chip)"),
    "acc_after_model_only": ("1", "(d) when feedback uses the error model alone, evaluation chip 0 (NaN: not run)"),
    "acc_val_naive_train_chip": ("1", "validation accuracy of (c) on the training chip with the chosen readout"),
    "acc_val_after_train_chip": ("1", "validation accuracy of (d) on the training chip with the chosen readout"),
    "acc_val_model_after": ("1", "validation accuracy predicted by the error model after feedback"),
    "fs_percentile": ("%", "ADC full-scale percentile chosen on the validation split (training chip)"),
    "res_model": ("1", "error model residual ||T_model - T_exact|| / ||T_exact|| on held-out steps of the training chip"),
    "res_superposition": ("1", "residual of the superposition of single-column transfers (alpha = beta = 0)"),
    "res_naive": ("1", "deviation of the training chip's exact steps from the ideal product with the target basis"),
    "res_model_after": ("1", "error model residual on evaluation chip 0's steps after feedback (a chip it never saw)"),
    "res_naive_after": ("1", "deviation of evaluation chip 0's steps from the ideal product after feedback"),
    "alpha": ("1", "fitted loading per closed column on the same TG set, mean over columns"),
    "beta": ("1", "fitted loading per closed column on the other TG sets of the step, mean over columns"),
    "pulses_per_cell": ("1", "write-verify pulses per cell of the training chip's first write"),
    "steps_before": ("1", "distinct crossbar steps of the ideal-trained network"),
    "steps_after": ("1", "distinct crossbar steps of the network after feedback"),
    "pieces_per_step": ("1", "nonzero patterns per step (1..K), before feedback"),
    "calibration_reads": ("1", "crossbar reads (steps x input rows) of the post-programming calibration, per chip"),
    "reads": ("1", "crossbar reads (steps x input rows) of one test-set evaluation, per chip"),
    "t_setup": ("s", "base factorization of the training chip and Woodbury columns"),
    "t_exact_before": ("s", "wall time of (c) on one evaluation chip incl. write, factorization, calibration, ADC axis"),
    "t_exact_after": ("s", "wall time of (d) on one evaluation chip incl. write, factorization, calibration, ADC axis"),
    "t_fit": ("s", "training chip write, error model fit and residual"),
    "t_feedback": ("s", "feedback training"),
    "spot_max_rel": ("1", "largest |I_native - I_ngspice| / max|I_ngspice| over the spot-checked steps (nonlinear "
                         "presets: the loop's linearised chip vs ngspice's nonlinear solve, the linearisation error)"),
    "spot_max_abs": ("A", "largest |I_native - I_ngspice| over the spot-checked steps"),
    "spot_n": ("1", "steps spot-checked against ngspice"),
    "v_scale_first": ("V", "read volts per activation unit of the first layer (v_read / max input)"),
}
_PER_CHIP = {"acc_before", "acc_reproject", "acc_after", "calibration_reads", "reads", "t_exact_before", "t_exact_after"}
_PER_ADC = {"acc_before_adc", "acc_after_adc"}


def _assemble(cfg, results) -> xr.Dataset:
    hw = cfg.hardware()
    seeds, names, pnames = list(cfg.seeds), list(cfg.datasets), [p.name for p in hw]
    ns, nd, npr, nc = len(seeds), len(names), len(pnames), cfg.n_eval_chips
    na, nt = len(cfg.adc_axis), len(cfg.drift_times)
    arr = {}
    for k in _META:
        shape = (ns, nd, npr) + ((nc,) if k in _PER_CHIP else (nc, na) if k in _PER_ADC else
                                 (nc, nt, 2) if k == "acc_drift" else ())
        arr[k] = np.full(shape, np.nan)
    top = {k: np.full((ns, nd, npr), np.nan) for k in ("acc_float", "acc_ideal", "acc_ideal_val", "t_train", "n_val")}
    n_test = np.full(nd, np.nan)
    models = {name: {} for name in names}
    for (seed, name), res in results.items():
        si, i = seeds.index(seed), names.index(name)
        n_test[i] = res["n_test"]
        for j, p in enumerate(pnames):
            if p not in res["presets"]:
                continue
            for k in top:
                top[k][si, i, j] = res[k]
            for k, val in res["presets"][p].items():
                if k in arr:
                    arr[k][si, i, j] = np.asarray(val, float)
        models[name].update(res["models"])
    dims = ("seed", "dataset", "preset")
    data = {}
    for k, val in arr.items():
        extra = (("chip",) if k in _PER_CHIP else ("chip", "adc") if k in _PER_ADC else
                 ("chip", "time", "recal") if k == "acc_drift" else ())
        data[k] = (dims + extra, val, {"units": _META[k][0], "description": _META[k][1]})
    desc = {"acc_float": "(a) float network accuracy (test; the same for every preset)",
            "acc_ideal": "(b) ideal-hardware BasisN accuracy (test; the same for every preset)",
            "acc_ideal_val": "(b) on the validation split", "t_train": "float + BasisN training",
            "n_val": "validation samples (from the training split)"}
    for k, val in top.items():
        data[k] = (dims, val, {"units": "s" if k == "t_train" else "1", "description": desc[k]})
    data["n_test"] = (("dataset",), n_test, {"units": "1", "description": "test samples (all solved exactly)"})
    coords = {
        "seed": ("seed", seeds, {"units": "1", "description": "training seed; training chip chip_seed + seed"}),
        "dataset": ("dataset", names, {"units": ""}),
        "preset": ("preset", pnames, {"units": ""}),
        "chip": ("chip", np.arange(nc), {"units": "1", "description": "evaluation chip index (chip seed "
                                          "chip_seed + 1000000 + 1000 * seed + chip)"}),
        "adc": ("adc", list(cfg.adc_axis), {"units": "bit", "description": "ADC resolution; 0 = no ADC"}),
        "time": ("time", list(cfg.drift_times), {"units": "s", "description": "read time after programming"}),
        "recal": ("recal", [0, 1], {"units": "1", "description": "1: recalibrated (full scales and digital gain "
                                    "per partition) at the read time"}),
        "stage": ("stage", list(STAGES), {"units": "", "description": "archived model: after BasisN training / "
                                          "after feedback"}),
        "basis_row": ("basis_row", np.arange(cfg.d), {"units": "1"}),
        "basis_col": ("basis_col", np.arange(cfg.d), {"units": "1"}),
        "r_wire": ("preset", [p.wires.r_wordline for p in hw], {"units": "ohm", "description": "wordline segment"}),
        "r_bitline": ("preset", [p.wires.r_bitline for p in hw], {"units": "ohm"}),
        "r_summing": ("preset", [p.wires.r_summing for p in hw], {"units": "ohm"}),
        "tg_r_on": ("preset", [p.tg.r_on for p in hw], {"units": "ohm"}),
        "tg_r_off": ("preset", [p.tg.r_off for p in hw], {"units": "ohm"}),
        "access_r_on": ("preset", [access_r_on(p.access) for p in hw], {"units": "ohm"}),
        "cell_bits": ("preset", [p.cell.bits for p in hw], {"units": "bit"}),
        "cell_sigma": ("preset", [p.cell.sigma for p in hw], {"units": "1", "description": "residual per pulse"}),
        "verify_tolerance": ("preset", [p.cell.verify_tolerance for p in hw], {"units": "1"}),
        "stuck_on": ("preset", [p.cell.stuck_on for p in hw], {"units": "1"}),
        "stuck_off": ("preset", [p.cell.stuck_off for p in hw], {"units": "1"}),
        "drift_nu": ("preset", [p.cell.drift_nu for p in hw], {"units": "1"}),
        "drift_nu_sigma": ("preset", [p.cell.drift_nu_sigma for p in hw], {"units": "1"}),
        "read_sigma": ("preset", [p.cell.read_sigma if cfg.read_noise else 0.0 for p in hw], {"units": "1"}),
        "adc_bits": ("preset", [p.readout.adc_bits or 0 for p in hw], {"units": "bit", "description": "main readout"}),
        "g_min": ("preset", [p.cell.g_min for p in hw], {"units": "S"}),
        "g_max": ("preset", [p.cell.g_max for p in hw], {"units": "S"}),
        "v_read": ("preset", [p.v_read for p in hw], {"units": "V"}),
        "encoding": ("preset", [p.encoding for p in hw], {"units": ""}),
        "weight_range": ("preset", [p.weight_range for p in hw], {"units": ""}),
        "chip_seed": ("preset", [p.chip_seed for p in hw], {"units": "1", "description": "base chip seed"}),
    }
    ds = xr.Dataset(data, coords=coords)
    for name in names:
        if models[name]:
            ds = ds.assign(model_variables(models[name], name))
    fb_epochs = cfg.feedback_epochs or (10 if cfg.quick else 20)
    ds.attrs.update({"d": cfg.d, "K": cfg.K, "coeff_bits": cfg.coeff_bits, "quick": int(cfg.quick),
                     "feedback_epochs": fb_epochs, "exact_refresh": int(cfg.exact_refresh),
                     "n_eval_chips": nc, "val_fraction": cfg.val_fraction, "read_noise": int(cfg.read_noise),
                     "fs_percentiles": list(cfg.fs_percentiles),
                     "presets": "; ".join(p.describe() for p in hw),
                     "training_settings": _training_settings(cfg),
                     "models": "digits: MLP 64-128-64-10 (30 % test split); mnist1d: CNN conv(1x5,32)-pool-"
                               "conv(1x5,32)-pool-dense(320-10)",
                     "accuracy_units_note": "accuracies are fractions 0-1 of the test split"})
    return ds


def _training_settings(cfg: LoopConfig) -> str:
    """The training settings of every data set (float, BasisN, feedback), one line each."""
    lines = []
    for name in cfg.datasets:
        proto = _protocol(name, cfg.quick)
        fb = _feedback_cfg(proto, cfg, 0)
        lines.append(f"{name}: float {proto.float_cfg}; basisn {replace(proto.finetune_cfg, beta=0.0)}; feedback {fb}")
    return "\n".join(lines)


def _pct(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}"


def _ci(x) -> str:
    m, h, n = t_interval(np.asarray(x))
    if not np.isfinite(m):
        return "n/a"
    return f"{100 * m:.1f}" + ("" if not np.isfinite(h) else f" ± {100 * h:.1f}")


def _n(ds) -> str:
    return f"{ds.sizes.get('chip', 1)} chips x {ds.sizes.get('seed', 1)} seeds"


def adc_needed(ds: xr.Dataset, name: str, preset: str, var: str = "acc_after_adc", tol: float = 0.01):
    """Fewest ADC bits of the axis at which the mean of ``var`` (over chips x seeds) stays within
    ``tol`` of (b), and so does every larger resolution of the axis; None if none does."""
    q = ds.sel(dataset=name, preset=preset)
    b = float(q["acc_ideal"].mean())
    bits = sorted(int(x) for x in ds["adc"].values if int(x) > 0)
    ok = {bb: b - float(q[var].sel(adc=bb).mean()) <= tol + 1e-12 for bb in bits}
    for k, bb in enumerate(bits):
        if all(ok[c] for c in bits[k:]):
            return bb
    return None


def summary_table(ds: xr.Dataset) -> str:
    """Markdown: accuracies on evaluation chips (mean ± 95 % t-interval over chips x seeds), the
    ADC axis, drift, residuals, spot checks and the targets."""
    seeds = [int(x) for x in ds["seed"].values]
    bits = ds.attrs.get("presets", "")
    lines = [f"seeds {seeds}, {_n(ds)} per cell; accuracy % on the test split, mean ± 95 % t-interval half width "
             "over chips x seeds", "",
             "| data set | preset | (a) float | (b) ideal BasisN | (c) naive, eval chips | (c') re-projected | "
             "(d) feedback, eval chips | (d) training chip | (d) - (b) | model residual (train / eval chip) | "
             "naive deviation | ngspice max rel. |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in ds["dataset"].values:
        r = ds.sel(dataset=name)
        for p in ds["preset"].values:
            q = r.sel(preset=p)
            b = float(q["acc_ideal"].mean())
            gap = float(q["acc_after"].mean()) - b
            spot = float(q["spot_max_rel"].max()) if "spot_max_rel" in q else float("nan")
            lines.append(
                f"| {name} | {p} | {_pct(float(q['acc_float'].mean()))} | {_pct(b)} | {_ci(q['acc_before'])} | "
                f"{_ci(q['acc_reproject'])} | **{_ci(q['acc_after'])}** | {_ci(q['acc_train_chip'])} | "
                f"{100 * gap:+.1f} | {100 * float(q['res_model'].mean()):.2f} % / {100 * float(q['res_model_after'].mean()):.2f} % | "
                f"{100 * float(q['res_naive'].mean()):.1f} % | {spot:.1e} |")
    adc = [int(x) for x in ds["adc"].values]
    head = " | ".join(("none" if x == 0 else f"{x} bit") for x in adc)
    lines += ["", "ADC resolution (mean over chips x seeds; c = naive, d = after feedback; last column: fewest bits "
              "at which (d) stays within 1 point of (b))", "",
              f"| data set | preset | {head} | (d) within 1 point from |",
              "|---|---|" + "---|" * len(adc) + "---|"]
    for name in ds["dataset"].values:
        for p in ds["preset"].values:
            q = ds.sel(dataset=name, preset=p)
            cells = " | ".join(f"{_pct(float(q['acc_before_adc'].sel(adc=x).mean()))} / "
                               f"{_pct(float(q['acc_after_adc'].sel(adc=x).mean()))}" for x in adc)
            need = adc_needed(ds, name, p)
            lines.append(f"| {name} | {p} | {cells} | {'not reached' if need is None else f'{need} bit'} |")
    if ds.sizes.get("time", 0):
        times = [float(t) for t in ds["time"].values]
        lab = {1.0: "1 s", 3600.0: "1 h", 86400.0: "1 day", 2592000.0: "1 month"}
        head = " | ".join(lab.get(t, f"{t:g} s") for t in times)
        lines += ["", "Drift: (d) read t after programming, without / with the recalibration step (mean over chips x seeds)",
                  "", f"| data set | preset | {head} |", "|---|---|" + "---|" * len(times)]
        for name in ds["dataset"].values:
            for p in ds["preset"].values:
                q = ds.sel(dataset=name, preset=p)["acc_drift"]
                cells = " | ".join(f"{_pct(float(q.sel(time=t, recal=0).mean()))} / {_pct(float(q.sel(time=t, recal=1).mean()))}"
                                   for t in times)
                lines.append(f"| {name} | {p} | {cells} |")
    lines += ["", "targets (naive loss >= 5 points vs (b) on evaluation chips; then (d) within 1 point of (b)):"]
    for name in ds["dataset"].values:
        for p in ds["preset"].values:
            q = ds.sel(dataset=name, preset=p)
            b = float(q["acc_ideal"].mean())
            loss = b - float(q["acc_before"].mean())
            m, h, _ = t_interval(q["acc_after"].values)
            gap = b - m
            qual = loss >= 0.05 - 1e-12
            verdict = ("met" if gap <= 0.01 + 1e-12 else f"NOT met (by {100 * (gap - 0.01):.1f} points)") if qual \
                else "n/a (naive loss < 5 points)"
            lines.append(f"- {name} {p}: naive loss {100 * loss:+.1f} points, after feedback {100 * gap:+.1f} points "
                         f"below (b) (95 % CI of (d) ± {100 * h:.1f}) -> {verdict}")
    cal = ds["calibration_reads"]
    lines += ["", f"calibration step per chip: {float(cal.min()):.0f}-{float(cal.max()):.0f} crossbar reads "
              f"(steps x input rows, {ds['preset'].size} presets); one test-set evaluation "
              f"{float(ds['reads'].min()):.0f}-{float(ds['reads'].max()):.0f} reads",
              f"ADC full-scale percentile chosen on validation: "
              + ", ".join(f"{p} {sorted(set(float(v) for v in np.round(ds['fs_percentile'].sel(preset=p).values.ravel(), 1)))}"
                          for p in ds['preset'].values)]
    return "\n".join(lines)


def make_figures(ds: xr.Dataset, folder, stem: str = "basisn_hardware_loop") -> list:
    """Accuracy bars with 95 % intervals per preset and data set; accuracy versus ADC bits. Returns the paths."""
    from pathlib import Path

    from crossbar.plotting import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    names, presets = list(ds["dataset"].values), list(ds["preset"].values)
    paths = []
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        r = ds.sel(dataset=name)
        x = np.arange(len(presets))
        ax.axhline(100 * float(r["acc_ideal"].mean()), color="k", lw=0.8, ls="--", label="(b) ideal BasisN")
        for k, (var, lab) in enumerate((("acc_before", "(c) naive"), ("acc_reproject", "(c') re-projected"),
                                        ("acc_after", "(d) feedback"))):
            ci = [t_interval(r[var].sel(preset=p).values) for p in presets]
            ax.bar(x + (k - 1) * 0.25, [100 * c[0] for c in ci], 0.25, yerr=[100 * np.nan_to_num(c[1]) for c in ci],
                   label=lab, capsize=2)
        ax.set_xticks(x, presets)
        ax.set_ylim(0, 100)
        ax.set_ylabel("test accuracy on evaluation chips (%)")
        ax.set_title(f"{name}: d={ds.attrs['d']}, {_n(ds)}, 95 % CI")
        ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    paths.append(save_figure(fig, folder / f"{stem}_accuracy.png"))
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    adc = [int(a) for a in ds["adc"].values]
    xs = [a if a else 10 for a in adc]
    for ax, name in zip(axes[0], names):
        r = ds.sel(dataset=name)
        for p in presets:
            q = r.sel(preset=p)
            order = np.argsort(xs)
            line = ax.plot(np.array(xs)[order], [100 * float(q["acc_after_adc"].sel(adc=adc[i]).mean()) for i in order],
                           "o-", label=f"{p} (d)")[0]
            ax.plot(np.array(xs)[order], [100 * float(q["acc_before_adc"].sel(adc=adc[i]).mean()) for i in order],
                    "x:", color=line.get_color())
        ax.set_xticks(sorted(xs), [str(a) if a != 10 else "none" for a in sorted(xs)])
        ax.set_xlabel("ADC bits (x: naive, o: after feedback)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{name}: accuracy versus ADC resolution")
        ax.legend(fontsize=7)
    paths.append(save_figure(fig, folder / f"{stem}_adc.png"))
    return paths
