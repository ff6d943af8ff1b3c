"""Where TG-summed BasisN holds at d = 64-256: error-model validity and the viability map (issue 13).

``model_residuals(preset, moves, ...)``
    Does the error model stay valid when the basis moves? Fit on a chip written with
    ``B0`` (half of the steps), then move the basis to ``B0 + m * ||B0|| N / ||N||`` and
    compare on the *other* half of the steps (held out) of the exact chip rewritten with
    the moved basis (write 2, which no model has seen): the model with its fitted gains kept, with the gains following the
    column conductances physically (:meth:`ErrorModel.gains_for`), and refitted on a
    fresh write of the moved basis; plus the naive deviation (ideal product) for scale.
``bitplane_steps(d, K, n_out, bits, rng)``
    The scheduled steps of random ``bits``-bit coefficient codes (BasisN-like patterns).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from basisn.quant import bit_planes
from devices.errors import ParameterError

from .chips import chip_accuracy, write_network
from .crossbars import pattern_steps
from .errormodel import ErrorModel, TwinModel, residual
from .mapping import map_basis
from .measure import ChipSystem, chip_system
from .preset import HardwarePreset

__all__ = ["bitplane_steps", "model_residuals", "error_budget", "ViabilityConfig", "run_viability_task"]


def bitplane_steps(d: int, K: int, n_out: int, bits: int, rng) -> list:
    """Scheduled (K, d) steps of the bit planes of random two's-complement codes (one partition)."""
    q = np.clip(np.rint(rng.normal(0.0, 2 ** (bits - 2), (n_out, d))), -2 ** (bits - 1), 2 ** (bits - 1) - 1).astype(int)
    planes = bit_planes(q, bits).reshape(-1, d)
    return [p for _, _, p in pattern_steps(planes, d, K)]


def model_residuals(preset: HardwarePreset, moves=(0.0, 0.1, 0.3), n_out: int = 32, bits: int = 4, seed: int = 0) -> list[dict]:
    """Residuals of the error model on held-out steps as the basis moves (see the module docstring).

    Returns
    -------
    list of dict
        Per move: ``move`` (relative basis change), ``fixed``, ``physical``, ``refit``,
        ``twin`` (the nominal twin rebuilt at the moved basis), ``twin_follow`` (the twin
        of ``B0`` followed to first order), ``naive`` (relative Frobenius residuals over the held-out steps, dimensionless),
        ``n_fit``, ``n_held_out`` (steps).
    """
    rng = np.random.default_rng(seed)
    d, K = preset.d, preset.K
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    B0 = q
    steps = bitplane_steps(d, K, n_out, bits, rng)
    fit_steps, held = steps[0::2], steps[1::2] or steps
    model = ErrorModel.fit(chip_system(map_basis(B0, preset, write=0)), fit_steps)
    noise = rng.normal(size=(d, d))
    out = []
    for mv in moves:
        B1 = B0 + float(mv) * np.linalg.norm(B0) * noise / np.linalg.norm(noise)
        exact = chip_system(map_basis(B1, preset, write=2))  # a write no model has seen
        row = {"move": float(mv), "n_fit": len(fit_steps), "n_held_out": len(held)}
        for name, physical in (("fixed", False), ("physical", True)):
            model.physical = physical
            model.set_basis(B0 + 0.0)  # reset to the fit
            model._basis = B0.copy() + 1.0  # force a re-map even at the fit basis
            model.set_basis(B1)
            rep = residual(model, exact, held)
            row[name] = rep.model
            row["naive"] = rep.naive
        refit = ErrorModel.fit(chip_system(map_basis(B1, preset, write=1)), fit_steps)
        row["refit"] = residual(refit, exact, held).model
        twin = TwinModel(preset, B0, refit_tol=10.0)
        twin.set_basis(B1)  # first-order follow from the twin at B0
        row["twin_follow"] = residual(twin, exact, held).model
        row["twin"] = residual(TwinModel(preset, B1), exact, held).model
        out.append(row)
    model.physical = True
    return out


def preset_at(preset: HardwarePreset, d: int, K: int | None = None) -> HardwarePreset:
    """``preset`` at crossbar size ``d`` (and ``K``), validated."""
    return dataclasses.replace(preset, d=int(d), K=int(preset.K if K is None else K))


