"""Feedback training: BasisN's Algorithm 1 with the forward pass through a crossbar model.

``network_steps(net, K)``
    Every step (``(K, d)`` logical patterns) inference of ``net`` runs, per layer and
    partition, from the scheduler (what has to be measured).
``circuit_aware(net, crossbar)``
    Context manager: inside it every BasisN layer's dense training/inference path uses
    the weights the crossbar realizes (:func:`~basisn.circuit.crossbars.effective_weight`)
    instead of the ideal ``W_q``. The backward pass is the layers' own: the input
    gradient goes through the realized weights, the coefficient and basis gradients
    through the ideal parametrization (straight-through). Nothing in
    :mod:`basisn.layers` is changed: the cores' ``weight`` method is shadowed on the
    instances and restored on exit.
``calibrate_gains(net, crossbar)``
    Digital gain calibration per layer: the coefficient step ``s`` (applied digitally
    after shift-and-add) and the latent coefficients are scaled together by the
    least-squares gain between the realized and the ideal weights, so the codes (TG
    patterns) stay the same and only the periphery's multiplier changes.
``ExactCorrection(preset, every)``
    Optional hardware in the loop during training: every ``every`` batches the layers
    are measured exactly and the model is corrected by the measured difference.
``ChipNoise(model, seed)``
    Training for chips feedback never sees: every forward pass adds the first-order
    effect of a fresh random chip's programming (its own write-verify residuals, stuck
    cells and, with ``repair_stuck``, their repair) to the model's weights.
``feedback_train(net, data, model, cfg)``
    Gain calibration, then ``train_alternating`` (coefficient epochs, then basis epochs) inside
    ``circuit_aware(net, ModelCrossbar(model))``; during basis epochs the model follows
    the basis (:meth:`ErrorModel.set_basis`, the chip as it would be rewritten).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import logging

import numpy as np

from basisn.quant import best_scale
from basisn.training import AlternatingConfig, train_alternating
from devices.errors import ParameterError

from .crossbars import CircuitCrossbar, ModelCrossbar, effective_weight, pattern_steps
from .mapping import map_basis
from .measure import ChipSystem, chip_system

log = logging.getLogger(__name__)

__all__ = ["network_steps", "circuit_aware", "ExactCorrection", "ChipNoise", "calibrate_gains", "reproject",
           "feedback_train"]


def network_steps(net, K: int) -> list:
    """All distinct steps ``(K, d)`` bool that inference of ``net`` runs (scheduled per partition)."""
    steps, seen = [], set()
    for core in net.cores():
        planes = core.planes()
        for j in range(core.parts):
            for _items, _sets, pats in pattern_steps(planes[:, j].reshape(-1, core.d), core.d, K):
                key = pats.tobytes()
                if key not in seen:
                    seen.add(key)
                    steps.append(pats)
    return steps


class ExactCorrection:
    """Measured correction of the model during training (hardware in the loop, sparse).

    Every ``every`` weight evaluations of a layer (about once per epoch), the layer's
    weights are measured exactly on the training chip and the difference to the model,
    ``W_exact - W_model`` at the current codes, is kept and added to the model's weights
    until the next measurement. What the model misses systematically is thus fed back
    from the circuit. Each measurement round ``r`` (``r = calls // every``) reprograms
    the training chip (write ``first_write + r``, its own programming residuals), so the
    correction follows the chip's systematic errors, not one write's residuals.

    Parameters
    ----------
    preset : HardwarePreset
        The training chip (its stuck cells are the same on every write).
    every : int
        Weight evaluations per layer between measurements (>= 1).
    first_write : int
        Write index of the first measurement round (>= 0).
    """

    def __init__(self, preset, every: int, first_write: int = 1):
        if not isinstance(every, int) or every < 1:
            raise ParameterError(f"every must be an integer >= 1, got {every!r}")
        self.preset, self.every, self.first_write = preset, every, int(first_write)
        self._chip_key = None
        self._xb = None
        self.writes = 0
        self._calls: dict = {}
        self._delta: dict = {}
        self.n_measured = 0

    def _crossbar(self, B, write: int):
        key = (write, np.asarray(B).tobytes())
        if self._chip_key != key:
            self._xb = CircuitCrossbar(chip_system(map_basis(B, self.preset, write=write)))
            self._chip_key = key
            self.writes += 1
        return self._xb

    def delta(self, core, w_model) -> np.ndarray:
        """The current correction of ``core``'s (padded) weights, weight units."""
        key = id(core)
        n = self._calls.get(key, 0)
        self._calls[key] = n + 1
        if n % self.every == 0 or key not in self._delta:
            w_exact = effective_weight(core, self._crossbar(core.basis.effective(), self.first_write + n // self.every))
            self._delta[key] = w_exact - w_model
            self.n_measured += 1
        return self._delta[key]


NOISE_CHIP_SEEDS = 10 ** 10
"""Chip seeds of :class:`ChipNoise` samples start here, far above every training and
evaluation chip seed, so training never draws the programming of a chip it is evaluated on."""


class ChipNoise:
    """Programming variation of fresh chips, sampled during training (noise-aware feedback).

    Training on one chip (its model and its measured corrections) learns that chip; the
    network then meets other chips with their own write-verify residuals and stuck cells.
    ``ChipNoise`` draws a fresh random chip of the model's preset (a chip seed from
    :data:`NOISE_CHIP_SEEDS` up, never a training or evaluation chip) for every forward
    pass, writes the current basis into it with :func:`~basisn.circuit.mapping.map_basis`
    (the same write-verify, stuck-cell and repair rules as a real chip) and adds its
    deviation from the nominal levels to the model's weights, to first order: physical
    column ``c`` changes the logical column's transfer by ``a_c (G_c - G_c,nominal) /
    gain``, ``a_c`` the column's gain in the model (wire and TG loading) as fitted when
    the sampler was made (a twin rebuilt later as the basis moves keeps the sampler's gains:
    they change by far less than the programming deviations they scale).

    Parameters
    ----------
    model : TwinModel or ErrorModel
        The model training runs through (its preset and column gains).
    seed : int
        Seed of the sampled chip seeds (>= 0).
    n_cores : int
        BasisN layers of the network: one chip is drawn per forward pass (every
        ``n_cores`` weight evaluations), shared by the layers as they share the chip.
    """

    def __init__(self, model, seed: int = 0, n_cores: int = 1):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ParameterError(f"ChipNoise seed must be an integer >= 0, got {seed!r}")
        if isinstance(n_cores, bool) or not isinstance(n_cores, (int, np.integer)) or n_cores < 1:
            raise ParameterError(f"ChipNoise n_cores must be an integer >= 1, got {n_cores!r}")
        gm = getattr(model, "_gain_model", model)
        self.gains = np.array(getattr(gm, "_gains_now", gm.gains), float)
        self.preset = model.preset
        self.d = int(model.d)
        self.n_cores = int(n_cores)
        self._rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x6E6F]))
        self._calls = 0
        self._E = None
        self.samples = 0

    def sample(self, B) -> np.ndarray:
        """Draw a fresh chip holding ``B``: its deviation from the nominal transfer (d, d), weight units."""
        import dataclasses

        seed = NOISE_CHIP_SEEDS + int(self._rng.integers(0, 10 ** 9))
        m = map_basis(B, dataclasses.replace(self.preset, chip_seed=seed))
        dg = (m.g_cell - m.g_nominal) * self.gains[None, :] / m.gain
        if self.preset.encoding == "differential":
            E = (dg[:, 0::2] - dg[:, 1::2]).T
        else:
            E = (dg[:, :self.d] - dg[:, [self.d]]).T
        self.samples += 1
        return E

    def rows(self, planes) -> np.ndarray:
        return np.asarray(planes, float) @ self._E

    def delta(self, core) -> np.ndarray:
        """The weight change (padded, weight units) the current sampled chip makes to ``core``."""
        if self._E is None or self._calls % self.n_cores == 0:
            self._E = self.sample(core.basis.effective())
        self._calls += 1
        return effective_weight(core, self)


