"""Training loops: float baseline and BasisN alternating training (paper Algorithm 1).

``TrainConfig``
    Float training (epochs, batch size, learning rate, optimizer, seed).
``AlternatingConfig``
    Algorithm 1: ``t_coeffs`` coefficient epochs, then ``t_basis`` basis epochs, repeated;
    learning rates ``eta_coeffs`` and ``eta_basis`` (``eta_basis <= eta_coeffs``), and the
    contest regularizer weight ``beta``.
``algorithm1_phases(epochs, t_coeffs, t_basis)``
    ``"coeffs"`` / ``"basis"`` for epochs 1..epochs.
``train_float(net, data, cfg)``, ``train_alternating(net, data, cfg)``
    Mini-batch training, deterministic given ``cfg.seed``; return a :class:`History`.
``evaluate(net, x, y, crossbar=None)``
    Test accuracy (0-1), through a crossbar model if given.

Algorithm 1 and its phase test
------------------------------
The paper switches to basis training when ``t % (t_coeffs + t_basis) == t_coeffs + 1``
and back when ``t % (t_coeffs + t_basis) == 1`` (epochs counted from 1). Read literally,
the first test never fires when ``t_basis == 1`` (the remainder never reaches the cycle
length). :func:`algorithm1_phases` implements the evident intent -- every cycle is
``t_coeffs`` coefficient epochs followed by ``t_basis`` basis epochs -- which coincides
with the literal state machine whenever ``t_basis >= 2`` (tested) and also works for
``t_basis == 1``. In coefficient epochs the coefficients and biases of all layers are
trainable and the basis is frozen; in basis epochs only the basis is trainable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from devices.errors import ConvergenceError, ParameterError

from ._checks import check_finite, check_int, check_positive
from .nn import SGD, Adam, Sequential, softmax_cross_entropy
from .regularizer import check_power, contest_penalty

__all__ = [
    "TrainConfig", "AlternatingConfig", "History", "algorithm1_phases",
    "train_float", "train_alternating", "evaluate",
]


def _check_optimizer(name, momentum):
    if name not in ("adam", "sgd"):
        raise ParameterError(f"optimizer = {name!r}; allowed: 'adam', 'sgd'")
    if not 0.0 <= momentum < 1.0:
        raise ParameterError(f"momentum = {momentum!r} is outside the allowed range [0, 1)")


@dataclass(frozen=True)
class TrainConfig:
    """Float (baseline) training settings."""

    epochs: int = 60
    """Passes over the training set (>= 1)."""
    batch_size: int = 32
    """Samples per step (>= 1)."""
    lr: float = 2e-3
    """Learning rate (> 0)."""
    optimizer: str = "adam"
    """``"adam"`` or ``"sgd"`` (with momentum)."""
    momentum: float = 0.9
    """SGD momentum in [0, 1)."""
    lr_decay: float = 1.0
    """Learning rate multiplied by this after every epoch, (0, 1]."""
    seed: int = 0
    """Seed of the batch order."""

    def __post_init__(self):
        check_int(self.epochs, "epochs", 1)
        check_int(self.batch_size, "batch_size", 1)
        check_positive(self.lr, "lr")
        _check_optimizer(self.optimizer, self.momentum)
        if not 0.0 < self.lr_decay <= 1.0:
            raise ParameterError(f"lr_decay = {self.lr_decay!r} is outside the allowed range (0, 1]")
        check_int(self.seed, "seed", 0)


@dataclass(frozen=True)
class AlternatingConfig:
    """Algorithm 1 settings."""

    epochs: int = 30
    """Total epochs (>= 1)."""
    t_coeffs: int = 4
    """Coefficient epochs per cycle (>= 1)."""
    t_basis: int = 1
    """Basis epochs per cycle (>= 0; 0 never trains the basis)."""
    eta_coeffs: float = 2e-3
    """Learning rate of the coefficients and biases (> 0)."""
    eta_basis: float = 1e-4
    """Learning rate of the basis, (0, eta_coeffs]."""
    beta: float = 0.0
    """Contest regularizer weight (>= 0), see :mod:`basisn.regularizer`."""
    sigma: float = 1.0
    """Smoothing of the regularizer's bit-count surrogate, in codes (>= 0)."""
    contest_power: float = 1.0
    """Power-mean exponent over the basis columns of a partition, [1, 64]: 1 penalizes the
    number of 1 bits (paper 3.5); larger values penalize the most-used columns, which bound
    the crossbar steps (see :func:`basisn.regularizer.contest_penalty`)."""
    contest_density: float = 0.0
    """Weight (>= 0) of the regularizer's pattern-density term (squared 1 bits per TG
    pattern); 0 = off, the paper's penalty."""
    batch_size: int = 32
    """Samples per step (>= 1)."""
    optimizer: str = "adam"
    """``"adam"`` or ``"sgd"``."""
    momentum: float = 0.9
    """SGD momentum in [0, 1)."""
    lr_decay: float = 1.0
    """Both learning rates multiplied by this after every epoch, (0, 1]."""
    seed: int = 0
    """Seed of the batch order."""

    def __post_init__(self):
        check_int(self.epochs, "epochs", 1)
        check_int(self.t_coeffs, "t_coeffs", 1)
        check_int(self.t_basis, "t_basis", 0)
        check_positive(self.eta_coeffs, "eta_coeffs")
        check_positive(self.eta_basis, "eta_basis")
        if self.eta_basis > self.eta_coeffs:
            raise ParameterError(
                f"eta_basis = {self.eta_basis!r} must not exceed eta_coeffs = {self.eta_coeffs!r} "
                f"(allowed (0, {self.eta_coeffs!r}]; the paper uses eta_basis << eta_coeffs)"
            )
        check_positive(self.beta, "beta", allow_zero=True)
        check_positive(self.sigma, "sigma", allow_zero=True)
        check_power(self.contest_power)
        check_positive(self.contest_density, "contest_density", allow_zero=True)
        check_int(self.batch_size, "batch_size", 1)
        _check_optimizer(self.optimizer, self.momentum)
        if not 0.0 < self.lr_decay <= 1.0:
            raise ParameterError(f"lr_decay = {self.lr_decay!r} is outside the allowed range (0, 1]")
        check_int(self.seed, "seed", 0)


