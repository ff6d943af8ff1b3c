"""The closed-loop study behind ``studies/basisn_hardware_loop.py``.

Per seed and data set (digits MLP 64-128-64-10, MNIST-1D CNN; the protocols of
:mod:`basisn.experiments`):

(a) train the float network;
(b) BasisN fine-tuning (Algorithm 1) at ``d``, ``coeff_bits``; accuracy through the ideal
    crossbar (bit-serial, float basis): *ideal-hardware BasisN*;

then per hardware preset:

(c) write the basis into the chip (:func:`map_basis`; seed ``s`` uses the chip
    ``chip_seed + s``, so every seed is another chip), measure every step inference
    runs and evaluate with every crossbar product solved by the circuit
    (:class:`CircuitCrossbar`, scheduled K-set steps): *circuit-exact before feedback*;
    fit the :class:`ErrorModel` on half of these steps, residual on the other half;
(c') the coefficients re-projected onto the chip's measured basis (:func:`reproject`,
     no training), circuit-exact: what calibration alone recovers;
(d) from there Algorithm 1 under the error model (:func:`feedback_train`), corrected once per
    epoch by an exact measurement of every layer (``exact_refresh``; the model-only run
    is reported too), write the new basis
    into the same chip (same variation), measure again and evaluate circuit-exactly:
    *circuit-exact after feedback*; the model's residual on the new chip's steps (it
    never saw them) says how well it generalizes.

Plus a spot check of ``n_spot`` steps of the final chip against ngspice (random read
voltages in ``[0, v_read]``), and timings. Accuracies are fractions of the fixed test
split (digits: 30 % test split = 540 samples, so that >= 500 are solved exactly).

``LoopConfig``, ``run_loop(cfg, progress)`` -> ``xarray.Dataset`` (dims ``seed``,
``dataset``, ``preset``), ``summary_table(ds)`` (markdown), ``make_figures(ds, folder, stem)``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace

import numpy as np
import xarray as xr

from basisn.data import load_digits
from basisn.experiments import protocols
from basisn.layers import BasisConfig, basis_from_float
from basisn.training import AlternatingConfig, evaluate, train_alternating, train_float
from devices.errors import ParameterError

from .crossbars import CircuitCrossbar, ModelCrossbar
from .errormodel import ErrorModel, residual
from .feedback import feedback_train, network_steps, reproject
from .mapping import map_basis
from .measure import ChipSystem, ngspice_step_currents
from .preset import PRESETS, HardwarePreset

__all__ = ["LoopConfig", "run_loop", "summary_table", "make_figures", "layer_input_max", "spot_check"]

DATASETS = ("digits", "mnist1d")


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
    """Seeds of training; seed ``s`` also uses chip ``preset.chip_seed + s``."""
    quick: bool = True
    """Short training (basisn.experiments quick protocols, fewer feedback epochs)."""
    feedback_epochs: int | None = None
    """Epochs of feedback training (default 10 quick, 20 full)."""
    n_spot: int = 3
    """Steps of each final chip spot-checked against ngspice (0: none)."""
    spot_inputs: int = 2
    """Random read-voltage vectors per spot-checked step."""
    exact_refresh: bool = True
    """During feedback, measure every layer exactly once per epoch and correct the model by
    the measured difference (:class:`~basisn.circuit.feedback.ExactCorrection`); the
    model-only run is kept for comparison (``acc_exact_after_model_only``)."""
    overrides: dict = field(default_factory=dict)
    """Preset field overrides applied to every preset (e.g. ``{"encoding": "reference"}``)."""

    def __post_init__(self):
        for name in self.datasets:
            if name not in DATASETS:
                raise ParameterError(f"unknown data set {name!r}; allowed: {DATASETS}")
        if not self.datasets or not self.presets:
            raise ParameterError("LoopConfig needs at least one data set and one preset")
        self.hardware()  # validates presets, d, K, overrides
        if self.feedback_epochs is not None and (not isinstance(self.feedback_epochs, int) or self.feedback_epochs < 1):
            raise ParameterError(f"feedback_epochs must be an integer >= 1, got {self.feedback_epochs!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in self.seeds):
            raise ParameterError(f"seeds must be distinct integers >= 0, got {self.seeds!r}")
        for f in ("n_spot", "spot_inputs"):
            v = getattr(self, f)
            if not isinstance(v, int) or v < 0:
                raise ParameterError(f"{f} must be an integer >= 0, got {v!r}")

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


def _bar(progress, total):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="hardware loop", unit="stage")


def run_loop(cfg: LoopConfig, progress: bool = True, log=print) -> xr.Dataset:
    """Run the study (see the module docstring); returns the archive's Dataset."""
    hw = cfg.hardware()
    ns, nd, npr = len(cfg.seeds), len(cfg.datasets), len(hw)
    nan = lambda *s: np.full(s, np.nan)  # noqa: E731
    v = {k: nan(ns, nd, npr) for k in (
        "acc_exact_before", "acc_exact_reproject", "acc_exact_after", "acc_model_before", "acc_model_after",
        "acc_exact_after_alone", "acc_exact_after_model_only",
        "res_model", "res_superposition", "res_naive", "res_model_after", "res_naive_after", "alpha", "beta",
        "steps_before", "steps_after", "pieces_per_step", "t_setup", "t_exact_before", "t_exact_after", "t_fit",
        "t_feedback", "spot_max_rel", "spot_max_abs", "spot_n", "v_scale_first")}
    acc_float, acc_ideal, t_train = nan(ns, nd), nan(ns, nd), nan(ns, nd)
    n_test = nan(nd)
    bar = _bar(progress, ns * nd * (2 + 3 * npr))

    def tick(msg):
        if bar is not None:
            bar.set_postfix_str(msg, refresh=False)
            bar.update(1)

    try:
        for si, seed in enumerate(cfg.seeds):
            for i, name in enumerate(cfg.datasets):
                _one(cfg, seed, si, i, name, hw, v, acc_float, acc_ideal, n_test, t_train, tick, log)
    finally:
        if bar is not None:
            bar.close()
    return _assemble(cfg, hw, v, acc_float, acc_ideal, n_test, t_train)


