"""Read noise and the TIA + ADC readout around a measured chip (the hook seen by a network).

``ChipReadout(crossbar, mapping, readout, seed)``
    Wraps a linear crossbar model with effective rows (:class:`CircuitCrossbar`): every
    ``combine`` call is one read of every pattern for every input row, so

    * **read noise** is drawn per read: each cell's conductance fluctuates by
      ``read_sigma`` (relative, independent per cell and read), which adds to pattern
      ``p``'s output for input ``x`` a Gaussian of variance
      ``read_sigma**2 * sum_i x_i**2 * Q[p, i]`` with ``Q[p, i] = sum_c (g_ic / gain)**2``
      over the physical cells the pattern reads (both cells of a differential pair; the
      reference column ``popcount**2`` times). First order: the noise is the ideal
      circuit's response to the fluctuation (wire and TG attenuation of the noise itself
      is not modelled, which overstates it by at most that attenuation);
    * the **ADC** converts every output with the full scale of its layer partition (one
      range register per partition, the patterns of one ``combine`` call), clipping at
      the end codes. Outputs are ideal-product units; ``full_scale_ampere`` converts.

``calibrate(net, x_cal)``
    The post-programming calibration step (identical on every chip): the calibration
    inputs are run, the pre-ADC outputs recorded per partition, the full scale set by
    the :class:`devices.Readout` rule. ``reference`` keeps the outputs so a later
    :meth:`recalibrate` (after drift) can also fit one digital gain per partition,
    ``<y_ref, y_t> / <y_t, y_t>``, applied after the ADC. Both count their reads
    (``calibration_reads``: crossbar steps times input rows).

Partial activation (``preset.row_block``): every step is ``ceil(d / row_block)``
crossbar reads (sub-steps), and ``reads`` counts them. Read noise is drawn per sub-step
for the cells it reads (each cell is still read once per step, so its variance is
unchanged), and the ADC converts every sub-step on its own, with a full scale per
(partition, sub-step) calibrated by the same rule; the converted values are added
digitally, so each sub-step adds its own quantization error.
"""

from __future__ import annotations

import numpy as np

from basisn.hardware import check_combine_args
from devices import Readout
from devices.errors import ParameterError

from .crossbars import pattern_steps
from .mapping import CrossbarMapping
from .measure import row_blocks

__all__ = ["ChipReadout", "noise_rows"]


def noise_rows(mapping: CrossbarMapping, planes) -> np.ndarray:
    """``Q`` (P, d): summed squared cell conductances each pattern reads, (ideal-product units)**2."""
    planes = np.asarray(planes, bool)
    g2 = (mapping.g_cell / mapping.gain) ** 2  # (d rows, n_cols)
    if mapping.preset.encoding == "differential":
        per_col = (g2[:, 0::2] + g2[:, 1::2]).T  # (d logical, d rows)
        return planes.astype(float) @ per_col
    d = mapping.d
    pop = planes.sum(axis=1).astype(float)
    return planes.astype(float) @ g2[:, :d].T + (pop ** 2)[:, None] * g2[:, d][None, :]


