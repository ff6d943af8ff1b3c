"""Compact error model of a programmed chip, fitted from exact step measurements.

The model of a step with logical TG patterns ``P_k`` (k = 0..K-1) closed together::

    T_k  ~=  sum_{l in P_k} (1 - alpha_l * n_k - beta_l * (n - n_k)) * t_l

``t_l`` (d,)
    The measured transfer of logical column ``l`` closed alone ("single-column
    transfer", ideal-product units). It holds everything that is separable per column:
    cell quantization and programming variation, the column's TG on-resistance in series
    with its cells, its bitline and the wordline drop its own current causes.
``alpha_l``, ``beta_l`` (per logical column)
    Pattern-dependent loading: the ``n_k`` logical columns closed on the same TG set
    share its summing lines and the wordlines, the ``n - n_k`` columns of the other sets
    of the step share the wordlines only; the more current flows, the larger the drop a
    column sees, and how much depends on where the column sits (a far column sees the
    whole wordline). Fitted by linear least squares to the measured steps (2d
    parameters); ``beta`` is kept only where it pays (:data:`BETA_GAIN`). A single
    scalar pair instead of per-column values leaves about 3x the residual (measured on
    the digits steps).

Basis changes (the basis epochs of Algorithm 1) are modelled without measuring: each
physical column's transfer is fitted as a per-column gain times its programmed
conductances, ``t_l ~= (a+_l g+_l - a-_l g-_l) / gain`` (differential) or ``(a_l g_l -
a_ref g_ref) / gain`` (reference); for a new basis ``B`` the chip is re-mapped (same
chip seed: same quantization rule and variation), the gains applied, and the residual of
the gain fit at the measured basis added back, so the model is exact at the measured
basis. After training the basis is written once and everything is measured again.

``ErrorModel.fit(chip, steps)``
    Single-column transfers (d solves), gains, ``alpha``/``beta`` from ``steps``.
``residual(model, chip, steps)``
    Relative Frobenius residual of the model against the exact step transfers, with the
    naive (ideal basis) and superposition-only residuals for scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.errors import ParameterError

from basisn.scheduler import schedule_layer

from .mapping import CrossbarMapping, map_basis
from .preset import access_r_on
from .measure import ChipSystem, chip_system

__all__ = ["ErrorModel", "TwinModel", "residual", "ResidualReport", "BETA_GAIN"]

BETA_GAIN = 0.01
"""The cross-set term ``beta`` is kept only if it lowers the fit's squared residual by
more than this fraction (else ``beta = 0``: no schedule is needed to evaluate the model)."""


def _column_gains(mapping: CrossbarMapping, T: np.ndarray) -> np.ndarray:
    """Least-squares gains per physical column so ``T[l] ~ sum_c a_c g_c / gain``; returns (n_cols,)."""
    g = mapping.g_cell / mapping.gain
    d = mapping.d
    a = np.ones(mapping.n_cols)
    if mapping.preset.encoding == "differential":
        for l in range(d):
            X = np.stack([g[:, 2 * l], -g[:, 2 * l + 1]], axis=1)
            a[2 * l:2 * l + 2] = np.linalg.lstsq(X, T[l], rcond=None)[0]
    else:
        # reference gain: common to all columns, fitted jointly with per-column gains
        ref = g[:, d]
        cols = [np.linalg.lstsq(np.stack([g[:, l], -ref], axis=1), T[l], rcond=None)[0] for l in range(d)]
        a[:d] = [c[0] for c in cols]
        a[d] = float(np.mean([c[1] for c in cols]))
    return a


def _gain_model(mapping: CrossbarMapping, a: np.ndarray) -> np.ndarray:
    g = mapping.g_cell * a[None, :] / mapping.gain
    d = mapping.d
    if mapping.preset.encoding == "differential":
        return (g[:, 0::2] - g[:, 1::2]).T
    return (g[:, :d] - g[:, [d]]).T


class ErrorModel:
    """Fitted compact model of one chip (see the module docstring).

    Attributes
    ----------
    t_col : ndarray (d, d)
        Single-column transfers at the current basis (ideal-product units).
    alpha, beta : ndarray (d,)
        Loading of each logical column per closed column on the same set / on the other
        sets of the step (dimensionless).
    gains : ndarray (n_cols,)
        Fitted per-physical-column gains (dimensionless).
    version : int
        Incremented whenever the modelled basis changes (crossbar caches key on it).
    """

    def __init__(self, mapping: CrossbarMapping, t_col, alpha: float, beta: float, gains):
        self.mapping0 = mapping
        self.preset = mapping.preset
        self.d, self.K = mapping.d, mapping.K
        self.t_col_measured = np.array(t_col, float)
        self.t_col = self.t_col_measured.copy()
        self.alpha = np.asarray(alpha, float).reshape(self.d)
        self.beta = np.asarray(beta, float).reshape(self.d)
        self.gains = np.asarray(gains, float)
        self._offset = self.t_col_measured - _gain_model(mapping, self.gains)
        self._basis = np.array(mapping.basis)
        self.version = 0
        self.physical = True
        self._g_col = mapping.g_cell.sum(axis=0)  # (n_cols,) column conductance at the fit, siemens
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (1.0 / self.gains - 1.0) / self._g_col
        self.r_eff = np.where(np.isfinite(r) & (r > 0), r, 0.0)
        self._gains_now = self.gains.copy()

    @classmethod
    def fit(cls, chip: ChipSystem, steps=(), max_steps: int = 2000) -> "ErrorModel":
        """Fit from exact measurements of ``chip``.

        Parameters
        ----------
        chip : ChipSystem
        steps : sequence of (K, d) bool
            Step patterns to fit ``alpha`` and ``beta`` on (e.g. the steps inference uses);
            at most ``max_steps`` of them (evenly spaced) are used. Without steps the
            loading terms are 0 (superposition of single columns).
        """
        if not isinstance(chip, ChipSystem):
            raise ParameterError(f"ErrorModel.fit needs a ChipSystem, got {type(chip).__name__}")
        t_col = chip.single_column_transfers()
        gains = _column_gains(chip.mapping, t_col)
        steps = list(steps)
        if len(steps) > max_steps:
            steps = [steps[i] for i in np.linspace(0, len(steps) - 1, max_steps).astype(int)]
        d = chip.d
        alpha, beta = np.zeros(d), np.zeros(d)
        if steps:
            xa, xb, rhs = [], [], []
            for pats in steps:
                pats = np.asarray(pats, bool)
                T = chip.step_transfer(pats)
                n_k = pats.sum(axis=1)
                n_o = n_k.sum() - n_k
                for k in np.flatnonzero(n_k):
                    tp = t_col.T * pats[k][None, :]  # (d rows of T, d columns l): t_l for l in P_k
                    xa.append(-n_k[k] * tp)
                    xb.append(-n_o[k] * tp)
                    rhs.append(T[k] - pats[k].astype(float) @ t_col)
            Xa, Xb, y = np.vstack(xa), np.vstack(xb), np.concatenate(rhs)
            alpha = np.linalg.lstsq(Xa, y, rcond=None)[0]
            ss1 = float(np.sum((y - Xa @ alpha) ** 2))
            if np.any(Xb != 0):
                coef = np.linalg.lstsq(np.hstack([Xa, Xb]), y, rcond=None)[0]
                ss2 = float(np.sum((y - Xa @ coef[:d] - Xb @ coef[d:]) ** 2))
                if ss2 < (1.0 - BETA_GAIN) * ss1:  # keep the cross-set term only when it pays
                    alpha, beta = coef[:d], coef[d:]
        return cls(chip.mapping, t_col, alpha, beta, gains)

    # ------------------------------------------------------------------ basis
    @property
    def basis(self) -> np.ndarray:
        """The basis the model currently describes (weight units, (d, d), a copy)."""
        return self._basis.copy()

    def set_basis(self, B) -> None:
        """Model the chip rewritten with basis ``B`` (re-mapped, fitted gains, measured offset)."""
        B = np.asarray(B, float)
        if B.shape == self._basis.shape and np.array_equal(B, self._basis):
            return
        m = map_basis(B, self.preset)
        self._gains_now = self.gains_for(m)
        self.t_col = _gain_model(m, self._gains_now) + self._offset
        self._basis = B.copy()
        self.version += 1

    def gains_for(self, mapping: CrossbarMapping) -> np.ndarray:
        """Per-physical-column gains for a rewritten chip (dimensionless, (n_cols,)).

        With :attr:`physical` (default) each column's gain follows its new column
        conductance ``G`` as a column of conductance ``G`` behind an effective series
        resistance ``r_eff`` does, ``a = 1 / (1 + r_eff G)``: ``r_eff`` (TG, summing line,
        wires as seen by that column, ohm) is solved from the gain measured at the fit,
        so the model is exact there and follows the loading physically as ``B`` moves.
        Otherwise the fitted gains are kept.
        """
        if not self.physical:
            return self.gains
        g_new = mapping.g_cell.sum(axis=0)
        return self.gains * (1.0 + self.r_eff * self._g_col) / (1.0 + self.r_eff * g_new)

    def basis_jacobian(self) -> np.ndarray:
        """Elementwise ``dt_col / dB`` (d, d) at the current basis (quantization passed straight through).

        Differential: ``a+_l`` where ``B[l, i] > 0``, ``a-_l`` where ``< 0``, their mean at
        0; reference: ``a_l``. The gains' own dependence on ``B`` (through ``r_eff``) is
        second order and left out.
        """
        a = self._gains_now
        d = self.d
        B = self._basis
        if self.preset.encoding == "differential":
            ap, am = a[0::2][:, None], a[1::2][:, None]
            return np.where(B > 0, ap, np.where(B < 0, am, 0.5 * (ap + am))) * np.ones((d, d))
        return np.repeat(a[:d, None], d, axis=1)

    # ------------------------------------------------------------------ prediction
    def _weighted(self, planes, n_k, n_o) -> np.ndarray:
        f = 1.0 - self.alpha[None, :] * n_k[:, None] - self.beta[None, :] * n_o[:, None]
        return (planes * f) @ self.t_col

    def step_rows(self, patterns) -> np.ndarray:
        """Modelled (K, d) transfer of one step (ideal-product units)."""
        p = np.asarray(patterns, bool)
        n_k = p.sum(axis=1).astype(float)
        return self._weighted(p, n_k, n_k.sum() - n_k)

    def rows(self, planes, K: int | None = None) -> np.ndarray:
        """Modelled effective rows (P, d) of patterns scheduled ``K`` to a step (vectorized)."""
        planes = np.asarray(planes, bool)
        K = self.K if K is None else K
        n_k = planes.sum(axis=1).astype(float)
        n_step = n_k
        if np.any(self.beta != 0.0) and K > 1 and planes.shape[0] > 1:
            sched = schedule_layer(planes[:, None, None, :], self.d, K)
            totals = np.bincount(sched.step, weights=n_k[sched.kernel], minlength=sched.n_steps)
            n_step = n_k.copy()
            n_step[sched.kernel] = totals[sched.step]
        return self._weighted(planes, n_k, n_step - n_k)


@dataclass(frozen=True)
class ResidualReport:
    """Relative Frobenius residuals over a set of steps (dimensionless)."""

    model: float
    """``||T_model - T_exact|| / ||T_exact||`` of the fitted model."""
    superposition: float
    """The same for the superposition of measured single columns (alpha = beta = 0)."""
    naive: float
    """The same for the ideal product with the target basis (no model at all)."""
    n_steps: int
    """Steps compared."""


def residual(model: ErrorModel, chip: ChipSystem, steps) -> ResidualReport:
    """Residual of ``model`` against the exact transfers of ``steps`` ((K, d) patterns) on ``chip``."""
    num = sup = naive = den = 0.0
    n = 0
    B = chip.mapping.basis
    for pats in steps:
        pats = np.asarray(pats, bool)
        T = chip.step_transfer(pats)
        P = pats.astype(float)
        num += float(np.sum((model.step_rows(pats) - T) ** 2))
        sup += float(np.sum((P @ model.t_col - T) ** 2))
        naive += float(np.sum((P @ B - T) ** 2))
        den += float(np.sum(T ** 2))
        n += 1
    if n == 0 or den == 0.0:
        raise ParameterError("residual needs at least one step with a nonzero transfer")
    return ResidualReport(model=float(np.sqrt(num / den)), superposition=float(np.sqrt(sup / den)),
                          naive=float(np.sqrt(naive / den)), n_steps=n)


class TwinModel:
    """A physical error model: the exact circuit of a *nominal* twin of the chip.

    The twin is the chip's circuit (wires, TGs, access transistors, the same encoding)
    holding the basis at its quantized levels without programming variation; every step
    is solved exactly on it (:class:`~basisn.circuit.measure.ChipSystem`, one
    factorization per twin), so the loading of every pattern follows the column
    conductances and the wire and TG resistances as the circuit does, at any ``d``.
    When the basis moves (basis epochs), the rows are corrected to first order by the
    twin's column gains (``planes @ ((B - B_twin) * dt/dB)``) and the twin is rebuilt
    once the basis has moved by more than ``refit_tol`` (relative Frobenius norm).

    Same interface as :class:`ErrorModel` for :class:`~basisn.circuit.crossbars.ModelCrossbar`,
    :func:`~basisn.circuit.feedback.feedback_train` and
    :class:`~basisn.circuit.hwgrad.ModelTransfer`.

    Parameters
    ----------
    preset : HardwarePreset
        The chip (its training-chip seed; the twin ignores its variation and stuck cells).
    B : ndarray (d, d)
        The basis.
    refit_tol : float
        Relative basis change that rebuilds the twin, in (0, 10].
    known_stuck : bool
        The twin holds the chip's stuck cells (a tested chip's defect map; they are fixed
        per chip) at their stuck conductance; False: every cell at its level.
    """

    def __init__(self, preset, B, refit_tol: float = 0.05, known_stuck: bool = True):
        self.known_stuck = bool(known_stuck)
        if not (isinstance(refit_tol, (int, float)) and 0 < refit_tol <= 10):
            raise ParameterError(f"refit_tol must be in (0, 10], got {refit_tol!r}")
        self.preset = preset
        self.d, self.K = preset.d, preset.K
        self.refit_tol = float(refit_tol)
        self.version = 0
        self.rebuilds = 0
        self._build(np.asarray(B, float))

    def _build(self, B):
        import dataclasses

        from .crossbars import CircuitCrossbar

        m = map_basis(B, self.preset)
        # a tested chip's stuck-cell map is known (and, with repair_stuck, so are the retargeted partners)
        g = m.g_written if self.known_stuck else m.g_nominal
        acc = self.preset.access
        g_rram = g.copy() if acc is None else 1.0 / (1.0 / g - access_r_on(acc))
        twin = dataclasses.replace(m, g_cell=g, g_rram=g_rram, g_rram_t0=g_rram)
        self.chip = chip_system(twin)
        self._xb = CircuitCrossbar(self.chip)
        self._gain_model = ErrorModel.fit(self.chip)  # single-column transfers and column gains of the twin
        self.t_col_twin = self._gain_model.t_col_measured
        self._jac = self._gain_model.basis_jacobian()
        self._B_twin = B.copy()
        self._basis = B.copy()
        self._delta = np.zeros_like(B)
        self.t_col = self.t_col_twin.copy()
        self.rebuilds += 1
        self.version += 1

    @property
    def basis(self) -> np.ndarray:
        return self._basis.copy()

    def set_basis(self, B) -> None:
        """Follow the basis: first-order correction, or a rebuilt twin beyond ``refit_tol``."""
        B = np.asarray(B, float)
        if np.array_equal(B, self._basis):
            return
        if np.linalg.norm(B - self._B_twin) > self.refit_tol * np.linalg.norm(self._B_twin):
            self._build(B)
            return
        self._basis = B.copy()
        self._delta = (B - self._B_twin) * self._jac
        self.t_col = self.t_col_twin + self._delta
        self.version += 1

    def basis_jacobian(self) -> np.ndarray:
        return self._jac

    def step_rows(self, patterns) -> np.ndarray:
        p = np.asarray(patterns, bool)
        return self.chip.step_transfer(p) + p.astype(float) @ self._delta

    def rows(self, planes, K: int | None = None) -> np.ndarray:
        planes = np.asarray(planes, bool)
        if K is not None and K != self.K:
            raise ParameterError(f"TwinModel schedules K = {self.K} sets per step, got K = {K}")
        return self._xb.rows(planes) + planes.astype(float) @ self._delta
