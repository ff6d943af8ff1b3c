"""Where TG-summed BasisN holds at d = 64-256: error-model validity and the viability map (issue 13).

``model_residuals(preset, moves, ...)``
    Does the error model stay valid when the basis moves? Fit on a chip written with
    ``B0`` (half of the steps), then move the basis to ``B0 + m * ||B0|| N / ||N||`` and
    compare on the *other* half of the steps (held out) of the exact chip rewritten with
    the moved basis (write 2, which no model has seen): the model with its fitted gains kept, with the gains following the
    column conductances physically (:meth:`ErrorModel.gains_for`), and refitted on a
    fresh write of the moved basis; plus the naive deviation (ideal product) for scale.
``bitplane_steps(d, K, n_out, bits, rng)``
    The scheduled steps of random ``bits``-bit coefficient codes (BasisN-like patterns).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from basisn.quant import bit_planes

from .crossbars import pattern_steps
from .errormodel import ErrorModel, TwinModel, residual
from .mapping import map_basis
from .measure import ChipSystem
from .preset import HardwarePreset

__all__ = ["bitplane_steps", "model_residuals"]


def bitplane_steps(d: int, K: int, n_out: int, bits: int, rng) -> list:
    """Scheduled (K, d) steps of the bit planes of random two's-complement codes (one partition)."""
    q = np.clip(np.rint(rng.normal(0.0, 2 ** (bits - 2), (n_out, d))), -2 ** (bits - 1), 2 ** (bits - 1) - 1).astype(int)
    planes = bit_planes(q, bits).reshape(-1, d)
    return [p for _, _, p in pattern_steps(planes, d, K)]


def model_residuals(preset: HardwarePreset, moves=(0.0, 0.1, 0.3), n_out: int = 32, bits: int = 4, seed: int = 0) -> list[dict]:
    """Residuals of the error model on held-out steps as the basis moves (see the module docstring).

    Returns
    -------
    list of dict
        Per move: ``move`` (relative basis change), ``fixed``, ``physical``, ``refit``,
        ``twin`` (the nominal twin rebuilt at the moved basis), ``twin_follow`` (the twin
        of ``B0`` followed to first order), ``naive`` (relative Frobenius residuals over the held-out steps, dimensionless),
        ``n_fit``, ``n_held_out`` (steps).
    """
    rng = np.random.default_rng(seed)
    d, K = preset.d, preset.K
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    B0 = q
    steps = bitplane_steps(d, K, n_out, bits, rng)
    fit_steps, held = steps[0::2], steps[1::2] or steps
    model = ErrorModel.fit(ChipSystem(map_basis(B0, preset, write=0)), fit_steps)
    noise = rng.normal(size=(d, d))
    out = []
    for mv in moves:
        B1 = B0 + float(mv) * np.linalg.norm(B0) * noise / np.linalg.norm(noise)
        exact = ChipSystem(map_basis(B1, preset, write=2))  # a write no model has seen
        row = {"move": float(mv), "n_fit": len(fit_steps), "n_held_out": len(held)}
        for name, physical in (("fixed", False), ("physical", True)):
            model.physical = physical
            model.set_basis(B0 + 0.0)  # reset to the fit
            model._basis = B0.copy() + 1.0  # force a re-map even at the fit basis
            model.set_basis(B1)
            rep = residual(model, exact, held)
            row[name] = rep.model
            row["naive"] = rep.naive
        refit = ErrorModel.fit(ChipSystem(map_basis(B1, preset, write=1)), fit_steps)
        row["refit"] = residual(refit, exact, held).model
        twin = TwinModel(preset, B0, refit_tol=10.0)
        twin.set_basis(B1)  # first-order follow from the twin at B0
        row["twin_follow"] = residual(twin, exact, held).model
        row["twin"] = residual(TwinModel(preset, B1), exact, held).model
        out.append(row)
    model.physical = True
    return out


def preset_at(preset: HardwarePreset, d: int, K: int | None = None) -> HardwarePreset:
    """``preset`` at crossbar size ``d`` (and ``K``), validated."""
    return dataclasses.replace(preset, d=int(d), K=int(preset.K if K is None else K))
