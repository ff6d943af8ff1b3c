"""TG scheduler: pack the bit-plane TG patterns of a layer into contest-free crossbar steps.

The hardware model (paper sections 3.1, 3.2, 3.5)
-------------------------------------------------
Every crossbar holds the same global basis: column ``l`` stores basis vector ``b_l``.
A layer's weights ``(kernels, fan_in)`` are cut into ``partitions`` pieces of length
``d``; piece ``(i, j)`` has integer coefficients ``q[i, j, :]`` of ``bits`` bits. Its
bit plane ``n`` is a TG pattern: a ``(d,)`` bool vector saying which columns the TG set
routes to its output line in the time step that evaluates bit ``n``.

One *crossbar step* drives the wordlines with one input slice (partition ``j``) and
closes up to ``K`` TG sets, each with its own pattern and output line. Two patterns in
the same step must not share a column (a *basis contest*: the column current would be
split between two outputs), and they must belong to the same partition ``j`` (they share
the wordline inputs). An all-zero pattern needs no step (its contribution is 0).

``schedule_layer(planes, d, K, positions=1, rule="one_bit")`` packs all
``(kernel, partition, bit)`` items of a layer greedily (first fit, items sorted by
number of 1 bits, descending) and returns a :class:`Schedule`.  Two packing rules:

* ``"one_bit"`` (default, the paper's section 3.5): the patterns evaluated together in a
  step share one bit significance ``n``, so every output line of a step carries the same
  binary weight ``2**n`` and the shift-add after the ADC is one shift per step;
* ``"mixed"``: patterns of different bit significances may share a step (each output
  line then needs its own shift); never more steps than ``"one_bit"``, often fewer.

The :class:`Schedule` has

* ``n_steps``: crossbar steps per input vector (one crossbar);
* ``steps_per_inference``: ``n_steps * positions`` (``positions`` = number of input
  vectors one inference presents to the layer, e.g. output pixels of a convolution);
* ``mean_pieces_per_step``: scheduled (nonzero) patterns per step, the parallelism
  (1 <= value <= K);
* ``lower_bound``: a bound no packing under the rule can beat (per partition, and for
  ``"one_bit"`` per bit significance, the larger of ``ceil(items / K)`` and the largest
  number of items using one column);
* the assignment ``kernel, partition, bit, step, tg_set`` of every item, and
  :meth:`Schedule.verify` that re-checks it (raises ``BasisContestError``).

Bit planes come from integer codes with :func:`basisn.quant.bit_planes`;
:func:`schedule_codes` does both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.errors import BasisContestError, ParameterError

from ._checks import check_bits, check_d, check_int
from .quant import bit_planes

__all__ = ["Schedule", "schedule_layer", "schedule_codes", "RULES"]

RULES = ("one_bit", "mixed")
"""Packing rules: one bit significance per step (the paper's) or mixed significances."""


@dataclass(frozen=True)
class Schedule:
    """The contest-free assignment of a layer's TG patterns to crossbar steps.

    All arrays have one entry per scheduled item (a nonzero bit-plane pattern), ordered
    by step and then TG set.
    """

    d: int
    """Crossbar size = piece length (columns, rows)."""
    K: int
    """Number of TG sets (parallel output lines) per crossbar."""
    n_kernels: int
    """Kernels (rows of the layer's weight matrix)."""
    n_partitions: int
    """Pieces per kernel (``ceil(fan_in / d)``)."""
    n_bits: int
    """Coefficient bits (bit planes per piece)."""
    positions: int
    """Input vectors per inference presented to this layer (1 for a dense layer)."""
    kernel: np.ndarray
    """Kernel index of each item, int array (n_items,)."""
    partition: np.ndarray
    """Partition (input slice) index of each item, int array (n_items,)."""
    bit: np.ndarray
    """Bit significance of each item (0 = LSB), int array (n_items,)."""
    step: np.ndarray
    """Crossbar step of each item (0-based), int array (n_items,)."""
    tg_set: np.ndarray
    """TG set (0..K-1) that carries the item in its step, int array (n_items,)."""
    n_steps: int
    """Crossbar steps per input vector."""
    lower_bound: int
    """No contest-free packing under :attr:`rule` needs fewer steps than this."""
    rule: str = "one_bit"
    """Packing rule (:data:`RULES`): ``"one_bit"`` steps hold one bit significance."""

    @property
    def n_items(self) -> int:
        """Scheduled patterns (nonzero bit planes)."""
        return int(self.step.size)

    @property
    def n_planes(self) -> int:
        """All bit planes including empty ones: ``kernels * partitions * bits``."""
        return self.n_kernels * self.n_partitions * self.n_bits

    @property
    def mean_pieces_per_step(self) -> float:
        """Mean number of patterns evaluated together in one step (1 to K; 0 if no step)."""
        return self.n_items / self.n_steps if self.n_steps else 0.0

    @property
    def steps_per_inference(self) -> int:
        """``n_steps * positions``: crossbar steps this layer needs per inference."""
        return self.n_steps * self.positions

    def verify(self, planes) -> None:
        """Re-check the schedule against the planes it was made from.

        Checks that every nonzero pattern is scheduled exactly once, that every step uses
        one partition (and, for the ``"one_bit"`` rule, one bit significance), at most
        ``K`` TG sets with distinct indices, and no column twice.

        Parameters
        ----------
        planes : array_like of bool, shape (kernels, partitions, bits, d)
            The planes given to :func:`schedule_layer` (3-D input is accepted as there).

        Raises
        ------
        BasisContestError
            Naming the step, the contested columns and the TG sets claiming them.
        ParameterError
            If items are missing, duplicated or the shapes disagree.
        """
        planes = _as_planes(planes, self.d)
        if planes.shape[:3] != (self.n_kernels, self.n_partitions, self.n_bits):
            raise ParameterError(
                f"planes of shape {planes.shape} do not match the schedule "
                f"({self.n_kernels}, {self.n_partitions}, {self.n_bits}, {self.d})"
            )
        count = np.zeros(planes.shape[:3], dtype=int)
        np.add.at(count, (self.kernel, self.partition, self.bit), 1)
        nonzero = planes.any(axis=-1)
        if np.any(count[nonzero] != 1) or np.any(count[~nonzero] != 0):
            raise ParameterError("schedule does not cover every nonzero bit plane exactly once")
        for s in range(self.n_steps):
            idx = np.flatnonzero(self.step == s)
            if idx.size == 0 or idx.size > self.K:
                raise ParameterError(f"step {s} holds {idx.size} items; allowed 1..K={self.K}")
            if np.unique(self.partition[idx]).size != 1:
                raise ParameterError(f"step {s} mixes partitions {sorted(set(self.partition[idx].tolist()))}")
            if self.rule == "one_bit" and np.unique(self.bit[idx]).size != 1:
                raise ParameterError(f"step {s} mixes bit significances {sorted(set(self.bit[idx].tolist()))} "
                                     "under the one_bit rule")
            sets = self.tg_set[idx]
            if np.unique(sets).size != sets.size or sets.min() < 0 or sets.max() >= self.K:
                raise ParameterError(f"step {s} uses TG sets {sets.tolist()}; need distinct values in 0..{self.K - 1}")
            pats = planes[self.kernel[idx], self.partition[idx], self.bit[idx]]
            use = pats.sum(axis=0)
            if np.any(use > 1):
                cols = np.flatnonzero(use > 1).tolist()
                who = {c: sets[pats[:, c]].tolist() for c in cols}
                raise BasisContestError(
                    f"step {s}: columns {cols} are switched on by more than one TG set {who}",
                    columns=cols, sets=who,
                )

    def step_patterns(self, planes, s: int) -> tuple[int, np.ndarray]:
        """The partition and the ``(K, d)`` TG patterns of step ``s`` (unused sets all off).

        Parameters
        ----------
        planes : array_like of bool, shape (kernels, partitions, bits, d)
        s : int
            Step index, 0..n_steps-1.

        Returns
        -------
        partition : int
        patterns : ndarray of bool, shape (K, d)
        """
        s = check_int(s, "s (step index)", 0, self.n_steps - 1)
        planes = _as_planes(planes, self.d)
        idx = np.flatnonzero(self.step == s)
        pats = np.zeros((self.K, self.d), dtype=bool)
        pats[self.tg_set[idx]] = planes[self.kernel[idx], self.partition[idx], self.bit[idx]]
        return int(self.partition[idx[0]]), pats


def _as_planes(planes, d: int) -> np.ndarray:
    planes = np.asarray(planes)
    if planes.ndim == 3:
        planes = planes[:, None, :, :]
    if planes.ndim != 4:
        raise ParameterError(
            f"planes must have shape (kernels, partitions, bits, d) or (pieces, bits, d), got shape {planes.shape}"
        )
    if planes.shape[-1] != d:
        raise ParameterError(f"planes have last axis {planes.shape[-1]} but d = {d}; they must match")
    if planes.dtype != bool:
        if not np.issubdtype(planes.dtype, np.number) or not np.isin(planes, (0, 1)).all():
            raise ParameterError("planes must be bool (or 0/1) TG patterns")
        planes = planes.astype(bool)
    check_bits(planes.shape[2], "bits (planes.shape[-2])")
    return planes


def _pack(pats: np.ndarray, K: int):
    """First-fit packing of patterns ``pats`` (n, d) into contest-free groups of <= K.

    Returns the items (rows of ``pats`` with a 1) in packing order, their group and slot
    within the group, the number of groups, and the lower bound for these items."""
    ones = pats.sum(axis=1)
    items = np.flatnonzero(ones > 0)
    if items.size == 0:
        return items, items, items, 0, 0
    lower = max(-(-items.size // K), int(pats[items].sum(axis=0).max()))
    order = items[np.argsort(-ones[items], kind="stable")]
    packed = np.packbits(pats[order], axis=1)  # (n, ceil(d/8)) uint8 bit masks
    masks = np.zeros_like(packed)
    counts = np.zeros(order.size, dtype=int)
    group = np.empty(order.size, dtype=np.int64)
    slot = np.empty(order.size, dtype=np.int64)
    n_open = 0
    for r in range(order.size):
        p = packed[r]
        hit = np.flatnonzero(~(masks[:n_open] & p).any(axis=1) & (counts[:n_open] < K)) if n_open else ()
        if len(hit):
            g = int(hit[0])
        else:
            g = n_open
            n_open += 1
        masks[g] |= p
        group[r], slot[r] = g, counts[g]
        counts[g] += 1
    return order, group, slot, n_open, lower


def schedule_layer(planes, d: int, K: int, positions: int = 1, rule: str = "one_bit") -> Schedule:
    """Pack a layer's bit-plane TG patterns into contest-free crossbar steps.

    Parameters
    ----------
    planes : array_like of bool, shape (kernels, partitions, bits, d)
        ``planes[i, j, n, l]``: bit ``n`` (0 = LSB) of coefficient ``l`` of piece ``(i, j)``
        is 1, i.e. TG ``l`` is closed when bit ``n`` of that piece is evaluated. A 3-D
        array ``(pieces, bits, d)`` is taken as one partition (all pieces share one input
        slice). Get them from integer codes with :func:`basisn.quant.bit_planes`.
    d : int
        Crossbar size (>= 1), must equal ``planes.shape[-1]``.
    K : int
        TG sets per crossbar (>= 1): patterns evaluated in parallel in one step.
    positions : int, optional
        Input vectors per inference for this layer (>= 1; output pixels of a
        convolution, 1 for a dense layer). Only scales ``steps_per_inference``.
    rule : {"one_bit", "mixed"}
        ``"one_bit"`` (default, the paper's): a step evaluates one bit significance;
        ``"mixed"``: significances may share a step.

    Returns
    -------
    Schedule
        ``n_steps``, ``mean_pieces_per_step``, ``steps_per_inference``, ``lower_bound``
        and the item -> (step, TG set) assignment; never contains a basis contest.

    Raises
    ------
    ParameterError
        Bad ``d``, ``K``, ``positions``, ``rule`` or planes shape/dtype.

    Examples
    --------
    Two disjoint patterns of different significance share a step only under ``"mixed"``:

    >>> import numpy as np
    >>> planes = np.zeros((1, 1, 2, 4), bool)
    >>> planes[0, 0, 0, :2] = planes[0, 0, 1, 2:] = True
    >>> schedule_layer(planes, 4, 2).n_steps, schedule_layer(planes, 4, 2, rule="mixed").n_steps
    (2, 1)
    """
    d = check_d(d)
    K = check_int(K, "K (TG sets per crossbar)", 1, None)
    positions = check_int(positions, "positions", 1, None)
    if rule not in RULES:
        raise ParameterError(f"rule must be one of {list(RULES)}, got {rule!r}")
    planes = _as_planes(planes, d)
    n_k, n_p, n_b, _ = planes.shape

    kern, part, bit, step, tg = [], [], [], [], []
    n_steps = 0
    lower = 0
    for j in range(n_p):
        pats = planes[:, j].reshape(n_k * n_b, d)  # item = kernel * n_b + bit
        groups = [np.arange(n_k * n_b)] if rule == "mixed" else \
            [np.arange(n_k) * n_b + n for n in range(n_b)]  # one bit significance per group
        for sel in groups:
            order, group, slot, n_open, low = _pack(pats[sel], K)
            item = sel[order]
            kern.append(item // n_b)
            part.append(np.full(item.size, j))
            bit.append(item % n_b)
            step.append(n_steps + group)
            tg.append(slot)
            n_steps += n_open
            lower += low

    cat = lambda v: np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64)  # noqa: E731
    kern, part, bit, step, tg = map(cat, (kern, part, bit, step, tg))
    order = np.lexsort((tg, step))
    return Schedule(
        d=d, K=K, n_kernels=n_k, n_partitions=n_p, n_bits=n_b, positions=positions,
        kernel=kern[order], partition=part[order], bit=bit[order], step=step[order],
        tg_set=tg[order], n_steps=n_steps, lower_bound=lower, rule=rule,
    )


def schedule_codes(q, bits: int, K: int, positions: int = 1, rule: str = "one_bit") -> Schedule:
    """Schedule a layer from its integer coefficient codes.

    Parameters
    ----------
    q : array_like of int, shape (kernels, partitions, d)
        Two's complement codes of ``bits`` bits (e.g. ``BasisCore.codes()``).
    bits : int
        Coefficient bits, 1-16.
    K, positions : int
        As in :func:`schedule_layer`.
    rule : {"one_bit", "mixed"}
        As in :func:`schedule_layer`.

    Returns
    -------
    Schedule
    """
    q = np.asarray(q)
    if q.ndim != 3:
        raise ParameterError(f"q must have shape (kernels, partitions, d), got {q.shape}")
    return schedule_layer(bit_planes(q, bits), q.shape[-1], K, positions, rule)