# ---------------------------------------------------------------------- the viability study
PRESET_CHOICES = ("neurram", "rule130", "facts", "lowbit", "weak_tg", "binary", "ideal")
"""Base presets the viability study accepts."""


@dataclasses.dataclass(frozen=True)
class ViabilityConfig:
    """Settings of ``studies/basisn_viability.py`` (validated; SI units)."""

    datasets: tuple = ("mnist1d",)
    """Data sets ("mnist1d", "digits")."""
    seeds: tuple = (0,)
    """Training seeds (distinct integers in [0, 1000))."""
    ds: tuple = (64, 128, 256)
    """Crossbar sizes d (basis length)."""
    preset: str = "neurram"
    """Base hardware preset (one of :data:`PRESET_CHOICES`)."""
    K: int = 4
    """TG sets."""
    tg_r_on: tuple = (1e3, 1e2, 10.0)
    """TG on-resistances of the grid, ohm."""
    g_max: tuple = (40e-6, 4e-6, 1e-6)
    """Highest cell conductances of the grid, siemens (``g_min = g_max / g_ratio``)."""
    g_ratio: float = 40.0
    """Cell on/off ratio ``g_max / g_min`` on the grid."""
    r_wire: tuple = (2.5,)
    """Wire resistances per segment of the grid, ohm (wordlines, summing lines and, unless
    ``r_bitline`` is set, bitlines)."""
    r_bitline: float | None = None
    """Bitline resistance per segment on every grid point, ohm (None: ``r_wire``)."""
    encoding: str = "differential"
    """Signed encoding on every grid point."""
    row_block: tuple = (None,)
    """Partial activation on the grid: wordlines driven per sub-step (the others float);
    None = every row at once. A value ``>= d`` drives every row at that ``d``."""
    undriven_rows: str = "float"
    """Partial activation, the rows outside the block: "float" or "off" (access transistors off)."""
    n_eval_chips: int = 2
    """Fresh evaluation chips per grid point."""
    feedback_epochs: int = 5
    """Feedback epochs (coefficients and basis, Algorithm 1 under the twin model)."""
    n_test: int = 1000
    """Test samples evaluated circuit-exactly (at most the test split)."""
    quick: bool = True
    """Short float and BasisN training (the quick protocols)."""
    repair_stuck: bool = True
    """Write-verify repairs stuck cells through the other cell of their differential pair
    (:attr:`HardwarePreset.repair_stuck`) on every chip; needs the differential encoding."""
    noise_aware: bool = True
    """Feedback trains under the programming variation of fresh random chips
    (:class:`~basisn.circuit.feedback.ChipNoise`; the twin then holds no stuck cells)."""
    feedback_lr: tuple = (30.0, 100.0)
    """Candidate multipliers of the protocol's fine-tuning learning rates during feedback,
    each in (0, 1000]. Feedback runs once per candidate and grid point; the one with the best
    accuracy on the **validation split** read on a fresh write of the training chip (readout
    included) is evaluated on the evaluation chips (docs/viability.md, section 5)."""
    control_lr: tuple = (10.0, 30.0)
    """The same for the control (ideal-hardware BasisN given the feedback's extra epochs),
    chosen on its validation accuracy on ideal hardware."""

    def __post_init__(self):
        from devices import _check

        from .preset import D_RANGE, PRESETS

        n = type(self).__name__
        for name in self.datasets:
            if name not in ("mnist1d", "digits"):
                raise ParameterError(f"{n}.datasets: unknown data set {name!r}; allowed: ('mnist1d', 'digits')")
        if self.preset not in PRESET_CHOICES or self.preset not in PRESETS:
            raise ParameterError(f"{n}.preset: unknown preset {self.preset!r}; allowed: {PRESET_CHOICES}")
        if not self.ds:
            raise ParameterError(f"{n}.ds needs at least one crossbar size")
        for d in self.ds:
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
                raise ParameterError(f"{n}.ds: d = {d!r} is not a positive integer; allowed: integers in "
                                     f"[{D_RANGE[0]}, {D_RANGE[1]}]")
            if not D_RANGE[0] <= d <= D_RANGE[1]:
                raise ParameterError(f"{n}.ds: d = {d} does not fit the preset's array; allowed: "
                                     f"[{D_RANGE[0]}, {D_RANGE[1]}] (the largest crossbar is {D_RANGE[1]}x{D_RANGE[1]})")
            if self.K > d:
                raise ParameterError(f"{n}: K = {self.K} TG sets exceeds d = {d}; allowed K <= d")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 1000 for s in self.seeds):
            raise ParameterError(f"{n}.seeds must be distinct integers in [0, 1000), got {self.seeds!r}")
        _check.integer(n, "K", self.K, 1, 16)
        _check.integer(n, "n_eval_chips", self.n_eval_chips, 1, 100)
        _check.integer(n, "feedback_epochs", self.feedback_epochs, 1, 200)
        _check.integer(n, "n_test", self.n_test, 1, 100_000)
        _check.flag(n, "repair_stuck", self.repair_stuck)
        _check.flag(n, "noise_aware", self.noise_aware)
        for f in ("feedback_lr", "control_lr"):
            vals = getattr(self, f)
            if not isinstance(vals, tuple) or not vals:
                raise ParameterError(f"{n}.{f} must be a non-empty tuple of learning-rate multipliers, got {vals!r}")
            for v in vals:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1000:
                    raise ParameterError(f"{n}.{f}: {v!r} is out of range; allowed: learning-rate multipliers in (0, 1000]")
        if self.repair_stuck and self.encoding == "reference":
            raise ParameterError(f"{n}: repair_stuck needs the differential encoding, got encoding {self.encoding!r}; "
                                 "allowed: encoding 'differential', or repair_stuck=False (--no-repair-stuck) with "
                                 "the reference encoding")
        for f in ("tg_r_on", "g_max", "r_wire", "row_block"):
            if not getattr(self, f):
                raise ParameterError(f"{n}.{f} needs at least one value")
        from .mitigation import RANGES

        lo, hi = RANGES["row_block"]
        for rb in self.row_block:
            if rb is not None and (isinstance(rb, bool) or not isinstance(rb, (int, np.integer)) or not lo <= rb <= hi):
                raise ParameterError(f"{n}.row_block: {rb!r} is out of range; allowed: None (every row) or an "
                                     f"integer in [{lo}, {hi}]")
        from .preset import UNDRIVEN_ROWS

        if self.undriven_rows not in UNDRIVEN_ROWS:
            raise ParameterError(f"{n}.undriven_rows = {self.undriven_rows!r}; allowed: {UNDRIVEN_ROWS}")
        if len(set(self.row_block)) != len(self.row_block):
            raise ParameterError(f"{n}.row_block: values must be distinct, got {self.row_block!r}; allowed: each "
                                 "value once (None or 'all' = every row)")
        for d in self.ds:
            for pt in self.points(d):
                pt.apply(preset_at(self.base(), d, self.K))  # every combination must make a valid chip

    def base(self):
        from .preset import PRESETS

        return PRESETS[self.preset]

    def points(self, d: int | None = None) -> list:
        """The hardware grid as :class:`~basisn.circuit.mitigation.Mitigation` objects (r_on, g_max, r_wire,
        row_block order); at crossbar size ``d`` a ``row_block >= d`` becomes None (every row)."""
        from .mitigation import Mitigation

        def rows(rb):
            return None if rb is None or (d is not None and int(rb) >= d) else int(rb)

        return [Mitigation(g_max=g, g_ratio=self.g_ratio, tg_r_on=r, r_wire=w, r_bitline=self.r_bitline,
                           encoding=self.encoding, repair_stuck=self.repair_stuck, row_block=rows(b),
                           undriven_rows=None if rows(b) is None else self.undriven_rows)
                for r in self.tg_r_on for g in self.g_max for w in self.r_wire for b in self.row_block]