@contextmanager
def circuit_aware(net, crossbar, follow_basis=None, correction: ExactCorrection | None = None,
                  noise: ChipNoise | None = None):
    """Route every core's ``weight()`` through ``crossbar`` while the context is open.

    Parameters
    ----------
    net : BasisNetwork
    crossbar : object with ``d`` and ``rows(planes)`` (CircuitCrossbar, ModelCrossbar)
    follow_basis : callable, optional
        Called with the current basis value before each weight evaluation (the error
        model's :meth:`set_basis`).
    correction : ExactCorrection, optional
        Adds the periodically measured difference between circuit and model.
    noise : ChipNoise, optional
        Adds a fresh random chip's programming deviation on every forward pass.
    """
    if getattr(crossbar, "d", None) != net.d:
        raise ParameterError(f"crossbar size d = {getattr(crossbar, 'd', None)!r} does not match the network's d = {net.d}")
    cores = net.cores()

    def make(core):
        def weight(padded: bool = False):
            if follow_basis is not None:
                follow_basis(core.basis.B.value)
            w = effective_weight(core, crossbar)
            if correction is not None:
                w = w + correction.delta(core, w)
            if noise is not None:
                w = w + noise.delta(core)
            return w if padded else w[:, :core.fan_in]
        return weight

    for core in cores:
        core.weight = make(core)
    try:
        yield net
    finally:
        for core in cores:
            if "weight" in vars(core):
                del core.weight