class ChipReadout:
    """A chip read through read noise and the ADC (see the module docstring).

    Parameters
    ----------
    crossbar : CircuitCrossbar (or any object with ``d``, ``K`` and ``rows(planes)``)
    mapping : CrossbarMapping
        The write the crossbar measures (conductances for the read noise).
    readout : devices.Readout
    seed : sequence of int
        Entropy of the read noise (e.g. ``(chip_seed, write, k)``): every read draws anew.
    read_sigma : float, optional
        Override of ``mapping.preset.cell.read_sigma`` (0 switches the noise off).
    """

    def __init__(self, crossbar, mapping: CrossbarMapping, readout: Readout, seed, read_sigma: float | None = None):
        if not isinstance(readout, Readout):
            raise ParameterError(f"readout must be a devices.Readout, got {type(readout).__name__}")
        self.xb, self.mapping, self.readout = crossbar, mapping, readout
        self.d, self.K = crossbar.d, crossbar.K
        self.read_sigma = mapping.preset.cell.read_sigma if read_sigma is None else float(read_sigma)
        self._rng = np.random.default_rng(np.random.SeedSequence([int(s) for s in np.atleast_1d(seed)] + [7]))
        self.full_scale: dict = {}
        self.gain: dict = {}
        self.reference: dict = {}
        self._q: dict = {}
        self._nsteps: dict = {}
        self._record: dict | None = None
        self.calibration_reads = 0
        self.reads = 0
        self._blocks = row_blocks(mapping.preset)

    @staticmethod
    def _key(planes):
        return planes.shape, np.packbits(planes).tobytes()

    def _steps(self, key, planes) -> int:
        n = self._nsteps.get(key)
        if n is None:
            n = len(pattern_steps(planes, self.d, self.K, verify=False)) * self.mapping.preset.n_row_blocks
            self._nsteps[key] = n
        return n

    def _noise_rows(self, key, planes) -> np.ndarray:
        q = self._q.get(key)
        if q is None:
            q = noise_rows(self.mapping, planes)
            self._q[key] = q
        return q

    def analog(self, x, planes) -> np.ndarray:
        """Pre-ADC outputs (S, P) with read noise, ideal-product units (sub-steps summed)."""
        x, planes = check_combine_args(x, planes, self.d)
        if len(self._blocks) > 1:
            return self._analog_parts(x, planes).sum(axis=0)
        out = x @ self.xb.rows(planes).T
        if self.read_sigma > 0:
            q = self._noise_rows(self._key(planes), planes)
            std = self.read_sigma * np.sqrt((x * x) @ q.T)
            out = out + std * self._rng.standard_normal(out.shape)
        return out

    def _analog_parts(self, x, planes) -> np.ndarray:
        """Pre-ADC outputs of every sub-step (n_blocks, S, P) with read noise (partial activation)."""
        rows = self.xb.rows(planes)
        parts = np.stack([x[:, b] @ rows[:, b].T for b in self._blocks])
        if self.read_sigma > 0:
            q = self._noise_rows(self._key(planes), planes)
            for i, b in enumerate(self._blocks):
                std = self.read_sigma * np.sqrt((x[:, b] ** 2) @ q[:, b].T)
                parts[i] += std * self._rng.standard_normal(parts[i].shape)
        return parts

    def combine(self, x_pieces, planes) -> np.ndarray:
        """Outputs (S, P) after read noise, ADC and digital gain (see :mod:`basisn.hardware`).

        With partial activation every sub-step is converted on its own (its own full
        scale) and the codes' values are added digitally.
        """
        x_pieces, planes = check_combine_args(x_pieces, planes, self.d)
        key = self._key(planes)
        blocked = len(self._blocks) > 1
        y = self._analog_parts(x_pieces, planes) if blocked else self.analog(x_pieces, planes)
        n_reads = x_pieces.shape[0] * self._steps(key, planes)
        if self._record is not None:
            self._record.setdefault(key, []).append(y)
            self.calibration_reads += n_reads
            return y.sum(axis=0) if blocked else y
        if self.readout.adc_bits is not None:
            fs = self.full_scale.get(key)
            if fs is None:
                raise ParameterError("ChipReadout: this layer partition was not calibrated; call calibrate(net, x_cal) "
                                     "after writing the network's codes")
            if blocked:
                y = sum(self.readout.convert(y[i], f) for i, f in enumerate(np.broadcast_to(fs, len(self._blocks))))
            else:
                y = self.readout.convert(y, fs)
        elif blocked:
            y = y.sum(axis=0)
        self.reads += n_reads
        return y * self.gain.get(key, 1.0)

    def _run(self, net, x_cal) -> dict:
        self._record = {}
        try:
            net.forward(np.asarray(x_cal, float), crossbar=self)
        finally:
            rec, self._record = self._record, None
        return {k: np.concatenate(v, axis=v[0].ndim - 2) for k, v in rec.items()}

    def _full_scale(self, y):
        """The Readout rule on one partition's calibration outputs; per sub-step (an array) with
        partial activation, where a sub-step whose outputs are all 0 takes the summed output's."""
        if y.ndim == 2:
            return self.readout.calibrate(y)
        whole = None
        out = []
        for yb in y:
            if np.any(yb != 0):
                out.append(self.readout.calibrate(yb))
            else:
                whole = self.readout.calibrate(y.sum(axis=0)) if whole is None else whole
                out.append(whole)
        return np.array(out)

    def calibrate(self, net, x_cal, keep_reference: bool = False) -> None:
        """Set every partition's full scale from the calibration inputs ``x_cal`` (the Readout rule)."""
        rec = self._run(net, x_cal)
        self.full_scale = {k: self._full_scale(y) for k, y in rec.items()}
        self.gain = {}
        if keep_reference:
            self.reference = rec

    def recalibrate(self, net, x_cal, reference: dict) -> dict:
        """After drift: full scales again, plus one digital gain per partition against ``reference``.

        ``reference`` holds the calibration outputs recorded right after programming
        (:meth:`calibrate` with ``keep_reference``, same ``x_cal``); returns the gains
        (fitted on the summed sub-steps with partial activation).
        """
        rec = self._run(net, x_cal)
        self.full_scale = {k: self._full_scale(y) for k, y in rec.items()}
        gains = {}
        for k, y in rec.items():
            ref = reference.get(k)
            if ref is None or ref.shape != y.shape:
                raise ParameterError("recalibrate: the reference does not hold this partition's calibration outputs "
                                     "(record it with calibrate(..., keep_reference=True) on the same inputs)")
            if y.ndim == 3:
                y, ref = y.sum(axis=0), ref.sum(axis=0)
            den = float(np.sum(y * y))
            gains[k] = float(np.sum(ref * y)) / den if den > 0 else 1.0
        self.gain = gains
        return gains

    def full_scale_ampere(self, v_scale: float) -> np.ndarray:
        """The calibrated full scales in ampere for read volts per activation unit ``v_scale``."""
        fs = np.concatenate([np.atleast_1d(v) for v in self.full_scale.values()]) if self.full_scale else np.zeros(0)
        return np.sort(fs) * v_scale * self.mapping.gain