@dataclass(frozen=True)
class History:
    """Per-epoch record of a training run."""

    phase: tuple = field(default=())
    """``"float"``, ``"coeffs"`` or ``"basis"`` per epoch."""
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Mean cross-entropy over the epoch's batches (nats)."""
    penalty: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Mean regularizer term over the epoch's batches (loss units)."""
    test_accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Test accuracy after the epoch (0-1, dense forward path)."""


def algorithm1_phases(epochs: int, t_coeffs: int, t_basis: int) -> list[str]:
    """Phase of each epoch ``t = 1..epochs``: ``"coeffs"`` or ``"basis"`` (see module doc)."""
    epochs = check_int(epochs, "epochs", 1)
    t_coeffs = check_int(t_coeffs, "t_coeffs", 1)
    t_basis = check_int(t_basis, "t_basis", 0)
    cycle = t_coeffs + t_basis
    return ["coeffs" if (t - 1) % cycle < t_coeffs else "basis" for t in range(1, epochs + 1)]


def _check_data(data, net_inputs=None):
    check_finite(data.x_train, "x_train")
    check_finite(data.x_test, "x_test")


def _optimizer(name, lr, momentum):
    return Adam(lr) if name == "adam" else SGD(lr, momentum)


def _epoch(net, x, y, rng, batch_size, opt, params, lr, beta, sigma=0.0, power=1.0, density=0.0):
    order = rng.permutation(len(x))
    losses, pens = [], []
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        net.zero_grad()
        logits = net.forward(x[idx], train=True)
        loss, dlogits = softmax_cross_entropy(logits, y[idx])
        if not np.isfinite(loss):
            raise ConvergenceError(f"training diverged (loss = {loss}); lower the learning rate (now {lr})")
        net.backward(dlogits)
        pen = contest_penalty(net, beta, sigma=sigma, power=power, density=density) if beta > 0 else 0.0
        opt.step(params, lr=lr)
        losses.append(loss)
        pens.append(pen)
    return float(np.mean(losses)), float(np.mean(pens))


def train_float(net: Sequential, data, cfg: TrainConfig, progress: bool = False) -> History:
    """Train a float network with softmax cross-entropy.

    Parameters
    ----------
    net : Sequential
        Network mapping ``data.x_*`` to logits.
    data : basisn.data.Dataset
    cfg : TrainConfig
    progress : bool
        Show a tqdm bar over epochs.

    Returns
    -------
    History
    """
    _check_data(data)
    rng = np.random.default_rng(cfg.seed)
    opt = _optimizer(cfg.optimizer, cfg.lr, cfg.momentum)
    params = net.params()
    hist = {"phase": [], "loss": [], "penalty": [], "acc": []}
    lr = cfg.lr
    for _ in _epochs(cfg.epochs, progress, "float"):
        loss, _pen = _epoch(net, data.x_train, data.y_train, rng, cfg.batch_size, opt, params, lr, 0.0)
        lr *= cfg.lr_decay
        hist["phase"].append("float")
        hist["loss"].append(loss)
        hist["penalty"].append(0.0)
        hist["acc"].append(net.accuracy(data.x_test, data.y_test))
    return History(tuple(hist["phase"]), np.array(hist["loss"]), np.array(hist["penalty"]), np.array(hist["acc"]))


def _epochs(n, progress, desc):
    if progress:
        from tqdm.auto import tqdm

        return tqdm(range(n), desc=desc, leave=False)
    return range(n)


def train_alternating(net, data, cfg: AlternatingConfig, progress: bool = False) -> History:
    """BasisN alternating training (Algorithm 1), with the optional contest regularizer.

    Works the same from scratch (a freshly built :class:`~basisn.layers.BasisNetwork`) and
    for fine-tuning (one from :func:`~basisn.layers.basis_from_float`).

    Parameters
    ----------
    net : basisn.layers.BasisNetwork
    data : basisn.data.Dataset
    cfg : AlternatingConfig
    progress : bool
        Show a tqdm bar over epochs.

    Returns
    -------
    History
        ``phase`` per epoch follows :func:`algorithm1_phases`.
    """
    _check_data(data)
    if not hasattr(net, "coefficient_params"):
        raise ParameterError(f"train_alternating needs a BasisNetwork, got {type(net).__name__}")
    rng = np.random.default_rng(cfg.seed)
    opt = _optimizer(cfg.optimizer, cfg.eta_coeffs, cfg.momentum)
    params = net.params()
    coeffs, basis = net.coefficient_params(), net.basis_params()
    phases = algorithm1_phases(cfg.epochs, cfg.t_coeffs, cfg.t_basis)
    hist = {"loss": [], "penalty": [], "acc": []}
    decay = 1.0
    it = _epochs(cfg.epochs, progress, "BasisN")
    for t in it:
        phase = phases[t]
        for p in coeffs:
            p.trainable = phase == "coeffs"
        for p in basis:
            p.trainable = phase == "basis"
        lr = (cfg.eta_coeffs if phase == "coeffs" else cfg.eta_basis) * decay
        beta = cfg.beta if phase == "coeffs" else 0.0
        loss, pen = _epoch(net, data.x_train, data.y_train, rng, cfg.batch_size, opt, params, lr, beta, cfg.sigma,
                           cfg.contest_power, cfg.contest_density)
        decay *= cfg.lr_decay
        hist["loss"].append(loss)
        hist["penalty"].append(pen)
        hist["acc"].append(net.accuracy(data.x_test, data.y_test))
    for p in coeffs + basis:
        p.trainable = True
    return History(tuple(phases), np.array(hist["loss"]), np.array(hist["penalty"]), np.array(hist["acc"]))


def evaluate(net: Sequential, x, y, crossbar=None) -> float:
    """Accuracy (0-1) of ``net`` on ``(x, y)``, through ``crossbar`` if given.

    Raises
    ------
    ParameterError
        If ``x`` contains NaN/inf or ``len(x) != len(y)``.
    """
    x = check_finite(x, "x")
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise ParameterError(f"labels of shape {y.shape} do not match {x.shape[0]} inputs")
    return net.accuracy(x, y, crossbar=crossbar)
