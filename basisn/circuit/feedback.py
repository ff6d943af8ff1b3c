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
``feedback_train(net, data, model, cfg)``
    ``train_alternating`` (coefficient epochs, then basis epochs) inside
    ``circuit_aware(net, ModelCrossbar(model))``; during basis epochs the model follows
    the basis (:meth:`ErrorModel.set_basis`, the chip as it would be rewritten).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from basisn.training import AlternatingConfig, train_alternating
from devices.errors import ParameterError

from .crossbars import ModelCrossbar, effective_weight, pattern_steps

__all__ = ["network_steps", "circuit_aware", "feedback_train"]


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


@contextmanager
def circuit_aware(net, crossbar, follow_basis=None):
    """Route every core's ``weight()`` through ``crossbar`` while the context is open.

    Parameters
    ----------
    net : BasisNetwork
    crossbar : object with ``d`` and ``rows(planes)`` (CircuitCrossbar, ModelCrossbar)
    follow_basis : callable, optional
        Called with the current basis value before each weight evaluation (the error
        model's :meth:`set_basis`).
    """
    if getattr(crossbar, "d", None) != net.d:
        raise ParameterError(f"crossbar size d = {getattr(crossbar, 'd', None)!r} does not match the network's d = {net.d}")
    cores = net.cores()

    def make(core):
        def weight(padded: bool = False):
            if follow_basis is not None:
                follow_basis(core.basis.B.value)
            w = effective_weight(core, crossbar)
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


def feedback_train(net, data, model, cfg: AlternatingConfig, progress: bool = False):
    """Algorithm 1 under the error model (see the module docstring); returns the History.

    The model follows the basis only when ``cfg.t_basis > 0``; it is left at the basis
    it was fitted for afterwards.
    """
    xb = ModelCrossbar(model)
    follow = model.set_basis if cfg.t_basis > 0 else None
    B0 = np.array(model._basis)
    try:
        with circuit_aware(net, xb, follow_basis=follow):
            hist = train_alternating(net, data, cfg, progress=progress)
    finally:
        model.set_basis(B0)
    return hist