def calibrate_gains(net, crossbar) -> list[float]:
    """Scale each layer's digital step ``s`` and latent coefficients by the LS gain (codes unchanged).

    ``g = <W_q, W_real> / <W_real, W_real>`` with ``W_real`` the weights the crossbar
    realizes; returns the gains (dimensionless), one per BasisN layer.
    """
    gains = []
    for core in net.cores():
        w_real = effective_weight(core, crossbar)
        w_q = core.weight(padded=True)
        den = float(np.sum(w_real * w_real))
        g = float(np.sum(w_q * w_real)) / den if den > 0 else 1.0
        if not np.isfinite(g) or g <= 0:
            raise ParameterError(f"gain calibration failed (gain {g!r}): the crossbar output is not positively "
                                 "correlated with the ideal product")
        codes = core.codes()
        core.C.value = core.C.value * g
        core.scale = core.scale * g
        moved = core.codes() != codes
        if moved.any():  # a rounding tie flipped: put those coefficients on their code
            c = core.C.value.copy()
            c[moved] = core.scale * codes[moved]
            core.C.value = c
        gains.append(g)
    return gains


def reproject(net, model) -> None:
    """Fine-tuning initialisation on the measured basis (paper 3.4 with the chip's basis).

    Each layer's wanted weights ``W_q`` (the ideal product) are expressed in the chip's
    measured single-column basis ``t_col``: ``C = W_piece @ inv(t_col)``, and the
    coefficient step is re-chosen (:func:`basisn.quant.best_scale`). The codes change;
    training under the model then continues from there.
    """
    tinv = np.linalg.pinv(model.t_col)
    for core in net.cores():
        w = core.weight(padded=True).reshape(core.n_out, core.parts, core.d)
        c = w @ tinv
        core.C.value = c
        core.scale = best_scale(c, core.bits)


def feedback_train(net, data, model, cfg: AlternatingConfig, progress: bool = False, init: str = "reproject",
                   exact_every: int | None = None, first_write: int = 1, noise: ChipNoise | None = None,
                   follow_scale: bool = False):
    """Algorithm 1 under the error model (see the module docstring); returns the History.

    ``init``: ``"reproject"`` (default) starts from the coefficients of the wanted
    weights in the chip's measured basis (:func:`reproject`), ``"gain"`` only
    calibrates the layer gains (:func:`calibrate_gains`), ``"none"`` starts from the
    ideal-trained coefficients. ``exact_every``: measure the layers exactly every that
    many batches and correct the model by the measured difference (:class:`ExactCorrection`;
    None: the model alone), each round on a fresh write of the training chip starting at
    ``first_write``. ``noise``: train under the programming variation of fresh random chips
    (:class:`ChipNoise`). ``follow_scale``: the coefficient learning rate follows the
    coefficient step: re-projection onto an attenuated chip scales every layer's step ``s``
    (and its latent coefficients) up by about the inverse of the chip's gain, so an Adam
    step of fixed size would move the codes that much slower; ``eta_coeffs`` is multiplied
    by the geometric mean over layers of ``s_after / s_before``. ``data``'s test split is only
    reported per epoch (pass a validation split there; the study does).
    The model follows the basis only when ``cfg.t_basis > 0``; it is left at the basis
    it was fitted for afterwards.
    """
    if init not in ("reproject", "gain", "none"):
        raise ParameterError(f"init = {init!r}; allowed: 'reproject', 'gain', 'none'")
    xb = ModelCrossbar(model)
    s_before = np.array([core.scale for core in net.cores()], float)
    if init == "reproject":
        reproject(net, model)
    elif init == "gain":
        calibrate_gains(net, xb)
    if follow_scale:
        ratio = np.array([core.scale for core in net.cores()], float) / s_before
        if np.all(np.isfinite(ratio)) and np.all(ratio > 0):
            f = float(np.exp(np.mean(np.log(ratio))))
            log.info("feedback: coefficient learning rate x %.3g (coefficient steps grew by %s)", f,
                     ", ".join(f"{r:.3g}" for r in ratio))
            cfg = replace(cfg, eta_coeffs=cfg.eta_coeffs * f)
    follow = model.set_basis if cfg.t_basis > 0 else None
    B0 = model.basis
    try:
        corr = None if exact_every is None else ExactCorrection(model.preset, exact_every, first_write)
        with circuit_aware(net, xb, follow_basis=follow, correction=corr, noise=noise):
            hist = train_alternating(net, data, cfg, progress=progress)
    finally:
        model.set_basis(B0)
    return hist