def run_viability_task(cfg: ViabilityConfig, dataset: str, seed: int, d: int, log=None) -> dict:
    """Train once at ``d`` (float, then BasisN), then for every grid point: the naive mapping and
    feedback (twin model, hardware gradients, exact refresh on the training chip), each
    evaluated on ``cfg.n_eval_chips`` fresh evaluation chips (readout calibrated, read noise, ADC).

    Returns plain arrays: ``acc_float``, ``acc_ideal``, ``acc_control`` (ideal BasisN given the
    feedback's extra epochs at its learning rates on ideal hardware) and per grid point ``acc_before``,
    ``acc_after`` (n_eval_chips,) fractions 0-1, ``res_twin`` (held-out residual), timings.
    """
    import copy
    import time

    from basisn.layers import BasisConfig, basis_from_float
    from basisn.training import evaluate, train_alternating, train_float

    from .chips import evaluation_chips, training_chip
    from .feedback import ChipNoise, network_steps
    from .hwgrad import feedback_train_hw
    from .loop import _feedback_cfg, _protocol, calibration_inputs, split_validation

    log = log or (lambda msg: None)
    cpu0 = time.process_time()
    proto = _protocol(dataset, cfg.quick)
    data = proto.load()
    n = min(cfg.n_test, len(data.y_test))
    xt, yt = data.x_test[:n], data.y_test[:n]
    fit, x_val, y_val = split_validation(data, 0.15, seed)
    t0 = time.perf_counter()
    fnet = proto.build_float(np.random.default_rng(seed))
    train_float(fnet, fit, dataclasses.replace(proto.float_cfg, seed=seed))
    out = {"acc_float": evaluate(fnet, xt, yt)}
    net = basis_from_float(fnet, BasisConfig(int(d), 4), np.random.default_rng(1000 + seed))
    train_alternating(net, fit, dataclasses.replace(proto.finetune_cfg, seed=seed, beta=0.0))
    out["acc_ideal"] = evaluate(net, xt, yt, crossbar=net.ideal_crossbar())
    base_cfg = _feedback_cfg(proto, _FbShim(cfg.feedback_epochs), seed)

    def scaled(f):
        return dataclasses.replace(base_cfg, eta_coeffs=base_cfg.eta_coeffs * f, eta_basis=base_cfg.eta_basis * f)

    # the control: the same extra epochs on ideal hardware (its learning rate chosen on its own
    # validation accuracy), so that feedback is not credited with what more training alone gives
    best = None
    for f in cfg.control_lr:
        ctrl = copy.deepcopy(net)
        train_alternating(ctrl, fit, scaled(f))
        val = evaluate(ctrl, x_val, y_val, crossbar=ctrl.ideal_crossbar())
        if best is None or val > best[0]:
            best = (val, f, ctrl)
    out["control_lr"], out["acc_control_val"] = best[1], best[0]
    out["acc_control"] = evaluate(best[2], xt, yt, crossbar=best[2].ideal_crossbar())
    out["t_train"] = time.perf_counter() - t0
    log(f"[{dataset} seed {seed} d {d}] float {100 * out['acc_float']:.1f} %, ideal BasisN {100 * out['acc_ideal']:.1f} %, "
        f"with the feedback's extra training on ideal hardware {100 * out['acc_control']:.1f} % (x{best[1]:g})")

    every = -(-len(fit.y_train) // base_cfg.batch_size)
    base = preset_at(cfg.base(), d, cfg.K)
    points = []
    for pt in cfg.points(d):
        preset = pt.apply(base)
        x_cal = calibration_inputs(fit, preset.readout.n_calibration, seed)
        train, evals = training_chip(preset, seed), evaluation_chips(preset, seed, cfg.n_eval_chips)
        r = {"label": pt.label()}
        t1 = time.perf_counter()
        r["acc_before"] = [chip_accuracy(net, write_network(net, ev, write=0), xt, yt, x_cal, preset.readout,
                                         (ev.chip_seed, 0, 1))[0] for ev in evals]
        r["t_before"] = (time.perf_counter() - t1) / len(evals)
        t1 = time.perf_counter()
        steps = network_steps(net, preset.K)
        model = TwinModel(train, net.basis.effective(), known_stuck=not cfg.noise_aware)
        r["res_twin"] = residual(model, write_network(net, train, write=1), steps[1::2] or steps).model
        r["acc_val"], fbs = [], []
        for i, f in enumerate(cfg.feedback_lr):
            if i:  # feedback moved the twin of the previous candidate (rebuilds as the basis moves): a fresh one
                model = TwinModel(train, net.basis.effective(), known_stuck=not cfg.noise_aware)
            fb = copy.deepcopy(net)
            noise = ChipNoise(model, seed, n_cores=len(fb.cores())) if cfg.noise_aware else None
            feedback_train_hw(fb, fit, model, scaled(f), exact_every=every, first_write=2, noise=noise,
                              follow_scale=True)
            r["acc_val"].append(_validation_accuracy(fb, train, x_val, y_val, x_cal, write=500 + i, log=log))
            fbs.append(fb)
        pick = int(np.argmax(r["acc_val"]))
        fb = fbs[pick]
        r["feedback_lr"] = float(cfg.feedback_lr[pick])
        r["t_feedback"] = (time.perf_counter() - t1) / len(cfg.feedback_lr)
        r["acc_after"] = [chip_accuracy(fb, write_network(fb, ev, write=1), xt, yt, x_cal, preset.readout,
                                        (ev.chip_seed, 1, 5))[0] for ev in evals]
        vals = ", ".join(f"x{f:g} {100 * v:.1f} %" for f, v in zip(cfg.feedback_lr, r["acc_val"]))
        log(f"[{dataset} seed {seed} d {d}] {r['label']}: naive {100 * np.mean(r['acc_before']):.1f} %, after feedback "
            f"{100 * np.mean(r['acc_after']):.1f} % (ideal {100 * out['acc_ideal']:.1f} %, control "
            f"{100 * out['acc_control']:.1f} %), validation {vals}, twin residual {100 * r['res_twin']:.1f} %, "
            f"{r['t_feedback']:.0f} s per feedback run")
        del fbs
        points.append(r)
    out["points"] = points
    out["t_cpu"] = time.process_time() - cpu0
    return out


def _validation_accuracy(net, train, x_val, y_val, x_cal, write: int, log=None) -> float:
    """Accuracy on the validation split through a fresh write of the training chip (readout,
    read noise, ADC). A network whose outputs are all zero on the calibration inputs (a
    training run that died) scores 0 instead of stopping the task."""
    try:
        return chip_accuracy(net, write_network(net, train, write=write), x_val, y_val, x_cal, train.readout,
                             (train.chip_seed, write, 7))[0]
    except ParameterError as exc:
        if log is not None:
            log(f"validation read failed ({exc}); scored 0")
        return 0.0


class _FbShim:
    """The two LoopConfig fields ``_feedback_cfg`` reads."""

    def __init__(self, epochs):
        self.feedback_epochs, self.quick = int(epochs), True


def error_budget(preset: HardwarePreset, n_out: int = 16, bits: int = 4, seed: int = 0) -> dict:
    """Where the deviation from the ideal product comes from, per mechanism (no training).

    The relative Frobenius deviation ``||T - P B|| / ||P B||`` of the exact step transfers
    ``T`` from the ideal product over bit-plane steps of random codes, on the chip as
    given (``"all"``) and with one mechanism removed at a time: ``"no_wires"`` (0 ohm
    segments), ``"ideal_tg"`` (1e-6 ohm on, open off), ``"no_access"`` (no access
    transistor), ``"no_variation"`` (no write-verify residual, no stuck cells), and with
    everything removed but the cell levels (``"levels_only"``). Read noise and the ADC act
    after the transfer and are not part of it. Dimensionless.
    """
    from devices import TransmissionGate, Wires

    rng = np.random.default_rng(seed)
    d, K = preset.d, preset.K
    B, _ = np.linalg.qr(rng.normal(size=(d, d)))
    steps = bitplane_steps(d, K, n_out, bits, rng)
    quiet = dataclasses.replace(preset.cell, sigma=0.0, verify_tolerance=0.0, stuck_on=0.0, stuck_off=0.0)
    ideal_tg = TransmissionGate(r_on=1e-6, r_off=float("inf"))
    variants = {
        "all": preset,
        "no_wires": dataclasses.replace(preset, wires=Wires(0.0, 0.0, 0.0)),
        "ideal_tg": dataclasses.replace(preset, tg=ideal_tg),
        "no_access": dataclasses.replace(preset, access=None),
        "no_variation": dataclasses.replace(preset, cell=quiet),
        "levels_only": dataclasses.replace(preset, cell=quiet, wires=Wires(0.0, 0.0, 0.0), tg=ideal_tg, access=None),
    }
    out = {}
    for name, p in variants.items():
        chip = chip_system(map_basis(B, p))
        num = den = 0.0
        for pats in steps:
            ideal = pats.astype(float) @ B
            num += float(np.sum((chip.step_transfer(pats) - ideal) ** 2))
            den += float(np.sum(ideal ** 2))
        out[name] = float(np.sqrt(num / den))
    out["n_steps"] = len(steps)
    return out