def _one(cfg, seed, si, i, name, hw, v, acc_float, acc_ideal, n_test, t_train, tick, log):
    """One seed and data set: (a), (b), then (c)/(d) for every preset, into the arrays."""
    proto = _protocol(name, cfg.quick)
    data = proto.load()
    xt, yt = data.x_test, data.y_test
    n_test[i] = len(yt)
    t0 = time.perf_counter()
    fnet = proto.build_float(np.random.default_rng(seed))
    train_float(fnet, data, replace(proto.float_cfg, seed=seed))
    acc_float[si, i] = evaluate(fnet, xt, yt)
    tick(f"{name} float")
    net = basis_from_float(fnet, BasisConfig(cfg.d, cfg.coeff_bits), np.random.default_rng(1000 + seed))
    train_alternating(net, data, replace(proto.finetune_cfg, seed=seed, beta=0.0))
    acc_ideal[si, i] = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
    t_train[si, i] = time.perf_counter() - t0
    xmax = layer_input_max(net, data.x_train)
    tick(f"{name} BasisN")
    log(f"[seed {seed} {name}] (a) float {100 * acc_float[si, i]:.1f} %  (b) ideal-hardware BasisN {100 * acc_ideal[si, i]:.1f} %")
    for j, preset in enumerate(hw):
        preset = replace(preset, chip_seed=preset.chip_seed + seed)
        r = {}
        v["v_scale_first"][si, i, j] = preset.v_read / xmax[0]
        t0 = time.perf_counter()
        chip = ChipSystem(map_basis(net.basis.effective(), preset))
        r["t_setup"] = chip.setup_time
        r["acc_exact_before"] = evaluate(net, xt, yt, crossbar=CircuitCrossbar(chip))
        r["t_exact_before"] = time.perf_counter() - t0
        steps = network_steps(net, preset.K)
        n_items = sum(int(c.planes().any(axis=-1).sum()) for c in net.cores())
        r["steps_before"], r["pieces_per_step"] = len(steps), n_items / max(len(steps), 1)
        tick(f"{name} {preset.name} exact")
        t1 = time.perf_counter()
        model = ErrorModel.fit(chip, steps[0::2])
        rep = residual(model, chip, steps[1::2] or steps)
        r["t_fit"] = time.perf_counter() - t1
        r.update(res_model=rep.model, res_superposition=rep.superposition, res_naive=rep.naive,
                 alpha=float(np.mean(model.alpha)), beta=float(np.mean(model.beta)))
        r["acc_model_before"] = evaluate(net, xt, yt, crossbar=ModelCrossbar(model))
        rp = copy.deepcopy(net)
        reproject(rp, model)
        r["acc_exact_reproject"] = evaluate(rp, xt, yt, crossbar=CircuitCrossbar(chip))
        tick(f"{name} {preset.name} model")
        t1 = time.perf_counter()
        fb_cfg = _feedback_cfg(proto, cfg, seed)
        if cfg.exact_refresh:
            fb_m = copy.deepcopy(net)  # the error model alone, for comparison
            feedback_train(fb_m, data, model, fb_cfg)
            chip_m = ChipSystem(map_basis(fb_m.basis.effective(), preset))
            r["acc_exact_after_model_only"] = evaluate(fb_m, xt, yt, crossbar=CircuitCrossbar(chip_m))
            t1 = time.perf_counter()
        every = -(-len(data.y_train) // fb_cfg.batch_size) if cfg.exact_refresh else None
        fb = copy.deepcopy(net)
        hist = feedback_train(fb, data, model, fb_cfg, exact_every=every)
        r["acc_model_after"] = float(hist.test_accuracy[-1])
        r["t_feedback"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        chip2 = ChipSystem(map_basis(fb.basis.effective(), preset))
        r["acc_exact_after"] = evaluate(fb, xt, yt, crossbar=CircuitCrossbar(chip2))
        r["t_exact_after"] = time.perf_counter() - t1
        r["acc_exact_after_alone"] = evaluate(fb, xt, yt, crossbar=CircuitCrossbar(chip2, mode="alone"))
        steps2 = network_steps(fb, preset.K)
        r["steps_after"] = len(steps2)
        model.set_basis(fb.basis.effective())
        rep2 = residual(model, chip2, steps2)
        r.update(res_model_after=rep2.model, res_naive_after=rep2.naive)
        if cfg.n_spot:
            pick = np.linspace(0, len(steps2) - 1, min(cfg.n_spot, len(steps2))).astype(int)
            sc = spot_check(chip2, [steps2[k] for k in pick], cfg.spot_inputs, seed=seed)
            r.update(spot_max_rel=sc["max_rel"], spot_max_abs=sc["max_abs"], spot_n=sc["n"])
        for k, val in r.items():
            v[k][si, i, j] = val
        tick(f"{name} {preset.name} feedback")
        log(f"[seed {seed} {name}] {preset.name}: (c) exact before {100 * r['acc_exact_before']:.1f} %  "
            f"(d) exact after {100 * r['acc_exact_after']:.1f} %  model residual {100 * rep.model:.2f} % "
            f"(naive {100 * rep.naive:.1f} %), exact eval of {len(yt)} samples {r['t_exact_before']:.1f} s")


_META = {
    "acc_exact_before": ("1", "(c) circuit-exact accuracy before feedback: every crossbar step solved on the chip "
                               "holding the ideal-trained basis (scheduled K-set steps)"),
    "acc_exact_reproject": ("1", "(c') circuit-exact accuracy with the coefficients re-projected onto the chip's "
                                  "measured basis, no training"),
    "acc_exact_after": ("1", "(d) circuit-exact accuracy after feedback training and rewriting the basis"),
    "acc_exact_after_model_only": ("1", "(d) when feedback training uses the error model alone (no exact "
                                        "correction per epoch); NaN when exact_refresh is off (then (d) is that)"),
    "acc_exact_after_alone": ("1", "(d) with every pattern evaluated alone (other TG sets open) instead of scheduled"),
    "acc_model_before": ("1", "accuracy predicted by the error model before feedback"),
    "acc_model_after": ("1", "accuracy predicted at the end of feedback training (error model, plus the exact "
                             "correction when exact_refresh is on)"),
    "res_model": ("1", "error model residual ||T_model - T_exact|| / ||T_exact|| on held-out steps (odd half)"),
    "res_superposition": ("1", "residual of the superposition of single-column transfers (alpha = beta = 0)"),
    "res_naive": ("1", "deviation of the exact steps from the ideal product with the target basis"),
    "res_model_after": ("1", "error model residual on the rewritten chip's steps (basis and patterns unseen in the fit)"),
    "res_naive_after": ("1", "deviation of the rewritten chip's steps from the ideal product"),
    "alpha": ("1", "fitted loading per closed column on the same TG set, mean over columns"),
    "beta": ("1", "fitted loading per closed column on the other TG sets of the step, mean over columns "
                  "(0 if it did not pay)"),
    "steps_before": ("1", "distinct crossbar steps measured for inference before feedback"),
    "steps_after": ("1", "distinct crossbar steps measured for inference after feedback"),
    "pieces_per_step": ("1", "nonzero patterns per step (1..K), before feedback"),
    "t_setup": ("s", "base factorization of the chip and Woodbury columns"),
    "t_exact_before": ("s", "wall time of the circuit-exact evaluation (c) of the whole test split, incl. set-up"),
    "t_exact_after": ("s", "wall time of the circuit-exact evaluation (d), incl. set-up"),
    "t_fit": ("s", "error model fit and residual"),
    "t_feedback": ("s", "feedback training (the run that gives (d))"),
    "spot_max_rel": ("1", "largest |I_native - I_ngspice| / max|I_ngspice| over the spot-checked steps"),
    "spot_max_abs": ("A", "largest |I_native - I_ngspice| over the spot-checked steps"),
    "spot_n": ("1", "steps spot-checked against ngspice"),
    "v_scale_first": ("V", "read volts per activation unit of the first layer (v_read / max input)"),
}


def _assemble(cfg, hw, v, acc_float, acc_ideal, n_test, t_train) -> xr.Dataset:
    dims = ("seed", "dataset", "preset")
    data = {k: (dims, val, {"units": _META[k][0], "description": _META[k][1]}) for k, val in v.items()}
    data["acc_float"] = (("seed", "dataset"), acc_float, {"units": "1", "description": "(a) float network accuracy"})
    data["acc_ideal"] = (("seed", "dataset"), acc_ideal, {"units": "1", "description": "(b) ideal-hardware BasisN accuracy "
                                                   "(ideal crossbar, float basis, quantized coefficients)"})
    data["n_test"] = (("dataset",), n_test, {"units": "1", "description": "test samples (all solved exactly)"})
    data["t_train"] = (("seed", "dataset"), t_train, {"units": "s", "description": "float + BasisN training"})
    coords = {
        "seed": ("seed", list(cfg.seeds), {"units": "1", "description": "training seed; the chip is chip_seed + seed"}),
        "dataset": ("dataset", list(cfg.datasets), {"units": ""}),
        "preset": ("preset", [p.name for p in hw], {"units": ""}),
        "r_wire": ("preset", [p.wires.r_wordline for p in hw], {"units": "ohm", "description": "wordline segment"}),
        "r_bitline": ("preset", [p.wires.r_bitline for p in hw], {"units": "ohm"}),
        "r_summing": ("preset", [p.wires.r_summing for p in hw], {"units": "ohm"}),
        "tg_r_on": ("preset", [p.tg.r_on for p in hw], {"units": "ohm"}),
        "tg_r_off": ("preset", [p.tg.r_off for p in hw], {"units": "ohm"}),
        "access_r_on": ("preset", [0.0 if p.access is None else p.access.r_on for p in hw], {"units": "ohm"}),
        "cell_bits": ("preset", [p.cell.bits for p in hw], {"units": "bit"}),
        "cell_sigma": ("preset", [p.cell.sigma for p in hw], {"units": "1"}),
        "g_min": ("preset", [p.cell.g_min for p in hw], {"units": "S"}),
        "g_max": ("preset", [p.cell.g_max for p in hw], {"units": "S"}),
        "v_read": ("preset", [p.v_read for p in hw], {"units": "V"}),
        "encoding": ("preset", [p.encoding for p in hw], {"units": ""}),
        "weight_range": ("preset", [p.weight_range for p in hw], {"units": ""}),
        "chip_seed": ("preset", [p.chip_seed for p in hw], {"units": "1", "description": "base chip seed (+ seed)"}),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({"d": cfg.d, "K": cfg.K, "coeff_bits": cfg.coeff_bits, "quick": int(cfg.quick),
                     "feedback_epochs": cfg.feedback_epochs or (10 if cfg.quick else 20),
                     "exact_refresh": int(cfg.exact_refresh),
                     "presets": "; ".join(p.describe() for p in hw),
                     "models": "digits: MLP 64-128-64-10 (30 % test split); mnist1d: CNN conv(1x5,32)-pool-"
                               "conv(1x5,32)-pool-dense(320-10)",
                     "accuracy_units_note": "accuracies are fractions 0-1 of the test split"})
    return ds


def _pct(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}"


def _mean(ds: xr.Dataset) -> xr.Dataset:
    return ds.mean("seed", keep_attrs=True) if "seed" in ds.dims else ds


def summary_table(ds: xr.Dataset) -> str:
    """Markdown: accuracies (a)-(d) (means over seeds), residuals, timings, spot checks, targets."""
    seeds = [int(x) for x in ds["seed"].values] if "seed" in ds.dims else []
    m = _mean(ds)
    lines = [f"seeds {seeds} (mean over seeds; spot check: worst)", "",
             "| data set | preset | (a) float | (b) ideal BasisN | (c) exact before | (c') re-projected | (d) exact after | "
             "(d) alone | (d) model only | model pred. before/after | model residual (held out / rewritten) | naive deviation | "
             "steps | exact eval (s) | ngspice max rel. |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in m["dataset"].values:
        r = m.sel(dataset=name)
        for p in m["preset"].values:
            q = r.sel(preset=p)
            f = lambda k: float(q[k])  # noqa: E731
            spot = float(ds["spot_max_rel"].sel(dataset=name, preset=p).max())
            lines.append(
                f"| {name} | {p} | {_pct(float(r['acc_float']))} | {_pct(float(r['acc_ideal']))} | "
                f"{_pct(f('acc_exact_before'))} | {_pct(f('acc_exact_reproject'))} | {_pct(f('acc_exact_after'))} | "
                f"{_pct(f('acc_exact_after_alone'))} | {_pct(f('acc_exact_after_model_only'))} | "
                f"{_pct(f('acc_model_before'))} / {_pct(f('acc_model_after'))} | "
                f"{100 * f('res_model'):.2f} % / {100 * f('res_model_after'):.2f} % | {100 * f('res_naive'):.1f} % | "
                f"{f('steps_before'):.0f} | {f('t_exact_before'):.1f} | {spot:.1e} |")
    lines.append("")
    lines.append("targets (naive loss >= 5 points vs (b); then (d) within 1 point of (b)), on the seed mean; "
                 "worst seed in brackets:")
    for name in m["dataset"].values:
        for p in m["preset"].values:
            q = ds.sel(dataset=name, preset=p)
            b = q["acc_ideal"]
            loss = float((b - q["acc_exact_before"]).mean())
            gaps = np.atleast_1d((b - q["acc_exact_after"]).values)
            gap = float(np.mean(gaps))
            qual = loss >= 0.05 - 1e-12
            verdict = ("met" if gap <= 0.01 + 1e-12 else "NOT met") if qual else "n/a (naive loss < 5 points)"
            lines.append(f"- {name} {p}: naive loss {100 * loss:+.1f} points, after feedback {100 * gap:+.1f} "
                         f"[{100 * float(gaps.max()):+.1f}] points below (b) -> {verdict}")
    return "\n".join(lines)


def make_figures(ds: xr.Dataset, folder, stem: str = "basisn_hardware_loop") -> list:
    """Accuracy bars (a)-(d) per preset and data set; model residuals. Returns the paths."""
    from pathlib import Path

    from crossbar.plotting import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    ds = _mean(ds)
    names, presets = list(ds["dataset"].values), list(ds["preset"].values)
    paths = []
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    labels = ["(a) float", "(b) ideal BasisN", "(c) exact before", "(c') re-projected", "(d) exact after"]
    for ax, name in zip(axes[0], names):
        r = ds.sel(dataset=name)
        x = np.arange(len(presets))
        vals = [np.full(len(presets), float(r["acc_float"])), np.full(len(presets), float(r["acc_ideal"])),
                r["acc_exact_before"].values, r["acc_exact_reproject"].values, r["acc_exact_after"].values]
        for k, (lab, val) in enumerate(zip(labels, vals)):
            ax.bar(x + (k - 2) * 0.16, 100 * np.asarray(val), 0.16, label=lab)
        ax.set_xticks(x, presets)
        lo = 100 * min(float(np.nanmin(np.concatenate([np.atleast_1d(v) for v in vals]))), 0.9) - 5
        ax.set_ylim(max(lo, 0), 100)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{name}: d={ds.attrs['d']}, K={ds.attrs['K']}, {ds.attrs['coeff_bits']}-bit coefficients")
        ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    paths.append(save_figure(fig, folder / f"{stem}_accuracy.png"))

    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        r = ds.sel(dataset=name)
        x = np.arange(len(presets))
        for k, (var, lab) in enumerate((("res_naive", "naive (ideal product)"),
                                        ("res_superposition", "single-column superposition"),
                                        ("res_model", "error model, held-out steps"),
                                        ("res_model_after", "error model, rewritten chip"))):
            ax.bar(x + (k - 1.5) * 0.2, 100 * r[var].values, 0.2, label=lab)
        ax.set_yscale("log")
        ax.set_ylim(1e-4, 1e5)  # below 1e-4 % (the ideal chip): rounding, not shown
        ax.set_xticks(x, presets)
        ax.set_ylabel("relative residual vs exact steps (%)")
        ax.set_title(f"{name}: step transfer residuals")
        ax.legend(fontsize=7, ncol=2, loc="upper center")
    paths.append(save_figure(fig, folder / f"{stem}_residual.png"))
    return paths
