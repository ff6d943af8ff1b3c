"""Crossbar models for the BasisN hook (:mod:`basisn.hardware`): the measured chip and its error model.

``CircuitCrossbar(chip, mode="scheduled")``
    Every product solved by the circuit: the patterns handed to ``combine`` (all
    (kernel, bit) patterns of one layer partition) are packed into contest-free steps by
    :func:`basisn.scheduler.schedule_layer` (the same packing the layer's schedule uses),
    each step's exact transfer comes from :class:`~basisn.circuit.measure.ChipSystem`
    with all its TG sets closed together, and every pattern's output is read from its own
    set. ``mode="alone"`` evaluates each pattern on its own (other sets open), the
    literal contract of the hook; ``"scheduled"`` is what the hardware runs.
``ModelCrossbar(model)``
    The same interface through a fitted :class:`~basisn.circuit.errormodel.ErrorModel`.
``effective_weight(core, crossbar)``
    The ``(n_out, parts * d)`` weight matrix a BasisN core realizes on a linear crossbar
    model (its response to unit inputs), for training and for exact evaluation.

Both models are linear in the inputs, so a layer's patterns are turned once into one
``(P, d)`` matrix of effective rows, cached by the patterns' bytes; ``combine`` is then
one matrix product for any number of input rows.
"""

from __future__ import annotations

import time

import numpy as np

from basisn.hardware import check_combine_args
from basisn.quant import plane_weights
from basisn.scheduler import schedule_layer
from devices.errors import ParameterError

from .measure import ChipSystem

__all__ = ["CircuitCrossbar", "ModelCrossbar", "effective_weight", "pattern_steps"]

MODES = ("scheduled", "alone")


def pattern_steps(planes, d: int, K: int, verify: bool = True):
    """Schedule ``planes`` (P, d) into steps: list of ``(items, sets, patterns (K, d))``.

    ``items`` are the row indices of ``planes`` in the step and ``sets`` their TG sets.
    Empty patterns are not scheduled (their output is 0). With ``verify`` the schedule
    is re-checked (:meth:`basisn.scheduler.Schedule.verify` raises
    ``BasisContestError`` on a contest).
    """
    planes = np.asarray(planes, bool)
    p4 = planes[:, None, None, :]
    sched = schedule_layer(p4, d, K)
    if verify:
        sched.verify(p4)
    out = []
    order = np.argsort(sched.step, kind="stable")
    bounds = np.searchsorted(sched.step[order], np.arange(sched.n_steps + 1))
    for s in range(sched.n_steps):
        idx = order[bounds[s]:bounds[s + 1]]
        items, sets = sched.kernel[idx], sched.tg_set[idx]
        pats = np.zeros((K, d), bool)
        pats[sets] = planes[items]
        out.append((items, sets, pats))
    return out


class _RowsCrossbar:
    """Shared ``combine``: per-pattern effective rows (P, d), cached per pattern set."""

    def __init__(self, d: int, K: int, mode: str, cache_size: int = 256):
        if mode not in MODES:
            raise ParameterError(f"mode = {mode!r}; allowed: {MODES}")
        self.d, self.K, self.mode = int(d), int(K), mode
        self._rows_cache: dict = {}
        self._cache_size = cache_size
        self.time_rows = 0.0
        self.n_steps = 0

    def _step_rows(self, pats: np.ndarray) -> np.ndarray:  # (K, d) -> (K, d)
        raise NotImplementedError

    def rows(self, planes) -> np.ndarray:
        """Effective rows (P, d): pattern ``p``'s output for input ``x`` is ``x @ rows[p]``."""
        planes = np.asarray(planes, bool)
        key = (planes.shape, np.packbits(planes).tobytes())
        hit = self._rows_cache.get(key)
        if hit is not None:
            return hit
        t0 = time.perf_counter()
        P = planes.shape[0]
        E = np.zeros((P, self.d))
        if self.mode == "alone":
            for p in np.flatnonzero(planes.any(axis=1)):
                pats = np.zeros((self.K, self.d), bool)
                pats[0] = planes[p]
                E[p] = self._step_rows(pats)[0]
                self.n_steps += 1
        else:
            for items, sets, pats in pattern_steps(planes, self.d, self.K):
                E[items] = self._step_rows(pats)[sets]
                self.n_steps += 1
        if len(self._rows_cache) >= self._cache_size:
            self._rows_cache.pop(next(iter(self._rows_cache)))
        E.setflags(write=False)
        self._rows_cache[key] = E
        self.time_rows += time.perf_counter() - t0
        return E

    def combine(self, x_pieces, planes) -> np.ndarray:
        """Outputs (S, P) of every pattern for every input row, ideal-product units (see :mod:`basisn.hardware`)."""
        x_pieces, planes = check_combine_args(x_pieces, planes, self.d)
        return x_pieces @ self.rows(planes).T


