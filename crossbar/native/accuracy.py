"""How far a solve's branch currents can be trusted, and the check that enforces it.

After a solve the KCL residual ``r`` of the free nodes (A) is known.  For a network of
resistors the map from currents injected at free nodes to source currents,
``-L_df G_ff^-1``, has entries in [0, 1] with column sums <= 1 (an injected current
divides between the sources and ground), so the branch currents are off by at most
``sum_f |r_f|``.  Rounding adds a floor: a node equation sums terms ``G_ij v_j`` whose
size, not their sum, sets the error (``eps * sum_j |G_ij| |v_j|``); when a large
conductance joins two nodes near the same large voltage, their difference, and the
current through it, is lost.  The estimate per sample is therefore::

    err = sum_f (|r_f| + eps * (|L_f| |v|)_f)  +  max_p eps * (|L_p| |v|)_p   (+ |nonlinear| terms)

and the check asks ``err <= check_rtol * max_p |i_p| + abstol`` per sample.  The
solvers refine iteratively while it fails, then raise
:class:`devices.errors.IllConditionedError` with the estimate.
"""

from __future__ import annotations

import warnings

import numpy as np

from devices.errors import IllConditionedError

__all__ = ["EPS", "branch_error", "check", "check_finite"]

EPS = float(np.finfo(float).eps)


def branch_error(r_free: np.ndarray, noise_free: np.ndarray, noise_driven: np.ndarray) -> np.ndarray:
    """Per-sample error estimate of the branch currents, ampere.

    Parameters
    ----------
    r_free : (S, nf) KCL residual of the free nodes, ampere.
    noise_free : (S, nf) ``sum_j |G_ij| |v_j|`` of the free-node equations, ampere.
    noise_driven : (S, nd) the same for the rows that give branch currents, ampere.
    """
    err = np.abs(r_free).sum(axis=1) + EPS * noise_free.sum(axis=1)
    if noise_driven.shape[1]:
        err = err + EPS * noise_driven.max(axis=1)
    return err


def failing(err: np.ndarray, i: np.ndarray, options) -> np.ndarray:
    """Samples (bool, (S,)) whose estimate exceeds ``check_rtol * max|i| + abstol``."""
    scale = np.max(np.abs(i), axis=1, initial=0.0)
    return err > options.check_rtol * scale + options.abstol


def check(err: np.ndarray, i: np.ndarray, options, refined: int) -> None:
    """Raise :class:`IllConditionedError` (or warn, ``options.ill_conditioned == "warn"``)
    for the worst failing sample, if any."""
    bad = failing(err, i, options)
    if not bad.any():
        return
    scale = np.max(np.abs(i), axis=1, initial=0.0)
    s = int(np.argmax(np.where(bad, err / np.maximum(scale, 1e-300), -1.0)))
    exc = IllConditionedError(
        f"the branch currents cannot be trusted: their estimated error {err[s]:.3e} A exceeds check_rtol = "
        f"{options.check_rtol:g} of the largest branch current {scale[s]:.3e} A (sample {s}, after {refined} "
        "refinement step(s)); the netlist mixes conductances so different that currents are lost in rounding "
        "(e.g. a tiny resistance between nodes at a large voltage). Rescale the circuit, merge near-shorts into "
        "one node, or loosen SolverOptions(check_rtol=...)", error_estimate=float(err[s]), scale=float(scale[s]))
    if options.ill_conditioned == "warn":
        warnings.warn(str(exc), RuntimeWarning, stacklevel=6)
        return
    raise exc


def check_finite(v: np.ndarray | None, i: np.ndarray) -> None:
    """Raise :class:`IllConditionedError` when a voltage or current is NaN or infinite."""
    for name, arr, unit in (("node voltage", v, "V"), ("branch current", i, "A")):
        if arr is not None and not np.all(np.isfinite(arr)):
            raise IllConditionedError(
                f"the solve produced a non-finite {name} ({int(np.size(arr) - np.isfinite(arr).sum())} value(s) NaN or "
                f"inf, {unit}): the system overflowed; check for extreme element values")
