"""Gradients through the hardware: the backward pass uses the transfer the chip realizes.

Inside :func:`~basisn.circuit.feedback.circuit_aware` the forward pass of every BasisN
layer uses the weights the crossbar model realizes, ``W_real``; the backward pass of
:mod:`basisn.layers` uses the ideal basis unless a layer's ``backward_transfer`` is set.
``hardware_gradients(net, model)`` sets it for the duration of a block:

``ModelTransfer(model)``
    The realized basis of an :class:`~basisn.circuit.errormodel.ErrorModel`: ``R = g *
    t_col`` with ``t_col`` the modelled single-column transfers at the current basis
    and ``g`` the layer's least-squares gain between the realized weights of the last
    forward pass and ``Cq @ t_col`` (the average pattern loading of that layer), so
    ``W_real ~= Cq @ R``. The coefficient gradient is ``dW @ R.T``; the basis gradient
    is carried through the model's elementwise Jacobian ``dt_col/dB`` (column gains,
    :meth:`ErrorModel.basis_jacobian`).

``feedback_train_hw(net, data, model, cfg, ...)``
    :func:`~basisn.circuit.feedback.feedback_train` with hardware gradients and,
    optionally, the model refitted on the training chip whenever the basis has moved by
    more than ``refit_tol`` (relative Frobenius norm) since the last fit.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import numpy as np

from devices.errors import ParameterError

__all__ = ["ModelTransfer", "hardware_gradients", "feedback_train_hw"]

log = logging.getLogger(__name__)


class ModelTransfer:
    """Backward-pass transfer from an error model (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.layer_gain: dict = {}

    def _gain(self, core) -> float:
        w = getattr(core, "_wp", None)
        if w is None:
            return 1.0
        pred = (core.quantized_coeffs() @ self.model.t_col).reshape(w.shape)
        den = float(np.sum(pred * pred))
        g = float(np.sum(w * pred)) / den if den > 0 else 1.0
        if not np.isfinite(g) or g <= 0:
            g = 1.0
        self.layer_gain[id(core)] = g
        return g

    def realized(self, core) -> np.ndarray:
        return self._gain(core) * self.model.t_col

    def basis_vjp(self, core, grad) -> np.ndarray:
        g = self.layer_gain.get(id(core), 1.0)
        return g * grad * self.model.basis_jacobian()


@contextmanager
def hardware_gradients(net, transfer):
    """Set every core's ``backward_transfer`` to ``transfer`` inside the block (restored on exit)."""
    if not hasattr(transfer, "realized") or not hasattr(transfer, "basis_vjp"):
        raise ParameterError(f"transfer must have realized() and basis_vjp(), got {type(transfer).__name__}")
    cores = net.cores()
    for core in cores:
        core.backward_transfer = transfer
    try:
        yield net
    finally:
        for core in cores:
            if "backward_transfer" in vars(core):
                del core.backward_transfer


def feedback_train_hw(net, data, model, cfg, *, hw_grad: bool = True, refit_chip=None, refit_tol: float = 0.05,
                      refit_steps: int = 200, **kwargs):
    """Feedback training with gradients through the modelled hardware (see the module docstring).

    Parameters
    ----------
    net, data, model, cfg
        As :func:`~basisn.circuit.feedback.feedback_train`.
    hw_grad : bool
        Backward pass through the model's realized transfer (False: the ideal basis).
    refit_chip : callable or None
        ``refit_chip(B) -> ChipSystem``: the training chip rewritten with basis ``B``;
        when given, the model is refitted on it whenever the basis has moved by more
        than ``refit_tol`` since the last fit (during basis epochs).
    refit_tol : float
        Relative basis change that triggers a refit, in (0, 10].
    refit_steps : int
        Steps of the network measured for the refit (>= 1).
    **kwargs
        Passed to :func:`feedback_train` (``init``, ``exact_every``, ``first_write``, ``progress``).

    Returns
    -------
    History (refits are logged).
    """
    from .errormodel import ErrorModel
    from .feedback import feedback_train, network_steps

    if not (isinstance(refit_tol, (int, float)) and 0 < refit_tol <= 10):
        raise ParameterError(f"refit_tol must be in (0, 10], got {refit_tol!r}")
    refits = 0
    if refit_chip is not None:
        b_fit = [model.basis]
        set_basis = model.set_basis

        def follow(B):
            nonlocal refits
            B = np.asarray(B, float)
            if np.linalg.norm(B - b_fit[0]) > refit_tol * np.linalg.norm(b_fit[0]):
                steps = network_steps(net, model.K)
                steps = steps[:: max(1, len(steps) // refit_steps)]
                fresh = ErrorModel.fit(refit_chip(B), steps)
                model.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "version"})
                model.version += 1
                b_fit[0] = B.copy()
                refits += 1
            else:
                set_basis(B)

        model.set_basis = follow
    try:
        if hw_grad:
            with hardware_gradients(net, ModelTransfer(model)):
                hist = feedback_train(net, data, model, cfg, **kwargs)
        else:
            hist = feedback_train(net, data, model, cfg, **kwargs)
    finally:
        if refit_chip is not None:
            del model.set_basis
    if refits:
        log.info("feedback: the error model was refitted %d times on the training chip", refits)
    return hist
