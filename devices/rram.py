"""RRAM cell: multi-level conductance, write-verify programming, stuck cells, drift, read noise.

``RRAMCell``
    Frozen parameters (SI units) and the device behaviour that needs no circuit:

    * :meth:`RRAMCell.quantize` -- nearest of the ``2**bits`` levels;
    * :meth:`RRAMCell.write_verify` -- program a whole array: per-write random residual
      drawn from ``(chip_seed, write)`` (two writes of the same targets differ),
      re-pulsed until it lies in the tolerance band (or the pulse budget ends); returns
      the conductances and the pulses each cell took;
    * :meth:`RRAMCell.stuck_mask` -- stuck-at-on / stuck-at-off cells, fixed per chip
      (drawn from ``chip_seed`` alone);
    * :meth:`RRAMCell.drift` -- conductance relaxation after programming,
      ``g(t) = g(t0) * (t / t0)**(-nu)``, ``nu`` per cell (device-to-device spread,
      fixed per chip);
    * ``read_sigma`` -- relative read noise per read (cycle to cycle); the circuit layer
      draws it per read (:mod:`basisn.circuit.readout`);
    * ``v0`` -- I-V nonlinearity ``I = g v0 sinh(V / v0)`` (None: linear), exported to
      the netlist as a sinh cell by :func:`netlists.build_crossbar` (``cell_v0``).

Random streams are independent: programming residuals use ``(chip_seed, write, 1)``,
stuck cells ``(chip_seed, 2)``, drift exponents ``(chip_seed, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices import _check
from devices.errors import ParameterError

__all__ = ["RRAMCell", "STREAM_WRITE", "STREAM_STUCK", "STREAM_DRIFT", "V0_RANGE"]

V0_RANGE = (0.01, 10.0)
"""Allowed I-V nonlinearity voltage ``RRAMCell.v0``, volt (inclusive)."""

STREAM_WRITE, STREAM_STUCK, STREAM_DRIFT = 1, 2, 3
"""Sub-stream tags of :func:`numpy.random.SeedSequence` per random effect."""


def _fraction(owner, name, value) -> float:
    return _check.nonnegative(owner, name, value, hi=1.0, hi_open=True)


def _seed_int(owner, name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{owner}.{name} must be an integer >= 0, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class RRAMCell:
    """A multi-level RRAM cell (the "1R" of a 1T1R cell), all values in SI units.

    Levels: ``2**bits`` conductances evenly spaced from ``g_min`` to ``g_max``.
    Programming is write-verify: a pulse lands at ``level * (1 + sigma * z)``; if the
    relative error exceeds ``verify_tolerance`` (> 0) the cell is re-pulsed (a fresh
    ``z``), at most ``max_pulses`` times. ``verify_tolerance = 0`` is a single pulse
    without verify.
    """

    g_min: float = 1e-6
    """Lowest programmable conductance (high-resistance state), siemens, in
    ``devices._check.CONDUCTANCE`` ([1e-18, 1e12] S)."""
    g_max: float = 100e-6
    """Highest programmable conductance (low-resistance state), siemens. > g_min."""
    bits: int = 4
    """Number of bits per cell: ``2**bits`` levels, 1 <= bits <= 8."""
    sigma: float = 0.0
    """Programming residual of one pulse: relative standard deviation of the conductance
    around its level, dimensionless, [0, 1). Drawn anew on every write (per cell, from
    ``(chip_seed, write)``)."""
    verify_tolerance: float = 0.0
    """Write-verify band: a cell whose relative error ``|g / level - 1|`` exceeds this is
    pulsed again, dimensionless, [0, 1); 0 = no verify (one pulse)."""
    max_pulses: int = 20
    """Pulse budget of write-verify per cell, 1 <= max_pulses <= 1000; a cell still outside
    the band after the budget keeps its last value."""
    stuck_on: float = 0.0
    """Fraction of cells stuck at ``g_max`` (fixed per chip), dimensionless, [0, 1)."""
    stuck_off: float = 0.0
    """Fraction of cells stuck at ``g_min`` (fixed per chip), dimensionless, [0, 1);
    ``stuck_on + stuck_off < 1``."""
    drift_nu: float = 0.0
    """Mean power-law drift exponent ``nu`` of ``g(t) = g(t0) (t/t0)**(-nu)``,
    dimensionless, [0, 1)."""
    drift_nu_sigma: float = 0.0
    """Device-to-device standard deviation of ``nu`` (per cell, fixed per chip; ``nu``
    is floored at 0), dimensionless, [0, 1)."""
    drift_t0: float = 1.0
    """Time after programming at which the verify read is taken (``g(t0)`` = programmed
    value), second, > 0."""
    read_sigma: float = 0.0
    """Read noise: relative standard deviation of the conductance per read (cycle to
    cycle), dimensionless, [0, 1)."""
    v0: float | None = None
    """I-V nonlinearity, volt: the cell conducts ``I = g * v0 * sinh(V / v0)`` (``g`` is the
    programmed low-field conductance, the level write-verify targets at a small verify
    voltage); ``None`` = a linear resistor. Allowed [0.01, 10] V. Smaller is more
    nonlinear: at ``V = v0`` the chord conductance ``I / V`` is ``sinh(1) = 1.18`` g."""

    def __post_init__(self):
        name = type(self).__name__
        g_min = _check.conductance(name, "g_min", self.g_min)
        g_max = _check.conductance(name, "g_max", self.g_max)
        if g_max <= g_min:
            raise ParameterError(f"{name}.g_max must be > g_min = {g_min!r} S, got {self.g_max!r}")
        vals = {"g_min": g_min, "g_max": g_max, "bits": _check.integer(name, "bits", self.bits, 1, 8)}
        for f in ("sigma", "verify_tolerance", "stuck_on", "stuck_off", "drift_nu", "drift_nu_sigma", "read_sigma"):
            vals[f] = _fraction(name, f, getattr(self, f))
        vals["max_pulses"] = _check.integer(name, "max_pulses", self.max_pulses, 1, 1000)
        if vals["stuck_on"] + vals["stuck_off"] >= 1:
            raise ParameterError(f"{name}: stuck_on + stuck_off must be < 1, got {self.stuck_on!r} + {self.stuck_off!r}")
        vals["drift_t0"] = _check.positive(name, "drift_t0", self.drift_t0, unit="s")
        if self.v0 is not None:
            v0 = self.v0
            if isinstance(v0, bool) or not isinstance(v0, (int, float, np.floating)) or not np.isfinite(v0) \
                    or not V0_RANGE[0] <= v0 <= V0_RANGE[1]:
                raise ParameterError(f"{name}.v0 must be None (linear cell) or a voltage in "
                                     f"[{V0_RANGE[0]}, {V0_RANGE[1]}] V, got {v0!r}")
            vals["v0"] = float(v0)
        for f, v in vals.items():
            object.__setattr__(self, f, v)

    @property
    def nonlinear(self) -> bool:
        """True when the cell has an I-V nonlinearity (``v0`` set)."""
        return self.v0 is not None

    def current(self, g, v) -> np.ndarray:
        """Cell current, ampere, for conductances ``g`` (siemens) at voltages ``v`` (volt)."""
        g, v = np.asarray(g, float), np.asarray(v, float)
        return g * v if self.v0 is None else g * self.v0 * np.sinh(v / self.v0)

    @property
    def n_levels(self) -> int:
        """Number of programmable levels, ``2**bits``."""
        return 2 ** int(self.bits)

    @property
    def levels(self) -> np.ndarray:
        """The programmable conductances, siemens, ascending, shape ``(n_levels,)``."""
        return np.linspace(self.g_min, self.g_max, self.n_levels)

    def level_index(self, g_target) -> np.ndarray:
        """Index of the level nearest to each target conductance (targets clipped to the range).

        Parameters
        ----------
        g_target : array_like
            Target conductances, siemens.
        """
        g = np.asarray(g_target, dtype=float)
        if not np.all(np.isfinite(g)):
            raise ParameterError("RRAMCell.level_index: target conductances must be finite (got NaN or inf)")
        step = (self.g_max - self.g_min) / (self.n_levels - 1)
        idx = np.rint((np.clip(g, self.g_min, self.g_max) - self.g_min) / step)
        return idx.astype(np.int64)

    def quantize(self, g_target) -> np.ndarray:
        """Nearest programmable level for each target conductance, siemens."""
        return self.levels[self.level_index(g_target)]

    # ------------------------------------------------------------------ programming
    def write_verify(self, g_target, chip_seed, write: int = 0):
        """Program targets by write-verify; the residual of write ``write`` of chip ``chip_seed``.

        Parameters
        ----------
        g_target : array_like
            Target conductances, siemens (rounded to the nearest level).
        chip_seed : int >= 0 or numpy.random.Generator
            The chip. An integer selects the stream ``(chip_seed, write)``: the same chip
            and write index give the same residuals, another write index others.
        write : int >= 0
            Index of this write on the chip (ignored with a Generator).

        Returns
        -------
        g : numpy.ndarray
            Programmed conductances, siemens, floored at ``g_min / 10`` (never <= 0).
            Stuck cells are not applied here (:meth:`stuck_mask`).
        pulses : numpy.ndarray of int
            Pulses each cell took (1 without verify).

        Raises
        ------
        ParameterError
            Non-finite targets, or a bad seed / write index.
        """
        level = self.quantize(g_target)
        pulses = np.ones(level.shape, np.int64)
        if self.sigma == 0:
            return level, pulses
        rng = self._rng(chip_seed, write, STREAM_WRITE)
        err = self.sigma * rng.standard_normal(level.shape)
        if self.verify_tolerance > 0:
            bad = np.abs(err) > self.verify_tolerance
            for _ in range(self.max_pulses - 1):
                if not bad.any():
                    break
                err[bad] = self.sigma * rng.standard_normal(int(bad.sum()))
                pulses[bad] += 1
                bad = np.abs(err) > self.verify_tolerance
        return np.maximum(level * (1.0 + err), self.g_min / 10), pulses

    def program(self, g_target, seed=None, write: int = 0) -> np.ndarray:
        """Programmed conductances, siemens: :meth:`write_verify` without the pulse counts.

        ``seed``: chip seed (int >= 0), a Generator, or None (fresh entropy).
        """
        if seed is None:
            seed = np.random.default_rng()
        return self.write_verify(g_target, seed, write)[0]

    def stuck_mask(self, shape, chip_seed) -> np.ndarray:
        """Stuck cells of a chip: int8 array, +1 stuck at ``g_max``, -1 stuck at ``g_min``, 0 free.

        Drawn from ``chip_seed`` alone, so the same cells are stuck on every write.
        """
        mask = np.zeros(shape, np.int8)
        if self.stuck_on == 0 and self.stuck_off == 0:
            return mask
        u = self._rng(chip_seed, None, STREAM_STUCK).random(shape)
        mask[u < self.stuck_on] = 1
        mask[(u >= self.stuck_on) & (u < self.stuck_on + self.stuck_off)] = -1
        return mask

    def apply_stuck(self, g, mask) -> np.ndarray:
        """``g`` (siemens) with stuck cells replaced by ``g_max`` / ``g_min``."""
        g = np.array(g, float)
        g[mask > 0] = self.g_max
        g[mask < 0] = self.g_min
        return g

    def drift_exponents(self, shape, chip_seed) -> np.ndarray:
        """Per-cell drift exponents ``nu`` (dimensionless, >= 0), fixed per chip."""
        nu = np.full(shape, float(self.drift_nu))
        if self.drift_nu_sigma > 0:
            nu = nu + self.drift_nu_sigma * self._rng(chip_seed, None, STREAM_DRIFT).standard_normal(shape)
        return np.maximum(nu, 0.0)

    def drift(self, g, t, chip_seed) -> np.ndarray:
        """Conductances ``t`` seconds after programming: ``g * (t / t0)**(-nu)``, siemens.

        Parameters
        ----------
        g : array_like
            Conductances at ``t0`` (as programmed and verified), siemens.
        t : float
            Time after programming, second, >= ``drift_t0`` (earlier the verify read has
            not happened yet).
        chip_seed : int
            The chip (its cells' exponents).

        Raises
        ------
        ParameterError
            ``t`` negative, not finite, or before ``drift_t0``.
        """
        t = _check.nonnegative("RRAMCell.drift", "t", t, unit="s")
        if t < self.drift_t0:
            raise ParameterError(f"RRAMCell.drift: t = {t!r} s is before the verify read at drift_t0 = "
                                 f"{self.drift_t0!r} s; allowed t >= drift_t0")
        g = np.asarray(g, float)
        if t == self.drift_t0 or (self.drift_nu == 0 and self.drift_nu_sigma == 0):
            return g.copy()
        return g * (t / self.drift_t0) ** (-self.drift_exponents(g.shape, chip_seed))

    @staticmethod
    def _rng(chip_seed, write, stream) -> np.random.Generator:
        if isinstance(chip_seed, np.random.Generator):
            return chip_seed
        seed = _seed_int("RRAMCell", "chip_seed", chip_seed)
        if write is None:
            return np.random.default_rng(np.random.SeedSequence([seed, stream]))
        return np.random.default_rng(np.random.SeedSequence([seed, _seed_int("RRAMCell", "write", write), stream]))
