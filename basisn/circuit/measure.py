"""Measure a programmed chip: the exact transfer of every crossbar step, reusing one factorization.

``ChipSystem(mapping)``
    The chip of a :class:`~basisn.circuit.mapping.CrossbarMapping`, factorized once with
    every TG open; ``step_transfer(patterns)`` gives the exact ``(K, d)`` transfer of a
    step with K logical TG patterns closed *together* (they interact through the shared
    wordlines), in units of the ideal product: the outputs for input ``x`` (activation
    units) are ``x @ T.T``. Results are cached per pattern set.
``direct_step_transfer(mapping, patterns)``
    The same from scratch: build the step's netlist with :func:`netlists.build_crossbar`,
    factorize, :func:`crossbar.transfer_matrix` (one adjoint solve per line). The check of
    the fast path.
``ngspice_step_currents(mapping, patterns, voltages)``
    Output line currents of one step from ngspice, ampere (spot checks).

How the fast path is exact
--------------------------
A step differs from the all-open chip only in the conductances of the closed TGs
(``1/r_on - 1/r_off`` each between a column bottom and its summing-line tap). With
``A0`` the free-node matrix of the all-open chip, factorized once, and ``F`` the
incidence of the ``m`` closed TGs, Woodbury gives the node voltages of the step from
``A0^-1`` applied to ``F`` (precomputed once for every switchable TG) and one dense
``m x m`` solve (:class:`crossbar.tgsum.metrics.SwitchingSystem`, driven here with unit
wordline voltages so that its outputs are transfer matrices). No approximation: the
step's matrix is the same as a fresh factorization up to rounding (tested).
"""

from __future__ import annotations

import time

import numpy as np

import crossbar
from crossbar.tgsum.metrics import SwitchingSystem
from devices.errors import ParameterError
from netlists import build_crossbar

from .mapping import CrossbarMapping

__all__ = ["ChipSystem", "direct_step_transfer", "ngspice_step_currents", "build_step_netlist"]


def build_step_netlist(mapping: CrossbarMapping, patterns, voltages=None):
    """Netlist of one step (physical TG states from the logical ``patterns``), linear cells folded."""
    p = mapping.preset
    return build_crossbar(mapping.g_rram, mapping.physical_assignment(patterns), voltages, wires=p.wires, tg=p.tg,
                          access=p.access, fold_cells=True)


def direct_step_transfer(mapping: CrossbarMapping, patterns) -> np.ndarray:
    """Exact (K, d) transfer of one step by a fresh factorization (ideal-product units)."""
    net = build_step_netlist(mapping, patterns)
    T = crossbar.transfer_matrix(net).values  # (n_lines, d) siemens
    return mapping.readout(patterns) @ T / mapping.gain


def ngspice_step_currents(mapping: CrossbarMapping, patterns, voltages) -> np.ndarray:
    """Physical line currents (S, n_lines), ampere, of one step for wordline ``voltages`` (S, d) volt, by ngspice."""
    v = np.atleast_2d(np.asarray(voltages, float))
    net = build_step_netlist(mapping, patterns)
    lay = net.layout
    ds = crossbar.solve(net, backend="ngspice", sources={name: v[:, i] for i, name in enumerate(lay.inputs)},
                        keep_voltages=False)
    i = ds["i"].sel(branch=list(lay.outputs)).values
    return np.asarray(i).reshape(v.shape[0], len(lay.outputs))


class ChipSystem:
    """A programmed chip, factorized once; exact step transfers by low-rank updates.

    Parameters
    ----------
    mapping : CrossbarMapping
        The basis as written into the chip.

    Attributes
    ----------
    n_solved : int
        Steps computed (cache misses).
    n_cached : int
        Steps served from the cache.
    setup_time, solve_time : float
        Seconds spent on the base factorization and on steps.
    """

    def __init__(self, mapping: CrossbarMapping):
        if not isinstance(mapping, CrossbarMapping):
            raise ParameterError(f"ChipSystem needs a CrossbarMapping, got {type(mapping).__name__}")
        self.mapping = mapping
        p = mapping.preset
        t0 = time.perf_counter()
        sw = mapping.switchable()
        self._sys = SwitchingSystem(mapping.g_rram, sw, np.eye(mapping.d), wires=p.wires, r_off=p.tg.r_off,
                                    access=p.access)
        self._pair = np.full(sw.shape, -1, np.int64)
        self._pair[self._sys.pair_k, self._sys.pair_j] = np.arange(self._sys.pair_k.size)
        self.setup_time = time.perf_counter() - t0
        self.solve_time = 0.0
        self.n_solved = 0
        self.n_cached = 0
        self._cache: dict = {}

    @property
    def d(self) -> int:
        return self.mapping.d

    @property
    def K(self) -> int:
        return self.mapping.K

    def physical_transfer(self, assignment) -> np.ndarray:
        """(n_lines, d) line currents per wordline volt, siemens, for physical TG states ``assignment``."""
        a = np.asarray(assignment, bool)
        idx = self._pair[a]
        if np.any(idx < 0):
            raise ParameterError("assignment closes a TG that the encoding never switches")
        if idx.size == 0:
            return np.zeros((self.mapping.n_lines, self.d))
        return self._sys.outputs(self.mapping.preset.tg.r_on, np.sort(idx)).T

    def step_transfer(self, patterns) -> np.ndarray:
        """Exact (K, d) transfer of a step whose K logical patterns are closed together.

        Row ``k`` maps the layer input slice ``x`` (activation units) to the output of TG
        set ``k`` in units of the ideal product (``x @ T[k]`` equals ``x . sum_{l in P_k}
        b_l`` on an ideal chip). Read-only, cached.
        """
        p = self.mapping.check_patterns(patterns)
        key = np.packbits(p).tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            self.n_cached += 1
            return hit
        t0 = time.perf_counter()
        T = self.mapping.readout(p) @ self.physical_transfer(self.mapping.physical_assignment(p)) / self.mapping.gain
        T.setflags(write=False)
        self._cache[key] = T
        self.solve_time += time.perf_counter() - t0
        self.n_solved += 1
        return T

    def single_column_transfers(self) -> np.ndarray:
        """(d, d): row ``l`` is the exact transfer of logical column ``l`` closed alone (set 0)."""
        out = np.empty((self.d, self.d))
        for l in range(self.d):
            p = np.zeros((self.K, self.d), bool)
            p[0, l] = True
            out[l] = self.step_transfer(p)[0]
        return out