class CircuitCrossbar(_RowsCrossbar):
    """The hook through the exact circuit (see the module docstring).

    Parameters
    ----------
    chip : ChipSystem
    mode : {"scheduled", "alone"}
    """

    def __init__(self, chip: ChipSystem, mode: str = "scheduled"):
        if not isinstance(chip, ChipSystem):
            raise ParameterError(f"CircuitCrossbar needs a ChipSystem, got {type(chip).__name__}")
        super().__init__(chip.d, chip.K, mode)
        self.chip = chip

    def _step_rows(self, pats):
        return self.chip.step_transfer(pats)


class ModelCrossbar(_RowsCrossbar):
    """The hook through an error model (``model.step_rows(patterns (K, d)) -> (K, d)``).

    Parameters
    ----------
    model : ErrorModel
    mode : {"scheduled", "alone"}
    """

    def __init__(self, model, mode: str = "scheduled"):
        super().__init__(model.d, model.K, mode, cache_size=64)
        self.model = model

    def rows(self, planes):
        planes = np.asarray(planes, bool)
        if self.model.version != getattr(self, "_version", None):  # basis changed: drop cached rows
            self._rows_cache.clear()
            self._version = self.model.version
        if self.mode == "scheduled":
            key = (planes.shape, np.packbits(planes).tobytes())
            hit = self._rows_cache.get(key)
            if hit is not None:
                return hit
            t0 = time.perf_counter()
            E = self.model.rows(planes, self.K)
            if len(self._rows_cache) >= self._cache_size:
                self._rows_cache.pop(next(iter(self._rows_cache)))
            self._rows_cache[key] = E
            self.time_rows += time.perf_counter() - t0
            return E
        return super().rows(planes)

    def _step_rows(self, pats):
        return self.model.step_rows(pats)


def effective_weight(core, crossbar) -> np.ndarray:
    """Weights ``(n_out, parts * d)`` (padded) that ``core`` realizes on ``crossbar``, weight units.

    Piece ``(i, j)`` is ``s * sum_n w_n rows[(i, n)]`` with ``rows`` the crossbar's
    effective row of each bit-plane pattern of partition ``j`` and ``w_n`` the
    shift-and-add weights; on an ideal crossbar this is ``core.weight(padded=True)``.
    """
    if getattr(crossbar, "d", None) != core.d:
        raise ParameterError(f"crossbar size d = {getattr(crossbar, 'd', None)!r} does not match the layer's d = {core.d}")
    planes = core.planes()  # (n_out, parts, bits, d)
    w = plane_weights(core.bits)
    W = np.empty((core.n_out, core.parts, core.d))
    for j in range(core.parts):
        E = crossbar.rows(planes[:, j].reshape(-1, core.d)).reshape(core.n_out, core.bits, core.d)
        W[:, j] = np.einsum("n,ind->id", w, E)
    return core.scale * W.reshape(core.n_out, core.parts * core.d)
