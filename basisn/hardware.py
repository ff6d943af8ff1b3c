"""The hardware hook: the object that computes every crossbar step of a BasisN layer.

A BasisN layer at inference never multiplies by its weight matrix. For each input slice
(partition ``j``) it hands the crossbar the wordline inputs and the TG patterns of all
(kernel, bit) pairs of that partition, and combines what comes back by shift-and-add
(:meth:`basisn.layers.BasisCore.forward_rows`). Whatever computes that step is a
*crossbar model*: any object with

``d : int``
    The crossbar size (rows = columns = basis length).
``combine(x_pieces, planes) -> ndarray``
    ``x_pieces``: float array ``(S, d)``, one wordline input vector per row (units of
    the network activations, i.e. read voltages divided by the input scale).
    ``planes``: bool array ``(P, d)``, one TG pattern per row (``planes[p, l]`` closes
    the TG of column ``l``). Returns float ``(S, P)``: the summed output current of
    pattern ``p`` for input ``s``, in units of the ideal product (current divided by the
    read-voltage scale times the conductance scale). For the ideal crossbar this is
    ``(x_pieces @ B.T) @ planes.T`` with ``B`` the basis (rows ``b_l`` = columns of the
    crossbar).

Optionally a crossbar model may also have

``combine_step(x_pieces, patterns) -> ndarray``
    Same shapes as ``combine`` but the ``P <= K`` rows of ``patterns`` are TG sets closed
    *at the same time* in one scheduled crossbar step (disjoint columns, see
    :mod:`basisn.scheduler`), so a circuit model can include their interaction (shared
    wordline drivers, IR drop of the summed currents).
    :meth:`basisn.layers.BasisCore.forward_scheduled` calls it once per step; without it,
    ``combine`` is used.

The contract is pattern-dependent: a circuit model may return anything a measured
crossbar would (IR drop that depends on how many TGs are closed, TG on-resistance,
sneak paths), not only a column-separable sum. Each row of ``planes`` is one
independent evaluation of the pattern on a crossbar whose other TG sets are open.

:class:`IdealCrossbar` is the reference implementation; a network takes any crossbar
model at inference: ``net.forward(x, crossbar=model)``, ``net.accuracy(x, y,
crossbar=model)`` (see :class:`basisn.layers.BasisNetwork`), and
``net.ideal_crossbar()`` builds the ideal one from the network's (cell-quantized) basis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from devices.errors import BasisContestError, ParameterError

from ._checks import check_finite

__all__ = ["CrossbarModel", "IdealCrossbar", "check_crossbar", "check_combine_args"]


@runtime_checkable
class CrossbarModel(Protocol):
    """What a BasisN layer needs from a crossbar (see the module docstring)."""

    d: int

    def combine(self, x_pieces: np.ndarray, planes: np.ndarray) -> np.ndarray:  # pragma: no cover
        ...


@dataclass(frozen=True)
class IdealCrossbar:
    """A crossbar that computes exactly ``(x_pieces @ B.T) @ planes.T``.

    Parameters
    ----------
    basis : ndarray, shape (d, d)
        Row ``l`` is basis vector ``b_l``, stored in crossbar column ``l`` (weight units).
    """

    basis: np.ndarray
    """Basis matrix ``B`` (d, d), rows are the basis vectors (weight units)."""
    d: int = field(init=False)
    """Crossbar size, ``basis.shape[0]``."""

    def __post_init__(self):
        b = check_finite(self.basis, "basis")
        if b.ndim != 2 or b.shape[0] != b.shape[1] or b.shape[0] < 1:
            raise ParameterError(f"basis must be a square (d, d) matrix with d >= 1, got shape {b.shape}")
        b = b.copy()
        b.setflags(write=False)
        object.__setattr__(self, "basis", b)
        object.__setattr__(self, "d", int(b.shape[0]))

    def combine(self, x_pieces, planes) -> np.ndarray:
        """Summed TG outputs for every input row and pattern.

        Parameters
        ----------
        x_pieces : ndarray, shape (S, d)
            Wordline inputs (activation units).
        planes : ndarray of bool, shape (P, d)
            TG patterns.

        Returns
        -------
        ndarray, shape (S, P)
            ``(x_pieces @ B.T) @ planes.T`` (activation x weight units).
        """
        x_pieces, planes = check_combine_args(x_pieces, planes, self.d)
        return (x_pieces @ self.basis.T) @ planes.T.astype(float)

    def combine_step(self, x_pieces, patterns) -> np.ndarray:
        """One scheduled step with concurrently closed TG sets; ideal, so ``combine``.

        Raises
        ------
        BasisContestError
            If two patterns close the same column (the step is not contest-free).
        """
        x_pieces, patterns = check_combine_args(x_pieces, patterns, self.d)
        use = patterns.sum(axis=0)
        if np.any(use > 1):
            cols = np.flatnonzero(use > 1).tolist()
            raise BasisContestError(f"columns {cols} are closed by more than one TG set in one step", columns=cols,
                                    sets={c: np.flatnonzero(patterns[:, c]).tolist() for c in cols})
        return self.combine(x_pieces, patterns)


def check_combine_args(x_pieces, planes, d: int):
    """Validate the arguments of ``combine`` (shapes ``(S, d)`` and ``(P, d)``, bool planes)."""
    x_pieces = np.asarray(x_pieces, dtype=float)
    planes = np.asarray(planes)
    if x_pieces.ndim != 2 or x_pieces.shape[1] != d:
        raise ParameterError(f"x_pieces must have shape (S, {d}), got {x_pieces.shape}")
    if planes.ndim != 2 or planes.shape[1] != d:
        raise ParameterError(f"planes must have shape (P, {d}), got {planes.shape}")
    if planes.dtype != bool:
        raise ParameterError(f"planes must be a bool array of TG states, got dtype {planes.dtype}")
    return x_pieces, planes


def check_crossbar(crossbar, d: int):
    """Check that ``crossbar`` has a ``combine`` method and size ``d``."""
    if not callable(getattr(crossbar, "combine", None)):
        raise ParameterError(f"crossbar {crossbar!r} has no combine(x_pieces, planes) method")
    cd = getattr(crossbar, "d", None)
    if cd != d:
        raise ParameterError(f"crossbar size d = {cd!r} does not match the layer's piece length d = {d}")
    return crossbar
