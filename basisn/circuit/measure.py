"""Measure a programmed chip: the exact transfer of every crossbar step, reusing one factorization.

``ChipSystem(mapping)``
    The chip of a :class:`~basisn.circuit.mapping.CrossbarMapping`, factorized once
    (its port model); ``step_transfer(patterns)`` gives the exact ``(K, d)`` transfer of a
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
The array (wordlines, bitlines, cells) meets the periphery (TGs, summing lines) only at
the column bottoms. :class:`~basisn.circuit.ports.ArrayPorts` reduces the array once per
chip to its exact admittance at the column bottoms and drivers (the Schur complement,
from one sparse Cholesky factorization whose ordering and symbolic analysis are shared by
every chip of that shape); a step then solves only the periphery on top of it
(:func:`~basisn.circuit.ports.periphery_transfer`: one dense ``n_cols x n_cols``
Cholesky and one banded solve per summing line). No approximation: the step's transfer
equals a fresh factorization of its netlist up to rounding (tested to ~1e-10).
"""

from __future__ import annotations

import time

import numpy as np

import crossbar
from crossbar.native.options import blas_threads as _blas
from devices.errors import ParameterError
from netlists import build_crossbar

from .mapping import CrossbarMapping
from .ports import ArrayPorts, PeripheryModel

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
    """A programmed chip, factorized once; exact step transfers from its port model.

    Parameters
    ----------
    mapping : CrossbarMapping
        The basis as written into the chip.
    blas_threads : int or None
        BLAS threads while factorizing and solving steps (the dense step solves are
        small: one thread avoids oversubscription on a shared machine); the caller's
        setting is restored afterwards. None: leave BLAS alone.

    Attributes
    ----------
    n_solved : int
        Steps computed (cache misses).
    n_cached : int
        Steps served from the cache.
    setup_time, solve_time : float
        Seconds spent on the port model (one factorization) and on steps.
    """

    cache_size = 8192
    """Step transfers kept (oldest dropped first)."""

    def __init__(self, mapping: CrossbarMapping, blas_threads: int | None = 1):
        if not isinstance(mapping, CrossbarMapping):
            raise ParameterError(f"ChipSystem needs a CrossbarMapping, got {type(mapping).__name__}")
        self.mapping = mapping
        self.blas_threads = blas_threads
        p = mapping.preset
        t0 = time.perf_counter()
        r_acc = 0.0 if p.access is None else float(p.access.r_on)
        with _blas(blas_threads):
            self.ports = ArrayPorts(mapping.g_rram, p.wires, r_acc)
            self.periphery = PeripheryModel(self.ports, p.tg, p.wires.r_summing, mapping.n_lines)
        self._switchable = mapping.switchable()
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
        if a.shape != self._switchable.shape:
            raise ParameterError(f"assignment must have shape {self._switchable.shape} (lines, columns), got {a.shape}")
        if np.any(a & ~self._switchable):
            raise ParameterError("assignment closes a TG that the encoding never switches")
        if not a.any():
            return np.zeros((self.mapping.n_lines, self.d))
        with _blas(self.blas_threads):
            return self.periphery.transfer(a)

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
        if len(self._cache) >= self.cache_size:  # oldest first: training visits ever new patterns
            self._cache.pop(next(iter(self._cache)))
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
