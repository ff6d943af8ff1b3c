"""Readout periphery: a TIA and an ADC per summing-line output, and its calibration rule.

``Readout``
    Frozen parameters: ADC bits (1-16, or None for no ADC), the full-scale calibration
    rule and, optionally, a fixed full scale. :meth:`Readout.codes` and
    :meth:`Readout.values` convert between currents and signed output codes.

The TIA turns the (differential) summing-line current of a TG set into a voltage; its
gain sets the ADC's full-scale current ``i_fs`` (ampere): currents in ``[-i_fs, i_fs]``
map linearly onto the signed codes ``-(2**(bits-1) - 1) .. 2**(bits-1) - 1`` (a
symmetric mid-tread quantizer; one code is left unused so zero is a code), larger ones
clip to the end codes.

Calibration rule (what a real chip can run after programming): a batch of
``n_calibration`` training inputs is applied, the TIA at its lowest gain (nothing clips),
and the full scale of every group of outputs that share a range register (here: one
layer partition) is set to the ``fs_percentile``-th percentile of the absolute output
currents seen. ``full_scale`` fixes it instead (the same for every group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices import _check
from devices.errors import ParameterError

__all__ = ["Readout", "ADC_BITS_RANGE"]

ADC_BITS_RANGE = (1, 16)
"""Allowed ADC resolutions, bit (inclusive)."""


@dataclass(frozen=True)
class Readout:
    """TIA + ADC per summing-line output (see the module docstring).

    Examples
    --------
    >>> adc = Readout(adc_bits=4)
    >>> adc.codes([0.5, -2.0], full_scale=1.0).tolist()   # 7 codes per side, -2 clips
    [4, -7]
    >>> round(float(adc.convert(0.5, 1.0)), 4)
    0.5714
    """

    adc_bits: int | None = 8
    """ADC resolution, bit, 1-16; None = no ADC (the analog value is read exactly)."""
    fs_percentile: float = 99.9
    """Calibration rule: full scale = this percentile of the absolute calibration outputs,
    percent, (50, 100]."""
    n_calibration: int = 64
    """Calibration inputs (training samples) per calibration, >= 1."""
    full_scale: float | None = None
    """Fixed full-scale current, ampere, > 0; None = calibrated by the rule above."""

    def __post_init__(self):
        name = type(self).__name__
        if self.adc_bits is not None:
            _check.integer(name, "adc_bits", self.adc_bits, *ADC_BITS_RANGE)
        p = _check.finite(name, "fs_percentile", self.fs_percentile, unit="%")
        if not 50 < p <= 100:
            raise ParameterError(f"{name}.fs_percentile must be in (50, 100] %, got {self.fs_percentile!r}")
        _check.integer(name, "n_calibration", self.n_calibration, 1, 1_000_000)
        if self.full_scale is not None:
            _check.positive(name, "full_scale", self.full_scale, unit="A")

    @property
    def max_code(self) -> int | None:
        """Largest code magnitude ``2**(bits-1) - 1`` (0 for a 1-bit ADC: sign only), or None."""
        if self.adc_bits is None:
            return None
        return max(2 ** (int(self.adc_bits) - 1) - 1, 0)

    def calibrate(self, outputs) -> float:
        """Full scale from calibration ``outputs`` (any units; returned in the same units).

        Raises
        ------
        ParameterError
            No finite output, or all zero (the range cannot be set).
        """
        if self.full_scale is not None:
            return float(self.full_scale)
        a = np.abs(np.asarray(outputs, float)).ravel()
        if a.size == 0 or not np.all(np.isfinite(a)):
            raise ParameterError("Readout.calibrate: calibration outputs must be finite and non-empty")
        fs = float(np.percentile(a, self.fs_percentile))
        if fs <= 0:
            fs = float(a.max())
        if fs <= 0:
            raise ParameterError("Readout.calibrate: every calibration output is 0; the full scale cannot be set")
        return fs

    def codes(self, values, full_scale: float) -> np.ndarray:
        """Signed ADC codes (int64) of ``values`` for full scale ``full_scale`` (same units), clipped.

        A 1-bit ADC is a comparator: codes -1, 0 (exactly zero), +1 as the sign.
        """
        fs = _check.positive("Readout", "full_scale", full_scale)
        if self.adc_bits is None:
            raise ParameterError("Readout.codes: adc_bits is None (no ADC), there are no codes")
        v = np.asarray(values, float)
        if self.max_code == 0:
            return np.sign(v).astype(np.int64)
        return np.clip(np.rint(v / fs * self.max_code), -self.max_code, self.max_code).astype(np.int64)

    def values(self, codes, full_scale: float) -> np.ndarray:
        """The value each code stands for, units of ``full_scale`` (1-bit: ``+-full_scale / 2``)."""
        c = np.asarray(codes, float)
        if self.max_code == 0:
            return c * full_scale / 2
        return c * full_scale / self.max_code

    def convert(self, values, full_scale: float) -> np.ndarray:
        """``values`` through the ADC (codes back in value units); unchanged without an ADC."""
        if self.adc_bits is None:
            return np.asarray(values, float)
        return self.values(self.codes(values, full_scale), full_scale)
