"""RRAM cell with multi-level conductance and programming variation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices import _check
from devices.errors import ParameterError

__all__ = ["RRAMCell"]


@dataclass(frozen=True)
class RRAMCell:
    """A multi-level RRAM cell (the "1R" of a 1T1R cell), all values in SI units.

    The cell can be programmed to one of ``2**bits`` conductance levels evenly spaced
    from ``g_min`` to ``g_max`` (both included).  Programming lands on the target level
    with a device-to-device relative error drawn once per cell.
    """

    g_min: float = 1e-6
    """Lowest programmable conductance (high-resistance state), siemens, in
    ``devices._check.CONDUCTANCE`` ([1e-18, 1e12] S)."""
    g_max: float = 100e-6
    """Highest programmable conductance (low-resistance state), siemens. > g_min."""
    bits: int = 4
    """Number of bits per cell: ``2**bits`` levels, 1 <= bits <= 8."""
    sigma: float = 0.0
    """Programming variation: relative standard deviation of a programmed conductance
    around its level (device-to-device, drawn once per cell), dimensionless, 0 <= sigma < 1."""

    def __post_init__(self):
        name = type(self).__name__
        g_min = _check.conductance(name, "g_min", self.g_min)
        g_max = _check.conductance(name, "g_max", self.g_max)
        if g_max <= g_min:
            raise ParameterError(f"{name}.g_max must be > g_min = {g_min!r} S, got {self.g_max!r}")
        bits = _check.integer(name, "bits", self.bits, 1, 8)
        sigma = _check.nonnegative(name, "sigma", self.sigma, hi=1.0, hi_open=True)
        for field, value in (("g_min", g_min), ("g_max", g_max), ("bits", bits), ("sigma", sigma)):
            object.__setattr__(self, field, value)

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

    def program(self, g_target, seed=None) -> np.ndarray:
        """Quantize targets to levels and apply programming variation.

        Parameters
        ----------
        g_target : array_like
            Target conductances, siemens.
        seed : int, numpy.random.Generator or None
            Seed of the device-to-device variation (``sigma > 0`` only).

        Returns
        -------
        numpy.ndarray
            Programmed conductances, siemens; with variation they are
            ``level * (1 + sigma * z)``, ``z ~ N(0, 1)``, floored at ``g_min / 10`` so a
            cell never has zero or negative conductance.
        """
        g = self.quantize(g_target)
        if self.sigma > 0:
            rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
            g = g * (1.0 + self.sigma * rng.standard_normal(g.shape))
            g = np.maximum(g, self.g_min / 10)
        return g
